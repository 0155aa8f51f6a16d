//! The lab's message catalogue: every sentence the engine's data turns into,
//! in English and Simplified Chinese. Each message is one `match` arm holding
//! both languages, so neither can be missing; `tests::every_message_has_both_languages`
//! walks one sample of every variant. Protocol tokens (SYN, errno and state
//! names, addresses) stay as they are in both.

use super::errno;
use super::events::{CallOutcome, Holder, Note, Observed};
use super::exec::py_bytes;
use super::procnet::KernelSocket;
use super::spec::{ErrnoWant, Expectation, PacketPattern, ServeMode};
use crate::i18n::Lang;

fn t(lang: Lang, en: String, zh: String) -> String {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// Bytes as Python shows them, the first 60 only, then how many there were.
fn bytes(d: &[u8], lang: Lang) -> String {
    const SHOWN: usize = 60;
    let head = py_bytes(&d[..d.len().min(SHOWN)], SHOWN);
    if d.len() <= SHOWN {
        return head;
    }
    let n = d.len();
    t(lang, format!("{head}… ({n} bytes)"), format!("{head}…（共 {n} 字节）"))
}

/// A fact about a call's result.
pub fn note(n: &Note, lang: Lang) -> String {
    match n {
        Note::KernelChosePort { port } => t(lang, format!("the kernel chose port {port}"), format!("内核选择了端口 {port}")),
        Note::EphemeralPort { local } => {
            t(lang, format!("local address {local} (ephemeral port)"), format!("本地地址 {local}（临时端口）"))
        }
        Note::ConnectionFrom { peer } => t(lang, format!("connection from {peer}"), format!("来自 {peer} 的连接")),
        Note::DatagramFrom { peer } => t(lang, format!("from {peer}"), format!("来自 {peer}")),
        Note::ShortSend { sent, of } => {
            t(lang, format!("only {sent} of {of} bytes: a short send"), format!("只发出了 {of} 字节中的 {sent} 字节：短写"))
        }
        Note::SendCalls { calls } => t(lang, format!("{calls} send() calls"), format!("{calls} 次 send() 调用")),
        Note::SendallCalls { calls, bytes } => t(
            lang,
            format!("{calls} send() call(s) to get all {bytes} bytes out"),
            format!("调用了 {calls} 次 send() 才把 {bytes} 个字节全部发出"),
        ),
        Note::Transfer { sent: true, bytes, calls, md5 } => t(
            lang,
            format!("sent {bytes} bytes in {calls} call(s), MD5 {md5}"),
            format!("用 {calls} 次调用发送了 {bytes} 字节，MD5 {md5}"),
        ),
        Note::Transfer { sent: false, bytes, calls, md5 } => t(
            lang,
            format!("received {bytes} bytes in {calls} call(s), MD5 {md5}"),
            format!("用 {calls} 次调用收到 {bytes} 字节，MD5 {md5}"),
        ),
        Note::Background => t(
            lang,
            "running in a thread; `join` collects its result".into(),
            "在线程中运行；用 `join` 取回结果".into(),
        ),
        Note::AcceptLoop { mode: ServeMode::Iterative } => {
            t(lang, "accept loop running (one client at a time)".into(), "accept 循环已启动（一次一个客户端）".into())
        }
        Note::AcceptLoop { mode: ServeMode::Threaded } => {
            t(lang, "accept loop running (a thread per connection)".into(), "accept 循环已启动（每个连接一个线程）".into())
        }
        Note::Served { clients } => t(lang, format!("served {clients} client(s)"), format!("服务了 {clients} 个客户端")),
        Note::ListenOverflows { count } => t(
            lang,
            format!("the kernel counted {count} ListenOverflows (accept queue full: SYN dropped)"),
            format!("内核记录了 {count} 次 ListenOverflows（accept 队列已满：SYN 被丢弃）"),
        ),
        Note::NotBound { actor } => t(
            lang,
            format!("lab error: {actor} has no address yet (bind or listen it first)"),
            format!("实验文件错误：{actor} 还没有地址（先 bind 或 listen）"),
        ),
        Note::NothingInBackground => {
            t(lang, "lab error: nothing runs in the background here".into(), "实验文件错误：这里没有后台运行的调用".into())
        }
        Note::SocketClosed => t(lang, "lab error: this socket is already closed".into(), "实验文件错误：这个套接字已经关闭".into()),
        Note::ThreadPanicked => t(lang, "wirelab bug: the thread panicked".into(), "wirelab 的缺陷：线程崩溃".into()),
    }
}

/// "0", "5 bytes: b'hello'", "error ECONNREFUSED (111)", then the notes.
pub fn outcome(o: &CallOutcome, lang: Lang) -> String {
    let mut s = if o.ok {
        match (&o.data, o.ret) {
            (Some(d), _) if d.is_empty() => {
                t(lang, "b'' (0 bytes: the peer closed its side)".into(), "b''（0 字节：对方关闭了它那一端）".into())
            }
            (Some(d), _) => t(lang, format!("{} bytes: {}", d.len(), bytes(d, lang)), format!("{} 字节：{}", d.len(), bytes(d, lang))),
            (None, Some(r)) if o.returns_fd => format!("fd {r}"),
            (None, Some(r)) => r.to_string(),
            (None, None) => t(lang, "done".into(), "完成".into()),
        }
    } else {
        match o.errno {
            Some(e) => t(lang, format!("error {} ({e})", errno::name(e)), format!("错误 {} ({e})", errno::name(e))),
            None => t(lang, "failed".into(), "失败".into()),
        }
    };
    for n in &o.notes {
        s.push_str("  — ");
        s.push_str(&note(n, lang));
    }
    s
}

fn list(items: &[String], lang: Lang) -> String {
    if items.is_empty() {
        t(lang, "(none)".into(), "（无）".into())
    } else {
        items.join(" ")
    }
}

fn packets(ps: &[PacketPattern], lang: Lang) -> String {
    list(&ps.iter().map(|p| p.to_string()).collect::<Vec<_>>(), lang)
}

fn errno_text(e: Option<i32>, lang: Lang) -> String {
    match e {
        Some(e) => format!("{} ({e})", errno::name(e)),
        None => t(lang, "none".into(), "无（成功）".into()),
    }
}

/// The label of an expectation ("packets", "errno" …) for ✓/✗ lines.
pub fn label(e: &Expectation, lang: Lang) -> String {
    let (en, zh) = match e {
        Expectation::Packets(_) => ("packets", "数据包"),
        Expectation::PacketsInclude(_) => ("packets include", "数据包包含"),
        Expectation::Analysis(_) => ("analysis", "分析标记"),
        Expectation::Errno(_) => ("errno", "errno"),
        Expectation::Ret(_) | Expectation::RetMin(_) | Expectation::RetBelow(_) => ("returns", "返回值"),
        Expectation::Data(_) => ("data", "数据"),
        Expectation::State { .. } => ("state", "状态"),
        Expectation::SameMd5As(_) => ("MD5", "MD5"),
    };
    t(lang, en.into(), zh.into())
}

/// What an expectation wants, in words.
pub fn want(e: &Expectation, actor: &str, lang: Lang) -> String {
    match e {
        Expectation::Packets(p) | Expectation::PacketsInclude(p) => packets(p, lang),
        Expectation::Analysis(flags) => flags.iter().map(|f| f.0).collect::<Vec<_>>().join(" "),
        Expectation::Errno(ErrnoWant::None) => errno_text(None, lang),
        Expectation::Errno(ErrnoWant::Errno(e)) => errno_text(Some(*e), lang),
        Expectation::Ret(r) => r.to_string(),
        Expectation::RetMin(m) => format!("≥ {m}"),
        Expectation::RetBelow(b) => format!("< {b}"),
        Expectation::Data(d) => bytes(d.as_bytes(), lang),
        Expectation::State { of, state } => format!("{} {}", of.as_deref().unwrap_or(actor), state.name()),
        Expectation::SameMd5As(other) => t(lang, format!("same as {other}'s transfer"), format!("与 {other} 传输的相同")),
    }
}

/// What a step showed, in words.
pub fn got(o: &Observed, lang: Lang) -> String {
    match o {
        Observed::Packets(p) => list(p, lang),
        Observed::Flags(f) => list(&f.iter().map(|s| s.to_string()).collect::<Vec<_>>(), lang),
        Observed::Errno(e) => errno_text(*e, lang),
        Observed::Ret(Some(r)) => r.to_string(),
        Observed::Ret(None) => t(lang, "an error".into(), "出错".into()),
        Observed::Data(d) => bytes(d, lang),
        Observed::State { of, state } => format!("{of} {state}"),
        Observed::Md5 { want, got } => t(
            lang,
            format!("{} vs {}", want.as_deref().unwrap_or("(no transfer)"), got.as_deref().unwrap_or("(none)")),
            format!("{} 对比 {}", want.as_deref().unwrap_or("（没有传输）"), got.as_deref().unwrap_or("（无）")),
        ),
    }
}

/// Whose socket a kernel row is.
pub fn holder(h: &Holder, lang: Lang) -> String {
    match h {
        Holder::Actor(a) => a.clone(),
        Holder::AcceptQueue(a) => t(lang, format!("({a}'s accept queue)"), format!("（{a} 的 accept 队列）")),
    }
}

/// What a kernel row adds: TIME_WAIT's countdown, connections waiting for
/// accept(), bytes not yet read.
pub fn row_extra(k: &KernelSocket, lang: Lang) -> Option<String> {
    // For a connection rx_queue counts a received FIN as one byte.
    let fin_received = matches!(k.state, "CLOSE_WAIT" | "LAST_ACK" | "CLOSING" | "TIME_WAIT");
    let unread = k.rx_queue.saturating_sub(fin_received as u64);
    match (k.state, k.timer_s) {
        ("TIME_WAIT", Some(s)) => Some(t(lang, format!("{s:.1} s left of 60 s"), format!("剩余 {s:.1} 秒/共 60 秒"))),
        ("LISTEN", _) if k.rx_queue > 0 => {
            let n = k.rx_queue;
            Some(t(lang, format!("{n} connection(s) waiting for accept()"), format!("{n} 个连接在等待 accept()")))
        }
        ("LISTEN", _) => None,
        _ if unread > 0 => Some(t(lang, format!("{unread} byte(s) not yet recv()'d"), format!("{unread} 字节尚未 recv()"))),
        _ => None,
    }
}

/// A socket the kernel does not list (no address yet).
pub fn no_row(lang: Lang) -> String {
    t(lang, "(no address yet: not in the kernel's tables)".into(), "（还没有地址：不在内核的表中）".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::spec::{ExpertName, KernelState};

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3000}'..='\u{303f}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c))
    }

    /// One sample of every variant; the `match` in `index` fails to compile
    /// when a variant is added, and the test fails until it has a sample.
    fn notes() -> Vec<Note> {
        let a = "127.0.0.1:5000".parse().unwrap();
        let v = vec![
            Note::KernelChosePort { port: 1 },
            Note::EphemeralPort { local: a },
            Note::ConnectionFrom { peer: a },
            Note::DatagramFrom { peer: a },
            Note::ShortSend { sent: 1, of: 2 },
            Note::SendCalls { calls: 3 },
            Note::SendallCalls { calls: 3, bytes: 4 },
            Note::Transfer { sent: true, bytes: 1, calls: 1, md5: "x".into() },
            Note::Transfer { sent: false, bytes: 1, calls: 1, md5: "x".into() },
            Note::Background,
            Note::AcceptLoop { mode: ServeMode::Iterative },
            Note::AcceptLoop { mode: ServeMode::Threaded },
            Note::Served { clients: 2 },
            Note::ListenOverflows { count: 4 },
            Note::NotBound { actor: "server".into() },
            Note::NothingInBackground,
            Note::SocketClosed,
            Note::ThreadPanicked,
        ];
        let index = |n: &Note| match n {
            Note::KernelChosePort { .. } => 0,
            Note::EphemeralPort { .. } => 1,
            Note::ConnectionFrom { .. } => 2,
            Note::DatagramFrom { .. } => 3,
            Note::ShortSend { .. } => 4,
            Note::SendCalls { .. } => 5,
            Note::SendallCalls { .. } => 6,
            Note::Transfer { .. } => 7,
            Note::Background => 8,
            Note::AcceptLoop { .. } => 9,
            Note::Served { .. } => 10,
            Note::ListenOverflows { .. } => 11,
            Note::NotBound { .. } => 12,
            Note::NothingInBackground => 13,
            Note::SocketClosed => 14,
            Note::ThreadPanicked => 15,
        };
        let covered: std::collections::BTreeSet<usize> = v.iter().map(index).collect();
        assert_eq!(covered.len(), 16, "a Note variant has no sample");
        v
    }

    #[test]
    fn every_message_has_both_languages() {
        let mut texts: Vec<(String, String)> = Vec::new();
        for n in notes() {
            texts.push((note(&n, Lang::En), note(&n, Lang::Zh)));
        }
        let exps = [
            Expectation::Packets(vec![]),
            Expectation::PacketsInclude(vec![PacketPattern::Udp]),
            Expectation::Analysis(vec![ExpertName("zero_window")]),
            Expectation::Errno(ErrnoWant::None),
            Expectation::Ret(1),
            Expectation::RetMin(1),
            Expectation::RetBelow(1),
            Expectation::Data("x".into()),
            Expectation::State { of: None, state: KernelState::Listen },
            Expectation::SameMd5As("server".into()),
        ];
        for e in &exps {
            texts.push((label(e, Lang::En), label(e, Lang::Zh)));
        }
        texts.push((want(&exps[0], "a", Lang::En), want(&exps[0], "a", Lang::Zh)));
        texts.push((want(&exps[3], "a", Lang::En), want(&exps[3], "a", Lang::Zh)));
        texts.push((want(&exps[9], "a", Lang::En), want(&exps[9], "a", Lang::Zh)));
        for o in [Observed::Ret(None), Observed::Md5 { want: None, got: None }, Observed::Packets(vec![])] {
            texts.push((got(&o, Lang::En), got(&o, Lang::Zh)));
        }
        texts.push((holder(&Holder::AcceptQueue("s".into()), Lang::En), holder(&Holder::AcceptQueue("s".into()), Lang::Zh)));
        let row = |state, rx, timer| KernelSocket {
            proto: super::super::procnet::Proto::Tcp,
            local: "127.0.0.1:1".parse().unwrap(),
            remote: "127.0.0.1:2".parse().unwrap(),
            state,
            tx_queue: 0,
            rx_queue: rx,
            timer_s: timer,
            timer_kind: 0,
            inode: 0,
        };
        for r in [row("TIME_WAIT", 0, Some(59.9)), row("LISTEN", 2, None), row("ESTABLISHED", 5, None)] {
            texts.push((row_extra(&r, Lang::En).unwrap(), row_extra(&r, Lang::Zh).unwrap()));
        }
        texts.push((no_row(Lang::En), no_row(Lang::Zh)));
        let long = Expectation::Data("x".repeat(61));
        texts.push((want(&long, "a", Lang::En), want(&long, "a", Lang::Zh)));
        let ok = CallOutcome { ok: true, data: Some(vec![]), ..Default::default() };
        texts.push((outcome(&ok, Lang::En), outcome(&ok, Lang::Zh)));
        for (en, zh) in texts {
            assert!(!en.is_empty() && !has_cjk(&en), "English message with CJK: {en:?}");
            let pure_token = en == zh && !en.chars().any(|c| c.is_ascii_lowercase() && en.contains(' '));
            assert!(has_cjk(&zh) || pure_token, "Chinese missing for {en:?}: {zh:?}");
        }
    }
}
