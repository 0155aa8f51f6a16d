//! JSON lines: one object per frame, a stable contract documented in the README.

use super::Renderer;
use crate::analyze::http::{BodyKind, HttpMessage, StartLine};
use crate::analyze::{Analyzer, Cause, FrameRecord, Proto, TcpRecord};
use crate::decode::{flags, TcpMalformed};
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// Both endpoint states after the frame.
#[derive(Serialize)]
struct States {
    src: &'static str,
    dst: &'static str,
}

/// The JSON object of one frame. Field order is part of the contract.
/// Borrows the record's text (HTTP headers, comment).
#[derive(Serialize)]
pub struct JsonFrame<'a> {
    frame: u64,
    ts: f64,
    proto: Proto,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<FlagNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq_raw: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_raw: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    len: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    win: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    win_scale: Option<i8>,
    #[serde(skip_serializing_if = "is_not_tcp")]
    mss: Option<Option<u16>>,
    #[serde(skip_serializing_if = "is_not_tcp")]
    wscale: Option<Option<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<ExpertNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dupack_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<States>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_udp_stream: Option<u32>,
    cause: Option<&'static str>,
    #[serde(skip_serializing_if = "ExplainTexts::is_empty")]
    explain: ExplainTexts,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_type: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<std::borrow::Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<DnsJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wire: Option<crate::source::wire::WireMark>,
}

/// A DNS message: question, answers, response code.
#[derive(Serialize)]
struct DnsJson {
    id: u16,
    response: bool,
    name: String,
    qtype: &'static str,
    rcode: &'static str,
    answers: Vec<IpAddr>,
}

impl DnsJson {
    fn new(d: &crate::decode::dns::DnsInfo) -> DnsJson {
        DnsJson {
            id: d.id,
            response: d.response,
            name: d.name().to_string(),
            qtype: d.qtype_name(),
            rcode: d.rcode_name(),
            answers: d.answers.iter().flatten().copied().collect(),
        }
    }
}

/// An HTTP message whose header block the frame completes, borrowed from
/// the record: built only on such frames, without copying a header.
#[derive(Serialize)]
struct HttpJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    request_line: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_line: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    version: &'a str,
    headers: &'a [(std::borrow::Cow<'static, str>, String)],
    body: BodyKind,
    body_len: Option<u64>,
    header_bytes: u32,
    first_frame: u64,
}

impl<'a> HttpJson<'a> {
    fn new(m: &'a HttpMessage) -> HttpJson<'a> {
        let mut j = HttpJson {
            request_line: None,
            method: None,
            target: None,
            status_line: None,
            status_code: None,
            reason: None,
            version: "",
            headers: &m.headers,
            body: m.body,
            body_len: m.body_len,
            header_bytes: m.header_bytes,
            first_frame: m.first_frame,
        };
        match &m.start {
            StartLine::Request { line, method, target, version } => {
                j.request_line = Some(line);
                j.method = Some(method);
                j.target = Some(target);
                j.version = version;
            }
            StartLine::Response { line, version, code, reason } => {
                j.status_line = Some(line);
                j.status_code = Some(*code);
                j.reason = Some(reason);
                j.version = version;
            }
        }
        j
    }
}

fn is_not_tcp<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// TCP flags serialised as an array of names, without allocating.
struct FlagNames(u16);

impl Serialize for FlagNames {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(flags::NAMES.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| *n))
    }
}

/// Expert flags serialised as an array of tshark names, without allocating.
struct ExpertNames(crate::analyze::Expert);

impl Serialize for ExpertNames {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.names())
    }
}

/// The explanation sentences (English) of a frame.
struct ExplainTexts([Option<crate::analyze::Explain>; 2]);

impl ExplainTexts {
    fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }
}

impl Serialize for ExplainTexts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().flatten().map(|e| e.en()))
    }
}

