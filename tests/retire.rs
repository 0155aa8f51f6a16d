//! Memory follows live connections: a finished connection is forgotten five
//! minutes (capture time) after its last packet, an idle one after an hour.
//! What tshark would still know is kept in a compact record, so a 4-tuple that
//! comes back continues its `tcp.stream` with the same relative numbers.

mod common;

use std::ops::ControlFlow;
use wirelab::analyze::Analyzer;
use wirelab::source::file::CaptureReader;
use wirelab::source::{Frame, LinkType, Timestamp};

/// Offsets in a Linux loopback frame (14-byte Ethernet, 20-byte IPv4).
const TCP: usize = 14 + 20;
const SEQ: usize = TCP + 4;
const ACK: usize = TCP + 8;

type Frames = Vec<(Timestamp, Vec<u8>, u32)>;

fn handshake_echo_teardown() -> (LinkType, Frames) {
    let path = common::captures_dir().join("lo_handshake_echo_teardown.pcap");
    let mut frames = Vec::new();
    let mut link = None;
    CaptureReader::open(&path)
        .unwrap()
        .for_each(|f| {
            link = Some(f.link);
            frames.push((f.ts, f.data.to_vec(), f.orig_len));
            ControlFlow::Continue(())
        })
        .unwrap();
    (link.unwrap(), frames)
}

/// Adds `delta` to the client's sequence numbers (and to the server's acks of them).
fn shift_client_isn(frames: &mut Frames, delta: u32) {
    let client_port = frames[0].1[TCP..TCP + 2].to_vec();
    for (_, d, _) in frames.iter_mut() {
        let at = if d[TCP..TCP + 2] == client_port[..] { SEQ } else { ACK };
        if at == ACK && d[TCP + 13] & 0x10 == 0 {
            continue;
        }
        let v = u32::from_be_bytes(d[at..at + 4].try_into().unwrap()).wrapping_add(delta);
        d[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
}

#[test]
fn finished_connections_are_retired_and_numbering_goes_on() {
    let (link, base) = handshake_echo_teardown();
    let mut analyzer = Analyzer::new();
    let mut number = 0;
    // The same 4-tuple three times, 10 minutes apart, each with a new ISN: three
    // connections (tshark: a SYN with another ISN starts a new stream).
    for round in 0..3u32 {
        let mut frames = base.clone();
        shift_client_isn(&mut frames, round * 1_000_000);
        for (ts, data, orig_len) in &frames {
            number += 1;
            let ts = Timestamp { secs: ts.secs + round as i64 * 600, nanos: ts.nanos };
            let rec = analyzer.on_frame(&Frame { number, ts, link, data, orig_len: *orig_len, comment: None });
            assert_eq!(rec.tcp.unwrap().stream, round, "frame {number}");
        }
        // Only the current connection is live; the earlier ones were retired.
        assert!(analyzer.stream(round).is_some());
        if round > 0 {
            assert!(analyzer.stream(round - 1).is_none(), "round {round}");
        }
    }
    assert_eq!(analyzer.counts(), (3, 0));
    // The summary table still lists them all (the busiest retired ones are kept).
    assert_eq!(analyzer.tcp_summaries().len(), 3);
}

#[test]
fn a_retired_connection_that_comes_back_continues_its_stream() {
    let (link, frames) = handshake_echo_teardown();
    let mut analyzer = Analyzer::new();
    let mut number = 0;
    let mut first = Vec::new();
    // The same connection (same ISN) again 10 minutes later: tshark sees the
    // SYN as a retransmission of stream 0, not a new connection.
    for round in 0..2i64 {
        for (i, (ts, data, orig_len)) in frames.iter().enumerate() {
            number += 1;
            let ts = Timestamp { secs: ts.secs + round * 600, nanos: ts.nanos };
            let rec = analyzer.on_frame(&Frame { number, ts, link, data, orig_len: *orig_len, comment: None });
            let t = rec.tcp.unwrap();
            assert_eq!(t.stream, 0, "frame {number}");
            if round == 0 {
                first.push((t.seq, t.ack));
            } else {
                assert_eq!((t.seq, t.ack), first[i], "frame {number}: same relative numbers");
                if i == 0 {
                    assert!(t.expert.has(wirelab::analyze::Expert::RETRANSMISSION), "the SYN again");
                }
            }
        }
        assert!(analyzer.stream(0).is_some());
    }
    assert_eq!(analyzer.counts(), (1, 0));
    assert_eq!(analyzer.tcp_summaries().len(), 1, "one connection in the summary, not two");
}

#[test]
fn an_idle_connection_keeps_its_numbers_after_an_hour() {
    let (link, frames) = handshake_echo_teardown();
    let mut analyzer = Analyzer::new();
    let mut number = 0u64;
    let mut feed = |analyzer: &mut Analyzer, ts: Timestamp, data: &[u8], orig_len: u32| {
        number += 1;
        analyzer.on_frame(&Frame { number, ts, link, data, orig_len, comment: None })
    };
    // Handshake and the first data segment.
    let mut seen = Vec::new();
    for (ts, data, orig_len) in &frames[..4] {
        seen.push(feed(&mut analyzer, *ts, data, *orig_len).tcp.unwrap());
    }
    // Two hours later, enough other frames (ARP) for the idle sweep to run.
    let later = Timestamp { secs: frames[0].0.secs + 7200, nanos: 0 };
    let mut arp = vec![0u8; 42];
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    for _ in 0..70_000 {
        feed(&mut analyzer, later, &arp, 42);
    }
    assert!(analyzer.stream(0).is_none(), "idle for two hours: retired from the live table");
    // The rest of the connection: same stream, relative numbers and window scale go on.
    for (_, data, orig_len) in &frames[4..] {
        let t = feed(&mut analyzer, later, data, *orig_len).tcp.unwrap();
        assert_eq!(t.stream, 0);
        assert_eq!(t.win_scale, seen[2].win_scale, "window scale remembered");
        assert!(t.seq < 100 && t.ack < 100, "relative numbers go on: {} {}", t.seq, t.ack);
    }
    assert_eq!(analyzer.counts().0, 1);
}
