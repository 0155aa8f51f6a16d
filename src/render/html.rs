//! `--html FILE`: one self-contained page — the ladder as SVG (an arrow per
//! packet, each with `data-frame="N"`) and, for the packet clicked (or
//! stepped to with ←/→, or named by `#frame=N`), its layers: the IP and
//! TCP/UDP headers drawn as the RFCs draw them with that packet's values, and
//! its bytes, where hovering a field lights up the bytes that hold it. A lab
//! run adds its steps between the packets (see `lab::html`).
//!
//! Plain `write!` with [`esc`] on every text, not a template crate: the page
//! is one SVG shape per packet and a fixed shell, and every text from a
//! capture goes through the one escaping function. Packet details go into
//! JSON that the inline script turns into the panel only for the packet shown.
//!
//! Large captures stay small and quick to open: bulk runs are folded as on
//! the terminal ladder ([`super::fold`]), their middle packets kept aside and
//! drawn when the group is clicked; and past the first [`Limits::eager`]
//! bytes of ladder, the ladder and details are cut into chunks stored as
//! deflate-compressed, base64 blocks that the browser inflates
//! (`DecompressionStream`) when a chunk scrolls into view or a packet in it is
//! asked for.

use super::fold::{is_bulk, BulkFold, Fed, Folded, Run};
use super::frame::{Dissection, Field};
use super::ladder::{tcp_label, Seconds, TextCache};
use super::term::{wrap, wrap_code};
use super::Renderer;
use crate::analyze::{Analyzer, Expert, FrameRecord, Proto};
use crate::decode::flags::{FIN, RST, SYN};
use crate::i18n::{current, either, tr, Lang};
use crate::source::{Frame, Timestamp};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Bytes of each frame kept for the hex dump (headers and the start of the data).
pub const BYTES_PER_FRAME: usize = 256;

/// How big the parts of a page may grow.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Ladder markup written plainly in the page (the rest is compressed).
    pub eager: usize,
    /// Ladder markup per compressed chunk.
    pub chunk: usize,
    /// Packets of a folded bulk run per block drawn on a click.
    pub group_block: usize,
    /// Arrows per SVG (a longer conversation continues in the next one).
    pub section_rows: usize,
    /// The page's size: past it, no more packets are drawn (the page says so).
    pub page: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { eager: 3 << 20, chunk: 256 << 10, group_block: 500, section_rows: 300, page: 30 << 20 }
    }
}

/// SVG geometry: the left and right lifelines, the page width.
const LX: f64 = 210.0;
const RX: f64 = 630.0;
const W: f64 = 760.0;
/// Columns of monospace text between the lifelines and across the page.
const ARROW_COLS: usize = 62;
const NOTE_COLS: usize = 100;
const LINE: f64 = 14.0;

/// HTML-escapes `s` for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    esc_into(&mut o, s);
    o
}

/// [`esc`], appended to `o`.
fn esc_into(o: &mut String, s: &str) {
    // Nearly every text needs nothing: one pass the compiler vectorises.
    let special = |b: u8| (b == b'&') | (b == b'<') | (b == b'>') | (b == b'"') | (b == b'\'');
    if !s.bytes().fold(false, |any, b| any | special(b)) {
        o.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let with = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        o.push_str(&s[start..i]);
        o.push_str(with);
        start = i + 1;
    }
    o.push_str(&s[start..]);
}

/// A coordinate as `f64`'s `Display` writes it, through `itoa` when it is
/// whole (the ladder's always are: its steps are whole pixels).
struct Px(f64);

impl Px {
    /// The coordinate as an integer when `Display` would write it as one.
    fn whole(&self) -> Option<i64> {
        let v = self.0;
        (v.fract() == 0.0 && v.abs() < 1e15 && !(v == 0.0 && v.is_sign_negative())).then_some(v as i64)
    }
}

impl std::fmt::Display for Px {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.whole() {
            Some(n) => f.write_str(itoa::Buffer::new().format(n)),
            None => std::fmt::Display::fmt(&self.0, f),
        }
    }
}

/// A piece of markup appended by [`put!`].
trait Piece {
    fn put(self, o: &mut String);
}

impl Piece for &str {
    fn put(self, o: &mut String) {
        o.push_str(self);
    }
}

impl Piece for Px {
    /// What `Display` writes, without the formatter.
    fn put(self, o: &mut String) {
        match self.whole() {
            Some(n) => o.push_str(itoa::Buffer::new().format(n)),
            None => {
                let _ = write!(o, "{}", self.0);
            }
        }
    }
}

impl Piece for u64 {
    fn put(self, o: &mut String) {
        o.push_str(itoa::Buffer::new().format(self));
    }
}

/// Appends each piece (a `&str`, a [`Px`], a `u64`) in turn: the markup of
/// every row, without the formatter's work per argument (`write!` with
/// coordinates was about a third of drawing a row).
macro_rules! put {
    ($o:expr, $($piece:expr),+ $(,)?) => {{
        let o: &mut String = $o;
        $( Piece::put($piece, o); )+
    }};
}

/// JSON for a `<script>` element: `<` escaped so no `</script>` (nor `<!--`)
/// from a capture's text can end the element. `<` only occurs inside JSON
/// strings, where `\u003c` means the same.
fn script_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into()).replace('<', "\\u003c")
}

/// What the panel needs of one frame, as a compact array: the fields'
/// names, widths and byte ranges are the frame's *shape*, stored once per
/// page; each frame has only its values. `HtmlRenderer::detail` writes this
/// JSON by hand; the type stays as its definition, which a test holds it to.
#[cfg(test)]
#[derive(Serialize)]
struct Detail<'a>(
    /// Frame number.
    u64,
    /// Seconds since the first frame.
    &'a str,
    /// Bytes captured.
    usize,
    /// Bytes on the wire.
    u32,
    /// Hex of the first bytes kept.
    &'a str,
    /// Where IP, the transport header and the payload start.
    Option<usize>,
    Option<usize>,
    Option<usize>,
    /// "a:p → b:q".
    &'a str,
    /// The shape's number.
    usize,
    /// The fields' values, in the shape's order.
    Vec<&'a str>,
    /// The sentences under the diagram.
    &'a [String],
);

/// The layout of a frame's headers: per field its key, label, width and bytes.
type ShapeField = (&'static str, &'static str, u8, usize, usize);

#[derive(Serialize, PartialEq, Eq, Hash, Clone)]
struct Shape {
    ip_name: &'static str,
    ip: Vec<ShapeField>,
    tr_name: &'static str,
    tr: Vec<ShapeField>,
}

/// A section of the ladder: one conversation's consecutive packets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Lanes {
    Tcp(u32),
    Udp(u32),
    Other,
}

struct Section {
    lanes: Lanes,
    head: std::rc::Rc<Head>,
    rows: String,
    count: usize,
    height: f64,
}

/// A section's heading and its endpoints' labels, as markup.
struct Head {
    title: String,
    ends: String,
}

/// Heads by conversation (and the client's side, which may become known
/// later): with many connections interleaved, nearly every packet starts a
/// section. Bounded like the ladder's caches.
#[derive(Default)]
struct Heads(rustc_hash::FxHashMap<(Lanes, Option<u8>), std::rc::Rc<Head>>);

impl Heads {
    const MAX: usize = 1024;

    fn get(&mut self, key: (Lanes, Option<u8>), make: impl FnOnce() -> Head) -> std::rc::Rc<Head> {
        if self.0.len() >= Self::MAX && !self.0.contains_key(&key) {
            self.0.clear();
        }
        std::rc::Rc::clone(self.0.entry(key).or_insert_with(|| std::rc::Rc::new(make())))
    }
}

/// One packet drawn: its SVG group, not yet placed on a ladder.
#[derive(Clone)]
struct Row {
    lanes: Lanes,
    frame: u64,
    height: f64,
    /// The `<g>`'s classes and content (the position is added when placed).
    class: String,
    body: String,
}

