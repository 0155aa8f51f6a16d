//! Grading students' programs (issue 13): `wirelab grade` on the reference
//! and wrong programs of `tests/grading/` — echo and file servers, download
//! clients fed on stdin, HTTP servers: each right one passes, each wrong one
//! fails at the expectation that shows its mistake — and on the held-out
//! submissions, which get the verdicts their author intended; nothing of a
//! program is left running; `lab run --program` alone, a program that never
//! listens, a bad `--program`, Ctrl-C and the time limit.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wirelab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn echo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grading/echo")
}

/// Live processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter(|e| e.file_name().to_string_lossy() != me)
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let state = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let zombie = state.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
            (cmd.contains(marker) && !zombie).then_some(cmd)
        })
        .collect()
}

/// (actor, call, what) of a verdict's failures.
fn failures(v: &Value) -> Vec<(String, String, String)> {
    v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("actor"), s("call"), s("what"))
        })
        .collect()
}

#[test]
fn right_programs_pass_and_each_wrong_one_fails_for_its_reason() {
    if !root() {
        eprintln!("SKIPPED: grading runs programs in private network namespaces, which needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); CI runs as root");
        return;
    }
    let dir = echo_dir();
    let mut subs: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    subs.sort();
    assert!(subs.len() >= 6, "{subs:?}");
    let csv = std::env::temp_dir().join(format!("wirelab-grade-test-{}.csv", std::process::id()));
    let saved = std::env::temp_dir().join(format!("wirelab-grade-captures-{}", std::process::id()));
    // A marker in the programs' command lines: other tests run servers too.
    let marker = format!("wirelab-grade-marker-{}", std::process::id());
    let started = Instant::now();
    let child = wirelab()
        .args(["grade", "grade-echo-server", "--format", "jsonl", "--jobs", "4", "--program"])
        .arg(format!("server=python3 {{}}/server.py {marker}"))
        .arg("--out")
        .arg(&csv)
        .arg("--save")
        .arg(&saved)
        .args(&subs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "some submissions fail: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(verdicts.len(), subs.len(), "{stdout}");
    // --save: one capture per submission, which replays with the lab's steps as comments.
    let mut captures: Vec<PathBuf> = std::fs::read_dir(&saved).unwrap().flatten().map(|e| e.path()).collect();
    captures.sort();
    assert_eq!(captures.len(), subs.len(), "{captures:?}");
    let replay = wirelab().arg("replay").arg(&captures[0]).args(["--format", "jsonl"]).output().unwrap();
    let frames = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success() && frames.contains("wirelab lab grade-echo-server step"), "{frames}");
    std::fs::remove_dir_all(&saved).unwrap();
    for v in &verdicts {
        let sub = v["submission"].as_str().unwrap();
        let name = Path::new(sub).file_name().unwrap().to_string_lossy().into_owned();
        let failed = failures(v);
        let has = |actor: &str, call: &str, what: &str| {
            failed.iter().any(|(a, c, w)| a == actor && c.starts_with(call) && w == what)
        };
        if name.starts_with("right") {
            assert_eq!(v["passed"], true, "{name}: {v}");
            assert_eq!(v["score"], v["total"], "{name}: {v}");
            continue;
        }
        assert_eq!(v["passed"], false, "{name}: {v}");
        assert!(v["score"].as_u64() < v["total"].as_u64(), "{name}: {v}");
        for f in v["failed"].as_array().unwrap() {
            for key in ["step", "what", "want", "got", "why"] {
                assert!(!f[key].is_null(), "{name}: failure without {key}: {f}");
            }
        }
        match name.as_str() {
            // The server never sends its FIN: the client is left in FIN_WAIT2.
            "wrong_no_close" => {
                assert!(has("client", "close", "state"), "{name}: {failed:?}");
                assert!(has("client2", "close", "state"), "{name}: {failed:?}");
                // It does echo and it does serve the second client.
                assert!(
                    !failed.iter().any(|(_, _, w)| w == "data" || w == "md5" || w == "errno"),
                    "{name}: {failed:?}"
                );
            }
            // Stuck on the first client: no FIN, and the second client gets no echo.
            "wrong_no_break" => {
                assert!(has("client", "close", "state"), "{name}: {failed:?}");
                assert!(has("client2", "recv", "data"), "{name}: {failed:?}");
            }
            // Gone after one client: the second connect is refused, nobody listens.
            "wrong_one_client" => {
                assert!(has("client2", "connect", "errno"), "{name}: {failed:?}");
                assert!(has("server", "sleep", "state"), "{name}: {failed:?}");
                assert!(!has("client", "close", "state"), "{name}: the first client is served right: {failed:?}");
                assert!(v["exited"].as_i64().is_some(), "{name}: it exited by itself: {v}");
            }
            // Only the first recv() is echoed: the 3000 bytes do not come back.
            "wrong_first_recv_only" => {
                assert!(has("client", "recv_all", "md5"), "{name}: {failed:?}");
                assert!(!has("client", "close", "state"), "{name}: it closes right: {failed:?}");
            }
            other => panic!("no expected reason for {other}: add one"),
        }
    }
    // The CSV: a header and a row per submission.
    let text = std::fs::read_to_string(&csv).unwrap();
    let _ = std::fs::remove_file(&csv);
    assert_eq!(text.lines().count(), subs.len() + 1, "{text}");
    assert!(text.starts_with("submission,passed,score,total,failed\n"), "{text}");
    // Four at a time: well below the sum of the submissions' times.
    let sum: f64 = verdicts.iter().map(|v| v["seconds"].as_f64().unwrap()).sum();
    assert!(took.as_secs_f64() < sum, "took {took:?}, the submissions' times add up to {sum} s");
    // Nothing of any submission is left running, and no copy is left behind.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with(&format!("wirelab-grade-{pid}-")) || n.starts_with(&format!("wirelab-program-{pid}-"))
        })
        .collect();
    assert!(left.is_empty(), "left in the temp folder: {left:?}");
}

