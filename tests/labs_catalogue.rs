//! Labs are built into the binary (issue 9): a copy of wirelab run from a
//! folder far from the source tree has every built-in lab and recording, and
//! local lab folders add labs without ever hiding the built-in ones.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A copy of the built wirelab in a fresh temporary folder, made once.
fn copied_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        sweep_earlier_runs();
        let dir = scratch("bin");
        let bin = dir.join("wirelab");
        std::fs::copy(env!("CARGO_BIN_EXE_wirelab"), &bin).expect("copy wirelab");
        bin
    })
}

const PREFIX: &str = "wirelab-labs-catalogue-";

/// Removes what earlier runs left (each holds a 25 MB copy of wirelab): the
/// folders of processes that are gone.
fn sweep_earlier_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(PREFIX) {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// An empty folder of its own for `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the copied wirelab in `dir` with `args`, without the caller's `WIRELAB_LABS`.
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(copied_binary());
    cmd.args(args).current_dir(dir).env_remove("WIRELAB_LABS").env("NO_COLOR", "1").envs(env.iter().copied());
    // Another test thread may fork while the copy is still open for writing;
    // the child holds the file until its exec, and exec'ing it meanwhile fails
    // with ETXTBSY. It passes in a moment.
    for _ in 0..50 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.expect("run the copied wirelab"),
        }
    }
    panic!("the copied wirelab stayed busy");
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// The ids of the project's `labs/*.toml` (their file names, as a unit test
/// checks), in the course order `lab list` shows.
fn built_in_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/labs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let order = wirelab::lab::COURSE_ORDER;
    ids.sort_by_key(|id| order.iter().position(|o| o == id).unwrap_or(order.len()));
    ids
}

/// A small valid lab.
fn tiny_lab(id: &str) -> String {
    format!(
        "id = \"{id}\"\ntitle = \"Tiny {id}\"\ngoal = \"A socket.\"\n\n[[step]]\nactor = \"c\"\ncall = \"socket\"\n"
    )
}

/// A folder whose `labs/` holds a file broken on line 3, a replacement for
/// `handshake` and a new lab `extra`.
fn folder_with_local_labs(name: &str) -> PathBuf {
    let dir = scratch(name);
    let labs = dir.join("labs");
    std::fs::create_dir(&labs).unwrap();
    std::fs::write(labs.join("broken.toml"), "id = \"broken\"\ntitle = \"Broken\"\ngoal = \"unterminated\n").unwrap();
    let handshake = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/handshake.toml")).unwrap();
    let mine = handshake.replacen("title = \"The three-way handshake\"", "title = \"Our own handshake\"", 1);
    assert_ne!(mine, handshake);
    std::fs::write(labs.join("handshake.toml"), mine).unwrap();
    std::fs::write(labs.join("extra.toml"), tiny_lab("extra")).unwrap();
    dir
}

#[test]
fn copied_binary_lists_built_in_and_local_labs_and_warns_about_a_broken_file() {
    let dir = folder_with_local_labs("list");
    let out = run_in(&dir, &["lab", "list", "--format", "jsonl"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: labs/broken.toml: line 3:"), "{err}");
    let labs = jsonl(&out);
    let ids: Vec<&str> = labs.iter().map(|l| l["id"].as_str().unwrap()).collect();
    let mut want = built_in_ids();
    assert!(want.len() >= 20, "{want:?}");
    want.push("extra".into());
    assert_eq!(ids, want);
    for l in &labs {
        let (source, replaces) = (l["source"].as_str().unwrap(), l["replaces_built_in"].as_bool().unwrap());
        match l["id"].as_str().unwrap() {
            "handshake" => {
                assert_eq!((source, replaces), ("labs/handshake.toml", true));
                assert_eq!(l["title"], "Our own handshake");
            }
            "extra" => assert_eq!((source, replaces), ("labs/extra.toml", false)),
            _ => assert_eq!((source, replaces), ("built-in", false)),
        }
    }

    let out = run_in(&dir, &["lab", "list"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("labs/broken.toml: line 3:"));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("(replaces built-in)") && table.contains("built-in"), "{table}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn copied_binary_runs_a_built_in_lab_despite_a_broken_local_file() {
    let dir = folder_with_local_labs("run");
    let out = run_in(&dir, &["lab", "run", "refused", "--no-capture", "--format", "jsonl"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("labs/broken.toml: line 3:"));
    let events = jsonl(&out);
    assert!(events.iter().any(|e| e["kind"] == "call" && e["errno"] == "ECONNREFUSED"), "{events:?}");
    assert!(events.iter().all(|e| e["pass"] != false), "{events:?}");

    // Without capture the hint names the built-in recording, which replays from here.
    let out = run_in(&dir, &["lab", "run", "refused", "--interface", "no-such-if0"], &[]);
    assert!(stderr(&out).contains("wirelab replay refused\n"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn labs_flag_and_environment_add_labs() {
    let dir = scratch("flag");
    std::fs::create_dir(dir.join("more")).unwrap();
    std::fs::write(dir.join("more/extra2.toml"), tiny_lab("extra2")).unwrap();

    let out = run_in(&dir, &["lab", "show", "extra2"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such lab"), "{}", stderr(&out));

    for (args, env) in [
        (&["lab", "list", "--labs", "more", "--format", "jsonl"][..], &[][..]),
        (&["lab", "--labs", "more", "list", "--format", "jsonl"][..], &[][..]),
        (&["lab", "list", "--format", "jsonl"][..], &[("WIRELAB_LABS", "more")][..]),
    ] {
        let out = run_in(&dir, args, env);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
        let labs = jsonl(&out);
        let n = built_in_ids().len();
        assert_eq!(labs.len(), n + 1, "{args:?}");
        assert_eq!(labs[n]["id"], "extra2");
        assert_eq!(labs[n]["source"], "more/extra2.toml");
    }
    let out = run_in(&dir, &["lab", "show", "extra2", "--labs", "more"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("more/extra2.toml"));

    // A folder that is not there is a warning too: the built-in labs remain.
    let out = run_in(&dir, &["lab", "list", "--labs", "nowhere", "--format", "jsonl"], &[]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("nowhere: cannot list lab files"), "{}", stderr(&out));
    assert_eq!(jsonl(&out).len(), built_in_ids().len());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lab_given_as_a_path_loads_directly_and_its_errors_are_fatal() {
    let dir = folder_with_local_labs("path");
    let out = run_in(&dir, &["lab", "show", "./labs/broken.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("./labs/broken.toml: line 3:"), "{}", stderr(&out));
    let out = run_in(&dir, &["lab", "show", "labs/extra.toml"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Loaded directly: the catalogue's broken file is not even looked at.
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = run_in(&dir, &["lab", "run", "./missing.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("./missing.toml: cannot read"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn replay_of_a_lab_id_uses_the_built_in_recording() {
    let dir = scratch("replay");
    let out = run_in(&dir, &["replay", "handshake", "--format", "jsonl"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let frames = jsonl(&out);
    assert!(frames.len() >= 3, "{frames:?}");
    assert_eq!(frames[0]["flags"], serde_json::json!(["SYN"]));
    assert_eq!(frames[1]["flags"], serde_json::json!(["SYN", "ACK"]));

    // A file of that name wins.
    std::fs::write(dir.join("udp"), "not a capture").unwrap();
    let out = run_in(&dir, &["replay", "udp"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a pcap or pcapng capture"), "{}", stderr(&out));

    let out = run_in(&dir, &["replay", "no-such-lab"], &[]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
