//! HTTP/1.x messages on any TCP port: the request line (or status line), the
//! headers, the blank line that ends them, and how long the body is — the
//! course's 请求行 / 请求头 / 空行 / 请求体. Each direction of a connection is
//! followed in sequence order; a header block split over several segments is
//! put together and reported once, on the segment that completes it.
//!
//! Memory stays bounded: bytes are held only while a header block is
//! incomplete, at most [`MAX_PENDING`] per direction, and a direction whose
//! data does not start like HTTP is dropped at once and never looked at again.

use super::seq;
use serde::Serialize;
use std::borrow::Cow;

/// A header block still incomplete after this many bytes is given up on.
/// Real servers refuse far less (nginx: 8 KiB per line, Apache: 8 KiB).
pub const MAX_PENDING: usize = 64 * 1024;

/// Requests whose responses are still awaited (only to know which responses
/// answer HEAD and have no body); pipelining deeper than this is not followed.
const MAX_OUTSTANDING: usize = 32;

/// A method is a short token of capitals (`GET`, `POST`, `M-SEARCH`):
/// checking that much before buffering rejects most non-HTTP data in its
/// first bytes.
const MAX_METHOD: usize = 24;

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `GET /index.html HTTP/1.1`
    Request {
        /// The line as sent, without its CRLF.
        line: String,
        /// `GET`
        method: Cow<'static, str>,
        /// `/index.html`
        target: String,
        /// `HTTP/1.1`
        version: &'static str,
    },
    /// `HTTP/1.1 200 OK`
    Response {
        /// The line as sent, without its CRLF.
        line: String,
        /// `HTTP/1.1`
        version: &'static str,
        /// 200
        code: u16,
        /// `OK` (may be empty)
        reason: Cow<'static, str>,
    },
}

/// How the end of a body is found (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// No body: a request without Content-Length, a response to HEAD, 1xx, 204, 304.
    None,
    /// `Content-Length` bytes.
    Length,
    /// `Transfer-Encoding: chunked`: its length is known only at its end.
    Chunked,
    /// A response without length: the body runs until the server closes.
    UntilClose,
}

/// One HTTP message whose header block is complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in order, as sent (values not decoded; invalid UTF-8 replaced).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// How the body is delimited.
    pub body: BodyKind,
    /// Body length when known from the header block (`Content-Length`, or 0).
    pub body_len: Option<u64>,
    /// Bytes of the start line, headers and blank line.
    pub header_bytes: u32,
    /// The frame that carried the message's first byte (earlier than the
    /// reporting frame when the header block was split).
    pub first_frame: u64,
}

impl HttpMessage {
    /// The request or status line as sent.
    pub fn line(&self) -> &str {
        match &self.start {
            StartLine::Request { line, .. } | StartLine::Response { line, .. } => line,
        }
    }

