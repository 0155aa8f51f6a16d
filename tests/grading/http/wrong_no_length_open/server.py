# Wrong: no Content-Length and the connection stays open (it is closed
# only when the next client comes): the browser cannot tell where the
# body ends and keeps waiting.
from socket import *
import os

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8080))
s.listen(5)
conn = None
while True:
    new, addr = s.accept()
    if conn:
        conn.close()
    conn = new
    path = conn.recv(4096).decode().split(' ')[1]
    name = path.lstrip('/') or 'index.html'
    if os.path.isfile(name):
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n' + open(name, 'rb').read())
    else:
        conn.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>404</h1>')
