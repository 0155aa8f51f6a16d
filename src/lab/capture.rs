//! The lab's view of the wire: live capture limited (in the kernel) to the
//! lab's ports, attribution of packets to the step that caused them, the
//! saved file, and the analysis.

use super::events::{Event, LabSink};
use crate::analyze::{Analyzer, FrameRecord};
use crate::error::{Error, Result};
use crate::sniff::port_match;
use crate::source::live::{CaptureStats, LiveCapture, LiveFrame};
use crate::source::wire::Wire;
use crate::source::writer::PcapWriter;
use crate::source::{Frame, LinkType};
use std::collections::BTreeSet;
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

/// Capture, file and analysis of one lab run.
pub struct LabCapture {
    live: Option<Feed>,
    writer: Option<PcapWriter>,
    /// The analysis of every lab packet so far.
    pub analyzer: Analyzer,
    frame_no: u64,
    ports: BTreeSet<u16>,
    /// The same ports as a slice, for the per-frame match.
    port_list: Vec<u16>,
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
            ports: BTreeSet::new(),
            port_list: Vec::new(),
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
        &self.ports
    }

    /// Adds ports of the lab; the kernel filter follows.
    pub fn add_ports(&mut self, ports: impl IntoIterator<Item = u16>) {
        let before = self.ports.len();
        self.ports.extend(ports);
        if self.ports.len() != before {
            self.port_list = self.ports.iter().copied().collect();
            if let Some(Feed::Loopback(c)) = &self.live {
                if let Err(e) = c.set_ports(&self.port_list) {
                    eprintln!("wirelab: {e}");
                }
            }
        }
    }

    fn handle_frame(&mut self, n: usize, f: &LiveFrame, sink: &mut dyn LabSink) -> Result<Option<FrameRecord>> {
        let link = self.live.as_ref().map(Feed::link).unwrap_or(LinkType::ETHERNET);
        let probe =
            Frame { number: self.frame_no + 1, ts: f.ts, link, data: &f.data, orig_len: f.orig_len, comment: None };
        let packet = crate::decode::decode(&probe);
        if self.port_list.is_empty() || !port_match(&packet, &self.port_list) {
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
