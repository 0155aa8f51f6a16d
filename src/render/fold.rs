//! Folding bulk transfers: a run of data segments and plain ACKs of one
//! stream is shown as its first and last few packets and one line for the
//! middle. The terminal ladder and the HTML page fold the same runs; each
//! keeps its own items (a record, or a drawn row with its details).

use crate::analyze::{Analyzer, Expert, FrameRecord};
use crate::decode::flags::{FIN, RST, SYN};
use crate::i18n::{current, Lang};
use std::collections::VecDeque;

/// Flags that stop being news after their first appearance in a stream.
pub const REPEATABLE: u32 = Expert::WINDOW_FULL
    | Expert::WINDOW_UPDATE
    | Expert::ZERO_WINDOW
    | Expert::KEEP_ALIVE
    | Expert::ZERO_WINDOW_PROBE
    | Expert::ZERO_WINDOW_PROBE_ACK;

/// Segments shown in full at each end of a summarised bulk run.
pub const EDGE: usize = 3;
/// A middle this short is drawn packet by packet rather than summarised.
pub const FEW: usize = 4;

/// Data segments and plain ACKs of a bulk transfer — nothing a student must
/// see one by one — including window events already shown once in the stream
/// (`shown`: the expert flags already drawn in full for it).
pub fn is_bulk(r: &FrameRecord, shown: u32) -> bool {
    r.tcp.is_some_and(|t| {
        t.flags & (SYN | FIN | RST) == 0
            && r.http.is_none()
            // What the lab wire did is shown, but a rate-limited wire's tail
            // drops come in bursts: those are counted in the summary.
            && r.wire.is_none_or(|w| w.queue_full)
            && t.expert.0 & !(REPEATABLE & shown) == 0
            && t.state_src == t.before_src
            && t.state_dst == t.before_dst
    })
}

/// What a folded item is about.
pub trait Folded: Clone {
    /// The frame's analysis.
    fn rec(&self) -> &FrameRecord;
}

impl Folded for FrameRecord {
    fn rec(&self) -> &FrameRecord {
        self
    }
}

/// Totals of the summarised middle of a bulk run.
#[derive(Clone)]
pub struct MiddleStats<T> {
    /// The middle's first frame.
    pub first: FrameRecord,
    /// Its last frame.
    pub last: FrameRecord,
    packets: [u64; 2],
    bytes: [u64; 2],
    wmin: u32,
    wmax: u32,
    expert: [u32; 16],
    /// Packets the lab wire dropped because its queue was full.
    lost: u64,
    /// The items themselves while the middle is short.
    few: Vec<T>,
}

impl<T: Folded> MiddleStats<T> {
    fn new(item: &T) -> Self {
        let r = item.rec().clone();
        let mut m = MiddleStats {
            first: r.clone(),
            last: r,
            packets: [0; 2],
            bytes: [0; 2],
            wmin: u32::MAX,
            wmax: 0,
            expert: [0; 16],
            lost: 0,
            few: Vec::new(),
        };
        m.add(item);
        m
    }

    /// Counts `item`; copies it only while the middle is short enough to be drawn.
    fn add(&mut self, item: &T) {
        let r = item.rec();
        self.lost += u64::from(r.wire.is_some());
        if let Some(t) = &r.tcp {
            self.packets[t.dir as usize] += 1;
            self.bytes[t.dir as usize] += t.len as u64;
            if t.len == 0 {
                self.wmin = self.wmin.min(t.win);
                self.wmax = self.wmax.max(t.win);
            }
            for (bit, _) in Expert::ALL {
                if t.expert.has(*bit) {
                    self.expert[bit.trailing_zeros() as usize] += 1;
                }
            }
        }
        self.last.clone_from(r);
        if self.few.len() <= FEW {
            self.few.push(item.clone());
        }
    }

    /// Packets in the middle.
    pub fn packets(&self) -> u64 {
        self.packets.iter().sum()
    }

    /// The middle's items when it is too short to summarise (drawn one by one
    /// then); None when it is summarised.
    pub fn few(&self) -> Option<&[T]> {
        (self.packets() as usize <= FEW).then_some(&self.few[..])
    }

