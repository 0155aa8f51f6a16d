//! One frame, for the "what is in a TCP header" lesson: each layer's fields
//! with their values, the TCP (or UDP) header drawn as the RFC draws it
//! (RFC 9293 §3.1, RFC 768) with this packet's values, the flag bits one by
//! one, and the bytes as a hex dump coloured by layer.

use crate::analyze::FrameRecord;
use crate::decode::link::{classify, LinkPayload};
use crate::i18n::tr;
use crate::render::style::{paint, Role};
use crate::source::Frame;
use std::io::{self, Write};

/// Where each layer starts in the frame, as far as it could be found.
struct Layers {
    ip: Option<usize>,
    transport: Option<usize>,
    payload: Option<usize>,
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*b.get(i)?, *b.get(i + 1)?, *b.get(i + 2)?, *b.get(i + 3)?]))
}

fn layers(frame: &Frame<'_>) -> Layers {
    let d = frame.data;
    let ip = match classify(frame.link, d) {
        LinkPayload::Ethernet => {
            let mut at = 12;
            // 802.1Q tags before the EtherType.
            while be16(d, at) == Some(0x8100) {
                at += 4;
            }
            Some(at + 2)
        }
        LinkPayload::EtherType { offset, .. } | LinkPayload::RawIp { offset } => Some(offset),
        _ => None,
    };
    let transport = ip.and_then(|i| match d.get(i)? >> 4 {
        4 => Some(i + ((d.get(i)? & 0x0f) as usize) * 4),
        6 => Some(i + 40),
        _ => None,
    });
    // IPv4's protocol field (byte 9) or IPv6's next header (byte 6; extension headers not followed).
    let protocol = ip.and_then(|i| match d.get(i)? >> 4 {
        4 => d.get(i + 9).copied(),
        6 => d.get(i + 6).copied(),
        _ => None,
    });
    let payload = transport.and_then(|t| match protocol? {
        6 => Some(t + ((d.get(t + 12)? >> 4) as usize) * 4),
        17 => Some(t + 8),
        _ => None,
    });
    Layers { ip, transport, payload }
}

/// A 32-bit row of the RFC diagram: cells of (bits, text).
fn row(out: &mut dyn Write, cells: &[(usize, String)]) -> io::Result<()> {
    let mut line = String::from("|");
    for (bits, text) in cells {
        line.push_str(&centered(text, bits * 2 - 1));
        line.push('|');
    }
    writeln!(out, "{line}")
}

/// `text` centred in `width` display columns (a Chinese character takes two).
fn centered(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    let pad = width - used;
    format!("{}{}{}", " ".repeat(pad / 2), kept, " ".repeat(pad - pad / 2))
}

const RULER: &str = "+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+";

/// One header field of a frame: what it is called, its value, how wide the
/// RFC draws it, and which bytes of the frame hold it (so a page can light
/// them up in the hex dump).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Field {
    /// A stable name ("sport", "seq", "syn" …), for scripts and styling.
    pub key: &'static str,
    /// Its name in the current language (the RFC's letter for a flag bit).
    pub label: &'static str,
    /// The value as shown ("41234", "0x1a2b", "1").
    pub value: String,
    /// Width in the RFC diagram, in bits (a row is 32).
    pub bits: u8,
    /// First byte in the frame.
    pub start: usize,
    /// One past the last byte in the frame (a flag bit lights its whole byte).
    pub end: usize,
}

impl Field {
    /// The text of its cell in a diagram: narrow fields hold only the value.
    pub fn cell(&self) -> String {
        if self.bits <= 4 {
            self.value.clone()
        } else {
            format!("{} {}", self.label, self.value)
        }
    }
}

/// The transport header of a frame, field by field.
#[derive(Clone, Debug, Default)]
pub enum Header {
    /// TCP (RFC 9293 §3.1), as far as it was captured.
    Tcp(Vec<Field>),
    /// UDP (RFC 768).
    Udp(Vec<Field>),
    /// No TCP or UDP header to draw.
    #[default]
    None,
}

