from socket import *

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', 8080))
serverSocket.listen(5)
print('Ready to serve on 8080...')

while True:
    connectionSocket, addr = serverSocket.accept()
    request = connectionSocket.recv(4096).decode()
    if not request:
        connectionSocket.close()
        continue
    filename = request.split()[1][1:]
    if filename == '':
        filename = 'index.html'
    print('request for', filename)

    f = open(filename, 'rb')
    body = f.read()
    f.close()

    if filename.endswith('.html'):
        ctype = 'text/html; charset=utf-8'
    elif filename.endswith('.png'):
        ctype = 'image/png'
    elif filename.endswith('.jpg'):
        ctype = 'image/jpeg'
    else:
        ctype = 'application/octet-stream'

    header = 'HTTP/1.1 200 OK\r\n'
    header += 'Content-Type: ' + ctype + '\r\n'
    header += 'Content-Length: ' + str(len(body)) + '\r\n'
    header += 'Connection: close\r\n'
    header += '\r\n'
    connectionSocket.send(header.encode())
    connectionSocket.sendall(body)
    connectionSocket.close()

    # 404 Not Found
    # connectionSocket.send('HTTP/1.1 404 Not Found\r\n\r\n'.encode())
