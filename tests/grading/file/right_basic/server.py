# File-download server, the course's style: one client after another.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
print('listening on 8888')
while True:
    conn, addr = s.accept()
    name = conn.recv(1024).decode('gbk')
    print(addr, 'asks for', name)
    try:
        f = open(name, 'rb')
        data = f.read()
        f.close()
        conn.sendall(data)
    except FileNotFoundError:
        print('no such file:', name)
    conn.close()
