//! Error types: every failure a user can meet, with the context needed to act on it.

use std::path::PathBuf;

/// Result alias for wirelab.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in wirelab, worded for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A capture file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A capture file is damaged or is not a capture at all.
    #[error("{path}: {detail} (frame {frame}, byte offset {offset})")]
    Capture {
        /// The file.
        path: PathBuf,
        /// 1-based number of the frame that could not be read.
        frame: u64,
        /// Byte offset in the file where reading stopped.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// Live capture could not start.
    #[error("cannot capture on {interface}: {detail}")]
    LiveCapture {
        /// Interface name.
        interface: String,
        /// What the kernel said, and what to do about it.
        detail: String,
    },
    /// A lab file is invalid.
    #[error("{path}: {detail}")]
    Lab {
        /// The lab file (or lab name).
        path: String,
        /// What is wrong, with the line when known.
        detail: String,
    },
    /// Writing output failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}
