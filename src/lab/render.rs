//! Showing a lab: the terminal view (calls, their packets on the ladder, the
//! kernel's sockets, ✓/✗ expectations) and JSON lines for graders. Both put
//! the engine's data into words through `lab::messages`; JSON always in English.

use super::events::{Event, Holder, LabSink, StateRow};
use super::messages;
use crate::analyze::Analyzer;
use crate::i18n::{current, pick, tr, Lang};
use crate::render::jsonl::JsonFrame;
use crate::render::ladder::LadderRenderer;
use crate::render::style::{paint, Role};
use crate::render::term::{cols, hang, pad, wrap, wrap_code};
use crate::render::Renderer;
use colored::Colorize;
use serde::Serialize;
use std::io::{self, Write};

/// The terminal view.
pub struct TerminalSink<W: Write> {
    ladder: LadderRenderer<W>,
}

impl<W: Write> TerminalSink<W> {
    /// A terminal view writing to `out`, as wide as chosen at start-up.
    pub fn new(out: W) -> Self {
        TerminalSink { ladder: LadderRenderer::new(out) }
    }

    /// The same, `width` columns wide.
    pub fn with_width(out: W, width: usize) -> Self {
        let mut ladder = LadderRenderer::new(out);
        ladder.width = width;
        TerminalSink { ladder }
    }

    /// The ladder the packets are drawn on (for its options, e.g. `absolute`).
    pub fn ladder(&mut self) -> &mut LadderRenderer<W> {
        &mut self.ladder
    }

    fn width(&self) -> usize {
        self.ladder.width.max(crate::render::term::MIN_WIDTH)
    }

    fn out(&mut self) -> &mut W {
        self.ladder.writer()
    }

    /// Writes `lines`, each painted for `role`.
    fn put(&mut self, lines: impl IntoIterator<Item = String>, role: Role) -> io::Result<()> {
        let out = self.out();
        for line in lines {
            writeln!(out, "{}", paint(&line, role))?;
        }
        Ok(())
    }
}

/// Who makes a step's call: its actor, or the lab itself (`sleep`, `watch`).
fn who(actor: &str) -> String {
    messages::who(actor, current())
}

/// The kernel's rows for the lab's sockets: holder, local, remote, state and
/// what the row adds, in aligned columns when they fit in `width`; otherwise
/// each socket on two lines (holder, then the addresses and state under it).
fn state_lines(rows: &[StateRow], lang: Lang, width: usize) -> Vec<String> {
    let lead = format!("   {}", messages::kernel_prefix(lang));
    let indent = " ".repeat(cols(&lead));
    let holders: Vec<String> = rows.iter().map(|r| messages::holder(&r.holder, lang)).collect();
    let cells: Vec<Option<[String; 3]>> = rows
        .iter()
        .map(|r| {
            r.socket.as_ref().map(|k| {
                let remote = if k.remote.port() == 0 { "*".to_string() } else { k.remote.to_string() };
                [k.local.to_string(), remote, k.state.to_string()]
            })
        })
        .collect();
    let col = |i: usize| cells.iter().flatten().map(|c| cols(&c[i])).max().unwrap_or(0);
    let (local_w, remote_w, state_w) = (col(0), col(1), col(2));
    let who_w = holders.iter().map(|h| cols(h)).max().unwrap_or(0);
    let table_fits = cols(&lead) + who_w + local_w + remote_w + state_w + 3 <= width;
    let mut lines = Vec::new();
    for (i, (r, who)) in rows.iter().zip(&holders).enumerate() {
        let first = if i == 0 { lead.as_str() } else { indent.as_str() };
        let (socket, extra) = match (&cells[i], &r.socket) {
            (Some([local, remote, state]), Some(k)) => {
                let socket = if table_fits {
                    format!("{} {} {}", pad(local, local_w), pad(remote, remote_w), pad(state, state_w))
                } else {
                    format!("{local} {remote} {state}")
                };
                (socket.trim_end().to_string(), messages::row_extra(k, r.unread, lang))
            }
            _ => (messages::no_row(lang), None),
        };
        let whole = match &extra {
            Some(extra) => format!("{first}{} {socket}  {extra}", pad(who, who_w)),
            None => format!("{first}{} {socket}", pad(who, who_w)),
        };
        if table_fits && cols(&whole) <= width {
            lines.push(whole);
            continue;
        }
        // Too wide: what does not fit goes on the next lines, indented under the holder.
        let under = format!("{indent}  ");
        if table_fits && r.socket.is_some() {
            lines.push(format!("{first}{} {socket}", pad(who, who_w)));
        } else {
            lines.push(format!("{first}{who}"));
            lines.extend(hang(&under, &socket, width, true));
        }
        if let Some(extra) = extra {
            lines.extend(hang(&format!("{under}· "), &extra, width, false));
        }
    }
    lines
}

