//! Alert channels, rules, rule states and the delivery log (`docs/alerts.md`). Channels
//! and rules change through the audit chain; states and deliveries are the evaluator's
//! own bookkeeping and stay outside it, like server events.

use serde::{Deserialize, Serialize};

use super::{AuditCtx, AuditEntry, Page, Result, Store, StoreError, TenantStore, check_name};
use crate::crypto::MasterKey;
use crate::util::{new_id, now_ms};

/// Where notifications go. The secret never leaves the server; its hint does.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertChannel {
    pub id: String,
    pub name: String,
    /// `webhook` or `slack`.
    pub kind: String,
    pub url: String,
    pub secret_hint: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub name: String,
    pub kind: String,
    pub url: String,
    /// The HMAC key a webhook's body is signed with.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertRule {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The kind's parameters (threshold, window), as given.
    pub params: serde_json::Value,
    pub channel_id: String,
    /// How long a condition must hold before it fires.
    pub for_ms: i64,
    /// How often a rule still firing is notified again.
    pub renotify_ms: i64,
    pub created_at: i64,
}

/// A rule's state for one subject.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertState {
    pub rule_id: String,
    pub subject: String,
    /// `pending`, `firing` or `resolved`.
    pub state: String,
    pub since: i64,
    pub value: f64,
    pub notified_at: Option<i64>,
}

/// One attempt to deliver one notification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertDelivery {
    pub id: String,
    pub rule_id: String,
    pub channel_id: String,
    pub subject: String,
    pub status: String,
    pub attempt: i64,
    pub ok: bool,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub at: i64,
}

/// What binds a channel secret to its row.
fn channel_aad(tenant_id: &str, channel_name: &str) -> String {
    format!("alert_channel:{tenant_id}:{channel_name}")
}

const CHANNEL_KINDS: [&str; 2] = ["webhook", "slack"];

type ChannelRow = (String, String, String, String, Option<String>, i64);
type RuleRow = (String, String, String, String, String, i64, i64, i64);

fn channel_of((id, name, kind, url, secret_hint, created_at): ChannelRow) -> AlertChannel {
    AlertChannel {
        id,
        name,
        kind,
        url,
        secret_hint,
        created_at,
    }
}

fn rule_of(
    (id, name, kind, params, channel_id, for_ms, renotify_ms, created_at): RuleRow,
) -> AlertRule {
    AlertRule {
        id,
        name,
        kind,
        params: serde_json::from_str(&params).unwrap_or_default(),
        channel_id,
        for_ms,
        renotify_ms,
        created_at,
    }
}

const RULE_COLUMNS: &str = "id, name, kind, params, channel_id, for_ms, renotify_ms, created_at";

