//! `--format mermaid`: a `sequenceDiagram` with one message line per packet,
//! for every capture of the project, in the syntax Mermaid reads.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// One `P<n>->>P<m>: <frame> <text>` line, with nothing Mermaid would misread.
fn is_message(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("    P") else { return false };
    let Some((from, rest)) = rest.split_once("->>P") else { return false };
    let Some((to, text)) = rest.split_once(": ") else { return false };
    from.chars().all(|c| c.is_ascii_digit())
        && to.chars().all(|c| c.is_ascii_digit())
        && text.split(' ').next().is_some_and(|f| f.parse::<u64>().is_ok())
        && !text.contains([';', '#'])
}

#[test]
fn one_message_per_packet_for_every_capture() {
    let mut files = common::capture_files(&common::captures_dir());
    files.extend(common::capture_files(&common::crafted_dir()));
    assert!(files.len() >= 20);
    for f in files {
        let path = f.to_str().unwrap();
        let diagram = run(&["replay", path, "--format", "mermaid"]);
        let ip_frames = common::wirelab_jsonl(&f).iter().filter(|e| !e["src"].is_null()).count();
        let mut lines = diagram.lines();
        assert_eq!(lines.next(), Some("sequenceDiagram"), "{path}");
        let (mut messages, mut participants) = (0, 0);
        for line in lines {
            if line.starts_with("    participant P") {
                participants += 1;
            } else if is_message(line) {
                messages += 1;
            } else {
                panic!("{path}: not a Mermaid line: {line:?}");
            }
        }
        assert_eq!(messages, ip_frames, "{path}: one message per packet");
        assert!(ip_frames == 0 || participants >= 2, "{path}");
    }
}

#[test]
fn a_lab_run_as_mermaid_has_its_steps_as_comments() {
    if common::skip_without_capture("a_lab_run_as_mermaid_has_its_steps_as_comments") {
        return;
    }
    let diagram = run(&["lab", "run", "handshake", "--format", "mermaid"]);
    assert!(diagram.starts_with("sequenceDiagram\n"), "{diagram}");
    assert_eq!(diagram.lines().filter(|l| is_message(l)).count(), 7, "{diagram}");
    assert!(diagram.contains("    %% step 5 client: connect(127.0.0.1:"), "{diagram}");
}
