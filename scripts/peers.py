#!/usr/bin/env python3
"""Small real socket exchanges used to record wirelab's test captures.

Each scenario is what a student of a socket course writes; run by
record-captures.sh while tcpdump/dumpcap capture the loopback traffic.
"""
import socket
import struct
import sys
import threading
import time


def exchange(family=socket.AF_INET, host="127.0.0.1", port=0, payload=b"hello", rounds=1):
    """socket/bind/listen/accept, send + recv(1024) both ways, client closes first."""
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(128)
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        while True:
            data = conn.recv(1024)
            if not data:  # b"": the client closed
                break
            conn.sendall(data.upper())
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    cli = socket.socket(family, socket.SOCK_STREAM)
    cli.connect((host, port))
    for _ in range(rounds):
        cli.sendall(payload)
        cli.recv(1024)
        time.sleep(0.05)
    cli.close()
    t.join()
    srv.close()


def refused(port):
    s = socket.socket()
    err = s.connect_ex(("127.0.0.1", port))
    assert err == 111, err
    s.close()


def abort():
    """close() with SO_LINGER {on, 0}: RST instead of FIN."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.sendall(b"bye")
    conn.recv(10)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cli.close()
    time.sleep(0.05)
    try:
        conn.recv(10)
    except ConnectionResetError:
        pass
    conn.close()
    srv.close()


def udp(closed_port):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for msg in (b"one", b"two", b"three"):
        tx.sendto(msg, rx.getsockname())
    for _ in range(3):
        rx.recvfrom(1024)
    tx.sendto(b"anyone?", ("127.0.0.1", closed_port))
    time.sleep(0.05)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.connect(("127.0.0.1", closed_port))
    c.send(b"first")
    time.sleep(0.05)
    try:
        c.send(b"second")
    except ConnectionRefusedError:
        pass
    for s in (rx, tx, c):
        s.close()


def zero_window(seconds=2.0):
    """A receiver with a small SO_RCVBUF stops reading: the window closes."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    cli.setblocking(False)
    sent, end = 0, time.time() + seconds
    chunk = b"x" * 65536
    while time.time() < end:
        try:
            sent += cli.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    cli.setblocking(True)
    got = 0
    conn.settimeout(2)
    cli.shutdown(socket.SHUT_WR)
    while True:
        data = conn.recv(65536)
        if not data:
            break
        got += len(data)
    assert got == sent, (got, sent)
    conn.close()
    cli.close()
    srv.close()


def bulk(host, port, size):
    """Client side of a bulk transfer to `host:port` (server: bulk_server)."""
    s = socket.create_connection((host, port))
    s.sendall(b"z" * size)
    s.shutdown(socket.SHUT_WR)
    s.recv(10)
    s.close()


def bulk_server(host, port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1)
    conn, _ = srv.accept()
    while conn.recv(65536):
        pass
    conn.close()
    srv.close()


def rr_server(host, port):
    """Request/response server for the benchmark: read a request, answer, close."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1024)
    answer = b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    while True:  # until the benchmark stops it
        conn, _ = srv.accept()
        if conn.recv(1024):
            conn.sendall(answer)
        conn.close()


def rr_clients(host, port, n):
    """n short connections: handshake, a small request and response, teardown."""
    request = b"GET / HTTP/1.0\r\n\r\n"
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(request)
        while s.recv(4096):
            pass
        s.close()


if __name__ == "__main__":
    what = sys.argv[1]
    args = sys.argv[2:]
    if what == "exchange":
        exchange(rounds=int(args[0]) if args else 1)
    elif what == "exchange6":
        exchange(socket.AF_INET6, "::1")
    elif what == "refused":
        refused(int(args[0]))
    elif what == "abort":
        abort()
    elif what == "udp":
        udp(int(args[0]))
    elif what == "zero_window":
        zero_window()
    elif what == "bulk":
        bulk(args[0], int(args[1]), int(args[2]))
    elif what == "bulk_server":
        bulk_server(args[0], int(args[1]))
    elif what == "rr_server":
        rr_server(args[0], int(args[1]))
    elif what == "rr_clients":
        rr_clients(args[0], int(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown scenario {what}")
