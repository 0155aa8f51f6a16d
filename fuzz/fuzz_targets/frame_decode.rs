//! Raw frames of every supported link type through decoding and analysis.
//! Input: a link-type selector byte, then frames as [u16 length][bytes]… so
//! one input exercises the per-connection state across several frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::analyze::Analyzer;
use wirelab::source::{Frame, LinkType, Timestamp};

const LINKS: [u32; 10] = [0, 1, 9, 12, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else { return };
    let link = LinkType(LINKS[sel as usize % LINKS.len()]);
    let mut analyzer = Analyzer::new();
    let mut number = 0;
    while rest.len() >= 2 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        let frame = &rest[..len.min(rest.len())];
        rest = &rest[frame.len()..];
        number += 1;
        let f = Frame {
            number,
            ts: Timestamp { secs: number as i64, nanos: 0 },
            link,
            data: frame,
            orig_len: (len as u32).wrapping_mul(3),
            comment: None,
        };
        std::hint::black_box(analyzer.on_frame(&f));
    }
});
