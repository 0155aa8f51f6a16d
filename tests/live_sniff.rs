//! `wirelab sniff` on a real exchange made by the test: no duplicate frames,
//! the frame count equals what tshark reads from the saved file, and the
//! saved file replays with the same annotations.

mod common;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

#[test]
fn sniff_saves_what_it_shows_without_duplicates() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("wirelab-sniff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sniff.pcap");
    let (mut child, mut err) = common::spawn_sniff(port, &["--duration", "4"], &file);

    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).unwrap();
        conn.write_all(&buf[..n]).unwrap();
        assert_eq!(conn.read(&mut buf).unwrap(), 0);
    });
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).unwrap();
    drop(client);
    server.join().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("0 dropped"), "{rest}");

    let live: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // handshake 3 + data/ack 2 + echo/ack 2 + teardown 3 or 4
    assert!((9..=11).contains(&live.len()), "{} frames: {stdout}", live.len());
    for f in &live {
        let flags = f["analysis"].as_array().unwrap();
        assert!(flags.is_empty(), "a duplicate would show as retransmission/dup ack: {f}");
    }
    let saved = common::tshark_rows(&file);
    assert_eq!(saved.len(), live.len(), "tshark reads as many frames as were shown");
    let replayed = common::wirelab_jsonl(&file);
    assert_eq!(replayed.len(), live.len());
    for (l, r) in live.iter().zip(&replayed) {
        assert_eq!(l, r, "the saved file replays identically");
    }
    let cmp = common::compare(&file);
    assert!(cmp.diffs.is_empty(), "{:#?}", cmp.diffs);
}
