//! Per-connection summary table (comfy-table).

use super::Renderer;
use crate::analyze::{Analyzer, Expert, FrameRecord, Opening, TcpStream};
use crate::i18n::{either, tr};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use std::io::{self, Write};

/// Most connections (and UDP flows) shown as rows.
const MAX_ROWS: usize = 50;

/// Collects nothing per frame; prints one row per connection at the end.
pub struct TableRenderer<W: Write> {
    out: W,
    /// Only these TCP streams (None = all).
    pub only_streams: Option<Vec<u32>>,
    /// Columns to fit in (default: the width chosen at start-up).
    pub width: usize,
}

impl<W: Write> TableRenderer<W> {
    /// A table writing to `out`.
    pub fn new(out: W) -> Self {
        TableRenderer { out, only_streams: None, width: super::term::width() }
    }
}

fn duration(s: &TcpStream) -> String {
    format!("{:.6} s", s.stats.last.nanos_since(s.stats.first) as f64 / 1e9)
}

/// How a connection opened, in words (current language).
pub fn opening(s: &TcpStream) -> &'static str {
    match s.stats.opening {
        Opening::Handshake => tr("3-way handshake", "三次握手"),
        Opening::SynOnly => tr("SYN, no answer", "SYN，无应答"),
        Opening::Refused => tr("refused (RST)", "被拒绝 (RST)"),
        Opening::MidStream => tr("already open", "抓包前已建立"),
    }
}

/// How a connection closed, in words (current language).
pub fn closing(s: &TcpStream) -> &'static str {
    let st = &s.stats;
    if st.rst_from.is_some() && st.opening != Opening::Refused {
        return tr("reset (RST)", "被重置 (RST)");
    }
    if st.opening == Opening::Refused {
        return "-";
    }
    match (st.fins[0] > 0, st.fins[1] > 0) {
        (true, true) if st.fin_ack_combined => tr("FIN, 3 segments", "FIN，三个报文段"),
        (true, true) => tr("FIN, 4-way", "FIN，四次挥手"),
        (true, false) | (false, true) => tr("half-closed", "半关闭"),
        (false, false) => tr("still open", "仍未关闭"),
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
        // Below 120 columns seven columns squeeze each other into broken
        // words: packets go over bytes and the duration under the closing.
        let narrow = self.width < 120;
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
        // Always set: comfy-table would otherwise measure the terminal itself and ignore --width.
        table.set_width(u16::try_from(self.width).unwrap_or(u16::MAX));
        if narrow {
            table.set_header(vec![
                "#",
                tr("endpoints (A, B)", "端点 (A, B)"),
                tr("packets\nbytes\nA→B / B→A", "数据包\n字节\nA→B / B→A"),
                tr("opened\nclosed\nduration", "建立\n关闭\n时长"),
                tr("expert flags", "专家标记"),
            ]);
        } else {
            table.set_header(vec![
                "#",
                tr("endpoints (A, B)", "端点 (A, B)"),
                tr("packets\nA→B / B→A", "数据包\nA→B / B→A"),
                tr("bytes\nA→B / B→A", "字节\nA→B / B→A"),
                tr("duration", "时长"),
                tr("opened\nclosed", "建立\n关闭"),
                tr("expert flags", "专家标记"),
            ]);
            if let Some(col) = table.column_mut(1) {
                col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(24)));
            }
        }
        let mut flags_width = 1;
        let mut add =
            |id: String, ends: [String; 2], packets: String, bytes: String, dur: String, how: String, flags: String| {
                flags_width = flags.lines().map(super::term::cols).chain([flags_width]).max().unwrap_or(1);
                let row = if narrow {
                    let ends = ends.map(|e| e.replacen(" (", "\n(", 1));
                    vec![id, ends.join("\n"), format!("{packets}\n{bytes}"), format!("{how}\n{dur}"), flags]
                } else {
                    vec![id, ends.join("\n"), packets, bytes, dur, how, flags]
                };
                table.add_row(row);
            };
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
                Some(c) if c == side => tr(" (client)", " (客户端)"),
                Some(_) => tr(" (server)", " (服务器)"),
                None => "",
            };
            add(
                format!("tcp {}", s.id),
                [format!("{}{}", s.a, role(0)), format!("{}{}", s.b, role(1))],
                format!("{} / {}", s.stats.packets[0], s.stats.packets[1]),
                format!("{} / {}", s.stats.bytes[0], s.stats.bytes[1]),
                duration(s),
                format!("{}\n{}", opening(s), closing(s)),
                expert_summary(s),
            );
        }
        let udp_shown = analyzer.udp_summaries();
        let udp_hidden = (udp_total as usize).saturating_sub(udp_shown.len().min(MAX_ROWS));
        if self.only_streams.is_none() {
            for f in udp_shown.into_iter().take(MAX_ROWS) {
                add(
                    format!("udp {}", f.id),
                    [f.a.to_string(), f.b.to_string()],
                    format!("{} / {}", f.packets[0], f.packets[1]),
                    format!("{} / {}", f.bytes[0], f.bytes[1]),
                    format!("{:.6} s", f.last.nanos_since(f.first) as f64 / 1e9),
                    tr("datagrams", "数据报").into(),
                    if f.icmp_errors > 0 { format!("icmp_unreachable×{}", f.icmp_errors) } else { "-".into() },
                );
            }
        }
        // Flag names are broken only between words: comfy-table would give
        // the column no more than its share otherwise.
        let flags_col = if narrow { 4 } else { 6 };
        // "spurious retransmission", the longest flag name, is 23 columns.
        let flags_min = Width::Fixed(flags_width.min(if narrow { 23 } else { 26 }).min(self.width * 3 / 10) as u16);
        if let Some(col) = table.column_mut(flags_col) {
            col.set_constraint(ColumnConstraint::LowerBoundary(flags_min));
        }
        writeln!(self.out, "{table}")?;
        let width = self.width;
        let mut lines = Vec::new();
        if hidden + udp_hidden > 0 {
            lines.push(either(
                format!("({hidden} more TCP connection(s) and {udp_hidden} UDP flow(s) not shown: the {MAX_ROWS} TCP connections with the most bytes are; see one with --stream N)"),
                format!("（另有 {hidden} 个 TCP 连接和 {udp_hidden} 个 UDP 流未列出：只列出字节数最多的 {MAX_ROWS} 个 TCP 连接；用 --stream N 查看某一个）"),
            ));
        }
        let (frames, cut) = (analyzer.frames, analyzer.truncated);
        lines.push(either(
            format!(
                "{frames} frames, {tcp_total} TCP connection(s), {udp_total} UDP flow(s){}",
                if cut > 0 { format!(", {cut} truncated frame(s)") } else { String::new() }
            ),
            format!(
                "{frames} 帧，{tcp_total} 个 TCP 连接，{udp_total} 个 UDP 流{}",
                if cut > 0 { format!("，{cut} 帧被截断") } else { String::new() }
            ),
        ));
        for line in lines.iter().flat_map(|l| super::term::wrap(l, width)) {
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }
}
