//! The kernel's own view of sockets: `/proc/net/{tcp,tcp6,udp,udp6}`.
//!
//! Each row gives a socket's local and remote address, its state and its
//! timer. For TIME_WAIT the timer (`tr` = 3) counts down from 60 s
//! (TCP_TIMEWAIT_LEN) in USER_HZ ticks, as measured in NOTES.md.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Transport of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// From tcp/tcp6.
    Tcp,
    /// From udp/udp6.
    Udp,
}

/// One socket as the kernel lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelSocket {
    /// TCP or UDP.
    pub proto: Proto,
    /// Local address.
    pub local: SocketAddr,
    /// Remote address (unspecified:0 when not connected).
    pub remote: SocketAddr,
    /// Linux state name (ESTABLISHED, TIME_WAIT, LISTEN … ; UDP: UNCONNECTED or ESTABLISHED).
    pub state: &'static str,
    /// Bytes in the send queue (for LISTEN: the backlog).
    pub tx_queue: u64,
    /// Bytes in the receive queue (for LISTEN: connections waiting for accept()).
    pub rx_queue: u64,
    /// Seconds left on the active timer, if one runs.
    pub timer_s: Option<f64>,
    /// Which timer: 1 retransmit, 2 keep-alive, 3 TIME_WAIT, 4 zero-window probe.
    pub timer_kind: u8,
    /// The socket's inode; 0 when no file refers to it any more (TIME_WAIT,
    /// a closed socket finishing its FIN exchange, a connection not accepted yet).
    pub inode: u64,
}

/// `timer_kind` of a socket whose retransmission (or loss-probe) timer runs:
/// something it sent is not acknowledged yet.
pub const TIMER_RETRANSMIT: u8 = 1;

/// Linux TCP state numbers (include/net/tcp_states.h).
fn tcp_state(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0a => "LISTEN",
        0x0b => "CLOSING",
        0x0c => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

/// Parses "0100007F:1F90" (IPv4) or the 32-hex-digit IPv6 form. The address
/// words are in host byte order.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                let word = u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).ok()?;
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Parses the text of one `/proc/net/{tcp,udp}[6]` file.
pub fn parse(text: &str, proto: Proto) -> Vec<KernelSocket> {
    let hz = clock_ticks();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 7 {
                return None;
            }
            let local = parse_addr(f[1])?;
            let remote = parse_addr(f[2])?;
            let code = u8::from_str_radix(f[3], 16).ok()?;
            let (tx, rx) = f[4].split_once(':')?;
            let (tr, when) = f[5].split_once(':')?;
            let timer_kind = u8::from_str_radix(tr, 16).ok()?;
            let when = u64::from_str_radix(when, 16).ok()?;
            let state = match proto {
                Proto::Tcp => tcp_state(code),
                Proto::Udp if code == 0x01 => "ESTABLISHED",
                Proto::Udp => "UNCONNECTED",
            };
            Some(KernelSocket {
                proto,
                local,
                remote,
                state,
                tx_queue: u64::from_str_radix(tx, 16).ok()?,
                rx_queue: u64::from_str_radix(rx, 16).ok()?,
                timer_s: (timer_kind != 0).then_some(when as f64 / hz),
                timer_kind,
                inode: f.get(9).and_then(|i| i.parse().ok()).unwrap_or(0),
            })
        })
        .collect()
}

/// Every TCP and UDP socket of the calling thread's network namespace
/// (`thread-self`: a thread may have entered a lab wire's namespace).
pub fn snapshot() -> Vec<KernelSocket> {
    let mut all = Vec::new();
    for (file, proto) in [
        ("/proc/thread-self/net/tcp", Proto::Tcp),
        ("/proc/thread-self/net/tcp6", Proto::Tcp),
        ("/proc/thread-self/net/udp", Proto::Udp),
        ("/proc/thread-self/net/udp6", Proto::Udp),
    ] {
        if let Ok(text) = std::fs::read_to_string(file) {
            all.extend(parse(&text, proto));
        }
    }
    all
}

/// Segments and datagrams the calling thread's namespace discarded for a
/// bad checksum: `Tcp: InCsumErrors` and `Udp: InCsumErrors` of `/proc/net/snmp`.
pub fn checksum_errors() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/net/snmp").ok()?;
    Some((snmp_value(&text, "Tcp:", "InCsumErrors")?, snmp_value(&text, "Udp:", "InCsumErrors")?))
}

/// A counter of `/proc/net/snmp`: a header line of names, then a line of values.
fn snmp_value(text: &str, prefix: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with(prefix));
    let names = lines.next()?;
    let values = lines.next()?;
    let at = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// The kernel's `TcpExt: ListenOverflows` counter (SYNs or ACKs dropped
/// because an accept queue was full), from `/proc/net/netstat`.
pub fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        let idx = names.split_whitespace().position(|n| n == "ListenOverflows")?;
        return values.split_whitespace().nth(idx)?.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_time_wait_and_listen_rows() {
        // Rows copied from this machine's /proc/net/tcp during the teardown lab.
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:A1B2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:C350 0100007F:A1B2 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";
        let rows = parse(text, Proto::Tcp);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].state, "LISTEN");
        assert_eq!((rows[0].inode, rows[1].inode), (123456, 0));
        assert_eq!(rows[0].local, "127.0.0.1:41394".parse().unwrap());
        assert_eq!(rows[1].state, "TIME_WAIT");
        assert_eq!(rows[1].timer_kind, 3);
        let hz = clock_ticks();
        assert!((rows[1].timer_s.unwrap() - 6000.0 / hz).abs() < 1e-9);
    }

    #[test]
    fn reads_snmp_counters() {
        let text = "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm InErrs InCsumErrors\nTcp: 1 3 2\nUdp: InDatagrams InCsumErrors\nUdp: 5 7\n";
        assert_eq!(snmp_value(text, "Tcp:", "InCsumErrors"), Some(2));
        assert_eq!(snmp_value(text, "Udp:", "InCsumErrors"), Some(7));
        assert_eq!(snmp_value(text, "Tcp:", "Nope"), None);
    }

    #[test]
    fn parses_ipv6_loopback() {
        let a = parse_addr("00000000000000000000000001000000:1F90").unwrap();
        assert_eq!(a, "[::1]:8080".parse().unwrap());
    }
}
