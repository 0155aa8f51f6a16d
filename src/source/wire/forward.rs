//! The forwarder: wirelab itself is the wire between the hosts' TAP
//! interfaces. Every frame a host sends is read here, judged by the rules,
//! held for the wire's delay (and rate), then written to the host it is
//! addressed to — or not. Each frame is also handed to the lab's capture at
//! the moment it reaches the far end (or would have): the capture is the
//! receiver's view, in delivery order, and includes the frames the wire
//! dropped, marked.

use super::rules::{self, Connections, Rule};
use super::spec::Action;
use super::WireMark;
use crate::source::live::{CaptureStats, LiveFrame};
use crate::source::Timestamp;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A reordered packet waits at most this long for a packet to pass it.
const REORDER_HOLD: Duration = Duration::from_millis(300);
/// A duplicate follows its original after this long.
const DUPLICATE_GAP: Duration = Duration::from_micros(200);
/// The longest frame a TAP hands over (MTU 1500 + Ethernet header, with room).
const MAX_FRAME: usize = 2048;
/// Packets waiting for a rate-limited wire when the lab sets no `queue`.
pub const DEFAULT_QUEUE: usize = 1000;

/// One host's end of the wire.
pub struct Port {
    /// The TAP descriptor (non-blocking).
    pub tap: OwnedFd,
    /// The interface's MAC: frames addressed to it go here.
    pub mac: [u8; 6],
    /// One-way delay of what this host sends.
    pub delay: Duration,
    /// Bytes per second this host can send (None: no limit).
    pub rate: Option<u64>,
    /// Packets that may wait for the rate limit.
    pub queue: usize,
}

struct Pending {
    due: Instant,
    order: u64,
    from: usize,
    to: Vec<usize>,
    data: Vec<u8>,
    mark: Option<WireMark>,
    /// When it left its host.
    sent: Timestamp,
    /// Shown already, when it left the capture host.
    shown: bool,
    /// Write it (false: dropped on the wire, only shown).
    deliver: bool,
    /// Counted in its host's queue.
    queued: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    // BinaryHeap is a max-heap: the earliest due (then the first made) is the greatest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// A packet held back by `reorder`.
struct Held {
    pending: Pending,
    until: Instant,
}

/// The forwarder's state (runs in its own thread, see [`Forwarder::run`]).
pub struct Forwarder {
    ports: Vec<Port>,
    /// The host whose view the capture is: what it sends is shown as it
    /// leaves, what it receives as it arrives (as tcpdump on that host).
    capture: usize,
    rules: Vec<Rule>,
    conns: Connections,
    heap: BinaryHeap<Pending>,
    held: Vec<Option<Held>>,
    /// When each host's rate-limited link is free again.
    free_at: Vec<Instant>,
    waiting: Vec<usize>,
    order: u64,
    out: Sender<LiveFrame>,
    shown: u64,
    /// Frames on the wire (held for their delay, rate or a reorder): a lab
    /// step is not over while one is.
    in_flight: Arc<AtomicUsize>,
}

fn later(t: Timestamp, d: Duration) -> Timestamp {
    let nanos = t.nanos as u64 + d.subsec_nanos() as u64;
    Timestamp {
        secs: t.secs + d.as_secs() as i64 + (nanos / 1_000_000_000) as i64,
        nanos: (nanos % 1_000_000_000) as u32,
    }
}

fn now_ts() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_nanos() }
}

impl Forwarder {
    /// A forwarder between `ports` applying `rules`, showing every frame on `out`.
    pub fn new(
        ports: Vec<Port>,
        capture: usize,
        rules: Vec<Rule>,
        out: Sender<LiveFrame>,
        in_flight: Arc<AtomicUsize>,
    ) -> Forwarder {
        let n = ports.len();
        Forwarder {
            ports,
            capture,
            rules,
            conns: Connections::default(),
            heap: BinaryHeap::new(),
            held: (0..n).map(|_| None).collect(),
            free_at: vec![Instant::now(); n],
            waiting: vec![0; n],
            order: 0,
            out,
            shown: 0,
            in_flight,
        }
    }