    /// A header's value (first one, name compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A message as one run of bytes and back: how a record's message crosses
/// to `--format jsonl`'s writing thread. Handing over the message itself
/// (a box, its lines, a string per header) let that thread read blocks the
/// reading thread then freed and reused, and each such cache line crossed
/// between the cores again: with it HTTP cost a JSON-lines replay 0.08 s,
/// with this 0.02–0.04 s, of which parsing is 0.02 s (45,000
/// exchanges). Lengths and numbers are little-endian `u32`/`u64`.
impl HttpMessage {
    /// Appends the message's flat form to `out`.
    pub fn flatten_into(&self, out: &mut Vec<u8>) {
        fn text(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let minor = |v: &str| u8::from(v == "HTTP/1.1");
        match &self.start {
            StartLine::Request { line, method, target, version } => {
                out.push(0);
                out.push(minor(version));
                text(out, line);
                text(out, method);
                text(out, target);
            }
            StartLine::Response { line, version, code, reason } => {
                out.push(1);
                out.push(minor(version));
                text(out, line);
                out.extend_from_slice(&code.to_le_bytes());
                text(out, reason);
            }
        }
        out.extend_from_slice(&(self.headers.len() as u32).to_le_bytes());
        for (name, value) in &self.headers {
            text(out, name);
            text(out, value);
        }
        out.push(match self.body {
            BodyKind::None => 0,
            BodyKind::Length => 1,
            BodyKind::Chunked => 2,
            BodyKind::UntilClose => 3,
        });
        match self.body_len {
            Some(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_le_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.header_bytes.to_le_bytes());
        out.extend_from_slice(&self.first_frame.to_le_bytes());
    }

    /// The message whose flat form starts `bytes`, which it moves past;
    /// `None` (and `bytes` anywhere) when they are not one.
    pub fn unflatten(bytes: &mut &[u8]) -> Option<HttpMessage> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (b.get(..n)?, b.get(n..)?);
            *b = rest;
            Some(head)
        }
        fn u32_of(b: &mut &[u8]) -> Option<u32> {
            Some(u32::from_le_bytes(take(b, 4)?.try_into().ok()?))
        }
        fn u64_of(b: &mut &[u8]) -> Option<u64> {
            Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
        }
        fn text<'a>(b: &mut &'a [u8]) -> Option<&'a str> {
            let n = u32_of(b)? as usize;
            std::str::from_utf8(take(b, n)?).ok()
        }
        let b = bytes;
        let kind = take(b, 2)?;
        let version = version_name(Some(kind[1]));
        let start = match kind[0] {
            0 => StartLine::Request {
                line: text(b)?.to_string(),
                method: known(text(b)?, METHODS),
                target: text(b)?.to_string(),
                version,
            },
            1 => StartLine::Response {
                line: text(b)?.to_string(),
                version,
                code: u16::from_le_bytes(take(b, 2)?.try_into().ok()?),
                reason: known(text(b)?, REASONS),
            },
            _ => return None,
        };
        let count = u32_of(b)?;
        let mut headers = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            headers.push((known(text(b)?, HEADER_NAMES), text(b)?.to_string()));
        }
        let body = match take(b, 1)?[0] {
            0 => BodyKind::None,
            1 => BodyKind::Length,
            2 => BodyKind::Chunked,
            3 => BodyKind::UntilClose,
            _ => return None,
        };
        let body_len = match take(b, 1)?[0] {
            0 => None,
            _ => Some(u64_of(b)?),
        };
        Some(HttpMessage { start, headers, body, body_len, header_bytes: u32_of(b)?, first_frame: u64_of(b)? })
    }
}

/// Where one direction of the byte stream is, between and inside messages.
#[derive(Clone, Debug, Default)]
enum State {
    /// At the start of a message (or of the stream), nothing held.
    #[default]
    Start,
    /// Collecting a header block.
    Head { buf: Vec<u8>, first_frame: u64 },
    /// Skipping this many body bytes.
    Body(u64),
    /// Skipping a chunked body.
    Chunked(Chunk),
    /// The body runs to the end of the connection: nothing more to find.
    UntilClose,
    /// Bytes were missed (capture loss or snaplen): wait for a segment that
    /// starts with a message.
    Lost,
    /// Not HTTP (or no longer: after `101 Switching Protocols`).
    Off,
}

/// Position inside a chunked body.
#[derive(Clone, Debug)]
enum Chunk {
    /// Reading a chunk-size line (the bytes so far; a few dozen at most).
    Size(Vec<u8>),
    /// Skipping chunk data, then its CRLF.
    Data(u64),
    /// Reading trailer lines until an empty one; the visible bytes of the current line.
    Trailer(usize),
}

/// One direction of a connection.
#[derive(Clone, Debug, Default)]
struct Direction {
    /// The relative sequence number of the next byte expected.
    next: Option<u32>,
    state: State,
}

/// HTTP of one TCP connection, both directions.
#[derive(Clone, Debug, Default)]
pub struct HttpTracker {
    dirs: [Direction; 2],
    /// For each request not answered yet: was it HEAD (its response has no body)?
    outstanding: std::collections::VecDeque<bool>,
}

