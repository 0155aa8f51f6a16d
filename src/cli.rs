//! Command-line flags.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use wirelab::i18n::Lang;
use wirelab::render::style::{ColorChoice, Theme};
use wirelab::render::Format;

/// wirelab — see what your socket calls put on the wire.
#[derive(Parser, Debug)]
#[command(name = "wirelab", version, about, long_about = None)]
pub struct Cli {
    /// Language of the texts: en or zh (default: from LANG).
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,
    /// Fit output in N columns (ladder, lab views, tables); at least 60.
    /// Default: the terminal's width, or 100 when stdout is not a terminal.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(60..))]
    pub width: Option<u16>,
    /// Colour: auto (a terminal, unless NO_COLOR is set), always, or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Colour theme; high-contrast is bold, without dim or light colours, for
    /// projectors (readable on white and on black backgrounds).
    #[arg(long, global = true, value_enum, default_value_t = Theme::Default)]
    pub theme: Theme,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a saved capture (pcap or pcapng) as an annotated ladder, table or JSON lines.
    Replay {
        /// The capture file (from tcpdump, Wireshark, or `wirelab --save`), or a lab id
        /// (e.g. handshake) to replay the recording of that lab built into wirelab.
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
        /// Ladder: draw every packet of bulk transfers (default: one summary line per run).
        #[arg(long)]
        every_packet: bool,
        /// Show only frame N (1-based, as on the ladder): its TCP/UDP header drawn as in
        /// the RFC with this packet's values, the flag bits, and its bytes.
        #[arg(long, value_name = "N", conflicts_with = "html")]
        frame: Option<u64>,
        #[command(flatten)]
        wire: WireArgs,
        #[command(flatten)]
        page: PageArgs,
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
        /// With --save: keep at most this many bytes of each frame (e.g. 128 for headers only).
        #[arg(long)]
        snaplen: Option<u32>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Ladder)]
        format: Format,
        #[command(flatten)]
        wire: WireArgs,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One TCP stream over time: time-sequence graph, RTT, window or throughput, as SVG or text.
    Graph {
        /// The capture file, or a lab id (its built-in recording).
        file: PathBuf,
        /// The TCP stream (tcp.stream, as the ladder numbers them).
        #[arg(long, default_value_t = 0)]
        stream: u32,
        /// What to draw.
        #[arg(long, value_enum, default_value_t = wirelab::render::graph::Kind::Tsg)]
        kind: wirelab::render::graph::Kind,
        /// Write the SVG here; without it the data is printed as a table.
        #[arg(long, value_name = "OUT.svg")]
        out: Option<PathBuf>,
    },
    /// Grade students' programs: run a lab against each submission (each in its own
    /// private network namespaces, several at once) and report what its program did
    /// on the wire: which expectation failed, what was wanted, what the wire showed.
    Grade(GradeArgs),
    /// Labs: wirelab performs real socket calls and shows the packets each one causes.
    Lab {
        /// Also read the labs of this folder (repeatable; before $WIRELAB_LABS and ./labs).
        /// They are added to the built-in labs; one with a built-in lab's id replaces it.
        #[arg(long = "labs", value_name = "DIR", global = true)]
        labs: Vec<PathBuf>,
        /// What to do with labs.
        #[command(subcommand)]
        action: LabCommand,
    },
}

/// `wirelab lab …`
#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// List the labs.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show a lab's steps and texts without running it.
    Show {
        /// Lab id (or path to a .toml file).
        name: String,
    },
    /// Run a lab: real sockets, live capture on loopback, expectations checked.
    Run(RunArgs),
    /// Validate a lab file and report errors with their line numbers.
    Check {
        /// Lab files.
        files: Vec<PathBuf>,
    },
}

