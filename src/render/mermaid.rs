//! Mermaid `sequenceDiagram` text: one participant per endpoint, one message
//! line per packet — for lab reports in Markdown (GitHub and mdBook render it).

use super::ladder::tcp_label;
use super::Renderer;
use crate::analyze::{Analyzer, FrameRecord};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

/// Writes a Mermaid sequence diagram.
pub struct MermaidRenderer<W: Write> {
    out: W,
    /// Endpoint → participant id, in order of appearance.
    ids: HashMap<(IpAddr, Option<u16>), String>,
    started: bool,
    /// Raw sequence numbers instead of relative ones.
    pub absolute: bool,
}

/// Mermaid reads `;` as a statement end and `#` as an entity: keep them out.
fn clean(s: &str) -> String {
    s.replace([';', '#'], ",")
}

impl<W: Write> MermaidRenderer<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W) -> Self {
        MermaidRenderer { out, ids: HashMap::new(), started: false, absolute: false }
    }

    fn participant(&mut self, ip: IpAddr, port: Option<u16>) -> io::Result<String> {
        if let Some(id) = self.ids.get(&(ip, port)) {
            return Ok(id.clone());
        }
        let id = format!("P{}", self.ids.len());
        let label = match port {
            Some(p) => SocketAddr::new(ip, p).to_string(),
            None => ip.to_string(),
        };
        writeln!(self.out, "    participant {id} as {}", clean(&label))?;
        self.ids.insert((ip, port), id.clone());
        Ok(id)
    }

    /// A `%%` comment line (starts the diagram if needed); a newline in
    /// `text` would end the comment, so there is none.
    pub fn comment(&mut self, text: &str) -> io::Result<()> {
        self.start()?;
        writeln!(self.out, "    %% {}", text.replace('\n', " "))
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            writeln!(self.out, "sequenceDiagram")?;
            self.started = true;
        }
        Ok(())
    }

    /// The message text of a frame.
    fn text(&self, rec: &FrameRecord) -> String {
        if let Some(t) = &rec.tcp {
            let mut s = tcp_label(t, self.absolute);
            let flags: Vec<&str> = t.expert.names().filter(|n| *n != "reused_ports").collect();
            if !flags.is_empty() {
                s.push_str(&format!(" [{}]", flags.join(", ")));
            }
            return s;
        }
        if let Some(u) = &rec.udp {
            return format!("UDP len={}", u.len);
        }
        if let Some(i) = &rec.icmp {
            return format!("{} {}", if i.msg.v6 { "ICMPv6" } else { "ICMP" }, i.msg.describe());
        }
        "other".into()
    }
}

impl<W: Write> Renderer for MermaidRenderer<W> {
    fn frame(&mut self, rec: &FrameRecord, _: &Analyzer) -> io::Result<()> {
        let (Some(src), Some(dst)) = (rec.src, rec.dst) else { return Ok(()) };
        self.start()?;
        let a = self.participant(src, rec.sport)?;
        let b = self.participant(dst, rec.dport)?;
        let text = clean(&self.text(rec));
        // A message to itself is drawn by Mermaid too (two sockets, one address and port never occur).
        writeln!(self.out, "    {a}->>{b}: {} {text}", rec.frame)
    }

    fn finish(&mut self, _: &Analyzer) -> io::Result<()> {
        self.start()?;
        self.out.flush()
    }
}
