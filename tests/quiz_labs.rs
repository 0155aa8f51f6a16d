//! The quiz of every lab, run for real (root, loopback capture): each lab asks
//! at least two questions; the answers a student who understood the lab would
//! give are right on every run (the questions ask only for numbers that do not
//! vary from run to run), each comes with a reason computed from the run, and
//! no answer is printed before its question (title, goal or an earlier step's
//! text). Labs run two at a time, as in `live_labs.rs`.

use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// The right answers of each lab's questions, in step order, typed as a
/// student would (an errno name, `b''`, a number, a state).
const ANSWERS: &[(&str, &[&str])] = &[
    ("close-listener", &["0", "ECONNREFUSED", "b'still here'"]),
    ("connect-ex", &["0", "111"]),
    ("dns", &["2", "0"]),
    ("encoding", &["6", "4"]),
    ("timeout", &["0", "b"]),
    ("backlog", &["none", "ETIMEDOUT", "2"]),
    ("echo", &["6", "1", "18"]),
    ("file-download", &["FIN,ACK", "b''"]),
    ("flow-control", &["0", "ACK"]),
    ("half-close", &["b''", "none"]),
    ("handshake", &["1", "0"]),
    ("http", &["46", "FIN_WAIT2"]),
    ("ipv6", &["65476", "16"]),
    ("multi-client", &["2", "hello from 2"]),
    ("refused", &["ECONNREFUSED", "0"]),
    ("reset", &["1", "ECONNRESET", "RST,ACK"]),
    ("reuseaddr", &["FIN_WAIT2", "EADDRINUSE", "none"]),
    ("sendall", &["none", "FIN_WAIT2"]),
    ("sticky", &["applebananacherry", "29", "apple"]),
    ("teardown", &["FIN_WAIT2", "b''"]),
    ("udp", &["b'one'", "none", "ECONNREFUSED"]),
    ("retransmission", &["4", "b'hello'"]),
    ("lost-ack", &["a", "b'onetwo'"]),
    ("fast-retransmit", &["2897", "2897"]),
    ("reorder", &["7", "b'first second'"]),
    ("duplicate", &["4", "b'hello'"]),
    ("checksum", &["a", "b'hello'"]),
    ("lost-syn", &["a", "LISTEN"]),
    ("lost-last-ack", &["FIN_WAIT2", "4"]),
    ("slow-start", &["1460", "1500000"]),
    ("udp-loss", &["9", "b'message 3'"]),
    ("broadcast", &["b", "1", "b'hello, everyone'"]),
    ("grade-echo-server", &["b'hello'", "TIME_WAIT"]),
    ("grade-file-server", &["8", "b''", "LISTEN"]),
    ("grade-file-client", &["8", "FIN_WAIT2"]),
    ("grade-http-server", &["FIN_WAIT2", "198"]),
];

fn answers_of(id: &str) -> &'static [&'static str] {
    ANSWERS.iter().find(|(l, _)| *l == id).unwrap_or_else(|| panic!("no answers for lab {id}: add them to ANSWERS")).1
}

