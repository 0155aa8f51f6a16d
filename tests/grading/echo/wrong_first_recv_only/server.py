# Wrong: echoes only what the first recv() got, then reads the rest away.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    data = conn.recv(1024)
    conn.sendall(data)
    while conn.recv(1024):
        pass
    conn.close()
