//! Decoding: link layer → IPv4/IPv6 (extension headers included) → TCP, UDP,
//! ICMP, ICMPv6. Frames cut by a snaplen are decoded as far as their bytes go
//! and marked truncated; lengths come from the IP header, as on the wire.

pub mod dns;
pub mod link;
pub mod tcp_options;

use crate::source::Frame;
use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use link::LinkPayload;
use std::net::IpAddr;
pub use tcp_options::TcpOptions;

/// TCP header flag bits (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
pub mod flags {
    /// No more data from sender.
    pub const FIN: u16 = 0x001;
    /// Synchronize sequence numbers.
    pub const SYN: u16 = 0x002;
    /// Reset the connection.
    pub const RST: u16 = 0x004;
    /// Push function.
    pub const PSH: u16 = 0x008;
    /// Acknowledgment field is significant.
    pub const ACK: u16 = 0x010;
    /// Urgent pointer field is significant.
    pub const URG: u16 = 0x020;
    /// ECN-Echo.
    pub const ECE: u16 = 0x040;
    /// Congestion Window Reduced.
    pub const CWR: u16 = 0x080;
    /// Upper-case names in the order wirelab prints them.
    pub const NAMES: [(u16, &str); 8] = [
        (SYN, "SYN"),
        (FIN, "FIN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
        (URG, "URG"),
        (ECE, "ECE"),
        (CWR, "CWR"),
    ];
}

/// A decoded TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number.
    pub ack: u32,
    /// Flag bits, see [`flags`].
    pub flags: u16,
    /// Raw (unscaled) window field.
    pub window: u16,
    /// Header length in bytes (data offset × 4).
    pub header_len: u8,
    /// Payload length as sent: the IP length (bounded by the frame's own
    /// length, as tshark does), not the captured bytes.
    pub payload_len: u32,
    /// Options (as far as they were captured).
    pub options: TcpOptions,
    /// The captured part of the payload.
    pub payload: &'a [u8],
    /// The header is damaged; tshark still gives such a segment a stream.
    pub malformed: Option<TcpMalformed>,
    /// A snaplen cut the header (inside the options, or after the window):
    /// tshark analyses the segment but its dissection stops before it reports
    /// the analysis flags.
    pub header_cut: bool,
}

/// A TCP header that cannot be right, as tshark 4.0 tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpMalformed {
    /// Data offset below 5 words (the header length, in bytes): tshark runs
    /// the sequence analysis with it, shows the relative seq and the length,
    /// and stops.
    HeaderTooShort(u8),
    /// The header (length in bytes) is longer than the segment: no analysis,
    /// raw numbers.
    HeaderBeyondSegment(u8),
}

/// TCP header field offsets (RFC 9293 §3.1), named once.
pub(crate) mod tcp_at {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    /// Ports, numbers, offset, flags and window: what the analysis needs
    /// (tshark decodes a segment cut after the window).
    pub const DECODABLE: usize = 16;
    /// The fixed header.
    pub const FIXED: usize = 20;
}

/// Decodes a TCP header from the captured bytes of an IP payload whose length
/// on the wire is `reported`. `None` when not even [`tcp_at::DECODABLE`]
/// bytes were captured (tshark shows no TCP then either).
fn tcp_segment(bytes: &[u8], reported: usize) -> Option<TcpSegment<'_>> {
    if bytes.len() < tcp_at::DECODABLE {
        return None;
    }
    let header_len = ((bytes[tcp_at::OFFSET] >> 4) as usize) * 4;
    let malformed = if header_len < tcp_at::FIXED {
        Some(TcpMalformed::HeaderTooShort(header_len as u8))
    } else if reported < header_len {
        Some(TcpMalformed::HeaderBeyondSegment(header_len as u8))
    } else {
        None
    };
    let (options, payload, payload_len) = match malformed {
        None => {
            let end = bytes.len().min(header_len);
            let options = TcpOptions::parse(bytes.get(tcp_at::FIXED..end).unwrap_or(&[]));
            let payload = bytes.get(header_len..bytes.len().min(reported)).unwrap_or(&[]);
            (options, payload, reported - header_len)
        }
        Some(TcpMalformed::HeaderTooShort(_)) => (TcpOptions::default(), &[][..], reported.saturating_sub(header_len)),
        Some(TcpMalformed::HeaderBeyondSegment(_)) => (TcpOptions::default(), &[][..], 0),
    };
    Some(TcpSegment {
        sport: be16(bytes, tcp_at::SRC_PORT),
        dport: be16(bytes, tcp_at::DST_PORT),
        seq: be32(bytes, tcp_at::SEQ),
        ack: be32(bytes, tcp_at::ACK),
        flags: bytes[tcp_at::FLAGS] as u16,
        window: be16(bytes, tcp_at::WINDOW),
        header_len: header_len as u8,
        payload_len: payload_len as u32,
        options,
        payload,
        malformed,
        header_cut: bytes.len() < header_len.max(tcp_at::FIXED),
    })
}