impl HttpTracker {
    /// Takes the payload of a segment sent in direction `dir` (0 or 1):
    /// `data` is what was captured of it, `len` its length on the wire, `seq`
    /// the relative sequence number of its first payload byte. Returns the
    /// first message whose header block this segment completes.
    pub fn on_segment(&mut self, dir: usize, seq: u32, data: &[u8], len: u32, frame: u64) -> Option<HttpMessage> {
        let d = &mut self.dirs[dir];
        if matches!(d.state, State::Off) || len == 0 {
            return None;
        }
        let data = &data[..data.len().min(len as usize)];
        let next = *d.next.get_or_insert(seq);
        let mut skip = 0;
        if seq::gt(seq, next) {
            // A gap: bytes were missed (loss, or a segment still to come out
            // of order). A body is skipped by count; anything else is lost.
            self.skip_unseen(dir, seq.wrapping_sub(next) as u64);
        } else {
            skip = next.wrapping_sub(seq);
            if skip >= len {
                // A retransmission of bytes already taken.
                return None;
            }
        }
        let d = &mut self.dirs[dir];
        d.next = Some(seq.wrapping_add(len));
        let fresh = data.get(skip as usize..).unwrap_or(&[]);
        let missing = (len - skip) as u64 - fresh.len() as u64;
        let mut found = None;
        self.feed(dir, fresh, frame, &mut found);
        if missing > 0 {
            self.skip_unseen(dir, missing);
        }
        found
    }

    /// Bytes on the wire that were not captured (snaplen): a body can be
    /// skipped without seeing it; anything else is lost.
    fn skip_unseen(&mut self, dir: usize, mut n: u64) {
        let d = &mut self.dirs[dir];
        d.state = match std::mem::take(&mut d.state) {
            State::Body(left) if left > n => State::Body(left - n),
            State::Body(left) => {
                n -= left;
                if n == 0 {
                    State::Start
                } else {
                    State::Lost
                }
            }
            State::Chunked(Chunk::Data(left)) if left > n => State::Chunked(Chunk::Data(left - n)),
            State::UntilClose => State::UntilClose,
            State::Off => State::Off,
            _ => State::Lost,
        };
    }

    fn feed(&mut self, dir: usize, mut data: &[u8], frame: u64, found: &mut Option<HttpMessage>) {
        while !data.is_empty() {
            let d = &mut self.dirs[dir];
            match &mut d.state {
                State::Off | State::UntilClose => return,
                State::Lost => {
                    if looks_like_start(data) == Verdict::No {
                        return;
                    }
                    d.state = State::Head { buf: Vec::new(), first_frame: frame };
                }
                State::Start => {
                    match looks_like_start(data) {
                        Verdict::No => {
                            d.state = State::Off;
                            return;
                        }
                        // Unbuffered fast path: the whole header block is in this segment.
                        Verdict::Yes => match parse(data, frame) {
                            Parsed::Complete(msg, used) => {
                                data = &data[used..];
                                self.completed(dir, msg, found);
                                continue;
                            }
                            Parsed::Invalid => {
                                self.dirs[dir].state = State::Off;
                                return;
                            }
                            Parsed::Partial => {}
                        },
                        Verdict::Maybe => {}
                    }
                    self.dirs[dir].state = State::Head { buf: Vec::new(), first_frame: frame };
                }
                State::Head { buf, first_frame } => {
                    let old = buf.len();
                    let take = data.len().min((MAX_PENDING + 1).saturating_sub(old));
                    buf.extend_from_slice(&data[..take]);
                    if looks_like_start(buf) == Verdict::No {
                        d.state = State::Off;
                        return;
                    }
                    match parse(buf, *first_frame) {
                        Parsed::Complete(msg, used) => {
                            // The block was incomplete without these bytes, so it
                            // ends inside them; what follows it is still in `data`.
                            data = &data[used.saturating_sub(old).min(data.len())..];
                            self.completed(dir, msg, found);
                        }
                        Parsed::Partial if buf.len() <= MAX_PENDING => return,
                        // Too long for a header block, or not valid HTTP after all.
                        Parsed::Partial | Parsed::Invalid => {
                            d.state = State::Off;
                            return;
                        }
                    }
                }
                State::Body(left) => {
                    let n = (*left).min(data.len() as u64);
                    *left -= n;
                    data = &data[n as usize..];
                    if *left == 0 {
                        d.state = State::Start;
                    }
                }
                State::Chunked(chunk) => match chunk {
                    Chunk::Data(left) => {
                        let n = (*left).min(data.len() as u64);
                        *left -= n;
                        data = &data[n as usize..];
                        if *left == 0 {
                            *chunk = Chunk::Size(Vec::new());
                        }
                    }
                    Chunk::Size(line) => {
                        let nl = data.iter().position(|&b| b == b'\n');
                        let upto = nl.map_or(data.len(), |i| i + 1);
                        line.extend_from_slice(&data[..upto]);
                        data = &data[upto..];
                        if nl.is_none() {
                            if line.len() > 1024 {
                                d.state = State::Off;
                                return;
                            }
                            continue;
                        }
                        // The CRLF that ends the previous chunk's data comes first.
                        if line == b"\r\n" || line == b"\n" {
                            line.clear();
                            continue;
                        }
                        match httparse::parse_chunk_size(line) {
                            Ok(httparse::Status::Complete((_, 0))) => *chunk = Chunk::Trailer(0),
                            Ok(httparse::Status::Complete((_, size))) => *chunk = Chunk::Data(size),
                            _ => {
                                d.state = State::Off;
                                return;
                            }
                        }
                    }
                    Chunk::Trailer(line_len) => {
                        let nl = data.iter().position(|&b| b == b'\n');
                        let upto = nl.map_or(data.len(), |i| i + 1);
                        *line_len += data[..upto].iter().filter(|&&b| b != b'\r' && b != b'\n').count();
                        data = &data[upto..];
                        if nl.is_none() {
                            continue;
                        }
                        // An empty line ends the trailer, and the message.
                        if *line_len == 0 {
                            d.state = State::Start;
                        } else {
                            *line_len = 0;
                        }
                    }
                },
            }
        }
    }