impl Row {
    /// Appends the packet's `<g>`, placed at `y`, to `out`.
    fn write_at(&self, out: &mut String, y: f64) {
        put!(
            out,
            "<g class=\"pkt ",
            self.class.as_str(),
            "\" data-frame=\"",
            self.frame,
            "\" transform=\"translate(0,",
            Px(y),
            ")\" tabindex=\"-1\"><rect class=\"hit\" x=\"0\" y=\"0\" width=\"",
            Px(W),
            "\" height=\"",
            Px(self.height),
            "\"/>",
        );
        out.push_str(&self.body);
        out.push_str("</g>");
    }
}

/// A packet on its way to the page: its analysis, its arrow and its details.
#[derive(Clone)]
struct Pending {
    rec: FrameRecord,
    row: Row,
    detail: String,
}

impl Folded for Pending {
    fn rec(&self) -> &FrameRecord {
        &self.rec
    }
}

/// Part of the ladder: markup and the details of its packets.
#[derive(Default)]
struct Chunk {
    html: String,
    details: Vec<String>,
    /// Their length, added up as they come (the page's size is asked per frame).
    details_bytes: usize,
    /// Frames it holds (including those of its folded groups).
    range: Option<(u64, u64)>,
    /// Its height, roughly, for the placeholder that stands for it.
    height: f64,
}

impl Chunk {
    fn holds(&mut self, first: u64, last: u64) {
        self.range = Some(match self.range {
            Some((a, b)) => (a.min(first), b.max(last)),
            None => (first, last),
        });
    }
}

/// A compressed chunk: a placeholder in the ladder until it is shown.
struct Lazy {
    blob: usize,
    range: (u64, u64),
    height: f64,
}

/// The middle of a folded bulk run, in blocks drawn on a click.
#[derive(Default)]
struct Group {
    /// Sealed blocks: blob and frames.
    blocks: Vec<(usize, u64, u64)>,
    rows: String,
    height: f64,
    details: Vec<String>,
    range: Option<(u64, u64)>,
    count: usize,
}

/// Collects the page while frames go by and writes it at the end.
pub struct HtmlRenderer<W: Write> {
    out: W,
    title: String,
    first_ts: Option<Timestamp>,
    limits: Limits,
    section: Option<Section>,
    chunk: Chunk,
    eager: Vec<Chunk>,
    eager_bytes: usize,
    lazy: Vec<Lazy>,
    blobs: Compressor,
    fold: BulkFold<Pending>,
    group: Option<Group>,
    shapes: rustc_hash::FxHashMap<Shape, usize>,
    /// Section heads already written.
    heads: Heads,
    /// Explanations, and other lines under arrows, already wrapped.
    wrapped_notes: TextCache,
    wrapped_code: TextCache,
    /// The last section's rows, emptied, for the next one.
    spare_rows: String,
    /// The shape of the frame before, and its number.
    last_shape: Option<(usize, Shape)>,
    /// Reused for every frame's fields.
    dissection: Dissection,
    /// Per stream: the expert flags already drawn (the fold's `shown`).
    shown: rustc_hash::FxHashMap<u32, u32>,
    seen: u64,
    drawn: u64,
    /// The page reached [`Limits::page`] at this frame.
    full: Option<u64>,
    /// Numbers as in the capture instead of relative ones.
    pub absolute: bool,
    /// Fold bulk runs as the terminal ladder does (`--every-packet` turns it off).
    pub group_bulk: bool,
    /// Blocks opened by [`Self::open`] and not closed: no chunk ends inside one.
    depth: usize,
}

impl<W: Write> HtmlRenderer<W> {
    /// A page titled after `title` (the capture or lab), written to `out` at the end.
    pub fn new(out: W, title: &str) -> Self {
        Self::with_limits(out, title, Limits::default())
    }

    /// The same, with other limits (tests use small ones).
    pub fn with_limits(out: W, title: &str, limits: Limits) -> Self {
        HtmlRenderer {
            out,
            title: title.to_string(),
            first_ts: None,
            limits,
            section: None,
            chunk: Chunk::default(),
            eager: Vec::new(),
            eager_bytes: 0,
            lazy: Vec::new(),
            blobs: Compressor::default(),
            fold: BulkFold::default(),
            group: None,
            shapes: Default::default(),
            heads: Heads::default(),
            wrapped_notes: TextCache::default(),
            wrapped_code: TextCache::default(),
            spare_rows: String::new(),
            last_shape: None,
            dissection: Dissection::default(),
            shown: Default::default(),
            seen: 0,
            drawn: 0,
            full: None,
            absolute: false,
            group_bulk: true,
            depth: 0,
        }
    }

    /// Ladder markup and details so far (the page's size, roughly).
    fn size(&mut self) -> usize {
        self.eager_bytes + self.blobs.bytes() + self.chunk.html.len() + self.chunk.details_bytes
    }

    fn close_section(&mut self) {
        let Some(s) = self.section.take() else { return };
        let h = s.height + 8.0;
        let c = &mut self.chunk;
        c.html.push_str("<section><h2>");
        c.html.push_str(&s.head.title);
        put!(
            &mut c.html,
            "</h2><svg class=\"ladder\" viewBox=\"0 0 ",
            Px(W),
            " ",
            Px(h),
            "\" width=\"",
            Px(W),
            "\" height=\"",
            Px(h),
            "\" role=\"img\">",
        );
        if s.lanes != Lanes::Other {
            c.html.push_str(&s.head.ends);
            write_lifelines(&mut c.html, 20.0, h);
        }
        c.html.push_str(&s.rows);
        c.html.push_str("</svg></section>\n");
        self.spare_rows = s.rows;
        c.height += h + 40.0;
        if c.html.len() >= self.limits.chunk && self.depth == 0 {
            self.cut_chunk();
        }
    }

    /// Ends the chunk being filled: kept plain while the page's plain part
    /// has room, compressed after that.
    fn cut_chunk(&mut self) {
        let c = std::mem::take(&mut self.chunk);
        if c.html.is_empty() && c.details.is_empty() {
            return;
        }
        let bytes = c.html.len() + c.details_bytes;
        if self.lazy.is_empty() && self.eager_bytes + bytes <= self.limits.eager {
            self.eager_bytes += bytes;
            self.eager.push(c);
            return;
        }
        let range = c.range.unwrap_or((0, 0));
        let blob = self.blob(c.html, c.details);
        self.lazy.push(Lazy { blob, range, height: c.height });
    }

    /// Stores `[details]` and `html` compressed (by the compressing
    /// thread, while the next chunk is drawn); returns its number.
    fn blob(&mut self, html: String, details: Vec<String>) -> usize {
        self.blobs.push(html, details)
    }

    fn open_lanes(&mut self, lanes: Lanes, analyzer: &Analyzer) {
        if let Some(s) = &self.section {
            if s.lanes == lanes && s.count < self.limits.section_rows {
                return;
            }
        }
        self.close_section();
        let client = match lanes {
            Lanes::Tcp(id) => analyzer.stream(id).and_then(|s| s.client),
            _ => None,
        };
        let head = self.heads.get((lanes, client), || {
            let (title, left, right) = match lanes {
                Lanes::Tcp(id) => {
                    let title = format!("{} {id}", tr("TCP stream", "TCP 流"));
                    match analyzer.stream(id) {
                        Some(s) => {
                            let (c, v) = (tr("(client)", "(客户端)"), tr("(server)", "(服务器)"));
                            let (ra, rb) = match s.client {
                                Some(0) => (c, v),
                                Some(_) => (v, c),
                                None => ("", ""),
                            };
                            (
                                title,
                                format!("{} {ra}", s.a).trim_end().into(),
                                format!("{} {rb}", s.b).trim_end().into(),
                            )
                        }
                        None => (title, String::new(), String::new()),
                    }
                }
                Lanes::Udp(id) => {
                    let title = format!("{} {id}", tr("UDP flow", "UDP 流"));
                    match analyzer.udp_flow(id) {
                        Some(f) => (title, f.a.to_string(), f.b.to_string()),
                        None => (title, String::new(), String::new()),
                    }
                }
                Lanes::Other => (tr("Other packets", "其他分组").to_string(), String::new(), String::new()),
            };
            let ends = format!(
                "<text class=\"ep\" x=\"{LX}\" y=\"14\" text-anchor=\"middle\">{}</text>\
                 <text class=\"ep\" x=\"{RX}\" y=\"14\" text-anchor=\"middle\">{}</text>",
                esc(&left),
                esc(&right),
            );
            Head { title: esc(&title), ends }
        });
        let mut rows = std::mem::take(&mut self.spare_rows);
        rows.clear();
        self.section = Some(Section { lanes, head, rows, count: 0, height: 26.0 });
    }

