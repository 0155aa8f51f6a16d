//! Lab files: the data model of `labs/*.toml` and its validation.
//!
//! A lab is an id, a title, a goal, topics and ordered steps; a step is one
//! socket call by one actor (a named socket), with optional text to say and
//! optional expectations. See `labs/README.md` for the instructor's guide.

use serde::Deserialize;
use std::collections::HashSet;

/// A whole lab file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// Short name used on the command line (`wirelab lab run ID`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What the student should understand at the end.
    pub goal: String,
    /// Course topics this lab covers.
    #[serde(default)]
    pub topics: Vec<String>,
    /// A closing text shown after the last step.
    #[serde(default)]
    pub summary: Option<String>,
    /// Title in Simplified Chinese.
    pub title_zh: Option<String>,
    /// Goal in Simplified Chinese.
    pub goal_zh: Option<String>,
    /// Closing text in Simplified Chinese.
    pub summary_zh: Option<String>,
    /// The steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<toml::Spanned<Step>>,
}

/// Expected outcome of a step.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The packets this step causes, in order, by TCP flags ("SYN", "SYN,ACK",
    /// "PSH,ACK", "FIN,ACK", "RST,ACK" …), or "UDP", "ICMP".
    pub packets: Option<Vec<String>>,
    /// These packets appear among the step's packets, in this order (others may be between).
    pub packets_include: Option<Vec<String>>,
    /// These expert flags (tshark names: "zero_window", "retransmission" …) appear among the step's packets.
    pub analysis: Option<Vec<String>>,
    /// The call fails with this errno ("ECONNREFUSED") — or "none" for success.
    pub errno: Option<String>,
    /// The return value (bytes sent/received, or 0).
    pub ret: Option<i64>,
    /// The bytes recv()/recvfrom() returns ("" is b"": the peer closed).
    pub data: Option<String>,
    /// The kernel state of the actor's socket after the step ("TIME_WAIT").
    pub state: Option<String>,
    /// The return value is at least this.
    pub ret_min: Option<i64>,
    /// The return value is below this (e.g. a short send()).
    pub ret_below: Option<i64>,
    /// The MD5 digest of what this call moved equals the one of that actor's last transfer.
    pub same_md5_as: Option<String>,
    /// Check `state` on this socket instead of the step's actor (e.g. the one accept() made).
    pub of: Option<String>,
}

/// A question asked before a step runs (`--quiz`), answered from what the
/// step really does: a field of one of its packets, or the call's result.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Quiz {
    /// The question.
    pub question: String,
    /// The question in Simplified Chinese.
    pub question_zh: Option<String>,
    /// What answers it: seq, ack, len, win, flags, mss (of `packet`), count (how
    /// many packets the step causes), ret, errno, data, or state (kernel state).
    pub field: String,
    /// For packet fields: which packet of the step (1-based).
    pub packet: Option<usize>,
}

/// Fields a quiz can ask about.
pub const QUIZ_FIELDS: &[&str] =
    &["seq", "ack", "len", "win", "flags", "mss", "count", "ret", "errno", "data", "state"];