    /// A header block is complete: decide how its body ends and report it.
    fn completed(&mut self, dir: usize, mut msg: HttpMessage, found: &mut Option<HttpMessage>) {
        let chunked = msg
            .header("transfer-encoding")
            .is_some_and(|te| te.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked")));
        let length = msg.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let mut switch_off = false;
        match &msg.start {
            StartLine::Request { method, .. } => {
                if self.outstanding.len() < MAX_OUTSTANDING {
                    self.outstanding.push_back(method == "HEAD");
                }
                (msg.body, msg.body_len) = match (chunked, length) {
                    (true, _) => (BodyKind::Chunked, None),
                    (false, Some(n)) => (BodyKind::Length, Some(n)),
                    (false, None) => (BodyKind::None, Some(0)),
                };
            }
            StartLine::Response { code, .. } => {
                let code = *code;
                // An interim 1xx answers nothing yet; the final response follows.
                let to_head = if code >= 200 { self.outstanding.pop_front().unwrap_or(false) } else { false };
                switch_off = code == 101;
                (msg.body, msg.body_len) = if to_head || code < 200 || code == 204 || code == 304 {
                    (BodyKind::None, Some(0))
                } else {
                    match (chunked, length) {
                        (true, _) => (BodyKind::Chunked, None),
                        (false, Some(n)) => (BodyKind::Length, Some(n)),
                        (false, None) => (BodyKind::UntilClose, None),
                    }
                };
            }
        }
        self.dirs[dir].state = match (msg.body, msg.body_len) {
            (BodyKind::Length, Some(n)) if n > 0 => State::Body(n),
            (BodyKind::Chunked, _) => State::Chunked(Chunk::Size(Vec::new())),
            (BodyKind::UntilClose, _) => State::UntilClose,
            _ => State::Start,
        };
        if switch_off {
            // 101: both sides now speak the protocol they switched to.
            self.dirs[0].state = State::Off;
            self.dirs[1].state = State::Off;
        }
        found.get_or_insert(msg);
    }
}

/// Could these bytes be the start of an HTTP/1.x message?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Yes,
    Maybe,
    No,
}

