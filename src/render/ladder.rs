//! The ladder: a sequence diagram in the terminal, one lane per endpoint, an
//! arrow per packet, state changes at the lanes, the call behind each packet
//! and a plain-language sentence at the key moments. Fits 100 columns.

use super::style::{paint, Role};
use super::Renderer;
use crate::analyze::{Analyzer, FrameRecord, Proto, TcpRecord};
use crate::decode::flags::{ACK, FIN, PSH, RST, SYN};
use crate::i18n::tr;
use crate::source::Timestamp;
use colored::Colorize;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Width of a lane (state names are up to 12 characters).
const LANE: usize = 12;
/// Width of the arrow between the lanes.
const ARROW: usize = 54;
/// Total width the ladder is laid out for.
pub const WIDTH: usize = 100;
/// Left margin: frame number and time.
const MARGIN: usize = 18;

/// Which conversation a frame belongs to, for the lane headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lanes {
    Tcp(u32),
    Udp(u32),
    Other,
}

/// Draws the ladder.
pub struct LadderRenderer<W: Write> {
    out: W,
    first_ts: Option<Timestamp>,
    lanes: Option<Lanes>,
    /// Show the explanation sentences.
    pub explain: bool,
    /// Summarise long runs of bulk segments (data and plain ACKs) in one line.
    pub group_bulk: bool,
    /// Raw sequence and acknowledgment numbers on the arrows instead of relative ones.
    pub absolute: bool,
    run: BulkRun,
    /// Per stream: the expert flags already drawn in full (bit [`TRUNCATED_SHOWN`] for the snaplen note).
    shown: std::collections::HashMap<u32, u32>,
}

/// Bit in `shown`: the snaplen note was given for this stream.
const TRUNCATED_SHOWN: u32 = 1 << 31;
/// Flags that stop being news after their first appearance in a stream.
const REPEATABLE: u32 = crate::analyze::Expert::WINDOW_FULL
    | crate::analyze::Expert::WINDOW_UPDATE
    | crate::analyze::Expert::ZERO_WINDOW
    | crate::analyze::Expert::KEEP_ALIVE
    | crate::analyze::Expert::ZERO_WINDOW_PROBE
    | crate::analyze::Expert::ZERO_WINDOW_PROBE_ACK;

/// Segments shown in full at each end of a summarised bulk run.
const EDGE: usize = 3;

/// A run of bulk segments of one stream: its first and last few frames in
/// full, the middle as counters (memory does not grow with the run).
#[derive(Default)]
struct BulkRun {
    stream: Option<u32>,
    head: Vec<FrameRecord>,
    tail: std::collections::VecDeque<FrameRecord>,
    middle: Option<MiddleStats>,
}

/// Totals of the summarised middle of a bulk run.
#[derive(Clone)]
struct MiddleStats {
    first: FrameRecord,
    last: FrameRecord,
    packets: [u64; 2],
    bytes: [u64; 2],
    wmin: u32,
    wmax: u32,
    expert: [u32; 16],
    /// The frames themselves while the middle is short (it is drawn in full then).
    few: Vec<FrameRecord>,
}

/// A middle this short is drawn frame by frame rather than summarised.
const FEW: usize = 4;

impl MiddleStats {
    fn new(r: FrameRecord) -> Self {
        let mut m = MiddleStats {
            first: r.clone(),
            last: r.clone(),
            packets: [0; 2],
            bytes: [0; 2],
            wmin: u32::MAX,
            wmax: 0,
            expert: [0; 16],
            few: Vec::new(),
        };
        m.add(r);
        m
    }

    fn add(&mut self, r: FrameRecord) {
        if let Some(t) = &r.tcp {
            self.packets[t.dir as usize] += 1;
            self.bytes[t.dir as usize] += t.len as u64;
            if t.len == 0 {
                self.wmin = self.wmin.min(t.win);
                self.wmax = self.wmax.max(t.win);
            }
            for (bit, _) in crate::analyze::Expert::ALL {
                if t.expert.has(*bit) {
                    self.expert[bit.trailing_zeros() as usize] += 1;
                }
            }
        }
        if self.few.len() <= FEW {
            self.few.push(r.clone());
        }
        self.last = r;
    }
}

