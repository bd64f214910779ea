//! `switchyard audit …`: verify the chain with its key and against the signed checkpoints,
//! write a checkpoint now, make keys; and what `serve` does with the audit key and the
//! checkpoint schedule when it starts (`docs/audit.md`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{CliError, connect, open};
use crate::audit::checkpoint::{self, CheckpointSigner, CheckpointVerifier};
use crate::audit::checkpoint_job::{self, CheckpointSettings};
use crate::audit::{AuditKey, key};
use crate::cluster::leader::Leaders;
use crate::store::{AuditCtx, Store, StoreError, audit_log};

const DIR_ENV: &str = "SWITCHYARD_AUDIT_CHECKPOINT_DIR";

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the chain with the audit key (SWITCHYARD_AUDIT_KEY or _FILE) and check the
    /// database against the signed checkpoints; exit non-zero if any record was edited,
    /// inserted or deleted, the log shrank below a checkpoint, or a checkpoint is forged.
    Verify {
        /// The checkpoint directory (none: the chain alone is checked).
        #[arg(long, env = DIR_ENV)]
        checkpoint_dir: Option<PathBuf>,
        /// The checkpoint public key (base64); default: that of the signing key in
        /// SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE.
        #[arg(long, env = checkpoint::PUBLIC_KEY_ENV)]
        checkpoint_public_key: Option<String>,
    },
    /// Verify what was appended since the last checkpoint and write a new checkpoint now
    /// (signed with SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE).
    Checkpoint {
        #[arg(long, env = DIR_ENV)]
        checkpoint_dir: Option<PathBuf>,
        /// Also POST it (JSON) here.
        #[arg(long, env = "SWITCHYARD_AUDIT_CHECKPOINT_URL")]
        checkpoint_url: Option<String>,
    },
    /// Print a new random audit MAC key (base64).
    GenerateKey,
    /// Write a new Ed25519 checkpoint signing key to FILE (owner-only); print its public key.
    GenerateCheckpointKey {
        #[arg(long)]
        out: PathBuf,
    },
}

/// `switchyard serve`'s checkpoint schedule.
#[derive(Args, Debug, Clone)]
pub struct CheckpointArgs {
    /// Write signed audit checkpoints to this directory (key: SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE).
    #[arg(long = "audit-checkpoint-dir", env = DIR_ENV)]
    pub dir: Option<PathBuf>,
    /// POST each checkpoint (JSON) to this URL too.
    #[arg(long = "audit-checkpoint-url", env = "SWITCHYARD_AUDIT_CHECKPOINT_URL")]
    pub url: Option<String>,
    /// Seconds between checkpoints (one is written only when the log grew).
    #[arg(long = "audit-checkpoint-interval-secs", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..), env = "SWITCHYARD_AUDIT_CHECKPOINT_INTERVAL_SECS")]
    pub interval_secs: u64,
}

/// The schedule's settings, `None` when no destination is configured.
fn settings(
    dir: Option<PathBuf>,
    url: Option<String>,
    every: Duration,
) -> Result<Option<CheckpointSettings>, CliError> {
    let signer = CheckpointSigner::from_env()?;
    match (signer, dir.is_some() || url.is_some()) {
        (Some(signer), true) => Ok(Some(CheckpointSettings {
            signer: Arc::new(signer),
            dir,
            url,
            every,
        })),
        (None, true) => Err(CliError::Usage(format!(
            "audit checkpoints need a signing key: set {} (make one with `switchyard audit \
             generate-checkpoint-key`)",
            checkpoint::KEY_FILE_ENV
        ))),
        (Some(_), false) => {
            tracing::warn!(
                "a checkpoint signing key but no checkpoint directory or URL: no checkpoints are written"
            );
            Ok(None)
        }
        (None, false) => Ok(None),
    }
}

