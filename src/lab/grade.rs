//! `wirelab grade LAB --program 'ACTOR=COMMAND' SUBMISSION…`: a lab run
//! against each student's program, several at once.
//!
//! Each submission is copied to a fresh temporary folder (its working
//! directory; `{}` in COMMAND names it), runs in the lab wire's private
//! namespaces (so fixed ports never collide, with each other or with this
//! machine), within a time limit, and its whole process group is killed at
//! the end. The verdict lists each failed expectation: the step, what was
//! wanted, what the wire or the kernel showed, and why it matters.

use super::engine::{self, RunOptions};
use super::events::{Event, LabSink, NoPrompt};
use super::messages;
use super::program::{ProgramOutput, ProgramSpec};
use super::spec::Expectation;
use super::LoadedLab;
use crate::analyze::Analyzer;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to grade.
#[derive(Clone, Debug)]
pub struct GradeOptions {
    /// The actor and the command; `{}` is replaced by each submission's folder.
    pub program: ProgramSpec,
    /// Submissions graded at once.
    pub jobs: usize,
    /// Longest time for one submission.
    pub limit: Duration,
    /// Save each submission's capture here (`NAME.pcapng`, steps and the
    /// wire's actions as packet comments).
    pub save: Option<PathBuf>,
}

/// The capture file of submission `i` in `dir`: its folder name, made safe
/// for a file name, and its position (two folders may share a name).
pub fn capture_path(dir: &Path, sub: &Path, i: usize) -> PathBuf {
    let name: String = sub
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    dir.join(format!("{:03}-{name}.pcapng", i + 1))
}

/// One failed expectation, in both languages (JSON and CSV use English).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The step (1-based; 0: before the first step, e.g. the program never listened).
    pub step: usize,
    /// The step's actor.
    pub actor: String,
    /// The step's call as a program writes it.
    pub signature: String,
    /// The expectation's key (`state`, `data` …; `listen`, `time_limit`).
    pub what: &'static str,
    /// Wanted, [en, zh].
    pub want: [String; 2],
    /// Seen, [en, zh].
    pub got: [String; 2],
    /// Why it matters, [en, zh].
    pub why: [String; 2],
}

/// The verdict on one submission.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The submission as given on the command line.
    pub submission: String,
    /// Every expectation passed.
    pub passed: bool,
    /// Expectations passed.
    pub score: usize,
    /// Expectations judged.
    pub total: usize,
    /// What failed.
    pub failed: Vec<Failure>,
    /// What the program printed.
    pub output: ProgramOutput,
    /// Wall time.
    pub seconds: f64,
}

fn idx(lang: Lang) -> usize {
    match lang {
        Lang::En => 0,
        Lang::Zh => 1,
    }
}

fn both(f: impl Fn(Lang) -> String) -> [String; 2] {
    [f(Lang::En), f(Lang::Zh)]
}

