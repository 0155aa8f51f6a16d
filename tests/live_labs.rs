//! The first labs run for real (root, loopback capture): every expectation of
//! each lab must pass, and the events must be attributed to the right steps.

use serde_json::Value;
use std::process::Command;

fn run_lab(id: &str, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", id, "--format", "jsonl"])
        .args(extra)
        .output()
        .expect("run wirelab");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    (out.status.code().unwrap_or(-1), events, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn expectations(events: &[Value]) -> (usize, Vec<String>) {
    let mut passed = 0;
    let mut failed = Vec::new();
    for e in events.iter().filter(|e| e["kind"] == "expect") {
        if e["pass"] == true {
            passed += 1;
        } else {
            failed.push(format!("step {} {}: want {} got {}", e["step"], e["what"], e["want"], e["got"]));
        }
    }
    (passed, failed)
}

fn packets_of(events: &[Value], step: u64) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["kind"] == "packet" && e["step"] == step)
        .map(|e| e["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect::<Vec<_>>().join(","))
        .collect()
}

fn assert_green(id: &str) -> Vec<Value> {
    let (code, events, stderr) = run_lab(id, &[]);
    let (passed, failed) = expectations(&events);
    assert!(failed.is_empty(), "{id}: failed expectations: {failed:#?}\n{stderr}");
    assert_eq!(code, 0, "{id}: exit status; stderr: {stderr}");
    assert!(passed >= 5, "{id}: only {passed} expectations checked");
    // Every event names its kind and step.
    assert!(events.iter().all(|e| e["kind"].is_string() && e["step"].is_u64()));
    events
}

#[test]
fn handshake_lab() {
    let ev = assert_green("handshake");
    let connect = ev.iter().find(|e| e["kind"] == "call" && e["call"] == "connect").unwrap();
    let step = connect["step"].as_u64().unwrap();
    assert_eq!(packets_of(&ev, step), ["SYN", "SYN,ACK", "ACK"]);
    // The SYN carries the handshake options and relative seq 0.
    let syn = ev.iter().find(|e| e["kind"] == "packet").unwrap();
    assert_eq!(syn["seq"], 0);
    assert!(syn["mss"].is_u64() && syn["wscale"].is_u64());
    assert_eq!(syn["cause"], "connect()");
    // accept() causes no packet.
    let accept = ev.iter().find(|e| e["call"] == "accept").unwrap();
    assert!(packets_of(&ev, accept["step"].as_u64().unwrap()).is_empty());
}

#[test]
fn echo_lab() {
    let ev = assert_green("echo");
    let data: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "packet" && e["len"].as_u64() > Some(0)).collect();
    assert_eq!(data.len(), 3);
    // seq advances by the bytes sent: 'hello' at 1, 'how are you?' at 6.
    assert_eq!((data[0]["seq"].as_u64(), data[0]["len"].as_u64()), (Some(1), Some(5)));
    assert_eq!((data[2]["seq"].as_u64(), data[2]["len"].as_u64()), (Some(6), Some(12)));
}

#[test]
fn teardown_lab_shows_time_wait_counting_down() {
    let ev = assert_green("teardown");
    let tw: Vec<f64> = ev
        .iter()
        .filter(|e| e["kind"] == "state" && e["state"] == "TIME_WAIT" && e["actor"] == "client")
        .map(|e| e["timer_s"].as_f64().unwrap())
        .collect();
    assert!(tw.len() >= 3, "TIME_WAIT seen {} times", tw.len());
    assert!(tw[0] <= 60.0 && tw[0] > 55.0, "starts near 60 s: {}", tw[0]);
    assert!(tw.windows(2).all(|w| w[1] <= w[0]), "counts down: {tw:?}");
    assert!(tw[0] - tw[tw.len() - 1] >= 1.5, "the countdown moved: {tw:?}");
    // The recv() after the peer's FIN returns b"".
    let recv0 = ev.iter().find(|e| e["call"] == "recv" && e["ret"] == 0).unwrap();
    assert_eq!(recv0["data"], "");
}

/// Linux gives a client's port (chosen by connect()) to other connections
/// with another peer, even while the lab's client is in TIME_WAIT; in CI one
/// such connection of a lab running alongside landed in teardown's quiet
/// TIME_WAIT step. Here another program's connection uses the lab client's
/// port (on 127.0.0.2) during that step: it is not the lab's.
#[test]
fn another_connection_on_the_lab_clients_port_is_not_the_labs() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{SocketAddr, TcpListener};
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", "teardown", "--format", "jsonl"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run wirelab");
    let mut events = Vec::new();
    let mut client_port = None;
    let mut foreign = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if e["kind"] == "call" && e["call"] == "connect" {
            let local: SocketAddr = e["notes"][0]["local"].as_str().unwrap().parse().unwrap();
            client_port = Some(local.port());
        }
        if e["kind"] == "call" && e["call"] == "watch" {
            let port = client_port.expect("the client connected before the watch step");
            let listener = TcpListener::bind("127.0.0.2:0").unwrap();
            let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            sock.bind(&SocketAddr::from(([127, 0, 0, 2], port)).into()).unwrap();
            sock.connect(&listener.local_addr().unwrap().into()).unwrap();
            let mut stream: std::net::TcpStream = sock.into();
            stream.write_all(b"not the lab's").unwrap();
            foreign = Some((listener.accept().unwrap(), stream));
        }
        events.push(e);
    }
    let status = child.wait().unwrap();
    assert!(foreign.is_some(), "the foreign connection was made");
    let (_, failed) = expectations(&events);
    assert!(failed.is_empty(), "failed expectations: {failed:#?}");
    assert!(status.success(), "exit status {status}");
    let strays: Vec<&Value> = events.iter().filter(|e| e["kind"] == "packet" && e["src"] == "127.0.0.2").collect();
    assert!(strays.is_empty(), "another program's packets were shown: {strays:#?}");
}

