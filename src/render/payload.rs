//! The bytes on the wire, as a student's program sees them: Python's bytes
//! notation (`b'GET / HTTP/1.1\r\n'`) for text, hex for binary data, and a
//! mark where the preview stops before the payload does.

use crate::analyze::Payload;

/// What JSON says after a preview cut short by the capture's snaplen.
pub const CUT_BY_SNAPLEN: &str = "…(cut by snaplen)";

/// The preview as one line, as JSON carries it.
pub fn preview(p: &Payload) -> String {
    let mut s = if is_binary(&p.head) { hex(&p.head) } else { repr_lines(&p.head).concat() };
    s.push_str(ending(p, CUT_BY_SNAPLEN));
    s
}

/// The preview in lines of at most `width` columns, for the ladder: text
/// breaks after each `\n`, so an HTTP request reads as its lines;
/// continuation lines are indented past `b'`.
pub fn preview_lines(p: &Payload, cut_note: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let pieces: Vec<String> = if is_binary(&p.head) {
        // 16 bytes a row, continuation rows aligned under the first byte.
        p.head
            .chunks(16)
            .enumerate()
            .map(|(i, row)| {
                // The people-facing word for hex; continuation rows align under the bytes.
                let label = crate::i18n::tr("hex", "十六进制");
                let blank = " ".repeat(label.width());
                hex(row).replacen("hex", if i == 0 { label } else { &blank }, 1)
            })
            .collect()
    } else {
        repr_lines(&p.head).into_iter().enumerate().map(|(i, l)| if i == 0 { l } else { format!("  {l}") }).collect()
    };
    let mut lines: Vec<String> = pieces.iter().flat_map(|l| hard_wrap(l, width)).collect();
    let end = ending(p, cut_note);
    match lines.last_mut() {
        Some(last) if last.width() + end.width() <= width => last.push_str(end),
        _ => lines.push(format!("  {end}")),
    }
    if let Some(text) = utf8_text(&p.head) {
        lines.extend(hard_wrap(&format!("(UTF-8: {text})"), width));
    }
    lines
}

/// Cuts a line at exactly `width` columns: a preview has no words to keep
/// whole, and its spaces are data. Continuation lines are indented.
fn hard_wrap(line: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && used > 2 {
            lines.push(std::mem::take(&mut cur));
            cur.push_str("  ");
            used = 2;
        }
        cur.push(c);
        used += w;
    }
    lines.push(cur);
    lines
}

/// "…" when the preview limit stopped it, the snaplen note when the capture did.
fn ending<'a>(p: &Payload, cut_note: &'a str) -> &'a str {
    let shown = p.head.len() as u32;
    if shown >= p.len {
        ""
    } else if shown == p.captured {
        cut_note
    } else {
        "…"
    }
}

/// Python's `repr()` of bytes, in pieces that each end after a newline byte.
fn repr_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut s = String::from("b'");
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\n' => {
                s.push_str("\\n");
                lines.push(std::mem::take(&mut s));
            }
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('\'');
    lines.push(s);
    // A closing quote alone on a line after a final newline reads badly.
    if lines.len() > 1 && lines.last().is_some_and(|l| l == "'") {
        lines.pop();
        lines.last_mut().expect("more than one").push('\'');
    }
    lines
}

/// `hex 16 03 01 00 a5`, as `bytes.hex(' ')` writes it.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("hex");
    for b in bytes {
        s.push_str(&format!(" {b:02x}"));
    }
    s
}

/// Binary when less than half of the bytes are text: printable ASCII, tab,
/// CR, LF, or the bytes of a valid UTF-8 character (Chinese text is text).
/// A length prefix in front of a short message still shows as text.
fn is_binary(bytes: &[u8]) -> bool {
    let mut text = 0usize;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if !c.is_control() || matches!(c, '\t' | '\r' | '\n') {
                text += c.len_utf8();
            }
        }
    }
    text * 2 < bytes.len()
}

