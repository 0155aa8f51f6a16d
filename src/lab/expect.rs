//! Judging a step: each [`Expectation`] against what the call returned, the
//! packets it caused and the kernel's table after it.

use super::events::{CallOutcome, Observed, StateRow};
use super::spec::{ErrnoWant, Expectation, PacketPattern};
use crate::analyze::FrameRecord;
use std::collections::BTreeSet;

/// A packet as a lab expectation names it.
pub fn pattern_of(rec: &FrameRecord) -> Option<PacketPattern> {
    if let Some(t) = &rec.tcp {
        return Some(PacketPattern::Tcp(t.flags));
    }
    if rec.udp.is_some() {
        return Some(PacketPattern::Udp);
    }
    rec.icmp.as_deref().map(|_| PacketPattern::Icmp)
}

/// "SYN,ACK", "UDP", "ICMP", or "OTHER".
pub fn packet_label(rec: &FrameRecord) -> String {
    pattern_of(rec).map(|p| p.to_string()).unwrap_or_else(|| "OTHER".into())
}

/// The kernel state of `whose` socket in `states` (NONE when it has no row).
pub fn state_of(states: &[StateRow], whose: &str) -> &'static str {
    states
        .iter()
        .find(|r| r.holder == super::events::Holder::Actor(whose.to_string()))
        .map(StateRow::state)
        .unwrap_or("NONE")
}

/// What the step needs to be judged.
pub struct StepResult<'a> {
    /// The step's actor.
    pub actor: &'a str,
    /// What the call returned.
    pub outcome: &'a CallOutcome,
    /// The packets it caused.
    pub packets: &'a [FrameRecord],
    /// The kernel's table after it.
    pub states: &'a [StateRow],
    /// The largest cwnd TCP_INFO reported for the actor during the step.
    pub cwnd_max: Option<u32>,
    /// The lab's `[[file]]`s, for `md5_of_file`.
    pub files: &'a [super::spec::LabFile],
    /// Files the actor's program created or changed in its working
    /// directory (None: wirelab performs the actor).
    pub saved: Option<&'a [(super::events::SavedFile, String)]>,
}

/// Pass or fail, and what was seen. `md5_of` gives another actor's last transfer.
pub fn check(exp: &Expectation, r: &StepResult<'_>, md5_of: impl Fn(&str) -> Option<String>) -> (bool, Observed) {
    let (pass, observed) = judge(exp, r, md5_of);
    // A call that failed has no bytes or return value to show: what it ran
    // into (still waiting at the lab's limit, an errno) says more.
    let about_result = matches!(
        exp,
        Expectation::Data(_)
            | Expectation::Ret(_)
            | Expectation::RetMin(_)
            | Expectation::RetBelow(_)
            | Expectation::SameMd5As(_)
            | Expectation::Md5OfFile(_)
    );
    if pass || !about_result || r.outcome.ok {
        return (pass, observed);
    }
    if r.outcome.notes.iter().any(|n| matches!(n, super::events::Note::LabTimeout { .. })) {
        return (false, Observed::Blocked(true));
    }
    match r.outcome.errno {
        Some(e) => (false, Observed::Errno(Some(e))),
        None => (false, observed),
    }
}

/// The response `recv_http` read.
fn http<'a>(r: &'a StepResult<'_>) -> Option<&'a super::http_client::Response> {
    r.outcome.notes.iter().find_map(|n| match n {
        super::events::Note::Http(h) => Some(&**h),
        _ => None,
    })
}

