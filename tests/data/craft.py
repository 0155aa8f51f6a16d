#!/usr/bin/env python3
"""Writes the crafted edge-case captures of tests/data/ with scapy (Debian
python3-scapy 2.5). Each file isolates one rule where tshark 4.0's TCP analysis
is easy to get wrong; tests/tshark_oracle.rs compares wirelab with tshark on
every frame of each. Addresses are documentation ranges (RFC 5737/3849):
nothing here is ever sent, only written to files.

Run: python3 tests/data/craft.py   (from the project folder)"""
import os
import struct
from scapy.all import Ether, IP, IPv6, TCP, Raw, wrpcap
from scapy.utils import PcapNgWriter, PcapWriter

OUT = os.path.dirname(os.path.abspath(__file__))
A, B = "192.0.2.1", "192.0.2.2"
T0 = 1_700_000_000.0


class Conv:
    """One TCP conversation A:1234 <-> B:80; packets carry explicit times."""

    def __init__(self, sport=1234, dport=80, a=A, b=B, v6=False):
        self.sport, self.dport, self.a, self.b, self.v6 = sport, dport, a, b, v6
        self.frames = []

    def pkt(self, t, frm, flags, seq, ack=0, data=b"", win=8192, opts=None, keep=True, ip_len=None):
        src, dst = (self.a, self.b) if frm == "A" else (self.b, self.a)
        sp, dp = (self.sport, self.dport) if frm == "A" else (self.dport, self.sport)
        ip = IPv6(src=src, dst=dst) if self.v6 else IP(src=src, dst=dst)
        if ip_len is not None:
            ip.len = ip_len
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip / TCP(
            sport=sp, dport=dp, flags=flags, seq=seq, ack=ack, window=win, options=opts or [])
        if data:
            p = p / Raw(data)
        p.time = T0 + t
        if keep:
            self.frames.append(p)
        return p


def handshake(c, t=0.0, isn_a=1000, isn_b=5000):
    c.pkt(t, "A", "S", isn_a)
    c.pkt(t + 0.01, "B", "SA", isn_b, isn_a + 1)
    c.pkt(t + 0.02, "A", "A", isn_a + 1, isn_b + 1)


def ack_lost_repeated():
    """Class 1: B ACKs data of A that was not captured, then repeats that ACK
    (pure ACKs, a window update, its own data) before A sends anything new."""
    c = Conv()
    handshake(c)
    c.pkt(0.10, "A", "PA", 1001, 5001, b"x" * 100)
    c.pkt(0.11, "A", "PA", 1101, 5001, b"y" * 100, keep=False)  # not captured
    c.pkt(0.12, "B", "A", 5001, 1201)          # ACKed unseen segment
    c.pkt(0.13, "B", "A", 5001, 1201)          # same ACK again
    c.pkt(0.14, "B", "A", 5001, 1201)          # and again
    c.pkt(0.15, "B", "A", 5001, 1201, win=16384)  # window update
    c.pkt(0.16, "B", "PA", 5001, 1201, b"r" * 10)  # data from B, same ack
    c.pkt(0.17, "A", "PA", 1201, 5011, b"z" * 100)  # A sends new data
    c.pkt(0.18, "A", "PA", 1301, 5011, b"w" * 100, keep=False)  # lost again
    c.pkt(0.19, "B", "A", 5011, 1401)
    c.pkt(0.20, "B", "A", 5011, 1401)
    c.pkt(0.2001, "A", "PA", 1201, 5011, b"z" * 100)  # retransmission within 20 ms
    c.pkt(0.30, "A", "FA", 1401, 5011)
    c.pkt(0.31, "B", "FA", 5011, 1402)
    c.pkt(0.32, "A", "A", 1402, 5012)
    wrpcap(os.path.join(OUT, "ack_lost_repeated.pcap"), c.frames)