/// Checks the first bytes cheaply: `HTTP/1.` for a response, or a method of
/// capitals, a space, a target and ` HTTP/1.` for a request. Leading empty
/// lines are allowed (RFC 9112 §2.2).
fn looks_like_start(bytes: &[u8]) -> Verdict {
    let start = bytes.iter().position(|&b| b != b'\r' && b != b'\n');
    let Some(start) = start else { return Verdict::Maybe };
    let b = &bytes[start..];
    const RESPONSE: &[u8] = b"HTTP/1.";
    let n = b.len().min(RESPONSE.len());
    if b[..n] == RESPONSE[..n] {
        return if n == RESPONSE.len() { Verdict::Yes } else { Verdict::Maybe };
    }
    let method = b.iter().take_while(|c| c.is_ascii_uppercase() || **c == b'-' || **c == b'_').count();
    if method == 0 || method > MAX_METHOD {
        return Verdict::No;
    }
    match b.get(method) {
        None => return Verdict::Maybe,
        Some(b' ') => {}
        Some(_) => return Verdict::No,
    }
    // The version at the end of the first line decides.
    let line = &b[method + 1..];
    let Some(eol) = line.iter().position(|&c| c == b'\n') else {
        return if line.contains(&b'\r') { Verdict::No } else { Verdict::Maybe };
    };
    let line = line[..eol].strip_suffix(b"\r").unwrap_or(&line[..eol]);
    match line.iter().rposition(|&c| c == b' ') {
        Some(sp) if line[sp + 1..].starts_with(RESPONSE) => Verdict::Yes,
        _ => Verdict::No,
    }
}

enum Parsed {
    Complete(HttpMessage, usize),
    Partial,
    Invalid,
}

/// Parses a header block with httparse, leniently where tshark is lenient.
fn parse(buf: &[u8], first_frame: u64) -> Parsed {
    let mut config = httparse::ParserConfig::default();
    config
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true);
    let mut small = [httparse::EMPTY_HEADER; 64];
    let mut big;
    let mut headers: &mut [httparse::Header<'_>] = &mut small;
    loop {
        let result = if looks_response(buf) {
            let mut r = httparse::Response::new(headers);
            match config.parse_response(&mut r, buf) {
                Ok(httparse::Status::Complete(used)) => {
                    let code = r.code.unwrap_or(0);
                    let start = StartLine::Response {
                        line: first_line(buf),
                        version: version_name(r.version),
                        code,
                        reason: known(r.reason.unwrap_or(""), REASONS),
                    };
                    Ok((start, owned(r.headers), used))
                }
                Ok(httparse::Status::Partial) => return Parsed::Partial,
                Err(e) => Err(e),
            }
        } else {
            let mut r = httparse::Request::new(headers);
            match config.parse_request(&mut r, buf) {
                Ok(httparse::Status::Complete(used)) => {
                    let start = StartLine::Request {
                        line: first_line(buf),
                        method: known(r.method.unwrap_or(""), METHODS),
                        target: r.path.unwrap_or("").to_string(),
                        version: version_name(r.version),
                    };
                    Ok((start, owned(r.headers), used))
                }
                Ok(httparse::Status::Partial) => return Parsed::Partial,
                Err(e) => Err(e),
            }
        };
        return match result {
            Ok((start, headers, used)) => Parsed::Complete(
                HttpMessage {
                    start,
                    headers,
                    body: BodyKind::None,
                    body_len: Some(0),
                    header_bytes: used as u32,
                    first_frame,
                },
                used,
            ),
            // One header per line at most: retry once with room for all of them.
            Err(httparse::Error::TooManyHeaders) if headers.len() == 64 => {
                big = vec![httparse::EMPTY_HEADER; buf.iter().filter(|&&b| b == b'\n').count() + 1];
                headers = &mut big;
                continue;
            }
            Err(_) => Parsed::Invalid,
        };
    }
}

/// The version's name: httparse reads only HTTP/1.0 (0) and HTTP/1.1 (1).
fn version_name(minor: Option<u8>) -> &'static str {
    match minor {
        Some(0) => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

/// Methods (RFC 9110 §9) and header names (§6.3, RFC 9111/9112) that nearly
/// every message has, and reason phrases (§15), kept without an allocation.
const METHODS: &[&str] = &["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
const REASONS: &[&str] = &["OK", "Not Found", "Created", "No Content", "Not Modified", "Bad Request", "Found"];
const HEADER_NAMES: &[&str] = &[
    "Host",
    "User-Agent",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Connection",
    "Content-Length",
    "Content-Type",
    "Date",
    "Server",
    "Cache-Control",
    "Transfer-Encoding",
    "Last-Modified",
    "ETag",
    "Location",
    "Keep-Alive",
    "Cookie",
    "Set-Cookie",
    "Referer",
    "Upgrade",
];

/// `s` itself, borrowed from `known` when it is one of them (exactly, as sent).
fn known(s: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == s) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(s.to_string()),
    }
}

