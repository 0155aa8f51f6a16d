//! Showing a lab: the terminal view (calls, their packets on the ladder, the
//! kernel's sockets, ✓/✗ expectations) and JSON lines for graders.

use super::engine::{py_bytes, CallOutcome, Event, LabSink, StateRow};
use super::errno;
use crate::analyze::Analyzer;
use crate::i18n::{either, pick, tr};
use crate::render::jsonl::JsonFrame;
use crate::render::ladder::{wrap, LadderRenderer, WIDTH};
use crate::render::style::{paint, Role};
use crate::render::Renderer;
use colored::Colorize;
use serde::Serialize;
use std::io::{self, Write};

/// The terminal view.
pub struct TerminalSink<W: Write> {
    ladder: LadderRenderer<W>,
}

impl<W: Write> TerminalSink<W> {
    /// A terminal view writing to `out`.
    pub fn new(out: W) -> Self {
        TerminalSink { ladder: LadderRenderer::new(out) }
    }

    fn out(&mut self) -> &mut W {
        self.ladder.writer()
    }
}

/// "0", "5 bytes: b'hello'", "ECONNREFUSED (111)".
pub fn describe_outcome(o: &CallOutcome) -> String {
    let mut s = if o.ok {
        match (&o.data, o.ret) {
            (Some(d), _) if d.is_empty() => {
                tr("b'' (0 bytes: the peer closed its side)", "b''（0 字节：对方关闭了它那一端）").to_string()
            }
            (Some(d), _) => format!("{} {}: {}", d.len(), tr("bytes", "字节"), py_bytes(d, 60)),
            (None, Some(r)) if o.returns_fd => format!("fd {r}"),
            (None, Some(r)) => r.to_string(),
            (None, None) => "done".to_string(),
        }
    } else {
        match o.errno {
            Some(e) => format!("{} {} ({e})", tr("error", "错误"), errno::name(e)),
            None => tr("error", "错误").to_string(),
        }
    };
    if let Some(d) = &o.detail {
        s.push_str(&format!("  — {d}"));
    }
    s
}

fn state_line(r: &StateRow) -> String {
    let remote = if r.socket.remote.port() == 0 { "*".to_string() } else { r.socket.remote.to_string() };
    let pad = 24usize.saturating_sub(unicode_width::UnicodeWidthStr::width(r.actor.as_str()));
    let mut s = format!("{}{:pad$} {:<21} {:<21} {}", r.actor, "", r.socket.local, remote, r.socket.state);
    // For a connection rx_queue counts a received FIN as one byte.
    let fin_received = matches!(r.socket.state, "CLOSE_WAIT" | "LAST_ACK" | "CLOSING" | "TIME_WAIT");
    let unread = r.socket.rx_queue.saturating_sub(fin_received as u64);
    match (r.socket.state, r.socket.timer_s) {
        ("TIME_WAIT", Some(t)) => {
            s.push_str(&either(format!("  {t:.1} s left of 60 s"), format!("  60 秒还剩 {t:.1} 秒")))
        }
        ("LISTEN", _) if r.socket.rx_queue > 0 => {
            let n = r.socket.rx_queue;
            s.push_str(&either(
                format!("  {n} connection(s) waiting for accept()"),
                format!("  {n} 个连接在等待 accept()"),
            ))
        }
        ("LISTEN", _) => {}
        _ if unread > 0 => {
            s.push_str(&either(format!("  {unread} byte(s) not yet recv()'d"), format!("  {unread} 字节尚未 recv()")))
        }
        _ => {}
    }
    s
}

