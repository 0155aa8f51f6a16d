# Wrong: .encode() is UTF-8: the server, decoding GBK, reads another name.
from socket import *

ip = input()
port = int(input())
name = input()
s = socket(AF_INET, SOCK_STREAM)
s.connect((ip, port))
s.send(name.encode())
with open('new_' + name, 'wb') as f:
    while True:
        data = s.recv(1024)
        if not data:
            break
        f.write(data)
s.close()
