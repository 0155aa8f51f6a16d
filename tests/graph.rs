//! `wirelab graph`: well-formed SVG with one mark per data segment (each
//! carrying its frame number and class), and the same data as a table.

mod common;

use std::process::Command;

fn wirelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab")).args(args).output().unwrap()
}

#[test]
fn time_sequence_graph_marks_every_data_segment_and_the_retransmissions() {
    let capture = common::captures_dir().join("netns_retransmissions.pcap");
    let out = std::env::temp_dir().join(format!("wirelab-retransmissions-{}.svg", std::process::id()));
    let o = wirelab(&[
        "graph",
        capture.to_str().unwrap(),
        "--stream",
        "0",
        "--kind",
        "tsg",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let marks: Vec<(u64, String)> = doc
        .descendants()
        .filter_map(|n| Some((n.attribute("data-frame")?.parse().ok()?, n.attribute("class")?.to_string())))
        .collect();
    // The data segments of stream 0 in its busier direction, from the JSON lines.
    let frames = common::wirelab_jsonl(&capture);
    let data: Vec<&serde_json::Value> =
        frames.iter().filter(|f| f["stream"] == 0 && f["proto"] == "tcp" && f["len"].as_u64() > Some(0)).collect();
    let sender = data[0]["src"].clone();
    let sent: Vec<u64> = data.iter().filter(|f| f["src"] == sender).map(|f| f["frame"].as_u64().unwrap()).collect();
    assert_eq!(marks.iter().map(|m| m.0).collect::<Vec<_>>(), sent, "one mark per data segment, in order");
    let retransmitted: Vec<u64> = frames
        .iter()
        .filter(|f| f["analysis"].as_array().is_some_and(|a| a.iter().any(|x| x == "retransmission")))
        .filter(|f| f["src"] == sender && f["len"].as_u64() > Some(0))
        .map(|f| f["frame"].as_u64().unwrap())
        .collect();
    assert!(!retransmitted.is_empty());
    for r in &retransmitted {
        assert!(marks.contains(&(*r, "retransmission".to_string())), "frame {r} marked as a retransmission");
    }
    let _ = std::fs::remove_file(&out);
}

#[test]
fn every_kind_is_well_formed_svg_and_a_table() {
    let capture = common::captures_dir().join("echo.pcap");
    let path = capture.to_str().unwrap();
    for kind in ["tsg", "rtt", "window", "throughput"] {
        let out = std::env::temp_dir().join(format!("wirelab-{kind}-{}.svg", std::process::id()));
        let o = wirelab(&["graph", path, "--kind", kind, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{kind}: {}", String::from_utf8_lossy(&o.stderr));
        roxmltree::Document::parse(&std::fs::read_to_string(&out).unwrap()).expect(kind);
        let _ = std::fs::remove_file(&out);
        let o = wirelab(&["graph", path, "--kind", kind]);
        assert!(o.status.success() && o.stdout.len() > 20, "{kind} as a table");
    }
    let o = wirelab(&["graph", path, "--stream", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no TCP stream 9"));
}

/// The time-sequence graph of the retransmissions recording, as the README
/// shows it: rendered by Chromium, not blank.
#[test]
fn the_readme_screenshot_of_the_time_sequence_graph() {
    let Some(bin) = common::chromium() else { return };
    let capture = common::captures_dir().join("netns_retransmissions.pcap");
    let svg = std::env::temp_dir().join(format!("wirelab-readme-tsg-{}.svg", std::process::id()));
    let o = wirelab(&["graph", capture.to_str().unwrap(), "--kind", "tsg", "--out", svg.to_str().unwrap()]);
    assert!(o.status.success());
    let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/tsg.png");
    let url = format!("file://{}", svg.display());
    common::run_chromium(
        bin,
        &url,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1000,600", "--hide-scrollbars"],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
    let _ = std::fs::remove_file(&svg);
}
