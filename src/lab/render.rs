//! Showing a lab: the terminal view (calls, their packets on the ladder, the
//! kernel's sockets, ✓/✗ expectations) and JSON lines for graders. Both put
//! the engine's data into words through `lab::messages`; JSON always in English.

use super::events::{Event, Holder, LabSink, StateRow};
use super::messages;
use crate::analyze::Analyzer;
use crate::i18n::{current, pick, tr, Lang};
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

    /// The ladder the packets are drawn on (for its options, e.g. `absolute`).
    pub fn ladder(&mut self) -> &mut LadderRenderer<W> {
        &mut self.ladder
    }

    fn out(&mut self) -> &mut W {
        self.ladder.writer()
    }
}

fn state_line(r: &StateRow, lang: Lang) -> String {
    let who = messages::holder(&r.holder, lang);
    let pad = 24usize.saturating_sub(unicode_width::UnicodeWidthStr::width(who.as_str()));
    let Some(k) = &r.socket else {
        return format!("{who}{:pad$} {}", "", messages::no_row(lang));
    };
    let remote = if k.remote.port() == 0 { "*".to_string() } else { k.remote.to_string() };
    let mut s = format!("{who}{:pad$} {:<21} {:<21} {}", "", k.local, remote, k.state);
    if let Some(extra) = messages::row_extra(k, r.unread, lang) {
        s.push_str("  ");
        s.push_str(&extra);
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
        let lang = current();
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
            Event::Ask { step, .. } => {
                let Some(q) = &step.quiz else { return Ok(()) };
                let out = self.out();
                let question = pick(&q.question, q.question_zh.as_deref());
                for line in wrap(&format!("? {question}"), WIDTH - 3) {
                    writeln!(out, "   {}", paint(&line, Role::Warning))?;
                }
                let zh = lang == Lang::Zh && q.choices_zh.len() == q.choices.len();
                for (i, c) in q.choices.iter().enumerate() {
                    let c = if zh { &q.choices_zh[i] } else { c };
                    writeln!(out, "     {}) {c}", (b'a' + i as u8) as char)?;
                }
                write!(out, "   {}", tr("your answer (q: stop): ", "你的答案（q：停止）："))?;
                out.flush()?;
            }
            Event::Quiz { answer, truth, reason, right, step, .. } => {
                let text = match (truth, right) {
                    (Some(t), true) => format!("   ✓ {} {t}", tr("right! the capture says", "答对了！抓包显示")),
                    (Some(t), false) => format!(
                        "   ✗ {} {}; {} {t}",
                        tr("you said", "你的答案"),
                        if answer.is_empty() { tr("nothing", "（空）").to_string() } else { format!("{answer:?}") },
                        tr("the answer is", "正确答案是")
                    ),
                    (None, _) => format!("   · {}", tr("cannot be checked without a capture", "没有抓包，无法核对")),
                };
                let out = self.out();
                writeln!(out, "{}", paint(&text, if *right { Role::Open } else { Role::Warning }))?;
                if let Some(r) = reason {
                    for line in wrap(&messages::reason(r, lang), WIDTH - 5) {
                        writeln!(out, "     {}", paint(&line, Role::Explain))?;
                    }
                }
                // The step's text waited until now: it may give the answer away.
                if let Some(say) = &step.say {
                    for line in wrap(pick(say, step.say_zh.as_deref()), WIDTH - 3) {
                        writeln!(out, "   {}", paint(&line, Role::Explain))?;
                    }
                }
            }
            Event::Step { n, of, step, signature, asking } => {
                let out = self.out();
                writeln!(out)?;
                let who = if step.actor.is_empty() { "lab".to_string() } else { step.actor.clone() };
                writeln!(out, "{}", format!("━━ {} {n}/{of} · {who}: {signature}", tr("step", "步骤")).bold())?;
                if let (Some(say), false) = (&step.say, asking) {
                    let say = pick(say, step.say_zh.as_deref());
                    for line in wrap(say, WIDTH - 3) {
                        writeln!(out, "   {}", paint(&line, Role::Explain))?;
                    }
                }
            }
            Event::Call { outcome, step, .. } => {
                if !step.call.needs_actor() {
                    return Ok(());
                }
                let text = format!("   → {}", messages::outcome(outcome, lang));
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
                    writeln!(out, "   {} {}", paint(&lead, Role::State), paint(&state_line(r, lang), Role::State))?;
                }
            }
            Event::Expect { pass, expectation, observed, n: _ } => {
                let what = messages::label(expectation, lang);
                let want = messages::want(expectation, "", lang);
                let want = want.trim_start();
                let text = if *pass {
                    format!("   ✓ {what}: {want}")
                } else {
                    let got = messages::got(observed, lang);
                    format!("   ✗ {what}: {} {want}, {} {got}", tr("wanted", "期望"), tr("saw", "实际"))
                };
                writeln!(self.out(), "{}", paint(&text, if *pass { Role::Open } else { Role::Abort }))?;
            }
            Event::Finding { finding, .. } => {
                for line in wrap(&format!("◆ {}", messages::finding(finding, lang)), WIDTH - 3) {
                    writeln!(self.out(), "   {}", paint(&line, Role::Explain))?;
                }
            }
            Event::Skipped { expectation, .. } => {
                let text = format!(
                    "   · {}: {}",
                    messages::label(expectation, lang),
                    tr("skipped (no capture)", "已跳过（没有抓包）")
                );
                writeln!(self.out(), "{}", paint(&text, Role::Warning))?;
            }
            Event::Interrupted { n } => {
                let out = self.out();
                writeln!(out)?;
                let text = match lang {
                    Lang::En => format!("■ interrupted at step {n}: the lab stopped before the end (sockets closed)"),
                    Lang::Zh => format!("■ 在第 {n} 步被中断：实验没有做完（套接字已关闭）"),
                };
                writeln!(out, "{}", paint(&text, Role::Warning))?;
                out.flush()?;
            }
            Event::End { passed, failed, skipped, stats, lab, quiz } => {
                let out = self.out();
                writeln!(out)?;
                let summary = pick(lab.summary.as_deref().unwrap_or(""), lab.summary_zh.as_deref());
                for line in wrap(summary, WIDTH).into_iter().filter(|l| !l.trim().is_empty()) {
                    writeln!(out, "{}", paint(&line, Role::Explain))?;
                }
                if let Some((right, asked)) = quiz {
                    let score = format!("{} {right}/{asked}", tr("quiz score:", "测验得分："));
                    writeln!(out, "{}", paint(&score, Role::Heading))?;
                }
                let mut line = match lang {
                    Lang::En => format!("expectations: {passed} passed, {failed} failed"),
                    Lang::Zh => format!("检查项：{passed} 通过，{failed} 失败"),
                };
                if *skipped > 0 {
                    line.push_str(&match lang {
                        Lang::En => format!(", {skipped} skipped (no capture)"),
                        Lang::Zh => format!("，{skipped} 跳过（没有抓包）"),
                    });
                }
                if let Some(st) = stats {
                    line.push_str(&match lang {
                        Lang::En => format!(" · capture: {} frames, {} dropped by the kernel", st.received, st.dropped),
                        Lang::Zh => format!(" · 抓包：{} 帧，内核丢弃 {} 帧", st.received, st.dropped),
                    });
                }
                writeln!(out, "{}", paint(&line, if *failed == 0 { Role::Open } else { Role::Abort }))?;
                if stats.is_some_and(|s| s.dropped > 0) {
                    let warn = tr(
                        "warning: the kernel dropped frames; the ladder is incomplete",
                        "警告：内核丢弃了一些帧，梯形图不完整",
                    );
                    writeln!(out, "{}", paint(warn, Role::Warning))?;
                }
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// JSON lines: one object per event, each with `kind` and `step`. English
/// only (the catalogue in `Lang::En`): it is a contract for scripts.
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
    call: &'static str,
    signature: &'a str,
    ok: bool,
    ret: Option<i64>,
    errno: Option<&'static str>,
    errno_num: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notes: &'a [super::events::Note],
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
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
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    accept_queue: bool,
    local: Option<String>,
    remote: Option<String>,
    state: &'a str,
    timer_s: Option<f64>,
    rx_queue: Option<u64>,
    tx_queue: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unread: Option<u64>,
}

#[derive(Serialize)]
struct ExpectJson<'a> {
    kind: &'static str,
    step: usize,
    what: &'static str,
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
        let en = Lang::En;
        match ev {
            Event::Start { .. } => Ok(()),
            Event::Step { .. } | Event::Ask { .. } => Ok(()),
            Event::Quiz { n, step, answer, truth, reason, right } => {
                let question = step.quiz.as_ref().map(|q| q.question.as_str());
                let because = reason.as_ref().map(|r| messages::reason(r, en));
                let v = serde_json::json!({"kind": "quiz", "step": n, "question": question, "answer": answer,
                    "truth": truth, "right": right, "reason": reason, "because": because});
                self.line(&v)
            }
            Event::Call { n, step, signature, outcome } => {
                let detail: Vec<String> = outcome.notes.iter().map(|x| messages::note(x, en)).collect();
                self.line(&CallJson {
                    kind: "call",
                    step: *n,
                    actor: &step.actor,
                    call: step.call.name(),
                    signature,
                    ok: outcome.ok,
                    ret: outcome.ret,
                    errno: outcome.errno.map(super::errno::name),
                    errno_num: outcome.errno,
                    data: outcome.data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()),
                    notes: &outcome.notes,
                    detail: (!detail.is_empty()).then(|| detail.join("; ")),
                })
            }
            Event::Packet { n, rec } => self.line(&PacketJson { kind: "packet", step: *n, frame: JsonFrame::new(rec) }),
            Event::States { n, rows, .. } => {
                for r in rows.iter() {
                    let k = r.socket.as_ref();
                    self.line(&StateJson {
                        kind: "state",
                        step: *n,
                        actor: r.holder.actor(),
                        accept_queue: matches!(r.holder, Holder::AcceptQueue(_)),
                        local: k.map(|k| k.local.to_string()),
                        remote: k.filter(|k| k.remote.port() != 0).map(|k| k.remote.to_string()),
                        state: r.state(),
                        timer_s: k.and_then(|k| k.timer_s),
                        rx_queue: k.map(|k| k.rx_queue),
                        tx_queue: k.map(|k| k.tx_queue),
                        unread: r.unread,
                    })?;
                }
                Ok(())
            }
            Event::Expect { n, pass, expectation, observed } => {
                let want = messages::want(expectation, "", en);
                let got = messages::got(observed, en);
                self.line(&ExpectJson {
                    kind: "expect",
                    step: *n,
                    what: expectation.key(),
                    pass: *pass,
                    want: want.trim_start(),
                    got: &got,
                })
            }
            Event::Finding { n, finding } => {
                let mut v = serde_json::to_value(finding).map_err(io::Error::other)?;
                v["kind"] = "finding".into();
                v["step"] = (*n).into();
                v["text"] = messages::finding(finding, en).into();
                self.line(&v)
            }
            Event::Skipped { n, expectation } => {
                let v = serde_json::json!({"kind": "skipped", "step": n, "what": expectation.key()});
                self.line(&v)
            }
            Event::Interrupted { n } => {
                let v = serde_json::json!({"kind": "interrupted", "step": n});
                self.line(&v)?;
                self.out.flush()
            }
            Event::End { passed, failed, skipped, stats, quiz, lab } => {
                let v = serde_json::json!({"kind": "end", "step": lab.steps.len(), "passed": passed, "failed": failed, "skipped": skipped,
                    "frames": stats.map(|s| s.received), "dropped": stats.map(|s| s.dropped),
                    "quiz": quiz.map(|(r, a)| serde_json::json!({"right": r, "asked": a}))});
                self.line(&v)?;
                self.out.flush()
            }
        }
    }
}

