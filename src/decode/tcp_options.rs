//! TCP options (RFC 9293 §3.1, RFC 7323, RFC 2018), parsed by kind and length.
//!
//! etherparse's iterator stops at the first kind it does not know (TFO 34,
//! MPTCP 30 …) and loses the options after it; this parser skips unknown kinds
//! by their length, as RFC 9293 §3.2 requires: "a TCP implementation MUST be
//! able to receive a TCP Option in any segment" and "MUST ignore without error
//! any TCP Option it does not implement".

/// Option kinds, named once.
mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
}

/// Most SACK blocks that fit in 40 bytes of options.
pub const MAX_SACK_BLOCKS: usize = 4;

/// The options of one TCP segment that matter for teaching and analysis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2).
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), as sent (may exceed 14).
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5): left and right edges.
    pub sack: [(u32, u32); MAX_SACK_BLOCKS],
    /// How many entries of `sack` are used.
    pub sack_count: u8,
    /// Timestamps (kind 8): TSval and TSecr.
    pub timestamp: Option<(u32, u32)>,
    /// An option's length field was 0, 1, or ran past the header.
    pub malformed: bool,
}

impl TcpOptions {
    /// Parses the option bytes of a TCP header (after the fixed 20 bytes).
    pub fn parse(mut bytes: &[u8]) -> TcpOptions {
        let mut opts = TcpOptions::default();
        while let Some(&k) = bytes.first() {
            match k {
                kind::END => break,
                kind::NOP => {
                    bytes = &bytes[1..];
                    continue;
                }
                _ => {}
            }
            let Some(&len) = bytes.get(1) else {
                opts.malformed = true;
                break;
            };
            let len = len as usize;
            if len < 2 || len > bytes.len() {
                opts.malformed = true;
                break;
            }
            let body = &bytes[2..len];
            match (k, body.len()) {
                (kind::MSS, 2) => opts.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                (kind::WINDOW_SCALE, 1) => opts.window_scale = Some(body[0]),
                (kind::SACK_PERMITTED, 0) => opts.sack_permitted = true,
                (kind::SACK, n) if n % 8 == 0 => {
                    for block in body.chunks_exact(8).take(MAX_SACK_BLOCKS) {
                        let left = u32::from_be_bytes(block[0..4].try_into().expect("4 bytes"));
                        let right = u32::from_be_bytes(block[4..8].try_into().expect("4 bytes"));
                        opts.sack[opts.sack_count as usize] = (left, right);
                        opts.sack_count += 1;
                    }
                }
                (kind::TIMESTAMP, 8) => {
                    let val = u32::from_be_bytes(body[0..4].try_into().expect("4 bytes"));
                    let ecr = u32::from_be_bytes(body[4..8].try_into().expect("4 bytes"));
                    opts.timestamp = Some((val, ecr));
                }
                // Unknown kinds (TFO 34, MPTCP 30, MD5 19, experimental 253/254 …)
                // and known kinds with a wrong length are skipped by their length.
                _ => {}
            }
            bytes = &bytes[len..];
        }
        opts
    }

    /// The SACK blocks carried by this segment.
    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        &self.sack[..self.sack_count as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syn_options() {
        // Options of a real Linux SYN on lo: MSS 65495, SACK_PERM, TS, NOP, WS 7.
        let bytes = [
            0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0x3c, 0x2b, 0x51, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
            0x03, 0x07,
        ];
        let o = TcpOptions::parse(&bytes);
        assert_eq!(o.mss, Some(65495));
        assert!(o.sack_permitted);
        assert_eq!(o.timestamp, Some((0x9a3c2b51, 0)));
        assert_eq!(o.window_scale, Some(7));
        assert!(!o.malformed);
    }

    #[test]
    fn unknown_kind_is_skipped_by_length() {
        // TFO cookie request (kind 34, len 2) before the timestamps.
        let bytes = [34, 2, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 9];
        let o = TcpOptions::parse(&bytes);
        assert_eq!(o.timestamp, Some((1, 2)));
        assert_eq!(o.window_scale, Some(9));
    }

    #[test]
    fn sack_blocks_and_bad_lengths() {
        let bytes = [1, 1, 5, 10, 0, 0, 0, 10, 0, 0, 0, 20];
        let o = TcpOptions::parse(&bytes);
        assert_eq!(o.sack_blocks(), &[(10, 20)]);
        for bad in [&[2u8, 0, 1, 1][..], &[2, 1], &[8, 10, 0, 0], &[3]] {
            assert!(TcpOptions::parse(bad).malformed, "{bad:?}");
        }
    }
}
