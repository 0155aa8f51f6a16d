//! Analysis: turns decoded packets into records that carry everything a
//! renderer shows — tshark-equal TCP numbers and flags, endpoint states, the
//! inferred socket call and an explanation at the key moments.

pub mod cause;
pub mod expert;
pub mod http;
pub mod seq;
pub mod state;
pub mod tcp;

use crate::decode::flags::{ACK, FIN, RST, SYN};
use crate::decode::{self, IcmpMessage, NonIp, Packet, TcpMalformed, Transport};
use crate::source::{Frame, LinkType, Timestamp};
pub use cause::{Cause, Explain};
pub use expert::Expert;
pub use http::HttpMessage;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use state::{Endpoint, TcpState};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use tcp::{SegmentNumbers, TcpConversation};

/// Transport protocol of a frame, as named in the JSON output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP for IPv4.
    Icmp,
    /// ICMPv6.
    Icmpv6,
    /// Anything else.
    Other,
}

/// TCP facts of one frame.
#[derive(Clone, Copy, Debug)]
pub struct TcpRecord {
    /// `tcp.stream`.
    pub stream: u32,
    /// 0 when sent by the stream's first sender ("A"), 1 otherwise.
    pub dir: u8,
    /// Flag bits.
    pub flags: u16,
    /// Relative sequence number.
    pub seq: u32,
    /// Relative acknowledgment number.
    pub ack: u32,
    /// Raw sequence number.
    pub seq_raw: u32,
    /// Raw acknowledgment number.
    pub ack_raw: u32,
    /// Payload length.
    pub len: u32,
    /// Calculated window.
    pub win: u32,
    /// Window scale shift applied, or -1 unknown / -2 not used.
    pub win_scale: i8,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option (shift count as sent).
    pub wscale: Option<u8>,
    /// SACK permitted option.
    pub sack_permitted: bool,
    /// Timestamps option (RFC 7323): 10 bytes, 12 with its usual two NOPs.
    pub timestamps: bool,
    /// Number of SACK blocks.
    pub sack_blocks: u8,
    /// The first SACK block lies below the ACK number: a D-SACK (RFC 2883),
    /// reporting bytes that arrived twice.
    pub dsack: bool,
    /// Expert flags.
    pub expert: Expert,
    /// Duplicate-ACK number, when flagged.
    pub dupack_num: u32,
    /// Sender's state after the segment.
    pub state_src: TcpState,
    /// Receiver's state after the segment.
    pub state_dst: TcpState,
    /// Sender's state before the segment.
    pub before_src: TcpState,
    /// Receiver's state before the segment.
    pub before_dst: TcpState,
    /// The header is damaged (the fields tshark does not show are not meaningful).
    pub malformed: Option<TcpMalformed>,
}

/// UDP facts of one frame.
#[derive(Clone, Debug)]
pub struct UdpRecord {
    /// Conversation index among UDP flows (like `udp.stream`).
    pub stream: u32,
    /// 0 when sent by the flow's first sender.
    pub dir: u8,
    /// Payload length.
    pub len: u32,
    /// A DNS message (UDP port 53). Boxed, like the other rare parts of a
    /// record: every record is moved a few times, and most have none.
    pub dns: Option<Box<crate::decode::dns::DnsInfo>>,
}

/// ICMP facts of one frame.
#[derive(Clone, Copy, Debug)]
pub struct IcmpRecord {
    /// The message.
    pub msg: IcmpMessage,
    /// The UDP flow whose datagram caused this error, if it was seen.
    pub udp_stream: Option<u32>,
    /// The TCP stream whose segment caused this error, if any.
    pub tcp_stream: Option<u32>,
}

/// How many payload bytes a record keeps for the preview unless told
/// otherwise (`--payload`): enough for a request line or a short message.
pub const DEFAULT_PAYLOAD: usize = 32;

/// The first bytes of a frame's TCP or UDP payload, as captured.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Payload {
    /// The first bytes (at most the analyzer's payload limit, at most what was captured).
    pub head: smallvec::SmallVec<[u8; DEFAULT_PAYLOAD]>,
    /// Payload length on the wire.
    pub len: u32,
    /// Payload bytes captured (less than `len` when a snaplen cut the frame).
    pub captured: u32,
}

impl Payload {
    fn new(data: &[u8], len: u32, limit: usize) -> Option<Payload> {
        let data = &data[..data.len().min(len as usize)];
        (limit > 0 && len > 0).then(|| Payload {
            head: data[..data.len().min(limit)].into(),
            len,
            captured: data.len() as u32,
        })
    }
}

