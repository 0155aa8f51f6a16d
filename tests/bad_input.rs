//! Damaged and hostile capture files: what was read is shown, then a clear
//! error naming the file, the frame and the byte offset, exit status 2.
//! Never a panic, never a hang.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn replay(path: &PathBuf, format: &str) -> (Output, Duration) {
    let start = Instant::now();
    let out =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["replay", "--format", format]).arg(path).output().unwrap();
    (out, start.elapsed())
}

/// A valid capture to cut pieces from: the handshake/echo/teardown recording.
fn good() -> Vec<u8> {
    std::fs::read(common::captures_dir().join("lo_handshake_echo_teardown.pcap")).unwrap()
}

/// Asserts a clean failure: exit 2, message with file, frame and offset, no panic.
fn assert_fails(name: &str, bytes: &[u8], frame: u64, offset: Option<u64>) -> Output {
    let p = temp_file(name, bytes);
    let (out, took) = replay(&p, "jsonl");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: exit status, stderr: {err}");
    assert!(!err.contains("panicked"), "{name}: panic: {err}");
    assert!(err.contains(name), "{name}: message names the file: {err}");
    assert!(err.contains(&format!("frame {frame}")), "{name}: message names frame {frame}: {err}");
    if let Some(off) = offset {
        assert!(err.contains(&format!("byte offset {off}")), "{name}: offset {off}: {err}");
    }
    assert!(took < Duration::from_secs(10), "{name}: took {took:?}");
    out
}

#[test]
fn empty_and_non_capture_files() {
    assert_fails("empty.pcap", b"", 1, Some(0));
    assert_fails("text.pcap", b"this is a README, not a capture\n", 1, Some(0));
    assert_fails("tiny.pcap", &[0xd4, 0xc3], 1, Some(0));
    let mut magic = good();
    magic[0] = 0x00;
    assert_fails("bad_magic.pcap", &magic, 1, Some(0));
}

#[test]
fn header_only_is_an_empty_capture() {
    let p = temp_file("header_only.pcap", &good()[..24]);
    let (out, _) = replay(&p, "jsonl");
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn cut_inside_a_record_shows_what_was_read() {
    let g = good();
    // Frame 1 starts at 24 (16-byte header + data). Cut frame 2 inside its header.
    let first_len = u32::from_le_bytes(g[32..36].try_into().unwrap()) as usize;
    let second = 24 + 16 + first_len;
    let out = assert_fails("cut_record_header.pcap", &g[..second + 7], 2, Some(second as u64));
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 1, "the first frame is still shown");
    // Cut frame 2 inside its data.
    let out = assert_fails("cut_record_data.pcap", &g[..second + 16 + 10], 2, Some(second as u64));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn absurd_record_length_is_refused_without_allocating() {
    let mut g = good();
    g.truncate(24 + 16 + 100);
    // caplen 4 GiB - 1 in the first record.
    g[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_fails("caplen_4gib.pcap", &g, 1, Some(24));
}

#[test]
fn corrupt_pcapng_block_length() {
    let ng = std::fs::read(common::captures_dir().join("lo_ipv6_echo.pcapng")).unwrap();
    // Section header block length (bytes 4..8) not a multiple of 4 and too small.
    for (name, len) in [("ng_len_odd.pcapng", 27u32), ("ng_len_small.pcapng", 8)] {
        let mut b = ng.clone();
        b[4..8].copy_from_slice(&len.to_le_bytes());
        let p = temp_file(name, &b);
        let (out, took) = replay(&p, "jsonl");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && !err.contains("panicked"), "{err}");
        assert!(took < Duration::from_secs(10));
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["replay", "/nonexistent/capture.pcap"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open /nonexistent/capture.pcap"), "{err}");
}

#[test]
fn unsupported_link_type_is_named_and_counted() {
    let p = common::corpus_dir().join("ppp_udp_traceroute_icmp_unreach.pcap");
    let out =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["replay", "--format", "jsonl"]).arg(&p).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("link type PPP (9)").count(), 1, "reported once: {err}");
    let frames = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(frames, 18, "every frame is still listed");
}

/// A pcapng file built from blocks: SHB, one IDB, then `blocks`.
fn pcapng(blocks: &[Vec<u8>]) -> Vec<u8> {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend(len.to_le_bytes());
        b.extend(body);
        b.extend(len.to_le_bytes());
        b
    }
    let mut shb_body = 0x1a2b3c4d_u32.to_le_bytes().to_vec();
    shb_body.extend(1u16.to_le_bytes());
    shb_body.extend(0u16.to_le_bytes());
    shb_body.extend((-1i64).to_le_bytes());
    let mut idb_body = 1u16.to_le_bytes().to_vec(); // Ethernet
    idb_body.extend(0u16.to_le_bytes());
    idb_body.extend(262144u32.to_le_bytes());
    let mut out = block(0x0a0d0d0a, &shb_body);
    out.extend(block(1, &idb_body));
    for b in blocks {
        out.extend(b);
    }
    out
}

