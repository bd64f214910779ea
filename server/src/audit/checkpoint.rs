//! Signed checkpoints of the audit chain's head, kept outside the database: each says
//! "record N had MAC H, and the chain was keyed from record K on", signed with an Ed25519
//! key the database never sees. Rewriting or truncating the log below a checkpoint is
//! then detectable by anyone holding only the public key, even with the audit MAC key.
//! Checkpoints are files written once (never overwritten) in a directory the operator
//! chooses, optionally also POSTed to an endpoint of theirs.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::store::StoreError;
use crate::store::audit_log::{self, Head};

pub const FORMAT: &str = "switchyard-audit-checkpoint/1";
/// The signing key (a base64 PKCS#8 document, from `switchyard audit checkpoint-key`).
pub const KEY_FILE_ENV: &str = "SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE";
/// The public key verifiers trust (base64 of 32 bytes).
pub const PUBLIC_KEY_ENV: &str = "SWITCHYARD_AUDIT_CHECKPOINT_PUBLIC_KEY";
const FILE_PREFIX: &str = "audit-checkpoint-";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint key: {0}")]
    BadKey(String),
    #[error("checkpoint {path}: {message}")]
    BadFile { path: String, message: String },
    #[error(
        "checkpoint {0}: the signature does not verify with the public key given (forged or altered)"
    )]
    Forged(String),
    #[error("checkpoint directory {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("checkpoint POST to {url}: {message}")]
    Post { url: String, message: String },
    #[error("audit chain broken, no checkpoint written: {0}")]
    Broken(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// One checkpoint as written to its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    /// The last record covered.
    pub seq: i64,
    /// That record's MAC (or hash, before the chain was keyed).
    pub head: String,
    /// The first record that must carry a MAC, as the database said when signing.
    pub keyed_from: Option<i64>,
    /// When it was signed (ms since the epoch).
    pub at: i64,
    /// The signer's public key, for the reader's information: verifiers use their own copy.
    pub public_key: String,
    /// Ed25519 over [`Checkpoint::message`], base64.
    pub signature: String,
}

impl Checkpoint {
    /// What is signed: every field but the key and the signature, as a JSON array.
    fn message(format: &str, seq: i64, head: &str, keyed_from: Option<i64>, at: i64) -> Vec<u8> {
        serde_json::json!([format, seq, head, keyed_from, at])
            .to_string()
            .into_bytes()
    }

    fn file_name(&self) -> String {
        format!("{FILE_PREFIX}{:020}.json", self.seq)
    }
}

/// The Ed25519 key checkpoints are signed with. `Debug` shows only the public key.
pub struct CheckpointSigner {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointSigner({})", self.public_key_base64())
    }
}

impl CheckpointSigner {
    /// A new key: (the private PKCS#8 document, base64; the public key, base64).
    pub fn generate() -> Result<(String, String), CheckpointError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| CheckpointError::BadKey("cannot generate a key".into()))?;
        let signer = Self::from_pkcs8(doc.as_ref())?;
        Ok((B64.encode(doc.as_ref()), signer.public_key_base64()))
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, CheckpointError> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|e| CheckpointError::BadKey(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        Ok(CheckpointSigner { pair })
    }

    pub fn from_base64(text: &str) -> Result<Self, CheckpointError> {
        let der = B64
            .decode(text.trim())
            .map_err(|e| CheckpointError::BadKey(format!("not base64: {e}")))?;
        Self::from_pkcs8(&der)
    }

    pub fn from_file(path: &Path) -> Result<Self, CheckpointError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CheckpointError::BadKey(format!("cannot read {}: {e}", path.display())))?;
        Self::from_base64(&text)
    }

    /// From the file named by `SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE`, `None` when unset.
    pub fn from_env() -> Result<Option<Self>, CheckpointError> {
        match std::env::var(KEY_FILE_ENV) {
            Ok(path) => Self::from_file(Path::new(&path)).map(Some),
            Err(_) => Ok(None),
        }
    }

    pub fn public_key_base64(&self) -> String {
        B64.encode(self.pair.public_key().as_ref())
    }

    pub fn sign(&self, head: &Head, at: i64) -> Checkpoint {
        let message = Checkpoint::message(FORMAT, head.seq, &head.hash, head.keyed_from, at);
        Checkpoint {
            format: FORMAT.to_owned(),
            seq: head.seq,
            head: head.hash.clone(),
            keyed_from: head.keyed_from,
            at,
            public_key: self.public_key_base64(),
            signature: B64.encode(self.pair.sign(&message).as_ref()),
        }
    }
}