impl<W: Write> LabSink for TerminalSink<W> {
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()> {
        if let Event::Packet { rec, .. } = ev {
            return self.ladder.frame(rec, analyzer);
        }
        // A bulk run never spans a step: show it before the step's next line.
        self.ladder.flush_run(analyzer)?;
        match ev {
            Event::Start { lab, capturing } => {
                let out = self.out();
                let title = pick(&lab.title, lab.title_zh.as_deref());
                writeln!(out, "{}", paint(&format!("wirelab lab {} — {title}", lab.id), Role::Heading))?;
                let goal = pick(&lab.goal, lab.goal_zh.as_deref());
                for line in wrap(&format!("{}{goal}", tr("Goal: ", "目标：")), WIDTH) {
                    writeln!(out, "{line}")?;
                }
                if !capturing {
                    let note = tr("(no capture: calls and kernel states only)", "（没有抓包：只显示调用和内核状态）");
                    writeln!(out, "{}", paint(note, Role::Warning))?;
                }
            }
            Event::Ask { question, .. } => {
                let out = self.out();
                writeln!(out, "{}", paint(&format!("   ? {question}"), Role::Warning))?;
                write!(out, "   {}", tr("your answer: ", "你的答案："))?;
                out.flush()?;
            }
            Event::Quiz { answer, truth, right, .. } => {
                let text = match (truth, right) {
                    (Some(t), true) => format!("   ✓ {} {t}", tr("right! the capture says", "答对了！抓包显示")),
                    (Some(t), false) => format!(
                        "   ✗ {} {answer:?}; {} {t}",
                        tr("you said", "你的答案"),
                        tr("the capture says", "抓包显示")
                    ),
                    (None, _) => format!("   · {}", tr("cannot be checked without a capture", "没有抓包，无法核对")),
                };
                writeln!(self.out(), "{}", paint(&text, if *right { Role::Open } else { Role::Warning }))?;
            }
            Event::Step { n, of, step, signature } => {
                let out = self.out();
                writeln!(out)?;
                let who = if step.actor.is_empty() { "lab".to_string() } else { step.actor.clone() };
                writeln!(out, "{}", format!("━━ {} {n}/{of} · {who}: {signature}", tr("step", "步骤")).bold())?;
                if let Some(say) = &step.say {
                    let say = pick(say, step.say_zh.as_deref());
                    for line in wrap(say, WIDTH - 3) {
                        writeln!(out, "   {}", paint(&line, Role::Explain))?;
                    }
                }
            }
            Event::Call { outcome, step, .. } => {
                if step.call == "sleep" || step.call == "watch" {
                    return Ok(());
                }
                let text = format!("   → {}", describe_outcome(outcome));
                let role = if outcome.ok { Role::Call } else { Role::Abort };
                writeln!(self.out(), "{}", paint(&text, role))?;
            }
            Event::Packet { .. } => {}
            Event::States { changed: false, .. } => {}
            Event::States { rows, .. } => {
                let out = self.out();
                if rows.is_empty() {
                    let none = tr("kernel: no sockets of this lab left", "内核：本实验的套接字都已不存在");
                    writeln!(out, "   {}", paint(none, Role::State))?;
                }
                let kernel = tr("kernel:", "内核:");
                for (i, r) in rows.iter().enumerate() {
                    let lead = if i == 0 {
                        kernel.to_string()
                    } else {
                        " ".repeat(unicode_width::UnicodeWidthStr::width(kernel))
                    };
                    writeln!(out, "   {} {}", paint(&lead, Role::State), paint(&state_line(r), Role::State))?;
                }
            }
            Event::Expect { pass, what, want, got, .. } => {
                let text = if *pass {
                    format!("   ✓ {what}: {want}")
                } else {
                    format!("   ✗ {what}: {} {want}, {} {got}", tr("wanted", "期望"), tr("saw", "实际"))
                };
                writeln!(self.out(), "{}", paint(&text, if *pass { Role::Open } else { Role::Abort }))?;
            }
            Event::End { passed, failed, skipped, stats, summary, quiz } => {
                let out = self.out();
                writeln!(out)?;
                if let Some(s) = summary {
                    for line in wrap(s, WIDTH) {
                        writeln!(out, "{}", paint(&line, Role::Explain))?;
                    }
                }
                if let Some((right, asked)) = quiz {
                    let score = format!("{} {right}/{asked}", tr("quiz score:", "测验得分："));
                    writeln!(out, "{}", paint(&score, Role::Heading))?;
                }
                let mut line = match crate::i18n::current() {
                    crate::i18n::Lang::En => format!("expectations: {passed} passed, {failed} failed"),
                    crate::i18n::Lang::Zh => format!("检查项：{passed} 通过，{failed} 失败"),
                };
                if *skipped > 0 {
                    line.push_str(&match crate::i18n::current() {
                        crate::i18n::Lang::En => format!(", {skipped} skipped (no capture)"),
                        crate::i18n::Lang::Zh => format!("，{skipped} 跳过（没有抓包）"),
                    });
                }
                if let Some(st) = stats {
                    line.push_str(&match crate::i18n::current() {
                        crate::i18n::Lang::En => {
                            format!(" · capture: {} frames, {} dropped by the kernel", st.received, st.dropped)
                        }
                        crate::i18n::Lang::Zh => format!(" · 抓包：{} 帧，内核丢弃 {} 帧", st.received, st.dropped),
                    });
                }
                writeln!(out, "{}", paint(&line, if *failed == 0 { Role::Open } else { Role::Abort }))?;
                if stats.is_some_and(|s| s.dropped > 0) {
                    writeln!(
                        out,
                        "{}",
                        paint("warning: the kernel dropped frames; the ladder is incomplete", Role::Warning)
                    )?;
                }
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// JSON lines: one object per event, each with `kind` and `step`.
pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    /// JSON lines to `out`.
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }
}

#[derive(Serialize)]
struct CallJson<'a> {
    kind: &'static str,
    step: usize,
    actor: &'a str,
    call: &'a str,
    signature: &'a str,
    ok: bool,
    ret: Option<i64>,
    errno: Option<&'static str>,
    errno_num: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct PacketJson {
    kind: &'static str,
    step: usize,
    #[serde(flatten)]
    frame: JsonFrame,
}

#[derive(Serialize)]
struct StateJson<'a> {
    kind: &'static str,
    step: usize,
    actor: &'a str,
    local: String,
    remote: Option<String>,
    state: &'a str,
    timer_s: Option<f64>,
    rx_queue: u64,
    tx_queue: u64,
}

#[derive(Serialize)]
struct ExpectJson<'a> {
    kind: &'static str,
    step: usize,
    what: &'a str,
    pass: bool,
    want: &'a str,
    got: &'a str,
}

