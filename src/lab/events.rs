//! What the lab engine reports: language-neutral data (numbers, addresses,
//! enums), never sentences. Renderers put it into words from one catalogue
//! (`lab::messages`), so JSON is English by construction and the terminal can
//! be English or Chinese.

use super::procnet::KernelSocket;
use super::spec::{Expectation, Lab, ServeMode, Step};
use crate::analyze::{Analyzer, FrameRecord};
use crate::source::live::CaptureStats;
use crate::source::Frame;
use serde::Serialize;
use std::io;
use std::net::SocketAddr;

/// A fact about a call's result, beyond its return value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum Note {
    /// bind() to port 0: the kernel chose this port.
    KernelChosePort {
        /// The port.
        port: u16,
    },
    /// connect() bound the socket to this address (an ephemeral port).
    EphemeralPort {
        /// The local address.
        local: SocketAddr,
    },
    /// accept() returned a connection from this peer.
    ConnectionFrom {
        /// The peer.
        peer: SocketAddr,
    },
    /// recvfrom() got a datagram from this peer.
    DatagramFrom {
        /// The peer.
        peer: SocketAddr,
    },
    /// send() took fewer bytes than it was given.
    ShortSend {
        /// Bytes taken.
        sent: u64,
        /// Bytes given.
        of: u64,
    },
    /// Several send() calls, one per message.
    SendCalls {
        /// How many.
        calls: u64,
    },
    /// sendall() needed this many send() calls.
    SendallCalls {
        /// send() calls.
        calls: u64,
        /// Bytes sent.
        bytes: u64,
    },
    /// A bulk transfer moved these bytes.
    Transfer {
        /// Sent (true) or received.
        sent: bool,
        /// Bytes moved.
        bytes: u64,
        /// send()/recv() calls.
        calls: u64,
        /// MD5 of the bytes, hex.
        md5: String,
    },
    /// The call runs in a thread; `join` collects its result.
    Background,
    /// An accept loop runs in a thread.
    AcceptLoop {
        /// How it serves.
        mode: ServeMode,
    },
    /// The accept loop served this many clients.
    Served {
        /// Clients.
        clients: u64,
    },
    /// The kernel's ListenOverflows counter grew during the call.
    ListenOverflows {
        /// By how much.
        count: u64,
    },
    /// The lab connects to an actor that has no address yet (a lab mistake).
    NotBound {
        /// The actor.
        actor: String,
    },
    /// `join` on an actor that runs nothing in the background.
    NothingInBackground,
    /// The actor's socket was closed before this call.
    SocketClosed,
    /// The background thread panicked (a wirelab bug).
    ThreadPanicked,
    /// Text encoded before sending.
    Encoded {
        /// The codec.
        codec: super::spec::Codec,
        /// Characters of the text.
        chars: u64,
        /// Bytes they became.
        bytes: u64,
    },
    /// What arrived, decoded.
    Decoded {
        /// The codec.
        codec: super::spec::Codec,
        /// The text (U+FFFD where the bytes are not valid in that codec).
        text: String,
        /// Some bytes were not valid in that codec.
        malformed: bool,
    },
    /// A DNS server runs in a thread.
    DnsServing {
        /// Names it knows.
        names: u64,
    },
    /// A lookup's answer.
    Resolved {
        /// The name.
        name: String,
        /// Its addresses (empty: the name does not exist).
        addrs: Vec<std::net::IpAddr>,
        /// The DNS server asked, or None for the hosts file.
        via: Option<SocketAddr>,
    },
    /// The socket's own timeout (settimeout) expired.
    SocketTimeout {
        /// Its length.
        seconds: f64,
    },
    /// The lab's own limit on a blocking call expired; a program without a
    /// timeout would still be waiting.
    LabTimeout {
        /// The limit.
        seconds: f64,
    },
    /// An HTTP response as `recv_http` read it.
    Http(Box<super::http_client::Response>),
    /// A student's program performs this actor (`--program`): the step is
    /// an observation, not a call wirelab made.
    ByProgram {
        /// The program's actor.
        actor: String,
    },
}

/// Why an expectation was not judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// It needs the capture, which is off.
    NoCapture,
    /// The step is a program's own call: its result cannot be seen.
    ByProgram,
}