impl<W: Write> LabSink for TerminalSink<W> {
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()> {
        if let Event::Packet { rec, .. } = ev {
            return self.ladder.frame(rec, analyzer);
        }
        // A bulk run never spans a step: show it before the step's next line.
        self.ladder.flush_run(analyzer)?;
        let lang = current();
        let width = self.width();
        match ev {
            Event::Start { lab, capturing } => {
                let title = pick(&lab.title, lab.title_zh.as_deref());
                self.put(hang(&format!("wirelab lab {} — ", lab.id), title, width, false), Role::Heading)?;
                let goal = pick(&lab.goal, lab.goal_zh.as_deref());
                self.put(wrap(&format!("{}{goal}", messages::goal_prefix(lang)), width), Role::Data)?;
                if let Some(w) = &lab.wire {
                    for (i, line) in messages::wire_summary(w, lang).iter().enumerate() {
                        self.put(hang(if i == 0 { "" } else { "  " }, line, width, false), Role::State)?;
                    }
                }
                for line in messages::program_summary(lab, lang) {
                    self.put(hang("", &line, width, false), Role::State)?;
                }
                if !capturing {
                    self.put(wrap(&messages::no_capture(lang), width), Role::Warning)?;
                }
            }
            Event::Ask { step, .. } => {
                let Some(q) = &step.quiz else { return Ok(()) };
                let question = pick(&q.question, q.question_zh.as_deref());
                self.put(hang("   ? ", question, width, false), Role::Warning)?;
                let zh = lang == Lang::Zh && q.choices_zh.len() == q.choices.len();
                let choices: Vec<String> = q
                    .choices
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{}) {}", (b'a' + i as u8) as char, if zh { &q.choices_zh[i] } else { c }))
                    .collect();
                for c in choices {
                    self.put(hang("     ", &c, width, false), Role::Warning)?;
                }
                let out = self.out();
                write!(out, "   {}", messages::quiz_prompt(lang))?;
                out.flush()?;
            }
            Event::Quiz { answer, truth, reason, right, step, .. } => {
                let text = messages::quiz_verdict(answer, truth.as_deref(), *right, lang);
                let mark = match (truth, right) {
                    (Some(_), true) => "   ✓ ",
                    (Some(_), false) => "   ✗ ",
                    (None, _) => "   · ",
                };
                self.put(hang(mark, &text, width, true), if *right { Role::Open } else { Role::Warning })?;
                if let Some(r) = reason {
                    self.put(hang("     ", &messages::reason(r, lang), width, false), Role::Explain)?;
                }
                // The step's text waited until now: it may give the answer away.
                if let Some(say) = &step.say {
                    self.put(hang("   ", pick(say, step.say_zh.as_deref()), width, false), Role::Explain)?;
                }
            }
            Event::Step { n, of, step, signature, asking } => {
                writeln!(self.out())?;
                let head = format!("━━ {}: ", messages::step_title(*n, *of, &step.actor, lang));
                for line in hang(&head, signature, width, true) {
                    writeln!(self.out(), "{}", line.bold())?;
                }
                if let (Some(say), false) = (&step.say, asking) {
                    let say = pick(say, step.say_zh.as_deref());
                    self.put(hang("   ", say, width, false), Role::Explain)?;
                }
            }
            Event::Call { outcome, step, .. } => {
                if !step.call.needs_actor() {
                    return Ok(());
                }
                let role = if outcome.ok { Role::Call } else { Role::Abort };
                self.put(hang("   → ", &messages::outcome(outcome, lang), width, true), role)?;
            }
            Event::Packet { .. } => {}
            Event::States { changed: false, .. } => {}
            Event::States { rows, .. } => {
                if rows.is_empty() {
                    self.put(hang("   ", &messages::no_sockets_left(lang), width, false), Role::State)?;
                }
                self.put(state_lines(rows, lang, width), Role::State)?;
            }
            Event::Expect { pass, expectation, observed, n: _ } => {
                let text = messages::expectation(expectation, *pass, observed, lang);
                let mark = if *pass { "   ✓ " } else { "   ✗ " };
                self.put(hang(mark, &text, width, true), if *pass { Role::Open } else { Role::Abort })?;
            }
            Event::Finding { finding, .. } => {
                self.put(hang("   ◆ ", &messages::finding(finding, lang), width, false), Role::Explain)?;
            }
            Event::TcpInfo { actor, info, .. } => {
                self.put(hang("   ⟂ ", &messages::tcp_info(actor, info, lang), width, false), Role::State)?;
            }
            Event::Skipped { expectation, why, .. } => {
                self.put(hang("   · ", &messages::skipped(expectation, *why, lang), width, false), Role::Warning)?;
            }
            Event::Interrupted { n } => {
                writeln!(self.out())?;
                self.put(hang("", &messages::interrupted(*n, lang), width, false), Role::Warning)?;
                self.out().flush()?;
            }
            Event::End { passed, failed, skipped, stats, lab, quiz } => {
                writeln!(self.out())?;
                let summary = pick(lab.summary.as_deref().unwrap_or(""), lab.summary_zh.as_deref());
                self.put(wrap(summary, width).into_iter().filter(|l| !l.trim().is_empty()), Role::Explain)?;
                if let Some((right, asked)) = quiz {
                    self.put([messages::quiz_score(*right, *asked, lang)], Role::Heading)?;
                }
                let line = messages::totals(*passed, *failed, *skipped, *stats, lang);
                self.put(wrap(&line, width), if *failed == 0 { Role::Open } else { Role::Abort })?;
                if stats.is_some_and(|s| s.dropped > 0) {
                    self.put(wrap(&messages::drop_warning(lang), width), Role::Warning)?;
                }
                self.out().flush()?;
            }
        }
        Ok(())
    }
}

