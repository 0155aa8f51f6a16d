//! HTTP/1.x messages found by wirelab against tshark's: request lines
//! (method, target, version), status codes, and every header, frame by frame,
//! on every capture we have (the lab's recording on a random port included).
//!
//! tshark reports a message on the frame that completes its body; wirelab on
//! the frame that completes its header block (what a student reads first). With
//! `http.desegment_body:FALSE` tshark reports where wirelab does, so frame
//! numbers are compared too.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One message: request (method, target, version) or response (version, code), and its headers.
#[derive(Debug, PartialEq, Eq)]
struct Msg {
    start: Vec<String>,
    headers: Vec<(String, String)>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// tshark's messages by frame (frames holding more than one message are returned whole, in order).
fn tshark_messages(path: &Path) -> BTreeMap<u64, Vec<Msg>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-o", "http.desegment_body:FALSE", "-r"]).arg(path).args(["-Y", "http", "-T", "json"]);
    for f in [
        "frame.number",
        "http.request.method",
        "http.request.uri",
        "http.request.version",
        "http.response.version",
        "http.response.code",
        "http.request.line",
        "http.response.line",
    ] {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let packets: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Array(vec![]));
    let mut by_frame = BTreeMap::new();
    for p in packets.as_array().into_iter().flatten() {
        let l = &p["_source"]["layers"];
        let frame: u64 = strings(l, "frame.number")[0].parse().unwrap();
        let (methods, uris, versions) =
            (strings(l, "http.request.method"), strings(l, "http.request.uri"), strings(l, "http.request.version"));
        let (rversions, codes) = (strings(l, "http.response.version"), strings(l, "http.response.code"));
        // Header lines, "Name: value\r\n"; per message only when the frame has one message.
        let lines: Vec<(String, String)> = strings(l, "http.request.line")
            .into_iter()
            .chain(strings(l, "http.response.line"))
            .map(|line| {
                let (n, v) = line.split_once(':').unwrap_or((&line, ""));
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        let mut msgs: Vec<Msg> = (0..methods.len())
            .map(|i| Msg { start: vec![methods[i].clone(), uris[i].clone(), versions[i].clone()], headers: vec![] })
            .chain(
                (0..codes.len()).map(|i| Msg { start: vec![rversions[i].clone(), codes[i].clone()], headers: vec![] }),
            )
            .collect();
        if msgs.len() == 1 {
            msgs[0].headers = lines;
        }
        if !msgs.is_empty() {
            by_frame.insert(frame, msgs);
        }
    }
    by_frame
}

/// wirelab's messages by frame, and the frames it marked cut by a snaplen.
fn wirelab_messages(path: &Path) -> (BTreeMap<u64, Msg>, Vec<u64>) {
    let mut by_frame = BTreeMap::new();
    let mut cut = Vec::new();
    for o in wirelab_jsonl(path) {
        let frame = o["frame"].as_u64().unwrap();
        if o["truncated"] == Value::Bool(true) {
            cut.push(frame);
        }
        let h = &o["http"];
        if h.is_null() {
            continue;
        }
        let s = |k: &str| h[k].as_str().unwrap_or_default().to_string();
        let start = if h.get("method").is_some() {
            vec![s("method"), s("target"), s("version")]
        } else {
            vec![s("version"), h["status_code"].to_string()]
        };
        let headers = h["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().trim().to_string()))
            .collect();
        by_frame.insert(frame, Msg { start, headers });
    }
    (by_frame, cut)
}

#[derive(Default)]
struct Tally {
    messages: usize,
    requests: usize,
    headers: usize,
    diffs: Vec<String>,
    /// tshark's messages on frames cut by the snaplen (wirelab reports complete header blocks only).
    cut_skipped: usize,
}

fn compare(path: &Path, tally: &mut Tally) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let theirs = tshark_messages(path);
    let (ours, cut) = wirelab_messages(path);
    let mut matched = 0;
    for (frame, msgs) in &theirs {
        let Some(mine) = ours.get(frame) else {
            if cut.contains(frame) {
                tally.cut_skipped += msgs.len();
            } else {
                tally.diffs.push(format!("{name} frame {frame}: tshark {msgs:?}, wirelab nothing"));
            }
            continue;
        };
        // wirelab reports the first message a frame completes.
        let first = &msgs[0];
        let same = first.start == mine.start && (msgs.len() > 1 || first.headers == mine.headers);
        if same {
            matched += 1;
            tally.messages += 1;
            tally.requests += usize::from(mine.start.len() == 3);
            tally.headers += mine.headers.len();
        } else {
            tally.diffs.push(format!("{name} frame {frame}: tshark {first:?}, wirelab {mine:?}"));
        }
    }
    for (frame, mine) in &ours {
        if !theirs.contains_key(frame) {
            tally.diffs.push(format!("{name} frame {frame}: wirelab {mine:?}, tshark nothing"));
        }
    }
    matched
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    capture_files(dir)
}

#[test]
fn http_messages_match_tshark() {
    assert!(tshark_available(), "tshark is required (apt-get install tshark)");
    let mut tally = Tally::default();
    // The lab's recording: HTTP on a port the kernel chose (not 80).
    let lab = compare(&captures_dir().join("http.pcap"), &mut tally);
    assert_eq!(lab, 8, "captures/http.pcap: 4 requests and 4 responses");
    let public = compare(&corpus_dir().join("rawip_ipv6_http.pcap"), &mut tally);
    assert!(public >= 20, "rawip_ipv6_http.pcap: pipelined keep-alive requests");
    // Everything else: the same messages, and none where tshark sees none.
    let mut files = captures(&corpus_dir());
    files.extend(captures(&captures_dir()));
    files.extend(captures(&crafted_dir()));
    files.retain(|f| !f.ends_with("http.pcap") && !f.ends_with("rawip_ipv6_http.pcap"));
    for f in &files {
        compare(f, &mut tally);
    }
    println!(
        "{} files: {} HTTP messages ({} requests, {} responses) with {} headers equal to tshark's; \
         {} on snaplen-cut frames skipped; {} differences",
        files.len() + 2,
        tally.messages,
        tally.requests,
        tally.messages - tally.requests,
        tally.headers,
        tally.cut_skipped,
        tally.diffs.len()
    );
    for d in &tally.diffs {
        println!("  {d}");
    }
    assert!(tally.diffs.is_empty(), "{} differences from tshark (printed above)", tally.diffs.len());
}
