from socket import *

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', 8888))
serverSocket.listen(1)
print('Echo server is running on port 8888')

while True:
    connectionSocket, addr = serverSocket.accept()
    print('Accept new connection from %s:%s' % addr)
    message = connectionSocket.recv(1024)
    print('Received', len(message), 'bytes')
    connectionSocket.send(message)
    connectionSocket.close()
