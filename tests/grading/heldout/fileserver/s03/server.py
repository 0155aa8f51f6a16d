from socket import *
import os

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', 8888))
serverSocket.listen(5)
print('server ready')

while True:
    conn, addr = serverSocket.accept()
    name = conn.recv(1024).decode('gbk')
    print('request:', name)
    if os.path.exists(name):
        with open(name, 'rb') as f:
            content = f.read()
        conn.sendall(content)
        print('sent', len(content), 'bytes')
    else:
        print('no such file')
        conn.close()