    /// Forwards until `stop` is set; returns how many frames it showed.
    pub fn run(mut self, stop: Arc<AtomicBool>) -> io::Result<CaptureStats> {
        let mut buf = vec![0u8; MAX_FRAME];
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let next = self.next_due().map(|d| d.saturating_duration_since(now)).unwrap_or(Duration::from_millis(20));
            self.poll(next.min(Duration::from_millis(20)))?;
            for i in 0..self.ports.len() {
                loop {
                    // SAFETY: `buf` is valid for MAX_FRAME bytes; the fd is our TAP.
                    let n = unsafe {
                        libc::read(self.ports[i].tap.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len())
                    };
                    if n <= 0 {
                        break;
                    }
                    self.arrive(i, buf[..n as usize].to_vec(), Instant::now());
                }
            }
            self.deliver_due(Instant::now());
            let n = self.heap.len() + self.held.iter().flatten().count();
            self.in_flight.store(n, Ordering::Relaxed);
        }
        Ok(CaptureStats { received: self.shown, dropped: 0 })
    }

    fn next_due(&self) -> Option<Instant> {
        let heap = self.heap.peek().map(|p| p.due);
        let held = self.held.iter().flatten().map(|h| h.until).min();
        heap.into_iter().chain(held).min()
    }

    fn poll(&self, timeout: Duration) -> io::Result<()> {
        let mut fds: Vec<libc::pollfd> = self
            .ports
            .iter()
            .map(|p| libc::pollfd { fd: p.tap.as_raw_fd(), events: libc::POLLIN, revents: 0 })
            .collect();
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Where a frame goes: the host with its destination MAC, or every other
    /// host (broadcast, multicast, unknown).
    fn destinations(&self, from: usize, frame: &[u8]) -> Vec<usize> {
        let dst = frame.get(..6);
        if let Some(i) = self.ports.iter().position(|p| Some(&p.mac[..]) == dst) {
            return if i == from { Vec::new() } else { vec![i] };
        }
        (0..self.ports.len()).filter(|&i| i != from).collect()
    }

    fn push(&mut self, mut p: Pending) {
        self.order += 1;
        p.order = self.order;
        // What the capture host sends is seen as it leaves.
        if p.from == self.capture && !p.shown {
            let arrives = p.deliver.then(|| later(p.sent, p.due.saturating_duration_since(Instant::now())));
            self.show(&p.data.clone(), p.mark, p.sent, arrives);
            p.shown = true;
        }
        if p.queued {
            self.waiting[p.from] += 1;
        }
        self.heap.push(p);
    }

    /// A frame from host `from`: rules, rate and delay decide when (and whether) it arrives.
    fn arrive(&mut self, from: usize, mut data: Vec<u8>, now: Instant) {
        let to = self.destinations(from, &data);
        let sent = now_ts();
        let summary = rules::summarize(&data);
        let mut action = None;
        if let Some(s) = &summary {
            self.conns.learn(s);
            for r in &mut self.rules {
                // Every rule counts the frame; the first that hits decides.
                let hit = r.hit(from, s, &self.conns);
                if action.is_none() {
                    action = hit;
                }
            }
        }
        let (rate, queue, delay) = (self.ports[from].rate, self.ports[from].queue, self.ports[from].delay);
        let mut depart = now;
        if let Some(rate) = rate {
            if self.waiting[from] >= queue {
                let mark = WireMark { action: Action::Drop, ms: None, queue_full: true };
                self.show(&data, Some(mark), sent, None);
                return;
            }
            let start = self.free_at[from].max(now);
            depart = start + Duration::from_secs_f64(data.len() as f64 / rate as f64);
            self.free_at[from] = depart;
        }
        let due = depart + delay;
        let pending = |data: Vec<u8>, due: Instant, mark: Option<WireMark>, deliver: bool| Pending {
            due,
            order: 0,
            from,
            to: to.clone(),
            data,
            mark,
            sent,
            shown: false,
            deliver,
            queued: rate.is_some(),
        };
        let mark =
            |action: Action, ms: Option<f64>| Some(WireMark { action, ms: ms.map(|m| m as u32), queue_full: false });
        match action {
            None => {
                let p = pending(data, due, None, true);
                self.push(p);
                // A held packet goes right after the packet that passed it.
                if let Some(h) = self.held[from].take() {
                    let mut held = h.pending;
                    held.due = due;
                    self.push(held);
                }
            }
            Some((Action::Drop, _)) => {
                let p = pending(data, due, mark(Action::Drop, None), false);
                self.push(p);
            }
            Some((Action::Corrupt, _)) => {
                if let Some(s) = &summary {
                    rules::corrupt(&mut data, s);
                }
                let p = pending(data, due, mark(Action::Corrupt, None), true);
                self.push(p);
            }
            Some((Action::Duplicate, _)) => {
                // Seen from the sending host, the packet left once (marked);
                // seen from elsewhere, the copy is the packet that arrives twice.
                let on_capture = from == self.capture;
                let original =
                    pending(data.clone(), due, on_capture.then(|| mark(Action::Duplicate, None)).flatten(), true);
                let mut copy = pending(data, due + DUPLICATE_GAP, mark(Action::Duplicate, None), true);
                copy.shown = on_capture;
                self.push(original);
                self.push(copy);
            }
            Some((Action::Delay, ms)) => {
                let extra = Duration::from_secs_f64(ms.unwrap_or(0.0) / 1000.0);
                let p = pending(data, due + extra, mark(Action::Delay, ms), true);
                self.push(p);
            }
            Some((Action::Reorder, _)) => {
                // Only one packet is held per host; an earlier one goes now.
                if let Some(h) = self.held[from].take() {
                    let mut held = h.pending;
                    held.due = due;
                    self.push(held);
                }
                let mut p = pending(data, due, mark(Action::Reorder, None), true);
                if from == self.capture {
                    // It left its host in order; the wire holds it back.
                    self.show(&p.data.clone(), p.mark, p.sent, None);
                    p.shown = true;
                }
                self.held[from] = Some(Held { pending: p, until: due + REORDER_HOLD });
            }
        }
    }

    fn deliver_due(&mut self, now: Instant) {
        for i in 0..self.held.len() {
            if self.held[i].as_ref().is_some_and(|h| h.until <= now) {
                let h = self.held[i].take().expect("checked");
                self.push(h.pending);
            }
        }
        while self.heap.peek().is_some_and(|p| p.due <= now) {
            let p = self.heap.pop().expect("peeked");
            if p.queued {
                self.waiting[p.from] -= 1;
            }
            if p.deliver {
                for &i in &p.to {
                    // SAFETY: `p.data` is a valid buffer of its length; the fd is our TAP.
                    // A full TAP queue drops the frame, as a full NIC would.
                    unsafe {
                        libc::write(self.ports[i].tap.as_raw_fd(), p.data.as_ptr() as *const libc::c_void, p.data.len())
                    };
                }
            }
            if !p.shown {
                let arrived = p.deliver.then(now_ts);
                self.show(&p.data, p.mark, p.sent, arrived);
            }
        }
    }

    /// Hands a frame to the capture, stamped now.
    fn show(&mut self, data: &[u8], wire: Option<WireMark>, sent: Timestamp, arrived: Option<Timestamp>) {
        self.shown += 1;
        let frame = LiveFrame {
            ts: now_ts(),
            orig_len: data.len() as u32,
            data: data.to_vec().into(),
            wire,
            timing: Some(super::WireTiming { sent, arrived }),
        };
        // The lab may have stopped listening; the frame is then of no use.
        let _ = self.out.send(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heap_gives_the_earliest_first_then_the_first_made() {
        let t = Instant::now();
        let p = |due: Instant, order: u64| Pending {
            due,
            order,
            from: 0,
            to: vec![],
            data: vec![order as u8],
            mark: None,
            sent: Timestamp::default(),
            shown: false,
            deliver: true,
            queued: false,
        };
        let mut h = BinaryHeap::new();
        h.push(p(t + Duration::from_millis(5), 1));
        h.push(p(t, 3));
        h.push(p(t, 2));
        let got: Vec<u64> = std::iter::from_fn(|| h.pop().map(|p| p.order)).collect();
        assert_eq!(got, vec![2, 3, 1]);
    }
}
