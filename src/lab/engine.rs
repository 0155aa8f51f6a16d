//! Runs a lab: one socket call at a time, then waits until the wire is quiet,
//! attributes the captured packets to that call, reads the kernel's socket
//! table and checks the step's expectations. Ctrl-C, SIGTERM or `q` at a
//! prompt stop it at once: the step is reported interrupted (not failed),
//! sockets close, a saved file is complete.

use super::capture::{Claim, Feed, LabCapture, MAX_SETTLE};
use super::events::{Answer, CallOutcome, Event, LabSink, Note, Prompter, Skip, StateRow};
use super::exec::{self, Executor};
use super::expect::{self, StepResult};
use super::findings::{self, Finding, Inbox};
use super::program::{Performer, Program, ProgramOutput, ProgramSpec, LISTEN_LIMIT};
use super::spec::{Call, Expectation};
use super::tcpinfo::TcpInfo;
use super::{kernel, procnet, quiz, LoadedLab};
use crate::analyze::{Analyzer, FrameRecord};
use crate::error::{Error, Result};
use crate::source::live::LiveCapture;
use crate::source::wire::{Host, Wire};
use crate::source::writer::PcapWriter;
use std::collections::{HashMap, HashSet, VecDeque};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lab packets kept for ACK delays: far more than one step of a lab has
/// outside bulk transfers, whose ACKs need no history.
const RECENT: usize = 512;

/// How to run a lab.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Pause before each call until Enter (students).
    pub step_mode: bool,
    /// Pause this long between steps (instructors).
    pub pace: Option<Duration>,
    /// Save the captured frames to this pcap.
    pub save: Option<PathBuf>,
    /// Keep at most this many bytes of each saved frame.
    pub snaplen: Option<u32>,
    /// Interface to capture on.
    pub interface: String,
    /// Do not capture.
    pub no_capture: bool,
    /// Ask the steps' quiz questions before running them.
    pub quiz: bool,
    /// Payload bytes kept per packet for the preview (`--payload`; None: the default).
    pub payload: Option<usize>,
    /// A student's program performs this actor (`--program ACTOR=COMMAND`).
    pub program: Option<ProgramSpec>,
    /// The program's working directory (default: wirelab's).
    pub workdir: Option<PathBuf>,
}

/// Result of a whole run.
#[derive(Debug)]
pub struct LabResult {
    /// Expectations passed.
    pub passed: usize,
    /// Expectations failed.
    pub failed: usize,
    /// Expectations skipped (no capture).
    pub skipped: usize,
    /// Stopped by Ctrl-C, SIGTERM or `q` before the end.
    pub interrupted: bool,
    /// What the student's program printed, and whether it exited by itself.
    pub program: Option<ProgramOutput>,
}

/// What a program plays in a lab.
#[derive(Clone, Debug)]
pub struct Role {
    /// Its actors: the one named, and for a server the connections it accepts.
    pub actors: HashSet<String>,
    /// The name its connected sockets are listed under.
    pub conn_name: String,
    /// It connects (a client) rather than listens (a server).
    pub client: bool,
}

