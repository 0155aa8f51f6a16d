//! The lab wire: hosts in private network namespaces, joined by wirelab
//! itself. Each host has one TAP interface; wirelab reads every frame a host
//! sends and decides, by the lab's rules, when and whether it reaches the
//! other end (see `docs/wire.md` for why this mechanism).
//!
//! Data flow: [`Wire::start`] makes the namespaces and interfaces, then a
//! [`forward::Forwarder`] thread moves frames and hands each to `frames`
//! (the lab's capture), marked with what the wire did to it.

pub mod forward;
pub mod netns;
pub mod rules;
pub mod spec;

use crate::error::{Error, Result};
use crate::source::live::{CaptureStats, LiveFrame};
use crate::source::Timestamp;
use netns::{Netns, TapConfig};
use serde::Serialize;
use spec::{Action, WireSpec};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the wire did to a packet (JSON `wire`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WireMark {
    /// drop, corrupt, duplicate, reorder or delay.
    pub action: Action,
    /// For delay: the extra milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<u32>,
    /// A drop because the rate-limited wire's queue was full (not a rule).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub queue_full: bool,
}

impl WireMark {
    /// The mark a lab run wrote into a saved packet's comment ("… · wire: drop").
    pub fn from_comment(comment: &str) -> Option<WireMark> {
        let (_, action) = comment.rsplit_once(" · wire: ")?;
        let action = match action.trim() {
            "drop" => Action::Drop,
            "corrupt" => Action::Corrupt,
            "duplicate" => Action::Duplicate,
            "reorder" => Action::Reorder,
            "delay" => Action::Delay,
            _ => return None,
        };
        Some(WireMark { action, ms: None, queue_full: false })
    }
}

/// When a frame on the lab wire left its host and reached the other end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireTiming {
    /// It left its host.
    pub sent: Timestamp,
    /// It reached the other end (None: lost, or not yet known).
    pub arrived: Option<Timestamp>,
}

/// One host of a running wire.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its name in the lab.
    pub name: String,
    /// Its address.
    pub addr: Ipv4Addr,
    /// Its namespace (sockets of its actors are made there).
    pub ns: Arc<Netns>,
}

/// A running wire.
pub struct Wire {
    /// Hosts, in the lab's order.
    pub hosts: Vec<Host>,
    /// Every frame, as it reached its far end (or was lost).
    pub frames: Receiver<LiveFrame>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::io::Result<CaptureStats>>>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

fn mac(i: usize) -> [u8; 6] {
    // Locally administered, unicast; the last two bytes are the host's number.
    [0x02, 0x77, 0, 0, (i >> 8) as u8, i as u8 + 1]
}

/// The advice when namespaces cannot be made.
fn privilege_error(source: std::io::Error) -> Error {
    Error::Wire { source }
}

impl Wire {
    /// Makes the hosts and starts forwarding between them.
    pub fn start(spec: &WireSpec) -> Result<Wire> {
        let n = spec.hosts.len();
        let mut hosts = Vec::with_capacity(n);
        let mut ports = Vec::with_capacity(n);
        for (i, h) in spec.hosts.iter().enumerate() {
            let ns = Arc::new(Netns::new_private().map_err(privilege_error)?);
            let cfg = TapConfig {
                addr: WireSpec::addr(i),
                prefix: spec::PREFIX,
                mac: mac(i),
                neighbours: (0..n).filter(|&j| j != i).map(|j| (WireSpec::addr(j), mac(j))).collect(),
            };
            let sysctls: Vec<_> = h.sysctl.iter().map(|(k, v)| (*k, *v)).collect();
            let tap = ns
                .run(move || -> std::io::Result<_> {
                    for (k, v) in sysctls {
                        netns::set_sysctl(k.name(), v)?;
                    }
                    netns::create_tap(&cfg)
                })
                .and_then(|r| r)
                .map_err(privilege_error)?;
            let delay = h.delay.unwrap_or(spec.delay);
            ports.push(forward::Port {
                tap,
                mac: mac(i),
                delay: Duration::from_secs_f64(delay / 1000.0),
                rate: h.rate.or(spec.rate),
                queue: spec.queue.unwrap_or(forward::DEFAULT_QUEUE),
            });
            hosts.push(Host { name: h.name.clone(), addr: WireSpec::addr(i), ns });
        }
        let rules = spec
            .rules
            .iter()
            .map(|r| {
                let from = spec.hosts.iter().position(|h| h.name == r.from).expect("validated host name");
                rules::Rule::new(from, r.clone())
            })
            .collect();
        let (tx, frames) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let capture = spec.capture_host();
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let forwarder = forward::Forwarder::new(ports, capture, rules, tx, Arc::clone(&in_flight));
        let thread = std::thread::Builder::new()
            .name("wirelab-wire".into())
            .spawn(move || forwarder.run(flag))
            .map_err(|e| Error::io("starting the wire", e))?;
        Ok(Wire { hosts, frames, stop, thread: Some(thread), in_flight })
    }

    /// Frames still on the wire: held for their delay, the rate or a reorder.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Stops forwarding; the namespaces go when the last socket in them closes.
    pub fn stop(&mut self) -> Result<CaptureStats> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| Error::io("the wire", std::io::Error::other("forwarder panicked")))?
                .map_err(|e| Error::io("the wire", e)),
            None => Ok(CaptureStats::default()),
        }
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
