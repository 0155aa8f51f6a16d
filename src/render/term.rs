//! The terminal: how wide output may be, chosen once at start-up, and the text
//! fitting every view shares. Widths are display columns: a Chinese character
//! takes two, so counting `char`s would let Chinese lines overflow.

use std::io::IsTerminal;
use std::sync::OnceLock;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Width when stdout is not a terminal (a file, a pipe, a test) and no
/// `--width` is given: what the ladder was first laid out for.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrowest layout: the ladder's margin and two lanes take 46 columns, and
/// an arrow narrower than 14 has no room for a label.
pub const MIN_WIDTH: usize = 60;

static WIDTH: OnceLock<usize> = OnceLock::new();

/// Chooses the width once: `--width` if given, else the terminal's, else
/// [`DEFAULT_WIDTH`]; never below [`MIN_WIDTH`].
pub fn choose_width(flag: Option<usize>) -> usize {
    let w = flag.or_else(terminal_columns).unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH);
    let _ = WIDTH.set(w);
    w
}

/// The width chosen at start-up ([`DEFAULT_WIDTH`] if none was).
pub fn width() -> usize {
    *WIDTH.get().unwrap_or(&DEFAULT_WIDTH)
}

/// Columns of the terminal stdout is, if it is one.
pub fn terminal_columns() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points at one.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// Display columns of `s`.
pub fn cols(s: &str) -> usize {
    // Printable ASCII is one column a byte: most lines are, and the table
    // lookup per character is what this skips.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.len();
    }
    // The ladder's own signs are one column each and join no sequence:
    // counting them spares the general lookup.
    if s.chars().all(|c| (' '..'\u{7f}').contains(&c) || one_column(c)) {
        return s.chars().count();
    }
    s.width()
}

/// Non-ASCII characters wirelab writes itself, each one column wide.
fn one_column(c: char) -> bool {
    matches!(
        c,
        '·' | '–'
            | '—'
            | '→'
            | '←'
            | '×'
            | '…'
            | '│'
            | '─'
            | '▶'
            | '◀'
            | '✗'
            | 'ℹ'
            | '⋯'
            | '⇄'
            | '⧉'
            | '✎'
            | '“'
            | '”'
            | '‘'
            | '’'
            | 'µ'
    )
}

/// Prose that [`wrap`] would give back unchanged as one line: words
/// separated by single spaces, within `width` columns.
pub fn one_line(text: &str, width: usize) -> bool {
    // Columns never exceed bytes, so a short text needs no width count.
    if !(text.len() <= width || cols(text) <= width) {
        return false;
    }
    // No space first, last or twice; no other whitespace.
    let mut after_space = true;
    for c in text.chars() {
        if c == ' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if c.is_whitespace() {
            return false;
        } else {
            after_space = false;
        }
    }
    !after_space
}

/// `s` padded with spaces on the right to `w` columns.
pub fn pad(s: &str, w: usize) -> String {
    format!("{s}{:n$}", "", n = w.saturating_sub(cols(s)))
}

/// `s` padded with spaces on the left to `w` columns.
pub fn pad_left(s: &str, w: usize) -> String {
    format!("{:n$}{s}", "", n = w.saturating_sub(cols(s)))
}

fn is_wide(c: char) -> bool {
    c.width().unwrap_or(0) > 1
}

/// Chinese punctuation that must not start a line.
const CLOSING: &str = "，。、；：！？）」』”’》…";
/// Chinese punctuation that must not end a line.
const OPENING: &str = "（「『“‘《";

fn closing(piece: &str) -> bool {
    piece.chars().all(|c| CLOSING.contains(c))
}

fn opening(piece: &str) -> bool {
    piece.chars().all(|c| OPENING.contains(c))
}

fn closing_or_opening(c: char) -> bool {
    CLOSING.contains(c) || OPENING.contains(c)
}

/// Greedy wrap of prose to `width` columns. Words are kept whole (a word
/// wider than the line is cut); Chinese text, which has no spaces, may break
/// between any two characters, but never before closing or after opening
/// punctuation (the character before moves down with it instead).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    if one_line(text, width.max(2)) {
        return vec![text.to_string()];
    }
    if text.chars().all(|c| c.is_ascii() || (!is_wide(c) && !closing_or_opening(c))) {
        return wrap_narrow(text, width.max(2));
    }
    wrap_words(text, width)
}

