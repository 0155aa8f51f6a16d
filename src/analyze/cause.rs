//! The socket call (or kernel action) most likely behind a packet, and the
//! one-line explanations shown at the key moments of a connection.

use serde::Serialize;
use std::borrow::Cow;

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
    /// The receiver advertises a bigger window (`recv()` made room, or its buffer grew).
    WindowUpdate,
    /// The receiving application is not calling `recv()`: its buffer is full.
    ZeroWindow,
    /// The kernel probes a zero window.
    ZeroWindowProbe,
    /// SO_KEEPALIVE probe (or zero-window probe Linux-style, seq = next − 1).
    KeepAlive,
    /// The kernel repeats its ACK because a segment is missing.
    DuplicateAck,
    /// The kernel repeats its ACK because bytes arrived twice (D-SACK).
    DuplicateData,
    /// The kernel ACKs a segment the other side sent again.
    AckOfRepeat,
    /// `sendto()`/`send()` on a UDP socket.
    SendTo,
    /// No socket is bound to the UDP port: ICMP port unreachable.
    PortUnreachable,
    /// ICMP echo (ping).
    Ping,
    /// Not a sender's kernel: the lab wire made this copy.
    WireCopy,
}

impl Cause {
    /// Short text in the current language (the ladder).
    pub fn text(self) -> &'static str {
        crate::i18n::tr(self.en(), self.zh())
    }

    /// Short text in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Cause::Connect => "connect()",
            Cause::ConnectRetry => "内核：重发 SYN（connect() 仍在等待）",
            Cause::ListenSynAck => "监听套接字的内核（不等 accept()）",
            Cause::Send => "send()/sendall()",
            Cause::Close => "close() 或 shutdown(SHUT_WR)",
            Cause::SendClose => "send() 后 close()",
            Cause::Abort => "RST：中止（带未读数据的 close()、SO_LINGER 0，或关闭了还有未 accept 连接的监听套接字）",
            Cause::Refused => "内核：该端口无人监听",
            Cause::ResetClosed => "内核：套接字已不存在",
            Cause::HandshakeAck => "内核：ACK，connect() 返回",
            Cause::KernelAck => "内核：ACK",
            Cause::Retransmit => "内核：重传",
            Cause::WindowUpdate => "窗口更新：接收方提供了更大的窗口",
            Cause::WireCopy => "线路复制的一份（不是发送方内核发的）",
            Cause::ZeroWindow => "接收缓冲区已满：数据还没有被 recv() 读走",
            Cause::ZeroWindowProbe => "内核：零窗口探测",
            Cause::KeepAlive => "内核：保活 / 窗口探测",
            Cause::DuplicateAck => "内核：重复 ACK（有报文段丢失）",
            Cause::DuplicateData => "内核：重复 ACK，带 D-SACK（这些字节收到了两次）",
            Cause::AckOfRepeat => "内核：再次确认（对方重发了已经收到的内容）",
            Cause::SendTo => "sendto()/send()",
            Cause::PortUnreachable => "内核：该 UDP 端口没有套接字",
            Cause::Ping => "ping",
        }
    }

    /// Short text in English (also what JSON carries).
    pub fn en(self) -> &'static str {
        match self {
            Cause::Connect => "connect()",
            Cause::ConnectRetry => "kernel: SYN again (connect() still waiting)",
            Cause::ListenSynAck => "kernel of the listening socket (no accept() needed)",
            Cause::Send => "send()/sendall()",
            Cause::Close => "close() or shutdown(SHUT_WR)",
            Cause::SendClose => "send() then close()",
            Cause::Abort => {
                "RST: abort (close() with unread data, SO_LINGER 0, or a closed listener's unaccepted connection)"
            }
            Cause::Refused => "kernel: no listener on port",
            Cause::ResetClosed => "kernel: socket already gone",
            Cause::HandshakeAck => "kernel: ACK, connect() returns",
            Cause::KernelAck => "kernel: ACK",
            Cause::Retransmit => "kernel: retransmission",
            Cause::WindowUpdate => "window update: the receiver offers more room",
            Cause::WireCopy => "a copy the wire made (not sent by a kernel)",
            Cause::ZeroWindow => "receive buffer full: data not yet recv()'d",
            Cause::ZeroWindowProbe => "kernel: zero-window probe",
            Cause::KeepAlive => "kernel: keep-alive / window probe",
            Cause::DuplicateAck => "kernel: duplicate ACK (segment missing)",
            Cause::DuplicateData => "kernel: duplicate ACK with D-SACK (these bytes arrived twice)",
            Cause::AckOfRepeat => "kernel: ACK again (the other side resent what had already arrived)",
            Cause::SendTo => "sendto()/send()",
            Cause::PortUnreachable => "kernel: no socket on UDP port",
            Cause::Ping => "ping",
        }
    }
}