    /// One packet: an arrow (or, outside a conversation, a line of text)
    /// with the lines under it. `dir`: Some(true) rightwards.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        rec: &FrameRecord,
        lanes: Lanes,
        dir: Option<bool>,
        label: &str,
        class: &str,
        states: (Option<&str>, Option<&str>),
        details: &[(String, &str)],
    ) -> Row {
        let first = *self.first_ts.get_or_insert(rec.ts);
        let t = Seconds::new(rec.ts.nanos_since(first));
        let mut g = String::with_capacity(512);
        let mut y = 18.0;
        put!(
            &mut g,
            "<text class=\"num\" x=\"34\" y=\"",
            Px(y),
            "\" text-anchor=\"end\">",
            rec.frame,
            "</text><text class=\"time\" x=\"40\" y=\"",
            Px(y),
            "\">",
            t.as_str(),
            "</text>",
        );
        match dir {
            Some(right) => {
                let ay = y + 8.0;
                put!(
                    &mut g,
                    "<text class=\"lbl\" x=\"",
                    Px((LX + RX) / 2.0),
                    "\" y=\"",
                    Px(y),
                    "\" text-anchor=\"middle\">",
                );
                esc_into(&mut g, label);
                g.push_str("</text>");
                if rec.wire.is_some_and(|w| w.action == crate::source::wire::spec::Action::Drop) {
                    // Lost on the lab wire: the arrow stops two thirds of the way, at ✗.
                    let (x1, x2) = if right { (LX, LX + (RX - LX) * 0.65) } else { (RX, RX - (RX - LX) * 0.65) };
                    let _ = write!(
                        g,
                        "<line class=\"shaft lost\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"lostx\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">✗</text>",
                        Px(x1),
                        Px(ay),
                        Px(x2),
                        Px(ay),
                        Px(x2),
                        Px(ay + 5.0)
                    );
                } else {
                    put!(&mut g, "<use href=\"#", if right { "ar" } else { "al" }, "\" y=\"", Px(ay), "\"/>");
                }
                for (text, x, anchor) in [(states.0, LX - 8.0, "end"), (states.1, RX + 8.0, "start")] {
                    if let Some(st) = text {
                        put!(
                            &mut g,
                            "<circle class=\"st\" cx=\"",
                            Px(if anchor == "end" { LX } else { RX }),
                            "\" cy=\"",
                            Px(ay),
                            "\" r=\"3.5\"/><text class=\"state\" x=\"",
                            Px(x),
                            "\" y=\"",
                            Px(ay + 4.0),
                            "\" text-anchor=\"",
                            anchor,
                            "\">",
                        );
                        esc_into(&mut g, st);
                        g.push_str("</text>");
                    }
                }
                y = ay + 6.0;
            }
            None => {
                put!(&mut g, "<text class=\"lbl\" x=\"", Px(LX - 100.0), "\" y=\"", Px(y), "\">");
                esc_into(&mut g, label);
                g.push_str("</text>");
                y += 4.0;
            }
        }
        for (text, cls) in details {
            let note = *cls == "note";
            let (x, width) = if note { (40.0, NOTE_COLS) } else { (LX + 10.0, ARROW_COLS) };
            // Payload lines are seldom the same twice; causes and explanations often are.
            let fresh;
            let lines: &[String] = match *cls {
                "note" => self.wrapped_notes.get_or_insert_with(text, || wrap(text, width)),
                "payload" => {
                    fresh = wrap_code(text, width);
                    &fresh
                }
                _ => self.wrapped_code.get_or_insert_with(text, || wrap_code(text, width)),
            };
            for (i, line) in lines.iter().enumerate() {
                y += LINE;
                let mark = if note && i == 0 {
                    "ℹ "
                } else if note {
                    "\u{2003}"
                } else {
                    ""
                };
                put!(&mut g, "<text class=\"", *cls, "\" x=\"", Px(x), "\" y=\"", Px(y), "\">", mark);
                esc_into(&mut g, line);
                g.push_str("</text>");
            }
        }
        Row { lanes, frame: rec.frame, height: y + 8.0, class: class.to_string(), body: g }
    }

    /// Puts a drawn packet on the ladder.
    fn place(&mut self, p: Pending, analyzer: &Analyzer) {
        if let Some(t) = &p.rec.tcp {
            *self.shown.entry(t.stream).or_default() |= t.expert.0;
        }
        self.open_lanes(p.row.lanes, analyzer);
        let s = self.section.as_mut().expect("open_lanes() opened a section");
        p.row.write_at(&mut s.rows, s.height);
        s.height += p.row.height;
        s.count += 1;
        self.chunk.details_bytes += p.detail.len();
        self.chunk.details.push(p.detail);
        self.chunk.holds(p.row.frame, p.row.frame);
    }

    /// A packet of a folded run's middle: into the group's current block.
    fn group_add(&mut self, p: Pending) {
        let g = self.group.get_or_insert_with(Group::default);
        p.row.write_at(&mut g.rows, g.height);
        g.height += p.row.height;
        g.details.push(p.detail);
        g.count += 1;
        let n = p.row.frame;
        g.range = Some(g.range.map_or((n, n), |(a, _)| (a, n)));
        if g.count >= self.limits.group_block {
            self.seal_group_block();
        }
    }

    fn seal_group_block(&mut self) {
        let Some(g) = self.group.as_mut() else { return };
        let Some((first, last)) = g.range.take() else { return };
        let h = g.height + 8.0;
        let html = format!(
            "<svg class=\"ladder\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\">{}{}</svg>",
            lifelines(0.0, h),
            std::mem::take(&mut g.rows)
        );
        let details = std::mem::take(&mut g.details);
        g.height = 0.0;
        g.count = 0;
        let blob = self.blob(html, details);
        if let Some(g) = self.group.as_mut() {
            g.blocks.push((blob, first, last));
        }
    }

    /// A bulk run that ended: its first packets, its middle as one line (a
    /// button draws its packets), its last packets.
    fn place_run(&mut self, run: Run<Pending>, analyzer: &Analyzer) {
        for p in run.head {
            self.place(p, analyzer);
        }
        if let Some(m) = run.middle {
            if let Some(few) = m.few() {
                self.group = None;
                for p in few.iter().cloned() {
                    self.place(p, analyzer);
                }
            } else {
                self.seal_group_block();
                let blocks = self.group.take().map(|g| g.blocks).unwrap_or_default();
                let text = m.text(analyzer);
                let ids: Vec<String> = blocks.iter().map(|(b, ..)| b.to_string()).collect();
                let ranges: Vec<String> = blocks.iter().map(|(_, a, b)| format!("{a}-{b}")).collect();
                let button =
                    either(format!("draw these {} packets", m.packets()), format!("画出这 {} 个分组", m.packets()));
                let html = format!(
                    "<div class=\"grp\" data-blobs=\"{}\" data-ranges=\"{}\"><p>{}</p><button type=\"button\">{}</button></div>\n",
                    ids.join(" "),
                    ranges.join(" "),
                    esc(&text),
                    esc(&button)
                );
                self.block(&html);
                self.chunk.holds(m.first.frame, m.last.frame);
                self.chunk.height += 60.0;
            }
        }
        for p in run.tail {
            self.place(p, analyzer);
        }
    }

    /// Ends the bulk run being folded (before anything else is shown).
    pub fn end_run(&mut self, analyzer: &Analyzer) {
        if let Some(run) = self.fold.end() {
            self.place_run(run, analyzer);
        }
    }

    /// Markup between the packets (a lab's steps), already escaped.
    pub fn block(&mut self, html: &str) {
        self.close_section();
        self.chunk.html.push_str(html);
    }

    /// The last [`Self::block`] left an element open: the packets that
    /// follow go inside it, and the page is not cut into chunks there.
    pub fn open(&mut self) {
        self.depth += 1;
    }

    /// The element of the matching [`Self::open`] was closed by a block.
    pub fn close_open(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn draw(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> Row {
        if let Some(t) = &rec.tcp {
            let expert = !t.expert.is_empty() && !t.expert.has(Expert::WINDOW_UPDATE);
            let class = if t.flags & RST != 0 {
                "rst"
            } else if t.flags & SYN != 0 {
                "syn"
            } else if t.flags & FIN != 0 {
                "fin"
            } else if t.len > 0 {
                "data"
            } else {
                "quiet"
            };
            let class = if expert { format!("{class} expert") } else { class.to_string() };
            let right = t.dir == 0;
            let src = (t.state_src != t.before_src).then(|| t.state_src.name());
            let dst = (t.state_dst != t.before_dst).then(|| t.state_dst.name());
            let states = if right { (src, dst) } else { (dst, src) };
            let mut details: Vec<(String, &str)> = Vec::new();
            if let Some(w) = rec.wire {
                details.push((super::ladder::wire_text(w), "flag"));
            }
            let mut first = Vec::new();
            if let Some(c) = rec.cause {
                first.push(c.text().to_string());
            }
            let mut opts = Vec::new();
            opts.extend(t.mss.map(|m| format!("MSS={m}")));
            opts.extend(t.wscale.map(|w| format!("WS=×{}", 1u32 << w.min(14))));
            if t.sack_permitted {
                opts.push("SACK_PERM".into());
            }
            if t.timestamps && t.flags & SYN != 0 {
                opts.push("TS".into());
            }
            if t.sack_blocks > 0 {
                opts.push(format!("SACK×{}", t.sack_blocks));
            }
            if !opts.is_empty() {
                first.push(opts.join(" "));
            }
            if !first.is_empty() {
                details.push((first.join(" · "), "cause"));
            }
            self.payload_lines(rec, &mut details);
            let flags: Vec<_> = t.expert.names().filter(|n| *n != "reused_ports").collect();
            if !flags.is_empty() {
                let mut s = format!("[{}]", flags.join(", ").replace('_', " "));
                if t.dupack_num > 0 {
                    s.push_str(&format!(" #{}", t.dupack_num));
                }
                details.push((s, "flag"));
            }
            self.explanations(rec, &mut details);
            let label = tcp_label(t, self.absolute);
            return self.row(rec, Lanes::Tcp(t.stream), Some(right), &label, &class, states, &details);
        }
        if let Some(u) = &rec.udp {
            let mut details: Vec<(String, &str)> = Vec::new();
            if let Some(w) = rec.wire {
                details.push((super::ladder::wire_text(w), "flag"));
            }
            if let Some(c) = rec.cause {
                details.push((c.text().to_string(), "cause"));
            }
            if let Some(d) = &u.dns {
                details.push((super::ladder::dns_line(d), "cause"));
            }
            self.payload_lines(rec, &mut details);
            self.explanations(rec, &mut details);
            let label = format!("UDP len={}", u.len);
            return if analyzer.udp_flow(u.stream).is_some() {
                self.row(rec, Lanes::Udp(u.stream), Some(u.dir == 0), &label, "data", (None, None), &details)
            } else {
                self.row(rec, Lanes::Other, None, &label, "data", (None, None), &details)
            };
        }
        let mut details: Vec<(String, &str)> = Vec::new();
        if let Some(c) = rec.cause {
            details.push((c.text().to_string(), "cause"));
        }
        self.explanations(rec, &mut details);
        if let Some(i) = &rec.icmp {
            let label = format!(
                "{} {} (type {} code {})",
                if i.msg.v6 { "ICMPv6" } else { "ICMP" },
                super::ladder::icmp_name(&i.msg),
                i.msg.icmp_type,
                i.msg.code
            );
            let class = if i.msg.quoted.is_some() { "rst" } else { "data" };
            return if let Some(flow) = i.udp_stream.and_then(|id| analyzer.udp_flow(id)) {
                let right = rec.src != Some(flow.b.ip());
                self.row(rec, Lanes::Udp(flow.id), Some(right), &label, class, (None, None), &details)
            } else {
                let ends = format!("{label}  {} → {}", opt(rec.src), opt(rec.dst));
                self.row(rec, Lanes::Other, None, &ends, class, (None, None), &details)
            };
        }
        let text = match (rec.non_ip, rec.proto) {
            (Some(crate::decode::NonIp::UnsupportedLink), _) => {
                let (name, n) = (rec.link.name(), rec.link.0);
                either(format!("(link type {name} ({n}) not decoded)"), format!("（链路类型 {name} ({n}) 未解码）"))
            }
            (Some(crate::decode::NonIp::Truncated), _) => {
                tr("(frame too short for its headers)", "（帧太短，放不下它的首部）").to_string()
            }
            (Some(crate::decode::NonIp::NotIp), _) => {
                tr("(not IP: ARP or other link-layer traffic)", "（不是 IP：ARP 或其他链路层流量）").to_string()
            }
            (None, Proto::Other) => either(
                format!("IP {} → {} (not TCP/UDP/ICMP)", opt(rec.src), opt(rec.dst)),
                format!("IP {} → {}（不是 TCP/UDP/ICMP）", opt(rec.src), opt(rec.dst)),
            ),
            _ => String::new(),
        };
        self.row(rec, Lanes::Other, None, &text, "quiet", (None, None), &details)
    }

    fn payload_lines(&self, rec: &FrameRecord, details: &mut Vec<(String, &str)>) {
        if let Some(p) = &rec.payload {
            let cut = tr("…(cut by snaplen)", "…（被 snaplen 截断）");
            for l in super::payload::preview_lines(p, cut, ARROW_COLS) {
                details.push((l, "payload"));
            }
        }
        if let Some(m) = rec.http.as_deref() {
            details.push((super::ladder::http_summary(m, rec.frame), "cause"));
        }
    }

    fn explanations(&self, rec: &FrameRecord, details: &mut Vec<(String, &str)>) {
        for e in rec.explain.iter().flatten() {
            details.push((e.text().into_owned(), "note"));
        }
    }

    /// The packet's entry in the details: the JSON of [`Detail`], written by
    /// hand into one buffer (a test holds it equal to serde_json's).
    fn detail(&mut self, frame: &Frame<'_>, rec: &FrameRecord) -> String {
        use super::jsonl::{json_string, write_ip, write_socket_addr};
        let mut d = std::mem::take(&mut self.dissection);
        d.refill(frame, rec);
        let first = *self.first_ts.get_or_insert(rec.ts);
        let (ip_name, tr_name, fields) = d.names();
        let shape = self.shape_of(ip_name, &d.ip, tr_name, fields);
        let mut b = Vec::with_capacity(1024);
        let int = |b: &mut Vec<u8>, n: u64| b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        let opt = |b: &mut Vec<u8>, n: Option<usize>| match n {
            Some(n) => b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            None => b.extend_from_slice(b"null"),
        };
        b.push(b'[');
        int(&mut b, rec.frame);
        b.extend_from_slice(b",\"");
        b.extend_from_slice(Seconds::new(rec.ts.nanos_since(first)).as_str().as_bytes());
        b.extend_from_slice(b"\",");
        int(&mut b, frame.data.len() as u64);
        b.push(b',');
        int(&mut b, u64::from(frame.orig_len));
        b.extend_from_slice(b",\"");
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for &x in &frame.data[..frame.data.len().min(BYTES_PER_FRAME)] {
            b.extend_from_slice(&[DIGITS[usize::from(x >> 4)], DIGITS[usize::from(x & 0xf)]]);
        }
        b.extend_from_slice(b"\",");
        for at in [d.ip_at, d.transport_at, d.payload_at] {
            opt(&mut b, at);
            b.push(b',');
        }
        // Addresses and ports need no escaping.
        b.push(b'"');
        if let (Some(s), Some(t)) = (rec.src, rec.dst) {
            let (arrow, sa) = (" → ".as_bytes(), std::net::SocketAddr::new);
            match rec.sport.zip(rec.dport) {
                Some((a, p)) => {
                    write_socket_addr(&mut b, sa(s, a));
                    b.extend_from_slice(arrow);
                    write_socket_addr(&mut b, sa(t, p));
                }
                None => {
                    write_ip(&mut b, s);
                    b.extend_from_slice(arrow);
                    write_ip(&mut b, t);
                }
            }
        }
        b.extend_from_slice(b"\",");
        int(&mut b, shape as u64);
        b.extend_from_slice(b",[");
        for (i, f) in d.ip.iter().chain(fields).enumerate() {
            if i > 0 {
                b.push(b',');
            }
            json_string(&mut b, &f.value);
        }
        b.extend_from_slice(b"],[");
        for (i, n) in d.notes.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            json_string(&mut b, n);
        }
        b.extend_from_slice(b"]]");
        self.dissection = d;
        let json = String::from_utf8(b).unwrap_or_default();
        // As in script_json: no `</script>` from a capture's text.
        if json.contains('<') {
            json.replace('<', "\\u003c")
        } else {
            json
        }
    }

    /// The number of the frame's shape: the last one's when it is the same
    /// (nearly always), else looked up or added.
    fn shape_of(&mut self, ip_name: &'static str, ip: &[Field], tr_name: &'static str, tr: &[Field]) -> usize {
        let layout = |f: &Field| (f.key, f.label, f.bits, f.start, f.end);
        let same = |s: &Shape| {
            s.ip_name == ip_name
                && s.tr_name == tr_name
                && s.ip.iter().copied().eq(ip.iter().map(layout))
                && s.tr.iter().copied().eq(tr.iter().map(layout))
        };
        if let Some(&(n, ref s)) = self.last_shape.as_ref() {
            if same(s) {
                return n;
            }
        }
        let shape =
            Shape { ip_name, ip: ip.iter().map(layout).collect(), tr_name, tr: tr.iter().map(layout).collect() };
        let next = self.shapes.len();
        let n = *self.shapes.entry(shape.clone()).or_insert(next);
        self.last_shape = Some((n, shape));
        n
    }

    fn ui() -> String {
        let pairs = [
            ("frame", tr("frame", "帧")),
            ("captured", tr("bytes captured", "字节已捕获")),
            ("wire", tr("on the wire", "字节在线路上")),
            (
                "bytes",
                tr("bytes (link · IP · transport · payload, by colour)", "字节（按颜色：链路 · IP · 传输层 · 数据）"),
            ),
            ("kept", tr("bytes shown of", "字节，共")),
            ("nobytes", tr("(bytes not included in this page)", "（本页未包含这些字节）")),
            ("noheader", tr("(no TCP or UDP header to draw)", "（没有可画的 TCP 或 UDP 首部）")),
            ("hint", tr("Hover a field to light up its bytes.", "鼠标悬停在字段上，会高亮它的字节。")),
            ("notdrawn", tr("is not drawn in this page", "没有画在本页中")),
            ("loading", tr("loading…", "正在载入…")),
            (
                "nocompress",
                tr(
                    "This browser cannot inflate the page's compressed parts (DecompressionStream).",
                    "这个浏览器不能解压本页的压缩部分（DecompressionStream）。",
                ),
            ),
        ];
        let map: std::collections::BTreeMap<&str, &str> = pairs.into_iter().collect();
        script_json(&map)
    }
}

