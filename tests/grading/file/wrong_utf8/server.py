# Wrong: decodes the name as UTF-8, but the client sends GBK: the first
# request raises UnicodeDecodeError and the server dies before sending.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    name = conn.recv(1024).decode('utf-8')
    try:
        with open(name, 'rb') as f:
            conn.sendall(f.read())
    except FileNotFoundError:
        pass
    conn.close()