/// Everything known about one frame after analysis.
#[derive(Clone, Debug)]
pub struct FrameRecord {
    /// 1-based frame number.
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Protocol.
    pub proto: Proto,
    /// Source address.
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// Source port.
    pub sport: Option<u16>,
    /// Destination port.
    pub dport: Option<u16>,
    /// The frame was cut by a snaplen (or a header is incomplete).
    pub truncated: bool,
    /// Link type (for frames wirelab could not decode).
    pub link: LinkType,
    /// Why there is no IP layer, if there is none.
    pub non_ip: Option<NonIp>,
    /// TCP facts.
    pub tcp: Option<TcpRecord>,
    /// UDP facts.
    pub udp: Option<UdpRecord>,
    /// ICMP facts.
    pub icmp: Option<Box<IcmpRecord>>,
    /// The call or kernel action behind the packet.
    pub cause: Option<Cause>,
    /// Explanations for a key moment (up to two).
    pub explain: [Option<Explain>; 2],
    /// The first bytes of the TCP/UDP payload (none without data, or with the preview off).
    pub payload: Option<Payload>,
    /// An HTTP/1.x message whose header block this segment completes.
    pub http: Option<Box<HttpMessage>>,
    /// The capture file's comment on this packet (a lab run's step and call).
    pub comment: Option<Box<str>>,
    /// What the lab wire did to this packet.
    pub wire: Option<crate::source::wire::WireMark>,
    /// On the lab wire: when the packet left its host and reached the other end.
    pub timing: Option<Box<crate::source::wire::WireTiming>>,
}

impl FrameRecord {
    /// A record of nothing, for [`Analyzer::on_frame_into`] to fill.
    pub fn blank() -> FrameRecord {
        FrameRecord {
            frame: 0,
            ts: Timestamp::default(),
            proto: Proto::Other,
            src: None,
            dst: None,
            sport: None,
            dport: None,
            truncated: false,
            link: crate::source::LinkType(0),
            non_ip: None,
            tcp: None,
            udp: None,
            icmp: None,
            cause: None,
            explain: [None, None],
            payload: None,
            http: None,
            comment: None,
            wire: None,
            timing: None,
        }
    }

    /// Both ports, when the frame has them.
    pub fn has_port(&self, port: u16) -> bool {
        self.sport == Some(port) || self.dport == Some(port)
    }
}

/// How a TCP connection opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Opening {
    /// Only a SYN was seen.
    SynOnly,
    /// SYN and SYN-ACK (and maybe the ACK).
    Handshake,
    /// The SYN was answered by RST.
    Refused,
    /// The capture starts mid-connection.
    MidStream,
}

/// Per-connection totals, for the summary table.
#[derive(Clone, Debug)]
pub struct StreamStats {
    /// Packets sent by A and by B.
    pub packets: [u64; 2],
    /// Payload bytes sent by A and by B.
    pub bytes: [u64; 2],
    /// First and last frame times.
    pub first: Timestamp,
    /// Last frame time.
    pub last: Timestamp,
    /// How it opened.
    pub opening: Opening,
    /// FIN segments seen from A and from B.
    pub fins: [u32; 2],
    /// A FIN carried the ACK of the other FIN (3-segment close).
    pub fin_ack_combined: bool,
    /// An RST was seen, and from which side.
    pub rst_from: Option<u8>,
    /// Count of each expert flag, by bit position.
    pub expert_counts: [u32; 16],
}

/// One TCP connection (`tcp.stream`).
#[derive(Clone, Debug)]
pub struct TcpStream {
    /// `tcp.stream` index.
    pub id: u32,
    /// The endpoint that sent the first segment seen.
    pub a: SocketAddr,
    /// The other endpoint.
    pub b: SocketAddr,
    /// Which side is the client (sent the SYN), when known.
    pub client: Option<u8>,
    /// Sequence analysis state.
    pub conv: TcpConversation,
    /// Inferred endpoint states, A then B.
    pub endpoints: [Endpoint; 2],
    /// Totals.
    pub stats: StreamStats,
    zero_window: [bool; 2],
    /// The last segment in each direction repeated what was sent before
    /// (a retransmission, or a copy): an ACK answering it is no sign of a gap.
    repeated: [bool; 2],
    /// Both ends are closed (queued for retirement).
    finished: bool,
    /// HTTP messages in each direction.
    http: http::HttpTracker,
    /// Frame and time of the first FIN from A and from B.
    fin_seen: [Option<(u64, Timestamp)>; 2],
}

/// One UDP flow.
#[derive(Clone, Debug)]
pub struct UdpFlow {
    /// Index.
    pub id: u32,
    /// First sender.
    pub a: SocketAddr,
    /// Other endpoint.
    pub b: SocketAddr,
    /// Datagrams sent by A and by B.
    pub packets: [u64; 2],
    /// Payload bytes sent by A and by B.
    pub bytes: [u64; 2],
    /// ICMP errors caused by this flow.
    pub icmp_errors: u32,
    /// First and last times.
    pub first: Timestamp,
    /// Last time.
    pub last: Timestamp,
}

/// Up to two explanations for one frame, without allocating.
#[derive(Default)]
struct Explanations([Option<Explain>; 2]);

impl Explanations {
    /// Adds a sentence; with two already, the older one gives way.
    fn push(&mut self, e: Explain) {
        match self.0 {
            [None, _] => self.0[0] = Some(e),
            [Some(_), None] => self.0[1] = Some(e),
            [Some(_), Some(b)] => self.0 = [Some(b), Some(e)],
        }
    }
}