/// [`wrap_narrow`] for text whose words are parted by single spaces (no
/// other whitespace, none first or last) and fit the width, as sentences are:
/// its lines are then slices of the text, one allocation each. `None` when
/// the text is not like that.
fn wrap_spaced(text: &str, width: usize) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    // Byte where the line starts, where its last word ends, and its columns.
    let (mut start, mut end, mut used) = (0, 0, 0);
    let bytes = text.as_bytes();
    // One pass over the bytes: a word ends at a space or at the end.
    let (mut word, mut w, mut i) = (0, 0, 0);
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b' ' {
            if i == word || w > width {
                return None;
            }
            if end > start && used + 1 + w > width {
                lines.push(text[start..end].to_string());
                (start, used) = (word, 0);
            } else if end > start {
                used += 1;
            }
            used += w;
            end = i;
            (word, w, i) = (i + 1, 0, i + 1);
            continue;
        }
        let b = bytes[i];
        if b.is_ascii_graphic() {
            w += 1;
            i += 1;
            continue;
        }
        // Other whitespace and control characters: the general path.
        let c = text[i..].chars().next()?;
        if c.is_ascii() || c.is_whitespace() {
            return None;
        }
        w += c.width().unwrap_or(0);
        i += c.len_utf8();
    }
    if end > start {
        lines.push(text[start..end].to_string());
    }
    Some(lines)
}