impl<'a> JsonFrame<'a> {
    /// Builds the JSON object of a frame.
    pub fn new(rec: &'a FrameRecord) -> JsonFrame<'a> {
        let payload = rec.payload.as_ref().map(|p| super::payload::preview(p).into());
        let tcp: Option<&TcpRecord> = rec.tcp.as_ref();
        // A damaged header: only what tshark decodes before it gives up.
        let too_short = tcp.is_some_and(|t| matches!(t.malformed, Some(TcpMalformed::HeaderTooShort(_))));
        let beyond = tcp.is_some_and(|t| matches!(t.malformed, Some(TcpMalformed::HeaderBeyondSegment(_))));
        let whole = tcp.filter(|_| !too_short);
        JsonFrame {
            payload,
            http: rec.http.as_deref().map(HttpJson::new),
            frame: rec.frame,
            ts: rec.ts.as_f64(),
            proto: rec.proto,
            src: rec.src,
            dst: rec.dst,
            sport: rec.sport,
            dport: rec.dport,
            stream: tcp.map(|t| t.stream).or(rec.udp.as_ref().map(|u| u.stream)),
            flags: whole.map(|t| FlagNames(t.flags)),
            seq: tcp.map(|t| t.seq),
            ack: whole.map(|t| t.ack),
            seq_raw: tcp.map(|t| t.seq_raw),
            ack_raw: whole.map(|t| t.ack_raw),
            len: tcp.filter(|_| !beyond).map(|t| t.len).or(rec.udp.as_ref().map(|u| u.len)),
            win: whole.map(|t| t.win),
            win_scale: whole.map(|t| t.win_scale),
            mss: whole.map(|t| t.mss),
            wscale: whole.map(|t| t.wscale),
            analysis: tcp.map(|t| ExpertNames(t.expert)),
            dupack_num: tcp.filter(|t| t.dupack_num > 0).map(|t| t.dupack_num),
            state: tcp.map(|t| States { src: t.state_src.name(), dst: t.state_dst.name() }),
            icmp_type: rec.icmp.as_deref().map(|i| i.msg.icmp_type),
            icmp_code: rec.icmp.as_deref().map(|i| i.msg.code),
            icmp_udp_stream: rec.icmp.as_deref().and_then(|i| i.udp_stream),
            cause: rec.cause.map(Cause::en),
            explain: ExplainTexts(rec.explain),
            truncated: rec.truncated,
            link_type: rec.src.is_none().then_some(rec.link.0),
            comment: rec.comment.as_deref(),
            wire: rec.wire,
            dns: rec.udp.as_ref().and_then(|u| u.dns.as_deref()).map(DnsJson::new),
            malformed: tcp.and_then(|t| t.malformed).map(|m| match m {
                TcpMalformed::HeaderTooShort(_) => "tcp_header_too_short",
                TcpMalformed::HeaderBeyondSegment(_) => "tcp_header_beyond_segment",
            }),
        }
    }
}

pub(crate) use hand::string as json_string;

/// What `SocketAddr`'s `Display` writes ("a.b.c.d:port", "[v6]:port").
pub(crate) fn write_socket_addr(buf: &mut Vec<u8>, a: std::net::SocketAddr) {
    if a.is_ipv6() {
        buf.push(b'[');
        write_ip(buf, a.ip());
        buf.push(b']');
    } else {
        write_ip(buf, a.ip());
    }
    buf.push(b':');
    super::bytes::uint(buf, a.port());
}

/// What `IpAddr`'s `Display` writes; IPv4 (nearly every packet) without the formatter.
pub(crate) fn write_ip(buf: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => super::bytes::ipv4(buf, a, None),
        IpAddr::V6(a) => {
            let _ = write!(buf, "{a}");
        }
    }
}

/// The JSON text of a frame written by hand, byte for byte what serde_json
/// writes for [`JsonFrame`] (a test compares the two on every captured
/// frame): keys and names are known ASCII and go out as they are, numbers
/// through [`super::bytes`], parts that repeat from frame to frame are kept
/// as text, and only text from the capture is escaped. serde_json, escaping
/// every key and name a byte at a time, was most of `--format jsonl`.
mod hand {
    use super::super::bytes::{int, uint, Padded};
    use super::*;

