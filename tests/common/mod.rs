//! Shared test helpers: run wirelab and tshark on the same capture and compare
//! them field by field.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The public corpus shipped beside the project.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/public")
}

/// Crafted edge-case captures (see `tests/data/SOURCES.md`).
pub fn crafted_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The project's own recorded captures.
pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// The capture files of a folder (pcap, pcapng), sorted.
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"));
    files.sort();
    files
}

/// Runs `wirelab replay FILE --format jsonl` and parses every line.
pub fn wirelab_jsonl(path: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["replay", "--format", "jsonl"])
        .arg(path)
        .output()
        .expect("run wirelab");
    assert!(out.status.success(), "wirelab failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// tshark fields read for the comparison, in this order.
pub const FIELDS: &[&str] = &[
    "frame.number",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.stream",
    "tcp.flags",
    "tcp.seq",
    "tcp.ack",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "tcp.window_size",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.analysis.duplicate_ack_num",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.stream",
    "dns.qry.name",
    "dns.a",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.zero_window",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.window_update",
    "tcp.analysis.window_full",
    "tcp.analysis.keep_alive",
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.reused_ports",
    "frame.time_epoch",
];

/// Index of the first analysis flag in [`FIELDS`] (they run to the time field).
fn first_flag() -> usize {
    FIELDS.iter().position(|f| *f == "tcp.analysis.retransmission").expect("listed")
}

/// Is tshark installed? CI installs it; a developer machine may not have it.
pub fn tshark_available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Runs tshark with default TCP preferences and returns one row of fields per frame.
pub fn tshark_rows(path: &Path) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(path).args(["-T", "fields", "-E", "occurrence=f", "-E", "separator=/t"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(out.status.success() || !out.stdout.is_empty(), "tshark failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

fn field<'a>(row: &'a [String], name: &str) -> &'a str {
    let i = FIELDS.iter().position(|f| *f == name).expect("known field");
    row.get(i).map(String::as_str).unwrap_or("")
}

fn num(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const FLAG_BITS: &[(&str, u16)] = &[
    ("FIN", 0x001),
    ("SYN", 0x002),
    ("RST", 0x004),
    ("PSH", 0x008),
    ("ACK", 0x010),
    ("URG", 0x020),
    ("ECE", 0x040),
    ("CWR", 0x080),
];

/// Outcome of comparing one file.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Frames compared.
    pub frames: usize,
    /// TCP frames among them.
    pub tcp_frames: usize,
    /// Values compared.
    pub values: usize,
    /// Human-readable differences.
    pub diffs: Vec<String>,
}

/// Compares wirelab's JSON lines with tshark's fields, frame by frame.
pub fn compare(path: &Path) -> Comparison {
    let ours = wirelab_jsonl(path);
    let theirs = tshark_rows(path);
    let mut cmp = Comparison::default();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    if ours.len() != theirs.len() {
        cmp.diffs.push(format!("{name}: {} frames from wirelab, {} from tshark", ours.len(), theirs.len()));
    }
    for (o, t) in ours.iter().zip(theirs.iter()) {
        cmp.frames += 1;
        let frame = num(&o["frame"]);
        let mut check = |what: &str, ours: String, theirs: &str| {
            cmp.values += 1;
            if ours != theirs {
                cmp.diffs.push(format!("{name} frame {frame}: {what}: wirelab {ours:?}, tshark {theirs:?}"));
            }
        };
        check("frame", frame.clone(), field(t, "frame.number"));
        // Timestamps: same to the microsecond, or to the precision of an f64
        // for absurd dates (one corpus file has times near 2^64 µs).
        let ts_ours = o["ts"].as_f64().unwrap_or(0.0);
        let ts_theirs: f64 = field(t, "frame.time_epoch").parse().unwrap_or(0.0);
        if (ts_ours - ts_theirs).abs() > 2e-6_f64.max(ts_theirs.abs() * 1e-15) {
            check("ts", format!("{ts_ours:.6}"), &format!("{ts_theirs:.6}"));
        }
        let proto = o["proto"].as_str().unwrap_or("");
        if proto != "other" {
            let src = if field(t, "ip.src").is_empty() { field(t, "ipv6.src") } else { field(t, "ip.src") };
            let dst = if field(t, "ip.dst").is_empty() { field(t, "ipv6.dst") } else { field(t, "ip.dst") };
            check("src", num(&o["src"]), src);
            check("dst", num(&o["dst"]), dst);
        }
        match proto {
            "tcp" => {
                cmp.tcp_frames += 1;
                check("sport", num(&o["sport"]), field(t, "tcp.srcport"));
                check("dport", num(&o["dport"]), field(t, "tcp.dstport"));
                check("stream", num(&o["stream"]), field(t, "tcp.stream"));
                // A damaged header has no flags in either output.
                let bits = o["flags"].as_array().map(|names| {
                    let bits: u16 =
                        names.iter().map(|f| FLAG_BITS.iter().find(|(n, _)| Some(*n) == f.as_str()).unwrap().1).sum();
                    format!("{bits:#x}")
                });
                let tflags = u16::from_str_radix(field(t, "tcp.flags").trim_start_matches("0x"), 16)
                    .map(|f| format!("{:#x}", f & 0xff))
                    .ok();
                check("flags", bits.unwrap_or_default(), &tflags.unwrap_or_default());
                for (k, f) in [
                    ("seq", "tcp.seq"),
                    ("ack", "tcp.ack"),
                    ("seq_raw", "tcp.seq_raw"),
                    ("ack_raw", "tcp.ack_raw"),
                    ("len", "tcp.len"),
                    ("win", "tcp.window_size"),
                    ("mss", "tcp.options.mss_val"),
                    ("wscale", "tcp.options.wscale.shift"),
                ] {
                    check(k, num(&o[k]), field(t, f));
                }
                let ours_flags: BTreeSet<String> = o["analysis"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                let theirs_flags: BTreeSet<String> = FIELDS[first_flag()..FIELDS.len() - 1]
                    .iter()
                    .filter(|f| !field(t, f).is_empty())
                    .map(|f| f.trim_start_matches("tcp.analysis.").to_string())
                    .collect();
                check("analysis", format!("{ours_flags:?}"), &format!("{theirs_flags:?}"));
                let dup = o.get("dupack_num").map(num).unwrap_or_default();
                check("dupack_num", dup, field(t, "tcp.analysis.duplicate_ack_num"));
            }
            "udp" => {
                check("sport", num(&o["sport"]), field(t, "udp.srcport"));
                check("dport", num(&o["dport"]), field(t, "udp.dstport"));
                let len = field(t, "udp.length").parse::<i64>().map(|l| (l - 8).to_string()).unwrap_or_default();
                check("len", num(&o["len"]), &len);
                check("stream", num(&o["stream"]), field(t, "udp.stream"));
                // DNS on port 53: the first question's name and the first A answer.
                let name = o.get("dns").map(|d| num(&d["name"])).unwrap_or_default();
                check("dns.qry.name", name, field(t, "dns.qry.name"));
                let a = o
                    .get("dns")
                    .and_then(|d| {
                        d["answers"].as_array()?.iter().find(|a| a.as_str().is_some_and(|a| !a.contains(':'))).map(num)
                    })
                    .unwrap_or_default();
                check("dns.a", a, field(t, "dns.a"));
            }
            "icmp" => {
                check("icmp_type", num(&o["icmp_type"]), field(t, "icmp.type"));
                check("icmp_code", num(&o["icmp_code"]), field(t, "icmp.code"));
            }
            "icmpv6" => {
                check("icmp_type", num(&o["icmp_type"]), field(t, "icmpv6.type"));
                check("icmp_code", num(&o["icmp_code"]), field(t, "icmpv6.code"));
            }
            _ => {
                // wirelab does not decode it: tshark must not have found TCP in it either.
                check("tcp.stream (undecoded frame)", String::new(), field(t, "tcp.stream"));
            }
        }
    }
    cmp
}

/// Starts `wirelab sniff --port PORT --format jsonl [extra…] --save FILE` and
/// waits until it captures (its first line on stderr).
pub fn spawn_sniff(
    port: u16,
    extra: &[&str],
    save: &Path,
) -> (std::process::Child, std::io::BufReader<std::process::ChildStderr>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["sniff", "--port", &port.to_string(), "--format", "jsonl"])
        .args(extra)
        .arg("--save")
        .arg(save)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run wirelab sniff");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("first line");
    assert!(line.contains("sniffing on lo"), "{line}");
    (child, err)
}

/// Live capture needs CAP_NET_RAW; CI runs the live tests as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// True (and says so) when `test` must be skipped: it captures on loopback,
/// which needs root (CAP_NET_RAW).
pub fn skip_without_capture(test: &str) -> bool {
    let skip = !is_root();
    if skip {
        eprintln!("SKIPPED {test}: live capture on lo needs root (CAP_NET_RAW)");
    }
    skip
}

/// Chromium for the page and graph tests: required in CI, skipped elsewhere when missing.
pub fn chromium() -> Option<&'static str> {
    let found = Command::new("sh").args(["-c", "command -v chromium"]).output().is_ok_and(|o| o.status.success());
    if found {
        return Some("chromium");
    }
    assert!(std::env::var_os("CI").is_none(), "chromium is not installed (.ci/run installs it)");
    println!("skipped: chromium is not on PATH");
    None
}

/// Runs headless Chromium on `url` with `extra` flags; (stdout, stderr).
/// Headless Chromium as root on a machine without network (NOTES.md): no
/// sandbox, no GPU, no background requests.
#[allow(dead_code)]
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

pub fn run_chromium(bin: &str, url: &str, extra: &[&str]) -> (String, String) {
    // One profile per run: tests of one binary run Chromium at the same time.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("wirelab-chromium-{}-{run}", std::process::id()));
    let out = Command::new("timeout")
        .arg("120")
        .arg(bin)
        .args(CHROMIUM_FLAGS)
        .args(["--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}
