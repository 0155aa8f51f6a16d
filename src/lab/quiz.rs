//! Quiz answers: the truth from what the step really did, a forgiving
//! comparison with what a student typed (Python's names, b'', words for small
//! numbers, a choice's letter), and the reason, computed from the capture.

use super::errno;
use super::events::{CallOutcome, StateRow};
use super::expect::{packet_label, state_of};
use super::spec::{PacketPattern, Quiz, QuizField};
use crate::analyze::FrameRecord;
use serde::Serialize;

/// Why the answer is what it is: facts of this run, put into words by
/// `lab::messages`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// A field of one of the step's packets.
    Packet {
        /// 1-based packet of the step.
        n: usize,
        /// Its flags ("SYN,ACK").
        label: String,
        /// seq, ack, len, win or mss.
        field: &'static str,
        /// The relative (or plain) value.
        value: String,
        /// For seq/ack: the raw number on the wire.
        raw: Option<u32>,
    },
    /// The step's packets, in order.
    Count {
        /// Their labels.
        labels: Vec<String>,
    },
    /// What the call returned.
    Returned {
        /// The value (None: it failed).
        ret: Option<i64>,
    },
    /// The call's errno and what Python raises for it.
    Errno {
        /// The errno (None: success).
        errno: Option<i32>,
        /// Python's exception class.
        python: Option<&'static str>,
    },
    /// The bytes recv() returned.
    Data {
        /// How many.
        len: usize,
    },
    /// The kernel's state for the socket.
    State {
        /// Whose.
        actor: String,
        /// Which.
        state: &'static str,
    },
}

/// The exception Python 3 raises for an errno (PEP 3151), when it has its own class.
pub fn python_exception(e: i32) -> Option<&'static str> {
    Some(match e {
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::EPIPE => "BrokenPipeError",
        libc::ETIMEDOUT => "TimeoutError",
        libc::EAGAIN => "BlockingIOError",
        libc::EINTR => "InterruptedError",
        _ => return None,
    })
}

/// The true answer, or None when it cannot be known (no capture, no such packet).
pub fn truth(
    q: &Quiz,
    actor: &str,
    outcome: &CallOutcome,
    packets: &[FrameRecord],
    states: &[StateRow],
    capturing: bool,
) -> Option<(String, Reason)> {
    let n = q.packet.unwrap_or(1);
    let packet = || packets.get(n.saturating_sub(1));
    let of_packet = |field: &'static str, value: Option<String>, raw: Option<u32>| {
        let rec = packet()?;
        let value = value?;
        Some((value.clone(), Reason::Packet { n, label: packet_label(rec), field, value, raw }))
    };
    match q.field {
        QuizField::Count => capturing
            .then(|| (packets.len().to_string(), Reason::Count { labels: packets.iter().map(packet_label).collect() })),
        QuizField::Ret => outcome.ret.map(|r| (r.to_string(), Reason::Returned { ret: Some(r) })),
        QuizField::Errno => {
            let name = outcome.errno.map(errno::name).unwrap_or("none").to_string();
            Some((name, Reason::Errno { errno: outcome.errno, python: outcome.errno.and_then(python_exception) }))
        }
        QuizField::Data => {
            outcome.data.as_ref().map(|d| (String::from_utf8_lossy(d).into_owned(), Reason::Data { len: d.len() }))
        }
        QuizField::State => {
            let state = state_of(states, actor);
            Some((state.to_string(), Reason::State { actor: actor.to_string(), state }))
        }
        QuizField::Flags => packet().map(|rec| {
            let label = packet_label(rec);
            (label.clone(), Reason::Packet { n, label: label.clone(), field: "flags", value: label, raw: None })
        }),
        QuizField::Seq => {
            let t = packet()?.tcp?;
            of_packet("seq", Some(t.seq.to_string()), Some(t.seq_raw))
        }
        QuizField::Ack => {
            let t = packet()?.tcp?;
            of_packet("ack", Some(t.ack.to_string()), Some(t.ack_raw))
        }
        QuizField::Len => {
            let rec = packet()?;
            let len = rec.tcp.map(|t| t.len).or(rec.udp.as_ref().map(|u| u.len))?;
            of_packet("len", Some(len.to_string()), None)
        }
        QuizField::Win => of_packet("win", packet()?.tcp.map(|t| t.win.to_string()), None),
        QuizField::Mss => of_packet("mss", packet()?.tcp.and_then(|t| t.mss).map(|m| m.to_string()), None),
    }
}

/// Small numbers as students type them, in English and Chinese.
fn number_word(s: &str) -> Option<u32> {
    const EN: [&str; 13] =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    const ZH: [&str; 11] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    let s = s.trim().trim_end_matches(['个', '次', '包']).trim();
    if s == "两" {
        return Some(2);
    }
    EN.iter().position(|w| s.eq_ignore_ascii_case(w)).or_else(|| ZH.iter().position(|w| s == *w)).map(|n| n as u32)
}

