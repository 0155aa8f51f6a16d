//! Colour by meaning, decided once at start-up: whether to colour
//! (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`, a terminal or not) and which
//! theme (`--theme`).

use colored::{ColoredString, Colorize};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// When to colour (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is not set (`CLICOLOR_FORCE` forces colour).
    #[default]
    Auto,
    /// Always, even into a pipe or a file, and despite `NO_COLOR`.
    Always,
    /// Never.
    Never,
}

/// How colours look (`--theme`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Theme {
    /// Colours by meaning, quiet traffic dimmed.
    #[default]
    Default,
    /// For projectors: bold, no dim, italic, yellow, cyan or blue; red and
    /// green only where a ✓/✗ or a flag name says the same; readable on white
    /// and on black.
    HighContrast,
}

static THEME: OnceLock<Theme> = OnceLock::new();

/// Whether `choice` colours, given the environment.
pub fn colors_on(choice: ColorChoice, stdout_is_terminal: bool) -> bool {
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        // no-color.org: NO_COLOR yields to an explicit flag only.
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto => stdout_is_terminal || set("CLICOLOR_FORCE"),
    }
}

/// Decides once whether to colour stdout, and how.
pub fn init(choice: ColorChoice, theme: Theme) {
    colored::control::set_override(colors_on(choice, std::io::stdout().is_terminal()));
    let _ = THEME.set(theme);
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
    match THEME.get().copied().unwrap_or_default() {
        Theme::Default => match role {
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
        },
        // Projectors wash out light and dim colours and blur italics; bold,
        // reverse video and the darker primaries survive on either background.
        Theme::HighContrast => match role {
            Role::Open => text.green().bold(),
            Role::Close => text.bold(),
            Role::Abort => text.red().bold(),
            Role::Data | Role::Quiet | Role::Call | Role::Explain => text.normal(),
            Role::Warning => text.bold().reversed(),
            Role::State => text.bold(),
            Role::Heading => text.bold().underline(),
        },
    }
}

/// [`paint`] for the ladder's hot path: the text itself, unallocated, when
/// colour is off (output into a file or a pipe), where `ColoredString` would
/// copy it first; written the same way either way.
pub enum Painted<'a> {
    /// Colour is off.
    Plain(&'a str),
    /// Colour is on.
    Colored(ColoredString),
}

/// Whether text is being coloured (decided by [`init`]).
pub fn colouring() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

/// `text` painted for its role (see [`Painted`]).
pub fn painted(text: &str, role: Role) -> Painted<'_> {
    if colouring() {
        Painted::Colored(paint(text, role))
    } else {
        Painted::Plain(text)
    }
}

impl Painted<'_> {
    /// Bold as well (nothing to do without colour).
    pub fn bold(self) -> Self {
        match self {
            Painted::Colored(c) => Painted::Colored(c.bold()),
            plain => plain,
        }
    }
}

impl std::fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // What ColoredString does without colour.
            Painted::Plain(s) => f.pad(s),
            Painted::Colored(c) => c.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choices_win_over_the_environment() {
        assert!(colors_on(ColorChoice::Always, false));
        assert!(!colors_on(ColorChoice::Never, true));
        if std::env::var_os("NO_COLOR").is_none() && std::env::var_os("CLICOLOR_FORCE").is_none() {
            assert!(colors_on(ColorChoice::Auto, true));
            assert!(!colors_on(ColorChoice::Auto, false));
        }
    }
}
