# HTTP/1.1 server that keeps connections open: Content-Length on every
# response, several requests per connection, a thread per client.
import os
import socket
import threading


def respond(conn, path):
    name = 'index.html' if path == '/' else path.lstrip('/')
    if os.path.isfile(name):
        with open(name, 'rb') as f:
            body, status = f.read(), '200 OK'
    else:
        body, status = b'<p>not found</p>', '404 Not Found'
    head = f'HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n'
    conn.sendall(head.encode() + body)


def client(conn):
    buf = b''
    with conn:
        while True:
            while b'\r\n\r\n' not in buf:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b'\r\n\r\n', 1)
            respond(conn, head.split(b' ')[1].decode())


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('0.0.0.0', 8080))
server.listen(5)
while True:
    c, _ = server.accept()
    threading.Thread(target=client, args=(c,), daemon=True).start()