/// [`wrap_words`] for text without wide characters or the punctuation its
/// rules move (English, and most of what a capture says): then a plain
/// greedy fill by columns gives the same lines, without a String per piece.
fn wrap_narrow(text: &str, width: usize) -> Vec<String> {
    if let Some(lines) = wrap_spaced(text, width) {
        return lines;
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split_whitespace() {
        let mut rest = word;
        let mut first = true;
        while !rest.is_empty() {
            // A word wider than the line is cut into pieces of the width.
            let (mut end, mut w) = (0, 0);
            for (i, c) in rest.char_indices() {
                let cw = c.width().unwrap_or(0);
                if end > 0 && w + cw > width {
                    break;
                }
                w += cw;
                end = i + c.len_utf8();
            }
            let (piece, tail) = rest.split_at(end);
            rest = tail;
            let space = first && !line.is_empty();
            first = false;
            if used + usize::from(space) + w > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            } else if space {
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

/// [`wrap`] without its shortcut.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    // The current line as pieces: (text, columns, a space before it).
    let mut line: Vec<(String, usize, bool)> = Vec::new();
    let mut used = 0usize;
    let mut lines = Vec::new();
    let render = |line: &[(String, usize, bool)]| {
        let mut s = String::new();
        for (i, (p, _, space)) in line.iter().enumerate() {
            if *space && i > 0 {
                s.push(' ');
            }
            s.push_str(p);
        }
        s
    };
    for word in text.split_whitespace() {
        // A word splits into runs of narrow characters (cut to the width) and single wide ones.
        let mut pieces: Vec<(String, usize)> = Vec::new();
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            match pieces.last_mut() {
                Some((p, pw)) if !is_wide(c) && !p.chars().last().is_some_and(is_wide) && *pw + w <= width => {
                    p.push(c);
                    *pw += w;
                }
                _ => pieces.push((c.to_string(), w)),
            }
        }
        for (i, (piece, w)) in pieces.into_iter().enumerate() {
            let space = i == 0 && !line.is_empty();
            if used + usize::from(space) + w > width && !line.is_empty() {
                let mut carry = Vec::new();
                if closing(&piece) && line.len() > 1 {
                    carry.push(line.pop().expect("two pieces"));
                    // "）；" after a character: the whole run moves, so no line starts with "）".
                    while line.len() > 1 && carry.first().is_some_and(|(p, _, _)| closing(p)) {
                        carry.insert(0, line.pop().expect("two pieces"));
                    }
                }
                while line.len() > 1 && line.last().is_some_and(|(p, _, _)| opening(p)) {
                    carry.insert(0, line.pop().expect("two pieces"));
                }
                lines.push(render(&line));
                line = carry;
                if let Some(first) = line.first_mut() {
                    first.2 = false;
                }
                let space = !line.is_empty() && i == 0;
                line.push((piece, w, space));
                used = line.iter().enumerate().map(|(j, (_, w, s))| w + usize::from(*s && j > 0)).sum();
            } else {
                used += w + usize::from(space);
                line.push((piece, w, space));
            }
        }
    }
    if !line.is_empty() {
        lines.push(render(&line));
    }
    lines
}

/// Wraps code or data (a call's signature, received bytes) to `width`
/// columns, keeping every character: it breaks after a space when one is in
/// the second half of the line, anywhere otherwise.
pub fn wrap_code(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    let mut rest = text;
    while cols(rest) > width {
        let (mut end, mut used, mut space) = (0, 0, None);
        for (i, c) in rest.char_indices() {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                break;
            }
            used += w;
            end = i + c.len_utf8();
            if c == ' ' && used > width / 2 {
                space = Some(end);
            }
        }
        // A character wider than the whole line still has to go somewhere.
        let end = if end == 0 { rest.chars().next().map_or(rest.len(), char::len_utf8) } else { end };
        let cut = space.unwrap_or(end);
        lines.push(rest[..cut].trim_end().to_string());
        rest = &rest[cut..];
    }
    if !rest.is_empty() || lines.is_empty() {
        lines.push(rest.to_string());
    }
    lines
}

/// `text` after `prefix`, wrapped to `width`, later lines indented under the
/// text; `code` keeps the text's characters as they are (see [`wrap_code`]).
pub fn hang(prefix: &str, text: &str, width: usize, code: bool) -> Vec<String> {
    let indent = cols(prefix);
    let room = width.saturating_sub(indent).max(12);
    let body = if code { wrap_code(text, room) } else { wrap(text, room) };
    let body = if body.is_empty() { vec![String::new()] } else { body };
    body.into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { format!("{prefix}{l}") } else { format!("{:indent$}{l}", "") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_line_shortcut_changes_nothing() {
        let texts = [
            "kernel: ACK",
            "send()/sendall()",
            " leading space",
            "trailing space ",
            "two  spaces",
            "tab\there",
            "new\nline",
            "三次握手 1/3：connect() 发出 SYN，带着客户端的初始序列号（ISN）",
            "一二三四五。",
            "",
            "x",
            "word",
            "a\u{3000}b",
        ];
        for text in texts {
            for width in 0..60 {
                assert_eq!(wrap(text, width), wrap_words(text, width), "{text:?} at {width}");
            }
        }
        let words = [
            "a",
            "bb",
            "ccc",
            "kernel:",
            "ACK,",
            "connect()",
            "returns",
            "(ISN);",
            "x".repeat(30).leak(),
            "40–200",
            "×1024",
            "é\u{301}",
            "a\u{1}b",
            "\u{a0}",
            "…",
            "”",
            "（ISN）",
            "中文",
            "ms,",
        ];
        let mut seed = 7u32;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..seed % 19 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                text.push_str(words[(seed >> 8) as usize % words.len()]);
                text.push_str([" ", " ", "  ", "\t", "\n", "\u{b}"][(seed >> 20) as usize % 6]);
            }
            let width = (seed >> 4) as usize % 50;
            assert_eq!(wrap(&text, width), wrap_words(&text, width), "{text:?} at {width}");
        }
        // Sentences: single spaces only (the slices path of wrap_narrow).
        for _ in 0..3000 {
            let mut text = String::new();
            for i in 0..1 + seed % 40 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(words[(seed >> 8) as usize % words.len()]);
            }
            let width = (seed >> 4) as usize % 50;
            assert_eq!(wrap(&text, width), wrap_words(&text, width), "{text:?} at {width}");
        }
        let signs = "·–—→←×…│─▶◀✗ℹ⋯⇄⧉✎“”‘’µ";
        for c in signs.chars() {
            assert!(one_column(c) && c.width() == Some(1), "{c}");
        }
        for text in ["ascii", "时间(秒)", "é", "\u{301}", "tab\t", "\u{7f}", signs, "a · b – c → d", "✎ x"] {
            assert_eq!(cols(text), text.width(), "{text:?}");
        }
    }

    #[test]
    fn wraps_english_by_words_and_chinese_by_characters() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        let zh = wrap("三次握手 1/3：connect() 发出 SYN，带着客户端的初始序列号（ISN）；相对序号从 0 开始。", 20);
        assert!(zh.len() > 3);
        assert!(zh.iter().all(|l| cols(l) <= 20), "{zh:?}");
        assert!(!zh.iter().any(|l| l.starts_with('，') || l.starts_with('。')));
    }

    #[test]
    fn a_run_of_closing_punctuation_never_starts_a_line() {
        let text = "RFC 9293 的 MSL 是 2 分钟（2MSL = 4 分钟）；Linux 固定等待 60 秒";
        for width in 10..40 {
            for line in wrap(text, width) {
                assert!(!line.starts_with('）') && !line.starts_with('；'), "{width}: {line:?}");
            }
        }
    }

    #[test]
    fn closing_punctuation_takes_the_character_before_it_to_the_next_line() {
        // 10 columns: "一二三四五" fills the line; "。" must not start the next one.
        let lines = wrap("一二三四五。", 10);
        assert_eq!(lines, vec!["一二三四", "五。"]);
        let lines = wrap("一二三四（五）", 10);
        assert!(lines.iter().all(|l| cols(l) <= 10 && !l.ends_with('（')), "{lines:?}");
    }

    #[test]
    fn long_words_and_code_are_cut_to_the_width() {
        assert!(wrap(&"x".repeat(25), 10).iter().all(|l| cols(l) <= 10));
        let code = "send(b'hello world, this is a long message')";
        let lines = wrap_code(code, 20);
        assert!(lines.iter().all(|l| cols(l) <= 20), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), code.replace(' ', ""));
        assert_eq!(wrap_code("短", 20), vec!["短"]);
        assert_eq!(hang("   → ", "数据 数据", 80, false), vec!["   → 数据 数据"]);
    }
}
