//! Faults during live work: signals while saving, a full disk, a port in use,
//! a peer that never answers, and no sockets left behind.

mod common;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(pid as libc::pid_t, sig) };
}

#[test]
fn ctrl_c_during_sniff_save_leaves_a_complete_file() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = tmp("sigint.pcap");
    let (mut child, mut err) = common::spawn_sniff(port, &[], &file);
    // Read its output as it comes, like a terminal would.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    // Traffic that keeps going while the signal arrives.
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        while c.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
    });
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(600) {
        client.write_all(&[7u8; 3000]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    signal(child.id(), libc::SIGINT);
    let status = child.wait().unwrap();
    drop(client);
    server.join().unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit after Ctrl-C: {status:?} {rest}");
    let shown = reader.join().unwrap().lines().count();
    assert!(shown > 20, "{shown} frames");
    // tshark opens it and sees every frame that was shown, nothing cut.
    let rows = common::tshark_rows(&file);
    assert_eq!(rows.len(), shown);
    let out = Command::new("tshark").arg("-r").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cut short"));
}

#[test]
fn sigterm_during_a_lab_stops_cleanly() {
    let file = tmp("sigterm.pcap");
    let child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", "teardown", "--format", "jsonl", "--save"])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1800));
    let sent = Instant::now();
    signal(child.id(), libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(3), "stopped in {:?}", sent.elapsed());
    assert!(out.status.code().is_some(), "exited by itself, not killed: {:?}", out.status);
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let last_step = events.iter().filter_map(|e| e["step"].as_u64()).max().unwrap_or(0);
    assert!(last_step < 13, "the lab was interrupted (last step {last_step})");
    let tshark = Command::new("tshark").arg("-r").arg(&file).output().unwrap();
    assert!(tshark.status.success());
    // Its sockets are gone: no LISTEN or ESTABLISHED row on its ports.
    let ports: Vec<u16> = events
        .iter()
        .filter(|e| e["kind"] == "state")
        .filter_map(|e| e["local"].as_str()?.rsplit(':').next()?.parse().ok())
        .collect();
    assert!(!ports.is_empty());
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    for row in table.lines().skip(1) {
        let f: Vec<&str> = row.split_whitespace().collect();
        let port = u16::from_str_radix(f[1].rsplit(':').next().unwrap(), 16).unwrap();
        if ports.contains(&port) {
            assert!(!matches!(f[3], "0A" | "01"), "socket left behind: {row}");
        }
    }
}

#[test]
fn a_full_disk_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["sniff", "--duration", "1", "--save", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/full") && err.contains("No space left on device"), "{err}");
    assert!(!err.contains("panicked"));
}

fn run_lab_file(text: &str, name: &str) -> (Option<i32>, Vec<Value>, Duration) {
    let path = tmp(name);
    std::fs::write(&path, text).unwrap();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", "--format", "jsonl"])
        .arg(&path)
        .output()
        .unwrap();
    let events = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code(), events, start.elapsed())
}

#[test]
fn a_port_in_use_is_reported_as_the_call_sees_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let lab = format!(
        "id = \"taken\"\ntitle = \"t\"\ngoal = \"g\"\n[[step]]\nactor = \"s\"\ncall = \"socket\"\n[[step]]\nactor = \"s\"\ncall = \"bind\"\naddr = \"127.0.0.1:{port}\"\nexpect = {{ errno = \"EADDRINUSE\" }}\n"
    );
    let (code, events, _) = run_lab_file(&lab, "taken.toml");
    assert_eq!(code, Some(0), "{events:?}");
    let bind = events.iter().find(|e| e["call"] == "bind").unwrap();
    assert_eq!((bind["errno"].as_str(), bind["errno_num"].as_i64()), (Some("EADDRINUSE"), Some(98)));
}

#[test]
fn a_peer_that_never_answers_times_out() {
    // A server that accepts (in the kernel) but never sends: the lab stops
    // waiting after its limit and says the call was still blocked (no errno:
    // a program without a timeout would still wait).
    let lab = "id = \"silent\"\ntitle = \"t\"\ngoal = \"g\"\n\
        [[step]]\nactor = \"s\"\ncall = \"socket\"\n[[step]]\nactor = \"s\"\ncall = \"bind\"\naddr = \"127.0.0.1:0\"\n\
        [[step]]\nactor = \"s\"\ncall = \"listen\"\n[[step]]\nactor = \"c\"\ncall = \"socket\"\n\
        [[step]]\nactor = \"c\"\ncall = \"connect\"\nto = \"s\"\n\
        [[step]]\nactor = \"c\"\ncall = \"recv\"\ntimeout = 0.5\nexpect = { blocks = true }\n";
    let (code, events, took) = run_lab_file(lab, "silent.toml");
    assert_eq!(code, Some(0), "{events:?}");
    let recv = events.iter().find(|e| e["call"] == "recv").unwrap();
    assert!(recv["errno"].is_null() && recv["notes"][0]["note"] == "lab_timeout", "{recv}");
    assert!(took < Duration::from_secs(5), "bounded wait: {took:?}");
}