impl<W: Write> JsonlSink<W> {
    fn line(&mut self, v: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> LabSink for JsonlSink<W> {
    fn event(&mut self, ev: &Event<'_>, _: &Analyzer) -> io::Result<()> {
        match ev {
            Event::Start { .. } => Ok(()),
            Event::Step { .. } | Event::Ask { .. } => Ok(()),
            Event::Quiz { n, question, answer, truth, right } => {
                let v = serde_json::json!({"kind": "quiz", "step": n, "question": question, "answer": answer, "truth": truth, "right": right});
                self.line(&v)
            }
            Event::Call { n, step, signature, outcome } => self.line(&CallJson {
                kind: "call",
                step: *n,
                actor: &step.actor,
                call: &step.call,
                signature,
                ok: outcome.ok,
                ret: outcome.ret,
                errno: outcome.errno.map(errno::name),
                errno_num: outcome.errno,
                data: outcome.data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()),
                detail: outcome.detail.as_deref(),
            }),
            Event::Packet { n, rec } => self.line(&PacketJson { kind: "packet", step: *n, frame: JsonFrame::new(rec) }),
            Event::States { n, rows, .. } => {
                for r in rows.iter() {
                    self.line(&StateJson {
                        kind: "state",
                        step: *n,
                        actor: &r.actor,
                        local: r.socket.local.to_string(),
                        remote: (r.socket.remote.port() != 0).then(|| r.socket.remote.to_string()),
                        state: r.socket.state,
                        timer_s: r.socket.timer_s,
                        rx_queue: r.socket.rx_queue,
                        tx_queue: r.socket.tx_queue,
                    })?;
                }
                Ok(())
            }
            Event::Expect { n, pass, what, want, got } => {
                self.line(&ExpectJson { kind: "expect", step: *n, what, pass: *pass, want, got })
            }
            Event::End { .. } => self.out.flush(),
        }
    }
}

/// `wirelab lab list`: a table of the labs, or one JSON object per lab.
pub fn list(labs: &[super::LoadedLab], jsonl: bool, out: &mut dyn Write) -> io::Result<()> {
    if jsonl {
        for l in labs {
            let v = serde_json::json!({
                "id": l.lab.id, "title": l.lab.title, "topics": l.lab.topics,
                "source": l.source.to_string(),
                "replaces_built_in": matches!(l.source, super::Source::File { replaces_built_in: true, .. }),
            });
            writeln!(out, "{v}")?;
        }
        return Ok(());
    }
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(vec!["id", "title", "topics", "source"]);
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        table.set_width(WIDTH as u16);
    }
    for l in labs {
        let title = pick(&l.lab.title, l.lab.title_zh.as_deref());
        table.add_row(vec![l.lab.id.clone(), title.to_string(), l.lab.topics.join(", "), l.source.describe()]);
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "{}",
        tr(
            "run one with: wirelab lab run <id>   (see its steps first: wirelab lab show <id>)",
            "运行：wirelab lab run <id>   （先看步骤：wirelab lab show <id>）"
        )
    )
}