fn looks_response(buf: &[u8]) -> bool {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(0);
    buf[start..].starts_with(b"HTTP/")
}

/// The first non-empty line, without its line ending.
fn first_line(buf: &[u8]) -> String {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(0);
    let line = &buf[start..];
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = &line[..end];
    String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned()
}

fn owned(headers: &[httparse::Header<'_>]) -> Vec<(Cow<'static, str>, String)> {
    headers
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| (known(h.name, HEADER_NAMES), String::from_utf8_lossy(h.value).into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds segments of one direction in order; returns (frame, message) for each report.
    fn run(
        t: &mut HttpTracker,
        dir: usize,
        segments: &[&[u8]],
        mut seq: u32,
        first_frame: u64,
    ) -> Vec<(u64, HttpMessage)> {
        let mut out = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            let frame = first_frame + i as u64;
            if let Some(m) = t.on_segment(dir, seq, s, s.len() as u32, frame) {
                out.push((frame, m));
            }
            seq = seq.wrapping_add(s.len() as u32);
        }
        out
    }

    #[test]
    fn request_split_over_segments_is_reported_once_complete() {
        let mut t = HttpTracker::default();
        let got = run(
            &mut t,
            0,
            &[b"GET /ind", b"ex.html HTTP/1.1\r\nHost: loc", b"alhost\r\nAccept: */*\r\n", b"\r\n"],
            1,
            4,
        );
        assert_eq!(got.len(), 1);
        let (frame, m) = &got[0];
        assert_eq!(*frame, 7, "reported on the segment with the blank line");
        assert_eq!(m.first_frame, 4);
        assert_eq!(
            m.start,
            StartLine::Request {
                line: "GET /index.html HTTP/1.1".into(),
                method: "GET".into(),
                target: "/index.html".into(),
                version: "HTTP/1.1"
            }
        );
        assert_eq!(m.headers, vec![("Host".into(), "localhost".into()), ("Accept".into(), "*/*".into())]);
        assert_eq!((m.body, m.body_len), (BodyKind::None, Some(0)));
        assert_eq!(m.header_bytes, 58);
    }

    #[test]
    fn response_with_content_length_then_keep_alive() {
        let mut t = HttpTracker::default();
        run(&mut t, 0, &[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], 1, 4);
        let body = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello";
        let got = run(&mut t, 1, &[body, b", world!", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"], 1, 5);
        assert_eq!(got.len(), 2, "{got:?}");
        let m = &got[0].1;
        assert_eq!(m.line(), "HTTP/1.1 200 OK");
        assert!(matches!(m.start, StartLine::Response { code: 200, .. }));
        assert_eq!(m.headers.len(), 2);
        assert_eq!((m.body, m.body_len), (BodyKind::Length, Some(13)));
        // The body's 13 bytes were skipped, so the next response is found where it starts.
        assert_eq!(got[1].0, 7);
        assert!(matches!(got[1].1.start, StartLine::Response { code: 404, ref reason, .. } if reason == "Not Found"));
    }

    #[test]
    fn two_messages_in_one_segment_and_a_chunked_body() {
        let mut t = HttpTracker::default();
        let seg: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let got = run(&mut t, 1, &[&seg[..50], &seg[50..]], 1, 1);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1.body, BodyKind::Chunked);
        assert_eq!(got[0].1.body_len, None);
        assert!(matches!(got[1].1.start, StartLine::Response { code: 204, .. }));
    }

    #[test]
    fn non_http_data_is_ignored_and_dropped() {
        for data in [&b"hello world"[..], b"\x00\x00\x00\x05hello", b"get / http/1.1\r\n\r\n", b"GET / FTP/1.0\r\n\r\n"]
        {
            let mut t = HttpTracker::default();
            assert!(run(&mut t, 0, &[data, b"GET / HTTP/1.1\r\n\r\n"], 1, 1).is_empty(), "{data:?}");
            assert!(matches!(t.dirs[0].state, State::Off), "{data:?}: given up, nothing held");
        }
    }

    #[test]
    fn header_block_longer_than_the_cap_is_given_up() {
        let mut t = HttpTracker::default();
        let mut segs: Vec<Vec<u8>> = vec![b"GET / HTTP/1.1\r\n".to_vec()];
        let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
        for _ in 0..70 {
            segs.push(line.as_bytes().to_vec());
        }
        segs.push(b"\r\n".to_vec());
        let refs: Vec<&[u8]> = segs.iter().map(Vec::as_slice).collect();
        assert!(run(&mut t, 0, &refs, 1, 1).is_empty());
        assert!(matches!(t.dirs[0].state, State::Off));
        // Just under the cap is fine.
        let mut t = HttpTracker::default();
        let refs: Vec<&[u8]> = segs[..60].iter().map(Vec::as_slice).chain([&b"\r\n"[..]]).collect();
        let got = run(&mut t, 0, &refs, 1, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.headers.len(), 59, "more than the 64 headers of the first try also fit");
    }

    /// Every message of every capture, and made-up ones (HTTP/1.0, no
    /// reason, unknown method and header names, chunked, until-close, a
    /// hundred headers), come back equal from their flat form, which they
    /// use up exactly; every shorter prefix is refused, not misread.
    #[test]
    fn messages_come_back_from_their_flat_form() {
        let mut messages = Vec::new();
        for file in crate::render::every_capture() {
            let Ok(mut reader) = crate::source::file::CaptureReader::open(&file) else { continue };
            let mut analyzer = crate::analyze::Analyzer::new();
            let _ = reader.for_each(|f| {
                messages.extend(analyzer.on_frame(f).http.map(|m| *m));
                std::ops::ControlFlow::Continue(())
            });
        }
        assert!(messages.len() > 20, "{} messages in the captures", messages.len());
        let mut t = HttpTracker::default();
        let mut many = b"BREW /pot?x=1 HTTP/1.0\r\nX-Odd: \xff\r\n".to_vec();
        for i in 0..100 {
            many.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let made: Vec<_> = run(&mut t, 0, &[&many], 1, 1).into_iter().map(|(_, m)| m).collect();
        assert_eq!(made.len(), 1);
        messages.extend(made);
        let replies: &[&[u8]] = &[
            b"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"HTTP/1.0 418 I'm a teapot\r\nServer: x\r\n\r\n",
        ];
        let mut seq = 1;
        for r in replies {
            let got: Vec<_> = run(&mut t, 1, &[r], seq, 9).into_iter().map(|(_, m)| m).collect();
            assert_eq!(got.len(), 1, "{}", String::from_utf8_lossy(r));
            messages.extend(got);
            seq += r.len() as u32;
        }
        let kinds = |b: BodyKind| messages.iter().filter(|m| m.body == b).count();
        assert!(kinds(BodyKind::Chunked) > 0 && kinds(BodyKind::UntilClose) > 0);
        let mut flat = Vec::new();
        for m in &messages {
            flat.clear();
            m.flatten_into(&mut flat);
            let mut rest = &flat[..];
            assert_eq!(HttpMessage::unflatten(&mut rest).as_ref(), Some(m));
            assert!(rest.is_empty());
            for cut in 0..flat.len() {
                assert_eq!(HttpMessage::unflatten(&mut &flat[..cut]), None, "cut at {cut} of {}", flat.len());
            }
        }
    }

    #[test]
    fn many_headers_are_all_kept() {
        let mut t = HttpTracker::default();
        let mut req = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            req.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        let got = run(&mut t, 0, &[&req], 1, 1);
        assert_eq!(got[0].1.headers.len(), 100);
    }

    #[test]
    fn retransmissions_and_gaps() {
        let mut t = HttpTracker::default();
        // The first part, then the same part again (retransmitted), then the rest.
        assert!(t.on_segment(0, 1, b"GET / HT", 8, 1).is_none());
        assert!(t.on_segment(0, 1, b"GET / HT", 8, 2).is_none());
        // Overlapping retransmission with new bytes.
        let m = t.on_segment(0, 5, b"/ HTTP/1.1\r\n\r\n", 15, 3).expect("complete");
        assert_eq!(m.line(), "GET / HTTP/1.1");
        // A gap loses the message in progress; the next message is found again.
        assert!(t.on_segment(0, 20, b"GET /a HTTP/1.1\r\n", 17, 4).is_none());
        assert!(t.on_segment(0, 50, b"Host: x\r\n\r\n", 11, 5).is_none());
        let m = t.on_segment(0, 61, b"GET /b HTTP/1.1\r\n\r\n", 19, 6).expect("resynchronised");
        assert_eq!(m.line(), "GET /b HTTP/1.1");
    }

    #[test]
    fn body_cut_by_snaplen_is_skipped_by_length() {
        let mut t = HttpTracker::default();
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let mut seg = head.to_vec();
        seg.extend_from_slice(&[b'x'; 10]);
        // Captured: header + 10 bytes; on the wire: header + 1000.
        let m = t.on_segment(1, 1, &seg, head.len() as u32 + 1000, 1).expect("header captured");
        assert_eq!(m.body_len, Some(1000));
        let next = 1 + head.len() as u32 + 1000;
        let m = t.on_segment(1, next, b"HTTP/1.1 304 Not Modified\r\n\r\n", 29, 2).expect("found after the cut body");
        assert!(matches!(m.start, StartLine::Response { code: 304, .. }));
    }

    /// Any mix of HTTP pieces and garbage, in or out of order, whole or cut:
    /// no panic, and never more than the cap held.
    #[test]
    fn survives_arbitrary_segments() {
        let pieces: [&[u8]; 8] = [
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"3\r\nabc\r\n0\r\nX: y\r\n\r\n",
            b"POST /x HTTP/1.0\r\nContent-Length: 99999999999\r\n\r\n",
            b"\r\n\r\nGE",
            b"\x00\xff\r\n\n",
            b"ffffffffffffffffff\r\n",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..200 {
            let mut t = HttpTracker::default();
            let mut seq = [1u32; 2];
            for frame in 0..200 {
                let dir = rnd(2) as usize;
                let mut seg = Vec::new();
                for _ in 0..=rnd(3) {
                    let p = pieces[rnd(8) as usize];
                    let from = rnd(p.len() as u64) as usize;
                    seg.extend_from_slice(&p[from..]);
                }
                let len = seg.len() as u32 + if rnd(8) == 0 { rnd(5000) as u32 } else { 0 };
                let captured = if rnd(6) == 0 { rnd(seg.len() as u64 + 1) as usize } else { seg.len() };
                let at = match rnd(10) {
                    0 => seq[dir].wrapping_sub(rnd(40) as u32),
                    1 => seq[dir].wrapping_add(rnd(40) as u32),
                    _ => seq[dir],
                };
                let _ = t.on_segment(dir, at, &seg[..captured], len, frame);
                seq[dir] = at.wrapping_add(len);
                for d in &t.dirs {
                    if let State::Head { buf, .. } = &d.state {
                        assert!(buf.len() <= MAX_PENDING);
                    }
                }
            }
        }
    }

    #[test]
    fn head_response_has_no_body_and_101_ends_http() {
        let mut t = HttpTracker::default();
        run(&mut t, 0, &[b"HEAD / HTTP/1.1\r\n\r\n"], 1, 1);
        let m = t.on_segment(1, 1, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", 39, 2).unwrap();
        assert_eq!((m.body, m.body_len), (BodyKind::None, Some(0)));
        let m = t.on_segment(1, 40, b"HTTP/1.1 101 Switching Protocols\r\n\r\n", 36, 3).unwrap();
        assert!(matches!(m.start, StartLine::Response { code: 101, .. }));
        assert!(t.on_segment(0, 20, b"GET / HTTP/1.1\r\n\r\n", 18, 4).is_none(), "no longer HTTP");
    }
}
