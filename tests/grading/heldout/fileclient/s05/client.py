from socket import *

serverIP = input('IP: ')
serverPort = int(input('port: '))
fileName = input('filename: ')

clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverIP, serverPort))
clientSocket.send(fileName.encode('gbk'))

file = open('new_' + fileName, 'w', encoding='utf-8')
while True:
    data = clientSocket.recv(1024)
    if not data:
        break
    file.write(data.decode('utf-8'))
file.close()
clientSocket.close()
print('file received')
