# File-download client, the course's style.
from socket import *

ip = input('server IP: ')
port = int(input('port: '))
name = input('file name: ')
s = socket(AF_INET, SOCK_STREAM)
s.connect((ip, port))
s.send(name.encode('gbk'))
with open('new_' + name, 'wb') as f:
    while True:
        data = s.recv(1024)
        if not data:
            break
        f.write(data)
s.close()
print('saved', 'new_' + name)
