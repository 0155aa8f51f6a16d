//! The kernel's table of the lab's sockets. An open socket is found by its
//! inode (the same number /proc/net lists), so two sockets sharing a port are
//! never confused; what remains of a closed one (TIME_WAIT, a FIN exchange
//! still running) has no inode any more and is found by its 4-tuple.

use super::events::{Holder, StateRow};
use super::exec::Actor;
use super::procnet::{self, KernelSocket, Proto};
use crate::source::wire::Host;
use std::collections::BTreeSet;

/// Rows for every socket the lab holds (a row without kernel data for a
/// socket the kernel does not list yet), what remains of closed ones, and
/// connections waiting in the lab's accept queues.
pub fn rows(actors: &[Actor], ports: &BTreeSet<u16>, hosts: &[&Host]) -> Vec<StateRow> {
    if hosts.is_empty() {
        return table(actors, ports, &procnet::snapshot());
    }
    // The lab wire: each host's namespace has its own tables.
    let mut kernel = Vec::new();
    for h in hosts {
        kernel.extend(h.ns.run(procnet::snapshot).unwrap_or_default());
    }
    table(actors, ports, &kernel)
}

/// What a recv() would get now: FIONREAD (SIOCINQ) on the socket itself.
fn unread_bytes(sock: &socket2::Socket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: the fd is open (borrowed from `sock`) and FIONREAD writes one c_int to `n`.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::FIONREAD, &mut n) };
    (r == 0 && n >= 0).then_some(n as u64)
}

fn table(actors: &[Actor], ports: &BTreeSet<u16>, kernel: &[KernelSocket]) -> Vec<StateRow> {
    let mut out: Vec<StateRow> = Vec::new();
    for a in actors {
        let proto = if a.stream { Proto::Tcp } else { Proto::Udp };
        let open = a.sock.is_some();
        let mut found: Vec<&KernelSocket> = match a.inode {
            Some(ino) if open => kernel.iter().filter(|r| r.inode == ino && r.proto == proto).collect(),
            _ => Vec::new(),
        };
        // A connection that finished its FIN exchange lives on as a TIME_WAIT
        // mini-socket without an inode, whether or not the program still holds
        // the fd; so does a closed socket finishing its FIN exchange.
        if found.is_empty() {
            if let (Some(local), Some(peer)) = (a.local, a.peer) {
                found = kernel
                    .iter()
                    .filter(|r| r.inode == 0 && r.proto == proto && r.local == local && r.remote == peer)
                    .collect();
            }
        }
        let unread = a.sock.as_ref().and_then(unread_bytes);
        if found.is_empty() && open {
            out.push(StateRow { holder: Holder::Actor(a.name.clone()), socket: None, unread });
        }
        for r in found {
            out.push(StateRow { holder: Holder::Actor(a.name.clone()), socket: Some(r.clone()), unread });
        }
    }
    // Connections the kernel completed for a listener, not accepted yet.
    for a in actors.iter().filter(|a| a.listening && a.sock.is_some()) {
        let Some(local) = a.local else { continue };
        for r in kernel {
            let queued = r.proto == Proto::Tcp
                && r.inode == 0
                && matches!(r.state, "ESTABLISHED" | "SYN_RECV")
                && r.local.port() == local.port()
                && (r.local.ip() == local.ip() || local.ip().is_unspecified())
                && ports.contains(&r.remote.port())
                && !out.iter().any(|s| s.socket.as_ref().is_some_and(|k| k.local == r.local && k.remote == r.remote));
            if queued {
                out.push(StateRow {
                    holder: Holder::AcceptQueue(a.name.clone()),
                    socket: Some(r.clone()),
                    unread: None,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::capture::Claim;

    fn row(local: &str, remote: &str, state: &'static str, inode: u64) -> KernelSocket {
        KernelSocket {
            proto: Proto::Tcp,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            state,
            tx_queue: 0,
            rx_queue: 0,
            timer_s: None,
            timer_kind: 0,
            inode,
        }
    }

    fn actor(name: &str, local: &str, peer: Option<&str>, inode: Option<u64>, listening: bool) -> Actor {
        Actor {
            name: name.into(),
            sock: None,
            stream: true,
            v6: false,
            local: Some(local.parse().unwrap()),
            peer: peer.map(|p| p.parse().unwrap()),
            listening,
            inode,
            timeout: None,
            claim: Claim::Sole,
        }
    }

    /// `reuseaddr`: a closed listener and a new one on the same port; the
    /// closed one must not take the new one's LISTEN row.
    #[test]
    fn a_closed_listener_does_not_claim_the_new_listeners_row() {
        let kernel = [row("127.0.0.1:5000", "0.0.0.0:0", "LISTEN", 77)];
        let actors = [
            actor("server", "127.0.0.1:5000", None, None, true),
            actor("server3", "127.0.0.1:5000", None, Some(77), true),
        ];
        // Only open sockets count as holders in `table`: give server3 a socket stand-in.
        let rows = table_with_open(&actors, &[1], &kernel);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].holder, Holder::Actor("server3".into()));
    }

    /// After `server.close()`, the accepted `conn` (same port) keeps its row.
    #[test]
    fn the_accepted_socket_keeps_its_row_after_the_listener_closes() {
        let kernel = [
            row("127.0.0.1:5000", "127.0.0.1:40000", "ESTABLISHED", 88),
            row("127.0.0.1:40000", "127.0.0.1:5000", "TIME_WAIT", 0),
        ];
        let actors = [
            actor("server", "127.0.0.1:5000", None, None, true),
            actor("client", "127.0.0.1:40000", Some("127.0.0.1:5000"), None, false),
            actor("conn", "127.0.0.1:5000", Some("127.0.0.1:40000"), Some(88), false),
        ];
        let rows = table_with_open(&actors, &[2], &kernel);
        let names: Vec<(&str, &str)> = rows.iter().map(|r| (r.holder.actor(), r.state())).collect();
        assert_eq!(names, [("client", "TIME_WAIT"), ("conn", "ESTABLISHED")]);
    }

    /// `table` keys "open" on `sock.is_some()`; tests cannot make real sockets
    /// cheaply for every row, so they mark which actors are open by index.
    fn table_with_open(actors: &[Actor], open: &[usize], kernel: &[KernelSocket]) -> Vec<StateRow> {
        let owned: Vec<Actor> = actors
            .iter()
            .enumerate()
            .map(|(i, a)| Actor {
                name: a.name.clone(),
                sock: open
                    .contains(&i)
                    .then(|| socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap()),
                stream: a.stream,
                v6: a.v6,
                local: a.local,
                peer: a.peer,
                listening: a.listening,
                inode: a.inode,
                timeout: None,
                claim: Claim::Sole,
            })
            .collect();
        let ports: BTreeSet<u16> = [5000, 40000].into_iter().collect();
        table(&owned, &ports, kernel)
    }
}
