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
    /// `webhook`, `slack` or `email`.
    pub kind: String,
    /// An http(s) URL, or for email `smtp://[user@]host[:port]`.
    pub url: String,
    /// Email: the sender and the recipients.
    pub email_from: Option<String>,
    pub email_to: Option<Vec<String>>,
    pub secret_hint: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    #[schema(schema_with = crate::schema_rules::name)]
    pub name: String,
    #[schema(pattern = "^(webhook|slack|email)$")]
    pub kind: String,
    pub url: String,
    /// The HMAC key a webhook's body is signed with; for email, the SMTP password.
    #[serde(default)]
    pub secret: Option<String>,
    /// Email: the sender.
    #[serde(default)]
    pub from: Option<String>,
    /// Email: the recipients.
    #[serde(default)]
    pub to: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertRule {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The kind's parameters (threshold, window), as given.
    pub params: serde_json::Value,
    /// Every channel notified.
    pub channel_ids: Vec<String>,
    /// What the rule does when a subject starts firing (`docs/alerts.md`).
    #[schema(value_type = Option<Object>)]
    pub action: Option<serde_json::Value>,
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

const CHANNEL_KINDS: [&str; 3] = ["webhook", "slack", "email"];

type ChannelRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

const CHANNEL_COLUMNS: &str = "id, name, kind, url, email_from, email_to, secret_hint, created_at";

/// An address as SMTP takes it: no spaces, brackets or line breaks, one `@`.
fn check_address(field: &str, a: &str) -> Result<()> {
    let ok = a.len() <= 254
        && a.matches('@').count() == 1
        && !a.starts_with('@')
        && !a.ends_with('@')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(field, "must be an email address"))
    }
}

/// The kind's URL scheme, and an email channel's addresses.
fn check_channel(c: &ChannelInput) -> Result<()> {
    if !CHANNEL_KINDS.contains(&c.kind.as_str()) {
        return Err(StoreError::invalid(
            "kind",
            "must be webhook, slack or email",
        ));
    }
    if c.kind == "email" {
        if !c.url.starts_with("smtp://") {
            return Err(StoreError::invalid(
                "url",
                "must be smtp://[user@]host[:port]",
            ));
        }
        check_address("from", c.from.as_deref().unwrap_or(""))?;
        let to = c.to.as_deref().unwrap_or_default();
        if to.is_empty() {
            return Err(StoreError::invalid(
                "to",
                "must name at least one recipient",
            ));
        }
        for a in to {
            check_address("to", a)?;
        }
    } else if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
        return Err(StoreError::invalid("url", "must be an http(s) URL"));
    } else if c.from.is_some() || c.to.is_some() {
        return Err(StoreError::invalid(
            "to",
            "only an email channel has from and to",
        ));
    }
    Ok(())
}
type RuleRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
);

fn channel_of(
    (id, name, kind, url, email_from, email_to, secret_hint, created_at): ChannelRow,
) -> AlertChannel {
    AlertChannel {
        id,
        name,
        kind,
        url,
        email_from,
        email_to: email_to.map(|t| t.split(',').map(str::to_owned).collect()),
        secret_hint,
        created_at,
    }
}

fn rule_of(
    (id, name, kind, params, channel_ids, action, for_ms, renotify_ms, created_at): RuleRow,
) -> AlertRule {
    AlertRule {
        id,
        name,
        kind,
        params: serde_json::from_str(&params).unwrap_or_default(),
        channel_ids: serde_json::from_str(&channel_ids).unwrap_or_default(),
        action: action.and_then(|a| serde_json::from_str(&a).ok()),
        for_ms,
        renotify_ms,
        created_at,
    }
}

const RULE_COLUMNS: &str =
    "id, name, kind, params, channel_ids, action, for_ms, renotify_ms, created_at";

