//! Replay speed against tshark and tcpdump, measured in the same run, plus a
//! live-capture drop test. Run as root:
//!
//! ```sh
//! cargo bench --bench replay_vs_tshark            # reuses target/bench/bench.pcap if present
//! cargo bench --bench replay_vs_tshark -- --regenerate
//! ```
//!
//! The capture is generated here, with real traffic in two private network
//! namespaces joined by a veth pair (MTU 1500, offloads off): tens of
//! thousands of short connections (handshake, small request and response,
//! teardown) and one bulk transfer. tcpdump records it with a 128-byte
//! snaplen. Each tool then reads it; the table shows wall time, frames/s,
//! peak RSS, and wirelab's ratios to tshark and tcpdump.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SHORT_CONNECTIONS: usize = 45_000;
const BULK_BYTES: u64 = 600_000_000;

fn sh(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(cmd).status().map(|s| s.success()).unwrap_or(false)
}

/// `cmd` run by sh, which execs the last program, so `kill()` reaches it.
fn spawn(cmd: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Generates the benchmark capture.
fn generate(out: &Path) {
    let peers = project().join("scripts/peers.py");
    let peers = peers.display();
    eprintln!("bench: generating {} (about a minute)…", out.display());
    sh("ip netns del wlb-a 2>/dev/null; ip netns del wlb-b 2>/dev/null; true");
    let setup = [
        "ip netns add wlb-a",
        "ip netns add wlb-b",
        "ip link add veth-a netns wlb-a type veth peer name veth-b netns wlb-b",
        "ip -n wlb-a addr add 10.78.0.1/24 dev veth-a",
        "ip -n wlb-b addr add 10.78.0.2/24 dev veth-b",
        "ip -n wlb-a link set veth-a up mtu 1500",
        "ip -n wlb-b link set veth-b up mtu 1500",
        "ip -n wlb-a link set lo up",
        "ip -n wlb-b link set lo up",
        "ip netns exec wlb-a ethtool -K veth-a tso off gso off gro off >/dev/null 2>&1; true",
        "ip netns exec wlb-b ethtool -K veth-b tso off gso off gro off >/dev/null 2>&1; true",
    ];
    for c in setup {
        assert!(sh(c), "bench setup failed: {c} (run as root; needs iproute2, ethtool, tcpdump, python3)");
    }
    let dump = spawn(&format!(
        "ip netns exec wlb-b tcpdump -i veth-b -s 128 -B 262144 -U -w {} 'tcp port 5101 or tcp port 5102' 2>&1",
        out.display()
    ));
    std::thread::sleep(Duration::from_secs(1));
    let mut rr = spawn(&format!("ip netns exec wlb-b python3 {peers} rr_server 10.78.0.2 5101"));
    let mut bulk = spawn(&format!("ip netns exec wlb-b python3 {peers} bulk_server 10.78.0.2 5102"));
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    // Two client processes, one per core.
    let half = SHORT_CONNECTIONS / 2;
    let c1 = spawn(&format!("ip netns exec wlb-a python3 {peers} rr_clients 10.78.0.2 5101 {half}"));
    let c2 = spawn(&format!("ip netns exec wlb-a python3 {peers} rr_clients 10.78.0.2 5101 {half}"));
    for mut c in [c1, c2] {
        c.wait().expect("clients");
    }
    assert!(
        sh(&format!("ip netns exec wlb-a python3 {peers} bulk 10.78.0.2 5102 {BULK_BYTES}")),
        "bulk transfer failed"
    );
    eprintln!("bench: traffic took {:.1} s", start.elapsed().as_secs_f64());
    std::thread::sleep(Duration::from_secs(1));
    for server in [&mut rr, &mut bulk] {
        let _ = server.kill();
        let _ = server.wait();
    }
    sh("pkill -INT -f 'tcpdump -i veth-b'");
    let out = dump.wait_with_output().expect("tcpdump");
    eprint!("bench: tcpdump: {}", String::from_utf8_lossy(&out.stderr));
    sh("ip netns del wlb-a; ip netns del wlb-b");
}

struct Measure {
    name: String,
    /// The fastest run and the slowest.
    secs: f64,
    worst: f64,
    /// Peak RSS, the largest of all runs.
    rss_kib: u64,
}

/// Runs `cmd` once (stdout to /dev/null) under GNU time: wall time by our
/// own clock (GNU time rounds to 10 ms), peak RSS by time.
fn run_once(cmd: &str) -> (f64, u64) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "sh", "-c", &format!("{cmd} > /dev/null 2>/dev/null")])
        .output()
        .expect("/usr/bin/time (Debian package `time`)");
    let secs = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stderr);
    (secs, text.lines().last().and_then(|x| x.trim().parse().ok()).unwrap_or(0))
}