/// Writes `checkpoint` to its own new file in `dir` (read-only once written). `None` when
/// a checkpoint of that record is there already: files are never overwritten.
pub fn write(dir: &Path, checkpoint: &Checkpoint) -> Result<Option<PathBuf>, CheckpointError> {
    use std::io::Write;
    let io = |error| CheckpointError::Io {
        path: dir.display().to_string(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(checkpoint.file_name());
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut body = serde_json::to_vec_pretty(checkpoint).map_err(|e| io(e.into()))?;
    body.push(b'\n');
    file.write_all(&body).map_err(io)?;
    file.sync_all().map_err(io)?;
    let mut read_only = file.metadata().map_err(io)?.permissions();
    read_only.set_readonly(true);
    std::fs::set_permissions(&path, read_only).map_err(io)?;
    Ok(Some(path))
}

/// What a verifier holds: the public key it trusts and where the checkpoints are.
#[derive(Debug, Clone)]
pub struct CheckpointVerifier {
    public_key: Vec<u8>,
    dir: PathBuf,
}

impl CheckpointVerifier {
    pub fn new(public_key_base64: &str, dir: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let public_key = B64
            .decode(public_key_base64.trim())
            .map_err(|e| CheckpointError::BadKey(format!("public key not base64: {e}")))?;
        if public_key.len() != 32 {
            return Err(CheckpointError::BadKey(
                "an Ed25519 public key is 32 bytes".into(),
            ));
        }
        Ok(CheckpointVerifier {
            public_key,
            dir: dir.into(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every checkpoint in the directory, each signature checked, oldest record first.
    pub fn load(&self) -> Result<Vec<Checkpoint>, CheckpointError> {
        self.files()?.iter().map(|path| self.read(path)).collect()
    }

    /// The newest checkpoint only (the highest record), its signature checked.
    pub fn last(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        self.files()?.last().map(|path| self.read(path)).transpose()
    }

    /// The checkpoint files, by record (the names are zero-padded).
    fn files(&self) -> Result<Vec<PathBuf>, CheckpointError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(CheckpointError::Io {
                    path: self.dir.display().to_string(),
                    error,
                });
            }
        };
        let mut found = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|error| CheckpointError::Io {
                    path: self.dir.display().to_string(),
                    error,
                })?
                .path();
            let named = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(FILE_PREFIX) && n.ends_with(".json"));
            if named {
                found.push(path);
            }
        }
        found.sort();
        Ok(found)
    }

    fn read(&self, path: &Path) -> Result<Checkpoint, CheckpointError> {
        let shown = path.display().to_string();
        let bad = |message: String| CheckpointError::BadFile {
            path: shown.clone(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let checkpoint: Checkpoint = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if checkpoint.format != FORMAT {
            return Err(bad(format!("unknown format {}", checkpoint.format)));
        }
        let signature = B64
            .decode(&checkpoint.signature)
            .map_err(|_| CheckpointError::Forged(shown.clone()))?;
        let message = Checkpoint::message(
            &checkpoint.format,
            checkpoint.seq,
            &checkpoint.head,
            checkpoint.keyed_from,
            checkpoint.at,
        );
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(&message, &signature)
            .map_err(|_| CheckpointError::Forged(shown.clone()))?;
        Ok(checkpoint)
    }

    /// Checks the database against every checkpoint: the log has not shrunk below one,
    /// each signed record still has the MAC signed, and the switch-over point is where it
    /// was. The first problem, or `None`; a forged checkpoint file is an error.
    pub async fn check(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<(Option<String>, Option<Checkpoint>), CheckpointError> {
        let checkpoints = self.load()?;
        let head = audit_log::head(conn).await?;
        for c in &checkpoints {
            if let Some(problem) = against(conn, &head, c).await? {
                return Ok((Some(problem), checkpoints.last().cloned()));
            }
        }
        Ok((None, checkpoints.last().cloned()))
    }

    /// [`CheckpointVerifier::check`] against the newest checkpoint alone: what the
    /// schedule runs each time, so its cost does not grow with the number of files.
    pub async fn check_last(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<(Option<String>, Option<Checkpoint>), CheckpointError> {
        let Some(last) = self.last()? else {
            return Ok((None, None));
        };
        let head = audit_log::head(conn).await?;
        Ok((against(conn, &head, &last).await?, Some(last)))
    }
}

/// One checkpoint against the database.
async fn against(
    conn: &mut AnyConnection,
    head: &Head,
    c: &Checkpoint,
) -> Result<Option<String>, CheckpointError> {
    if head.seq < c.seq {
        return Ok(Some(format!(
            "the log ends at record {} but a checkpoint signed record {} (records were deleted)",
            head.seq, c.seq
        )));
    }
    if c.seq > 0 {
        match audit_log::hash_at(conn, c.seq).await? {
            None => {
                return Ok(Some(format!(
                    "record {}: missing, but a checkpoint signed it (a record was deleted)",
                    c.seq
                )));
            }
            Some(hash) if hash != c.head => {
                return Ok(Some(format!(
                    "record {}: its MAC differs from the checkpoint's (the log was rewritten)",
                    c.seq
                )));
            }
            Some(_) => {}
        }
    }
    let moved = match c.keyed_from {
        Some(k) => head.keyed_from != Some(k),
        // Unkeyed when signed: it may have switched over since, but only after the record signed.
        None => head.keyed_from.is_some_and(|k| k <= c.seq),
    };
    if moved {
        return Ok(Some(format!(
            "the chain's switch-over point is {:?} but the checkpoint of record {} signed {:?} \
             (it was moved)",
            head.keyed_from, c.seq, c.keyed_from
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_refuses_an_altered_checkpoint() {
        let dir = std::env::temp_dir().join(format!("sy-cp-{}", crate::util::random_hex(6)));
        let (private, public) = CheckpointSigner::generate().unwrap();
        let signer = CheckpointSigner::from_base64(&private).unwrap();
        let head = Head {
            seq: 7,
            hash: "ab".repeat(32),
            keyed_from: Some(3),
        };
        let c = signer.sign(&head, 1);
        assert!(write(&dir, &c).unwrap().is_some());
        assert!(write(&dir, &c).unwrap().is_none(), "never overwritten");
        let verifier = CheckpointVerifier::new(&public, &dir).unwrap();
        assert_eq!(verifier.load().unwrap(), vec![c.clone()]);
        let (_, other) = CheckpointSigner::generate().unwrap();
        let stranger = CheckpointVerifier::new(&other, &dir).unwrap();
        assert!(matches!(stranger.load(), Err(CheckpointError::Forged(_))));
        let mut altered = c;
        altered.seq = 8;
        write(&dir, &altered).unwrap();
        assert!(matches!(verifier.load(), Err(CheckpointError::Forged(_))));
        std::fs::remove_dir_all(&dir).ok();
    }
}