/// What `--frame N` and the HTML page show of one frame: where each layer
/// starts, the IP and transport fields with their byte ranges, and the
/// sentences under the diagram.
#[derive(Clone, Debug, Default)]
pub struct Dissection {
    /// Where the IP header starts.
    pub ip_at: Option<usize>,
    /// Where the TCP/UDP header starts.
    pub transport_at: Option<usize>,
    /// Where the payload starts.
    pub payload_at: Option<usize>,
    /// IPv4 (RFC 791) or IPv6 (RFC 8200) header fields.
    pub ip: Vec<Field>,
    /// The transport header.
    pub header: Header,
    /// Data offset and flags in words, the options, the payload length.
    pub notes: Vec<String>,
}

/// Splits `frame` (analysed into `rec`) into layers and fields.
pub fn dissect(frame: &Frame<'_>, rec: &FrameRecord) -> Dissection {
    let mut out = Dissection::default();
    out.refill(frame, rec);
    out
}

impl Dissection {
    /// Dissects `frame` into this value, reusing its fields' text: the page
    /// dissects every frame it draws, and allocating some 30 strings per frame
    /// was a quarter of its work.
    pub fn refill(&mut self, frame: &Frame<'_>, rec: &FrameRecord) {
        let l = layers(frame);
        let d = frame.data;
        (self.ip_at, self.transport_at, self.payload_at) = (l.ip, l.transport, l.payload);
        let mut ip = Slots::new(&mut self.ip);
        if let Some(i) = l.ip {
            ip_fields(d, i, &mut ip);
        }
        ip.end();
        let mut fields = match std::mem::take(&mut self.header) {
            Header::Tcp(v) | Header::Udp(v) => v,
            Header::None => Vec::new(),
        };
        let mut notes = Slots::new(&mut self.notes);
        let mut f = Slots::new(&mut fields);
        let header: fn(Vec<Field>) -> Header = match (l.transport, rec.tcp.is_some(), rec.udp.is_some()) {
            (Some(t), true, _) => {
                tcp_fields(d, t, rec, &mut f, &mut notes);
                Header::Tcp
            }
            (Some(t), _, true) => {
                udp_fields(d, t, &mut f);
                Header::Udp
            }
            _ => |_| Header::None,
        };
        f.end();
        notes.end();
        self.header = header(fields);
    }
}

impl Dissection {
    /// The IP layer's name ("IPv4", "IPv6" or ""), the transport's ("TCP",
    /// "UDP" or "") and the transport's fields.
    pub fn names(&self) -> (&'static str, &'static str, &[Field]) {
        let ip = match self.ip.first().map(|f| f.value.as_str()) {
            Some("4") => "IPv4",
            Some("6") => "IPv6",
            _ => "",
        };
        match &self.header {
            Header::Tcp(f) => (ip, "TCP", f),
            Header::Udp(f) => (ip, "UDP", f),
            Header::None => (ip, "", &[]),
        }
    }
}

/// A piece of a field's value for [`Slots::pieces`].
#[derive(Clone, Copy)]
enum Text<'a> {
    Str(&'a str),
    Dec(u32),
    /// `0x` and this many lowercase hex digits: `{:#0N$x}` less the width quirks.
    Hex(u32, u32),
    /// This many binary digits: `{:0N$b}`.
    Bits(u32, u32),
    V4(std::net::Ipv4Addr),
}

/// Fills a list of fields (or lines) from its start, keeping each slot's
/// string allocation from the frame before.
struct Slots<'a, T> {
    list: &'a mut Vec<T>,
    used: usize,
}

impl<'a, T: Default> Slots<'a, T> {
    fn new(list: &'a mut Vec<T>) -> Self {
        Slots { list, used: 0 }
    }

    /// The next slot, to be overwritten.
    fn next(&mut self) -> &mut T {
        if self.used == self.list.len() {
            self.list.push(T::default());
        }
        self.used += 1;
        &mut self.list[self.used - 1]
    }

    /// Drops the slots the frame before used and this one did not.
    fn end(self) {
        self.list.truncate(self.used);
    }
}