/// Each `(name, command, runs)`, the best of its runs. The runs go round
/// the commands in turn rather than one command at a time: this machine is
/// a VM whose speed shifts for seconds at a time (with the host's placement
/// of its two cores), and taking turns lets such a spell fall on every
/// command alike instead of on one.
fn measure_all(cmds: &[(&str, String, usize)]) -> Vec<Measure> {
    let mut rows: Vec<Measure> = cmds
        .iter()
        .map(|(name, _, _)| Measure { name: name.to_string(), secs: f64::INFINITY, worst: 0.0, rss_kib: 0 })
        .collect();
    let rounds = cmds.iter().map(|c| c.2).max().unwrap_or(0);
    for round in 0..rounds {
        for ((_, cmd, runs), m) in cmds.iter().zip(&mut rows) {
            if round < *runs {
                let (secs, rss) = run_once(cmd);
                m.secs = m.secs.min(secs);
                m.worst = m.worst.max(secs);
                m.rss_kib = m.rss_kib.max(rss);
            }
        }
    }
    rows
}

fn frames_in(wirelab: &Path, file: &Path) -> u64 {
    let out = Command::new(wirelab).args(["replay", "--format", "table"]).arg(file).output().expect("wirelab");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().rev().find_map(|l| l.split(" frames").next().and_then(|n| n.trim().parse().ok())).unwrap_or(0)
}

/// Bytes sent in each live transfer.
const LIVE_BYTES: u64 = 1 << 30;

/// What one capture of a live transfer kept.
struct Kept {
    /// TCP payload bytes in the saved file ÷ bytes sent.
    share: f64,
    frames: u64,
    /// Drops the tool reported (kernel counter).
    drops: String,
}

/// TCP payload bytes and frames in a saved capture.
fn payload_in(file: &Path) -> (u64, u64) {
    use std::ops::ControlFlow;
    use wirelab::decode::{decode, Transport};
    let (mut bytes, mut frames) = (0u64, 0u64);
    let Ok(mut reader) = wirelab::source::file::CaptureReader::open(file) else {
        return (0, 0);
    };
    let _ = reader.for_each(|f| {
        frames += 1;
        if let Transport::Tcp(t) = decode(f).transport {
            bytes += t.payload.len() as u64;
        }
        ControlFlow::Continue(())
    });
    (bytes, frames)
}

/// One 1 GiB transfer over loopback to `port` while `capture` (a command
/// line that writes `save`) records it; the capture is stopped by SIGINT.
fn live_run(capture: &str, port: u16, save: &Path, drops_of: fn(&str) -> String) -> Option<Kept> {
    let peers = project().join("scripts/peers.py");
    let _ = std::fs::remove_file(save);
    let mut server = spawn(&format!("python3 {} bulk_server 127.0.0.1 {port}", peers.display()));
    let tool = spawn(capture);
    // Both tools announce themselves on stderr when capture is live; a
    // second is ample and the same for both.
    std::thread::sleep(Duration::from_millis(1500));
    let ok = sh(&format!("python3 {} bulk 127.0.0.1 {port} {LIVE_BYTES}", peers.display()));
    std::thread::sleep(Duration::from_millis(1000));
    sh(&format!("kill -INT {}", tool.id()));
    let out = tool.wait_with_output();
    let _ = server.kill();
    let _ = server.wait();
    let out = out.ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let (bytes, frames) = payload_in(save);
    let _ = std::fs::remove_file(save);
    ok.then(|| Kept { share: bytes as f64 / LIVE_BYTES as f64, frames, drops: drops_of(&err) })
}

fn wirelab_drops(err: &str) -> String {
    err.split("kernel: ").nth(1).map(|s| s.trim().to_string()).unwrap_or_else(|| err.trim().to_string())
}

