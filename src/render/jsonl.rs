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
        Self::with_preview(rec, rec.payload.as_ref().map(|p| super::payload::preview(p).into()))
    }

    /// The same, with the payload's preview already made.
    fn with_preview(rec: &'a FrameRecord, payload: Option<std::borrow::Cow<'a, str>>) -> JsonFrame<'a> {
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
            dns: rec.udp.as_ref().and_then(|u| u.dns.as_deref()).map(|d| DnsJson {
                id: d.id,
                response: d.response,
                name: d.name().to_string(),
                qtype: d.qtype_name(),
                rcode: d.rcode_name(),
                answers: d.answers.iter().flatten().copied().collect(),
            }),
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
    buf.extend_from_slice(itoa::Buffer::new().format(a.port()).as_bytes());
}

/// Each octet's decimal digits, and (last byte) how many: two per frame.
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut n = 0;
    while n < 256 {
        let (h, te, o) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        t[n] = match n {
            0..=9 => [b'0' + o, 0, 0, 1],
            10..=99 => [b'0' + te, b'0' + o, 0, 2],
            _ => [b'0' + h, b'0' + te, b'0' + o, 3],
        };
        n += 1;
    }
    t
};

/// What `IpAddr`'s `Display` writes; IPv4 (nearly every packet) without the formatter.
pub(crate) fn write_ip(buf: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets().map(usize::from);
            let o = &OCTETS;
            let (la, lb, lc, ld) = (o[a][3], o[b][3], o[c][3], o[d][3]);
            let mut text = [0u8; 15];
            let mut at = 0;
            for (digits, len, dot) in [(&o[a], la, true), (&o[b], lb, true), (&o[c], lc, true), (&o[d], ld, false)] {
                let len = usize::from(len);
                text[at..at + len].copy_from_slice(&digits[..len]);
                at += len;
                if dot {
                    text[at] = b'.';
                    at += 1;
                }
            }
            buf.extend_from_slice(&text[..at]);
        }
        IpAddr::V6(a) => {
            let _ = write!(buf, "{a}");
        }
    }
}

/// The JSON text of a frame written by hand, byte for byte what serde_json
/// writes for [`JsonFrame`] (a test compares the two on every captured
/// frame): keys and names are known ASCII and go out as they are, numbers
/// through `itoa`, and only text from the capture is escaped. serde_json,
/// escaping every key and name a byte at a time, was most of `--format jsonl`.
mod hand {
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

