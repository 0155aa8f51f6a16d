//! Runs a lab: one socket call at a time, then waits until the wire is quiet,
//! attributes the captured packets to that call, reads the kernel's socket
//! table and checks the step's expectations.

use super::procnet::{self, KernelSocket};
use super::spec::{Expect, Lab, Step};
use super::transfer::{self, Transfer};
use super::{errno, LoadedLab};
use crate::analyze::{Analyzer, FrameRecord};
use crate::decode::flags;
use crate::error::{Error, Result};
use crate::i18n::{either, tr};
use crate::sniff::port_match;
use crate::source::live::{CaptureStats, LiveCapture};
use crate::source::writer::PcapWriter;
use crate::source::Frame;
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The wire counts as quiet after this long without a lab packet. Longer than
/// Linux's minimum delayed-ACK timer (40 ms), so a delayed ACK is attributed
/// to the call that caused it.
const QUIET: Duration = Duration::from_millis(80);
/// Longest wait for quiet after a call.
const MAX_SETTLE: Duration = Duration::from_millis(1500);
/// Default timeout of blocking calls.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How to run a lab.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Pause before each call until Enter (students).
    pub step_mode: bool,
    /// Pause this long between steps (instructors).
    pub pace: Option<Duration>,
    /// Save the captured frames to this pcap.
    pub save: Option<PathBuf>,
    /// Keep at most this many bytes of each saved frame.
    pub snaplen: Option<u32>,
    /// Interface to capture on.
    pub interface: String,
    /// Do not capture (or capture failed).
    pub no_capture: bool,
    /// Ask the steps' quiz questions before running them.
    pub quiz: bool,
}

/// What a call returned, as the program sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallOutcome {
    /// The call succeeded.
    pub ok: bool,
    /// Return value: fd, bytes, or 0.
    pub ret: Option<i64>,
    /// errno on failure.
    pub errno: Option<i32>,
    /// Bytes received.
    pub data: Option<Vec<u8>>,
    /// Extra facts ("port 41234 chosen by the kernel", "from 127.0.0.1:5555").
    pub detail: Option<String>,
    /// `ret` is a file descriptor (socket(), accept()).
    pub returns_fd: bool,
    /// MD5 of the bytes a transfer moved.
    pub md5: Option<String>,
}

impl CallOutcome {
    fn of_transfer(r: io::Result<Transfer>, what: &str) -> CallOutcome {
        match r {
            Ok(t) => CallOutcome {
                ok: true,
                ret: Some(t.bytes as i64),
                detail: Some(format!("{what} {} bytes in {} call(s), MD5 {}", t.bytes, t.calls, t.md5)),
                md5: Some(t.md5),
                ..Default::default()
            },
            Err(e) => outcome_of(Err(e)),
        }
    }
}

/// A call running in a thread (`background = true`), collected by `join`.
struct Background {
    handle: JoinHandle<CallOutcome>,
    stop: Option<Arc<AtomicBool>>,
}

/// A socket as the kernel lists it, tied to the lab's actor.
#[derive(Clone, Debug, PartialEq)]
pub struct StateRow {
    /// The actor (or "(accept queue)" for connections not accepted yet).
    pub actor: String,
    /// The kernel's row.
    pub socket: KernelSocket,
}

/// Everything the engine reports, in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// The lab starts.
    Start {
        /// The lab.
        lab: &'a Lab,
        /// Whether packets are captured.
        capturing: bool,
    },
    /// A step is about to run.
    Step {
        /// 1-based step number.
        n: usize,
        /// Number of steps.
        of: usize,
        /// The step.
        step: &'a Step,
        /// The call written out as a program would ("connect(127.0.0.1:41234)").
        signature: &'a str,
    },
    /// The call returned.
    Call {
        /// Step number.
        n: usize,
        /// The step.
        step: &'a Step,
        /// The call as written in a program.
        signature: &'a str,
        /// The result.
        outcome: &'a CallOutcome,
    },
    /// A packet captured during the step.
    Packet {
        /// Step number.
        n: usize,
        /// The analysed frame.
        rec: &'a FrameRecord,
    },
    /// The kernel's sockets after the step (or during a watch).
    States {
        /// Step number.
        n: usize,
        /// The rows.
        rows: &'a [StateRow],
        /// Something differs from the last report (the terminal shows only changes).
        changed: bool,
    },
    /// A quiz question, before its step runs.
    Ask {
        /// Step number.
        n: usize,
        /// The question.
        question: &'a str,
    },
    /// The student's answer checked against what the step really did.
    Quiz {
        /// Step number.
        n: usize,
        /// The question.
        question: &'a str,
        /// What the student answered.
        answer: &'a str,
        /// What was captured (None: cannot be known without capture).
        truth: Option<String>,
        /// Right?
        right: bool,
    },
    /// An expectation was checked.
    Expect {
        /// Step number.
        n: usize,
        /// Passed?
        pass: bool,
        /// What was checked ("packets", "errno" …).
        what: &'a str,
        /// Wanted.
        want: String,
        /// Seen.
        got: String,
    },
    /// The lab ended.
    End {
        /// Expectations passed.
        passed: usize,
        /// Expectations failed.
        failed: usize,
        /// Expectations that needed the capture and were skipped.
        skipped: usize,
        /// Kernel capture counters.
        stats: Option<CaptureStats>,
        /// The lab's closing text.
        summary: Option<&'a str>,
        /// Quiz score: right answers and questions asked.
        quiz: Option<(usize, usize)>,
    },
}

/// Receives the engine's events (terminal or JSON lines).
pub trait LabSink {
    /// One event; `analyzer` holds the connections seen so far.
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()>;
}

