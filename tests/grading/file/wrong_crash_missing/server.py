# Wrong: a missing file raises FileNotFoundError, which nobody catches:
# the server dies and every later client is refused.
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    name = conn.recv(1024).decode('gbk')
    f = open(name, 'rb')
    conn.sendall(f.read())
    f.close()
    conn.close()
