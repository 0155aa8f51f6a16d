//! What a step's packets show that no single packet says: how many segments
//! several send() calls became (glued at the sender, or not), how many
//! segments one recv() drained (glued in the receive buffer), and how long
//! the kernel waited before an ACK (delayed ACK). Computed from this run's
//! capture, never assumed.

use crate::analyze::FrameRecord;
use crate::decode::flags::{ACK, FIN, SYN};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// An observation about a step, from its packets.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// `calls` send() calls left in `segments` data segments.
    SendsBecameSegments {
        /// send() calls.
        calls: u64,
        /// Data segments on the wire.
        segments: u64,
    },
    /// One recv() returned bytes that arrived in several segments.
    RecvDrainedSegments {
        /// Segments (or parts of them) the bytes came in.
        segments: u64,
        /// Bytes returned.
        bytes: u64,
    },
    /// connect()'s SYN went out several times (no SYN-ACK came).
    SynRetries {
        /// Seconds between consecutive SYNs.
        intervals: Vec<f64>,
        /// This kernel's `tcp_syn_retries`.
        retries: u32,
        /// This kernel's `tcp_syn_linear_timeouts` (absent before Linux 6.5).
        linear: Option<u32>,
        /// When connect() without a timeout would give up (ETIMEDOUT), by the kernel's rule.
        give_up_s: f64,
    },
    /// A host's kernel discarded packets whose checksum did not match
    /// (its `InCsumErrors` counters grew during the step).
    ChecksumErrors {
        /// The lab wire's host.
        host: String,
        /// TCP segments discarded.
        tcp: u64,
        /// UDP datagrams discarded.
        udp: u64,
    },
    /// An ACK left this long after the segment it acknowledges.
    AckDelay {
        /// Milliseconds.
        ms: f64,
        /// It acknowledged a FIN (not data).
        of_fin: bool,
    },
}

/// Linux's minimum delayed-ACK timer (`TCP_DELACK_MIN`, HZ/25 = 40 ms): an ACK
/// this much later than its data was held back on purpose.
pub const DELAYED_ACK_MS: f64 = 30.0;

fn ends(rec: &FrameRecord) -> Option<(SocketAddr, SocketAddr)> {
    Some((SocketAddr::new(rec.src?, rec.sport?), SocketAddr::new(rec.dst?, rec.dport?)))
}

/// Data segments received by each socket (by its address pair) and not yet
/// read by a recv() of the lab.
#[derive(Default)]
pub struct Inbox {
    pending: HashMap<(SocketAddr, SocketAddr), VecDeque<u64>>,
}

impl Inbox {
    /// Notes the data segments of a step.
    pub fn add(&mut self, packets: &[FrameRecord]) {
        for rec in packets {
            let (Some(t), Some((src, dst))) = (rec.tcp, ends(rec)) else { continue };
            if t.len > 0 && !t.expert.is_retransmission() {
                self.pending.entry((dst, src)).or_default().push_back(t.len as u64);
            }
        }
    }

    /// A recv() on the socket `local`↔`peer` returned `bytes`: how many
    /// segments they came in (a partly read segment counts, its rest stays).
    pub fn take(&mut self, local: SocketAddr, peer: SocketAddr, bytes: u64) -> u64 {
        let Some(q) = self.pending.get_mut(&(local, peer)) else { return 0 };
        let (mut left, mut segments) = (bytes, 0);
        while left > 0 {
            let Some(front) = q.front_mut() else { break };
            segments += 1;
            if *front > left {
                *front -= left;
                left = 0;
            } else {
                left -= *front;
                q.pop_front();
            }
        }
        segments
    }
}

/// The data segments a socket at `from` sent among a step's packets.
pub fn data_segments_from(packets: &[FrameRecord], from: SocketAddr) -> u64 {
    packets
        .iter()
        .filter(|r| ends(r).is_some_and(|(s, _)| s == from))
        .filter(|r| r.tcp.is_some_and(|t| t.len > 0 && !t.expert.is_retransmission()))
        .count() as u64
}