fn epb(if_id: u32, data: &[u8]) -> Vec<u8> {
    let mut body = if_id.to_le_bytes().to_vec();
    body.extend(0u32.to_le_bytes());
    body.extend(1u32.to_le_bytes());
    body.extend((data.len() as u32).to_le_bytes());
    body.extend((data.len() as u32).to_le_bytes());
    body.extend(data);
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let len = (12 + body.len()) as u32;
    let mut b = 6u32.to_le_bytes().to_vec();
    b.extend(len.to_le_bytes());
    b.extend(body);
    b.extend(len.to_le_bytes());
    b
}

#[test]
fn pcapng_interface_out_of_range_unknown_blocks_and_empty_frames() {
    // An unknown block type (0x0bad) is skipped; a zero-length frame is listed.
    let unknown = {
        let mut b = 0x0badu32.to_le_bytes().to_vec();
        b.extend(16u32.to_le_bytes());
        b.extend([1, 2, 3, 4]);
        b.extend(16u32.to_le_bytes());
        b
    };
    let ok = pcapng(&[unknown, epb(0, &[]), epb(0, &[0u8; 20])]);
    let p = temp_file("unknown_block.pcapng", &ok);
    let (out, _) = replay(&p, "jsonl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    // A packet naming interface 3 of a section that has one.
    let bad = pcapng(&[epb(0, &[0u8; 20]), epb(3, &[0u8; 20])]);
    assert_fails("if_id_out_of_range.pcapng", &bad, 2, None);
}

#[test]
fn caplen_above_snaplen_is_read() {
    let mut g = good();
    g[16..20].copy_from_slice(&60u32.to_le_bytes()); // header snaplen 60, records longer
    let p = temp_file("caplen_over_snaplen.pcap", &g);
    let (out, _) = replay(&p, "jsonl");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 13);
}

/// The fuzz targets' path on deterministic mutations of every capture we have:
/// truncations and bit flips. No panic, bounded time. (The coverage-guided
/// fuzzers in `fuzz/` ran 10 minutes per target with no finding.)
#[test]
fn mutated_captures_never_panic() {
    use std::ops::ControlFlow;
    use wirelab::analyze::Analyzer;
    use wirelab::source::file::CaptureReader;
    let mut files: Vec<_> = std::fs::read_dir(common::corpus_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    files.extend(std::fs::read_dir(common::captures_dir()).unwrap().map(|e| e.unwrap().path()));
    files.retain(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"));
    let start = Instant::now();
    let mut runs = 0;
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let bytes = &bytes[..bytes.len().min(64 * 1024)];
        let mut seed = 0x2545f4914f6cdd1d_u64;
        for i in 0..40 {
            let mut m = bytes.to_vec();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if i % 4 == 0 {
                m.truncate((seed as usize) % (m.len() + 1));
            } else {
                for k in 0..(1 + i % 8) {
                    let pos = ((seed >> (k * 7)) as usize) % m.len().max(1);
                    if let Some(b) = m.get_mut(pos) {
                        *b ^= 1 << (k % 8);
                    }
                }
            }
            runs += 1;
            if let Ok(mut reader) = CaptureReader::from_reader(&f, std::io::Cursor::new(m)) {
                let mut analyzer = Analyzer::new();
                let _ = reader.for_each(|frame| {
                    std::hint::black_box(analyzer.on_frame(frame));
                    ControlFlow::Continue(())
                });
            }
        }
    }
    assert!(runs > 1000);
    assert!(start.elapsed() < Duration::from_secs(120));
}
