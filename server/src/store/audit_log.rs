//! The audit log as a chain, written and walked here. Each record carries an HMAC-SHA256
//! of its own fields and the previous record's MAC under the audit key (`crate::audit`),
//! or, before the chain's switch-over point, a plain SHA-256 link; `audit_head` holds the
//! last sequence number, MAC and that point, so editing, inserting, deleting (even the
//! newest record) or recomputing without the key all break verification (`docs/audit.md`).
//! Every store mutation appends its record in its own [`super::WriteTx`].

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{Page, Result, StoreError, TenantStore};
use crate::audit::{AuditKey, AuditKeys, CheckpointVerifier};
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

/// A record's own fields, in the fixed order they are hashed or MACed in: a JSON array, so
/// no field can bleed into the next.
struct Fields<'a> {
    seq: i64,
    tenant_id: Option<&'a str>,
    actor: &'a str,
    role: &'a str,
    action: &'a str,
    target: &'a str,
    before: Option<&'a str>,
    after: Option<&'a str>,
    source: &'a str,
    at: i64,
}

impl Fields<'_> {
    fn array(&self, last: &str) -> String {
        serde_json::json!([
            self.seq,
            self.tenant_id,
            self.actor,
            self.role,
            self.action,
            self.target,
            self.before,
            self.after,
            self.source,
            self.at,
            last
        ])
        .to_string()
    }

    /// Before the chain was keyed: SHA-256 of the fields and the previous hash.
    fn hash(&self, prev: &str) -> String {
        sha256_hex(self.array(prev).as_bytes())
    }

    /// From the switch-over on: HMAC over the previous MAC and the fields with the key id.
    fn mac(&self, key: &AuditKey, prev: &str) -> String {
        key.mac(prev, &self.array(key.id()))
    }
}

/// The chain's head: the last sequence number, its hash or MAC, and the first record that
/// had to carry a MAC (`None` while the chain is unkeyed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub keyed_from: Option<i64>,
}

pub async fn head(conn: &mut AnyConnection) -> Result<Head> {
    let (seq, hash, keyed_from): (i64, String, Option<i64>) =
        sqlx::query_as("SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    Ok(Head {
        seq,
        hash,
        keyed_from,
    })
}

/// The stored hash (or MAC) of record `seq`, if there is such a record.
pub async fn hash_at(conn: &mut AnyConnection, seq: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_as::<_, (String,)>("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&mut *conn)
            .await?
            .map(|(h,)| h),
    )
}

