//! Quiz answers: the truth from what the step really did, and a forgiving
//! comparison with what a student typed.

use super::errno;
use super::events::{CallOutcome, StateRow};
use super::expect::{packet_label, state_of};
use super::spec::{PacketPattern, Quiz, QuizField};
use crate::analyze::FrameRecord;

/// The true answer, or None when it cannot be known (no capture, no such packet).
pub fn truth(
    q: &Quiz,
    actor: &str,
    outcome: &CallOutcome,
    packets: &[FrameRecord],
    states: &[StateRow],
    capturing: bool,
) -> Option<String> {
    let packet = || packets.get(q.packet.unwrap_or(1).saturating_sub(1));
    match q.field {
        QuizField::Count => capturing.then(|| packets.len().to_string()),
        QuizField::Ret => outcome.ret.map(|r| r.to_string()),
        QuizField::Errno => Some(outcome.errno.map(errno::name).unwrap_or("none").to_string()),
        QuizField::Data => outcome.data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()),
        QuizField::State => Some(state_of(states, actor).to_string()),
        QuizField::Flags => packet().map(packet_label),
        QuizField::Seq => packet()?.tcp.map(|t| t.seq.to_string()),
        QuizField::Ack => packet()?.tcp.map(|t| t.ack.to_string()),
        QuizField::Len => {
            let rec = packet()?;
            rec.tcp.map(|t| t.len.to_string()).or(rec.udp.map(|u| u.len.to_string()))
        }
        QuizField::Win => packet()?.tcp.map(|t| t.win.to_string()),
        QuizField::Mss => packet()?.tcp.and_then(|t| t.mss).map(|m| m.to_string()),
    }
}

/// Compares a student's answer with the truth, forgivingly (case, spaces,
/// flag order, b'…' quoting, errno by number).
pub fn same_answer(field: QuizField, answer: &str, truth: &str) -> bool {
    let unquote = |s: &str| {
        let s = s.trim();
        let s = s.strip_prefix('b').filter(|r| r.starts_with('\'') || r.starts_with('"')).unwrap_or(s);
        s.trim_matches(|c| c == '\'' || c == '"').to_string()
    };
    match field {
        QuizField::Flags => {
            let parse = |s: &str| PacketPattern::try_from(s.to_string()).ok();
            parse(answer).is_some() && parse(answer) == parse(truth)
        }
        QuizField::Errno => {
            let a = answer.trim();
            let a = errno::from_name(a).map(errno::name).unwrap_or(a);
            !a.is_empty() && a.eq_ignore_ascii_case(truth)
        }
        QuizField::Data => unquote(answer) == truth,
        _ => {
            let a = answer.trim().replace(',', "");
            !a.is_empty() && a.eq_ignore_ascii_case(truth)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_compared_forgivingly_but_empty_is_not_right() {
        assert!(same_answer(QuizField::Flags, "ack,syn", "SYN,ACK"));
        assert!(same_answer(QuizField::Errno, "111", "ECONNREFUSED"));
        assert!(same_answer(QuizField::Data, "b'hello'", "hello"));
        assert!(same_answer(QuizField::Ack, " 1 ", "1"));
        assert!(!same_answer(QuizField::Ack, "", "1"));
        assert!(!same_answer(QuizField::Errno, "", "none"));
        assert!(same_answer(QuizField::Data, "b''", ""));
    }
}
