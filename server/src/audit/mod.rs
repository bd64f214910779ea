//! Tamper evidence for the audit chain that holds against whoever owns the database: the
//! MAC key the chain is keyed with, and signed checkpoints of its head kept elsewhere
//! (`docs/audit.md`). The chain itself is written and walked in `store/audit_log.rs`.

pub mod checkpoint;
pub mod checkpoint_job;
pub mod key;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointSigner, CheckpointVerifier};
pub use key::{AuditKey, AuditKeyError, AuditKeys};
pub use verify::verify_all;
