# Wrong: reads the page as text and gives len(text) as Content-Length:
# characters, not bytes. Each Chinese character is 3 bytes in UTF-8.
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
        text = open(name, encoding='utf-8').read()
        status = '200 OK'
    else:
        text = '<h1>404 Not Found</h1>'
        status = '404 Not Found'
    reply = 'HTTP/1.1 %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' % (status, len(text), text)
    conn.sendall(reply.encode('utf-8'))
    conn.close()