/// Appends within the caller's transaction (which already holds the head row lock). With
/// `keys`, the record carries a MAC under the current key. The chain is switched over by
/// [`super::Store::adopt_audit_key`] only, never here: a writer with the key refuses a
/// head whose switch-over point is missing or not the one this process saw (it was
/// tampered with: extending it would hide that), and a writer without the key refuses a
/// keyed chain rather than let an unkeyed record in.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    keys: Option<&AuditKeys>,
    seen: &std::sync::OnceLock<i64>,
    e: AuditEntry,
) -> Result<()> {
    sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    let (seq, prev, keyed_from): (i64, String, Option<i64>) =
        sqlx::query_as("SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1")
            .fetch_one(&mut **tx)
            .await?;
    let key = match (keys, keyed_from) {
        (Some(keys), Some(from)) => {
            if *seen.get_or_init(|| from) != from {
                return Err(tampered(seen.get().copied(), keyed_from));
            }
            Some(keys.current())
        }
        (Some(_), None) if seen.get().is_some() => {
            return Err(tampered(seen.get().copied(), keyed_from));
        }
        (Some(_), None) => {
            return Err(StoreError::Internal(
                "the audit chain is not keyed yet: a process with the audit key switches it \
                 over when it starts"
                    .into(),
            ));
        }
        (None, Some(from)) => {
            return Err(StoreError::Internal(format!(
                "the audit chain is keyed from record {from} on: set {} or {}",
                crate::audit::key::KEY_ENV,
                crate::audit::key::KEY_FILE_ENV
            )));
        }
        (None, None) => None,
    };
    let at = now_ms();
    let fields = Fields {
        seq,
        tenant_id: e.tenant_id.as_deref(),
        actor: &e.actor,
        role: &e.role,
        action: &e.action,
        target: &e.target,
        before: e.before_digest.as_deref(),
        after: e.after_digest.as_deref(),
        source: &e.source,
        at,
    };
    let hash = match key {
        Some(key) => fields.mac(key, &prev),
        None => fields.hash(&prev),
    };
    sqlx::query(
        "INSERT INTO audit_log (seq, tenant_id, actor, role, action, target, before_digest, \
         after_digest, source, at, prev_hash, hash, key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
    .bind(key.map(|k| k.id().to_owned()))
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn tampered(seen: Option<i64>, now: Option<i64>) -> StoreError {
    StoreError::Internal(format!(
        "the audit chain's switch-over point was record {seen:?} and is now {now:?}: the log \
         was tampered with, nothing more is appended (run `switchyard audit verify`)"
    ))
}

/// The outcome of walking the chain.
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
    /// The head as read when the walk began (what a checkpoint of this walk would sign).
    pub head: Head,
}

/// Where a walk may start instead of the first record: a record already verified (by a
/// signed checkpoint), whose stored hash must still be this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

/// Walks every record without a key: an unkeyed chain verifies, a keyed record is
/// reported as unverifiable. [`verify_keyed`] with the keys is what operators run.
pub async fn verify(conn: &mut AnyConnection, tenant: Option<&str>) -> Result<VerifyReport> {
    walk(conn, tenant, None, None).await
}

/// Walks every record in order, recomputing each hash (before the switch-over point) or
/// MAC (from it on). Detects edits (mismatch), insertions and deletions (sequence gaps,
/// broken links, head mismatch), and records rewritten without the key (a missing or
/// wrong MAC, or a record's kind on the wrong side of the switch-over point). Records
/// appended after the walk began are left for the next walk. `tenant`'s records are
/// counted apart, for a report that tells that tenant only about its own.
pub async fn verify_keyed(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    keys: Option<&AuditKeys>,
) -> Result<VerifyReport> {
    walk(conn, tenant, keys, None).await
}

/// [`verify_keyed`] from `from` on (the whole chain when `None`).
pub async fn walk(
    conn: &mut AnyConnection,
    tenant: Option<&str>,
    keys: Option<&AuditKeys>,
    from: Option<&Anchor>,
) -> Result<VerifyReport> {
    let head = head(conn).await?;
    let start = from.map_or(1, |a| a.seq.max(1));
    // Streamed: a walk holds one record at a time, however long the log.
    let mut rows = sqlx::query(
        "SELECT seq, tenant_id, actor, role, action, target, before_digest, after_digest, \
         source, at, prev_hash, hash, key_id FROM audit_log WHERE seq >= $1 AND seq <= $2 \
         ORDER BY seq",
    )
    .bind(start)
    .bind(head.seq)
    .fetch(&mut *conn);
    let mut expected_prev = "0".repeat(64);
    let mut count = 0i64;
    let mut tenant_count = 0i64;
    let mut last = start - 1;
    let mut expected_seq = start;
    while let Some(row) = rows.try_next().await? {
        let seq: i64 = row.try_get("seq")?;
        let record_tenant: Option<String> = row.try_get("tenant_id")?;
        let problem = |m: &str| {
            Ok(VerifyReport {
                records: count,
                tenant_records: tenant_count,
                problem: Some(format!("record {seq}: {m}")),
                broken_at: Some((seq, record_tenant.clone())),
                head: head.clone(),
            })
        };
        if seq != expected_seq {
            return problem(&format!(
                "expected sequence {expected_seq} (a record was deleted or inserted)"
            ));
        }
        let prev: String = row.try_get("prev_hash")?;
        let stored: String = row.try_get("hash")?;
        // The anchor's own link is not checked (what came before it was verified when it
        // was signed); its hash must be the one signed.
        let anchor = from.filter(|a| a.seq == seq);
        if anchor.is_some_and(|a| a.hash != stored) {
            return problem("hash differs from the checkpoint's (the record was rewritten)");
        }
        if anchor.is_none() && prev != expected_prev {
            return problem("previous-hash link broken (a record was deleted or inserted)");
        }
        let before: Option<String> = row.try_get("before_digest")?;
        let after: Option<String> = row.try_get("after_digest")?;
        let actor: String = row.try_get("actor")?;
        let role: String = row.try_get("role")?;
        let action: String = row.try_get("action")?;
        let target: String = row.try_get("target")?;
        let source: String = row.try_get("source")?;
        let fields = Fields {
            seq,
            tenant_id: record_tenant.as_deref(),
            actor: &actor,
            role: &role,
            action: &action,
            target: &target,
            before: before.as_deref(),
            after: after.as_deref(),
            source: &source,
            at: row.try_get("at")?,
        };
        let key_id: Option<String> = row.try_get("key_id")?;
        let must_be_keyed = head.keyed_from.is_some_and(|k| seq >= k);
        match (key_id, must_be_keyed) {
            (None, true) => {
                return problem(&format!(
                    "has no MAC, but the chain is keyed from record {} on (rewritten without the key)",
                    head.keyed_from.unwrap_or_default()
                ));
            }
            (Some(_), false) => {
                return problem(
                    "carries a MAC before the chain's switch-over point (the switch-over point was moved)",
                );
            }
            (Some(key_id), true) => {
                let Some(keys) = keys else {
                    return problem(&format!(
                        "is keyed with audit key {key_id}: give the audit key to verify it"
                    ));
                };
                let Some(key) = keys.by_id(&key_id) else {
                    return problem(&format!(
                        "names audit key {key_id}, which is not among the keys given"
                    ));
                };
                if fields.mac(key, &prev) != stored {
                    return problem(
                        "contents do not match its MAC (edited, or recomputed without the key)",
                    );
                }
            }
            (None, false) => {
                if fields.hash(&prev) != stored {
                    return problem("contents do not match its hash (the record was edited)");
                }
            }
        }
        expected_prev = stored;
        last = seq;
        expected_seq += 1;
        count += 1;
        if tenant.is_some() && record_tenant.as_deref() == tenant {
            tenant_count += 1;
        }
    }
    let problem = if from.is_some_and(|a| a.seq > 0 && last < a.seq) {
        Some(format!(
            "the log ends at record {last}, below the checkpoint at record {} (records were deleted)",
            from.map_or(0, |a| a.seq)
        ))
    } else if last != head.seq || expected_prev != head.hash {
        Some(format!(
            "chain ends at record {last} but the head says {} (records were deleted at the end)",
            head.seq
        ))
    } else if keys.is_some() && head.keyed_from.is_none() && head.seq > 0 {
        // A server with the key switches over when it starts, so a keyed deployment's
        // chain without a switch-over point had it removed (and was recomputed unkeyed).
        Some(
            "the chain carries no MAC although an audit key is in use (the switch-over \
             point was removed, or no server has run with the key yet)"
                .to_owned(),
        )
    } else {
        None
    };
    Ok(VerifyReport {
        records: count,
        tenant_records: tenant_count,
        problem,
        broken_at: None,
        head,
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
    /// Verifies the whole chain (it is one across tenants) with the server's audit keys
    /// and against its checkpoints, and reports what this tenant may know; the
    /// verification is itself audited, with its outcome as the target.
    pub async fn verify_audit(
        &self,
        ctx: &AuditCtx,
        checkpoints: Option<&CheckpointVerifier>,
    ) -> Result<TenantVerification> {
        let report = {
            let mut conn = self.db.pool.acquire().await?;
            let keys = self.db.audit_keys();
            crate::audit::verify_all(
                &mut conn,
                Some(&self.tenant_id),
                keys.as_deref(),
                checkpoints,
            )
            .await?
            .0
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

impl super::Store {
    /// Called when a process with audit keys starts: when the chain is not yet keyed, or
    /// its newest record was made with another key, appends `audit.key.enable` (the
    /// switch-over point: the only place a chain becomes keyed) or `audit.key.rotate`
    /// made with the current key. Returns the action written, if any.
    pub async fn adopt_audit_key(&self, ctx: &AuditCtx) -> Result<Option<&'static str>> {
        let Some(keys) = self.db.audit_keys() else {
            return Ok(None);
        };
        let mut tx = self.db.begin_write().await?;
        let (seq, keyed_from): (i64, Option<i64>) =
            sqlx::query_as("SELECT seq, keyed_from FROM audit_head WHERE id = 1")
                .fetch_one(&mut *tx.tx)
                .await?;
        let newest: Option<(Option<String>,)> =
            sqlx::query_as("SELECT key_id FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx.tx)
                .await?;
        let current = keys.current().id();
        let action = match (keyed_from, newest.and_then(|(k,)| k)) {
            (None, _) => {
                // The record about to be appended is the first with a MAC.
                sqlx::query("UPDATE audit_head SET keyed_from = $1 WHERE id = 1")
                    .bind(seq + 1)
                    .execute(&mut *tx.tx)
                    .await?;
                "audit.key.enable"
            }
            (Some(from), Some(id)) if id == current => {
                let _ = self.db.keyed_from_seen.set(from);
                return Ok(None);
            }
            (Some(_), _) => "audit.key.rotate",
        };
        let _ = self.db.keyed_from_seen.set(keyed_from.unwrap_or(seq + 1));
        tx.audit(AuditEntry::new(ctx, None, action, current))
            .await?;
        tx.commit().await?;
        Ok(Some(action))
    }
}
