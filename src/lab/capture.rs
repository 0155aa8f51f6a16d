//! The lab's view of the wire: live capture limited (in the kernel) to the
//! lab's ports, attribution of packets to the step that caused them, the
//! saved file, and the analysis.

use super::events::{Event, LabSink};
use crate::analyze::{Analyzer, FrameRecord};
use crate::decode::{Packet, Transport};
use crate::error::{Error, Result};
use crate::source::live::{CaptureStats, LiveCapture, LiveFrame};
use crate::source::wire::Wire;
use crate::source::writer::PcapWriter;
use crate::source::{Frame, LinkType};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// The wire counts as quiet after this long without a lab packet. Longer than
/// Linux's minimum delayed-ACK timer (40 ms, `TCP_DELACK_MIN`), so a delayed
/// ACK is attributed to the call that caused it.
pub const QUIET: Duration = Duration::from_millis(80);
/// How often a settling step looks at the kernel's side (TCP_INFO, timers).
pub const TICK: Duration = Duration::from_millis(50);
/// Longest wait for quiet after a call.
pub const MAX_SETTLE: Duration = Duration::from_millis(1500);

/// Where a lab's frames come from.
pub enum Feed {
    /// Live capture on this machine's loopback (filtered to the lab's ports).
    Loopback(LiveCapture),
    /// The lab wire: wirelab forwards every frame itself.
    Wire(Wire),
}

impl Feed {
    fn frames(&self) -> &std::sync::mpsc::Receiver<LiveFrame> {
        match self {
            Feed::Loopback(c) => &c.frames,
            Feed::Wire(w) => &w.frames,
        }
    }

    /// The link type of the frames.
    pub fn link(&self) -> LinkType {
        match self {
            Feed::Loopback(c) => c.link,
            // TAP interfaces carry Ethernet frames.
            Feed::Wire(_) => LinkType::ETHERNET,
        }
    }

    /// Frames are still on their way (the lab wire holds them).
    fn busy(&self) -> bool {
        match self {
            Feed::Loopback(_) => false,
            Feed::Wire(w) => w.in_flight() > 0,
        }
    }

    fn stop(&mut self) -> Result<CaptureStats> {
        match self {
            Feed::Loopback(c) => c.stop(),
            Feed::Wire(w) => w.stop(),
        }
    }
}

/// How a lab socket holds its address: this decides which packets are the lab's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Claim {
    /// bind() (a chosen port or the kernel's), listen(), accept(), any UDP
    /// socket: the kernel gives no other socket this address while the lab
    /// holds it. A call's target counts too: traffic to a port nobody uses
    /// (SYN → RST, ICMP unreachable) is the lab's.
    #[default]
    Sole,
    /// A TCP client's port chosen by connect() without bind(): Linux gives the
    /// same port to other connections whose peer differs (`__inet_hash_connect`
    /// only needs the 4-tuple to be unique), even while this one is in
    /// TIME_WAIT. A packet with this port is the lab's only if its other end
    /// is the lab's too.
    Shared,
}

/// The lab's addresses, and which packets they make the lab's.
#[derive(Default)]
struct Endpoints {
    sole: Vec<SocketAddr>,
    shared: Vec<SocketAddr>,
    /// Every port, for the kernel's filter and the kernel table.
    ports: BTreeSet<u16>,
}

impl Endpoints {
    /// Adds an address; true if it brought a new port.
    fn add(&mut self, addr: SocketAddr, claim: Claim) -> bool {
        // An IPv6 socket talking IPv4 names its addresses ::ffff:a.b.c.d.
        let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
        let list = match claim {
            Claim::Sole => &mut self.sole,
            Claim::Shared => &mut self.shared,
        };
        if !list.contains(&addr) {
            list.push(addr);
        }
        self.ports.insert(addr.port())
    }

    fn held(list: &[SocketAddr], ip: IpAddr, port: u16) -> bool {
        list.iter().any(|e| e.port() == port && (e.ip() == ip || e.ip().is_unspecified()))
    }

    /// The packet (or the datagram an ICMP error quotes) is the lab's: one
    /// end is held by the lab alone, or both ends are the lab's.
    fn own(&self, packet: &Packet<'_>) -> bool {
        let Some((src, dst)) = packet.addrs else { return false };
        let (src, sport, dst, dport) = match packet.transport {
            Transport::Tcp(t) => (src, t.sport, dst, t.dport),
            Transport::Udp(u) => (src, u.sport, dst, u.dport),
            Transport::Icmp(i) => match i.quoted {
                Some(q) => match (q.sport, q.dport) {
                    (Some(s), Some(d)) => (q.src, s, q.dst, d),
                    _ => return false,
                },
                None => return false,
            },
            _ => return false,
        };
        let (src, dst) = (src.to_canonical(), dst.to_canonical());
        let sole = |ip, port| Self::held(&self.sole, ip, port);
        let any = |ip, port| sole(ip, port) || Self::held(&self.shared, ip, port);
        sole(src, sport) || sole(dst, dport) || (any(src, sport) && any(dst, dport))
    }
}

