# File-download client: collects the pieces, writes the file at the end.
import socket


def download(ip, port, name):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect((ip, port))
    sock.sendall(name.encode('gbk'))
    pieces = []
    while True:
        chunk = sock.recv(65536)
        if chunk == b'':
            break
        pieces.append(chunk)
    sock.close()
    return b''.join(pieces)


if __name__ == '__main__':
    ip = input()
    port = int(input())
    name = input()
    content = download(ip, port, name)
    with open(name, 'wb') as f:
        f.write(content)
    print(len(content), 'bytes')
