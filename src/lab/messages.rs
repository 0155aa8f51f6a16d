//! The lab's message catalogue: every sentence the engine's data turns into,
//! in English and Simplified Chinese. Each message is one `match` arm holding
//! both languages, so neither can be missing; `tests::every_message_has_both_languages`
//! walks one sample of every variant. Protocol tokens (SYN, errno and state
//! names, addresses) stay as they are in both.

use super::errno;
use super::events::{CallOutcome, Holder, Note, Observed, Skip};
use super::exec::py_bytes;
use super::findings::Finding;
use super::procnet::KernelSocket;
use super::quiz::Reason;
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
            format!("the kernel's ListenOverflows counter (accept queue full: SYN dropped; counted for the whole machine) grew by {count} during this call"),
            format!("内核的 ListenOverflows 计数（accept 队列已满：SYN 被丢弃；全机统计）在这次调用期间增加了 {count}"),
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
        Note::Encoded { codec, chars, bytes } => t(
            lang,
            format!("{chars} characters encoded as {}: {bytes} bytes", codec.name()),
            format!("{chars} 个字符按 {} 编码：{bytes} 个字节", codec.name()),
        ),
        Note::Decoded { codec, text, malformed: false } => {
            t(lang, format!("decoded as {}: {text:?}", codec.name()), format!("按 {} 解码：{text:?}", codec.name()))
        }
        Note::Decoded { codec, text, malformed: true } => t(
            lang,
            format!(
                "not valid {c}: Python's .decode({c:?}) raises UnicodeDecodeError (with errors=\"replace\": {text:?})",
                c = codec.name()
            ),
            format!(
                "不是合法的 {c}：Python 的 .decode({c:?}) 会抛出 UnicodeDecodeError（用 errors=\"replace\" 则得到 {text:?}）",
                c = codec.name()
            ),
        ),
        Note::DnsServing { names } => t(
            lang,
            format!("DNS server running in a thread ({names} name(s))"),
            format!("DNS 服务器在线程中运行（{names} 个名字）"),
        ),
        Note::Resolved { name, addrs, via } => {
            let list = addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ");
            match (addrs.is_empty(), via) {
                (false, Some(v)) => t(lang, format!("{name} → {list} (DNS server {v})"), format!("{name} → {list}（DNS 服务器 {v}）")),
                (false, None) => t(lang, format!("{name} → {list} (hosts file: no packet)"), format!("{name} → {list}（hosts 文件：没有任何包）")),
                (true, Some(v)) => t(lang, format!("{name}: no such name (NXDOMAIN from {v}); Python raises socket.gaierror"), format!("{name}：没有这个名字（{v} 回答 NXDOMAIN）；Python 抛出 socket.gaierror")),
                (true, None) => t(lang, format!("{name}: not in the hosts file; wirelab asks no real DNS server"), format!("{name}：不在 hosts 文件中；wirelab 不会去问真正的 DNS 服务器")),
            }
        }
        Note::SocketTimeout { seconds } => t(
            lang,
            format!("the socket's timeout ({seconds} s) expired: Python raises TimeoutError: timed out (C sees EAGAIN from SO_RCVTIMEO, ETIMEDOUT from connect)"),
            format!("套接字的超时（{seconds} 秒）到了：Python 抛出 TimeoutError: timed out（C 程序看到的是 SO_RCVTIMEO 的 EAGAIN、connect 的 ETIMEDOUT）"),
        ),
        Note::LabTimeout { seconds } => t(
            lang,
            format!("the lab stopped waiting after {seconds} s; a program without a timeout would still be blocked here"),
            format!("实验在 {seconds} 秒后停止等待；没有设置超时的程序此时仍会阻塞在这里"),
        ),
        Note::Http(h) => http_response(h, lang),
        Note::ByProgram { actor } => t(
            lang,
            format!("{actor} is your program: wirelab did not make this call; the wire and the kernel's table judge it"),
            format!("{actor} 是你的程序：这个调用不是 wirelab 做的；由线路上的包和内核的套接字表来判断"),
        ),
    }
}

/// An HTTP response as read: status line, how the body ended, what the
/// connection did, what is wrong.
fn http_response(h: &super::http_client::Response, lang: Lang) -> String {
    use super::http_client::Framing;
    let mut parts = Vec::new();
    match (h.version, h.status) {
        (Some(v), Some(code)) => parts.push(format!("HTTP/1.{v} {code} {}", h.reason).trim_end().to_string()),
        _ => parts.push(t(lang, "no status line".into(), "没有状态行".into())),
    }
    match h.framing {
        Some(Framing::Length(n)) => parts.push(t(
            lang,
            format!("Content-Length: {n}, body {} bytes", h.body.len()),
            format!("Content-Length: {n}，正文 {} 字节", h.body.len()),
        )),
        Some(Framing::Chunked) => parts.push(t(
            lang,
            format!("chunked, body {} bytes", h.body.len()),
            format!("分块传输，正文 {} 字节", h.body.len()),
        )),
        Some(Framing::Close) => parts.push(t(
            lang,
            format!("no Content-Length: body until the close, {} bytes", h.body.len()),
            format!("没有 Content-Length：正文到关闭为止，{} 字节", h.body.len()),
        )),
        None => {}
    }
    if h.framing.is_some() {
        parts.push(http_close(h.says_close, h.closed, lang));
    }
    parts.extend(h.problems.iter().map(|p| http_problem(p, lang)));
    parts.join(t(lang, "; ".into(), "；".into()).as_str())
}

