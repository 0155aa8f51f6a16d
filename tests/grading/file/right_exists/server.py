# File-download server: checks that the file exists, sends it in pieces.
import os
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('0.0.0.0', 8888))
server.listen(5)
while True:
    client, address = server.accept()
    filename = client.recv(1024).decode('gbk')
    if os.path.isfile(filename):
        with open(filename, 'rb') as f:
            while True:
                chunk = f.read(4096)
                if not chunk:
                    break
                client.sendall(chunk)
    client.close()