impl Slots<'_, Field> {
    /// The next field, its value emptied.
    fn slot(&mut self, key: &'static str, label: &'static str, bits: u8, at: (usize, usize)) -> &mut String {
        let f = self.next();
        (f.key, f.label, f.bits, f.start, f.end) = (key, label, bits, at.0, at.1);
        f.value.clear();
        &mut f.value
    }

    fn put(
        &mut self,
        key: &'static str,
        label: &'static str,
        value: std::fmt::Arguments<'_>,
        bits: u8,
        at: (usize, usize),
    ) {
        use std::fmt::Write as _;
        let _ = self.slot(key, label, bits, at).write_fmt(value);
    }

    /// A decimal value (most fields), without the formatter.
    fn num(&mut self, key: &'static str, label: &'static str, n: u32, bits: u8, at: (usize, usize)) {
        self.slot(key, label, bits, at).push_str(itoa::Buffer::new().format(n));
    }

    /// A value in pieces: what `format_args!` would make of them, without
    /// the formatter (each frame of a page has a dozen such values).
    fn pieces(&mut self, key: &'static str, label: &'static str, pieces: &[Text<'_>], bits: u8, at: (usize, usize)) {
        let v = self.slot(key, label, bits, at);
        for p in pieces {
            match *p {
                Text::Str(s) => v.push_str(s),
                Text::Dec(n) => v.push_str(itoa::Buffer::new().format(n)),
                Text::Hex(n, digits) => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    v.push_str("0x");
                    for i in (0..digits).rev() {
                        v.push(char::from(HEX[(n >> (4 * i) & 0xf) as usize]));
                    }
                }
                Text::Bits(n, digits) => {
                    for i in (0..digits).rev() {
                        v.push(if n >> i & 1 == 1 { '1' } else { '0' });
                    }
                }
                Text::V4(a) => {
                    let (text, len) = super::bytes::ipv4_text(a);
                    v.push_str(std::str::from_utf8(&text[..len]).unwrap_or_default());
                }
            }
        }
    }
}

impl Slots<'_, String> {
    fn line(&mut self) -> &mut String {
        let s = self.next();
        s.clear();
        s
    }
}