/// The bytes decoded, when they hold UTF-8 beyond ASCII (b'\xe4\xbd\xa0' is
/// "你"): what the other side's `decode()` will print.
fn utf8_text(bytes: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut wide = false;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            wide |= !c.is_ascii();
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push('·'),
                c => out.push(c),
            }
        }
        if !chunk.invalid().is_empty() {
            out.push('\u{fffd}');
        }
    }
    wide.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(head: &[u8], len: u32, captured: u32) -> Payload {
        Payload { head: head.into(), len, captured }
    }

    fn whole(data: &[u8]) -> Payload {
        payload(data, data.len() as u32, data.len() as u32)
    }

    #[test]
    fn text_with_escapes_like_python() {
        assert_eq!(preview(&whole(b"hello")), "b'hello'");
        assert_eq!(preview(&whole(b"GET / HTTP/1.1\r\n\r\n")), r"b'GET / HTTP/1.1\r\n\r\n'");
        assert_eq!(preview(&whole(b"it's a\\b\tc")), r"b'it\'s a\\b\tc'");
        // A length prefix before a short message: still text, with \x escapes.
        assert_eq!(preview(&whole(b"\x00\x00\x00\x05hello")), r"b'\x00\x00\x00\x05hello'");
        // Chinese in UTF-8 is text: Python shows the bytes escaped.
        assert_eq!(preview(&whole("你好".as_bytes())), r"b'\xe4\xbd\xa0\xe5\xa5\xbd'");
    }

    #[test]
    fn binary_as_hex() {
        assert_eq!(preview(&whole(&[0x16, 0x03, 0x01, 0x00, 0xa5, 0x01])), "hex 16 03 01 00 a5 01");
        assert_eq!(preview(&whole(&[0, 0, 0, 5])), "hex 00 00 00 05");
    }

    #[test]
    fn limit_and_snaplen_cut() {
        // The preview limit (8 of 18 bytes shown, all 18 captured).
        assert_eq!(preview(&payload(b"GET / HT", 18, 18)), "b'GET / HT'…");
        // The capture's snaplen: only 8 bytes exist.
        assert_eq!(preview(&payload(b"GET / HT", 18, 8)), "b'GET / HT'…(cut by snaplen)");
        // Nothing of the payload captured.
        assert_eq!(preview(&payload(b"", 1448, 0)), "b''…(cut by snaplen)");
        // Cut by snaplen further on than the limit: the limit is what stopped the preview.
        assert_eq!(preview(&payload(b"GET / HT", 1448, 54)), "b'GET / HT'…");
        assert_eq!(preview(&payload(&[0xff, 0xfe], 100, 2)), "hex ff fe…(cut by snaplen)");
    }

    #[test]
    fn ladder_lines_follow_the_message_lines() {
        let p = whole(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(
            preview_lines(&p, "…", 52),
            vec![r"b'GET /index.html HTTP/1.1\r\n", r"  Host: localhost\r\n", r"  \r\n'"]
        );
        let p = payload(b"hello\n", 12, 12);
        assert_eq!(preview_lines(&p, "…", 52), vec![r"b'hello\n'…"]);
        let p = payload(&(0u8..20).collect::<Vec<u8>>(), 20, 20);
        assert_eq!(
            preview_lines(&p, "…", 52),
            vec!["hex 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", "    10 11 12 13"]
        );
        let p = whole("你好\n".as_bytes());
        assert_eq!(preview_lines(&p, "…", 52), vec![r"b'\xe4\xbd\xa0\xe5\xa5\xbd\n'", r"(UTF-8: 你好\n)"]);
    }

    #[test]
    fn ladder_lines_fit_the_width() {
        use unicode_width::UnicodeWidthStr;
        // Long text is cut at the width, spaces kept as they are.
        let p = payload(b"a  b  c  d  e  f  g  h", 100, 22);
        let lines = preview_lines(&p, "…(cut by snaplen)", 16);
        assert_eq!(lines, vec!["b'a  b  c  d  e ", "   f  g  h'", "  …(cut by snaplen)"]);
        let p = payload(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 2048, 30);
        for line in preview_lines(&p, "…（被 snaplen 截断）", 52) {
            assert!(line.width() <= 52, "{line}");
        }
        assert!(preview_lines(&p, "…（被 snaplen 截断）", 52).last().unwrap().ends_with("…（被 snaplen 截断）"));
    }
}
