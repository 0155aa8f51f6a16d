//! Compiles `labs/*.toml` and the labs' recorded captures into the binary, so
//! a copied or installed wirelab has its labs wherever it runs (issue 9).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    // A directory here makes cargo rerun this script when a file is added or
    // removed; edits to a listed file are tracked through include_str!.
    println!("cargo:rerun-if-changed=labs");
    println!("cargo:rerun-if-changed=captures");
    println!("cargo:rerun-if-changed=build.rs");

    let labs = files(&root.join("labs"), "toml");
    let mut out = String::from("pub static BUILT_IN_LABS: &[(&str, &str)] = &[\n");
    for path in &labs {
        writeln!(out, "    ({:?}, include_str!({:?})),", file_name(path), utf8(path)).unwrap();
    }
    out.push_str("];\n");

    // Only a lab's own recording (captures/ID.pcap, or ID.pcapng with the
    // steps and the wire's actions as packet comments): the other captures
    // are test material, about half the megabyte.
    let stems: Vec<String> = labs.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    out.push_str("pub static RECORDINGS: &[(&str, &[u8])] = &[\n");
    let captures = root.join("captures");
    for path in files(&captures, "pcap").into_iter().chain(files(&captures, "pcapng")) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if stems.contains(&stem) {
            writeln!(out, "    ({stem:?}, include_bytes!({:?})),", utf8(&path)).unwrap();
        }
    }
    out.push_str("];\n");

    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("built_in.rs");
    std::fs::write(&dest, out).expect("write built_in.rs");
}

/// The files of `dir` ending in `.ext`, sorted so the catalogue order does not
/// depend on the file system.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext) && p.is_file())
        .collect();
    found.sort();
    found
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn utf8(path: &Path) -> &str {
    path.to_str().unwrap_or_else(|| panic!("{} is not UTF-8: include_str! needs a UTF-8 path", path.display()))
}