/// Capture, file and analysis of one lab run.
pub struct LabCapture {
    live: Option<Feed>,
    writer: Option<PcapWriter>,
    /// The analysis of every lab packet so far.
    pub analyzer: Analyzer,
    frame_no: u64,
    endpoints: Endpoints,
    /// The step's call, written as each saved packet's comment (pcapng).
    note: Option<String>,
    /// How long without a packet counts as quiet.
    quiet: Duration,
}

impl LabCapture {
    /// Wraps a started capture (or none) and the file to save to.
    pub fn new(live: Option<Feed>, writer: Option<PcapWriter>) -> Self {
        LabCapture {
            live,
            writer,
            analyzer: Analyzer::new(),
            frame_no: 0,
            endpoints: Endpoints::default(),
            note: None,
            quiet: QUIET,
        }
    }

    /// A wire with a delay: an answer (a delayed ACK) takes the round trip longer.
    pub fn set_round_trip(&mut self, rtt: Duration) {
        self.quiet = QUIET + rtt;
    }

    /// What the saved packets from now on were caused by (their comment).
    pub fn set_note(&mut self, note: String) {
        self.note = Some(note);
    }

    /// Packets are being captured.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// The lab's ports so far.
    pub fn ports(&self) -> &BTreeSet<u16> {
        &self.endpoints.ports
    }

    /// Adds addresses of the lab; the kernel's filter (by port) follows.
    pub fn add_endpoints(&mut self, endpoints: impl IntoIterator<Item = (SocketAddr, Claim)>) {
        let mut new_port = false;
        for (addr, claim) in endpoints {
            new_port |= self.endpoints.add(addr, claim);
        }
        if let (true, Some(Feed::Loopback(c))) = (new_port, &self.live) {
            let ports: Vec<u16> = self.endpoints.ports.iter().copied().collect();
            if let Err(e) = c.set_ports(&ports) {
                eprintln!("wirelab: {e}");
            }
        }
    }

    fn handle_frame(&mut self, n: usize, f: &LiveFrame, sink: &mut dyn LabSink) -> Result<Option<FrameRecord>> {
        let link = self.live.as_ref().map(Feed::link).unwrap_or(LinkType::ETHERNET);
        let probe =
            Frame { number: self.frame_no + 1, ts: f.ts, link, data: &f.data, orig_len: f.orig_len, comment: None };
        let packet = crate::decode::decode(&probe);
        if !self.endpoints.own(&packet) {
            return Ok(None);
        }
        self.frame_no += 1;
        if let Some(w) = self.writer.as_mut() {
            let note = match (&self.note, f.wire) {
                (Some(n), Some(m)) => Some(format!("{n} · wire: {}", m.action.name())),
                (n, _) => n.clone(),
            };
            w.write_commented(f.ts, &f.data, f.orig_len, note.as_deref())?;
            w.flush()?;
        }
        if let Some(mark) = f.wire {
            self.analyzer.next_is_marked(mark);
        }
        let mut rec = self.analyzer.on_packet(&probe, &packet);
        rec.timing = f.timing.map(Box::new);
        sink.event(&Event::Packet { n, rec: &rec, frame: &probe }, &self.analyzer)
            .map_err(|e| Error::io("writing output", e))?;
        Ok(Some(rec))
    }

