//! `recv_http`: one HTTP/1.x response read from a socket the way a browser
//! reads it — the head up to the empty line (httparse), then the body as the
//! head delimits it (RFC 9112 §6.3: `Transfer-Encoding: chunked`, else
//! `Content-Length`, else until the server closes) — and then whether the
//! server closed the connection or kept it, as the response said it would
//! (RFC 9112 §9.3, §9.6). What went wrong is data ([`Problem`]), put into
//! words by the renderers.

use serde::Serialize;
use socket2::Socket;
use std::io::Read;
use std::time::{Duration, Instant};

/// How long a kept-alive connection is watched for an early close.
pub const KEEP_CHECK: Duration = Duration::from_millis(300);

/// The longest head read.
const HEAD_MAX: usize = 64 << 10;

/// How the body's end is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "bytes", rename_all = "snake_case")]
pub enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// No length: the body ends when the server closes.
    Close,
}

/// What the server did with the connection after the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Closed {
    /// It closed it (FIN).
    Closed,
    /// It reset it (RST).
    Reset,
    /// Still open when wirelab stopped watching.
    Open,
}

/// Something a response does wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The connection ended before any byte of a response.
    NoResponse,
    /// The head has no empty line ending it (before the close or the limit).
    HeadNeverEnded,
    /// The status line or a header cannot be parsed.
    BadHead {
        /// httparse's reason.
        reason: String,
    },
    /// Lines end in LF alone, not CRLF (RFC 9112 §2.2).
    BareLf,
    /// Fewer body bytes than Content-Length (or a chunk) announced.
    BodyShort {
        /// Bytes that came.
        got: u64,
        /// Bytes announced.
        want: u64,
    },
    /// Bytes after the end of the body the head announced.
    ExtraBytes {
        /// How many.
        bytes: u64,
    },
    /// No Content-Length, not chunked, and the server did not close: the
    /// client cannot know where the body ends.
    BodyNeverEnds,
    /// A chunk size line that is not hexadecimal.
    BadChunk,
}

/// One response as the client read it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Response {
    /// `HTTP/1.x` minor version.
    pub version: Option<u8>,
    /// Status code.
    pub status: Option<u16>,
    /// Reason phrase.
    pub reason: String,
    /// How the body's end is known (None: no head).
    pub framing: Option<Framing>,
    /// The response says the connection ends after it.
    pub says_close: bool,
    /// The body (chunked: decoded).
    #[serde(skip)]
    pub body: Vec<u8>,
    /// What the server did with the connection afterwards.
    pub closed: Option<Closed>,
    /// What is wrong with it.
    pub problems: Vec<Problem>,
}

impl Response {
    /// The connection went as the response said: closed if it said so,
    /// open otherwise.
    pub fn closes_as_said(&self) -> bool {
        match self.closed {
            Some(Closed::Closed) => self.says_close,
            Some(Closed::Open) => !self.says_close,
            Some(Closed::Reset) | None => false,
        }
    }
}

/// Reads from `sock` with an overall deadline.
struct Reader<'a> {
    sock: &'a Socket,
    deadline: Instant,
    buf: Vec<u8>,
    /// Where unread bytes of `buf` start.
    at: usize,
    end: Option<Closed>,
}

impl Reader<'_> {
    /// Reads more; false at the end (closed, reset, or the deadline).
    fn more(&mut self) -> bool {
        if self.end.is_some() {
            return false;
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.end = Some(Closed::Open);
            return false;
        }
        let _ = self.sock.set_read_timeout(Some(left));
        let mut chunk = [0u8; 16 << 10];
        let mut r: &Socket = self.sock;
        match r.read(&mut chunk) {
            Ok(0) => {
                self.end = Some(Closed::Closed);
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => true,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                self.end = Some(Closed::Open);
                false
            }
            Err(_) => {
                self.end = Some(Closed::Reset);
                false
            }
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    /// Takes up to `n` bytes, reading as needed.
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.unread().len() < n && self.more() {}
        let k = n.min(self.unread().len());
        let out = self.buf[self.at..self.at + k].to_vec();
        self.at += k;
        out
    }

    /// One line (without its end), reading as needed.
    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.unread().iter().position(|b| *b == b'\n') {
                let line =
                    self.buf[self.at..self.at + i].strip_suffix(b"\r").unwrap_or(&self.buf[self.at..self.at + i]);
                let line = line.to_vec();
                self.at += i + 1;
                return Some(line);
            }
            if !self.more() {
                return None;
            }
        }
    }
}

