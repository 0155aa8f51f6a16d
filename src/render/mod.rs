//! Renderers: terminal ladder, per-connection table, JSON lines.

pub mod frame;
pub mod graph;
pub mod jsonl;
pub mod ladder;
pub mod mermaid;
pub mod payload;
pub mod style;
pub mod table;
pub mod term;

use crate::analyze::{Analyzer, FrameRecord};
use std::io;

/// Something that shows analysed frames.
pub trait Renderer {
    /// Shows one frame (already analysed; `analyzer` holds the connections).
    fn frame(&mut self, rec: &FrameRecord, analyzer: &Analyzer) -> io::Result<()>;
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