    /// serde_json's escaping: `"`, `\\`, and control characters.
    pub fn string(buf: &mut Vec<u8>, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        buf.push(b'"');
        let bytes = s.as_bytes();
        // Nearly every string needs nothing: one pass the compiler vectorises.
        if !bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\')) {
            buf.extend_from_slice(bytes);
            buf.push(b'"');
            return;
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..=0x1f => b"",
                _ => continue,
            };
            buf.extend_from_slice(&bytes[start..i]);
            if short.is_empty() {
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(b >> 4)]);
                buf.push(HEX[usize::from(b & 0xf)]);
            } else {
                buf.extend_from_slice(short);
            }
            start = i + 1;
        }
        buf.extend_from_slice(&bytes[start..]);
        buf.push(b'"');
    }

    /// `,"key":` (every key but the first) as one literal: one copy, not three.
    macro_rules! key {
        ($name:literal) => {
            concat!(",\"", $name, "\":").as_bytes()
        };
    }

    /// `,"name":value` when there is a value (skipped fields are absent).
    #[inline(always)]
    fn field<T>(buf: &mut Vec<u8>, key: &[u8], value: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
        if let Some(v) = value {
            buf.extend_from_slice(key);
            write(buf, v);
        }
    }

    fn opt_int(buf: &mut Vec<u8>, n: Option<impl Into<u64>>) {
        match n {
            Some(n) => uint(buf, n),
            None => buf.extend_from_slice(b"null"),
        }
    }

    fn ip(buf: &mut Vec<u8>, a: Option<IpAddr>) {
        match a {
            // Addresses have nothing to escape.
            Some(IpAddr::V4(a)) => super::super::bytes::ipv4(buf, a, Some(b'"')),
            Some(a) => {
                buf.push(b'"');
                write_ip(buf, a);
                buf.push(b'"');
            }
            None => buf.extend_from_slice(b"null"),
        }
    }

    /// A name wirelab defines (flags, states, expert names): plain ASCII,
    /// nothing to escape (a test holds every such name to that).
    fn name(buf: &mut Vec<u8>, n: &str) {
        debug_assert!(n.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'), "{n}");
        buf.push(b'"');
        buf.extend_from_slice(n.as_bytes());
        buf.push(b'"');
    }

    fn names<'a>(buf: &mut Vec<u8>, names: impl Iterator<Item = &'a str>) {
        buf.push(b'[');
        for (i, n) in names.enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            name(buf, n);
        }
        buf.push(b']');
    }

    /// What serde_json writes for `value`, for the rare nested parts.
    fn serde(buf: &mut Vec<u8>, value: &impl Serialize) {
        let _ = serde_json::to_writer(&mut *buf, value);
    }

    /// What serde_json writes for the time as `f64` (the shortest digits
    /// that read back as the same `f64`): for a time of whole microseconds
    /// (tcpdump's, Wireshark's) within 2^33 s, written from its integers.
    /// The decimal `secs.micros` is those digits when the `f64` is the one
    /// nearest to it: then it reads back as that `f64`, and no shorter
    /// decimal can, as one with fewer digits would be another number of
    /// whole microseconds, and those lie further apart than the `f64`'s
    /// rounding interval is wide (2^-20 s). Any other time goes to serde_json.
    pub(super) fn time(buf: &mut Vec<u8>, ts: crate::source::Timestamp) {
        let v = ts.as_f64();
        let micros = ts.nanos / 1000;
        if ts.nanos.is_multiple_of(1000) && (1..1 << 33).contains(&ts.secs) && nearest(v, ts.secs, micros) {
            uint(buf, ts.secs as u64);
            buf.push(b'.');
            if micros == 0 {
                buf.push(b'0');
            } else {
                // Six digits, trailing zeros dropped.
                let mut m = micros;
                let mut digits = 6;
                while m.is_multiple_of(10) {
                    m /= 10;
                    digits -= 1;
                }
                super::super::bytes::put_digits(buf, m, digits);
            }
        } else {
            serde(buf, &v);
        }
    }

    /// `v` is the `f64` nearest to `secs + micros / 10^6` (and not a tie).
    pub(super) fn nearest(v: f64, secs: i64, micros: u32) -> bool {
        let bits = v.to_bits();
        let (exp, mantissa) = (((bits >> 52) & 0x7ff) as i32, bits & ((1 << 52) - 1) | 1 << 52);
        // v = mantissa * 2^e, and e < 0 for these times.
        let e = exp - 1075;
        if !(-60..0).contains(&e) {
            return false;
        }
        // |D - v| < 2^(e-1), times 10^6 * 2^-e: |N * 2^-e - mantissa * 10^6| < 10^6 / 2.
        let n = i128::from(secs) * 1_000_000 + i128::from(micros);
        let gap = (n << -e) - i128::from(mantissa) * 1_000_000;
        gap.abs() < 500_000
    }

    /// The parts of a line that repeat from frame to frame, kept as text:
    /// the connection (protocol, addresses, ports, stream), the flags, and
    /// the run from the window scale to the cause (options, expert flags,
    /// states). A line is then some ten copies instead of some forty pieces.
    pub struct Texts {
        conns: Box<[Option<(Conn, Padded<96>)>]>,
        tails: Box<[Option<(u128, Padded<160>)>]>,
        flags: Box<[Padded<64>]>,
    }

    impl Default for Texts {
        fn default() -> Self {
            let flags = (0..256u16)
                .map(|f| {
                    let mut b = key!("flags").to_vec();
                    names(&mut b, flags::NAMES.iter().filter(|(bit, _)| f & bit != 0).map(|(_, n)| *n));
                    Padded::new(&b).expect("every flag name fits")
                })
                .collect();
            Texts { conns: vec![None; 1024].into(), tails: vec![None; 256].into(), flags }
        }
    }

    /// An IPv4 TCP or UDP packet's `proto` to `stream`.
    #[derive(Clone, Copy, PartialEq)]
    struct Conn {
        addrs: u64,
        ports: u32,
        stream: u32,
        tcp: bool,
    }

    /// Appends `text` kept in `slot` under `key`, or writes it with `write`
    /// and keeps it there.
    #[inline(always)]
    fn kept<K: PartialEq + Copy, const N: usize>(
        buf: &mut Vec<u8>,
        slot: &mut Option<(K, Padded<N>)>,
        key: K,
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        match slot {
            Some((k, text)) if *k == key => text.put(buf),
            _ => {
                let at = buf.len();
                write(buf);
                *slot = Padded::new(&buf[at..]).map(|text| (key, text));
            }
        }
    }

    fn conn(buf: &mut Vec<u8>, rec: &FrameRecord, stream: Option<u32>) {
        buf.extend_from_slice(key!("proto"));
        buf.extend_from_slice(match rec.proto {
            Proto::Tcp => b"\"tcp\"",
            Proto::Udp => b"\"udp\"",
            Proto::Icmp => b"\"icmp\"",
            Proto::Icmpv6 => b"\"icmpv6\"",
            Proto::Other => b"\"other\"",
        });
        buf.extend_from_slice(key!("src"));
        ip(buf, rec.src);
        buf.extend_from_slice(key!("dst"));
        ip(buf, rec.dst);
        buf.extend_from_slice(key!("sport"));
        opt_int(buf, rec.sport);
        buf.extend_from_slice(key!("dport"));
        opt_int(buf, rec.dport);
        field(buf, key!("stream"), stream, uint);
    }

    /// From `win_scale` to `state`, for a whole TCP header.
    fn tcp_tail(buf: &mut Vec<u8>, t: &TcpRecord) {
        buf.extend_from_slice(key!("win_scale"));
        int(buf, t.win_scale);
        buf.extend_from_slice(key!("mss"));
        opt_int(buf, t.mss);
        buf.extend_from_slice(key!("wscale"));
        opt_int(buf, t.wscale);
        analysis_and_state(buf, t);
    }

    /// From `analysis` to `state`: all a header too short for more has.
    fn analysis_and_state(buf: &mut Vec<u8>, t: &TcpRecord) {
        buf.extend_from_slice(key!("analysis"));
        names(buf, t.expert.names());
        field(buf, key!("dupack_num"), (t.dupack_num > 0).then_some(t.dupack_num), uint);
        buf.extend_from_slice(key!("state"));
        buf.extend_from_slice(b"{\"src\":");
        name(buf, t.state_src.name());
        buf.extend_from_slice(b",\"dst\":");
        name(buf, t.state_dst.name());
        buf.push(b'}');
    }

    fn cause(buf: &mut Vec<u8>, c: Option<Cause>) {
        buf.extend_from_slice(key!("cause"));
        match c {
            Some(c) => string(buf, c.en()),
            None => buf.extend_from_slice(b"null"),
        }
    }

    /// The line of `rec`, with its payload's preview.
    pub fn frame(buf: &mut Vec<u8>, rec: &FrameRecord, payload: Option<&str>, texts: &mut Texts) {
        let tcp = rec.tcp.as_ref();
        // A damaged header: only what tshark decodes before it gives up.
        let too_short = tcp.is_some_and(|t| matches!(t.malformed, Some(TcpMalformed::HeaderTooShort(_))));
        let beyond = tcp.is_some_and(|t| matches!(t.malformed, Some(TcpMalformed::HeaderBeyondSegment(_))));
        let whole = tcp.filter(|_| !too_short);
        let stream = tcp.map(|t| t.stream).or(rec.udp.as_ref().map(|u| u.stream));

        buf.extend_from_slice(b"{\"frame\":");
        uint(buf, rec.frame);
        buf.extend_from_slice(key!("ts"));
        time(buf, rec.ts);
        match (rec.src, rec.dst, rec.sport, rec.dport, stream) {
            (Some(IpAddr::V4(s)), Some(IpAddr::V4(d)), Some(sp), Some(dp), Some(st))
                if matches!(rec.proto, Proto::Tcp | Proto::Udp) =>
            {
                let key = Conn {
                    addrs: u64::from(s.to_bits()) << 32 | u64::from(d.to_bits()),
                    ports: u32::from(sp) << 16 | u32::from(dp),
                    stream: st,
                    tcp: rec.proto == Proto::Tcp,
                };
                let slot = &mut texts.conns[(st as usize ^ usize::from(sp)) % 1024];
                kept(buf, slot, key, |buf| conn(buf, rec, stream));
            }
            _ => conn(buf, rec, stream),
        }
        if let Some(t) = whole {
            texts.flags[usize::from(t.flags & 0xff)].put(buf);
        }
        field(buf, key!("seq"), tcp.map(|t| t.seq), uint);
        field(buf, key!("ack"), whole.map(|t| t.ack), uint);
        field(buf, key!("seq_raw"), tcp.map(|t| t.seq_raw), uint);
        field(buf, key!("ack_raw"), whole.map(|t| t.ack_raw), uint);
        let len = tcp.filter(|_| !beyond).map(|t| t.len).or(rec.udp.as_ref().map(|u| u.len));
        field(buf, key!("len"), len, uint);
        match (whole, tcp) {
            (Some(t), _) if rec.icmp.is_none() => {
                buf.extend_from_slice(key!("win"));
                uint(buf, t.win);
                // Everything from the window scale to the cause, in 128 bits.
                let key = u128::from(t.win_scale as u8)
                    | u128::from(t.mss.map_or(0, |m| u32::from(m) | 1 << 16)) << 8
                    | u128::from(t.wscale.map_or(0, |w| u16::from(w) | 1 << 8)) << 25
                    | u128::from(t.expert.0) << 34
                    | u128::from(t.dupack_num) << 66
                    | u128::from(t.state_src as u8) << 98
                    | u128::from(t.state_dst as u8) << 102
                    | u128::from(rec.cause.map_or(0, |c| c as u8 + 1)) << 106;
                let hash = ((key as u64) ^ ((key >> 64) as u64).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let slot = &mut texts.tails[(hash >> 56) as usize];
                kept(buf, slot, key, |buf| {
                    tcp_tail(buf, t);
                    cause(buf, rec.cause);
                });
            }
            _ => {
                if let Some(t) = whole {
                    buf.extend_from_slice(key!("win"));
                    uint(buf, t.win);
                    tcp_tail(buf, t);
                } else if let Some(t) = tcp {
                    // Too short for more than the sequence number; still a state.
                    analysis_and_state(buf, t);
                }
                if let Some(i) = rec.icmp.as_deref() {
                    buf.extend_from_slice(key!("icmp_type"));
                    uint(buf, i.msg.icmp_type);
                    buf.extend_from_slice(key!("icmp_code"));
                    uint(buf, i.msg.code);
                    field(buf, key!("icmp_udp_stream"), i.udp_stream, uint);
                }
                cause(buf, rec.cause);
            }
        }
        if rec.explain[0].is_some() {
            buf.extend_from_slice(key!("explain"));
            buf.push(b'[');
            for (i, e) in rec.explain.iter().flatten().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                string(buf, &e.en());
            }
            buf.push(b']');
        }
        if rec.truncated {
            buf.extend_from_slice(key!("truncated"));
            buf.extend_from_slice(b"true");
        }
        field(buf, key!("link_type"), rec.src.is_none().then_some(rec.link.0), uint);
        let malformed = tcp.and_then(|t| t.malformed).map(|m| match m {
            TcpMalformed::HeaderTooShort(_) => "tcp_header_too_short",
            TcpMalformed::HeaderBeyondSegment(_) => "tcp_header_beyond_segment",
        });
        field(buf, key!("malformed"), malformed, string);
        field(buf, key!("payload"), payload, string);
        field(buf, key!("http"), rec.http.as_deref().map(HttpJson::new), |b, h| serde(b, &h));
        field(buf, key!("dns"), rec.udp.as_ref().and_then(|u| u.dns.as_deref()).map(DnsJson::new), |b, d| serde(b, &d));
        field(buf, key!("comment"), rec.comment.as_deref(), string);
        field(buf, key!("wire"), rec.wire.as_ref(), serde);
        buf.push(b'}');
    }
}

