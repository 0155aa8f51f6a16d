//! Which packet a rule hits: each rule counts the packets of its kind that
//! its host sends, per connection, and acts on the nth (or, with a seed, on
//! chance draws that repeat run after run).

use super::spec::{Action, PacketKind, RuleSpec};
use crate::decode::flags::{ACK, FIN, RST, SYN};
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

use crate::decode::link::ETHERTYPE_IPV4;
use crate::decode::{at, tcp_at};

/// UDP header (RFC 768): its length, and where its checksum is.
const UDP_HEADER: usize = 8;
const UDP_CHECKSUM: usize = 6;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// One direction of a TCP connection or UDP flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    proto: u8,
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
}

impl Flow {
    fn reverse(self) -> Flow {
        Flow { proto: self.proto, src: self.dst, dst: self.src }
    }
}

/// What the rules need to know of a frame (IPv4 TCP/UDP only; anything else is `None`).
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// Its direction of flow.
    pub flow: Flow,
    /// TCP flags (0 for UDP).
    pub flags: u8,
    /// TCP sequence and acknowledgement numbers.
    pub seq: u32,
    /// TCP acknowledgement number.
    pub ack: u32,
    /// Payload bytes.
    pub len: usize,
    /// Offset of the payload in the frame.
    pub payload_at: usize,
    /// Offset of the transport checksum in the frame.
    pub checksum_at: usize,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ip4(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    be32(b, at).map(Ipv4Addr::from)
}

/// Reads the fields the rules use; every offset is checked against the frame.
pub fn summarize(frame: &[u8]) -> Option<Summary> {
    if be16(frame, at::ETHERTYPE)? != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = at::ETH_LEN;
    let ihl = (*frame.get(ip)? as usize & 0x0f) * 4;
    let total = be16(frame, ip + at::IP_TOTAL_LEN)? as usize;
    let proto = *frame.get(ip + at::IP_PROTOCOL)?;
    let (src, dst) = (ip4(frame, ip + at::IP_SRC)?, ip4(frame, ip + at::IP_DST)?);
    let l4 = ip + ihl;
    let end = (ip + total).min(frame.len());
    match proto {
        PROTO_TCP => {
            let doff = (*frame.get(l4 + tcp_at::OFFSET)? as usize >> 4) * 4;
            let payload_at = l4 + doff;
            Some(Summary {
                flow: Flow {
                    proto,
                    src: (src, be16(frame, l4 + tcp_at::SRC_PORT)?),
                    dst: (dst, be16(frame, l4 + tcp_at::DST_PORT)?),
                },
                flags: *frame.get(l4 + tcp_at::FLAGS)?,
                seq: be32(frame, l4 + tcp_at::SEQ)?,
                ack: be32(frame, l4 + tcp_at::ACK)?,
                len: end.checked_sub(payload_at)?,
                payload_at,
                checksum_at: l4 + tcp_at::CHECKSUM,
            })
        }
        PROTO_UDP => Some(Summary {
            flow: Flow { proto, src: (src, be16(frame, l4)?), dst: (dst, be16(frame, l4 + 2)?) },
            flags: 0,
            seq: 0,
            ack: 0,
            len: end.checked_sub(l4 + UDP_HEADER)?,
            payload_at: l4 + UDP_HEADER,
            checksum_at: l4 + UDP_CHECKSUM,
        }),
        _ => None,
    }
}

/// Changes one byte so that the transport checksum no longer holds: the
/// first payload byte, or (no payload) the checksum itself.
pub fn corrupt(frame: &mut [u8], s: &Summary) {
    let at = if s.len > 0 { s.payload_at } else { s.checksum_at };
    if let Some(b) = frame.get_mut(at) {
        *b ^= 0xff;
    }
}

/// What each connection has shown so far (for `ack_of_fin` and `seq`).
#[derive(Default)]
pub struct Connections {
    /// The sequence number after a direction's FIN (what acknowledges it).
    fin_end: FxHashMap<Flow, u32>,
    /// The initial sequence number of a direction.
    isn: FxHashMap<Flow, u32>,
}

impl Connections {
    /// Learns from a frame (call for every frame, before the rules look at it).
    pub fn learn(&mut self, s: &Summary) {
        if s.flow.proto != PROTO_TCP {
            return;
        }
        let f = s.flags as u16;
        if f & SYN != 0 {
            self.isn.insert(s.flow, s.seq);
        }
        if f & FIN != 0 {
            let end = s.seq.wrapping_add(s.len as u32).wrapping_add(1);
            self.fin_end.insert(s.flow, end);
        }
    }

    fn kind_matches(&self, kind: PacketKind, s: &Summary) -> bool {
        let tcp = s.flow.proto == PROTO_TCP;
        let f = s.flags as u16;
        let pure_ack = tcp && f & (SYN | FIN | RST) == 0 && f & ACK != 0 && s.len == 0;
        match kind {
            PacketKind::Any => true,
            PacketKind::Data => tcp && s.len > 0,
            PacketKind::Syn => tcp && f & SYN != 0 && f & ACK == 0,
            PacketKind::Synack => tcp && f & SYN != 0 && f & ACK != 0,
            PacketKind::Fin => tcp && f & FIN != 0,
            PacketKind::Rst => tcp && f & RST != 0,
            PacketKind::Ack => pure_ack,
            PacketKind::AckOfFin => pure_ack && self.fin_end.get(&s.flow.reverse()) == Some(&s.ack),
            PacketKind::Udp => s.flow.proto == PROTO_UDP,
        }
    }

    fn relative_seq(&self, s: &Summary) -> Option<u32> {
        self.isn.get(&s.flow).map(|isn| s.seq.wrapping_sub(isn.wrapping_add(1)))
    }
}

