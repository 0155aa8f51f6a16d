//! The lab wire end to end (root): the evidence of each lab's topic is in its
//! JSON lines; nothing is left behind after a run, after Ctrl-C, after
//! SIGTERM, or after `kill -9` followed by a new run; without CAP_SYS_ADMIN
//! the lab says which capability is missing and where the recording is.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The tests of this file run one at a time: one counts wirelab processes.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn wirelab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn run_jsonl(id: &str) -> Vec<Value> {
    let out = wirelab().args(["lab", "run", id, "--format", "jsonl"]).output().unwrap();
    assert!(
        out.status.success(),
        "{id}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn packets(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["kind"] == "packet").collect()
}

/// The first packet after `index` (in the same step or later) with this analysis flag.
fn flagged_after<'a>(events: &'a [Value], index: usize, flag: &str) -> Option<&'a Value> {
    packets(events)
        .into_iter()
        .skip(index + 1)
        .find(|p| p["analysis"].as_array().is_some_and(|a| a.iter().any(|f| f == flag)))
}

#[test]
fn each_wire_lab_carries_the_evidence_of_its_topic() {
    let _serial = serial();
    if !root() {
        eprintln!("SKIPPED: the lab wire needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); CI runs as root");
        return;
    }
    // (lab, wire action, what it hits, the analysis flag that follows)
    let cases = [
        ("retransmission", "drop", "data", Some("retransmission")),
        ("lost-ack", "drop", "ack", None),
        ("fast-retransmit", "drop", "data", Some("fast_retransmission")),
        ("reorder", "reorder", "data", Some("out_of_order")),
        ("duplicate", "duplicate", "data", Some("retransmission")),
        ("checksum", "corrupt", "data", Some("retransmission")),
        ("lost-syn", "drop", "syn", Some("retransmission")),
        ("lost-last-ack", "drop", "ack", Some("retransmission")),
        ("udp-loss", "drop", "udp", None),
    ];
    for (id, action, hits, flag) in cases {
        let events = run_jsonl(id);
        let ps = packets(&events);
        let (i, marked) = ps
            .iter()
            .enumerate()
            .find(|(_, p)| p["wire"]["action"] == action)
            .unwrap_or_else(|| panic!("{id}: no packet with wire action {action}"));
        let flags: Vec<&str> =
            marked["flags"].as_array().map(|a| a.iter().filter_map(|f| f.as_str()).collect()).unwrap_or_default();
        let flags = flags.join(",");
        let len = marked["len"].as_u64().unwrap_or(0);
        let right_packet = match hits {
            "data" => len > 0,
            "ack" => flags == "ACK" && len == 0,
            "syn" => flags == "SYN",
            "udp" => marked["proto"] == "udp",
            _ => unreachable!(),
        };
        assert!(right_packet, "{id}: the {action} hit {marked}");
        if let Some(flag) = flag {
            // A duplicate's or reordered packet's own flag counts; a loss is followed by its repair.
            let own = marked["analysis"].as_array().is_some_and(|a| a.iter().any(|f| f == flag));
            assert!(own || flagged_after(&events, i, flag).is_some(), "{id}: no {flag} after the {action}");
        }
        if id == "lost-ack" {
            let resent =
                ps.iter().any(|p| p["analysis"].as_array().is_some_and(|a| a.iter().any(|f| f == "retransmission")));
            assert!(!resent, "lost-ack: a cumulative ACK covers the loss, nothing is resent");
        }
        if id == "checksum" {
            let found = events.iter().any(|e| e["finding"] == "checksum_errors" && e["tcp"].as_u64() >= Some(1));
            assert!(found, "checksum: the receiver's InCsumErrors counter did not grow");
        }
    }
}

#[test]
fn slow_start_grows_cwnd_and_broadcast_reaches_the_broadcast_address() {
    let _serial = serial();
    if !root() {
        eprintln!("SKIPPED: the lab wire needs root");
        return;
    }
    let events = run_jsonl("slow-start");
    let cwnds: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "tcp_info" && e["actor"] == "client")
        .map(|e| e["cwnd"].as_u64().unwrap())
        .collect();
    let peak = cwnds.iter().copied().max().unwrap();
    assert!(cwnds.first() == Some(&10) && peak >= 60, "cwnd from 10 to at least 60: {cwnds:?}");
    assert!(
        events.iter().any(|e| e["kind"] == "tcp_info" && e["ssthresh"].as_u64() < Some(2_147_483_647)),
        "a loss sets ssthresh"
    );
    for e in events.iter().filter(|e| e["kind"] == "tcp_info") {
        for field in
            ["cwnd", "ssthresh", "rtt_us", "rttvar_us", "rto_us", "unacked", "retrans", "total_retrans", "ca_state"]
        {
            assert!(e[field].is_u64(), "tcp_info {field} is an integer: {e}");
        }
    }
    let events = run_jsonl("broadcast");
    let p = packets(&events);
    assert_eq!(p.len(), 1, "one datagram on the wire for two receivers");
    assert_eq!(p[0]["dst"], "10.77.0.255");
}

/// `ip netns list` and `ip -o link` of this machine.
fn host_network() -> (String, String) {
    let run =
        |args: &[&str]| String::from_utf8_lossy(&Command::new("ip").args(args).output().unwrap().stdout).into_owned();
    // Link lines without their counters or changing flags: names and indexes.
    let links = run(&["-o", "link"])
        .lines()
        .map(|l| l.split(':').take(2).collect::<Vec<_>>().join(":"))
        .collect::<Vec<_>>()
        .join("\n");
    (run(&["netns", "list"]), links)
}