fn judge(exp: &Expectation, r: &StepResult<'_>, md5_of: impl Fn(&str) -> Option<String>) -> (bool, Observed) {
    let seen = || r.packets.iter().filter_map(pattern_of).collect::<Vec<_>>();
    let labels = |ps: &[PacketPattern]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    match exp {
        Expectation::Packets(want) => {
            let got = seen();
            (
                &got == want && got.len() == r.packets.len(),
                Observed::Packets(r.packets.iter().map(packet_label).collect()),
            )
        }
        Expectation::PacketsInclude(want) => {
            let got = seen();
            let mut it = got.iter();
            let pass = want.iter().all(|w| it.any(|g| g == w));
            (pass, Observed::Packets(labels(&got)))
        }
        Expectation::PacketsExclude(unwanted) => {
            let got = seen();
            (!got.iter().any(|g| unwanted.contains(g)), Observed::Packets(labels(&got)))
        }
        Expectation::Analysis(want) => {
            let flags: BTreeSet<&'static str> =
                r.packets.iter().filter_map(|p| p.tcp).flat_map(|t| t.expert.names()).collect();
            let pass = want.iter().all(|w| flags.contains(w.0));
            (pass, Observed::Flags(flags.into_iter().collect()))
        }
        Expectation::Errno(want) => {
            let got = r.outcome.errno;
            let pass = match want {
                ErrnoWant::None => r.outcome.ok,
                ErrnoWant::Errno(e) => got == Some(*e),
            };
            (pass, Observed::Errno(got))
        }
        Expectation::Ret(w) => (r.outcome.ret == Some(*w), Observed::Ret(r.outcome.ret)),
        Expectation::RetMin(m) => (r.outcome.ret.is_some_and(|g| g >= *m), Observed::Ret(r.outcome.ret)),
        Expectation::RetBelow(b) => (r.outcome.ret.is_some_and(|g| g < *b), Observed::Ret(r.outcome.ret)),
        Expectation::Data(want) => {
            let got = r.outcome.data.clone().unwrap_or_default();
            (got == want.as_bytes(), Observed::Data(got))
        }
        Expectation::State { of, state } => {
            let whose = of.as_deref().unwrap_or(r.actor);
            let got = state_of(r.states, whose);
            (got == state.name(), Observed::State { of: whose.to_string(), state: got })
        }
        Expectation::Blocks(want) => {
            let blocked = r.outcome.notes.iter().any(|n| matches!(n, super::events::Note::LabTimeout { .. }));
            (blocked == *want, Observed::Blocked(blocked))
        }
        Expectation::Wire(want) => {
            let got: Vec<_> = r.packets.iter().filter_map(|p| p.wire).map(|w| w.action).collect();
            let mut it = got.iter();
            let pass = want.iter().all(|w| it.any(|g| g == w));
            (pass, Observed::Wire(got.iter().map(|a| a.name()).collect()))
        }
        Expectation::CwndReaches(n) => (r.cwnd_max.is_some_and(|c| c >= *n), Observed::Cwnd(r.cwnd_max)),
        Expectation::SameMd5As(other) => {
            let want = md5_of(other);
            let got = r.outcome.md5.clone();
            (want.is_some() && want == got, Observed::Md5 { want, got })
        }
        Expectation::Md5OfFile(name) => {
            let want = r.files.iter().find(|f| &f.name == name).map(super::spec::LabFile::md5);
            let got = r.outcome.md5.clone();
            (want.is_some() && want == got, Observed::Md5 { want, got })
        }
        Expectation::Text(want) => {
            let decoded = r.outcome.notes.iter().find_map(|n| match n {
                super::events::Note::Decoded { text, malformed, .. } => Some((text.clone(), *malformed)),
                _ => None,
            });
            let (text, malformed) = decoded.unwrap_or_default();
            (&text == want && !malformed, Observed::Text { text, malformed })
        }
        Expectation::HttpStatus(want) => {
            let got = http(r).and_then(|h| h.status);
            (got == Some(*want), Observed::HttpStatus(got))
        }
        Expectation::HttpWellFormed(want) => {
            let problems = http(r).map(|h| h.problems.clone()).unwrap_or_default();
            (http(r).is_some() && problems.is_empty() == *want, Observed::HttpProblems(problems))
        }
        Expectation::ClosesAsSaid(want) => match http(r) {
            Some(h) if h.framing.is_some() => {
                (h.closes_as_said() == *want, Observed::HttpClose { says_close: h.says_close, closed: h.closed })
            }
            // No head: nothing was said about the connection.
            Some(h) => (false, Observed::HttpProblems(h.problems.clone())),
            None => (false, Observed::HttpProblems(Vec::new())),
        },
        Expectation::SavesFile(name) => {
            let want = r.files.iter().find(|f| &f.name == name).map(super::spec::LabFile::md5);
            match r.saved {
                Some(saved) => {
                    let pass = want.is_some() && saved.iter().any(|(_, md5)| Some(md5) == want.as_ref());
                    (pass, Observed::Saved(saved.iter().map(|(f, _)| f.clone()).collect()))
                }
                // wirelab's own client: what it received.
                None => {
                    let got = md5_of(r.actor);
                    (want.is_some() && want == got, Observed::Md5 { want, got })
                }
            }
        }
    }
}