/// What a program playing `actor` plays: a listening TCP actor of the lab
/// (a server, with the connections it accepts) or a connecting one (a client).
pub fn program_actors(lab: &super::spec::Lab, actor: &str) -> Result<Role> {
    let steps = || lab.steps.iter().map(|s| s.get_ref()).filter(|s| s.actor == actor);
    if !steps().any(|s| matches!(s.call, Call::Socket { .. })) {
        let mut known: Vec<&str> = lab
            .steps
            .iter()
            .map(|s| s.get_ref())
            .filter(|s| matches!(s.call, Call::Socket { .. }))
            .map(|s| s.actor.as_str())
            .collect();
        known.dedup();
        return Err(Error::Usage(crate::i18n::either(
            format!("--program: lab {} has no actor {actor:?} (its actors: {})", lab.id, known.join(", ")),
            format!("--program：实验 {} 没有角色 {actor:?}（它的角色：{}）", lab.id, known.join("、")),
        )));
    }
    let tcp = steps().any(|s| matches!(s.call, Call::Socket { kind: super::spec::SockType::Stream, .. }));
    let listens = tcp && steps().any(|s| matches!(s.call, Call::Listen { .. }));
    let connects = tcp && steps().any(|s| matches!(s.call, Call::Connect { .. } | Call::ConnectEx { .. }));
    if !listens && !connects {
        return Err(Error::Usage(crate::i18n::either(
            format!("--program: actor {actor:?} neither listens nor connects in lab {}: a program plays a TCP server (an actor that calls listen) or a client (one that calls connect)", lab.id),
            format!("--program：角色 {actor:?} 在实验 {} 中既不监听也不连接：程序只能扮演 TCP 服务器（调用 listen 的角色）或客户端（调用 connect 的角色）", lab.id),
        )));
    }
    let mut set: HashSet<String> = [actor.to_string()].into();
    if !listens {
        return Ok(Role { actors: set, conn_name: actor.to_string(), client: true });
    }
    let mut conn_name = None;
    for s in lab.steps.iter().map(|s| s.get_ref()) {
        if let (true, Call::Accept { new_actor }) = (set.contains(&s.actor), &s.call) {
            conn_name.get_or_insert_with(|| new_actor.clone());
            set.insert(new_actor.clone());
        }
    }
    Ok(Role { actors: set, conn_name: conn_name.unwrap_or_else(|| format!("{actor}-conn")), client: false })
}

/// A client program's step ends when what it stands for has happened (or
/// the program ended, or this long passed): its connection exists after
/// `connect`, and is closed after `close`.
const PROGRAM_STEP_LIMIT: Duration = Duration::from_secs(5);

