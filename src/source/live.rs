//! Live capture on an interface (loopback by default) with pnet, set up as
//! measured in NOTES.md:
//!
//! * our own AF_PACKET socket with `PACKET_IGNORE_OUTGOING`, so each loopback
//!   frame is seen once (a plain socket sees it twice: out and in);
//! * a 256 KiB read buffer (loopback frames reach 65,549 bytes; pnet's default
//!   4096 cuts them silently) and a 32 MiB receive buffer (`SO_RCVBUFFORCE`);
//! * the kernel's receive timestamp of each frame (`SIOCGSTAMPNS`);
//! * the kernel's drop counter (`PACKET_STATISTICS`);
//! * a classic BPF filter on the ports of interest, with a snaplen.
//!
//! The socket is ours (an `OwnedFd`); pnet reads frames from a duplicate it
//! owns and closes.
//!
//! Frames are read on a thread and handed over through a channel.

use super::{LinkType, Timestamp};
use crate::error::{Error, Result};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub mod bpf;
pub mod ring;

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

/// A captured frame's bytes: a copy, or the frame where the kernel wrote it
/// in a lent ring block ([`ring::Lent`], back to the kernel once dropped).
#[derive(Clone, Debug)]
pub enum FrameBytes {
    /// Copied out of the kernel.
    Owned(Vec<u8>),
    /// In the capture ring.
    Ring(ring::RingBytes),
}

impl std::ops::Deref for FrameBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FrameBytes::Owned(v) => v,
            FrameBytes::Ring(r) => r,
        }
    }
}

impl From<Vec<u8>> for FrameBytes {
    fn from(v: Vec<u8>) -> Self {
        FrameBytes::Owned(v)
    }
}

/// Not our own host's sent copy of a frame. PACKET_IGNORE_OUTGOING already
/// keeps those out of the ring; a kernel that ignored it would double every frame.
fn received(f: &ring::RingFrame<'_>) -> bool {
    f.pkttype != libc::PACKET_OUTGOING
}

impl LiveFrame {
    /// A frame read from the ring, its bytes lent or copied.
    fn from_ring(f: &ring::RingFrame<'_>, data: FrameBytes) -> LiveFrame {
        LiveFrame { ts: f.ts, orig_len: f.len.max(f.data.len() as u32), data, wire: None, timing: None }
    }
}

/// Who reads a capture's frames: that sizes the ring and says whether frames
/// are read in place or copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// `wirelab sniff`: frames read in place, each dropped once shown (and
    /// saved). `saving`: a lost frame is a hole in a file, so whole frames
    /// get the larger ring ([`ring::BLOCKS_SAVING`]).
    Sniff {
        /// `--save` is given.
        saving: bool,
    },
    /// A lab: few frames, copied (a lab step may keep its frames a while,
    /// which would hold their blocks away from the kernel).
    Lab,
}

/// One captured frame.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    /// Kernel receive time.
    pub ts: Timestamp,
    /// The frame (Ethernet framing on `lo`), possibly cut to the snaplen.
    pub data: FrameBytes,
    /// Length of the whole frame on the wire.
    pub orig_len: u32,
    /// What the lab wire did to it (None on a real interface).
    pub wire: Option<super::wire::WireMark>,
    /// On the lab wire: when the frame left its host and reached the other end.
    pub timing: Option<super::wire::WireTiming>,
}

/// Frame layout on `lo`: Ethernet with zero MACs (NOTES.md); IPv4 options
/// are allowed for, IPv6 extension headers are not.
mod frame {
    pub const ETH_HEADER: u32 = 14;
    pub const ETHERTYPE_AT: u32 = 12;
    pub const ETHERTYPE_IPV4: u16 = 0x0800;
    pub const ETHERTYPE_IPV6: u16 = 0x86dd;
    pub const IPV4_TOTAL_LEN_AT: u32 = ETH_HEADER + 2;
    pub const IPV4_PROTOCOL_AT: u32 = ETH_HEADER + 9;
    pub const IPV6_PAYLOAD_LEN_AT: u32 = ETH_HEADER + 4;
    pub const IPV6_NEXT_HEADER_AT: u32 = ETH_HEADER + 6;
    pub const IPV6_HEADER: u32 = 40;
    /// TCP and UDP headers both open with the source and destination ports.
    pub const SRC_PORT_AT: u32 = 0;
    pub const DST_PORT_AT: u32 = 2;
    pub const ICMP: u32 = 1;
    pub const TCP: u32 = 6;
    pub const UDP: u32 = 17;
    pub const ICMPV6: u32 = 58;
}