/// The frame's length on the wire (a damaged record may claim less than it holds).
fn reported_len(frame: &Frame<'_>) -> usize {
    (frame.orig_len as usize).max(frame.data.len())
}

impl TcpSegment<'_> {
    /// True when every bit in `mask` is set.
    pub fn has(&self, mask: u16) -> bool {
        self.flags & mask == mask
    }
}

/// A decoded UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct UdpDatagram<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Payload length (UDP length field minus the 8-byte header).
    pub payload_len: u32,
    /// The captured part of the payload.
    pub payload: &'a [u8],
}

/// The original datagram quoted inside an ICMP error (RFC 792: "Internet
/// Header + 64 bits of Original Data Datagram").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// Source of the original datagram.
    pub src: IpAddr,
    /// Destination of the original datagram.
    pub dst: IpAddr,
    /// IP protocol number of the original datagram (6 TCP, 17 UDP).
    pub protocol: u8,
    /// Source port of the original datagram, if it had one.
    pub sport: Option<u16>,
    /// Destination port of the original datagram, if it had one.
    pub dport: Option<u16>,
}

/// A decoded ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct IcmpMessage {
    /// ICMPv6 rather than ICMP for IPv4.
    pub v6: bool,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// The quoted original datagram of an error message.
    pub quoted: Option<Quoted>,
}

impl IcmpMessage {
    /// True for "destination unreachable, port unreachable" (v4 3/3, v6 1/4).
    pub fn is_port_unreachable(&self) -> bool {
        matches!((self.v6, self.icmp_type, self.code), (false, 3, 3) | (true, 1, 4))
    }

    /// A short English name of the message.
    pub fn describe(&self) -> &'static str {
        match (self.v6, self.icmp_type, self.code) {
            (false, 0, _) | (true, 129, _) => "echo reply",
            (false, 8, _) | (true, 128, _) => "echo request",
            (false, 3, 3) | (true, 1, 4) => "port unreachable",
            (false, 3, 1) | (true, 1, 3) => "host unreachable",
            (false, 3, 4) => "fragmentation needed",
            (true, 2, _) => "packet too big",
            (false, 3, _) | (true, 1, _) => "destination unreachable",
            (false, 11, _) | (true, 3, _) => "time exceeded",
            (true, 133, _) => "router solicitation",
            (true, 134, _) => "router advertisement",
            (true, 135, _) => "neighbor solicitation",
            (true, 136, _) => "neighbor advertisement",
            _ => "icmp",
        }
    }
}

/// The transport layer of a packet.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP.
    Udp(UdpDatagram<'a>),
    /// ICMP or ICMPv6.
    Icmp(IcmpMessage),
    /// Another IP protocol (number), or a transport header cut short.
    Other(u8),
    /// No IP layer at all (ARP, unsupported link type …).
    None,
}

/// Why a frame has no IP layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonIp {
    /// Not IP (ARP, LLC …).
    NotIp,
    /// wirelab does not decode this link type.
    UnsupportedLink,
    /// The frame is too short for its headers.
    Truncated,
}

/// A decoded packet.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Source and destination addresses, when there is an IP layer.
    pub addrs: Option<(IpAddr, IpAddr)>,
    /// Transport layer.
    pub transport: Transport<'a>,
    /// Fewer bytes were captured than the frame had on the wire, or a header was cut.
    pub truncated: bool,
    /// Why there is no IP layer, if there is none.
    pub non_ip: Option<NonIp>,
}

/// Decodes one frame.
pub fn decode<'a>(frame: &Frame<'a>) -> Packet<'a> {
    ethernet_ipv4_tcp(frame).unwrap_or_else(|| decode_general(frame))
}