/// What a response said about its connection, and what happened.
fn http_close(says_close: bool, closed: Option<super::http_client::Closed>, lang: Lang) -> String {
    use super::http_client::Closed;
    let said = if says_close {
        t(lang, "says the connection closes".into(), "声明连接将关闭".into())
    } else {
        t(lang, "keeps the connection (HTTP/1.1 default)".into(), "保持连接（HTTP/1.1 的默认）".into())
    };
    let did = match closed {
        Some(Closed::Closed) => t(lang, "the server closed it".into(), "服务器关闭了连接".into()),
        Some(Closed::Reset) => t(lang, "the server reset it (RST)".into(), "服务器复位了连接（RST）".into()),
        Some(Closed::Open) => t(lang, "still open".into(), "连接仍然打开".into()),
        None => t(lang, "unknown".into(), "未知".into()),
    };
    format!("{said} → {did}")
}

/// One thing wrong with a response.
fn http_problem(p: &super::http_client::Problem, lang: Lang) -> String {
    use super::http_client::Problem;
    match p {
        Problem::NoResponse => {
            t(lang, "no response: the connection ended first".into(), "没有响应：连接先结束了".into())
        }
        Problem::HeadNeverEnded => t(
            lang,
            "the head has no empty line (CRLF CRLF) ending it".into(),
            "报文头后面没有结束它的空行（CRLF CRLF）".into(),
        ),
        Problem::BadHead { reason } => {
            t(lang, format!("the head cannot be parsed: {reason}"), format!("报文头无法解析：{reason}"))
        }
        Problem::BareLf => t(
            lang,
            "lines end in LF alone, not CRLF (RFC 9112 §2.2)".into(),
            "行尾只有 LF，不是 CRLF（RFC 9112 §2.2）".into(),
        ),
        Problem::BodyShort { got, want } => t(
            lang,
            format!("the body ended after {got} of the {want} bytes announced"),
            format!("正文只有 {got} 字节，声明的是 {want} 字节"),
        ),
        Problem::ExtraBytes { bytes } => t(
            lang,
            format!("{bytes} byte(s) after the body the head announced (a length counted in characters, not bytes?)"),
            format!("在报文头声明的正文之后还有 {bytes} 字节（长度按字符而不是按字节计算了？）"),
        ),
        Problem::BodyNeverEnds => t(
            lang,
            "no Content-Length, not chunked and the connection stays open: the body never ends".into(),
            "没有 Content-Length、不是分块传输、连接又不关闭：正文永远不会结束".into(),
        ),
        Problem::BadChunk => {
            t(lang, "a chunk size line is not hexadecimal".into(), "分块大小那一行不是十六进制数".into())
        }
    }
}

