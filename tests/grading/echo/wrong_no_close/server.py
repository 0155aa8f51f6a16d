# Wrong: breaks out of the recv loop on b'' but forgets conn.close().
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
connections = []
while True:
    conn, addr = s.accept()
    connections.append(conn)
    while True:
        data = conn.recv(1024)
        if data == b'':
            break
        conn.sendall(data)