/// Field offsets of the fast path, named once (RFC 894 Ethernet, RFC 791 IPv4).
pub(crate) mod at {
    pub const ETHERTYPE: usize = 12;
    pub const ETH_LEN: usize = 14;
    pub const IP_TOTAL_LEN: usize = 2;
    pub const IP_FRAGMENT: usize = 6;
    pub const IP_PROTOCOL: usize = 9;
    pub const IP_SRC: usize = 12;
    pub const IP_DST: usize = 16;
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// The common case — Ethernet, IPv4 without fragmentation, a whole TCP header
/// — read in place. Anything else (VLAN, IPv6, options of odd length, cut
/// headers, fragments, IPv4 length 0 from TSO, an IP length beyond the frame)
/// goes to etherparse. A test checks that both paths agree on every frame we
/// have.
fn ethernet_ipv4_tcp<'a>(frame: &Frame<'a>) -> Option<Packet<'a>> {
    let d = frame.data;
    if frame.link != crate::source::LinkType::ETHERNET || d.len() < at::ETH_LEN + 20 + tcp_at::FIXED {
        return None;
    }
    if be16(d, at::ETHERTYPE) != link::ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &d[at::ETH_LEN..];
    let ihl = ((ip[0] & 0x0f) as usize) * 4;
    let total = be16(ip, at::IP_TOTAL_LEN) as usize;
    let fragmented = be16(ip, at::IP_FRAGMENT) & 0x3fff != 0;
    let on_wire = reported_len(frame) - at::ETH_LEN;
    if ip[0] >> 4 != 4
        || ihl < 20
        || ip[at::IP_PROTOCOL] != 6
        || fragmented
        || total < ihl + tcp_at::FIXED
        || total > on_wire
        || ip.len() < ihl + tcp_at::FIXED
    {
        return None;
    }
    let seg = tcp_segment(&ip[ihl..ip.len().min(total)], total - ihl)?;
    if seg.malformed.is_some() || ip.len() < ihl + seg.header_len as usize {
        return None;
    }
    let src = std::net::Ipv4Addr::new(ip[at::IP_SRC], ip[at::IP_SRC + 1], ip[at::IP_SRC + 2], ip[at::IP_SRC + 3]);
    let dst = std::net::Ipv4Addr::new(ip[at::IP_DST], ip[at::IP_DST + 1], ip[at::IP_DST + 2], ip[at::IP_DST + 3]);
    let cut = (d.len() as u64) < frame.orig_len as u64;
    Some(Packet {
        addrs: Some((IpAddr::V4(src), IpAddr::V4(dst))),
        transport: Transport::Tcp(seg),
        truncated: cut || ip.len() < total,
        non_ip: None,
    })
}

/// Any frame, through etherparse.
fn decode_general<'a>(frame: &Frame<'a>) -> Packet<'a> {
    let data = frame.data;
    let cut = (data.len() as u64) < frame.orig_len as u64;
    let sliced = match link::classify(frame.link, data) {
        LinkPayload::Ethernet => LaxSlicedPacket::from_ethernet(data).ok(),
        LinkPayload::EtherType { offset, ether_type } => {
            Some(LaxSlicedPacket::from_ether_type(ether_type.into(), &data[offset..]))
        }
        LinkPayload::RawIp { offset } => LaxSlicedPacket::from_ip(&data[offset..]).ok(),
        LinkPayload::Truncated => None,
        LinkPayload::NotIp => return non_ip(NonIp::NotIp, cut),
        LinkPayload::Unsupported => return non_ip(NonIp::UnsupportedLink, cut),
    };
    let Some(sliced) = sliced else {
        return non_ip(NonIp::Truncated, true);
    };
    decode_sliced(&sliced, cut, data, reported_len(frame))
}

fn non_ip<'a>(why: NonIp, truncated: bool) -> Packet<'a> {
    Packet {
        addrs: None,
        transport: Transport::None,
        truncated: truncated || why == NonIp::Truncated,
        non_ip: Some(why),
    }
}

/// Length of the IP payload on the wire, as tshark takes it: what the IP
/// header declares, bounded by what the frame itself holds from the IP header
/// on (`at_ip`, from the frame's original length); all of that when the header
/// gives no length (IPv4 total length 0 from TSO, IPv6 jumbograms).
fn ip_payload_on_wire(net: &LaxNetSlice<'_>, at_ip: usize) -> usize {
    let (declared, headers) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let headers = h.slice().len() + v4.extensions().auth.map_or(0, |a| a.slice().len());
            (h.total_len() as usize, headers)
        }
        LaxNetSlice::Ipv6(v6) => {
            let fixed = v6.header().slice().len();
            let len = v6.header().payload_length() as usize;
            (if len == 0 { 0 } else { fixed + len }, fixed + v6.extensions().slice().len())
        }
        LaxNetSlice::Arp(_) => return 0,
    };
    let ip_len = if declared == 0 { at_ip } else { declared.min(at_ip) };
    ip_len.saturating_sub(headers)
}