fn ip_fields(d: &[u8], i: usize, f: &mut Slots<'_, Field>) {
    match d.get(i).map(|b| b >> 4) {
        Some(4) => {
            let (Some(&vihl), Some(&tos), Some(total), Some(id), Some(frag), Some(&ttl), Some(&proto), Some(sum)) = (
                d.get(i),
                d.get(i + 1),
                be16(d, i + 2),
                be16(d, i + 4),
                be16(d, i + 6),
                d.get(i + 8),
                d.get(i + 9),
                be16(d, i + 10),
            ) else {
                return;
            };
            f.put("version", tr("Version", "版本"), format_args!("4"), 4, (i, i + 1));
            f.num("ihl", tr("IHL", "首部长度"), u32::from(vihl & 0x0f), 4, (i, i + 1));
            f.pieces("tos", tr("Type of Service", "服务类型"), &[Text::Hex(u32::from(tos), 2)], 8, (i + 1, i + 2));
            f.num("total_length", tr("Total Length", "总长度"), u32::from(total), 16, (i + 2, i + 4));
            f.pieces("id", tr("Identification", "标识"), &[Text::Hex(u32::from(id), 4)], 16, (i + 4, i + 6));
            let df = if frag & 0x4000 != 0 { " DF" } else { "" };
            f.pieces(
                "ip_flags",
                tr("Flags", "标志"),
                &[Text::Bits(u32::from(frag >> 13), 3), Text::Str(df)],
                3,
                (i + 6, i + 7),
            );
            f.num("frag", tr("Fragment Offset", "片偏移"), u32::from(frag & 0x1fff), 13, (i + 6, i + 8));
            f.num("ttl", tr("TTL", "生存时间"), u32::from(ttl), 8, (i + 8, i + 9));
            let name = match proto {
                6 => " (TCP)",
                17 => " (UDP)",
                1 => " (ICMP)",
                _ => "",
            };
            f.pieces(
                "protocol",
                tr("Protocol", "协议"),
                &[Text::Dec(u32::from(proto)), Text::Str(name)],
                8,
                (i + 9, i + 10),
            );
            f.pieces(
                "ip_checksum",
                tr("Header Checksum", "首部校验和"),
                &[Text::Hex(u32::from(sum), 4)],
                16,
                (i + 10, i + 12),
            );
            if let (Some(s), Some(t)) = (d.get(i + 12..i + 16), d.get(i + 16..i + 20)) {
                let a = |b: &[u8]| std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]);
                f.pieces("src", tr("Source Address", "源地址"), &[Text::V4(a(s))], 32, (i + 12, i + 16));
                f.pieces("dst", tr("Destination Address", "目的地址"), &[Text::V4(a(t))], 32, (i + 16, i + 20));
            }
        }
        Some(6) => {
            let (Some(head), Some(plen), Some(&next), Some(&hops)) =
                (be32(d, i), be16(d, i + 4), d.get(i + 6), d.get(i + 7))
            else {
                return;
            };
            f.put("version", tr("Version", "版本"), format_args!("6"), 4, (i, i + 1));
            let class = (head >> 20) & 0xff;
            f.put("tclass", tr("Traffic Class", "流量类别"), format_args!("0x{class:02x}"), 8, (i, i + 2));
            f.put("flow", tr("Flow Label", "流标签"), format_args!("0x{:05x}", head & 0xfffff), 20, (i + 1, i + 4));
            f.num("payload_length", tr("Payload Length", "载荷长度"), u32::from(plen), 16, (i + 4, i + 6));
            f.num("next_header", tr("Next Header", "下一个首部"), u32::from(next), 8, (i + 6, i + 7));
            f.num("hop_limit", tr("Hop Limit", "跳数限制"), u32::from(hops), 8, (i + 7, i + 8));
            let a = |at: usize| {
                let b: [u8; 16] = d.get(at..at + 16)?.try_into().ok()?;
                Some(std::net::Ipv6Addr::from(b))
            };
            // 128 bits each; drawn one row high, the address fits in it.
            if let (Some(s), Some(t)) = (a(i + 8), a(i + 24)) {
                f.put("src", tr("Source Address", "源地址"), format_args!("{s}"), 32, (i + 8, i + 24));
                f.put("dst", tr("Destination Address", "目的地址"), format_args!("{t}"), 32, (i + 24, i + 40));
            }
        }
        _ => {}
    }
}

