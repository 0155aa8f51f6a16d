# Wrong: saves the file but never closes the socket, and keeps running
# (waits for the user): the server's side stays in FIN_WAIT2.
from socket import *

ip = input()
port = int(input())
name = input()
s = socket(AF_INET, SOCK_STREAM)
s.connect((ip, port))
s.send(name.encode('gbk'))
with open('new_' + name, 'wb') as f:
    while True:
        data = s.recv(1024)
        if not data:
            break
        f.write(data)
print('done')
import time
time.sleep(30)