/// Live connections in reusable slots: the hot path goes from the 4-tuple
/// straight to a slot; `tcp.stream` numbers reach a slot through `slot_of`.
#[derive(Default)]
struct StreamSlab {
    slots: Vec<Option<TcpStream>>,
    free: Vec<u32>,
    slot_of: HashMap<u32, u32>,
}

impl StreamSlab {
    fn insert(&mut self, s: TcpStream) -> u32 {
        let id = s.id;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(s);
                slot
            }
            None => {
                self.slots.push(Some(s));
                (self.slots.len() - 1) as u32
            }
        };
        self.slot_of.insert(id, slot);
        slot
    }

    /// The stream in a slot taken from the index (always live).
    fn at(&mut self, slot: u32) -> &mut TcpStream {
        self.slots[slot as usize].as_mut().expect("the index points at live slots")
    }

    fn get(&self, id: u32) -> Option<&TcpStream> {
        self.slots.get(*self.slot_of.get(&id)? as usize)?.as_ref()
    }

    fn remove(&mut self, id: u32) -> Option<TcpStream> {
        let slot = self.slot_of.remove(&id)?;
        self.free.push(slot);
        self.slots[slot as usize].take()
    }

    fn iter(&self) -> impl Iterator<Item = &TcpStream> {
        self.slots.iter().flatten()
    }
}

/// What is kept of a retired connection so that its 4-tuple, back after a long
/// silence, continues the same `tcp.stream` with the same relative numbers and
/// window scales (tshark never forgets a conversation). About 300 bytes.
#[derive(Clone, Debug)]
struct Dormant {
    id: u32,
    a: SocketAddr,
    b: SocketAddr,
    client: Option<u8>,
    conv: TcpConversation,
    endpoints: [Endpoint; 2],
}

/// Adds `item` to `kept`, keeping only the [`KEEP_RETIRED`] with the most bytes.
fn keep_busiest<T>(kept: &mut Vec<T>, item: T, bytes: impl Fn(&T) -> u64) {
    kept.push(item);
    if kept.len() > KEEP_RETIRED {
        if let Some((i, _)) = kept.iter().enumerate().min_by_key(|(_, t)| bytes(t)) {
            kept.swap_remove(i);
        }
    }
}

/// A D-SACK (RFC 2883 §4): the first SACK block starts below the ACK number.
fn dsack(seg: &decode::TcpSegment<'_>) -> bool {
    seg.has(ACK) && seg.options.sack_blocks().first().is_some_and(|&(left, _)| (seg.ack.wrapping_sub(left) as i32) > 0)
}

/// An unordered pair of endpoints, in a fixed order, as a map key. IPv4 ends are
/// packed into a word each (address, port): hashing and comparing two
/// `SocketAddr`s, enums of 32 bytes, was an eighth of a replay's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FlowKey {
    V4(u64, u64),
    Other(SocketAddr, SocketAddr),
}

fn flow_key(x: SocketAddr, y: SocketAddr) -> FlowKey {
    match (x, y) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => {
            let pack = |e: std::net::SocketAddrV4| u64::from(e.ip().to_bits()) << 16 | u64::from(e.port());
            let (a, b) = (pack(a), pack(b));
            FlowKey::V4(a.min(b), a.max(b))
        }
        _ if x <= y => FlowKey::Other(x, y),
        _ => FlowKey::Other(y, x),
    }
}

/// A finished connection is forgotten this long (capture time) after its
/// last packet: far beyond TIME_WAIT, so a late retransmission still finds it
/// and `tcp.stream` numbers stay equal to tshark's.
const RETIRE_FINISHED_NS: i128 = 300 * 1_000_000_000;
/// Any connection or UDP flow silent this long (capture time) is forgotten.
const RETIRE_IDLE_NS: i128 = 3600 * 1_000_000_000;
/// How often (in frames) idle connections are looked for.
const SWEEP_EVERY: u64 = 1 << 16;
/// Retired connections kept for the summary table: the busiest ones.
pub const KEEP_RETIRED: usize = 50;