/// The TCP header's fields, a row at a time as far as the capture holds
/// them, and the sentences under the diagram (only for a whole header).
fn tcp_fields(d: &[u8], at: usize, rec: &FrameRecord, f: &mut Slots<'_, Field>, notes: &mut Slots<'_, String>) {
    use std::fmt::Write as _;
    let t = &d[at.min(d.len())..];
    let (Some(sport), Some(dport), Some(seq), Some(ack)) = (be16(t, 0), be16(t, 2), be32(t, 4), be32(t, 8)) else {
        return;
    };
    let tcp = rec.tcp.as_ref();
    let relative = tr("relative", "相对");
    f.num("sport", tr("Source Port", "源端口"), u32::from(sport), 16, (at, at + 2));
    f.num("dport", tr("Destination Port", "目的端口"), u32::from(dport), 16, (at + 2, at + 4));
    let (seq_label, ack_label) = (tr("Sequence Number", "序号"), tr("Acknowledgment Number", "确认号"));
    match tcp {
        Some(r) => {
            let (open, close) = (Text::Str(" ("), Text::Str(")"));
            let (rel, space) = (Text::Str(relative), Text::Str(" "));
            let seq = [Text::Dec(seq), open, rel, space, Text::Dec(r.seq), close];
            f.pieces("seq", seq_label, &seq, 32, (at + 4, at + 8));
            let ack = [Text::Dec(ack), open, rel, space, Text::Dec(r.ack), close];
            f.pieces("ack", ack_label, &ack, 32, (at + 8, at + 12));
        }
        None => {
            f.num("seq", seq_label, seq, 32, (at + 4, at + 8));
            f.num("ack", ack_label, ack, 32, (at + 8, at + 12));
        }
    }
    let (Some(&off), Some(&flags), Some(win)) = (t.get(12), t.get(13), be16(t, 14)) else { return };
    f.num("offset", tr("Offset", "偏移"), u32::from(off >> 4), 4, (at + 12, at + 13));
    f.num("reserved", tr("Rsrvd", "保留"), u32::from(off & 0x0f), 4, (at + 12, at + 13));
    for (i, (key, letter)) in [
        ("cwr", "C"),
        ("ece", "E"),
        ("urg", "U"),
        ("ack_bit", "A"),
        ("psh", "P"),
        ("rst", "R"),
        ("syn", "S"),
        ("fin", "F"),
    ]
    .into_iter()
    .enumerate()
    {
        let set = flags & (0x80 >> i) != 0;
        f.num(key, letter, u32::from(set), 1, (at + 13, at + 14));
    }
    f.num("window", tr("Window", "窗口"), u32::from(win), 16, (at + 14, at + 16));
    let (Some(sum), Some(urg)) = (be16(t, 16), be16(t, 18)) else { return };
    f.pieces("checksum", tr("Checksum", "校验和"), &[Text::Hex(u32::from(sum), 4)], 16, (at + 16, at + 18));
    f.num("urgent", tr("Urgent Pointer", "紧急指针"), u32::from(urg), 16, (at + 18, at + 20));
    let hlen = ((off >> 4) as usize) * 4;
    let bytes = tr("bytes", "字节");
    if hlen > 20 {
        let options = (at + 20, (at + hlen).min(d.len()));
        let text = [Text::Str("("), Text::Dec((hlen - 20) as u32), Text::Str(" "), Text::Str(bytes), Text::Str(")")];
        f.pieces("options", tr("Options", "选项"), &text, 32, options);
    }
    let line = notes.line();
    let _ = write!(
        line,
        "{}: {} ({} {} × 4 = {hlen} {bytes}); {}: 0x{flags:02x} = ",
        tr("Data offset", "数据偏移"),
        off >> 4,
        tr("header", "首部"),
        off >> 4,
        tr("flags", "标志"),
    );
    let set = crate::decode::flags::NAMES.iter().filter(|(b, _)| flags as u16 & b != 0);
    for (i, (_, name)) in set.enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(name);
    }
    if let Some(t) = tcp {
        let mut opts: Vec<String> = Vec::new();
        opts.extend(t.mss.map(|m| format!("MSS={m}")));
        opts.extend(t.wscale.map(|w| format!("WS={w} (×{})", 1u32 << w.min(14))));
        if t.sack_permitted {
            opts.push("SACK_PERM".into());
        }
        if t.timestamps {
            opts.push("TS".into());
        }
        if !opts.is_empty() {
            let _ = write!(notes.line(), "{}: {}", tr("options", "选项"), opts.join(" "));
        }
        let _ = write!(notes.line(), "{}: {} {bytes}", tr("payload", "数据"), t.len);
    }
}

fn udp_fields(d: &[u8], at: usize, f: &mut Slots<'_, Field>) {
    let u = &d[at.min(d.len())..];
    let (Some(sport), Some(dport), Some(len), Some(sum)) = (be16(u, 0), be16(u, 2), be16(u, 4), be16(u, 6)) else {
        return;
    };
    f.num("sport", tr("src port", "源端口"), u32::from(sport), 16, (at, at + 2));
    f.num("dport", tr("dst port", "目的端口"), u32::from(dport), 16, (at + 2, at + 4));
    f.num("length", tr("length", "长度"), u32::from(len), 16, (at + 4, at + 6));
    f.put("checksum", tr("checksum", "校验和"), format_args!("0x{sum:04x}"), 16, (at + 6, at + 8));
}