/// Data segments and plain ACKs of a bulk transfer — nothing a student must
/// see one by one — including window events already shown once in the stream.
fn is_bulk(r: &FrameRecord, shown: u32) -> bool {
    r.tcp.is_some_and(|t| {
        t.flags & (SYN | FIN | RST) == 0
            && r.http.is_none()
            && t.expert.0 & !(REPEATABLE & shown) == 0
            && t.state_src == t.before_src
            && t.state_dst == t.before_dst
    })
}

impl<W: Write> LadderRenderer<W> {
    /// A ladder writing to `out`.
    pub fn new(out: W) -> Self {
        LadderRenderer {
            out,
            first_ts: None,
            lanes: None,
            explain: true,
            group_bulk: true,
            absolute: false,
            run: BulkRun::default(),
            shown: Default::default(),
        }
    }

    /// Shows what a bulk run holds back (call before writing anything else).
    pub fn flush_run(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        let run = std::mem::take(&mut self.run);
        for r in &run.head {
            self.draw(r, analyzer)?;
        }
        if let Some(m) = run.middle {
            self.summary(&m, analyzer)?;
        }
        for r in &run.tail {
            self.draw(r, analyzer)?;
        }
        Ok(())
    }

    fn push_bulk(&mut self, rec: &FrameRecord) {
        let run = &mut self.run;
        if run.head.len() < EDGE {
            run.head.push(rec.clone());
            return;
        }
        run.tail.push_back(rec.clone());
        if run.tail.len() > EDGE {
            let out = run.tail.pop_front().expect("non-empty");
            match run.middle.as_mut() {
                Some(m) => m.add(out),
                None => run.middle = Some(MiddleStats::new(out)),
            }
        }
    }

    /// The output the ladder writes to (for views that interleave other lines).
    pub fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    fn header(&mut self, title: &str, a: SocketAddr, b: SocketAddr, roles: (&str, &str)) -> io::Result<()> {
        use unicode_width::UnicodeWidthStr;
        writeln!(self.out)?;
        writeln!(self.out, "{}", paint(title, Role::Heading))?;
        let left = format!("{a} {}", roles.0);
        let right = format!("{b} {}", roles.1);
        let gap = (WIDTH - 2 - MARGIN).saturating_sub(left.width() + right.width()).max(2);
        writeln!(self.out, "{:>5} {:>10}  {left}{:gap$}{right}", "#", crate::i18n::tr("time(s)", "时间(秒)"), "")?;
        Ok(())
    }

    fn arrow(label: &str, rightwards: bool) -> String {
        let label_len = label.chars().count().min(ARROW - 5);
        let label: String = label.chars().take(label_len).collect();
        let fill = ARROW - label_len - 3;
        let (lead, tail) = (2, fill - 2);
        if rightwards {
            format!("{} {label} {}▶", "─".repeat(lead), "─".repeat(tail))
        } else {
            format!("◀{} {label} {}", "─".repeat(lead), "─".repeat(tail))
        }
    }

    fn lane(state: Option<&str>) -> String {
        format!("{:<LANE$}", state.unwrap_or("│"))
    }

    fn line(
        &mut self,
        rec: &FrameRecord,
        label: &str,
        role: Role,
        rightwards: bool,
        states: (Option<&str>, Option<&str>),
    ) -> io::Result<()> {
        let first = *self.first_ts.get_or_insert(rec.ts);
        let rel = rec.ts.nanos_since(first) as f64 / 1e9;
        let (l, r) = (Self::lane(states.0), Self::lane(states.1));
        let paint_lane = |s: String, changed: bool| {
            if changed {
                paint(&s, Role::State).bold()
            } else {
                paint(&s, Role::Quiet)
            }
        };
        writeln!(
            self.out,
            "{:>5} {:>10.6}  {} {} {}",
            rec.frame,
            rel,
            paint_lane(l, states.0.is_some()),
            paint(&Self::arrow(label, rightwards), role),
            paint_lane(r.trim_end().to_string(), states.1.is_some()),
        )
    }

    /// A line under the arrow, between the two lifelines (wrapped to the arrow's width).
    fn detail(&mut self, text: &str, role: Role) -> io::Result<()> {
        self.detail_lines(wrap(text, ARROW - 2), role)
    }

