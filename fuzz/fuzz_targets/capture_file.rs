//! Any bytes as a capture file: the reader, the decoder and the analysis must
//! never panic, hang or allocate without bound; errors are values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::ops::ControlFlow;
use wirelab::analyze::Analyzer;
use wirelab::source::file::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) =
        CaptureReader::from_reader(std::path::Path::new("fuzz.pcap"), std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut analyzer = Analyzer::new();
    let _ = reader.for_each(|frame| {
        let rec = analyzer.on_frame(frame);
        std::hint::black_box(&rec);
        ControlFlow::Continue(())
    });
});