def syn_retransmitted():
    """Class 2: the same SYN (same ISN) three times, then the handshake; later
    the same 4-tuple with another ISN (port reuse, a new tcp.stream); then after
    a FIN close the same ISN again."""
    c = Conv(sport=40000)
    c.pkt(0.0, "A", "S", 777, opts=[("MSS", 1460)])
    c.pkt(1.0, "A", "S", 777, opts=[("MSS", 1460)])
    c.pkt(2.0, "A", "S", 777, opts=[("MSS", 1460)])
    c.pkt(2.01, "B", "SA", 9000, 778, opts=[("MSS", 1460)])
    c.pkt(2.02, "A", "A", 778, 9001)
    c.pkt(2.03, "A", "PA", 778, 9001, b"hello")
    c.pkt(2.04, "B", "A", 9001, 783)
    # The SYN-ACK retransmitted (its ISN known): a retransmission.
    c.pkt(2.05, "B", "SA", 9000, 778, opts=[("MSS", 1460)])
    c.pkt(3.0, "A", "FA", 783, 9001)
    c.pkt(3.01, "B", "FA", 9001, 784)
    c.pkt(3.02, "A", "A", 784, 9002)
    # Same 4-tuple, same ISN as before, after a FIN: a new conversation.
    c.pkt(4.0, "A", "S", 777)
    c.pkt(4.01, "B", "R", 0, 778)
    # Same 4-tuple, another ISN: port reuse.
    c.pkt(5.0, "A", "S", 123456)
    c.pkt(5.01, "B", "SA", 555, 123457)
    c.pkt(5.02, "A", "A", 123457, 556)
    c.pkt(5.03, "A", "S", 123456)  # retransmitted SYN of the new stream
    # A SYN-ACK with a new ISN on a known stream.
    c.pkt(5.04, "B", "SA", 999, 123457)
    c.pkt(5.05, "A", "RA", 123457, 1000)
    # A second client whose SYN is never answered (a full accept queue).
    d = Conv(sport=40001)
    for i, t in enumerate([6.0, 7.0, 8.0, 9.0, 10.0, 12.0]):
        d.pkt(t, "A", "S", 31337, opts=[("MSS", 1460), ("WScale", 7)])
    frames = sorted(c.frames + d.frames, key=lambda p: p.time)
    wrpcap(os.path.join(OUT, "syn_retransmitted.pcap"), frames)


def pcapng_padding_tso():
    """Class 3: IPv4 total length 0 (TSO capture), frame sizes that are not a
    multiple of 4, in pcapng (where packet data is padded to 32 bits)."""
    c = Conv()
    handshake(c)
    seq = 1001
    for i, n in enumerate([1, 2, 3, 5, 101, 1447]):
        c.pkt(0.1 + i * 0.01, "A", "PA", seq, 5001, bytes([65 + i]) * n, ip_len=0)
        seq += n
        c.pkt(0.105 + i * 0.01, "B", "A", 5001, seq)
    c.pkt(0.5, "A", "FA", seq, 5001, ip_len=0)
    c.pkt(0.51, "B", "FA", 5001, seq + 1)
    c.pkt(0.52, "A", "A", seq + 1, 5002)
    with PcapNgWriter(os.path.join(OUT, "pcapng_padding_tso.pcapng")) as w:
        for p in c.frames:
            w.write(p)


