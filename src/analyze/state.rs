//! Endpoint TCP states inferred from the segments seen on the wire
//! (RFC 9293 §3.3.2, figure 5). A capture shows packets, not sockets, so each
//! transition is taken at the moment the segment that causes it is sent or
//! received — the state a student would find with `ss` right after the packet.

use crate::analyze::seq;
use crate::decode::flags::{ACK, FIN, RST, SYN};
use serde::Serialize;

/// RFC 9293 connection states (with Linux's underscore spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TcpState {
    /// No connection.
    Closed,
    /// Waiting for a connection request (after `listen()`).
    Listen,
    /// `connect()` sent a SYN and waits for SYN-ACK.
    SynSent,
    /// A SYN arrived and the SYN-ACK went out; waiting for the final ACK.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// This side sent FIN (called `close()`/`shutdown()`), not yet acknowledged.
    FinWait1,
    /// Our FIN was acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// Both sides sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// Closed first and got everything: waits before CLOSED (RFC 9293: 2×MSL,
    /// MSL = 2 min; Linux: a fixed 60 s, TCP_TIMEWAIT_LEN).
    TimeWait,
    /// The peer sent FIN; our application should `close()` (its `recv()` returns b"").
    CloseWait,
    /// We sent our FIN after the peer's; waiting for its ACK.
    LastAck,
}

impl TcpState {
    /// Every state, in the order above.
    pub const ALL: [TcpState; 11] = [
        TcpState::Closed,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::Closing,
        TcpState::TimeWait,
        TcpState::CloseWait,
        TcpState::LastAck,
    ];

    /// The state's name as Linux and RFC 9293 spell it.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::Closing => "CLOSING",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
        }
    }
}

/// What one endpoint's state machine needs to remember.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// Current state.
    pub state: TcpState,
    /// Raw sequence number just after our FIN, once we sent one.
    pub fin_end: Option<u32>,
}

impl Endpoint {
    /// An endpoint whose state is not known yet.
    pub fn new(state: TcpState) -> Self {
        Endpoint { state, fin_end: None }
    }
}

/// Applies one segment, sent by `sender` to `receiver`, to both state machines.
pub fn on_segment(sender: &mut Endpoint, receiver: &mut Endpoint, flags: u16, seq: u32, ack: u32, seglen: u32) {
    use TcpState::*;
    if flags & RST != 0 {
        // RFC 9293 §3.10.7.4: a valid RST moves any synchronized state to CLOSED.
        sender.state = Closed;
        receiver.state = Closed;
        return;
    }
    if flags & SYN != 0 {
        if flags & ACK == 0 {
            // connect(): active open. The receiver moves only when it answers
            // (RFC 9293 §3.3.2: LISTEN → SYN-RECEIVED on "rcv SYN, snd SYN,ACK"):
            // a SYN to a closed port, or one a full accept queue drops, leaves
            // the far end where it was — only a simultaneous open moves it.
            if !matches!(sender.state, SynSent) {
                sender.state = SynSent;
                if receiver.state == SynSent {
                    receiver.state = SynReceived;
                }
            }
        } else {
            // The listener's kernel answers: SYN_RECEIVED; the client completes.
            sender.state = SynReceived;
            if receiver.state == SynSent {
                receiver.state = Established;
            }
        }
        return;
    }
    // The ACK part first: it may acknowledge the receiver's FIN.
    if flags & ACK != 0 {
        if receiver.state == SynReceived {
            receiver.state = Established;
        }
        if sender.state == SynReceived {
            sender.state = Established;
        }
        if let Some(fin_end) = receiver.fin_end {
            if !seq::lt(ack, fin_end) {
                receiver.state = match receiver.state {
                    FinWait1 => FinWait2,
                    Closing => TimeWait,
                    LastAck => Closed,
                    other => other,
                };
            }
        }
    }
    if flags & FIN != 0 && sender.fin_end.is_none() {
        sender.fin_end = Some(seq.wrapping_add(seglen).wrapping_add(1));
        sender.state = match sender.state {
            CloseWait => LastAck,
            Closed | TimeWait | LastAck | Closing => sender.state,
            _ => FinWait1,
        };
        receiver.state = match receiver.state {
            FinWait1 => Closing,
            FinWait2 => TimeWait,
            Closed | TimeWait | Closing | LastAck | CloseWait => receiver.state,
            _ => CloseWait,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TcpState::*;

    #[test]
    fn four_way_close() {
        let (mut c, mut s) = (Endpoint::new(Closed), Endpoint::new(Listen));
        on_segment(&mut c, &mut s, SYN, 100, 0, 0);
        assert_eq!((c.state, s.state), (SynSent, Listen), "no SYN_RECEIVED before the SYN-ACK");
        on_segment(&mut s, &mut c, SYN | ACK, 500, 101, 0);
        assert_eq!((c.state, s.state), (Established, SynReceived));
        on_segment(&mut c, &mut s, ACK, 101, 501, 0);
        assert_eq!((c.state, s.state), (Established, Established));
        on_segment(&mut c, &mut s, FIN | ACK, 101, 501, 0);
        assert_eq!((c.state, s.state), (FinWait1, CloseWait));
        on_segment(&mut s, &mut c, ACK, 501, 102, 0);
        assert_eq!((c.state, s.state), (FinWait2, CloseWait));
        on_segment(&mut s, &mut c, FIN | ACK, 501, 102, 0);
        assert_eq!((c.state, s.state), (TimeWait, LastAck));
        on_segment(&mut c, &mut s, ACK, 102, 502, 0);
        assert_eq!((c.state, s.state), (TimeWait, Closed));
    }

    #[test]
    fn a_refused_or_dropped_syn_never_enters_syn_received() {
        let (mut c, mut s) = (Endpoint::new(Closed), Endpoint::new(Listen));
        on_segment(&mut c, &mut s, SYN, 100, 0, 0);
        on_segment(&mut c, &mut s, SYN, 100, 0, 0);
        assert_eq!(s.state, Listen);
        on_segment(&mut s, &mut c, RST | ACK, 0, 101, 0);
        assert_eq!((c.state, s.state), (Closed, Closed));
    }

    #[test]
    fn simultaneous_close_and_three_way_close() {
        // b's FIN crossed a's FIN on the wire: it does not acknowledge it.
        let (mut a, mut b) = (Endpoint::new(Established), Endpoint::new(Established));
        on_segment(&mut a, &mut b, FIN | ACK, 1, 1, 0);
        on_segment(&mut b, &mut a, FIN | ACK, 1, 1, 0);
        assert_eq!((a.state, b.state), (Closing, LastAck));
        on_segment(&mut a, &mut b, ACK, 2, 2, 0);
        assert_eq!(b.state, Closed);
        on_segment(&mut b, &mut a, ACK, 2, 2, 0);
        assert_eq!(a.state, TimeWait);

        let (mut a, mut b) = (Endpoint::new(Established), Endpoint::new(Established));
        on_segment(&mut a, &mut b, FIN | ACK, 1, 1, 0);
        on_segment(&mut b, &mut a, FIN | ACK, 1, 2, 0); // FIN and ACK combined
        assert_eq!((a.state, b.state), (TimeWait, LastAck));
    }
}