/// The RFC's picture of a TCP header: a row per 32 bits, the flag letters
/// under their bits.
fn tcp_diagram(out: &mut dyn Write, fields: &[Field], notes: &[String]) -> io::Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    writeln!(out, " 0                   1                   2                   3")?;
    writeln!(out, " 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1")?;
    writeln!(out, "{RULER}")?;
    let mut cells: Vec<(usize, String)> = Vec::new();
    let mut used = 0;
    for f in fields {
        cells.push((f.bits as usize, f.cell()));
        used += f.bits as usize;
        if used >= 32 {
            row(out, &cells)?;
            if f.key == "window" {
                let letters: String = fields.iter().filter(|f| f.bits == 1).map(|f| format!("{}|", f.label)).collect();
                let (off, rsv) = (tr("Offset", "偏移"), tr("Rsrvd", "保留"));
                writeln!(out, "|{}|{}|{letters}{}|", centered(off, 7), centered(rsv, 7), " ".repeat(31))?;
            }
            writeln!(out, "{RULER}")?;
            cells.clear();
            used = 0;
        }
    }
    for n in notes {
        writeln!(out, "{n}")?;
    }
    Ok(())
}

fn udp_diagram(out: &mut dyn Write, fields: &[Field]) -> io::Result<()> {
    if fields.len() < 4 {
        return Ok(());
    }
    writeln!(out, " 0      7 8     15 16    23 24    31")?;
    writeln!(out, "+--------+--------+--------+--------+")?;
    let cell = |f: &Field| centered(&f.cell(), 17);
    for pair in fields.chunks(2) {
        writeln!(out, "|{}|{}|", cell(&pair[0]), cell(&pair[1]))?;
        writeln!(out, "+--------+--------+--------+--------+")?;
    }
    Ok(())
}

/// The hex dump, each byte coloured by its layer (link, IP, transport, payload).
fn hex_dump(out: &mut dyn Write, d: &[u8], l: &Layers) -> io::Result<()> {
    let role = |i: usize| {
        if l.payload.is_some_and(|p| i >= p) {
            Role::Data
        } else if l.transport.is_some_and(|t| i >= t) {
            Role::Call
        } else if l.ip.is_some_and(|p| i >= p) {
            Role::State
        } else {
            Role::Quiet
        }
    };
    for (r, chunk) in d.chunks(16).enumerate() {
        let mut line = format!("{:04x}  ", r * 16);
        for (i, b) in chunk.iter().enumerate() {
            line.push_str(&paint(&format!("{b:02x}"), role(r * 16 + i)));
            line.push(' ');
            if i == 7 {
                line.push(' ');
            }
        }
        let missing = 16 - chunk.len();
        line.push_str(&" ".repeat(missing * 3 + usize::from(chunk.len() <= 8)));
        let ascii: String = chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
        writeln!(out, "{line} {ascii}")?;
    }
    Ok(())
}

/// Draws frame `frame` (already analysed into `rec`).
pub fn draw(out: &mut dyn Write, frame: &Frame<'_>, rec: &FrameRecord) -> io::Result<()> {
    let l = layers(frame);
    let d = frame.data;
    writeln!(
        out,
        "{}",
        paint(
            &format!(
                "{} {}: {} {} / {} {}",
                tr("frame", "帧"),
                frame.number,
                d.len(),
                tr("bytes captured", "字节已捕获"),
                frame.orig_len,
                tr("on the wire", "字节在线路上")
            ),
            Role::Heading
        )
    )?;
    if let (Some(src), Some(dst)) = (rec.src, rec.dst) {
        writeln!(out, "IP: {src} → {dst}")?;
    }
    match dissect(frame, rec) {
        Dissection { header: Header::Tcp(fields), notes, .. } => tcp_diagram(out, &fields, &notes)?,
        Dissection { header: Header::Udp(fields), .. } => udp_diagram(out, &fields)?,
        _ => writeln!(out, "{}", tr("(no TCP or UDP header to draw)", "（没有可画的 TCP 或 UDP 首部）"))?,
    }
    writeln!(
        out,
        "{}",
        paint(
            tr("bytes (link · IP · transport · payload, by colour):", "字节（按颜色：链路 · IP · 传输层 · 数据）："),
            Role::Heading
        )
    )?;
    hex_dump(out, d, &l)
}
