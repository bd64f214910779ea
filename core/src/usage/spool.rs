//! The spool: batches waiting on disk while the server cannot be reached, oldest first,
//! within a cap in bytes (the oldest dropped at the cap).
//!
//! Layout: `<root>/<tag>/` per process, where `<tag>` is the pid and random bits, locked by
//! `<root>/<tag>.lock` (an advisory lock the OS releases when the process dies). A process
//! starting takes over the directories whose lock it can take: those of processes gone.
//! One file per batch, `<unix ms>-<tag>-<seq>-<events>.batch` (so names sort oldest
//! first), written under a temporary name and renamed in, so a crash never leaves half a
//! batch under a batch's name. Directories are 0700, files 0600. When the disk cannot be
//! used, batches wait in memory under the same cap.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::config::Secret;
use crate::files::{create_private_dir, open_private, write_private};

const SUFFIX: &str = ".batch";

/// The spool directory of one server and key: `<dir>/<hash of both>`, where `dir` is the
/// configured one or `switchyard/usage` under the OS cache directory. Keyed so that a
/// batch is only ever replayed with the key it was recorded under.
pub(crate) fn root(dir: Option<&Path>, url: &str, key: &Secret) -> Option<PathBuf> {
    let base = match dir {
        Some(dir) => dir.to_path_buf(),
        None => cache_dir()?.join("switchyard").join("usage"),
    };
    let key = key.resolve().unwrap_or_else(|| key.masked());
    let hash = xxhash_rust::xxh3::xxh3_64(format!("{url}\n{key}").as_bytes());
    Some(base.join(format!("{hash:016x}")))
}

fn cache_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|home| home.join("Library").join("Caches"))
    } else {
        env("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env("HOME").map(|home| home.join(".cache")))
    }
}

/// One batch waiting.
#[derive(Debug)]
struct Entry {
    name: String,
    events: u64,
    bytes: u64,
    /// Set when the batch could not be written to disk.
    memory: Option<Bytes>,
}

#[derive(Debug)]
pub(crate) struct Spool {
    /// This process's directory and the lock it holds; `None` in memory only.
    dir: Option<(PathBuf, PathBuf, File)>,
    /// The spool root not claimed yet: claimed at start when it exists (to replay what is
    /// there), else on the first batch, so a client whose server never fails writes nothing.
    unclaimed: Option<PathBuf>,
    tag: String,
    seq: u64,
    entries: VecDeque<Entry>,
    bytes: u64,
    cap: u64,
}

impl Spool {
    /// Opens this process's spool under `root`, taking over what processes gone left.
    pub fn open(root: Option<&Path>, cap: u64) -> Spool {
        let tag = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let mut spool = Spool {
            dir: None,
            unclaimed: root.map(Path::to_path_buf),
            tag,
            seq: 0,
            entries: VecDeque::new(),
            bytes: 0,
            cap,
        };
        if root.is_some_and(Path::is_dir) {
            spool.claim_once();
        }
        spool
    }

