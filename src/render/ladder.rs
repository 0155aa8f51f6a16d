//! The ladder: a sequence diagram in the terminal, one lane per endpoint, an
//! arrow per packet, state changes at the lanes, the call behind each packet
//! and a plain-language sentence at the key moments. Fits the width chosen at
//! start-up (see [`super::term`]): the arrow takes what the margin and the
//! lanes leave.

use super::style::{painted, Painted, Role};
pub use super::term::wrap;
use super::term::{cols, pad_left};
use super::Renderer;
use crate::analyze::{Analyzer, FrameRecord, Proto, TcpRecord};
use crate::decode::flags::{ACK, FIN, PSH, RST, SYN};
use crate::i18n::{current, tr, Lang};
use crate::source::wire::spec::Action;
use crate::source::Timestamp;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Width of a lane (state names are up to 12 characters).
const LANE: usize = 12;
/// Left margin: frame number and time.
const MARGIN: usize = 18;
/// Columns around the arrow: the margin, two lanes, the spaces between them
/// and two spare (100 columns leave the 54-column arrow it was drawn for).
const AROUND_ARROW: usize = MARGIN + 2 * LANE + 4;
/// Widest ladder: beyond it a longer arrow shows nothing more.
const MAX_WIDTH: usize = 160;

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
    run: BulkFold<FrameRecord>,
    /// Per stream: the expert flags already drawn in full (bit [`TRUNCATED_SHOWN`] for the snaplen note).
    shown: rustc_hash::FxHashMap<u32, u32>,
    /// Columns to fit in (default: the width chosen at start-up).
    pub width: usize,
    /// Explanations already wrapped to the width.
    wrapped: WrapCache,
    /// Payload previews already laid out.
    previews: PreviewCache,
    /// Texts under arrows already wrapped.
    texts: TextCache,
    /// A line being put together, reused.
    scratch: String,
    /// The start of a header's address line.
    head: Option<String>,
}

/// Wrapped explanation sentences by what they say (their text depends only
/// on the value and the language, which is fixed for a run). Only the fixed
/// sentences are kept, so it stays small; bounded all the same.
#[derive(Default)]
struct WrapCache(rustc_hash::FxHashMap<crate::analyze::Explain, Vec<String>>);

impl WrapCache {
    const MAX: usize = 1024;

    fn get_or_insert_with(&mut self, key: crate::analyze::Explain, wrap: impl FnOnce() -> Vec<String>) -> &[String] {
        if self.0.len() >= Self::MAX && !self.0.contains_key(&key) {
            self.0.clear();
        }
        self.0.entry(key).or_insert_with(wrap)
    }
}

/// What `format!("{:>10.6}", ns as f64 / 1e9)` writes (see [`Seconds`]).
fn seconds(out: &mut impl Write, ns: i128) -> io::Result<()> {
    let text = Seconds::new(ns);
    spaces(out, 10usize.saturating_sub(text.as_str().len()))?;
    out.write_all(text.as_str().as_bytes())
}

/// Seconds with six decimals, byte for byte `format!("{:.6}", ns as f64 /
/// 1e9)` (a test holds them equal), by integer arithmetic where that is
/// provably the same: the float's rounding to microseconds can only differ
/// from the integer's on an exact half microsecond or for huge values, which
/// go through the formatter. The ladder and the page print one per packet.
pub(crate) struct Seconds {
    text: [u8; 64],
    len: usize,
}

