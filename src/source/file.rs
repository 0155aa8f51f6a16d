//! Streaming reader for pcap (both byte orders, µs and ns) and pcapng
//! (several sections and interfaces, each with its own `if_tsresol`).
//!
//! Built on `pcap-parser`'s refill loop: memory stays bounded by the largest
//! frame, whatever the file size. Damage is reported with the frame number and
//! the byte offset where reading stopped.

use super::{Frame, LinkType, Timestamp};
use crate::error::{Error, Result};
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::{BufRead, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Initial read buffer; grown on demand up to [`MAX_BLOCK`].
const INITIAL_BUFFER: usize = 1 << 20;
/// Largest block accepted: 256 KiB snaplen frames plus pcapng overhead, with room.
/// Anything larger is an absurd length, reported instead of allocated.
const MAX_BLOCK: usize = 16 << 20;

/// One pcapng interface: its link type and clock.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    units_per_sec: u64,
    offset_secs: i64,
}

/// Reads every frame of a capture file and hands it to a callback.
pub struct CaptureReader {
    path: PathBuf,
    inner: Box<dyn pcap_parser::traits::PcapReaderIterator + Send>,
    /// Link type and resolution of a classic pcap, set by its header.
    legacy: Option<(LinkType, u64)>,
    /// The classic pcap is big-endian.
    legacy_big_endian: bool,
    /// Interfaces of the current pcapng section.
    interfaces: Vec<Interface>,
    frames: u64,
}

/// What kind of capture file was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