/// A socket of the lab and what the kernel said about it.
struct Actor {
    name: String,
    sock: Option<Socket>,
    stream: bool,
    v6: bool,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    listening: bool,
}

/// Result of a whole run.
#[derive(Debug)]
pub struct LabResult {
    /// Expectations passed.
    pub passed: usize,
    /// Expectations failed.
    pub failed: usize,
    /// Expectations skipped (no capture).
    pub skipped: usize,
}

struct Engine<'s> {
    actors: Vec<Actor>,
    ports: BTreeSet<u16>,
    capture: Option<LiveCapture>,
    writer: Option<PcapWriter>,
    analyzer: Analyzer,
    frame_no: u64,
    sink: &'s mut dyn LabSink,
    passed: usize,
    failed: usize,
    skipped: usize,
    stop: Arc<AtomicBool>,
    last_states: Vec<StateRow>,
    background: HashMap<String, Background>,
    unused: HashMap<(bool, bool), SocketAddr>,
    md5s: HashMap<String, String>,
}

fn loopback(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

/// The errno a C program would see for this error.
fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(match e.kind() {
        io::ErrorKind::TimedOut => libc::ETIMEDOUT,
        io::ErrorKind::WouldBlock => libc::EAGAIN,
        io::ErrorKind::UnexpectedEof => libc::ECONNRESET,
        _ => libc::EIO,
    })
}

fn outcome_of(r: io::Result<i64>) -> CallOutcome {
    match r {
        Ok(ret) => CallOutcome { ok: true, ret: Some(ret), ..Default::default() },
        Err(e) => CallOutcome { ok: false, errno: Some(errno_of(&e)), ..Default::default() },
    }
}

fn to_std(addr: &SockAddr) -> Option<SocketAddr> {
    addr.as_socket()
}

