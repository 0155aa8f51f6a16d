//! The interactive front end's prompts: Enter before a step (`--step`) and
//! quiz answers (`--quiz`). stdin is read by a thread so that Ctrl-C (or
//! SIGTERM) stops a waiting prompt at once instead of after the next Enter.

use super::events::{Answer, Prompter};
use crate::i18n::tr;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How often a waiting prompt looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// Prompts on the terminal; `q` or Ctrl-C answers [`Answer::Stop`].
pub struct StdinPrompter {
    stop: Arc<AtomicBool>,
    lines: Option<Receiver<Option<String>>>,
}

impl StdinPrompter {
    /// A prompter that gives up when `stop` is set (the engine's signal flag).
    pub fn new(stop: Arc<AtomicBool>) -> Self {
        StdinPrompter { stop, lines: None }
    }

    fn wait(&mut self) -> Answer {
        let rx = self.lines.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel();
            // The reader thread blocks in read_line; it ends with the process.
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                loop {
                    let mut line = String::new();
                    let got = match stdin.lock().read_line(&mut line) {
                        Ok(0) | Err(_) => None,
                        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
                    };
                    let end = got.is_none();
                    if tx.send(got).is_err() || end {
                        return;
                    }
                }
            });
            rx
        });
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Answer::Stop;
            }
            match rx.recv_timeout(POLL) {
                Ok(Some(line)) if line.trim().eq_ignore_ascii_case("q") => return Answer::Stop,
                Ok(Some(line)) => return Answer::Line(line),
                // No more input (a pipe ended): go on as if Enter was pressed.
                Ok(None) | Err(RecvTimeoutError::Disconnected) => return Answer::Line(String::new()),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl Prompter for StdinPrompter {
    fn before_step(&mut self) -> Answer {
        eprint!("   ⏎  {} ", tr("press Enter to run this step (q: stop)", "按回车执行这一步（q：停止）"));
        let _ = std::io::stderr().flush();
        self.wait()
    }

    fn answer(&mut self) -> Answer {
        self.wait()
    }
}