/// One socket call.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Which socket (actor) makes the call; a name the lab chooses ("server").
    #[serde(default)]
    pub actor: String,
    /// The call: socket, bind, listen, connect, accept, send, sendall, recv,
    /// shutdown, close, setsockopt, sendto, recvfrom, sleep, watch.
    pub call: String,
    /// socket: "inet" (default) or "inet6".
    pub family: Option<String>,
    /// socket: "stream" (TCP, default) or "dgram" (UDP).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// bind: local address; port 0 lets the kernel choose.
    pub addr: Option<String>,
    /// connect/sendto: an actor name (its bound address), "unused" (a port
    /// nobody listens on), or an address.
    pub to: Option<String>,
    /// listen: the backlog.
    pub backlog: Option<i32>,
    /// accept: the name of the new connected socket.
    #[serde(rename = "as")]
    pub new_actor: Option<String>,
    /// send/sendall/sendto: the bytes to send (text; `\n` etc. are escapes).
    pub data: Option<String>,
    /// send/sendall/sendfile: send this many bytes of filler instead of `data`;
    /// recv_all: stop after this many bytes (default: until the peer closes).
    pub bytes: Option<usize>,
    /// send: several messages, each with its own send() call, back to back.
    pub messages: Option<Vec<String>>,
    /// send: "length" prefixes each message with its length (4 bytes, big-endian).
    pub framing: Option<String>,
    /// sendfile/sendall: chunk size of each send() (default 65536).
    pub chunk: Option<usize>,
    /// recv_all/sendall/sendfile/serve: run in a thread; `join` collects the result.
    pub background: Option<bool>,
    /// recv_all: write what arrives to a temporary file (memory stays flat).
    pub to_file: Option<bool>,
    /// serve: "iterative" (one client at a time) or "threaded" (a thread per connection).
    pub mode: Option<String>,
    /// recv/recvfrom: the buffer size.
    pub size: Option<usize>,
    /// shutdown: "wr" (SHUT_WR, default), "rd" or "rdwr".
    pub how: Option<String>,
    /// setsockopt: SO_REUSEADDR, SO_LINGER, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, SO_KEEPALIVE.
    pub option: Option<String>,
    /// setsockopt: the value (SO_LINGER: seconds, with linger on).
    pub value: Option<i64>,
    /// sleep/watch: how long.
    pub seconds: Option<f64>,
    /// watch: how often to show the kernel's sockets.
    pub every: Option<f64>,
    /// connect/accept/recv: give up after this many seconds (default 2).
    pub timeout: Option<f64>,
    /// Put the socket in non-blocking mode before the call.
    pub nonblocking: Option<bool>,
    /// How long to wait for the wire to go quiet after the call (default 0.08 s of silence, 1.5 s at most).
    pub settle: Option<f64>,
    /// Text for the student, shown before the call.
    pub say: Option<String>,
    /// Text for the student in Simplified Chinese.
    pub say_zh: Option<String>,
    /// What must happen.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// A question for `--quiz`.
    pub quiz: Option<Quiz>,
}

/// Every call a step may make.
pub const CALLS: &[&str] = &[
    "recv_framed",
    "recv_all",
    "sendfile",
    "serve",
    "join",
    "socket",
    "bind",
    "listen",
    "connect",
    "accept",
    "send",
    "sendall",
    "recv",
    "shutdown",
    "close",
    "setsockopt",
    "sendto",
    "recvfrom",
    "sleep",
    "watch",
];

/// Options `setsockopt` knows.
pub const OPTIONS: &[&str] = &["SO_REUSEADDR", "SO_LINGER", "SO_RCVBUF", "SO_SNDBUF", "TCP_NODELAY", "SO_KEEPALIVE"];

/// 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses and validates a lab file; errors name the line.
pub fn parse(text: &str) -> Result<Lab, String> {
    let lab: Lab = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => format!("line {}: {}", line_of(text, span.start), e.message()),
        None => e.message().to_string(),
    })?;
    validate(&lab, text)?;
    Ok(lab)
}

