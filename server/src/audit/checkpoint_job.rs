//! Writing checkpoints on a schedule: verify what was appended since the last checkpoint
//! (so a tampered head is never signed), sign the head, write the file and POST it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::{self, Checkpoint, CheckpointError, CheckpointSigner, CheckpointVerifier};
use crate::cluster::leader::{Job, Leaders};
use crate::store::audit_log::{self, Anchor};
use crate::store::{Store, StoreError};
use crate::util::now_ms;

/// Where and how often (`switchyard serve --audit-checkpoint-*`).
#[derive(Debug, Clone)]
pub struct CheckpointSettings {
    pub signer: Arc<CheckpointSigner>,
    /// The directory the files go to.
    pub dir: Option<PathBuf>,
    /// An endpoint each checkpoint is also POSTed to (JSON).
    pub url: Option<String>,
    pub every: Duration,
}

impl CheckpointSettings {
    /// The verifier for the same directory and key.
    pub fn verifier(&self) -> Option<CheckpointVerifier> {
        let dir = self.dir.as_ref()?;
        CheckpointVerifier::new(&self.signer.public_key_base64(), dir).ok()
    }
}

/// Checkpoints the head now when it moved since the last one: `None` when it had not.
/// The chain is verified first, from the last checkpoint on when there is one.
pub async fn checkpoint_now(
    store: &Store,
    settings: &CheckpointSettings,
) -> Result<Option<Checkpoint>, CheckpointError> {
    let mut conn = store.db.pool.acquire().await.map_err(StoreError::from)?;
    let last = match settings.verifier() {
        Some(verifier) => {
            let (problem, last) = verifier.check_last(&mut conn).await?;
            if let Some(problem) = problem {
                return Err(CheckpointError::Broken(problem));
            }
            last
        }
        None => None,
    };
    let anchor = last.as_ref().map(|c| Anchor {
        seq: c.seq,
        hash: c.head.clone(),
    });
    let keys = store.db.audit_keys();
    let report = audit_log::walk(&mut conn, None, keys.as_deref(), anchor.as_ref()).await?;
    drop(conn);
    if let Some(problem) = report.problem {
        return Err(CheckpointError::Broken(problem));
    }
    if last.is_some_and(|c| c.seq == report.head.seq) {
        return Ok(None);
    }
    let signed = settings.signer.sign(&report.head, now_ms());
    // The POST first: when it fails no file is written either, so the next tick retries
    // both (a receiver may then see one record's checkpoint twice).
    if let Some(url) = &settings.url {
        post(url, &signed).await?;
    }
    if let Some(dir) = &settings.dir {
        checkpoint::write(dir, &signed)?;
    }
    Ok(Some(signed))
}

async fn post(url: &str, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
    let failed = |message: String| CheckpointError::Post {
        url: url.to_owned(),
        message,
    };
    let response = reqwest::Client::new()
        .post(url)
        .timeout(Duration::from_secs(10))
        .json(checkpoint)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    Ok(())
}

/// Checkpoints every `settings.every` on the replica that leads the job, until the process
/// ends (or the task is aborted); failures are logged (a broken chain as an error: it is what the checkpoints exist to
/// catch).
pub fn spawn(
    store: Store,
    leaders: Arc<Leaders>,
    settings: CheckpointSettings,
) -> tokio::task::JoinHandle<()> {
    let every = settings.every;
    let settings = Arc::new(settings);
    leaders.spawn_periodic(Job::AuditCheckpoints, every, move || {
        let (store, settings) = (store.clone(), Arc::clone(&settings));
        async move {
            match checkpoint_now(&store, &settings).await {
                Ok(Some(c)) => tracing::info!(seq = c.seq, "audit checkpoint written"),
                Ok(None) => tracing::debug!("audit head unchanged: no checkpoint"),
                Err(error @ CheckpointError::Broken(_)) => {
                    tracing::error!(%error, "audit checkpoint refused")
                }
                Err(error) => tracing::warn!(%error, "audit checkpoint failed"),
            }
        }
    })
}