    /// Lines under the arrow, each already at most the arrow's width.
    fn detail_lines(&mut self, lines: Vec<String>, role: Role) -> io::Result<()> {
        use unicode_width::UnicodeWidthStr;
        for chunk in lines {
            let pad = (ARROW - 2).saturating_sub(chunk.width());
            writeln!(
                self.out,
                "{:MARGIN$}{:<LANE$}   {}{:pad$} {}",
                "",
                paint("│", Role::Quiet),
                paint(&chunk, role),
                "",
                paint("│", Role::Quiet),
            )?;
        }
        Ok(())
    }

    fn explanations(&mut self, rec: &FrameRecord) -> io::Result<()> {
        if !self.explain {
            return Ok(());
        }
        for e in rec.explain.iter().flatten() {
            for (i, chunk) in wrap(&e.text(), WIDTH - MARGIN - 2).into_iter().enumerate() {
                let mark = if i == 0 { "ℹ " } else { "  " };
                writeln!(self.out, "{:MARGIN$}{}{}", "", mark, paint(&chunk, Role::Explain))?;
            }
        }
        Ok(())
    }

    fn tcp(&mut self, rec: &FrameRecord, t: &TcpRecord, analyzer: &Analyzer) -> io::Result<()> {
        if self.lanes != Some(Lanes::Tcp(t.stream)) {
            let Some(stream) = analyzer.stream(t.stream) else {
                return self.single(rec, &tcp_label(t, self.absolute), Role::Data);
            };
            self.lanes = Some(Lanes::Tcp(t.stream));
            let (client, server) = (tr("(client)", "(客户端)"), tr("(server)", "(服务器)"));
            let roles = match stream.client {
                Some(0) => (client, server),
                Some(_) => (server, client),
                None => ("", ""),
            };
            self.header(&format!("{} {}", tr("TCP stream", "TCP 流"), t.stream), stream.a, stream.b, roles)?;
        }
        let label = tcp_label(t, self.absolute);
        let role = if t.flags & RST != 0 {
            Role::Abort
        } else if !t.expert.is_empty() && !t.expert.has(crate::analyze::Expert::WINDOW_UPDATE) {
            Role::Warning
        } else if t.flags & SYN != 0 {
            Role::Open
        } else if t.flags & FIN != 0 {
            Role::Close
        } else if t.len > 0 {
            Role::Data
        } else {
            Role::Quiet
        };
        let rightwards = t.dir == 0;
        let src_changed = (t.state_src != t.before_src).then(|| t.state_src.name());
        let dst_changed = (t.state_dst != t.before_dst).then(|| t.state_dst.name());
        let states = if rightwards { (src_changed, dst_changed) } else { (dst_changed, src_changed) };
        self.line(rec, &label, role, rightwards, states)?;

        let mut detail = Vec::new();
        if let Some(c) = rec.cause {
            detail.push(c.text().to_string());
        }
        let mut opts = Vec::new();
        if let Some(m) = t.mss {
            opts.push(format!("MSS={m}"));
        }
        if let Some(w) = t.wscale {
            opts.push(format!("WS=×{}", 1u32 << w.min(14)));
        }
        if t.sack_permitted {
            opts.push("SACK_PERM".into());
        }
        if t.sack_blocks > 0 {
            opts.push(format!("SACK×{}", t.sack_blocks));
        }
        if !opts.is_empty() {
            detail.push(opts.join(" "));
        }
        let flags: Vec<_> = t.expert.names().filter(|n| *n != "reused_ports").collect();
        let detail_text = detail.join(" · ");
        self.detail(&detail_text, Role::Call)?;
        self.bytes_on_the_wire(rec)?;
        if !flags.is_empty() {
            let mut s = format!("[{}]", flags.join(", ").replace('_', " "));
            if t.dupack_num > 0 {
                s.push_str(&format!(" #{}", t.dupack_num));
            }
            self.detail(&s, Role::Warning)?;
        }
        let shown = self.shown.entry(t.stream).or_default();
        let note_cut = rec.truncated && *shown & TRUNCATED_SHOWN == 0;
        *shown |= t.expert.0 | if rec.truncated { TRUNCATED_SHOWN } else { 0 };
        if note_cut {
            let note = tr(
                "(frames of this connection were cut by the capture's snaplen: payload not fully captured)",
                "（这个连接的帧被抓包的 snaplen 截断：载荷没有完整抓到）",
            );
            self.detail(note, Role::Quiet)?;
        }
        self.explanations(rec)
    }
}

