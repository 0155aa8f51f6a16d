import socket
import os


def get_type(filename):
    if filename.endswith('.html'):
        return 'text/html; charset=utf-8'
    elif filename.endswith('.jpg'):
        return 'image/jpeg'
    elif filename.endswith('.png'):
        return 'image/png'
    elif filename.endswith('.txt'):
        return 'text/plain; charset=utf-8'
    return 'application/octet-stream'


def make_response(filename):
    if os.path.exists(filename):
        with open(filename, 'rb') as f:
            body = f.read()
        head = 'HTTP/1.1 200 OK\n'
        head += 'Content-Type: ' + get_type(filename) + '\n'
    else:
        body = '<html><body><h1>404 Not Found</h1><p>文件不存在</p></body></html>'.encode('utf-8')
        head = 'HTTP/1.1 404 Not Found\n'
        head += 'Content-Type: text/html; charset=utf-8\n'
    head += 'Content-Length: ' + str(len(body)) + '\n'
    head += 'Connection: close\n'
    head += '\n'
    return head.encode() + body


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('0.0.0.0', 8080))
    server.listen(5)
    print('http://127.0.0.1:8080/')
    while True:
        client, addr = server.accept()
        request = client.recv(1024).decode()
        if request:
            first_line = request.split('\n')[0]
            print(addr, first_line.strip())
            url = first_line.split(' ')[1]
            if url == '/':
                filename = 'index.html'
            else:
                filename = url[1:]
            client.sendall(make_response(filename))
        client.close()


if __name__ == '__main__':
    main()