/// Reads one response from `sock`, waiting at most `limit` for it and its
/// body, then watches the connection (until the close it announced, within
/// `limit`, or [`KEEP_CHECK`] for an early close).
pub fn read_response(sock: &Socket, limit: Duration) -> Response {
    let mut r = Reader { sock, deadline: Instant::now() + limit, buf: Vec::new(), at: 0, end: None };
    let mut resp = Response::default();
    // The head: up to the first empty line (CRLF CRLF, or LF LF).
    let head_end = loop {
        let b = &r.buf;
        let crlf = b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
        let lf = b.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
        if let Some(end) = [crlf, lf].into_iter().flatten().min() {
            break Some(end);
        }
        if b.len() > HEAD_MAX || !r.more() {
            break None;
        }
    };
    let Some(head_end) = head_end else {
        resp.problems.push(if r.buf.is_empty() { Problem::NoResponse } else { Problem::HeadNeverEnded });
        resp.closed = r.end;
        return resp;
    };
    let head = r.buf[..head_end].to_vec();
    r.at = head_end;
    if head.iter().enumerate().any(|(i, b)| *b == b'\n' && (i == 0 || head[i - 1] != b'\r')) {
        resp.problems.push(Problem::BareLf);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    if let Err(e) = parsed.parse(&head) {
        resp.problems.push(Problem::BadHead { reason: e.to_string() });
        resp.closed = r.end;
        return resp;
    }
    resp.version = parsed.version;
    resp.status = parsed.code;
    resp.reason = parsed.reason.unwrap_or_default().to_string();
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let connection = header("connection").join(",");
    let chunked = header("transfer-encoding").iter().any(|v| v.split(',').any(|t| t.trim() == "chunked"));
    let length = header("content-length").first().and_then(|v| v.parse::<u64>().ok());
    let no_body = matches!(resp.status, Some(100..=199) | Some(204) | Some(304));
    let framing = match (no_body, chunked, length) {
        (true, _, _) => Framing::Length(0),
        (_, true, _) => Framing::Chunked,
        (_, _, Some(n)) => Framing::Length(n),
        _ => Framing::Close,
    };
    resp.framing = Some(framing);
    let says = |word: &str| connection.split(',').any(|t| t.trim() == word);
    resp.says_close = says("close") || (resp.version == Some(0) && !says("keep-alive")) || framing == Framing::Close;
    match framing {
        Framing::Length(n) => {
            resp.body = r.take(n as usize);
            if (resp.body.len() as u64) < n {
                resp.problems.push(Problem::BodyShort { got: resp.body.len() as u64, want: n });
            }
        }
        Framing::Chunked => loop {
            let Some(line) = r.line() else {
                resp.problems
                    .push(Problem::BodyShort { got: resp.body.len() as u64, want: resp.body.len() as u64 + 1 });
                break;
            };
            let mut sized = line.clone();
            sized.extend_from_slice(b"\r\n");
            match httparse::parse_chunk_size(&sized) {
                Ok(httparse::Status::Complete((_, 0))) => {
                    // Trailer fields up to the empty line.
                    while r.line().is_some_and(|l| !l.is_empty()) {}
                    break;
                }
                Ok(httparse::Status::Complete((_, size))) => {
                    let piece = r.take(size as usize);
                    let short = (piece.len() as u64) < size;
                    resp.body.extend_from_slice(&piece);
                    if short {
                        let got = resp.body.len() as u64;
                        resp.problems.push(Problem::BodyShort { got, want: got - piece.len() as u64 + size });
                        break;
                    }
                    let _ = r.line();
                }
                _ => {
                    resp.problems.push(Problem::BadChunk);
                    break;
                }
            }
        },
        Framing::Close => {
            while r.more() {}
            resp.body = r.unread().to_vec();
            r.at = r.buf.len();
            if r.end == Some(Closed::Open) {
                resp.problems.push(Problem::BodyNeverEnds);
            }
        }
    }
    // After the body: the close it announced, or a connection kept open.
    if !resp.says_close {
        r.deadline = r.deadline.min(Instant::now() + KEEP_CHECK);
    }
    while r.end.is_none() && r.more() {}
    let extra = r.unread().len() as u64;
    if extra > 0 {
        resp.problems.push(Problem::ExtraBytes { bytes: extra });
    }
    resp.closed = r.end;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    /// Serves `bytes` to one client, then closes (or keeps it open `keep`).
    fn serve(bytes: &'static [u8], keep: Option<Duration>) -> Response {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.write_all(bytes).unwrap();
            if let Some(d) = keep {
                std::thread::sleep(d);
            }
        });
        let s = Socket::from(TcpStream::connect(addr).unwrap());
        let r = read_response(&s, Duration::from_millis(800));
        t.join().unwrap();
        r
    }

    #[test]
    fn a_right_response_with_content_length_and_close() {
        let r = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", None);
        assert_eq!((r.status, r.version, r.framing), (Some(200), Some(1), Some(Framing::Length(5))));
        assert_eq!(r.body, b"hello");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert!(r.says_close && r.closes_as_said());
    }

    #[test]
    fn content_length_in_characters_not_bytes() {
        // "你好" is 6 bytes in UTF-8; a server that counts characters says 2.
        let r = serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n你好".as_bytes(), None);
        assert_eq!(r.body.len(), 2);
        assert_eq!(r.problems, vec![Problem::ExtraBytes { bytes: 4 }]);
    }

    #[test]
    fn keep_alive_said_but_closed_and_kept_as_said() {
        let r = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", None);
        assert!(!r.says_close && r.closed == Some(Closed::Closed) && !r.closes_as_said());
        let r = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", Some(Duration::from_millis(600)));
        assert_eq!(r.closed, Some(Closed::Open));
        assert!(r.closes_as_said() && r.problems.is_empty());
    }

    #[test]
    fn close_delimited_chunked_bare_lf_and_no_response() {
        let r = serve(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>", None);
        assert_eq!((r.framing, r.body.as_slice()), (Some(Framing::Close), &b"<p>x</p>"[..]));
        assert!(r.problems.is_empty() && r.closes_as_said());
        let r = serve(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", None);
        assert_eq!(r.body, b"abcde");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let r = serve(b"HTTP/1.1 404 Not Found\nContent-Length: 0\nConnection: close\n\n", None);
        assert_eq!(r.status, Some(404));
        assert_eq!(r.problems, vec![Problem::BareLf]);
        let r = serve(b"", None);
        assert_eq!(r.problems, vec![Problem::NoResponse]);
        // No length and the connection stays open: the body never ends.
        let r = serve(b"HTTP/1.1 200 OK\r\n\r\nabc", Some(Duration::from_millis(1200)));
        assert!(r.problems.contains(&Problem::BodyNeverEnds), "{:?}", r.problems);
    }
}
