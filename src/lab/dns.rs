//! The dns lab's two sides: a tiny DNS server answering A questions from a
//! table (on the lab's own UDP socket, in a thread), and a lookup — a DNS
//! query over UDP, or the hosts file (no packet). Messages are built and
//! parsed by `simple-dns`; nothing here ever talks to a real DNS server.

use simple_dns::rdata::{RData, A};
use simple_dns::{Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};
use socket2::Socket;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Time to live of the answers (seconds): short, as a lab's names are.
const TTL: u32 = 60;
/// How often the server looks at its stop flag.
const POLL: Duration = Duration::from_millis(50);

/// A datagram of at most one Ethernet payload (DNS over UDP stays far below).
fn recv_from(sock: &Socket) -> io::Result<(Vec<u8>, SocketAddr)> {
    let (data, from) = super::transfer::recv_datagram(sock, 1500)?;
    Ok((data, from.ok_or_else(|| io::Error::other("not an inet peer"))?))
}

/// The reply to a query: A answers from `records`, NXDOMAIN for other names.
fn reply(query: &[u8], records: &BTreeMap<String, String>) -> Option<Vec<u8>> {
    let q = Packet::parse(query).ok()?;
    if q.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    let mut r = Packet::new_reply(q.id());
    r.set_flags(PacketFlag::AUTHORITATIVE_ANSWER | PacketFlag::RECURSION_DESIRED);
    let mut known = false;
    for question in &q.questions {
        r.questions.push(question.clone());
        let name = question.qname.to_string();
        if let Some(addr) = records.get(name.trim_end_matches('.')).and_then(|a| a.parse::<Ipv4Addr>().ok()) {
            known = true;
            if question.qtype == QTYPE::TYPE(TYPE::A) {
                let rr = ResourceRecord::new(
                    question.qname.clone(),
                    CLASS::IN,
                    TTL,
                    RData::A(A { address: u32::from(addr) }),
                );
                r.answers.push(rr);
            }
        }
    }
    if !known {
        *r.rcode_mut() = RCODE::NameError;
    }
    r.build_bytes_vec().ok()
}

/// Answers queries on `sock` until `stop`; returns how many it answered.
pub fn serve(sock: Socket, records: BTreeMap<String, String>, stop: Arc<AtomicBool>) -> io::Result<u64> {
    sock.set_read_timeout(Some(POLL))?;
    let mut answered = 0;
    while !stop.load(Ordering::Relaxed) {
        match recv_from(&sock) {
            Ok((query, from)) => {
                if let Some(bytes) = reply(&query, &records) {
                    sock.send_to(&bytes, &from.into())?;
                    answered += 1;
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(answered)
}

/// Asks `server` for the A records of `name` from `sock`; an empty answer is NXDOMAIN.
pub fn query(sock: &Socket, server: SocketAddr, name: &str, timeout: Duration) -> io::Result<Vec<IpAddr>> {
    let id = 0x7700 | (name.len() as u16 & 0xff);
    let mut q = Packet::new_query(id);
    q.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).map_err(|e| io::Error::other(format!("{name:?}: {e}")))?;
    q.questions.push(Question::new(qname, TYPE::A.into(), CLASS::IN.into(), false));
    let bytes = q.build_bytes_vec().map_err(io::Error::other)?;
    sock.send_to(&bytes, &server.into())?;
    sock.set_read_timeout(Some(timeout))?;
    loop {
        let (answer, from) = recv_from(sock)?;
        let Ok(p) = Packet::parse(&answer) else { continue };
        if from != server || p.id() != id {
            continue;
        }
        return Ok(p
            .answers
            .iter()
            .filter_map(|rr| match &rr.rdata {
                RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
                _ => None,
            })
            .collect());
    }
}

/// The addresses /etc/hosts gives `name` (what gethostbyname() finds before
/// asking DNS); read directly, so no lookup can leave this machine.
pub fn from_hosts_file(name: &str) -> Vec<IpAddr> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    parse_hosts(&text, name)
}

fn parse_hosts(text: &str, name: &str) -> Vec<IpAddr> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let addr: IpAddr = words.next()?.parse().ok()?;
            words.any(|w| w.eq_ignore_ascii_case(name)).then_some(addr)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_lines() {
        let text = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # v6\n# 10.0.0.1 localhost\n";
        let a = parse_hosts(text, "localhost");
        assert_eq!(a, vec!["127.0.0.1".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]);
        assert!(parse_hosts(text, "www.course.test").is_empty());
    }

    #[test]
    fn the_server_answers_known_names_and_nxdomain_others() {
        let records: BTreeMap<String, String> = [("www.course.test".to_string(), "127.0.0.1".to_string())].into();
        let mut q = Packet::new_query(9);
        q.questions.push(Question::new(
            Name::new_unchecked("www.course.test"),
            TYPE::A.into(),
            CLASS::IN.into(),
            false,
        ));
        let r = reply(&q.build_bytes_vec().unwrap(), &records).unwrap();
        let d = crate::decode::dns::DnsInfo::parse(&r).unwrap();
        assert_eq!((d.id, d.response, d.answers[0]), (9, true, Some("127.0.0.1".parse().unwrap())));
        let mut q = Packet::new_query(10);
        q.questions.push(Question::new(
            Name::new_unchecked("nope.course.test"),
            TYPE::A.into(),
            CLASS::IN.into(),
            false,
        ));
        let d = crate::decode::dns::DnsInfo::parse(&reply(&q.build_bytes_vec().unwrap(), &records).unwrap()).unwrap();
        assert_eq!(d.rcode_name(), "NXDOMAIN");
    }
}
