from socket import *
import os

serverPort = 8080
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)

TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.htm': 'text/html; charset=utf-8',
    '.txt': 'text/plain; charset=utf-8',
    '.css': 'text/css',
    '.js': 'application/javascript',
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.gif': 'image/gif',
}

while True:
    print('Ready to serve...')
    connectionSocket, addr = serverSocket.accept()
    try:
        message = connectionSocket.recv(2048).decode('utf-8', 'replace')
        requestLine = message.split('\r\n')[0]
        print(addr, requestLine)
        parts = requestLine.split()
        if len(parts) < 2:
            connectionSocket.close()
            continue
        filename = parts[1][1:]
        if filename == '':
            filename = 'index.html'
        f = open(filename, 'rb')
        outputdata = f.read()
        f.close()
        ext = os.path.splitext(filename)[1].lower()
        ctype = TYPES.get(ext, 'application/octet-stream')
        header = 'HTTP/1.1 200 OK\r\n'
        header += 'Content-Type: %s\r\n' % ctype
        header += 'Content-Length: %d\r\n' % len(outputdata)
        header += 'Connection: close\r\n\r\n'
        connectionSocket.send(header.encode())
        connectionSocket.sendall(outputdata)
    except IOError:
        body = '<html><head><meta charset="utf-8"></head><body><h1>404 Not Found</h1></body></html>'.encode('utf-8')
        header = 'HTTP/1.1 404 Not Found\r\n'
        header += 'Content-Type: text/html; charset=utf-8\r\n'
        header += 'Content-Length: %d\r\n' % len(body)
        header += 'Connection: close\r\n\r\n'
        connectionSocket.send(header.encode() + body)
    connectionSocket.close()