/// At `serve`'s start: switch the chain over to the key (or note a rotation), refuse to
/// run without the key once the chain is keyed, refuse to switch over a chain the
/// checkpoints say was keyed already (its MACs were stripped), and set up the checkpoint
/// schedule.
pub async fn prepare_serve(
    store: &Store,
    args: &CheckpointArgs,
) -> Result<Option<CheckpointSettings>, CliError> {
    let settings = settings(
        args.dir.clone(),
        args.url.clone(),
        Duration::from_secs(args.interval_secs),
    )?;
    let head = {
        let mut conn = store.db.pool.acquire().await.map_err(StoreError::from)?;
        audit_log::head(&mut conn).await?
    };
    match (store.db.audit_keys(), head.keyed_from) {
        (Some(keys), keyed_from) => {
            let signed = match settings.as_ref().and_then(CheckpointSettings::verifier) {
                Some(verifier) => verifier.last()?.and_then(|c| c.keyed_from),
                None => None,
            };
            if let (None, Some(signed)) = (keyed_from, signed) {
                return Err(CliError::AuditBroken(format!(
                    "the checkpoints say the chain is keyed from record {signed} on, but the \
                     database says it is not keyed (its MACs were stripped)"
                )));
            }
            let ctx = AuditCtx {
                actor: "server".into(),
                role: "system".into(),
                source: "local".into(),
            };
            if let Some(action) = store.adopt_audit_key(&ctx).await? {
                tracing::info!(key_id = keys.current().id(), action, "audit chain keyed");
            }
        }
        (None, Some(from)) => {
            return Err(CliError::Usage(format!(
                "the audit chain is keyed from record {from} on: set {} or {}",
                key::KEY_ENV,
                key::KEY_FILE_ENV
            )));
        }
        (None, None) => tracing::warn!(
            "no audit key ({}): the audit chain stays unkeyed, so whoever can write the database can rewrite it",
            key::KEY_ENV
        ),
    }
    Ok(settings)
}

/// Starts the schedule and gives the verifier the API's verification checks against.
pub fn start_checkpoints(
    store: &Store,
    leaders: &Arc<Leaders>,
    settings: Option<CheckpointSettings>,
) -> Option<Arc<CheckpointVerifier>> {
    let settings = settings?;
    let verifier = settings.verifier().map(Arc::new);
    tracing::info!(dir = ?settings.dir, url = ?settings.url, every_s = settings.every.as_secs(), "audit checkpoints scheduled");
    // Runs as long as the server does.
    drop(checkpoint_job::spawn(
        store.clone(),
        leaders.clone(),
        settings,
    ));
    verifier
}

pub async fn audit(url: &str, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify {
            checkpoint_dir,
            checkpoint_public_key,
        } => verify(url, checkpoint_dir, checkpoint_public_key).await,
        AuditCommand::Checkpoint {
            checkpoint_dir,
            checkpoint_url,
        } => {
            let store = open(url).await?;
            let Some(settings) = settings(checkpoint_dir, checkpoint_url, Duration::ZERO)? else {
                return Err(CliError::Usage(format!(
                    "give --checkpoint-dir or --checkpoint-url (or {DIR_ENV}), and {}",
                    checkpoint::KEY_FILE_ENV
                )));
            };
            match checkpoint_job::checkpoint_now(&store, &settings).await? {
                Some(c) => println!("checkpoint written: record {} ({})", c.seq, c.head),
                None => println!("no new records since the last checkpoint"),
            }
            Ok(())
        }
        AuditCommand::GenerateKey => {
            println!("{}", AuditKey::generate_base64());
            Ok(())
        }
        AuditCommand::GenerateCheckpointKey { out } => {
            let (private, public) = CheckpointSigner::generate()?;
            write_new_private(&out, private.as_bytes())?;
            println!("{public}");
            Ok(())
        }
    }
}

async fn verify(
    url: &str,
    dir: Option<PathBuf>,
    public_key: Option<String>,
) -> Result<(), CliError> {
    let store = connect(url).await?;
    let verifier = match (dir, public_key) {
        (None, _) => None,
        (Some(dir), Some(public)) => Some(CheckpointVerifier::new(&public, dir)?),
        (Some(dir), None) => match CheckpointSigner::from_env()? {
            Some(signer) => Some(CheckpointVerifier::new(&signer.public_key_base64(), dir)?),
            None => {
                return Err(CliError::Usage(format!(
                    "checking checkpoints needs their public key: --checkpoint-public-key or {}",
                    checkpoint::PUBLIC_KEY_ENV
                )));
            }
        },
    };
    let keys = store.db.audit_keys();
    let mut conn = store.db.pool.acquire().await.map_err(StoreError::from)?;
    let (report, last) =
        crate::audit::verify_all(&mut conn, None, keys.as_deref(), verifier.as_ref()).await?;
    if let Some(problem) = report.problem {
        return Err(CliError::AuditBroken(problem));
    }
    let keyed = match (report.head.keyed_from, &keys) {
        (Some(from), Some(keys)) => format!(
            "keyed from record {from} on, current key {}",
            keys.current().id()
        ),
        _ => "unkeyed: no audit key given".to_owned(),
    };
    println!("audit chain intact: {} records ({keyed})", report.records);
    match (verifier, last) {
        (None, _) => println!("checkpoints: not checked (no --checkpoint-dir)"),
        (Some(v), None) => println!("checkpoints: none yet in {}", v.dir().display()),
        (Some(_), Some(c)) => println!(
            "checkpoints: consistent; the last signed record {} at {} ms",
            c.seq, c.at
        ),
    }
    Ok(())
}

/// Writes a new key file only its owner may read; an existing file is never replaced.
fn write_new_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.sync_all()
}
