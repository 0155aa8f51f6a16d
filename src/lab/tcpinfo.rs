//! The sender's state as its kernel keeps it: `getsockopt(IPPROTO_TCP,
//! TCP_INFO)` (struct tcp_info, include/uapi/linux/tcp.h). Times are in
//! microseconds, windows in segments, as the kernel reports them.

use serde::Serialize;
use std::os::fd::AsRawFd;

/// `tcpi_snd_ssthresh` before the first loss: TCP_INFINITE_SSTHRESH (include/net/tcp.h).
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// What TCP_INFO says about one socket (JSON `kind: "tcp_info"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TcpInfo {
    /// Congestion window, segments.
    pub cwnd: u32,
    /// Slow-start threshold, segments (2147483647: not set yet).
    pub ssthresh: u32,
    /// Smoothed RTT, µs.
    pub rtt_us: u32,
    /// RTT variance, µs.
    pub rttvar_us: u32,
    /// Retransmission timeout, µs.
    pub rto_us: u32,
    /// Segments sent and not acknowledged.
    pub unacked: u32,
    /// Segments retransmitted and not acknowledged.
    pub retrans: u32,
    /// Retransmissions over the connection's life.
    pub total_retrans: u32,
    /// Congestion-avoidance state: 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss.
    pub ca_state: u8,
    /// Exponential back-off of the retransmission timer (times doubled).
    pub backoff: u8,
    /// Segments the peer has SACKed.
    pub sacked: u32,
    /// Segments the sender counts as lost.
    pub lost: u32,
    /// Sender MSS, bytes.
    pub snd_mss: u32,
}

impl TcpInfo {
    /// Reads TCP_INFO of a TCP socket (None for others, or once it is closed).
    pub fn of(sock: &socket2::Socket) -> Option<TcpInfo> {
        // SAFETY: tcp_info is plain old data; all-zero is a valid value.
        let mut raw: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `raw` is writable for `len` bytes; the kernel writes at most `len`.
        let r = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                &mut raw as *mut libc::tcp_info as *mut libc::c_void,
                &mut len,
            )
        };
        if r != 0 || (len as usize) < std::mem::offset_of!(libc::tcp_info, tcpi_total_retrans) + 4 {
            return None;
        }
        Some(TcpInfo {
            cwnd: raw.tcpi_snd_cwnd,
            ssthresh: raw.tcpi_snd_ssthresh,
            rtt_us: raw.tcpi_rtt,
            rttvar_us: raw.tcpi_rttvar,
            rto_us: raw.tcpi_rto,
            unacked: raw.tcpi_unacked,
            retrans: raw.tcpi_retrans,
            total_retrans: raw.tcpi_total_retrans,
            ca_state: raw.tcpi_ca_state,
            backoff: raw.tcpi_backoff,
            sacked: raw.tcpi_sacked,
            lost: raw.tcpi_lost,
            snd_mss: raw.tcpi_snd_mss,
        })
    }

    /// Linux's name of the congestion-avoidance state (enum tcp_ca_state).
    pub fn ca_name(&self) -> &'static str {
        match self.ca_state {
            0 => "Open",
            1 => "Disorder",
            2 => "CWR",
            3 => "Recovery",
            4 => "Loss",
            _ => "?",
        }
    }

    /// The fields a student watches change (RTT estimates move with every ACK).
    pub fn key(&self) -> (u32, u32, u32, u32, u32, u8, u8, u32) {
        (
            self.cwnd,
            self.ssthresh,
            self.rto_us,
            self.unacked,
            self.total_retrans,
            self.ca_state,
            self.backoff,
            self.retrans,
        )
    }
}
