//! The lab engine: wirelab performs the socket calls of a lab itself (real
//! sockets, socket2), captures what they put on the loopback wire, and shows
//! each call next to the packets it caused and the kernel's own socket states.
//!
//! Labs are data files (`labs/*.toml`, see [`spec`]) that instructors write
//! without touching Rust.

mod capture;
pub mod engine;
pub mod errno;
pub mod events;
pub mod exec;
pub mod expect;
pub mod kernel;
pub mod messages;
pub mod procnet;
pub mod prompt;
pub mod quiz;
pub mod render;
pub mod spec;
pub mod transfer;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A lab loaded from its file.
#[derive(Clone, Debug)]
pub struct LoadedLab {
    /// Where it came from.
    pub path: PathBuf,
    /// Its content.
    pub lab: spec::Lab,
}

/// Where the lab files are: `$WIRELAB_LABS`, `./labs`, or the project's `labs/`.
pub fn labs_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WIRELAB_LABS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("labs");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs")
}

/// Where recorded captures of the labs are (for the no-privilege fallback).
pub fn captures_dir() -> PathBuf {
    let local = PathBuf::from("captures");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// What to tell a user who cannot capture: where a recording of the lab is.
pub fn recording_hint(id: &str) -> String {
    let recorded = captures_dir().join(format!("{id}.pcap"));
    if recorded.exists() {
        format!("wirelab: a recorded capture of this lab is bundled: wirelab replay {}", recorded.display())
    } else {
        String::new()
    }
}

/// Loads and validates one lab file.
pub fn load_file(path: &Path) -> Result<LoadedLab> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Lab { path: path.display().to_string(), detail: format!("cannot read: {e}") })?;
    let lab = spec::parse(&text).map_err(|detail| Error::Lab { path: path.display().to_string(), detail })?;
    Ok(LoadedLab { path: path.to_owned(), lab })
}

/// Every lab in the labs directory, sorted by file name.
pub fn catalogue() -> Result<Vec<LoadedLab>> {
    let dir = labs_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| Error::Lab {
            path: dir.display().to_string(),
            detail: format!("cannot list lab files: {e} (set WIRELAB_LABS to the labs folder)"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

/// Finds a lab by id, or loads it from a path.
pub fn find(name: &str) -> Result<LoadedLab> {
    let as_path = Path::new(name);
    if as_path.extension().is_some_and(|x| x == "toml") && as_path.exists() {
        return load_file(as_path);
    }
    let all = catalogue()?;
    let ids: Vec<String> = all.iter().map(|l| l.lab.id.clone()).collect();
    all.into_iter().find(|l| l.lab.id == name).ok_or_else(|| Error::Lab {
        path: name.to_string(),
        detail: format!("no such lab; available: {}", ids.join(", ")),
    })
}