impl Seconds {
    pub(crate) fn new(ns: i128) -> Seconds {
        let mut text = [0u8; 64];
        if !(0..1_000_000_000_000_000).contains(&ns) || ns % 1000 == 500 {
            let mut cursor = io::Cursor::new(&mut text[..]);
            // 64 bytes hold any i128 in seconds: 31 digits, a sign and 7 more.
            let _ = write!(cursor, "{:.6}", ns as f64 / 1e9);
            let len = cursor.position() as usize;
            return Seconds { text, len };
        }
        let micros = (ns as u64 + 500) / 1000;
        let mut digits = itoa::Buffer::new();
        let whole = digits.format(micros / 1_000_000).as_bytes();
        text[..whole.len()].copy_from_slice(whole);
        text[whole.len()] = b'.';
        let mut frac = micros % 1_000_000;
        for i in (whole.len() + 1..whole.len() + 7).rev() {
            text[i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        Seconds { text, len: whole.len() + 7 }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

/// Writes `n` spaces.
fn spaces(out: &mut impl Write, mut n: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    while n > 0 {
        let k = n.min(SPACES.len());
        out.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

/// Texts under arrows already wrapped, by text. Bounded like [`WrapCache`].
#[derive(Default)]
pub(crate) struct TextCache(rustc_hash::FxHashMap<Box<str>, Vec<String>>);

impl TextCache {
    pub(crate) fn get_or_insert_with(&mut self, text: &str, wrap: impl FnOnce() -> Vec<String>) -> &[String] {
        if !self.0.contains_key(text) {
            if self.0.len() >= WrapCache::MAX {
                self.0.clear();
            }
            self.0.insert(text.into(), wrap());
        }
        &self.0[text]
    }
}

/// Payload previews already laid out, by payload: the requests and replies
/// of many connections are byte-for-byte the same. Bounded like [`WrapCache`].
#[derive(Default)]
struct PreviewCache(rustc_hash::FxHashMap<crate::analyze::Payload, Vec<String>>);

impl PreviewCache {
    fn get_or_insert_with(
        &mut self,
        key: &crate::analyze::Payload,
        lay_out: impl FnOnce() -> Vec<String>,
    ) -> &[String] {
        if self.0.len() >= WrapCache::MAX && !self.0.contains_key(key) {
            self.0.clear();
        }
        if !self.0.contains_key(key) {
            self.0.insert(key.clone(), lay_out());
        }
        &self.0[key]
    }
}

/// Bit in `shown`: the snaplen note was given for this stream.
const TRUNCATED_SHOWN: u32 = 1 << 31;
use super::fold::{is_bulk, BulkFold, Fed, MiddleStats, Run};

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
            run: BulkFold::default(),
            shown: Default::default(),
            width: super::term::width(),
            wrapped: WrapCache::default(),
            previews: PreviewCache::default(),
            texts: TextCache::default(),
            scratch: String::new(),
            head: None,
        }
    }

    /// Columns the ladder uses.
    fn ladder_width(&self) -> usize {
        self.width.clamp(super::term::MIN_WIDTH, MAX_WIDTH)
    }

    /// Columns of the arrow between the lanes.
    fn arrow_width(&self) -> usize {
        self.ladder_width() - AROUND_ARROW
    }

    /// Shows what a bulk run holds back (call before writing anything else).
    pub fn flush_run(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        match self.run.end() {
            Some(run) => self.draw_run(run, analyzer),
            None => Ok(()),
        }
    }

    fn draw_run(&mut self, run: Run<FrameRecord>, analyzer: &Analyzer) -> io::Result<()> {
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

    /// The output the ladder writes to (for views that interleave other lines).
    pub fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    fn header(&mut self, title: &str, a: SocketAddr, b: SocketAddr, roles: (&str, &str)) -> io::Result<()> {
        writeln!(self.out)?;
        writeln!(self.out, "{}", painted(title, Role::Heading))?;
        let end = |addr: SocketAddr, role: &str| {
            let mut s = Vec::with_capacity(48);
            super::jsonl::write_socket_addr(&mut s, addr);
            if !role.is_empty() {
                s.push(b' ');
                s.extend_from_slice(role.as_bytes());
            }
            String::from_utf8(s).unwrap_or_default()
        };
        let (left, right) = (end(a, roles.0), end(b, roles.1));
        // Padded by display columns: "时间(秒)" is 5 characters but 8 columns.
        let head = self
            .head
            .take()
            .unwrap_or_else(|| format!("{} {}  ", pad_left("#", 5), pad_left(tr("time(s)", "时间(秒)"), 10)));
        let room = self.ladder_width() - 2 - MARGIN;
        if cols(&left) + cols(&right) + 2 <= room {
            let gap = room - cols(&left) - cols(&right);
            let out = &mut self.out;
            out.write_all(head.as_bytes())?;
            out.write_all(left.as_bytes())?;
            spaces(out, gap)?;
            out.write_all(right.as_bytes())?;
            out.write_all(b"\n")?;
        } else {
            // Long (IPv6) addresses: the right one under it, still over its lane.
            writeln!(self.out, "{head}{left}")?;
            writeln!(self.out, "{}", pad_left(&right, MARGIN + room))?;
        }
        self.head = Some(head);
        Ok(())
    }

    /// The arrow with as much of `label` as fits (breaking after a space when
    /// it can), and the rest of the label for the line under it.
    fn arrow(label: &str, rightwards: bool, width: usize, lost: bool) -> (String, Option<String>) {
        // "── " before the label, " ─▶" at least after it: the shaft stays visible.
        let room = width - 6;
        let (shown, rest): (std::borrow::Cow<'_, str>, _) = if cols(label) <= room {
            (label.into(), None)
        } else {
            let first = super::term::wrap_code(label, room).swap_remove(0);
            let rest = label[first.len()..].trim_start().to_string();
            (first.into(), Some(rest))
        };
        let tail = width - cols(&shown) - 5;
        // A packet lost on the wire never reaches the other lifeline: its
        // arrow stops short, at ✗.
        let gap = if lost { tail.min(6) } else { 0 };
        let mut arrow = String::with_capacity(shown.len() + 3 * width);
        let shaft = |a: &mut String, n: usize| {
            // '─' is 3 bytes in UTF-8: whole pieces of a ready-made shaft.
            const SHAFT: &str = "────────────────────────────────────────────────────────────────";
            let mut n = n;
            while n > 0 {
                let k = n.min(SHAFT.len() / 3);
                a.push_str(&SHAFT[..3 * k]);
                n -= k;
            }
        };
        let blank = |a: &mut String, n: usize| (0..n).for_each(|_| a.push(' '));
        match (rightwards, lost) {
            (true, _) => arrow.push_str("── "),
            (false, false) => arrow.push_str("◀── "),
            (false, true) => {
                blank(&mut arrow, gap);
                arrow.push_str("✗── ");
            }
        }
        arrow.push_str(&shown);
        arrow.push(' ');
        shaft(&mut arrow, tail - gap);
        match (rightwards, lost) {
            (true, false) => arrow.push('▶'),
            (true, true) => {
                arrow.push('✗');
                blank(&mut arrow, gap);
            }
            (false, _) => {}
        }
        (arrow, rest)
    }

    /// What the lab wire did to the packet, under its arrow.
    fn wire_mark(&mut self, rec: &FrameRecord) -> io::Result<()> {
        match rec.wire {
            Some(w) => self.detail(&wire_text(w), Role::Abort),
            None => Ok(()),
        }
    }

    /// A lifeline: the state it enters, or just the line.
    fn lane(state: Option<&str>) -> Painted<'_> {
        match state {
            Some(s) => painted(s, Role::State).bold(),
            None => painted("│", Role::Quiet),
        }
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
        let lost = rec.wire.is_some_and(|w| w.action == Action::Drop);
        let (arrow, rest) = Self::arrow(label, rightwards, self.arrow_width(), lost);
        if super::style::colouring() {
            // The left lane is padded (inside its colour), the right one ends the line.
            writeln!(
                self.out,
                "{:>5} {:>10.6}  {:<LANE$} {} {}",
                rec.frame,
                rec.ts.nanos_since(first) as f64 / 1e9,
                Self::lane(states.0),
                painted(&arrow, role),
                Self::lane(states.1),
            )?;
        } else {
            // The same bytes, padding written directly.
            let out = &mut self.out;
            let n = itoa::Buffer::new().format(rec.frame).len();
            spaces(out, 5usize.saturating_sub(n))?;
            out.write_all(itoa::Buffer::new().format(rec.frame).as_bytes())?;
            out.write_all(b" ")?;
            seconds(out, rec.ts.nanos_since(first))?;
            out.write_all(b"  ")?;
            let left = states.0.unwrap_or("│");
            out.write_all(left.as_bytes())?;
            spaces(out, LANE.saturating_sub(left.chars().count()))?;
            out.write_all(b" ")?;
            out.write_all(arrow.as_bytes())?;
            out.write_all(b" ")?;
            out.write_all(states.1.unwrap_or("│").as_bytes())?;
            out.write_all(b"\n")?;
        }
        match rest {
            Some(rest) => self.detail(&rest, role),
            None => Ok(()),
        }
    }

    /// A line under the arrow, between the two lifelines (wrapped to the arrow's width).
    fn detail(&mut self, text: &str, role: Role) -> io::Result<()> {
        let room = self.arrow_width() - 2;
        if super::term::one_line(text, room) {
            return self.detail_line(text, role);
        }
        // Longer texts (an HTTP message's summary) repeat across connections.
        let mut texts = std::mem::take(&mut self.texts);
        let shown =
            texts.get_or_insert_with(text, || wrap(text, room)).iter().try_for_each(|l| self.detail_line(l, role));
        self.texts = texts;
        shown
    }

    /// One line under the arrow, at most the arrow's width.
    fn detail_line(&mut self, chunk: &str, role: Role) -> io::Result<()> {
        let room = self.arrow_width() - 2;
        let pad = room.saturating_sub(cols(chunk));
        if super::style::colouring() {
            let bar = || painted("│", Role::Quiet);
            return writeln!(
                self.out,
                "{:MARGIN$}{:<LANE$}   {}{:pad$} {}",
                "",
                bar(),
                painted(chunk, role),
                "",
                bar()
            );
        }
        // The same bytes without the formatter, which pads a space at a time.
        let out = &mut self.out;
        spaces(out, MARGIN)?;
        out.write_all("│".as_bytes())?;
        spaces(out, LANE - 1 + 3)?;
        out.write_all(chunk.as_bytes())?;
        spaces(out, pad + 1)?;
        out.write_all("│\n".as_bytes())
    }

    fn explanations(&mut self, rec: &FrameRecord) -> io::Result<()> {
        if !self.explain {
            return Ok(());
        }
        let width = self.ladder_width() - MARGIN - 2;
        for e in rec.explain.iter().flatten() {
            // The same few sentences come back on every connection: wrapped once.
            // One with this packet's numbers in it is wrapped each time, not kept.
            let fresh;
            let lines: &[String] = match e.text() {
                std::borrow::Cow::Borrowed(text) => self.wrapped.get_or_insert_with(*e, || wrap(text, width)),
                std::borrow::Cow::Owned(text) => {
                    fresh = wrap(&text, width);
                    &fresh
                }
            };
            let colour = super::style::colouring();
            for (i, chunk) in lines.iter().enumerate() {
                let mark = if i == 0 { "ℹ " } else { "  " };
                if colour {
                    writeln!(self.out, "{:MARGIN$}{}{}", "", mark, painted(chunk, Role::Explain))?;
                } else {
                    spaces(&mut self.out, MARGIN)?;
                    self.out.write_all(mark.as_bytes())?;
                    self.out.write_all(chunk.as_bytes())?;
                    self.out.write_all(b"\n")?;
                }
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
        self.wire_mark(rec)?;

        // The cause, then the options: "connect() · MSS=1460 WS=×1024 SACK_PERM TS".
        let mut detail = std::mem::take(&mut self.scratch);
        detail.clear();
        if let Some(c) = rec.cause {
            detail.push_str(c.text());
        }
        let opts_at = detail.len();
        let opt = |d: &mut String, parts: &[&str]| {
            d.push_str(if d.len() == opts_at {
                if opts_at > 0 {
                    " · "
                } else {
                    ""
                }
            } else {
                " "
            });
            parts.iter().for_each(|p| d.push_str(p));
        };
        if let Some(m) = t.mss {
            opt(&mut detail, &["MSS=", itoa::Buffer::new().format(m)]);
        }
        if let Some(w) = t.wscale {
            opt(&mut detail, &["WS=×", itoa::Buffer::new().format(1u32 << w.min(14))]);
        }
        if t.sack_permitted {
            opt(&mut detail, &["SACK_PERM"]);
        }
        // On the handshake only: it explains why a full segment carries MSS − 12 bytes.
        if t.timestamps && t.flags & crate::decode::flags::SYN != 0 {
            opt(&mut detail, &["TS"]);
        }
        if t.dsack {
            opt(&mut detail, &["D-SACK"]);
        }
        if t.sack_blocks > u8::from(t.dsack) {
            opt(&mut detail, &["SACK×", itoa::Buffer::new().format(t.sack_blocks - u8::from(t.dsack))]);
        }
        let flags: Vec<_> = t.expert.names().filter(|n| *n != "reused_ports").collect();
        let shown_detail = self.detail(&detail, Role::Call);
        self.scratch = detail;
        shown_detail?;
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
        self.comment(rec)?;
        self.explanations(rec)
    }

    /// The capture's own comment on the packet: a lab run's step and call.
    fn comment(&mut self, rec: &FrameRecord) -> io::Result<()> {
        match rec.comment.as_deref() {
            Some(c) => self.detail(&format!("✎ {c}"), Role::Explain),
            None => Ok(()),
        }
    }
}

impl<W: Write> LadderRenderer<W> {
    /// One line standing for the middle of a bulk run.
    fn summary(&mut self, m: &MiddleStats<FrameRecord>, analyzer: &Analyzer) -> io::Result<()> {
        if let Some(few) = m.few() {
            for r in few {
                self.draw(r, analyzer)?;
            }
            return Ok(());
        }
        for line in wrap(&m.text(analyzer), self.ladder_width() - MARGIN) {
            writeln!(self.out, "{:MARGIN$}{}", "", painted(&line, Role::Data))?;
        }
        Ok(())
    }
}

/// What the lab wire did to a packet, in words (the ladder and the page).
pub fn wire_text(w: crate::source::wire::WireMark) -> String {
    match (w.action, w.queue_full) {
        (Action::Drop, true) => tr(
            "✗ lost on the wire: the rate-limited wire's queue was full (tail drop)",
            "✗ 在线路上丢失：限速线路的队列已满（尾部丢弃）",
        )
        .to_string(),
        (Action::Drop, false) => {
            tr("✗ lost on the wire (the lab's wire dropped it)", "✗ 在线路上丢失（实验的线路把它丢掉了）").to_string()
        }
        (Action::Corrupt, _) => tr(
            "⚡ corrupted on the wire: one byte changed, the checksum no longer matches",
            "⚡ 在线路上损坏：改变了一个字节，校验和不再匹配",
        )
        .to_string(),
        (Action::Duplicate, _) => tr("⧉ a second copy made by the wire", "⧉ 线路复制出的第二份").to_string(),
        (Action::Reorder, _) => {
            tr("⇄ held back by the wire: the next packet overtook it", "⇄ 被线路扣住：后面的包超过了它").to_string()
        }
        (Action::Delay, _) => match current() {
            Lang::Zh => format!("⏱ 被线路额外延迟 {} ms", w.ms.unwrap_or(0)),
            Lang::En => format!("⏱ delayed {} ms more by the wire", w.ms.unwrap_or(0)),
        },
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
    let mut s = String::with_capacity(64);
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(n);
    }
    let (seq, ack) = if absolute { (t.seq_raw, t.ack_raw) } else { (t.seq, t.ack) };
    let mut field = |name: &str, n: u32| {
        s.push_str(name);
        s.push_str(itoa::Buffer::new().format(n));
    };
    field(" seq=", seq);
    if t.flags & ACK != 0 {
        field(" ack=", ack);
    }
    if t.len > 0 {
        field(" len=", t.len);
    }
    field(" win=", t.win);
    s
}

impl<W: Write> Renderer for LadderRenderer<W> {
    fn aside(&mut self, lines: &[String], analyzer: &Analyzer) -> io::Result<()> {
        self.flush_run(analyzer)?;
        let out = self.writer();
        for l in lines {
            writeln!(out, "   {}", painted(l, Role::State))?;
        }
        Ok(())
    }

    fn frame(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        self.take(rec.clone(), analyzer)
    }

    fn frame_record(
        &mut self,
        _: &crate::source::Frame<'_>,
        rec: &mut FrameRecord,
        analyzer: &Analyzer,
    ) -> io::Result<()> {
        self.take(std::mem::replace(rec, FrameRecord::blank()), analyzer)
    }

    fn keeps_records(&self) -> bool {
        true
    }

    fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        self.flush_run(analyzer)?;
        self.out.flush()
    }
}

impl<W: Write> LadderRenderer<W> {
    /// Draws the frame, or holds it in a bulk run (which keeps it).
    fn take(&mut self, rec: FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        let stream = rec.tcp.map(|t| t.stream);
        let shown = stream.and_then(|s| self.shown.get(&s).copied()).unwrap_or(0);
        let bulk = self.group_bulk && is_bulk(&rec, shown);
        match self.run.feed(rec, bulk) {
            Fed::Draw(ended, rec) => {
                if let Some(run) = ended {
                    self.draw_run(run, analyzer)?;
                }
                self.draw(&rec, analyzer)
            }
            Fed::Held { ended: Some(run), .. } => self.draw_run(run, analyzer),
            Fed::Held { ended: None, .. } => Ok(()),
        }
    }
}

/// "DNS query A www.course.test" / "DNS answer www.course.test A → 127.0.0.1".
pub(crate) fn dns_line(d: &crate::decode::dns::DnsInfo) -> String {
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
            self.wire_mark(rec)?;
            if let Some(c) = rec.cause {
                self.detail(c.text(), Role::Call)?;
            }
            if let Some(d) = &u.dns {
                self.detail(&dns_line(d), Role::Call)?;
            }
            self.comment(rec)?;
            self.bytes_on_the_wire(rec)?;
            return self.explanations(rec);
        }
        if let Some(i) = &rec.icmp {
            let label = format!(
                "{} {} (type {} code {})",
                if i.msg.v6 { "ICMPv6" } else { "ICMP" },
                icmp_name(&i.msg),
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
                let (name, n) = (rec.link.name(), rec.link.0);
                crate::i18n::either(
                    format!("(link type {name} ({n}) not decoded)"),
                    format!("（链路类型 {name} ({n}) 未解码）"),
                )
            }
            (Some(crate::decode::NonIp::Truncated), _) => {
                tr("(frame too short for its headers)", "（帧太短，放不下它的首部）").to_string()
            }
            (Some(crate::decode::NonIp::NotIp), _) => {
                tr("(not IP: ARP or other link-layer traffic)", "（不是 IP：ARP 或其他链路层流量）").to_string()
            }
            (None, Proto::Other) => {
                let src = rec.src.map(|a| a.to_string()).unwrap_or_default();
                let dst = rec.dst.map(|a| a.to_string()).unwrap_or_default();
                crate::i18n::either(
                    format!("IP {src} → {dst} (not TCP/UDP/ICMP)"),
                    format!("IP {src} → {dst}（不是 TCP/UDP/ICMP）"),
                )
            }
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
            let width = self.arrow_width() - 2;
            let mut previews = std::mem::take(&mut self.previews);
            let lines = previews.get_or_insert_with(p, || crate::render::payload::preview_lines(p, cut, width));
            let shown = lines.iter().try_for_each(|l| self.detail_line(l, Role::Data));
            self.previews = previews;
            shown?;
        }
        if let Some(m) = rec.http.as_deref() {
            self.detail(&http_summary(m, rec.frame), Role::Call)?;
        }
        Ok(())
    }

    fn single(&mut self, rec: &FrameRecord, text: &str, role: Role) -> io::Result<()> {
        let first = *self.first_ts.get_or_insert(rec.ts);
        let rel = rec.ts.nanos_since(first) as f64 / 1e9;
        let room = self.ladder_width() - MARGIN;
        for (i, line) in super::term::wrap_code(text, room).iter().enumerate() {
            if i == 0 {
                writeln!(self.out, "{:>5} {:>10.6}  {}", rec.frame, rel, painted(line, role))?;
            } else {
                writeln!(self.out, "{:MARGIN$}{}", "", painted(line, role))?;
            }
        }
        Ok(())
    }
}

/// The ICMP message's name in the current language (its type and code follow it as numbers).
pub(crate) fn icmp_name(msg: &crate::decode::IcmpMessage) -> &'static str {
    let en = msg.describe();
    let zh = match en {
        "echo reply" => "回显应答",
        "echo request" => "回显请求",
        "port unreachable" => "端口不可达",
        "host unreachable" => "主机不可达",
        "fragmentation needed" => "需要分片",
        "packet too big" => "分组过大",
        "destination unreachable" => "目的不可达",
        "time exceeded" => "超时",
        "router solicitation" => "路由器请求",
        "router advertisement" => "路由器通告",
        "neighbor solicitation" => "邻居请求",
        "neighbor advertisement" => "邻居通告",
        _ => en,
    };
    tr(en, zh)
}

#[cfg(test)]
mod arrow_tests {
    use super::{cols, LadderRenderer};

