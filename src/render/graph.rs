//! `wirelab graph`: one TCP stream over time, as SVG (axes and lines by
//! `plotters`) or as a text table. Kinds: the Stevens time-sequence graph
//! (segments, the ACK line, the receive-window line; retransmissions and
//! out-of-order segments in their own classes), RTT per ACKed segment with
//! the EWMA EstimatedRTT (α = 0.125, RFC 6298 §2), the advertised window,
//! and throughput. Every segment mark carries `data-frame`, so a page or a
//! test can find the packet behind it.

use crate::analyze::{Expert, FrameRecord};
use plotters::prelude::*;
use std::fmt::Write as _;

/// What to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Time-sequence graph (Stevens): data segments, ACK line, window line.
    Tsg,
    /// Round-trip time of each ACKed segment, with EstimatedRTT.
    Rtt,
    /// The receiver's advertised window.
    Window,
    /// Bytes per interval.
    Throughput,
}

impl Kind {
    /// The graph's name, for its title.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Tsg => "time-sequence graph",
            Kind::Rtt => "round-trip time",
            Kind::Window => "advertised window",
            Kind::Throughput => "throughput",
        }
    }
}

/// RFC 6298 §2.3: SRTT ← (1 − α)·SRTT + α·R, α = 1/8.
const ALPHA: f64 = 0.125;

/// One segment of the stream, as the graph needs it.
#[derive(Clone, Debug)]
pub struct Point {
    frame: u64,
    t: f64,
    /// Sent by the stream's data sender.
    forward: bool,
    seq: u32,
    len: u32,
    ack: u32,
    win: u32,
    expert: Expert,
    has_ack: bool,
}

/// The segments of one stream, collected during replay.
#[derive(Default)]
pub struct Series {
    points: Vec<Point>,
    start: Option<crate::source::Timestamp>,
    bytes: [u64; 2],
}

impl Series {
    /// Adds a frame if it belongs to `stream`.
    pub fn add(&mut self, rec: &FrameRecord, stream: u32) {
        let Some(t) = rec.tcp.filter(|t| t.stream == stream) else { return };
        let start = *self.start.get_or_insert(rec.ts);
        self.bytes[t.dir as usize] += t.len as u64;
        self.points.push(Point {
            frame: rec.frame,
            t: rec.ts.nanos_since(start) as f64 / 1e9,
            forward: t.dir == 0,
            seq: t.seq,
            len: t.len,
            ack: t.ack,
            win: t.win,
            expert: t.expert,
            has_ack: t.flags & crate::decode::flags::ACK != 0,
        });
    }

    /// True when the stream had no segment.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Orients the points so that `forward` is the direction carrying more data.
    fn oriented(&self) -> Vec<Point> {
        let flip = self.bytes[1] > self.bytes[0];
        self.points
            .iter()
            .cloned()
            .map(|mut p| {
                p.forward ^= flip;
                p
            })
            .collect()
    }
}

/// A data segment's class: what the analysis said about it.
fn class(e: Expert) -> &'static str {
    if e.is_retransmission() {
        "retransmission"
    } else if e.has(Expert::OUT_OF_ORDER) {
        "out_of_order"
    } else if e.has(Expert::LOST_SEGMENT) {
        "after_lost"
    } else {
        "segment"
    }
}

/// (time, rtt) of each ACK that acknowledges the end of a segment sent once
/// (Karn's rule: retransmitted segments give no sample).
fn rtt_samples(points: &[Point]) -> Vec<(f64, f64, u64)> {
    let mut out = Vec::new();
    let mut pending: Vec<&Point> = Vec::new();
    for p in points {
        if p.forward && p.len > 0 {
            if p.expert.is_retransmission() {
                let end = p.seq.wrapping_add(p.len);
                pending.retain(|q| q.seq.wrapping_add(q.len) != end);
            } else {
                pending.push(p);
            }
        } else if !p.forward && p.has_ack {
            if let Some(i) = pending.iter().position(|q| q.seq.wrapping_add(q.len) == p.ack) {
                out.push((p.t, (p.t - pending[i].t) * 1000.0, pending[i].frame));
                pending.drain(..=i);
            }
        }
    }
    out
}

