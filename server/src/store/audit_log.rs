//! The audit log as a hash chain, written and read here. Each record hashes its own
//! fields and the previous record's hash; `audit_head` holds the last sequence number and
//! hash, so editing, inserting, deleting (even the newest record) all break verification.
//! Every store mutation appends its record in its own [`super::WriteTx`].

use serde::Serialize;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{Page, Result, TenantStore};
use crate::util::{json_digest, now_ms, sha256_hex};

/// Who is changing something, for the audit record written in the same transaction.
#[derive(Debug, Clone)]
pub struct AuditCtx {
    pub actor: String,
    pub role: String,
    pub source: String,
}

impl AuditCtx {
    /// The CLI acting with the database's own authority.
    pub fn cli(action_by: &str) -> Self {
        AuditCtx {
            actor: action_by.into(),
            role: "cli".into(),
            source: "local".into(),
        }
    }
}

/// What a mutation tells the audit log; the chain fields are filled in on append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub tenant_id: Option<String>,
    pub actor: String,
    pub role: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
}

impl AuditEntry {
    pub fn new(ctx: &AuditCtx, tenant_id: Option<&str>, action: &str, target: &str) -> Self {
        AuditEntry {
            tenant_id: tenant_id.map(str::to_owned),
            actor: ctx.actor.clone(),
            role: ctx.role.clone(),
            source: ctx.source.clone(),
            action: action.into(),
            target: target.into(),
            before_digest: None,
            after_digest: None,
        }
    }

    /// Records digests of the state before and after (never the state itself: it may
    /// hold things the audit readers should not see).
    pub fn states(
        mut self,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Self {
        self.before_digest = before.map(json_digest);
        self.after_digest = after.map(json_digest);
        self
    }

    /// [`AuditEntry::states`] for typed states: an update's before and after.
    pub fn change(self, before: &impl Serialize, after: &impl Serialize) -> Self {
        let before = serde_json::to_value(before).unwrap_or_default();
        let after = serde_json::to_value(after).unwrap_or_default();
        self.states(Some(&before), Some(&after))
    }
}

/// The hash of one record: every stored field but the hash itself, in a fixed order.
#[allow(clippy::too_many_arguments)]
fn record_hash(
    seq: i64,
    tenant_id: Option<&str>,
    actor: &str,
    role: &str,
    action: &str,
    target: &str,
    before: Option<&str>,
    after: Option<&str>,
    source: &str,
    at: i64,
    prev_hash: &str,
) -> String {
    let canonical = serde_json::json!([
        seq, tenant_id, actor, role, action, target, before, after, source, at, prev_hash
    ]);
    sha256_hex(canonical.to_string().as_bytes())
}

/// Appends within the caller's transaction (which already holds the head row lock).
pub(crate) async fn append(tx: &mut Transaction<'static, Any>, e: AuditEntry) -> Result<()> {
    sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    let (seq, prev): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut **tx)
            .await?;
    let at = now_ms();
    let hash = record_hash(
        seq,
        e.tenant_id.as_deref(),
        &e.actor,
        &e.role,
        &e.action,
        &e.target,
        e.before_digest.as_deref(),
        e.after_digest.as_deref(),
        &e.source,
        at,
        &prev,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, tenant_id, actor, role, action, target, before_digest, \
         after_digest, source, at, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(e.tenant_id)
    .bind(e.actor)
    .bind(e.role)
    .bind(e.action)
    .bind(e.target)
    .bind(e.before_digest)
    .bind(e.after_digest)
    .bind(e.source)
    .bind(at)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: i64,
    /// Of `records`, those of the tenant asked about (0 when none was).
    pub tenant_records: i64,
    /// The first problem found, naming the sequence number.
    pub problem: Option<String>,
    /// The record the problem was found at, when it is one: its sequence number and
    /// tenant (a record deleted from the end is found at none).
    pub broken_at: Option<(i64, Option<String>)>,
}

/// Walks every record in order, recomputing each hash. Detects edits (hash mismatch),
/// insertions and deletions (sequence gaps, broken `prev_hash`, head mismatch). Records
/// appended after the walk began are left for the next walk. `tenant`'s records are
/// counted apart, for a report that tells that tenant only about its own.
pub async fn verify(conn: &mut AnyConnection, tenant: Option<&str>) -> Result<VerifyReport> {
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    let rows = sqlx::query(
        "SELECT seq, tenant_id, actor, role, action, target, before_digest, after_digest, \
         source, at, prev_hash, hash FROM audit_log WHERE seq <= $1 ORDER BY seq",
    )
    .bind(head_seq)
    .fetch_all(&mut *conn)
    .await?;
    let mut expected_prev = "0".repeat(64);
    let mut count = 0i64;
    let mut tenant_count = 0i64;
    for (expected_seq, row) in (1i64..).zip(rows) {
        let seq: i64 = row.try_get("seq")?;
        let record_tenant: Option<String> = row.try_get("tenant_id")?;
        let problem = |m: &str| {
            Ok(VerifyReport {
                records: count,
                tenant_records: tenant_count,
                problem: Some(format!("record {seq}: {m}")),
                broken_at: Some((seq, record_tenant.clone())),
            })
        };
        if seq != expected_seq {
            return problem(&format!(
                "expected sequence {expected_seq} (a record was deleted or inserted)"
            ));
        }
        let prev: String = row.try_get("prev_hash")?;
        if prev != expected_prev {
            return problem("previous-hash link broken (a record was deleted or inserted)");
        }
        let before: Option<String> = row.try_get("before_digest")?;
        let after: Option<String> = row.try_get("after_digest")?;
        let stored: String = row.try_get("hash")?;
        let computed = record_hash(
            seq,
            record_tenant.as_deref(),
            &row.try_get::<String, _>("actor")?,
            &row.try_get::<String, _>("role")?,
            &row.try_get::<String, _>("action")?,
            &row.try_get::<String, _>("target")?,
            before.as_deref(),
            after.as_deref(),
            &row.try_get::<String, _>("source")?,
            row.try_get::<i64, _>("at")?,
            &prev,
        );
        if computed != stored {
            return problem("contents do not match its hash (the record was edited)");
        }
        expected_prev = stored;
        count += 1;
        if tenant.is_some() && record_tenant.as_deref() == tenant {
            tenant_count += 1;
        }
    }
    let problem = (count != head_seq || expected_prev != head_hash).then(|| {
        format!(
            "chain ends at record {count} but the head says {head_seq} (records were deleted at the end)"
        )
    });
    Ok(VerifyReport {
        records: count,
        tenant_records: tenant_count,
        problem,
        broken_at: None,
    })
}

/// A verification as one tenant's auditors may see it: nothing about other tenants'
/// records, not even how many there are.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantVerification {
    pub intact: bool,
    /// This tenant's records checked (all of them when intact; up to the break if not).
    pub records_checked: i64,
    /// The sequence number of the broken record, only when it is this tenant's.
    pub broken_seq: Option<i64>,
    pub message: String,
}

