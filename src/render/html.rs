//! `--html FILE`: one self-contained page — the ladder as SVG (an arrow per
//! packet, each with `data-frame="N"`) and, for the packet clicked (or
//! stepped to with ←/→, or named by `#frame=N`), its layers: the IP and
//! TCP/UDP headers drawn as the RFCs draw them with that packet's values, and
//! its bytes, where hovering a field lights up the bytes that hold it.
//!
//! Plain `write!` with [`esc`] on every text, not a template crate: the page
//! is one SVG shape per packet and a fixed shell, and every text from a
//! capture goes through the one escaping function. Packet details go into a
//! `<script type="application/json">` blob that the inline script turns into
//! the panel only for the packet shown, so the page stays small; the arrows
//! are drawn here, so the ladder reads without the script.

use super::frame::{dissect, Dissection, Field, Header};
use super::ladder::tcp_label;
use super::term::{wrap, wrap_code};
use super::Renderer;
use crate::analyze::{Analyzer, Expert, FrameRecord, Proto};
use crate::decode::flags::{FIN, RST, SYN};
use crate::i18n::{current, either, tr, Lang};
use crate::source::{Frame, Timestamp};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Packets drawn at most: beyond this a page would be too long to scroll
/// and too large to open quickly; the page says how many were left out.
pub const MAX_DRAWN: u64 = 2000;
/// Bytes of each frame kept for the hex dump (headers and the start of the data).
pub const BYTES_PER_FRAME: usize = 512;
/// Bytes kept over all frames (hex doubles them in the page).
pub const MAX_BYTES: usize = 16 << 20;

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
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// JSON for a `<script>` element: `<` escaped so no `</script>` (nor `<!--`)
/// from a capture's text can end the element. `<` only occurs inside JSON
/// strings, where `\u003c` means the same.
fn script_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into()).replace('<', "\\u003c")
}

/// What the panel needs of one frame.
#[derive(Serialize)]
struct Detail<'a> {
    n: u64,
    time: String,
    captured: usize,
    wire: u32,
    /// Hex of the first bytes kept (empty when over the page's budget).
    hex: String,
    kept: usize,
    ip_at: Option<usize>,
    tr_at: Option<usize>,
    pl_at: Option<usize>,
    summary: String,
    ip_name: &'static str,
    ip: &'a [Field],
    tr_name: &'static str,
    tr: &'a [Field],
    notes: &'a [String],
}

/// A section of the ladder: one conversation's consecutive packets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lanes {
    Tcp(u32),
    Udp(u32),
    Other,
}

struct Section {
    lanes: Lanes,
    title: String,
    left: String,
    right: String,
    rows: String,
    height: f64,
}

/// Collects the page while frames go by and writes it at the end.
pub struct HtmlRenderer<W: Write> {
    out: W,
    title: String,
    first_ts: Option<Timestamp>,
    done: String,
    section: Option<Section>,
    details: Vec<String>,
    drawn: u64,
    seen: u64,
    bytes: usize,
    bytes_stop: Option<u64>,
    /// Numbers as in the capture instead of relative ones.
    pub absolute: bool,
}

impl<W: Write> HtmlRenderer<W> {
    /// A page titled after `title` (the capture or lab), written to `out` at the end.
    pub fn new(out: W, title: &str) -> Self {
        HtmlRenderer {
            out,
            title: title.to_string(),
            first_ts: None,
            done: String::new(),
            section: None,
            details: Vec::new(),
            drawn: 0,
            seen: 0,
            bytes: 0,
            bytes_stop: None,
            absolute: false,
        }
    }

    fn close_section(&mut self) {
        let Some(s) = self.section.take() else { return };
        let h = s.height + 8.0;
        let _ = write!(
            self.done,
            "<section><h2>{}</h2><svg class=\"ladder\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\">",
            esc(&s.title)
        );
        if s.lanes != Lanes::Other {
            let _ = write!(
                self.done,
                "<text class=\"ep\" x=\"{LX}\" y=\"14\" text-anchor=\"middle\">{}</text>\
                 <text class=\"ep\" x=\"{RX}\" y=\"14\" text-anchor=\"middle\">{}</text>\
                 <line class=\"life\" x1=\"{LX}\" y1=\"20\" x2=\"{LX}\" y2=\"{h}\"/>\
                 <line class=\"life\" x1=\"{RX}\" y1=\"20\" x2=\"{RX}\" y2=\"{h}\"/>",
                esc(&s.left),
                esc(&s.right)
            );
        }
        self.done.push_str(&s.rows);
        self.done.push_str("</svg></section>\n");
    }