/// Writes one JSON object per frame.
pub struct JsonlRenderer<W: Write> {
    out: W,
    /// Lines not yet handed to `out`, reused.
    line: Vec<u8>,
    /// Bytes of lines held before they go to `out`: 0 (each line at once) for
    /// a live capture; a replay hands over large blocks, which a `BufWriter`
    /// passes on without copying them.
    hold: usize,
    /// Payload previews by payload: the requests and replies of many
    /// connections are the same bytes. Bounded: cleared when full.
    previews: rustc_hash::FxHashMap<crate::analyze::Payload, String>,
    /// Parts of lines kept as text.
    texts: hand::Texts,
}

impl<W: Write> JsonlRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> Self {
        JsonlRenderer {
            out,
            line: Vec::with_capacity(1024),
            hold: 0,
            previews: Default::default(),
            texts: Default::default(),
        }
    }

    /// A renderer that writes in blocks of `Self::BLOCK` bytes (a replay).
    pub fn blocks(out: W) -> Self {
        JsonlRenderer { line: Vec::with_capacity(Self::BLOCK + 4096), hold: Self::BLOCK, ..Self::new(out) }
    }

    /// Bytes per write when writing in blocks: twice replay's `BufWriter`,
    /// so the writes bypass its buffer.
    const BLOCK: usize = 1 << 17;

    /// The preview of `p`, made once per distinct payload.
    fn preview<'a>(
        previews: &'a mut rustc_hash::FxHashMap<crate::analyze::Payload, String>,
        p: &crate::analyze::Payload,
    ) -> &'a str {
        if !previews.contains_key(p) {
            if previews.len() >= 1024 {
                previews.clear();
            }
            previews.insert(p.clone(), super::payload::preview(p));
        }
        &previews[p]
    }
}

