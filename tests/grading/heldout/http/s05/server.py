import os
import socketserver
from urllib.parse import unquote

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "css": "text/css",
    "js": "application/javascript",
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
}


class HTTPHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline(65537).decode("latin-1").strip()
        if not request_line:
            return
        # skip the rest of the header
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
        words = request_line.split()
        if len(words) < 2:
            return
        name = unquote(words[1]).lstrip("/")
        if name == "":
            name = "index.html"
        print(self.client_address[0], request_line)
        if os.path.isfile(name):
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            ctype = CONTENT_TYPES.get(ext, "application/octet-stream")
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            self.wfile.write(("Content-Type: %s\r\n" % ctype).encode())
            self.wfile.write(b"\r\n")
            with open(name, "rb") as f:
                while True:
                    block = f.read(8192)
                    if not block:
                        break
                    self.wfile.write(block)
        else:
            self.wfile.write(b"HTTP/1.0 404 Not Found\r\n"
                             b"Content-Type: text/html\r\n"
                             b"\r\n"
                             b"<html><body><h1>404 Not Found</h1></body></html>\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("", 8080), HTTPHandler) as httpd:
        print("serving HTTP on port 8080")
        httpd.serve_forever()
