# HTTP server, the course's style: one request per connection, then close.
from socket import *
import os

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8080))
s.listen(5)
while True:
    conn, addr = s.accept()
    request = conn.recv(4096).decode('utf-8', 'replace')
    path = request.split(' ')[1] if ' ' in request else '/'
    name = 'index.html' if path == '/' else path.lstrip('/')
    if os.path.isfile(name):
        with open(name, 'rb') as f:
            body = f.read()
        head = 'HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n'
    else:
        body = '<h1>404 Not Found</h1>'.encode('utf-8')
        head = 'HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\n'
    head += 'Content-Length: %d\r\nConnection: close\r\n\r\n' % len(body)
    conn.sendall(head.encode('utf-8') + body)
    conn.close()