/// Length of an Ethernet frame on the wire, from its IP header (the kernel
/// filter may have cut the bytes we hold).
fn wire_length(data: &[u8]) -> u32 {
    use frame::*;
    let be16 = |at: u32| data.get(at as usize..at as usize + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as u32);
    let ip_len = match be16(ETHERTYPE_AT).map(|t| t as u16) {
        Some(ETHERTYPE_IPV4) => be16(IPV4_TOTAL_LEN_AT),
        Some(ETHERTYPE_IPV6) => be16(IPV6_PAYLOAD_LEN_AT).map(|n| IPV6_HEADER + n),
        _ => None,
    };
    match ip_len {
        Some(n) if n > 0 => (ETH_HEADER + n).max(data.len() as u32),
        _ => data.len() as u32,
    }
}

/// A classic BPF program (`SO_ATTACH_FILTER`) for Ethernet-framed frames: keep
/// ICMP/ICMPv6 and TCP/UDP frames with one of `ports` on either side (every
/// frame when `ports` is None), at most `snaplen` bytes of each. Filtering in
/// the kernel keeps other programs' loopback traffic out of our receive
/// buffer, and a snaplen makes the kernel copy less (NOTES.md: it removed the
/// drops of bulk transfers).
///
/// When the ports do not fit in the kernel's 4096 instructions (about a
/// thousand distinct ports, see [`port_filter`]), the program keeps every
/// frame instead of failing: both callers (`sniff` and the lab engine) match
/// ports again in user space on every frame, so the result is the same and
/// only the kernel copies more. An error instead would stop a lab mid-run,
/// whose port set grows as its sockets bind.
pub fn filter_program(ports: Option<&[u16]>, snaplen: u32) -> Vec<libc::sock_filter> {
    ports.and_then(|ports| port_filter(ports, snaplen).ok()).unwrap_or_else(|| keep_all(snaplen))
}

/// Whether `ports` fit in the kernel filter (else it keeps every frame).
pub fn ports_fit_kernel_filter(ports: &[u16]) -> bool {
    port_filter(ports, 0).is_ok()
}

fn keep_all(snaplen: u32) -> Vec<libc::sock_filter> {
    vec![libc::sock_filter { code: bpf::op::RET_K, jt: 0, jf: 0, k: snaplen }]
}

/// The port-matching program of [`filter_program`], or why it does not fit.
/// Costs 4 instructions per distinct port, plus ~19 and a few trampolines
/// every 250 instructions.
pub fn port_filter(ports: &[u16], snaplen: u32) -> std::result::Result<Vec<libc::sock_filter>, bpf::TooLong> {
    use bpf::{Insn::*, Target::*};
    use frame::*;
    let mut unique: Vec<u16> = Vec::with_capacity(ports.len());
    for &p in ports {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    let mut p = bpf::Program::new();
    let [v4, l4v4, v6, l4v6, drop, accept] = [(); 6].map(|_| p.label());
    let is = |k: u32, yes, no| JumpIfEqual { k, yes, no };
    let port_checks = |p: &mut bpf::Program, load: bpf::Insn| {
        p.push(load);
        for &port in &unique {
            p.push(is(port as u32, To(accept), Next));
        }
    };
    p.push(LoadHalf(ETHERTYPE_AT));
    p.push(is(ETHERTYPE_IPV4 as u32, To(v4), Next));
    p.push(is(ETHERTYPE_IPV6 as u32, To(v6), To(drop)));

    p.bind(v4);
    p.push(LoadByte(IPV4_PROTOCOL_AT));
    p.push(is(ICMP, To(accept), Next));
    p.push(is(TCP, To(l4v4), Next));
    p.push(is(UDP, To(l4v4), To(drop)));
    p.bind(l4v4);
    // X = IPv4 header length, so ports are at X + offset past Ethernet.
    p.push(LoadIpv4HeaderLen(ETH_HEADER));
    port_checks(&mut p, LoadHalfIndexed(ETH_HEADER + SRC_PORT_AT));
    port_checks(&mut p, LoadHalfIndexed(ETH_HEADER + DST_PORT_AT));
    p.push(Goto(drop));

    p.bind(v6);
    p.push(LoadByte(IPV6_NEXT_HEADER_AT));
    p.push(is(ICMPV6, To(accept), Next));
    p.push(is(TCP, To(l4v6), Next));
    p.push(is(UDP, To(l4v6), To(drop)));
    p.bind(l4v6);
    port_checks(&mut p, LoadHalf(ETH_HEADER + IPV6_HEADER + SRC_PORT_AT));
    port_checks(&mut p, LoadHalf(ETH_HEADER + IPV6_HEADER + DST_PORT_AT));

    p.bind(drop);
    p.push(Return(0));
    p.bind(accept);
    p.push(Return(snaplen));
    p.assemble()
}

/// Attaches (or replaces) the socket's kernel filter.
fn attach_filter(fd: BorrowedFd<'_>, program: &mut [libc::sock_filter]) -> io::Result<()> {
    // The builders stay within BPF_MAXINSNS, so the length fits the u16.
    let len = u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fprog = libc::sock_fprog { len, filter: program.as_mut_ptr() };
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
    /// Our descriptor of the packet socket, shared with the reader thread;
    /// pnet closes its own duplicate (see [`LiveCapture::start`]). None once
    /// stopped, so the socket is closed and stops queueing frames.
    socket: Option<Arc<OwnedFd>>,
    snaplen: u32,
    /// Where spent frame buffers go back to the ring's reader (see [`LiveCapture::recycler`]).
    recycle: Option<mpsc::Sender<Vec<u8>>>,
}

/// Why live capture could not start: the advice a person needs.
pub fn privilege_advice(interface: &str, err: &io::Error) -> Error {
    let detail = if err.raw_os_error() == Some(libc::EPERM) || err.raw_os_error() == Some(libc::EACCES) {
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "wirelab".into());
        crate::i18n::either(
            format!(
                "{err}. Capturing needs the CAP_NET_RAW capability: run as root (sudo), or give the binary the \
                 capability once with `sudo setcap cap_net_raw,cap_net_admin+ep {exe}`"
            ),
            format!(
                "{err}。抓包需要 CAP_NET_RAW 权限：用 root 运行（sudo），或者给程序一次性授予这个权限：\
                 `sudo setcap cap_net_raw,cap_net_admin+ep {exe}`"
            ),
        )
    } else {
        err.to_string()
    };
    Error::LiveCapture { interface: interface.to_string(), detail }
}

