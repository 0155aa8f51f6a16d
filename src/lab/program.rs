//! A student's own program in a lab (`lab run --program ACTOR=COMMAND`,
//! `wirelab grade`): wirelab starts it with `sh -c` in its own process group
//! (on the lab wire: inside the namespace of the actor's host), finds the
//! port it listens on in that host's kernel socket table, lists its sockets
//! as the actor's in the kernel table, and kills the whole group at the end.
//!
//! Its sockets are found by inode: the `socket:[N]` links in `/proc/PID/fd`
//! of every process of its group, matched against `/proc/net/tcp` of its
//! namespace — so a program listening on the same port on this machine (or
//! in another submission's namespace) is never taken for it.

use super::events::{Holder, StateRow};
use super::procnet::{self, KernelSocket, Proto};
use crate::error::{Error, Result};
use crate::source::wire::netns::Netns;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a program may take to listen.
pub const LISTEN_LIMIT: Duration = Duration::from_secs(5);

/// Bytes of a program's stdout/stderr kept for the report (the end of it).
const OUTPUT_KEPT: u64 = 4096;

/// The lab's `[[file]]`s in a program's working directory, for as long as
/// it runs: the files wirelab wrote are removed again when this is dropped
/// (a file already there with the same bytes is left as it was).
pub struct LabFiles {
    created: Vec<PathBuf>,
}

impl LabFiles {
    /// Writes `files` into `dir`. A file of that name with other bytes is
    /// replaced when `replace` (a private copy, as `wirelab grade` makes),
    /// else it is an error: wirelab never overwrites a student's own file.
    pub fn put(files: &[super::spec::LabFile], actor: &str, dir: &Path, replace: bool) -> Result<LabFiles> {
        let mut put = LabFiles { created: Vec::new() };
        for f in files.iter().filter(|f| f.given_to(actor)) {
            let path = dir.join(&f.name);
            let bytes = f.contents();
            match std::fs::read(&path) {
                Ok(old) if old == bytes => continue,
                Ok(_) if !replace => {
                    return Err(Error::Usage(crate::i18n::either(
                        format!("{}: the lab puts its own file {:?} here, and a different file has that name: move it away first", path.display(), f.name),
                        format!("{}：实验要在这里放它自己的文件 {:?}，而这里已有一个同名的不同文件：请先把它移走", path.display(), f.name),
                    )));
                }
                Ok(_) => {}
                Err(_) => put.created.push(path.clone()),
            }
            std::fs::write(&path, &bytes).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        }
        Ok(put)
    }
}

impl Drop for LabFiles {
    fn drop(&mut self) {
        for p in &self.created {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A program's working directory as it was when the program started, to
/// tell which files it saved (`saves_file`): a file already there before is
/// never taken for its work.
pub struct FolderWatch {
    dir: PathBuf,
    before: std::collections::HashMap<std::ffi::OsString, (u64, Option<std::time::SystemTime>)>,
}

/// Largest file whose MD5 `saves_file` computes.
const SAVED_MAX: u64 = 256 << 20;

impl FolderWatch {
    /// Notes what `dir` holds now.
    pub fn new(dir: &Path) -> FolderWatch {
        let before =
            Self::list(dir).into_iter().map(|(name, meta)| (name, (meta.len(), meta.modified().ok()))).collect();
        FolderWatch { dir: dir.to_path_buf(), before }
    }

    fn list(dir: &Path) -> Vec<(std::ffi::OsString, std::fs::Metadata)> {
        let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
        rd.flatten().filter_map(|e| e.metadata().ok().filter(|m| m.is_file()).map(|m| (e.file_name(), m))).collect()
    }

    /// The files created or changed since, with their MD5s, by name.
    pub fn saved(&self) -> Vec<(super::events::SavedFile, String)> {
        let mut out: Vec<_> = Self::list(&self.dir)
            .into_iter()
            .filter(|(name, meta)| self.before.get(name) != Some(&(meta.len(), meta.modified().ok())))
            .map(|(name, meta)| {
                let md5 = if meta.len() <= SAVED_MAX {
                    std::fs::read(self.dir.join(&name)).map(|b| super::transfer::md5_hex(&b)).unwrap_or_default()
                } else {
                    String::new()
                };
                (super::events::SavedFile { name: name.to_string_lossy().into_owned(), bytes: meta.len() }, md5)
            })
            .collect();
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }
}

/// `ACTOR=COMMAND` of `--program`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The lab's actor the program plays.
    pub actor: String,
    /// A shell command (`sh -c`).
    pub command: String,
}

impl FromStr for ProgramSpec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let usage = "write --program ACTOR=COMMAND, e.g. --program 'server=python3 server.py'";
        let Some((actor, command)) = s.split_once('=') else {
            return Err(format!("{s:?}: no '=' ({usage})"));
        };
        let (actor, command) = (actor.trim(), command.trim());
        if actor.is_empty() || !actor.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("{s:?}: {actor:?} is not an actor name ({usage})"));
        }
        if command.is_empty() {
            return Err(format!("{s:?}: the command is empty ({usage})"));
        }
        Ok(ProgramSpec { actor: actor.to_string(), command: command.to_string() })
    }
}