/// A plain-language explanation for a key moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
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
    /// A FIN that also acknowledges the other side's FIN: the four-way close
    /// seen as three segments.
    FinCarriesAck {
        /// The frame of the FIN it acknowledges (unknown if it was not captured).
        peer_fin_frame: Option<u64>,
        /// Capture time from that FIN to this one, in microseconds.
        after_us: Option<u64>,
    },
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
    /// A SYN sent again (it carries no bytes).
    SynRetransmission,
    /// ICMP port unreachable.
    PortUnreachable,
    /// A retransmission triggered by duplicate ACKs, before the timer.
    FastRetransmission,
    /// A FIN sent again.
    FinRetransmission,
    /// Bytes that arrive after later bytes: overtaken on the way.
    OutOfOrder,
    /// A copy of a segment made on the way (the lab wire's duplicate).
    WireCopy,
}

/// A Linux receiver delays the ACK of a FIN by 40 ms at least and by 200 ms
/// at most (`TCP_DELACK_MIN`, `TCP_DELACK_MAX`); a FIN sent within that time
/// took the ACK along.
const DELAYED_ACK_MAX_US: u64 = 200_000;

impl Explain {
    /// The sentence in the current language.
    pub fn text(self) -> Cow<'static, str> {
        match crate::i18n::current() {
            crate::i18n::Lang::En => self.en(),
            crate::i18n::Lang::Zh => self.zh(),
        }
    }

    /// The sentence in Chinese.
    pub fn zh(self) -> Cow<'static, str> {
        if let Explain::FinCarriesAck { peer_fin_frame, after_us } = self {
            let which = match peer_fin_frame {
                Some(f) => format!("对方第 {f} 帧的 FIN"),
                None => "对方的 FIN".to_string(),
            };
            let when = match after_us {
                Some(us) if us < DELAYED_ACK_MAX_US => {
                    format!(
                        "，在它之后 {}发出——close() 赶在了内核的延迟 ACK（Linux 上 40–200 毫秒）之前",
                        duration_zh(us)
                    )
                }
                Some(us) => format!("，在它之后 {}发出", duration_zh(us)),
                None => String::new(),
            };
            return format!(
                "四次挥手只出现了三个报文段：这个 FIN 同时确认了{which}（ack = 那个 FIN 的 seq + 1）{when}。第 2 段（ACK）和第 3 段（FIN）合成了一个报文段，对方从 FIN_WAIT1 直接进入 TIME_WAIT，不经过 FIN_WAIT2。"
            )
            .into();
        }
        Cow::Borrowed(match self {
            Explain::HandshakeSyn => "三次握手 1/3：connect() 发出 SYN，带着客户端的初始序列号（ISN）；相对序号从 0 开始。",
            Explain::HandshakeSynAck => "三次握手 2/3：服务器的内核自己回复 SYN-ACK（ack = 客户端 ISN+1），不等待 accept()。",
            Explain::HandshakeAck => "三次握手 3/3：客户端的 ACK 完成握手；双方都进入 ESTABLISHED，accept() 可以返回了。",
            Explain::FirstFin => "四次挥手：这一方调用了 close()/shutdown(SHUT_WR)；对方的 recv() 将返回 b\"\"（0 字节）。",
            Explain::SecondFin => "四次挥手：另一方也关闭了；它的 FIN 被 ACK 之后才完全进入 CLOSED。",
            Explain::TimeWait => "TIME_WAIT：先关闭的一方等待一段时间，让迟到的报文段消失，并能重发最后的 ACK。RFC 9293 的 MSL 是 2 分钟（2MSL = 4 分钟）；Linux 固定等待 60 秒（TCP_TIMEWAIT_LEN），不可配置。",
            Explain::Refused => "连接被拒绝：该端口没有程序监听，内核回复 RST,ACK，connect() 失败并返回 ECONNREFUSED (111)。按 RFC 9293 §3.10.7.1，这个 RST 的原始 seq 是 0；梯形图的相对序号显示为 1。",
            Explain::Reset => "连接重置：RST 立即中止连接——没有 FIN 交换，没有 TIME_WAIT；对方会得到 ECONNRESET (104)。",
            Explain::ZeroWindow => "零窗口：接收方的缓冲区满了（它的应用程序读得比发送方写得慢，或者根本没读）；发送方必须停下来。",
            Explain::WindowReopened => "窗口更新：接收方的应用程序调用了 recv()，腾出了空间；发送方可以继续发送。",
            Explain::Retransmission => "重传：没有及时收到 ACK，内核把同样的数据再发一次。",
            Explain::FinRetransmission => "重发 FIN：它的 ACK 没有及时到来，内核再发一次同样的 FIN。",
            Explain::FastRetransmission => "快速重传：对方的重复 ACK 表明这一段缺失、而后面的已经到达，于是内核不等重传定时器就立即重发它（RFC 5681 §3.2）。",
            Explain::OutOfOrder => "乱序：这一段的字节排在已经出现过的字节之前——它在路上被后面的包超过了。接收方的内核会按序号把字节排好，recv() 仍然按顺序拿到它们。",
            Explain::WireCopy => "重复的包：这一份是线路复制出来的，不是发送方重传的；tshark 因为它重复了已出现的字节而称之为重传。接收方的内核丢弃重复的字节，recv() 只拿到一次。",
            Explain::SynRetransmission => "重发 SYN：没有收到 SYN-ACK，内核再发同一个 SYN（同一个 ISN，不带数据）；connect() 还在等待。",
            Explain::PortUnreachable => "端口不可达：没有套接字绑定这个 UDP 端口；已 connect 的 UDP 套接字下一次 send()/recv() 会失败并返回 ECONNREFUSED。",
            Explain::FinCarriesAck { .. } => unreachable!("formatted above"),
        })
    }

    /// The sentence in English (also what JSON carries).
    pub fn en(self) -> Cow<'static, str> {
        if let Explain::FinCarriesAck { peer_fin_frame, after_us } = self {
            let which = match peer_fin_frame {
                Some(f) => format!("the other side's FIN of frame {f}"),
                None => "the other side's FIN".to_string(),
            };
            let when = match after_us {
                Some(us) if us < DELAYED_ACK_MAX_US => format!(
                    ", {} after it — close() came before the kernel's delayed ACK (40–200 ms on Linux)",
                    duration_en(us)
                ),
                Some(us) => format!(", {} after it", duration_en(us)),
                None => String::new(),
            };
            // Put together by hand: the ladder says this once per connection.
            let mut s = String::with_capacity(320);
            s.push_str("Four-way close in three segments: this FIN also ACKs ");
            s.push_str(&which);
            s.push_str(" (ack = that FIN's seq + 1)");
            s.push_str(&when);
            s.push_str(". The 2nd segment (ACK) and the 3rd (FIN) travel as one; the other side goes from FIN_WAIT1 straight to TIME_WAIT, skipping FIN_WAIT2.");
            return s.into();
        }
        Cow::Borrowed(match self {
            Explain::HandshakeSyn => "Handshake 1/3: connect() sends SYN with the client's initial sequence number (ISN); relative seq starts at 0.",
            Explain::HandshakeSynAck => "Handshake 2/3: the server's kernel answers SYN-ACK by itself (ack = client ISN+1), without waiting for accept().",
            Explain::HandshakeAck => "Handshake 3/3: the client's ACK completes it; both sides ESTABLISHED, accept() can return.",
            Explain::FirstFin => "Teardown: this side called close()/shutdown(SHUT_WR); the peer's recv() will now return b\"\" (0 bytes).",
            Explain::SecondFin => "Teardown: the other side closes too; its FIN must be ACKed before it is fully CLOSED.",
            Explain::TimeWait => "TIME_WAIT: the side that closed first waits so stray segments die and its last ACK can be resent. RFC 9293's MSL is 2 minutes (2MSL = 4 min); Linux waits a fixed 60 s (TCP_TIMEWAIT_LEN), not configurable.",
            Explain::Refused => "Refused: nobody listens on that port, so the kernel answers RST,ACK and connect() fails with ECONNREFUSED (111). That RST's raw seq is 0 (RFC 9293 §3.10.7.1); the ladder's relative numbering shows it as 1.",
            Explain::Reset => "Reset: RST aborts the connection at once — no FIN exchange, no TIME_WAIT; the peer sees ECONNRESET (104).",
            Explain::ZeroWindow => "Zero window: the receiver's buffer is full (its application reads more slowly than the sender writes, or not at all); the sender must stop.",
            Explain::WindowReopened => "Window update: the receiver's application called recv() and made room; the sender may continue.",
            Explain::Retransmission => "Retransmission: no ACK came in time, so the kernel sends the same bytes again.",
            Explain::FinRetransmission => "FIN again: its ACK did not come in time, so the kernel sends the same FIN once more.",
            Explain::FastRetransmission => "Fast retransmission: the other side's duplicate ACKs showed this segment missing while later ones arrived, so the kernel resends it without waiting for its retransmission timer (RFC 5681 §3.2).",
            Explain::OutOfOrder => "Out of order: these bytes come before bytes already seen — the segment was overtaken on the way. The receiver's kernel puts the bytes back in order; recv() still gets them in order.",
            Explain::WireCopy => "Duplicate: this copy was made by the wire, not resent by the sender; tshark calls it a retransmission because it repeats bytes already seen. The receiver's kernel discards the repeated bytes; recv() gets them once.",
            Explain::SynRetransmission => "SYN again: no SYN-ACK came, so the kernel sends the same SYN (same ISN, no data); connect() is still waiting.",
            Explain::PortUnreachable => "Port unreachable: no socket is bound to that UDP port; a connected UDP socket's next send()/recv() fails with ECONNREFUSED.",
            Explain::FinCarriesAck { .. } => unreachable!("formatted above"),
        })
    }
}

fn duration_en(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

fn duration_zh(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} 微秒"),
        1_000..1_000_000 => format!("{:.1} 毫秒", us as f64 / 1e3),
        _ => format!("{:.2} 秒", us as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::Explain;

    #[test]
    fn three_segment_close_says_what_happened() {
        let e = Explain::FinCarriesAck { peer_fin_frame: Some(12), after_us: Some(3_200) };
        let en = e.en();
        assert!(en.contains("frame 12") && en.contains("3.2 ms") && en.contains("delayed ACK"), "{en}");
        let zh = e.zh();
        assert!(zh.contains("第 12 帧") && zh.contains("3.2 毫秒") && zh.contains("三个报文段"), "{zh}");
        // Long after the peer's FIN: the delayed ACK is not the reason, so it is not given.
        let late = Explain::FinCarriesAck { peer_fin_frame: Some(3), after_us: Some(1_500_000) }.en();
        assert!(late.contains("1.50 s") && !late.contains("delayed ACK"), "{late}");
        let unknown = Explain::FinCarriesAck { peer_fin_frame: None, after_us: None }.en();
        assert!(unknown.contains("ACKs the other side's FIN (ack"), "{unknown}");
    }
}