def write_raw_pcap(path, records, linktype=1, snaplen=65535):
    """records: (time, bytes, orig_len)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for t, data, orig in records:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(data), orig))
            f.write(data)


def ip_length_over_frame():
    """Class 4: IPv4 total length larger than the frame really is, with the
    frame captured whole (caplen == len): the frame decides the TCP length."""
    c = Conv()
    handshake(c)
    recs = [(float(p.time), bytes(p), len(bytes(p))) for p in c.frames]
    seq = 1001
    t = 0.1
    for n, claim in [(100, 1500), (50, 400), (10, 60)]:
        p = c.pkt(t, "A", "PA", seq, 5001, b"d" * n, keep=False)
        raw = bytearray(bytes(p))
        raw[16:18] = struct.pack(">H", claim)  # IPv4 total length
        recs.append((T0 + t, bytes(raw), len(raw)))
        seq += n
        a = c.pkt(t + 0.005, "B", "A", 5001, seq, keep=False)
        recs.append((T0 + t + 0.005, bytes(a), len(bytes(a))))
        recs.append((T0 + t + 0.006, bytes(a), len(bytes(a))))  # duplicate ACK
        t += 0.02
    # IPv6 payload length over the frame too.
    c6 = Conv(a="2001:db8::1", b="2001:db8::2", v6=True)
    handshake(c6, t=0.5)
    recs += [(float(p.time), bytes(p), len(bytes(p))) for p in c6.frames]
    p = c6.pkt(0.6, "A", "PA", 1001, 5001, b"v" * 40, keep=False)
    raw = bytearray(bytes(p))
    raw[18:20] = struct.pack(">H", 1000)  # IPv6 payload length
    recs.append((T0 + 0.6, bytes(raw), len(raw)))
    a = c6.pkt(0.61, "B", "A", 5001, 1041, keep=False)
    recs.append((T0 + 0.61, bytes(a), len(bytes(a))))
    recs.append((T0 + 0.62, bytes(a), len(bytes(a))))
    write_raw_pcap(os.path.join(OUT, "ip_length_over_frame.pcap"), recs)


def malformed_tcp_header():
    """Class 5: TCP data offset < 5, and a header longer than the IP payload;
    the streams after them must keep tshark's numbers."""
    recs = []
    c = Conv(sport=1111)
    handshake(c)
    recs += [(float(p.time), bytes(p), len(bytes(p))) for p in c.frames]
    for i, (off, t) in enumerate([(3, 0.1), (0, 0.11), (15, 0.12), (8, 0.13)]):
        p = Conv(sport=2000 + i).pkt(t, "A", "PA", 42, 43, b"q" * 4, keep=False)
        raw = bytearray(bytes(p))
        raw[14 + 20 + 12] = (off << 4) | (raw[14 + 20 + 12] & 0x0F)
        recs.append((T0 + t, bytes(raw), len(raw)))
    d = Conv(sport=3333)
    handshake(d, t=0.2)
    d.pkt(0.25, "A", "PA", 1001, 5001, b"after")
    recs += [(float(p.time), bytes(p), len(bytes(p))) for p in d.frames]
    write_raw_pcap(os.path.join(OUT, "malformed_tcp_header.pcap"), recs)


def snaplen_in_options():
    """Class 6: a snaplen of 58/60/64 bytes cuts SYNs inside their options
    (like tcpdump -s 60 on lo); also a data segment cut inside its header."""
    c = Conv(sport=5555)
    opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]
    c.pkt(0.0, "A", "S", 1000, opts=opts)
    c.pkt(0.01, "B", "SA", 5000, 1001, opts=opts)
    c.pkt(0.02, "A", "A", 1001, 5001, opts=[("NOP", None), ("NOP", None), ("Timestamp", (2, 1))])
    c.pkt(0.03, "A", "PA", 1001, 5001, b"z" * 300, opts=[("NOP", None), ("NOP", None), ("Timestamp", (3, 1))])
    c.pkt(0.04, "B", "A", 5001, 1301, opts=[("NOP", None), ("NOP", None), ("Timestamp", (4, 3))])
    ts = lambda v, e: [("NOP", None), ("NOP", None), ("Timestamp", (v, e))]
    # Duplicate ACKs, a lost segment and a retransmission, each frame cut at 60
    # bytes (inside the timestamp option), then the same cut at 50 (inside the
    # fixed header, after the window).
    c.pkt(0.05, "A", "PA", 1301, 5001, b"y" * 100, opts=ts(5, 4))
    c.pkt(0.06, "A", "PA", 1501, 5001, b"y" * 100, opts=ts(6, 4))  # 1401..1501 not captured
    c.pkt(0.07, "B", "A", 5001, 1401, opts=ts(7, 5))
    c.pkt(0.071, "B", "A", 5001, 1401, opts=ts(8, 6))
    c.pkt(0.072, "B", "A", 5001, 1401, opts=ts(9, 6))
    c.pkt(0.073, "A", "PA", 1401, 5001, b"y" * 100, opts=ts(10, 9))
    c.pkt(0.08, "B", "A", 5001, 1601, opts=ts(11, 10))
    c.pkt(0.081, "B", "A", 5001, 1601, opts=ts(12, 10))
    c.pkt(0.082, "B", "A", 5001, 1601, opts=ts(13, 10))
    recs = []
    snaps = [58, 60, 64, 40, 50] + [60] * 6 + [50] * 3
    for p, snap in zip(c.frames, snaps):
        raw = bytes(p)
        recs.append((float(p.time), raw[:snap], len(raw)))
    write_raw_pcap(os.path.join(OUT, "snaplen_in_options.pcap"), recs, snaplen=60)


