//! Snapshot tests of the ladder and table renderings of recorded captures.

mod common;

use wirelab::render::ladder::LadderRenderer;
use wirelab::render::table::TableRenderer;
use wirelab::replay::{replay_into, Filter};

fn render(file: &str, table: bool) -> String {
    colored::control::set_override(false);
    let path = common::captures_dir().join(file);
    let mut out = Vec::new();
    if table {
        replay_into(&path, &mut TableRenderer::new(&mut out), &Filter::default()).unwrap();
    } else {
        replay_into(&path, &mut LadderRenderer::new(&mut out), &Filter::default()).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn ladder_handshake_echo_teardown() {
    let text = render("lo_handshake_echo_teardown.pcap", false);
    assert!(text.lines().all(|l| l.chars().count() <= 100), "fits 100 columns");
    insta::assert_snapshot!(text);
}

#[test]
fn ladder_refused_and_udp_unreachable() {
    insta::assert_snapshot!("refused", render("lo_refused_rst.pcap", false));
    insta::assert_snapshot!("udp_unreachable", render("lo_udp_icmp_port_unreachable.pcap", false));
}

#[test]
fn table_zero_window_and_retransmissions() {
    insta::assert_snapshot!("zero_window", render("lo_snaplen96_zero_window.pcap", true));
    insta::assert_snapshot!("retransmissions", render("netns_retransmissions.pcap", true));
}