/// `wirelab grade` flags.
#[derive(Args, Debug)]
pub struct GradeArgs {
    /// Lab id (e.g. grade-echo-server) or path to a .toml file.
    pub name: String,
    /// The actor the students' programs play and the command that starts one;
    /// `{}` is replaced by the submission's folder (a fresh copy, also the
    /// program's working directory): --program 'server=python3 {}/server.py'.
    #[arg(long, value_name = "ACTOR=COMMAND", required = true)]
    pub program: wirelab::lab::program::ProgramSpec,
    /// The submissions: one folder each.
    #[arg(required = true, value_name = "SUBMISSION")]
    pub submissions: Vec<PathBuf>,
    /// Submissions graded at once (each in its own namespaces).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Longest time for one submission, in seconds (each step also has its own limit).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub time_limit: f64,
    /// Output: a readable report per submission, or one JSON object per submission.
    #[arg(long, value_enum, default_value_t = GradeFormat::Text)]
    pub format: GradeFormat,
    /// Also write a CSV file with a row per submission.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Save each submission's capture in DIR as NNN-NAME.pcapng (its steps
    /// and the wire's actions as packet comments; `wirelab replay` shows them)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Also read the labs of this folder (repeatable), as `lab --labs`.
    #[arg(long = "labs", value_name = "DIR")]
    pub labs: Vec<PathBuf>,
}

/// Output of `grade`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GradeFormat {
    /// A readable report per submission.
    Text,
    /// One JSON object per submission.
    Jsonl,
}

/// Output of `lab list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table.
    Table,
    /// One JSON object per lab.
    Jsonl,
}

/// Output of `lab run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// Calls, packets on the ladder, kernel states, expectations.
    Ladder,
    /// One JSON object per event.
    Jsonl,
    /// A Mermaid `sequenceDiagram` of the lab's packets, each step as a comment.
    Mermaid,
}

/// `wirelab lab run` flags.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Lab id (see `wirelab lab list`) or path to a .toml file.
    pub name: String,
    /// Pause before each call until Enter is pressed (for students).
    #[arg(long)]
    pub step: bool,
    /// Ask each step's question before it runs, check the answer against the capture, keep score.
    #[arg(long)]
    pub quiz: bool,
    /// Pause this many seconds before each call (for instructors demoing live).
    #[arg(long)]
    pub pace: Option<f64>,
    /// Save the lab's packets to this pcap file.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// With --save: keep at most this many bytes of each frame (e.g. 128 for headers only).
    #[arg(long)]
    pub snaplen: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Ladder)]
    pub format: RunFormat,
    /// Do not capture packets (calls and kernel states only).
    #[arg(long)]
    pub no_capture: bool,
    /// Interface to capture on.
    #[arg(long, short = 'i', default_value = "lo")]
    pub interface: String,
    /// A program of yours plays ACTOR (a server of the lab): wirelab starts COMMAND
    /// (with sh -c; on a lab wire inside that host's namespace), finds the port it
    /// listens on, plays the other actors against it and judges its side from the
    /// wire and the kernel: --program 'server=python3 server.py'.
    #[arg(long, value_name = "ACTOR=COMMAND")]
    pub program: Option<wirelab::lab::program::ProgramSpec>,
    #[command(flatten)]
    pub wire: WireArgs,
    #[command(flatten)]
    pub page: PageArgs,
}

/// The picture of a run or capture for a browser (replay, sniff, lab run).
#[derive(Args, Debug)]
pub struct PageArgs {
    /// Also write the ladder as one self-contained HTML page (works offline, from
    /// file://): click a packet, or press ←/→, to see its headers as the RFC draws
    /// them and its bytes; a lab run adds each step's call, result, kernel table,
    /// expectations and quiz. Written in addition to what --format prints (sniff:
    /// when it ends, also on Ctrl-C).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// How the bytes and numbers of each packet are shown (replay, sniff, lab run).
#[derive(Args, Debug)]
pub struct WireArgs {
    /// Show the first N bytes of each packet's TCP/UDP data, as Python prints bytes
    /// (b'GET / HTTP/1.1\r\n…') or in hex when binary; 0 = off. Ladder and JSON
    /// (`payload`). Only captured bytes can be shown: a snaplen cut says so.
    #[arg(long, value_name = "N", default_value_t = wirelab::analyze::DEFAULT_PAYLOAD)]
    pub payload: usize,
    /// Ladder: raw sequence and acknowledgment numbers (seq = x, ack = x+1 as
    /// in the course) instead of relative ones starting at 0. JSON has both.
    #[arg(long)]
    pub absolute: bool,
}