/// Who performs an actor's steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Performer<'a> {
    /// wirelab, with its own socket calls.
    Wirelab,
    /// A program wirelab started: its steps are observations.
    Program(&'a ProgramSpec),
}

/// What a program printed, and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramOutput {
    /// The end of its stdout.
    pub stdout: String,
    /// The end of its stderr.
    pub stderr: String,
    /// Its exit status if it ended by itself before wirelab stopped it.
    pub exited: Option<i32>,
}

/// A running program and where its output goes.
pub struct Program {
    child: Child,
    pgid: i32,
    spec: ProgramSpec,
    ns: Option<Arc<Netns>>,
    out_dir: PathBuf,
    /// Name of its connected sockets in the kernel table.
    conn_name: String,
    exited: Option<i32>,
    killed: bool,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    /// The port it listened on: its connections in TIME_WAIT (which no
    /// process holds any more) are found by it.
    listen_port: Option<u16>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Program {
    /// Starts `spec.command` with `sh -c` in `cwd`, in its own process group,
    /// in `ns` when given. `conn_name` names its connected sockets.
    pub fn start(
        spec: &ProgramSpec,
        cwd: Option<&Path>,
        ns: Option<Arc<Netns>>,
        conn_name: &str,
        stdin: Option<Vec<u8>>,
    ) -> Result<Program> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let out_dir = std::env::temp_dir().join(format!("wirelab-program-{}-{n}", std::process::id()));
        let io = |what: &str, e| Error::io(format!("{what} {}", out_dir.display()), e);
        std::fs::create_dir_all(&out_dir).map_err(|e| io("creating", e))?;
        let mut p = Program {
            child: Self::spawn(spec, cwd, ns.as_ref(), &out_dir, stdin.as_deref()).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&out_dir);
            })?,
            pgid: 0,
            spec: spec.clone(),
            ns,
            out_dir,
            conn_name: conn_name.to_string(),
            exited: None,
            killed: false,
            cwd: cwd.map(Path::to_path_buf),
            stdin,
            listen_port: None,
        };
        p.pgid = p.child.id() as i32;
        Ok(p)
    }

    /// Starts the command; its output is appended to `out_dir`'s files
    /// (a restarted program's stderr follows the first one's).
    fn spawn(
        spec: &ProgramSpec,
        cwd: Option<&Path>,
        ns: Option<&Arc<Netns>>,
        out_dir: &Path,
        stdin: Option<&[u8]>,
    ) -> Result<Child> {
        let io = |what: &str, e| Error::io(format!("{what} {}", out_dir.display()), e);
        let open = |name: &str| std::fs::OpenOptions::new().create(true).append(true).open(out_dir.join(name));
        let stdout = open("stdout").map_err(|e| io("creating a file in", e))?;
        let stderr = open("stderr").map_err(|e| io("creating a file in", e))?;
        let mut cmd = Command::new("sh");
        let input = if stdin.is_some() { Stdio::piped() } else { Stdio::null() };
        cmd.arg("-c").arg(&spec.command).stdin(input).stdout(stdout).stderr(stderr).process_group(0);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let ns_fd = ns.map(|n| n.raw_fd());
        // SAFETY: the closure runs in the child between fork and exec and
        // makes only async-signal-safe system calls (prctl, setns).
        unsafe {
            cmd.pre_exec(move || {
                // If wirelab dies (even kill -9), the program goes too.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(fd) = ns_fd {
                    if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::Usage(crate::i18n::either(
                format!("cannot start the program {:?}: {e}", spec.command),
                format!("无法启动程序 {:?}：{e}", spec.command),
            ))
        })?;
        // The lines it reads with input(), then end of input. Far below a
        // pipe's 64 KiB, so the write never waits for the program.
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            let _ = pipe.write_all(bytes);
        }
        Ok(child)
    }

    /// Stops the program (its whole group) and starts it again with the
    /// same command, folder, namespace and input, as an operator restarts a
    /// server; waits until it listens again. Err: it never listened (its
    /// stderr says why: "Address already in use" without SO_REUSEADDR).
    pub fn restart(&mut self, limit: Duration, stop: &AtomicBool) -> Result<Option<(SocketAddr, u64)>> {
        self.kill_group();
        self.child =
            Self::spawn(&self.spec, self.cwd.as_deref(), self.ns.as_ref(), &self.out_dir, self.stdin.as_deref())?;
        self.pgid = self.child.id() as i32;
        self.exited = None;
        self.killed = false;
        self.wait_listening(limit, stop)
    }

    /// Whether its process group is still running.
    pub fn running(&mut self) -> bool {
        !(self.poll_exit().is_some() && self.members().is_empty())
    }

    /// Its TCP sockets other than listeners, as the kernel lists them.
    pub fn connections(&self) -> Vec<KernelSocket> {
        self.kernel().into_iter().filter(|k| k.proto == Proto::Tcp && k.state != "LISTEN").collect()
    }

    /// The actor it plays.
    pub fn actor(&self) -> &str {
        &self.spec.actor
    }

    /// Its exit status once it ended by itself (None while it runs).
    fn poll_exit(&mut self) -> Option<i32> {
        if self.exited.is_none() && !self.killed {
            if let Ok(Some(status)) = self.child.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                self.exited = Some(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)));
            }
        }
        self.exited
    }

    /// Waits until the program listens on a TCP socket; its address and inode.
    /// Ok(None): `stop` was set meanwhile.
    pub fn wait_listening(&mut self, limit: Duration, stop: &AtomicBool) -> Result<Option<(SocketAddr, u64)>> {
        let start = Instant::now();
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if let Some(found) = self.kernel().into_iter().find(|k| k.proto == Proto::Tcp && k.state == "LISTEN") {
                self.listen_port = Some(found.local.port());
                return Ok(Some((found.local, found.inode)));
            }
            // Exited (and its group is empty): it will never listen.
            let exited = self.poll_exit();
            if (exited.is_some() && self.members().is_empty()) || start.elapsed() >= limit {
                let out = self.output();
                let how = match exited {
                    Some(code) => {
                        crate::i18n::either(format!("it exited with status {code}"), format!("它已退出，退出码 {code}"))
                    }
                    None => crate::i18n::either(
                        format!("it was still running after {} s", limit.as_secs()),
                        format!("{} 秒后它仍在运行", limit.as_secs()),
                    ),
                };
                let stderr = if out.stderr.trim().is_empty() {
                    crate::i18n::either("(empty)".to_string(), "（空）".to_string())
                } else {
                    out.stderr.trim_end().to_string()
                };
                return Err(Error::Program(crate::i18n::either(
                    format!(
                        "the program {:?} (actor {}) never listened on a TCP port: {how}.\nIts stderr:\n{stderr}",
                        self.spec.command, self.spec.actor
                    ),
                    format!(
                        "程序 {:?}（角色 {}）始终没有在 TCP 端口上监听：{how}。\n它的标准错误输出：\n{stderr}",
                        self.spec.command, self.spec.actor
                    ),
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The processes of its group.
    fn members(&self) -> Vec<i32> {
        group_members(self.pgid)
    }

    /// The inodes of every socket its processes hold.
    fn inodes(&self) -> HashSet<u64> {
        let mut set = HashSet::new();
        for pid in self.members() {
            let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
            for e in dir.flatten() {
                let Ok(target) = std::fs::read_link(e.path()) else { continue };
                let t = target.to_string_lossy();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    set.extend(n.parse::<u64>().ok());
                }
            }
        }
        set
    }

    /// The kernel's rows of its sockets.
    fn kernel(&self) -> Vec<KernelSocket> {
        self.kernel_with(false)
    }

    /// Its sockets; with `time_wait`, also the TIME_WAIT connections on the
    /// port it listened on (a closed socket has no inode and no process).
    fn kernel_with(&self, time_wait: bool) -> Vec<KernelSocket> {
        let inodes = self.inodes();
        let port = self.listen_port.filter(|_| time_wait);
        if inodes.is_empty() && port.is_none() {
            return Vec::new();
        }
        let table = match &self.ns {
            Some(ns) => ns.run(procnet::snapshot).unwrap_or_default(),
            None => procnet::snapshot(),
        };
        table
            .into_iter()
            .filter(|k| {
                (k.inode != 0 && inodes.contains(&k.inode))
                    || (k.proto == Proto::Tcp && k.state == "TIME_WAIT" && Some(k.local.port()) == port)
            })
            .collect()
    }

    /// Its sockets as rows of the lab's kernel table: listeners under the
    /// actor's name, connections under `conn_name`.
    pub fn rows(&self) -> Vec<StateRow> {
        let mut rows: Vec<StateRow> = self
            .kernel_with(true)
            .into_iter()
            .map(|k| {
                let name = if k.state == "LISTEN" { self.spec.actor.clone() } else { self.conn_name.clone() };
                StateRow { holder: Holder::Actor(name), socket: Some(k), unread: None }
            })
            .collect();
        rows.sort_by_key(|r| r.state() != "LISTEN");
        rows
    }

    /// What it printed so far (the end of each stream).
    pub fn output(&mut self) -> ProgramOutput {
        let exited = self.poll_exit();
        let tail = |name: &str| {
            use std::io::{Read, Seek, SeekFrom};
            let Ok(mut f) = std::fs::File::open(self.out_dir.join(name)) else { return String::new() };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(OUTPUT_KEPT)));
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        };
        ProgramOutput { stdout: tail("stdout"), stderr: tail("stderr"), exited }
    }

    /// Kills its whole process group and reaps it; what it printed.
    pub fn stop(&mut self) -> ProgramOutput {
        let _ = self.poll_exit();
        let out = self.output();
        self.kill();
        out
    }

    fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.kill_group();
        let _ = std::fs::remove_dir_all(&self.out_dir);
    }

    /// Kills every process of its group and waits until they are gone.
    fn kill_group(&mut self) {
        self.killed = true;
        // Every process of its group, however many it started; then reap ours.
        // SAFETY: kill(2) with a negative pid signals the group; no memory effects.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        // Members that were not our children are reaped by init; wait until
        // they are gone so that "nothing left running" holds when we return.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.members().is_empty() && Instant::now() < deadline {
            // SAFETY: as above.
            unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Live (not zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // "pid (comm) state ppid pgrp …": comm may hold spaces and ')'.
            let Some((_, rest)) = stat.rsplit_once(')') else { return false };
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.len() > 2 && f[0] != "Z" && f[2].parse::<i32>().ok() == Some(pgid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_spec_syntax() {
        let p: ProgramSpec = "server=python3 {}/server.py".parse().unwrap();
        assert_eq!(p.actor, "server");
        assert_eq!(p.command, "python3 {}/server.py");
        let p: ProgramSpec = "server=python3 x.py --port=8888".parse().unwrap();
        assert_eq!(p.command, "python3 x.py --port=8888");
        assert!("python3 server.py".parse::<ProgramSpec>().unwrap_err().contains("no '='"));
        assert!("=python3".parse::<ProgramSpec>().unwrap_err().contains("not an actor name"));
        assert!("server=".parse::<ProgramSpec>().unwrap_err().contains("empty"));
        assert!("my server=x".parse::<ProgramSpec>().unwrap_err().contains("not an actor name"));
    }

    #[test]
    fn a_process_group_is_found_and_killed() {
        let spec: ProgramSpec = "x=sleep 30 & sleep 30; wait".parse().unwrap();
        let mut p = Program::start(&spec, None, None, "x-conn", None).unwrap();
        let pgid = p.pgid;
        let deadline = Instant::now() + Duration::from_secs(2);
        while group_members(pgid).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(group_members(pgid).len() >= 2);
        let _ = p.stop();
        assert!(group_members(pgid).is_empty());
    }

    #[test]
    fn a_program_that_never_listens_is_reported_with_its_stderr() {
        let spec: ProgramSpec = "x=echo oops >&2; exit 3".parse().unwrap();
        let mut p = Program::start(&spec, None, None, "x-conn", None).unwrap();
        let e = p.wait_listening(Duration::from_secs(3), &AtomicBool::new(false)).unwrap_err().to_string();
        assert!(e.contains("never listened") && e.contains("status 3") && e.contains("oops"), "{e}");
    }
}
