# Wrong: HTTP/1.1 with Content-Length but no "Connection: close", then it
# closes: HTTP/1.1 promised to keep the connection (RFC 9112 §9.3).
from socket import *
import os

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8080))
s.listen(5)
while True:
    conn, addr = s.accept()
    path = conn.recv(4096).decode().split(' ')[1]
    name = path.lstrip('/') or 'index.html'
    if os.path.isfile(name):
        body, status = open(name, 'rb').read(), '200 OK'
    else:
        body, status = b'<h1>404 Not Found</h1>', '404 Not Found'
    conn.sendall(('HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n' % (status, len(body))).encode() + body)
    conn.close()
