//! The socket executor: performs each [`Call`] with a real socket (socket2)
//! and tells what it returned, as the program would see it.

use super::capture::Claim;
use super::events::{CallOutcome, Note};
use super::spec::{Call, Family, Framing, How, OptValue, SockOpt, SockType, Step};
use super::transfer::{self, Transfer};
use crate::source::wire::Host;
use socket2::{Domain, Socket, Type};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Default timeout of blocking calls.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A socket of the lab.
pub struct Actor {
    /// The lab's name for it.
    pub name: String,
    /// The socket, until close().
    pub sock: Option<Socket>,
    /// TCP (true) or UDP.
    pub stream: bool,
    /// IPv6.
    pub v6: bool,
    /// Its address, once it has one.
    pub local: Option<SocketAddr>,
    /// Its peer, once connected.
    pub peer: Option<SocketAddr>,
    /// listen() succeeded.
    pub listening: bool,
    /// The socket's inode: how the kernel's tables name it (while it is open).
    pub inode: Option<u64>,
    /// Whether another connection may have the same local port.
    pub claim: Claim,
    /// `settimeout()`: Some(None) = block forever; None = not set (the lab's
    /// own limit applies so that it never hangs).
    pub timeout: Option<Option<Duration>>,
}

/// A call running in a thread (`background = true`), collected by `join`.
struct Background {
    handle: JoinHandle<CallOutcome>,
    stop: Option<Arc<AtomicBool>>,
}

/// The lab's sockets and what runs in the background.
#[derive(Default)]
pub struct Executor {
    /// Sockets by order of creation.
    pub actors: Vec<Actor>,
    background: HashMap<String, Background>,
    unused: HashMap<(bool, bool), SocketAddr>,
    md5s: HashMap<String, String>,
    /// File descriptors of open sockets, for waking blocked calls on Ctrl-C.
    open: Arc<Mutex<HashSet<RawFd>>>,
    /// The lab wire's host of each actor (none: this machine's loopback).
    placement: HashMap<String, Host>,
    /// Each listener's backlog, for `restart`.
    backlogs: HashMap<String, i32>,
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

impl CallOutcome {
    /// Python's settimeout()/setblocking() return None, not 0.
    fn with_none_returned(mut self) -> CallOutcome {
        if self.ok {
            self.ret = None;
        }
        self
    }
}

fn failed(note: Note) -> CallOutcome {
    CallOutcome { ok: false, notes: vec![note], ..Default::default() }
}

fn of_transfer(r: io::Result<Transfer>, sent: bool) -> CallOutcome {
    match r {
        Ok(t) => CallOutcome {
            ok: true,
            ret: Some(t.bytes as i64),
            notes: vec![Note::Transfer { sent, bytes: t.bytes, calls: t.calls, md5: t.md5.clone() }],
            md5: Some(t.md5),
            ..Default::default()
        },
        Err(e) => outcome_of(Err(e)),
    }
}

/// The inode of a socket, as /proc/net lists it.
fn inode_of(sock: &Socket) -> Option<u64> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: the fd is open (borrowed from `sock`) and `st` is a valid out-pointer.
    let r = unsafe { libc::fstat(sock.as_raw_fd(), st.as_mut_ptr()) };
    // SAFETY: fstat returned 0, so it filled `st`.
    (r == 0).then(|| unsafe { st.assume_init() }.st_ino)
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
        // The length as a unit symbol, not a word: code needs no translation.
        s.push_str(&format!("… ({} B)", data.len()));
    }
    s
}

fn filler(n: usize) -> Vec<u8> {
    b"0123456789abcdefghijklmnopqrstuvwxyz".iter().cycle().take(n).copied().collect()
}

/// The bytes of `data = "…"` or `bytes = N` of filler.
fn payload(data: &Option<String>, bytes: Option<usize>) -> Vec<u8> {
    data.as_ref().map(|d| d.as_bytes().to_vec()).unwrap_or_else(|| filler(bytes.unwrap_or(0)))
}

fn payload_text(data: &Option<String>, bytes: Option<usize>) -> String {
    match (data, bytes) {
        (Some(d), _) => py_bytes(d.as_bytes(), 40),
        (None, Some(n)) => format!("<{n} bytes>"),
        _ => String::new(),
    }
}