/// Waits until a client program's `call` shows in its kernel table.
fn wait_for_program(p: &mut Program, call: &Call, stop: &AtomicBool) {
    let done = |p: &mut Program| match call {
        Call::Connect { .. } | Call::ConnectEx { .. } => !p.connections().is_empty(),
        Call::Close {} => !p.connections().iter().any(|k| matches!(k.state, "ESTABLISHED" | "CLOSE_WAIT" | "SYN_SENT")),
        _ => true,
    };
    let start = Instant::now();
    while !done(p) && p.running() && start.elapsed() < PROGRAM_STEP_LIMIT && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wakes calls blocked in the kernel when the lab is stopped: shutting a
/// socket down makes its accept()/recv()/connect() return at once.
struct Interrupter {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Interrupter {
    fn spawn(stop: Arc<AtomicBool>, open: Arc<Mutex<HashSet<RawFd>>>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let finished = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    // The registry lock is held while shutting down, and sockets
                    // leave it before they close: no fd number is reused meanwhile.
                    let fds = open.lock().expect("fd registry");
                    for &fd in fds.iter() {
                        // SAFETY: `fd` is an open socket of the lab (see above); shutdown
                        // has no memory effects.
                        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Interrupter { done, thread: Some(thread) }
    }
}

impl Drop for Interrupter {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Longest wait for a step on the lab wire: a retransmission backed off
/// twice (RTO ≥ 200 ms, TCP_RTO_MIN: 0.2 + 0.4 + 0.8 s) and a SYN retried
/// after 1 s (TCP_TIMEOUT_INIT) fit.
const WIRE_SETTLE: Duration = Duration::from_secs(4);

/// Reports each connected TCP socket's TCP_INFO when what a student
/// watches (cwnd, ssthresh, rto, in flight, retransmissions) changed.
fn sample_tcp_info(
    exec: &Executor,
    n: usize,
    seen: &mut HashMap<String, TcpInfo>,
    cwnd_max: &mut HashMap<String, u32>,
    sink: &mut dyn LabSink,
    analyzer: &Analyzer,
) -> Result<()> {
    for a in exec.actors.iter().filter(|a| a.stream && a.peer.is_some()) {
        let Some(info) = a.sock.as_ref().and_then(TcpInfo::of) else { continue };
        let max = cwnd_max.entry(a.name.clone()).or_default();
        *max = (*max).max(info.cwnd);
        if seen.get(&a.name).is_some_and(|old| old.key() == info.key()) {
            continue;
        }
        seen.insert(a.name.clone(), info);
        sink.event(&Event::TcpInfo { n, actor: &a.name, info: &info }, analyzer)
            .map_err(|e| Error::io("writing output", e))?;
    }
    Ok(())
}

/// Sleeps `d`, or less when `stop` is set.
fn sleep_unless(d: Duration, stop: &AtomicBool) {
    let start = Instant::now();
    while start.elapsed() < d && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10).min(d));
    }
}

fn start_capture(loaded: &LoadedLab, opts: &RunOptions) -> Result<(LabCapture, Vec<Host>)> {
    let mut hosts = Vec::new();
    let live = if let Some(spec) = &loaded.lab.wire {
        // The lab's sockets live on the wire's hosts: without it there is no lab.
        let wire = Wire::start(spec).inspect_err(|_| {
            if let Some(hint) = super::recording_hint(loaded) {
                eprintln!("wirelab: {hint}");
            }
        })?;
        hosts = wire.hosts.clone();
        Some(Feed::Wire(wire))
    } else if opts.no_capture {
        None
    } else {
        let interface = if opts.interface.is_empty() { "lo" } else { &opts.interface };
        match LiveCapture::start(interface, Some(&[]), opts.snaplen, crate::source::live::Reader::Lab) {
            Ok(c) => Some(Feed::Loopback(c)),
            Err(e) => {
                eprintln!("wirelab: {e}");
                eprintln!("wirelab: the lab runs anyway: its socket calls and the kernel's socket states are real; packets are not shown.");
                if let Some(hint) = super::recording_hint(loaded) {
                    eprintln!("wirelab: {hint}");
                }
                None
            }
        }
    };
    let writer = match (&opts.save, &live) {
        (Some(p), Some(c)) => Some(PcapWriter::create(p, c.link(), opts.snaplen)?),
        _ => None,
    };
    let mut capture = LabCapture::new(live, writer);
    if let Some(n) = opts.payload {
        capture.analyzer.set_payload_limit(n);
    }
    Ok((capture, hosts))
}

/// Runs a lab, reporting to `sink` and asking `prompter` at `--step` and `--quiz` prompts.
pub fn run(
    loaded: &LoadedLab,
    opts: &RunOptions,
    sink: &mut dyn LabSink,
    prompter: &mut dyn Prompter,
) -> Result<LabResult> {
    run_with_stop(loaded, opts, sink, prompter, crate::sniff::stop_on_signals())
}

/// [`run`] with the flag that stops it (set by Ctrl-C and SIGTERM in [`run`]).
pub fn run_with_stop(
    loaded: &LoadedLab,
    opts: &RunOptions,
    sink: &mut dyn LabSink,
    prompter: &mut dyn Prompter,
    stop: Arc<AtomicBool>,
) -> Result<LabResult> {
    let lab = &loaded.lab;
    let io_err = |e| Error::io("writing output", e);
    // A wrong actor is said before anything starts.
    let role = match &opts.program {
        Some(p) => Some(program_actors(lab, &p.actor)?),
        None => None,
    };
    let by_program = role.as_ref().map(|r| r.actors.clone()).unwrap_or_default();
    let (mut cap, hosts) = start_capture(loaded, opts)?;
    let mut exec = Executor::default();
    if let Some(spec) = &lab.wire {
        for (i, h) in spec.hosts.iter().enumerate() {
            for actor in &h.actors {
                exec.place(actor, hosts[i].clone());
            }
        }
    }
    let interrupter = Interrupter::spawn(Arc::clone(&stop), exec.open_fds());
    let capturing = cap.is_live();
    sink.event(&Event::Start { lab, capturing }, &cap.analyzer).map_err(io_err)?;
    // The student's program starts at its actor's first step, in its host's
    // namespace; a server's lab goes on once it listens (its port is the one
    // its kernel table shows).
    let mut program: Option<Program> = None;
    let workdir = match (&opts.program, &opts.workdir) {
        (None, _) => None,
        (Some(_), Some(d)) => Some(d.clone()),
        (Some(_), None) => Some(std::env::current_dir().map_err(|e| Error::io("the current folder", e))?),
    };
    // The lab's files first, where the program will look for them.
    let _files = match (&opts.program, &workdir) {
        (Some(spec), Some(dir)) => {
            Some(super::program::LabFiles::put(&lab.files, &spec.actor, dir, opts.workdir.is_some())?)
        }
        _ => None,
    };
    let folder = workdir.as_deref().map(super::program::FolderWatch::new);
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let (mut quiz_right, mut quiz_asked) = (0usize, 0usize);
    let mut last_states: Vec<StateRow> = Vec::new();
    let mut inbox = Inbox::default();
    // The latest lab packets, for ACK delays (an ACK's data may be a step older).
    let mut recent: VecDeque<FrameRecord> = VecDeque::new();
    let mut interrupted = None;
    let total = lab.steps.len();
    let on_wire = lab.wire.is_some();
    if let Some(w) = &lab.wire {
        let longest = w.hosts.iter().map(|h| h.delay.unwrap_or(w.delay)).fold(0.0, f64::max);
        cap.set_round_trip(Duration::from_secs_f64(2.0 * longest / 1000.0));
    }
    let mut tcp_seen: HashMap<String, TcpInfo> = HashMap::new();
    // Each lab-wire host's checksum-error counters, to tell when its kernel discarded a packet.
    let mut csum_errors: Vec<(Host, (u64, u64))> = hosts
        .iter()
        .map(|h| (h.clone(), h.ns.run(procnet::checksum_errors).ok().flatten().unwrap_or_default()))
        .collect();
    for (i, spanned) in lab.steps.iter().enumerate() {
        let step = spanned.get_ref();
        let n = i + 1;
        if stop.load(Ordering::Relaxed) {
            interrupted = Some(n);
            break;
        }
        let performer = match &opts.program {
            Some(p) if step.call.needs_actor() && by_program.contains(&step.actor) => Performer::Program(p),
            _ => Performer::Wirelab,
        };
        // A client program starts at its connect step: everything it does
        // from start to connection (input(), socket(), connect()) happens
        // inside that step, whose packets the step's expectations judge.
        let starts_here = role
            .as_ref()
            .is_some_and(|r| !r.client || matches!(step.call, Call::Connect { .. } | Call::ConnectEx { .. }));
        if let (Performer::Program(spec), None, Some(role), true) = (performer, &program, &role, starts_here) {
            let ns = exec.placement_of(&spec.actor).map(|h| Arc::clone(&h.ns));
            let stdin = lab.inputs.iter().find(|i| i.actor == spec.actor).map(super::spec::ProgramInput::bytes);
            let mut p = Program::start(spec, workdir.as_deref(), ns, &role.conn_name, stdin)?;
            if !role.client {
                if let Some((local, _)) = p.wait_listening(LISTEN_LIMIT, &stop)? {
                    exec.adopt_program(&spec.actor, local);
                    cap.add_endpoints([(local, Claim::Sole)]);
                }
            }
            program = Some(p);
        }
        let (v6, stream) = exec.actor(&step.actor).map(|a| (a.v6, a.stream)).unwrap_or((false, true));
        let target = match performer {
            Performer::Wirelab => step.call.target().map(|t| exec.resolve(t, v6, stream)),
            // The program made its own call: nothing to resolve.
            Performer::Program(_) => None,
        };
        let resolved = target.as_ref().and_then(|r| r.as_ref().ok().copied());
        // Traffic to a port nobody uses is the lab's too (SYN → RST, ICMP unreachable).
        cap.add_endpoints(resolved.map(|a| (a, Claim::Sole)));
        let overflows_before = matches!(step.call, Call::Connect { .. }).then(procnet::listen_overflows).flatten();
        let signature = exec::signature(&step.call, resolved);
        let who = if step.actor.is_empty() { "lab" } else { step.actor.as_str() };
        cap.set_note(format!("wirelab lab {} step {n}/{total} · {who}: {signature}", lab.id));
        let asking = opts.quiz && step.quiz.is_some();
        sink.event(&Event::Step { n, of: total, step, signature: &signature, asking }, &cap.analyzer)
            .map_err(io_err)?;
        if let Some(pace) = opts.pace {
            sleep_unless(pace, &stop);
        }
        let quiz = step.quiz.as_ref().filter(|_| opts.quiz);
        let answer = if quiz.is_some() {
            sink.event(&Event::Ask { n, step }, &cap.analyzer).map_err(io_err)?;
            prompter.answer()
        } else if opts.step_mode {
            prompter.before_step()
        } else {
            Answer::Line(String::new())
        };
        let Answer::Line(answer) = answer else {
            interrupted = Some(n);
            break;
        };
        if stop.load(Ordering::Relaxed) {
            interrupted = Some(n);
            break;
        }
        // Pausing cannot move packets between steps: the previous step ended on a
        // quiet wire, and nothing new is sent until this call runs.
        let md5_before = exec.md5_of(&step.actor).cloned();
        let mut outcome: CallOutcome = match (performer, target, program.as_mut()) {
            (Performer::Program(spec), _, Some(p)) => {
                let by = Note::ByProgram { actor: spec.actor.clone() };
                match &step.call {
                    Call::Restart {} => match p.restart(LISTEN_LIMIT, &stop) {
                        Ok(Some((local, _))) => {
                            exec.adopt_program(&spec.actor, local);
                            CallOutcome { ok: true, notes: vec![by], ..Default::default() }
                        }
                        Ok(None) => CallOutcome { ok: true, notes: vec![by], ..Default::default() },
                        // It did not come back: the kernel's table shows it
                        // (no LISTEN), its stderr says why.
                        Err(_) => CallOutcome { ok: false, notes: vec![by], ..Default::default() },
                    },
                    call => {
                        if role.as_ref().is_some_and(|r| r.client) {
                            wait_for_program(p, call, &stop);
                        }
                        CallOutcome { ok: true, notes: vec![by], ..Default::default() }
                    }
                }
            }
            // A client program before its connect step: not started yet.
            (Performer::Program(spec), _, None) => CallOutcome {
                ok: true,
                notes: vec![Note::ByProgram { actor: spec.actor.clone() }],
                ..Default::default()
            },
            (Performer::Wirelab, Some(Err(o)), _) => o,
            (Performer::Wirelab, _, _) => exec.perform(step, resolved),
        };
        cap.add_endpoints(exec.endpoints().collect::<Vec<_>>());
        if stop.load(Ordering::Relaxed) {
            // The call was cut short by the interrupt: its result means nothing.
            interrupted = Some(n);
            break;
        }
        if let (Some(before), Some(after)) = (overflows_before, procnet::listen_overflows()) {
            if after > before {
                outcome.notes.push(Note::ListenOverflows { count: after - before });
            }
        }
        sink.event(&Event::Call { n, step, signature: &signature, outcome: &outcome }, &cap.analyzer)
            .map_err(io_err)?;
        // How many segments the bytes of this recv() arrived in.
        if let (true, Some(data), Some(a)) = (step.call.receives_data(), &outcome.data, exec.actor(&step.actor)) {
            if let (Some(local), Some(peer)) = (a.local, a.peer) {
                let segments = inbox.take(local, peer, data.len() as u64);
                if segments >= 2 && a.stream {
                    let f = Finding::RecvDrainedSegments { segments, bytes: data.len() as u64 };
                    sink.event(&Event::Finding { n, finding: &f }, &cap.analyzer).map_err(io_err)?;
                }
            }
        }
        let seconds = step.call.duration().map(Duration::from_secs_f64).unwrap_or_default();
        let settle_max =
            step.settle.map(Duration::from_secs_f64).unwrap_or(if on_wire { WIRE_SETTLE } else { MAX_SETTLE });
        let mut packets = Vec::new();
        let ports = cap.ports().clone();
        let mut step_cwnd: HashMap<String, u32> = HashMap::new();
        // The lab wire: TCP_INFO as it changes, and whether a retransmission
        // timer still runs (then the step is not over, however quiet the wire).
        let mut tick = |sink: &mut dyn LabSink, analyzer: &Analyzer| -> Result<bool> {
            if !on_wire {
                return Ok(false);
            }
            sample_tcp_info(&exec, n, &mut tcp_seen, &mut step_cwnd, sink, analyzer)?;
            let rows = kernel::rows(&exec.actors, &ports, &exec.hosts());
            Ok(rows.iter().any(|r| r.socket.as_ref().is_some_and(|k| k.timer_kind == procnet::TIMER_RETRANSMIT)))
        };
        let mut emit_states = |cap: &mut LabCapture, force: bool, sink: &mut dyn LabSink| -> Result<Vec<StateRow>> {
            let mut rows = kernel::rows(&exec.actors, cap.ports(), &exec.hosts());
            if let Some(p) = &program {
                rows.extend(p.rows());
            }
            let changed = force || rows != last_states;
            sink.event(&Event::States { n, rows: &rows, changed }, &cap.analyzer).map_err(io_err)?;
            last_states = rows.clone();
            Ok(rows)
        };
        let states = if let Call::Watch { every, .. } = step.call {
            let every = Duration::from_secs_f64(every.unwrap_or(1.0));
            let start = Instant::now();
            let mut states = emit_states(&mut cap, true, sink)?;
            while start.elapsed() + every <= seconds + Duration::from_millis(1) && !stop.load(Ordering::Relaxed) {
                packets.extend(cap.settle(n, every, every, &stop, sink, &mut tick)?);
                states = emit_states(&mut cap, true, sink)?;
            }
            states
        } else {
            packets = cap.settle(n, seconds, seconds + settle_max, &stop, sink, &mut tick)?;
            emit_states(&mut cap, false, sink)?
        };
        if stop.load(Ordering::Relaxed) {
            interrupted = Some(n);
            break;
        }
        inbox.add(&packets);
        let mut findings = Vec::new();
        if let (Call::Send { messages: Some(m), .. }, Some(local), Performer::Wirelab) =
            (&step.call, exec.actor(&step.actor).and_then(|a| a.local), performer)
        {
            let segments = findings::data_segments_from(&packets, local);
            findings.push(Finding::SendsBecameSegments { calls: m.len() as u64, segments });
        }
        recent.extend(packets.iter().cloned());
        while recent.len() > RECENT {
            recent.pop_front();
        }
        findings.extend(findings::ack_delays(recent.make_contiguous(), &packets));
        if let Call::Connect { .. } | Call::ConnectEx { .. } = step.call {
            // The connecting socket's own kernel settings (its lab-wire host's).
            let ns = exec.placement_of(&step.actor).map(|h| std::sync::Arc::clone(&h.ns));
            findings.extend(findings::syn_retries(&packets, |name| match &ns {
                Some(ns) => ns.run(|| findings::sysctl(name)).ok().flatten(),
                None => findings::sysctl(name),
            }));
        }
        for (host, before) in csum_errors.iter_mut() {
            let now = host.ns.run(procnet::checksum_errors).ok().flatten().unwrap_or(*before);
            let (tcp, udp) = (now.0.saturating_sub(before.0), now.1.saturating_sub(before.1));
            *before = now;
            if tcp + udp > 0 {
                findings.push(Finding::ChecksumErrors { host: host.name.clone(), tcp, udp });
            }
        }
        for f in &findings {
            sink.event(&Event::Finding { n, finding: f }, &cap.analyzer).map_err(io_err)?;
        }
        // For sleep/watch (no actor), the largest cwnd of any lab socket.
        let cwnd_max = step_cwnd
            .iter()
            .filter(|(a, _)| step.actor.is_empty() || step.actor == "lab" || **a == step.actor)
            .map(|(_, c)| *c)
            .max();
        let saved = match (performer, &folder) {
            (Performer::Program(_), Some(f)) if step.expect.saves_file.is_some() => Some(f.saved()),
            _ => None,
        };
        let result = StepResult {
            actor: &step.actor,
            outcome: &outcome,
            packets: &packets,
            states: &states,
            cwnd_max,
            files: &lab.files,
            saved: saved.as_deref(),
        };
        for expectation in step.expect.list() {
            let skip = if expectation.needs_capture() && !capturing {
                Some(Skip::NoCapture)
            } else if matches!(performer, Performer::Program(_)) && !expectation.observable() {
                Some(Skip::ByProgram)
            } else {
                None
            };
            if let Some(why) = skip {
                // A program's own result is not an expectation of this run: it
                // is shown as not judged, and not counted as skipped.
                skipped += (why == Skip::NoCapture) as usize;
                sink.event(&Event::Skipped { n, expectation: &expectation, why }, &cap.analyzer).map_err(io_err)?;
                continue;
            }
            // An actor's own last transfer is the one before this call (what it sent).
            let (pass, observed) = expect::check(&expectation, &result, |a| {
                if a == step.actor {
                    md5_before.clone()
                } else {
                    exec.md5_of(a).cloned()
                }
            });
            if pass {
                passed += 1;
            } else {
                failed += 1;
            }
            let ev = Event::Expect { n, pass, expectation: &expectation, observed: &observed };
            sink.event(&ev, &cap.analyzer).map_err(io_err)?;
        }
        if let Some(q) = quiz {
            let found = quiz::truth(q, &step.actor, &outcome, &packets, &states, capturing);
            let right = found.as_ref().is_some_and(|(t, _)| quiz::same_answer(q, &answer, t));
            quiz_asked += 1;
            quiz_right += right as usize;
            let (truth, reason) = found.unzip();
            let ev = Event::Quiz { n, step, answer: answer.trim(), truth, reason, right };
            sink.event(&ev, &cap.analyzer).map_err(io_err)?;
        }
    }
    // Sockets close (and blocked calls are released) before the file is finished.
    drop(interrupter);
    drop(exec);
    // The program's whole process group goes, whatever it started.
    let program = program.as_mut().map(Program::stop);
    let stats = cap.finish()?;
    if let Some(n) = interrupted {
        sink.event(&Event::Interrupted { n }, &cap.analyzer).map_err(io_err)?;
        return Ok(LabResult { passed, failed, skipped, interrupted: true, program });
    }
    sink.event(
        &Event::End { passed, failed, skipped, stats, lab, quiz: opts.quiz.then_some((quiz_right, quiz_asked)) },
        &cap.analyzer,
    )
    .map_err(io_err)?;
    Ok(LabResult { passed, failed, skipped, interrupted: false, program })
}

/// Every expectation a step declares, for `lab show` (re-exported for renderers).
pub fn expectations(step: &super::spec::Step) -> Vec<Expectation> {
    step.expect.list()
}