    /// Claims the root if not done yet; on failure batches wait in memory.
    fn claim_once(&mut self) {
        let Some(root) = self.unclaimed.take() else {
            return;
        };
        match self.claim(&root) {
            Ok(adopted) if adopted > 0 => tracing::info!(
                dir = %root.display(), batches = adopted,
                "usage spool: replaying batches an earlier process left"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(
                dir = %root.display(), %error,
                "usage spool unusable; batches wait in memory while the server is away"
            ),
        }
    }

    fn claim(&mut self, root: &Path) -> std::io::Result<usize> {
        let lock_path = root.join(format!("{}.lock", self.tag));
        create_private_dir(root)?;
        // Another process that found the root empty may remove it as it stops: once more.
        let lock = open_private(&lock_path).or_else(|_| {
            create_private_dir(root)?;
            open_private(&lock_path)
        })?;
        // Through fs4: std's own `File::try_lock` is newer than the crate's minimum Rust.
        fs4::FileExt::try_lock(&lock)?;
        let dir = root.join(&self.tag);
        create_private_dir(&dir)?;
        let mut adopted = 0;
        for entry in fs::read_dir(root)?.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name == self.tag || !path.is_dir() {
                continue;
            }
            adopted += adopt(&path, &root.join(format!("{name}.lock")), &dir);
        }
        let mut found: Vec<(String, u64)> = fs::read_dir(&dir)?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let size = e.metadata().ok()?.len();
                name.ends_with(SUFFIX).then_some((name, size))
            })
            .collect();
        found.sort();
        for (name, bytes) in found {
            let events = events_of(&name);
            self.bytes += bytes;
            self.entries.push_back(Entry {
                name,
                events,
                bytes,
                memory: None,
            });
        }
        self.dir = Some((dir, lock_path, lock));
        // Over the cap (a smaller cap than last time, or adopted batches): oldest out.
        let dropped = self.trim(0);
        if dropped > 0 {
            tracing::warn!(
                events = dropped,
                "usage spool over its cap at start: oldest batches dropped"
            );
        }
        Ok(adopted)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a batch at the end; answers how many events the cap made it drop (the oldest
    /// batches', or this one's when it alone is over the cap).
    pub fn push(&mut self, body: &Bytes, events: u64) -> u64 {
        let size = body.len() as u64;
        if size > self.cap {
            tracing::warn!(
                events,
                bytes = size,
                cap = self.cap,
                "a usage batch is larger than the spool's cap; dropped"
            );
            return events;
        }
        self.claim_once();
        let dropped = self.trim(size);
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        self.seq += 1;
        let name = format!(
            "{millis:013}-{}-{:010}-{events}{SUFFIX}",
            self.tag, self.seq
        );
        let memory = match &self.dir {
            Some((dir, _, _)) => match write_private(&dir.join(&name), body) {
                Ok(()) => None,
                Err(error) => {
                    tracing::warn!(%error, "cannot write a usage batch to the spool; it waits in memory");
                    Some(body.clone())
                }
            },
            None => Some(body.clone()),
        };
        self.bytes += size;
        self.entries.push_back(Entry {
            name,
            events,
            bytes: size,
            memory,
        });
        dropped
    }

    /// Drops the oldest batches until `incoming` more bytes fit; the events dropped.
    fn trim(&mut self, incoming: u64) -> u64 {
        let mut dropped = 0;
        while self.bytes + incoming > self.cap {
            let Some(oldest) = self.entries.pop_front() else {
                break;
            };
            tracing::warn!(events = oldest.events, batch = %oldest.name, "usage spool at its cap: the oldest batch dropped");
            dropped += oldest.events;
            self.forget(&oldest);
        }
        dropped
    }

    /// The oldest batch and its event count. A file that cannot be read is dropped (and
    /// logged), and the next one is tried.
    pub fn front(&mut self) -> Option<(Bytes, u64)> {
        loop {
            let entry = self.entries.front()?;
            if let Some(body) = &entry.memory {
                return Some((body.clone(), entry.events));
            }
            let read = match &self.dir {
                Some((dir, _, _)) => fs::read(dir.join(&entry.name)),
                None => Err(std::io::Error::other("no spool directory")),
            };
            match read {
                Ok(body) => return Some((Bytes::from(body), entry.events)),
                Err(error) => {
                    tracing::warn!(batch = %entry.name, %error, "an unreadable usage batch in the spool; dropped");
                    self.pop_front();
                }
            }
        }
    }

    /// Forgets the oldest batch (delivered, refused or unreadable).
    pub fn pop_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.forget(&entry);
        }
    }

    fn forget(&mut self, entry: &Entry) {
        self.bytes = self.bytes.saturating_sub(entry.bytes);
        if entry.memory.is_some() {
            return;
        }
        if let Some((dir, _, _)) = &self.dir {
            if let Err(error) = fs::remove_file(dir.join(&entry.name)) {
                tracing::warn!(batch = %entry.name, %error, "cannot remove a usage batch from the spool");
            }
        }
    }
}

impl Drop for Spool {
    /// An empty spool leaves nothing behind; one with batches is left, still locked until
    /// the process is gone, for the next process to replay.
    fn drop(&mut self) {
        let Some((dir, lock_path, _lock)) = &self.dir else {
            return;
        };
        if self.entries.iter().all(|e| e.memory.is_some()) {
            let _ = fs::remove_dir(dir);
            let _ = fs::remove_file(lock_path);
            // The root too, when no other process uses it.
            if let Some(root) = dir.parent() {
                let _ = fs::remove_dir(root);
            }
        }
    }
}

/// Moves the batches of a dead process's directory into `into`; how many. A directory
/// whose lock is held belongs to a live process and is left alone.
fn adopt(dir: &Path, lock_path: &Path, into: &Path) -> usize {
    let Ok(lock) = open_private(lock_path) else {
        return 0;
    };
    if fs4::FileExt::try_lock(&lock).is_err() {
        return 0;
    }
    let mut moved = 0;
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| n.ends_with(SUFFIX))
                && fs::rename(entry.path(), into.join(&name)).is_ok()
            {
                moved += 1;
            }
        }
    }
    let _ = fs::remove_dir_all(dir);
    let _ = fs::remove_file(lock_path);
    moved
}

/// The event count a batch's file name ends with.
fn events_of(name: &str) -> u64 {
    name.trim_end_matches(SUFFIX)
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_oldest_first_and_carry_their_event_count() {
        let dir = std::env::temp_dir().join(format!("sy-spool-{}", rand::random::<u64>()));
        let mut spool = Spool::open(Some(&dir), 1 << 20);
        for n in 1..=3u64 {
            spool.push(&Bytes::from(vec![n as u8; 10]), n * 10);
        }
        let names: Vec<_> = spool.entries.iter().map(|e| e.name.clone()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(
            names.iter().map(|n| events_of(n)).collect::<Vec<_>>(),
            [10, 20, 30]
        );
        assert_eq!(spool.front().unwrap(), (Bytes::from(vec![1u8; 10]), 10));
        drop(spool);
        let _ = fs::remove_dir_all(&dir);
    }
}
