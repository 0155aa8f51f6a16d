# Wrong: never closes the connection after sending: the client's recv()
# never returns b'', so it cannot know the file is complete.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    name = conn.recv(1024).decode('gbk')
    try:
        with open(name, 'rb') as f:
            conn.sendall(f.read())
    except FileNotFoundError:
        pass
