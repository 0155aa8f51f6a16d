# Wrong: never breaks out of the recv loop; after the client closes, recv()
# returns b'' for ever and the loop spins.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    while True:
        data = conn.recv(1024)
        conn.sendall(data)
    conn.close()