/// The analysis of a whole capture, frame by frame, in order. Memory follows
/// the connections that are alive, not the length of the capture: finished
/// and long-idle ones are retired (see [`RETIRE_FINISHED_NS`]).
pub struct Analyzer {
    /// Payload bytes kept per record for the preview (0: none).
    payload_limit: usize,
    /// The next packet never reached its receiver (the lab wire dropped it).
    next_lost: bool,
    /// What the lab wire did to the next packet (a live lab run says so).
    next_wire: Option<crate::source::wire::WireMark>,
    /// Follow HTTP/1.x messages in TCP data.
    http: bool,
    /// 4-tuple → (`tcp.stream`, slot in `streams`).
    tcp_index: HashMap<FlowKey, (u32, u32)>,
    /// Live TCP connections.
    streams: StreamSlab,
    /// Number of TCP connections seen (the next `tcp.stream`).
    tcp_count: u32,
    /// Connections whose both ends are closed, with when they were last seen.
    finished: std::collections::VecDeque<(u32, Timestamp)>,
    /// The busiest retired connections (at most [`KEEP_RETIRED`]).
    retired: Vec<TcpStream>,
    /// Every retired connection's analysis state, by 4-tuple.
    dormant: HashMap<FlowKey, Box<Dormant>>,
    udp_index: HashMap<FlowKey, u32>,
    udp_flows: HashMap<u32, UdpFlow>,
    udp_count: u32,
    retired_udp: Vec<UdpFlow>,
    /// Frames of link types wirelab does not decode, by link type.
    pub unsupported_links: BTreeMap<u32, u64>,
    /// Frames seen.
    pub frames: u64,
    /// Frames marked truncated.
    pub truncated: u64,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            payload_limit: DEFAULT_PAYLOAD,
            next_lost: false,
            next_wire: None,
            http: true,
            tcp_index: Default::default(),
            streams: Default::default(),
            tcp_count: 0,
            finished: Default::default(),
            retired: Vec::new(),
            dormant: Default::default(),
            udp_index: Default::default(),
            udp_flows: Default::default(),
            udp_count: 0,
            retired_udp: Vec::new(),
            unsupported_links: BTreeMap::new(),
            frames: 0,
            truncated: 0,
        }
    }
}

impl Analyzer {
    /// A fresh analyzer keeping [`DEFAULT_PAYLOAD`] payload bytes per record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps at most `bytes` of each payload in the records (0: none). Only
    /// the preview needs them; the table does without.
    pub fn set_payload_limit(&mut self, bytes: usize) {
        self.payload_limit = bytes;
    }

    /// What the lab wire did to the next packet. A lost one moves its
    /// sender's state, not its receiver's; a copy is nobody's retransmission.
    pub fn next_is_marked(&mut self, mark: crate::source::wire::WireMark) {
        self.next_wire = Some(mark);
    }

    /// For the per-connection table: neither payload previews nor HTTP.
    pub fn summary_only(mut self) -> Self {
        self.payload_limit = 0;
        self.http = false;
        self
    }

    /// A live TCP connection by `tcp.stream`.
    pub fn stream(&self, id: u32) -> Option<&TcpStream> {
        self.streams.get(id)
    }

    /// A live UDP flow by index.
    pub fn udp_flow(&self, id: u32) -> Option<&UdpFlow> {
        self.udp_flows.get(&id)
    }

    /// How many TCP connections and UDP flows the capture had.
    pub fn counts(&self) -> (u32, u32) {
        (self.tcp_count, self.udp_count)
    }

    /// Live connections and the busiest retired ones, by `tcp.stream`.
    pub fn tcp_summaries(&self) -> Vec<&TcpStream> {
        let mut all: Vec<&TcpStream> = self.streams.iter().chain(&self.retired).collect();
        all.sort_by_key(|s| s.id);
        all
    }

    /// Live UDP flows and the busiest retired ones, by index.
    pub fn udp_summaries(&self) -> Vec<&UdpFlow> {
        let mut all: Vec<&UdpFlow> = self.udp_flows.values().chain(&self.retired_udp).collect();
        all.sort_by_key(|f| f.id);
        all
    }

    /// Forgets connections that finished long ago and anything idle for an hour.
    fn retire(&mut self, now: Timestamp) {
        while let Some(&(id, at)) = self.finished.front() {
            if now.nanos_since(at) < RETIRE_FINISHED_NS {
                break;
            }
            self.finished.pop_front();
            match self.streams.get(id).map(|s| s.stats.last) {
                // Traffic after it finished: give it the full delay again.
                Some(last) if last.nanos_since(at) > 0 => self.finished.push_back((id, last)),
                Some(_) => self.retire_stream(id),
                None => {}
            }
        }
        if self.frames.is_multiple_of(SWEEP_EVERY) {
            let idle: Vec<u32> =
                self.streams.iter().filter(|s| now.nanos_since(s.stats.last) > RETIRE_IDLE_NS).map(|s| s.id).collect();
            for id in idle {
                self.retire_stream(id);
            }
            let idle: Vec<u32> =
                self.udp_flows.values().filter(|f| now.nanos_since(f.last) > RETIRE_IDLE_NS).map(|f| f.id).collect();
            for id in idle {
                if let Some(f) = self.udp_flows.remove(&id) {
                    let key = flow_key(f.a, f.b);
                    if self.udp_index.get(&key) == Some(&id) {
                        self.udp_index.remove(&key);
                    }
                    keep_busiest(&mut self.retired_udp, f, |f| f.bytes[0] + f.bytes[1]);
                }
            }
        }
    }

