//! wirelab's command line: parse flags, hand over to the library, map errors to exit codes.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;
use wirelab::replay::{self, Filter};

fn main() -> ExitCode {
    let cli = Cli::parse();
    wirelab::render::style::init_colors();
    let result = match cli.command {
        Command::Replay {
            file,
            format,
            ports,
            streams,
        } => replay::replay(&file, format, &Filter { ports, streams }).map(|_| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wirelab: {e}");
            ExitCode::from(2)
        }
    }
}