    /// The line standing for the middle: frames, packets and bytes each way,
    /// duration, rate, window range and analysis flags.
    pub fn text(&self, analyzer: &Analyzer) -> String {
        let secs = self.last.ts.nanos_since(self.first.ts) as f64 / 1e9;
        let total: u64 = self.bytes.iter().sum();
        let zh = current() == Lang::Zh;
        let rate = if secs > 0.0 { format!(" · {:.1} MB/s", total as f64 / secs / 1e6) } else { String::new() };
        let window = match (self.wmax > 0, zh) {
            (false, _) => String::new(),
            (true, false) => format!(" · receive window {}–{}", self.wmin, self.wmax),
            (true, true) => format!(" · 接收窗口 {}–{}", self.wmin, self.wmax),
        };
        let ports = self.first.tcp.and_then(|t| analyzer.stream(t.stream)).map(|s| (s.a.port(), s.b.port()));
        let dir = |d: usize| match ports {
            Some((a, b)) if d == 0 => format!(":{a}→:{b}"),
            Some((a, b)) => format!(":{b}→:{a}"),
            None => String::new(),
        };
        let side = |d: usize| match (self.packets[d], self.bytes[d], zh) {
            (0, _, _) => None,
            (1, 0, false) => Some(format!("1 ACK {}", dir(d))),
            (n, 0, false) => Some(format!("{n} ACKs {}", dir(d))),
            (n, b, false) => Some(format!("{n} segments {} carrying {b} bytes", dir(d))),
            (n, 0, true) => Some(format!("{n} 个 ACK（{}）", dir(d))),
            (n, b, true) => Some(format!("{n} 个报文段共 {b} 字节（{}）", dir(d))),
        };
        let sides: Vec<String> = [side(0), side(1)].into_iter().flatten().collect();
        // Analysis flag names stay as Wireshark and the lab files spell them.
        let flags: Vec<String> = Expert::ALL
            .iter()
            .filter(|(bit, _)| self.expert[bit.trailing_zeros() as usize] > 0)
            .map(|(bit, name)| format!("{} ×{}", name.replace('_', " "), self.expert[bit.trailing_zeros() as usize]))
            .collect();
        let mut flags = if flags.is_empty() { String::new() } else { format!(" · {}", flags.join(", ")) };
        match (self.lost, zh) {
            (0, _) => {}
            (n, false) => flags.push_str(&format!(" · {n} lost on the wire (queue full)")),
            (n, true) => flags.push_str(&format!(" · {n} 个在线路上丢失（队列已满）")),
        }
        let (first, last) = (self.first.frame, self.last.frame);
        if zh {
            format!("⋯ 第 {first}–{last} 帧：{}，用时 {secs:.3} 秒{rate}{window}{flags}", sides.join("，"))
        } else {
            format!("⋯ frames {first}–{last}: {}, in {secs:.3} s{rate}{window}{flags}", sides.join(" and "))
        }
    }
}

/// A bulk run that ended: its first items, the middle, its last items.
pub struct Run<T> {
    /// Shown in full.
    pub head: Vec<T>,
    /// Summarised (or, when short, drawn from [`MiddleStats::few`]).
    pub middle: Option<MiddleStats<T>>,
    /// Shown in full.
    pub tail: Vec<T>,
}

/// What became of an item fed to the fold.
pub enum Fed<T> {
    /// Not bulk: draw the run that ended (if any), then the item.
    Draw(Option<Run<T>>, T),
    /// Held in a run (after the run of another stream that ended, if any);
    /// `spilled` left the run's tail for its middle.
    Held {
        /// A run that ended before this one.
        ended: Option<Run<T>>,
        /// The item now counted in the middle.
        spilled: Option<T>,
    },
}

/// The bulk run being collected (memory does not grow with the run).
pub struct BulkFold<T> {
    stream: Option<u32>,
    head: Vec<T>,
    tail: VecDeque<T>,
    middle: Option<MiddleStats<T>>,
}

impl<T> Default for BulkFold<T> {
    fn default() -> Self {
        BulkFold { stream: None, head: Vec::new(), tail: VecDeque::new(), middle: None }
    }
}

impl<T: Folded> BulkFold<T> {
    /// Feeds the next item; `bulk`: it may be folded (see [`is_bulk`]).
    pub fn feed(&mut self, item: T, bulk: bool) -> Fed<T> {
        let stream = item.rec().tcp.map(|t| t.stream);
        if bulk && (self.stream.is_none() || self.stream == stream) {
            self.stream = stream;
            return Fed::Held { ended: None, spilled: self.push(item) };
        }
        let ended = self.end();
        if bulk {
            self.stream = stream;
            return Fed::Held { ended, spilled: self.push(item) };
        }
        Fed::Draw(ended, item)
    }

    fn push(&mut self, item: T) -> Option<T> {
        if self.head.len() < EDGE {
            self.head.push(item);
            return None;
        }
        self.tail.push_back(item);
        if self.tail.len() <= EDGE {
            return None;
        }
        let out = self.tail.pop_front().expect("non-empty");
        match self.middle.as_mut() {
            Some(m) => m.add(&out),
            None => self.middle = Some(MiddleStats::new(&out)),
        }
        Some(out)
    }

    /// Ends the run being collected (None when there is none).
    pub fn end(&mut self) -> Option<Run<T>> {
        let taken = std::mem::take(self);
        if taken.head.is_empty() {
            return None;
        }
        Some(Run { head: taken.head, middle: taken.middle, tail: taken.tail.into() })
    }
}
