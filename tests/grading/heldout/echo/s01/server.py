from socket import *

serverPort = 8888
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('The server is ready to receive')

while True:
    connectionSocket, addr = serverSocket.accept()
    print('connected by', addr)
    while True:
        data = connectionSocket.recv(1024)
        if not data:
            break
        connectionSocket.send(data)
    connectionSocket.close()
    print('connection closed', addr)
