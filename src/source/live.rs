//! Live capture on an interface (loopback by default) with pnet, set up as
//! measured in NOTES.md:
//!
//! * our own AF_PACKET socket with `PACKET_IGNORE_OUTGOING`, so each loopback
//!   frame is seen once (a plain socket sees it twice: out and in);
//! * a 256 KiB read buffer (loopback frames reach 65,549 bytes; pnet's default
//!   4096 cuts them silently) and a 32 MiB receive buffer (`SO_RCVBUFFORCE`);
//! * the kernel's receive timestamp of each frame (`SIOCGSTAMPNS`);
//! * the kernel's drop counter (`PACKET_STATISTICS`), read before pnet closes
//!   the socket.
//!
//! Frames are read on a thread and handed over through a channel.

use super::{LinkType, Timestamp};
use crate::error::{Error, Result};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// `SOL_PACKET` socket level.
const SOL_PACKET: libc::c_int = 263;
/// `PACKET_STATISTICS`: packets received and dropped since the last read.
const PACKET_STATISTICS: libc::c_int = 6;
/// `PACKET_IGNORE_OUTGOING` (Linux ≥ 4.20): skip the outgoing copy of each frame.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `SIOCGSTAMPNS`: the receive time of the last frame read, in ns.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;
/// Largest loopback frame is 65,549 bytes; leave room.
const READ_BUFFER: usize = 256 * 1024;
/// Kernel receive buffer: no drops on a 1 GiB loopback transfer (NOTES.md).
const RECEIVE_BUFFER: libc::c_int = 32 << 20;
/// How often the reader thread checks whether it should stop.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// One captured frame, owned.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    /// Kernel receive time.
    pub ts: Timestamp,
    /// The frame (Ethernet framing on `lo`), possibly cut to the snaplen.
    pub data: Vec<u8>,
    /// Length of the whole frame on the wire.
    pub orig_len: u32,
}

/// Length of an Ethernet frame on the wire, from its IP header (the kernel
/// filter may have cut the bytes we hold).
fn wire_length(data: &[u8]) -> u32 {
    const ETH: usize = 14;
    let ether_type = data.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let ip_len = match ether_type {
        Some(0x0800) => data.get(ETH + 2..ETH + 4).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize),
        Some(0x86dd) => data.get(ETH + 4..ETH + 6).map(|b| 40 + u16::from_be_bytes([b[0], b[1]]) as usize),
        _ => None,
    };
    match ip_len {
        Some(n) if n > 0 => ((ETH + n).max(data.len())) as u32,
        _ => data.len() as u32,
    }
}

