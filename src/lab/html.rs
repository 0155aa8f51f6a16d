//! `lab run --html FILE`: the run as one page. Each step's call, its result,
//! the kernel's socket table, the expectations ✓/✗, the quiz and the summary
//! sit between the packets the step caused, which are drawn and clickable as
//! on the replay page ([`HtmlRenderer`]). The words come from the lab's one
//! catalogue (`lab::messages`), in the language of `--lang`.

use super::events::{Event, LabSink, StateRow};
use super::messages;
use crate::analyze::Analyzer;
use crate::i18n::{current, pick, Lang};
use crate::render::html::{esc, HtmlRenderer};
use crate::render::Renderer;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Builds the page from the engine's events; written at the lab's end (or
/// when it is interrupted, or by [`HtmlSink::finish`] after an error).
pub struct HtmlSink<W: Write> {
    page: HtmlRenderer<W>,
    /// A step's box is open (its packets go inside it).
    in_step: bool,
    written: bool,
}

impl<W: Write> HtmlSink<W> {
    /// A page for the lab `id`, written to `out`.
    pub fn new(out: W, id: &str, absolute: bool) -> Self {
        let mut page = HtmlRenderer::new(out, &format!("lab {id}"));
        page.absolute = absolute;
        HtmlSink { page, in_step: false, written: false }
    }

    fn close_step(&mut self) {
        if self.in_step {
            self.page.block("</div>\n");
            self.page.close_open();
            self.in_step = false;
        }
    }

    /// Writes the page if the lab's end did not (a run that failed midway).
    pub fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        if self.written {
            return Ok(());
        }
        self.close_step();
        self.written = true;
        self.page.finish(analyzer)
    }
}

/// The kernel's rows as a table: holder, local, remote, state, what the row adds.
fn states_table(rows: &[StateRow], lang: Lang) -> String {
    let mut h = String::from("<table class=\"kernel\"><tbody>");
    for r in rows {
        let who = messages::holder(&r.holder, lang);
        match &r.socket {
            Some(k) => {
                let remote = if k.remote.port() == 0 { "*".to_string() } else { k.remote.to_string() };
                let extra = messages::row_extra(k, r.unread, lang).unwrap_or_default();
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td></tr>",
                    esc(&who),
                    esc(&k.local.to_string()),
                    esc(&remote),
                    esc(k.state),
                    esc(&extra)
                );
            }
            None => {
                let _ =
                    write!(h, "<tr><td>{}</td><td colspan=\"4\">{}</td></tr>", esc(&who), esc(&messages::no_row(lang)));
            }
        }
    }
    h.push_str("</tbody></table>");
    h
}

/// A quiz question and its choices.
fn question(q: &super::spec::Quiz, lang: Lang) -> String {
    let mut h = format!("<p>? {}</p>", esc(pick(&q.question, q.question_zh.as_deref())));
    let zh = lang == Lang::Zh && q.choices_zh.len() == q.choices.len();
    if !q.choices.is_empty() {
        h.push_str("<ol type=\"a\">");
        for (i, c) in q.choices.iter().enumerate() {
            let _ = write!(h, "<li>{}</li>", esc(if zh { &q.choices_zh[i] } else { c }));
        }
        h.push_str("</ol>");
    }
    h
}

fn p(class: &str, mark: &str, text: &str) -> String {
    format!("<p class=\"{class}\">{mark}{}</p>\n", esc(text))
}

