# 回显服务器 echo server
import socket

HOST = '0.0.0.0'
PORT = 8888

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((HOST, PORT))
s.listen(5)
print('服务器已启动，等待连接...')

while True:
    conn, addr = s.accept()
    print('客户端已连接:', addr)
    while True:
        data = conn.recv(1024)
        if not data:
            break
        msg = data.decode('utf-8')
        print('收到:', msg)
        conn.send(msg.encode('utf-8'))
    conn.close()
    print('客户端断开:', addr)
