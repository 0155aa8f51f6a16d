# Wrong: no SO_REUSEADDR. It serves well, but it closes each connection
# first, so port 8888 has connections in TIME_WAIT; started again within a
# minute, bind() fails with "Address already in use".
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    name = conn.recv(1024).decode('gbk')
    try:
        with open(name, 'rb') as f:
            conn.sendall(f.read())
    except FileNotFoundError:
        pass
    conn.close()