/// Runs `wirelab lab run ID --quiz --format jsonl` with `answers` on stdin;
/// returns the exit status, the quiz events and stderr.
fn run_quiz(id: &str, answers: &[&str]) -> (i32, Vec<Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["lab", "run", id, "--quiz", "--format", "jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wirelab");
    let input: String = answers.iter().map(|a| format!("{a}\n")).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let quiz = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{id}: bad JSON line {l}: {e}")))
        .filter(|e| e["kind"] == "quiz")
        .collect();
    (out.status.code().unwrap_or(-1), quiz, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn lab_ids() -> Vec<(String, u64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(["lab", "list", "--format", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["quiz"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// Runs `check` for every lab, two labs at a time; returns what it reported.
fn for_every_lab(check: fn(&str) -> Vec<String>) -> Vec<String> {
    // One sweep at a time: the dns lab binds UDP port 53 on its loopback
    // address, so two runs of it at once would collide.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let ids: Vec<String> = lab_ids().into_iter().map(|(id, _)| id).collect();
    assert!(ids.len() >= 16, "labs found: {ids:?}");
    std::thread::scope(|s| {
        let halves =
            [ids.iter().step_by(2).cloned().collect::<Vec<_>>(), ids.iter().skip(1).step_by(2).cloned().collect()];
        let handles: Vec<_> = halves
            .into_iter()
            .map(|half| s.spawn(move || half.iter().flat_map(|id| check(id)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn every_lab_asks_at_least_two_questions() {
    for (id, quiz) in lab_ids() {
        assert!(quiz >= 2, "{id}: {quiz} quiz question(s), want at least 2");
        assert_eq!(answers_of(&id).len() as u64, quiz, "{id}: ANSWERS and the lab's questions differ in number");
    }
}

/// The text a student has read before the question of step `step` (1-based):
/// title, goal and the earlier steps' `say`, in English and in Chinese.
fn read_before(id: &str, step: usize) -> Vec<String> {
    let path = format!("{}/labs/{id}.toml", env!("CARGO_MANIFEST_DIR"));
    let lab: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let text = |v: &toml::Value, key: &str| v.get(key).and_then(|t| t.as_str()).map(str::to_string);
    let mut seen: Vec<String> = ["title", "title_zh", "goal", "goal_zh"].iter().filter_map(|k| text(&lab, k)).collect();
    for s in lab["step"].as_array().unwrap().iter().take(step.saturating_sub(1)) {
        seen.extend(["say", "say_zh"].iter().filter_map(|k| text(s, k)));
    }
    seen
}

/// `word` occurs in `text` on its own (not inside a longer name or number).
fn has_word(text: &str, word: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(inner) && !after.is_some_and(inner)
    })
}

fn right_answers_are_right(id: &str) -> Vec<String> {
    let answers = answers_of(id);
    let (code, quiz, stderr) = run_quiz(id, answers);
    let mut bad = Vec::new();
    if code != 0 {
        bad.push(format!("{id}: exit {code}: {stderr}"));
    }
    if quiz.len() != answers.len() {
        bad.push(format!("{id}: {} quiz events for {} answers", quiz.len(), answers.len()));
    }
    for (q, answer) in quiz.iter().zip(answers) {
        let step = q["step"].as_u64().unwrap_or(0) as usize;
        if q["right"] != true {
            bad.push(format!("{id} step {step}: {answer:?} judged wrong, truth {} ({})", q["truth"], q["because"]));
        }
        if !q["reason"].is_object() || q["because"].as_str().is_none_or(str::is_empty) {
            bad.push(format!("{id} step {step}: no reason: {q}"));
        }
        // No answer given away before its question. Short or numeric truths
        // ("1", "ACK", "none") occur in texts for other reasons.
        let truth = q["truth"].as_str().unwrap_or_default();
        if truth.len() >= 4 && truth != "none" && !truth.chars().all(|c| c.is_ascii_digit()) {
            for text in read_before(id, step) {
                if has_word(&text, truth) {
                    bad.push(format!("{id} step {step}: the answer {truth:?} is already in {text:?}"));
                }
            }
        }
    }
    bad
}

#[test]
fn the_right_answers_are_right_on_every_run_with_a_reason() {
    let failures = for_every_lab(right_answers_are_right);
    assert!(failures.is_empty(), "{failures:#?}");
}

fn empty_answers_are_wrong(id: &str) -> Vec<String> {
    let empty = vec![""; answers_of(id).len()];
    let (_, quiz, _) = run_quiz(id, &empty);
    quiz.iter()
        .filter(|q| q["right"] != false)
        .map(|q| format!("{id} step {}: an empty answer judged right (truth {})", q["step"], q["truth"]))
        .collect()
}

/// Pressing Enter without an answer must never score, not even when the
/// answer is b'' (a student types b'' to say so).
#[test]
fn an_empty_answer_is_never_right() {
    let failures = for_every_lab(empty_answers_are_wrong);
    assert!(failures.is_empty(), "{failures:#?}");
}