/// ACK delays within a step: for each pure ACK, the time since the segment
/// (data or FIN) whose end it acknowledges, when that segment is in `seen`.
pub fn ack_delays(seen: &[FrameRecord], step: &[FrameRecord]) -> Vec<Finding> {
    let mut out = Vec::new();
    for ack in step {
        let (Some(t), Some((src, dst))) = (ack.tcp, ends(ack)) else { continue };
        if t.len > 0 || t.flags & (SYN | FIN) != 0 || t.flags & ACK == 0 {
            continue;
        }
        // The acknowledged segment: sent the other way, ending exactly at this ack.
        let acked = seen.iter().rev().find(|r| {
            ends(r) == Some((dst, src))
                && r.tcp.is_some_and(|d| {
                    let end = d.seq_raw.wrapping_add(d.len).wrapping_add((d.flags & FIN != 0) as u32);
                    (d.len > 0 || d.flags & FIN != 0) && end == t.ack_raw && r.ts <= ack.ts
                })
        });
        if let Some(d) = acked {
            // On the lab wire the capture is one host's view: the ACK's own
            // delay runs from the data's arrival to the ACK's departure.
            let left = ack.timing.as_deref().map(|t| t.sent).unwrap_or(ack.ts);
            let arrival = |r: &FrameRecord| r.timing.as_deref().and_then(|t| t.arrived).unwrap_or(r.ts);
            // The ACK answers the last segment that reached the receiver before
            // it left: the acknowledged one, or one that filled a hole before it
            // (then the ACK waited for the hole, not for a delayed-ACK timer).
            let came = seen
                .iter()
                .filter(|r| ends(r) == Some((dst, src)) && r.tcp.is_some_and(|x| x.len > 0 || x.flags & FIN != 0))
                .map(arrival)
                .filter(|a| *a <= left)
                .max()
                .unwrap_or_else(|| arrival(d))
                .max(arrival(d));
            let ms = left.nanos_since(came) as f64 / 1e6;
            let of_fin = d.tcp.is_some_and(|d| d.flags & FIN != 0);
            if of_fin || ms >= DELAYED_ACK_MS {
                out.push(Finding::AckDelay { ms, of_fin });
            }
        }
    }
    out
}

/// The kernel's SYN retransmission rule (net/ipv4/tcp_timer.c): the first
/// timeout is TCP_TIMEOUT_INIT (1 s); in SYN_SENT it stays there while fewer
/// than `linear` + 1 timeouts have passed, then doubles (up to TCP_RTO_MAX,
/// 120 s); connect() gives up after `retries` + `linear` retransmissions and
/// one more timeout. Returns the seconds until it gives up.
pub fn syn_give_up_seconds(retries: u32, linear: u32) -> f64 {
    let mut rto: f64 = 1.0;
    let mut total = 0.0;
    for k in 1..=(retries + linear + 1) {
        total += rto;
        if k > linear {
            rto = (rto * 2.0).min(120.0);
        }
    }
    total
}

/// A `net.ipv4` setting of the calling thread's namespace.
pub fn sysctl(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).ok()?.trim().parse().ok()
}

/// SYN retransmissions among a step's packets, with this kernel's rule.
pub fn syn_retries(step: &[FrameRecord], sysctl: impl Fn(&str) -> Option<u32>) -> Option<Finding> {
    let syns: Vec<&FrameRecord> = step.iter().filter(|r| r.tcp.is_some_and(|t| t.flags & (SYN | ACK) == SYN)).collect();
    if syns.len() < 2 {
        return None;
    }
    let intervals = syns.windows(2).map(|w| w[1].ts.nanos_since(w[0].ts) as f64 / 1e9).collect();
    let retries = sysctl("tcp_syn_retries").unwrap_or(6);
    let linear = sysctl("tcp_syn_linear_timeouts");
    Some(Finding::SynRetries {
        intervals,
        retries,
        linear,
        give_up_s: syn_give_up_seconds(retries, linear.unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::syn_give_up_seconds;

    #[test]
    fn syn_give_up_follows_the_kernel_rule() {
        // Before Linux 6.5: 1 + 2 + … + 64 = 127 s, the classic figure for tcp_syn_retries = 6.
        assert_eq!(syn_give_up_seconds(6, 0), 127.0);
        // With tcp_syn_linear_timeouts = 4: five 1 s timeouts, then 2 … 64.
        assert_eq!(syn_give_up_seconds(6, 4), 5.0 + 2.0 + 4.0 + 8.0 + 16.0 + 32.0 + 64.0);
    }
}
