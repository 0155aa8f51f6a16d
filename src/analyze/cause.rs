//! The socket call (or kernel action) most likely behind a packet, and the
//! one-line explanations shown at the key moments of a connection.

use serde::Serialize;

/// What made a packet appear on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cause {
    /// `connect()` sends SYN.
    Connect,
    /// The kernel retransmits a SYN while `connect()` waits.
    ConnectRetry,
    /// The kernel of a listening socket answers SYN-ACK before any `accept()`.
    ListenSynAck,
    /// `send()`/`sendall()` queued data.
    Send,
    /// `close()` or `shutdown(SHUT_WR)` sends FIN.
    Close,
    /// `send()` then `close()`: data and FIN in one segment.
    SendClose,
    /// `close()` with unread data, or SO_LINGER {on, 0}: RST instead of FIN.
    Abort,
    /// No socket listens on the port: the kernel refuses with RST,ACK.
    Refused,
    /// A segment reached a socket that no longer exists: the kernel answers RST.
    ResetClosed,
    /// The client's kernel completes the handshake; `connect()` returns.
    HandshakeAck,
    /// The kernel acknowledges received data (delayed or quick ACK).
    KernelAck,
    /// The kernel resends data that was not acknowledged in time.
    Retransmit,
    /// `recv()` emptied the buffer, so the kernel advertises the bigger window.
    WindowUpdate,
    /// The receiving application is not calling `recv()`: its buffer is full.
    ZeroWindow,
    /// The kernel probes a zero window.
    ZeroWindowProbe,
    /// SO_KEEPALIVE probe (or zero-window probe Linux-style, seq = next − 1).
    KeepAlive,
    /// The kernel repeats its ACK because a segment is missing.
    DuplicateAck,
    /// `sendto()`/`send()` on a UDP socket.
    SendTo,
    /// No socket is bound to the UDP port: ICMP port unreachable.
    PortUnreachable,
    /// ICMP echo (ping).
    Ping,
}

impl Cause {
    /// Short text for the ladder and JSON.
    pub fn text(self) -> &'static str {
        match self {
            Cause::Connect => "connect()",
            Cause::ConnectRetry => "kernel: SYN again (connect() still waiting)",
            Cause::ListenSynAck => "kernel of listen()ing socket (before accept())",
            Cause::Send => "send()/sendall()",
            Cause::Close => "close() or shutdown(SHUT_WR)",
            Cause::SendClose => "send() then close()",
            Cause::Abort => "close() with unread data, or SO_LINGER 0",
            Cause::Refused => "kernel: no listener on port",
            Cause::ResetClosed => "kernel: socket already gone",
            Cause::HandshakeAck => "kernel: ACK, connect() returns",
            Cause::KernelAck => "kernel: ACK",
            Cause::Retransmit => "kernel: retransmission",
            Cause::WindowUpdate => "recv() made room: window update",
            Cause::ZeroWindow => "receiver not calling recv(): buffer full",
            Cause::ZeroWindowProbe => "kernel: zero-window probe",
            Cause::KeepAlive => "kernel: keep-alive / window probe",
            Cause::DuplicateAck => "kernel: duplicate ACK (segment missing)",
            Cause::SendTo => "sendto()/send()",
            Cause::PortUnreachable => "kernel: no socket on UDP port",
            Cause::Ping => "ping",
        }
    }
}

/// A plain-language explanation for a key moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Explain {
    /// Handshake 1/3.
    HandshakeSyn,
    /// Handshake 2/3.
    HandshakeSynAck,
    /// Handshake 3/3.
    HandshakeAck,
    /// The first FIN of a teardown.
    FirstFin,
    /// The second FIN of a teardown.
    SecondFin,
    /// An endpoint enters TIME_WAIT.
    TimeWait,
    /// A connection refused with RST,ACK.
    Refused,
    /// An abortive close.
    Reset,
    /// A zero window.
    ZeroWindow,
    /// A window update after a zero window.
    WindowReopened,
    /// A retransmission.
    Retransmission,
    /// ICMP port unreachable.
    PortUnreachable,
}

impl Explain {
    /// The English sentence.
    pub fn text(self) -> &'static str {
        match self {
            Explain::HandshakeSyn => "Handshake 1/3: connect() sends SYN with the client's initial sequence number (ISN); relative seq starts at 0.",
            Explain::HandshakeSynAck => "Handshake 2/3: the server's kernel answers SYN-ACK by itself (ack = ISN+1); accept() has not run yet.",
            Explain::HandshakeAck => "Handshake 3/3: the client's ACK completes it; both sides ESTABLISHED, accept() can return.",
            Explain::FirstFin => "Teardown: this side called close()/shutdown(SHUT_WR); the peer's recv() will now return b\"\" (0 bytes).",
            Explain::SecondFin => "Teardown: the other side closes too; its FIN must be ACKed before it is fully CLOSED.",
            Explain::TimeWait => "TIME_WAIT: the side that closed first waits 2×MSL (60 s on Linux) so stray segments die and its last ACK can be resent.",
            Explain::Refused => "Refused: nobody listens on that port, so the kernel answers RST,ACK and connect() fails with ECONNREFUSED (111).",
            Explain::Reset => "Reset: RST aborts the connection at once — no FIN exchange, no TIME_WAIT; the peer sees ECONNRESET (104).",
            Explain::ZeroWindow => "Zero window: the receiver's buffer is full (its application is not calling recv()); the sender must stop.",
            Explain::WindowReopened => "Window update: the receiver's application called recv() and made room; the sender may continue.",
            Explain::Retransmission => "Retransmission: no ACK came in time, so the kernel sends the same bytes again.",
            Explain::PortUnreachable => "Port unreachable: no socket is bound to that UDP port; a connected UDP socket's next send()/recv() fails with ECONNREFUSED.",
        }
    }
}
