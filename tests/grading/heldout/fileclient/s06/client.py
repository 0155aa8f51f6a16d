import socket

server_ip = input('服务器IP: ')
server_port = int(input('端口: '))
file_name = input('文件名: ')

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
    client.connect((server_ip, server_port))
    client.sendall(file_name.encode('gbk'))
    size = 0
    with open(file_name, 'wb') as fp:
        while True:
            data = client.recv(65536)
            if not data:
                break
            fp.write(data)
            size += len(data)

print('共接收 %d 字节，已保存为 %s' % (size, file_name))