impl CaptureReader {
    /// Opens a capture file; fails with a clear message when it is not one.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Open { path: path.to_owned(), source })?;
        Self::from_reader(path, file)
    }

    /// Reads a capture from any byte stream; `path` is only used in messages.
    pub fn from_reader(path: &Path, reader: impl Read + Send + 'static) -> Result<Self> {
        // Look at the magic number first, to tell "not a capture" from "cut short".
        let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
        let head = reader.fill_buf().map_err(|e| capture_error(path, 1, 0, format!("read error: {e}")))?;
        let known = sniff_format(head);
        let inner = pcap_parser::create_reader(INITIAL_BUFFER, reader).map_err(|e| {
            let detail = match e {
                PcapError::Eof => "empty file: not a pcap or pcapng capture".to_string(),
                _ if known.is_none() => "not a pcap or pcapng capture (unknown magic number)".to_string(),
                PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                    "file ends inside the capture file header".to_string()
                }
                PcapError::ReadError => "read error".to_string(),
                _ => "not a pcap or pcapng capture (unknown magic number)".to_string(),
            };
            Error::Capture { path: path.to_owned(), frame: 1, offset: 0, detail }
        })?;
        Ok(CaptureReader {
            path: path.to_owned(),
            inner,
            legacy: None,
            legacy_big_endian: false,
            interfaces: Vec::new(),
            frames: 0,
        })
    }

    fn fail(&self, detail: impl Into<String>) -> Error {
        capture_error(&self.path, self.frames + 1, self.inner.consumed() as u64, detail)
    }

    /// Calls `on_frame` for every frame in file order, until the end of the file,
    /// until `on_frame` breaks, or until the file turns out to be damaged.
    pub fn for_each<F>(&mut self, mut on_frame: F) -> Result<()>
    where
        F: FnMut(&Frame<'_>) -> ControlFlow<()>,
    {
        let mut buffer_size = INITIAL_BUFFER;
        loop {
            let offset = self.inner.consumed() as u64;
            // Owned here, so a frame can borrow its comment while it is handed on.
            let comment: Option<String>;
            let step = match self.inner.next() {
                Ok((len, block)) => {
                    let frame = match block {
                        PcapBlockOwned::LegacyHeader(header) => {
                            let units = if header.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 };
                            self.legacy = Some((LinkType::from_pcap_header(header.network.0 as u32), units));
                            self.legacy_big_endian = header.is_bigendian();
                            None
                        }
                        PcapBlockOwned::Legacy(record) => {
                            let (link, units) = self.legacy.unwrap_or((LinkType::ETHERNET, 1_000_000));
                            Some(Frame {
                                number: self.frames + 1,
                                ts: Timestamp::from_fraction(record.ts_sec as i64, record.ts_usec as u64, units),
                                link,
                                data: record.data,
                                orig_len: record.origlen,
                                comment: None,
                            })
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                            self.interfaces.clear();
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            self.interfaces.push(Interface {
                                link: LinkType(idb.linktype.0 as u32),
                                units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                                offset_secs: idb.ts_offset(),
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
                                return Err(capture_error(
                                    &self.path,
                                    self.frames + 1,
                                    offset,
                                    format!(
                                        "packet block names interface {} but the section describes only {}",
                                        epb.if_id,
                                        self.interfaces.len()
                                    ),
                                ));
                            };
                            let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                            let units = iface.units_per_sec.max(1);
                            Some(Frame {
                                number: self.frames + 1,
                                ts: Timestamp::from_fraction(
                                    iface.offset_secs + (raw / units) as i64,
                                    raw % units,
                                    units,
                                ),
                                link: iface.link,
                                // The block pads its data to 32 bits: the frame is `caplen` bytes.
                                data: &epb.data[..(epb.caplen as usize).min(epb.data.len())],
                                orig_len: epb.origlen,
                                comment: {
                                    comment = epb
                                        .options
                                        .iter()
                                        .find(|o| o.code == pcap_parser::OptionCode::Comment)
                                        .and_then(|o| o.as_str().ok())
                                        .map(str::to_owned);
                                    comment.as_deref()
                                },
                            })
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            let Some(iface) = self.interfaces.first().copied() else {
                                return Err(capture_error(
                                    &self.path,
                                    self.frames + 1,
                                    offset,
                                    "simple packet block before any interface description",
                                ));
                            };
                            let len = (spb.origlen as usize).min(spb.data.len());
                            Some(Frame {
                                number: self.frames + 1,
                                ts: Timestamp::default(),
                                link: iface.link,
                                data: &spb.data[..len],
                                orig_len: spb.origlen,
                                comment: None,
                            })
                        }
                        // Statistics, name resolution, comments, custom and unknown blocks
                        // carry no frames.
                        PcapBlockOwned::NG(_) => None,
                    };
                    let flow = match frame {
                        Some(frame) => {
                            self.frames += 1;
                            on_frame(&frame)
                        }
                        None => ControlFlow::Continue(()),
                    };
                    self.inner.consume(len);
                    flow
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => {
                    if let Err(e) = self.inner.refill().map_err(|e| format!("read error: {e:?}")) {
                        return Err(self.fail(e));
                    }
                    ControlFlow::Continue(())
                }
                Err(PcapError::BufferTooSmall) => {
                    if buffer_size >= MAX_BLOCK {
                        return Err(self.fail(format!(
                            "record longer than {} MiB: absurd length, the file is damaged",
                            MAX_BLOCK >> 20
                        )));
                    }
                    buffer_size *= 4;
                    self.inner.grow(buffer_size);
                    if let Err(e) = self.inner.refill().map_err(|e| format!("read error: {e:?}")) {
                        return Err(self.fail(e));
                    }
                    ControlFlow::Continue(())
                }
                Err(PcapError::UnexpectedEof) => {
                    let detail = self.describe_incomplete_record();
                    return Err(self.fail(detail));
                }
                Err(e) => {
                    let detail = match e {
                        PcapError::HeaderNotRecognized => "unrecognised block".to_string(),
                        PcapError::NomError(_, kind) => format!("corrupt record ({kind:?})"),
                        PcapError::OwnedNomError(_, kind) => format!("corrupt record ({kind:?})"),
                        PcapError::ReadError => "read error".to_string(),
                        other => format!("{other:?}"),
                    };
                    return Err(self.fail(detail));
                }
            };
            if step.is_break() {
                return Ok(());
            }
        }
    }
}

fn capture_error(path: &Path, frame: u64, offset: u64, detail: impl Into<String>) -> Error {
    Error::Capture { path: path.to_owned(), frame, offset, detail: detail.into() }
}

impl CaptureReader {
    /// Words for a record the file ends inside of.
    fn describe_incomplete_record(&self) -> String {
        let data = self.inner.data();
        let left = data.len();
        let claimed = if self.legacy.is_some() && left >= 16 {
            let b: [u8; 4] = data[8..12].try_into().expect("4 bytes");
            Some(if self.legacy_big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) } as u64 + 16)
        } else if self.legacy.is_none() && left >= 8 {
            // pcapng: the block length; the byte order is that of the section.
            let b: [u8; 4] = data[4..8].try_into().expect("4 bytes");
            Some(u32::from_le_bytes(b).min(u32::from_be_bytes(b)) as u64)
        } else {
            None
        };
        match claimed {
            Some(n) => format!("file is cut short: the last record claims {n} bytes but only {left} remain"),
            None => format!("file is cut short inside a record header ({left} byte(s) left)"),
        }
    }
}

/// Detects the format of a capture from its first bytes (for messages and tests).
pub fn sniff_format(first: &[u8]) -> Option<Format> {
    match first.get(..4)? {
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(Format::PcapNg),
        [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] | [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] => {
            Some(Format::Pcap)
        }
        _ => None,
    }
}
