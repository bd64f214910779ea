//! Hot reload from the config file: polled, not inotify, because editors and config
//! management replace files by rename and network filesystems send no events; one stat a
//! second costs nothing. An invalid new file is reported and the running config kept.

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::pipeline::Engine;

/// Watches one file until dropped.
pub(crate) struct FileWatcher {
    _stop: mpsc::Sender<()>,
}

impl FileWatcher {
    /// Watches `path` for changes after `seen`, the fingerprint taken before the running
    /// config was read from it: taking it in the thread instead would miss a change made
    /// before the thread first ran.
    pub fn spawn(
        path: PathBuf,
        seen: Fingerprint,
        interval: Duration,
        client: Weak<Engine>,
    ) -> FileWatcher {
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("switchyard-config-watch".into())
            .spawn(move || watch(path, seen, interval, client, stopped));
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the config file watcher");
        }
        FileWatcher { _stop: stop }
    }
}

fn watch(
    path: PathBuf,
    mut seen: Fingerprint,
    interval: Duration,
    client: Weak<Engine>,
    stopped: mpsc::Receiver<()>,
) {
    loop {
        match stopped.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(inner) = client.upgrade() else {
            return;
        };
        let now = fingerprint(&path);
        if now == seen {
            continue;
        }
        seen = now;
        match Config::from_file(&path)
            .map_err(crate::Error::from)
            .and_then(|c| inner.reload(c))
        {
            Ok(()) => tracing::info!(path = %path.display(), "config file reloaded"),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "config file rejected; keeping the running config")
            }
        }
    }
}

/// Modification time, size and content hash of a file, `None` when unreadable.
pub(crate) type Fingerprint = Option<(SystemTime, u64, u64)>;

/// A same-second rewrite of the same size is still noticed, by the content hash.
pub(crate) fn fingerprint(path: &Path) -> Fingerprint {
    let meta = std::fs::metadata(path).ok()?;
    let bytes = std::fs::read(path).ok()?;
    Some((
        meta.modified().ok()?,
        meta.len(),
        xxhash_rust::xxh3::xxh3_64(&bytes),
    ))
}
