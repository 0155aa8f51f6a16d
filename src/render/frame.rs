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

fn tcp_diagram(out: &mut dyn Write, t: &[u8], rec: &FrameRecord) -> io::Result<()> {
    let (Some(sport), Some(dport), Some(seq), Some(ack)) = (be16(t, 0), be16(t, 2), be32(t, 4), be32(t, 8)) else {
        return Ok(());
    };
    let tcp = rec.tcp.as_ref();
    writeln!(out, " 0                   1                   2                   3")?;
    writeln!(out, " 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1")?;
    writeln!(out, "{RULER}")?;
    row(out, &[(16, format!("{} {sport}", tr("Source Port", "源端口"))), (16, format!("{} {dport}", tr("Destination Port", "目的端口")))])?;
    writeln!(out, "{RULER}")?;
    let rel = |v: Option<u32>| v.map(|r| format!(" ({} {r})", tr("relative", "相对"))).unwrap_or_default();
    row(out, &[(32, format!("{} {seq}{}", tr("Sequence Number", "序号"), rel(tcp.map(|t| t.seq))))])?;
    writeln!(out, "{RULER}")?;
    row(out, &[(32, format!("{} {ack}{}", tr("Acknowledgment Number", "确认号"), rel(tcp.map(|t| t.ack))))])?;
    writeln!(out, "{RULER}")?;
    let (Some(&off), Some(&flags), Some(win)) = (t.get(12), t.get(13), be16(t, 14)) else { return Ok(()) };
    let bit = |b: u8| if flags & b != 0 { "1" } else { "0" };
    row(
        out,
        &[
            (4, format!("{}", off >> 4)),
            (4, format!("{}", off & 0x0f)),
            (1, bit(0x80).into()),
            (1, bit(0x40).into()),
            (1, bit(0x20).into()),
            (1, bit(0x10).into()),
            (1, bit(0x08).into()),
            (1, bit(0x04).into()),
            (1, bit(0x02).into()),
            (1, bit(0x01).into()),
            (16, format!("{} {win}", tr("Window", "窗口"))),
        ],
    )?;
    writeln!(
        out,
        "|{}|{}|C|E|U|A|P|R|S|F|{}|",
        centered(tr("Offset", "偏移"), 7),
        centered(tr("Rsrvd", "保留"), 7),
        " ".repeat(31)
    )?;
    writeln!(out, "{RULER}")?;
    let (Some(sum), Some(urg)) = (be16(t, 16), be16(t, 18)) else { return Ok(()) };
    row(out, &[(16, format!("{} 0x{sum:04x}", tr("Checksum", "校验和"))), (16, format!("{} {urg}", tr("Urgent Pointer", "紧急指针")))])?;
    writeln!(out, "{RULER}")?;
    let hlen = ((off >> 4) as usize) * 4;
    if hlen > 20 {
        row(out, &[(32, format!("{} ({} {})", tr("Options", "选项"), hlen - 20, tr("bytes", "字节")))])?;
        writeln!(out, "{RULER}")?;
    }
    let names: Vec<&str> = crate::decode::flags::NAMES
        .iter()
        .filter(|(b, _)| flags as u16 & b != 0)
        .map(|(_, n)| *n)
        .collect();
    writeln!(
        out,
        "{}: {} ({} {} × 4 = {} {}); {}: 0x{flags:02x} = {}",
        tr("Data offset", "数据偏移"),
        off >> 4,
        tr("header", "首部"),
        off >> 4,
        hlen,
        tr("bytes", "字节"),
        tr("flags", "标志"),
        names.join(",")
    )?;
    if let Some(t) = tcp {
        let mut opts = Vec::new();
        opts.extend(t.mss.map(|m| format!("MSS={m}")));
        opts.extend(t.wscale.map(|w| format!("WS={w} (×{})", 1u32 << w.min(14))));
        if t.sack_permitted {
            opts.push("SACK_PERM".into());
        }
        if t.timestamps {
            opts.push("TS".into());
        }
        if !opts.is_empty() {
            writeln!(out, "{}: {}", tr("options", "选项"), opts.join(" "))?;
        }
        writeln!(out, "{}: {} {}", tr("payload", "数据"), t.len, tr("bytes", "字节"))?;
    }
    Ok(())
}

fn udp_diagram(out: &mut dyn Write, u: &[u8]) -> io::Result<()> {
    let (Some(sport), Some(dport), Some(len), Some(sum)) = (be16(u, 0), be16(u, 2), be16(u, 4), be16(u, 6)) else {
        return Ok(());
    };
    writeln!(out, " 0      7 8     15 16    23 24    31")?;
    writeln!(out, "+--------+--------+--------+--------+")?;
    let cell = |s: String| centered(&s, 17);
    writeln!(out, "|{}|{}|", cell(format!("{} {sport}", tr("src port", "源端口"))), cell(format!("{} {dport}", tr("dst port", "目的端口"))))?;
    writeln!(out, "+--------+--------+--------+--------+")?;
    writeln!(out, "|{}|{}|", cell(format!("{} {len}", tr("length", "长度"))), cell(format!("{} 0x{sum:04x}", tr("checksum", "校验和"))))?;
    writeln!(out, "+--------+--------+--------+--------+")?;
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
    match (l.transport, rec.tcp.is_some(), rec.udp.is_some()) {
        (Some(t), true, _) => tcp_diagram(out, &d[t.min(d.len())..], rec)?,
        (Some(t), _, true) => udp_diagram(out, &d[t.min(d.len())..])?,
        _ => writeln!(out, "{}", tr("(no TCP or UDP header to draw)", "（没有可画的 TCP 或 UDP 首部）"))?,
    }
    writeln!(
        out,
        "{}",
        paint(tr("bytes (link · IP · transport · payload, by colour):", "字节（按颜色：链路 · IP · 传输层 · 数据）："), Role::Heading)
    )?;
    hex_dump(out, d, &l)
}