/// "0", "5 bytes: b'hello'", "error ECONNREFUSED (111)", then the notes.
pub fn outcome(o: &CallOutcome, lang: Lang) -> String {
    let mut s = if o.ok {
        match (&o.data, o.ret) {
            (Some(d), _) if d.is_empty() => {
                t(lang, "b'' (0 bytes: the peer closed its side)".into(), "b''（0 字节：对方关闭了它那一端）".into())
            }
            (Some(d), _) => t(
                lang,
                format!("{} bytes: {}", d.len(), bytes(d, lang)),
                format!("{} 字节：{}", d.len(), bytes(d, lang)),
            ),
            (None, Some(r)) if o.returns_fd => format!("fd {r}"),
            (None, Some(r)) => r.to_string(),
            (None, None) => t(lang, "done".into(), "完成".into()),
        }
    } else {
        match o.errno {
            Some(e) => {
                let mut s =
                    t(lang, format!("error {} ({e})", errno::name(e)), format!("错误 {} ({e})", errno::name(e)));
                let timed_out =
                    o.notes.iter().any(|n| matches!(n, Note::SocketTimeout { .. } | Note::LabTimeout { .. }));
                if let Some(p) = super::quiz::python_exception(e).filter(|_| !timed_out) {
                    s.push_str(&format!(" · Python: {p}"));
                }
                s
            }
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
        Expectation::PacketsExclude(_) => ("no packet", "不应出现的数据包"),
        Expectation::Analysis(_) => ("analysis", "分析标记"),
        Expectation::Errno(_) => ("errno", "errno"),
        Expectation::Ret(_) | Expectation::RetMin(_) | Expectation::RetBelow(_) => ("returns", "返回值"),
        Expectation::Data(_) => ("data", "数据"),
        Expectation::State { .. } => ("state", "状态"),
        Expectation::SameMd5As(_) | Expectation::Md5OfFile(_) => ("MD5", "MD5"),
        Expectation::Blocks(_) => ("blocks", "阻塞"),
        Expectation::Wire(_) => ("the wire", "线路"),
        Expectation::CwndReaches(_) => ("congestion window", "拥塞窗口"),
        Expectation::Text(_) => ("text", "文本"),
        Expectation::SavesFile(_) => ("saved file", "保存的文件"),
        Expectation::HttpStatus(_) => ("HTTP status", "HTTP 状态码"),
        Expectation::HttpWellFormed(_) => ("HTTP message", "HTTP 报文"),
        Expectation::ClosesAsSaid(_) => ("connection", "连接"),
    };
    t(lang, en.into(), zh.into())
}

/// What an expectation wants, in words.
pub fn want(e: &Expectation, actor: &str, lang: Lang) -> String {
    match e {
        Expectation::Packets(p) | Expectation::PacketsInclude(p) => packets(p, lang),
        Expectation::PacketsExclude(p) => {
            t(lang, format!("none of {}", packets(p, lang)), format!("没有 {}", packets(p, lang)))
        }
        Expectation::Analysis(flags) => flags.iter().map(|f| f.0).collect::<Vec<_>>().join(" "),
        Expectation::Errno(ErrnoWant::None) => errno_text(None, lang),
        Expectation::Errno(ErrnoWant::Errno(e)) => errno_text(Some(*e), lang),
        Expectation::Ret(r) => r.to_string(),
        Expectation::RetMin(m) => format!("≥ {m}"),
        Expectation::RetBelow(b) => format!("< {b}"),
        Expectation::Data(d) => bytes(d.as_bytes(), lang),
        Expectation::State { of, state } => format!("{} {}", of.as_deref().unwrap_or(actor), state.name()),
        Expectation::SameMd5As(other) => {
            t(lang, format!("same as {other}'s transfer"), format!("与 {other} 传输的相同"))
        }
        Expectation::Md5OfFile(file) => {
            t(lang, format!("that of the file {file:?}"), format!("与文件 {file:?} 的相同"))
        }
        Expectation::Blocks(b) => blocked(*b, lang),
        Expectation::Wire(w) => list(&w.iter().map(|a| wire_action(a.name(), lang)).collect::<Vec<_>>(), lang),
        Expectation::CwndReaches(n) => t(lang, format!("cwnd ≥ {n} segments"), format!("cwnd ≥ {n} 个报文段")),
        Expectation::Text(text) => format!("{text:?}"),
        Expectation::HttpStatus(code) => code.to_string(),
        Expectation::HttpWellFormed(true) => t(
            lang,
            "well formed: CRLF lines, an empty line, a body as long as announced".into(),
            "格式正确：CRLF 换行、一个空行、正文长度与声明一致".into(),
        ),
        Expectation::HttpWellFormed(false) => t(lang, "malformed".into(), "格式错误".into()),
        Expectation::ClosesAsSaid(b) => {
            let s = t(
                lang,
                "closed if the response says so, kept open otherwise".into(),
                "响应说关闭就关闭，否则保持打开".into(),
            );
            if *b {
                s
            } else {
                t(lang, format!("not: {s}"), format!("不是：{s}"))
            }
        }
        Expectation::SavesFile(file) => t(
            lang,
            format!("a file with the bytes of {file:?} (any name)"),
            format!("一个与 {file:?} 字节相同的文件（名字不限）"),
        ),
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
        Observed::Blocked(b) => blocked(*b, lang),
        Observed::State { of, state } => format!("{of} {state}"),
        Observed::Wire(w) => list(&w.iter().map(|a| wire_action(a, lang)).collect::<Vec<_>>(), lang),
        Observed::Cwnd(Some(c)) => t(lang, format!("cwnd {c} at most"), format!("cwnd 最大 {c}")),
        Observed::Cwnd(None) => t(lang, "no TCP_INFO".into(), "没有 TCP_INFO".into()),
        Observed::Text { text, malformed } => {
            let bad = if *malformed {
                t(lang, " (malformed bytes)".into(), "（含无效字节）".into())
            } else {
                String::new()
            };
            format!("{text:?}{bad}")
        }
        Observed::HttpStatus(Some(code)) => code.to_string(),
        Observed::HttpStatus(None) => t(lang, "no status line".into(), "没有状态行".into()),
        Observed::HttpProblems(p) if p.is_empty() => t(lang, "well formed".into(), "格式正确".into()),
        Observed::HttpProblems(p) => p.iter().map(|p| http_problem(p, lang)).collect::<Vec<_>>().join("; "),
        Observed::HttpClose { says_close, closed } => http_close(*says_close, *closed, lang),
        Observed::Saved(files) if files.is_empty() => {
            t(lang, "no new file in its folder".into(), "它的文件夹里没有新文件".into())
        }
        Observed::Saved(files) => {
            let each: Vec<String> = files
                .iter()
                .map(|f| {
                    t(lang, format!("{:?} ({} bytes)", f.name, f.bytes), format!("{:?}（{} 字节）", f.name, f.bytes))
                })
                .collect();
            t(lang, format!("new in its folder: {}", each.join(", ")), format!("文件夹里新出现的：{}", each.join("、")))
        }
        Observed::Md5 { want, got } => t(
            lang,
            format!("{} vs {}", want.as_deref().unwrap_or("(no transfer)"), got.as_deref().unwrap_or("(none)")),
            format!("{} 对比 {}", want.as_deref().unwrap_or("（没有传输）"), got.as_deref().unwrap_or("（无）")),
        ),
    }
}

fn blocked(b: bool, lang: Lang) -> String {
    if b {
        t(lang, "still waiting when the lab stopped waiting".into(), "实验停止等待时仍在阻塞".into())
    } else {
        t(lang, "returned before the lab's limit".into(), "在实验的时限之前返回".into())
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
/// accept(), bytes a recv() would get now (asked of the socket itself when
/// the lab holds it), a connected UDP socket's "ESTABLISHED".
pub fn row_extra(k: &KernelSocket, unread: Option<u64>, lang: Lang) -> Option<String> {
    use super::procnet::Proto;
    // For a TCP connection rx_queue counts a received FIN as one byte.
    let fin_received = matches!(k.state, "CLOSE_WAIT" | "LAST_ACK" | "CLOSING" | "TIME_WAIT");
    let tcp_unread = unread.unwrap_or(k.rx_queue.saturating_sub(fin_received as u64));
    let mut parts = Vec::new();
    match (k.proto, k.state, k.timer_s) {
        (_, "TIME_WAIT", Some(s)) => {
            parts.push(t(lang, format!("{s:.1} s left of 60 s"), format!("剩余 {s:.1} 秒/共 60 秒")))
        }
        (_, "LISTEN", _) if k.rx_queue > 0 => {
            let n = k.rx_queue;
            parts.push(t(lang, format!("{n} connection(s) waiting for accept()"), format!("{n} 个连接在等待 accept()")))
        }
        (_, "LISTEN", _) => {}
        (Proto::Tcp, _, _) if tcp_unread > 0 => parts.push(t(
            lang,
            format!("{tcp_unread} byte(s) not yet recv()'d"),
            format!("{tcp_unread} 字节尚未 recv()"),
        )),
        (Proto::Udp, _, _) => {
            if let Some(n) = unread.filter(|n| *n > 0) {
                parts.push(t(lang, format!("next datagram: {n} bytes"), format!("下一个数据报：{n} 字节")));
            }
            if k.rx_queue > 0 {
                let m = k.rx_queue;
                parts.push(t(
                    lang,
                    format!("receive queue memory {m} bytes (kernel accounting, not payload)"),
                    format!("接收队列占用内存 {m} 字节（内核的记账，不是数据长度）"),
                ));
            }
            if k.state == "ESTABLISHED" {
                parts.push(t(
                    lang,
                    "connected UDP: connect() only recorded the peer, no packet".into(),
                    "已连接的 UDP：connect() 只记下了对端，没有发送任何包".into(),
                ));
            }
        }
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What a student's program gets from the lab (`[[file]]`, `[[input]]`),
/// for `lab show` and the run's header: an instructor sees what a
/// submission will find.
pub fn program_summary(lab: &super::spec::Lab, lang: Lang) -> Vec<String> {
    let mut lines = Vec::new();
    for f in &lab.files {
        let what = match (&f.text, lang) {
            (Some(_), Lang::En) => format!("{} bytes of text", f.len()),
            (Some(_), Lang::Zh) => format!("{} 字节的文本", f.len()),
            (None, Lang::En) => format!("{} bytes", f.len()),
            (None, Lang::Zh) => format!("{} 字节", f.len()),
        };
        lines.push(match (&f.actor, lang) {
            (Some(a), Lang::En) => format!("{a}'s program finds {:?} ({what}) in its folder", f.name),
            (Some(a), Lang::Zh) => format!("{a} 的程序在它的文件夹里看到 {:?}（{what}）", f.name),
            (None, Lang::En) => format!("a program finds {:?} ({what}) in its folder", f.name),
            (None, Lang::Zh) => format!("程序在它的文件夹里看到 {:?}（{what}）", f.name),
        });
    }
    for i in &lab.inputs {
        let lines_ = i.lines.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(" · ");
        lines.push(t(
            lang,
            format!("{}'s program reads on its stdin: {lines_}", i.actor),
            format!("{} 的程序从标准输入读到：{lines_}", i.actor),
        ));
    }
    lines
}

/// The lab wire of a lab, from its file: hosts and addresses, delay and
/// rate, and what each rule does (for `lab show` and the run's header).
pub fn wire_summary(w: &crate::source::wire::spec::WireSpec, lang: Lang) -> Vec<String> {
    use crate::source::wire::spec::{PacketKind, WireSpec};
    let hosts: Vec<String> = w
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let sysctl: Vec<String> = h.sysctl.iter().map(|(k, v)| format!("net.ipv4.{} = {v}", k.name())).collect();
            let extra = if sysctl.is_empty() { String::new() } else { format!(" ({})", sysctl.join(", ")) };
            format!("{} {}{extra}", h.name, WireSpec::addr(i))
        })
        .collect();
    let mut lines = vec![t(
        lang,
        format!("Wire: {} · {} ms each way", hosts.join(", "), w.delay),
        format!("线路：{} · 单程 {} 毫秒", hosts.join("，"), w.delay),
    )];
    if let Some(rate) = w.rate {
        let queue = w.queue.unwrap_or(crate::source::wire::forward::DEFAULT_QUEUE);
        lines.push(t(
            lang,
            format!("{rate} bytes/s per host, a queue of {queue} packets (then dropped)"),
            format!("每台主机每秒 {rate} 字节，队列 {queue} 个包（再多就丢弃）"),
        ));
    }
    for r in &w.rules {
        let kind = |zh: bool| match (r.packet, zh) {
            (PacketKind::Any, false) => "packet",
            (PacketKind::Any, true) => "包",
            (PacketKind::Data, false) => "data segment",
            (PacketKind::Data, true) => "数据报文段",
            (PacketKind::Syn, _) => "SYN",
            (PacketKind::Synack, _) => "SYN-ACK",
            (PacketKind::Fin, _) => "FIN",
            (PacketKind::Ack, false) => "pure ACK",
            (PacketKind::Ack, true) => "纯 ACK",
            (PacketKind::AckOfFin, false) => "ACK of the other side's FIN",
            (PacketKind::AckOfFin, true) => "对对方 FIN 的 ACK",
            (PacketKind::Rst, _) => "RST",
            (PacketKind::Udp, false) => "UDP datagram",
            (PacketKind::Udp, true) => "UDP 数据报",
        };
        let (which_en, which_zh) = match (&r.nth, r.probability, r.seed) {
            (_, Some(p), Some(seed)) => (
                format!("each {} with probability {p} (seed {seed})", kind(false)),
                format!("每个{}（概率 {p}，种子 {seed}）", kind(true)),
            ),
            (nth, _, _) => {
                let n: Vec<String> = nth.as_deref().unwrap_or(&[1]).iter().map(|n| n.to_string()).collect();
                (format!("{} no. {}", kind(false), n.join(", ")), format!("第 {} 个{}", n.join("、"), kind(true)))
            }
        };
        let ms = r.ms.map(|m| t(lang, format!(", {m} ms more"), format!("，多 {m} 毫秒"))).unwrap_or_default();
        let action = wire_action(r.action.name(), lang);
        lines.push(t(
            lang,
            format!("→ {action}: the {}'s {which_en}, per connection{ms}", r.from),
            format!("→ {action}：{} 发出的{which_zh}（每个连接）{ms}", r.from),
        ));
    }
    lines
}

/// A lab-wire action in words (its name as in lab files and JSON in English).
fn wire_action(name: &str, lang: Lang) -> String {
    let zh = match name {
        "drop" => "丢弃",
        "corrupt" => "损坏",
        "duplicate" => "复制",
        "reorder" => "乱序",
        "delay" => "延迟",
        other => other,
    };
    t(lang, name.to_string(), zh.to_string())
}

/// One TCP_INFO sample: "client: cwnd 10 · ssthresh – · rtt 40.2 ms ± 20.1 · rto 240 ms · …".
pub fn tcp_info(actor: &str, i: &super::tcpinfo::TcpInfo, lang: Lang) -> String {
    let ms = |us: u32| format!("{:.1}", us as f64 / 1000.0);
    let ssthresh =
        if i.ssthresh >= super::tcpinfo::INFINITE_SSTHRESH { "∞".to_string() } else { i.ssthresh.to_string() };
    let backoff = match (i.backoff, lang) {
        (0, _) => String::new(),
        (b, Lang::En) => format!(" (backed off ×{})", 1u64 << b.min(16)),
        (b, Lang::Zh) => format!("（退避 ×{}）", 1u64 << b.min(16)),
    };
    let (rtt, var, rto) = (ms(i.rtt_us), ms(i.rttvar_us), ms(i.rto_us));
    let (cwnd, flight, now, total, ca) = (i.cwnd, i.unacked, i.retrans, i.total_retrans, i.ca_name());
    t(
        lang,
        format!(
            "{actor} TCP_INFO: cwnd {cwnd} · ssthresh {ssthresh} · rtt {rtt} ms ± {var} · rto {rto} ms{backoff} · in flight {flight} · retransmitted {now} (total {total}) · {ca}"
        ),
        format!(
            "{actor} TCP_INFO：拥塞窗口 cwnd {cwnd} · 慢启动阈值 ssthresh {ssthresh} · rtt {rtt} ms ± {var} · 超时 rto {rto} ms{backoff} · 未确认 {flight} · 重传中 {now}（累计 {total}）· {ca}"
        ),
    )
}

/// What a step's packets show as a whole.
pub fn finding(f: &Finding, lang: Lang) -> String {
    match f {
        Finding::SendsBecameSegments { calls, segments } if segments < calls => t(
            lang,
            format!("{calls} send() calls went out in {segments} segment(s): glued at the sender"),
            format!("{calls} 次 send() 只发出了 {segments} 个报文段：在发送端就粘在一起了"),
        ),
        Finding::SendsBecameSegments { calls, segments } if segments == calls => t(
            lang,
            format!("{calls} send() calls went out as {segments} separate segments: nothing was glued at the sender"),
            format!("{calls} 次 send() 发出了 {segments} 个独立的报文段：发送端没有粘包"),
        ),
        Finding::SendsBecameSegments { calls, segments } => t(
            lang,
            format!("{calls} send() call(s) needed {segments} segments"),
            format!("{calls} 次 send() 用了 {segments} 个报文段"),
        ),
        Finding::RecvDrainedSegments { segments, bytes } => t(
            lang,
            format!(
                "this recv() returned {bytes} bytes that arrived in {segments} segments: glued in the receive buffer — TCP is a byte stream and keeps no message boundaries"
            ),
            format!("这次 recv() 返回的 {bytes} 字节是分 {segments} 个报文段到达的：在接收缓冲区里粘在了一起——TCP 是字节流，不保留消息边界"),
        ),
        Finding::SynRetries { intervals, retries, linear, give_up_s } => {
            let gaps: Vec<String> = intervals.iter().map(|g| format!("{g:.2}")).collect();
            let n = intervals.len() + 1;
            let gaps = gaps.join(", ");
            let rule = match linear {
                Some(l) => t(
                    lang,
                    format!("This kernel keeps the first {} retransmissions 1 s apart (tcp_syn_linear_timeouts = {l}), then doubles", l + 1),
                    format!("这个内核的前 {} 次重传间隔 1 秒（tcp_syn_linear_timeouts = {l}），之后翻倍", l + 1),
                ),
                None => t(lang, "This kernel doubles the interval each time".into(), "这个内核每次把间隔翻倍".into()),
            };
            t(
                lang,
                format!(
                    "the SYN went out {n} times, {gaps} s apart: no SYN-ACK came. {rule}; with tcp_syn_retries = {retries}, a connect() without a timeout gives up after about {give_up_s:.0} s (ETIMEDOUT, 110; Python: TimeoutError)"
                ),
                format!(
                    "SYN 发了 {n} 次，间隔 {gaps} 秒：一直没有收到 SYN-ACK。{rule}；tcp_syn_retries = {retries} 时，没有设置超时的 connect() 大约 {give_up_s:.0} 秒后放弃（ETIMEDOUT，110；Python：TimeoutError）"
                ),
            )
        }
        Finding::ChecksumErrors { host, tcp, udp } => t(
            lang,
            format!(
                "{host}'s kernel discarded {tcp} TCP segment(s) and {udp} UDP datagram(s) with a wrong checksum (its InCsumErrors counters, /proc/net/snmp): nothing reached the socket"
            ),
            format!(
                "{host} 的内核丢弃了 {tcp} 个校验和错误的 TCP 报文段和 {udp} 个 UDP 数据报（它的 InCsumErrors 计数器，/proc/net/snmp）：没有任何内容交给套接字"
            ),
        ),
        Finding::AckDelay { ms, of_fin } => {
            let what = if *of_fin { ("the FIN", "FIN") } else { ("the data", "数据") };
            let (en_d, zh_d) = if *ms < 1.0 {
                (format!("{:.0} µs", ms * 1000.0), format!("{:.0} 微秒", ms * 1000.0))
            } else {
                (format!("{ms:.1} ms"), format!("{ms:.1} 毫秒"))
            };
            let mut s = t(
                lang,
                format!("the ACK of {} left {en_d} after it", what.0),
                format!("{}之后 {zh_d} 发出了对它的 ACK", what.1),
            );
            if *ms >= super::findings::DELAYED_ACK_MS {
                s.push_str(&t(
                    lang,
                    ": a delayed ACK (Linux holds an ACK 40–200 ms, TCP_DELACK_MIN/MAX, hoping to send it with data)".into(),
                    "：这是延迟确认（Linux 会把 ACK 推迟 40–200 毫秒，TCP_DELACK_MIN/MAX，希望能和数据一起发出）".into(),
                ));
            }
            s
        }
    }
}

/// Why a quiz answer is what it is, from this run.
pub fn reason(r: &Reason, lang: Lang) -> String {
    match r {
        Reason::Packet { n, label, field, value, raw: Some(raw) } => t(
            lang,
            format!("packet {n} of this step ({label}) carries {field} = {value} relative ({raw} on the wire)."),
            format!("这一步的第 {n} 个包（{label}）的 {field} = {value}（相对值；线路上的原始值是 {raw}）。"),
        ),
        Reason::Packet { n, label, field, value, raw: None } => t(
            lang,
            format!("packet {n} of this step ({label}) carries {field} = {value}."),
            format!("这一步的第 {n} 个包（{label}）的 {field} = {value}。"),
        ),
        Reason::Count { labels } if labels.is_empty() => {
            t(lang, "this step put no packet on the wire.".into(), "这一步没有在线路上产生任何包。".into())
        }
        Reason::Count { labels } => t(
            lang,
            format!("this step put {} packet(s) on the wire: {}.", labels.len(), labels.join(" ")),
            format!("这一步在线路上产生了 {} 个包：{}。", labels.len(), labels.join(" ")),
        ),
        Reason::Returned { ret: Some(r) } => {
            t(lang, format!("the call returned {r}."), format!("这个调用返回了 {r}。"))
        }
        Reason::Returned { ret: None } => t(lang, "the call failed.".into(), "这个调用失败了。".into()),
        Reason::Errno { errno: None, .. } => {
            t(lang, "the call succeeded: no errno.".into(), "这个调用成功了：没有 errno。".into())
        }
        Reason::Errno { errno: Some(e), python: Some(p) } => t(
            lang,
            format!("the call failed with {} ({e}); Python raises {p}.", errno::name(*e)),
            format!("这个调用失败，errno 为 {} ({e})；Python 会抛出 {p}。", errno::name(*e)),
        ),
        Reason::Errno { errno: Some(e), python: None } => t(
            lang,
            format!("the call failed with {} ({e}); Python raises OSError with errno {e}.", errno::name(*e)),
            format!("这个调用失败，errno 为 {} ({e})；Python 会抛出 errno 为 {e} 的 OSError。", errno::name(*e)),
        ),
        Reason::Data { len: 0 } => t(
            lang,
            "recv() returned 0 bytes, b'': the peer had closed its side.".into(),
            "recv() 返回 0 字节 b''：对方已经关闭了它那一端。".into(),
        ),
        Reason::Data { len } => {
            t(lang, format!("the call returned {len} bytes."), format!("这个调用返回了 {len} 个字节。"))
        }
        Reason::State { actor, state } => t(
            lang,
            format!("the kernel's table lists {actor}'s socket as {state}."),
            format!("内核的表中 {actor} 的套接字处于 {state}。"),
        ),
    }
}

/// A socket the kernel does not list (no address yet).
pub fn no_row(lang: Lang) -> String {
    t(lang, "(no address yet: not in the kernel's tables)".into(), "（还没有地址：不在内核的表中）".into())
}

/// Who makes a step's call: its actor, or the lab itself (`sleep`, `watch`).
pub fn who(actor: &str, lang: Lang) -> String {
    if actor.is_empty() {
        t(lang, "lab".into(), "实验".into())
    } else {
        actor.to_string()
    }
}

/// "Goal: " before the lab's goal.
pub fn goal_prefix(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Goal: ",
        Lang::Zh => "目标：",
    }
}

/// The lab runs without capture.
pub fn no_capture(lang: Lang) -> String {
    t(lang, "(no capture: calls and kernel states only)".into(), "（没有抓包：只显示调用和内核状态）".into())
}

/// "step 2/5 · client": which step, and whose call.
pub fn step_title(n: usize, of: usize, actor: &str, lang: Lang) -> String {
    let who = who(actor, lang);
    t(lang, format!("step {n}/{of} · {who}"), format!("步骤 {n}/{of} · {who}"))
}

/// "kernel: " before the kernel's rows.
pub fn kernel_prefix(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "kernel: ",
        Lang::Zh => "内核：",
    }
}

/// The kernel lists no socket of the lab any more.
pub fn no_sockets_left(lang: Lang) -> String {
    t(lang, "kernel: no sockets of this lab left".into(), "内核：本实验的套接字都已不存在".into())
}

/// An expectation checked: "state: ESTABLISHED", or what was wanted and seen.
pub fn expectation(e: &Expectation, pass: bool, observed: &Observed, lang: Lang) -> String {
    let what = label(e, lang);
    let want = want(e, "", lang);
    let want = want.trim_start();
    if pass {
        t(lang, format!("{what}: {want}"), format!("{what}：{want}"))
    } else {
        let got = got(observed, lang);
        t(lang, format!("{what}: wanted {want}, saw {got}"), format!("{what}：期望 {want}，实际 {got}"))
    }
}

/// An expectation that could not be judged, and why.
pub fn skipped(e: &Expectation, why: Skip, lang: Lang) -> String {
    let what = label(e, lang);
    match why {
        Skip::NoCapture => t(lang, format!("{what}: skipped (no capture)"), format!("{what}：已跳过（没有抓包）")),
        Skip::ByProgram => t(
            lang,
            format!("{what}: not judged (the program's own call: only the wire and the kernel show it)"),
            format!("{what}：不评判（这是程序自己的调用：只能看线路和内核）"),
        ),
    }
}

/// The student's answer checked: right, wrong (and the answer), or not checkable.
pub fn quiz_verdict(answer: &str, truth: Option<&str>, right: bool, lang: Lang) -> String {
    let said = if answer.is_empty() { t(lang, "nothing".into(), "（空）".into()) } else { format!("{answer:?}") };
    match (truth, right) {
        (Some(truth), true) => t(lang, format!("right! the capture says {truth}"), format!("答对了！抓包显示 {truth}")),
        (Some(truth), false) => {
            t(lang, format!("you said {said}; the answer is {truth}"), format!("你的答案 {said}；正确答案是 {truth}"))
        }
        (None, _) => t(lang, "cannot be checked without a capture".into(), "没有抓包，无法核对".into()),
    }
}

/// The prompt after a quiz question.
pub fn quiz_prompt(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "your answer (q: stop): ",
        Lang::Zh => "你的答案（q：停止）：",
    }
}

