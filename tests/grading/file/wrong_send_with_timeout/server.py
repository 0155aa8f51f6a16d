# Wrong: one send() instead of sendall(). send() returns how many bytes it
# took; with a timeout set (settimeout makes the socket non-blocking inside
# Python) it takes only what fits in the kernel's send buffer and returns,
# so the rest of the file is never sent. (A blocking socket without a
# timeout hides the mistake on Linux: its send() waits until all is queued.)
from socket import *

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('', 8888))
s.listen(5)
while True:
    conn, addr = s.accept()
    conn.settimeout(10)
    name = conn.recv(1024).decode('gbk')
    try:
        with open(name, 'rb') as f:
            data = f.read()
        n = conn.send(data)
        print('sent', n, 'of', len(data))
    except FileNotFoundError:
        pass
    conn.close()