impl<W: Write> Renderer for JsonlRenderer<W> {
    fn frame(&mut self, rec: &FrameRecord, _: &Analyzer) -> io::Result<()> {
        let payload = rec.payload.as_ref().map(|p| Self::preview(&mut self.previews, p));
        hand::frame(&mut self.line, rec, payload, &mut self.texts);
        self.line.push(b'\n');
        if self.line.len() <= self.hold {
            return Ok(());
        }
        let written = self.out.write_all(&self.line);
        self.line.clear();
        written
    }

    fn finish(&mut self, _: &Analyzer) -> io::Result<()> {
        let written = self.out.write_all(&self.line);
        self.line.clear();
        written.and(self.out.flush())
    }
}

/// JSON lines written on a thread of their own: the replay's thread reads
/// and analyses, this one turns records into text and writes it. Records go
/// over in batches (bounded, so memory is too); output and its errors are
/// the same as [`JsonlRenderer`]'s.
pub struct Threaded {
    batch: Batch,
    tx: Option<std::sync::mpsc::SyncSender<Batch>>,
    /// Emptied batches coming back: new ones would be fresh pages each time.
    spare: std::sync::mpsc::Receiver<Batch>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

/// Records on their way to the writing thread. Every byte moved there is
/// read from the other core's cache, and its line taken back before the
/// next batch is written there: on this machine's slow spells that was
/// most of what the hand-over cost (perf: reading and analysis 0.14 s,
/// the same with whole records of 336 bytes handed over 0.27–0.40 s). So a
/// record with only the usual parts goes as a [`Row`] of a third of that,
/// its explanations and payload (when it has them) alongside, and only
/// records with a rare part go whole.
#[derive(Default)]
struct Batch {
    rows: Vec<Handed>,
    explains: Vec<crate::analyze::Explain>,
    payloads: Vec<crate::analyze::Payload>,
    /// Rows' HTTP messages, flat (see [`HttpMessage::flatten_into`]).
    http: Vec<u8>,
    whole: Vec<FrameRecord>,
    /// Records made again from rows that hold heap blocks.
    made: Vec<FrameRecord>,
}

/// One record in a batch.
enum Handed {
    Row(Row),
    /// The next of the batch's whole records.
    Whole,
}

/// A record of an IPv4 packet without ICMP, comment or lab-wire parts:
/// everything else of [`FrameRecord`], which it becomes again.
struct Row {
    frame: u64,
    ts: crate::source::Timestamp,
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    sport: Option<u16>,
    dport: Option<u16>,
    link: crate::source::LinkType,
    proto: Proto,
    truncated: bool,
    cause: Option<Cause>,
    transport: Transport,
    explains: u8,
    payload: bool,
    http: bool,
}

enum Transport {
    Tcp(TcpRecord),
    Udp(crate::analyze::UdpRecord),
    Neither,
}

impl Batch {
    /// Records per hand-over.
    const ROWS: usize = 2048;

