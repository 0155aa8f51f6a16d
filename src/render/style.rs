//! Colour by meaning. Colours are off when `NO_COLOR` is set or stdout is not
//! a terminal (the `colored` crate reads `NO_COLOR`/`CLICOLOR_FORCE`).

use colored::{ColoredString, Colorize};
use std::io::IsTerminal;

/// Decides once whether to colour stdout.
pub fn init_colors() {
    if !std::io::stdout().is_terminal() && std::env::var_os("CLICOLOR_FORCE").is_none() {
        colored::control::set_override(false);
    }
}

/// What a piece of text means, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Opening a connection (SYN).
    Open,
    /// Closing (FIN).
    Close,
    /// Aborting or failing (RST, errors, ICMP unreachable).
    Abort,
    /// Payload.
    Data,
    /// Pure acknowledgments and other quiet kernel traffic.
    Quiet,
    /// A problem flagged by the analysis.
    Warning,
    /// A socket state.
    State,
    /// The call behind a packet.
    Call,
    /// An explanation.
    Explain,
    /// A header.
    Heading,
}

/// Paints `text` for its role.
pub fn paint(text: &str, role: Role) -> ColoredString {
    match role {
        Role::Open => text.green().bold(),
        Role::Close => text.yellow().bold(),
        Role::Abort => text.red().bold(),
        Role::Data => text.normal(),
        Role::Quiet => text.dimmed(),
        Role::Warning => text.magenta().bold(),
        Role::State => text.cyan(),
        Role::Call => text.blue(),
        Role::Explain => text.italic(),
        Role::Heading => text.bold().underline(),
    }
}
