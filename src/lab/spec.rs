//! Lab files: the typed model of `labs/*.toml` and its validation.
//!
//! A lab is an id, a title, a goal, topics and ordered steps; a step is one
//! [`Call`] by one actor (a named socket), with optional text to say, typed
//! [`Expectation`]s and a [`Quiz`] question. The TOML shape is the one
//! instructors write (`call = "connect"`, `to = "server"` …, see
//! `labs/README.md`); serde turns it into these types, so a misspelt call,
//! option, state, flag set or field is an error with its line, and every
//! place that handles a call or an expectation is an exhaustive `match`:
//! adding a step kind is a new variant, and the compiler lists what to do.

use crate::analyze::Expert;
use crate::decode::flags;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;

/// A whole lab file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// Short name used on the command line (`wirelab lab run ID`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What the student should understand at the end.
    pub goal: String,
    /// Course topics this lab covers.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Topics in Simplified Chinese.
    #[serde(default)]
    pub topics_zh: Vec<String>,
    /// A closing text shown after the last step.
    #[serde(default)]
    pub summary: Option<String>,
    /// Title in Simplified Chinese.
    pub title_zh: Option<String>,
    /// Goal in Simplified Chinese.
    pub goal_zh: Option<String>,
    /// Closing text in Simplified Chinese.
    pub summary_zh: Option<String>,
    /// A wire wirelab controls between private hosts (`[wire]`); without
    /// it, the lab runs on this machine's loopback.
    pub wire: Option<crate::source::wire::spec::WireSpec>,
    /// Files the lab puts in a program's working directory (`[[file]]`):
    /// `wirelab grade` and `lab run --program` write them before the program
    /// starts; wirelab's own steps send the same bytes (`sendfile` with the
    /// same `bytes`).
    #[serde(default, rename = "file")]
    pub files: Vec<LabFile>,
    /// What a program playing an actor reads on its stdin (`[[input]]`),
    /// as the course's client asks with `input()`.
    #[serde(default, rename = "input")]
    pub inputs: Vec<ProgramInput>,
    /// The steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<toml::Spanned<Step>>,
}

/// A file of the lab (`[[file]]`) under `name`: `bytes` bytes of the
/// generated content a `sendfile` of that size sends, or a `text` (UTF-8).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    /// Its name in the working directory (no folders; any script, e.g. Chinese).
    pub name: String,
    /// Its size (generated content).
    pub bytes: Option<usize>,
    /// Its text instead (an HTML page).
    pub text: Option<String>,
    /// Only a program playing this actor finds it in its working directory
    /// (default: any program of the lab).
    pub actor: Option<String>,
}

/// `[[input]]`: the lines a program playing `actor` reads on its stdin,
/// each ended by a newline; then its stdin is closed.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProgramInput {
    /// The actor.
    pub actor: String,
    /// The lines.
    pub lines: Vec<String>,
}

impl ProgramInput {
    /// The bytes written to the program's stdin.
    pub fn bytes(&self) -> Vec<u8> {
        self.lines.iter().flat_map(|l| l.bytes().chain(std::iter::once(b'\n'))).collect()
    }
}

/// Largest `[[file]]`.
pub const LAB_FILE_MAX: usize = 64 << 20;

impl LabFile {
    /// Its content.
    pub fn contents(&self) -> Vec<u8> {
        match &self.text {
            Some(t) => t.as_bytes().to_vec(),
            None => super::transfer::file_contents(self.bytes.unwrap_or(0) as u64),
        }
    }

    /// MD5 of its content, hex.
    pub fn md5(&self) -> String {
        match &self.text {
            Some(t) => super::transfer::md5_hex(t.as_bytes()),
            None => super::transfer::file_md5(self.bytes.unwrap_or(0) as u64),
        }
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.text.as_ref().map(String::len).or(self.bytes).unwrap_or(0)
    }

    /// A program playing `actor` finds it in its working directory.
    pub fn given_to(&self, actor: &str) -> bool {
        self.actor.as_deref().is_none_or(|a| a == actor)
    }
}

/// One step: an actor's call, what to tell the student, what must happen.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Step {
    /// Which socket (actor) makes the call; a name the lab chooses ("server").
    /// Empty for `sleep` and `watch`.
    #[serde(default)]
    pub actor: String,
    /// The call and its arguments (`call = "…"` selects the variant).
    #[serde(flatten)]
    pub call: Call,
    /// Text for the student, shown before the call.
    pub say: Option<String>,
    /// Text for the student in Simplified Chinese.
    pub say_zh: Option<String>,
    /// What must happen.
    #[serde(default)]
    pub expect: Expect,
    /// A question for `--quiz`.
    pub quiz: Option<Quiz>,
    /// connect/accept/recv: give up after this many seconds (default 2).
    pub timeout: Option<f64>,
    /// Put the socket in non-blocking mode before the call.
    pub nonblocking: Option<bool>,
    /// Longest wait for the wire to go quiet after the call (default 1.5 s).
    pub settle: Option<f64>,
    /// Why the step's expectations matter, in one sentence (`wirelab grade`
    /// shows it next to a failed expectation).
    pub why: Option<String>,
    /// The same in Simplified Chinese.
    pub why_zh: Option<String>,
}

/// Address family of `socket`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// AF_INET.
    #[default]
    Inet,
    /// AF_INET6.
    Inet6,
}

/// Socket type of `socket`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SockType {
    /// SOCK_STREAM (TCP).
    #[default]
    Stream,
    /// SOCK_DGRAM (UDP).
    Dgram,
}

/// `shutdown(how)`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// SHUT_WR: send FIN, keep reading.
    #[default]
    Wr,
    /// SHUT_RD.
    Rd,
    /// SHUT_RDWR.
    Rdwr,
}

/// `setsockopt` options wirelab knows.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum SockOpt {
    /// SO_REUSEADDR (value 1/0).
    #[serde(rename = "SO_REUSEADDR")]
    ReuseAddr,
    /// SO_LINGER (value: seconds with linger on; negative: off).
    #[serde(rename = "SO_LINGER")]
    Linger,
    /// SO_RCVBUF (bytes).
    #[serde(rename = "SO_RCVBUF")]
    RcvBuf,
    /// SO_SNDBUF (bytes).
    #[serde(rename = "SO_SNDBUF")]
    SndBuf,
    /// TCP_NODELAY (1/0).
    #[serde(rename = "TCP_NODELAY")]
    NoDelay,
    /// SO_KEEPALIVE (1/0).
    #[serde(rename = "SO_KEEPALIVE")]
    KeepAlive,
    /// SO_BROADCAST (1/0): allows sendto() a broadcast address.
    #[serde(rename = "SO_BROADCAST")]
    Broadcast,
    /// TCP_CONGESTION: the congestion control of this socket ("reno", "cubic", "bbr").
    #[serde(rename = "TCP_CONGESTION")]
    Congestion,
}

/// A congestion-control algorithm (`setsockopt TCP_CONGESTION`); these
/// three are the ones this kernel offers (NOTES.md), bbr its default.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Congestion {
    /// RFC 5681: halve on loss, +1 segment per RTT.
    Reno,
    /// RFC 9438: a cubic function of the time since the last loss (Linux's long-time default).
    Cubic,
    /// BBR: a model of bottleneck rate and RTT, not driven by loss.
    Bbr,
}

impl Congestion {
    /// The kernel's name.
    pub fn name(self) -> &'static str {
        match self {
            Congestion::Reno => "reno",
            Congestion::Cubic => "cubic",
            Congestion::Bbr => "bbr",
        }
    }
}

