//! The terminal (issue 10): at `--width 80` no line wirelab prints is wider
//! than 80 display columns, in English or Chinese (a CJK character takes
//! two); a Chinese run has no English labels left; every fixed text of the
//! renderers exists in both languages.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use unicode_width::UnicodeWidthStr;

fn wirelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .env_remove("WIRELAB_LABS")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .env("NO_COLOR", "1")
        .output()
        .expect("run wirelab")
}

fn stdout_of(args: &[&str]) -> String {
    let out = wirelab(args);
    assert!(out.status.success(), "wirelab {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The widest line of `text`, in display columns.
fn widest(text: &str) -> (usize, &str) {
    text.lines().map(|l| (l.width(), l)).max_by_key(|(w, _)| *w).unwrap_or((0, ""))
}

fn assert_fits(what: &str, text: &str, width: usize) -> usize {
    let (w, line) = widest(text);
    assert!(w <= width, "{what}: a line of {w} columns > {width}:\n{line}");
    w
}

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn lab_ids() -> Vec<String> {
    stdout_of(&["lab", "list", "--format", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn replay_fits_80_columns_in_both_languages() {
    for file in captures() {
        let file = file.to_str().unwrap();
        for lang in ["en", "zh"] {
            for format in ["ladder", "table"] {
                let text = stdout_of(&["replay", file, "--width", "80", "--lang", lang, "--format", format]);
                assert_fits(&format!("replay {file} --lang {lang} --format {format}"), &text, 80);
            }
        }
    }
}

#[test]
fn lab_show_and_list_fit_80_columns_in_both_languages() {
    for lang in ["en", "zh"] {
        for id in lab_ids() {
            let text = stdout_of(&["lab", "show", &id, "--width", "80", "--lang", lang]);
            assert_fits(&format!("lab show {id} --lang {lang}"), &text, 80);
            if lang == "zh" {
                assert_no_english_labels(&format!("lab show {id}"), &text, Some(&lab_text(&id)));
            }
        }
        let text = stdout_of(&["lab", "list", "--width", "80", "--lang", lang]);
        assert_fits(&format!("lab list --lang {lang}"), &text, 80);
    }
}

#[test]
fn wider_terminals_use_the_room() {
    let wide = stdout_of(&["replay", "handshake", "--width", "140"]);
    let (w, _) = widest(&wide);
    assert!(w > 120, "the ladder stays narrow at 140 columns ({w})");
    let list = stdout_of(&["lab", "list", "--width", "140", "--lang", "zh"]);
    assert!(widest(&list).0 > 120 && widest(&list).0 <= 140);
    // Not a terminal and no --width: 100 columns.
    assert_eq!(widest(&stdout_of(&["lab", "list"])).0, 100);
}

#[test]
fn lab_list_follows_the_course_and_speaks_chinese() {
    let ids = lab_ids();
    assert_eq!(&ids[..4], ["handshake", "echo", "teardown", "half-close"]);
    let zh = stdout_of(&["lab", "list", "--lang", "zh"]);
    for word in ["编号", "标题", "主题", "来源", "三次握手", "四次挥手", "黏包", "内置"] {
        assert!(zh.contains(word), "{word} missing:\n{zh}");
    }
    for word in ["title", "topics", "source", "built-in", "3-way handshake", "run one with"] {
        assert!(!zh.contains(word), "{word:?} left in Chinese:\n{zh}");
    }
}

#[test]
fn color_flag_and_theme() {
    let plain = stdout_of(&["replay", "handshake", "--color", "never"]);
    assert!(!plain.contains('\x1b'));
    // NO_COLOR is set by `wirelab()`: an explicit --color always wins over it.
    let colored = stdout_of(&["replay", "handshake", "--color", "always"]);
    assert!(colored.contains("\x1b["), "no escape codes with --color always");
    assert!(colored.contains("\x1b[2m"), "the default theme dims quiet traffic");
    let projector = stdout_of(&["replay", "handshake", "--color", "always", "--theme", "high-contrast"]);
    assert!(projector.contains("\x1b[1"), "high contrast is bold");
    // No dim (2), italic (3), yellow (33), blue (34) or cyan (36) on a projector.
    for code in ["\x1b[2m", "\x1b[3m", ";2m", ";3m", "33m", "34m", "36m"] {
        assert!(!projector.contains(code), "{code:?} in the high-contrast theme");
    }
    // Only the escape codes differ.
    let strip = |s: &str| {
        let mut out = String::new();
        let mut esc = false;
        for c in s.chars() {
            match (esc, c) {
                (false, '\x1b') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    };
    assert_eq!(strip(&colored), plain);
    assert_eq!(strip(&projector), plain);
    // auto: NO_COLOR and a pipe both mean no colour.
    assert!(!stdout_of(&["replay", "handshake"]).contains('\x1b'));
}

/// What a lab itself brings into the output: its code (calls as a program
/// writes them) and the words of its Chinese texts, actors and data, which
/// are not labels of wirelab's.
struct LabText {
    code: Vec<String>,
    words: HashSet<String>,
}

fn lab_text(id: &str) -> LabText {
    let lab = wirelab::lab::catalogue(&[]).find(id).unwrap().lab;
    let mut texts: Vec<String> = vec![lab.id.clone()];
    texts.extend(lab.title_zh.iter().chain(&lab.goal_zh).chain(&lab.summary_zh).cloned());
    texts.extend(lab.topics_zh.iter().cloned());
    // The lab wire's hosts are named by the lab, like its actors.
    texts.extend(lab.wire.iter().flat_map(|w| w.hosts.iter().map(|h| h.name.clone())));
    for s in &lab.steps {
        let s = s.get_ref();
        texts.push(s.actor.clone());
        texts.push(wirelab::lab::exec::signature(&s.call, None));
        texts.extend(s.say_zh.iter().cloned());
        texts.extend(s.quiz.iter().flat_map(|q| q.question_zh.clone()));
        texts.push(format!("{:?}", s.call));
    }
    let code = lab.steps.iter().map(|s| wirelab::lab::exec::signature(&s.get_ref().call, None)).collect();
    LabText { code, words: texts.iter().flat_map(|t| words(t)).collect() }
}

/// ASCII words with a lowercase letter, three letters or more: the shape of
/// an English label (state names, errno names and flags are upper case).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3 && w.chars().any(|c| c.is_ascii_lowercase()))
        .map(str::to_string)
        .collect()
}

/// Protocol tokens, call names and the command line, which stay as they are in Chinese.
const TOKENS: &[&str] = &[
    "seq",
    // the tool whose analysis wirelab matches, named in explanations
    "tshark",
    "ack",
    "len",
    "win",
    "connect",
    "accept",
    "send",
    "sendall",
    "recv",
    "close",
    "shutdown",
    "listen",
    "bind",
    "socket",
    "sendto",
    "recvfrom",
    "wirelab",
    "lab",
    "replay",
    "run",
    "show",
    "type",
    "code",
    "ICMPv",
    "snaplen",
    "sendfile",
    "join",
    "thread",
    "tcp",
    "udp",
    // Analysis flag names, as Wireshark and lab files spell them.
    "window",
    "full",
    "update",
    "zero",
    "probe",
    "spurious",
    "retransmission",
    "fast",
    "out",
    "order",
    "lost",
    "segment",
    "duplicate",
    "keep",
    "alive",
    "unreachable",
    "icmp",
    "reused",
    "ports",
    "previous",
    "not",
    "captured",
    "acked",
    "unseen",
    // TCP_INFO fields and congestion states as Linux names them (⟂ lines).
    "cwnd",
    "ssthresh",
    "rtt",
    "rto",
    "Open",
    "Disorder",
    "Recovery",
    "Loss",
    // HTTP header names and reason phrases (protocol tokens, as sent).
    "Found",
    "Host",
    "Content",
    "Length",
    "Type",
    "Connection",
    "Accept",
    "Encoding",
    "Transfer",
    "Server",
    "Date",
    "User",
    "Agent",
    "Keep",
    "Alive",
    "Cache",
    "Control",
    "Location",
    // Names.
    "errno",
    "Linux",
    "Wireshark",
    "tcpdump",
];

/// Labels that must not be left in a Chinese run.
const LABELS: &[&str] = &[
    "packets:",
    "wanted",
    ", saw",
    "kernel:",
    "step ",
    "expectations:",
    "passed",
    "failed",
    "Goal:",
    "returns:",
    "state:",
    "errno:",
    "data:",
    "(none)",
    "time(s)",
    "TCP stream",
    "UDP flow",
    " (client)",
    " (server)",
    "frames ",
    "capture:",
    "dropped",
    "quiz",
    "right!",
    "you said",
    "bytes",
    "skipped",
    "connection from",
    "local address",
];

fn assert_no_english_labels(what: &str, text: &str, lab: Option<&LabText>) {
    let mut prose = text.to_string();
    for code in lab.iter().flat_map(|l| &l.code) {
        prose = prose.replace(code.as_str(), "");
    }
    for label in LABELS {
        assert!(!prose.contains(label), "{what}: English label {label:?} in Chinese output:\n{text}");
    }
    let own = |w: &String| lab.is_some_and(|l| l.words.contains(w));
    let left: Vec<String> = words(&without_names(&without_bytes(text)))
        .into_iter()
        .filter(|w| !own(w) && !TOKENS.contains(&w.as_str()))
        .collect();
    assert!(left.is_empty(), "{what}: English words in Chinese output: {left:?}\n{text}");
}

/// `text` without host names (`www.course.test` in a DNS line): data, not words.
fn without_names(text: &str) -> String {
    let is_name = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        w.contains('.')
            // DNS names, and kernel settings (net.ipv4.tcp_sack)
            && w.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    };
    text.lines()
        .map(|l| l.split(' ').filter(|w| !is_name(w)).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` without its Python bytes literals (`b'GET / HTTP/1.1\r\n'`): data, not words.
fn without_bytes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("b'") {
        out.push_str(&rest[..at]);
        let body = &rest[at + 2..];
        let mut end = body.len();
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '\'') => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// `text` without `word` where it stands alone (not inside a longer word).
fn without_word(text: &str, word: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let alone =
            !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric());
        out.push_str(&rest[..at]);
        if !alone {
            out.push_str(word);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The words of a capture's packet comments, longest first.
fn comment_words(file: &str) -> Vec<String> {
    let json = stdout_of(&["replay", file, "--format", "jsonl"]);
    let mut words: Vec<String> = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["comment"].as_str().map(str::to_owned))
        .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.dedup();
    words
}

#[test]
fn chinese_replays_have_no_english_labels() {
    for file in captures() {
        let file = file.to_str().unwrap();
        for format in ["ladder", "table"] {
            let mut text = stdout_of(&["replay", file, "--lang", "zh", "--width", "80", "--format", format]);
            // A packet comment is the file's own text (a lab run's step and
            // call, written in English like JSON), shown as it is: not a label.
            for word in comment_words(file) {
                if text.contains(&word) {
                    text = text.replace(&word, "");
                    continue;
                }
                // A long call (`send("课件.bin".encode("gbk"))`) is wrapped
                // mid-word at 80 columns: its ASCII pieces are the comment's.
                for piece in word.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| p.len() >= 3) {
                    text = without_word(&text, piece);
                }
            }
            assert_no_english_labels(&format!("replay {file} --format {format}"), &text, None);
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `lab run handshake` and `lab run teardown`, live, at 80 columns in both
/// languages (six runs at once: teardown waits 3 s on TIME_WAIT; the HTTP
/// grading lab has the HTTP response notes and expectations).
#[test]
fn live_lab_runs_fit_80_columns_and_chinese_has_no_english_labels() {
    if !is_root() {
        eprintln!("skipped: live capture needs root");
        return;
    }
    let runs: Vec<_> = ["handshake", "teardown", "grade-http-server"]
        .into_iter()
        .flat_map(|id| ["en", "zh"].map(move |lang| (id, lang)))
        .map(|(id, lang)| {
            std::thread::spawn(move || {
                let out = wirelab(&["lab", "run", id, "--width", "80", "--lang", lang]);
                (id, lang, out)
            })
        })
        .collect();
    for run in runs {
        let (id, lang, out) = run.join().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "lab run {id} --lang {lang}:\n{text}{}", String::from_utf8_lossy(&out.stderr));
        let w = assert_fits(&format!("lab run {id} --lang {lang}"), &text, 80);
        eprintln!("lab run {id} --lang {lang}: widest line {w} columns");
        if lang == "zh" {
            assert!(text.contains("内核：") && text.contains("步骤 1/"), "{text}");
            assert_no_english_labels(&format!("lab run {id}"), &text, Some(&lab_text(id)));
        }
    }
}

/// The arguments of each `NAME(…)` call in `src`, split at top-level commas
/// (strings, chars and nesting respected).
fn calls<'a>(src: &'a str, name: &str) -> Vec<Vec<&'a str>> {
    let mut found = Vec::new();
    let pat = format!("{name}(");
    let mut from = 0;
    while let Some(at) = src[from..].find(&pat) {
        let start = from + at;
        from = start + pat.len();
        let before = src[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') || src[..start].ends_with("fn ") {
            continue;
        }
        let (mut depth, mut args, mut arg_start, mut in_str, mut escaped) = (0i32, Vec::new(), from, false, false);
        for (i, c) in src[from..].char_indices() {
            let i = from + i;
            if in_str {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth > 0 => depth -= 1,
                ',' if depth == 0 => {
                    args.push(src[arg_start..i].trim());
                    arg_start = i + 1;
                }
                ')' => {
                    args.push(src[arg_start..i].trim());
                    break;
                }
                _ => {}
            }
        }
        found.push(args);
    }
    found
}

/// The first string literal of `arg`.
fn literal(arg: &str) -> Option<String> {
    let start = arg.find('"')? + 1;
    let mut out = String::new();
    let mut chars = arg[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3000}'..='\u{303f}').contains(&c)
            || ('\u{ff00}'..='\u{ffef}').contains(&c)
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `tr("en", "zh")` and `either(format!("en"…), format!("zh"…))` take both
/// languages, so neither can be forgotten; this catches a Chinese text that
/// is still English (or empty) in any of them.
#[test]
fn every_fixed_text_has_both_languages() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let (mut pairs, mut bad) = (0, Vec::new());
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap();
        for name in ["tr", "either"] {
            for args in calls(&src, name) {
                let [en, zh] = args[..] else { continue };
                let (Some(en), Some(zh)) = (literal(en), literal(zh)) else { continue };
                pairs += 1;
                let token = en == zh && words(&en).is_empty();
                if en.is_empty() || has_cjk(&en) || !(has_cjk(&zh) || token) {
                    bad.push(format!("{}: {en:?} / {zh:?}", file.display()));
                }
            }
        }
    }
    assert!(pairs > 50, "only {pairs} pairs found: the scan is broken");
    assert!(bad.is_empty(), "texts without both languages:\n{}", bad.join("\n"));
}

/// In a real terminal 80 columns wide (a pseudo-terminal), with no `--width`:
/// the width is detected and no line is wider.
#[test]
fn a_real_80_column_terminal_is_detected() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    for lang in ["en", "zh"] {
        let (mut master, mut slave) = (-1, -1);
        let mut size = libc::winsize { ws_row: 50, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two fds; the winsize pointer is valid for the call.
        let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &mut size) };
        assert_eq!(r, 0);
        // SAFETY: openpty succeeded: both fds are open and owned by nobody else.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .args(["--lang", lang, "replay", "echo"])
            .env("NO_COLOR", "1")
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap())
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        drop(slave);
        let status = child.wait().unwrap();
        assert!(status.success());
        let mut text = Vec::new();
        let mut master = std::fs::File::from(master);
        let mut buf = [0u8; 65536];
        // The child has exited: read what the pty holds until it reports EIO/EOF.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&text).replace('\r', "");
        assert!(text.lines().count() > 10, "{text}");
        let widest = text.lines().map(|l| unicode_width::UnicodeWidthStr::width(l)).max().unwrap_or(0);
        assert!(widest <= 80, "{lang}: a line of {widest} columns in an 80-column terminal:\n{text}");
    }
}
