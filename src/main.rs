//! wirelab's command line: parse flags, hand over to the library, map errors to exit codes.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;
use std::time::Duration;
use wirelab::replay::{self, Filter};
use wirelab::sniff::{self, SniffOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    wirelab::render::style::init_colors();
    let result = match cli.command {
        Command::Replay { file, format, ports, streams } => {
            replay::replay(&file, format, &Filter { ports, streams }).map(|_| ExitCode::SUCCESS)
        }
        Command::Sniff { ports, interface, count, duration, save, format } => {
            let opts =
                SniffOptions { interface, ports, count, duration: duration.map(Duration::from_secs_f64), save, format };
            sniff::sniff(&opts).map(|_| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wirelab: {e}");
            ExitCode::from(2)
        }
    }
}