/// The value of `setsockopt`: a number, or the algorithm of TCP_CONGESTION.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OptValue {
    /// Numbers and flags.
    Int(i64),
    /// TCP_CONGESTION's algorithm.
    Algorithm(Congestion),
}

impl SockOpt {
    /// The C name.
    pub fn name(self) -> &'static str {
        match self {
            SockOpt::ReuseAddr => "SO_REUSEADDR",
            SockOpt::Linger => "SO_LINGER",
            SockOpt::RcvBuf => "SO_RCVBUF",
            SockOpt::SndBuf => "SO_SNDBUF",
            SockOpt::NoDelay => "TCP_NODELAY",
            SockOpt::KeepAlive => "SO_KEEPALIVE",
            SockOpt::Broadcast => "SO_BROADCAST",
            SockOpt::Congestion => "TCP_CONGESTION",
        }
    }
}

/// How `serve` handles clients.
#[derive(Clone, Copy, Debug, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ServeMode {
    /// One client at a time.
    #[default]
    Iterative,
    /// A thread per connection.
    Threaded,
}

/// What `serve` sends back.
#[derive(Clone, Copy, Debug, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    /// The bytes upper-cased (shows whose answer it is).
    #[default]
    Upper,
    /// The bytes as they came (an echo server).
    Same,
}

/// How several messages of one `send` step are framed.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Bytes as they are.
    #[default]
    None,
    /// Each message after its length (4 bytes, big-endian).
    Length,
}

/// A text encoding for `send`/`recv` of Chinese text (the course's 编码/解码).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// UTF-8: 3 bytes per common Chinese character.
    #[serde(rename = "utf-8")]
    Utf8,
    /// GBK (Windows code page 936): 2 bytes per Chinese character.
    Gbk,
}

impl Codec {
    /// The Python codec name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Utf8 => "utf-8",
            Codec::Gbk => "gbk",
        }
    }

    /// The encoding_rs codec.
    pub fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Codec::Utf8 => encoding_rs::UTF_8,
            Codec::Gbk => encoding_rs::GBK,
        }
    }
}

fn default_backlog() -> i32 {
    128
}

fn default_size() -> usize {
    1024
}

/// The socket call of a step (`call = "…"`). Each variant holds its own
/// arguments; a key that does not belong to the call is an error.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
pub enum Call {
    /// `socket(family, type)`.
    Socket {
        /// "inet" (default) or "inet6".
        #[serde(default)]
        family: Family,
        /// "stream" (TCP, default) or "dgram" (UDP).
        #[serde(rename = "type", default)]
        kind: SockType,
    },
    /// `bind(addr)`; port 0 lets the kernel choose.
    Bind {
        /// A loopback (or wildcard) address with port.
        addr: String,
    },
    /// `listen(backlog)`.
    Listen {
        /// The backlog (default 128).
        #[serde(default = "default_backlog")]
        backlog: i32,
    },
    /// `connect(to)`.
    Connect {
        /// An actor (its bound address), "unused" (a port nobody listens on), or an address.
        to: String,
    },
    /// `connect_ex(to)`: returns 0 or the errno number instead of raising.
    ConnectEx {
        /// An actor, "unused", or an address.
        to: String,
    },
    /// A small DNS server in a thread on this UDP socket: answers A
    /// questions for `records` (NXDOMAIN for other names).
    DnsServe {
        /// Name → IPv4 loopback address.
        records: std::collections::BTreeMap<String, String>,
    },
    /// Look a name up: with `server` (an actor running `dns_serve`), a DNS
    /// query over UDP from this socket; without, the hosts file — no packet,
    /// as `gethostbyname("localhost")`. wirelab never asks another DNS server.
    Resolve {
        /// The name.
        name: String,
        /// The DNS server's actor.
        server: Option<String>,
    },
    /// `settimeout(seconds)`: later blocking calls give up after this long
    /// (Python raises TimeoutError "timed out"); no `seconds`: block forever.
    Settimeout {
        /// The timeout.
        seconds: Option<f64>,
    },
    /// `setblocking(flag)`: false makes calls return at once (EAGAIN, Python's
    /// BlockingIOError) when they would wait.
    Setblocking {
        /// Blocking (true) or not.
        flag: bool,
    },
    /// `new = accept()`.
    Accept {
        /// The name of the new connected socket.
        #[serde(rename = "as")]
        new_actor: String,
    },
    /// One `send()` (or, with `messages`, one per message back to back).
    Send {
        /// The bytes (text; escapes like `\n`).
        data: Option<String>,
        /// Send this many bytes of filler instead.
        bytes: Option<usize>,
        /// Several messages, one `send()` each.
        messages: Option<Vec<String>>,
        /// "length": each message after its 4-byte length.
        #[serde(default)]
        framing: Framing,
        /// Encode `data` with this codec ("utf-8", "gbk") instead of sending it as UTF-8 text.
        encoding: Option<Codec>,
    },
    /// `sendall()`: `send()` until every byte is out.
    Sendall {
        /// The bytes.
        data: Option<String>,
        /// Filler bytes instead.
        bytes: Option<usize>,
        /// Bytes per `send()` (default 65536).
        chunk: Option<usize>,
        /// Run in a thread; `join` collects the result.
        #[serde(default)]
        background: bool,
    },
    /// Send a file of `bytes` bytes in `sendall()`s of `chunk`.
    Sendfile {
        /// The file's size.
        bytes: usize,
        /// Bytes per `sendall()` (default 65536).
        chunk: Option<usize>,
        /// Run in a thread.
        #[serde(default)]
        background: bool,
    },
    /// `recv(size)`.
    Recv {
        /// Buffer size (default 1024).
        #[serde(default = "default_size")]
        size: usize,
        /// Decode what arrives with this codec (as `data.decode(...)` would).
        decode: Option<Codec>,
    },
    /// `recvfrom(size)`.
    Recvfrom {
        /// Buffer size (default 1024).
        #[serde(default = "default_size")]
        size: usize,
    },
    /// Read a 4-byte length, then that many bytes.
    RecvFramed {},
    /// `recv()` until `bytes` arrived or the peer closed.
    RecvAll {
        /// Stop after this many bytes (default: until b'').
        bytes: Option<usize>,
        /// Write what arrives to a temporary file (memory stays flat).
        #[serde(default)]
        to_file: bool,
        /// Run in a thread.
        #[serde(default)]
        background: bool,
    },
    /// An accept loop in a thread (echoes each client until it closes).
    Serve {
        /// "iterative" or "threaded".
        #[serde(default)]
        mode: ServeMode,
        /// "upper" (default) or "same" (echo the bytes unchanged).
        #[serde(default)]
        reply: Reply,
    },
    /// Wait for the actor's background call and take its result.
    Join {},
    /// Read one HTTP response as a browser does: the head up to the empty
    /// line, the body by chunked / Content-Length / the server's close, then
    /// whether the server closes the connection as the response says.
    RecvHttp {},
    /// `shutdown(how)`.
    Shutdown {
        /// "wr" (default), "rd" or "rdwr".
        #[serde(default)]
        how: How,
    },
    /// `close()`.
    Close {},
    /// `setsockopt(option, value)`.
    Setsockopt {
        /// The option.
        option: SockOpt,
        /// Its value (default 1; TCP_CONGESTION: "reno", "cubic" or "bbr").
        value: Option<OptValue>,
    },
    /// `sendto(data, to)`.
    Sendto {
        /// An actor, "unused", or an address.
        to: String,
        /// The bytes.
        data: Option<String>,
        /// Filler bytes instead.
        bytes: Option<usize>,
    },
    /// Wait (the wire keeps being watched).
    Sleep {
        /// How long.
        seconds: f64,
    },
    /// Stop the actor's server and start it again on the same address, as
    /// an operator restarts a server: a program is killed (its whole
    /// process group) and started again with the same command; wirelab's
    /// own server closes its listening socket and does `socket()`,
    /// `setsockopt(SO_REUSEADDR, 1)`, `bind()` and `listen()` again.
    Restart {},
    /// Show the kernel's sockets every `every` seconds for `seconds`.
    Watch {
        /// How long.
        seconds: f64,
        /// How often (default 1 s).
        every: Option<f64>,
    },
}

