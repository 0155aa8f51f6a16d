//! `lab run handshake --html FILE` in a real browser, driven over the Chrome
//! DevTools protocol: the page loads from file:// with no console message and
//! no request outside the file; its `data-frame` values are the run's frames;
//! a real mouse click on the SYN-ACK's arrow shows that packet's header
//! fields and bytes; the screenshot is the README's
//! (docs/screenshots/lab-handshake.png). Also: the page has each step's call,
//! the kernel table, the expectations and the summary, in both languages.

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the handshake lab with `--html`; the page and the JSON events.
fn lab_page(test: &str, lang: &str) -> (PathBuf, String, Vec<Value>) {
    let dir = std::env::temp_dir().join(format!("wirelab-lab-html-{}-{test}-{lang}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("handshake.html");
    let mut last = String::new();
    // The labs bind loopback ports; another run may hold one for a moment: once more.
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .args(["--lang", lang, "lab", "run", "handshake", "--format", "jsonl", "--html"])
            .arg(&file)
            .output()
            .unwrap();
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            let events =
                String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            return (file.clone(), std::fs::read_to_string(&file).unwrap(), events);
        }
    }
    panic!("lab run failed: {last}");
}

/// The frame numbers of the run's packets, and the SYN-ACK's.
fn frames(events: &[Value]) -> (Vec<u64>, u64) {
    let packets: Vec<&Value> = events.iter().filter(|e| e["kind"] == "packet").collect();
    let numbers = packets.iter().map(|p| p["frame"].as_u64().unwrap()).collect();
    let syn_ack = packets.iter().find(|p| p["flags"] == json!(["SYN", "ACK"])).expect("a SYN-ACK");
    (numbers, syn_ack["frame"].as_u64().unwrap())
}

#[test]
fn the_page_has_the_steps_calls_kernel_expectations_and_summary() {
    if common::skip_without_capture("the_page_has_the_steps_calls_kernel_expectations_and_summary") {
        return;
    }
    let (_, html, events) = lab_page("texts", "en");
    for e in events.iter().filter(|e| e["kind"] == "call") {
        let sig = e["signature"].as_str().unwrap();
        assert!(html.contains(&format!("<span class=\"call\">{sig}</span>")), "call {sig} not on the page");
    }
    assert!(html.contains("step 5/9 · client: "), "step titles");
    assert!(html.contains("<td><b>ESTABLISHED</b></td>"), "kernel table");
    let passed = events.iter().filter(|e| e["kind"] == "expect" && e["pass"] == true).count();
    assert_eq!(html.matches("class=\"expect ok\">✓ ").count(), passed);
    assert!(html.contains(&format!("expectations: {passed} passed, 0 failed")), "summary");
    // Not run with --quiz: the questions are shown as questions.
    assert!(html.contains("quiz question (not asked in this run"), "quiz");
    let ladder = &html[..html.find("<aside").unwrap()];
    let (numbers, _) = frames(&events);
    assert_eq!(ladder.matches(" data-frame=\"").count(), numbers.len());

    let (_, zh, _) = lab_page("texts", "zh");
    assert!(
        zh.contains("lang=\"zh-CN\"") && zh.contains("步骤 5/9") && zh.contains("检查项：") && zh.contains("内核：")
    );
}

/// A Chromium with its DevTools endpoint; killed when dropped.
struct Browser {
    child: Child,
    profile: PathBuf,
    port: u16,
}

impl Browser {
    fn start(bin: &str) -> Browser {
        let profile = std::env::temp_dir().join(format!("wirelab-cdp-{}", std::process::id()));
        let mut child = Command::new(bin)
            .args(common::CHROMIUM_FLAGS)
            .args(["--hide-scrollbars", "--remote-debugging-port=0", "--window-size=1280,900"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut port = None;
        let mut line = String::new();
        while err.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                port = rest.split('/').next().and_then(|p| p.parse().ok());
                break;
            }
            line.clear();
        }
        // Keep reading stderr so Chromium never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Browser { child, profile, port: port.expect("Chromium printed no DevTools address") }
    }

    /// The DevTools websocket of the open tab (GET /json/list).
    fn page_socket(&self) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut body = Vec::new();
        let _ = s.read_to_end(&mut body);
        let body = String::from_utf8_lossy(&body);
        let json = &body[body.find('[').unwrap_or_else(|| panic!("no target list: {body:?}"))..];
        let targets: Vec<Value> = serde_json::from_str(json.trim_end()).unwrap();
        let page = targets.iter().find(|t| t["type"] == "page").expect("a page target");
        format!("ws://127.0.0.1:{}/devtools/page/{}", self.port, page["id"].as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The protocol over one websocket: commands and the events that come meanwhile.
struct Cdp {
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next: u64,
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) = tungstenite::connect(url).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        Cdp { ws, next: 1, events: Vec::new() }
    }

