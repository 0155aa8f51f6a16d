//! Moving data the way course programs do: several quick send()s, length
//! framing, sendall() loops, a file server streaming a file, a client writing
//! what arrives to disk and checking its MD5, and accept loops (iterative or a
//! thread per connection). Each works on a socket it is given, so the engine
//! can run it in the foreground or in a thread.

use md5::{Digest, Md5};
use socket2::Socket;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Size of one send()/recv() of bulk transfers.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// What a transfer moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Bytes moved.
    pub bytes: u64,
    /// MD5 of those bytes, hex.
    pub md5: String,
    /// How many send()/recv() calls it took.
    pub calls: u64,
}

/// Deterministic file content: byte `i` of a "file" of the lab.
fn content_chunk(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        let x = (offset + i as u64).wrapping_mul(2_654_435_761);
        *b = (x >> 13) as u8;
    }
}

/// Sends `data` completely, like Python's sendall(): loops over short sends and
/// waits when a non-blocking socket's buffer is full.
pub fn send_all(sock: &Socket, mut data: &[u8]) -> io::Result<u64> {
    let mut calls = 0;
    while !data.is_empty() {
        match sock.send(data) {
            Ok(n) => {
                calls += 1;
                data = &data[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(calls)
}

/// Streams a generated file of `size` bytes in `chunk`-sized sendall()s.
pub fn send_file(sock: &Socket, size: u64, chunk: usize) -> io::Result<Transfer> {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; chunk.max(1)];
    let mut sent = 0u64;
    let mut calls = 0;
    while sent < size {
        let n = ((size - sent) as usize).min(buf.len());
        content_chunk(sent, &mut buf[..n]);
        calls += send_all(sock, &buf[..n])?;
        hasher.update(&buf[..n]);
        sent += n as u64;
    }
    Ok(Transfer { bytes: sent, md5: hex(&hasher.finalize()), calls })
}

/// MD5 of the generated file of `size` bytes (what a correct download must give).
pub fn file_md5(size: u64) -> String {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; DEFAULT_CHUNK];
    let mut done = 0u64;
    while done < size {
        let n = ((size - done) as usize).min(buf.len());
        content_chunk(done, &mut buf[..n]);
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    hex(&hasher.finalize())
}

/// The generated file of `size` bytes (what `send_file` sends).
pub fn file_contents(size: u64) -> Vec<u8> {
    let mut buf = vec![0u8; size as usize];
    content_chunk(0, &mut buf);
    buf
}

/// MD5 of a byte string, hex.
pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Receives until the peer closes (or `limit` bytes), optionally writing to a
/// temporary file as it goes; memory stays at one buffer.
pub fn recv_all(sock: &Socket, limit: Option<u64>, to_file: bool, timeout: Duration) -> io::Result<Transfer> {
    sock.set_read_timeout(Some(timeout))?;
    let mut file = if to_file {
        let path = std::env::temp_dir().join(format!(
            "wirelab-download-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = std::fs::File::create(&path)?;
        // The name is not needed once open: the file goes away when closed.
        let _ = std::fs::remove_file(&path);
        Some(io::BufWriter::new(f))
    } else {
        None
    };
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; DEFAULT_CHUNK];
    let mut got = 0u64;
    let mut calls = 0;
    let mut reader: &Socket = sock;
    loop {
        let want = match limit {
            Some(l) if got >= l => break,
            Some(l) => ((l - got) as usize).min(buf.len()),
            None => buf.len(),
        };
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        calls += 1;
        hasher.update(&buf[..n]);
        if let Some(f) = file.as_mut() {
            f.write_all(&buf[..n])?;
        }
        got += n as u64;
    }
    if let Some(f) = file.as_mut() {
        f.flush()?;
    }
    Ok(Transfer { bytes: got, md5: hex(&hasher.finalize()), calls })
}

/// Reads exactly `buf.len()` bytes, or fails with UnexpectedEof.
fn recv_exact(sock: &Socket, buf: &mut [u8]) -> io::Result<()> {
    let mut reader: &Socket = sock;
    reader.read_exact(buf)
}

/// Receives one length-prefixed message (4-byte big-endian length, then the bytes).
pub fn recv_framed(sock: &Socket, timeout: Duration) -> io::Result<Vec<u8>> {
    sock.set_read_timeout(Some(timeout))?;
    let mut len = [0u8; 4];
    recv_exact(sock, &mut len)?;
    let mut msg = vec![0u8; u32::from_be_bytes(len) as usize];
    recv_exact(sock, &mut msg)?;
    Ok(msg)
}

/// Prefixes a message with its length.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

/// Echo one client until it closes: recv(1024), send it back (upper-cased
/// when `upper`).
fn echo_client(conn: Socket, upper: bool) -> io::Result<u64> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = &conn;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        let reply = if upper { buf[..n].to_ascii_uppercase() } else { buf[..n].to_vec() };
        send_all(&conn, &reply)?;
    }
}

/// An accept loop on `listener` until `stop`: iterative (one client at a time,
/// the next waits in the accept queue) or a thread per connection. Returns the
/// number of clients served.
pub fn serve(listener: Socket, threaded: bool, upper: bool, stop: Arc<AtomicBool>) -> io::Result<u64> {
    listener.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut served = 0;
    let mut workers = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((conn, _)) => {
                served += 1;
                if threaded {
                    workers.push(std::thread::spawn(move || echo_client(conn, upper)));
                } else {
                    let _ = echo_client(conn, upper);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for w in workers {
        if Instant::now() < deadline {
            let _ = w.join();
        }
    }
    Ok(served)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trip_and_file_digest() {
        assert_eq!(frame(b"hi"), vec![0, 0, 0, 2, b'h', b'i']);
        assert_eq!(file_md5(0), "d41d8cd98f00b204e9800998ecf8427e");
        let mut a = vec![0u8; 100];
        content_chunk(0, &mut a);
        let mut b = vec![0u8; 50];
        content_chunk(50, &mut b);
        assert_eq!(&a[50..], &b[..]);
    }
}

/// One `recvfrom(size)`: the datagram's bytes and its sender (None for a
/// sender that is not an inet address).
pub fn recv_datagram(sock: &Socket, size: usize) -> io::Result<(Vec<u8>, Option<std::net::SocketAddr>)> {
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); size];
    let (n, from) = sock.recv_from(&mut buf)?;
    // SAFETY: recv_from initialised the first n bytes.
    let data = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
    Ok((data, from.as_socket()))
}