def linktype_fcs_bits():
    """Class 7: the pcap header's link type carries FCS-length bits
    (0x30000001: Ethernet with a 2-unit FCS field set)."""
    c = Conv()
    handshake(c)
    c.pkt(0.1, "A", "PA", 1001, 5001, b"fcs")
    c.pkt(0.11, "B", "A", 5001, 1004)
    recs = [(float(p.time), bytes(p), len(bytes(p))) for p in c.frames]
    write_raw_pcap(os.path.join(OUT, "linktype_fcs_bits.pcap"), recs, linktype=0x30000001)


def long_silence():
    """Class 8: a finished connection whose 4-tuple returns 10 minutes later
    (a late retransmission, then a new SYN with the same ISN and another), and
    one that is silent for 2 hours and then goes on."""
    c = Conv(sport=6000)
    handshake(c, isn_a=100, isn_b=200)
    c.pkt(0.1, "A", "PA", 101, 201, b"a" * 10, opts=[])
    c.pkt(0.2, "B", "A", 201, 111)
    c.pkt(0.3, "A", "FA", 111, 201)
    c.pkt(0.4, "B", "FA", 201, 112)
    c.pkt(0.5, "A", "A", 112, 202)
    c.pkt(600.0, "B", "FA", 201, 112)     # late FIN retransmission
    c.pkt(600.1, "A", "A", 112, 202)
    c.pkt(700.0, "A", "S", 100)           # same ISN after the close
    c.pkt(800.0, "A", "S", 424242)        # another ISN
    c.pkt(800.01, "B", "SA", 9999, 424243)
    c.pkt(800.02, "A", "A", 424243, 10000)
    d = Conv(sport=6001)
    d.pkt(0.0, "A", "S", 1000, opts=[("WScale", 3)])
    d.pkt(0.01, "B", "SA", 5000, 1001, opts=[("WScale", 2)])
    d.pkt(0.02, "A", "A", 1001, 5001, win=100)
    d.pkt(0.03, "A", "PA", 1001, 5001, b"k" * 20, win=100)
    d.pkt(0.04, "B", "A", 5001, 1021, win=50)
    d.pkt(7200.0, "A", "PA", 1021, 5001, b"m" * 20, win=100)   # two hours later
    d.pkt(7200.01, "B", "A", 5001, 1041, win=50)
    d.pkt(7200.02, "B", "A", 5001, 1041, win=50)              # duplicate ACK
    d.pkt(7200.03, "A", "PA", 1021, 5001, b"m" * 20, win=100)  # retransmission
    frames = sorted(c.frames + d.frames, key=lambda p: p.time)
    wrpcap(os.path.join(OUT, "long_silence.pcap"), frames)


if __name__ == "__main__":
    ack_lost_repeated()
    syn_retransmitted()
    pcapng_padding_tso()
    ip_length_over_frame()
    malformed_tcp_header()
    snaplen_in_options()
    linktype_fcs_bits()
    long_silence()
    print("written to", OUT)
