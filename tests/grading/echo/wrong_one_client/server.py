# Wrong: serves one client, then exits.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
conn, addr = s.accept()
while True:
    data = conn.recv(1024)
    if data == b'':
        break
    conn.sendall(data)
conn.close()
s.close()