    fn int(buf: &mut Vec<u8>, n: impl itoa::Integer) {
        buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// `,"key":` (every key but the first) as one literal: one copy, not three.
    macro_rules! key {
        ($name:literal) => {
            concat!(",\"", $name, "\":").as_bytes()
        };
    }

    /// `,"name":value` when there is a value (skipped fields are absent).
    fn field<T>(buf: &mut Vec<u8>, key: &[u8], value: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
        if let Some(v) = value {
            buf.extend_from_slice(key);
            write(buf, v);
        }
    }

    fn opt_int(buf: &mut Vec<u8>, n: Option<impl itoa::Integer>) {
        match n {
            Some(n) => int(buf, n),
            None => buf.extend_from_slice(b"null"),
        }
    }

    fn ip(buf: &mut Vec<u8>, a: Option<IpAddr>) {
        match a {
            // Addresses have nothing to escape.
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

    pub fn frame(buf: &mut Vec<u8>, j: &JsonFrame) {
        buf.extend_from_slice(b"{\"frame\":");
        int(buf, j.frame);
        buf.extend_from_slice(key!("ts"));
        serde(buf, &j.ts);
        buf.extend_from_slice(key!("proto"));
        buf.extend_from_slice(match j.proto {
            Proto::Tcp => b"\"tcp\"",
            Proto::Udp => b"\"udp\"",
            Proto::Icmp => b"\"icmp\"",
            Proto::Icmpv6 => b"\"icmpv6\"",
            Proto::Other => b"\"other\"",
        });
        buf.extend_from_slice(key!("src"));
        ip(buf, j.src);
        buf.extend_from_slice(key!("dst"));
        ip(buf, j.dst);
        buf.extend_from_slice(key!("sport"));
        opt_int(buf, j.sport);
        buf.extend_from_slice(key!("dport"));
        opt_int(buf, j.dport);
        field(buf, key!("stream"), j.stream, int);
        if let Some(f) = &j.flags {
            buf.extend_from_slice(key!("flags"));
            names(buf, flags::NAMES.iter().filter(|(b, _)| f.0 & b != 0).map(|(_, n)| *n));
        }
        for (name, v) in [
            (key!("seq"), j.seq),
            (key!("ack"), j.ack),
            (key!("seq_raw"), j.seq_raw),
            (key!("ack_raw"), j.ack_raw),
            (key!("len"), j.len),
            (key!("win"), j.win),
        ] {
            field(buf, name, v, int);
        }
        field(buf, key!("win_scale"), j.win_scale, int);
        field(buf, key!("mss"), j.mss, opt_int);
        field(buf, key!("wscale"), j.wscale, opt_int);
        if let Some(a) = &j.analysis {
            buf.extend_from_slice(key!("analysis"));
            names(buf, a.0.names());
        }
        field(buf, key!("dupack_num"), j.dupack_num, int);
        if let Some(st) = &j.state {
            buf.extend_from_slice(key!("state"));
            buf.extend_from_slice(b"{\"src\":");
            name(buf, st.src);
            buf.extend_from_slice(b",\"dst\":");
            name(buf, st.dst);
            buf.push(b'}');
        }
        field(buf, key!("icmp_type"), j.icmp_type, int);
        field(buf, key!("icmp_code"), j.icmp_code, int);
        field(buf, key!("icmp_udp_stream"), j.icmp_udp_stream, int);
        buf.extend_from_slice(key!("cause"));
        match j.cause {
            Some(c) => string(buf, c),
            None => buf.extend_from_slice(b"null"),
        }
        if !j.explain.is_empty() {
            buf.extend_from_slice(key!("explain"));
            buf.push(b'[');
            for (i, e) in j.explain.0.iter().flatten().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                string(buf, &e.en());
            }
            buf.push(b']');
        }
        if j.truncated {
            buf.extend_from_slice(key!("truncated"));
            buf.extend_from_slice(b"true");
        }
        field(buf, key!("link_type"), j.link_type, int);
        field(buf, key!("malformed"), j.malformed, string);
        field(buf, key!("payload"), j.payload.as_deref(), string);
        field(buf, key!("http"), j.http.as_ref(), serde);
        field(buf, key!("dns"), j.dns.as_ref(), serde);
        field(buf, key!("comment"), j.comment, string);
        field(buf, key!("wire"), j.wire.as_ref(), serde);
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
}

impl<W: Write> JsonlRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> Self {
        JsonlRenderer { out, line: Vec::with_capacity(1024), hold: 0, previews: Default::default() }
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
        let payload = rec.payload.as_ref().map(|p| Self::preview(&mut self.previews, p).into());
        hand::frame(&mut self.line, &JsonFrame::with_preview(rec, payload));
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
    batch: Vec<FrameRecord>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<FrameRecord>>>,
    /// Emptied batches coming back: new ones would be fresh pages each time.
    spare: std::sync::mpsc::Receiver<Vec<FrameRecord>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Threaded {
    /// Records per hand-over.
    const BATCH: usize = 512;

    /// Starts the writer; `out` makes its output on that thread (stdout's
    /// lock belongs to the thread that takes it).
    pub fn start<W: Write>(out: impl FnOnce() -> W + Send + 'static) -> Threaded {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<FrameRecord>>(4);
        let (back, spare) = std::sync::mpsc::sync_channel::<Vec<FrameRecord>>(8);
        let thread = std::thread::Builder::new()
            .name("wirelab-jsonl".into())
            .spawn(move || -> io::Result<()> {
                let mut r = JsonlRenderer::blocks(out());
                let analyzer = Analyzer::new();
                for mut batch in rx {
                    for rec in &batch {
                        r.frame(rec, &analyzer)?;
                    }
                    batch.clear();
                    let _ = back.try_send(batch);
                }
                r.finish(&analyzer)
            })
            .ok();
        Threaded { batch: Vec::with_capacity(Self::BATCH), tx: thread.is_some().then_some(tx), spare, thread }
    }

    fn push(&mut self, rec: FrameRecord) -> io::Result<()> {
        self.batch.push(rec);
        if self.batch.len() >= Self::BATCH {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let empty = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(Self::BATCH));
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
        self.push(rec.clone())
    }

    fn frame_record(&mut self, _: &crate::source::Frame<'_>, rec: FrameRecord, _: &Analyzer) -> io::Result<()> {
        self.push(rec)
    }

    fn keeps_records(&self) -> bool {
        true
    }

    fn finish(&mut self, _: &Analyzer) -> io::Result<()> {
        if !self.batch.is_empty() {
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
            let _ = reader.for_each(|f| {
                let packet = crate::decode::decode(f);
                let rec = analyzer.on_packet(f, &packet);
                let j = JsonFrame::new(&rec);
                buf.clear();
                hand::frame(&mut buf, &j);
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
