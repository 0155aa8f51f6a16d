//! `wirelab replay FILE`: read a capture, analyse every frame, render.

use crate::analyze::{Analyzer, FrameRecord};
use crate::error::Result;
use crate::render::jsonl::JsonlRenderer;
use crate::render::ladder::LadderRenderer;
use crate::render::table::TableRenderer;
use crate::render::{Format, Renderer};
use crate::source::file::CaptureReader;
use crate::source::LinkType;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;

/// Which frames to show, and how. Analysis always sees every frame, so
/// stream numbers and flags do not change with the filter.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Show frames with one of these ports (either side). Empty = all.
    pub ports: Vec<u16>,
    /// Show only these TCP streams (or UDP flows). Empty = all.
    pub streams: Vec<u32>,
    /// Draw every packet of a bulk transfer instead of one summary line per run.
    pub every_packet: bool,
    /// Payload bytes shown per packet (0: none).
    pub payload: usize,
    /// Ladder: raw sequence/ack numbers instead of relative ones.
    pub absolute: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            ports: Vec::new(),
            streams: Vec::new(),
            every_packet: false,
            payload: crate::analyze::DEFAULT_PAYLOAD,
            absolute: false,
        }
    }
}

impl Filter {
    /// True when the frame passes the filter.
    pub fn matches(&self, rec: &FrameRecord) -> bool {
        let port_ok = self.ports.is_empty() || self.ports.iter().any(|p| rec.has_port(*p));
        let stream_ok = self.streams.is_empty()
            || rec
                .tcp
                .map(|t| t.stream)
                .or(rec.udp.as_ref().map(|u| u.stream))
                .is_some_and(|s| self.streams.contains(&s));
        port_ok && stream_ok
    }
}

/// Builds the renderer for a format, writing to `out`.
pub fn renderer<'a>(format: Format, out: impl Write + 'a, filter: &Filter) -> Box<dyn Renderer + 'a> {
    match format {
        Format::Ladder => {
            let mut l = LadderRenderer::new(out);
            l.group_bulk = !filter.every_packet;
            l.absolute = filter.absolute;
            Box::new(l)
        }
        Format::Jsonl => Box::new(JsonlRenderer::new(out)),
        Format::Mermaid => {
            let mut m = crate::render::mermaid::MermaidRenderer::new(out);
            m.absolute = filter.absolute;
            Box::new(m)
        }
        Format::Table => {
            let mut t = TableRenderer::new(out);
            if !filter.streams.is_empty() {
                t.only_streams = Some(filter.streams.clone());
            }
            Box::new(t)
        }
    }
}

/// Outcome of a replay.
#[derive(Debug)]
pub struct ReplaySummary {
    /// Frames read.
    pub frames: u64,
    /// Frames of link types wirelab does not decode: (link type, count).
    pub unsupported: Vec<(LinkType, u64)>,
}

/// Replays `path` to stdout. On a damaged file, what was read is shown first,
/// then the error is returned.
pub fn replay(path: &Path, format: Format, filter: &Filter) -> Result<ReplaySummary> {
    replay_reader(CaptureReader::open(path)?, format, filter, None)
}

/// `--html FILE`: where the page goes and what it is titled after.
#[derive(Clone, Copy, Debug)]
pub struct HtmlPage<'a> {
    /// The file written.
    pub path: &'a Path,
    /// The capture's name (file or lab), for the page's title.
    pub title: &'a str,
}

/// Replays an opened capture to stdout: a file, or a lab recording compiled
/// into wirelab; with `html`, also writes the page.
pub fn replay_reader(
    reader: CaptureReader,
    format: Format,
    filter: &Filter,
    html: Option<HtmlPage<'_>>,
) -> Result<ReplaySummary> {
    let stdout = || BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut render = if format == Format::Jsonl && html.is_none() && std::env::var_os("WL_ONE").is_none() {
        // JSON lines need nothing from the analyzer: written on a second core.
        Box::new(crate::render::jsonl::Threaded::start(stdout))
    } else {
        renderer(format, stdout(), filter)
    };
    let mut analyzer = Analyzer::new();
    analyzer.set_payload_limit(filter.payload);
    if format == Format::Table && html.is_none() {
        analyzer = analyzer.summary_only();
    }
    let Some(HtmlPage { path, title }) = html else {
        return replay_frames(reader, analyzer, render.as_mut(), filter);
    };
    // Created before reading, so a bad path is reported before any output.
    let file = std::fs::File::create(path).map_err(|e| crate::Error::io(format!("creating {}", path.display()), e))?;
    let mut page = crate::render::html::HtmlRenderer::new(BufWriter::new(file), title);
    page.absolute = filter.absolute;
    page.group_bulk = !filter.every_packet;
    let mut tee = crate::render::Tee::new(render, Box::new(page));
    replay_frames(reader, analyzer, &mut tee, filter)
}