    fn lanes(&mut self, lanes: Lanes, analyzer: &Analyzer) {
        if self.section.as_ref().is_some_and(|s| s.lanes == lanes) {
            return;
        }
        self.close_section();
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
                        (title, format!("{} {ra}", s.a).trim_end().into(), format!("{} {rb}", s.b).trim_end().into())
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
        self.section = Some(Section { lanes, title, left, right, rows: String::new(), height: 26.0 });
    }

    /// One packet: an arrow (or, outside a conversation, a line of text)
    /// with the lines under it. `dir`: Some(true) rightwards.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        rec: &FrameRecord,
        dir: Option<bool>,
        label: &str,
        class: &str,
        states: (Option<&str>, Option<&str>),
        details: &[(String, &str)],
    ) {
        let first = *self.first_ts.get_or_insert(rec.ts);
        let t = rec.ts.nanos_since(first) as f64 / 1e9;
        let s = self.section.as_mut().expect("lanes() opened a section");
        let y0 = s.height;
        let mut g = String::new();
        let mut y = 18.0;
        let _ = write!(
            g,
            "<text class=\"num\" x=\"34\" y=\"{y}\" text-anchor=\"end\">{}</text><text class=\"time\" x=\"40\" y=\"{y}\">{t:.6}</text>",
            rec.frame
        );
        match dir {
            Some(right) => {
                let ay = y + 8.0;
                let (x1, x2) = if right { (LX, RX - 8.0) } else { (RX, LX + 8.0) };
                let tip = if right { RX } else { LX };
                let back = if right { RX - 9.0 } else { LX + 9.0 };
                let _ = write!(
                    g,
                    "<text class=\"lbl\" x=\"{}\" y=\"{y}\" text-anchor=\"middle\">{}</text>\
                     <line class=\"shaft\" x1=\"{x1}\" y1=\"{ay}\" x2=\"{x2}\" y2=\"{ay}\"/>\
                     <polygon class=\"head\" points=\"{tip},{ay} {back},{} {back},{}\"/>",
                    (LX + RX) / 2.0,
                    esc(label),
                    ay - 4.5,
                    ay + 4.5
                );
                for (text, x, anchor) in [(states.0, LX - 8.0, "end"), (states.1, RX + 8.0, "start")] {
                    if let Some(st) = text {
                        let _ = write!(
                            g,
                            "<circle class=\"st\" cx=\"{}\" cy=\"{ay}\" r=\"3.5\"/><text class=\"state\" x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                            if anchor == "end" { LX } else { RX },
                            ay + 4.0,
                            esc(st)
                        );
                    }
                }
                y = ay + 6.0;
            }
            None => {
                let _ = write!(g, "<text class=\"lbl\" x=\"{}\" y=\"{y}\">{}</text>", LX - 100.0, esc(label));
                y += 4.0;
            }
        }
        for (text, cls) in details {
            let note = *cls == "note";
            let (x, width) = if note { (40.0, NOTE_COLS) } else { (LX + 10.0, ARROW_COLS) };
            let lines = if note { wrap(text, width) } else { wrap_code(text, width) };
            for (i, line) in lines.iter().enumerate() {
                y += LINE;
                let mark = if note && i == 0 {
                    "ℹ "
                } else if note {
                    "\u{2003}"
                } else {
                    ""
                };
                let _ = write!(g, "<text class=\"{cls}\" x=\"{x}\" y=\"{y}\">{mark}{}</text>", esc(line));
            }
        }
        let h = y + 8.0;
        s.height += h;
        let _ = write!(
            s.rows,
            "<g class=\"pkt {class}\" data-frame=\"{}\" transform=\"translate(0,{y0})\" tabindex=\"-1\">\
             <rect class=\"hit\" x=\"0\" y=\"0\" width=\"{W}\" height=\"{h}\"/>{g}</g>",
            rec.frame
        );
    }

    fn draw(&mut self, rec: &FrameRecord, analyzer: &Analyzer) {
        if let Some(t) = &rec.tcp {
            self.lanes(Lanes::Tcp(t.stream), analyzer);
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
            self.row(rec, Some(right), &tcp_label(t, self.absolute), &class, states, &details);
            return;
        }
        if let Some(u) = &rec.udp {
            let mut details: Vec<(String, &str)> = Vec::new();
            if let Some(c) = rec.cause {
                details.push((c.text().to_string(), "cause"));
            }
            if let Some(d) = &u.dns {
                details.push((super::ladder::dns_line(d), "cause"));
            }
            self.payload_lines(rec, &mut details);
            self.explanations(rec, &mut details);
            let label = format!("UDP len={}", u.len);
            if analyzer.udp_flow(u.stream).is_some() {
                self.lanes(Lanes::Udp(u.stream), analyzer);
                self.row(rec, Some(u.dir == 0), &label, "data", (None, None), &details);
            } else {
                self.lanes(Lanes::Other, analyzer);
                self.row(rec, None, &label, "data", (None, None), &details);
            }
            return;
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
            if let Some(flow) = i.udp_stream.and_then(|id| analyzer.udp_flow(id)) {
                let right = rec.src != Some(flow.b.ip());
                self.lanes(Lanes::Udp(flow.id), analyzer);
                self.row(rec, Some(right), &label, class, (None, None), &details);
            } else {
                self.lanes(Lanes::Other, analyzer);
                let ends = format!("{label}  {} → {}", opt(rec.src), opt(rec.dst));
                self.row(rec, None, &ends, class, (None, None), &details);
            }
            return;
        }
        self.lanes(Lanes::Other, analyzer);
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
        self.row(rec, None, &text, "quiet", (None, None), &details);
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

    /// The packet's entry in the JSON blob.
    fn detail(&mut self, frame: &Frame<'_>, rec: &FrameRecord) {
        let d: Dissection = dissect(frame, rec);
        let keep = frame.data.len().min(BYTES_PER_FRAME);
        let hex = if self.bytes_stop.is_none() && self.bytes + keep <= MAX_BYTES {
            self.bytes += keep;
            frame.data[..keep].iter().fold(String::with_capacity(keep * 2), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
        } else {
            self.bytes_stop.get_or_insert(rec.frame);
            String::new()
        };
        let kept = hex.len() / 2;
        let first = *self.first_ts.get_or_insert(rec.ts);
        let (tr_name, fields): (&str, &[Field]) = match &d.header {
            Header::Tcp(f) => ("TCP", f),
            Header::Udp(f) => ("UDP", f),
            Header::None => ("", &[]),
        };
        let ip_name = match d.ip.first().map(|f| f.value.as_str()) {
            Some("4") => "IPv4",
            Some("6") => "IPv6",
            _ => "",
        };
        let summary = match (rec.src, rec.dst) {
            (Some(s), Some(t)) => match (rec.sport, rec.dport) {
                (Some(a), Some(b)) => {
                    format!("{} → {}", std::net::SocketAddr::new(s, a), std::net::SocketAddr::new(t, b))
                }
                _ => format!("{s} → {t}"),
            },
            _ => String::new(),
        };
        let detail = Detail {
            n: rec.frame,
            time: format!("{:.6}", rec.ts.nanos_since(first) as f64 / 1e9),
            captured: frame.data.len(),
            wire: frame.orig_len,
            hex,
            kept,
            ip_at: d.ip_at,
            tr_at: d.transport_at,
            pl_at: d.payload_at,
            summary,
            ip_name,
            ip: &d.ip,
            tr_name,
            tr: fields,
            notes: &d.notes,
        };
        self.details.push(script_json(&detail));
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
        ];
        let map: std::collections::BTreeMap<&str, &str> = pairs.into_iter().collect();
        script_json(&map)
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
        if self.drawn >= MAX_DRAWN {
            return Ok(());
        }
        self.drawn += 1;
        self.draw(rec, analyzer);
        self.detail(frame, rec);
        Ok(())
    }

    fn finish(&mut self, _: &Analyzer) -> io::Result<()> {
        self.close_section();
        let lang = if current() == Lang::Zh { "zh-CN" } else { "en" };
        let mut notes = Vec::new();
        if self.seen > self.drawn {
            notes.push(either(
                format!(
                    "Only the first {} of {} packets are drawn (a page stays small enough to open); the terminal ladder shows them all.",
                    self.drawn, self.seen
                ),
                format!("只画出了 {} 个分组中的前 {} 个（页面要能很快打开）；终端里的梯形图会显示全部。", self.seen, self.drawn),
            ));
        }
        if let Some(n) = self.bytes_stop {
            notes.push(either(
                format!("Bytes are not included for frames from {n} on (the page's size limit)."),
                format!("从第 {n} 帧起不包含字节（页面大小有上限）。"),
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
             <header><h1>{}</h1><p>{} · {}</p>",
            esc(&title),
            esc(&title),
            esc(&counts),
            esc(help)
        )?;
        for n in &notes {
            write!(out, "<p class=\"limit\">{}</p>", esc(n))?;
        }
        write!(out, "</header><main><div id=\"ladder\">\n")?;
        out.write_all(self.done.as_bytes())?;
        write!(out, "</div><aside id=\"panel\"><p class=\"hint\">{}</p></aside></main>\n", esc(help))?;
        write!(out, "<script type=\"application/json\" id=\"ui\">{}</script>\n", Self::ui())?;
        out.write_all(b"<script type=\"application/json\" id=\"frames\">[")?;
        for (i, d) in self.details.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            out.write_all(d.as_bytes())?;
        }
        write!(out, "]</script>\n<script>{JS}</script>\n</body></html>\n")?;
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
"#;

const JS: &str = r#"
(function(){
'use strict';
var ui=JSON.parse(document.getElementById('ui').textContent);
var frames=JSON.parse(document.getElementById('frames').textContent);
var byNum={};frames.forEach(function(f){byNum[f.n]=f;});
var arrows=Array.prototype.slice.call(document.querySelectorAll('[data-frame]'));
var order=arrows.map(function(a){return +a.getAttribute('data-frame');});
var panel=document.getElementById('panel');
var current=null;
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;return e;}
function grid(fields){
  var g=el('div','rfc');
  for(var i=0;i<32;i++){g.appendChild(el('div','bitno',String(i%10)));}
  var used=0;
  fields.forEach(function(f){
    var span=Math.min(f.bits,32-used);
    var c=el('div','f');c.style.gridColumn='span '+span;
    c.setAttribute('data-start',f.start);c.setAttribute('data-end',f.end);c.setAttribute('data-key',f.key);
    c.title=f.label+' = '+f.value+'  [bytes '+f.start+'..'+(f.end-1)+']';
    if(f.bits<=4){c.appendChild(el('small',null,f.label));c.appendChild(el('b',null,f.value));if(f.bits===1&&f.value==='1')c.className+=' on';}
    else{c.appendChild(el('small',null,f.label));c.appendChild(el('b',null,f.value));}
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
  var f=byNum[n];
  arrows.forEach(function(a){a.classList.toggle('sel',+a.getAttribute('data-frame')===n);});
  var a=document.querySelector('[data-frame="'+n+'"]');
  if(a&&a.scrollIntoView)a.scrollIntoView({block:'nearest'});
  current=n;
  panel.textContent='';
  if(!f){panel.appendChild(el('p','hint',ui.frame+' '+n));return;}
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
  show(n);
  if(!fromHash){try{history.replaceState(null,'','#frame='+n);}catch(e){}}
}
document.getElementById('ladder').addEventListener('click',function(e){
  var g=e.target.closest?e.target.closest('[data-frame]'):null;
  if(g)select(+g.getAttribute('data-frame'));
});
document.addEventListener('keydown',function(e){
  if(e.key!=='ArrowRight'&&e.key!=='ArrowLeft')return;
  var i=order.indexOf(current);
  var j=e.key==='ArrowRight'?(i<0?0:Math.min(order.length-1,i+1)):(i<0?0:Math.max(0,i-1));
  if(order.length){select(order[j]);e.preventDefault();}
});
panel.addEventListener('mouseover',function(e){
  var c=e.target.closest?e.target.closest('.f,[data-i]'):null;
  if(!c)return;
  if(c.classList.contains('f'))light(true,+c.getAttribute('data-start'),+c.getAttribute('data-end'),c.getAttribute('data-key'));
  else{var i=+c.getAttribute('data-i');light(true,i,i+1,null);}
});
panel.addEventListener('mouseout',function(){light(false);});
function fromHash(){var m=/frame=(\d+)/.exec(location.hash);if(m)select(+m[1],true);}
window.addEventListener('hashchange',fromHash);
fromHash();
})();
"#;
