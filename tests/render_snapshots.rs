//! Snapshot tests of the ladder, table and lab renderings: recorded captures,
//! `lab show`, and a lab run fed with recorded events (the engine itself is
//! live), in English and Chinese, at 80, 100 and 120 columns.

mod common;

use std::ops::ControlFlow;
use unicode_width::UnicodeWidthStr;
use wirelab::analyze::{Analyzer, FrameRecord};
use wirelab::i18n::{with_lang, Lang};
use wirelab::lab::events::{CallOutcome, Event, Holder, LabSink, Note, Observed, StateRow};
use wirelab::lab::procnet::{KernelSocket, Proto};
use wirelab::lab::render::TerminalSink;
use wirelab::lab::spec::{Call, Expectation, PacketPattern};
use wirelab::render::ladder::LadderRenderer;
use wirelab::render::table::TableRenderer;
use wirelab::replay::{replay_into, Filter};
use wirelab::source::file::CaptureReader;
use wirelab::source::live::CaptureStats;

fn render(file: &str, table: bool) -> String {
    render_at(file, table, 100)
}

fn render_at(file: &str, table: bool, width: usize) -> String {
    colored::control::set_override(false);
    let path = common::captures_dir().join(file);
    let mut out = Vec::new();
    if table {
        let mut t = TableRenderer::new(&mut out);
        t.width = width;
        replay_into(&path, &mut t, &Filter::default()).unwrap();
    } else {
        let mut l = LadderRenderer::new(&mut out);
        l.width = width;
        replay_into(&path, &mut l, &Filter::default()).unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// Fails unless every line of `text` fits in `width` display columns.
fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(line.width() <= width, "{} columns > {width}:\n{line}", line.width());
    }
}

