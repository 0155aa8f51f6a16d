//! Per-connection summary table (comfy-table).

use super::Renderer;
use crate::analyze::{Analyzer, Expert, FrameRecord, Opening, TcpStream};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use std::io::{self, IsTerminal, Write};

/// Most connections (and UDP flows) shown as rows.
const MAX_ROWS: usize = 50;

/// Collects nothing per frame; prints one row per connection at the end.
pub struct TableRenderer<W: Write> {
    out: W,
    /// Only these TCP streams (None = all).
    pub only_streams: Option<Vec<u32>>,
}

impl<W: Write> TableRenderer<W> {
    /// A table writing to `out`.
    pub fn new(out: W) -> Self {
        TableRenderer { out, only_streams: None }
    }
}

fn duration(s: &TcpStream) -> String {
    format!("{:.6} s", s.stats.last.nanos_since(s.stats.first) as f64 / 1e9)
}

/// How a connection opened, in words.
pub fn opening(s: &TcpStream) -> &'static str {
    match s.stats.opening {
        Opening::Handshake => "3-way handshake",
        Opening::SynOnly => "SYN, no answer",
        Opening::Refused => "refused (RST)",
        Opening::MidStream => "already open",
    }
}

/// How a connection closed, in words.
pub fn closing(s: &TcpStream) -> &'static str {
    let st = &s.stats;
    if st.rst_from.is_some() && st.opening != Opening::Refused {
        return "reset (RST)";
    }
    if st.opening == Opening::Refused {
        return "-";
    }
    match (st.fins[0] > 0, st.fins[1] > 0) {
        (true, true) if st.fin_ack_combined => "FIN, 3 segments",
        (true, true) => "FIN, 4-way",
        (true, false) | (false, true) => "half-closed",
        (false, false) => "still open",
    }
}

/// Expert flag counts as "name×n" words.
pub fn expert_summary(s: &TcpStream) -> String {
    let mut parts = Vec::new();
    for (bit, name) in Expert::ALL {
        let n = s.stats.expert_counts[bit.trailing_zeros() as usize];
        if n > 0 && *bit != Expert::REUSED_PORTS {
            parts.push(format!("{} ×{n}", name.replace('_', " ")));
        }
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("\n")
    }
}

impl<W: Write> Renderer for TableRenderer<W> {
    fn frame(&mut self, _: &FrameRecord, _: &Analyzer) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
        if !io::stdout().is_terminal() {
            table.set_width(100);
        }
        table.set_header(vec![
            "#",
            "endpoints (A, B)",
            "packets\nA→B / B→A",
            "bytes\nA→B / B→A",
            "duration",
            "opened\nclosed",
            "expert flags",
        ]);
        if let Some(col) = table.column_mut(1) {
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(24)));
        }
        // A capture with thousands of connections shows the busiest ones.
        let mut chosen: Vec<&TcpStream> = analyzer
            .tcp_summaries()
            .into_iter()
            .filter(|s| self.only_streams.as_ref().is_none_or(|only| only.contains(&s.id)))
            .collect();
        let (tcp_total, udp_total) = analyzer.counts();
        let listed = chosen.len();
        let hidden =
            if self.only_streams.is_some() { 0 } else { (tcp_total as usize).saturating_sub(listed.min(MAX_ROWS)) };
        if chosen.len() > MAX_ROWS {
            chosen.sort_by_key(|s| std::cmp::Reverse(s.stats.bytes[0] + s.stats.bytes[1]));
            chosen.truncate(MAX_ROWS);
            chosen.sort_by_key(|s| s.id);
        }
        for s in chosen {
            let role = |side: u8| match s.client {
                Some(c) if c == side => " (client)",
                Some(_) => " (server)",
                None => "",
            };
            table.add_row(vec![
                format!("tcp {}", s.id),
                format!("{}{}\n{}{}", s.a, role(0), s.b, role(1)),
                format!("{} / {}", s.stats.packets[0], s.stats.packets[1]),
                format!("{} / {}", s.stats.bytes[0], s.stats.bytes[1]),
                duration(s),
                format!("{}\n{}", opening(s), closing(s)),
                expert_summary(s),
            ]);
        }
        let udp_shown = analyzer.udp_summaries();
        let udp_hidden = (udp_total as usize).saturating_sub(udp_shown.len().min(MAX_ROWS));
        if self.only_streams.is_none() {
            for f in udp_shown.into_iter().take(MAX_ROWS) {
                table.add_row(vec![
                    format!("udp {}", f.id),
                    format!("{}\n{}", f.a, f.b),
                    format!("{} / {}", f.packets[0], f.packets[1]),
                    format!("{} / {}", f.bytes[0], f.bytes[1]),
                    format!("{:.6} s", f.last.nanos_since(f.first) as f64 / 1e9),
                    "datagrams".into(),
                    if f.icmp_errors > 0 { format!("icmp_unreachable×{}", f.icmp_errors) } else { "-".into() },
                ]);
            }
        }
        writeln!(self.out, "{table}")?;
        if hidden + udp_hidden > 0 {
            writeln!(
                self.out,
                "({hidden} more TCP connection(s) and {udp_hidden} UDP flow(s) not shown: the {MAX_ROWS} TCP connections with the most bytes are; see one with --stream N)"
            )?;
        }
        writeln!(
            self.out,
            "{} frames, {} TCP connection(s), {} UDP flow(s){}",
            analyzer.frames,
            tcp_total,
            udp_total,
            if analyzer.truncated > 0 { format!(", {} truncated frame(s)", analyzer.truncated) } else { String::new() }
        )?;
        self.out.flush()
    }
}
