//! What the student's program put on the wire: payload previews (`--payload`),
//! raw sequence numbers (`--absolute`), and the four-way close seen as three
//! segments, on recorded captures.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use wirelab::analyze::{Analyzer, Explain};
use wirelab::source::file::CaptureReader;

fn wirelab(args: &[&str]) -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(args).env("NO_COLOR", "1").output().expect("run wirelab");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn jsonl(args: &[&str]) -> Vec<Value> {
    wirelab(args).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

fn capture(name: &str) -> String {
    common::captures_dir().join(name).to_string_lossy().into_owned()
}

fn all_captures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [common::captures_dir(), common::corpus_dir(), common::crafted_dir()] {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn absolute_shows_raw_numbers_on_the_ladder() {
    let file = capture("handshake.pcap");
    let frames = jsonl(&["replay", &file, "--format", "jsonl"]);
    let (syn, synack) = (&frames[0], &frames[1]);
    let isn = syn["seq_raw"].as_u64().unwrap();
    let server_isn = synack["seq_raw"].as_u64().unwrap();
    assert_eq!(synack["ack_raw"].as_u64().unwrap(), isn + 1, "ack = x + 1");

    let raw = wirelab(&["replay", &file, "--absolute"]);
    assert!(raw.contains(&format!("SYN seq={isn} ")), "{raw}");
    assert!(raw.contains(&format!("SYN,ACK seq={server_isn} ack={} ", isn + 1)), "{raw}");
    assert!(!raw.contains(" seq=0 "), "no relative numbers left: {raw}");

    let relative = wirelab(&["replay", &file]);
    assert!(relative.contains("SYN seq=0 ") && relative.contains("SYN,ACK seq=0 ack=1 "), "{relative}");
    // JSON carries both whatever the flag says.
    assert_eq!(jsonl(&["replay", &file, "--format", "jsonl", "--absolute"]), frames);
}

#[test]
fn payload_preview_in_ladder_and_json() {
    let file = capture("lo_handshake_echo_teardown.pcap");
    let ladder = wirelab(&["replay", &file]);
    assert!(ladder.contains("b'hello'") && ladder.contains("b'HELLO'"), "{ladder}");
    let short = wirelab(&["replay", &file, "--payload", "3"]);
    assert!(short.contains("b'hel'…") && !short.contains("b'hello'"), "{short}");
    let off = wirelab(&["replay", &file, "--payload", "0"]);
    assert!(!off.contains("b'"), "{off}");

    let frames = jsonl(&["replay", &file, "--format", "jsonl", "--payload", "3"]);
    let previews: Vec<&str> = frames.iter().filter_map(|f| f["payload"].as_str()).collect();
    assert_eq!(previews, ["b'hel'…", "b'HEL'…", "b'hel'…", "b'HEL'…"]);
    assert!(jsonl(&["replay", &file, "--format", "jsonl", "--payload", "0"])
        .iter()
        .all(|f| f.get("payload").is_none()));

    // A snaplen cut is said: 2048 bytes sent, 30 captured.
    let cut = jsonl(&["replay", &capture("lo_snaplen96_zero_window.pcap"), "--format", "jsonl", "--payload", "64"]);
    let first = cut.iter().find(|f| f["len"].as_u64() > Some(0)).unwrap();
    assert_eq!(first["payload"], format!("b'{}'…(cut by snaplen)", "x".repeat(30)));
    let ladder = wirelab(&["replay", &capture("lo_snaplen96_zero_window.pcap"), "--lang", "zh"]);
    assert!(ladder.contains("…（被 snaplen 截断）"), "{ladder}");
}

/// `payload` on every frame with TCP or UDP data, on none without.
#[test]
fn json_payload_exactly_on_frames_with_data() {
    let mut with_data = 0;
    for f in all_captures() {
        let out =
            Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["replay", "--format", "jsonl"]).arg(&f).output().unwrap();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let o: Value = serde_json::from_str(line).unwrap();
            // A damaged TCP header (`malformed`) leaves no telling where its data starts.
            let data = matches!(o["proto"].as_str(), Some("tcp" | "udp"))
                && o["len"].as_u64().is_some_and(|l| l > 0)
                && o.get("malformed").is_none();
            assert_eq!(o.get("payload").is_some(), data, "{}: {o}", f.display());
            if let Some(p) = o["payload"].as_str() {
                with_data += 1;
                assert!(p.starts_with("b'") || p.starts_with("hex "), "{p}");
                // Only what was captured: a cut frame says so, or stops at the limit.
                if o["truncated"] == Value::Bool(true) && !p.ends_with('…') {
                    assert!(p.ends_with("…(cut by snaplen)") || !p.contains('…'), "{p}");
                }
            }
        }
    }
    assert!(with_data > 500, "{with_data} data frames");
}

/// Runs the analysis over a file: the explanations given per stream, and
/// which streams the analysis counts as closed in three segments.
fn closes(path: &Path) -> (BTreeMap<u32, Vec<(u64, Explain)>>, Vec<u32>) {
    let mut analyzer = Analyzer::new();
    let mut explained: BTreeMap<u32, Vec<(u64, Explain)>> = BTreeMap::new();
    CaptureReader::open(path)
        .unwrap()
        .for_each(|frame| {
            let rec = analyzer.on_frame(frame);
            for e in rec.explain.iter().flatten() {
                if matches!(e, Explain::FinCarriesAck { .. }) {
                    explained.entry(rec.tcp.unwrap().stream).or_default().push((rec.frame, *e));
                }
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    let combined = analyzer.tcp_summaries().iter().filter(|s| s.stats.fin_ack_combined).map(|s| s.id).collect();
    (explained, combined)
}

#[test]
fn four_way_close_in_three_segments_is_explained() {
    // Recorded on lo: client FIN (frame 11), server FIN,ACK 65 µs later (frame 12), ACK (13).
    let (explained, combined) = closes(&common::captures_dir().join("lo_handshake_echo_teardown.pcap"));
    assert_eq!(combined, [0]);
    let [(frame, e)] = explained[&0][..] else { panic!("{explained:?}") };
    assert_eq!(frame, 12);
    assert_eq!(e, Explain::FinCarriesAck { peer_fin_frame: Some(11), after_us: Some(65) });
    let json = jsonl(&["replay", &capture("lo_handshake_echo_teardown.pcap"), "--format", "jsonl"]);
    let texts: Vec<&str> = json[11]["explain"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(texts[0].starts_with("Four-way close in three segments") && texts[0].contains("frame 11"), "{texts:?}");
    assert!(texts[1].starts_with("TIME_WAIT"), "{texts:?}");
    let zh = wirelab(&["replay", &capture("lo_handshake_echo_teardown.pcap"), "--lang", "zh"]);
    assert!(zh.contains("四次挥手只出现了三个报文段") && zh.contains("第 11 帧"), "{zh}");

    // A close in four segments (FIN; delayed ACK 43 ms later; FIN; ACK) gets no such sentence.
    let (explained, combined) = closes(&common::captures_dir().join("http.pcap"));
    assert!(explained.is_empty() && combined.is_empty(), "{explained:?}");

    // On every capture: said exactly where the analysis counts a three-segment close.
    let mut seen = 0;
    for f in all_captures() {
        let (explained, combined) = closes(&f);
        assert_eq!(explained.keys().copied().collect::<Vec<_>>(), combined, "{}", f.display());
        seen += combined.len();
    }
    assert!(seen >= 10, "{seen}");
}
