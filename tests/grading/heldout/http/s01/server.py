from socket import *
import os

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', 8080))
serverSocket.listen(5)
print('Web server running on port 8080')


def content_type(name):
    if name.endswith('.html') or name.endswith('.htm'):
        return 'text/html; charset=utf-8'
    if name.endswith('.css'):
        return 'text/css'
    if name.endswith('.js'):
        return 'application/javascript'
    return 'text/plain; charset=utf-8'


while True:
    connectionSocket, addr = serverSocket.accept()
    message = connectionSocket.recv(1024).decode()
    if not message:
        connectionSocket.close()
        continue
    path = message.split()[1]
    filename = path[1:]
    if filename == '':
        filename = 'index.html'
    print(addr, 'GET', filename)
    if os.path.isfile(filename):
        with open(filename, 'r', encoding='utf-8') as f:
            outputdata = f.read()
        response = 'HTTP/1.1 200 OK\r\n'
        response += 'Content-Type: ' + content_type(filename) + '\r\n'
        response += 'Content-Length: ' + str(len(outputdata)) + '\r\n'
        response += 'Connection: close\r\n'
        response += '\r\n'
        response += outputdata
    else:
        body = '<html><body><h1>404 Not Found</h1></body></html>'
        response = 'HTTP/1.1 404 Not Found\r\n'
        response += 'Content-Type: text/html\r\n'
        response += 'Content-Length: ' + str(len(body)) + '\r\n'
        response += 'Connection: close\r\n'
        response += '\r\n'
        response += body
    connectionSocket.sendall(response.encode('utf-8'))
    connectionSocket.close()