fn tcpdump_drops(err: &str) -> String {
    err.lines()
        .filter(|l| l.contains("received by filter") || l.contains("dropped by kernel"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One tool's live run: its name, its command line, its port, and how its
/// drop counters are read from its stderr.
type LiveRun<'a> = (&'a str, String, u16, fn(&str) -> String);

/// Full-frame live capture, wirelab against tcpdump: one after the other on
/// identical 1 GiB loopback transfers, alternating, `rounds` each; then
/// wirelab with a 128-byte snaplen.
fn live_comparison(wirelab: &Path, rounds: usize) {
    let save = std::env::temp_dir().join("wirelab-bench-live.pcap");
    let w = wirelab.display();
    let s = save.display();
    println!();
    println!("live: 1 GiB over loopback (python sender/receiver), captured one tool at a time, alternating:");
    let mut shares: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        // Fresh ports each transfer: no TIME_WAIT of the last one in the way.
        let (wp, tp) = (5110 + 2 * round as u16, 5111 + 2 * round as u16);
        let (pp, bp) = (5170 + round as u16, 5190 + round as u16);
        let runs: [LiveRun; 4] = [
            (
                "wirelab sniff --save (full frames)",
                format!("{w} sniff --port {wp} --format table --duration 60 --save {s}"),
                wp,
                wirelab_drops,
            ),
            (
                "tcpdump -B 32768 -w (full frames)",
                format!("tcpdump -i lo -B 32768 -w {s} tcp port {tp}"),
                tp,
                tcpdump_drops,
            ),
            // tcpdump with a buffer as large as wirelab's ring when saving
            // whole frames (ring::BLOCKS_SAVING): what the buffer alone buys.
            (
                "  tcpdump -B 262144 (wirelab's 256 MiB)",
                format!("tcpdump -i lo -B 262144 -w {s} tcp port {bp}"),
                bp,
                tcpdump_drops,
            ),
            // The frame-by-frame path (pnet's recv loop) with the same writer
            // thread: what the ring buys.
            (
                "  same, WIRELAB_NO_RING (pnet recv)",
                format!("env WIRELAB_NO_RING=1 {w} sniff --port {pp} --format table --duration 60 --save {s}"),
                pp,
                wirelab_drops,
            ),
        ];
        for (i, (name, cmd, port, drops)) in runs.into_iter().enumerate() {
            match live_run(&cmd, port, &save, drops) {
                Some(k) => {
                    shares[i].push(k.share);
                    println!(
                        "  {name:<36} saved {:>5.1} % of the bytes, {:>6} frames; {}",
                        100.0 * k.share,
                        k.frames,
                        k.drops
                    );
                }
                None => println!("  {name:<36} transfer failed"),
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN) * 100.0
    };
    let wins = shares[0].iter().zip(&shares[1]).filter(|(w, t)| w >= t).count();
    let [wm, tm, bm, pm] = shares.each_mut().map(median);
    println!(
        "  median share saved: wirelab {wm:.1} %, tcpdump {tm:.1} %, tcpdump with 256 MiB {bm:.1} %, wirelab without the ring {pm:.1} %"
    );
    println!("  wirelab saved at least tcpdump's share (-B 32768) in {wins} of {rounds} rounds");
    let port = 5150;
    if let Some(k) = live_run(
        &format!("{w} sniff --port {port} --format table --snaplen 128 --duration 60 --save {s}"),
        port,
        &save,
        wirelab_drops,
    ) {
        println!("  wirelab sniff --save --snaplen 128: {} frames; kernel: {}", k.frames, k.drops);
    }
}

/// The same frames with every time gap ×1000 (an 8-second capture becomes
/// hours long): connections finish and are retired, so memory stays flat.
fn stretch(src: &Path, dst: &Path) {
    use std::ops::ControlFlow;
    use wirelab::source::file::CaptureReader;
    use wirelab::source::writer::PcapWriter;
    use wirelab::source::Timestamp;
    let mut reader = CaptureReader::open(src).expect("bench capture");
    let mut writer: Option<PcapWriter> = None;
    let mut t0: Option<i128> = None;
    reader
        .for_each(|f| {
            let w = writer.get_or_insert_with(|| PcapWriter::create(dst, f.link, None).expect("stretched file"));
            let t = f.ts.as_nanos();
            let start = *t0.get_or_insert(t);
            let nt = start + (t - start) * 1000;
            let ts = Timestamp { secs: (nt / 1_000_000_000) as i64, nanos: (nt % 1_000_000_000) as u32 };
            w.write(ts, f.data, f.orig_len).expect("write");
            ControlFlow::Continue(())
        })
        .expect("read");
    if let Some(mut w) = writer {
        w.flush().expect("flush");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = project().join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    let file = dir.join("bench.pcap");
    if args.iter().any(|a| a == "--regenerate") || !file.exists() {
        generate(&file);
    }
    assert!(sh("cargo build --release --quiet"), "cargo build --release");
    // WIRELAB_BENCH_BIN: another build (an older one, for before/after figures).
    let wirelab =
        std::env::var_os("WIRELAB_BENCH_BIN").map_or_else(|| project().join("target/release/wirelab"), PathBuf::from);
    let frames = frames_in(&wirelab, &file);
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let f = file.display();
    let w = wirelab.display();
    println!("capture: {f}: {frames} frames, {:.1} MB", size as f64 / 1e6);
    println!(
        "machine: {} cores; files in page cache (cat first)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let stretched = dir.join("bench_stretched.pcap");
    if !stretched.exists() || args.iter().any(|a| a == "--regenerate") {
        stretch(&file, &stretched);
    }
    let st = stretched.display();
    let page = std::env::temp_dir().join("wirelab-bench.html");
    let html = page.display();
    let runs = 5;
    let rows = measure_all(&[
        ("cat (I/O floor)", format!("cat {f}"), runs),
        ("wirelab replay --format table", format!("{w} replay --format table {f}"), runs),
        ("wirelab replay --format jsonl", format!("{w} replay --format jsonl {f}"), runs),
        ("wirelab replay (ladder)", format!("{w} replay {f}"), runs),
        ("wirelab replay --html (and ladder)", format!("{w} replay --html {html} {f}"), runs),
        ("wirelab … table, time gaps ×1000", format!("{w} replay --format table {st}"), runs),
        ("tcpdump -nr", format!("tcpdump -nr {f}"), runs),
        ("tshark -r", format!("tshark -r {f}"), 1),
        ("tshark -T fields -e tcp.seq -e tcp.ack", format!("tshark -r {f} -T fields -e tcp.seq -e tcp.ack"), 1),
    ]);
    let tshark = rows.iter().find(|r| r.name == "tshark -r").map(|r| r.secs).unwrap_or(f64::NAN);
    let tcpdump = rows.iter().find(|r| r.name == "tcpdump -nr").map(|r| r.secs).unwrap_or(f64::NAN);
    println!();
    println!(
        "{:<42} {:>9} {:>9} {:>13} {:>10} {:>9} {:>9}",
        "command", "wall s", "slowest", "frames/s", "peak RSS", "÷tshark", "÷tcpdump"
    );
    for r in &rows {
        let fps = frames as f64 / r.secs.max(1e-9);
        let (vs_tshark, vs_tcpdump) = if r.name.starts_with("wirelab") {
            (format!("{:.1}×", tshark / r.secs), format!("{:.1}×", tcpdump / r.secs))
        } else {
            (String::new(), String::new())
        };
        println!(
            "{:<42} {:>9.3} {:>9.3} {:>13.0} {:>7.1} MiB {:>9} {:>9}",
            r.name,
            r.secs,
            r.worst,
            fps,
            r.rss_kib as f64 / 1024.0,
            vs_tshark,
            vs_tcpdump
        );
    }
    println!("(wall s: the best of {runs} runs, taken in turns with the other commands; slowest: the worst of them;");
    println!(" peak RSS: the largest of the runs; ÷tshark: how many times faster than `tshark -r` on the same file, same run)");
    let secs_of = |name: &str| rows.iter().find(|r| r.name == name).map_or(f64::NAN, |r| r.secs);
    println!(
        "--html takes {:.2}× the ladder's time",
        secs_of("wirelab replay --html (and ladder)") / secs_of("wirelab replay (ladder)")
    );
    let _ = std::fs::remove_file(&page);
    if !args.iter().any(|a| a == "--no-live") {
        live_comparison(&wirelab, 5);
    }
}
