//! Capture writer for `--save`: nanosecond classic pcap, or pcapng when the
//! file name ends in `.pcapng` (then a lab run writes each packet's step and
//! call as its packet comment, which Wireshark shows and `replay` reads back).
//! Snaplen 262,144 (loopback frames reach 65,549 bytes; 65,535 would cut
//! them). Each record is written whole, so a file interrupted at any point
//! opens in Wireshark up to its last complete frame.

use super::live::FrameBytes;
use super::{LinkType, Timestamp};
use crate::error::{Error, Result};
use pcap_parser::{Linktype, PcapHeader, ToVec};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Snaplen written in the header.
pub const SNAPLEN: u32 = 262_144;
/// Bytes gathered before each write(2): a live capture of full frames
/// writes about 1 GB/s, so few, large writes.
const BUFFER: usize = 1 << 20;
/// Frames this long are written straight from the caller's memory.
const DIRECT: usize = 16 << 10;
/// Magic number of a nanosecond-resolution pcap.
const MAGIC_NANOSECONDS: u32 = 0xa1b2_3c4d;

/// Writes frames to a pcap file.
pub struct PcapWriter {
    path: PathBuf,
    out: BufWriter<File>,
    snaplen: u32,
    /// pcapng (with comments) rather than classic pcap.
    ng: bool,
    /// Frames written.
    pub frames: u64,
}

/// pcapng block types and option codes (draft-ietf-opsawg-pcapng §4, §3.5).
mod ng {
    pub const SECTION_HEADER: u32 = 0x0A0D_0D0A;
    pub const INTERFACE: u32 = 1;
    pub const ENHANCED_PACKET: u32 = 6;
    pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
    pub const OPT_END: u16 = 0;
    pub const OPT_COMMENT: u16 = 1;
    pub const IF_TSRESOL: u16 = 9;
}

/// Appends an option (code, length, value padded to 32 bits).
fn option(block: &mut Vec<u8>, code: u16, value: &[u8]) {
    block.extend_from_slice(&code.to_le_bytes());
    block.extend_from_slice(&(value.len() as u16).to_le_bytes());
    block.extend_from_slice(value);
    block.resize(block.len().next_multiple_of(4), 0);
}

/// A whole pcapng block: type, total length, body, total length again.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len()) as u32;
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

