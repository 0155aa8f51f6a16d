//! Command-line flags.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use wirelab::render::Format;

/// wirelab — see what your socket calls put on the wire.
#[derive(Parser, Debug)]
#[command(name = "wirelab", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a saved capture (pcap or pcapng) as an annotated ladder, table or JSON lines.
    Replay {
        /// The capture file (from tcpdump, Wireshark, or `wirelab --save`).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Ladder)]
        format: Format,
        /// Only frames to or from this port (repeatable).
        #[arg(long = "port")]
        ports: Vec<u16>,
        /// Only this TCP stream (tcp.stream) or UDP flow (repeatable).
        #[arg(long = "stream")]
        streams: Vec<u32>,
    },
    /// Show live traffic of any program (loopback by default), annotated, until Ctrl-C.
    Sniff {
        /// Only traffic to or from this port (repeatable); default: every IP frame.
        #[arg(long = "port")]
        ports: Vec<u16>,
        /// Interface to capture on.
        #[arg(long, short = 'i', default_value = "lo")]
        interface: String,
        /// Stop after this many frames.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
        /// Also save the frames to this pcap file (opens in Wireshark, tcpdump, `wirelab replay`).
        #[arg(long)]
        save: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Ladder)]
        format: Format,
    },
}