    #[test]
    fn seconds_as_the_formatter_writes_them() {
        let mut values: Vec<i128> =
            vec![0, 1, 499, 500, 501, 999, 1000, 1499, 1500, 999_999_499, 999_999_500, 999_999_501];
        values.extend([1_000_000_000, 9_999_999_999_500, 99_999_999_999_499, 123_456_789_012_345, -1, -1500]);
        let mut x = 88_172_645_463_325_252u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x % [1_000, 1_000_000, 1_000_000_000, 100_000_000_000_000][(x % 4) as usize]) as i128);
        }
        for ns in values {
            let mut out = Vec::new();
            super::seconds(&mut out, ns).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{:>10.6}", ns as f64 / 1e9), "{ns} ns");
            assert_eq!(super::Seconds::new(ns).as_str(), format!("{:.6}", ns as f64 / 1e9), "{ns} ns");
        }
    }

    #[test]
    fn an_arrow_is_as_wide_as_asked_and_a_long_label_continues_under_it() {
        let label = "PSH,ACK seq=10616515 ack=13 len=54325 win=65536";
        for width in [14, 34, 54, 114] {
            for rightwards in [true, false] {
                let (arrow, rest) = LadderRenderer::<Vec<u8>>::arrow(label, rightwards, width, false);
                assert_eq!(cols(&arrow), width, "{arrow}");
                let shown = arrow.trim_matches(|c| "─▶◀ ".contains(c));
                match rest {
                    Some(rest) => assert_eq!(format!("{shown} {rest}"), label),
                    None => assert_eq!(shown, label),
                }
            }
        }
    }
}

