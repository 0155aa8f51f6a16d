from socket import *
import os

serverPort = 8888
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('The server is ready')

while True:
    connectionSocket, addr = serverSocket.accept()
    filename = connectionSocket.recv(1024).decode()
    print('filename:', filename)
    if os.path.isfile(filename):
        with open(filename, 'rb') as f:
            while True:
                data = f.read(2048)
                if not data:
                    break
                connectionSocket.sendall(data)
    connectionSocket.close()