/// A rule with its counters.
pub struct Rule {
    /// The sending host's index.
    pub from: usize,
    spec: RuleSpec,
    counts: FxHashMap<Flow, u32>,
    rng: Option<fastrand::Rng>,
}

impl Rule {
    /// A rule of host `from`.
    pub fn new(from: usize, spec: RuleSpec) -> Rule {
        let rng = spec.seed.map(fastrand::Rng::with_seed);
        Rule { from, spec, counts: FxHashMap::default(), rng }
    }

    /// The action and (for `delay`) its milliseconds, if this rule hits the frame.
    pub fn hit(&mut self, host: usize, s: &Summary, conns: &Connections) -> Option<(Action, Option<f64>)> {
        if host != self.from || !conns.kind_matches(self.spec.packet, s) {
            return None;
        }
        if let Some([a, b]) = self.spec.seq {
            match conns.relative_seq(s) {
                Some(rel) if rel >= a && rel < b => {}
                _ => return None,
            }
        }
        let count = self.counts.entry(s.flow).or_default();
        *count += 1;
        let hit = match (&self.spec.nth, self.spec.probability, self.rng.as_mut()) {
            (_, Some(p), Some(rng)) => rng.f64() < p,
            (Some(nth), _, _) => nth.contains(count),
            _ => *count == 1,
        };
        hit.then_some((self.spec.action, self.spec.ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet/IPv4/TCP frame (checksums zero: the rules do not read them).
    fn tcp(src: u8, dst: u8, flags: u8, seq: u32, ack: u32, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20 + len];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((40 + len) as u16).to_be_bytes());
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 77, 0, src]);
        f[30..34].copy_from_slice(&[10, 77, 0, dst]);
        // Host 1 is the client (port 40000), host 2 the server (port 80).
        let (sport, dport) = if src < dst { (40000u16, 80u16) } else { (80, 40000) };
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f[38..42].copy_from_slice(&seq.to_be_bytes());
        f[42..46].copy_from_slice(&ack.to_be_bytes());
        f[46] = 5 << 4;
        f[47] = flags;
        f
    }

    fn rule(packet: PacketKind, nth: Option<Vec<u32>>) -> Rule {
        Rule::new(
            0,
            RuleSpec {
                from: "a".into(),
                action: Action::Drop,
                packet,
                nth,
                seq: None,
                probability: None,
                seed: None,
                ms: None,
            },
        )
    }

    #[test]
    fn counts_data_segments_per_connection() {
        let conns = Connections::default();
        let mut r = rule(PacketKind::Data, Some(vec![2]));
        let data = summarize(&tcp(1, 2, 0x18, 100, 1, 10)).unwrap();
        let pure = summarize(&tcp(1, 2, 0x10, 110, 1, 0)).unwrap();
        assert_eq!(data.len, 10);
        assert!(r.hit(0, &data, &conns).is_none());
        assert!(r.hit(0, &pure, &conns).is_none(), "a pure ACK is not data");
        assert_eq!(r.hit(0, &data, &conns), Some((Action::Drop, None)));
        assert!(r.hit(0, &data, &conns).is_none());
        assert!(r.hit(1, &data, &conns).is_none(), "another host's packets are not counted");
    }

    #[test]
    fn the_ack_of_a_fin_is_recognised() {
        let mut conns = Connections::default();
        let mut r = rule(PacketKind::AckOfFin, None);
        // Host 2 sends FIN seq=500 (no data): it is acknowledged by ack=501.
        let fin = summarize(&tcp(2, 1, 0x11, 500, 101, 0)).unwrap();
        conns.learn(&fin);
        let other = summarize(&tcp(1, 2, 0x10, 101, 400, 0)).unwrap();
        assert!(r.hit(0, &other, &conns).is_none());
        let last = summarize(&tcp(1, 2, 0x10, 101, 501, 0)).unwrap();
        assert_eq!(r.hit(0, &last, &conns), Some((Action::Drop, None)));
    }

    #[test]
    fn chance_repeats_with_the_seed() {
        let conns = Connections::default();
        let draw = || {
            let spec = RuleSpec {
                from: "a".into(),
                action: Action::Drop,
                packet: PacketKind::Any,
                nth: None,
                seq: None,
                probability: Some(0.3),
                seed: Some(7),
                ms: None,
            };
            let mut r = Rule::new(0, spec);
            let s = summarize(&tcp(1, 2, 0x18, 1, 1, 5)).unwrap();
            (0..200).map(|_| r.hit(0, &s, &conns).is_some()).collect::<Vec<_>>()
        };
        let (a, b) = (draw(), draw());
        assert_eq!(a, b);
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..=90).contains(&hits), "{hits} of 200 at p = 0.3");
    }

    #[test]
    fn short_frames_are_not_read_past_their_end() {
        let f = tcp(1, 2, 0x10, 1, 1, 0);
        for cut in 0..f.len() {
            let _ = summarize(&f[..cut]);
        }
        let mut bad = tcp(1, 2, 0x10, 1, 1, 0);
        bad[46] = 0xf0; // data offset 60 bytes: beyond the frame
        assert!(summarize(&bad).is_none());
    }

    #[test]
    fn corruption_breaks_the_payload_or_the_checksum() {
        let mut f = tcp(1, 2, 0x18, 1, 1, 4);
        let s = summarize(&f).unwrap();
        corrupt(&mut f, &s);
        assert_eq!(f[54], 0xff);
        let mut g = tcp(1, 2, 0x10, 1, 1, 0);
        let s = summarize(&g).unwrap();
        corrupt(&mut g, &s);
        assert_eq!(g[50], 0xff);
    }
}
