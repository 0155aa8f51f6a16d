import socket
from pathlib import Path

ADDR = ("0.0.0.0", 8888)

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(ADDR)
    listener.listen()
    print("listening on", ADDR)
    while True:
        conn, addr = listener.accept()
        with conn:
            raw = conn.recv(1024)
            try:
                name = raw.decode("gbk")
            except UnicodeDecodeError:
                print(addr, "bad file name", raw)
                continue
            path = Path(name)
            if path.is_file():
                data = path.read_bytes()
                conn.sendall(data)
                print(addr, "->", name, len(data), "bytes")
            else:
                print(addr, "->", name, "not found")
