//! Every capture of the public corpus and of `captures/`, replayed by wirelab
//! and by tshark 4.x: the JSON-lines fields must equal tshark's, frame by frame.

mod common;

use common::*;

#[test]
fn replay_matches_tshark_on_every_capture() {
    assert!(tshark_available(), "tshark is required for the oracle test (apt-get install tshark)");
    let mut files = capture_files(&corpus_dir());
    assert!(files.len() >= 20, "public corpus not found at {}", corpus_dir().display());
    files.extend(capture_files(&captures_dir()));
    let crafted = capture_files(&crafted_dir());
    assert!(crafted.len() >= 8, "crafted captures not found in {}", crafted_dir().display());
    files.extend(crafted);
    let (mut frames, mut tcp, mut values, mut diffs) = (0, 0, 0, Vec::new());
    for f in &files {
        let c = compare(f);
        frames += c.frames;
        tcp += c.tcp_frames;
        values += c.values;
        diffs.extend(c.diffs);
    }
    println!(
        "compared {} files, {frames} frames ({tcp} TCP), {values} values: {} differences",
        files.len(),
        diffs.len()
    );
    for d in diffs.iter().take(200) {
        println!("  {d}");
    }
    assert!(diffs.is_empty(), "{} differences from tshark (first ones printed above)", diffs.len());
}
