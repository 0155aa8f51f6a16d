import socket

ip = input("server ip: ")
port = int(input("port: "))
filename = input("file name: ")

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((ip, port))
s.send(filename.encode())

total = 0
with open("new_" + filename, "wb") as f:
    while True:
        buf = s.recv(4096)
        if not buf:
            break
        f.write(buf)
        total += len(buf)
s.close()
print("received", total, "bytes")