/// Where the network header starts inside `data` (pointer distance; both
/// slices come from the same frame).
fn offset_in(data: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(data.as_ptr() as usize).min(data.len())
}

fn decode_sliced<'a>(sliced: &LaxSlicedPacket<'a>, cut: bool, data: &[u8], reported: usize) -> Packet<'a> {
    let Some(net) = &sliced.net else {
        let why = if sliced.stop_err.is_some() { NonIp::Truncated } else { NonIp::NotIp };
        return non_ip(why, cut);
    };
    let (addrs, ip_start) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            ((IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr())), offset_in(data, h.slice()))
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            ((IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr())), offset_in(data, h.slice()))
        }
        LaxNetSlice::Arp(_) => return non_ip(NonIp::NotIp, cut),
    };
    let ip_payload = net.ip_payload_ref();
    let truncated = cut || sliced.stop_err.is_some() || ip_payload.is_some_and(|p| p.incomplete);
    let tcp = ip_payload
        .filter(|p| p.ip_number.0 == 6 && !p.fragmented)
        .and_then(|p| tcp_segment(p.payload, ip_payload_on_wire(net, reported.saturating_sub(ip_start))));
    let transport = match (tcp, &sliced.transport) {
        (Some(seg), _) => Transport::Tcp(seg),
        (None, Some(TransportSlice::Udp(udp))) => Transport::Udp(UdpDatagram {
            sport: udp.source_port(),
            dport: udp.destination_port(),
            payload_len: (udp.length() as u32).saturating_sub(8),
            payload: udp.payload(),
        }),
        (None, Some(TransportSlice::Icmpv4(icmp))) => Transport::Icmp(IcmpMessage {
            v6: false,
            icmp_type: icmp.type_u8(),
            code: icmp.code_u8(),
            quoted: if matches!(icmp.type_u8(), 3 | 4 | 5 | 11 | 12) { quoted_datagram(icmp.payload()) } else { None },
        }),
        (None, Some(TransportSlice::Icmpv6(icmp))) => Transport::Icmp(IcmpMessage {
            v6: true,
            icmp_type: icmp.type_u8(),
            code: icmp.code_u8(),
            quoted: if icmp.type_u8() < 128 { quoted_datagram(icmp.payload()) } else { None },
        }),
        _ => Transport::Other(ip_payload.map(|p| p.ip_number.0).unwrap_or(0)),
    };
    Packet { addrs: Some(addrs), transport, truncated, non_ip: None }
}

/// Reads the IP header and the first 8 bytes (ports) quoted in an ICMP error.
fn quoted_datagram(bytes: &[u8]) -> Option<Quoted> {
    let inner = LaxSlicedPacket::from_ip(bytes).ok()?;
    let net = inner.net.as_ref()?;
    let (src, dst) = match net {
        LaxNetSlice::Ipv4(v4) => (IpAddr::V4(v4.header().source_addr()), IpAddr::V4(v4.header().destination_addr())),
        LaxNetSlice::Ipv6(v6) => (IpAddr::V6(v6.header().source_addr()), IpAddr::V6(v6.header().destination_addr())),
        LaxNetSlice::Arp(_) => return None,
    };
    let payload = net.ip_payload_ref()?;
    let protocol = payload.ip_number.0;
    let ports = match protocol {
        6 | 17 | 132 if payload.payload.len() >= 4 => {
            let p = payload.payload;
            Some((u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]])))
        }
        _ => None,
    };
    Some(Quoted { src, dst, protocol, sport: ports.map(|p| p.0), dport: ports.map(|p| p.1) })
}