fn validate(lab: &Lab, text: &str) -> Result<(), String> {
    if lab.id.is_empty() || !lab.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("lab id {:?}: use letters, digits, '-' or '_'", lab.id));
    }
    if lab.steps.is_empty() {
        return Err("a lab needs at least one [[step]]".into());
    }
    let mut sockets: HashSet<String> = HashSet::new();
    for spanned in &lab.steps {
        let step = spanned.get_ref();
        let line = line_of(text, spanned.span().start);
        let fail = |msg: String| Err(format!("line {line}: step `{}`: {msg}", step.call));
        if !CALLS.contains(&step.call.as_str()) {
            return fail(format!("unknown call; one of {}", CALLS.join(", ")));
        }
        let needs_actor = !matches!(step.call.as_str(), "sleep" | "watch");
        if needs_actor && step.actor.is_empty() {
            return fail("needs an actor (the socket's name)".into());
        }
        if step.call == "socket" {
            if let Some(f) = &step.family {
                if f != "inet" && f != "inet6" {
                    return fail(format!("family {f:?}: \"inet\" or \"inet6\""));
                }
            }
            if let Some(k) = &step.kind {
                if k != "stream" && k != "dgram" {
                    return fail(format!("type {k:?}: \"stream\" or \"dgram\""));
                }
            }
            sockets.insert(step.actor.clone());
        } else if needs_actor && !sockets.contains(&step.actor) {
            return fail(format!("actor {:?} has no socket yet (add a `socket` step first)", step.actor));
        }
        // Labs talk to this machine only.
        for target in [&step.addr, &step.to].into_iter().flatten() {
            if let Ok(a) = target.parse::<std::net::SocketAddr>() {
                if !(a.ip().is_loopback() || a.ip().is_unspecified()) {
                    return fail(format!("{a}: labs only use loopback addresses (127.0.0.0/8, ::1)"));
                }
            }
        }
        match step.call.as_str() {
            "bind" if step.addr.is_none() => return fail("needs addr = \"127.0.0.1:0\"".into()),
            "connect" | "sendto" if step.to.is_none() => return fail("needs to = \"<actor>\" or an address".into()),
            "accept" => match &step.new_actor {
                Some(n) => {
                    sockets.insert(n.clone());
                }
                None => return fail("needs as = \"<name of the connected socket>\"".into()),
            },
            "setsockopt" => match &step.option {
                Some(o) if OPTIONS.contains(&o.as_str()) => {}
                _ => return fail(format!("needs option = one of {}", OPTIONS.join(", "))),
            },
            "sleep" | "watch" if step.seconds.is_none() => return fail("needs seconds = N".into()),
            "send" | "sendall" | "sendto" if step.data.is_none() && step.bytes.is_none() && step.messages.is_none() => {
                return fail("needs data = \"...\", messages = [...] or bytes = N".into())
            }
            "sendfile" if step.bytes.is_none() => return fail("needs bytes = N (the file's size)".into()),
            "serve" => {
                if !matches!(step.mode.as_deref(), None | Some("iterative") | Some("threaded")) {
                    return fail("mode: \"iterative\" or \"threaded\"".into());
                }
            }
            "shutdown" => {
                if let Some(h) = &step.how {
                    if !matches!(h.as_str(), "wr" | "rd" | "rdwr") {
                        return fail(format!("how {h:?}: \"wr\", \"rd\" or \"rdwr\""));
                    }
                }
            }
            _ => {}
        }
        if let Some(q) = &step.quiz {
            if !QUIZ_FIELDS.contains(&q.field.as_str()) {
                return fail(format!("quiz.field {:?}: one of {}", q.field, QUIZ_FIELDS.join(", ")));
            }
            if matches!(q.field.as_str(), "seq" | "ack" | "len" | "win" | "flags" | "mss") && q.packet.unwrap_or(0) == 0
            {
                return fail("quiz.packet = N (1-based) is needed for a packet field".into());
            }
        }
        if let Some(e) = &step.expect {
            if let Some(errno) = &e.errno {
                if errno != "none" && super::errno::from_name(errno).is_none() {
                    return fail(format!("expect.errno {errno:?} is not an errno name"));
                }
            }
            if let Some(state) = &e.state {
                if !super::KERNEL_STATES.contains(&state.as_str()) {
                    return fail(format!("expect.state {state:?}: one of {}", super::KERNEL_STATES.join(", ")));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let text = "id = \"x\"\ntitle = \"t\"\ngoal = \"g\"\n\n[[step]]\nactor = \"a\"\ncall = \"socket\"\n\n[[step]]\nactor = \"a\"\ncall = \"conect\"\n";
        let err = parse(text).unwrap_err();
        assert!(err.starts_with("line 9:"), "{err}");
        assert!(err.contains("unknown call"), "{err}");
        let err = parse("id = \"x\"\ntitle = 3\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let err =
            parse("id = \"x\"\ntitle = \"t\"\ngoal = \"g\"\n[[step]]\nactor = \"b\"\ncall = \"listen\"\n").unwrap_err();
        assert!(err.contains("has no socket yet"), "{err}");
        let err =
            parse("id = \"x\"\ntitle = \"t\"\ngoal = \"g\"\n[[step]]\nactor = \"b\"\ncall = \"socket\"\ncolour = 1\n")
                .unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn labs_stay_on_loopback() {
        let lab = "id = \"x\"\ntitle = \"t\"\ngoal = \"g\"\n[[step]]\nactor = \"b\"\ncall = \"socket\"\n\
                   [[step]]\nactor = \"b\"\ncall = \"connect\"\nto = \"8.8.8.8:53\"\n";
        let err = parse(lab).unwrap_err();
        assert!(err.contains("only use loopback"), "{err}");
    }
}