fn file_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grading/file")
}

#[test]
fn file_servers_right_ones_pass_and_each_wrong_one_fails_for_its_reason() {
    if !root() {
        eprintln!("SKIPPED: grading runs programs in private network namespaces, which needs root");
        return;
    }
    // A program of this machine on the same port does not disturb grading:
    // each submission listens in its own namespace. (Another test of this
    // file may hold the port already: the same then.)
    let _squatter = std::net::TcpListener::bind("0.0.0.0:8888").ok();
    for (name, v) in grade_all("grade-file-server", "file", "server", "server.py") {
        let failed = failures(&v);
        let has = |actor: &str, call: &str, what: &str| {
            failed.iter().any(|(a, c, w)| a == actor && c.starts_with(call) && w == what)
        };
        if name.starts_with("right") {
            assert_eq!(v["passed"], true, "{name}: {v}");
            assert_eq!(v["score"], v["total"], "{name}: {v}");
            continue;
        }
        assert_eq!(v["passed"], false, "{name}: {v}");
        match name.as_str() {
            // The first download is right; the missing file kills it: a clean
            // close (the kernel's, as it exits), then nobody listens.
            "wrong_crash_missing" => {
                assert!(!has("client", "thread.join", "md5"), "{name}: the first download is right: {failed:?}");
                assert!(!has("client2", "recv", "data"), "{name}: {failed:?}");
                assert!(has("server", "sleep", "state"), "{name}: {failed:?}");
                assert!(has("client3", "connect", "errno"), "{name}: {failed:?}");
                assert!(v["stderr"].as_str().unwrap().contains("FileNotFoundError"), "{name}: {v}");
                assert!(v["exited"].as_i64().is_some(), "{name}: {v}");
            }
            // Gone after one client: the second connect is refused.
            "wrong_one_client" => {
                assert!(!has("client", "thread.join", "md5"), "{name}: the first download is right: {failed:?}");
                assert!(has("client2", "connect", "errno"), "{name}: {failed:?}");
                assert!(has("client3", "connect", "errno"), "{name}: {failed:?}");
                assert!(v["exited"].as_i64().is_some(), "{name}: {v}");
            }
            // UTF-8 instead of GBK: the first request already kills it.
            "wrong_utf8" => {
                assert!(has("client", "thread.join", "md5"), "{name}: {failed:?}");
                assert!(v["stderr"].as_str().unwrap().contains("UnicodeDecodeError"), "{name}: {v}");
            }
            // No close: the client never gets b'', the download never ends.
            "wrong_no_close" => {
                assert!(has("client", "thread.join", "state"), "{name}: {failed:?}");
                assert!(!has("client2", "connect", "errno"), "{name}: it does go on accepting: {failed:?}");
            }
            // One send() on a socket with a timeout: only what fitted in the
            // send buffer (78,192 of 393,216 bytes here) goes out.
            "wrong_send_with_timeout" => {
                assert!(
                    has("client", "thread.join", "md5") && has("client3", "thread.join", "md5"),
                    "{name}: {failed:?}"
                );
                let short = v["failed"].as_array().unwrap().iter().any(|f| {
                    f["actor"] == "client"
                        && f["what"] == "ret"
                        && f["got"].as_str().unwrap_or("").parse::<u64>().is_ok_and(|n| n < 393216)
                });
                assert!(short, "{name}: {v}");
                assert!(!has("server", "sleep", "state"), "{name}: it keeps serving: {failed:?}");
            }
            // Serves well, but cannot be restarted while its closed
            // connections are in TIME_WAIT.
            "wrong_no_reuseaddr" => {
                assert!(has("server", "restart", "state"), "{name}: {failed:?}");
                assert!(has("client4", "connect", "errno"), "{name}: {failed:?}");
                assert!(
                    failed.iter().all(|(a, _, _)| a == "server" || a == "client4"),
                    "{name}: only the restart fails: {failed:?}"
                );
                assert!(v["stderr"].as_str().unwrap().contains("Address already in use"), "{name}: {v}");
            }
            other => panic!("no expected reason for {other}: add one"),
        }
    }
}