#[test]
fn saved_lab_capture_replays_with_the_same_packets() {
    let dir = std::env::temp_dir().join(format!("wirelab-lab-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("handshake.pcap");
    let (code, ev, stderr) = run_lab("handshake", &["--save", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let live: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "packet").collect();
    let out =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["replay", "--format", "jsonl"]).arg(&file).output().unwrap();
    let replayed: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(live.len(), replayed.len());
    for (l, r) in live.iter().zip(&replayed) {
        for key in ["frame", "flags", "seq", "ack", "seq_raw", "len", "win", "state", "cause", "analysis"] {
            assert_eq!(l[key], r[key], "{key} of frame {}", r["frame"]);
        }
    }
}

#[test]
fn without_capture_privilege_the_lab_still_runs() {
    // Drop CAP_NET_RAW for real when setpriv is there; otherwise simulate the failed open.
    let exe = env!("CARGO_BIN_EXE_wirelab");
    let mut cmd = if Command::new("setpriv").arg("--version").output().is_ok() {
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set=-net_raw", "--inh-caps=-net_raw", exe]);
        c
    } else {
        let mut c = Command::new(exe);
        c.env("WIRELAB_SIMULATE_NO_CAPTURE", "1");
        c
    };
    let out = cmd.args(["lab", "run", "teardown"]).env("NO_COLOR", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "packet expectations are skipped, not failed:\n{stdout}\n{stderr}");
    assert!(stderr.contains("CAP_NET_RAW") && stderr.contains("setcap"), "{stderr}");
    assert!(stdout.contains("TIME_WAIT"), "kernel states are still shown:\n{stdout}");
    assert!(stdout.contains("skipped (no capture)"), "{stdout}");
}

/// Sockets of the kernel's tables that are still LISTEN or ESTABLISHED, as
/// (local, remote) text pairs ("127.0.0.1:5000", "*").
fn open_sockets() -> Vec<(std::net::SocketAddr, Option<std::net::SocketAddr>)> {
    let parse = |s: &str| -> Option<std::net::SocketAddr> {
        let (addr, port) = s.split_once(':')?;
        let port = u16::from_str_radix(port, 16).ok()?;
        let ip: std::net::IpAddr = match addr.len() {
            8 => std::net::Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?.to_ne_bytes()).into(),
            _ => {
                let mut b = [0u8; 16];
                for (i, c) in b.chunks_exact_mut(4).enumerate() {
                    c.copy_from_slice(&u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).ok()?.to_ne_bytes());
                }
                std::net::Ipv6Addr::from(b).into()
            }
        };
        Some(std::net::SocketAddr::new(ip, port))
    };
    let mut open = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for row in std::fs::read_to_string(file).unwrap().lines().skip(1) {
            let f: Vec<&str> = row.split_whitespace().collect();
            if matches!(f[3], "0A" | "01") {
                if let (Some(l), Some(r)) = (parse(f[1]), parse(f[2])) {
                    open.push((l, (r.port() != 0).then_some(r)));
                }
            }
        }
    }
    open
}

