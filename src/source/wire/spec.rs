//! The `[wire]` table of a lab file: hosts (private network namespaces),
//! the path between them (delay, rate, queue) and rules that drop, corrupt,
//! duplicate, reorder or delay chosen packets. Parsed into these types with
//! `deny_unknown_fields`, so a misspelt key, action or packet kind is an
//! error with its line.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

/// The lab's subnet: host `i` (0-based, in file order) is `10.77.0.(i+1)`.
/// Only inside the lab's own namespaces; the host's network never sees it.
pub const SUBNET: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 0);
/// Prefix length of [`SUBNET`].
pub const PREFIX: u8 = 24;

/// `[wire]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WireSpec {
    /// One-way delay of every packet, milliseconds (RTT = twice this).
    #[serde(default)]
    pub delay: f64,
    /// Bytes per second each host can put on the wire (none: no limit).
    pub rate: Option<u64>,
    /// Packets that may wait for a rate-limited wire; more are dropped at the tail.
    pub queue: Option<usize>,
    /// Whose view the capture is, as tcpdump on that host would see it: what
    /// it sends as it leaves, what it receives as it arrives (default: the first host).
    pub capture: Option<String>,
    /// The hosts, in order (`[[wire.host]]`).
    #[serde(rename = "host")]
    pub hosts: Vec<HostSpec>,
    /// What happens to chosen packets (`[[wire.rule]]`).
    #[serde(rename = "rule", default)]
    pub rules: Vec<RuleSpec>,
}

/// `[[wire.host]]`: a private network namespace with one interface.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Its name in rules (`from = "client"`) and on the ladder.
    pub name: String,
    /// The lab's sockets made on this host (accepted ones live where their listener is).
    pub actors: Vec<String>,
    /// Kernel settings of this host (`net.ipv4.*`).
    #[serde(default)]
    pub sysctl: BTreeMap<Sysctl, i64>,
    /// One-way delay of packets this host sends (overrides `[wire] delay`).
    pub delay: Option<f64>,
    /// Rate limit of packets this host sends (overrides `[wire] rate`).
    pub rate: Option<u64>,
}

/// The `net.ipv4` settings a lab may change on its own hosts.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sysctl {
    /// Selective acknowledgements (RFC 2018).
    TcpSack,
    /// Duplicate SACK (RFC 2883).
    TcpDsack,
    /// Timestamps option (RFC 7323).
    TcpTimestamps,
    /// Retries of an unanswered SYN.
    TcpSynRetries,
    /// Retransmissions before an established connection gives up.
    TcpRetries2,
    /// Tail loss probe and early retransmit (0 turns them off).
    TcpEarlyRetrans,
    /// RACK loss detection (bit 1).
    TcpRecovery,
    /// F-RTO spurious timeout detection (RFC 5682).
    TcpFrto,
}

impl Sysctl {
    /// The file name under `/proc/sys/net/ipv4/`.
    pub fn name(self) -> &'static str {
        match self {
            Sysctl::TcpSack => "tcp_sack",
            Sysctl::TcpDsack => "tcp_dsack",
            Sysctl::TcpTimestamps => "tcp_timestamps",
            Sysctl::TcpSynRetries => "tcp_syn_retries",
            Sysctl::TcpRetries2 => "tcp_retries2",
            Sysctl::TcpEarlyRetrans => "tcp_early_retrans",
            Sysctl::TcpRecovery => "tcp_recovery",
            Sysctl::TcpFrto => "tcp_frto",
        }
    }
}

/// What the wire does to a chosen packet.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Never delivered ("lost on the wire").
    Drop,
    /// One byte changed, checksum left as it was: the receiver's kernel discards it.
    Corrupt,
    /// Delivered twice.
    Duplicate,
    /// Held back until the next packet from the same host has passed it.
    Reorder,
    /// Delivered `ms` later than the wire's own delay.
    Delay,
}

impl Action {
    /// The name in lab files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Corrupt => "corrupt",
            Action::Duplicate => "duplicate",
            Action::Reorder => "reorder",
            Action::Delay => "delay",
        }
    }
}

/// Which packets a rule counts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PacketKind {
    /// Every packet.
    #[default]
    Any,
    /// TCP segments that carry data.
    Data,
    /// SYN without ACK (connection request).
    Syn,
    /// SYN+ACK.
    Synack,
    /// Segments with FIN.
    Fin,
    /// Pure ACKs: no data, no SYN/FIN/RST.
    Ack,
    /// The pure ACK that acknowledges the other side's FIN (the last ACK of a close).
    AckOfFin,
    /// Segments with RST.
    Rst,
    /// UDP datagrams.
    Udp,
}

