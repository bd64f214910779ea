//! The usage spool's batch files, for tests that look at what was written to disk.

use std::path::{Path, PathBuf};

/// The batch files in the spool, anywhere under `dir`.
pub fn spooled(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "batch") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
