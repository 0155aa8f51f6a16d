//! The lab engine: wirelab performs the socket calls of a lab itself (real
//! sockets, socket2), captures what they put on the loopback wire, and shows
//! each call next to the packets it caused and the kernel's own socket states.
//!
//! Labs are data files (`labs/*.toml`, see [`spec`]) that instructors write
//! without touching Rust. Those of the project's `labs/` are compiled in;
//! folders named at run time add labs or replace one (see [`local_dirs`]).

mod capture;
pub mod dns;
pub mod engine;
pub mod errno;
pub mod events;
pub mod exec;
pub mod expect;
pub mod findings;
pub mod grade;
pub mod html;
pub mod http_client;
pub mod kernel;
pub mod messages;
pub mod procnet;
pub mod program;
pub mod prompt;
pub mod quiz;
pub mod render;
pub mod spec;
pub mod tcpinfo;
pub mod transfer;

use crate::error::{Error, Result};
use crate::i18n::{either, tr};
use std::path::{Path, PathBuf};

/// The labs and lab recordings compiled in by `build.rs`.
mod built_in {
    include!(concat!(env!("OUT_DIR"), "/built_in.rs"));
}

/// The built-in labs in the order the course teaches them (`lab list` shows
/// them so): each builds on the ones before it. Local labs not named here
/// follow, in the order they were read.
pub const COURSE_ORDER: &[&str] = &[
    "handshake",
    "echo",
    "teardown",
    "half-close",
    "close-listener",
    "reuseaddr",
    "refused",
    "connect-ex",
    "reset",
    "timeout",
    "udp",
    "udp-loss",
    "broadcast",
    "dns",
    "encoding",
    "sticky",
    "sendall",
    "file-download",
    "multi-client",
    "backlog",
    "http",
    "flow-control",
    "retransmission",
    "lost-ack",
    "fast-retransmit",
    "reorder",
    "duplicate",
    "checksum",
    "lost-syn",
    "lost-last-ack",
    "slow-start",
    "ipv6",
    "grade-echo-server",
    "grade-file-server",
    "grade-file-client",
    "grade-http-server",
];

/// Where a lab came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Compiled into wirelab from the project's `labs/` (the file name).
    BuiltIn(&'static str),
    /// Read at run time.
    File {
        /// The lab file.
        path: PathBuf,
        /// It has a built-in lab's id and is used instead of that lab.
        replaces_built_in: bool,
    },
}

impl Source {
    /// "built-in" or the file, in the current language, for people.
    pub fn describe(&self) -> String {
        match self {
            Source::BuiltIn(_) => tr("built-in", "内置").to_string(),
            Source::File { path, replaces_built_in: false } => path.display().to_string(),
            Source::File { path, replaces_built_in: true } => {
                format!("{}{}", path.display(), tr(" (replaces built-in)", "（替换内置实验）"))
            }
        }
    }
}

/// "built-in" or the file's path, for scripts (always English).
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn(_) => f.write_str("built-in"),
            Source::File { path, .. } => write!(f, "{}", path.display()),
        }
    }
}

/// A lab and where it came from.
#[derive(Clone, Debug)]
pub struct LoadedLab {
    /// Where it came from.
    pub source: Source,
    /// Its content.
    pub lab: spec::Lab,
}

/// The folders whose labs are added to the built-in ones, highest precedence
/// first: each `--labs DIR`, then `$WIRELAB_LABS` (`:`-separated), then
/// `./labs` if it exists.
pub fn local_dirs(flag_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = flag_dirs.to_vec();
    if let Some(env) = std::env::var_os("WIRELAB_LABS") {
        dirs.extend(std::env::split_paths(&env).filter(|d| !d.as_os_str().is_empty()));
    }
    let here = PathBuf::from("labs");
    if here.is_dir() {
        dirs.push(here);
    }
    // `WIRELAB_LABS=labs` run in the same folder would otherwise report every
    // one of its labs as a duplicate of itself.
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    dirs
}

/// The labs on offer, and the local files that were skipped.
#[derive(Debug)]
pub struct Catalogue {
    /// The built-in labs in [`COURSE_ORDER`], each replaced in place by a
    /// local lab with its id, then the other local labs, folder by folder.
    pub labs: Vec<LoadedLab>,
    /// Why a local file or folder was skipped, one line each.
    pub warnings: Vec<String>,
}

/// The built-in labs plus those of [`local_dirs`].
pub fn catalogue(flag_dirs: &[PathBuf]) -> Catalogue {
    Catalogue::load(&local_dirs(flag_dirs))
}

