//! `wirelab sniff`: the annotated ladder, live, for traffic of programs
//! wirelab did not start (a student's own server and client).

use crate::analyze::Analyzer;
use crate::decode::{Packet, Transport};
use crate::error::Result;
use crate::i18n::{either, tr};
use crate::render::table::TableRenderer;
use crate::render::{Format, Renderer};
use crate::replay::{renderer, Filter};
use crate::source::live::{CaptureStats, LiveCapture, Reader};
use crate::source::writer::{Background, PcapWriter};
use crate::source::Frame;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to sniff and how to show it.
#[derive(Clone, Debug)]
pub struct SniffOptions {
    /// Interface (loopback unless the user names another one).
    pub interface: String,
    /// Keep frames to or from these ports (empty = every TCP/UDP/ICMP frame).
    pub ports: Vec<u16>,
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Also write the frames shown to this pcap file.
    pub save: Option<PathBuf>,
    /// Keep at most this many bytes of each saved frame (headers only: 128).
    pub snaplen: Option<u32>,
    /// Output format.
    pub format: Format,
    /// Payload bytes shown per packet (0: none).
    pub payload: usize,
    /// Ladder: raw sequence/ack numbers.
    pub absolute: bool,
    /// Also write the page here when the sniff ends (`--html`).
    pub html: Option<PathBuf>,
}

/// What a sniff saw.
#[derive(Debug)]
pub struct SniffSummary {
    /// Frames shown (and saved).
    pub frames: u64,
    /// Kernel counters.
    pub stats: CaptureStats,
}

/// Sets a flag on SIGINT/SIGTERM, so the capture ends cleanly and the saved
/// file is complete.
pub fn stop_on_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

/// Keeps IP frames that belong to one of `ports` (ICMP errors by the ports of
/// the datagram they quote). No ports: every IP frame.
pub fn port_match(packet: &Packet<'_>, ports: &[u16]) -> bool {
    if packet.addrs.is_none() {
        return false;
    }
    if ports.is_empty() {
        return true;
    }
    let has = |p: Option<u16>| p.is_some_and(|p| ports.contains(&p));
    match packet.transport {
        Transport::Tcp(t) => has(Some(t.sport)) || has(Some(t.dport)),
        Transport::Udp(u) => has(Some(u.sport)) || has(Some(u.dport)),
        Transport::Icmp(i) => i.quoted.is_some_and(|q| has(q.sport) || has(q.dport)),
        _ => false,
    }
}

/// The kernel's table for the sniffed ports (LISTEN and its accept queue,
/// connections, TIME_WAIT with its countdown), shown when a state changes —
/// so "Address already in use" is explained for a student's own program.
#[derive(Default)]
struct KernelWatch {
    last: Vec<(std::net::SocketAddr, std::net::SocketAddr, &'static str, u64)>,
    checked: Option<Instant>,
}

impl KernelWatch {
    /// How often the table is read.
    const EVERY: Duration = Duration::from_millis(250);

    fn changes(&mut self, ports: &[u16]) -> Option<Vec<String>> {
        if self.checked.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return None;
        }
        self.checked = Some(Instant::now());
        let rows: Vec<_> = crate::lab::procnet::snapshot()
            .into_iter()
            .filter(|r| ports.contains(&r.local.port()) || ports.contains(&r.remote.port()))
            .collect();
        // Timers tick all the time: a change of state (or of the accept queue) is news.
        let key: Vec<_> = rows
            .iter()
            .map(|r| (r.local, r.remote, r.state, if r.state == "LISTEN" { r.rx_queue } else { 0 }))
            .collect();
        if key == self.last {
            return None;
        }
        self.last = key;
        let lang = crate::i18n::current();
        let mut lines =
            vec![crate::i18n::tr("kernel (ss -tan for these ports):", "内核（这些端口的 ss -tan）：").to_string()];
        if rows.is_empty() {
            lines.push(format!("  {}", crate::i18n::tr("no sockets", "没有套接字")));
        }
        for r in &rows {
            let remote = if r.remote.port() == 0 { "*".to_string() } else { r.remote.to_string() };
            let mut l = format!("  {:<21} {:<21} {}", r.local, remote, r.state);
            if let Some(extra) = crate::lab::messages::row_extra(r, None, lang) {
                l.push_str("  ");
                l.push_str(&extra);
            }
            lines.push(l);
        }
        Some(lines)
    }
}