#[cfg(test)]
mod tests {
    //! Real frames, copied byte for byte from the captures in `captures/` and
    //! the public corpus.
    use super::*;
    use crate::source::{LinkType, Timestamp};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn frame(link: LinkType, data: &[u8], orig_len: u32) -> Packet<'_> {
        decode(&Frame { number: 1, ts: Timestamp::default(), link, data, orig_len, comment: None })
    }

    fn tcp<'a>(p: &Packet<'a>) -> TcpSegment<'a> {
        match p.transport {
            Transport::Tcp(t) => t,
            other => panic!("not TCP: {other:?}"),
        }
    }

    /// A Linux loopback SYN (zeroed Ethernet header) from `captures/lo_handshake_echo_teardown.pcap`.
    const LO_SYN: &str = "00000000000000000000000008004500003ce9644000400653557f0000017f000001b2228a4f2e3017be00000000a002ffd7fe3000000204ffd70402080a1c810e95000000000103030a";

    #[test]
    fn ethernet_loopback_syn() {
        let b = hex(LO_SYN);
        let p = frame(LinkType::ETHERNET, &b, 74);
        let t = tcp(&p);
        assert_eq!(p.addrs.unwrap().0.to_string(), "127.0.0.1");
        assert_eq!((t.sport, t.dport), (0xb222, 0x8a4f));
        assert_eq!(t.flags, flags::SYN);
        assert_eq!(t.seq, 0x2e3017be);
        assert_eq!(t.payload_len, 0);
        assert_eq!(t.options.mss, Some(65495));
        assert_eq!(t.options.window_scale, Some(10));
        assert!(t.options.sack_permitted && !p.truncated);
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let sll = hex("000003040006000000000000000008004500003c89e840004006b2d17f0000017f000001997283572018b41b00000000a002ffd7fe3000000204ffd70402080aa0aabdd4000000000103030a");
        assert_eq!(tcp(&frame(LinkType::LINUX_SLL, &sll, 76)).dport, 0x8357);
        let sll2 = hex("08000000000000010304000600000000000000004500003c05c44000400636f67f0000017f00000184209199f55952e200000000a002ffd7fe3000000204ffd70402080a61f4216e000000000103030a");
        let t = tcp(&frame(LinkType::LINUX_SLL2, &sll2, 80));
        assert_eq!((t.sport, t.dport), (0x8420, 0x9199));
    }

    #[test]
    fn bsd_null_ipv6_syn_from_macos() {
        let b = hex("1e000000600b0900002c06400000000000000000000000000000000100000000000000000000000000000001c56200506634cbcf00000000b002ffff0034000002043fc4010303060101080a2f92d8bd0000000004020000");
        let p = frame(LinkType::NULL, &b, 88);
        assert_eq!(p.addrs.unwrap().1.to_string(), "::1");
        let t = tcp(&p);
        assert_eq!((t.dport, t.options.mss, t.options.window_scale), (80, Some(16324), Some(6)));
    }

    #[test]
    fn raw_ipv6() {
        let b = hex("60000000002806402001061804000000000000005199cc70200106180001800000000000000000058c9b00506ae7073600000000a0021630299c00000204058c0402080a00dd1a390000000001030302");
        let t = tcp(&frame(LinkType::RAW, &b, 80));
        assert_eq!((t.sport, t.dport, t.flags), (0x8c9b, 80, flags::SYN));
    }

    #[test]
    fn vlan_tagged_ethernet() {
        let b = hex("0010db88d2efc8bcc896d2a08100b000080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000");
        let p = frame(LinkType::ETHERNET, &b, 82);
        assert_eq!(p.addrs.unwrap().0.to_string(), "141.142.228.5");
        assert_eq!(tcp(&p).options.mss, Some(1460));
    }

    #[test]
    fn icmp_port_unreachable_quotes_the_udp_datagram() {
        let b = hex("000000000000000000000000080045c0003fc5a700004001b6547f0000017f0000010303de720000000045000023283f4000401114897f0000017f000001980b0009000ffe22616e796f6e653f");
        let p = frame(LinkType::ETHERNET, &b, 77);
        let Transport::Icmp(m) = p.transport else { panic!("not ICMP") };
        assert!(m.is_port_unreachable());
        let q = m.quoted.unwrap();
        assert_eq!((q.protocol, q.sport, q.dport), (17, Some(0x980b), Some(9)));
    }

    #[test]
    fn snaplen_cut_frame_keeps_wire_lengths() {
        // 96 of 2114 bytes captured: the TCP length still comes from the IP header.
        let b = hex("0000000000000000000000000800450008346dcd40004006c6f47f0000017f000001d870ec395272c460c8d5409b80180040062900000101080a42553f6fe303e8be787878787878787878787878787878787878787878787878787878787878");
        let p = frame(LinkType::ETHERNET, &b, 2114);
        assert!(p.truncated);
        assert_eq!(tcp(&p).payload_len, 2114 - 14 - 20 - 32);
    }

    /// The fast path and etherparse agree on every frame of every capture we have.
    #[test]
    fn fast_path_agrees_with_etherparse() {
        use std::ops::ControlFlow;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(root.join("captures")).unwrap().map(|e| e.unwrap().path()).collect();
        files.extend(std::fs::read_dir(root.join("../shared/corpus/public")).unwrap().map(|e| e.unwrap().path()));
        files.retain(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"));
        let mut fast = 0;
        for f in files {
            let mut reader = crate::source::file::CaptureReader::open(&f).unwrap();
            reader
                .for_each(|frame| {
                    if let Some(p) = ethernet_ipv4_tcp(frame) {
                        fast += 1;
                        let general = decode_general(frame);
                        assert_eq!(format!("{p:?}"), format!("{general:?}"), "{} frame {}", f.display(), frame.number);
                    }
                    ControlFlow::Continue(())
                })
                .unwrap();
        }
        assert!(fast > 3000, "{fast} frames took the fast path");
    }

    /// `tests/data/ip_length_over_frame.pcap` frame 4: the IPv4 total length
    /// says 1500, the frame (captured whole) holds 100 bytes of payload.
    #[test]
    fn ip_length_beyond_the_frame_is_bounded_by_the_frame() {
        let mut b = hex(LO_SYN);
        b[14 + 2..14 + 4].copy_from_slice(&1500u16.to_be_bytes());
        b.extend_from_slice(&[0x64; 100]);
        let len = b.len() as u32;
        let t = tcp(&frame(LinkType::ETHERNET, &b, len));
        assert_eq!(t.payload_len, 100);
        // Cut by a snaplen instead: the IP header is believed.
        let t = tcp(&frame(LinkType::ETHERNET, &b, 1514));
        assert_eq!(t.payload_len, 1500 - 20 - 40);
    }

    /// `tests/data/pcapng_padding_tso.pcapng`: IPv4 total length 0 (TSO) — the
    /// frame's length decides.
    #[test]
    fn ip_total_length_zero_uses_the_frame() {
        let mut b = hex(LO_SYN);
        b[14 + 2..14 + 4].copy_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(b"abc");
        let len = b.len() as u32;
        assert_eq!(tcp(&frame(LinkType::ETHERNET, &b, len)).payload_len, 3);
    }

    /// `tests/data/snaplen_in_options.pcap`: a SYN cut inside its options
    /// (58 of 74 bytes, like `tcpdump -s 58`) keeps its numbers and the MSS
    /// that was captured; cut inside the fixed header after the window, it is
    /// still TCP; before the window, it is not.
    #[test]
    fn snaplen_inside_options_or_fixed_header() {
        let b = hex(LO_SYN);
        let t = tcp(&frame(LinkType::ETHERNET, &b[..58], 74));
        assert_eq!(
            (t.seq, t.flags, t.options.mss, t.options.window_scale),
            (0x2e3017be, flags::SYN, Some(65495), None)
        );
        let p = frame(LinkType::ETHERNET, &b[..50], 74);
        assert!(p.truncated);
        assert_eq!(tcp(&p).window, 0xffd7);
        assert!(!matches!(frame(LinkType::ETHERNET, &b[..49], 74).transport, Transport::Tcp(_)));
    }

    #[test]
    fn damaged_headers_do_not_panic() {
        let good = hex(LO_SYN);
        for cut in 0..good.len() {
            let _ = frame(LinkType::ETHERNET, &good[..cut], 74);
        }
        // IPv4 IHL < 5: no IP layer to speak of.
        let mut ihl = good.clone();
        ihl[14] = 0x44;
        assert!(!matches!(frame(LinkType::ETHERNET, &ihl, 74).transport, Transport::Tcp(_)));
        // TCP data offset < 5 and beyond the segment: still TCP, marked malformed
        // (tshark gives both a stream).
        for (off, want) in [(0x40u8, TcpMalformed::HeaderTooShort(16)), (0xf0, TcpMalformed::HeaderBeyondSegment(60))] {
            let mut b = good.clone();
            b[14 + 20 + 12] = off;
            let t = tcp(&frame(LinkType::ETHERNET, &b, 74));
            assert_eq!(t.malformed, Some(want));
            assert_eq!(t.seq, 0x2e3017be);
        }
        for link in [0, 1, 101, 108, 113, 228, 229, 276, 9, 12345] {
            let _ = frame(LinkType(link), &good, 74);
            let _ = frame(LinkType(link), &[], 0);
        }
    }
}
