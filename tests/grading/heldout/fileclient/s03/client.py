from socket import *

host = input()
port = int(input())
name = input()

sock = socket(AF_INET, SOCK_STREAM)
sock.connect((host, port))
sock.send(name.encode('gbk'))

with open('new_' + name, 'wb') as f:
    while True:
        data = sock.recv(1024)
        f.write(data)
        if len(data) < 1024:   # last packet
            break
sock.close()
print('done')