fn estimated(samples: &[(f64, f64, u64)]) -> Vec<(f64, f64)> {
    let mut srtt: Option<f64> = None;
    samples
        .iter()
        .map(|&(t, r, _)| {
            let s = srtt.map_or(r, |s| (1.0 - ALPHA) * s + ALPHA * r);
            srtt = Some(s);
            (t, s)
        })
        .collect()
}

fn throughput(points: &[Point]) -> Vec<(f64, f64)> {
    let end = points.last().map_or(0.0, |p| p.t).max(1e-6);
    let bins = 50usize;
    let width = end / bins as f64;
    let mut bytes = vec![0u64; bins + 1];
    for p in points.iter().filter(|p| p.forward) {
        bytes[((p.t / width) as usize).min(bins)] += p.len as u64;
    }
    bytes.iter().enumerate().map(|(i, b)| (i as f64 * width, *b as f64 / width)).collect()
}

/// The data as a text table (for terminal users).
pub fn table(series: &Series, kind: Kind) -> String {
    let points = series.oriented();
    let mut s = String::new();
    match kind {
        Kind::Tsg => {
            let _ = writeln!(s, "{:>7} {:>11} {:>11} {:>7} {:>11} class", "frame", "time(s)", "seq", "len", "ack+win");
            for p in &points {
                if p.forward && p.len > 0 {
                    let _ = writeln!(
                        s,
                        "{:>7} {:>11.6} {:>11} {:>7} {:>11} {}",
                        p.frame,
                        p.t,
                        p.seq,
                        p.len,
                        "",
                        class(p.expert)
                    );
                } else if !p.forward && p.has_ack {
                    let _ = writeln!(
                        s,
                        "{:>7} {:>11.6} {:>11} {:>7} {:>11} ack={}",
                        p.frame,
                        p.t,
                        "",
                        "",
                        p.ack as u64 + p.win as u64,
                        p.ack
                    );
                }
            }
        }
        Kind::Rtt => {
            let samples = rtt_samples(&points);
            let est = estimated(&samples);
            let _ = writeln!(s, "{:>11} {:>10} {:>14} {:>7}", "time(s)", "rtt(ms)", "estimated(ms)", "frame");
            for ((t, r, f), (_, e)) in samples.iter().zip(est) {
                let _ = writeln!(s, "{t:>11.6} {r:>10.3} {e:>14.3} {f:>7}");
            }
        }
        Kind::Window => {
            let _ = writeln!(s, "{:>7} {:>11} {:>11}", "frame", "time(s)", "window");
            for p in points.iter().filter(|p| !p.forward) {
                let _ = writeln!(s, "{:>7} {:>11.6} {:>11}", p.frame, p.t, p.win);
            }
        }
        Kind::Throughput => {
            let _ = writeln!(s, "{:>11} {:>14}", "time(s)", "bytes/s");
            for (t, b) in throughput(&points) {
                let _ = writeln!(s, "{t:>11.6} {b:>14.0}");
            }
        }
    }
    s
}

/// A legend entry: a short line in the series' colour.
fn key(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color)
}

/// The legend box, in the same style on every graph.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Time on x, a value on y from 0 to `top`, with the mesh and axis names.
fn value_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    t_end: f64,
    top: f64,
    y_area: u32,
    ydesc: &str,
) -> Result<
    ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    String,
> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_area)
        .build_cartesian_2d(0f64..t_end, 0f64..top)
        .map_err(|e| e.to_string())?;
    chart.configure_mesh().x_desc("time (s)").y_desc(ydesc).draw().map_err(|e| e.to_string())?;
    Ok(chart)
}