/// What a student typed, with a multiple-choice letter or number replaced by its option.
fn resolve_choice<'a>(q: &'a Quiz, answer: &'a str) -> &'a str {
    let a = answer.trim();
    if q.choices.is_empty() {
        return a;
    }
    let by_letter = a.len() == 1 && a.as_bytes()[0].is_ascii_alphabetic();
    let index = if by_letter {
        Some((a.as_bytes()[0].to_ascii_lowercase() - b'a') as usize)
    } else {
        a.parse::<usize>().ok().filter(|i| *i >= 1 && *i <= q.choices.len()).map(|i| i - 1)
    };
    match index.and_then(|i| q.choices.get(i)) {
        Some(choice) => choice,
        // The Chinese text of an option counts as that option.
        None => q.choices_zh.iter().position(|c| c.trim() == a).map(|i| q.choices[i].as_str()).unwrap_or(a),
    }
}

/// Compares a student's answer with the truth, forgivingly (case, spaces,
/// flag order, b'…' quoting, errno by number or Python's exception name,
/// words for small numbers, a choice by its letter).
pub fn same_answer(q: &Quiz, answer: &str, truth: &str) -> bool {
    // Pressing Enter is no answer, even when the answer is b'': a student
    // types b'' (or '', "empty") to say so.
    if answer.trim().is_empty() {
        return false;
    }
    let answer = resolve_choice(q, answer);
    // A choice may explain itself after a colon ("none: it succeeds, only later").
    let answer = match answer.split_once(": ") {
        Some((head, _)) if !q.choices.is_empty() && q.field != QuizField::Data => head,
        _ => answer,
    };
    let unquote = |s: &str| {
        let s = s.trim();
        if matches!(s, "empty" | "空" | "b\"\"" | "b''" | "''" | "\"\"") {
            return String::new();
        }
        let s = s.strip_prefix('b').filter(|r| r.starts_with('\'') || r.starts_with('"')).unwrap_or(s);
        s.trim_matches(|c| c == '\'' || c == '"').to_string()
    };
    let letters = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
    match q.field {
        QuizField::Flags => {
            let parse = |s: &str| PacketPattern::try_from(s.to_string()).ok();
            parse(answer).is_some() && parse(answer) == parse(truth)
        }
        QuizField::Errno => {
            let a = answer.trim().trim_start_matches("socket.").trim_start_matches("errno.");
            if a.is_empty() {
                return false;
            }
            let as_errno = errno::from_name(a)
                .filter(|e| errno::name(*e) != "E?")
                .or_else(|| (1..=133).find(|&e| python_exception(e).is_some_and(|p| p.eq_ignore_ascii_case(a))));
            let none_words = ["none", "0", "no error", "success", "ok", "无", "成功", "没有错误"];
            match as_errno {
                Some(e) => errno::name(e).eq_ignore_ascii_case(truth),
                None => truth == "none" && none_words.iter().any(|w| a.eq_ignore_ascii_case(w)),
            }
        }
        QuizField::Data => unquote(answer) == truth,
        QuizField::State => !answer.trim().is_empty() && letters(answer) == letters(truth),
        _ => {
            let a = answer.trim().replace(',', "");
            if a.is_empty() {
                return false;
            }
            let a = number_word(&a).map(|n| n.to_string()).unwrap_or(a);
            a.eq_ignore_ascii_case(truth)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(field: QuizField, choices: &[&str]) -> Quiz {
        Quiz {
            question: "?".into(),
            question_zh: None,
            field,
            packet: None,
            choices: choices.iter().map(|c| c.to_string()).collect(),
            choices_zh: vec![],
        }
    }

    #[test]
    fn answers_are_compared_forgivingly_but_empty_is_not_right() {
        assert!(same_answer(&q(QuizField::Flags, &[]), "ack,syn", "SYN,ACK"));
        assert!(same_answer(&q(QuizField::Errno, &[]), "111", "ECONNREFUSED"));
        assert!(same_answer(&q(QuizField::Errno, &[]), "ConnectionRefusedError", "ECONNREFUSED"));
        assert!(same_answer(&q(QuizField::Errno, &[]), "no error", "none"));
        assert!(!same_answer(&q(QuizField::Errno, &[]), "", "none"));
        assert!(same_answer(&q(QuizField::Data, &[]), "b'hello'", "hello"));
        assert!(same_answer(&q(QuizField::Data, &[]), "b''", ""));
        assert!(same_answer(&q(QuizField::Data, &[]), "empty", ""));
        assert!(!same_answer(&q(QuizField::Data, &[]), "", ""), "Enter alone is no answer");
        assert!(same_answer(&q(QuizField::Ack, &[]), " 1 ", "1"));
        assert!(same_answer(&q(QuizField::Count, &[]), "three", "3"));
        assert!(same_answer(&q(QuizField::Count, &[]), "三个", "3"));
        assert!(!same_answer(&q(QuizField::Ack, &[]), "", "1"));
        assert!(same_answer(&q(QuizField::State, &[]), "time wait", "TIME_WAIT"));
        let mc = q(QuizField::Errno, &["ETIMEDOUT", "ECONNREFUSED", "none"]);
        assert!(same_answer(&mc, "b", "ECONNREFUSED"));
        assert!(same_answer(&mc, "2", "ECONNREFUSED"));
        assert!(!same_answer(&mc, "a", "ECONNREFUSED"));
        let explained = q(QuizField::Count, &["4: nothing more", "5: it resends"]);
        assert!(same_answer(&explained, "a", "4"));
        assert!(!same_answer(&explained, "b", "4"));
        let errno = q(QuizField::Errno, &["none: it succeeds, only later", "ETIMEDOUT"]);
        assert!(same_answer(&errno, "a", "none"));
        assert!(!same_answer(&errno, "b", "none"));
    }
}