/// What a call returned, as the program sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallOutcome {
    /// The call succeeded.
    pub ok: bool,
    /// Return value: fd, bytes, or 0.
    pub ret: Option<i64>,
    /// errno on failure (a kernel error; lab mistakes are notes, not errnos).
    pub errno: Option<i32>,
    /// Bytes received.
    pub data: Option<Vec<u8>>,
    /// Facts about the result.
    pub notes: Vec<Note>,
    /// `ret` is a file descriptor (socket(), accept()).
    pub returns_fd: bool,
    /// MD5 of the bytes a transfer moved.
    pub md5: Option<String>,
}

/// Who holds a socket the kernel lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "holder", content = "actor", rename_all = "snake_case")]
pub enum Holder {
    /// A socket of the lab (or what remains of it after close(): TIME_WAIT …).
    Actor(String),
    /// A connection in this listener's accept queue, not accepted yet.
    AcceptQueue(String),
}

impl Holder {
    /// The actor's name (the listener's, for the accept queue).
    pub fn actor(&self) -> &str {
        match self {
            Holder::Actor(a) | Holder::AcceptQueue(a) => a,
        }
    }
}

/// A socket of the lab and the kernel's row for it (none when the kernel
/// lists none yet: a socket without an address).
#[derive(Clone, Debug, PartialEq)]
pub struct StateRow {
    /// Whose socket.
    pub holder: Holder,
    /// The kernel's row.
    pub socket: Option<KernelSocket>,
    /// Bytes a recv() would get now, asked of the lab's own open socket
    /// (FIONREAD; for UDP: the next datagram's size). /proc's rx_queue is not
    /// that: for UDP it counts kernel buffer memory.
    pub unread: Option<u64>,
}

impl StateRow {
    /// The state name (NONE when the kernel lists no row).
    pub fn state(&self) -> &'static str {
        self.socket.as_ref().map(|s| s.state).unwrap_or("NONE")
    }
}

/// What a step showed for one expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// The step's packets, as labels ("SYN,ACK").
    Packets(Vec<String>),
    /// Expert flags seen among the step's packets.
    Flags(Vec<&'static str>),
    /// The call's errno (None: success).
    Errno(Option<i32>),
    /// The call's return value (None: it failed).
    Ret(Option<i64>),
    /// Bytes received.
    Data(Vec<u8>),
    /// The kernel state of the socket checked.
    State {
        /// Whose.
        of: String,
        /// Its state.
        state: &'static str,
    },
    /// The call was still waiting when the lab's limit expired.
    Blocked(bool),
    /// What the lab wire did to the step's packets.
    Wire(Vec<&'static str>),
    /// The largest cwnd TCP_INFO reported for the actor during the step.
    Cwnd(Option<u32>),
    /// Text received, decoded.
    Text {
        /// The text (U+FFFD where bytes were not valid).
        text: String,
        /// Some bytes were not valid in the codec.
        malformed: bool,
    },
    /// The HTTP response's status code (None: no status line).
    HttpStatus(Option<u16>),
    /// What is wrong with the HTTP response.
    HttpProblems(Vec<super::http_client::Problem>),
    /// What the response said about the connection and what the server did.
    HttpClose {
        /// It said the connection ends.
        says_close: bool,
        /// What the server did.
        closed: Option<super::http_client::Closed>,
    },
    /// Files a program created or changed in its working directory (none
    /// had the bytes wanted).
    Saved(Vec<SavedFile>),
    /// MD5s: wanted (that actor's) and seen.
    Md5 {
        /// The other actor's last transfer.
        want: Option<String>,
        /// This call's.
        got: Option<String>,
    },
}

/// A file a program left in its working directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFile {
    /// Its name.
    pub name: String,
    /// Its size.
    pub bytes: u64,
}

