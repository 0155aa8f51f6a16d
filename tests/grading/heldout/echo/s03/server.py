import socket
import threading

PORT = 8888


def handle_client(conn, addr):
    print("[+] new connection from %s:%d" % addr)
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            conn.sendall(data)
    except ConnectionError as e:
        print("[!] error with", addr, e)
    finally:
        conn.close()
        print("[-] %s:%d disconnected" % addr)


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("", PORT))
    server.listen(10)
    print("echo server listening on port", PORT)
    while True:
        conn, addr = server.accept()
        t = threading.Thread(target=handle_client, args=(conn, addr), daemon=True)
        t.start()


if __name__ == "__main__":
    main()