/// The SVG of `kind` for the stream.
pub fn svg(series: &Series, kind: Kind, title: &str) -> Result<String, String> {
    let points = series.oriented();
    let t_end = points.last().map_or(1.0, |p| p.t).max(1e-6) * 1.02;
    let mut out = String::new();
    // Marks with data-frame and class, drawn over plotters' chart at its coordinates.
    let mut marks = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        match kind {
            Kind::Tsg => {
                let top = points
                    .iter()
                    .map(|p| p.seq as u64 + p.len as u64)
                    .chain(points.iter().filter(|p| !p.forward).map(|p| p.ack as u64 + p.win as u64))
                    .max()
                    .unwrap_or(1)
                    .max(1);
                let mut chart = ChartBuilder::on(&root)
                    .caption(title, ("sans-serif", 18))
                    .margin(12)
                    .x_label_area_size(40)
                    .y_label_area_size(80)
                    .build_cartesian_2d(0f64..t_end, 0u64..top + top / 50)
                    .map_err(err)?;
                chart.configure_mesh().x_desc("time (s)").y_desc("relative sequence number").draw().map_err(err)?;
                let acks: Vec<(f64, u64)> =
                    points.iter().filter(|p| !p.forward && p.has_ack).map(|p| (p.t, p.ack as u64)).collect();
                let wins: Vec<(f64, u64)> = points
                    .iter()
                    .filter(|p| !p.forward && p.has_ack)
                    .map(|p| (p.t, p.ack as u64 + p.win as u64))
                    .collect();
                chart
                    .draw_series(LineSeries::new(acks, GREEN.stroke_width(1)))
                    .map_err(err)?
                    .label("ACK")
                    .legend(key(GREEN));
                // Dark amber: plain yellow vanishes on white when projected.
                let amber = RGBColor(0xc7, 0x8a, 0x00);
                chart
                    .draw_series(LineSeries::new(wins, amber.stroke_width(1)))
                    .map_err(err)?
                    .label("ACK + window")
                    .legend(key(amber));
                draw_legend(&mut chart)?;
                for p in points.iter().filter(|p| p.forward && p.len > 0) {
                    let (x, y0) = chart.backend_coord(&(p.t, p.seq as u64));
                    let (_, y1) = chart.backend_coord(&(p.t, p.seq as u64 + p.len as u64));
                    let c = class(p.expert);
                    let color = match c {
                        "retransmission" => "#d62728",
                        "out_of_order" => "#ff7f0e",
                        "after_lost" => "#9467bd",
                        _ => "#1f77b4",
                    };
                    let _ = writeln!(
                        marks,
                        r#"<line class="{c}" data-frame="{}" x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="{color}" stroke-width="2"/>"#,
                        p.frame
                    );
                }
            }
            Kind::Rtt => {
                let samples = rtt_samples(&points);
                let est = estimated(&samples);
                let top = samples.iter().map(|s| s.1).fold(0.001f64, f64::max) * 1.1;
                let mut chart = value_chart(&root, title, t_end, top, 70, "RTT (ms)")?;
                chart
                    .draw_series(LineSeries::new(est, RED.stroke_width(2)))
                    .map_err(err)?
                    .label("EstimatedRTT (α = 0.125)")
                    .legend(key(RED));
                draw_legend(&mut chart)?;
                for (t, r, frame) in samples {
                    let (x, y) = chart.backend_coord(&(t, r));
                    let _ = writeln!(
                        marks,
                        r##"<circle class="sample" data-frame="{frame}" cx="{x}" cy="{y}" r="3" fill="#1f77b4"/>"##
                    );
                }
            }
            Kind::Window | Kind::Throughput => {
                let data: Vec<(f64, f64)> = if kind == Kind::Window {
                    points.iter().filter(|p| !p.forward).map(|p| (p.t, p.win as f64)).collect()
                } else {
                    throughput(&points)
                };
                let top = data.iter().map(|d| d.1).fold(1f64, f64::max) * 1.1;
                let (ydesc, label) = if kind == Kind::Window {
                    ("advertised window (bytes)", "window")
                } else {
                    ("bytes/s", "throughput")
                };
                let mut chart = value_chart(&root, title, t_end, top, 90, ydesc)?;
                chart
                    .draw_series(LineSeries::new(data, BLUE.stroke_width(2)))
                    .map_err(err)?
                    .label(label)
                    .legend(key(BLUE));
                draw_legend(&mut chart)?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    let at = out.rfind("</svg>").ok_or("no closing svg tag")?;
    out.insert_str(at, &format!("<g class=\"marks\">\n{marks}</g>\n"));
    Ok(out)
}
