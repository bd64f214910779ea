//! Build script: embeds the admin console's built assets (`ui/dist`, made by `make ui`) in
//! the binary as a generated table of `include_bytes!`. Without `ui/dist` the table is empty
//! and `/ui` answers a page saying how to build the console, so plain `cargo build` works.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

fn main() -> io::Result<()> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let ui = manifest.join("../ui");
    let dist = ui.join("dist");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files)?;
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        // Watch the parent so that a later `make ui` (which creates dist/) is noticed;
        // a path that does not exist would rerun this script on every build.
        println!("cargo:rerun-if-changed={}", ui.display());
    }
    files.sort();
    let mut out = String::from("/// (path under /ui/, contents), sorted by path.\n");
    out.push_str("pub static ASSETS: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("console_assets.rs");
    fs::write(dest, out)
}

/// Every file under `dir`, as (path relative to `root` with `/` separators, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((rel, fs::canonicalize(&path)?.display().to_string()));
        }
    }
    Ok(())
}
