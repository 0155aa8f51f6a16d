//! Memory follows live connections: a finished connection is forgotten five
//! minutes (capture time) after its last packet; numbering continues.

mod common;

use std::ops::ControlFlow;
use wirelab::analyze::Analyzer;
use wirelab::source::file::CaptureReader;
use wirelab::source::{Frame, Timestamp};

#[test]
fn finished_connections_are_retired_and_numbering_goes_on() {
    let path = common::captures_dir().join("lo_handshake_echo_teardown.pcap");
    let mut frames: Vec<(Timestamp, Vec<u8>, u32)> = Vec::new();
    let mut reader = CaptureReader::open(&path).unwrap();
    let mut link = None;
    reader
        .for_each(|f| {
            link = Some(f.link);
            frames.push((f.ts, f.data.to_vec(), f.orig_len));
            ControlFlow::Continue(())
        })
        .unwrap();
    let mut analyzer = Analyzer::new();
    let mut number = 0;
    // The same connection three times, 10 minutes apart (new ISNs are not needed:
    // the old stream is gone, so its 4-tuple starts a new one, as a new SYN would).
    for round in 0..3i64 {
        for (ts, data, orig_len) in &frames {
            number += 1;
            let ts = Timestamp { secs: ts.secs + round * 600, nanos: ts.nanos };
            let rec = analyzer.on_frame(&Frame { number, ts, link: link.unwrap(), data, orig_len: *orig_len });
            assert_eq!(rec.tcp.unwrap().stream, round as u32, "frame {number}");
        }
        // Only the current connection is live; the earlier ones were retired.
        assert!(analyzer.stream(round as u32).is_some());
        if round > 0 {
            assert!(analyzer.stream(round as u32 - 1).is_none(), "round {round}");
        }
    }
    assert_eq!(analyzer.counts(), (3, 0));
    // The summary table still lists them all (the busiest retired ones are kept).
    assert_eq!(analyzer.tcp_summaries().len(), 3);
}