/// The call as a program writes it: code, not prose, so it needs no translation.
pub fn signature(call: &Call, resolved: Option<SocketAddr>) -> String {
    // Not resolved yet (`lab show`): the lab's own word for the target.
    let a = resolved.map(|a| a.to_string()).unwrap_or_else(|| call.target().unwrap_or_default().to_string());
    match call {
        Call::Socket { family, kind } => format!(
            "socket({}, {})",
            if *family == Family::Inet6 { "AF_INET6" } else { "AF_INET" },
            if *kind == SockType::Dgram { "SOCK_DGRAM" } else { "SOCK_STREAM" }
        ),
        Call::Bind { addr } => format!("bind({addr})"),
        Call::Listen { backlog } => format!("listen({backlog})"),
        Call::Connect { .. } => format!("connect({a})"),
        Call::ConnectEx { .. } => format!("connect_ex({a})"),
        Call::DnsServe { records } => format!("dns_serve({} name(s))", records.len()),
        Call::Resolve { name, server: Some(_) } => format!("resolve({name:?}) via DNS {a}"),
        Call::Resolve { name, server: None } => format!("gethostbyname({name:?})"),
        Call::Settimeout { seconds: Some(t) } => format!("settimeout({t})"),
        Call::Settimeout { seconds: None } => "settimeout(None)".into(),
        Call::Setblocking { flag } => format!("setblocking({})", if *flag { "True" } else { "False" }),
        Call::Accept { new_actor } => format!("{new_actor} = accept()"),
        Call::Send { messages: Some(m), framing, .. } => m
            .iter()
            .map(|m| match framing {
                Framing::Length => format!("send(len + {})", py_bytes(m.as_bytes(), 20)),
                Framing::None => format!("send({})", py_bytes(m.as_bytes(), 20)),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Call::Send { data: Some(d), encoding: Some(c), .. } => format!("send({d:?}.encode({:?}))", c.name()),
        Call::Send { data, bytes, .. } => format!("send({})", payload_text(data, *bytes)),
        Call::Sendall { data, bytes, .. } => format!("sendall({})", payload_text(data, *bytes)),
        Call::Sendto { data, bytes, .. } => format!("sendto({}, {a})", payload_text(data, *bytes)),
        Call::Sendfile { bytes, chunk, .. } => {
            format!("sendfile(<{bytes}-byte file>, chunk={})", chunk.unwrap_or(transfer::DEFAULT_CHUNK))
        }
        Call::Recv { size, decode: Some(c) } => format!("recv({size}).decode({:?})", c.name()),
        Call::Recv { size, .. } => format!("recv({size})"),
        Call::Recvfrom { size } => format!("recvfrom({size})"),
        Call::RecvFramed {} => "recv_message()  # 4-byte length, then the message".into(),
        Call::RecvAll { bytes, to_file, .. } => {
            let until = bytes.map(|b| b.to_string()).unwrap_or_else(|| "b''".into());
            format!("recv_all(until={until}{})", if *to_file { ", to_file=True" } else { "" })
        }
        Call::Serve { mode, reply: super::spec::Reply::Upper } => {
            format!("serve(mode={:?})", format!("{mode:?}").to_lowercase())
        }
        Call::Serve { mode, reply: super::spec::Reply::Same } => {
            format!("serve(mode={:?}, reply=\"same\")", format!("{mode:?}").to_lowercase())
        }
        Call::Join {} => "thread.join()".into(),
        Call::RecvHttp {} => "read_http_response()".into(),
        Call::Shutdown { how } => format!(
            "shutdown({})",
            match how {
                How::Rd => "SHUT_RD",
                How::Rdwr => "SHUT_RDWR",
                How::Wr => "SHUT_WR",
            }
        ),
        Call::Close {} => "close()".into(),
        Call::Setsockopt { option, value } => {
            let level = match option {
                SockOpt::NoDelay | SockOpt::Congestion => "IPPROTO_TCP",
                _ => "SOL_SOCKET",
            };
            match (option, value) {
                (SockOpt::Linger, Some(OptValue::Int(v))) if *v >= 0 => {
                    format!("setsockopt({level}, SO_LINGER, {{on, {v}s}})")
                }
                (SockOpt::Linger, _) => format!("setsockopt({level}, SO_LINGER, {{off}})"),
                (o, Some(OptValue::Algorithm(a))) => format!("setsockopt({level}, {}, b{:?})", o.name(), a.name()),
                (o, Some(OptValue::Int(v))) => format!("setsockopt({level}, {}, {v})", o.name()),
                (o, None) => format!("setsockopt({level}, {}, 1)", o.name()),
            }
        }
        Call::Restart {} => "restart()".into(),
        Call::Sleep { seconds } => format!("sleep({seconds})"),
        Call::Watch { seconds, every } => format!("watch({seconds} s, every={} s)", every.unwrap_or(1.0)),
    }
}

/// sendall / sendfile / recv_all on `sock` (in the foreground or a thread).
fn transfer_call(sock: &Socket, call: &Call, timeout: Duration) -> CallOutcome {
    match call {
        Call::Sendfile { bytes, chunk, .. } => {
            of_transfer(transfer::send_file(sock, *bytes as u64, chunk.unwrap_or(transfer::DEFAULT_CHUNK)), true)
        }
        Call::RecvAll { bytes, to_file, .. } => {
            of_transfer(transfer::recv_all(sock, bytes.map(|b| b as u64), *to_file, timeout), false)
        }
        Call::Sendall { data, bytes, chunk, .. } => {
            let data = payload(data, *bytes);
            let mut calls = 0u64;
            for piece in data.chunks(chunk.unwrap_or(transfer::DEFAULT_CHUNK).max(1)) {
                match transfer::send_all(sock, piece) {
                    Ok(c) => calls += c,
                    Err(e) => return outcome_of(Err(e)),
                }
            }
            // sendall() returns None in Python; report the bytes it sent.
            CallOutcome {
                ok: true,
                ret: Some(data.len() as i64),
                notes: vec![Note::SendallCalls { calls, bytes: data.len() as u64 }],
                md5: Some(transfer::md5_hex(&data)),
                ..Default::default()
            }
        }
        _ => unreachable!("transfer_call is only called for transfers"),
    }
}

impl Executor {
    /// An actor by name.
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    fn actor_mut(&mut self, name: &str) -> Option<&mut Actor> {
        self.actors.iter_mut().find(|a| a.name == name)
    }

    /// Puts `actor`'s sockets on a host of the lab wire.
    pub fn place(&mut self, actor: &str, host: Host) {
        self.placement.insert(actor.to_string(), host);
    }

    /// The lab wire's host of an actor.
    pub fn placement_of(&self, actor: &str) -> Option<&Host> {
        self.placement.get(actor)
    }

    /// The lab wire's hosts that hold the lab's sockets (none: loopback).
    pub fn hosts(&self) -> Vec<&Host> {
        let mut hosts: Vec<&Host> = Vec::new();
        for h in self.placement.values() {
            if !hosts.iter().any(|k| k.name == h.name) {
                hosts.push(h);
            }
        }
        hosts
    }

    /// The registry of open socket fds (shared with the interrupt watcher).
    pub fn open_fds(&self) -> Arc<Mutex<HashSet<RawFd>>> {
        Arc::clone(&self.open)
    }

    /// A student's program's listening socket as the actor `name`: other
    /// actors connect to it by name; it has no socket of wirelab's.
    pub fn adopt_program(&mut self, name: &str, local: SocketAddr) {
        let v6 = local.is_ipv6();
        self.adopt(Actor {
            name: name.to_string(),
            sock: None,
            stream: true,
            v6,
            local: Some(local),
            peer: None,
            listening: true,
            inode: None,
            timeout: None,
            claim: Claim::Sole,
        });
    }

    fn adopt(&mut self, actor: Actor) {
        if let Some(s) = &actor.sock {
            self.open.lock().expect("fd registry").insert(s.as_raw_fd());
        }
        // A name used again (a new socket() for the same actor) replaces the old one.
        if let Some(old) = self.actors.iter().position(|a| a.name == actor.name) {
            let old = self.actors.remove(old);
            self.forget(old.sock);
        }
        self.actors.push(actor);
    }

    /// Closes a socket; its fd leaves the registry first so a reused number
    /// is never shut down by mistake.
    fn forget(&self, sock: Option<Socket>) {
        if let Some(s) = sock {
            self.open.lock().expect("fd registry").remove(&s.as_raw_fd());
            drop(s);
        }
    }

    /// Resolves `to`/`addr`: an actor's address, "unused", or a literal address.
    pub fn resolve(&mut self, target: &str, v6: bool, stream: bool) -> Result<SocketAddr, CallOutcome> {
        if let Some(a) = self.actor(target) {
            let Some(mut addr) = a.local else {
                return Err(failed(Note::NotBound { actor: target.to_string() }));
            };
            if addr.ip().is_unspecified() {
                match self.placement.get(target) {
                    Some(host) => addr.set_ip(IpAddr::V4(host.addr)),
                    None => addr.set_ip(loopback(a.v6)),
                }
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
            let probe = Socket::new(domain, ty, None)
                .and_then(|p| p.bind(&SocketAddr::new(loopback(v6), 0).into()).map(|_| p))
                .and_then(|p| p.local_addr())
                .map_err(|e| outcome_of(Err(e)))?;
            let addr = probe.as_socket().expect("an inet socket has an inet address");
            self.unused.insert((v6, stream), addr);
            return Ok(addr);
        }
        // spec::validate admitted only actors, "unused" and loopback addresses.
        Ok(target.parse().expect("validated address"))
    }

    /// Performs one call with a real socket.
    pub fn perform(&mut self, step: &Step, target: Option<SocketAddr>) -> CallOutcome {
        let name = step.actor.clone();
        // The socket's own timeout (settimeout) if the lab set one, else the
        // step's limit; a socket set to block forever still gets the lab's
        // limit, so a lab never hangs (and says so when it expires).
        let own = self.actor(&name).and_then(|a| a.timeout);
        let limit = step.timeout.map(Duration::from_secs_f64).unwrap_or(DEFAULT_TIMEOUT);
        let timeout = own.flatten().unwrap_or(limit);
        let started = std::time::Instant::now();
        match &step.call {
            Call::Socket { family, kind } => {
                let v6 = *family == Family::Inet6;
                let stream = *kind == SockType::Stream;
                return match self.new_socket(&name, v6, stream) {
                    Ok(sock) => {
                        let fd = sock.as_raw_fd() as i64;
                        let inode = inode_of(&sock);
                        self.adopt(Actor {
                            name,
                            sock: Some(sock),
                            stream,
                            v6,
                            local: None,
                            peer: None,
                            listening: false,
                            inode,
                            timeout: None,
                            claim: Claim::Sole,
                        });
                        CallOutcome { ok: true, ret: Some(fd), returns_fd: true, ..Default::default() }
                    }
                    Err(e) => outcome_of(Err(e)),
                };
            }
            Call::Sleep { .. } | Call::Watch { .. } => return CallOutcome { ok: true, ..Default::default() },
            Call::Restart {} => return self.restart(&name),
            Call::Join {} | Call::Close {} => {
                // A background call on this actor ends first (an accept loop is told to stop).
                if let Some(bg) = self.background.remove(&name) {
                    if let Some(stop) = &bg.stop {
                        stop.store(true, Ordering::Relaxed);
                    }
                    let result = bg.handle.join().unwrap_or_else(|_| failed(Note::ThreadPanicked));
                    if let Some(m) = &result.md5 {
                        self.md5s.insert(name.clone(), m.clone());
                    }
                    if matches!(step.call, Call::Join {}) {
                        return result;
                    }
                } else if matches!(step.call, Call::Join {}) {
                    return failed(Note::NothingInBackground);
                }
            }
            _ => {}
        }
        let Some(actor) = self.actor_mut(&name) else {
            unreachable!("spec::validate admits only actors created before")
        };
        let Some(sock) = actor.sock.as_ref() else {
            return failed(Note::SocketClosed);
        };
        if let Some(nb) = step.nonblocking {
            let _ = sock.set_nonblocking(nb);
        }
        let no_addr = || io::Error::other("no address");
        let mut outcome = match &step.call {
            Call::Bind { .. } => outcome_of(target.ok_or_else(no_addr).and_then(|a| sock.bind(&a.into()).map(|_| 0))),
            Call::Listen { backlog } => outcome_of(sock.listen(*backlog).map(|_| 0)),
            Call::Connect { .. } | Call::ConnectEx { .. } => {
                let blocking = sock.nonblocking().map(|nb| !nb).unwrap_or(true);
                let r = match target {
                    Some(a) if actor.stream && blocking => sock.connect_timeout(&a.into(), timeout),
                    Some(a) => sock.connect(&a.into()),
                    None => Err(no_addr()),
                };
                let mut o = outcome_of(r.map(|_| 0));
                if let Call::ConnectEx { .. } = step.call {
                    // connect_ex() reports the errno as its return value and raises nothing.
                    o = CallOutcome { ok: true, ret: Some(o.errno.unwrap_or(0) as i64), ..Default::default() };
                }
                o
            }
            Call::DnsServe { records } => match sock.try_clone() {
                Ok(dup) => {
                    let stop = Arc::new(AtomicBool::new(false));
                    let flag = Arc::clone(&stop);
                    let records = records.clone();
                    let names = records.len() as u64;
                    let handle = std::thread::spawn(move || match super::dns::serve(dup, records, flag) {
                        Ok(n) => CallOutcome { ok: true, ret: Some(n as i64), ..Default::default() },
                        Err(e) => outcome_of(Err(e)),
                    });
                    self.background.insert(name.clone(), Background { handle, stop: Some(stop) });
                    CallOutcome { ok: true, notes: vec![Note::DnsServing { names }], ..Default::default() }
                }
                Err(e) => outcome_of(Err(e)),
            },
            Call::Resolve { name: host, server: None } => {
                let addrs = super::dns::from_hosts_file(host);
                let ok = !addrs.is_empty();
                let notes = vec![Note::Resolved { name: host.clone(), addrs: addrs.clone(), via: None }];
                CallOutcome { ok, ret: Some(addrs.len() as i64), notes, ..Default::default() }
            }
            Call::Resolve { name: host, server: Some(_) } => match target {
                Some(server) => match super::dns::query(sock, server, host, timeout) {
                    Ok(addrs) => CallOutcome {
                        ok: true,
                        ret: Some(addrs.len() as i64),
                        notes: vec![Note::Resolved { name: host.clone(), addrs, via: Some(server) }],
                        ..Default::default()
                    },
                    Err(e) => outcome_of(Err(e)),
                },
                None => outcome_of(Err(no_addr())),
            },
            Call::Settimeout { seconds } => {
                actor.timeout = Some(seconds.map(Duration::from_secs_f64));
                // settimeout() ends setblocking(False) mode (which is settimeout(0));
                // the timeout itself is applied per call below.
                outcome_of(sock.set_nonblocking(false).map(|_| 0)).with_none_returned()
            }
            Call::Setblocking { flag } => {
                // setblocking(True) = settimeout(None); setblocking(False) = settimeout(0.0).
                actor.timeout = if *flag { Some(None) } else { None };
                outcome_of(sock.set_nonblocking(!flag).map(|_| 0)).with_none_returned()
            }
            Call::Accept { new_actor } => {
                let _ = sock.set_read_timeout(Some(timeout));
                match sock.accept() {
                    Ok((conn, from)) => {
                        let fd = conn.as_raw_fd() as i64;
                        let (stream, v6) = (actor.stream, actor.v6);
                        // Python: a socket accept() returns inherits the listener's timeout.
                        let inherited = actor.timeout;
                        let local = conn.local_addr().ok().and_then(|a| a.as_socket());
                        let peer = from.as_socket();
                        let inode = inode_of(&conn);
                        if let Some(host) = self.placement.get(&name).cloned() {
                            self.placement.insert(new_actor.clone(), host);
                        }
                        self.adopt(Actor {
                            name: new_actor.clone(),
                            sock: Some(conn),
                            stream,
                            v6,
                            local,
                            peer,
                            listening: false,
                            inode,
                            timeout: inherited,
                            claim: Claim::Sole,
                        });
                        CallOutcome {
                            ok: true,
                            ret: Some(fd),
                            returns_fd: true,
                            notes: peer.map(|peer| Note::ConnectionFrom { peer }).into_iter().collect(),
                            ..Default::default()
                        }
                    }
                    Err(e) => outcome_of(Err(e)),
                }
            }
            Call::Send { messages: Some(messages), framing, .. } => {
                // Several send() calls back to back, like a loop in the student's program.
                let mut total = 0i64;
                let mut result = Ok(0);
                for m in messages {
                    let bytes = match framing {
                        Framing::Length => transfer::frame(m.as_bytes()),
                        Framing::None => m.as_bytes().to_vec(),
                    };
                    match sock.send(&bytes) {
                        Ok(n) => total += n as i64,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                let mut o = outcome_of(result.map(|_: i64| total));
                o.notes.push(Note::SendCalls { calls: messages.len() as u64 });
                o
            }
            Call::Send { data: Some(text), encoding: Some(codec), .. } => {
                let (bytes, _, _) = codec.encoding().encode(text);
                let mut o = outcome_of(sock.send(&bytes).map(|n| n as i64));
                o.notes.push(Note::Encoded {
                    codec: *codec,
                    chars: text.chars().count() as u64,
                    bytes: bytes.len() as u64,
                });
                o
            }
            Call::Send { data, bytes, .. } => {
                let data = payload(data, *bytes);
                let mut o = outcome_of(sock.send(&data).map(|n| n as i64));
                if let Some(sent) = o.ret.filter(|r| (*r as usize) < data.len()) {
                    o.notes.push(Note::ShortSend { sent: sent as u64, of: data.len() as u64 });
                }
                o
            }
            Call::Sendall { background: true, .. }
            | Call::Sendfile { background: true, .. }
            | Call::RecvAll { background: true, .. } => match sock.try_clone() {
                Ok(dup) => {
                    let call = step.call.clone();
                    // A wait that ran into the lab's own limit (the socket has
                    // no timeout of its own): a program would still be waiting.
                    let lab_limit = !matches!(own, Some(Some(_)));
                    let handle = std::thread::spawn(move || {
                        let mut o = transfer_call(&dup, &call, timeout);
                        if lab_limit && matches!(o.errno, Some(libc::EAGAIN) | Some(libc::ETIMEDOUT)) {
                            o.errno = None;
                            o.notes.push(Note::LabTimeout { seconds: timeout.as_secs_f64() });
                        }
                        o
                    });
                    self.background.insert(name.clone(), Background { handle, stop: None });
                    CallOutcome { ok: true, notes: vec![Note::Background], ..Default::default() }
                }
                Err(e) => outcome_of(Err(e)),
            },
            Call::Sendall { .. } | Call::Sendfile { .. } | Call::RecvAll { .. } => {
                transfer_call(sock, &step.call, timeout)
            }
            Call::RecvHttp {} => {
                let resp = super::http_client::read_response(sock, timeout);
                CallOutcome {
                    ok: resp.status.is_some(),
                    ret: Some(resp.body.len() as i64),
                    md5: Some(transfer::md5_hex(&resp.body)),
                    notes: vec![Note::Http(Box::new(resp))],
                    ..Default::default()
                }
            }
            Call::RecvFramed {} => match transfer::recv_framed(sock, timeout) {
                Ok(msg) => CallOutcome { ok: true, ret: Some(msg.len() as i64), data: Some(msg), ..Default::default() },
                Err(e) => outcome_of(Err(e)),
            },
            Call::Serve { mode, reply } => match sock.try_clone() {
                Ok(dup) => {
                    let threaded = *mode == super::spec::ServeMode::Threaded;
                    let stop = Arc::new(AtomicBool::new(false));
                    let flag = Arc::clone(&stop);
                    let upper = *reply == super::spec::Reply::Upper;
                    let handle = std::thread::spawn(move || match transfer::serve(dup, threaded, upper, flag) {
                        Ok(n) => CallOutcome {
                            ok: true,
                            ret: Some(n as i64),
                            notes: vec![Note::Served { clients: n }],
                            ..Default::default()
                        },
                        Err(e) => outcome_of(Err(e)),
                    });
                    self.background.insert(name.clone(), Background { handle, stop: Some(stop) });
                    CallOutcome { ok: true, notes: vec![Note::AcceptLoop { mode: *mode }], ..Default::default() }
                }
                Err(e) => outcome_of(Err(e)),
            },
            Call::Sendto { data, bytes, .. } => {
                let data = payload(data, *bytes);
                let r = target.ok_or_else(no_addr).and_then(|a| sock.send_to(&data, &a.into()));
                outcome_of(r.map(|n| n as i64))
            }
            Call::Recv { size, decode } => {
                let _ = sock.set_read_timeout(Some(timeout));
                let mut buf = vec![0u8; *size];
                let mut reader: &Socket = sock;
                match reader.read(&mut buf) {
                    Ok(n) => {
                        buf.truncate(n);
                        let notes = decode
                            .map(|codec| {
                                let (text, malformed) = codec.encoding().decode_without_bom_handling(&buf);
                                Note::Decoded { codec, text: text.into_owned(), malformed }
                            })
                            .into_iter()
                            .collect();
                        CallOutcome { ok: true, ret: Some(n as i64), data: Some(buf), notes, ..Default::default() }
                    }
                    Err(e) => outcome_of(Err(e)),
                }
            }
            Call::Recvfrom { size } => {
                let _ = sock.set_read_timeout(Some(timeout));
                match transfer::recv_datagram(sock, *size) {
                    Ok((data, from)) => CallOutcome {
                        ok: true,
                        ret: Some(data.len() as i64),
                        data: Some(data),
                        notes: from.map(|peer| Note::DatagramFrom { peer }).into_iter().collect(),
                        ..Default::default()
                    },
                    Err(e) => outcome_of(Err(e)),
                }
            }
            Call::Shutdown { how } => {
                let how = match how {
                    How::Rd => std::net::Shutdown::Read,
                    How::Rdwr => std::net::Shutdown::Both,
                    How::Wr => std::net::Shutdown::Write,
                };
                outcome_of(sock.shutdown(how).map(|_| 0))
            }
            Call::Close {} => {
                let sock = actor.sock.take();
                actor.inode = None;
                self.forget(sock);
                CallOutcome { ok: true, ret: Some(0), ..Default::default() }
            }
            Call::Setsockopt { option, value } => {
                let v = match value {
                    Some(OptValue::Int(v)) => *v,
                    _ => 1,
                };
                let r = match option {
                    SockOpt::Congestion => match value {
                        Some(OptValue::Algorithm(a)) => sock.set_tcp_congestion(a.name().as_bytes()),
                        _ => unreachable!("spec::validate: TCP_CONGESTION has an algorithm"),
                    },
                    SockOpt::Broadcast => sock.set_broadcast(v != 0),
                    SockOpt::ReuseAddr => sock.set_reuse_address(v != 0),
                    SockOpt::Linger => sock.set_linger((v >= 0).then(|| Duration::from_secs(v as u64))),
                    SockOpt::RcvBuf => sock.set_recv_buffer_size(v as usize),
                    SockOpt::SndBuf => sock.set_send_buffer_size(v as usize),
                    SockOpt::NoDelay => sock.set_tcp_nodelay(v != 0),
                    SockOpt::KeepAlive => sock.set_keepalive(v != 0),
                };
                outcome_of(r.map(|_| 0))
            }
            Call::Socket { .. } | Call::Sleep { .. } | Call::Watch { .. } | Call::Join {} | Call::Restart {} => {
                unreachable!("handled above")
            }
        };
        // A wait that ended because a limit expired: whose limit it was matters
        // to what a Python program would see.
        let waited = matches!(
            step.call,
            Call::Connect { .. }
                | Call::Accept { .. }
                | Call::Recv { .. }
                | Call::Recvfrom { .. }
                | Call::RecvFramed {}
                | Call::RecvAll { .. }
        );
        if waited && matches!(outcome.errno, Some(libc::EAGAIN) | Some(libc::ETIMEDOUT)) {
            let secs = started.elapsed().as_secs_f64();
            match own {
                Some(Some(t)) if secs + 0.05 >= t.as_secs_f64() => {
                    outcome.notes.push(Note::SocketTimeout { seconds: t.as_secs_f64() })
                }
                Some(None) | None if secs + 0.05 >= timeout.as_secs_f64() => {
                    // The program has no timeout: it would still be waiting. The
                    // errno came from the lab's own limit, not from the kernel's
                    // handling of this connection, so it is not reported.
                    outcome.errno = None;
                    outcome.notes.push(Note::LabTimeout { seconds: timeout.as_secs_f64() })
                }
                _ => {}
            }
        }
        // Learn the addresses the kernel chose.
        if let Some(actor) = self.actor_mut(&name) {
            if let Some(sock) = actor.sock.as_ref() {
                let before = actor.local;
                actor.local =
                    sock.local_addr().ok().and_then(|a| a.as_socket()).filter(|a| a.port() != 0).or(actor.local);
                if let Some(p) = sock.peer_addr().ok().and_then(|a| a.as_socket()) {
                    actor.peer = Some(p);
                }
                let connected = matches!(step.call, Call::Connect { .. } | Call::ConnectEx { .. });
                if connected && actor.stream && before.is_none() && actor.local.is_some() {
                    actor.claim = Claim::Shared;
                }
                if let (Call::Listen { .. }, true) = (&step.call, outcome.ok) {
                    actor.listening = true;
                }
                if let (Call::Bind { addr }, true, None, Some(l)) = (&step.call, outcome.ok, before, actor.local) {
                    if addr.ends_with(":0") {
                        outcome.notes.push(Note::KernelChosePort { port: l.port() });
                    }
                }
            }
            if let (Call::Connect { .. }, true, Some(local)) = (&step.call, outcome.ok, actor.local) {
                outcome.notes.push(Note::EphemeralPort { local });
            }
        }
        if let (Call::Listen { backlog }, true) = (&step.call, outcome.ok) {
            self.backlogs.insert(name.clone(), *backlog);
        }
        if let Some(m) = &outcome.md5 {
            self.md5s.insert(name, m.clone());
        }
        outcome
    }

    /// A new socket for `name`; on the lab wire, in its host's namespace.
    fn new_socket(&self, name: &str, v6: bool, stream: bool) -> io::Result<Socket> {
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let ty = if stream { Type::STREAM } else { Type::DGRAM };
        match self.placement.get(name) {
            Some(host) => host.ns.run(|| Socket::new(domain, ty, None)).and_then(|r| r),
            None => Socket::new(domain, ty, None),
        }
    }

    /// `restart` by wirelab's own server: what a correct server does when it
    /// starts again — a new listening socket with SO_REUSEADDR on the same
    /// address (the old connections may still be in TIME_WAIT).
    fn restart(&mut self, name: &str) -> CallOutcome {
        let Some(old) = self.actor_mut(name) else { unreachable!("spec::validate: restart follows listen") };
        let Some(local) = old.local else { return failed(Note::NotBound { actor: name.to_string() }) };
        let (v6, timeout) = (old.v6, old.timeout);
        let sock = old.sock.take();
        self.forget(sock);
        let backlog = self.backlogs.get(name).copied().unwrap_or(128);
        let sock = match self.new_socket(name, v6, true) {
            Ok(s) => s,
            Err(e) => return outcome_of(Err(e)),
        };
        let made =
            sock.set_reuse_address(true).and_then(|_| sock.bind(&local.into())).and_then(|_| sock.listen(backlog));
        if let Err(e) = made {
            return outcome_of(Err(e));
        }
        let fd = sock.as_raw_fd() as i64;
        let inode = inode_of(&sock);
        self.adopt(Actor {
            name: name.to_string(),
            sock: Some(sock),
            stream: true,
            v6,
            local: Some(local),
            peer: None,
            listening: true,
            inode,
            timeout,
            claim: Claim::Sole,
        });
        CallOutcome { ok: true, ret: Some(fd), returns_fd: true, ..Default::default() }
    }

    /// The MD5 of an actor's last transfer.
    pub fn md5_of(&self, actor: &str) -> Option<&String> {
        self.md5s.get(actor)
    }

    /// Every local address of the lab's sockets.
    pub fn endpoints(&self) -> impl Iterator<Item = (SocketAddr, Claim)> + '_ {
        self.actors.iter().filter_map(|a| a.local.map(|l| (l, a.claim)))
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Accept loops end when told; their sockets close with them.
        for (_, bg) in self.background.drain() {
            if let Some(stop) = &bg.stop {
                stop.store(true, Ordering::Relaxed);
            }
        }
        for a in self.actors.drain(..) {
            if let Some(s) = a.sock {
                self.open.lock().expect("fd registry").remove(&s.as_raw_fd());
            }
        }
    }
}