impl TenantVerification {
    fn of(report: &VerifyReport, tenant: &str) -> Self {
        let ours = report
            .broken_at
            .as_ref()
            .filter(|(_, t)| t.as_deref() == Some(tenant));
        let message = match (&report.problem, ours) {
            (None, _) => format!(
                "audit chain intact: {} of your records checked",
                report.tenant_records
            ),
            (Some(problem), Some(_)) => {
                format!("audit chain broken at one of your records: {problem}")
            }
            (Some(_), None) => "audit chain broken outside your tenant: an operator can locate it \
                                with `switchyard audit verify`"
                .to_owned(),
        };
        TenantVerification {
            intact: report.problem.is_none(),
            records_checked: report.tenant_records,
            broken_seq: ours.map(|(seq, _)| *seq),
            message,
        }
    }
}

/// One record as the audit readers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
    pub source: String,
    pub at: i64,
    pub hash: String,
}

/// Which records a listing shows; each field left out matches every record.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// One action (`app.create`…).
    pub action: Option<String>,
    /// One actor, as recorded (a user id, `cli:…`).
    pub actor: Option<String>,
    /// From this time on (ms since the epoch), inclusive.
    pub from: Option<i64>,
    /// Before this time (ms), exclusive.
    pub to: Option<i64>,
}

impl AuditFilter {
    pub fn action(action: &str) -> Self {
        AuditFilter {
            action: Some(action.to_owned()),
            ..Default::default()
        }
    }
}

type RecordRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
);

impl TenantStore<'_> {
    /// Verifies the whole chain (it is one across tenants) and reports what this tenant
    /// may know; the verification is itself audited, with its outcome as the target.
    pub async fn verify_audit(&self, ctx: &AuditCtx) -> Result<TenantVerification> {
        let report = {
            let mut conn = self.db.pool.acquire().await?;
            verify(&mut conn, Some(&self.tenant_id)).await?
        };
        let answer = TenantVerification::of(&report, &self.tenant_id);
        let outcome = if answer.intact { "intact" } else { "broken" };
        let mut tx = self.write().await?;
        tx.audit(AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            "audit.verify",
            outcome,
        ))
        .await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Newest first, narrowed by `filter`.
    pub async fn list_audit(&self, filter: &AuditFilter, page: Page) -> Result<Vec<AuditRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT seq, actor, role, action, target, before_digest, after_digest, source, at, hash \
             FROM audit_log WHERE tenant_id = $1 AND ($2 IS NULL OR action = $2) \
             AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
             ORDER BY seq DESC LIMIT $6 OFFSET $7",
        )
        .bind(&self.tenant_id)
        .bind(filter.action.as_deref())
        .bind(filter.actor.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    seq,
                    actor,
                    role,
                    action,
                    target,
                    before_digest,
                    after_digest,
                    source,
                    at,
                    hash,
                )| AuditRecord {
                    seq,
                    actor,
                    role,
                    action,
                    target,
                    before_digest,
                    after_digest,
                    source,
                    at,
                    hash,
                },
            )
            .collect())
    }
}
