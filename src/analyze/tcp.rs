//! Per-connection sequence analysis, numbering and expert flags equal to
//! Wireshark 4.0's `packet-tcp.c` with default preferences (relative sequence
//! numbers on, window scaling "not known", fast retransmission supersedes
//! out-of-order). Each rule below keeps the order and the conditions of the
//! dissector, because the flags depend on that order.

use super::expert::Expert;
use super::seq;
use crate::decode::flags::{ACK, FIN, RST, SYN};
use crate::decode::TcpSegment;
use crate::source::Timestamp;

/// Window scale shift is not known (no SYN seen).
pub const SCALE_UNKNOWN: i8 = -1;
/// Window scaling is not used (a SYN lacked the option).
pub const SCALE_NONE: i8 = -2;
/// RFC 7323 §2.3: "the shift count must be limited to 14".
const MAX_SHIFT: u8 = 14;
/// Out-of-order threshold before the first RTT is known (3 ms, like Wireshark).
const DEFAULT_OOO_THRESHOLD_NS: u64 = 3_000_000;
/// Wireshark ≥ 4.0.x stores −1 in the (unsigned) duplicate-ACK counter of
/// the direction whose unseen segment was already reported. Kept as the same
/// bit pattern: it also counts as "≥ 2 duplicate ACKs" for a fast
/// retransmission, as in the dissector.
const ACK_LOST_REPORTED: u32 = u32::MAX;
/// A fast retransmission follows the duplicate ACKs within 20 ms.
const FAST_RETRANSMISSION_WINDOW_NS: u64 = 20_000_000;

/// One direction of a connection, as tshark tracks it.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    /// ISN (or first seq − 1 when the SYN was not captured).
    pub base_seq: u32,
    /// `base_seq` is known.
    pub base_set: bool,
    /// Window scale shift, or [`SCALE_UNKNOWN`] / [`SCALE_NONE`].
    pub win_scale: i8,
    /// Last raw window field (u32::MAX before any segment).
    pub window: u32,
    /// Highest next sequence number seen (0 = none yet, as in Wireshark).
    pub nextseq: u32,
    nextseq_time: Timestamp,
    maxseqtobeacked: u32,
    /// Last acknowledgment number sent in this direction.
    pub lastack: u32,
    lastack_time: Timestamp,
    dupacknum: u32,
    lastsegmentflags: u32,
    is_first_ack: bool,
    /// MSS announced by this side's SYN.
    pub mss: Option<u16>,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            base_seq: 0,
            base_set: false,
            win_scale: SCALE_UNKNOWN,
            window: u32::MAX,
            nextseq: 0,
            nextseq_time: Timestamp::default(),
            maxseqtobeacked: 0,
            lastack: 0,
            lastack_time: Timestamp::default(),
            dupacknum: 0,
            lastsegmentflags: 0,
            is_first_ack: false,
            mss: None,
        }
    }
}

/// What the analysis says about one segment.
#[derive(Clone, Copy, Debug, Default)]
pub struct SegmentNumbers {
    /// Relative sequence number.
    pub seq: u32,
    /// Relative acknowledgment number (raw when ACK is not set).
    pub ack: u32,
    /// Calculated window (scaled when the scale is known).
    pub win: u32,
    /// The window scale shift that applied, or [`SCALE_UNKNOWN`]/[`SCALE_NONE`].
    pub win_scale: i8,
    /// Expert flags.
    pub expert: Expert,
    /// Duplicate-ACK count (`tcp.analysis.duplicate_ack_num`) when flagged.
    pub dupack_num: u32,
}

/// The analysis state of one TCP conversation (`tcp.stream`).
#[derive(Clone, Debug, Default)]
pub struct TcpConversation {
    /// The two directions; index 0 is the direction of the first segment seen.
    pub flows: [Flow; 2],
    ts_mru_syn: Timestamp,
    ts_first_rtt_ns: i128,
}

/// Wireshark computes time differences into a `guint64`: negative wraps huge.
fn elapsed_ns(now: Timestamp, then: Timestamp) -> u64 {
    now.nanos_since(then) as i64 as u64
}