impl Call {
    /// Every call's name, as written in lab files, with a one-line doc
    /// (for `lab check`, `labs/README.md` and its test).
    pub const ALL: &'static [(&'static str, &'static str)] = &[
        ("socket", "socket(family, type): family = \"inet\"|\"inet6\", type = \"stream\"|\"dgram\""),
        ("bind", "bind(addr): addr = \"127.0.0.1:0\" (port 0: the kernel chooses)"),
        ("listen", "listen(backlog): backlog = N (default 128)"),
        ("connect", "connect(to): to = an actor, \"unused\" or an address"),
        ("connect_ex", "connect_ex(to): returns 0 or the errno number instead of raising"),
        ("settimeout", "settimeout(seconds): later blocking calls time out (no seconds: block forever)"),
        ("dns_serve", "a DNS server in a thread on this UDP socket: records = { \"name\" = \"127.0.0.1\" }"),
        ("resolve", "look up name: server = a dns_serve actor (a UDP query), or none (the hosts file, no packet)"),
        ("setblocking", "setblocking(flag): flag = false makes a call that would wait fail at once (EAGAIN)"),
        ("accept", "as = accept(): as = the new socket's name"),
        (
            "send",
            "send(data): data = \"…\" | bytes = N | messages = [\"…\"] (framing = \"length\"), encoding = \"gbk\"",
        ),
        ("sendall", "sendall(data): data | bytes, chunk = N, background = true"),
        ("sendfile", "send a file: bytes = N (its size), chunk = N, background = true"),
        ("recv", "recv(size): size = N (default 1024), decode = \"utf-8\"|\"gbk\""),
        ("recvfrom", "recvfrom(size): size = N (default 1024)"),
        ("recv_framed", "read a 4-byte length, then the message"),
        ("recv_all", "recv() until bytes = N or b'': to_file = true, background = true"),
        (
            "serve",
            "an accept loop in a thread that echoes: mode = \"iterative\"|\"threaded\", reply = \"upper\"|\"same\"",
        ),
        ("join", "wait for the actor's background call; its result"),
        ("recv_http", "read one HTTP response (head, body by Content-Length / chunked / close) and watch the close it announces"),
        ("shutdown", "shutdown(how): how = \"wr\"|\"rd\"|\"rdwr\""),
        ("close", "close()"),
        (
            "setsockopt",
            "setsockopt(option, value): SO_REUSEADDR, SO_LINGER, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, SO_KEEPALIVE, SO_BROADCAST, TCP_CONGESTION (value = \"reno\"|\"cubic\"|\"bbr\")",
        ),
        ("sendto", "sendto(data, to): data | bytes, to"),
        ("restart", "stop the actor's server and start it again on the same address (a program: killed and started again)"),
        ("sleep", "wait: seconds = N (no actor)"),
        ("watch", "show the kernel's sockets: seconds = N, every = N (no actor)"),
    ];

    /// The name in lab files (`call = "…"`).
    pub fn name(&self) -> &'static str {
        match self {
            Call::Socket { .. } => "socket",
            Call::Bind { .. } => "bind",
            Call::Listen { .. } => "listen",
            Call::Connect { .. } => "connect",
            Call::ConnectEx { .. } => "connect_ex",
            Call::Settimeout { .. } => "settimeout",
            Call::DnsServe { .. } => "dns_serve",
            Call::Resolve { .. } => "resolve",
            Call::Setblocking { .. } => "setblocking",
            Call::Accept { .. } => "accept",
            Call::Send { .. } => "send",
            Call::Sendall { .. } => "sendall",
            Call::Sendfile { .. } => "sendfile",
            Call::Recv { .. } => "recv",
            Call::Recvfrom { .. } => "recvfrom",
            Call::RecvFramed {} => "recv_framed",
            Call::RecvAll { .. } => "recv_all",
            Call::Serve { .. } => "serve",
            Call::Join {} => "join",
            Call::RecvHttp {} => "recv_http",
            Call::Shutdown { .. } => "shutdown",
            Call::Close {} => "close",
            Call::Setsockopt { .. } => "setsockopt",
            Call::Sendto { .. } => "sendto",
            Call::Restart {} => "restart",
            Call::Sleep { .. } => "sleep",
            Call::Watch { .. } => "watch",
        }
    }

    /// Calls made by no socket (the lab itself waits or watches).
    pub fn needs_actor(&self) -> bool {
        !matches!(self, Call::Sleep { .. } | Call::Watch { .. })
    }

    /// Calls that return received bytes.
    pub fn receives_data(&self) -> bool {
        matches!(self, Call::Recv { .. } | Call::Recvfrom { .. } | Call::RecvFramed {})
    }

    /// Calls whose result carries the MD5 of what they moved.
    pub fn moves_bytes(&self) -> bool {
        matches!(
            self,
            Call::Sendall { .. } | Call::Sendfile { .. } | Call::RecvAll { .. } | Call::Join {} | Call::RecvHttp {}
        )
    }

    /// The `to` / `addr` argument to resolve to an address, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            Call::Connect { to } | Call::ConnectEx { to } | Call::Sendto { to, .. } => Some(to),
            Call::Resolve { server: Some(server), .. } => Some(server),
            Call::Bind { addr } => Some(addr),
            _ => None,
        }
    }

    /// Seconds the step lasts by itself (`sleep`, `watch`).
    pub fn duration(&self) -> Option<f64> {
        match self {
            Call::Sleep { seconds } | Call::Watch { seconds, .. } => Some(*seconds),
            _ => None,
        }
    }

    /// Checks the arguments that serde cannot (one of several keys, ranges).
    fn validate(&self) -> Result<(), String> {
        let one_payload = |data: &Option<String>, bytes: &Option<usize>, extra: bool| {
            let given = data.is_some() as u8 + bytes.is_some() as u8 + extra as u8;
            match given {
                1 => Ok(()),
                0 => Err("needs data = \"...\" or bytes = N".to_string()),
                _ => Err("give only one of data, bytes, messages".to_string()),
            }
        };
        match self {
            Call::Send { data, bytes, messages, framing, encoding } => {
                one_payload(data, bytes, messages.is_some())?;
                if *framing == Framing::Length && messages.is_none() {
                    return Err("framing = \"length\" needs messages = [...]".into());
                }
                if let (Some(codec), Some(text)) = (encoding, data) {
                    if codec.encoding().encode(text).2 {
                        return Err(format!("data {text:?} cannot be written in {}", codec.name()));
                    }
                }
                if encoding.is_some() && data.is_none() {
                    return Err("encoding applies to data = \"...\"".into());
                }
                Ok(())
            }
            Call::DnsServe { records } => {
                for (name, addr) in records {
                    match addr.parse::<std::net::Ipv4Addr>() {
                        Ok(a) if a.is_loopback() => {}
                        _ => {
                            return Err(format!(
                                "records: {name} = {addr:?}: an IPv4 loopback address (labs stay on this machine)"
                            ))
                        }
                    }
                }
                Ok(())
            }
            Call::Settimeout { seconds: Some(t) } if !(0.0..=600.0).contains(t) => {
                Err("seconds: between 0 and 600 (none: block forever)".into())
            }
            Call::Sendall { data, bytes, chunk, .. } => {
                one_payload(data, bytes, false)?;
                if *chunk == Some(0) {
                    return Err("chunk must be at least 1".into());
                }
                Ok(())
            }
            Call::Sendto { data, bytes, .. } => one_payload(data, bytes, false),
            Call::Setsockopt { option: SockOpt::Congestion, value } => match value {
                Some(OptValue::Algorithm(_)) => Ok(()),
                _ => Err("TCP_CONGESTION needs value = \"reno\", \"cubic\" or \"bbr\"".into()),
            },
            Call::Setsockopt { option, value: Some(OptValue::Algorithm(a)) } => {
                Err(format!("{}: a number, not {:?}", option.name(), a.name()))
            }
            Call::Sendfile { chunk: Some(0), .. } => Err("chunk must be at least 1".into()),
            Call::Recv { size: 0, .. } | Call::Recvfrom { size: 0 } => Err("size must be at least 1".into()),
            Call::Sleep { seconds } | Call::Watch { seconds, .. } if !(0.0..=600.0).contains(seconds) => {
                Err("seconds: between 0 and 600".into())
            }
            Call::Watch { every: Some(e), .. } if *e <= 0.0 => Err("every must be above 0".into()),
            _ => Ok(()),
        }
    }
}