impl TenantStore<'_> {
    pub async fn create_alert_channel(
        &self,
        ctx: &AuditCtx,
        key: Option<&MasterKey>,
        c: ChannelInput,
    ) -> Result<AlertChannel> {
        check_name("name", &c.name)?;
        if !CHANNEL_KINDS.contains(&c.kind.as_str()) {
            return Err(StoreError::invalid("kind", "must be webhook or slack"));
        }
        if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
            return Err(StoreError::invalid("url", "must be an http(s) URL"));
        }
        let sealed = match &c.secret {
            Some(secret) => {
                let key = key.ok_or_else(|| {
                    StoreError::Crypto(crate::crypto::CryptoError::Missing.to_string())
                })?;
                Some(
                    key.seal(secret, &channel_aad(&self.tenant_id, &c.name))
                        .map_err(|e| StoreError::Crypto(e.to_string()))?,
                )
            }
            None => None,
        };
        let channel = AlertChannel {
            id: new_id("ach"),
            name: c.name,
            kind: c.kind,
            url: c.url,
            secret_hint: c.secret.as_deref().map(crate::crypto::hint),
            created_at: now_ms(),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO alert_channels (id, tenant_id, name, kind, url, secret_sealed, secret_hint, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&channel.id)
        .bind(&self.tenant_id)
        .bind(&channel.name)
        .bind(&channel.kind)
        .bind(&channel.url)
        .bind(sealed)
        .bind(&channel.secret_hint)
        .bind(channel.created_at)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(
            AuditEntry::new(
                ctx,
                Some(&self.tenant_id),
                "alert_channel.create",
                &channel.id,
            )
            .states(
                None,
                Some(&serde_json::to_value(&channel).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(channel)
    }

    pub async fn list_alert_channels(&self, page: Page) -> Result<Vec<AlertChannel>> {
        let rows: Vec<ChannelRow> = sqlx::query_as(
            "SELECT id, name, kind, url, secret_hint, created_at FROM alert_channels \
             WHERE tenant_id = $1 ORDER BY name LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(channel_of).collect())
    }

    /// A channel with its secret opened, for delivery.
    pub async fn alert_channel_for_delivery(
        &self,
        key: Option<&MasterKey>,
        id: &str,
    ) -> Result<(AlertChannel, Option<String>)> {
        let (id, name, kind, url, sealed, hint, created_at): (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
        ) = sqlx::query_as(
            "SELECT id, name, kind, url, secret_sealed, secret_hint, created_at FROM alert_channels \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        let secret = match sealed {
            Some(sealed) => {
                let key = key.ok_or_else(|| {
                    StoreError::Crypto(crate::crypto::CryptoError::Missing.to_string())
                })?;
                Some(
                    key.open(&sealed, &channel_aad(&self.tenant_id, &name))
                        .map_err(|e| StoreError::Crypto(e.to_string()))?,
                )
            }
            None => None,
        };
        Ok((channel_of((id, name, kind, url, hint, created_at)), secret))
    }

    /// Stores a rule whose kind and parameters the caller has checked.
    pub async fn create_alert_rule(&self, ctx: &AuditCtx, rule: AlertRule) -> Result<AlertRule> {
        check_name("name", &rule.name)?;
        let mut tx = self.write().await?;
        let channel: Option<(String,)> =
            sqlx::query_as("SELECT id FROM alert_channels WHERE tenant_id = $1 AND id = $2")
                .bind(&self.tenant_id)
                .bind(&rule.channel_id)
                .fetch_optional(&mut *tx.tx)
                .await?;
        if channel.is_none() {
            return Err(StoreError::invalid("channel_id", "no such channel"));
        }
        sqlx::query(&format!(
            "INSERT INTO alert_rules ({RULE_COLUMNS}, tenant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&rule.id)
        .bind(&rule.name)
        .bind(&rule.kind)
        .bind(rule.params.to_string())
        .bind(&rule.channel_id)
        .bind(rule.for_ms)
        .bind(rule.renotify_ms)
        .bind(rule.created_at)
        .bind(&self.tenant_id)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "alert_rule.create", &rule.id)
                .states(None, Some(&serde_json::to_value(&rule).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    pub async fn alert_rule(&self, id: &str) -> Result<AlertRule> {
        let row: RuleRow = sqlx::query_as(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(rule_of(row))
    }

    pub async fn list_alert_rules(&self, page: Page) -> Result<Vec<AlertRule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE tenant_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
        ))
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(rule_of).collect())
    }

    pub async fn delete_alert_rule(&self, ctx: &AuditCtx, id: &str) -> Result<()> {
        let before = self.alert_rule(id).await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM alert_rules WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM alert_states WHERE tenant_id = $1 AND rule_id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "alert_rule.delete", id).states(
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                None,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn alert_states(&self, rule_id: Option<&str>) -> Result<Vec<AlertState>> {
        let rows: Vec<(String, String, String, i64, f64, Option<i64>)> = sqlx::query_as(
            "SELECT rule_id, subject, state, since, value, notified_at FROM alert_states \
             WHERE tenant_id = $1 AND ($2 = '' OR rule_id = $2) ORDER BY rule_id, subject",
        )
        .bind(&self.tenant_id)
        .bind(rule_id.unwrap_or(""))
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(rule_id, subject, state, since, value, notified_at)| AlertState {
                    rule_id,
                    subject,
                    state,
                    since,
                    value,
                    notified_at,
                },
            )
            .collect())
    }

    /// Writes a rule's state for one subject (the evaluator is its only writer).
    pub async fn put_alert_state(&self, s: &AlertState) -> Result<()> {
        let _guard = self.db.sqlite_writer().await;
        sqlx::query(
            "INSERT INTO alert_states (rule_id, subject, tenant_id, state, since, value, notified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rule_id, subject) DO UPDATE SET \
             state = excluded.state, since = excluded.since, value = excluded.value, \
             notified_at = excluded.notified_at",
        )
        .bind(&s.rule_id)
        .bind(&s.subject)
        .bind(&self.tenant_id)
        .bind(&s.state)
        .bind(s.since)
        .bind(s.value)
        .bind(s.notified_at)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub async fn log_alert_delivery(&self, d: &AlertDelivery) -> Result<()> {
        let _guard = self.db.sqlite_writer().await;
        sqlx::query(
            "INSERT INTO alert_deliveries (id, tenant_id, rule_id, channel_id, subject, status, \
             attempt, ok, http_status, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&d.id)
        .bind(&self.tenant_id)
        .bind(&d.rule_id)
        .bind(&d.channel_id)
        .bind(&d.subject)
        .bind(&d.status)
        .bind(d.attempt)
        .bind(i64::from(d.ok))
        .bind(d.http_status)
        .bind(&d.error)
        .bind(d.at)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub async fn list_alert_deliveries(&self, page: Page) -> Result<Vec<AlertDelivery>> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            Option<i64>,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, rule_id, channel_id, subject, status, attempt, ok, http_status, error, at \
             FROM alert_deliveries WHERE tenant_id = $1 ORDER BY at, id LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    rule_id,
                    channel_id,
                    subject,
                    status,
                    attempt,
                    ok,
                    http_status,
                    error,
                    at,
                )| {
                    AlertDelivery {
                        id,
                        rule_id,
                        channel_id,
                        subject,
                        status,
                        attempt,
                        ok: ok != 0,
                        http_status,
                        error,
                        at,
                    }
                },
            )
            .collect())
    }
}

impl Store {
    /// Every tenant's rules, with their tenant: what the evaluator walks each tick.
    pub async fn all_alert_rules(&self) -> Result<Vec<(String, AlertRule)>> {
        let rows: Vec<(
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
        )> = sqlx::query_as(&format!(
            "SELECT tenant_id, {RULE_COLUMNS} FROM alert_rules ORDER BY tenant_id, id"
        ))
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(t, id, name, kind, params, channel, f, r, c)| {
                (t, rule_of((id, name, kind, params, channel, f, r, c)))
            })
            .collect())
    }
}