/// A quiz question shown without asking it (the run was not `--quiz`).
pub fn quiz_not_asked(lang: Lang) -> String {
    t(
        lang,
        "quiz question (not asked in this run; `lab run --quiz` asks it and checks the answer against the capture)"
            .into(),
        "测验题（这次运行没有提问；用 `lab run --quiz` 会提问并用抓包核对答案）".into(),
    )
}

/// The lab stopped before its end.
pub fn interrupted(n: usize, lang: Lang) -> String {
    t(
        lang,
        format!("■ interrupted at step {n}: the lab stopped before the end (sockets closed)"),
        format!("■ 在第 {n} 步被中断：实验没有做完（套接字已关闭）"),
    )
}

/// "quiz score: 2/3".
pub fn quiz_score(right: usize, asked: usize, lang: Lang) -> String {
    t(lang, format!("quiz score: {right}/{asked}"), format!("测验得分：{right}/{asked}"))
}

/// The run's totals: expectations, and what the capture got.
pub fn totals(
    passed: usize,
    failed: usize,
    skipped: usize,
    stats: Option<crate::source::live::CaptureStats>,
    lang: Lang,
) -> String {
    let mut line = t(
        lang,
        format!("expectations: {passed} passed, {failed} failed"),
        format!("检查项：{passed} 通过，{failed} 失败"),
    );
    if skipped > 0 {
        line.push_str(&t(lang, format!(", {skipped} skipped (no capture)"), format!("，{skipped} 跳过（没有抓包）")));
    }
    if let Some(st) = stats {
        line.push_str(&t(
            lang,
            format!(" · capture: {} frames, {} dropped by the kernel", st.received, st.dropped),
            format!(" · 抓包：{} 帧，内核丢弃 {} 帧", st.received, st.dropped),
        ));
    }
    line
}

