//! Private network namespaces and the TAP interface that joins each one to
//! wirelab's forwarder.
//!
//! Nothing here has a name outside wirelab: a namespace is made by
//! `unshare(CLONE_NEWNET)` in a short-lived thread and kept alive only by
//! the descriptor wirelab holds; its TAP interface lives only as long as the
//! descriptor that created it. When wirelab exits — normally, on Ctrl-C, or
//! killed with `kill -9` — the kernel closes both and removes the namespace
//! with its interface, routes and sockets. So `ip netns list` and `ip link`
//! never see anything of a lab, and there are no left-overs to clean up.
//!
//! Interface settings use the classic socket ioctls (SIOCSIFADDR …, SIOCSARP),
//! which need no netlink library and no `ip` program.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The name of the TAP interface inside each namespace.
pub const TAP_NAME: &CStr = c"wl0";

/// `linux/if_arp.h`: a complete, permanent neighbour entry.
const ATF_COM: libc::c_int = 0x02;
const ATF_PERM: libc::c_int = 0x04;
/// `linux/if_arp.h`: Ethernet hardware addresses.
const ARPHRD_ETHER: libc::sa_family_t = 1;

/// A network namespace, alive while this value is.
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
}

fn check(r: libc::c_int, what: &str) -> io::Result<()> {
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

impl Netns {
    /// A new, empty namespace (only `lo`, brought up). Needs CAP_SYS_ADMIN.
    pub fn new_private() -> io::Result<Netns> {
        std::thread::scope(|s| {
            s.spawn(|| -> io::Result<Netns> {
                // SAFETY: unshare has no memory effects; it moves only this
                // thread, which ends right after.
                check(unsafe { libc::unshare(libc::CLONE_NEWNET) }, "unshare(CLONE_NEWNET)")?;
                let fd: OwnedFd = File::open("/proc/thread-self/ns/net")?.into();
                set_flags(c"lo", libc::IFF_UP as libc::c_short)?;
                // IPv6 would add router solicitations and MLD reports to a
                // lab's wire; the labs are IPv4.
                for conf in ["all", "default"] {
                    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6"), "1");
                }
                Ok(Netns { fd })
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
        })
    }

    /// The namespace's descriptor, for `setns(fd, CLONE_NEWNET)` in a child
    /// process before it runs a program (`lab run --program`).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    /// Runs `f` in a thread that lives in this namespace: sockets it creates
    /// belong here, and `/proc/thread-self/net` shows this namespace's tables.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| -> io::Result<T> {
                // SAFETY: the fd is a namespace descriptor we own; setns moves
                // only this thread, which ends right after `f`.
                check(unsafe { libc::setns(self.fd.as_raw_fd(), libc::CLONE_NEWNET) }, "setns")?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
        })
    }
}

/// A socket for interface ioctls in the calling thread's namespace.
fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd, "socket")?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq(name: &CStr) -> libc::ifreq {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.to_bytes()) {
        *dst = *src as libc::c_char;
    }
    req
}