    /// Collects the packets of step `n`: at least `min` long, then until the
    /// wire has been quiet for [`QUIET`] and `tick` says nothing is in flight
    /// (at most `max` in all, or until `stop`). `tick` also runs every
    /// [`TICK`] (the lab wire samples TCP_INFO there).
    pub fn settle(
        &mut self,
        n: usize,
        min: Duration,
        max: Duration,
        stop: &AtomicBool,
        sink: &mut dyn LabSink,
        tick: &mut dyn FnMut(&mut dyn LabSink, &Analyzer) -> Result<bool>,
    ) -> Result<Vec<FrameRecord>> {
        let mut seen = Vec::new();
        let start = Instant::now();
        if self.live.is_none() {
            // Without capture the wire cannot be watched: wait as long as a
            // delayed ACK may take, twice over.
            let wait = min.max(2 * QUIET);
            while start.elapsed() < wait && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            return Ok(seen);
        }
        let mut last = Instant::now();
        let mut last_tick = Instant::now();
        loop {
            let now = Instant::now();
            let elapsed = now - start;
            if elapsed >= max.max(min) || stop.load(Ordering::Relaxed) {
                break;
            }
            if now - last_tick >= TICK {
                last_tick = now;
                tick(sink, &self.analyzer)?;
            }
            // A frame the lab wire still holds (a delayed ACK) will come.
            let busy = self.live.as_ref().is_some_and(Feed::busy);
            let mut quiet = elapsed >= min && now - last >= self.quiet && !busy;
            if quiet {
                // Frames already waiting are not quiet: take them first.
                while let Ok(f) = self.live.as_ref().expect("capturing").frames().try_recv() {
                    if let Some(rec) = self.handle_frame(n, &f, sink)? {
                        seen.push(rec);
                        last = Instant::now();
                        quiet = false;
                    }
                }
            }
            if quiet {
                last_tick = now;
                if !tick(sink, &self.analyzer)? {
                    break;
                }
            }
            let wait = if quiet {
                // Quiet, but something is in flight: look again a tick later.
                TICK
            } else if elapsed < min {
                (min - elapsed).min(self.quiet)
            } else {
                self.quiet.saturating_sub(now - last)
            };
            let wait = wait.min(TICK).max(Duration::from_millis(1));
            let got = self.live.as_ref().expect("capturing").frames().recv_timeout(wait);
            match got {
                Ok(f) => {
                    if let Some(rec) = self.handle_frame(n, &f, sink)? {
                        seen.push(rec);
                        last = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(seen)
    }

    /// Stops capturing; the saved file is complete after this.
    pub fn finish(&mut self) -> Result<Option<CaptureStats>> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
        }
        match self.live.as_mut() {
            Some(c) => Ok(Some(c.stop()?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Timestamp;
    use etherparse::PacketBuilder;

    const MAC: [u8; 6] = [0; 6];

    fn owned(e: &Endpoints, bytes: &[u8]) -> bool {
        let frame = Frame {
            number: 1,
            ts: Timestamp::default(),
            link: LinkType::ETHERNET,
            data: bytes,
            orig_len: 0,
            comment: None,
        };
        e.own(&crate::decode::decode(&frame))
    }

    fn tcp(src: &str, dst: &str) -> Vec<u8> {
        let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let (IpAddr::V4(si), IpAddr::V4(di)) = (s.ip(), d.ip()) else { panic!("IPv4 only") };
        let b = PacketBuilder::ethernet2(MAC, MAC).ipv4(si.octets(), di.octets(), 64).tcp(s.port(), d.port(), 1, 65535);
        let mut out = Vec::new();
        b.write(&mut out, &[]).unwrap();
        out
    }

    fn lab(endpoints: &[(&str, Claim)]) -> Endpoints {
        let mut e = Endpoints::default();
        for (a, c) in endpoints {
            e.add(a.parse().unwrap(), *c);
        }
        e
    }

    /// The flake this rule fixes: a lab's client in TIME_WAIT, and another
    /// program's connection that the kernel gave the same client port.
    #[test]
    fn a_connection_sharing_only_the_clients_port_is_not_the_labs() {
        let e = lab(&[("127.0.0.1:40000", Claim::Sole), ("127.0.0.1:50000", Claim::Shared)]);
        assert!(owned(&e, &tcp("127.0.0.1:50000", "127.0.0.1:40000")));
        assert!(owned(&e, &tcp("127.0.0.1:40000", "127.0.0.1:50000")));
        assert!(!owned(&e, &tcp("127.0.0.1:50000", "127.0.0.1:40002")));
        assert!(!owned(&e, &tcp("127.0.0.1:40002", "127.0.0.1:50000")));
        // A sole port is the lab's whoever the peer (a student's client).
        assert!(owned(&e, &tcp("127.0.0.1:61000", "127.0.0.1:40000")));
        // The same port on another address is another socket.
        assert!(!owned(&e, &tcp("127.0.0.2:61000", "127.0.0.2:40000")));
    }

    #[test]
    fn a_wildcard_or_ipv4_mapped_address_holds_its_port_on_every_address() {
        let e = lab(&[("0.0.0.0:40000", Claim::Sole), ("[::ffff:127.0.0.1]:40010", Claim::Sole)]);
        assert!(owned(&e, &tcp("127.0.0.9:61000", "127.0.0.9:40000")));
        assert!(owned(&e, &tcp("127.0.0.1:61000", "127.0.0.1:40010")));
        assert!(!owned(&e, &tcp("127.0.0.2:61000", "127.0.0.2:40010")));
    }

    #[test]
    fn an_icmp_error_is_the_labs_when_the_datagram_it_quotes_is() {
        let e = lab(&[("127.0.0.1:40000", Claim::Sole)]);
        let quote = |sport: u16| {
            let mut q = Vec::new();
            PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).udp(sport, 40404).write(&mut q, b"hi").unwrap();
            let mut out = Vec::new();
            PacketBuilder::ethernet2(MAC, MAC)
                .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                .icmpv4_raw(3, 3, [0; 4])
                .write(&mut out, &q)
                .unwrap();
            out
        };
        assert!(owned(&e, &quote(40000)));
        assert!(!owned(&e, &quote(40002)));
    }
}