/// A Mermaid `sequenceDiagram` of the lab's packets; steps, expectation
/// failures and the interruption as `%%` comments (English, like JSON).
pub struct MermaidSink<W: Write> {
    diagram: crate::render::mermaid::MermaidRenderer<W>,
}

impl<W: Write> MermaidSink<W> {
    /// A diagram written to `out` (raw sequence numbers with `absolute`).
    pub fn new(out: W, absolute: bool) -> Self {
        let mut diagram = crate::render::mermaid::MermaidRenderer::new(out);
        diagram.absolute = absolute;
        MermaidSink { diagram }
    }
}

impl<W: Write> LabSink for MermaidSink<W> {
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()> {
        let comment = match ev {
            Event::Packet { rec, .. } => return self.diagram.frame(rec, analyzer),
            Event::Step { n, step, signature, .. } => format!("step {n} {}: {signature}", who(&step.actor)),
            Event::Expect { n, pass: false, expectation, observed } => format!(
                "step {n} expectation failed: {} wanted {}, saw {}",
                expectation.key(),
                messages::want(expectation, "", Lang::En).trim_start(),
                messages::got(observed, Lang::En)
            ),
            Event::Interrupted { n } => format!("interrupted at step {n}"),
            Event::End { .. } => return self.diagram.finish(analyzer),
            _ => return Ok(()),
        };
        self.diagram.comment(&comment)
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
struct PacketJson<'a> {
    kind: &'static str,
    step: usize,
    #[serde(flatten)]
    frame: JsonFrame<'a>,
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
            Event::Packet { n, rec, .. } => {
                self.line(&PacketJson { kind: "packet", step: *n, frame: JsonFrame::new(rec) })
            }
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
            Event::TcpInfo { n, actor, info } => {
                let mut v = serde_json::to_value(info).map_err(io::Error::other)?;
                v["kind"] = "tcp_info".into();
                v["step"] = (*n).into();
                v["actor"] = (*actor).into();
                v["ca"] = info.ca_name().into();
                self.line(&v)
            }
            Event::Skipped { n, expectation, why } => {
                let v = serde_json::json!({"kind": "skipped", "step": n, "what": expectation.key(), "why": why});
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

/// A lab's topics in the current language (English when it has no Chinese ones).
fn topics(lab: &super::spec::Lab) -> &[String] {
    if current() == Lang::Zh && !lab.topics_zh.is_empty() {
        &lab.topics_zh
    } else {
        &lab.topics
    }
}

/// `wirelab lab list`: a table of the labs `width` columns wide, or one JSON object per lab.
pub fn list(labs: &[super::LoadedLab], jsonl: bool, width: usize, out: &mut dyn Write) -> io::Result<()> {
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
    let header = [tr("id", "编号"), tr("title", "标题"), tr("topics", "主题"), tr("source", "来源")];
    let rows: Vec<[String; 4]> = labs
        .iter()
        .map(|l| {
            let title = pick(&l.lab.title, l.lab.title_zh.as_deref());
            [l.lab.id.clone(), title.to_string(), topics(&l.lab).join(tr(", ", "、")), l.source.describe()]
        })
        .collect();
    // The cells are wrapped here rather than by comfy-table, which breaks
    // only at spaces: a Chinese list of topics has none and would be cut
    // inside its English words.
    let widest = |i: usize| rows.iter().map(|r| cols(&r[i])).chain([cols(header[i])]).max().unwrap_or(0);
    // Borders and padding of four columns: "│ " + 3 × " ┆ " + " │".
    let room = width.saturating_sub(13);
    // Ids are typed on the command line: never broken.
    let id_w = widest(0);
    let source_w = widest(3).min(room / 4);
    let text_room = room.saturating_sub(id_w + source_w).max(20);
    let (title_want, topics_want) = (widest(1), widest(2));
    let title_w = if title_want + topics_want <= text_room {
        title_want
    } else {
        title_want.min((text_room / 2).max(text_room.saturating_sub(topics_want)))
    };
    let topics_w = text_room - title_w;
    let cell = |text: &str, w: usize, code: bool| {
        let lines = if code { wrap_code(text, w) } else { wrap(text, w) };
        lines.join("\n")
    };
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for [id, title, topics, source] in &rows {
        table.add_row(vec![
            id.clone(),
            cell(title, title_w, false),
            cell(topics, topics_w, false),
            cell(source, source_w, true),
        ]);
    }
    writeln!(out, "{table}")?;
    let hint = tr(
        "run one with: wirelab lab run <id>   (see its steps first: wirelab lab show <id>)",
        "运行：wirelab lab run <id>   （先看步骤：wirelab lab show <id>）",
    );
    for line in wrap_code(hint, width) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `wirelab lab show NAME`: the steps and texts, without running anything, `width` columns wide.
pub fn show(l: &super::LoadedLab, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let width = width.max(crate::render::term::MIN_WIDTH);
    let lab = &l.lab;
    let lang = current();
    let title = pick(&lab.title, lab.title_zh.as_deref());
    for line in hang(&format!("wirelab lab {} — ", lab.id), title, width, false) {
        writeln!(out, "{}", paint(&line, Role::Heading))?;
    }
    for line in wrap(&format!("{}{}", messages::goal_prefix(lang), pick(&lab.goal, lab.goal_zh.as_deref())), width) {
        writeln!(out, "{line}")?;
    }
    for line in hang(tr("Topics: ", "主题："), &topics(lab).join(tr(", ", "、")), width, false) {
        writeln!(out, "{line}")?;
    }
    for line in hang(tr("File: ", "文件："), &l.source.describe(), width, true) {
        writeln!(out, "{line}")?;
    }
    if let Some(w) = &lab.wire {
        for (i, text) in messages::wire_summary(w, lang).iter().enumerate() {
            for line in hang(if i == 0 { "" } else { "  " }, text, width, false) {
                writeln!(out, "{line}")?;
            }
        }
    }
    for text in messages::program_summary(lab, lang) {
        for line in hang("", &text, width, false) {
            writeln!(out, "{line}")?;
        }
    }
    for (i, s) in lab.steps.iter().enumerate() {
        let s = s.get_ref();
        let call = super::exec::signature(&s.call, None);
        writeln!(out)?;
        for line in hang(&format!("{:>2}. {}: ", i + 1, who(&s.actor)), &call, width, true) {
            writeln!(out, "{}", line.bold())?;
        }
        if let Some(say) = &s.say {
            for line in hang("    ", pick(say, s.say_zh.as_deref()), width, false) {
                writeln!(out, "{}", paint(&line, Role::Explain))?;
            }
        }
        for e in s.expect.list() {
            let want = messages::want(&e, &s.actor, lang);
            let head = format!("    {} {}{}", tr("expect", "期望"), messages::label(&e, lang), tr(": ", "："));
            for line in hang(&head, want.trim_start(), width, true) {
                writeln!(out, "{line}")?;
            }
        }
        if let Some(q) = &s.quiz {
            let head = format!("    {}", tr("quiz: ", "测验："));
            for line in hang(&head, pick(&q.question, q.question_zh.as_deref()), width, false) {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}
