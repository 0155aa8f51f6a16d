from socket import *

serverName = input('请输入服务器IP地址: ')
serverPort = int(input('请输入端口号: '))
fileName = input('请输入文件名: ')

clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
clientSocket.send(fileName.encode('gbk'))

f = open('new_' + fileName, 'wb')
while True:
    data = clientSocket.recv(1024)
    if not data:
        break
    f.write(data)
f.close()
clientSocket.close()
print('下载完成')