#[test]
fn lab_run_with_a_program_puts_the_labs_files_and_removes_them() {
    if !root() {
        eprintln!("SKIPPED: the lab wire needs root");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wirelab-file-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(file_dir().join("right_basic/server.py"), dir.join("server.py")).unwrap();
    let out = wirelab()
        .args(["lab", "run", "grade-file-server", "--format", "jsonl", "--program", "server=python3 server.py"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let end: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(end["failed"], 0, "{stdout}");
    // Only the student's own file is left.
    let left: Vec<String> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, vec!["server.py".to_string()]);
    // A different file of that name is never overwritten.
    std::fs::write(dir.join("课件.bin"), b"mine").unwrap();
    let out = wirelab()
        .args(["lab", "run", "grade-file-server", "--program", "server=python3 server.py"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("课件.bin"), "{stderr}");
    assert_eq!(std::fs::read(dir.join("课件.bin")).unwrap(), b"mine");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lab_run_with_a_program_and_with_one_that_never_listens() {
    if !root() {
        eprintln!("SKIPPED: the lab wire needs root");
        return;
    }
    let server = echo_dir().join("right_basic/server.py");
    let out = wirelab()
        .args(["lab", "run", "grade-echo-server", "--format", "jsonl", "--program"])
        .arg(format!("server=python3 {}", server.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let end = events.last().unwrap();
    assert_eq!(end["kind"], "end");
    assert_eq!(end["failed"], 0, "{stdout}");
    assert!(end["passed"].as_u64() >= Some(15), "{end}");
    // The server's own calls are observations, its return values not judged.
    assert!(stdout.contains("by_program"), "{stdout}");
    // Its sockets appear in the kernel table under its actor.
    assert!(
        events.iter().any(|e| e["kind"] == "state" && e["actor"] == "server" && e["state"] == "LISTEN"),
        "{stdout}"
    );

    let out = wirelab()
        .args(["lab", "run", "grade-echo-server", "--program", "server=echo 'cannot bind' >&2; exit 3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("never listened") && stderr.contains("cannot bind") && stderr.contains("status 3"),
        "{stderr}"
    );
}

#[test]
fn a_bad_program_flag_is_a_clear_error() {
    let out = wirelab().args(["lab", "run", "grade-echo-server", "--program", "python3 server.py"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no '='") && stderr.contains("ACTOR=COMMAND"), "{stderr}");
    let out =
        wirelab().args(["lab", "run", "grade-echo-server", "--program", "client9=python3 x.py"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no actor \"client9\"") && stderr.contains("server"), "{stderr}");
    let out = wirelab().args(["lab", "run", "udp", "--program", "receiver=python3 x.py"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("neither listens nor connects") && stderr.contains("TCP"), "{stderr}");
    let out = wirelab()
        .args(["grade", "grade-echo-server", "--program", "server=python3 {}/server.py", "/nonexistent/sub"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/sub"), "{stderr}");
}

#[test]
fn ctrl_c_kills_the_program_and_a_slow_submission_fails_its_time_limit() {
    if !root() {
        eprintln!("SKIPPED: the lab wire needs root");
        return;
    }
    // A marker in the program's command line, to find it in /proc.
    let marker = format!("wirelab-test-marker-{}", std::process::id());
    let server = echo_dir().join("wrong_no_break/server.py");
    let child = wirelab()
        .args(["lab", "run", "grade-echo-server", "--format", "jsonl", "--program"])
        .arg(format!("server=python3 {} {marker}", server.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the program runs (and spins after step 12), then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_with(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(processes_with(&marker), Vec::<String>::new(), "the program's process group is gone after Ctrl-C");

    // A whole-submission limit shorter than the lab: a failed time limit, and the program killed.
    let out = wirelab()
        .args(["grade", "grade-echo-server", "--format", "jsonl", "--time-limit", "1.5", "--program"])
        .arg(format!("server=python3 {{}}/server.py {marker}"))
        .arg(echo_dir().join("right_basic"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let v: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(v["passed"], false);
    assert!(failures(&v).iter().any(|(_, _, w)| w == "time_limit"), "{v}");
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

/// Grades every submission in `tests/grading/DIR` with `lab`, the program
/// playing `actor` (`ACTOR=python3 {}/FILE MARKER`); the verdicts by
/// submission name, after checking that nothing of them is left running.
fn grade_all(lab: &str, dir: &str, actor: &str, file: &str) -> Vec<(String, Value)> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grading").join(dir);
    let mut subs: Vec<PathBuf> =
        std::fs::read_dir(&base).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    subs.sort();
    assert!(subs.len() >= 5, "{subs:?}");
    let marker = format!("wirelab-grade-{}-marker-{}", dir.replace('/', "-"), std::process::id());
    let out = wirelab()
        .args(["grade", lab, "--format", "jsonl", "--jobs", "4", "--program"])
        .arg(format!("{actor}=python3 {{}}/{file} {marker}"))
        .args(&subs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<(String, Value)> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| {
            let name = Path::new(v["submission"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (name, v)
        })
        .collect();
    assert_eq!(verdicts.len(), subs.len(), "{stdout}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    verdicts
}

/// The failures' `got` texts for (actor, call prefix, what).
fn got_of(v: &Value, actor: &str, call: &str, what: &str) -> Vec<String> {
    v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["actor"] == actor && f["call"].as_str().unwrap_or("").starts_with(call) && f["what"] == what)
        .map(|f| f["got"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn file_clients_fed_on_stdin_right_ones_pass_and_each_wrong_one_fails_for_its_reason() {
    if !root() {
        eprintln!("SKIPPED: grading runs programs in private network namespaces, which needs root");
        return;
    }
    for (name, v) in grade_all("grade-file-client", "client", "client", "client.py") {
        if name.starts_with("right") {
            assert_eq!(
                (v["passed"].clone(), v["score"].clone()),
                (Value::Bool(true), v["total"].clone()),
                "{name}: {v}"
            );
            continue;
        }
        assert_eq!(v["passed"], false, "{name}: {v}");
        match name.as_str() {
            // One recv(): a piece of the file, and a reset for the bytes left unread.
            "wrong_one_recv" => {
                let got = got_of(&v, "client", "close", "saves_file");
                assert!(got.len() == 1 && got[0].contains("new_课件.bin") && !got[0].contains("393216"), "{name}: {v}");
            }
            // UTF-8: the server reads another name.
            "wrong_utf8" => {
                assert!(!got_of(&v, "conn", "recv", "text").is_empty(), "{name}: {v}");
                assert!(
                    got_of(&v, "client", "close", "saves_file").is_empty(),
                    "{name}: the bytes it got were saved: {v}"
                );
            }
            // Never closes: the server's side stays in FIN_WAIT2.
            "wrong_no_close" => {
                assert_eq!(got_of(&v, "client", "close", "state"), vec!["conn FIN_WAIT2".to_string()], "{name}: {v}");
            }
            other => panic!("no expected reason for {other}: add one"),
        }
    }
}

#[test]
fn http_servers_right_ones_pass_and_each_wrong_one_fails_for_its_reason() {
    if !root() {
        eprintln!("SKIPPED: grading runs programs in private network namespaces, which needs root");
        return;
    }
    let _squatter = std::net::TcpListener::bind("0.0.0.0:8080").ok();
    for (name, v) in grade_all("grade-http-server", "http", "server", "server.py") {
        if name.starts_with("right") {
            assert_eq!(
                (v["passed"].clone(), v["score"].clone()),
                (Value::Bool(true), v["total"].clone()),
                "{name}: {v}"
            );
            continue;
        }
        assert_eq!(v["passed"], false, "{name}: {v}");
        let http = |actor: &str, what: &str| got_of(&v, actor, "read_http_response", what);
        match name.as_str() {
            // 148 characters, 198 bytes: 50 bytes follow the announced body.
            "wrong_chars_length" => {
                assert!(
                    http("client", "http_well_formed").iter().any(|g| g.contains("50 byte(s) after")),
                    "{name}: {v}"
                );
                assert!(http("client2", "http_well_formed").is_empty(), "{name}: the ASCII 404 is right: {v}");
            }
            "wrong_200_missing" => {
                assert_eq!(http("client2", "http_status"), vec!["200".to_string()], "{name}: {v}");
                assert_eq!(failures(&v).len(), 1, "{name}: {v}");
            }
            "wrong_close_unsaid" => {
                assert!(!http("client", "closes_as_said").is_empty(), "{name}: {v}");
                assert!(
                    http("client", "http_well_formed").is_empty() && http("client", "md5").is_empty(),
                    "{name}: {v}"
                );
            }
            "wrong_no_length_open" => {
                assert!(http("client", "http_well_formed").iter().any(|g| g.contains("never ends")), "{name}: {v}");
            }
            other => panic!("no expected reason for {other}: add one"),
        }
    }
}

/// The held-out submissions (tests/grading/heldout, written by someone who
/// never saw the labs or the reference solutions, with the verdicts they
/// intended in EXPECTED.md) get those verdicts.
#[test]
fn held_out_submissions_get_the_verdicts_their_author_intended() {
    if !root() {
        eprintln!("SKIPPED: grading runs programs in private network namespaces, which needs root");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grading/heldout");
    let expected = std::fs::read_to_string(dir.join("EXPECTED.md")).unwrap();
    // "## A. echo" sections, then "| s01 | correct | …" rows.
    let mut intended: Vec<(String, String, bool)> = Vec::new();
    let mut section = String::new();
    for line in expected.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h.split_whitespace().nth(1).unwrap_or("").to_string();
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 3 && cells[1].starts_with('s') && cells[1][1..].chars().all(|c| c.is_ascii_digit()) {
            intended.push((section.clone(), cells[1].to_string(), cells[2] == "correct"));
        }
    }
    assert_eq!(intended.len(), 24, "{intended:?}");
    let plan = [
        ("echo", "grade-echo-server", "server", "server.py"),
        ("fileserver", "grade-file-server", "server", "server.py"),
        ("fileclient", "grade-file-client", "client", "client.py"),
        ("http", "grade-http-server", "server", "server.py"),
    ];
    let mut wrong_verdicts = Vec::new();
    for (assignment, lab, actor, file) in plan {
        for (name, v) in grade_all(lab, &format!("heldout/{assignment}"), actor, file) {
            let want = intended.iter().find(|(a, s, _)| a == assignment && *s == name).map(|i| i.2);
            let want = want.unwrap_or_else(|| panic!("{assignment}/{name} is not in EXPECTED.md"));
            if v["passed"] != want {
                wrong_verdicts.push(format!("{assignment}/{name}: intended {want}, graded {v}"));
            }
        }
    }
    assert!(wrong_verdicts.is_empty(), "{wrong_verdicts:#?}");
}
