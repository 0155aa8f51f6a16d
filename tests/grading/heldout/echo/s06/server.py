"""Echo server implemented with socketserver (threaded)."""
import socketserver


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        print('connection from', self.client_address)
        while True:
            chunk = self.request.recv(2048)
            if chunk == b'':
                break
            self.request.sendall(chunk)
        print('client', self.client_address, 'finished')


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == '__main__':
    with Server(('0.0.0.0', 8888), EchoHandler) as srv:
        print('serving on port 8888')
        srv.serve_forever()
