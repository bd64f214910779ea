//! Security events: failed authentications and rate-limit trips. Written outside the
//! audit chain (an attacker must not be able to grow the chain at will).

use serde::Serialize;

use super::{Page, Result, Store, TenantStore};
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecurityEvent {
    pub id: String,
    pub kind: String,
    /// A redacted key or token, or a username.
    pub subject: String,
    pub source: String,
    pub at: i64,
}

impl Store {
    pub async fn record_security_event(
        &self,
        tenant_id: Option<&str>,
        kind: &str,
        subject: &str,
        source: &str,
    ) -> Result<()> {
        insert(&self.db, tenant_id, kind, subject, source).await
    }
}

async fn insert(
    db: &super::Db,
    tenant_id: Option<&str>,
    kind: &str,
    subject: &str,
    source: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO security_events (id, tenant_id, kind, subject, source, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id("sev"))
    .bind(tenant_id)
    .bind(kind)
    .bind(subject)
    .bind(source)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The kind of the security event a refused call records (`docs/guardrails.md`).
pub const POLICY_VIOLATION: &str = "policy.violation";

impl TenantStore<'_> {
    /// One `policy.violation` security event per event that names a guardrail: subject
    /// the rule, source where the call was made (`sdk:APP` or `gateway:APP`, then
    /// `/MODEL`). Called with the events just inserted, so a replayed batch adds none.
    pub async fn record_policy_violations(
        &self,
        events: &[crate::usage::validate::CheckedEvent],
        via: &str,
        app_name: &str,
    ) -> Result<()> {
        for event in events {
            if let Some(rule) = &event.rule {
                let source = format!("{via}:{app_name}/{}", event.model);
                insert(
                    self.db,
                    Some(&self.tenant_id),
                    POLICY_VIOLATION,
                    rule,
                    &source,
                )
                .await?;
            }
        }
        Ok(())
    }

    pub async fn list_security_events(&self, page: Page) -> Result<Vec<SecurityEvent>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, kind, subject, source, at FROM security_events WHERE tenant_id = $1 \
             ORDER BY at DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, subject, source, at)| SecurityEvent {
                id,
                kind,
                subject,
                source,
                at,
            })
            .collect())
    }
}

impl Store {
    /// The tenant a presented token or key claims by its prefix, so that a failed attempt
    /// on a real key is recorded where that tenant's security engineers see it.
    pub async fn tenant_of_presented(&self, presented: &str) -> Result<Option<String>> {
        use crate::auth::tokens::parse;
        let (table, prefix) = if let Some(p) = parse(crate::store::keys::APP_KEY_KIND, presented) {
            ("app_keys", p)
        } else if let Some(p) = parse("sys", presented).or_else(|| parse("syp", presented)) {
            ("user_tokens", p)
        } else {
            return Ok(None);
        };
        let row: Option<(String,)> =
            sqlx::query_as(&format!("SELECT tenant_id FROM {table} WHERE prefix = $1"))
                .bind(prefix)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.map(|(t,)| t))
    }
}