/// Compresses the page's blocks on a thread of its own: base64 of
/// deflate-compressed `[details]` (JSON, one line), a line break, and the
/// markup as it is (no JSON string to escape it into), in order.
///
/// The page's size decides how many packets it draws, so it must not depend
/// on how far the thread has got: the last [`IN_FLIGHT`] blocks count by an
/// estimate, every earlier one by its real size, which the thread has always
/// reported by then (the channel holds at most `IN_FLIGHT - 1` blocks).
#[derive(Default)]
struct Compressor {
    tx: Option<std::sync::mpsc::SyncSender<(String, Vec<String>)>>,
    sizes: Option<std::sync::mpsc::Receiver<usize>>,
    /// Blocks compressed, back to be freed here, where they were made:
    /// glibc's free of another thread's block takes that thread's arena
    /// lock, and the threads waited on it some 7,500 times a page (strace).
    spent: Option<std::sync::mpsc::Receiver<(String, Vec<String>)>>,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
    /// Real sizes of the first blocks, added up, and how many.
    settled: usize,
    settled_count: usize,
    /// Estimates of the blocks after those: an eighth of the text (deflate's
    /// usual ratio here, base64 included).
    guesses: std::collections::VecDeque<usize>,
    count: usize,
}

/// libdeflate's level: at 6 the blocks are as small as miniz_oxide's level 6 made
/// them, in 42 % of miniz_oxide's time (see docs/crates.md).
const DEFLATE_LEVEL: i32 = 6;