/// Everything the engine reports, in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// The lab starts.
    Start {
        /// The lab.
        lab: &'a Lab,
        /// Whether packets are captured.
        capturing: bool,
    },
    /// A step is about to run.
    Step {
        /// 1-based step number.
        n: usize,
        /// Number of steps.
        of: usize,
        /// The step.
        step: &'a Step,
        /// The call as a program writes it ("connect(127.0.0.1:41234)").
        signature: &'a str,
        /// A quiz question comes first: the step's text, which may give the
        /// answer away, is shown after the answer instead.
        asking: bool,
    },
    /// The call returned.
    Call {
        /// Step number.
        n: usize,
        /// The step.
        step: &'a Step,
        /// The call as written in a program.
        signature: &'a str,
        /// The result.
        outcome: &'a CallOutcome,
    },
    /// A packet captured during the step.
    Packet {
        /// Step number.
        n: usize,
        /// The analysed frame.
        rec: &'a FrameRecord,
        /// Its bytes (the page's hex dump and header diagram).
        frame: &'a Frame<'a>,
    },
    /// The kernel's sockets after the step (or during a watch).
    States {
        /// Step number.
        n: usize,
        /// The rows.
        rows: &'a [StateRow],
        /// Something differs from the last report (the terminal shows only changes).
        changed: bool,
    },
    /// A quiz question, before its step runs.
    Ask {
        /// Step number.
        n: usize,
        /// The step (its quiz holds the question in both languages).
        step: &'a Step,
    },
    /// The student's answer checked against what the step really did.
    Quiz {
        /// Step number.
        n: usize,
        /// The step.
        step: &'a Step,
        /// What the student answered.
        answer: &'a str,
        /// What was captured (None: cannot be known without capture).
        truth: Option<String>,
        /// Why, from this run's capture and results.
        reason: Option<super::quiz::Reason>,
        /// Right?
        right: bool,
    },
    /// Something the step's packets show as a whole (computed from them).
    Finding {
        /// Step number.
        n: usize,
        /// What.
        finding: &'a super::findings::Finding,
    },
    /// The kernel's TCP_INFO of a lab socket changed (lab wire only): the
    /// sender's congestion window, RTT and retransmission timer.
    TcpInfo {
        /// Step number.
        n: usize,
        /// Whose socket.
        actor: &'a str,
        /// What the kernel said.
        info: &'a super::tcpinfo::TcpInfo,
    },
    /// An expectation was checked.
    Expect {
        /// Step number.
        n: usize,
        /// Passed?
        pass: bool,
        /// What was expected.
        expectation: &'a Expectation,
        /// What the step showed.
        observed: &'a Observed,
    },
    /// An expectation was not judged (no capture, or a program's own call).
    Skipped {
        /// Step number.
        n: usize,
        /// What was expected.
        expectation: &'a Expectation,
        /// Why not.
        why: Skip,
    },
    /// Ctrl-C, SIGTERM or `q` stopped the lab during this step; it did not
    /// finish, and nothing after it runs.
    Interrupted {
        /// Step number.
        n: usize,
    },
    /// The lab ended (not sent when it was interrupted).
    End {
        /// Expectations passed.
        passed: usize,
        /// Expectations failed.
        failed: usize,
        /// Expectations that needed the capture and were skipped.
        skipped: usize,
        /// Kernel capture counters.
        stats: Option<CaptureStats>,
        /// The lab.
        lab: &'a Lab,
        /// Quiz score: right answers and questions asked.
        quiz: Option<(usize, usize)>,
    },
}

/// Receives the engine's events (terminal or JSON lines).
pub trait LabSink {
    /// One event; `analyzer` holds the connections seen so far.
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()>;
}

/// A person's reply at a prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A line (without its newline).
    Line(String),
    /// Ctrl-C, SIGTERM, `q`, or the end of the input.
    Stop,
}

/// Asks the person at the terminal (the interactive front end implements it;
/// the engine never reads stdin itself).
pub trait Prompter {
    /// Waits for Enter before a step (`--step`).
    fn before_step(&mut self) -> Answer;
    /// Reads an answer to a quiz question.
    fn answer(&mut self) -> Answer;
}

/// No person: every prompt answers an empty line.
pub struct NoPrompt;

impl Prompter for NoPrompt {
    fn before_step(&mut self) -> Answer {
        Answer::Line(String::new())
    }
    fn answer(&mut self) -> Answer {
        Answer::Line(String::new())
    }
}
