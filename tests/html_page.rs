//! `replay --html FILE`: the page is written, has an arrow per frame, asks
//! for nothing outside itself, and in Chromium `#frame=2` fills the detail
//! panel with the SYN-ACK's header, without a console message; the
//! screenshot is the README's (docs/screenshots/handshake.png).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes the page of `capture` in `lang`; `test` keeps the tests' files apart.
fn page(test: &str, capture: &str, lang: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("wirelab-html-{}-{test}-{capture}-{lang}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("page.html");
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["--lang", lang, "replay"])
        .arg(common::captures_dir().join(format!("{capture}.pcap")))
        .arg("--html")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The ladder still goes to stdout: the page is in addition to --format.
    assert!(String::from_utf8_lossy(&out.stdout).contains("TCP"), "no ladder on stdout");
    let html = std::fs::read_to_string(&file).unwrap();
    (file, html)
}

/// The values of every `name="…"` attribute.
fn attrs(html: &str, name: &str) -> Vec<String> {
    let pat = format!("{name}=\"");
    html.match_indices(&pat)
        .map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn self_contained(html: &str) {
    assert!(!html.contains("http://") && !html.contains("https://"), "a URL in the page");
    for name in ["src", "href"] {
        for v in attrs(html, name) {
            assert!(v.starts_with('#') || v.starts_with("data:"), "{name}={v:?} points outside the page");
        }
    }
    assert!(!html.contains("@import") && !html.contains("url("), "CSS that loads something");
}

#[test]
fn one_arrow_per_frame_and_nothing_from_outside() {
    for capture in ["handshake", "http"] {
        let (_, html) = page("arrows", capture, "en");
        // The ladder (the script after it names the attribute too).
        let ladder = &html[..html.find("<aside").unwrap()];
        let frames: BTreeSet<u64> = attrs(ladder, "data-frame").iter().map(|v| v.parse().unwrap()).collect();
        let n = common::wirelab_jsonl(&common::captures_dir().join(format!("{capture}.pcap"))).len() as u64;
        assert!(n > 0);
        assert_eq!(frames, (1..=n).collect::<BTreeSet<u64>>(), "{capture}");
        assert_eq!(attrs(ladder, "data-frame").len() as u64, n, "{capture}: a frame drawn twice");
        self_contained(&html);
        // The JSON blob cannot be ended early by text from the capture.
        let blob = &html[html.find("id=\"frames\">").unwrap()..];
        let blob = &blob[..blob.find("</script>").unwrap()];
        assert!(!blob[1..].contains('<'), "{capture}: '<' in the JSON blob");
    }
    let (_, zh) = page("arrows", "handshake", "zh");
    assert!(zh.contains("lang=\"zh-CN\"") && zh.contains("TCP 流") && zh.contains("源端口"), "Chinese page");
    self_contained(&zh);
}

fn no_console_message(stderr: &str) {
    let msgs: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(msgs.is_empty(), "console messages:\n{}", msgs.join("\n"));
}

/// The classes of the element that has the attribute `attr` (e.g. `data-key="syn"`).
fn class_of<'a>(html: &'a str, attr: &str) -> &'a str {
    let at = html.find(attr).unwrap_or_else(|| panic!("no element with {attr}:\n{html}"));
    let tag = &html[html[..at].rfind('<').unwrap()..];
    let tag = &tag[..tag.find('>').unwrap()];
    let c = tag.find("class=\"").unwrap() + 7;
    &tag[c..c + tag[c..].find('"').unwrap()]
}

#[test]
fn in_chromium_frame_2_shows_the_syn_ack() {
    let Some(bin) = common::chromium() else { return };
    let (file, _) = page("chromium", "handshake", "en");
    let url = format!("file://{}#frame=2", file.display());
    let (dom, err) = common::run_chromium(bin, &url, &["--dump-dom"]);
    no_console_message(&err);
    let start = dom.find("id=\"panel\"").expect("panel in the DOM");
    let panel = &dom[start..start + dom[start..].find("</aside>").unwrap()];
    let rec = &common::wirelab_jsonl(&common::captures_dir().join("handshake.pcap"))[1];
    for port in ["sport", "dport"] {
        let p = rec[port].as_u64().unwrap().to_string();
        assert!(panel.contains(&format!(">{p}<")), "{port} {p} not in the panel:\n{panel}");
    }
    assert!(panel.contains("frame 2: 74 bytes captured"), "{panel}");
    assert!(panel.contains("SYN,ACK"), "{panel}");
    for (key, on) in [("syn", true), ("ack_bit", true), ("fin", false), ("rst", false), ("psh", false)] {
        let class = class_of(panel, &format!("data-key=\"{key}\""));
        assert_eq!(class.split(' ').any(|c| c == "on"), on, "{key}: class {class:?}");
    }
    // The hex dump: 74 bytes, each its own element for highlighting.
    assert_eq!(panel.matches("data-i=\"").count(), 74, "hex dump bytes");
    // The selected arrow is marked.
    assert!(class_of(&dom, "data-frame=\"2\"").split(' ').any(|c| c == "sel"), "frame 2 not selected");

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/handshake.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    let (_, err) = common::run_chromium(
        bin,
        &url,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1280,900", "--hide-scrollbars"],
    );
    no_console_message(&err);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "screenshot of {} bytes: blank?", png.len());
}