/// A packet as a lab expects it: a set of TCP flags ("SYN,ACK"), or "UDP" / "ICMP".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum PacketPattern {
    /// A TCP segment with exactly these flags.
    Tcp(u16),
    /// A UDP datagram.
    Udp,
    /// An ICMP or ICMPv6 message.
    Icmp,
}

impl TryFrom<String> for PacketPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let parts: Vec<String> =
            s.split([',', '+', ' ']).filter(|p| !p.is_empty()).map(|p| p.to_ascii_uppercase()).collect();
        match parts.as_slice() {
            [one] if one == "UDP" => return Ok(PacketPattern::Udp),
            [one] if one == "ICMP" => return Ok(PacketPattern::Icmp),
            [] => return Err("an empty packet: write TCP flags (\"SYN,ACK\"), \"UDP\" or \"ICMP\"".into()),
            _ => {}
        }
        let mut bits = 0u16;
        for p in &parts {
            match flags::NAMES.iter().find(|(_, n)| n == p) {
                Some((b, _)) => bits |= b,
                None => {
                    return Err(format!(
                        "packet {s:?}: {p:?} is not a TCP flag; write flags separated by commas (\"SYN,ACK\"), or \"UDP\", \"ICMP\""
                    ))
                }
            }
        }
        Ok(PacketPattern::Tcp(bits))
    }
}

impl fmt::Display for PacketPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketPattern::Udp => f.write_str("UDP"),
            PacketPattern::Icmp => f.write_str("ICMP"),
            PacketPattern::Tcp(bits) => {
                let names: Vec<&str> = flags::NAMES.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// An expert flag by its tshark name ("zero_window").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpertName(pub &'static str);

impl<'de> Deserialize<'de> for ExpertName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ExpertName::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<String> for ExpertName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Expert::ALL.iter().find(|(_, n)| *n == s).map(|(_, n)| ExpertName(n)).ok_or_else(|| {
            let all: Vec<&str> = Expert::ALL.iter().map(|(_, n)| *n).collect();
            format!("{s:?} is not an analysis flag; one of {}", all.join(", "))
        })
    }
}

/// The errno a call must end with, or success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ErrnoWant {
    /// The call succeeds.
    None,
    /// The call fails with this errno.
    Errno(i32),
}

impl TryFrom<String> for ErrnoWant {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "none" {
            return Ok(ErrnoWant::None);
        }
        match super::errno::from_name(&s) {
            Some(e) if super::errno::name(e) != "E?" => Ok(ErrnoWant::Errno(e)),
            _ => Err(format!("{s:?} is not an errno name (\"ECONNREFUSED\") or \"none\"")),
        }
    }
}

/// A state as Linux lists sockets in /proc/net, plus NONE: gone from the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KernelState {
    /// ESTABLISHED.
    Established,
    /// SYN_SENT.
    SynSent,
    /// SYN_RECV.
    SynRecv,
    /// FIN_WAIT1.
    #[serde(rename = "FIN_WAIT1")]
    FinWait1,
    /// FIN_WAIT2.
    #[serde(rename = "FIN_WAIT2")]
    FinWait2,
    /// TIME_WAIT.
    TimeWait,
    /// CLOSE.
    Close,
    /// CLOSE_WAIT.
    CloseWait,
    /// LAST_ACK.
    LastAck,
    /// LISTEN.
    Listen,
    /// CLOSING.
    Closing,
    /// A UDP socket with no peer.
    Unconnected,
    /// No row in the kernel's tables.
    None,
}

impl KernelState {
    /// The name as /proc/net and `ss` show it.
    pub fn name(self) -> &'static str {
        match self {
            KernelState::Established => "ESTABLISHED",
            KernelState::SynSent => "SYN_SENT",
            KernelState::SynRecv => "SYN_RECV",
            KernelState::FinWait1 => "FIN_WAIT1",
            KernelState::FinWait2 => "FIN_WAIT2",
            KernelState::TimeWait => "TIME_WAIT",
            KernelState::Close => "CLOSE",
            KernelState::CloseWait => "CLOSE_WAIT",
            KernelState::LastAck => "LAST_ACK",
            KernelState::Listen => "LISTEN",
            KernelState::Closing => "CLOSING",
            KernelState::Unconnected => "UNCONNECTED",
            KernelState::None => "NONE",
        }
    }
}

/// The `expect = { … }` table of a step, as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exactly these packets, in order.
    pub packets: Option<Vec<PacketPattern>>,
    /// These packets among the step's, in this order.
    pub packets_include: Option<Vec<PacketPattern>>,
    /// None of these packets among the step's ("RST", "RST,ACK").
    pub packets_exclude: Option<Vec<PacketPattern>>,
    /// These expert flags among the step's packets.
    pub analysis: Option<Vec<ExpertName>>,
    /// The errno, or "none".
    pub errno: Option<ErrnoWant>,
    /// The return value.
    pub ret: Option<i64>,
    /// The bytes received ("" is b'').
    pub data: Option<String>,
    /// The kernel state of the actor's (or `of`'s) socket after the step.
    pub state: Option<KernelState>,
    /// The return value is at least this.
    pub ret_min: Option<i64>,
    /// The return value is below this.
    pub ret_below: Option<i64>,
    /// The MD5 of what this call moved equals that actor's last transfer.
    pub same_md5_as: Option<String>,
    /// The MD5 of what this call moved equals that `[[file]]`'s.
    pub md5_of_file: Option<String>,
    /// Check `state` on this socket instead of the step's actor.
    pub of: Option<String>,
    /// The call was still blocked when the lab's own limit (`timeout`) expired.
    pub blocks: Option<bool>,
    /// The lab wire did these things to the step's packets, in this order ("drop", "corrupt" …).
    pub wire: Option<Vec<crate::source::wire::spec::Action>>,
    /// The actor's cwnd (TCP_INFO) reached at least this during the step.
    pub cwnd_reaches: Option<u32>,
    /// The bytes received, decoded with the call's `decode` codec, are this text.
    pub text: Option<String>,
    /// The actor's program left a file with that `[[file]]`'s bytes in its
    /// working directory (any name); wirelab's own steps: what the actor
    /// received is those bytes.
    pub saves_file: Option<String>,
    /// `recv_http`: the response's status code.
    pub http_status: Option<u16>,
    /// `recv_http`: the response is well formed (CRLF lines, an empty line
    /// after the head, a body exactly as long as the head says).
    pub http_well_formed: Option<bool>,
    /// `recv_http`: the server closed the connection if the response said
    /// so, and kept it open otherwise.
    pub closes_as_said: Option<bool>,
}