impl Catalogue {
    /// The built-in labs plus those of `dirs` (highest precedence first).
    pub fn load(dirs: &[PathBuf]) -> Catalogue {
        let mut labs = Vec::new();
        let mut warnings = Vec::new();
        for (file, text) in built_in::BUILT_IN_LABS {
            match spec::parse(text) {
                Ok(lab) => labs.push(LoadedLab { source: Source::BuiltIn(file), lab }),
                // Unit-tested never to happen; if it does, the other labs still work.
                Err(detail) => warnings.push(either(
                    format!("built-in lab {file}: {detail} (a bug in wirelab)"),
                    format!("内置实验 {file}：{detail}（wirelab 的缺陷）"),
                )),
            }
        }
        // Stable: a built-in lab missing from the list keeps its place after the others.
        labs.sort_by_key(|l| COURSE_ORDER.iter().position(|id| *id == l.lab.id).unwrap_or(COURSE_ORDER.len()));
        // Local ids already taken, and by which file: the first folder wins.
        let mut taken: Vec<(String, PathBuf)> = Vec::new();
        for dir in dirs {
            let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect(),
                Err(e) => {
                    let dir = dir.display();
                    warnings.push(either(
                        format!("{dir}: cannot list lab files: {e}"),
                        format!("{dir}：无法列出实验文件：{e}"),
                    ));
                    continue;
                }
            };
            paths.sort();
            for path in paths {
                let (text, lab) = match read_lab(&path) {
                    Ok(read) => read,
                    Err(e) => {
                        warnings.push(either(format!("{e}; skipped"), format!("{e}；已跳过")));
                        continue;
                    }
                };
                if let Some((_, first)) = taken.iter().find(|(id, _)| *id == lab.id) {
                    let (path, id, first) = (path.display(), &lab.id, first.display());
                    warnings.push(either(
                        format!("{path}: lab `{id}` is already given by {first}; skipped"),
                        format!("{path}：实验 `{id}` 已由 {first} 提供；已跳过"),
                    ));
                    continue;
                }
                taken.push((lab.id.clone(), path.clone()));
                let same_id = labs.iter().position(|l| l.lab.id == lab.id);
                match same_id {
                    // A copy of a built-in lab (the project's own `labs/`) changes nothing,
                    // so `lab list` run in the source tree does not flag all of them.
                    Some(i) if built_in_text(&labs[i].source) == Some(text.as_str()) => {}
                    Some(i) => labs[i] = LoadedLab { source: Source::File { path, replaces_built_in: true }, lab },
                    None => labs.push(LoadedLab { source: Source::File { path, replaces_built_in: false }, lab }),
                }
            }
        }
        Catalogue { labs, warnings }
    }

    /// Prints the warnings on stderr.
    pub fn warn(&self) {
        for w in &self.warnings {
            eprintln!("wirelab: {}{w}", tr("warning: ", "警告："));
        }
    }

    /// The lab with this id.
    pub fn find(self, id: &str) -> Result<LoadedLab> {
        let ids: Vec<String> = self.labs.iter().map(|l| l.lab.id.clone()).collect();
        self.labs.into_iter().find(|l| l.lab.id == id).ok_or_else(|| Error::Lab {
            path: id.to_string(),
            detail: either(
                format!("no such lab; available: {}", ids.join(", ")),
                format!("没有这个实验；可用的有：{}", ids.join(", ")),
            ),
        })
    }
}

fn built_in_text(source: &Source) -> Option<&'static str> {
    match source {
        Source::BuiltIn(file) => built_in::BUILT_IN_LABS.iter().find(|(f, _)| f == file).map(|(_, text)| *text),
        Source::File { .. } => None,
    }
}

fn read_lab(path: &Path) -> Result<(String, spec::Lab)> {
    let fail = |detail| Error::Lab { path: path.display().to_string(), detail };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(either(format!("cannot read: {e}"), format!("无法读取：{e}"))))?;
    let lab = spec::parse(&text).map_err(fail)?;
    Ok((text, lab))
}

/// Loads and validates one lab file.
pub fn load_file(path: &Path) -> Result<LoadedLab> {
    let (_, lab) = read_lab(path)?;
    Ok(LoadedLab { source: Source::File { path: path.to_owned(), replaces_built_in: false }, lab })
}

/// Loads a lab given as a path (anything with `/` or ending in `.toml`: lab
/// ids have neither), whose errors are the user's to fix; otherwise finds the
/// id in the catalogue, warning about skipped local files on stderr.
pub fn find(name: &str, flag_dirs: &[PathBuf]) -> Result<LoadedLab> {
    if name.contains('/') || name.ends_with(".toml") {
        return load_file(Path::new(name));
    }
    let catalogue = catalogue(flag_dirs);
    catalogue.warn();
    catalogue.find(name)
}

/// The capture recorded from built-in lab `id` (`captures/ID.pcap`), compiled in.
pub fn recording(id: &str) -> Option<&'static [u8]> {
    built_in::RECORDINGS.iter().find(|(name, _)| *name == id).map(|(_, bytes)| *bytes)
}

