import socket


def download(ip, port, filename):
    chunks = []
    with socket.create_connection((ip, port)) as sock:
        sock.sendall(filename.encode("gbk"))
        while True:
            part = sock.recv(8192)
            if part == b"":
                break
            chunks.append(part)
    return b"".join(chunks)


def main():
    ip = input("IP: ").strip()
    port = int(input("Port: ").strip())
    filename = input("File: ").strip()
    content = download(ip, port, filename)
    save_as = "received_" + filename
    with open(save_as, "wb") as out:
        out.write(content)
    print("saved %d bytes to %s" % (len(content), save_as))


if __name__ == "__main__":
    main()