impl<W: Write> LabSink for HtmlSink<W> {
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()> {
        if let Event::Packet { rec, frame, .. } = ev {
            return self.page.frame_bytes(frame, rec, analyzer);
        }
        // A bulk run never spans a step: it ends before the step's next line.
        self.page.end_run(analyzer);
        let lang = current();
        let html = match ev {
            Event::Packet { .. } => return Ok(()),
            Event::Start { lab, capturing } => {
                let title = pick(&lab.title, lab.title_zh.as_deref());
                let goal = pick(&lab.goal, lab.goal_zh.as_deref());
                let mut h = format!(
                    "<div class=\"lab goal\"><h2>wirelab lab {} — {}</h2><p>{}{}</p>",
                    esc(&lab.id),
                    esc(title),
                    esc(messages::goal_prefix(lang)),
                    esc(goal)
                );
                let program = messages::program_summary(lab, lang);
                for line in lab.wire.iter().flat_map(|w| messages::wire_summary(w, lang)).chain(program) {
                    h.push_str(&p("say", "", &line));
                }
                if !capturing {
                    h.push_str(&p("warn", "", &messages::no_capture(lang)));
                }
                h.push_str("</div>\n");
                h
            }
            Event::Step { n, of, step, signature, asking } => {
                self.close_step();
                let mut h = format!(
                    "<div class=\"lab step\" id=\"step-{n}\" data-step=\"{n}\"><h2>{}: <span class=\"call\">{}</span></h2>\n",
                    esc(&messages::step_title(*n, *of, &step.actor, lang)),
                    esc(signature)
                );
                if let (Some(say), false) = (&step.say, asking) {
                    h.push_str(&p("say", "", pick(say, step.say_zh.as_deref())));
                }
                if let (Some(q), false) = (&step.quiz, asking) {
                    let _ = writeln!(
                        h,
                        "<div class=\"quiz\"><p class=\"warn\">{}</p>{}</div>",
                        esc(&messages::quiz_not_asked(lang)),
                        question(q, lang)
                    );
                }
                self.page.block(&h);
                self.page.open();
                self.in_step = true;
                return Ok(());
            }
            Event::Ask { step, .. } => match &step.quiz {
                Some(q) => format!("<div class=\"quiz\">{}</div>\n", question(q, lang)),
                None => return Ok(()),
            },
            Event::Quiz { answer, truth, reason, right, step, .. } => {
                let (class, mark) = match (truth, right) {
                    (Some(_), true) => ("ok", "✓ "),
                    (Some(_), false) => ("bad", "✗ "),
                    (None, _) => ("warn", "· "),
                };
                let mut h = p(class, mark, &messages::quiz_verdict(answer, truth.as_deref(), *right, lang));
                if let Some(r) = reason {
                    h.push_str(&p("say", "", &messages::reason(r, lang)));
                }
                // The step's text waited until now: it may give the answer away.
                if let Some(say) = &step.say {
                    h.push_str(&p("say", "", pick(say, step.say_zh.as_deref())));
                }
                format!("<div class=\"quiz\">{h}</div>\n")
            }
            Event::Call { outcome, step, .. } => {
                if !step.call.needs_actor() {
                    return Ok(());
                }
                p(if outcome.ok { "res ok" } else { "res bad" }, "→ ", &messages::outcome(outcome, lang))
            }
            Event::States { changed: false, .. } => return Ok(()),
            Event::States { rows, .. } => {
                if rows.is_empty() {
                    p("kernel", "", &messages::no_sockets_left(lang))
                } else {
                    format!(
                        "<div class=\"kernel\"><p>{}</p>{}</div>\n",
                        esc(messages::kernel_prefix(lang)),
                        states_table(rows, lang)
                    )
                }
            }
            Event::Expect { pass, expectation, observed, .. } => p(
                if *pass { "expect ok" } else { "expect bad" },
                if *pass { "✓ " } else { "✗ " },
                &messages::expectation(expectation, *pass, observed, lang),
            ),
            Event::Finding { finding, .. } => p("say", "◆ ", &messages::finding(finding, lang)),
            Event::TcpInfo { actor, info, .. } => p("say", "⟂ ", &messages::tcp_info(actor, info, lang)),
            Event::Skipped { expectation, why, .. } => p("warn", "· ", &messages::skipped(expectation, *why, lang)),
            Event::Interrupted { n } => {
                self.close_step();
                self.page.block(&format!(
                    "<div class=\"lab end\">{}</div>\n",
                    p("warn", "", &messages::interrupted(*n, lang))
                ));
                return self.finish(analyzer);
            }
            Event::End { passed, failed, skipped, stats, lab, quiz } => {
                self.close_step();
                let mut h = String::from("<div class=\"lab end\">");
                let summary = pick(lab.summary.as_deref().unwrap_or(""), lab.summary_zh.as_deref());
                if !summary.trim().is_empty() {
                    h.push_str(&p("say", "", summary.trim()));
                }
                if let Some((right, asked)) = quiz {
                    let _ = write!(h, "<p><b>{}</b></p>", esc(&messages::quiz_score(*right, *asked, lang)));
                }
                h.push_str(&p(
                    if *failed == 0 { "ok" } else { "bad" },
                    "",
                    &messages::totals(*passed, *failed, *skipped, *stats, lang),
                ));
                if stats.is_some_and(|s| s.dropped > 0) {
                    h.push_str(&p("warn", "", &messages::drop_warning(lang)));
                }
                h.push_str("</div>\n");
                self.page.block(&h);
                return self.finish(analyzer);
            }
        };
        self.page.block(&html);
        Ok(())
    }
}

/// Two sinks fed the same events: `--html FILE` next to what `--format` prints.
pub struct TeeSink<'a> {
    first: &'a mut dyn LabSink,
    second: &'a mut dyn LabSink,
}

impl<'a> TeeSink<'a> {
    /// `first` (stdout) and `second` (the page).
    pub fn new(first: &'a mut dyn LabSink, second: &'a mut dyn LabSink) -> Self {
        TeeSink { first, second }
    }
}

impl LabSink for TeeSink<'_> {
    fn event(&mut self, ev: &Event<'_>, analyzer: &Analyzer) -> io::Result<()> {
        let first = self.first.event(ev, analyzer);
        self.second.event(ev, analyzer)?;
        first
    }
}