#[test]
fn every_lab_in_the_catalogue_runs_green() {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["lab", "list", "--format", "jsonl"]).output().unwrap();
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 16, "labs found: {ids:?}");
    // Two at a time, as a class of students would.
    let failures: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<Vec<String>> =
            vec![ids.iter().step_by(2).cloned().collect(), ids.iter().skip(1).step_by(2).cloned().collect()];
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for id in chunk {
                        // In Chinese: the JSON lines must stay English all the same.
                        let (code, events, stderr) = run_lab(&id, &["--lang", "zh"]);
                        let (_, failed) = expectations(&events);
                        if code != 0 || !failed.is_empty() {
                            bad.push(format!("{id}: exit {code}, {failed:?}, {stderr}"));
                        }
                        for e in &events {
                            let line = without_payload(e).to_string();
                            if line.chars().any(is_cjk) {
                                bad.push(format!("{id}: CJK in a JSON line: {line}"));
                            }
                        }
                        // No socket of the lab is left LISTEN or ESTABLISHED (TIME_WAIT is expected).
                        let mine: Vec<(std::net::SocketAddr, Option<std::net::SocketAddr>)> = events
                            .iter()
                            .filter(|e| e["kind"] == "state")
                            .filter_map(|e| {
                                let local = e["local"].as_str()?.parse().ok()?;
                                Some((local, e["remote"].as_str().and_then(|r| r.parse().ok())))
                            })
                            .collect();
                        for sock in open_sockets() {
                            if mine.contains(&sock) {
                                bad.push(format!("{id}: socket left behind: {sock:?}"));
                            }
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A JSON event without what the lab's own sockets carried (a lab may send
/// Chinese text: that is data, not the interface's language).
fn without_payload(e: &Value) -> Value {
    let mut e = e.clone();
    if let Some(o) = e.as_object_mut() {
        for key in ["data", "payload", "signature", "http"] {
            o.remove(key);
        }
        if let Some(notes) = o.get_mut("notes").and_then(Value::as_array_mut) {
            for n in notes {
                if let Some(n) = n.as_object_mut() {
                    n.remove("text");
                }
            }
        }
        // Quoted text inside the English sentences is payload too.
        // (`want` may name a lab's file: `that of the file "课件.bin"`; `got`
        // a text received: `"你好"`.)
        for key in ["detail", "want", "got"] {
            if let Some(text) = o.get(key).and_then(Value::as_str) {
                let unquoted: String = text.split('"').step_by(2).collect();
                o.insert(key.into(), Value::String(unquoted));
            }
        }
    }
    e
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
        || ('\u{3000}'..='\u{303f}').contains(&c)
        || ('\u{ff00}'..='\u{ffef}').contains(&c)
}

#[test]
fn lab_check_catches_a_misspelt_actor_and_an_unknown_flag_set() {
    let dir = std::env::temp_dir().join(format!("wirelab-check2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = "id = \"x\"\ntitle = \"t\"\ngoal = \"g\"\n[[step]]\nactor = \"server\"\ncall = \"socket\"\n[[step]]\nactor = \"client\"\ncall = \"socket\"\n";
    let cases = [
        (
            "actor.toml",
            "[[step]]\nactor = \"client\"\ncall = \"connect\"\nto = \"sever\"\n",
            "line 10",
            "did you mean \"server\"",
        ),
        (
            "flags.toml",
            "[[step]]\nactor = \"client\"\ncall = \"connect\"\nto = \"server\"\nexpect = { packets = [\"SYNACK\"] }\n",
            "line 14",
            "\"SYNACK\" is not a TCP flag",
        ),
    ];
    for (name, body, line, why) in cases {
        let f = dir.join(name);
        std::fs::write(&f, format!("{head}{body}")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["lab", "check"]).arg(&f).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(line) && err.contains(why), "{name}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C typed at the `--step` prompt, in a real pseudo-terminal: the lab
/// stops at once with status 130, says "interrupted", shows no ✗ and no summary.
#[test]
fn ctrl_c_at_a_step_prompt_interrupts_the_lab() {
    use std::io::{Read, Write};
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into the out-pointers; the other arguments may be null.
    let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded, so both fds are open and owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirelab"));
    cmd.args(["lab", "run", "handshake", "--step"]).env("NO_COLOR", "1");
    cmd.stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave.try_clone().unwrap());
    // SAFETY: only async-signal-safe calls between fork and exec: the child gets
    // its own session with the pty as controlling terminal, so the line
    // discipline turns ^C into SIGINT for it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("run wirelab in a pty");
    drop(slave);
    let mut master = std::fs::File::from(master);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let mut enters = 0;
    // Press Enter for the first two steps, then Ctrl-C at the third prompt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let n = master.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen);
        let prompts = text.matches("press Enter").count();
        if prompts > enters && enters < 2 {
            master.write_all(b"\r").unwrap();
            enters += 1;
        } else if prompts == 3 && enters == 2 {
            master.write_all(&[3]).unwrap();
            enters += 1;
        }
        if text.contains("interrupted") {
            break;
        }
    }
    let status = child.wait().unwrap();
    // Drain what is left.
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted at step 3"), "{text}");
    assert!(!text.contains('✗'), "a false ✗:\n{text}");
    assert!(!text.contains("expectations:"), "a summary as if the lab had finished:\n{text}");
    assert!(!text.contains("step 4/"), "a step after the interrupt:\n{text}");
}

#[test]
fn lab_check_reports_the_line_of_an_error() {
    let dir = std::env::temp_dir().join(format!("wirelab-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.toml");
    std::fs::write(&bad, "id = \"broken\"\ntitle = \"t\"\ngoal = \"g\"\n\n[[step]]\nactor = \"c\"\ncall = \"socket\"\n\n[[step]]\nactor = \"c\"\ncall = \"connect\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["lab", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml") && err.contains("line 9") && err.contains("missing field `to`"), "{err}");
    // Every shipped lab validates.
    let labs: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/labs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["lab", "check"]).args(&labs).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn quiz_answers_are_checked_against_the_capture() {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", "handshake", "--quiz", "--format", "jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Right about the SYN-ACK's ack (1), wrong about accept() (it causes 0 packets, not 3).
    child.stdin.take().unwrap().write_all(b"1\n3\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let quiz: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "quiz")
        .collect();
    assert_eq!(quiz.len(), 2, "{quiz:?}");
    assert_eq!((quiz[0]["truth"].as_str(), quiz[0]["right"].as_bool()), (Some("1"), Some(true)));
    assert_eq!((quiz[1]["truth"].as_str(), quiz[1]["right"].as_bool()), (Some("0"), Some(false)));
    // The reason comes from this run: the SYN-ACK's relative ack and its raw number.
    let because = quiz[0]["because"].as_str().unwrap();
    assert!(because.contains("ack = 1 relative") && because.contains("SYN,ACK"), "{because}");
}

#[test]
fn labs_speak_chinese() {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", "refused", "--lang", "zh"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for phrase in ["连接被拒绝", "步骤 2/3", "ECONNREFUSED (111)", "检查项"] {
        assert!(text.contains(phrase), "{phrase:?} missing in:\n{text}");
    }
    // From LANG too, and every lab has its Chinese title, goal, summary and texts.
    let out =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["lab", "list"]).env("LANG", "zh_CN.UTF-8").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("三次握手"));
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/labs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for key in ["title_zh", "goal_zh", "summary_zh"] {
            assert!(text.contains(key), "{} lacks {key}", path.display());
        }
        assert_eq!(
            text.matches("\nsay = ").count(),
            text.matches("\nsay_zh = ").count(),
            "{}: a say without say_zh",
            path.display()
        );
    }
}

/// `lab run --save run.pcapng` writes each packet's step and call as its
/// packet comment: tshark reads them, and `replay` shows them again.
#[test]
fn a_saved_pcapng_carries_the_transcript() {
    let path = std::env::temp_dir().join(format!("wirelab-transcript-{}.pcapng", std::process::id()));
    let (code, _, err) = run_lab("handshake", &["--save", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let out =
        Command::new("tshark").arg("-r").arg(&path).args(["-T", "fields", "-e", "frame.comment"]).output().unwrap();
    let comments: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(comments.len(), 7, "{comments:?}");
    assert!(comments[..3].iter().all(|c| c.contains("step 5/9 · client: connect(127.0.0.1:")), "{comments:?}");
    let replay =
        Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["replay", "--format", "jsonl"]).arg(&path).output().unwrap();
    let frames: Vec<Value> =
        String::from_utf8_lossy(&replay.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for (f, c) in frames.iter().zip(&comments) {
        assert_eq!(f["comment"].as_str(), Some(c.as_str()));
    }
    let _ = std::fs::remove_file(&path);
}