impl TcpConversation {
    /// Split borrow of (forward, reverse) flows for direction `dir`.
    fn flows(&mut self, dir: usize) -> (&mut Flow, &mut Flow) {
        let [a, b] = &mut self.flows;
        if dir == 0 {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// A new SYN with the ISN already known: Wireshark restores `nextseq`
    /// (issue 17616) so the SYN is analysed as a retransmission.
    pub fn restore_for_repeated_syn(&mut self, dir: usize) {
        let (fwd, _) = self.flows(dir);
        fwd.nextseq = fwd.maxseqtobeacked;
    }

    /// A SYN-ACK whose ISN differs from the one recorded for its direction.
    pub fn rebase_synack(&mut self, dir: usize, isn: u32) {
        self.flows(dir).0.base_seq = isn;
    }

    /// The ISN recorded for direction `dir`, if any.
    pub fn base_seq(&self, dir: usize) -> Option<u32> {
        let f = &self.flows[dir];
        f.base_set.then_some(f.base_seq)
    }

    /// Runs the whole per-segment analysis for a segment in direction `dir`.
    pub fn on_segment(&mut self, dir: usize, seg: &TcpSegment<'_>, ts: Timestamp, preset: Expert) -> SegmentNumbers {
        let mut expert = preset;
        let dupack_num = self.analyze_sequence(dir, seg, ts, &mut expert);
        let first_rtt_known = self.ts_first_rtt_ns != 0;
        let (fwd, rev) = self.flows(dir);

        let rel_seq = seg.seq.wrapping_sub(fwd.base_seq);
        let rel_ack = if seg.flags & ACK != 0 { seg.ack.wrapping_sub(rev.base_seq) } else { seg.ack };
        // "SYNs are never scaled".
        let (win, win_scale) = if seg.flags & SYN == 0 && fwd.win_scale >= 0 {
            ((seg.window as u32) << fwd.win_scale, fwd.win_scale)
        } else {
            (seg.window as u32, fwd.win_scale)
        };

        if seg.flags & SYN != 0 {
            if seg.flags & ACK == 0 {
                self.ts_mru_syn = ts;
            }
            self.flows(dir).0.is_first_ack = true;
        }
        if seg.flags & (SYN | ACK) == ACK {
            if self.ts_mru_syn != Timestamp::default() && !first_rtt_known {
                self.ts_first_rtt_ns = ts.nanos_since(self.ts_mru_syn);
            }
            self.flows(dir).0.is_first_ack = false;
        }

        // Options are dissected after the numbers above.
        let (fwd, rev) = self.flows(dir);
        if let Some(shift) = seg.options.window_scale {
            fwd.win_scale = shift.min(MAX_SHIFT) as i8;
        }
        if seg.flags & SYN != 0 {
            if seg.options.mss.is_some() {
                fwd.mss = seg.options.mss;
            }
            // verify_tcp_window_scaling(): scaling is used only if both SYNs carry it.
            if fwd.win_scale == SCALE_UNKNOWN {
                fwd.win_scale = SCALE_NONE;
                rev.win_scale = SCALE_NONE;
            } else if seg.flags & ACK != 0 && rev.win_scale == SCALE_NONE {
                fwd.win_scale = SCALE_NONE;
            }
        }

        SegmentNumbers { seq: rel_seq, ack: rel_ack, win, win_scale, expert, dupack_num }
    }

    /// `tcp_analyze_sequence_number()`; returns the duplicate-ACK number.
    fn analyze_sequence(&mut self, dir: usize, seg: &TcpSegment<'_>, ts: Timestamp, expert: &mut Expert) -> u32 {
        let ooo_threshold =
            if self.ts_first_rtt_ns == 0 { DEFAULT_OOO_THRESHOLD_NS } else { self.ts_first_rtt_ns as i64 as u64 };
        let (fwd, rev) = self.flows(dir);
        let (seq, ack, seglen, flags) = (seg.seq, seg.ack, seg.payload_len, seg.flags);
        let window = seg.window as u32;
        let mut dupack_num = 0;
        let mut set = |bit: u32| expert.0 |= bit;

        // Relative numbering: ISN from the SYN, otherwise start at 1 (bug 1542).
        if !fwd.base_set {
            fwd.base_seq = if flags & SYN != 0 { seq } else { seq.wrapping_sub(1) };
            fwd.base_set = true;
        }
        // The peer's ISN from the first ACK (the ACK field of a SYN is not trusted).
        if !rev.base_set && flags & ACK != 0 {
            rev.base_seq = ack.wrapping_sub(1);
            rev.base_set = true;
        }

        let not_syn_fin_rst = flags & (SYN | FIN | RST) == 0;
        'fwd: {
            // ZERO WINDOW PROBE: exactly one byte at the next expected seq into a zero window.
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                set(Expert::ZERO_WINDOW_PROBE);
                break 'fwd;
            }
            // ZERO WINDOW: window 0 on a segment without SYN/FIN/RST.
            if window == 0 && not_syn_fin_rst {
                set(Expert::ZERO_WINDOW);
            }
            // LOST SEGMENT: beyond the highest next seq seen (RSTs excepted).
            if fwd.nextseq != 0 && seq::gt(seq, fwd.nextseq) && flags & RST == 0 {
                set(Expert::LOST_SEGMENT);
            }
            // KEEP ALIVE: 0 or 1 byte starting one byte before the next seq.
            if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && not_syn_fin_rst {
                set(Expert::KEEP_ALIVE);
            }
            let same_seq_ack = seglen == 0 && seq == fwd.nextseq && ack == fwd.lastack && not_syn_fin_rst;
            // WINDOW UPDATE: same seq/ack, no data, a new non-zero window.
            if same_seq_ack && window != 0 && window != fwd.window {
                set(Expert::WINDOW_UPDATE);
            }
            // WINDOW FULL: data reaching exactly the edge of the peer's window.
            if seglen > 0 && rev.win_scale != SCALE_UNKNOWN && not_syn_fin_rst {
                let shift = if rev.is_first_ack || rev.win_scale == SCALE_NONE { 0 } else { rev.win_scale as u32 };
                if seq.wrapping_add(seglen) == rev.lastack.wrapping_add(rev.window.wrapping_shl(shift)) {
                    set(Expert::WINDOW_FULL);
                }
            }
            // KEEP ALIVE ACK: repeats the last ACK right after the peer's keep-alive.
            if same_seq_ack && window != 0 && window == fwd.window && rev.lastsegmentflags & Expert::KEEP_ALIVE != 0 {
                set(Expert::KEEP_ALIVE_ACK);
                break 'fwd;
            }
            // ZERO WINDOW PROBE ACK: repeats the zero window after the peer's probe.
            if same_seq_ack && window == 0 && fwd.window == 0 && rev.lastsegmentflags & Expert::ZERO_WINDOW_PROBE != 0 {
                set(Expert::ZERO_WINDOW_PROBE_ACK);
                break 'fwd;
            }
            // DUPLICATE ACK: same window, seq and ack as before, no data.
            if same_seq_ack && window != 0 && window == fwd.window {
                // The "already flagged an unseen segment" mark counts as the first.
                fwd.dupacknum = if fwd.dupacknum == ACK_LOST_REPORTED { 1 } else { fwd.dupacknum.wrapping_add(1) };
                set(Expert::DUPLICATE_ACK);
                dupack_num = fwd.dupacknum;
            }
        }

        // A changed ACK resets the duplicate-ACK counter.
        if ack != fwd.lastack {
            fwd.dupacknum = 0;
        }

        // ACKED UNSEEN SEGMENT: acknowledges beyond what the other side was seen
        // sending. Reported once per new data from the other side: 'max seq to
        // be acked' moves up to the highest seq seen; while the ACKs keep
        // repeating (the other side stalled) the peer's duplicate-ACK counter
        // holds the mark [`ACK_LOST_REPORTED`]. The plain `>` (not modular) is
        // tshark 4.0's.
        if rev.maxseqtobeacked != 0 && seq::gt(ack, rev.maxseqtobeacked) && flags & ACK != 0 {
            if rev.nextseq > rev.maxseqtobeacked {
                rev.maxseqtobeacked = rev.nextseq;
                set(Expert::ACK_LOST_SEGMENT);
            } else {
                if rev.dupacknum == 0 {
                    set(Expert::ACK_LOST_SEGMENT);
                }
                rev.dupacknum = ACK_LOST_REPORTED;
            }
        }

        // RETRANSMISSION / FAST RETRANSMISSION / SPURIOUS / OUT-OF-ORDER.
        if (seglen > 0 || flags & (SYN | FIN) != 0) && !expert.has(Expert::KEEP_ALIVE) {
            let mut seq_not_advanced = fwd.nextseq != 0 && seq::lt(seq, fwd.nextseq);
            // New data one byte before nextseq follows a probe: not a retransmission.
            if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
                seq_not_advanced = false;
            }
            let syn_fin = if flags & (SYN | FIN) != 0 { 1 } else { 0 };
            if seglen > 0 && rev.lastack != 0 && seq::le(seq.wrapping_add(seglen), rev.lastack) {
                expert.0 |= Expert::SPURIOUS_RETRANSMISSION;
            } else if seq_not_advanced
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && elapsed_ns(ts, rev.lastack_time) < FAST_RETRANSMISSION_WINDOW_NS
            {
                expert.0 |= Expert::FAST_RETRANSMISSION;
            } else if seq_not_advanced
                && elapsed_ns(ts, fwd.nextseq_time) < ooo_threshold
                && fwd.nextseq != seq.wrapping_add(seglen).wrapping_add(syn_fin)
            {
                expert.0 |= Expert::OUT_OF_ORDER;
            } else if seq_not_advanced {
                expert.0 |= Expert::RETRANSMISSION;
            }
        }

        let mut nextseq = seq.wrapping_add(seglen);
        if flags & (SYN | FIN) != 0 {
            nextseq = nextseq.wrapping_add(1);
        }
        let is_probe = expert.has(Expert::ZERO_WINDOW_PROBE);
        // Highest next seq so far; zero-window probes do not advance it.
        if (seq::gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !is_probe {
            fwd.nextseq = nextseq;
            fwd.nextseq_time = ts;
        }
        // Highest contiguous seq, for "ACKed unseen segment".
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !is_probe {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastack_time = ts;
        fwd.lastsegmentflags = expert.0;
        dupack_num
    }
}