/// Blocks counted by an estimate: the channel's room and the one being compressed.
const IN_FLIGHT: usize = 5;

impl Compressor {
    fn push(&mut self, html: String, details: Vec<String>) -> usize {
        let text = html.len() + details.iter().map(|d| d.len() + 1).sum::<usize>();
        self.guesses.push_back(text / 8);
        if self.tx.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(String, Vec<String>)>(IN_FLIGHT - 1);
            let (sizes_tx, sizes_rx) = std::sync::mpsc::channel();
            let (spent_tx, spent_rx) = std::sync::mpsc::channel();
            self.thread = Some(std::thread::spawn(move || {
                let mut out = Vec::new();
                let mut json = Vec::new();
                let mut packed = Vec::new();
                let level = libdeflater::CompressionLvl::new(DEFLATE_LEVEL).unwrap_or_default();
                let mut deflater = libdeflater::Compressor::new(level);
                for (html, details) in rx {
                    // The block is put together here too, off the thread that draws.
                    json.clear();
                    json.push(b'[');
                    for (i, d) in details.iter().enumerate() {
                        if i > 0 {
                            json.push(b',');
                        }
                        json.extend_from_slice(d.as_bytes());
                    }
                    // The details' JSON has no raw line break: the first one ends it.
                    json.extend_from_slice(b"]\n");
                    json.extend_from_slice(html.as_bytes());
                    // zlib (RFC 1950): what DecompressionStream('deflate') reads.
                    packed.resize(deflater.zlib_compress_bound(json.len()), 0);
                    let n = deflater.zlib_compress(&json, &mut packed).unwrap_or(0);
                    // Standard base64 (RFC 4648) with padding: what the page's atob() reads.
                    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &packed[..n]);
                    let _ = sizes_tx.send(b64.len());
                    out.push(b64);
                    let _ = spent_tx.send((html, details));
                }
                out
            }));
            self.tx = Some(tx);
            self.sizes = Some(sizes_rx);
            self.spent = Some(spent_rx);
        }
        if let Some(spent) = &self.spent {
            spent.try_iter().for_each(drop);
        }
        // The thread ends only when the sender is dropped, so this cannot fail.
        let _ = self.tx.as_ref().map(|tx| tx.send((html, details)));
        self.count += 1;
        self.count - 1
    }

    /// The compressed size: real for all blocks but the last [`IN_FLIGHT`].
    fn bytes(&mut self) -> usize {
        while self.count - self.settled_count > IN_FLIGHT {
            // Reported before the thread took the block that freed the channel's room.
            match self.sizes.as_ref().map(|r| r.recv()) {
                Some(Ok(n)) => self.settled += n,
                // The thread died (a panic): its estimate stands.
                _ => self.settled += self.guesses.front().copied().unwrap_or(0),
            }
            self.settled_count += 1;
            self.guesses.pop_front();
        }
        self.settled + self.guesses.iter().sum::<usize>()
    }

    /// Every block, in order (waits for the thread).
    fn finish(&mut self) -> Vec<String> {
        self.tx = None;
        let blocks = self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default();
        // A block lost to a panic would leave its placeholder empty: pad, so numbers match.
        let mut blocks = blocks;
        blocks.resize(self.count, String::new());
        blocks
    }
}

