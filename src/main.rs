//! wirelab's command line: parse flags, hand over to the library, map errors to exit codes.

mod cli;

use clap::Parser;
use cli::{Cli, Command, GradeArgs, GradeFormat, LabCommand, ListFormat, RunArgs, RunFormat};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wirelab::lab::events::LabSink;
use wirelab::lab::{self, engine, render as lab_render};
use wirelab::render::term;
use wirelab::replay::{self, Filter};
use wirelab::sniff::{self, SniffOptions};
use wirelab::source::file::CaptureReader;
use wirelab::Error;

fn run_lab(args: RunArgs, labs: &[PathBuf]) -> Result<ExitCode, Error> {
    let loaded = lab::find(&args.name, labs)?;
    let opts = engine::RunOptions {
        step_mode: args.step,
        pace: args.pace.map(Duration::from_secs_f64),
        save: args.save,
        snaplen: args.snaplen,
        interface: args.interface,
        no_capture: args.no_capture,
        quiz: args.quiz,
        payload: Some(args.wire.payload),
        program: args.program,
        workdir: None,
    };
    // Created before the lab runs, so a bad path is reported before any socket call.
    let page = match &args.page.html {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
            Some(lab::html::HtmlSink::new(io::BufWriter::new(file), &loaded.lab.id, args.wire.absolute))
        }
        None => None,
    };
    let stdout = io::stdout();
    let out = io::LineWriter::new(stdout.lock());
    let stop = wirelab::sniff::stop_on_signals();
    let mut prompter = lab::prompt::StdinPrompter::new(stop.clone());
    let mut sink: Box<dyn LabSink> = match args.format {
        RunFormat::Ladder => {
            let mut sink = lab_render::TerminalSink::new(out);
            sink.ladder().absolute = args.wire.absolute;
            Box::new(sink)
        }
        RunFormat::Mermaid => Box::new(lab_render::MermaidSink::new(out, args.wire.absolute)),
        RunFormat::Jsonl => Box::new(lab_render::JsonlSink::new(out)),
    };
    let result = match page {
        None => engine::run_with_stop(&loaded, &opts, sink.as_mut(), &mut prompter, stop)?,
        Some(mut page) => {
            let run = engine::run_with_stop(
                &loaded,
                &opts,
                &mut lab::html::TeeSink::new(sink.as_mut(), &mut page),
                &mut prompter,
                stop,
            );
            // A run that failed midway still leaves a complete page of what it did.
            page.finish(&wirelab::analyze::Analyzer::new()).map_err(|e| {
                Error::io(
                    format!(
                        "writing {}",
                        args.page.html.as_deref().unwrap_or_else(|| std::path::Path::new("")).display()
                    ),
                    e,
                )
            })?;
            run?
        }
    };
    // A program that failed: what it printed may say why.
    if let Some(out) = result.program.as_ref().filter(|_| result.failed > 0 || result.interrupted) {
        let stderr = out.stderr.trim_end();
        if !stderr.is_empty() {
            eprintln!(
                "{}",
                wirelab::i18n::tr("wirelab: the program's stderr (end):", "wirelab：程序的标准错误输出（末尾）：")
            );
            for line in stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev() {
                eprintln!("  | {line}");
            }
        }
        if let Some(code) = out.exited {
            eprintln!(
                "{}",
                wirelab::i18n::either(
                    format!("wirelab: the program exited by itself (status {code}) before the lab ended"),
                    format!("wirelab：程序在实验结束前自己退出了（退出码 {code}）"),
                )
            );
        }
    }
    Ok(if result.interrupted {
        // The shell's convention for "ended by SIGINT".
        ExitCode::from(130)
    } else if result.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn grade_command(args: GradeArgs) -> Result<ExitCode, Error> {
    let loaded = lab::find(&args.name, &args.labs)?;
    if !(args.time_limit > 0.0 && args.time_limit <= 3600.0) {
        return Err(Error::Usage("--time-limit: seconds between 0 and 3600".into()));
    }
    for s in &args.submissions {
        if !s.exists() {
            return Err(Error::Usage(wirelab::i18n::either(
                format!("submission {}: no such file or folder", s.display()),
                format!("提交 {}：没有这个文件或文件夹", s.display()),
            )));
        }
    }
    // Created first, so a bad path is reported before any program runs.
    let mut csv = match &args.out {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| Error::io(format!("creating {}", p.display()), e))?),
        None => None,
    };
    let opts = lab::grade::GradeOptions {
        program: args.program,
        jobs: args.jobs as usize,
        limit: Duration::from_secs_f64(args.time_limit),
        save: args.save.clone(),
    };
    if let Some(dir) = &opts.save {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("--save {}", dir.display()), e))?;
    }
    let lang = wirelab::i18n::current();
    let stop = wirelab::sniff::stop_on_signals();
    let started = std::time::Instant::now();
    let format = args.format;
    let mut report = |v: &lab::grade::Verdict| -> io::Result<()> {
        let mut out = io::stdout().lock();
        match format {
            GradeFormat::Text => lab::grade::write_text(v, lang, &mut out)?,
            GradeFormat::Jsonl => writeln!(out, "{}", lab::grade::json(v))?,
        }
        out.flush()
    };
    let (verdicts, interrupted) = lab::grade::grade(&loaded, &args.submissions, &opts, stop, &mut report)?;
    if let (Some(f), Some(p)) = (csv.as_mut(), &args.out) {
        lab::grade::write_csv(&verdicts, f).map_err(|e| Error::io(format!("writing {}", p.display()), e))?;
    }
    let passed = verdicts.iter().filter(|v| v.passed).count();
    let secs = started.elapsed().as_secs_f64();
    if format == GradeFormat::Text {
        println!(
            "{}",
            wirelab::i18n::either(
                format!(
                    "{} submission(s): {passed} passed, {} failed, in {secs:.1} s ({} at a time)",
                    verdicts.len(),
                    verdicts.len() - passed,
                    opts.jobs
                ),
                format!(
                    "{} 份提交：{passed} 份通过，{} 份未通过，用时 {secs:.1} 秒（同时 {} 份）",
                    verdicts.len(),
                    verdicts.len() - passed,
                    opts.jobs
                ),
            )
        );
    }
    Ok(if interrupted {
        ExitCode::from(130)
    } else if passed == verdicts.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn lab_command(action: LabCommand, labs: &[PathBuf]) -> Result<ExitCode, Error> {
    let mut out = io::stdout().lock();
    let io_err = |e| Error::io("writing output", e);
    match action {
        LabCommand::List { format } => {
            let catalogue = lab::catalogue(labs);
            catalogue.warn();
            lab_render::list(&catalogue.labs, format == ListFormat::Jsonl, term::width(), &mut out).map_err(io_err)?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Show { name } => {
            lab_render::show(&lab::find(&name, labs)?, term::width(), &mut out).map_err(io_err)?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Run(args) => {
            drop(out);
            run_lab(args, labs)
        }
        LabCommand::Check { files } => {
            let mut bad = 0;
            for f in &files {
                match lab::load_file(f) {
                    Ok(l) => {
                        let (f, n) = (f.display(), l.lab.steps.len());
                        let ok = wirelab::i18n::either(
                            format!("{f}: ok ({n} steps)"),
                            format!("{f}：没有问题（{n} 个步骤）"),
                        );
                        writeln!(out, "{ok}").map_err(io_err)?
                    }
                    Err(e) => {
                        bad += 1;
                        eprintln!("{e}");
                    }
                }
            }
            Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    wirelab::i18n::set(cli.lang.unwrap_or_else(wirelab::i18n::from_env));
    wirelab::render::term::choose_width(cli.width.map(usize::from));
    wirelab::render::style::init(cli.color, cli.theme);
    let result = match cli.command {
        Command::Replay { file, format, ports, streams, every_packet, frame, wire, page } => {
            // A file of that name wins over a lab's built-in recording.
            let reader = match file.to_str().filter(|_| !file.exists()).and_then(lab::recording) {
                Some(recording) => CaptureReader::from_reader(&file, recording),
                None => CaptureReader::open(&file),
            };
            reader
                .and_then(|r| match frame {
                    Some(n) => replay::show_frame(r, n),
                    None => {
                        let filter =
                            Filter { ports, streams, every_packet, payload: wire.payload, absolute: wire.absolute };
                        // The name only: a page shared with a class need not show the teacher's folders.
                        let title = file.file_name().unwrap_or(file.as_os_str()).to_string_lossy().into_owned();
                        let html = page.html.as_deref().map(|path| replay::HtmlPage { path, title: &title });
                        replay::replay_reader(r, format, &filter, html).map(|_| ())
                    }
                })
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Sniff { ports, interface, count, duration, save, snaplen, format, wire, page } => {
            let opts = SniffOptions {
                interface,
                ports,
                count,
                duration: duration.map(Duration::from_secs_f64),
                save,
                snaplen,
                format,
                payload: wire.payload,
                absolute: wire.absolute,
                html: page.html,
            };
            sniff::sniff(&opts).map(|_| ExitCode::SUCCESS)
        }
        Command::Lab { labs, action } => lab_command(action, &labs),
        Command::Grade(args) => grade_command(args),
        Command::Graph { file, stream, kind, out } => {
            let reader = match file.to_str().filter(|_| !file.exists()).and_then(lab::recording) {
                Some(recording) => CaptureReader::from_reader(&file, recording),
                None => CaptureReader::open(&file),
            };
            reader.and_then(|r| replay::graph(r, stream, kind, out.as_deref())).map(|_| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        // `wirelab … | head`: the reader left; nothing to report.
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wirelab: {e}");
            ExitCode::from(2)
        }
    }
}
