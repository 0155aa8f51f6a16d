//! wirelab: a protocol teaching lab and packet visualizer.
//!
//! The crate is laid out along the data flow:
//!
//! * [`source`]  — where frames come from: capture files ([`source::file`]),
//!   live loopback capture ([`source::live`]) and the pcap writer for `--save`.
//! * [`decode`]  — link layer, IPv4/IPv6, TCP (with every option), UDP, ICMP.
//! * [`analyze`] — per-connection TCP analysis with the same numbers as
//!   Wireshark/tshark (stream index, relative seq/ack, window, expert flags),
//!   inferred endpoint states and the socket call behind each packet.
//! * [`render`]  — terminal ladder, per-connection table and JSON lines.
//! * [`lab`]     — the lab engine: real sockets driven by `labs/*.toml`.

pub mod analyze;
pub mod decode;
pub mod error;
pub mod i18n;
pub mod lab;
pub mod render;
pub mod replay;
pub mod sniff;
pub mod source;

pub use error::{Error, Result};