/// `wirelab lab list`: a table of the labs, or one JSON object per lab.
pub fn list(labs: &[super::LoadedLab], jsonl: bool, out: &mut dyn Write) -> io::Result<()> {
    if jsonl {
        for l in labs {
            let v = serde_json::json!({
                "id": l.lab.id, "title": l.lab.title, "topics": l.lab.topics, "quiz": l.lab.steps.iter().filter(|s| s.get_ref().quiz.is_some()).count(),
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
        let topics = if current() == Lang::Zh && !l.lab.topics_zh.is_empty() { &l.lab.topics_zh } else { &l.lab.topics };
        table.add_row(vec![l.lab.id.clone(), title.to_string(), topics.join(", "), l.source.describe()]);
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
        let who = if s.actor.is_empty() { "lab" } else { &s.actor };
        let call = super::exec::signature(&s.call, None);
        writeln!(out, "\n{}", format!("{:>2}. {who}: {call}", i + 1).bold())?;
        if let Some(say) = &s.say {
            for line in wrap(pick(say, s.say_zh.as_deref()), WIDTH - 4) {
                writeln!(out, "    {}", paint(&line, Role::Explain))?;
            }
        }
        let lang = current();
        for e in s.expect.list() {
            let want = messages::want(&e, &s.actor, lang);
            writeln!(out, "    {} {}: {want}", tr("expect", "期望"), messages::label(&e, lang))?;
        }
        if let Some(q) = &s.quiz {
            writeln!(out, "    {} {}", tr("quiz:", "测验："), pick(&q.question, q.question_zh.as_deref()))?;
        }
    }
    Ok(())
}
