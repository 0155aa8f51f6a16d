# Wrong: a missing page gets an error page with status 200.
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
        body = open(name, 'rb').read()
    else:
        body = '<h1>页面不存在</h1>'.encode('utf-8')
    head = 'HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(body)
    conn.sendall(head.encode() + body)
    conn.close()
