# Wrong: a single recv() takes only what has arrived so far: the file is
# cut short, and closing with bytes still unread resets the connection.
from socket import *

ip = input()
port = int(input())
name = input()
s = socket(AF_INET, SOCK_STREAM)
s.connect((ip, port))
s.send(name.encode('gbk'))
data = s.recv(1024 * 1024)
with open('new_' + name, 'wb') as f:
    f.write(data)
s.close()