/// Replays `path` into any renderer.
pub fn replay_into(path: &Path, render: &mut dyn Renderer, filter: &Filter) -> Result<ReplaySummary> {
    let mut analyzer = Analyzer::new();
    analyzer.set_payload_limit(filter.payload);
    replay_frames(CaptureReader::open(path)?, analyzer, render, filter)
}

fn replay_frames(
    mut reader: CaptureReader,
    mut analyzer: Analyzer,
    render: &mut dyn Renderer,
    filter: &Filter,
) -> Result<ReplaySummary> {
    let mut io_error: Option<io::Error> = None;
    let mut warned: Vec<u32> = Vec::new();
    let keeps = render.keeps_records();
    let mut rec = FrameRecord::blank();
    let read = reader.for_each(|frame| {
        analyzer.on_frame_into(frame, &mut rec);
        if rec.non_ip == Some(crate::decode::NonIp::UnsupportedLink) && !warned.contains(&frame.link.0) {
            warned.push(frame.link.0);
            let (name, n) = (frame.link.name(), frame.link.0);
            eprintln!(
                "wirelab: {}",
                crate::i18n::either(
                    format!(
                        "link type {name} ({n}) is not decoded; its frames are counted and listed without analysis"
                    ),
                    format!("链路类型 {name} ({n}) 不能解码；它的帧会被计数并列出，但不做分析"),
                )
            );
        }
        if filter.matches(&rec) {
            let shown = if keeps {
                render.frame_record(frame, &mut rec, &analyzer)
            } else {
                render.frame_bytes(frame, &rec, &analyzer)
            };
            if let Err(e) = shown {
                io_error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    // Show what was read even when the file turned out damaged.
    let finished = render.finish(&analyzer);
    if let Some(e) = io_error.or(finished.err()) {
        // A closed pipe (`| head`) is not an error worth reporting.
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(crate::Error::io("writing output", e));
        }
    }
    read?;
    Ok(ReplaySummary {
        frames: analyzer.frames,
        unsupported: analyzer.unsupported_links.iter().map(|(l, n)| (LinkType(*l), *n)).collect(),
    })
}

/// `replay FILE --frame N`: frame N drawn layer by layer, with its bytes. The
/// frames before it are analysed too, so relative numbers are right.
pub fn show_frame(mut reader: CaptureReader, number: u64) -> Result<()> {
    let mut analyzer = Analyzer::new();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut drawn: Option<io::Result<()>> = None;
    reader.for_each(|frame| {
        let rec = analyzer.on_frame(frame);
        if frame.number == number {
            drawn = Some(crate::render::frame::draw(&mut out, frame, &rec));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    match drawn {
        Some(r) => r.map_err(|e| crate::Error::io("writing output", e)),
        None => Err(crate::Error::Usage(crate::i18n::either(
            format!("the capture has no frame {number} ({} frame(s))", analyzer.frames),
            format!("这个抓包文件没有第 {number} 帧（共 {} 帧）", analyzer.frames),
        ))),
    }
}

/// `wirelab graph`: the SVG of one stream written to `out`, or its data as a
/// table on stdout.
pub fn graph(
    mut reader: CaptureReader,
    stream: u32,
    kind: crate::render::graph::Kind,
    out: Option<&Path>,
) -> Result<()> {
    let mut analyzer = Analyzer::new();
    analyzer.set_payload_limit(0);
    let mut series = crate::render::graph::Series::default();
    reader.for_each(|frame| {
        let rec = analyzer.on_frame(frame);
        series.add(&rec, stream);
        ControlFlow::Continue(())
    })?;
    if series.is_empty() {
        return Err(crate::Error::Usage(crate::i18n::either(
            format!("no TCP stream {stream} in this capture ({} TCP connection(s))", analyzer.counts().0),
            format!("这个抓包文件中没有 TCP 流 {stream}（共 {} 个 TCP 连接）", analyzer.counts().0),
        )));
    }
    match out {
        None => {
            print!("{}", crate::render::graph::table(&series, kind));
            Ok(())
        }
        Some(path) => {
            let title = format!("tcp.stream {stream}: {}", kind.title());
            let svg = crate::render::graph::svg(&series, kind, &title).map_err(crate::Error::Usage)?;
            std::fs::write(path, svg).map_err(|e| crate::Error::io(format!("writing {}", path.display()), e))
        }
    }
}