impl PcapWriter {
    /// Creates (or truncates) `path` and writes the file header. Frames are
    /// kept whole up to `snaplen` bytes (None: [`SNAPLEN`]).
    pub fn create(path: &Path, link: LinkType, snaplen: Option<u32>) -> Result<PcapWriter> {
        let snaplen = snaplen.unwrap_or(SNAPLEN).clamp(64, SNAPLEN);
        let file = File::create(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        let ng = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
        let mut w =
            PcapWriter { path: path.to_owned(), out: BufWriter::with_capacity(BUFFER, file), snaplen, ng, frames: 0 };
        if ng {
            let mut shb = Vec::new();
            shb.extend_from_slice(&ng::BYTE_ORDER_MAGIC.to_le_bytes());
            shb.extend_from_slice(&1u16.to_le_bytes());
            shb.extend_from_slice(&0u16.to_le_bytes());
            shb.extend_from_slice(&(-1i64).to_le_bytes()); // section length not given
            let mut idb = Vec::new();
            idb.extend_from_slice(&(link.0 as u16).to_le_bytes());
            idb.extend_from_slice(&0u16.to_le_bytes());
            idb.extend_from_slice(&snaplen.to_le_bytes());
            option(&mut idb, ng::IF_TSRESOL, &[9]); // nanoseconds
            option(&mut idb, ng::OPT_END, &[]);
            let mut bytes = block(ng::SECTION_HEADER, &shb);
            bytes.extend(block(ng::INTERFACE, &idb));
            w.write_bytes(&bytes)?;
            w.flush()?;
            return Ok(w);
        }
        let header = PcapHeader {
            magic_number: MAGIC_NANOSECONDS,
            version_major: 2,
            version_minor: 4,
            thiszone: 0,
            sigfigs: 0,
            snaplen,
            network: Linktype(link.0 as i32),
        };
        let bytes = header
            .to_vec_raw()
            .map_err(|e| Error::io("encoding pcap header", std::io::Error::other(format!("{e:?}"))))?;
        w.write_bytes(&bytes)?;
        w.flush()?;
        Ok(w)
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }

    /// Appends one frame that was `orig_len` bytes long on the wire.
    pub fn write(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> Result<()> {
        self.write_commented(ts, data, orig_len, None)
    }

    /// The same, with a packet comment (kept in pcapng only).
    pub fn write_commented(&mut self, ts: Timestamp, data: &[u8], orig_len: u32, comment: Option<&str>) -> Result<()> {
        let len = data.len().min(self.snaplen as usize);
        if self.ng {
            let nanos = (ts.secs.max(0) as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.nanos as u64);
            let mut epb = Vec::with_capacity(32 + len);
            epb.extend_from_slice(&0u32.to_le_bytes()); // interface 0
            epb.extend_from_slice(&((nanos >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(nanos as u32).to_le_bytes());
            epb.extend_from_slice(&(len as u32).to_le_bytes());
            epb.extend_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
            epb.extend_from_slice(&data[..len]);
            epb.resize(epb.len().next_multiple_of(4), 0);
            if let Some(c) = comment {
                // An option holds at most 65,535 bytes.
                let mut end = c.len().min(u16::MAX as usize);
                while !c.is_char_boundary(end) {
                    end -= 1;
                }
                option(&mut epb, ng::OPT_COMMENT, &c.as_bytes()[..end]);
                option(&mut epb, ng::OPT_END, &[]);
            }
            self.write_bytes(&block(ng::ENHANCED_PACKET, &epb))?;
            self.frames += 1;
            return Ok(());
        }
        // The record header, then the bytes straight from the caller (a
        // serializer would copy each frame into a Vec of its own first).
        let mut header = [0u8; 16];
        for (i, field) in
            [ts.secs as u32, ts.nanos, len as u32, orig_len.max(data.len() as u32)].into_iter().enumerate()
        {
            header[4 * i..4 * i + 4].copy_from_slice(&field.to_le_bytes());
        }
        if len < DIRECT {
            self.write_bytes(&header)?;
            self.write_bytes(&data[..len])?;
        } else {
            // A big frame goes from the caller's memory to the file in one
            // writev, not through the buffer (a copy fewer per byte).
            self.flush()?;
            let mut parts = [std::io::IoSlice::new(&header), std::io::IoSlice::new(&data[..len])];
            let mut parts = &mut parts[..];
            while !parts.is_empty() {
                let n = self
                    .out
                    .get_mut()
                    .write_vectored(parts)
                    .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))?;
                if n == 0 {
                    let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                    return Err(Error::io(format!("writing {}", self.path.display()), e));
                }
                std::io::IoSlice::advance_slices(&mut parts, n);
            }
        }
        self.frames += 1;
        Ok(())
    }

    /// Pushes buffered records to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }
}

impl Drop for PcapWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// A [`PcapWriter`] on a thread of its own, so that writing a capture to disk
/// never holds up reading the next frames: frames are handed over (moved,
/// not copied) through an unbounded channel, the writer's big buffer goes to
/// the file in large writes, and it is flushed whenever no frame came for
/// [`Background::FLUSH_EVERY`], so the file can be opened while it grows.
pub struct Background {
    tx: Option<mpsc::Sender<(Timestamp, FrameBytes, u32)>>,
    thread: Option<std::thread::JoinHandle<Result<u64>>>,
}

impl Background {
    /// Longest time a written frame waits in the buffer.
    pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

    /// Starts the thread that owns `writer`; written frames' buffers go back
    /// through `recycle` when given.
    pub fn start(mut writer: PcapWriter, recycle: Option<mpsc::Sender<Vec<u8>>>) -> Result<Background> {
        let (tx, rx) = mpsc::channel::<(Timestamp, FrameBytes, u32)>();
        let thread = std::thread::Builder::new()
            .name("wirelab-save".into())
            .spawn(move || -> Result<u64> {
                let mut flushed = Instant::now();
                loop {
                    match rx.recv_timeout(Self::FLUSH_EVERY) {
                        Ok((ts, data, orig_len)) => {
                            writer.write(ts, &data, orig_len)?;
                            // A copy's buffer goes back to the reader (which may
                            // have stopped: then it is just freed); a frame in
                            // the ring is dropped, which gives its block back.
                            if let (Some(r), FrameBytes::Owned(data)) = (&recycle, data) {
                                let _ = r.send(data);
                            }
                            if flushed.elapsed() >= Self::FLUSH_EVERY {
                                writer.flush()?;
                                flushed = Instant::now();
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            writer.flush()?;
                            flushed = Instant::now();
                        }
                        Err(RecvTimeoutError::Disconnected) => {
                            writer.flush()?;
                            return Ok(writer.frames);
                        }
                    }
                }
            })
            .map_err(|e| Error::io("starting the writer thread", e))?;
        Ok(Background { tx: Some(tx), thread: Some(thread) })
    }

    /// Queues one frame. An error means the thread has stopped on one: see [`Background::finish`].
    pub fn write(&self, ts: Timestamp, data: FrameBytes, orig_len: u32) -> Result<()> {
        match &self.tx {
            Some(tx) if tx.send((ts, data, orig_len)).is_ok() => Ok(()),
            _ => Err(Error::io("saving the capture", std::io::Error::other("the writer thread stopped"))),
        }
    }

    /// Writes what is queued, closes the file and returns the frames
    /// written, or the error that stopped the writer.
    pub fn finish(&mut self) -> Result<u64> {
        drop(self.tx.take());
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::io("writer thread", std::io::Error::other("panicked"))),
            None => Ok(0),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