/// One thing a step must show, checked after it ran.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// Exactly these packets, in order.
    Packets(Vec<PacketPattern>),
    /// These packets among the step's, in this order (others may be between).
    PacketsInclude(Vec<PacketPattern>),
    /// None of these packets among the step's.
    PacketsExclude(Vec<PacketPattern>),
    /// These expert flags among the step's packets.
    Analysis(Vec<ExpertName>),
    /// The call's errno, or success.
    Errno(ErrnoWant),
    /// The return value equals.
    Ret(i64),
    /// The return value is at least.
    RetMin(i64),
    /// The return value is below.
    RetBelow(i64),
    /// The bytes received.
    Data(String),
    /// The kernel state of a socket after the step.
    State {
        /// Whose socket (default: the step's actor).
        of: Option<String>,
        /// The state.
        state: KernelState,
    },
    /// Same MD5 as that actor's last transfer.
    SameMd5As(String),
    /// Same MD5 as that `[[file]]` of the lab.
    Md5OfFile(String),
    /// The call was (true) or was not still waiting when the lab stopped waiting.
    Blocks(bool),
    /// The lab wire did these things to the step's packets, in this order.
    Wire(Vec<crate::source::wire::spec::Action>),
    /// The actor's congestion window (TCP_INFO) reached at least this many segments during the step.
    CwndReaches(u32),
    /// The bytes received, decoded, are this text.
    Text(String),
    /// The actor saved a file with that `[[file]]`'s bytes.
    SavesFile(String),
    /// The HTTP response's status code.
    HttpStatus(u16),
    /// The HTTP response is (true) or is not well formed.
    HttpWellFormed(bool),
    /// The server closed or kept the connection as its response said.
    ClosesAsSaid(bool),
}

impl Expectation {
    /// Its key in lab files and JSON (`what`).
    pub fn key(&self) -> &'static str {
        match self {
            Expectation::Packets(_) => "packets",
            Expectation::PacketsInclude(_) => "packets_include",
            Expectation::PacketsExclude(_) => "packets_exclude",
            Expectation::Analysis(_) => "analysis",
            Expectation::Errno(_) => "errno",
            Expectation::Ret(_) | Expectation::RetMin(_) | Expectation::RetBelow(_) => "ret",
            Expectation::Data(_) => "data",
            Expectation::State { .. } => "state",
            Expectation::SameMd5As(_) | Expectation::Md5OfFile(_) => "md5",
            Expectation::Blocks(_) => "blocks",
            Expectation::Wire(_) => "wire",
            Expectation::CwndReaches(_) => "cwnd_reaches",
            Expectation::Text(_) => "text",
            Expectation::SavesFile(_) => "saves_file",
            Expectation::HttpStatus(_) => "http_status",
            Expectation::HttpWellFormed(_) => "http_well_formed",
            Expectation::ClosesAsSaid(_) => "closes_as_said",
        }
    }

    /// Judged from the wire or the kernel's table alone: it applies to a step
    /// a student's program performs (`--program`), whose return value and
    /// bytes wirelab cannot see.
    pub fn observable(&self) -> bool {
        self.needs_capture() || matches!(self, Expectation::State { .. } | Expectation::SavesFile(_))
    }

    /// Judged from the capture (skipped without one).
    pub fn needs_capture(&self) -> bool {
        matches!(
            self,
            Expectation::Packets(_)
                | Expectation::PacketsInclude(_)
                | Expectation::PacketsExclude(_)
                | Expectation::Analysis(_)
                | Expectation::Wire(_)
        )
    }

    /// Why it cannot apply to `call`, if it cannot.
    fn applies_to(&self, call: &Call) -> Result<(), String> {
        let name = call.name();
        match self {
            Expectation::Data(_) if !call.receives_data() => {
                Err(format!("expect.data needs a call that receives bytes (recv, recvfrom, recv_framed), not {name}"))
            }
            Expectation::SameMd5As(_) if !call.moves_bytes() => {
                Err(format!("expect.same_md5_as needs sendall, sendfile, recv_all or join, not {name}"))
            }
            Expectation::Md5OfFile(_) if !call.moves_bytes() => {
                Err(format!("expect.md5_of_file needs sendall, sendfile, recv_all or join, not {name}"))
            }
            Expectation::HttpStatus(_) | Expectation::HttpWellFormed(_) | Expectation::ClosesAsSaid(_)
                if !matches!(call, Call::RecvHttp {}) =>
            {
                Err(format!("expect.{} needs recv_http, not {name}", self.key()))
            }
            Expectation::Text(_) if !matches!(call, Call::Recv { decode: Some(_), .. }) => {
                Err(format!("expect.text needs recv with decode = \"utf-8\" or \"gbk\", not {name}"))
            }
            Expectation::Errno(_)
            | Expectation::Ret(_)
            | Expectation::RetMin(_)
            | Expectation::RetBelow(_)
            | Expectation::Blocks(_)
                if !call.needs_actor() =>
            {
                Err(format!("{name} has no result to expect (errno/ret)"))
            }
            _ => Ok(()),
        }
    }
}

impl Expect {
    /// The expectations in the order they are checked and shown.
    pub fn list(&self) -> Vec<Expectation> {
        let mut v = Vec::new();
        if let Some(p) = &self.packets {
            v.push(Expectation::Packets(p.clone()));
        }
        if let Some(p) = &self.packets_include {
            v.push(Expectation::PacketsInclude(p.clone()));
        }
        if let Some(p) = &self.packets_exclude {
            v.push(Expectation::PacketsExclude(p.clone()));
        }
        if let Some(a) = &self.analysis {
            v.push(Expectation::Analysis(a.clone()));
        }
        if let Some(e) = self.errno {
            v.push(Expectation::Errno(e));
        }
        v.extend(self.ret.map(Expectation::Ret));
        v.extend(self.ret_min.map(Expectation::RetMin));
        v.extend(self.ret_below.map(Expectation::RetBelow));
        if let Some(other) = &self.same_md5_as {
            v.push(Expectation::SameMd5As(other.clone()));
        }
        if let Some(file) = &self.md5_of_file {
            v.push(Expectation::Md5OfFile(file.clone()));
        }
        if let Some(d) = &self.data {
            v.push(Expectation::Data(d.clone()));
        }
        if let Some(state) = self.state {
            v.push(Expectation::State { of: self.of.clone(), state });
        }
        v.extend(self.blocks.map(Expectation::Blocks));
        if let Some(w) = &self.wire {
            v.push(Expectation::Wire(w.clone()));
        }
        v.extend(self.cwnd_reaches.map(Expectation::CwndReaches));
        v.extend(self.text.clone().map(Expectation::Text));
        v.extend(self.saves_file.clone().map(Expectation::SavesFile));
        v.extend(self.http_status.map(Expectation::HttpStatus));
        v.extend(self.http_well_formed.map(Expectation::HttpWellFormed));
        v.extend(self.closes_as_said.map(Expectation::ClosesAsSaid));
        v
    }
}