/// The kernel dropped frames of the lab.
pub fn drop_warning(lang: Lang) -> String {
    t(
        lang,
        "warning: the kernel dropped frames; the ladder is incomplete".into(),
        "警告：内核丢弃了一些帧，梯形图不完整".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::spec::{ExpertName, KernelState};

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| {
            ('\u{4e00}'..='\u{9fff}').contains(&c)
                || ('\u{3000}'..='\u{303f}').contains(&c)
                || ('\u{ff00}'..='\u{ffef}').contains(&c)
        })
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
            Note::Encoded { codec: super::super::spec::Codec::Gbk, chars: 2, bytes: 4 },
            Note::Decoded { codec: super::super::spec::Codec::Gbk, text: "x".into(), malformed: false },
            Note::Decoded { codec: super::super::spec::Codec::Gbk, text: "x".into(), malformed: true },
            Note::SocketTimeout { seconds: 1.0 },
            Note::LabTimeout { seconds: 2.0 },
            Note::DnsServing { names: 1 },
            Note::Resolved { name: "a".into(), addrs: vec![a.ip()], via: Some(a) },
            Note::Resolved { name: "a".into(), addrs: vec![a.ip()], via: None },
            Note::Resolved { name: "a".into(), addrs: vec![], via: Some(a) },
            Note::Resolved { name: "a".into(), addrs: vec![], via: None },
            Note::ByProgram { actor: "server".into() },
            Note::Http(Box::default()),
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
            Note::Encoded { .. } => 16,
            Note::Decoded { .. } => 17,
            Note::SocketTimeout { .. } => 18,
            Note::LabTimeout { .. } => 19,
            Note::DnsServing { .. } => 20,
            Note::Resolved { .. } => 21,
            Note::ByProgram { .. } => 22,
            Note::Http(_) => 23,
        };
        let covered: std::collections::BTreeSet<usize> = v.iter().map(index).collect();
        assert_eq!(covered.len(), 24, "a Note variant has no sample");
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
            Expectation::PacketsExclude(vec![PacketPattern::Udp]),
            Expectation::Analysis(vec![ExpertName("zero_window")]),
            Expectation::Errno(ErrnoWant::None),
            Expectation::Ret(1),
            Expectation::RetMin(1),
            Expectation::RetBelow(1),
            Expectation::Data("x".into()),
            Expectation::State { of: None, state: KernelState::Listen },
            Expectation::SameMd5As("server".into()),
            Expectation::Blocks(true),
        ];
        for e in &exps {
            texts.push((label(e, Lang::En), label(e, Lang::Zh)));
        }
        texts.push((want(&exps[0], "a", Lang::En), want(&exps[0], "a", Lang::Zh)));
        texts.push((want(&exps[3], "a", Lang::En), want(&exps[3], "a", Lang::Zh)));
        texts.push((want(&exps[4], "a", Lang::En), want(&exps[4], "a", Lang::Zh)));
        texts.push((want(&exps[10], "a", Lang::En), want(&exps[10], "a", Lang::Zh)));
        for o in [Observed::Ret(None), Observed::Md5 { want: None, got: None }, Observed::Packets(vec![])] {
            texts.push((got(&o, Lang::En), got(&o, Lang::Zh)));
        }
        texts.push((
            holder(&Holder::AcceptQueue("s".into()), Lang::En),
            holder(&Holder::AcceptQueue("s".into()), Lang::Zh),
        ));
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
            texts.push((row_extra(&r, None, Lang::En).unwrap(), row_extra(&r, None, Lang::Zh).unwrap()));
        }
        let mut udp = row("ESTABLISHED", 832, None);
        udp.proto = super::super::procnet::Proto::Udp;
        let (en, zh) = (row_extra(&udp, Some(3), Lang::En).unwrap(), row_extra(&udp, Some(3), Lang::Zh).unwrap());
        assert!(en.contains("next datagram: 3 bytes") && en.contains("832") && !en.contains("recv()'d"), "{en}");
        texts.push((en, zh));
        texts.push((no_row(Lang::En), no_row(Lang::Zh)));
        let reasons = [
            Reason::Packet { n: 2, label: "SYN,ACK".into(), field: "ack", value: "1".into(), raw: Some(5) },
            Reason::Packet { n: 1, label: "SYN".into(), field: "mss", value: "65495".into(), raw: None },
            Reason::Count { labels: vec![] },
            Reason::Count { labels: vec!["SYN".into()] },
            Reason::Returned { ret: Some(3) },
            Reason::Returned { ret: None },
            Reason::Errno { errno: None, python: None },
            Reason::Errno { errno: Some(111), python: Some("ConnectionRefusedError") },
            Reason::Errno { errno: Some(98), python: None },
            Reason::Data { len: 0 },
            Reason::Data { len: 3 },
            Reason::State { actor: "client".into(), state: "TIME_WAIT" },
        ];
        for r in &reasons {
            texts.push((reason(r, Lang::En), reason(r, Lang::Zh)));
        }
        for f in [
            Finding::SendsBecameSegments { calls: 3, segments: 1 },
            Finding::SendsBecameSegments { calls: 3, segments: 3 },
            Finding::SendsBecameSegments { calls: 1, segments: 3 },
            Finding::RecvDrainedSegments { segments: 3, bytes: 17 },
            Finding::AckDelay { ms: 0.1, of_fin: true },
            Finding::SynRetries { intervals: vec![1.0, 1.0], retries: 6, linear: Some(4), give_up_s: 131.0 },
            Finding::SynRetries { intervals: vec![1.0, 2.0], retries: 6, linear: None, give_up_s: 127.0 },
            Finding::AckDelay { ms: 41.0, of_fin: false },
            Finding::ChecksumErrors { host: "server".into(), tcp: 1, udp: 0 },
        ] {
            texts.push((finding(&f, Lang::En), finding(&f, Lang::Zh)));
        }
        let long = Expectation::Data("x".repeat(61));
        texts.push((want(&long, "a", Lang::En), want(&long, "a", Lang::Zh)));
        let seen = Observed::Ret(None);
        for pass in [true, false] {
            texts.push((expectation(&exps[4], pass, &seen, Lang::En), expectation(&exps[4], pass, &seen, Lang::Zh)));
        }
        for why in [Skip::NoCapture, Skip::ByProgram] {
            texts.push((skipped(&exps[0], why, Lang::En), skipped(&exps[0], why, Lang::Zh)));
        }
        for (truth, right) in [(Some("1"), true), (Some("1"), false), (None, false)] {
            texts.push((quiz_verdict("2", truth, right, Lang::En), quiz_verdict("2", truth, right, Lang::Zh)));
        }
        let stats = Some(crate::source::live::CaptureStats { received: 3, dropped: 1 });
        for (en, zh) in [
            (who("", Lang::En), who("", Lang::Zh)),
            (goal_prefix(Lang::En).into(), goal_prefix(Lang::Zh).into()),
            (no_capture(Lang::En), no_capture(Lang::Zh)),
            (step_title(1, 2, "", Lang::En), step_title(1, 2, "", Lang::Zh)),
            (kernel_prefix(Lang::En).into(), kernel_prefix(Lang::Zh).into()),
            (no_sockets_left(Lang::En), no_sockets_left(Lang::Zh)),
            (quiz_prompt(Lang::En).into(), quiz_prompt(Lang::Zh).into()),
            (quiz_not_asked(Lang::En), quiz_not_asked(Lang::Zh)),
            (interrupted(2, Lang::En), interrupted(2, Lang::Zh)),
            (quiz_score(1, 2, Lang::En), quiz_score(1, 2, Lang::Zh)),
            (totals(1, 2, 3, stats, Lang::En), totals(1, 2, 3, stats, Lang::Zh)),
            (drop_warning(Lang::En), drop_warning(Lang::Zh)),
        ] {
            texts.push((en, zh));
        }
        let ok = CallOutcome { ok: true, data: Some(vec![]), ..Default::default() };
        texts.push((outcome(&ok, Lang::En), outcome(&ok, Lang::Zh)));
        for (en, zh) in texts {
            assert!(!en.is_empty() && !has_cjk(&en), "English message with CJK: {en:?}");
            let pure_token = en == zh && !en.chars().any(|c| c.is_ascii_lowercase() && en.contains(' '));
            assert!(has_cjk(&zh) || pure_token, "Chinese missing for {en:?}: {zh:?}");
        }
    }
}
