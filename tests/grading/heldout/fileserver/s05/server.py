import os
import socketserver


class FileHandler(socketserver.BaseRequestHandler):
    def handle(self):
        filename = self.request.recv(1024).decode('gbk').strip('\x00')
        print(self.client_address, 'wants', repr(filename))
        if not os.path.isfile(filename):
            print('  not found')
            return
        with open(filename, 'rb') as fp:
            sent = 0
            while True:
                block = fp.read(64 * 1024)
                if not block:
                    break
                self.request.sendall(block)
                sent += len(block)
        print('  sent %d bytes' % sent)


class ReusableTCPServer(socketserver.TCPServer):
    allow_reuse_address = True


if __name__ == '__main__':
    server = ReusableTCPServer(('', 8888), FileHandler)
    print('file server on port 8888')
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