/// What a quiz question asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuizField {
    /// Relative seq of a packet.
    Seq,
    /// Relative ack of a packet.
    Ack,
    /// Payload length of a packet.
    Len,
    /// Window of a packet.
    Win,
    /// Flags of a packet.
    Flags,
    /// MSS option of a packet.
    Mss,
    /// How many packets the step causes.
    Count,
    /// The call's return value.
    Ret,
    /// The call's errno (or none).
    Errno,
    /// The bytes received.
    Data,
    /// The kernel state of the actor's socket after the step.
    State,
}

impl QuizField {
    /// A field of one packet (needs `packet = N`).
    pub fn of_packet(self) -> bool {
        matches!(
            self,
            QuizField::Seq | QuizField::Ack | QuizField::Len | QuizField::Win | QuizField::Flags | QuizField::Mss
        )
    }
}

/// A question asked before a step runs (`--quiz`), answered from what the
/// step really does.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Quiz {
    /// The question.
    pub question: String,
    /// The question in Simplified Chinese.
    pub question_zh: Option<String>,
    /// What answers it.
    pub field: QuizField,
    /// For packet fields: which packet of the step (1-based).
    pub packet: Option<usize>,
    /// Multiple choice: the options shown (a student may answer "b", "2" or the text).
    #[serde(default)]
    pub choices: Vec<String>,
    /// The question in Chinese may need its own option texts.
    #[serde(default)]
    pub choices_zh: Vec<String>,
}

/// 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses and validates a lab file; errors name the line.
pub fn parse(text: &str) -> Result<Lab, String> {
    let lab: Lab = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => format!("line {}: {}", line_of_key(text, span, e.message()), e.message()),
        None => e.message().to_string(),
    })?;
    validate(&lab, text)?;
    Ok(lab)
}

/// serde reports a step's errors at the step's table; the line of the key
/// the message names ("unknown field `colour`") is more useful.
fn line_of_key(text: &str, span: std::ops::Range<usize>, message: &str) -> usize {
    let key = message.split('`').nth(1).filter(|k| !k.is_empty());
    if let Some(key) = key {
        let start = span.start.min(text.len());
        let end = span.end.min(text.len());
        let mut offset = start;
        for line in text[start..end].split_inclusive('\n') {
            let trimmed = line.trim_start();
            let is_key = trimmed.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='));
            let is_value = trimmed.split_once('=').is_some_and(|(_, v)| v.contains(&format!("\"{key}\"")));
            if is_key || is_value {
                return line_of(text, offset);
            }
            offset += line.len();
        }
    }
    line_of(text, span.start)
}

/// Names within edit distance 2, for "did you mean".
fn did_you_mean<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push((prev[j] + (ca != *cb) as usize).min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    let mut best: Vec<&str> = known.filter(|k| distance(name, k) <= 2).collect();
    best.sort();
    best.dedup();
    match best.as_slice() {
        [] => String::new(),
        _ => format!(" (did you mean {}?)", best.iter().map(|b| format!("{b:?}")).collect::<Vec<_>>().join(" or ")),
    }
}

