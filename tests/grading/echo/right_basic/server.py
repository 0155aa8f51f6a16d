# Echo server, the course's style: one client after another.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
print('listening on 8888')
while True:
    conn, addr = s.accept()
    print('connection from', addr)
    while True:
        data = conn.recv(1024)
        if data == b'':
            break
        conn.send(data)
    conn.close()
