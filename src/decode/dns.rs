//! DNS messages (RFC 1035) on UDP port 53 — the name lookup before a
//! connect() — parsed by `simple-dns` into a small summary the ladder and
//! JSON show: question, answers, response code.

use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The DNS port (RFC 1035 §4.2.1); like tshark, wirelab decodes DNS there only.
pub const PORT: u16 = 53;
/// Longest name kept (longer ones end in "…").
const NAME_MAX: usize = 64;
/// Answers kept.
const ANSWERS_MAX: usize = 2;

/// What a DNS message says, in a fixed size (frame records are `Copy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsInfo {
    /// Transaction id.
    pub id: u16,
    /// A response (QR = 1) rather than a query.
    pub response: bool,
    /// Response code (0 no error, 3 NXDOMAIN …).
    pub rcode: u16,
    /// The first question's type (1 A, 28 AAAA …).
    pub qtype: u16,
    name: [u8; NAME_MAX],
    name_len: u8,
    /// The first addresses answered (A and AAAA records).
    pub answers: [Option<IpAddr>; ANSWERS_MAX],
    /// How many answer records there were.
    pub answer_count: u16,
}

impl DnsInfo {
    /// Parses a UDP payload; None when it is not a DNS message.
    pub fn parse(payload: &[u8]) -> Option<DnsInfo> {
        let p = Packet::parse(payload).ok()?;
        let q = p.questions.first();
        let full = q.map(|q| q.qname.to_string()).unwrap_or_default();
        let mut name = [0u8; NAME_MAX];
        let mut len = full.len().min(NAME_MAX);
        // Cut on a character boundary.
        while !full.is_char_boundary(len) {
            len -= 1;
        }
        name[..len].copy_from_slice(&full.as_bytes()[..len]);
        let mut answers = [None; ANSWERS_MAX];
        let addrs = p.answers.iter().filter_map(|rr| match &rr.rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(a.address))),
            _ => None,
        });
        for (slot, a) in answers.iter_mut().zip(addrs) {
            *slot = Some(a);
        }
        Some(DnsInfo {
            id: p.id(),
            response: p.has_flags(PacketFlag::RESPONSE),
            rcode: p.rcode() as u16,
            qtype: q.map(|q| u16::from(q.qtype)).unwrap_or(0),
            name,
            name_len: len as u8,
            answers,
            answer_count: p.answers.len() as u16,
        })
    }

    /// The queried name (cut at 64 bytes).
    pub fn name(&self) -> &str {
        std::str::from_utf8(&self.name[..self.name_len as usize]).unwrap_or("")
    }

    /// The question type's mnemonic.
    pub fn qtype_name(&self) -> &'static str {
        match self.qtype {
            1 => "A",
            2 => "NS",
            5 => "CNAME",
            6 => "SOA",
            12 => "PTR",
            15 => "MX",
            16 => "TXT",
            28 => "AAAA",
            33 => "SRV",
            65 => "HTTPS",
            255 => "ANY",
            _ => "?",
        }
    }

    /// The response code's mnemonic (RFC 1035 §4.1.1).
    pub fn rcode_name(&self) -> &'static str {
        match self.rcode {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            _ => "?",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_answer() {
        // The example query of simple-dns' docs: google.com A.
        let q = b"\x00\x03\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06google\x03com\x00\x00\x01\x00\x01";
        let d = DnsInfo::parse(q).unwrap();
        assert_eq!((d.id, d.response, d.name(), d.qtype_name()), (3, false, "google.com", "A"));
        let mut reply = Packet::new_reply(3);
        reply.questions.push(simple_dns::Question::new(
            simple_dns::Name::new_unchecked("www.course.test"),
            simple_dns::TYPE::A.into(),
            simple_dns::CLASS::IN.into(),
            false,
        ));
        reply.answers.push(simple_dns::ResourceRecord::new(
            simple_dns::Name::new_unchecked("www.course.test"),
            simple_dns::CLASS::IN,
            60,
            RData::A(simple_dns::rdata::A { address: u32::from(Ipv4Addr::new(127, 0, 0, 1)) }),
        ));
        let bytes = reply.build_bytes_vec().unwrap();
        let d = DnsInfo::parse(&bytes).unwrap();
        assert!(d.response);
        assert_eq!(d.answers[0], Some("127.0.0.1".parse().unwrap()));
        assert_eq!(d.rcode_name(), "NOERROR");
        assert!(DnsInfo::parse(b"hello").is_none());
    }
}