/// Runs a sniff to stdout until a limit or a signal.
pub fn sniff(opts: &SniffOptions) -> Result<SniffSummary> {
    let stop = stop_on_signals();
    let ports = (!opts.ports.is_empty()).then_some(&opts.ports[..]);
    let mut capture =
        LiveCapture::start(&opts.interface, ports, opts.snaplen, Reader::Sniff { saving: opts.save.is_some() })?;
    let mut writer = match &opts.save {
        Some(p) => Some(Background::start(PcapWriter::create(p, capture.link, opts.snaplen)?, capture.recycler())?),
        None => None,
    };
    let stdout = io::stdout();
    let view = Filter { absolute: opts.absolute, ..Filter::default() };
    let mut render = renderer(opts.format, io::LineWriter::new(stdout.lock()), &view);
    if let Some(path) = &opts.html {
        let file =
            std::fs::File::create(path).map_err(|e| crate::Error::io(format!("creating {}", path.display()), e))?;
        let title = either(format!("sniff on {}", opts.interface), format!("在 {} 上抓包", opts.interface));
        let mut page = crate::render::html::HtmlRenderer::new(io::BufWriter::new(file), &title);
        page.absolute = opts.absolute;
        render = Box::new(crate::render::Tee::new(render, Box::new(page)));
    }
    {
        // Always said (on stderr), in either language: scripts wait for it
        // before sending traffic.
        let ports = opts.ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        let (iface, none) = (&opts.interface, opts.ports.is_empty());
        eprintln!(
            "wirelab: {}",
            either(
                format!(
                    "sniffing on {iface}{} — Ctrl-C to stop",
                    if none { String::new() } else { format!(" (ports {ports})") }
                ),
                format!(
                    "正在 {iface} 上抓包{} — 按 Ctrl-C 停止",
                    if none { String::new() } else { format!("（端口 {ports}）") }
                ),
            )
        );
    }
    if !crate::source::live::ports_fit_kernel_filter(&opts.ports) {
        eprintln!(
            "wirelab: {}",
            tr(
                "too many ports for the kernel filter: the kernel passes every frame and wirelab keeps \
                 those of the listed ports (same result, more work)",
                "端口太多，内核过滤器放不下：内核会交上所有帧，由 wirelab 只保留列出的端口的帧（结果相同，只是更费力）"
            )
        );
    }
    let mut analyzer = Analyzer::new();
    analyzer.set_payload_limit(opts.payload);
    if opts.format == Format::Table {
        analyzer = analyzer.summary_only();
    }
    let mut kernel = KernelWatch::default();
    let started = Instant::now();
    let mut shown = 0u64;
    let result: Result<()> = (|| {
        loop {
            if stop.load(Ordering::Relaxed)
                || opts.count.is_some_and(|c| shown >= c)
                || opts.duration.is_some_and(|d| started.elapsed() >= d)
            {
                return Ok(());
            }
            if !opts.ports.is_empty() {
                if let Some(lines) = kernel.changes(&opts.ports) {
                    render.aside(&lines, &analyzer).map_err(|e| crate::Error::io("writing output", e))?;
                }
            }
            let frame = match capture.frames.recv_timeout(Duration::from_millis(50)) {
                Ok(f) => f,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            // Only matching frames get a number, as in the saved file.
            let probe = Frame {
                number: shown + 1,
                ts: frame.ts,
                link: capture.link,
                data: &frame.data,
                orig_len: frame.orig_len,
                comment: None,
            };
            let packet = crate::decode::decode(&probe);
            if !port_match(&packet, &opts.ports) {
                continue;
            }
            shown += 1;
            let rec = analyzer.on_packet(&probe, &packet);
            let shown_ok = render.frame_bytes(&probe, &rec, &analyzer);
            // Saved even when stdout's reader has left; the frame moves to
            // the writer thread.
            if let Some(w) = writer.as_ref() {
                w.write(frame.ts, frame.data, frame.orig_len)?;
            }
            if let Err(e) = shown_ok {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(crate::Error::io("writing output", e));
            }
        }
    })();
    let stats = capture.stop()?;
    // A writer that stopped on an error (a full disk) says why here.
    let written = writer.as_mut().map(|w| w.finish()).transpose();
    let finished = render.finish(&analyzer);
    drop(render);
    if opts.format == Format::Ladder {
        let mut table = TableRenderer::new(io::stdout());
        let _ = table.finish(&analyzer);
    }
    let mut err = io::stderr();
    let saved = opts.save.as_ref().map(|p| p.display().to_string());
    let (received, dropped) = (stats.received, stats.dropped);
    let _ = writeln!(
        err,
        "wirelab: {}",
        either(
            format!(
                "{shown} frame(s) shown{}; kernel: {received} received, {dropped} dropped{}",
                saved.as_ref().map(|p| format!(", saved to {p}")).unwrap_or_default(),
                if dropped > 0 { " — the capture missed frames; the analysis may show phantom losses" } else { "" }
            ),
            format!(
                "显示了 {shown} 帧{}；内核：收到 {received} 帧，丢弃 {dropped} 帧{}",
                saved.as_ref().map(|p| format!("，已保存到 {p}")).unwrap_or_default(),
                if dropped > 0 {
                    "——抓包漏掉了一些帧，分析可能显示并不存在的丢包"
                } else {
                    ""
                }
            ),
        )
    );
    written?;
    result?;
    // The page is written by `finish`: its failure (a full disk) is an error;
    // stdout's reader leaving (`| head`) is not.
    if let Err(e) = finished {
        if e.kind() != io::ErrorKind::BrokenPipe && opts.html.is_some() {
            return Err(crate::Error::io("writing the page", e));
        }
    }
    Ok(SniffSummary { frames: shown, stats })
}
