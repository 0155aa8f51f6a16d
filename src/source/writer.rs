//! pcap writer for `--save`: nanosecond classic pcap, snaplen 262,144 (loopback
//! frames reach 65,549 bytes; 65,535 would cut them). Each record is written
//! whole, so a file interrupted at any point opens in Wireshark up to its last
//! complete frame.

use super::{LinkType, Timestamp};
use crate::error::{Error, Result};
use pcap_parser::{LegacyPcapBlock, Linktype, PcapHeader, ToVec};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Snaplen written in the header.
pub const SNAPLEN: u32 = 262_144;
/// Magic number of a nanosecond-resolution pcap.
const MAGIC_NANOSECONDS: u32 = 0xa1b2_3c4d;

/// Writes frames to a pcap file.
pub struct PcapWriter {
    path: PathBuf,
    out: BufWriter<File>,
    snaplen: u32,
    /// Frames written.
    pub frames: u64,
}

impl PcapWriter {
    /// Creates (or truncates) `path` and writes the file header. Frames are
    /// kept whole up to `snaplen` bytes (None: [`SNAPLEN`]).
    pub fn create(path: &Path, link: LinkType, snaplen: Option<u32>) -> Result<PcapWriter> {
        let snaplen = snaplen.unwrap_or(SNAPLEN).clamp(64, SNAPLEN);
        let file = File::create(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        let mut w =
            PcapWriter { path: path.to_owned(), out: BufWriter::with_capacity(1 << 16, file), snaplen, frames: 0 };
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
        let len = data.len().min(self.snaplen as usize);
        let block = LegacyPcapBlock {
            ts_sec: ts.secs as u32,
            ts_usec: ts.nanos,
            caplen: len as u32,
            origlen: orig_len.max(data.len() as u32),
            data: &data[..len],
        };
        let bytes = block
            .to_vec_raw()
            .map_err(|e| Error::io("encoding pcap record", std::io::Error::other(format!("{e:?}"))))?;
        self.write_bytes(&bytes)?;
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