    /// Takes `rec`'s parts: a row's copies and the payload, or the whole
    /// record (leaving a blank).
    fn push(&mut self, rec: &mut FrameRecord) {
        // Every field named: a new one must be placed here, in a row or not.
        let FrameRecord {
            frame,
            ts,
            proto,
            src,
            dst,
            sport,
            dport,
            truncated,
            link,
            non_ip,
            tcp,
            udp,
            icmp,
            cause,
            explain,
            payload,
            http,
            comment,
            wire,
            timing,
        } = rec;
        let (Some(IpAddr::V4(src)), Some(IpAddr::V4(dst)), None, None, None, None, None, false) =
            (*src, *dst, non_ip, icmp, comment, wire, timing, tcp.is_some() && udp.is_some())
        else {
            self.whole.push(std::mem::replace(rec, FrameRecord::blank()));
            self.rows.push(Handed::Whole);
            return;
        };
        // Not both (a record with both goes whole).
        let transport = match (*tcp, udp.take()) {
            (Some(t), _) => Transport::Tcp(t),
            (None, Some(u)) => Transport::Udp(u),
            (None, None) => Transport::Neither,
        };
        self.explains.extend(explain.iter().flatten());
        let payload = payload.take();
        let http_at = self.http.len();
        // Flattened here and freed here, where it was made.
        if let Some(m) = http.take() {
            m.flatten_into(&mut self.http);
        }
        self.rows.push(Handed::Row(Row {
            frame: *frame,
            ts: *ts,
            src,
            dst,
            sport: *sport,
            dport: *dport,
            link: *link,
            proto: *proto,
            truncated: *truncated,
            cause: *cause,
            transport,
            explains: explain.iter().flatten().count() as u8,
            payload: payload.is_some(),
            http: self.http.len() != http_at,
        }));
        self.payloads.extend(payload);
    }

    fn with_capacity(rows: usize) -> Batch {
        Batch { rows: Vec::with_capacity(rows), ..Batch::default() }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Empties the batch (on the reading thread: see [`Batch::each`]).
    fn clear(&mut self) {
        self.rows.clear();
        self.explains.clear();
        self.payloads.clear();
        self.http.clear();
        self.whole.clear();
        self.made.clear();
    }

    /// Each record again, in order. A record's heap parts from the reading
    /// thread (a whole record's, DNS, a long payload) stay in the batch for
    /// that thread, which made them, to free: glibc's free of another
    /// thread's block takes that thread's arena lock, and the two threads
    /// then waited on it some 13,000 times a replay (strace, 907,086
    /// frames). An HTTP message is made again from its flat form here, and
    /// freed here.
    fn each(&mut self, mut write: impl FnMut(&FrameRecord) -> io::Result<()>) -> io::Result<()> {
        let Batch { rows, explains, payloads, http, whole, made } = self;
        let (mut explains, mut payloads, mut whole) = (explains.drain(..), payloads.drain(..), whole.iter());
        let mut flat = &http[..];
        for h in rows.drain(..) {
            let r = match h {
                Handed::Whole => {
                    write(whole.next().expect("a whole record for each mark"))?;
                    continue;
                }
                Handed::Row(r) => r,
            };
            let (tcp, udp) = match r.transport {
                Transport::Tcp(t) => (Some(t), None),
                Transport::Udp(u) => (None, Some(u)),
                Transport::Neither => (None, None),
            };
            let mut explain = [None, None];
            for e in explain.iter_mut().take(usize::from(r.explains)) {
                *e = explains.next();
            }
            let mut rec = FrameRecord {
                frame: r.frame,
                ts: r.ts,
                proto: r.proto,
                src: Some(IpAddr::V4(r.src)),
                dst: Some(IpAddr::V4(r.dst)),
                sport: r.sport,
                dport: r.dport,
                truncated: r.truncated,
                link: r.link,
                non_ip: None,
                tcp,
                udp,
                icmp: None,
                cause: r.cause,
                explain,
                payload: if r.payload { payloads.next() } else { None },
                http: if r.http { crate::analyze::HttpMessage::unflatten(&mut flat).map(Box::new) } else { None },
                comment: None,
                wire: None,
                timing: None,
            };
            write(&rec)?;
            // The message was made again here: it is freed here too.
            rec.http = None;
            let on_heap = rec.payload.as_ref().is_some_and(|p| p.head.spilled())
                || rec.udp.as_ref().is_some_and(|u| u.dns.is_some());
            if on_heap {
                made.push(rec);
            }
        }
        Ok(())
    }
}

/// Zeroes `v`'s unused capacity, so that this core holds those cache lines
/// before it writes the batch's records there one by one. The writing
/// thread read them last; on this machine's slower placements of the two
/// cores, taking the lines back one store at a time cost the reading thread
/// about 0.15 s a replay, and one large `memset` (which writes whole lines
/// without reading them) about a third of that.
fn claim<T>(v: &mut Vec<T>) {
    let spare = v.spare_capacity_mut();
    // SAFETY: `spare` is `v`'s allocated and unused capacity, `spare.len()`
    // elements long; zero bytes written there make no `T` that anything
    // reads (the length is unchanged, and pushes overwrite them).
    unsafe { std::ptr::write_bytes(spare.as_mut_ptr(), 0, spare.len()) };
}

impl Threaded {
    /// Starts the writer; `out` makes its output on that thread (stdout's
    /// lock belongs to the thread that takes it).
    pub fn start<W: Write>(out: impl FnOnce() -> W + Send + 'static) -> Threaded {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
        let (back, spare) = std::sync::mpsc::sync_channel::<Batch>(8);
        let thread = std::thread::Builder::new()
            .name("wirelab-jsonl".into())
            .spawn(move || -> io::Result<()> {
                let mut r = JsonlRenderer::blocks(out());
                let analyzer = Analyzer::new();
                for mut batch in rx {
                    batch.each(|rec| r.frame(rec, &analyzer))?;
                    // Sized for every batch there can be, so none is freed here.
                    let _ = back.try_send(batch);
                }
                r.finish(&analyzer)
            })
            .ok();
        Threaded { batch: Batch::with_capacity(Batch::ROWS), tx: thread.is_some().then_some(tx), spare, thread }
    }

