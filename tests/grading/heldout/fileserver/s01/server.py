import socket
import os

PORT = 8888
BUF = 1024


def send_file(conn, filename):
    if not os.path.isfile(filename):
        print('file not found:', filename)
        return
    with open(filename, 'rb') as f:
        while True:
            chunk = f.read(BUF)
            if not chunk:
                break
            conn.sendall(chunk)
    print('sent', filename, os.path.getsize(filename), 'bytes')


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(('', PORT))
    server.listen(5)
    print('file server started on port', PORT)
    while True:
        conn, addr = server.accept()
        print('client', addr)
        try:
            filename = conn.recv(1024).decode('gbk')
            send_file(conn, filename)
        finally:
            conn.close()


main()