/// Text of a payload as Python shows bytes: b'GET / HTTP/1.1\r\n'.
pub fn py_bytes(data: &[u8], limit: usize) -> String {
    let mut s = String::from("b'");
    for &b in data.iter().take(limit) {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('\'');
    if data.len() > limit {
        s.push_str(&format!("… ({} bytes)", data.len()));
    }
    s
}

/// A packet as a lab expectation names it: "SYN,ACK", "PSH,ACK", "UDP", "ICMP".
pub fn packet_label(rec: &FrameRecord) -> String {
    if let Some(t) = &rec.tcp {
        return flags::NAMES
            .iter()
            .filter(|(bit, _)| t.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(",");
    }
    if rec.udp.is_some() {
        return "UDP".into();
    }
    if rec.icmp.is_some() {
        return "ICMP".into();
    }
    "OTHER".into()
}

/// Canonical form of an expected packet label (flag order does not matter).
fn canonical(label: &str) -> String {
    let mut parts: Vec<String> =
        label.split([',', '+', ' ']).filter(|p| !p.is_empty()).map(|p| p.to_ascii_uppercase()).collect();
    let order = |p: &String| flags::NAMES.iter().position(|(_, n)| n == p).unwrap_or(99);
    parts.sort_by_key(order);
    parts.join(",")
}

fn filler(n: usize) -> Vec<u8> {
    b"0123456789abcdefghijklmnopqrstuvwxyz".iter().cycle().take(n).copied().collect()
}

/// The bytes a send step sends: its text, or `bytes` of filler.
fn step_data(step: &Step) -> Vec<u8> {
    step.data.as_ref().map(|d| d.as_bytes().to_vec()).unwrap_or_else(|| filler(step.bytes.unwrap_or(0)))
}

/// sendall / sendfile / recv_all on `sock` (in the foreground or a thread).
fn transfer_call(sock: &Socket, step: &Step, timeout: Duration) -> CallOutcome {
    let chunk = step.chunk.unwrap_or(transfer::DEFAULT_CHUNK);
    match step.call.as_str() {
        "sendfile" => {
            CallOutcome::of_transfer(transfer::send_file(sock, step.bytes.unwrap_or(0) as u64, chunk), "sent")
        }
        "recv_all" => CallOutcome::of_transfer(
            transfer::recv_all(sock, step.bytes.map(|b| b as u64), step.to_file == Some(true), timeout),
            "received",
        ),
        _ => {
            let data = step_data(step);
            let mut calls = 0u64;
            let mut result = Ok(());
            for piece in data.chunks(chunk.max(1)) {
                match transfer::send_all(sock, piece) {
                    Ok(c) => calls += c,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            match result {
                // sendall() returns None in Python; report the bytes it sent.
                Ok(()) => CallOutcome {
                    ok: true,
                    ret: Some(data.len() as i64),
                    detail: Some(either(
                        format!("{} send() call(s) to get all {} bytes out", calls, data.len()),
                        format!("调用了 {} 次 send() 才把 {} 个字节全部发出", calls, data.len()),
                    )),
                    md5: Some(transfer::md5_hex(&data)),
                    ..Default::default()
                },
                Err(e) => outcome_of(Err(e)),
            }
        }
    }
}

impl Engine<'_> {
    fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    fn actor_mut(&mut self, name: &str) -> Option<&mut Actor> {
        self.actors.iter_mut().find(|a| a.name == name)
    }

    /// Resolves `to`/`addr`: an actor's address, "unused", or a literal address.
    fn resolve(&mut self, target: &str, v6: bool, stream: bool) -> io::Result<SocketAddr> {
        if let Some(a) = self.actor(target) {
            let mut addr = a.local.ok_or_else(|| io::Error::other(format!("{target} is not bound yet")))?;
            if addr.ip().is_unspecified() {
                addr.set_ip(loopback(a.v6));
            }
            return Ok(addr);
        }
        if target == "unused" {
            // A port nobody uses: bind one, note it, close it. The same for the whole lab.
            if let Some(a) = self.unused.get(&(v6, stream)) {
                return Ok(*a);
            }
            let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
            let ty = if stream { Type::STREAM } else { Type::DGRAM };
            let probe = Socket::new(domain, ty, None)?;
            probe.bind(&SocketAddr::new(loopback(v6), 0).into())?;
            let addr = probe.local_addr()?.as_socket().ok_or_else(|| io::Error::other("no address"))?;
            self.unused.insert((v6, stream), addr);
            return Ok(addr);
        }
        let addr: SocketAddr =
            target.parse().map_err(|_| io::Error::other(format!("{target:?} is neither an actor nor an address")))?;
        // Labs talk to this machine only: loopback, or the wildcard for bind().
        if !(addr.ip().is_loopback() || addr.ip().is_unspecified()) {
            return Err(io::Error::other(format!("{addr}: labs only use loopback addresses (127.0.0.0/8, ::1)")));
        }
        Ok(addr)
    }

    fn signature(&self, step: &Step, resolved: Option<SocketAddr>) -> String {
        let a = resolved.map(|a| a.to_string()).unwrap_or_default();
        match step.call.as_str() {
            "socket" => format!(
                "socket({}, {})",
                if step.family.as_deref() == Some("inet6") { "AF_INET6" } else { "AF_INET" },
                if step.kind.as_deref() == Some("dgram") { "SOCK_DGRAM" } else { "SOCK_STREAM" }
            ),
            "bind" => format!("bind({})", step.addr.as_deref().unwrap_or("")),
            "listen" => format!("listen({})", step.backlog.unwrap_or(128)),
            "connect" => format!("connect({a})"),
            "accept" => format!("{} = accept()", step.new_actor.as_deref().unwrap_or("conn")),
            "send" if step.messages.is_some() => {
                let framed = step.framing.as_deref() == Some("length");
                step.messages
                    .iter()
                    .flatten()
                    .map(|m| {
                        if framed {
                            format!("send(len + {})", py_bytes(m.as_bytes(), 20))
                        } else {
                            format!("send({})", py_bytes(m.as_bytes(), 20))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            "send" | "sendall" | "sendto" => {
                let data = match (&step.data, step.bytes) {
                    (Some(d), _) => py_bytes(d.as_bytes(), 40),
                    (None, Some(n)) => format!("<{n} bytes>"),
                    _ => String::new(),
                };
                if step.call == "sendto" {
                    format!("sendto({data}, {a})")
                } else {
                    format!("{}({data})", step.call)
                }
            }
            "recv" | "recvfrom" => format!("{}({})", step.call, step.size.unwrap_or(1024)),
            "shutdown" => format!(
                "shutdown({})",
                match step.how.as_deref().unwrap_or("wr") {
                    "rd" => "SHUT_RD",
                    "rdwr" => "SHUT_RDWR",
                    _ => "SHUT_WR",
                }
            ),
            "close" => "close()".into(),
            "setsockopt" => {
                let opt = step.option.as_deref().unwrap_or("");
                let level = if opt == "TCP_NODELAY" { "IPPROTO_TCP" } else { "SOL_SOCKET" };
                match (opt, step.value) {
                    ("SO_LINGER", Some(v)) if v >= 0 => format!("setsockopt({level}, SO_LINGER, {{on, {v}s}})"),
                    ("SO_LINGER", _) => format!("setsockopt({level}, SO_LINGER, {{off}})"),
                    (o, v) => format!("setsockopt({level}, {o}, {})", v.unwrap_or(1)),
                }
            }
            "sleep" => format!("sleep({})", step.seconds.unwrap_or(0.0)),
            "recv_framed" => either(
                "recv_message()  # 4-byte length, then the message".into(),
                "recv_message()  # 先读 4 字节长度，再读消息".into(),
            ),
            "recv_all" => match step.bytes {
                Some(b) => format!(
                    "recv() until {b} bytes{}",
                    if step.to_file == Some(true) { ", writing to a file" } else { "" }
                ),
                None => {
                    format!("recv() until b''{}", if step.to_file == Some(true) { ", writing to a file" } else { "" })
                }
            },
            "sendfile" => format!(
                "send a {}-byte file in {}-byte sendall()s",
                step.bytes.unwrap_or(0),
                step.chunk.unwrap_or(transfer::DEFAULT_CHUNK)
            ),
            "serve" => format!("serve clients ({})", step.mode.as_deref().unwrap_or("iterative")),
            "join" => tr("join the background thread", "等待后台线程结束（join）").into(),
            "watch" => {
                let secs = step.seconds.unwrap_or(0.0);
                either(format!("watch the kernel for {secs} s"), format!("观察内核 {secs} 秒"))
            }
            other => other.to_string(),
        }
    }

    /// Performs one call with a real socket.
    fn perform(&mut self, step: &Step, target: Option<SocketAddr>) -> CallOutcome {
        let timeout = step.timeout.map(Duration::from_secs_f64).unwrap_or(DEFAULT_TIMEOUT);
        let name = step.actor.clone();
        if step.call == "socket" {
            let v6 = step.family.as_deref() == Some("inet6");
            let stream = step.kind.as_deref() != Some("dgram");
            let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
            let ty = if stream { Type::STREAM } else { Type::DGRAM };
            return match Socket::new(domain, ty, None) {
                Ok(sock) => {
                    use std::os::fd::AsRawFd;
                    let fd = sock.as_raw_fd() as i64;
                    self.actors.retain(|a| a.name != name);
                    self.actors.push(Actor {
                        name,
                        sock: Some(sock),
                        stream,
                        v6,
                        local: None,
                        peer: None,
                        listening: false,
                    });
                    CallOutcome { ok: true, ret: Some(fd), returns_fd: true, ..Default::default() }
                }
                Err(e) => outcome_of(Err(e)),
            };
        }
        if step.call == "sleep" || step.call == "watch" {
            return CallOutcome { ok: true, ..Default::default() };
        }
        if step.call == "join" || step.call == "close" {
            // A background call on this actor ends first (an accept loop is told to stop).
            if let Some(bg) = self.background.remove(&name) {
                if let Some(stop) = &bg.stop {
                    stop.store(true, Ordering::Relaxed);
                }
                let result = bg
                    .handle
                    .join()
                    .unwrap_or_else(|_| CallOutcome { detail: Some("thread panicked".into()), ..Default::default() });
                if let Some(m) = &result.md5 {
                    self.md5s.insert(name.clone(), m.clone());
                }
                if step.call == "join" {
                    return result;
                }
            } else if step.call == "join" {
                return CallOutcome {
                    ok: false,
                    errno: Some(libc::EINVAL),
                    detail: Some(format!("{name} runs nothing in the background")),
                    ..Default::default()
                };
            }
        }
        let Some(actor) = self.actor_mut(&name) else {
            return CallOutcome {
                ok: false,
                errno: Some(libc::EBADF),
                detail: Some(format!("no socket named {name}")),
                ..Default::default()
            };
        };
        let Some(sock) = actor.sock.as_ref() else {
            return CallOutcome {
                ok: false,
                errno: Some(libc::EBADF),
                detail: Some(format!("{name} is closed")),
                ..Default::default()
            };
        };
        if let Some(nb) = step.nonblocking {
            let _ = sock.set_nonblocking(nb);
        }
        let mut outcome = match step.call.as_str() {
            "bind" => outcome_of(
                target.ok_or_else(|| io::Error::other("no address")).and_then(|a| sock.bind(&a.into()).map(|_| 0)),
            ),
            "listen" => outcome_of(sock.listen(step.backlog.unwrap_or(128)).map(|_| 0)),
            "connect" => {
                let r = match target {
                    Some(a) if actor.stream && step.nonblocking != Some(true) => {
                        sock.connect_timeout(&a.into(), timeout)
                    }
                    Some(a) => sock.connect(&a.into()),
                    None => Err(io::Error::other("no address")),
                };
                outcome_of(r.map(|_| 0))
            }
            "accept" => {
                let _ = sock.set_read_timeout(Some(timeout));
                match sock.accept() {
                    Ok((conn, from)) => {
                        use std::os::fd::AsRawFd;
                        let fd = conn.as_raw_fd() as i64;
                        let new_name = step.new_actor.clone().unwrap_or_else(|| "conn".into());
                        let (stream, v6) = (actor.stream, actor.v6);
                        let local = conn.local_addr().ok().and_then(|a| to_std(&a));
                        let peer = to_std(&from);
                        self.actors.retain(|a| a.name != new_name);
                        self.actors.push(Actor {
                            name: new_name,
                            sock: Some(conn),
                            stream,
                            v6,
                            local,
                            peer,
                            listening: false,
                        });
                        CallOutcome {
                            ok: true,
                            ret: Some(fd),
                            returns_fd: true,
                            detail: peer.map(|p| either(format!("connection from {p}"), format!("来自 {p} 的连接"))),
                            ..Default::default()
                        }
                    }
                    Err(e) => outcome_of(Err(e)),
                }
            }
            "send" if step.messages.is_some() => {
                // Several send() calls back to back, like a loop in the student's program.
                let framed = step.framing.as_deref() == Some("length");
                let mut total = 0i64;
                let mut result = Ok(0);
                for m in step.messages.as_deref().unwrap_or_default() {
                    let bytes = if framed { transfer::frame(m.as_bytes()) } else { m.as_bytes().to_vec() };
                    match sock.send(&bytes) {
                        Ok(n) => total += n as i64,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                let mut o = outcome_of(result.map(|_: i64| total));
                o.detail = Some(format!("{} send() calls", step.messages.as_ref().map_or(0, |m| m.len())));
                o
            }
            "send" => {
                let data = step_data(step);
                let mut o = outcome_of(sock.send(&data).map(|n| n as i64));
                if o.ret.is_some_and(|r| (r as usize) < data.len()) {
                    let took = o.ret.unwrap_or(0);
                    o.detail = Some(either(
                        format!("only {took} of {} bytes: a short send", data.len()),
                        format!("只发出了 {} 字节中的 {took} 字节：短写", data.len()),
                    ));
                }
                o
            }
            "sendall" | "sendfile" | "recv_all" if step.background == Some(true) => match sock.try_clone() {
                Ok(dup) => {
                    let step_copy = step.clone();
                    let handle = std::thread::spawn(move || transfer_call(&dup, &step_copy, timeout));
                    self.background.insert(name.clone(), Background { handle, stop: None });
                    CallOutcome {
                        ok: true,
                        detail: Some(
                            tr("running in a thread; `join` collects its result", "在线程中运行；用 `join` 取回结果")
                                .into(),
                        ),
                        ..Default::default()
                    }
                }
                Err(e) => outcome_of(Err(e)),
            },
            "sendall" | "sendfile" | "recv_all" => transfer_call(sock, step, timeout),
            "recv_framed" => match transfer::recv_framed(sock, timeout) {
                Ok(msg) => CallOutcome { ok: true, ret: Some(msg.len() as i64), data: Some(msg), ..Default::default() },
                Err(e) => outcome_of(Err(e)),
            },
            "serve" => match sock.try_clone() {
                Ok(dup) => {
                    let threaded = step.mode.as_deref() == Some("threaded");
                    let stop = Arc::new(AtomicBool::new(false));
                    let flag = Arc::clone(&stop);
                    let handle = std::thread::spawn(move || match transfer::serve(dup, threaded, flag) {
                        Ok(n) => CallOutcome {
                            ok: true,
                            ret: Some(n as i64),
                            detail: Some(format!("served {n} client(s)")),
                            ..Default::default()
                        },
                        Err(e) => outcome_of(Err(e)),
                    });
                    self.background.insert(name.clone(), Background { handle, stop: Some(stop) });
                    let how = if threaded {
                        tr("a thread per connection", "每个连接一个线程")
                    } else {
                        tr("one client at a time", "一次一个客户端")
                    };
                    CallOutcome {
                        ok: true,
                        detail: Some(either(
                            format!("accept loop running ({how})"),
                            format!("accept 循环已启动（{how}）"),
                        )),
                        ..Default::default()
                    }
                }
                Err(e) => outcome_of(Err(e)),
            },
            "sendto" => {
                let data = step_data(step);
                let r = match target {
                    Some(a) => sock.send_to(&data, &a.into()),
                    None => Err(io::Error::other("no address")),
                };
                outcome_of(r.map(|n| n as i64))
            }
            "recv" => {
                let _ = sock.set_read_timeout(Some(timeout));
                let mut buf = vec![0u8; step.size.unwrap_or(1024)];
                let mut reader: &Socket = sock;
                match reader.read(&mut buf) {
                    Ok(n) => {
                        buf.truncate(n);
                        CallOutcome { ok: true, ret: Some(n as i64), data: Some(buf), ..Default::default() }
                    }
                    Err(e) => outcome_of(Err(e)),
                }
            }
            "recvfrom" => {
                let _ = sock.set_read_timeout(Some(timeout));
                let mut buf = vec![MaybeUninit::<u8>::uninit(); step.size.unwrap_or(1024)];
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        // SAFETY: recv_from initialised the first n bytes.
                        let data: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
                        CallOutcome {
                            ok: true,
                            ret: Some(n as i64),
                            data: Some(data),
                            detail: to_std(&from).map(|f| format!("from {f}")),
                            ..Default::default()
                        }
                    }
                    Err(e) => outcome_of(Err(e)),
                }
            }
            "shutdown" => {
                let how = match step.how.as_deref().unwrap_or("wr") {
                    "rd" => std::net::Shutdown::Read,
                    "rdwr" => std::net::Shutdown::Both,
                    _ => std::net::Shutdown::Write,
                };
                outcome_of(sock.shutdown(how).map(|_| 0))
            }
            "close" => {
                actor.sock = None;
                CallOutcome { ok: true, ret: Some(0), ..Default::default() }
            }
            "setsockopt" => {
                let v = step.value.unwrap_or(1);
                let r = match step.option.as_deref().unwrap_or("") {
                    "SO_REUSEADDR" => sock.set_reuse_address(v != 0),
                    "SO_LINGER" => sock.set_linger((v >= 0).then(|| Duration::from_secs(v as u64))),
                    "SO_RCVBUF" => sock.set_recv_buffer_size(v as usize),
                    "SO_SNDBUF" => sock.set_send_buffer_size(v as usize),
                    "TCP_NODELAY" => sock.set_tcp_nodelay(v != 0),
                    "SO_KEEPALIVE" => sock.set_keepalive(v != 0),
                    other => Err(io::Error::other(format!("unknown option {other}"))),
                };
                outcome_of(r.map(|_| 0))
            }
            other => CallOutcome { ok: false, detail: Some(format!("unknown call {other}")), ..Default::default() },
        };
        // Learn the addresses the kernel chose.
        if let Some(actor) = self.actor_mut(&name) {
            if let Some(sock) = actor.sock.as_ref() {
                let before = actor.local;
                actor.local = sock.local_addr().ok().and_then(|a| to_std(&a)).filter(|a| a.port() != 0).or(actor.local);
                if let Some(p) = sock.peer_addr().ok().and_then(|a| to_std(&a)) {
                    actor.peer = Some(p);
                }
                if step.call == "listen" && outcome.ok {
                    actor.listening = true;
                }
                if step.call == "bind" && outcome.ok && before.is_none() {
                    if let Some(l) = actor.local {
                        if step.addr.as_deref().is_some_and(|a| a.ends_with(":0")) {
                            outcome.detail = Some(either(
                                format!("the kernel chose port {}", l.port()),
                                format!("内核选择了端口 {}", l.port()),
                            ));
                        }
                    }
                }
            }
            if step.call == "connect" && outcome.ok {
                if let Some(l) = actor.local {
                    outcome.detail = Some(either(
                        format!("local address {l} (ephemeral port)"),
                        format!("本地地址 {l}（临时端口）"),
                    ));
                }
            }
        }
        if let Some(m) = &outcome.md5 {
            self.md5s.insert(name, m.clone());
        }
        self.refresh_ports();
        outcome
    }

    fn refresh_ports(&mut self) {
        let before = self.ports.len();
        for a in &self.actors {
            if let Some(l) = a.local {
                self.ports.insert(l.port());
            }
        }
        if self.ports.len() != before {
            self.update_filter();
        }
    }

    /// Tells the kernel which ports are the lab's, so other traffic stays out.
    fn update_filter(&self) {
        if let Some(c) = &self.capture {
            let ports: Vec<u16> = self.ports.iter().copied().collect();
            if let Err(e) = c.set_ports(&ports) {
                eprintln!("wirelab: {e}");
            }
        }
    }

    fn handle_frame(&mut self, n: usize, f: &crate::source::live::LiveFrame) -> Result<Option<FrameRecord>> {
        let link = self.capture.as_ref().map(|c| c.link).unwrap_or(crate::source::LinkType::ETHERNET);
        let (ts, data) = (f.ts, &f.data[..]);
        let probe = Frame { number: self.frame_no + 1, ts, link, data, orig_len: f.orig_len };
        let packet = crate::decode::decode(&probe);
        let ports: Vec<u16> = self.ports.iter().copied().collect();
        if ports.is_empty() || !port_match(&packet, &ports) {
            return Ok(None);
        }
        self.frame_no += 1;
        if let Some(w) = self.writer.as_mut() {
            w.write(ts, data, f.orig_len)?;
            w.flush()?;
        }
        let rec = self.analyzer.on_packet(&probe, &packet);
        self.sink.event(&Event::Packet { n, rec: &rec }, &self.analyzer).map_err(|e| Error::io("writing output", e))?;
        Ok(Some(rec))
    }

    /// Collects the packets of step `n`: at least `min` long, then until the
    /// wire has been quiet for [`QUIET`] (at most `max` in all).
    fn settle(&mut self, n: usize, min: Duration, max: Duration) -> Result<Vec<FrameRecord>> {
        let mut seen = Vec::new();
        if self.capture.is_none() {
            // Without capture the wire cannot be watched: wait as long as a
            // delayed ACK may take, twice over.
            std::thread::sleep(min.max(2 * QUIET));
            return Ok(seen);
        }
        let start = Instant::now();
        let mut last = Instant::now();
        loop {
            let now = Instant::now();
            let elapsed = now - start;
            if (elapsed >= min && now - last >= QUIET) || elapsed >= max.max(min) || self.stop.load(Ordering::Relaxed) {
                break;
            }
            let wait = if elapsed < min { (min - elapsed).min(QUIET) } else { QUIET.saturating_sub(now - last) };
            let got = self.capture.as_ref().expect("capturing").frames.recv_timeout(wait.max(Duration::from_millis(1)));
            match got {
                Ok(f) => {
                    if let Some(rec) = self.handle_frame(n, &f)? {
                        seen.push(rec);
                        last = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(seen)
    }

    /// The kernel's rows for the lab's sockets.
    fn kernel_states(&self) -> Vec<StateRow> {
        let rows = procnet::snapshot();
        let mut out = Vec::new();
        for a in &self.actors {
            let Some(local) = a.local else { continue };
            for r in &rows {
                let same_local = r.local.port() == local.port()
                    && (r.local.ip() == local.ip() || r.local.ip().is_unspecified() || local.ip().is_unspecified());
                let proto_ok = (r.proto == procnet::Proto::Tcp) == a.stream;
                let peer_ok = match a.peer {
                    Some(p) => r.remote == p,
                    None => r.remote.port() == 0,
                };
                if same_local && proto_ok && peer_ok {
                    out.push(StateRow { actor: a.name.clone(), socket: r.clone() });
                }
            }
        }
        // Connections waiting in a listener's accept queue (not accepted yet).
        for a in self.actors.iter().filter(|a| a.listening) {
            let Some(local) = a.local else { continue };
            for r in &rows {
                let queued = r.proto == procnet::Proto::Tcp
                    && r.local.port() == local.port()
                    && r.remote.port() != 0
                    && self.ports.contains(&r.remote.port())
                    && !out.iter().any(|s| s.socket.local == r.local && s.socket.remote == r.remote);
                if queued {
                    let actor = either(format!("({}'s accept queue)", a.name), format!("({} 的 accept 队列)", a.name));
                    out.push(StateRow { actor, socket: r.clone() });
                }
            }
        }
        out
    }

    fn expect(&mut self, n: usize, what: &str, pass: bool, want: String, got: String) -> Result<()> {
        if pass {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.sink
            .event(&Event::Expect { n, pass, what, want, got }, &self.analyzer)
            .map_err(|e| Error::io("writing output", e))
    }

    fn check(
        &mut self,
        n: usize,
        step: &Step,
        exp: &Expect,
        outcome: &CallOutcome,
        packets: &[FrameRecord],
        states: &[StateRow],
    ) -> Result<()> {
        let got_labels: Vec<String> = packets.iter().map(packet_label).collect();
        for (what, list, exact) in [("packets", &exp.packets, true), ("packets_include", &exp.packets_include, false)] {
            let Some(want) = list else { continue };
            let want: Vec<String> = want.iter().map(|w| canonical(w)).collect();
            if self.capture.is_none() {
                self.skipped += 1;
                continue;
            }
            let pass = if exact {
                want == got_labels
            } else {
                let mut it = got_labels.iter();
                want.iter().all(|w| it.any(|g| g == w))
            };
            let show = |l: &[String]| if l.is_empty() { "(none)".to_string() } else { l.join(" ") };
            self.expect(n, what, pass, show(&want), show(&got_labels))?;
        }
        if let Some(want) = &exp.analysis {
            if self.capture.is_none() {
                self.skipped += 1;
            } else {
                let seen: BTreeSet<&str> =
                    packets.iter().filter_map(|p| p.tcp).flat_map(|t| t.expert.names()).collect();
                let missing: Vec<&String> = want.iter().filter(|w| !seen.contains(w.as_str())).collect();
                let got = if seen.is_empty() {
                    "(none)".to_string()
                } else {
                    seen.iter().copied().collect::<Vec<_>>().join(" ")
                };
                self.expect(n, "analysis", missing.is_empty(), want.join(" "), got)?;
            }
        }
        if let Some(want) = &exp.errno {
            let got = outcome.errno.map(|e| errno::name(e).to_string()).unwrap_or_else(|| "none".into());
            let want_name = if want == "none" {
                "none".to_string()
            } else {
                errno::from_name(want).map(errno::name).unwrap_or("?").to_string()
            };
            let pass = got == want_name;
            let show = |name: &str| match errno::from_name(name) {
                Some(num) if name != "none" => format!("{name} ({num})"),
                _ => name.to_string(),
            };
            self.expect(n, "errno", pass, show(&want_name), show(&got))?;
        }
        let got_ret = outcome.ret.map(|g| g.to_string()).unwrap_or_else(|| "error".into());
        let ret_checks = [
            exp.ret.map(|w| (w.to_string(), outcome.ret == Some(w))),
            exp.ret_min.map(|m| (format!("≥ {m}"), outcome.ret.is_some_and(|g| g >= m))),
            exp.ret_below.map(|b| (format!("< {b}"), outcome.ret.is_some_and(|g| g < b))),
        ];
        for (want, pass) in ret_checks.into_iter().flatten() {
            self.expect(n, "ret", pass, want, got_ret.clone())?;
        }
        if let Some(other) = &exp.same_md5_as {
            let want = self.md5s.get(other).cloned().unwrap_or_else(|| format!("(no transfer by {other})"));
            let got = outcome.md5.clone().unwrap_or_else(|| "(none)".into());
            self.expect(n, "md5", want == got, format!("MD5 of {other}: {want}"), got)?;
        }
        if let Some(want) = &exp.data {
            let got = outcome.data.clone().unwrap_or_default();
            self.expect(n, "data", got == want.as_bytes(), py_bytes(want.as_bytes(), 60), py_bytes(&got, 60))?;
        }
        if let Some(want) = &exp.state {
            let whose = exp.of.as_deref().unwrap_or(&step.actor);
            let got = states.iter().find(|r| r.actor == whose).map(|r| r.socket.state).unwrap_or("NONE");
            self.expect(n, "state", got == want, format!("{whose} {want}"), format!("{whose} {got}"))?;
        }
        Ok(())
    }

    fn emit_states(&mut self, n: usize, force: bool) -> Result<Vec<StateRow>> {
        let states = self.kernel_states();
        let key = |rows: &[StateRow]| {
            rows.iter()
                .map(|r| (r.actor.clone(), r.socket.local, r.socket.remote, r.socket.state, r.socket.rx_queue))
                .collect::<Vec<_>>()
        };
        let changed = force || key(&states) != key(&self.last_states);
        self.sink
            .event(&Event::States { n, rows: &states, changed }, &self.analyzer)
            .map_err(|e| Error::io("writing output", e))?;
        self.last_states = states.clone();
        Ok(states)
    }
}

/// The true answer to a quiz question, from what the step really did.
fn quiz_truth(
    q: &super::spec::Quiz,
    step: &Step,
    outcome: &CallOutcome,
    packets: &[FrameRecord],
    states: &[StateRow],
    capturing: bool,
) -> Option<String> {
    let packet = || packets.get(q.packet.unwrap_or(1).saturating_sub(1));
    match q.field.as_str() {
        "count" => capturing.then(|| packets.len().to_string()),
        "ret" => outcome.ret.map(|r| r.to_string()),
        "errno" => Some(outcome.errno.map(errno::name).unwrap_or("none").to_string()),
        "data" => outcome.data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()),
        "state" => {
            Some(states.iter().find(|r| r.actor == step.actor).map(|r| r.socket.state).unwrap_or("NONE").to_string())
        }
        field => {
            let rec = packet()?;
            let t = rec.tcp;
            match field {
                "flags" => Some(packet_label(rec)),
                "seq" => t.map(|t| t.seq.to_string()),
                "ack" => t.map(|t| t.ack.to_string()),
                "len" => t.map(|t| t.len.to_string()).or(rec.udp.map(|u| u.len.to_string())),
                "win" => t.map(|t| t.win.to_string()),
                "mss" => t.and_then(|t| t.mss).map(|m| m.to_string()),
                _ => None,
            }
        }
    }
}

/// Compares a student's answer with the truth, forgivingly (case, spaces,
/// flag order, b'…' quoting, errno by number).
fn same_answer(field: &str, answer: &str, truth: &str) -> bool {
    let unquote = |s: &str| {
        let s = s.trim();
        let s = s.strip_prefix('b').filter(|r| r.starts_with('\'') || r.starts_with('"')).unwrap_or(s);
        s.trim_matches(|c| c == '\'' || c == '"').to_string()
    };
    match field {
        "flags" => canonical(answer) == canonical(truth),
        "errno" => {
            let a = errno::from_name(answer.trim()).map(errno::name).unwrap_or(answer.trim());
            a.eq_ignore_ascii_case(truth) || (answer.trim().eq_ignore_ascii_case("none") && truth == "none")
        }
        "data" => unquote(answer) == truth,
        _ => answer.trim().replace(',', "").eq_ignore_ascii_case(truth),
    }
}

/// Runs a lab, reporting to `sink`.
pub fn run(loaded: &LoadedLab, opts: &RunOptions, sink: &mut dyn LabSink) -> Result<LabResult> {
    let lab = &loaded.lab;
    let stop = crate::sniff::stop_on_signals();
    let capture = if opts.no_capture {
        None
    } else {
        match LiveCapture::start(
            if opts.interface.is_empty() { "lo" } else { &opts.interface },
            Some(&[]),
            opts.snaplen,
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("wirelab: {e}");
                eprintln!("wirelab: the lab runs anyway: its socket calls and the kernel's socket states are real; packets are not shown.");
                if let Some(hint) = super::recording_hint(loaded) {
                    eprintln!("wirelab: {hint}");
                }
                None
            }
        }
    };
    let writer = match (&opts.save, &capture) {
        (Some(p), Some(c)) => Some(PcapWriter::create(p, c.link, opts.snaplen)?),
        _ => None,
    };
    let mut engine = Engine {
        actors: Vec::new(),
        ports: BTreeSet::new(),
        capture,
        writer,
        analyzer: Analyzer::new(),
        frame_no: 0,
        sink,
        passed: 0,
        failed: 0,
        skipped: 0,
        stop,
        last_states: Vec::new(),
        background: HashMap::new(),
        unused: HashMap::new(),
        md5s: HashMap::new(),
    };
    let io_err = |e| Error::io("writing output", e);
    engine.sink.event(&Event::Start { lab, capturing: engine.capture.is_some() }, &engine.analyzer).map_err(io_err)?;
    let total = lab.steps.len();
    let (mut quiz_right, mut quiz_asked) = (0usize, 0usize);
    for (i, spanned) in lab.steps.iter().enumerate() {
        if engine.stop.load(Ordering::Relaxed) {
            break;
        }
        let step = spanned.get_ref();
        let n = i + 1;
        let (v6, stream) = engine.actor(&step.actor).map(|a| (a.v6, a.stream)).unwrap_or((false, true));
        let target = match step.call.as_str() {
            "connect" | "sendto" => step.to.as_deref().map(|t| engine.resolve(t, v6, stream)),
            "bind" => step.addr.as_deref().map(|t| engine.resolve(t, v6, stream)),
            _ => None,
        };
        let resolved = target.as_ref().and_then(|r| r.as_ref().ok().copied());
        if let Some(a) = resolved {
            // Traffic to a port nobody uses is the lab's too (SYN → RST, ICMP unreachable).
            if engine.ports.insert(a.port()) {
                engine.update_filter();
            }
        }
        let overflows_before = (step.call == "connect").then(procnet::listen_overflows).flatten();
        let signature = engine.signature(step, resolved);
        engine
            .sink
            .event(&Event::Step { n, of: total, step, signature: &signature }, &engine.analyzer)
            .map_err(io_err)?;
        if let Some(pace) = opts.pace {
            std::thread::sleep(pace);
        }
        let quiz = step.quiz.as_ref().filter(|_| opts.quiz);
        let question = quiz.map(|q| crate::i18n::pick(&q.question, q.question_zh.as_deref()));
        let mut answer = String::new();
        if let Some(question) = question {
            engine.sink.event(&Event::Ask { n, question }, &engine.analyzer).map_err(io_err)?;
            let _ = std::io::stdin().read_line(&mut answer);
        } else if opts.step_mode {
            eprint!("   ⏎  {} ", crate::i18n::tr("press Enter to run this step", "按回车执行这一步"));
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        // Pausing cannot move packets between steps: the previous step ended on a
        // quiet wire, and nothing new is sent until this call runs.
        let mut outcome = match target {
            Some(Err(e)) => {
                CallOutcome { ok: false, errno: e.raw_os_error(), detail: Some(e.to_string()), ..Default::default() }
            }
            _ => engine.perform(step, resolved),
        };
        if let (Some(before), Some(after)) = (overflows_before, procnet::listen_overflows()) {
            if after > before {
                let note =
                    format!("the kernel counted {} ListenOverflows (accept queue full: SYN dropped)", after - before);
                outcome.detail = Some(match outcome.detail.take() {
                    Some(d) => format!("{d}; {note}"),
                    None => note,
                });
            }
        }
        engine
            .sink
            .event(&Event::Call { n, step, signature: &signature, outcome: &outcome }, &engine.analyzer)
            .map_err(io_err)?;
        let seconds = step.seconds.map(Duration::from_secs_f64).unwrap_or_default();
        let settle_max = step.settle.map(Duration::from_secs_f64).unwrap_or(MAX_SETTLE);
        let mut packets = Vec::new();
        let states = if step.call == "watch" {
            let every = step.every.map(Duration::from_secs_f64).unwrap_or(Duration::from_secs(1));
            let start = Instant::now();
            let mut states = engine.emit_states(n, true)?;
            while start.elapsed() + every <= seconds + Duration::from_millis(1) && !engine.stop.load(Ordering::Relaxed)
            {
                packets.extend(engine.settle(n, every, every)?);
                states = engine.emit_states(n, true)?;
            }
            states
        } else {
            packets = engine.settle(n, seconds, seconds + settle_max)?;
            engine.emit_states(n, false)?
        };
        if let Some(exp) = &step.expect {
            engine.check(n, step, exp, &outcome, &packets, &states)?;
        }
        if let (Some(q), Some(question)) = (quiz, question) {
            let truth = quiz_truth(q, step, &outcome, &packets, &states, engine.capture.is_some());
            let right = truth.as_deref().is_some_and(|t| same_answer(&q.field, answer.trim(), t));
            quiz_asked += 1;
            quiz_right += right as usize;
            engine
                .sink
                .event(&Event::Quiz { n, question, answer: answer.trim(), truth, right }, &engine.analyzer)
                .map_err(io_err)?;
        }
    }
    let stats = match engine.capture.as_mut() {
        Some(c) => Some(c.stop()?),
        None => None,
    };
    let (passed, failed, skipped) = (engine.passed, engine.failed, engine.skipped);
    engine
        .sink
        .event(
            &Event::End {
                passed,
                failed,
                skipped,
                stats,
                summary: Some(crate::i18n::pick(lab.summary.as_deref().unwrap_or(""), lab.summary_zh.as_deref()))
                    .filter(|s| !s.is_empty()),
                quiz: opts.quiz.then_some((quiz_right, quiz_asked)),
            },
            &engine.analyzer,
        )
        .map_err(io_err)?;
    Ok(LabResult { passed, failed, skipped })
}