impl TenantStore<'_> {
    pub async fn create_alert_channel(
        &self,
        ctx: &AuditCtx,
        key: Option<&MasterKey>,
        c: ChannelInput,
    ) -> Result<AlertChannel> {
        check_name("name", &c.name)?;
        check_channel(&c)?;
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
            email_from: c.from,
            email_to: c.to,
            secret_hint: c.secret.as_deref().map(crate::crypto::hint),
            created_at: now_ms(),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO alert_channels (id, tenant_id, name, kind, url, email_from, email_to, \
             secret_sealed, secret_hint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&channel.id)
        .bind(&self.tenant_id)
        .bind(&channel.name)
        .bind(&channel.kind)
        .bind(&channel.url)
        .bind(&channel.email_from)
        .bind(channel.email_to.as_ref().map(|t| t.join(",")))
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
        let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM alert_channels \
             WHERE tenant_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
        ))
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
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            Option<String>,
        );
        let (id, name, kind, url, from, to, hint, created_at, sealed): Row = sqlx::query_as(&format!(
            "SELECT {CHANNEL_COLUMNS}, secret_sealed FROM alert_channels WHERE tenant_id = $1 AND id = $2"
        ))
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
        Ok((
            channel_of((id, name, kind, url, from, to, hint, created_at)),
            secret,
        ))
    }

    /// Stores a rule whose kind and parameters the caller has checked.
    pub async fn create_alert_rule(&self, ctx: &AuditCtx, rule: AlertRule) -> Result<AlertRule> {
        check_name("name", &rule.name)?;
        let mut tx = self.write().await?;
        if rule.channel_ids.is_empty() {
            return Err(StoreError::invalid(
                "channel_ids",
                "must name at least one channel",
            ));
        }
        for channel_id in &rule.channel_ids {
            let channel: Option<(String,)> =
                sqlx::query_as("SELECT id FROM alert_channels WHERE tenant_id = $1 AND id = $2")
                    .bind(&self.tenant_id)
                    .bind(channel_id)
                    .fetch_optional(&mut *tx.tx)
                    .await?;
            if channel.is_none() {
                return Err(StoreError::invalid("channel_ids", "no such channel"));
            }
        }
        sqlx::query(&format!(
            "INSERT INTO alert_rules ({RULE_COLUMNS}, tenant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&rule.id)
        .bind(&rule.name)
        .bind(&rule.kind)
        .bind(rule.params.to_string())
        .bind(serde_json::to_string(&rule.channel_ids).unwrap_or_default())
        .bind(rule.action.as_ref().map(ToString::to_string))
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

    /// Writes a rule's state for one subject if it is still `prev` (what the evaluator
    /// read; `None`: no row yet). False when another evaluator changed it meanwhile (two
    /// replicas overlapping for a moment while the job changes hands): that one notifies.
    pub async fn put_alert_state(&self, s: &AlertState, prev: Option<&AlertState>) -> Result<bool> {
        let _guard = self.db.sqlite_writer().await;
        let done = match prev {
            None => sqlx::query(
                "INSERT INTO alert_states (rule_id, subject, tenant_id, state, since, value, notified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rule_id, subject) DO NOTHING",
            )
            .bind(&s.rule_id)
            .bind(&s.subject)
            .bind(&self.tenant_id)
            .bind(&s.state)
            .bind(s.since)
            .bind(s.value)
            .bind(s.notified_at)
            .execute(&self.db.pool)
            .await?,
            Some(p) => sqlx::query(
                "UPDATE alert_states SET state = $1, since = $2, value = $3, notified_at = $4 \
                 WHERE rule_id = $5 AND subject = $6 AND tenant_id = $7 AND state = $8 \
                 AND since = $9 AND notified_at IS NOT DISTINCT FROM $10",
            )
            .bind(&s.state)
            .bind(s.since)
            .bind(s.value)
            .bind(s.notified_at)
            .bind(&s.rule_id)
            .bind(&s.subject)
            .bind(&self.tenant_id)
            .bind(&p.state)
            .bind(p.since)
            .bind(p.notified_at)
            .execute(&self.db.pool)
            .await?,
        };
        Ok(done.rows_affected() == 1)
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
        let tenants: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT tenant_id FROM alert_rules ORDER BY tenant_id")
                .fetch_all(&self.db.pool)
                .await?;
        let every = Page {
            limit: i64::MAX,
            offset: 0,
        };
        let mut out = Vec::new();
        for (tenant_id,) in tenants {
            for rule in self.tenant(&tenant_id).list_alert_rules(every).await? {
                out.push((tenant_id.clone(), rule));
            }
        }
        Ok(out)
    }
}