    fn retire_stream(&mut self, id: u32) {
        let Some(s) = self.streams.remove(id) else { return };
        let key = flow_key(s.a, s.b);
        if self.tcp_index.get(&key).is_some_and(|&(i, _)| i == id) {
            self.tcp_index.remove(&key);
            self.dormant.insert(
                key,
                Box::new(Dormant {
                    id,
                    a: s.a,
                    b: s.b,
                    client: s.client,
                    conv: s.conv.clone(),
                    endpoints: s.endpoints,
                }),
            );
        }
        keep_busiest(&mut self.retired, s, |s| s.stats.bytes[0] + s.stats.bytes[1]);
    }

    /// A retired connection's 4-tuple is back: the same stream goes on.
    fn revive(&mut self, key: FlowKey, ts: Timestamp) -> Option<(u32, u32)> {
        let d = self.dormant.remove(&key)?;
        // Its totals go on too, if it was among the busiest kept for the summary.
        let stats = match self.retired.iter().position(|s| s.id == d.id) {
            Some(i) => self.retired.swap_remove(i).stats,
            None => StreamStats {
                packets: [0; 2],
                bytes: [0; 2],
                first: ts,
                last: ts,
                opening: Opening::MidStream,
                fins: [0; 2],
                fin_ack_combined: false,
                rst_from: None,
                expert_counts: [0; 16],
            },
        };
        let slot = self.streams.insert(TcpStream {
            id: d.id,
            a: d.a,
            b: d.b,
            client: d.client,
            conv: d.conv,
            endpoints: d.endpoints,
            stats,
            zero_window: [false; 2],
            repeated: [false; 2],
            finished: false,
            http: Default::default(),
            fin_seen: [None; 2],
        });
        self.tcp_index.insert(key, (d.id, slot));
        Some((d.id, slot))
    }

    /// Decodes and analyzes one frame.
    pub fn on_frame(&mut self, frame: &Frame<'_>) -> FrameRecord {
        let packet = decode::decode(frame);
        self.on_packet(frame, &packet)
    }

    /// Analyzes one decoded frame.
    pub fn on_packet(&mut self, frame: &Frame<'_>, packet: &Packet<'_>) -> FrameRecord {
        let mut rec = FrameRecord::blank();
        self.on_packet_into(frame, packet, &mut rec);
        rec
    }

    /// [`Analyzer::on_frame`] into a record the caller keeps: a record is
    /// 336 bytes, and returning one per frame was a copy of them each time.
    pub fn on_frame_into(&mut self, frame: &Frame<'_>, rec: &mut FrameRecord) {
        let packet = decode::decode(frame);
        self.on_packet_into(frame, &packet, rec)
    }

    /// [`Analyzer::on_packet`] into `rec`, which it overwrites.
    pub fn on_packet_into(&mut self, frame: &Frame<'_>, packet: &Packet<'_>, rec: &mut FrameRecord) {
        self.frames += 1;
        self.retire(frame.ts);
        if packet.truncated {
            self.truncated += 1;
        }
        if packet.non_ip == Some(NonIp::UnsupportedLink) {
            *self.unsupported_links.entry(frame.link.0).or_default() += 1;
        }
        let (src, dst) = match packet.addrs {
            Some((s, d)) => (Some(s), Some(d)),
            None => (None, None),
        };
        *rec = FrameRecord {
            frame: frame.number,
            ts: frame.ts,
            src,
            dst,
            truncated: packet.truncated,
            link: frame.link,
            non_ip: packet.non_ip,
            comment: frame.comment.map(Box::from),
            // A lab run's saved file says what its wire did (a replay shows it again).
            wire: self.next_wire.take().or_else(|| frame.comment.and_then(crate::source::wire::WireMark::from_comment)),
            ..FrameRecord::blank()
        };
        match (&packet.transport, packet.addrs) {
            (Transport::Tcp(seg), Some((s, d))) => {
                rec.proto = Proto::Tcp;
                rec.sport = Some(seg.sport);
                rec.dport = Some(seg.dport);
                if rec.wire.is_some_and(|w| w.action == crate::source::wire::spec::Action::Drop) {
                    self.next_lost = true;
                }
                self.on_tcp(rec, SocketAddr::new(s, seg.sport), SocketAddr::new(d, seg.dport), seg);
                // A copy the wire made repeats bytes, so it looks like a
                // retransmission; no kernel sent it, and the words say so.
                if rec.wire.is_some_and(|w| w.action == crate::source::wire::spec::Action::Duplicate)
                    && rec.cause == Some(Cause::Retransmit)
                {
                    rec.cause = Some(Cause::WireCopy);
                    rec.explain = [Some(Explain::WireCopy), None];
                }
            }
            (Transport::Udp(dgram), Some((s, d))) => {
                rec.proto = Proto::Udp;
                rec.sport = Some(dgram.sport);
                rec.dport = Some(dgram.dport);
                let (src, dst) = (SocketAddr::new(s, dgram.sport), SocketAddr::new(d, dgram.dport));
                let (id, dir) = self.udp_flow_of(src, dst, frame.ts);
                let flow = self.udp_flows.get_mut(&id).expect("just looked up");
                flow.packets[dir as usize] += 1;
                flow.bytes[dir as usize] += dgram.payload_len as u64;
                flow.last = frame.ts;
                let dns = (dgram.sport == decode::dns::PORT || dgram.dport == decode::dns::PORT)
                    .then(|| decode::dns::DnsInfo::parse(dgram.payload))
                    .flatten();
                rec.udp = Some(UdpRecord { stream: id, dir, len: dgram.payload_len, dns: dns.map(Box::new) });
                rec.payload = Payload::new(dgram.payload, dgram.payload_len, self.payload_limit);
                rec.cause = Some(Cause::SendTo);
            }
            (Transport::Icmp(msg), Some(_)) => {
                rec.proto = if msg.v6 { Proto::Icmpv6 } else { Proto::Icmp };
                let mut icmp = IcmpRecord { msg: *msg, udp_stream: None, tcp_stream: None };
                if let Some(q) = msg.quoted {
                    if let (Some(sp), Some(dp)) = (q.sport, q.dport) {
                        let key = flow_key(SocketAddr::new(q.src, sp), SocketAddr::new(q.dst, dp));
                        match q.protocol {
                            17 => {
                                icmp.udp_stream = self.udp_index.get(&key).copied();
                                if let Some(f) = icmp.udp_stream.and_then(|id| self.udp_flows.get_mut(&id)) {
                                    f.icmp_errors += 1;
                                }
                            }
                            6 => {
                                icmp.tcp_stream = self
                                    .tcp_index
                                    .get(&key)
                                    .map(|&(id, _)| id)
                                    .or_else(|| self.dormant.get(&key).map(|d| d.id))
                            }
                            _ => {}
                        }
                    }
                }
                if msg.is_port_unreachable() {
                    rec.cause = Some(Cause::PortUnreachable);
                    rec.explain[0] = Some(Explain::PortUnreachable);
                } else if matches!((msg.v6, msg.icmp_type), (false, 0 | 8) | (true, 128 | 129)) {
                    rec.cause = Some(Cause::Ping);
                }
                rec.icmp = Some(Box::new(icmp));
            }
            _ => {}
        }
    }