/// Why an expectation matters when the lab's step says nothing.
fn why_default(e: &Expectation, lang: Lang) -> String {
    let (en, zh) = match e {
        Expectation::State { .. } => (
            "The kernel's socket table shows what the program did with its sockets: a connection it never closes leaves the client waiting (FIN_WAIT2) and the server holding a CLOSE_WAIT socket for ever.",
            "内核的套接字表显示程序对套接字做了什么：不关闭的连接会让客户端一直等待（FIN_WAIT2），服务器则永远留着一个 CLOSE_WAIT 套接字。",
        ),
        Expectation::PacketsExclude(_) => (
            "A reset (RST) aborts the connection: the other side may lose bytes it had not read yet.",
            "复位（RST）会中止连接：对方可能丢掉还没读到的数据。",
        ),
        Expectation::Packets(_) | Expectation::PacketsInclude(_) | Expectation::Analysis(_) | Expectation::Wire(_) => (
            "The packets on the wire are what the other side really gets, whatever the program prints.",
            "线路上的包才是对方真正收到的东西，不管程序打印了什么。",
        ),
        Expectation::Errno(_) | Expectation::Blocks(_) => (
            "This is what the client sees: an error or a wait here means the server did not serve it.",
            "这是客户端看到的结果：这里出错或一直等待，说明服务器没有为它服务。",
        ),
        Expectation::HttpStatus(_) => (
            "The status code is what a browser acts on: 200 shows the page, 404 says it does not exist; a wrong code (an error page sent as 200) misleads browsers, caches and search engines.",
            "状态码是浏览器据以行动的依据：200 显示页面，404 表示页面不存在；错误的状态码（把错误页面当作 200 发出）会误导浏览器、缓存和搜索引擎。",
        ),
        Expectation::HttpWellFormed(_) => (
            "A client finds the body's end only from the head (Content-Length in bytes, chunked, or the close): a length counted in characters, a missing empty line or LF-only lines leave it reading the wrong bytes or waiting.",
            "客户端只能从报文头知道正文在哪里结束（以字节计的 Content-Length、分块、或关闭连接）：按字符数算的长度、缺少空行、只用 LF 换行，都会让它读错字节或一直等待。",
        ),
        Expectation::ClosesAsSaid(_) => (
            "HTTP/1.1 keeps a connection open unless the response says Connection: close (RFC 9112 §9.3): a server that closes without saying so breaks a client reusing it, one that says close must close.",
            "除非响应里写了 Connection: close，HTTP/1.1 的连接默认保持打开（RFC 9112 §9.3）：没说就关闭的服务器会让复用连接的客户端出错，说了要关闭就必须关闭。",
        ),
        Expectation::SavesFile(_) => (
            "A download client must leave the file's exact bytes on disk: a file that is missing, cut short or changed is a failed download, whatever the program printed.",
            "下载客户端必须把文件的原样字节留在磁盘上：文件不存在、被截断或内容变了，就是下载失败，不管程序打印了什么。",
        ),
        Expectation::Text(_) => (
            "The server decodes what the client sent: bytes in another encoding (UTF-8 instead of GBK) become a different name.",
            "服务器会解码客户端发来的字节：用另一种编码（UTF-8 而不是 GBK）发送，就成了另一个名字。",
        ),
        Expectation::Md5OfFile(_) => (
            "A download must give the file's exact bytes: a different MD5 means bytes were lost, added or changed (a single send() that sent only part, the wrong file).",
            "下载必须得到文件的原样字节：MD5 不同说明字节丢了、多了或变了（只发了一部分的单次 send()、发错了文件）。",
        ),
        Expectation::Data(_)
        | Expectation::SameMd5As(_)
        | Expectation::Ret(_)
        | Expectation::RetMin(_)
        | Expectation::RetBelow(_)
        | Expectation::CwndReaches(_) => (
            "The client must get back exactly the bytes it sent, however TCP cut them into segments.",
            "客户端必须收回与它发出的完全相同的字节，不管 TCP 把它们切成了几个报文段。",
        ),
    };
    match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    }
}

/// Collects the failed expectations of one run.
#[derive(Default)]
struct Collect {
    steps: HashMap<usize, (String, String, Option<String>, Option<String>)>,
    failed: Vec<Failure>,
}