fn validate(lab: &Lab, text: &str) -> Result<(), String> {
    if lab.id.is_empty() || !lab.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("lab id {:?}: use letters, digits, '-' or '_'", lab.id));
    }
    if lab.steps.is_empty() {
        return Err("a lab needs at least one [[step]]".into());
    }
    if let Some(wire) = &lab.wire {
        wire.validate().map_err(|msg| {
            // The line of the value the message quotes (`from = "clinet"`), if any.
            let quoted = msg.split('"').nth(1).filter(|q| !q.is_empty());
            let at = quoted.and_then(|q| text.find(&format!("\"{q}\"")));
            match at {
                Some(offset) => format!("line {}: [wire]: {msg}", line_of(text, offset)),
                None => format!("[wire]: {msg}"),
            }
        })?;
    }
    // A lab stays on this machine: loopback, or the lab wire's own private hosts.
    let allowed = |a: SocketAddr| match (&lab.wire, a.ip()) {
        (_, ip) if ip.is_unspecified() => true,
        (None, ip) => ip.is_loopback(),
        (Some(wire), std::net::IpAddr::V4(ip)) => wire.owns(ip),
        (Some(_), _) => false,
    };
    let not_allowed = |a: SocketAddr| match &lab.wire {
        None => format!("{a}: labs only use loopback addresses (127.0.0.0/8, ::1)"),
        Some(w) => format!(
            "{a}: a lab with [wire] uses its hosts' addresses ({}–{}) or the broadcast address {}",
            crate::source::wire::spec::WireSpec::addr(0),
            crate::source::wire::spec::WireSpec::addr(w.hosts.len() - 1),
            crate::source::wire::spec::WireSpec::broadcast()
        ),
    };
    let mut names: HashSet<&str> = HashSet::new();
    for f in &lab.files {
        let n = f.name.as_str();
        if n.is_empty() || n == "." || n == ".." || n.contains(['/', '\\', '\0']) {
            return Err(format!("[[file]] name {n:?}: a plain file name (no folders)"));
        }
        if !names.insert(n) {
            return Err(format!("[[file]] name {n:?} is given twice"));
        }
        match (&f.bytes, &f.text) {
            (Some(b), None) if *b > LAB_FILE_MAX => {
                return Err(format!("[[file]] {n:?}: bytes = {b} is more than {LAB_FILE_MAX}"))
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(format!("[[file]] {n:?}: give bytes = N (generated content) or text = \"…\", one of them"))
            }
        }
    }
    // Actors known so far (created by `socket` or `accept`), in order of appearance.
    let mut actors: Vec<String> = Vec::new();
    let mut sockets: HashSet<String> = HashSet::new();
    let mut listeners: HashSet<String> = HashSet::new();
    for spanned in &lab.steps {
        let step = spanned.get_ref();
        let line = line_of(text, spanned.span().start);
        let call = &step.call;
        let fail = |msg: String| Err(format!("line {line}: step `{}`: {msg}", call.name()));
        if let Err(msg) = call.validate() {
            return fail(msg);
        }
        if call.needs_actor() && step.actor.is_empty() {
            return fail("needs an actor (the socket's name)".into());
        }
        if !call.needs_actor() && !matches!(step.actor.as_str(), "" | "lab") && !sockets.contains(&step.actor) {
            return fail(format!(
                "actor {:?} is not a socket of this lab (sleep and watch need none, or \"lab\"){}",
                step.actor,
                did_you_mean(&step.actor, actors.iter().map(String::as_str))
            ));
        }
        let unknown = |name: &str| {
            format!(
                "actor {name:?} has no socket yet (add a `socket` step first){}",
                did_you_mean(name, actors.iter().map(String::as_str))
            )
        };
        match call {
            Call::Socket { .. } => {
                if sockets.insert(step.actor.clone()) {
                    actors.push(step.actor.clone());
                }
            }
            _ if call.needs_actor() && !sockets.contains(&step.actor) => return fail(unknown(&step.actor)),
            _ => {}
        }
        if let (Some(wire), Call::Socket { .. }) = (&lab.wire, call) {
            if wire.host_of(&step.actor).is_none() {
                return fail(format!("actor {:?} is on no [[wire.host]]: add it to one host's actors", step.actor));
            }
        }
        if let Call::Bind { addr } = call {
            match addr.parse::<SocketAddr>() {
                Ok(a) if !allowed(a) => return fail(not_allowed(a)),
                Ok(_) => {}
                // Another actor's address (the same port again, as in `reuseaddr`).
                Err(_) if sockets.contains(addr) => {}
                Err(_) => {
                    return fail(format!(
                        "addr = {addr:?} is neither an address with a port (\"127.0.0.1:0\") nor an actor{}",
                        did_you_mean(addr, actors.iter().map(String::as_str))
                    ))
                }
            }
        }
        if let Call::Connect { to } | Call::ConnectEx { to } | Call::Sendto { to, .. } = call {
            let is_addr = to.parse::<SocketAddr>();
            match is_addr {
                Ok(a) if !allowed(a) => return fail(not_allowed(a)),
                Ok(_) => {}
                Err(_) if to == "unused" || sockets.contains(to) => {}
                Err(_) => {
                    return fail(format!(
                        "to = {to:?} is neither an actor of this lab, \"unused\", nor an address{}",
                        did_you_mean(to, actors.iter().map(String::as_str))
                    ))
                }
            }
        }
        if let Call::Resolve { server: Some(server), .. } = call {
            if !sockets.contains(server) {
                return fail(format!(
                    "server = {server:?} is not an actor of this lab{}",
                    did_you_mean(server, actors.iter().map(String::as_str))
                ));
            }
        }
        if let Call::Listen { .. } = call {
            listeners.insert(step.actor.clone());
        }
        if let (Call::Restart {}, false) = (call, listeners.contains(&step.actor)) {
            return fail(format!(
                "actor {:?} has not listened yet: only a server (after listen) can restart",
                step.actor
            ));
        }
        if let Call::Accept { new_actor } = call {
            if new_actor.is_empty() {
                return fail("as = \"<name of the connected socket>\" must not be empty".into());
            }
            if sockets.insert(new_actor.clone()) {
                actors.push(new_actor.clone());
            }
        }
        if step.expect.of.is_some() && step.expect.state.is_none() {
            return fail("expect.of names whose state to check: it needs expect.state".into());
        }
        for e in step.expect.list() {
            if let Err(msg) = e.applies_to(call) {
                return fail(msg);
            }
            match &e {
                Expectation::State { of: Some(who), .. } | Expectation::SameMd5As(who) if !sockets.contains(who) => {
                    return fail(format!(
                        "expect names actor {who:?}, which has no socket{}",
                        did_you_mean(who, actors.iter().map(String::as_str))
                    ))
                }
                Expectation::Md5OfFile(f) | Expectation::SavesFile(f) if !names.contains(f.as_str()) => {
                    return fail(format!(
                        "expect names file {f:?}, which is not a [[file]] of this lab{}",
                        did_you_mean(f, names.iter().copied())
                    ))
                }
                _ => {}
            }
        }
        if let Some(q) = &step.quiz {
            if q.field.of_packet() && q.packet.unwrap_or(0) == 0 {
                return fail("quiz.packet = N (1-based) is needed for a packet field".into());
            }
            if !q.field.of_packet() && q.packet.is_some() {
                return fail("quiz.packet only applies to packet fields (seq, ack, len, win, flags, mss)".into());
            }
            if q.choices.len() == 1 || (!q.choices_zh.is_empty() && q.choices_zh.len() != q.choices.len()) {
                return fail("quiz.choices needs at least two options (and choices_zh as many)".into());
            }
            if q.field == QuizField::Data && !call.receives_data() {
                return fail(format!("quiz.field = \"data\" needs a call that receives bytes, not {}", call.name()));
            }
            // A sleep named after a socket may ask for that socket's state.
            let state_of_named = q.field == QuizField::State && sockets.contains(&step.actor);
            if matches!(q.field, QuizField::Ret | QuizField::Errno | QuizField::State)
                && !call.needs_actor()
                && !state_of_named
            {
                return fail(format!("{} has no result for quiz.field", call.name()));
            }
        }
    }
    // The line of `needle` inside a `[[table]]` of that name.
    let at_in = |table: &str, needle: &str| {
        let header = format!("[[{table}]]");
        text.match_indices(&header)
            .find_map(|(start, _)| {
                let body = &text[start..];
                let end = body[header.len()..].find("\n[").map(|e| e + header.len()).unwrap_or(body.len());
                body[..end].find(needle).map(|o| start + o)
            })
            .map(|o| format!("line {}: ", line_of(text, o)))
            .unwrap_or_default()
    };
    for f in &lab.files {
        if let Some(a) = f.actor.as_deref().filter(|a| !sockets.contains(*a)) {
            return Err(format!(
                "{}[[file]] {:?}: actor = {a:?} is not an actor of this lab{}",
                at_in("file", &format!("\"{a}\"")),
                f.name,
                did_you_mean(a, actors.iter().map(String::as_str))
            ));
        }
    }
    let mut given: HashSet<&str> = HashSet::new();
    for i in &lab.inputs {
        let a = i.actor.as_str();
        if !sockets.contains(a) {
            return Err(format!(
                "{}[[input]]: actor = {a:?} is not an actor of this lab{}",
                at_in("input", &format!("\"{a}\"")),
                did_you_mean(a, actors.iter().map(String::as_str))
            ));
        }
        if !given.insert(a) {
            return Err(format!("{}[[input]]: actor {a:?} is given twice", at_in("input", &format!("\"{a}\""))));
        }
        if let Some(l) = i.lines.iter().find(|l| l.contains(['\n', '\r'])) {
            return Err(format!(
                "{}[[input]] {a:?}: {l:?}: one line per entry, without a newline",
                at_in("input", "lines")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id = \"x\"\ntitle = \"t\"\ngoal = \"g\"\n";

    fn err(body: &str) -> String {
        parse(&format!("{HEAD}{body}")).unwrap_err()
    }

    #[test]
    fn errors_name_the_line() {
        let e = err("\n[[step]]\nactor = \"a\"\ncall = \"socket\"\n\n[[step]]\nactor = \"a\"\ncall = \"conect\"\n");
        assert!(e.starts_with("line 11:"), "{e}");
        assert!(e.contains("unknown variant `conect`"), "{e}");
        let e = parse("id = \"x\"\ntitle = 3\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = err("[[step]]\nactor = \"b\"\ncall = \"listen\"\n");
        assert!(e.contains("has no socket yet"), "{e}");
        let e = err("[[step]]\nactor = \"b\"\ncall = \"socket\"\ncolour = 1\n");
        assert!(e.starts_with("line 7:") && e.contains("unknown field `colour`"), "{e}");
    }

    #[test]
    fn lab_files_are_plain_names_and_md5_of_file_names_one() {
        let step = "[[step]]\nactor = \"c\"\ncall = \"socket\"\n[[step]]\nactor = \"c\"\ncall = \"recv_all\"\nexpect = { md5_of_file = \"a.bin\" }\n";
        let e = err(&format!("[[file]]\nname = \"../a.bin\"\nbytes = 3\n{step}"));
        assert!(e.contains("no folders"), "{e}");
        let e = err(&format!("[[file]]\nname = \"a.bin\"\nbytes = 3\n[[file]]\nname = \"a.bin\"\nbytes = 4\n{step}"));
        assert!(e.contains("twice"), "{e}");
        let e = err(&format!("[[file]]\nname = \"b.bin\"\nbytes = 3\n{step}"));
        assert!(e.contains("not a [[file]]") && e.contains("did you mean \"b.bin\""), "{e}");
        let e = err(&format!("[[file]]\nname = \"a.bin\"\nbytes = 3\nsize = 4\n{step}"));
        assert!(e.contains("unknown field `size`"), "{e}");
        let f = LabFile { name: "a.bin".into(), bytes: Some(100_000), text: None, actor: None };
        assert_eq!(f.contents().len(), 100_000);
        assert_eq!(super::super::transfer::md5_hex(&f.contents()), f.md5());
        let page = LabFile { name: "i.html".into(), bytes: None, text: Some("你好".into()), actor: Some("s".into()) };
        assert_eq!((page.contents(), page.len()), ("你好".as_bytes().to_vec(), 6));
        assert!(page.given_to("s") && !page.given_to("c") && f.given_to("c"));
        let e = err(&format!("[[file]]\nname = \"a.bin\"\n{step}"));
        assert!(e.contains("bytes = N") && e.contains("text"), "{e}");
        let e = err(&format!("[[file]]\nname = \"a.bin\"\nbytes = 3\ntext = \"x\"\n{step}"));
        assert!(e.contains("one of them"), "{e}");
        let e = err(&format!("[[file]]\nname = \"a.bin\"\nbytes = 3\nactor = \"d\"\n{step}"));
        assert!(e.starts_with("line 7:") && e.contains("actor = \"d\" is not an actor"), "{e}");
    }

    #[test]
    fn inputs_restart_text_and_http_expectations_are_checked() {
        let base = "[[step]]\nactor = \"c\"\ncall = \"socket\"\n";
        let lab = parse(&format!("{HEAD}[[input]]\nactor = \"c\"\nlines = [\"10.77.0.2\", \"8888\"]\n{base}")).unwrap();
        assert_eq!(lab.inputs[0].bytes(), b"10.77.0.2\n8888\n");
        let e = err(&format!("[[input]]\nactor = \"x\"\nlines = []\n{base}"));
        assert!(e.starts_with("line 5:") && e.contains("[[input]]") && e.contains("\"x\""), "{e}");
        let e = err(&format!("[[input]]\nactor = \"c\"\nlines = [\"a\\nb\"]\n{base}"));
        assert!(e.contains("one line per entry"), "{e}");
        let e = err(&format!("{base}[[step]]\nactor = \"c\"\ncall = \"restart\"\n"));
        assert!(e.contains("only a server (after listen) can restart"), "{e}");
        let e = err(&format!("{base}[[step]]\nactor = \"c\"\ncall = \"recv\"\nexpect = {{ text = \"x\" }}\n"));
        assert!(e.contains("expect.text needs recv with decode"), "{e}");
        let e = err(&format!("{base}[[step]]\nactor = \"c\"\ncall = \"recv\"\nexpect = {{ http_status = 200 }}\n"));
        assert!(e.contains("expect.http_status needs recv_http"), "{e}");
        let ok = format!("{base}[[step]]\nactor = \"c\"\ncall = \"recv_http\"\nexpect = {{ http_status = 404, http_well_formed = true, closes_as_said = true }}\n");
        assert_eq!(parse(&format!("{HEAD}{ok}")).unwrap().steps[1].get_ref().expect.list().len(), 3);
    }

    #[test]
    fn a_key_that_does_not_belong_to_the_call_is_an_error() {
        let e =
            err("[[step]]\nactor = \"b\"\ncall = \"socket\"\n[[step]]\nactor = \"b\"\ncall = \"close\"\nbacklog = 5\n");
        assert!(e.starts_with("line 10:") && e.contains("unknown field `backlog`"), "{e}");
    }

    #[test]
    fn misspelt_actor_and_flag_set_are_caught_with_their_line() {
        let base = "[[step]]\nactor = \"server\"\ncall = \"socket\"\n[[step]]\nactor = \"client\"\ncall = \"socket\"\n";
        let e = err(&format!("{base}[[step]]\nactor = \"client\"\ncall = \"connect\"\nto = \"sever\"\n"));
        assert!(e.starts_with("line 10:") && e.contains("did you mean \"server\""), "{e}");
        let e = err(&format!(
            "{base}[[step]]\nactor = \"client\"\ncall = \"connect\"\nto = \"server\"\nexpect = {{ packets = [\"SYNACK\"] }}\n"
        ));
        assert!(e.contains("\"SYNACK\" is not a TCP flag"), "{e}");
        assert!(e.starts_with("line 14:"), "{e}");
        let e = err(&format!("{base}[[step]]\nactor = \"clinet\"\ncall = \"close\"\n"));
        assert!(e.contains("did you mean \"client\""), "{e}");
    }

    #[test]
    fn unknown_states_flags_and_misplaced_expectations_are_errors() {
        let base = "[[step]]\nactor = \"a\"\ncall = \"socket\"\n";
        let e = err(&format!("{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nexpect = {{ state = \"TIMEWAIT\" }}\n"));
        assert!(e.contains("unknown variant `TIMEWAIT`"), "{e}");
        let e = err(&format!(
            "{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nexpect = {{ analysis = [\"retransmit\"] }}\n"
        ));
        assert!(e.contains("not an analysis flag"), "{e}");
        let e = err(&format!("{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nexpect = {{ data = \"x\" }}\n"));
        assert!(e.contains("expect.data needs a call that receives bytes"), "{e}");
        let e =
            err(&format!("{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nexpect = {{ errno = \"ECONREFUSED\" }}\n"));
        assert!(e.contains("not an errno name"), "{e}");
        let e = err(&format!(
            "{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nquiz = {{ question = \"q\", field = \"colour\" }}\n"
        ));
        assert!(e.contains("unknown variant `colour`"), "{e}");
        let e = err(&format!(
            "{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nquiz = {{ question = \"q\", field = \"ack\" }}\n"
        ));
        assert!(e.contains("quiz.packet = N"), "{e}");
        let e = err(&format!(
            "{base}[[step]]\nactor = \"a\"\ncall = \"close\"\nquiz = {{ question = \"q\", field = \"ret\", hint = 1 }}\n"
        ));
        assert!(e.contains("unknown field `hint`"), "{e}");
    }

    #[test]
    fn wire_errors_name_their_line() {
        let lab = "id = \"w\"\ntitle = \"t\"\ngoal = \"g\"\n[wire]\n[[wire.host]]\nname = \"a\"\nactors = [\"a\"]\n[[wire.rule]]\nfrom = \"b\"\naction = \"drop\"\n[[step]]\nactor = \"a\"\ncall = \"socket\"\n";
        let e = parse(lab).unwrap_err();
        assert!(e.starts_with("line 9: [wire]:") && e.contains("not a host"), "{e}");
        let unplaced =
            lab.replace("actor = \"a\"\ncall", "actor = \"c\"\ncall").replace("from = \"b\"", "from = \"a\"");
        assert!(parse(&unplaced).unwrap_err().contains("is on no [[wire.host]]"));
    }

    #[test]
    fn labs_stay_on_loopback() {
        let lab = "[[step]]\nactor = \"b\"\ncall = \"socket\"\n[[step]]\nactor = \"b\"\ncall = \"connect\"\nto = \"8.8.8.8:53\"\n";
        assert!(err(lab).contains("only use loopback"));
        let lab = "[[step]]\nactor = \"b\"\ncall = \"socket\"\n[[step]]\nactor = \"b\"\ncall = \"bind\"\naddr = \"10.0.0.1:0\"\n";
        assert!(err(lab).contains("only use loopback"));
    }

    #[test]
    fn packet_patterns_take_any_order_and_separator() {
        let p = PacketPattern::try_from("ack, syn".to_string()).unwrap();
        assert_eq!(p.to_string(), "SYN,ACK");
        assert_eq!(PacketPattern::try_from("udp".to_string()).unwrap(), PacketPattern::Udp);
        assert!(PacketPattern::try_from("SYN,UDP".to_string()).is_err());
    }
}

#[cfg(test)]
mod docs {
    use super::Call;

    /// The instructor's guide lists every call (its table row), and every
    /// shipped lab parses.
    #[test]
    fn every_call_is_documented() {
        let guide = include_str!("../../labs/README.md");
        for (name, doc) in Call::ALL {
            assert!(guide.contains(&format!("| `{name}` |")), "labs/README.md lacks a row for `{name}` ({doc})");
        }
    }
}
