//! `replay FILE --frame N`: one packet's header drawn as the RFC draws it,
//! with this packet's values, and its bytes — in both languages, within 80
//! columns.

use std::process::Command;
use unicode_width::UnicodeWidthStr;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab")).args(args).env("NO_COLOR", "1").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_syn_ack_of_the_handshake_recording() {
    let (code, text, err) = run(&["replay", "handshake", "--frame", "2"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "frame 2: 74 bytes captured",
        "(relative 0)",
        "(relative 1)",
        "flags: 0x12 = SYN,ACK",
        "Window 65483",
        "MSS=65495",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    // The flag bits row: ACK and SYN set, the others clear.
    assert!(text.contains("|0|0|0|1|0|0|1|0|"), "{text}");
    // 74 bytes: five hex dump rows.
    assert_eq!(
        text.lines()
            .filter(|l| l.len() > 6 && l[..4].chars().all(|c| c.is_ascii_hexdigit()) && &l[4..6] == "  ")
            .count(),
        5
    );
    assert!(text.lines().all(|l| l.width() <= 80), "{text}");
    let (code, zh, _) = run(&["--lang", "zh", "replay", "handshake", "--frame", "2"]);
    assert_eq!(code, 0);
    assert!(zh.contains("源端口") && zh.contains("确认号") && zh.contains("偏移") && !zh.contains("Offset"), "{zh}");
    assert!(zh.lines().all(|l| l.width() <= 80), "{zh}");
}

#[test]
fn a_frame_beyond_the_end_is_a_clear_error() {
    let (code, _, err) = run(&["replay", "handshake", "--frame", "99"]);
    assert_eq!(code, 2);
    assert!(err.contains("no frame 99 (7 frame(s))"), "{err}");
}
