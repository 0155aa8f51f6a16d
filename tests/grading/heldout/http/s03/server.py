import mimetypes
import os
import socket
import threading
from urllib.parse import unquote

HOST, PORT = "", 8080

NOT_FOUND = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
             "<title>404</title></head><body><h1>404 Not Found</h1>"
             "</body></html>").encode("utf-8")


def read_request(conn, buf):
    """Read until the end of the request header. Returns (header, rest) or (None, buf)."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return None, buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("iso-8859-1"), rest


def build_response(target):
    path = unquote(target.split("?", 1)[0])
    name = path.lstrip("/") or "index.html"
    if os.path.isfile(name):
        with open(name, "rb") as f:
            body = f.read()
        ctype, _ = mimetypes.guess_type(name)
        if ctype is None:
            ctype = "application/octet-stream"
        if ctype.startswith("text/"):
            ctype += "; charset=utf-8"
        status = "200 OK"
    else:
        body = NOT_FOUND
        ctype = "text/html; charset=utf-8"
        status = "404 Not Found"
    return status, ctype, body


def handle(conn, addr):
    buf = b""
    with conn:
        while True:
            head, buf = read_request(conn, buf)
            if head is None:
                break
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split()
            except ValueError:
                break
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            status, ctype, body = build_response(target)
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            resp = "HTTP/1.1 %s\r\n" % status
            resp += "Content-Type: %s\r\n" % ctype
            resp += "Content-Length: %d\r\n" % len(body)
            resp += "Connection: %s\r\n\r\n" % ("keep-alive" if keep else "close")
            conn.sendall(resp.encode("ascii") + body)
            print(addr, method, target, status)
            if not keep:
                break


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, PORT))
    srv.listen(16)
    print("HTTP server on port", PORT)
    while True:
        conn, addr = srv.accept()
        threading.Thread(target=handle, args=(conn, addr), daemon=True).start()


if __name__ == "__main__":
    main()