    fn push(&mut self, rec: &mut FrameRecord) -> io::Result<()> {
        self.batch.push(rec);
        if self.batch.len() >= Batch::ROWS {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let empty = match self.spare.try_recv() {
            Ok(mut used) => {
                used.clear();
                claim(&mut used.rows);
                claim(&mut used.payloads);
                claim(&mut used.explains);
                claim(&mut used.http);
                used
            }
            Err(_) => Batch::with_capacity(Batch::ROWS),
        };
        let batch = std::mem::replace(&mut self.batch, empty);
        match &self.tx {
            Some(tx) if tx.send(batch).is_ok() => Ok(()),
            // The writer stopped (a closed pipe): its error says why.
            _ => self.join().and(Err(io::Error::other("the JSON writer thread stopped"))),
        }
    }

    fn join(&mut self) -> io::Result<()> {
        self.tx = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the JSON writer thread panicked")),
            None => Ok(()),
        }
    }
}

impl Renderer for Threaded {
    fn frame(&mut self, rec: &FrameRecord, _: &Analyzer) -> io::Result<()> {
        self.push(&mut rec.clone())
    }

    fn frame_record(&mut self, _: &crate::source::Frame<'_>, rec: &mut FrameRecord, _: &Analyzer) -> io::Result<()> {
        self.push(rec)
    }

    fn keeps_records(&self) -> bool {
        true
    }

    fn finish(&mut self, _: &Analyzer) -> io::Result<()> {
        if self.batch.len() > 0 {
            self.hand_over()?;
        }
        self.join()
    }
}

impl Drop for Threaded {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;

    /// The hand-written JSON is serde_json's, on every frame of every
    /// capture the project has (and the shared corpus, when present).
    #[test]
    fn hand_written_json_is_serde_jsons() {
        let files = super::super::every_capture();
        let mut frames = 0;
        for file in &files {
            let Ok(mut reader) = crate::source::file::CaptureReader::open(file) else { continue };
            let mut analyzer = Analyzer::new();
            let mut buf = Vec::new();
            let mut texts = hand::Texts::default();
            let _ = reader.for_each(|f| {
                let packet = crate::decode::decode(f);
                let rec = analyzer.on_packet(f, &packet);
                let j = JsonFrame::new(&rec);
                buf.clear();
                let preview = rec.payload.as_ref().map(super::super::payload::preview);
                hand::frame(&mut buf, &rec, preview.as_deref(), &mut texts);
                assert_eq!(
                    String::from_utf8_lossy(&buf),
                    serde_json::to_string(&j).unwrap(),
                    "{} frame {}",
                    file.display(),
                    f.number
                );
                frames += 1;
                ControlFlow::Continue(())
            });
        }
        assert!(frames > 1000, "{frames} frames");
    }

    /// The writing thread's lines are the single-threaded renderer's, byte
    /// for byte, over enough records that emptied batches come back and
    /// are filled again (each capture's records, in turn, until there are
    /// ten batches' worth).
    #[test]
    fn the_writing_thread_writes_what_one_thread_would() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut records = Vec::new();
        for file in super::super::every_capture() {
            let Ok(mut reader) = crate::source::file::CaptureReader::open(&file) else { continue };
            let mut analyzer = Analyzer::new();
            let _ = reader.for_each(|f| {
                records.push(analyzer.on_frame(f));
                ControlFlow::Continue(())
            });
        }
        assert!(records.len() > 1000, "{} records", records.len());
        let analyzer = Analyzer::new();
        let (threaded, mut one) = (Shared::default(), JsonlRenderer::new(Vec::new()));
        let out = threaded.clone();
        let mut t = Threaded::start(move || out);
        let mut sent = 0;
        while sent < 10 * Batch::ROWS {
            for rec in &records {
                let frame = crate::source::Frame {
                    number: rec.frame,
                    ts: rec.ts,
                    link: rec.link,
                    data: &[],
                    orig_len: 0,
                    comment: None,
                };
                t.frame_record(&frame, &mut rec.clone(), &analyzer).unwrap();
                one.frame(rec, &analyzer).unwrap();
                sent += 1;
            }
        }
        t.finish(&analyzer).unwrap();
        one.finish(&analyzer).unwrap();
        let threaded = threaded.0.lock().unwrap();
        assert_eq!(threaded.len(), one.out.len());
        assert!(*threaded == one.out, "the lines differ");
    }