/// setsockopt(2) with a value of any plain type.
fn setsockopt<T>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `fd` is borrowed, so it stays open for the call; the pointer
    // and length describe `value`, a live `T` the kernel only reads.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
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

fn setsockopt_int(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    setsockopt(fd, level, name, &value)
}

/// Reads and resets the kernel's counters of the packet socket.
fn packet_statistics(fd: BorrowedFd<'_>) -> io::Result<CaptureStats> {
    #[repr(C)]
    #[derive(Default)]
    struct TpacketStats {
        tp_packets: u32,
        tp_drops: u32,
    }
    let mut stats = TpacketStats::default();
    let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: `fd` is borrowed, so open; `stats` is a writable
    // `struct tpacket_stats` (repr(C), two u32) and `len` holds its size, so
    // the kernel writes no further.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
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
fn receive_time(fd: BorrowedFd<'_>) -> Option<Timestamp> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `fd` is borrowed, so open; SIOCGSTAMPNS writes exactly one
    // `struct timespec`, and `ts` is one, writable.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    (rc == 0).then_some(Timestamp { secs: ts.tv_sec, nanos: ts.tv_nsec as u32 })
}

fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_nanos() }
}

/// Opens the packet socket as NOTES.md prescribes.
fn open_socket() -> io::Result<OwnedFd> {
    // Protocol 0: nothing is queued until pnet binds it to the interface.
    // socket2 sets SOCK_CLOEXEC, so a lab's child processes do not inherit it.
    let socket: OwnedFd = socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, None)?.into();
    setsockopt_int(socket.as_fd(), SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)?;
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back to SO_RCVBUF (capped by rmem_max).
    if setsockopt_int(socket.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RECEIVE_BUFFER).is_err() {
        setsockopt_int(socket.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, RECEIVE_BUFFER)?;
    }
    Ok(socket)
}