/// For someone who cannot capture: how to see this lab's packets anyway.
pub fn recording_hint(loaded: &LoadedLab) -> Option<String> {
    let id = &loaded.lab.id;
    // A local lab with a built-in id may do something else than the recording shows.
    if matches!(loaded.source, Source::BuiltIn(_)) && recording(id).is_some() {
        return Some(either(
            format!("a recorded capture of this lab is bundled: wirelab replay {id}"),
            format!("wirelab 自带这个实验的录制抓包：wirelab replay {id}"),
        ));
    }
    // Where labs/README.md suggests recording a local lab.
    let saved = Path::new("captures").join(format!("{id}.pcap"));
    let saved_at = saved.display();
    saved.is_file().then(|| {
        either(
            format!("a recorded capture of this lab is saved: wirelab replay {saved_at}"),
            format!("这个实验有已保存的录制抓包：wirelab replay {saved_at}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_lab_parses_and_is_named_after_its_id() {
        assert!(built_in::BUILT_IN_LABS.len() >= 16);
        for (file, text) in built_in::BUILT_IN_LABS {
            let lab = spec::parse(text).unwrap_or_else(|e| panic!("built-in lab {file}: {e}"));
            // Recordings are matched to labs by file name.
            assert_eq!(format!("{}.toml", lab.id), *file);
        }
        let catalogue = Catalogue::load(&[]);
        assert!(catalogue.warnings.is_empty(), "{:?}", catalogue.warnings);
        assert_eq!(catalogue.labs.len(), built_in::BUILT_IN_LABS.len());
    }

    #[test]
    fn the_course_order_names_every_built_in_lab_once() {
        let mut listed: Vec<&str> = COURSE_ORDER.to_vec();
        listed.sort();
        listed.dedup();
        assert_eq!(listed.len(), COURSE_ORDER.len(), "an id is listed twice");
        let mut built_in: Vec<String> =
            built_in::BUILT_IN_LABS.iter().map(|(f, _)| f.trim_end_matches(".toml").to_string()).collect();
        built_in.sort();
        assert_eq!(listed, built_in, "COURSE_ORDER and labs/*.toml differ");
        let ids: Vec<String> = Catalogue::load(&[]).labs.into_iter().map(|l| l.lab.id).collect();
        assert_eq!(ids, COURSE_ORDER);
    }

    #[test]
    fn every_recording_belongs_to_a_lab_and_is_a_capture() {
        assert!(recording("handshake").is_some());
        for (id, bytes) in built_in::RECORDINGS {
            assert!(built_in::BUILT_IN_LABS.iter().any(|(f, _)| *f == format!("{id}.toml")), "{id}");
            let mut reader = crate::source::file::CaptureReader::from_reader(Path::new(id), *bytes).unwrap();
            let mut frames = 0;
            reader
                .for_each(|_| {
                    frames += 1;
                    std::ops::ControlFlow::Continue(())
                })
                .unwrap();
            assert!(frames > 0, "{id}");
        }
    }

    #[test]
    fn local_labs_add_replace_and_never_hide_the_others() {
        let root = std::env::temp_dir().join(format!("wirelab-catalogue-unit-{}", std::process::id()));
        let (first, second) = (root.join("first"), root.join("second"));
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        let handshake = built_in_text(&Source::BuiltIn("handshake.toml")).unwrap();
        let echo = built_in_text(&Source::BuiltIn("echo.toml")).unwrap();
        std::fs::write(first.join("a-broken.toml"), "id = \"x\"\ntitle = \n").unwrap();
        std::fs::write(first.join("echo.toml"), echo).unwrap();
        let mine = handshake.replacen("id = \"handshake\"", "id = \"mine\"", 1);
        std::fs::write(first.join("mine.toml"), &mine).unwrap();
        std::fs::write(second.join("handshake.toml"), handshake.replacen("title = ", "title = \"Mine\"\n#", 1))
            .unwrap();
        std::fs::write(second.join("mine.toml"), &mine).unwrap();
        let missing = root.join("missing");

        let c = Catalogue::load(&[first.clone(), second.clone(), missing]);
        let n = built_in::BUILT_IN_LABS.len();
        assert_eq!(c.labs.len(), n + 1);
        let by_id = |id: &str| c.labs.iter().find(|l| l.lab.id == id).unwrap();
        // Identical to the built-in one: still reported as built-in.
        assert_eq!(by_id("echo").source, Source::BuiltIn("echo.toml"));
        assert_eq!(
            by_id("handshake").source,
            Source::File { path: second.join("handshake.toml"), replaces_built_in: true }
        );
        assert_eq!(by_id("handshake").lab.title, "Mine");
        assert_eq!(c.labs[n].source, Source::File { path: first.join("mine.toml"), replaces_built_in: false });
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("a-broken.toml: line 2:"), "{}", c.warnings[0]);
        assert!(c.warnings[1].contains("already given by"), "{}", c.warnings[1]);
        assert!(c.warnings[2].contains("missing: cannot list"), "{}", c.warnings[2]);
        std::fs::remove_dir_all(&root).ok();
    }
}