    /// A batch gives back every record as it was pushed (all fields, by
    /// `Debug`), rows and whole records in order, across batch boundaries.
    #[test]
    fn batches_give_back_the_records() {
        let mut frames = 0;
        let mut rows = 0;
        for file in super::super::every_capture() {
            let Ok(mut reader) = crate::source::file::CaptureReader::open(&file) else { continue };
            let mut analyzer = Analyzer::new();
            let mut batch = Batch::with_capacity(7);
            let mut sent: Vec<String> = Vec::new();
            let mut back: Vec<String> = Vec::new();
            let _ = reader.for_each(|f| {
                let rec = analyzer.on_frame(f);
                let mut rec = rec;
                sent.push(format!("{rec:?}"));
                batch.push(&mut rec);
                rows += usize::from(matches!(batch.rows.last(), Some(Handed::Row(_))));
                if batch.len() == 7 {
                    batch
                        .each(|r| {
                            back.push(format!("{r:?}"));
                            Ok(())
                        })
                        .unwrap();
                    batch.clear();
                }
                ControlFlow::Continue(())
            });
            batch
                .each(|r| {
                    back.push(format!("{r:?}"));
                    Ok(())
                })
                .unwrap();
            assert_eq!(sent.len(), back.len(), "{}", file.display());
            for (a, b) in sent.iter().zip(&back) {
                assert_eq!(a, b, "{}", file.display());
            }
            frames += sent.len();
        }
        // Both kinds were exercised.
        assert!(rows > 1000 && frames - rows > 100, "{rows} rows of {frames}");
    }

    /// Times written from their integers are serde_json's `f64`, over the
    /// whole range of the fast path, its edges, and times it hands back.
    #[test]
    fn times_as_serde_json_writes_them() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut stamps = Vec::new();
        for secs in
            [0i64, 1, 2, 9, 10, 1_000_000_000, 1_795_378_065, (1 << 31) - 1, 1 << 31, (1 << 33) - 1, 1 << 33, 1 << 40]
        {
            for nanos in [0u32, 1_000, 10_000, 100_000, 500_000_000, 999_999_000, 999_999_999, 123_456_789, 1] {
                stamps.push((secs, nanos));
            }
        }
        for _ in 0..300_000 {
            let r = next();
            let secs = match r % 4 {
                0 => (r >> 8) as i64 % (1 << 33),
                1 => 1_700_000_000 + (r >> 8) as i64 % 200_000_000,
                2 => (r >> 8) as i64 % 100_000,
                _ => (r >> 8) as i64 % 10,
            };
            let micros = (next() % 1_000_000) as u32;
            // Whole microseconds, some with trailing zeros, and some nanoseconds.
            let nanos = match r >> 60 {
                0 => micros * 1000 + 1,
                1..=3 => micros / 1000 * 1_000_000,
                _ => micros * 1000,
            };
            stamps.push((secs, nanos));
        }
        let mut buf = Vec::new();
        let fast = stamps.iter().filter(|&&(s, n)| {
            let ts = crate::source::Timestamp { secs: s, nanos: n };
            n % 1000 == 0 && (1..1 << 33).contains(&s) && hand::nearest(ts.as_f64(), s, n / 1000)
        });
        // Most whole-microsecond times take the fast path; the rest check the way back.
        assert!(fast.count() > 200_000);
        for (secs, nanos) in stamps {
            let ts = crate::source::Timestamp { secs, nanos };
            buf.clear();
            hand::time(&mut buf, ts);
            assert_eq!(
                String::from_utf8_lossy(&buf),
                serde_json::to_string(&ts.as_f64()).unwrap(),
                "{secs} s {nanos} ns"
            );
        }
    }

    /// Names written without the escaping pass need none.
    #[test]
    fn addresses_as_display_writes_them() {
        let mut buf = Vec::new();
        for n in 0..=255u8 {
            for a in [[n, 0, 9, 10], [99, n, 100, 255], [1, 2, n, n]] {
                let a = IpAddr::from(a);
                buf.clear();
                write_ip(&mut buf, a);
                assert_eq!(String::from_utf8_lossy(&buf), a.to_string());
            }
        }
        for a in ["[::1]:80", "[fe80::1:2]:65535", "127.0.0.1:0"] {
            let a: std::net::SocketAddr = a.parse().unwrap();
            buf.clear();
            write_socket_addr(&mut buf, a);
            assert_eq!(String::from_utf8_lossy(&buf), a.to_string());
        }
    }

    #[test]
    fn names_need_no_escaping() {
        let states = crate::analyze::state::TcpState::ALL.map(|s| s.name());
        let all = flags::NAMES.iter().map(|(_, n)| *n).chain(crate::analyze::Expert::ALL.iter().map(|(_, n)| *n));
        for n in all.chain(states) {
            let mut buf = Vec::new();
            hand::string(&mut buf, n);
            assert_eq!(buf, format!("\"{n}\"").into_bytes(), "{n}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é中\u{2028}\u{7f}\"\\");
        for s in [all.as_str(), "", "plain", "\"", "a\\b", "\n\r\t\u{8}\u{c}\u{1}\u{1f}"] {
            let mut buf = Vec::new();
            hand::string(&mut buf, s);
            assert_eq!(String::from_utf8(buf).unwrap(), serde_json::to_string(s).unwrap());
        }
    }
}
