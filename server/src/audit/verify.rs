//! The whole verification, as `switchyard audit verify` and `POST /api/v1/audit/verify`
//! run it: the chain with the audit keys, then the database against every checkpoint.

use sqlx::AnyConnection;

use super::checkpoint::{CheckpointError, CheckpointVerifier};
use super::key::AuditKeys;
use crate::store::StoreError;
use crate::store::audit_log::{VerifyReport, verify_keyed};

/// The chain walked with `keys`, then (when it is intact) checked against the
/// checkpoints; a checkpoint problem, a forged file included, is reported as the
/// report's problem. The last checkpoint is returned too.
pub async fn verify_all(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    keys: Option<&AuditKeys>,
    checkpoints: Option<&CheckpointVerifier>,
) -> Result<(VerifyReport, Option<super::Checkpoint>), StoreError> {
    let mut report = verify_keyed(conn, tenant, keys).await?;
    let Some(verifier) = checkpoints.filter(|_| report.problem.is_none()) else {
        return Ok((report, None));
    };
    match verifier.check(conn).await {
        Ok((problem, last)) => {
            report.problem = problem;
            Ok((report, last))
        }
        Err(CheckpointError::Store(e)) => Err(e),
        Err(e) => {
            report.problem = Some(e.to_string());
            Ok((report, None))
        }
    }
}