#[test]
fn ladder_handshake_echo_teardown() {
    let text = render("lo_handshake_echo_teardown.pcap", false);
    assert_fits(&text, 100);
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

#[test]
fn chinese_replay_narrow_and_wide() {
    with_lang(Lang::Zh, || {
        for (name, file) in [("echo", "lo_handshake_echo_teardown.pcap"), ("udp", "lo_udp_icmp_port_unreachable.pcap")]
        {
            for width in [80, 120] {
                let text = render_at(file, false, width);
                assert_fits(&text, width);
                insta::assert_snapshot!(format!("zh_replay_{name}_{width}"), text);
            }
        }
        // A bulk transfer's summary line and long sequence numbers on narrow arrows.
        let text = render_at("file-download.pcap", false, 80);
        assert_fits(&text, 80);
        insta::assert_snapshot!("zh_replay_file_download_80", text);
        let text = render_at("netns_retransmissions.pcap", true, 80);
        assert_fits(&text, 80);
        insta::assert_snapshot!("zh_table_retransmissions_80", text);
    });
}

#[test]
fn english_replay_narrow() {
    let text = render_at("lo_handshake_echo_teardown.pcap", false, 80);
    assert_fits(&text, 80);
    insta::assert_snapshot!("en_replay_echo_80", text);
}

fn show(id: &str, width: usize) -> String {
    colored::control::set_override(false);
    let lab = wirelab::lab::catalogue(&[]).find(id).unwrap();
    let mut out = Vec::new();
    wirelab::lab::render::show(&lab, width, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn chinese_lab_show_narrow_and_wide() {
    with_lang(Lang::Zh, || {
        for width in [80, 120] {
            let text = show("handshake", width);
            assert_fits(&text, width);
            insta::assert_snapshot!(format!("zh_lab_show_handshake_{width}"), text);
        }
    });
}

/// The handshake lab as the engine reports it, with the packets of its
/// recording (captures/handshake.pcap) and the kernel rows a run shows; the
/// last step carries one failing expectation so both marks are drawn.
fn recorded_handshake_run(width: usize) -> String {
    colored::control::set_override(false);
    let lab = wirelab::lab::catalogue(&[]).find("handshake").unwrap().lab;
    let mut analyzer = Analyzer::new();
    let mut recs: Vec<FrameRecord> = Vec::new();
    let mut bytes: Vec<(Vec<u8>, wirelab::source::LinkType, u32)> = Vec::new();
    let mut reader = CaptureReader::open(&common::captures_dir().join("handshake.pcap")).unwrap();
    reader
        .for_each(|f| {
            recs.push(analyzer.on_frame(f));
            bytes.push((f.data.to_vec(), f.link, f.orig_len));
            ControlFlow::Continue(())
        })
        .unwrap();
    let stream = analyzer.stream(0).unwrap();
    let (client, server) = if stream.client == Some(0) { (stream.a, stream.b) } else { (stream.b, stream.a) };
    let unbound = "0.0.0.0:0".parse().unwrap();
    let row = |holder: Holder, local, remote, state, rx_queue, timer_s| StateRow {
        holder,
        socket: Some(KernelSocket {
            proto: Proto::Tcp,
            local,
            remote,
            state,
            tx_queue: 0,
            rx_queue,
            timer_s,
            timer_kind: 0,
            inode: 1,
        }),
        unread: None,
    };
    let actor = |a: &str| Holder::Actor(a.to_string());
    let listening = row(actor("server"), server, unbound, "LISTEN", 0, None);
    // The kernel rows after each step (None: unchanged, not shown).
    let rows_after = |n: usize| -> Option<Vec<StateRow>> {
        Some(match n {
            1 => vec![StateRow { holder: actor("server"), socket: None, unread: None }],
            3 => vec![listening.clone()],
            4 => vec![listening.clone(), StateRow { holder: actor("client"), socket: None, unread: None }],
            5 => vec![
                row(actor("server"), server, unbound, "LISTEN", 1, None),
                row(actor("client"), client, server, "ESTABLISHED", 0, None),
                row(Holder::AcceptQueue("server".into()), server, client, "ESTABLISHED", 0, None),
            ],
            6 => vec![
                listening.clone(),
                row(actor("client"), client, server, "ESTABLISHED", 0, None),
                row(actor("conn"), server, client, "ESTABLISHED", 0, None),
            ],
            7 => vec![
                listening.clone(),
                row(actor("client"), client, server, "FIN_WAIT2", 0, None),
                row(actor("conn"), server, client, "CLOSE_WAIT", 1, None),
            ],
            8 => vec![listening.clone(), row(actor("client"), client, server, "TIME_WAIT", 0, Some(59.9))],
            9 => vec![row(actor("client"), client, server, "TIME_WAIT", 0, Some(59.8))],
            _ => return None,
        })
    };
    let frames_of = |n: usize| match n {
        5 => &recs[0..3],
        7 => &recs[3..5],
        8 => &recs[5..7],
        _ => &recs[0..0],
    };
    let label = |r: &FrameRecord| {
        let tcp = r.tcp.expect("TCP");
        wirelab::render::ladder::tcp_label(&tcp, false).split(' ').next().unwrap().to_string()
    };

    let mut out = Vec::new();
    let mut sink = TerminalSink::with_width(&mut out, width);
    let (mut passed, mut failed) = (0, 0);
    sink.event(&Event::Start { lab: &lab, capturing: true }, &analyzer).unwrap();
    let of = lab.steps.len();
    let mut fd = 3;
    for (i, spanned) in lab.steps.iter().enumerate() {
        let (n, step) = (i + 1, spanned.get_ref());
        let signature = wirelab::lab::exec::signature(&step.call, Some(server));
        sink.event(&Event::Step { n, of, step, signature: &signature, asking: false }, &analyzer).unwrap();
        let mut outcome = CallOutcome { ok: true, ret: Some(0), ..Default::default() };
        match &step.call {
            Call::Socket { .. } | Call::Accept { .. } => {
                outcome.ret = Some(fd);
                outcome.returns_fd = true;
                fd += 1;
                if matches!(step.call, Call::Accept { .. }) {
                    outcome.notes.push(Note::ConnectionFrom { peer: client });
                }
            }
            Call::Bind { .. } => outcome.notes.push(Note::KernelChosePort { port: server.port() }),
            Call::Connect { .. } => outcome.notes.push(Note::EphemeralPort { local: client }),
            _ => {}
        }
        sink.event(&Event::Call { n, step, signature: &signature, outcome: &outcome }, &analyzer).unwrap();
        for rec in frames_of(n) {
            let (data, link, orig_len) = &bytes[rec.frame as usize - 1];
            let frame = wirelab::source::Frame {
                number: rec.frame,
                ts: rec.ts,
                link: *link,
                data,
                orig_len: *orig_len,
                comment: None,
            };
            sink.event(&Event::Packet { n, rec, frame: &frame }, &analyzer).unwrap();
        }
        if let Some(rows) = rows_after(n) {
            sink.event(&Event::States { n, rows: &rows, changed: true }, &analyzer).unwrap();
        }
        let mut expectations = step.expect.list();
        if n == of {
            expectations.push(Expectation::Packets(vec![PacketPattern::Udp]));
        }
        for e in &expectations {
            let observed = match e {
                Expectation::Packets(_) => Observed::Packets(frames_of(n).iter().map(label).collect()),
                Expectation::Errno(_) => Observed::Errno(None),
                Expectation::State { of, state } => {
                    Observed::State { of: of.clone().unwrap_or_else(|| step.actor.clone()), state: state.name() }
                }
                other => panic!("the handshake lab has no {other:?}"),
            };
            let pass = !matches!(e, Expectation::Packets(p) if p.contains(&PacketPattern::Udp));
            if pass {
                passed += 1;
            } else {
                failed += 1;
            }
            sink.event(&Event::Expect { n, pass, expectation: e, observed: &observed }, &analyzer).unwrap();
        }
        if step.quiz.is_some() {
            let (answer, truth, right) = if n == 5 { ("1", "1", true) } else { ("1", "0", false) };
            let ev = Event::Quiz { n, step, answer, truth: Some(truth.to_string()), reason: None, right };
            sink.event(&ev, &analyzer).unwrap();
        }
    }
    let stats = Some(CaptureStats { received: recs.len() as u64, dropped: 0 });
    let end = Event::End { passed, failed, skipped: 0, stats, lab: &lab, quiz: Some((1, 2)) };
    sink.event(&end, &analyzer).unwrap();
    drop(sink);
    String::from_utf8(out).unwrap()
}

#[test]
fn lab_run_from_recorded_events_narrow_and_wide() {
    for (lang, name) in [(Lang::Zh, "zh"), (Lang::En, "en")] {
        with_lang(lang, || {
            for width in [80, 120] {
                let text = recorded_handshake_run(width);
                assert_fits(&text, width);
                insta::assert_snapshot!(format!("{name}_lab_run_handshake_{width}"), text);
            }
        });
    }
}

/// The lab wire's recordings: a lost ACK (an arrow that stops at ✗, and the
/// receiver's state that does not move), a copy and a swap the wire made,
/// English and Chinese, 80 and 120 columns. The wire's actions come back
/// from the saved file's packet comments.
#[test]
fn lab_wire_recordings_both_languages_narrow_and_wide() {
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        with_lang(lang, || {
            for file in ["lost-last-ack.pcapng", "duplicate.pcapng", "reorder.pcapng"] {
                for width in [80, 120] {
                    let text = render_at(file, false, width);
                    assert_fits(&text, width);
                    assert!(text.contains('✗') || !file.starts_with("lost"), "{file}: no lost arrow\n{text}");
                    let name = file.trim_end_matches(".pcapng");
                    insta::assert_snapshot!(format!("{tag}_wire_{name}_{width}"), text);
                }
            }
        });
    }
}