/// Writes the page of `capture` with small limits, so that a small capture
/// has compressed chunks (`eager` bytes plain) and folded runs drawn in
/// blocks of 50.
fn small_limits_page(capture: &str, eager: usize) -> (PathBuf, String) {
    use wirelab::render::html::{HtmlRenderer, Limits};
    let dir = std::env::temp_dir().join(format!("wirelab-html-{}-limits-{eager}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("page.html");
    let limits = Limits { eager, chunk: 20_000, group_block: 50, ..Limits::default() };
    let out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let mut page = HtmlRenderer::with_limits(out, capture, limits);
    let path = common::captures_dir().join(format!("{capture}.pcap"));
    wirelab::replay::replay_into(&path, &mut page, &wirelab::replay::Filter::default()).unwrap();
    drop(page);
    let html = std::fs::read_to_string(&file).unwrap();
    (file, html)
}

/// The value of the first `name="…"` attribute after `from`.
fn attr_after<'a>(html: &'a str, from: &str, name: &str) -> &'a str {
    let rest = &html[html.find(from).unwrap_or_else(|| panic!("no {from}"))..];
    let at = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    &rest[at..at + rest[at..].find('"').unwrap()]
}

#[test]
fn in_chromium_packets_in_compressed_chunks_and_folded_runs_are_found() {
    // All plain: the folded run of the 32 MiB download is one line, its
    // packets in compressed blocks of 50.
    let (folded, html) = small_limits_page("file-download", usize::MAX);
    let ranges: Vec<(u64, u64)> = attr_after(&html, "class=\"grp\"", "data-ranges")
        .split(' ')
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert!(ranges.len() >= 3, "{ranges:?}");
    let in_run = (ranges[2].0 + ranges[2].1) / 2;
    let ladder = &html[..html.find("<aside").unwrap()];
    assert!(!ladder.contains(&format!("data-frame=\"{in_run}\"")), "frame {in_run} is folded, not drawn");
    let drawn = ladder.matches(" data-frame=\"").count();
    assert!(drawn < 1135 / 4, "{drawn} of 1135 packets drawn: the runs are not folded");
    // All compressed: nothing drawn until asked for.
    let (lazy, html) = small_limits_page("lo_snaplen96_zero_window", 0);
    assert!(!html[..html.find("<aside").unwrap()].contains(" data-frame=\""));
    let last = attr_after(&html[html.rfind("class=\"lazy\"").unwrap()..], "class=\"lazy\"", "data-first");
    let in_chunk: u64 = last.parse::<u64>().unwrap() + 1;
    self_contained(&html);

    let Some(bin) = common::chromium() else { return };
    for (file, n) in [(folded, in_run), (lazy, in_chunk)] {
        let url = format!("file://{}#frame={n}", file.display());
        let (dom, err) = common::run_chromium(bin, &url, &["--dump-dom"]);
        no_console_message(&err);
        let start = dom.find("id=\"panel\"").expect("panel in the DOM");
        let panel = &dom[start..start + dom[start..].find("</aside>").unwrap()];
        assert!(panel.contains(&format!("frame {n}: ")), "frame {n} not shown:\n{panel}");
        assert!(panel.contains("data-key=\"sport\""), "no TCP header for frame {n}:\n{panel}");
        assert!(class_of(&dom, &format!("data-frame=\"{n}\"")).split(' ').any(|c| c == "sel"), "{n} not selected");
    }
}

/// The page's size limit decides how many packets are drawn; it must not
/// depend on how far the compressing thread has got: the same capture gives
/// the same page, byte for byte, run after run.
#[test]
fn a_page_cut_at_its_size_limit_is_the_same_every_time() {
    /// More blocks than the compressor counts by estimate.
    const IN_FLIGHT: usize = 5;
    use wirelab::render::html::{HtmlRenderer, Limits};
    let path = common::captures_dir().join("slow-start.pcapng");
    let limits = Limits { eager: 0, chunk: 2_000, group_block: 50, page: 100_000, ..Limits::default() };
    let pages: Vec<Vec<u8>> = (0..5)
        .map(|_| {
            let mut out = Vec::new();
            let mut page = HtmlRenderer::with_limits(&mut out, "t", limits);
            wirelab::replay::replay_into(&path, &mut page, &wirelab::replay::Filter::default()).unwrap();
            drop(page);
            out
        })
        .collect();
    let text = String::from_utf8_lossy(&pages[0]);
    let cut = text.find("Only the first ").expect("the page reached its limit");
    let blocks = text.matches("application/x-wirelab-deflate").count();
    assert!(blocks > IN_FLIGHT, "{blocks} compressed blocks: too few to test");
    assert!(pages.iter().all(|p| p == &pages[0]), "pages differ: {}", &text[cut..cut + 60]);
}