/// The two lifelines from `y1` to `y2`.
fn lifelines(y1: f64, y2: f64) -> String {
    let mut s = String::new();
    write_lifelines(&mut s, y1, y2);
    s
}

/// [`lifelines`], appended to `out`.
fn write_lifelines(out: &mut String, y1: f64, y2: f64) {
    for x in [LX, RX] {
        put!(
            out,
            "<line class=\"life\" x1=\"",
            Px(x),
            "\" y1=\"",
            Px(y1),
            "\" x2=\"",
            Px(x),
            "\" y2=\"",
            Px(y2),
            "\"/>"
        );
    }
}

fn opt(a: Option<std::net::IpAddr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

impl<W: Write> Renderer for HtmlRenderer<W> {
    fn frame(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        // Without bytes (a caller that has none): the arrow and the header from the record only.
        let frame = Frame { number: rec.frame, ts: rec.ts, link: rec.link, data: &[], orig_len: 0, comment: None };
        self.frame_bytes(&frame, rec, analyzer)
    }

    fn frame_bytes(&mut self, frame: &Frame<'_>, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        self.seen += 1;
        if self.full.is_some() {
            return Ok(());
        }
        if self.size() > self.limits.page {
            self.full = Some(rec.frame);
            return Ok(());
        }
        self.drawn += 1;
        let row = self.draw(rec, analyzer);
        let detail = self.detail(frame, rec);
        let shown = rec.tcp.and_then(|t| self.shown.get(&t.stream).copied()).unwrap_or(0);
        let bulk = self.group_bulk && is_bulk(rec, shown);
        match self.fold.feed(Pending { rec: rec.clone(), row, detail }, bulk) {
            Fed::Draw(ended, p) => {
                if let Some(run) = ended {
                    self.place_run(run, analyzer);
                }
                self.place(p, analyzer);
            }
            Fed::Held { ended, spilled } => {
                if let Some(run) = ended {
                    self.place_run(run, analyzer);
                }
                if let Some(p) = spilled {
                    self.group_add(p);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        self.end_run(analyzer);
        self.close_section();
        self.cut_chunk();
        let lang = if current() == Lang::Zh { "zh-CN" } else { "en" };
        let mut notes = Vec::new();
        if let Some(n) = self.full {
            notes.push(either(
                format!(
                    "Only the first {} of {} packets are drawn (from frame {n} on, the page would be too large to open quickly); the terminal ladder shows them all.",
                    self.drawn, self.seen
                ),
                format!("{} 个分组中只画出了前 {} 个（从第 {n} 帧起页面会大到难以打开）；终端里的梯形图会显示全部。", self.seen, self.drawn),
            ));
        }
        let title = format!("wirelab — {}", self.title);
        let help = tr(
            "Click a packet (or press ← / →) to see its headers and bytes.",
            "点击一个分组（或按 ← / →）查看它的首部和字节。",
        );
        let counts = either(format!("{} packets", self.seen), format!("{} 个分组", self.seen));
        let out = &mut self.out;
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{CSS}</style></head>\n<body>\
             <svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>\
             <g id=\"ar\"><line class=\"shaft\" x1=\"{LX}\" y1=\"0\" x2=\"{}\" y2=\"0\"/><polygon class=\"head\" points=\"{RX},0 {},-4.5 {},4.5\"/></g>\
             <g id=\"al\"><line class=\"shaft\" x1=\"{RX}\" y1=\"0\" x2=\"{}\" y2=\"0\"/><polygon class=\"head\" points=\"{LX},0 {},-4.5 {},4.5\"/></g>\
             </defs></svg>\
             <header><h1>{}</h1><p>{} · {}</p>",
            esc(&title),
            RX - 8.0,
            RX - 9.0,
            RX - 9.0,
            LX + 8.0,
            LX + 9.0,
            LX + 9.0,
            esc(&title),
            esc(&counts),
            esc(help)
        )?;
        for n in &notes {
            write!(out, "<p class=\"limit\">{}</p>", esc(n))?;
        }
        writeln!(out, "</header><main><div id=\"ladder\">")?;
        for c in &self.eager {
            out.write_all(c.html.as_bytes())?;
        }
        for l in &self.lazy {
            writeln!(
                out,
                "<div class=\"lazy\" data-blob=\"{}\" data-first=\"{}\" data-last=\"{}\" style=\"height:{:.0}px\"></div>",
                l.blob, l.range.0, l.range.1, l.height
            )?;
        }
        writeln!(out, "</div><aside id=\"panel\"><p class=\"hint\">{}</p></aside></main>", esc(help))?;
        writeln!(out, "<script type=\"application/json\" id=\"ui\">{}</script>", Self::ui())?;
        let mut shapes: Vec<(&Shape, &usize)> = self.shapes.iter().collect();
        shapes.sort_by_key(|(_, n)| **n);
        let shapes: Vec<&Shape> = shapes.into_iter().map(|(s, _)| s).collect();
        writeln!(out, "<script type=\"application/json\" id=\"shapes\">{}</script>", script_json(&shapes))?;
        out.write_all(b"<script type=\"application/json\" id=\"frames\">[")?;
        let mut first = true;
        for d in self.eager.iter().flat_map(|c| &c.details) {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            out.write_all(d.as_bytes())?;
        }
        out.write_all(b"]</script>\n")?;
        for (i, b) in self.blobs.finish().iter().enumerate() {
            writeln!(out, "<script type=\"application/x-wirelab-deflate\" id=\"z{i}\">{b}</script>")?;
        }
        writeln!(out, "<script>{JS}</script>\n</body></html>")?;
        out.flush()
    }
}

const CSS: &str = r#"
:root{--fg:#1b1f24;--muted:#6a737d;--syn:#1a7f37;--fin:#0550ae;--rst:#cf222e;--data:#1b1f24;--state:#8250df;--note:#0a6b74;--sel:#fff4c2}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:var(--fg);background:#fff}
header{padding:10px 16px;border-bottom:1px solid #d0d7de}
h1{font-size:18px;margin:0 0 4px}
header p{margin:2px 0;color:var(--muted)}
.limit{color:var(--rst)!important}
main{display:grid;grid-template-columns:minmax(0,1fr) 540px;align-items:start}
#ladder{padding:0 8px 40px 16px;overflow-x:auto}
h2{font-size:15px;margin:14px 0 2px}
svg.ladder{display:block;max-width:100%;height:auto;font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono","Noto Sans Mono CJK SC",monospace;font-size:11px}
.ep{font-weight:600;font-size:12px;fill:var(--fg)}
.life{stroke:#afb8c1;stroke-width:1.5}
.hit{fill:transparent}
.pkt{cursor:pointer}
.pkt:hover .hit{fill:#f3f6f9}
.pkt.sel .hit{fill:var(--sel)}
.num{fill:var(--fg);font-weight:600}
.time{fill:var(--muted)}
.lbl{fill:currentColor;font-size:12px}
.shaft{stroke:currentColor;stroke-width:1.6}
.shaft.lost{stroke:#c0392b;stroke-dasharray:5 3}.lostx{fill:#c0392b;font-weight:bold;font-size:15px}
.head{fill:currentColor}
.syn{color:var(--syn)}.fin{color:var(--fin)}.rst{color:var(--rst)}.data{color:var(--data)}.quiet{color:var(--muted)}
.expert{color:var(--rst)}
.expert .lbl{font-weight:700}
.st{fill:var(--state)}
.state{fill:var(--state);font-weight:700}
.cause{fill:#57606a}
.payload{fill:#953800}
.flag{fill:var(--rst);font-weight:700}
.note{fill:var(--note);font-family:system-ui,"Noto Sans","Noto Sans CJK SC",sans-serif;font-size:12px}
#panel{position:sticky;top:0;max-height:100vh;overflow:auto;padding:10px 14px;border-left:1px solid #d0d7de;background:#fafbfc}
#panel h3{font-size:15px;margin:4px 0}
#panel h4{font-size:13px;margin:12px 0 4px}
#panel p{margin:2px 0}
.hint{color:var(--muted)}
.rfc{display:grid;grid-template-columns:repeat(32,1fr);border-left:1px solid #8c959f;border-top:1px solid #8c959f;font-size:11px;background:#fff}
.rfc div{border-right:1px solid #8c959f;border-bottom:1px solid #8c959f;text-align:center;padding:2px 1px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.rfc .bitno{font-size:9px;color:var(--muted);background:#f6f8fa;padding:0}
.rfc .f{cursor:default}
.rfc .f small{display:block;color:var(--muted);font-size:10px}
.rfc .f b{font-family:ui-monospace,Menlo,Consolas,monospace}
.rfc .on{background:#dafbe1}
.rfc .f.hl,.hex .hl{background:#ffd33d!important}
.notes{font-size:12px;margin:6px 0;padding-left:18px}
.hex{font:11.5px/1.5 ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;white-space:pre;background:#fff;border:1px solid #d0d7de;padding:4px 6px}
.hex span{border-radius:2px}
.hex .L0{color:#8c959f}.hex .L1{color:#8250df}.hex .L2{color:#0550ae}.hex .L3{color:#953800}
.off{color:var(--muted)}
.lazy{background:repeating-linear-gradient(180deg,#fff 0,#fff 38px,#f6f8fa 38px,#f6f8fa 40px)}
.grp{margin:6px 0 6px 40px;padding:6px 10px;border-left:3px solid #afb8c1;background:#f6f8fa;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.grp p{margin:0 0 4px}
.grp button{font:inherit;cursor:pointer}
.grp svg.ladder{margin-left:-50px}
.lab{margin:10px 0;padding:8px 12px;border:1px solid #d0d7de;border-radius:6px;background:#fff}
.lab h2{margin:0 0 4px}
.lab p,.lab li{margin:2px 0}
.lab ul{list-style:none;padding-left:0;margin:4px 0}
.lab .call{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600}
.lab .say{color:var(--note)}
.lab .ok{color:var(--syn)}.lab .bad{color:var(--rst)}.lab .warn{color:#9a6700}
.lab table{border-collapse:collapse;font:12px ui-monospace,Menlo,Consolas,monospace;margin:4px 0}
.lab td,.lab th{border:1px solid #d0d7de;padding:2px 6px;text-align:left}
.lab th{background:#f6f8fa}
.lab .quiz{border-left:3px solid #9a6700;padding-left:8px}
.lab.goal{background:#f6f8fa}
"#;

const JS: &str = r#"
(function(){
'use strict';
var ui=JSON.parse(document.getElementById('ui').textContent);
var byNum={};
var shapes=JSON.parse(document.getElementById('shapes').textContent);
// A frame's compact details (see Detail in html.rs) with its shape's layout.
function expandDetail(a){
  var sh=shapes[a[9]]||{ip:[],tr:[],ip_name:'',tr_name:''};var v=a[10];
  function fields(list,off){return list.map(function(x,i){return {key:x[0],label:x[1],bits:x[2],start:x[3],end:x[4],value:v[off+i]};});}
  return {n:a[0],time:a[1],captured:a[2],wire:a[3],hex:a[4],kept:a[4].length/2,ip_at:a[5],tr_at:a[6],pl_at:a[7],summary:a[8],
    ip_name:sh.ip_name,ip:fields(sh.ip,0),tr_name:sh.tr_name,tr:fields(sh.tr,sh.ip.length),notes:a[11]};
}
function addDetails(list){list.forEach(function(a){byNum[a[0]]=a;});}
addDetails(JSON.parse(document.getElementById('frames').textContent));
var ladder=document.getElementById('ladder');
var panel=document.getElementById('panel');
var current=null;
var blobs={};
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;return e;}
function arrows(){return Array.prototype.slice.call(ladder.querySelectorAll('[data-frame]'));}
// A compressed block: the details' JSON on the first line, the markup after it; inflated once.
function inflate(id){
  if(blobs[id])return blobs[id];
  var src=document.getElementById('z'+id);
  if(!src||typeof DecompressionStream==='undefined'){panel.textContent='';panel.appendChild(el('p','limit',ui.nocompress));return Promise.resolve(null);}
  var bin=atob(src.textContent.trim());var u=new Uint8Array(bin.length);
  for(var i=0;i<bin.length;i++)u[i]=bin.charCodeAt(i);
  blobs[id]=new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream('deflate'))).text().then(function(t){
    var n=t.indexOf('\n');var o={d:JSON.parse(t.slice(0,n)),h:t.slice(n+1)};addDetails(o.d);return o;});
  return blobs[id];
}
function loadChunk(ph){
  if(ph._loading)return ph._loading;
  ph._loading=inflate(+ph.getAttribute('data-blob')).then(function(o){
    if(!o||!ph.parentNode)return;
    var d=document.createElement('div');d.className='chunk';d.innerHTML=o.h;
    ph.parentNode.replaceChild(d,ph);
  });
  return ph._loading;
}
// A block of a folded run's packets: the next one, or the one holding frame n
// (the blocks skipped stay as buttons of their own).
function expand(g,n){
  var ids=g.getAttribute('data-blobs').split(' '),rs=g.getAttribute('data-ranges').split(' ');
  var next=+(g.getAttribute('data-next')||0),k=next;
  if(next>=ids.length)return Promise.resolve();
  if(n!=null)for(var i=next;i<rs.length;i++){var ab=rs[i].split('-');if(within(n,+ab[0],+ab[1])){k=i;break;}}
  var skipped='';
  for(var j=next;j<k;j++)skipped+='<div class="grp" data-blobs="'+ids[j]+'" data-ranges="'+rs[j]+'"><button type="button">'+ui.frame+' '+rs[j]+'</button></div>';
  g.setAttribute('data-next',k+1);
  return inflate(+ids[k]).then(function(o){
    if(!o)return;
    var b=g.querySelector(':scope>button');
    g.insertAdjacentHTML('beforeend',skipped+o.h);
    if(b){if(k+1>=ids.length)b.remove();else g.appendChild(b);}
  });
}
function within(n,a,b){return a<=n&&n<=b;}
// Makes the arrow of frame n exist (inflating or expanding what holds it).
function locate(n,depth){
  if(ladder.querySelector('[data-frame="'+n+'"]'))return Promise.resolve(true);
  if((depth||0)>2000)return Promise.resolve(false);
  var phs=ladder.querySelectorAll('.lazy');
  for(var i=0;i<phs.length;i++){
    if(within(n,+phs[i].getAttribute('data-first'),+phs[i].getAttribute('data-last')))
      return loadChunk(phs[i]).then(function(){return locate(n,(depth||0)+1);});
  }
  var gs=ladder.querySelectorAll('.grp');
  for(var j=0;j<gs.length;j++){
    var rs=gs[j].getAttribute('data-ranges').split(' ');
    var last=+rs[rs.length-1].split('-')[1],first=+rs[0].split('-')[0];
    if(within(n,first,last)&&+(gs[j].getAttribute('data-next')||0)<rs.length)
      return expand(gs[j],n).then(function(){return locate(n,(depth||0)+1);});
  }
  return Promise.resolve(false);
}
function grid(fields){
  var g=el('div','rfc');
  for(var i=0;i<32;i++){g.appendChild(el('div','bitno',String(i%10)));}
  var used=0;
  fields.forEach(function(f){
    var span=Math.min(f.bits,32-used);
    var c=el('div','f');c.style.gridColumn='span '+span;
    c.setAttribute('data-start',f.start);c.setAttribute('data-end',f.end);c.setAttribute('data-key',f.key);
    c.title=f.label+' = '+f.value+'  [bytes '+f.start+'..'+(f.end-1)+']';
    c.appendChild(el('small',null,f.label));c.appendChild(el('b',null,f.value));
    if(f.bits===1&&f.value==='1')c.className+=' on';
    g.appendChild(c);used=(used+span)%32;
  });
  return g;
}
function hexdump(f){
  var box=el('div','hex');
  if(!f.hex){box.textContent=ui.nobytes;return box;}
  var n=f.hex.length/2;
  function layer(i){if(f.pl_at!=null&&i>=f.pl_at)return 3;if(f.tr_at!=null&&i>=f.tr_at)return 2;if(f.ip_at!=null&&i>=f.ip_at)return 1;return 0;}
  for(var r=0;r<n;r+=16){
    box.appendChild(el('span','off',('000'+r.toString(16)).slice(-4)+'  '));
    var ascii='';
    for(var i=r;i<r+16;i++){
      if(i<n){var hx=f.hex.substr(i*2,2);var s=el('span','L'+layer(i),hx);s.setAttribute('data-i',i);box.appendChild(s);
        var v=parseInt(hx,16);ascii+=(v>=32&&v<127)?String.fromCharCode(v):'.';}
      else box.appendChild(document.createTextNode('  '));
      box.appendChild(document.createTextNode(i===r+7?'  ':' '));
    }
    box.appendChild(document.createTextNode(' '+ascii+'\n'));
  }
  return box;
}
function light(on,start,end,key){
  panel.querySelectorAll('.hl').forEach(function(x){x.classList.remove('hl');});
  if(!on)return;
  panel.querySelectorAll('.hex [data-i]').forEach(function(b){var i=+b.getAttribute('data-i');if(i>=start&&i<end)b.classList.add('hl');});
  panel.querySelectorAll('.rfc .f').forEach(function(c){if(key!=null?c.getAttribute('data-key')===key&&c.getAttribute('data-start')==start:(+c.getAttribute('data-start')<=start&&start<+c.getAttribute('data-end')))c.classList.add('hl');});
}
function show(n){
  var f=byNum[n]?expandDetail(byNum[n]):null;
  ladder.querySelectorAll('.sel').forEach(function(a){a.classList.remove('sel');});
  var a=ladder.querySelector('[data-frame="'+n+'"]');
  if(a){a.classList.add('sel');if(a.scrollIntoView)a.scrollIntoView({block:'nearest'});}
  current=n;
  panel.textContent='';
  if(!f){panel.appendChild(el('p','hint',ui.frame+' '+n+' '+ui.notdrawn));return;}
  panel.appendChild(el('h3',null,ui.frame+' '+f.n+': '+f.captured+' '+ui.captured+' / '+f.wire+' '+ui.wire));
  var label=a?a.querySelector('.lbl'):null;
  panel.appendChild(el('p',null,'t='+f.time+' s  '+f.summary));
  if(label)panel.appendChild(el('p',null,label.textContent));
  if(f.ip.length){panel.appendChild(el('h4',null,f.ip_name));panel.appendChild(grid(f.ip));}
  if(f.tr.length){panel.appendChild(el('h4',null,f.tr_name));panel.appendChild(grid(f.tr));}
  else panel.appendChild(el('p','hint',ui.noheader));
  if(f.notes.length){var ul=el('ul','notes');f.notes.forEach(function(t){ul.appendChild(el('li',null,t));});panel.appendChild(ul);}
  panel.appendChild(el('h4',null,ui.bytes));
  panel.appendChild(hexdump(f));
  if(f.hex&&f.kept<f.captured)panel.appendChild(el('p','hint',f.kept+' '+ui.kept+' '+f.captured));
  panel.appendChild(el('p','hint',ui.hint));
}
function select(n,fromHash){
  if(!fromHash){try{history.replaceState(null,'','#frame='+n);}catch(e){}}
  return locate(n).then(function(){show(n);});
}
ladder.addEventListener('click',function(e){
  var b=e.target.closest?e.target.closest('.grp button'):null;
  if(b){expand(b.parentNode);return;}
  var g=e.target.closest?e.target.closest('[data-frame]'):null;
  if(g)select(+g.getAttribute('data-frame'));
});
document.addEventListener('keydown',function(e){
  if(e.key!=='ArrowRight'&&e.key!=='ArrowLeft')return;
  var order=arrows().map(function(a){return +a.getAttribute('data-frame');});
  if(!order.length)return;
  e.preventDefault();
  var i=order.indexOf(current);
  if(e.key==='ArrowRight'&&i===order.length-1){
    var ph=ladder.querySelector('.lazy');
    if(ph){loadChunk(ph).then(function(){var o=arrows();if(o.length>i+1)select(+o[i+1].getAttribute('data-frame'));});return;}
  }
  var j=e.key==='ArrowRight'?(i<0?0:Math.min(order.length-1,i+1)):(i<0?0:Math.max(0,i-1));
  select(order[j]);
});
panel.addEventListener('mouseover',function(e){
  var c=e.target.closest?e.target.closest('.f,[data-i]'):null;
  if(!c)return;
  if(c.classList.contains('f'))light(true,+c.getAttribute('data-start'),+c.getAttribute('data-end'),c.getAttribute('data-key'));
  else{var i=+c.getAttribute('data-i');light(true,i,i+1,null);}
});
panel.addEventListener('mouseout',function(){light(false);});
// Chunks are inflated when they come near the screen.
if(typeof IntersectionObserver!=='undefined'){
  var io=new IntersectionObserver(function(es){es.forEach(function(x){if(x.isIntersecting){io.unobserve(x.target);loadChunk(x.target);}});},{rootMargin:'1500px'});
  ladder.querySelectorAll('.lazy').forEach(function(p){io.observe(p);});
}
function fromHash(){var m=/frame=(\d+)/.exec(location.hash);if(m)select(+m[1],true);}
window.addEventListener('hashchange',fromHash);
fromHash();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::with_lang;
    use std::ops::ControlFlow;

    /// Every frame's details, written by hand, are what serde_json writes for
    /// [`Detail`] from a fresh dissection, and the shape's number names the
    /// frame's shape; in both languages.
    #[test]
    fn hand_written_details_are_serde_jsons() {
        let files = super::super::every_capture();
        let mut frames = 0;
        for lang in [Lang::En, Lang::Zh] {
            with_lang(lang, || {
                for file in &files {
                    let Ok(mut reader) = crate::source::file::CaptureReader::open(file) else { continue };
                    let mut analyzer = Analyzer::new();
                    let mut page = HtmlRenderer::new(Vec::new(), "t");
                    let _ = reader.for_each(|f| {
                        let rec = analyzer.on_packet(f, &crate::decode::decode(f));
                        let got = page.detail(f, &rec);
                        let d = super::super::frame::dissect(f, &rec);
                        let (ip_name, tr_name, fields) = d.names();
                        let layout = |f: &[Field]| f.iter().map(|f| (f.key, f.label, f.bits, f.start, f.end)).collect();
                        let shape = Shape { ip_name, ip: layout(&d.ip), tr_name, tr: layout(fields) };
                        let first = page.first_ts.expect("set by the first detail");
                        let summary = match (rec.src, rec.dst, rec.sport, rec.dport) {
                            (Some(s), Some(t), Some(a), Some(b)) => {
                                format!("{} → {}", std::net::SocketAddr::new(s, a), std::net::SocketAddr::new(t, b))
                            }
                            (Some(s), Some(t), ..) => format!("{s} → {t}"),
                            _ => String::new(),
                        };
                        let keep = f.data.len().min(BYTES_PER_FRAME);
                        let want = Detail(
                            rec.frame,
                            &format!("{:.6}", rec.ts.nanos_since(first) as f64 / 1e9),
                            f.data.len(),
                            f.orig_len,
                            &f.data[..keep].iter().map(|b| format!("{b:02x}")).collect::<String>(),
                            d.ip_at,
                            d.transport_at,
                            d.payload_at,
                            &summary,
                            *page.shapes.get(&shape).expect("the frame's shape is in the page"),
                            d.ip.iter().chain(fields).map(|f| f.value.as_str()).collect(),
                            &d.notes,
                        );
                        assert_eq!(got, script_json(&want), "{} frame {}", file.display(), f.number);
                        frames += 1;
                        ControlFlow::Continue(())
                    });
                }
            });
        }
        assert!(frames > 2000, "{frames} frames");
    }
}
