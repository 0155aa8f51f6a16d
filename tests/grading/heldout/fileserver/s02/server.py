from socket import *
import os

serverPort = 8888
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('文件服务器已启动')

while True:
    connectionSocket, addr = serverSocket.accept()
    fileName = connectionSocket.recv(1024).decode('gbk')
    print(addr, '请求文件:', fileName)
    if os.path.exists(fileName):
        f = open(fileName, 'rb')
        while True:
            data = f.read(1024)
            if not data:
                break
            connectionSocket.send(data)
        f.close()
        print('发送完毕')
    else:
        print('文件不存在')
    connectionSocket.close()
