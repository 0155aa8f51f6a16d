//! Renderers: terminal ladder, per-connection table, JSON lines.

pub mod bytes;
pub mod fold;
pub mod frame;
pub mod graph;
pub mod html;
pub mod jsonl;
pub mod ladder;
pub mod mermaid;
pub mod payload;
pub mod style;
pub mod table;
pub mod term;

use crate::analyze::{Analyzer, FrameRecord};
use crate::source::Frame;
use std::io;

/// Something that shows analysed frames.
pub trait Renderer {
    /// Shows one frame (already analysed; `analyzer` holds the connections).
    fn frame(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()>;
    /// Shows one frame when its bytes are at hand too (replay); only the
    /// HTML page, which has a hex dump, needs them.
    fn frame_bytes(&mut self, _frame: &Frame<'_>, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        self.frame(rec, analyzer)
    }
    /// Shows one frame, free to take its record's parts (replay, which
    /// has no further use for them and overwrites the record next): a
    /// renderer that keeps records (a bulk run, another thread) takes what
    /// it keeps without a copy. Called only when [`Renderer::keeps_records`].
    fn frame_record(&mut self, frame: &Frame<'_>, rec: &mut FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        self.frame_bytes(frame, rec, analyzer)
    }
    /// Whether [`Renderer::frame_record`] saves a copy; otherwise moving the
    /// record in costs more than lending it (the table).
    fn keeps_records(&self) -> bool {
        false
    }
    /// Called once after the last frame.
    fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()>;
    /// Lines about something other than a frame (the kernel's table during
    /// `sniff`), between frames; formats without room for them skip them.
    fn aside(&mut self, _lines: &[String], _analyzer: &Analyzer) -> io::Result<()> {
        Ok(())
    }
}

/// Output formats of `replay` and `sniff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Sequence diagram in the terminal.
    Ladder,
    /// One row per connection.
    Table,
    /// One JSON object per frame.
    Jsonl,
    /// A Mermaid `sequenceDiagram`, one message per packet (Markdown reports).
    Mermaid,
}

/// Two renderers fed the same frames: `--html FILE` next to what `--format` prints.
pub struct Tee<'a> {
    first: Box<dyn Renderer + 'a>,
    second: Box<dyn Renderer + 'a>,
    /// stdout's reader left (`| head`): the page still gets every frame.
    first_gone: Option<io::Error>,
}

impl<'a> Tee<'a> {
    /// `first` (stdout) and `second` (the page).
    pub fn new(first: Box<dyn Renderer + 'a>, second: Box<dyn Renderer + 'a>) -> Self {
        Tee { first, second, first_gone: None }
    }

    fn both(&mut self, f: impl Fn(&mut dyn Renderer) -> io::Result<()>) -> io::Result<()> {
        if self.first_gone.is_none() {
            if let Err(e) = f(self.first.as_mut()) {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    return Err(e);
                }
                self.first_gone = Some(e);
            }
        }
        f(self.second.as_mut())
    }
}

impl Renderer for Tee<'_> {
    fn frame(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        self.both(|r| r.frame(rec, analyzer))
    }
    fn frame_bytes(&mut self, frame: &Frame<'_>, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()> {
        self.both(|r| r.frame_bytes(frame, rec, analyzer))
    }
    fn finish(&mut self, analyzer: &Analyzer) -> io::Result<()> {
        self.both(|r| r.finish(analyzer))?;
        self.first_gone.take().map_or(Ok(()), Err)
    }
    fn aside(&mut self, lines: &[String], analyzer: &Analyzer) -> io::Result<()> {
        self.both(|r| r.aside(lines, analyzer))
    }
}

/// Every capture the tests have: the lab recordings, the test data and the
/// public corpus beside the project.
#[cfg(test)]
pub(crate) fn every_capture() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["captures", "tests/data", "../shared/corpus/public"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else { continue };
        let captures = rd.flatten().map(|e| e.path());
        files.extend(captures.filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")));
    }
    assert!(files.len() > 20, "{} captures", files.len());
    files
}
