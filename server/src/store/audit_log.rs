//! Reading the audit log (writing happens inside every store mutation).

use serde::Serialize;

use super::{Page, Result, TenantStore};

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

type Row = (
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
    /// Newest first, optionally only one action (`app.create`…).
    pub async fn list_audit(&self, action: Option<&str>, page: Page) -> Result<Vec<AuditRecord>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, actor, role, action, target, before_digest, after_digest, source, at, hash \
             FROM audit_log WHERE tenant_id = $1 AND ($2 IS NULL OR action = $2) \
             ORDER BY seq DESC LIMIT $3 OFFSET $4",
        )
        .bind(&self.tenant_id)
        .bind(action)
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