impl LiveCapture {
    /// Starts capturing on `interface` (e.g. "lo"): frames with one of `ports`
    /// (None: every frame), at most `snaplen` bytes of each (None: whole
    /// frames). Capture is live when this returns.
    pub fn start(interface: &str, ports: Option<&[u16]>, snaplen: Option<u32>, reader: Reader) -> Result<LiveCapture> {
        if std::env::var_os("WIRELAB_SIMULATE_NO_CAPTURE").is_some() {
            return Err(privilege_advice(interface, &io::Error::from_raw_os_error(libc::EPERM)));
        }
        let iface = pnet_datalink::interfaces().into_iter().find(|i| i.name == interface).ok_or_else(|| {
            Error::LiveCapture {
                interface: interface.to_string(),
                detail: crate::i18n::tr("no such network interface", "没有这个网络接口").into(),
            }
        })?;
        let saving = matches!(reader, Reader::Sniff { saving: true });
        let blocks = if saving && snaplen.is_none() { ring::BLOCKS_SAVING } else { ring::BLOCKS };
        let lend = matches!(reader, Reader::Sniff { .. });
        let snaplen = snaplen.map_or(READ_BUFFER as u32, |n| n.max(64));
        // Every error return below drops `socket`, which closes it once.
        let socket = open_socket().map_err(|e| privilege_advice(interface, &e))?;
        attach_filter(socket.as_fd(), &mut filter_program(ports, snaplen))
            .map_err(|e| Error::io("attaching the capture filter", e))?;
        let ring = if std::env::var_os("WIRELAB_NO_RING").is_some() {
            Err(io::Error::other("WIRELAB_NO_RING is set"))
        } else {
            // Where the kernel cannot give the larger ring, the usual one.
            ring::Ring::new(socket.as_fd(), blocks).or_else(|e| match blocks {
                ring::BLOCKS => Err(e),
                _ => ring::Ring::new(socket.as_fd(), ring::BLOCKS),
            })
        };
        match ring {
            Ok(ring) => {
                ring::bind(socket.as_fd(), iface.index).map_err(|e| privilege_advice(interface, &e))?;
                return Self::from_ring(socket, ring, snaplen, lend);
            }
            Err(e) => eprintln!(
                "wirelab: {}",
                crate::i18n::either(
                    format!("no memory-mapped capture ring ({e}); reading frame by frame, which loses more under load"),
                    format!("无法使用内存映射的抓包环形缓冲区（{e}）；改为逐帧读取，负载高时丢包更多"),
                )
            ),
        }
        // The ring may have switched the socket's version: start afresh.
        drop(socket);
        let socket = open_socket().map_err(|e| privilege_advice(interface, &e))?;
        attach_filter(socket.as_fd(), &mut filter_program(ports, snaplen))
            .map_err(|e| Error::io("attaching the capture filter", e))?;
        // pnet_datalink 0.35 takes ownership of `socket_fd`: `channel()` closes
        // it on each of its error paths and otherwise wraps it in a
        // `pnet_sys::FileDesc`, which closes it when the receiver (and sender)
        // are dropped. So pnet gets a duplicate of its own (same socket, same
        // filter and counters) and `socket` stays ours: we keep using it for
        // the filter, timestamps and counters without depending on when pnet
        // closes its descriptor, and each descriptor is closed exactly once,
        // by its single owner.
        let for_pnet = socket.try_clone().map_err(|e| Error::io("duplicating the capture socket", e))?;
        let config = pnet_datalink::Config {
            read_buffer_size: READ_BUFFER,
            read_timeout: Some(POLL_INTERVAL),
            promiscuous: false,
            socket_fd: Some(for_pnet.into_raw_fd()),
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
        Self::running(socket, snaplen, None, move |fd, tx, stop_flag| {
            let mut stats = CaptureStats::default();
            loop {
                match rx.next() {
                    Ok(bytes) => {
                        let ts = receive_time(fd.as_fd()).unwrap_or_else(wall_clock);
                        let frame = LiveFrame {
                            ts,
                            orig_len: wire_length(bytes),
                            data: bytes.to_vec().into(),
                            wire: None,
                            timing: None,
                        };
                        if tx.send(frame).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                if stop_flag.load(Ordering::Relaxed) {
                    // Drain what is already queued, then stop.
                    let s = packet_statistics(fd.as_fd())?;
                    stats.received += s.received;
                    stats.dropped += s.dropped;
                    break;
                }
            }
            drop(rx);
            Ok(stats)
        })
    }

    /// Starts `read`, the capture thread, on the bound socket: capture is live.
    fn running(
        socket: OwnedFd,
        snaplen: u32,
        recycle: Option<mpsc::Sender<Vec<u8>>>,
        read: impl FnOnce(&OwnedFd, mpsc::Sender<LiveFrame>, &AtomicBool) -> io::Result<CaptureStats> + Send + 'static,
    ) -> Result<LiveCapture> {
        // Discard what the kernel counted before we were ready.
        let _ = packet_statistics(socket.as_fd());
        let socket = Arc::new(socket);
        let fd = Arc::clone(&socket);
        let (tx, frames) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wirelab-capture".into())
            .spawn(move || read(&fd, tx, &stop_flag))
            .map_err(|e| Error::io("starting the capture thread", e))?;
        Ok(LiveCapture {
            frames,
            stop,
            thread: Some(thread),
            link: LinkType::ETHERNET,
            socket: Some(socket),
            snaplen,
            recycle,
        })
    }

    /// Where a consumer may give frame buffers back once done with them: the
    /// reader fills them again instead of allocating, so a long full-frame
    /// capture does not fault in fresh memory for every frame. None when the
    /// reader allocates anyway (the frame-by-frame path).
    pub fn recycler(&self) -> Option<mpsc::Sender<Vec<u8>>> {
        self.recycle.clone()
    }

    /// The capture thread on a mapped ring (the socket is bound: capture is live).
    /// `lend`: frames are handed over in place ([`FrameBytes::Ring`]), else copied.
    fn from_ring(socket: OwnedFd, ring: ring::Ring, snaplen: u32, lend: bool) -> Result<LiveCapture> {
        if lend {
            return Self::lending(socket, ring, snaplen);
        }
        Self::copying(socket, ring, snaplen)
    }

    /// The capture thread on a ring whose blocks are lent out: no copy; a
    /// block goes back to the kernel when its last frame is dropped.
    fn lending(socket: OwnedFd, mut ring: ring::Ring, snaplen: u32) -> Result<LiveCapture> {
        Self::running(socket, snaplen, None, move |fd, tx, stop_flag| {
            'capture: loop {
                // Read before draining, so what was handed over before a stop is kept.
                let stopping = stop_flag.load(Ordering::Relaxed);
                let next = loop {
                    let lent = match ring.lend() {
                        ring::Next::Ready(lent) => std::sync::Arc::new(lent),
                        other => break other,
                    };
                    for f in lent.block().frames().filter(received) {
                        let bytes = FrameBytes::Ring(ring::RingBytes::new(&lent, f.data));
                        if tx.send(LiveFrame::from_ring(&f, bytes)).is_err() {
                            break 'capture;
                        }
                    }
                };
                if stopping {
                    break;
                }
                match next {
                    // The kernel wakes us when it has filled a block, unless
                    // blocks are lent out: then poll would return at once.
                    ring::Next::Empty if !ring.any_lent() => ring::wait(fd.as_fd(), POLL_INTERVAL)?,
                    // Blocks are out (or the next one still is): a moment,
                    // well inside the ring's 4 ms block timeout.
                    _ => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            packet_statistics(fd.as_fd())
        })
    }

    /// The capture thread on a ring whose frames are copied out.
    fn copying(socket: OwnedFd, mut ring: ring::Ring, snaplen: u32) -> Result<LiveCapture> {
        let (recycle, recycled) = mpsc::channel::<Vec<u8>>();
        Self::running(socket, snaplen, Some(recycle), move |fd, tx, stop_flag| {
            'capture: loop {
                // Read before draining, so what was handed over before a stop is kept.
                let stopping = stop_flag.load(Ordering::Relaxed);
                let mut idle = true;
                while let Some(held) = ring.ready() {
                    idle = false;
                    for f in held.block().frames().filter(received) {
                        let mut data = recycled.try_recv().unwrap_or_default();
                        data.clear();
                        data.extend_from_slice(f.data);
                        if tx.send(LiveFrame::from_ring(&f, FrameBytes::Owned(data))).is_err() {
                            break 'capture;
                        }
                    }
                }
                if stopping {
                    break;
                }
                if idle {
                    ring::wait(fd.as_fd(), POLL_INTERVAL)?;
                }
            }
            let stats = packet_statistics(fd.as_fd())?;
            drop(ring);
            Ok(stats)
        })
    }

    /// Replaces the kernel filter: keep frames with one of `ports` from now on.
    pub fn set_ports(&self, ports: &[u16]) -> Result<()> {
        let Some(socket) = &self.socket else {
            return Ok(());
        };
        attach_filter(socket.as_fd(), &mut filter_program(Some(ports), self.snaplen))
            .map_err(|e| Error::io("updating the capture filter", e))
    }

    /// Stops capturing and returns the kernel's counters.
    pub fn stop(&mut self) -> Result<CaptureStats> {
        self.stop.store(true, Ordering::Relaxed);
        let result = match self.thread.take() {
            Some(t) => match t.join() {
                Ok(r) => r.map_err(|e| Error::io("capturing", e)),
                Err(_) => Err(Error::io("capture thread", io::Error::other("panicked"))),
            },
            None => Ok(CaptureStats::default()),
        };
        // The thread has ended and dropped its handle: this closes the socket.
        self.socket = None;
        result
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::bpf::{self, op, Insn, Target};
    use super::frame::*;
    use super::*;

    /// Runs a classic BPF program the way the kernel does for the opcodes we
    /// emit: a load past the end of the frame drops it (returns 0).
    fn run(program: &[libc::sock_filter], frame: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |at: u32| frame.get(at as usize).map(|&b| b as u32);
        let half = |at: u32| Some(byte(at)? << 8 | byte(at.checked_add(1)?)?);
        loop {
            let i = program[pc];
            pc += 1;
            match i.code {
                op::LDH_ABS => match half(i.k) {
                    Some(v) => a = v,
                    None => return 0,
                },
                op::LDB_ABS => match byte(i.k) {
                    Some(v) => a = v,
                    None => return 0,
                },
                op::LDH_IND => match half(x.wrapping_add(i.k)) {
                    Some(v) => a = v,
                    None => return 0,
                },
                op::LDXB_MSH => match byte(i.k) {
                    Some(v) => x = 4 * (v & 0xf),
                    None => return 0,
                },
                op::JEQ_K => pc += if a == i.k { i.jt } else { i.jf } as usize,
                op::JA => pc += i.k as usize,
                op::RET_K => return i.k,
                other => panic!("opcode {other:#x} not emitted by the builder"),
            }
        }
    }

    /// The kernel's checks at attach time (bpf_check_classic) that concern
    /// these opcodes: length, jumps inside the program, ends with a return.
    fn check(program: &[libc::sock_filter]) {
        assert!(!program.is_empty() && program.len() <= bpf::MAX_INSNS, "{} instructions", program.len());
        for (pc, i) in program.iter().enumerate() {
            let after = |off: usize| pc + 1 + off;
            match i.code {
                op::JA => assert!(after(i.k as usize) < program.len(), "ja at {pc} leaves the program"),
                op::JEQ_K => {
                    assert!(after(i.jt as usize) < program.len(), "jt at {pc} leaves the program");
                    assert!(after(i.jf as usize) < program.len(), "jf at {pc} leaves the program");
                }
                _ => {}
            }
        }
        assert_eq!(program.last().unwrap().code, op::RET_K);
    }

    fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; ETH_HEADER as usize];
        f[ETHERTYPE_AT as usize..][..2].copy_from_slice(&ether_type.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// An IPv4 packet with `options_words` 32-bit words of options, so the
    /// ports are not at a fixed offset.
    fn ipv4(protocol: u32, options_words: u8, l4: &[u8]) -> Vec<u8> {
        let header = 20 + 4 * options_words as usize;
        let mut p = vec![0u8; header];
        p[0] = 0x40 | (5 + options_words);
        p[(IPV4_TOTAL_LEN_AT - ETH_HEADER) as usize..][..2]
            .copy_from_slice(&((header + l4.len()) as u16).to_be_bytes());
        p[(IPV4_PROTOCOL_AT - ETH_HEADER) as usize] = protocol as u8;
        p.extend_from_slice(l4);
        ethernet(ETHERTYPE_IPV4, &p)
    }

    fn ipv6(next_header: u32, l4: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; IPV6_HEADER as usize];
        p[0] = 0x60;
        p[(IPV6_PAYLOAD_LEN_AT - ETH_HEADER) as usize..][..2].copy_from_slice(&(l4.len() as u16).to_be_bytes());
        p[(IPV6_NEXT_HEADER_AT - ETH_HEADER) as usize] = next_header as u8;
        p.extend_from_slice(l4);
        ethernet(ETHERTYPE_IPV6, &p)
    }

    /// A TCP (20-byte) or UDP (8-byte) header.
    fn l4(protocol: u32, sport: u16, dport: u16) -> Vec<u8> {
        let mut h = vec![0u8; if protocol == TCP { 20 } else { 8 }];
        h[SRC_PORT_AT as usize..][..2].copy_from_slice(&sport.to_be_bytes());
        h[DST_PORT_AT as usize..][..2].copy_from_slice(&dport.to_be_bytes());
        h
    }

    /// Every kind of frame that carries these ports.
    fn frames(sport: u16, dport: u16) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("IPv4/TCP", ipv4(TCP, 0, &l4(TCP, sport, dport))),
            ("IPv4/TCP with options", ipv4(TCP, 3, &l4(TCP, sport, dport))),
            ("IPv4/UDP", ipv4(UDP, 0, &l4(UDP, sport, dport))),
            ("IPv6/TCP", ipv6(TCP, &l4(TCP, sport, dport))),
            ("IPv6/UDP", ipv6(UDP, &l4(UDP, sport, dport))),
        ]
    }

    /// `n` distinct ports, spread out and not in order.
    fn ports(n: usize) -> Vec<u16> {
        (0..n).map(|i| (1024 + (i * 7919) % 60000) as u16).collect()
    }

    /// Ports in none of the lists of [`ports`] (it only reaches 1024..61024).
    const UNLISTED: [u16; 3] = [1, 1023, 65535];
    const SNAPLEN: u32 = 128;

    /// Distinct ports that still fit, found by search.
    fn max_ports() -> usize {
        let (mut fits, mut too_many) = (0, 4096);
        while too_many - fits > 1 {
            let mid = (fits + too_many) / 2;
            if port_filter(&ports(mid), SNAPLEN).is_ok() {
                fits = mid;
            } else {
                too_many = mid;
            }
        }
        fits
    }

    fn assert_filters_ports(n: usize) {
        let listed = ports(n);
        let program = port_filter(&listed, SNAPLEN).unwrap_or_else(|e| panic!("{n} ports: {e}"));
        check(&program);
        let other = UNLISTED[0];
        for (i, &port) in listed.iter().enumerate() {
            for (to_listed, from_listed) in [(other, port), (port, other)] {
                for (kind, frame) in frames(to_listed, from_listed) {
                    assert_eq!(run(&program, &frame), SNAPLEN, "{n} ports: {kind} {to_listed} -> {from_listed} (#{i})");
                }
            }
        }
        for sport in UNLISTED {
            for dport in UNLISTED {
                for (kind, frame) in frames(sport, dport) {
                    assert_eq!(run(&program, &frame), 0, "{n} ports: {kind} {sport} -> {dport} is not listed");
                }
            }
        }
        // Whatever the ports: ICMP errors kept (user space matches the
        // ports they quote), other protocols and ARP dropped.
        assert_eq!(run(&program, &ipv4(ICMP, 0, &[3, 3, 0, 0])), SNAPLEN);
        assert_eq!(run(&program, &ipv6(ICMPV6, &[1, 4, 0, 0])), SNAPLEN);
        assert_eq!(run(&program, &ipv4(47, 0, &l4(TCP, listed[0], listed[0]))), 0);
        assert_eq!(run(&program, &ethernet(0x0806, &[0; 28])), 0);
        // Cut before the ports: the kernel's load fails, the frame is dropped.
        assert_eq!(run(&program, &ipv4(TCP, 0, &[])), 0);
    }

    #[test]
    fn filter_keeps_listed_ports_for_10_64_65_300_ports() {
        for n in [1, 10, 63, 64, 65, 300] {
            assert_filters_ports(n);
        }
    }

    #[test]
    fn filter_keeps_listed_ports_up_to_the_most_that_fit() {
        let max = max_ports();
        // 4 instructions per port, ~19 more and the trampolines.
        assert!((1000..1024).contains(&max), "{max} ports fit");
        assert_filters_ports(max);
        let too_many = port_filter(&ports(max + 1), SNAPLEN).unwrap_err();
        assert!(too_many.len > bpf::MAX_INSNS);
        assert!(!ports_fit_kernel_filter(&ports(max + 1)));
        // Beyond that, every frame is kept and user space matches the ports.
        let fallback = filter_program(Some(&ports(max + 1)), SNAPLEN);
        assert_eq!(fallback.len(), 1);
        for (kind, frame) in frames(UNLISTED[0], UNLISTED[1]) {
            assert_eq!(run(&fallback, &frame), SNAPLEN, "{kind}");
        }
    }

    #[test]
    fn duplicate_ports_cost_nothing() {
        let twice: Vec<u16> = ports(600).iter().chain(&ports(600)).copied().collect();
        assert_eq!(tuples(&port_filter(&twice, SNAPLEN).unwrap()), tuples(&port_filter(&ports(600), SNAPLEN).unwrap()));
    }

    #[test]
    fn no_ports_keeps_every_frame() {
        let program = filter_program(None, SNAPLEN);
        check(&program);
        for (kind, frame) in frames(UNLISTED[0], UNLISTED[1]) {
            assert_eq!(run(&program, &frame), SNAPLEN, "{kind}");
        }
    }

    fn tuples(program: &[libc::sock_filter]) -> Vec<(u16, u8, u8, u32)> {
        program.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    /// Few ports: the same program, instruction for instruction, as before
    /// jumps could be long (recorded from the previous builder).
    #[test]
    #[rustfmt::skip]
    fn few_ports_program_unchanged() {
        let two: &[(u16, u8, u8, u32)] = &[
            (0x28, 0, 0, 0xc), (0x15, 1, 0, 0x800), (0x15, 12, 22, 0x86dd), (0x30, 0, 0, 0x17), (0x15, 21, 0, 0x1),
            (0x15, 1, 0, 0x6), (0x15, 0, 18, 0x11), (0xb1, 0, 0, 0xe), (0x48, 0, 0, 0xe), (0x15, 16, 0, 0x50),
            (0x15, 15, 0, 0x1bb), (0x48, 0, 0, 0x10), (0x15, 13, 0, 0x50), (0x15, 12, 0, 0x1bb), (0x05, 0, 0, 0xa),
            (0x30, 0, 0, 0x14), (0x15, 9, 0, 0x3a), (0x15, 1, 0, 0x6), (0x15, 0, 6, 0x11), (0x28, 0, 0, 0x36),
            (0x15, 5, 0, 0x50), (0x15, 4, 0, 0x1bb), (0x28, 0, 0, 0x38), (0x15, 2, 0, 0x50), (0x15, 1, 0, 0x1bb),
            (0x06, 0, 0, 0x0), (0x06, 0, 0, 0x80),
        ];
        let none: &[(u16, u8, u8, u32)] = &[
            (0x28, 0, 0, 0xc), (0x15, 1, 0, 0x800), (0x15, 8, 14, 0x86dd), (0x30, 0, 0, 0x17), (0x15, 13, 0, 0x1),
            (0x15, 1, 0, 0x6), (0x15, 0, 10, 0x11), (0xb1, 0, 0, 0xe), (0x48, 0, 0, 0xe), (0x48, 0, 0, 0x10),
            (0x05, 0, 0, 0x6), (0x30, 0, 0, 0x14), (0x15, 5, 0, 0x3a), (0x15, 1, 0, 0x6), (0x15, 0, 2, 0x11),
            (0x28, 0, 0, 0x36), (0x28, 0, 0, 0x38), (0x06, 0, 0, 0x0), (0x06, 0, 0, 0x40000),
        ];
        let ten: &[(u16, u8, u8, u32)] = &[
            (0x28, 0, 0, 0xc), (0x15, 1, 0, 0x800), (0x15, 28, 54, 0x86dd), (0x30, 0, 0, 0x17), (0x15, 53, 0, 0x1),
            (0x15, 1, 0, 0x6), (0x15, 0, 50, 0x11), (0xb1, 0, 0, 0xe), (0x48, 0, 0, 0xe), (0x15, 48, 0, 0x7),
            (0x15, 47, 0, 0x8), (0x15, 46, 0, 0x9), (0x15, 45, 0, 0xa), (0x15, 44, 0, 0xb), (0x15, 43, 0, 0xc),
            (0x15, 42, 0, 0xd), (0x15, 41, 0, 0xe), (0x15, 40, 0, 0xf), (0x15, 39, 0, 0x10), (0x48, 0, 0, 0x10),
            (0x15, 37, 0, 0x7), (0x15, 36, 0, 0x8), (0x15, 35, 0, 0x9), (0x15, 34, 0, 0xa), (0x15, 33, 0, 0xb),
            (0x15, 32, 0, 0xc), (0x15, 31, 0, 0xd), (0x15, 30, 0, 0xe), (0x15, 29, 0, 0xf), (0x15, 28, 0, 0x10),
            (0x05, 0, 0, 0x1a), (0x30, 0, 0, 0x14), (0x15, 25, 0, 0x3a), (0x15, 1, 0, 0x6), (0x15, 0, 22, 0x11),
            (0x28, 0, 0, 0x36), (0x15, 21, 0, 0x7), (0x15, 20, 0, 0x8), (0x15, 19, 0, 0x9), (0x15, 18, 0, 0xa),
            (0x15, 17, 0, 0xb), (0x15, 16, 0, 0xc), (0x15, 15, 0, 0xd), (0x15, 14, 0, 0xe), (0x15, 13, 0, 0xf),
            (0x15, 12, 0, 0x10), (0x28, 0, 0, 0x38), (0x15, 10, 0, 0x7), (0x15, 9, 0, 0x8), (0x15, 8, 0, 0x9),
            (0x15, 7, 0, 0xa), (0x15, 6, 0, 0xb), (0x15, 5, 0, 0xc), (0x15, 4, 0, 0xd), (0x15, 3, 0, 0xe),
            (0x15, 2, 0, 0xf), (0x15, 1, 0, 0x10), (0x06, 0, 0, 0x0), (0x06, 0, 0, 0x60),
        ];
        assert_eq!(tuples(&filter_program(Some(&[80, 443]), 128)), two);
        assert_eq!(tuples(&filter_program(Some(&[]), 262144)), none);
        assert_eq!(tuples(&filter_program(Some(&[7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), 96)), ten);
    }

    /// The assembler on its own: far jumps from either branch, several far
    /// labels pending at once, a skip only where control can fall through.
    #[test]
    fn far_conditional_jumps_go_through_trampolines() {
        for gap in [0, 200, 250, 253, 254, 255, 256, 257, 300, 1000, 3000] {
            let mut p = bpf::Program::new();
            let [far_yes, far_no, end] = [(); 3].map(|_| p.label());
            p.push(Insn::LoadByte(0));
            p.push(Insn::JumpIfEqual { k: 1, yes: Target::To(far_yes), no: Target::Next });
            p.push(Insn::JumpIfEqual { k: 2, yes: Target::Next, no: Target::To(far_no) });
            p.push(Insn::Return(2));
            for _ in 0..gap {
                p.push(Insn::LoadByte(0));
            }
            p.push(Insn::Goto(end));
            p.bind(far_yes);
            p.push(Insn::Return(1));
            p.bind(far_no);
            p.push(Insn::Return(3));
            p.bind(end);
            p.push(Insn::Return(4));
            let program = p.assemble().unwrap();
            check(&program);
            assert_eq!(run(&program, &[1]), 1, "gap {gap}");
            assert_eq!(run(&program, &[2]), 2, "gap {gap}");
            assert_eq!(run(&program, &[3]), 3, "gap {gap}");
            let islands = program.len() - (gap + 8);
            assert_eq!(islands == 0, gap < 250, "gap {gap}: {islands} instructions of trampolines");
        }
    }

    /// The kernel's own verdict on the programs (SO_ATTACH_FILTER works on
    /// any socket, so no privilege is needed), and its limit.
    #[test]
    fn kernel_accepts_the_largest_program() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for n in [300, max_ports()] {
            let mut program = port_filter(&ports(n), SNAPLEN).unwrap();
            attach_filter(socket.as_fd(), &mut program).unwrap_or_else(|e| panic!("{n} ports: {e}"));
        }
        let mut too_long = keep_all(SNAPLEN).repeat(bpf::MAX_INSNS + 1);
        let err = attach_filter(socket.as_fd(), &mut too_long).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn wire_length_from_the_ip_header() {
        let v4 = ipv4(TCP, 0, &l4(TCP, 1, 2));
        assert_eq!(wire_length(&v4), v4.len() as u32);
        assert_eq!(wire_length(&v4[..40]), v4.len() as u32);
        let v6 = ipv6(UDP, &l4(UDP, 1, 2));
        assert_eq!(wire_length(&v6[..60]), v6.len() as u32);
        assert_eq!(wire_length(&[0; 10]), 10);
    }
}
