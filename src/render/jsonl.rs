//! JSON lines: one object per frame, a stable contract documented in the README.

use super::Renderer;
use crate::analyze::http::{BodyKind, HttpMessage, StartLine};
use crate::analyze::{Analyzer, Cause, FrameRecord, Proto, TcpRecord};
use crate::decode::{flags, TcpMalformed};
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// Both endpoint states after the frame.
#[derive(Serialize)]
struct States {
    src: &'static str,
    dst: &'static str,
}

/// The JSON object of one frame. Field order is part of the contract.
#[derive(Serialize)]
pub struct JsonFrame {
    frame: u64,
    ts: f64,
    proto: Proto,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<FlagNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq_raw: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_raw: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    len: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    win: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    win_scale: Option<i8>,
    #[serde(skip_serializing_if = "is_not_tcp")]
    mss: Option<Option<u16>>,
    #[serde(skip_serializing_if = "is_not_tcp")]
    wscale: Option<Option<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<ExpertNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dupack_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<States>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_udp_stream: Option<u32>,
    cause: Option<&'static str>,
    #[serde(skip_serializing_if = "ExplainTexts::is_empty")]
    explain: ExplainTexts,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_type: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<DnsJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wire: Option<crate::source::wire::WireMark>,
}

/// A DNS message: question, answers, response code.
#[derive(Serialize)]
struct DnsJson {
    id: u16,
    response: bool,
    name: String,
    qtype: &'static str,
    rcode: &'static str,
    answers: Vec<IpAddr>,
}

/// An HTTP message whose header block the frame completes. Owned, so that
/// `JsonFrame` stays free of lifetimes; built only on such frames.
#[derive(Serialize)]
struct HttpJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    request_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    version: String,
    headers: Vec<(String, String)>,
    body: BodyKind,
    body_len: Option<u64>,
    header_bytes: u32,
    first_frame: u64,
}

impl HttpJson {
    fn new(m: &HttpMessage) -> HttpJson {
        let mut j = HttpJson {
            request_line: None,
            method: None,
            target: None,
            status_line: None,
            status_code: None,
            reason: None,
            version: String::new(),
            headers: m.headers.clone(),
            body: m.body,
            body_len: m.body_len,
            header_bytes: m.header_bytes,
            first_frame: m.first_frame,
        };
        match &m.start {
            StartLine::Request { line, method, target, version } => {
                j.request_line = Some(line.clone());
                j.method = Some(method.clone());
                j.target = Some(target.clone());
                j.version = version.clone();
            }
            StartLine::Response { line, version, code, reason } => {
                j.status_line = Some(line.clone());
                j.status_code = Some(*code);
                j.reason = Some(reason.clone());
                j.version = version.clone();
            }
        }
        j
    }
}

fn is_not_tcp<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// TCP flags serialised as an array of names, without allocating.
struct FlagNames(u16);

impl Serialize for FlagNames {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(flags::NAMES.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| *n))
    }
}

/// Expert flags serialised as an array of tshark names, without allocating.
struct ExpertNames(crate::analyze::Expert);

impl Serialize for ExpertNames {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.names())
    }
}

/// The explanation sentences (English) of a frame.
struct ExplainTexts([Option<crate::analyze::Explain>; 2]);

impl ExplainTexts {
    fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }
}

impl Serialize for ExplainTexts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().flatten().map(|e| e.en()))
    }
}

impl JsonFrame {
    /// Builds the JSON object of a frame.
    pub fn new(rec: &FrameRecord) -> JsonFrame {
        let tcp: Option<&TcpRecord> = rec.tcp.as_ref();
        // A damaged header: only what tshark decodes before it gives up.
        let too_short = tcp.is_some_and(|t| matches!(t.malformed, Some(TcpMalformed::HeaderTooShort(_))));
        let beyond = tcp.is_some_and(|t| matches!(t.malformed, Some(TcpMalformed::HeaderBeyondSegment(_))));
        let whole = tcp.filter(|_| !too_short);
        JsonFrame {
            payload: rec.payload.as_ref().map(super::payload::preview),
            http: rec.http.as_deref().map(HttpJson::new),
            frame: rec.frame,
            ts: rec.ts.as_f64(),
            proto: rec.proto,
            src: rec.src,
            dst: rec.dst,
            sport: rec.sport,
            dport: rec.dport,
            stream: tcp.map(|t| t.stream).or(rec.udp.map(|u| u.stream)),
            flags: whole.map(|t| FlagNames(t.flags)),
            seq: tcp.map(|t| t.seq),
            ack: whole.map(|t| t.ack),
            seq_raw: tcp.map(|t| t.seq_raw),
            ack_raw: whole.map(|t| t.ack_raw),
            len: tcp.filter(|_| !beyond).map(|t| t.len).or(rec.udp.map(|u| u.len)),
            win: whole.map(|t| t.win),
            win_scale: whole.map(|t| t.win_scale),
            mss: whole.map(|t| t.mss),
            wscale: whole.map(|t| t.wscale),
            analysis: tcp.map(|t| ExpertNames(t.expert)),
            dupack_num: tcp.filter(|t| t.dupack_num > 0).map(|t| t.dupack_num),
            state: tcp.map(|t| States { src: t.state_src.name(), dst: t.state_dst.name() }),
            icmp_type: rec.icmp.map(|i| i.msg.icmp_type),
            icmp_code: rec.icmp.map(|i| i.msg.code),
            icmp_udp_stream: rec.icmp.and_then(|i| i.udp_stream),
            cause: rec.cause.map(Cause::en),
            explain: ExplainTexts(rec.explain),
            truncated: rec.truncated,
            link_type: rec.src.is_none().then_some(rec.link.0),
            comment: rec.comment.as_deref().map(str::to_owned),
            wire: rec.wire,
            dns: rec.udp.and_then(|u| u.dns).map(|d| DnsJson {
                id: d.id,
                response: d.response,
                name: d.name().to_string(),
                qtype: d.qtype_name(),
                rcode: d.rcode_name(),
                answers: d.answers.iter().flatten().copied().collect(),
            }),
            malformed: tcp.and_then(|t| t.malformed).map(|m| match m {
                TcpMalformed::HeaderTooShort(_) => "tcp_header_too_short",
                TcpMalformed::HeaderBeyondSegment(_) => "tcp_header_beyond_segment",
            }),
        }
    }
}

/// Writes one JSON object per frame.
pub struct JsonlRenderer<W: Write> {
    out: W,
}

impl<W: Write> JsonlRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> Self {
        JsonlRenderer { out }
    }
}

impl<W: Write> Renderer for JsonlRenderer<W> {
    fn frame(&mut self, rec: &FrameRecord, _: &Analyzer) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &JsonFrame::new(rec))?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self, _: &Analyzer) -> io::Result<()> {
        self.out.flush()
    }
}