/// The parts of an HTTP message in the course's words: request/status line,
/// headers, blank line, body.
pub(crate) fn http_summary(m: &crate::analyze::HttpMessage, frame: u64) -> String {
    use crate::analyze::http::{BodyKind, StartLine};
    use std::fmt::Write as _;
    let zh = crate::i18n::current() == crate::i18n::Lang::Zh;
    let request = matches!(m.start, StartLine::Request { .. });
    let n = m.headers.len();
    // One buffer, written part by part (a message per request and reply).
    let mut s = String::with_capacity(160);
    let _ = match (&m.start, zh) {
        (StartLine::Request { line, .. }, false) => write!(s, "HTTP request line \"{line}\""),
        (StartLine::Request { line, .. }, true) => write!(s, "HTTP 请求行 \"{line}\""),
        (StartLine::Response { line, code, .. }, false) => {
            write!(s, "HTTP status line \"{line}\" (status code {code})")
        }
        (StartLine::Response { line, code, .. }, true) => write!(s, "HTTP 状态行 \"{line}\"（状态码 {code}）"),
    };
    let _ = if zh {
        write!(s, " · {}头 {n} 个", if request { "请求" } else { "响应" })
    } else {
        write!(s, " · {n} header{}", if n == 1 { "" } else { "s" })
    };
    if n > 0 {
        s.push_str(" (");
        for (i, (name, _)) in m.headers.iter().take(5).enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(name);
        }
        if n > 5 {
            s.push_str(", …");
        }
        s.push(')');
    }
    s.push_str(if zh { " · 空行 · " } else { " · blank line · " });
    let body_zh = if request { "请求体" } else { "响应体" };
    let _ = match (m.body, m.body_len, zh) {
        (BodyKind::Length, Some(len), false) => write!(s, "body {len} bytes"),
        (BodyKind::Length, Some(len), true) => write!(s, "{body_zh} {len} 字节"),
        (BodyKind::Chunked, _, false) => write!(s, "body chunked (its length comes at its end)"),
        (BodyKind::Chunked, _, true) => write!(s, "{body_zh}分块传输（chunked，长度在末尾才知道）"),
        (BodyKind::UntilClose, _, false) => write!(s, "body until the server closes"),
        (BodyKind::UntilClose, _, true) => write!(s, "{body_zh}一直到服务器关闭连接"),
        (_, _, false) => write!(s, "no body"),
        (_, _, true) => write!(s, "无{body_zh}"),
    };
    if m.first_frame != frame {
        let _ = if zh {
            write!(s, " · 由第 {}–{frame} 帧重组", m.first_frame)
        } else {
            write!(s, " · reassembled from frames {}–{frame}", m.first_frame)
        };
    }
    s
}