    fn udp_flow_of(&mut self, src: SocketAddr, dst: SocketAddr, ts: Timestamp) -> (u32, u8) {
        let key = flow_key(src, dst);
        let next = self.udp_count;
        let id = *self.udp_index.entry(key).or_insert(next);
        if id == next {
            self.udp_count += 1;
            self.udp_flows.insert(
                id,
                UdpFlow { id, a: src, b: dst, packets: [0; 2], bytes: [0; 2], icmp_errors: 0, first: ts, last: ts },
            );
        }
        let dir = if self.udp_flows[&id].a == src { 0 } else { 1 };
        (id, dir)
    }

    fn new_stream(
        &mut self,
        key: FlowKey,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &decode::TcpSegment<'_>,
        ts: Timestamp,
    ) -> (u32, u32) {
        let id = self.tcp_count;
        self.tcp_count += 1;
        let (a_state, b_state, client, opening) = match (seg.has(SYN), seg.has(ACK)) {
            (true, false) => (TcpState::Closed, TcpState::Listen, Some(0), Opening::SynOnly),
            (true, true) => (TcpState::Listen, TcpState::SynSent, Some(1), Opening::Handshake),
            _ => (TcpState::Established, TcpState::Established, None, Opening::MidStream),
        };
        let slot = self.streams.insert(TcpStream {
            id,
            a: src,
            b: dst,
            client,
            conv: TcpConversation::default(),
            endpoints: [Endpoint::new(a_state), Endpoint::new(b_state)],
            stats: StreamStats {
                packets: [0; 2],
                bytes: [0; 2],
                first: ts,
                last: ts,
                opening,
                fins: [0; 2],
                fin_ack_combined: false,
                rst_from: None,
                expert_counts: [0; 16],
            },
            zero_window: [false; 2],
            repeated: [false; 2],
            finished: false,
            http: Default::default(),
            fin_seen: [None; 2],
        });
        // Port reuse: the older connection on this 4-tuple can get no more
        // packets (they all go to the newest, as in tshark). Forget it now.
        if let Some((old, _)) = self.tcp_index.insert(key, (id, slot)) {
            if let Some(s) = self.streams.remove(old) {
                keep_busiest(&mut self.retired, s, |s| s.stats.bytes[0] + s.stats.bytes[1]);
            }
        }
        (id, slot)
    }