/// `wirelab lab show NAME`: the steps and texts, without running anything.
pub fn show(l: &super::LoadedLab, out: &mut dyn Write) -> io::Result<()> {
    let lab = &l.lab;
    let title = pick(&lab.title, lab.title_zh.as_deref());
    writeln!(out, "{}", paint(&format!("wirelab lab {} — {title}", lab.id), Role::Heading))?;
    for line in wrap(&format!("{}{}", tr("Goal: ", "目标："), pick(&lab.goal, lab.goal_zh.as_deref())), WIDTH) {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{}{}", tr("Topics: ", "主题："), lab.topics.join(", "))?;
    writeln!(out, "{}{}", tr("File: ", "文件："), l.source.describe())?;
    for (i, s) in lab.steps.iter().enumerate() {
        let s = s.get_ref();
        let mut call = format!("{}.{}", if s.actor.is_empty() { "lab" } else { &s.actor }, s.call);
        for (k, v) in [
            ("to", s.to.clone()),
            ("addr", s.addr.clone()),
            ("backlog", s.backlog.map(|b| b.to_string())),
            ("as", s.new_actor.clone()),
            ("data", s.data.as_ref().map(|d| py_bytes(d.as_bytes(), 30))),
            ("bytes", s.bytes.map(|b| b.to_string())),
            ("size", s.size.map(|b| b.to_string())),
            ("option", s.option.clone()),
            ("value", s.value.map(|b| b.to_string())),
            ("seconds", s.seconds.map(|b| b.to_string())),
        ] {
            if let Some(v) = v {
                call.push_str(&format!(" {k}={v}"));
            }
        }
        writeln!(out, "\n{}", format!("{:>2}. {call}", i + 1).bold())?;
        if let Some(say) = &s.say {
            for line in wrap(pick(say, s.say_zh.as_deref()), WIDTH - 4) {
                writeln!(out, "    {}", paint(&line, Role::Explain))?;
            }
        }
        if let Some(e) = &s.expect {
            let mut parts = Vec::new();
            if let Some(p) = &e.packets {
                parts.push(format!("packets {}", p.join(" ")));
            }
            if let Some(p) = &e.packets_include {
                parts.push(format!("packets include {}", p.join(" ")));
            }
            if let Some(x) = &e.errno {
                parts.push(format!("errno {x}"));
            }
            if let Some(x) = e.ret {
                parts.push(format!("returns {x}"));
            }
            if let Some(x) = &e.data {
                parts.push(format!("data {}", py_bytes(x.as_bytes(), 30)));
            }
            if let Some(x) = &e.state {
                parts.push(format!("kernel state {x}"));
            }
            writeln!(out, "    expect: {}", parts.join("; "))?;
        }
    }
    Ok(())
}
