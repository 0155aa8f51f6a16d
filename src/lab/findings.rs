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
            let ms = ack.ts.nanos_since(d.ts) as f64 / 1e6;
            let of_fin = d.tcp.is_some_and(|d| d.flags & FIN != 0);
            if of_fin || ms >= DELAYED_ACK_MS {
                out.push(Finding::AckDelay { ms, of_fin });
            }
        }
    }
    out
}