impl<W: Write> LadderRenderer<W> {
    /// One line standing for the middle of a bulk run.
    fn summary(&mut self, m: &MiddleStats, analyzer: &Analyzer) -> io::Result<()> {
        if m.packets.iter().sum::<u64>() as usize <= FEW {
            for r in &m.few {
                self.draw(r, analyzer)?;
            }
            return Ok(());
        }
        let secs = m.last.ts.nanos_since(m.first.ts) as f64 / 1e9;
        let total: u64 = m.bytes.iter().sum();
        let rate = if secs > 0.0 { format!(" · {:.1} MB/s", total as f64 / secs / 1e6) } else { String::new() };
        let window = if m.wmax > 0 { format!(" · receive window {}–{}", m.wmin, m.wmax) } else { String::new() };
        let ports = m.first.tcp.and_then(|t| analyzer.stream(t.stream)).map(|s| (s.a.port(), s.b.port()));
        let dir = |d: usize| match ports {
            Some((a, b)) if d == 0 => format!(":{a}→:{b}"),
            Some((a, b)) => format!(":{b}→:{a}"),
            None => String::new(),
        };
        let side = |d: usize| match (m.packets[d], m.bytes[d]) {
            (0, _) => None,
            (1, 0) => Some(format!("1 ACK {}", dir(d))),
            (n, 0) => Some(format!("{n} ACKs {}", dir(d))),
            (n, b) => Some(format!("{n} segments {} carrying {b} bytes", dir(d))),
        };
        let sides: Vec<String> = [side(0), side(1)].into_iter().flatten().collect();
        let flags: Vec<String> = crate::analyze::Expert::ALL
            .iter()
            .filter(|(bit, _)| m.expert[bit.trailing_zeros() as usize] > 0)
            .map(|(bit, name)| format!("{} ×{}", name.replace('_', " "), m.expert[bit.trailing_zeros() as usize]))
            .collect();
        let flags = if flags.is_empty() { String::new() } else { format!(" · {}", flags.join(", ")) };
        let text = format!(
            "⋯ frames {}–{}: {}, in {secs:.3} s{rate}{window}{flags}",
            m.first.frame,
            m.last.frame,
            sides.join(" and ")
        );
        for line in wrap(&text, WIDTH - MARGIN) {
            writeln!(self.out, "{:MARGIN$}{}", "", paint(&line, Role::Data))?;
        }
        Ok(())
    }
}

