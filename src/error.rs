//! Error types: every failure a user can meet, with the context needed to act on it.

use std::path::PathBuf;

/// Result alias for wirelab.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in wirelab, worded for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A capture file could not be opened.
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A capture file is damaged or is not a capture at all.
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
    LiveCapture {
        /// Interface name.
        interface: String,
        /// What the kernel said, and what to do about it.
        detail: String,
    },
    /// A lab file is invalid.
    Lab {
        /// The lab file (or lab name).
        path: String,
        /// What is wrong, with the line when known.
        detail: String,
    },
    /// The lab wire (private namespaces) could not be set up.
    Wire {
        /// What the kernel said.
        source: std::io::Error,
    },
    /// A student's program (`--program`) could not be used: it never listened…
    /// (the text says why, with its stderr).
    Program(String),
    /// The command asks for something the input does not have (a frame number
    /// beyond the end of the capture …).
    Usage(String),
    /// Writing output failed.
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let zh = crate::i18n::current() == crate::i18n::Lang::Zh;
        match self {
            Error::Open { path, source } if zh => write!(f, "无法打开 {}：{source}", path.display()),
            Error::Open { path, source } => write!(f, "cannot open {}: {source}", path.display()),
            Error::Capture { path, frame, offset, detail } if zh => {
                write!(f, "{}：{detail}（第 {frame} 帧，字节偏移 {offset}）", path.display())
            }
            Error::Capture { path, frame, offset, detail } => {
                write!(f, "{}: {detail} (frame {frame}, byte offset {offset})", path.display())
            }
            Error::LiveCapture { interface, detail } if zh => write!(f, "无法在 {interface} 上抓包：{detail}"),
            Error::LiveCapture { interface, detail } => write!(f, "cannot capture on {interface}: {detail}"),
            Error::Lab { path, detail } => write!(f, "{path}: {detail}"),
            Error::Wire { source } if zh => write!(
                f,
                "无法建立实验的线路：{source}\n它要创建私有网络命名空间及其网卡，需要 CAP_SYS_ADMIN 和 CAP_NET_ADMIN\n（以 root 运行 wirelab，例如用 sudo）。本机的网络不会被改动；命名空间随 wirelab 退出而消失。"
            ),
            Error::Wire { source } => write!(
                f,
                "the lab wire could not be set up: {source}\nIt makes private network namespaces with their own interfaces, which needs\nCAP_SYS_ADMIN and CAP_NET_ADMIN (run wirelab as root, e.g. with sudo).\nNothing of this machine's network is touched; the namespaces vanish with wirelab."
            ),
            Error::Usage(what) | Error::Program(what) => write!(f, "{what}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}