impl LabSink for Collect {
    fn event(&mut self, ev: &Event<'_>, _: &Analyzer) -> io::Result<()> {
        match ev {
            Event::Step { n, step, signature, .. } => {
                self.steps
                    .insert(*n, (step.actor.clone(), signature.to_string(), step.why.clone(), step.why_zh.clone()));
            }
            Event::Expect { n, pass: false, expectation, observed } => {
                let (actor, signature, why, why_zh) = self.steps.get(n).cloned().unwrap_or_default();
                let why = match (why, why_zh) {
                    (Some(en), zh) => [en.clone(), zh.unwrap_or(en)],
                    (None, _) => both(|l| why_default(expectation, l)),
                };
                self.failed.push(Failure {
                    step: *n,
                    want: both(|l| messages::want(expectation, &actor, l)),
                    got: both(|l| messages::got(observed, l)),
                    actor,
                    signature,
                    what: expectation.key(),
                    why,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// The expectations a run judges when `actor` is a program's.
fn judged(loaded: &LoadedLab, actor: &str) -> usize {
    let Ok(role) = engine::program_actors(&loaded.lab, actor) else { return 0 };
    let mine = role.actors;
    loaded
        .lab
        .steps
        .iter()
        .map(|s| s.get_ref())
        .map(|s| {
            let by_program = s.call.needs_actor() && mine.contains(&s.actor);
            s.expect.list().iter().filter(|e| !by_program || e.observable()).count()
        })
        .sum()
}

/// `'…'` for sh, whatever the path holds.
fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    if from.is_file() {
        std::fs::copy(from, to.join(from.file_name().unwrap_or_default()))?;
        return Ok(());
    }
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Grades one submission.
fn grade_one(loaded: &LoadedLab, sub: &Path, i: usize, opts: &GradeOptions, stop: &Arc<AtomicBool>) -> Verdict {
    let start = Instant::now();
    let total = judged(loaded, &opts.program.actor);
    let work = std::env::temp_dir().join(format!("wirelab-grade-{}-{i}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut verdict = Verdict {
        submission: sub.display().to_string(),
        passed: false,
        score: 0,
        total,
        failed: Vec::new(),
        output: ProgramOutput::default(),
        seconds: 0.0,
    };
    let fail = |what: &'static str, got: [String; 2], why: [String; 2], want: [String; 2]| Failure {
        step: 0,
        actor: opts.program.actor.clone(),
        signature: String::new(),
        what,
        want,
        got,
        why,
    };
    if let Err(e) = copy_dir(sub, &work) {
        verdict.failed.push(fail(
            "submission",
            both(|l| match l {
                Lang::En => format!("cannot copy it: {e}"),
                Lang::Zh => format!("无法复制：{e}"),
            }),
            both(|l| match l {
                Lang::En => "A submission is a readable folder.".into(),
                Lang::Zh => "提交应当是一个可读的文件夹。".into(),
            }),
            both(|l| match l {
                Lang::En => "a folder".into(),
                Lang::Zh => "一个文件夹".into(),
            }),
        ));
        verdict.seconds = start.elapsed().as_secs_f64();
        return verdict;
    }
    let program = ProgramSpec {
        actor: opts.program.actor.clone(),
        command: opts.program.command.replace("{}", &shell_quote(&work)),
    };
    let run_opts = RunOptions {
        program: Some(program),
        workdir: Some(work.clone()),
        save: opts.save.as_ref().map(|dir| capture_path(dir, sub, i)),
        ..Default::default()
    };
    // This run's own stop: Ctrl-C, or its time limit.
    let mine = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (mine, done, timed_out, stop, limit) =
            (Arc::clone(&mine), Arc::clone(&done), Arc::clone(&timed_out), Arc::clone(stop), opts.limit);
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    mine.store(true, Ordering::Relaxed);
                }
                if start.elapsed() >= limit {
                    timed_out.store(true, Ordering::Relaxed);
                    mine.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut sink = Collect::default();
    let result = engine::run_with_stop(loaded, &run_opts, &mut sink, &mut NoPrompt, Arc::clone(&mine));
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    verdict.failed = sink.failed;
    match result {
        Ok(r) => {
            verdict.score = r.passed;
            verdict.output = r.program.unwrap_or_default();
            if r.interrupted && timed_out.load(Ordering::Relaxed) {
                let secs = opts.limit.as_secs_f64();
                verdict.failed.push(fail(
                    "time_limit",
                    both(|l| match l {
                        Lang::En => format!("still running after {secs} s"),
                        Lang::Zh => format!("{secs} 秒后仍未结束"),
                    }),
                    both(|l| match l {
                        Lang::En => {
                            "Every step has its own limit; a submission that needs longer hangs somewhere.".into()
                        }
                        Lang::Zh => "每一步都有时限；超出总时限的提交一定卡在了某处。".into(),
                    }),
                    both(|l| match l {
                        Lang::En => format!("done within {secs} s"),
                        Lang::Zh => format!("在 {secs} 秒内完成"),
                    }),
                ));
            }
        }
        Err(e) => {
            let text = e.to_string();
            let what = if matches!(e, Error::Program(_)) { "listen" } else { "run" };
            verdict.failed.push(fail(
                what,
                [text.clone(), text],
                both(|l| match l {
                    Lang::En => "A server that never listens cannot be reached by any client.".into(),
                    Lang::Zh => "从不监听的服务器，任何客户端都连不上。".into(),
                }),
                both(|l| match l {
                    Lang::En => format!("a LISTEN socket within {} s", super::program::LISTEN_LIMIT.as_secs()),
                    Lang::Zh => format!("{} 秒内出现 LISTEN 套接字", super::program::LISTEN_LIMIT.as_secs()),
                }),
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    verdict.passed = verdict.failed.is_empty() && verdict.total > 0;
    verdict.seconds = start.elapsed().as_secs_f64();
    verdict
}

/// Grades every submission, `opts.jobs` at a time; `report` gets each
/// verdict in the order of `subs`, as soon as it and those before it are done.
/// Returns the verdicts and whether Ctrl-C stopped the grading.
pub fn grade(
    loaded: &LoadedLab,
    subs: &[PathBuf],
    opts: &GradeOptions,
    stop: Arc<AtomicBool>,
    report: &mut (dyn FnMut(&Verdict) -> io::Result<()> + Send),
) -> Result<(Vec<Verdict>, bool)> {
    // A wrong actor is the same mistake for every submission: say it once.
    engine::program_actors(&loaded.lab, &opts.program.actor)?;
    let next = AtomicUsize::new(0);
    struct Shared<'a> {
        done: Vec<Option<Verdict>>,
        shown: usize,
        report: &'a mut (dyn FnMut(&Verdict) -> io::Result<()> + Send),
        error: Option<io::Error>,
    }
    let shared = Mutex::new(Shared { done: vec![None; subs.len()], shown: 0, report, error: None });
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(subs.len().max(1)) {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(sub) = subs.get(i) else { return };
                let v = grade_one(loaded, sub, i, opts, &stop);
                if stop.load(Ordering::Relaxed) {
                    // Cut short by Ctrl-C: not a verdict on the student.
                    return;
                }
                let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                let g = &mut *guard;
                g.done[i] = Some(v);
                while g.shown < g.done.len() && g.error.is_none() {
                    let Some(v) = &g.done[g.shown] else { break };
                    if let Err(e) = (g.report)(v) {
                        g.error = Some(e);
                    }
                    g.shown += 1;
                }
            });
        }
    });
    let g = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = g.error {
        return Err(Error::io("writing output", e));
    }
    let interrupted = stop.load(Ordering::Relaxed);
    Ok((g.done.into_iter().flatten().collect(), interrupted))
}

/// The readable report of one verdict.
pub fn write_text(v: &Verdict, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    let l = idx(lang);
    let (mark, word) = match (v.passed, lang) {
        (true, Lang::En) => ("✓", "PASS"),
        (true, Lang::Zh) => ("✓", "通过"),
        (false, Lang::En) => ("✗", "FAIL"),
        (false, Lang::Zh) => ("✗", "未通过"),
    };
    writeln!(out, "{mark} {word}  {}/{}  {}  ({:.1} s)", v.score, v.total, v.submission, v.seconds)?;
    let mut last: Option<(usize, &str)> = None;
    for (i, f) in v.failed.iter().enumerate() {
        // One heading per step, one "why" after its last failed expectation.
        let same_step = last == Some((f.step, f.signature.as_str()));
        last = Some((f.step, f.signature.as_str()));
        let next_same = v.failed.get(i + 1).is_some_and(|n| n.step == f.step && n.why[l] == f.why[l]);
        let head = match (f.step, lang) {
            (0, Lang::En) => format!("before step 1, {}", f.actor),
            (0, Lang::Zh) => format!("第 1 步之前，{}", f.actor),
            (n, Lang::En) => format!("step {n}, {}: {}", f.actor, f.signature),
            (n, Lang::Zh) => format!("第 {n} 步，{}：{}", f.actor, f.signature),
        };
        if !same_step {
            writeln!(out, "    {head}")?;
        }
        let (w, g, y, colon) = match lang {
            Lang::En => ("wanted", "got   ", "why", ": "),
            Lang::Zh => ("期望", "实际", "原因", "："),
        };
        writeln!(out, "      {} — {w}{colon}{}", f.what, f.want[l])?;
        for (i, line) in f.got[l].lines().enumerate() {
            if i == 0 {
                writeln!(out, "      {} — {g}{colon}{line}", f.what)?;
            } else {
                writeln!(out, "        {line}")?;
            }
        }
        if !next_same {
            writeln!(out, "      {y}{colon}{}", f.why[l])?;
        }
    }
    if !v.passed {
        let stderr = v.output.stderr.trim_end();
        if !stderr.is_empty() {
            writeln!(
                out,
                "    {}",
                if lang == Lang::Zh {
                    "程序的标准错误输出（末尾）："
                } else {
                    "the program's stderr (end):"
                }
            )?;
            for line in stderr.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev() {
                writeln!(out, "      | {line}")?;
            }
        }
        if let Some(code) = v.output.exited {
            let text = match lang {
                Lang::En => format!("the program exited by itself (status {code}) before the lab ended"),
                Lang::Zh => format!("程序在实验结束前自己退出了（退出码 {code}）"),
            };
            writeln!(out, "    {text}")?;
        }
    }
    Ok(())
}

/// One failure for JSON.
#[derive(Serialize)]
struct FailureJson<'a> {
    step: usize,
    actor: &'a str,
    call: &'a str,
    what: &'a str,
    want: &'a str,
    got: &'a str,
    why: &'a str,
}

/// The verdict as one JSON object (English).
pub fn json(v: &Verdict) -> serde_json::Value {
    let failed: Vec<FailureJson<'_>> = v
        .failed
        .iter()
        .map(|f| FailureJson {
            step: f.step,
            actor: &f.actor,
            call: &f.signature,
            what: f.what,
            want: &f.want[0],
            got: &f.got[0],
            why: &f.why[0],
        })
        .collect();
    serde_json::json!({
        "submission": v.submission,
        "passed": v.passed,
        "score": v.score,
        "total": v.total,
        "failed": failed,
        "exited": v.output.exited,
        "stderr": v.output.stderr,
        "seconds": (v.seconds * 1000.0).round() / 1000.0,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV of all verdicts: a header, then a row per submission.
pub fn write_csv(verdicts: &[Verdict], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "submission,passed,score,total,failed")?;
    for v in verdicts {
        let failed: Vec<String> = v
            .failed
            .iter()
            .map(|f| {
                format!(
                    "step {} {}: wanted {}, got {}",
                    f.step,
                    f.what,
                    f.want[0],
                    f.got[0].lines().next().unwrap_or("")
                )
            })
            .collect();
        writeln!(
            out,
            "{},{},{},{},{}",
            csv_field(&v.submission),
            v.passed,
            v.score,
            v.total,
            csv_field(&failed.join("; "))
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_paths_are_shell_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(shell_quote(Path::new("/tmp/it's here")), "'/tmp/it'\\''s here'");
    }
}