    fn on_tcp(&mut self, rec: &mut FrameRecord, src: SocketAddr, dst: SocketAddr, seg: &decode::TcpSegment<'_>) {
        let ts = rec.ts;
        let lost = std::mem::take(&mut self.next_lost);
        let key = flow_key(src, dst);
        let mut preset = Expert::default();
        let (mut id, mut slot) = match self.tcp_index.get(&key) {
            Some(&found) => found,
            None => match self.revive(key, ts) {
                Some(found) => found,
                None => self.new_stream(key, src, dst, seg, ts),
            },
        };
        let dir_of = |s: &TcpStream| if s.a == src { 0usize } else { 1 };
        // A SYN on a known 4-tuple: a new connection if its ISN differs (port reuse),
        // otherwise a retransmitted SYN (even after a FIN or RST, as in tshark 4.0).
        if seg.flags & (SYN | ACK) == SYN {
            let stream = self.streams.at(slot);
            let dir = dir_of(stream);
            if let Some(base) = stream.conv.base_seq(dir) {
                if base != seg.seq {
                    preset.0 |= Expert::REUSED_PORTS;
                    (id, slot) = self.new_stream(key, src, dst, seg, ts);
                } else {
                    stream.conv.restore_for_repeated_syn(dir);
                }
            }
        } else if seg.flags & (SYN | ACK) == (SYN | ACK) {
            let stream = self.streams.at(slot);
            let dir = dir_of(stream);
            if let Some(base) = stream.conv.base_seq(dir) {
                if base != seg.seq {
                    stream.conv.rebase_synack(dir, seg.seq);
                    preset.0 |= Expert::REUSED_PORTS;
                }
            }
        }
        let stream = self.streams.at(slot);
        let dir = dir_of(stream);
        let numbers = match seg.malformed {
            None if !seg.header_cut => stream.conv.on_segment(dir, seg, ts, preset),
            // tshark analyses it (the state moves on) but stops before it
            // reports the flags.
            None | Some(TcpMalformed::HeaderTooShort(_)) => SegmentNumbers {
                expert: Expert::default(),
                dupack_num: 0,
                ..stream.conv.on_segment(dir, seg, ts, preset)
            },
            // No segment length: no analysis, raw numbers.
            Some(TcpMalformed::HeaderBeyondSegment(_)) => SegmentNumbers {
                seq: seg.seq,
                ack: seg.ack,
                win: seg.window as u32,
                win_scale: tcp::SCALE_UNKNOWN,
                expert: Expert::default(),
                dupack_num: 0,
            },
        };

        // Endpoint states (a damaged header moves no state).
        let (before_src, before_dst) = (stream.endpoints[dir].state, stream.endpoints[1 - dir].state);
        if seg.malformed.is_none() {
            let [a, b] = &mut stream.endpoints;
            let (sender, receiver) = if dir == 0 { (a, b) } else { (b, a) };
            if lost {
                let mut never_reached = *receiver;
                state::on_segment(sender, &mut never_reached, seg.flags, seg.seq, seg.ack, seg.payload_len);
            } else {
                state::on_segment(sender, receiver, seg.flags, seg.seq, seg.ack, seg.payload_len);
            }
        }
        let (state_src, state_dst) = (stream.endpoints[dir].state, stream.endpoints[1 - dir].state);

        // Totals.
        let st = &mut stream.stats;
        st.packets[dir] += 1;
        st.bytes[dir] += seg.payload_len as u64;
        st.last = ts;
        // Count each flag set on this segment (usually none).
        let mut bits = numbers.expert.0;
        while bits != 0 {
            st.expert_counts[bits.trailing_zeros() as usize] += 1;
            bits &= bits - 1;
        }
        if seg.has(SYN | ACK) && st.opening == Opening::SynOnly {
            st.opening = Opening::Handshake;
        }
        if seg.has(RST) {
            if st.opening == Opening::SynOnly {
                st.opening = Opening::Refused;
            }
            st.rst_from.get_or_insert(dir as u8);
        }
        let first_fin = seg.has(FIN) && st.fins == [0, 0];
        // This FIN acknowledges the other side's FIN: the peer goes from
        // FIN_WAIT1 straight to TIME_WAIT (a close in three segments).
        let mut fin_carries_ack = None;
        if seg.has(FIN) {
            if st.fins[dir] == 0 && before_dst == TcpState::FinWait1 && state_dst == TcpState::TimeWait {
                st.fin_ack_combined = true;
                fin_carries_ack = Some(stream.fin_seen[1 - dir]);
            }
            st.fins[dir] += 1;
            stream.fin_seen[dir].get_or_insert((rec.frame, ts));
        }

        // Cause and explanation.
        let e = numbers.expert;
        let retrans = e.is_retransmission();
        let cause = if seg.has(RST) {
            if before_dst == TcpState::SynSent {
                Cause::Refused
            } else if matches!(before_src, TcpState::Closed | TcpState::TimeWait) {
                Cause::ResetClosed
            } else {
                Cause::Abort
            }
        } else if seg.has(SYN) {
            match (seg.has(ACK), retrans) {
                (false, false) => Cause::Connect,
                (false, true) => Cause::ConnectRetry,
                (true, false) => Cause::ListenSynAck,
                (true, true) => Cause::Retransmit,
            }
        } else if retrans {
            Cause::Retransmit
        } else if seg.has(FIN) {
            if seg.payload_len > 0 {
                Cause::SendClose
            } else {
                Cause::Close
            }
        } else if e.has(Expert::ZERO_WINDOW_PROBE) {
            Cause::ZeroWindowProbe
        } else if e.has(Expert::KEEP_ALIVE) {
            Cause::KeepAlive
        } else if seg.payload_len > 0 {
            Cause::Send
        } else if e.has(Expert::ZERO_WINDOW) {
            Cause::ZeroWindow
        } else if e.has(Expert::WINDOW_UPDATE) {
            Cause::WindowUpdate
        } else if e.has(Expert::DUPLICATE_ACK) && dsack(seg) {
            Cause::DuplicateData
        } else if e.has(Expert::DUPLICATE_ACK) && stream.repeated[1 - dir] {
            Cause::AckOfRepeat
        } else if e.has(Expert::DUPLICATE_ACK) {
            Cause::DuplicateAck
        } else if before_dst == TcpState::SynReceived && state_dst == TcpState::Established {
            Cause::HandshakeAck
        } else {
            Cause::KernelAck
        };
        // At most two sentences; a later (more specific) one replaces the oldest.
        let mut explain = Explanations::default();
        match cause {
            Cause::Connect => explain.push(Explain::HandshakeSyn),
            Cause::ListenSynAck => explain.push(Explain::HandshakeSynAck),
            Cause::Refused => explain.push(Explain::Refused),
            Cause::Abort | Cause::ResetClosed => explain.push(Explain::Reset),
            Cause::ConnectRetry => explain.push(Explain::SynRetransmission),
            Cause::Retransmit if seg.has(SYN) => explain.push(Explain::SynRetransmission),
            Cause::Retransmit if e.has(Expert::FAST_RETRANSMISSION) => explain.push(Explain::FastRetransmission),
            Cause::Retransmit if seg.has(FIN) && seg.payload_len == 0 => explain.push(Explain::FinRetransmission),
            Cause::Retransmit => explain.push(Explain::Retransmission),
            _ if e.has(Expert::OUT_OF_ORDER) => explain.push(Explain::OutOfOrder),
            _ => {}
        }
        if seg.flags & (SYN | ACK) == ACK && before_dst == TcpState::SynReceived && state_dst == TcpState::Established {
            explain.push(Explain::HandshakeAck);
        }
        if let Some(peer_fin) = fin_carries_ack {
            explain.push(Explain::FinCarriesAck {
                peer_fin_frame: peer_fin.map(|(f, _)| f),
                after_us: peer_fin.map(|(_, at)| (ts.nanos_since(at).max(0) / 1000) as u64),
            });
        } else if seg.has(FIN) && !retrans {
            explain.push(if first_fin { Explain::FirstFin } else { Explain::SecondFin });
        }
        if (state_src == TcpState::TimeWait && before_src != TcpState::TimeWait)
            || (state_dst == TcpState::TimeWait && before_dst != TcpState::TimeWait)
        {
            explain.push(Explain::TimeWait);
        }
        if e.has(Expert::ZERO_WINDOW) && !stream.zero_window[dir] {
            explain.push(Explain::ZeroWindow);
        }
        if seg.window != 0 && stream.zero_window[dir] && !seg.has(RST) {
            explain.push(Explain::WindowReopened);
        }
        if seg.flags & (SYN | RST) == 0 {
            stream.zero_window[dir] = seg.window == 0;
        }
        if seg.payload_len > 0 || seg.flags & (SYN | FIN) != 0 {
            stream.repeated[dir] = retrans;
        }
        if seg.malformed.is_none() && seg.payload_len > 0 {
            rec.payload = Payload::new(seg.payload, seg.payload_len, self.payload_limit);
            // Data on a SYN (TCP Fast Open) starts after the SYN's own sequence number.
            let data_seq = numbers.seq.wrapping_add(u32::from(seg.has(SYN)));
            if self.http {
                rec.http = stream.http.on_segment(dir, data_seq, seg.payload, seg.payload_len, rec.frame).map(Box::new);
            }
        }
        rec.explain = explain.0;
        rec.cause = Some(cause);
        rec.tcp = Some(TcpRecord {
            stream: id,
            dir: dir as u8,
            flags: seg.flags,
            seq: numbers.seq,
            ack: numbers.ack,
            seq_raw: seg.seq,
            ack_raw: seg.ack,
            len: seg.payload_len,
            win: numbers.win,
            win_scale: numbers.win_scale,
            mss: seg.options.mss,
            wscale: seg.options.window_scale,
            sack_permitted: seg.options.sack_permitted,
            timestamps: seg.options.timestamp.is_some(),
            sack_blocks: seg.options.sack_count,
            dsack: dsack(seg),
            expert: numbers.expert,
            dupack_num: numbers.dupack_num,
            state_src,
            state_dst,
            before_src,
            before_dst,
            malformed: seg.malformed,
        });
        // Both ends closed: the connection can be forgotten later.
        let closed = |s: TcpState| matches!(s, TcpState::Closed | TcpState::TimeWait);
        if closed(state_src) && closed(state_dst) {
            let st = self.streams.at(slot);
            if !st.finished {
                st.finished = true;
                self.finished.push_back((id, ts));
            }
        }
    }
}