fn wirelab_children() -> usize {
    // Processes whose command is the test binary's wirelab, other than zombies we already reaped.
    let exe = env!("CARGO_BIN_EXE_wirelab");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter(|e| std::fs::read_link(e.path().join("exe")).is_ok_and(|p| p.to_string_lossy() == exe))
        .count()
}

#[test]
fn nothing_is_left_after_the_end_ctrl_c_sigterm_or_kill_9() {
    let _serial = serial();
    if !root() || Command::new("ip").arg("-V").output().is_err() {
        eprintln!("SKIPPED: needs root and iproute2 to look at the host's network");
        return;
    }
    let before = host_network();
    run_jsonl("lost-ack");
    assert_eq!(host_network(), before, "after a normal run");
    for (signal, code) in [(libc::SIGINT, Some(130)), (libc::SIGTERM, Some(130)), (libc::SIGKILL, None)] {
        let child = wirelab()
            .args(["lab", "run", "slow-start", "--format", "jsonl"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), code, "signal {signal}: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(host_network(), before, "after signal {signal}");
        assert_eq!(wirelab_children(), 0, "no wirelab process is left after signal {signal}");
    }
    // A run right after kill -9 works: nothing of the killed run is in its way.
    run_jsonl("lost-ack");
    assert_eq!(host_network(), before);
}

#[test]
fn without_cap_sys_admin_the_wire_names_the_capability_and_the_recording() {
    let _serial = serial();
    if Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("SKIPPED: setpriv (util-linux) is needed to drop CAP_SYS_ADMIN");
        return;
    }
    let out = Command::new("setpriv")
        .args([
            "--bounding-set=-sys_admin",
            "--inh-caps=-sys_admin",
            env!("CARGO_BIN_EXE_wirelab"),
            "lab",
            "run",
            "retransmission",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CAP_SYS_ADMIN") && stderr.contains("CAP_NET_ADMIN"), "{stderr}");
    assert!(stderr.contains("wirelab replay retransmission"), "the bundled recording is named: {stderr}");
    // And the recording replays with the wire's actions.
    let out = wirelab().args(["replay", "retransmission", "--format", "jsonl"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"wire\":{\"action\":\"drop\"}"), "{text}");
}

/// A lab written for this test: the wire's `delay` action (a premature
/// timeout: the ACK comes after the sender's RTO, so the retransmission is
/// spurious) and `probability` rules, whose seed loses the same datagrams
/// in two runs.
#[test]
fn delay_and_seeded_probability_rules_act_as_written() {
    let _serial = serial();
    if !root() {
        eprintln!("SKIPPED: the lab wire needs root");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wirelab-wire-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("premature.toml"),
        r#"id = "premature"
title = "A premature timeout"
goal = "The server's ACK is delayed past the client's RTO."
[wire]
delay = 20
[[wire.host]]
name = "client"
actors = ["client"]
sysctl = { tcp_early_retrans = 0 }
[[wire.host]]
name = "server"
actors = ["server"]
[[wire.rule]]
from = "server"
action = "delay"
packet = "ack"
ms = 400
[[step]]
actor = "server"
call = "socket"
[[step]]
actor = "server"
call = "bind"
addr = "0.0.0.0:7000"
[[step]]
actor = "server"
call = "listen"
[[step]]
actor = "client"
call = "socket"
[[step]]
actor = "client"
call = "connect"
to = "server"
[[step]]
actor = "server"
call = "accept"
as = "conn"
[[step]]
actor = "client"
call = "send"
data = "hello"
expect = { wire = ["delay"], analysis = ["retransmission"] }
"#,
    )
    .unwrap();
    let mut datagrams = String::from(
        r#"id = "lossy"
title = "Chance losses"
goal = "Half the datagrams, by a seeded draw."
[wire]
[[wire.host]]
name = "a"
actors = ["a"]
[[wire.host]]
name = "b"
actors = ["b"]
[[wire.rule]]
from = "a"
action = "drop"
packet = "udp"
probability = 0.5
seed = 7
[[step]]
actor = "b"
call = "socket"
type = "dgram"
[[step]]
actor = "b"
call = "bind"
addr = "0.0.0.0:9000"
[[step]]
actor = "a"
call = "socket"
type = "dgram"
"#,
    );
    for i in 0..12 {
        datagrams.push_str(&format!(
            "[[step]]\nactor = \"a\"\ncall = \"sendto\"\nto = \"b\"\ndata = \"d{i}\"\nsettle = 0.1\n"
        ));
    }
    std::fs::write(dir.join("lossy.toml"), datagrams).unwrap();
    let run = |id: &str| -> Vec<Value> {
        let out = wirelab().args(["lab", "run", id, "--format", "jsonl", "--labs"]).arg(&dir).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{id}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let events = run("premature");
    let delayed = packets(&events).into_iter().find(|p| p["wire"]["action"] == "delay").expect("a delayed packet");
    assert_eq!(delayed["wire"]["ms"], 400, "{delayed}");
    // The data went out again before its (delayed) ACK came: the retransmission was not needed.
    let spurious = packets(&events).into_iter().any(|p| {
        p["analysis"]
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f == "spurious_retransmission" || f == "retransmission"))
    });
    assert!(spurious, "the RTO expired before the delayed ACK arrived");
    let lost = |events: &[Value]| -> Vec<String> {
        packets(events)
            .into_iter()
            .filter(|p| p["wire"]["action"] == "drop")
            .map(|p| p["payload"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (first, second) = (lost(&run("lossy")), lost(&run("lossy")));
    assert!(!first.is_empty() && first.len() < 12, "about half lost: {first:?}");
    assert_eq!(first, second, "the seed loses the same datagrams every run");
    std::fs::remove_dir_all(&dir).unwrap();
}