/// A classic BPF program (`SO_ATTACH_FILTER`) for Ethernet-framed frames: keep
/// ICMP/ICMPv6 and TCP/UDP frames with one of `ports` on either side (every
/// frame when `ports` is None), at most `snaplen` bytes of each. Filtering in
/// the kernel keeps other programs' loopback traffic out of our receive
/// buffer, and a snaplen makes the kernel copy less (NOTES.md: it removed the
/// drops of bulk transfers).
pub fn filter_program(ports: Option<&[u16]>, snaplen: u32) -> Vec<libc::sock_filter> {
    // Opcodes (linux/filter.h).
    const LDH_ABS: u16 = 0x28;
    const LDB_ABS: u16 = 0x30;
    const LDH_IND: u16 = 0x48;
    const LDXB_MSH: u16 = 0xb1;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    /// A jump target: the accept or drop instruction at the end.
    #[derive(Clone, Copy)]
    enum To {
        Next,
        Label(&'static str),
    }
    let Some(ports) = ports else {
        return vec![libc::sock_filter { code: RET_K, jt: 0, jf: 0, k: snaplen }];
    };
    let mut code: Vec<(u16, To, To, u32, Option<&'static str>)> = Vec::new();
    let mut op = |c: u16, jt: To, jf: To, k: u32| code.push((c, jt, jf, k, None));
    use To::{Label as L, Next as N};
    op(LDH_ABS, N, N, 12);
    op(JEQ_K, L("v4"), N, 0x0800);
    op(JEQ_K, L("v6"), L("drop"), 0x86dd);
    let mark = |code: &mut Vec<(u16, To, To, u32, Option<&'static str>)>, name: &'static str| {
        let at = code.len();
        code.push((0xffff, N, N, 0, Some(name)));
        at
    };
    let port_checks = |code: &mut Vec<(u16, To, To, u32, Option<&'static str>)>, load: (u16, u32)| {
        code.push((load.0, N, N, load.1, None));
        for p in ports {
            code.push((JEQ_K, L("accept"), N, *p as u32, None));
        }
    };
    mark(&mut code, "v4");
    code.push((LDB_ABS, N, N, 23, None)); // protocol
    code.push((JEQ_K, L("accept"), N, 1, None)); // ICMP
    code.push((JEQ_K, L("l4v4"), N, 6, None));
    code.push((JEQ_K, L("l4v4"), L("drop"), 17, None));
    mark(&mut code, "l4v4");
    code.push((LDXB_MSH, N, N, 14, None)); // X = IPv4 header length
    port_checks(&mut code, (LDH_IND, 14));
    port_checks(&mut code, (LDH_IND, 16));
    code.push((0, L("drop"), L("drop"), 0, Some("goto drop")));
    mark(&mut code, "v6");
    code.push((LDB_ABS, N, N, 20, None)); // next header
    code.push((JEQ_K, L("accept"), N, 58, None)); // ICMPv6
    code.push((JEQ_K, L("l4v6"), N, 6, None));
    code.push((JEQ_K, L("l4v6"), L("drop"), 17, None));
    mark(&mut code, "l4v6");
    port_checks(&mut code, (LDH_ABS, 54));
    port_checks(&mut code, (LDH_ABS, 56));
    mark(&mut code, "drop");
    code.push((RET_K, N, N, 0, None));
    mark(&mut code, "accept");
    code.push((RET_K, N, N, snaplen, None));
    // Lay out: labels take no room; a "goto drop" becomes an always-true jump.
    const JA: u16 = 0x05;
    let mut at = Vec::with_capacity(code.len());
    let mut labels = std::collections::HashMap::new();
    let mut n = 0usize;
    for (c, _, _, _, name) in &code {
        at.push(n);
        match (c, name) {
            (0xffff, Some(l)) => {
                labels.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::with_capacity(n);
    for (i, (c, jt, jf, k, name)) in code.iter().enumerate() {
        if *c == 0xffff {
            continue;
        }
        let here = at[i];
        let rel = |t: To| match t {
            To::Next => 0u8,
            To::Label(l) => (labels[l] - here - 1) as u8,
        };
        if *name == Some("goto drop") {
            out.push(libc::sock_filter { code: JA, jt: 0, jf: 0, k: (labels["drop"] - here - 1) as u32 });
        } else {
            out.push(libc::sock_filter { code: *c, jt: rel(*jt), jf: rel(*jf), k: *k });
        }
    }
    out
}

/// Attaches (or replaces) the socket's kernel filter.
fn attach_filter(fd: libc::c_int, program: &mut [libc::sock_filter]) -> io::Result<()> {
    let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_mut_ptr() };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}

/// Counters at the end of a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames the kernel delivered to the socket.
    pub received: u64,
    /// Frames the kernel dropped because the socket's buffer was full.
    pub dropped: u64,
}

/// A running capture.
pub struct LiveCapture {
    /// Frames as they arrive.
    pub frames: Receiver<LiveFrame>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<CaptureStats>>>,
    /// Link type of the frames.
    pub link: LinkType,
    /// The packet socket (owned by the reader thread while it runs).
    fd: libc::c_int,
    snaplen: u32,
}

/// Why live capture could not start: the advice a person needs.
pub fn privilege_advice(interface: &str, err: &io::Error) -> Error {
    let detail = if err.raw_os_error() == Some(libc::EPERM) || err.raw_os_error() == Some(libc::EACCES) {
        format!(
            "{err}. Capturing needs the CAP_NET_RAW capability: run as root (sudo), or give the binary the \
             capability once with `sudo setcap cap_net_raw,cap_net_admin+ep {}`",
            std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "wirelab".into())
        )
    } else {
        err.to_string()
    };
    Error::LiveCapture { interface: interface.to_string(), detail }
}

/// setsockopt(2) with a value of any plain type.
fn setsockopt<T>(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: a valid fd and a pointer to a live value of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn setsockopt_int(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    setsockopt(fd, level, name, &value)
}

/// Reads and resets the kernel's counters of the packet socket.
fn packet_statistics(fd: libc::c_int) -> io::Result<CaptureStats> {
    #[repr(C)]
    #[derive(Default)]
    struct TpacketStats {
        tp_packets: u32,
        tp_drops: u32,
    }
    let mut stats = TpacketStats::default();
    let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: `stats` is a properly sized, writable tpacket_stats.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            SOL_PACKET,
            PACKET_STATISTICS,
            &mut stats as *mut TpacketStats as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(CaptureStats { received: stats.tp_packets as u64, dropped: stats.tp_drops as u64 })
}

/// The kernel's receive time of the last frame read from `fd`.
fn receive_time(fd: libc::c_int) -> Option<Timestamp> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: SIOCGSTAMPNS writes one timespec.
    let rc = unsafe { libc::ioctl(fd, SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    (rc == 0).then(|| Timestamp { secs: ts.tv_sec, nanos: ts.tv_nsec as u32 })
}

fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_nanos() }
}

/// Opens the packet socket as NOTES.md prescribes.
fn open_socket() -> io::Result<libc::c_int> {
    // Protocol 0: nothing is queued until pnet binds it to the interface.
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let configure = || -> io::Result<()> {
        setsockopt_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)?;
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back to SO_RCVBUF (capped by rmem_max).
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RECEIVE_BUFFER).is_err() {
            setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RECEIVE_BUFFER)?;
        }
        Ok(())
    };
    if let Err(e) = configure() {
        // SAFETY: closing the fd we opened.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    Ok(fd)
}

impl LiveCapture {
    /// Starts capturing on `interface` (e.g. "lo"): frames with one of `ports`
    /// (None: every frame), at most `snaplen` bytes of each (None: whole
    /// frames). Capture is live when this returns.
    pub fn start(interface: &str, ports: Option<&[u16]>, snaplen: Option<u32>) -> Result<LiveCapture> {
        if std::env::var_os("WIRELAB_SIMULATE_NO_CAPTURE").is_some() {
            return Err(privilege_advice(interface, &io::Error::from_raw_os_error(libc::EPERM)));
        }
        let iface = pnet_datalink::interfaces().into_iter().find(|i| i.name == interface).ok_or_else(|| {
            Error::LiveCapture { interface: interface.to_string(), detail: "no such network interface".into() }
        })?;
        let fd = open_socket().map_err(|e| privilege_advice(interface, &e))?;
        let snaplen = snaplen.map_or(READ_BUFFER as u32, |n| n.max(64));
        if let Err(e) = attach_filter(fd, &mut filter_program(ports, snaplen)) {
            // SAFETY: closing the fd we opened.
            unsafe { libc::close(fd) };
            return Err(Error::io("attaching the capture filter", e));
        }
        let config = pnet_datalink::Config {
            read_buffer_size: READ_BUFFER,
            read_timeout: Some(POLL_INTERVAL),
            promiscuous: false,
            socket_fd: Some(fd),
            ..Default::default()
        };
        let mut rx = match pnet_datalink::channel(&iface, config) {
            Ok(pnet_datalink::Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(Error::LiveCapture {
                    interface: interface.into(),
                    detail: "unexpected channel type".into(),
                })
            }
            Err(e) => return Err(privilege_advice(interface, &e)),
        };
        // Discard what the kernel counted before we were ready.
        let _ = packet_statistics(fd);
        let (tx, frames) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wirelab-capture".into())
            .spawn(move || -> io::Result<CaptureStats> {
                let mut stats = CaptureStats::default();
                loop {
                    match rx.next() {
                        Ok(bytes) => {
                            let ts = receive_time(fd).unwrap_or_else(wall_clock);
                            let frame = LiveFrame { ts, orig_len: wire_length(bytes), data: bytes.to_vec() };
                            if tx.send(frame).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                    if stop_flag.load(Ordering::Relaxed) {
                        // Drain what is already queued, then stop.
                        let s = packet_statistics(fd)?;
                        stats.received += s.received;
                        stats.dropped += s.dropped;
                        break;
                    }
                }
                drop(rx);
                Ok(stats)
            })
            .map_err(|e| Error::io("starting the capture thread", e))?;
        Ok(LiveCapture { frames, stop, thread: Some(thread), link: LinkType::ETHERNET, fd, snaplen })
    }

    /// Replaces the kernel filter: keep frames with one of `ports` from now on.
    pub fn set_ports(&self, ports: &[u16]) -> Result<()> {
        if self.thread.is_none() {
            return Ok(());
        }
        attach_filter(self.fd, &mut filter_program(Some(ports), self.snaplen))
            .map_err(|e| Error::io("updating the capture filter", e))
    }

    /// Stops capturing and returns the kernel's counters.
    pub fn stop(&mut self) -> Result<CaptureStats> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| Error::io("capture thread", io::Error::other("panicked")))?
                .map_err(|e| Error::io("capturing", e)),
            None => Ok(CaptureStats::default()),
        }
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