/// `[[wire.rule]]`: the nth (or, by chance with a seed, some) packets of a
/// kind sent by a host, in each connection, get an action.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The sending host.
    pub from: String,
    /// What happens.
    pub action: Action,
    /// Which packets are counted.
    #[serde(default)]
    pub packet: PacketKind,
    /// Which of them, 1-based, per connection (default: the first).
    pub nth: Option<Vec<u32>>,
    /// Only segments whose first byte's relative sequence number is in [from, to).
    pub seq: Option<[u32; 2]>,
    /// Instead of `nth`: each counted packet with this probability …
    pub probability: Option<f64>,
    /// … drawn from a generator with this seed (the same run, the same packets).
    pub seed: Option<u64>,
    /// For `delay`: how many milliseconds more.
    pub ms: Option<f64>,
}

impl WireSpec {
    /// The address of host `i`.
    pub fn addr(i: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(SUBNET) + i as u32 + 1)
    }

    /// The subnet's broadcast address.
    pub fn broadcast() -> Ipv4Addr {
        Ipv4Addr::from(u32::from(SUBNET) | (u32::MAX >> PREFIX))
    }

    /// Is `ip` an address of this lab's wire (a host or the broadcast address)?
    pub fn owns(&self, ip: Ipv4Addr) -> bool {
        let index = u32::from(ip).wrapping_sub(u32::from(SUBNET));
        (1..=self.hosts.len() as u32).contains(&index) || ip == Self::broadcast()
    }

    /// The index of the host the capture is taken at.
    pub fn capture_host(&self) -> usize {
        self.capture.as_ref().and_then(|c| self.hosts.iter().position(|h| &h.name == c)).unwrap_or(0)
    }

    /// The host index of a socket actor.
    pub fn host_of(&self, actor: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.actors.iter().any(|a| a == actor))
    }

    /// Checks what serde cannot: names, ranges, one selector per rule.
    pub fn validate(&self) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Err("[wire] needs at least one [[wire.host]]".into());
        }
        if self.hosts.len() > 200 {
            return Err("[wire]: at most 200 hosts".into());
        }
        let mut names = HashSet::new();
        let mut actors = HashSet::new();
        for h in &self.hosts {
            if h.name.is_empty() || !names.insert(h.name.as_str()) {
                return Err(format!("[[wire.host]] name {:?}: empty or used twice", h.name));
            }
            for a in &h.actors {
                if !actors.insert(a.as_str()) {
                    return Err(format!("actor {a:?} is on two hosts"));
                }
            }
            for d in [h.delay, Some(self.delay)].into_iter().flatten() {
                if !(0.0..=10_000.0).contains(&d) {
                    return Err(format!("delay = {d}: milliseconds between 0 and 10000"));
                }
            }
            if h.rate == Some(0) || self.rate == Some(0) {
                return Err("rate: bytes per second, at least 1".into());
            }
        }
        if let Some(c) = &self.capture {
            if !names.contains(c.as_str()) {
                return Err(format!("capture = {c:?}: not a host"));
            }
        }
        for r in &self.rules {
            if !names.contains(r.from.as_str()) {
                let known: Vec<_> = self.hosts.iter().map(|h| h.name.as_str()).collect();
                return Err(format!("[[wire.rule]] from = {:?}: not a host ({})", r.from, known.join(", ")));
            }
            match (r.action, r.ms) {
                (Action::Delay, Some(ms)) if (0.0..=10_000.0).contains(&ms) => {}
                (Action::Delay, _) => return Err("action = \"delay\" needs ms = 1..10000".into()),
                (_, Some(_)) => return Err("ms applies to action = \"delay\" only".into()),
                _ => {}
            }
            match (&r.nth, r.probability, r.seed) {
                (Some(_), Some(_), _) => return Err("give nth or probability, not both".into()),
                (Some(n), None, None) if n.iter().all(|&n| n >= 1) && !n.is_empty() => {}
                (Some(_), None, None) => return Err("nth: packet numbers from 1".into()),
                (_, None, Some(_)) => return Err("seed goes with probability".into()),
                (None, Some(p), Some(_)) if p > 0.0 && p <= 1.0 => {}
                (None, Some(_), Some(_)) => return Err("probability: above 0, at most 1".into()),
                (None, Some(_), None) => {
                    return Err("probability needs seed = N (the same run loses the same packets)".into())
                }
                (None, None, None) => {}
            }
            if let Some([a, b]) = r.seq {
                if a >= b {
                    return Err(format!("seq = [{a}, {b}]: from must be below to"));
                }
            }
        }
        Ok(())
    }
}