/// The text on a TCP arrow: flags, relative (or raw) numbers, length, window.
pub fn tcp_label(t: &TcpRecord, absolute: bool) -> String {
    let mut names = Vec::new();
    for (bit, name) in [(SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK")] {
        if t.flags & bit != 0 {
            names.push(name);
        }
    }
    let mut s = names.join(",");
    let (seq, ack) = if absolute { (t.seq_raw, t.ack_raw) } else { (t.seq, t.ack) };
    s.push_str(&format!(" seq={seq}"));
    if t.flags & ACK != 0 {
        s.push_str(&format!(" ack={ack}"));
    }
    if t.len > 0 {
        s.push_str(&format!(" len={}", t.len));
    }
    s.push_str(&format!(" win={}", t.win));
    s
}

/// Greedy wrap to `width` terminal columns. Words are kept whole; Chinese
/// text, which has no spaces, may break between any two characters (each is
/// two columns wide).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0usize;
    for word in text.split_whitespace() {
        // A word splits into runs of narrow characters and single wide ones.
        let mut pieces: Vec<String> = Vec::new();
        for c in word.chars() {
            let wide = c.width().unwrap_or(0) > 1;
            match pieces.last_mut() {
                Some(p) if !wide && !p.chars().last().is_some_and(|l| l.width().unwrap_or(0) > 1) => p.push(c),
                _ => pieces.push(c.to_string()),
            }
        }
        for (i, piece) in pieces.iter().enumerate() {
            let space = usize::from(i == 0 && !line.is_empty());
            let w = piece.width();
            // Keep closing punctuation with the character before it.
            let sticky = piece.chars().all(|c| "，。、；：！？）」』”’》".contains(c));
            if used + space + w > width && !line.is_empty() && !sticky {
                lines.push(std::mem::take(&mut line));
                used = 0;
            } else if space == 1 {
                line.push(' ');
                used += 1;
            }
            line.push_str(piece);
            used += w;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod wrap_tests {
    use super::wrap;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn wraps_english_by_words_and_chinese_by_characters() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        let zh = wrap("三次握手 1/3：connect() 发出 SYN，带着客户端的初始序列号（ISN）；相对序号从 0 开始。", 20);
        assert!(zh.len() > 3);
        assert!(zh.iter().all(|l| l.width() <= 21), "{zh:?}");
        assert!(!zh.iter().any(|l| l.starts_with('，') || l.starts_with('。')));
    }
}

impl<W: Write> Renderer for LadderRenderer<W> {
    fn aside(&mut self, lines: &[String], analyzer: &Analyzer) -> io::Result<()> {
        self.flush_run(analyzer)?;
        let out = self.writer();
        for l in lines {
            writeln!(out, "   {}", paint(l, Role::State))?;
        }
        Ok(())
    }

    fn frame(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        let stream = rec.tcp.map(|t| t.stream);
        let shown = stream.and_then(|s| self.shown.get(&s).copied()).unwrap_or(0);
        let bulk = self.group_bulk && is_bulk(rec, shown);
        if bulk && (self.run.stream.is_none() || self.run.stream == stream) {
            self.run.stream = stream;
            self.push_bulk(rec);
            return Ok(());
        }
        self.flush_run(analyzer)?;
        if bulk {
            self.run.stream = stream;
            self.push_bulk(rec);
            return Ok(());
        }
        self.draw(rec, analyzer)
    }

    fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        self.flush_run(analyzer)?;
        self.out.flush()
    }
}

/// "DNS query A www.course.test" / "DNS answer www.course.test A → 127.0.0.1".
fn dns_line(d: &crate::decode::dns::DnsInfo) -> String {
    if !d.response {
        return format!("DNS {} {} {} (id {})", tr("query", "查询"), d.qtype_name(), d.name(), d.id);
    }
    let answers: Vec<String> = d.answers.iter().flatten().map(|a| a.to_string()).collect();
    match (d.rcode, answers.is_empty()) {
        (0, false) => format!("DNS {} {} {} → {}", tr("answer", "应答"), d.name(), d.qtype_name(), answers.join(", ")),
        _ => format!("DNS {} {} {} → {}", tr("answer", "应答"), d.name(), d.qtype_name(), d.rcode_name()),
    }
}

impl<W: Write> LadderRenderer<W> {
    /// Draws one frame in full.
    pub fn draw(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        if let Some(t) = &rec.tcp {
            return self.tcp(rec, t, analyzer);
        }
        if let Some(u) = &rec.udp {
            let Some(flow) = analyzer.udp_flow(u.stream) else {
                return self.single(rec, &format!("UDP len={}", u.len), Role::Data);
            };
            if self.lanes != Some(Lanes::Udp(u.stream)) {
                self.lanes = Some(Lanes::Udp(u.stream));
                self.header(&format!("{} {}", tr("UDP flow", "UDP 流"), u.stream), flow.a, flow.b, ("", ""))?;
            }
            self.line(rec, &format!("UDP len={}", u.len), Role::Data, u.dir == 0, (None, None))?;
            if let Some(c) = rec.cause {
                self.detail(c.text(), Role::Call)?;
            }
            if let Some(d) = &u.dns {
                self.detail(&dns_line(d), Role::Call)?;
            }
            self.bytes_on_the_wire(rec)?;
            return self.explanations(rec);
        }
        if let Some(i) = &rec.icmp {
            let label = format!(
                "{} {} (type {} code {})",
                if i.msg.v6 { "ICMPv6" } else { "ICMP" },
                i.msg.describe(),
                i.msg.icmp_type,
                i.msg.code
            );
            let role = if i.msg.quoted.is_some() { Role::Abort } else { Role::Data };
            match i.udp_stream {
                Some(id) if analyzer.udp_flow(id).is_some() => {
                    let flow = analyzer.udp_flow(id).expect("checked");
                    if self.lanes != Some(Lanes::Udp(id)) {
                        self.lanes = Some(Lanes::Udp(id));
                        self.header(&format!("{} {id}", tr("UDP flow", "UDP 流")), flow.a, flow.b, ("", ""))?;
                    }
                    let rightwards = rec.src != Some(flow.b.ip());
                    self.line(rec, &label, role, rightwards, (None, None))?;
                }
                _ => {
                    self.lanes = Some(Lanes::Other);
                    let (s, d) = (
                        rec.src.map(|a| a.to_string()).unwrap_or_default(),
                        rec.dst.map(|a| a.to_string()).unwrap_or_default(),
                    );
                    self.single(rec, &format!("{label}  {s} → {d}"), role)?;
                }
            }
            if let Some(c) = rec.cause {
                self.detail(c.text(), Role::Call)?;
            }
            return self.explanations(rec);
        }
        self.lanes = Some(Lanes::Other);
        let text = match (rec.non_ip, rec.proto) {
            (Some(crate::decode::NonIp::UnsupportedLink), _) => {
                format!("(link type {} ({}) not decoded)", rec.link.name(), rec.link.0)
            }
            (Some(crate::decode::NonIp::Truncated), _) => "(frame too short for its headers)".to_string(),
            (Some(crate::decode::NonIp::NotIp), _) => "(not IP: ARP or other link-layer traffic)".to_string(),
            (None, Proto::Other) => format!(
                "IP {} → {} (not TCP/UDP/ICMP)",
                rec.src.map(|a| a.to_string()).unwrap_or_default(),
                rec.dst.map(|a| a.to_string()).unwrap_or_default()
            ),
            _ => String::new(),
        };
        self.single(rec, &text, Role::Quiet)
    }
}

impl<W: Write> LadderRenderer<W> {
    /// Under a data arrow: the payload preview, and the HTTP message this
    /// segment completes.
    fn bytes_on_the_wire(&mut self, rec: &FrameRecord) -> io::Result<()> {
        if let Some(p) = &rec.payload {
            let cut = tr("…(cut by snaplen)", "…（被 snaplen 截断）");
            self.detail_lines(crate::render::payload::preview_lines(p, cut, ARROW - 2), Role::Data)?;
        }
        if let Some(m) = rec.http.as_deref() {
            self.detail(&http_summary(m, rec.frame), Role::Call)?;
        }
        Ok(())
    }

    fn single(&mut self, rec: &FrameRecord, text: &str, role: Role) -> io::Result<()> {
        let first = *self.first_ts.get_or_insert(rec.ts);
        let rel = rec.ts.nanos_since(first) as f64 / 1e9;
        writeln!(self.out, "{:>5} {:>10.6}  {}", rec.frame, rel, paint(text, role))
    }
}

/// The parts of an HTTP message in the course's words: request/status line,
/// headers, blank line, body.
fn http_summary(m: &crate::analyze::HttpMessage, frame: u64) -> String {
    use crate::analyze::http::{BodyKind, StartLine};
    use crate::i18n::either;
    let request = matches!(m.start, StartLine::Request { .. });
    let n = m.headers.len();
    let mut names: Vec<&str> = m.headers.iter().take(5).map(|(name, _)| name.as_str()).collect();
    if n > 5 {
        names.push("…");
    }
    let names = if n == 0 { String::new() } else { format!(" ({})", names.join(", ")) };
    let first = match &m.start {
        StartLine::Request { line, .. } => {
            either(format!("HTTP request line \"{line}\""), format!("HTTP 请求行 \"{line}\""))
        }
        StartLine::Response { line, code, .. } => either(
            format!("HTTP status line \"{line}\" (status code {code})"),
            format!("HTTP 状态行 \"{line}\"（状态码 {code}）"),
        ),
    };
    let headers = either(
        format!("{n} header{}{names}", if n == 1 { "" } else { "s" }),
        format!("{}头 {n} 个{names}", if request { "请求" } else { "响应" }),
    );
    let body_zh = if request { "请求体" } else { "响应体" };
    let body = match (m.body, m.body_len) {
        (BodyKind::Length, Some(len)) => either(format!("body {len} bytes"), format!("{body_zh} {len} 字节")),
        (BodyKind::Chunked, _) => either(
            "body chunked (its length comes at its end)".into(),
            format!("{body_zh}分块传输（chunked，长度在末尾才知道）"),
        ),
        (BodyKind::UntilClose, _) => {
            either("body until the server closes".into(), format!("{body_zh}一直到服务器关闭连接"))
        }
        _ => either("no body".into(), format!("无{body_zh}")),
    };
    let blank = either("blank line".into(), "空行".into());
    let mut s = format!("{first} · {headers} · {blank} · {body}");
    if m.first_frame != frame {
        s.push_str(&either(
            format!(" · reassembled from frames {}–{frame}", m.first_frame),
            format!(" · 由第 {}–{frame} 帧重组", m.first_frame),
        ));
    }
    s
}