    fn read(&mut self) -> Value {
        loop {
            let msg = self.ws.read().expect("DevTools message");
            if let Ok(text) = msg.to_text() {
                if !text.is_empty() {
                    return serde_json::from_str(text).unwrap();
                }
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(tungstenite::Message::text(msg)).unwrap();
        loop {
            let v = self.read();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Evaluates `js` in the page; its value (awaited when a promise).
    fn eval(&mut self, js: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": js, "returnByValue": true, "awaitPromise": true}));
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits for an event named `method`.
    fn wait_for(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        loop {
            let v = self.read();
            let done = v["method"] == method;
            self.events.push(v);
            if done {
                return;
            }
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for c in clean.chunks(4) {
        let n = c.iter().enumerate().fold(0u32, |n, (i, b)| n | (val(*b) as u32) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..c.len()]);
    }
    out
}

#[test]
fn in_chromium_a_click_on_the_syn_ack_shows_its_header_and_bytes() {
    if common::skip_without_capture("in_chromium_a_click_on_the_syn_ack_shows_its_header_and_bytes") {
        return;
    }
    let Some(bin) = common::chromium() else { return };
    let (file, _, events) = lab_page("click", "en");
    let t0 = Instant::now();
    let (numbers, syn_ack) = frames(&events);
    let syn_ack_rec = events.iter().find(|e| e["kind"] == "packet" && e["frame"] == syn_ack).unwrap().clone();

    let browser = Browser::start(bin);
    let mut cdp = Cdp::connect(&browser.page_socket());
    for domain in ["Runtime.enable", "Log.enable", "Network.enable", "Page.enable"] {
        cdp.call(domain, json!({}));
    }
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );
    let url = format!("file://{}", file.display());
    cdp.call("Page.navigate", json!({"url": url}));
    cdp.wait_for("Page.loadEventFired");

    // The arrows are the run's frames.
    let drawn =
        cdp.eval("JSON.stringify([...document.querySelectorAll('#ladder [data-frame]')].map(e => +e.dataset.frame))");
    let drawn: Vec<u64> = serde_json::from_str(drawn.as_str().unwrap()).unwrap();
    assert_eq!(drawn, numbers, "data-frame values");

    // A real click, at the middle of the SYN-ACK's arrow.
    let at = cdp.eval(&format!(
        "(() => {{ const g = document.querySelector('#ladder [data-frame=\"{syn_ack}\"]'); g.scrollIntoView({{block: 'center'}});
           const r = g.querySelector('use').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
    ));
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
        cdp.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1}),
        );
    }
    let start = Instant::now();
    let panel = loop {
        let text = cdp.eval("document.getElementById('panel').innerText").as_str().unwrap_or("").to_string();
        if text.contains(&format!("frame {syn_ack}:")) || start.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(panel.contains(&format!("frame {syn_ack}: 74 bytes captured")), "{panel}");
    assert!(panel.contains("SYN,ACK"), "{panel}");
    for port in ["sport", "dport"] {
        let p = syn_ack_rec[port].as_u64().unwrap().to_string();
        assert!(panel.contains(&p), "{port} {p} not in the panel:\n{panel}");
    }
    let bits = cdp.eval(
        "JSON.stringify(Object.fromEntries(['syn','ack_bit','fin','rst','psh'].map(k => [k, document.querySelector(`#panel [data-key=\"${k}\"]`).classList.contains('on')])))",
    );
    let bits: Value = serde_json::from_str(bits.as_str().unwrap()).unwrap();
    assert_eq!(bits, json!({"syn": true, "ack_bit": true, "fin": false, "rst": false, "psh": false}));
    assert_eq!(cdp.eval("document.querySelectorAll('#panel .hex [data-i]').length"), json!(74), "hex dump bytes");
    let selected = format!("document.querySelector('#ladder [data-frame=\"{syn_ack}\"]').classList.contains('sel')");
    assert_eq!(cdp.eval(&selected), json!(true));

    // Nothing but the file was asked for, and nothing was said on the console.
    for e in &cdp.events {
        match e["method"].as_str().unwrap_or("") {
            "Network.requestWillBeSent" => {
                let u = e["params"]["request"]["url"].as_str().unwrap_or("");
                assert!(u == url || u.starts_with("data:"), "request outside the page: {u}");
            }
            "Runtime.consoleAPICalled" | "Runtime.exceptionThrown" | "Log.entryAdded" => {
                panic!("console: {e}")
            }
            _ => {}
        }
    }

    let shot = cdp.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64_decode(shot["data"].as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "screenshot of {} bytes: blank?", png.len());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/lab-handshake.png");
    std::fs::write(&path, &png).unwrap();
    println!("browser part: {:.1} s", t0.elapsed().as_secs_f64());
}