fn sockaddr_in(ip: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size on Linux; the
    // kernel reads it as sockaddr_in because of sin_family.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

fn sockaddr_mac(mac: [u8; 6]) -> libc::sockaddr {
    // SAFETY: sockaddr is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr = unsafe { std::mem::zeroed() };
    sa.sa_family = ARPHRD_ETHER;
    for (dst, src) in sa.sa_data.iter_mut().zip(mac) {
        *dst = src as libc::c_char;
    }
    sa
}

fn ioctl(sock: &OwnedFd, request: libc::c_ulong, arg: *mut libc::c_void, what: &str) -> io::Result<()> {
    // SAFETY: every caller passes a pointer to the struct `request` expects
    // (ifreq or arpreq), alive for the call.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), request as _, arg) }, what)
}

fn set_flags(name: &CStr, add: libc::c_short) -> io::Result<()> {
    let sock = ioctl_socket()?;
    let mut req = ifreq(name);
    ioctl(&sock, libc::SIOCGIFFLAGS, &mut req as *mut _ as *mut _, "SIOCGIFFLAGS")?;
    // SAFETY: SIOCGIFFLAGS filled the flags member.
    unsafe { req.ifr_ifru.ifru_flags |= add };
    ioctl(&sock, libc::SIOCSIFFLAGS, &mut req as *mut _ as *mut _, "SIOCSIFFLAGS")
}

/// How one host's interface is set up.
#[derive(Clone, Debug)]
pub struct TapConfig {
    /// The host's address.
    pub addr: Ipv4Addr,
    /// Prefix length of the lab's subnet.
    pub prefix: u8,
    /// The interface's Ethernet address.
    pub mac: [u8; 6],
    /// The other hosts' addresses and MACs (static neighbour entries: no ARP on the wire).
    pub neighbours: Vec<(Ipv4Addr, [u8; 6])>,
}

/// Creates the TAP interface in the calling thread's namespace, addresses
/// it and brings it up; returns the descriptor wirelab reads and writes
/// its frames with (non-blocking).
///
/// Without `IFF_VNET_HDR` and without TUNSETOFFLOAD, a TAP has no checksum
/// or segmentation offload: the kernel hands over complete frames of at most
/// the MTU with real checksums, and checks the checksum of every frame
/// written to it — a corrupted frame is dropped by the receiving TCP, as on
/// a real wire.
pub fn create_tap(cfg: &TapConfig) -> io::Result<OwnedFd> {
    let tap: OwnedFd = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun")?.into();
    let mut req = ifreq(TAP_NAME);
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    ioctl(&tap, libc::TUNSETIFF as libc::c_ulong, &mut req as *mut _ as *mut _, "TUNSETIFF")?;
    // SAFETY: fcntl on an fd we own.
    check(unsafe { libc::fcntl(tap.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) }, "O_NONBLOCK")?;

    let sock = ioctl_socket()?;
    let mut req = ifreq(TAP_NAME);
    req.ifr_ifru.ifru_hwaddr = sockaddr_mac(cfg.mac);
    ioctl(&sock, libc::SIOCSIFHWADDR, &mut req as *mut _ as *mut _, "SIOCSIFHWADDR")?;
    let mut req = ifreq(TAP_NAME);
    req.ifr_ifru.ifru_addr = sockaddr_in(cfg.addr);
    ioctl(&sock, libc::SIOCSIFADDR, &mut req as *mut _ as *mut _, "SIOCSIFADDR")?;
    let mask = Ipv4Addr::from(u32::MAX.checked_shl(32 - cfg.prefix as u32).unwrap_or(0));
    let mut req = ifreq(TAP_NAME);
    req.ifr_ifru.ifru_netmask = sockaddr_in(mask);
    ioctl(&sock, libc::SIOCSIFNETMASK, &mut req as *mut _ as *mut _, "SIOCSIFNETMASK")?;
    let broadcast = Ipv4Addr::from(u32::from(cfg.addr) | !u32::from(mask));
    let mut req = ifreq(TAP_NAME);
    req.ifr_ifru.ifru_broadaddr = sockaddr_in(broadcast);
    ioctl(&sock, libc::SIOCSIFBRDADDR, &mut req as *mut _ as *mut _, "SIOCSIFBRDADDR")?;
    set_flags(TAP_NAME, (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short)?;
    for (ip, mac) in &cfg.neighbours {
        // SAFETY: arpreq is plain old data; all-zero is a valid value.
        let mut arp: libc::arpreq = unsafe { std::mem::zeroed() };
        arp.arp_pa = sockaddr_in(*ip);
        arp.arp_ha = sockaddr_mac(*mac);
        arp.arp_flags = ATF_COM | ATF_PERM;
        for (dst, src) in arp.arp_dev.iter_mut().zip(TAP_NAME.to_bytes()) {
            *dst = *src as libc::c_char;
        }
        ioctl(&sock, libc::SIOCSARP, &mut arp as *mut _ as *mut _, "SIOCSARP")?;
    }
    Ok(tap)
}

/// Writes a `net.ipv4.*` sysctl of the calling thread's namespace.
pub fn set_sysctl(name: &str, value: i64) -> io::Result<()> {
    let path = format!("/proc/sys/net/ipv4/{name}");
    std::fs::write(&path, value.to_string()).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}
