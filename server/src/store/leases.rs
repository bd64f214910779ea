//! Leases (`POST /sdk/v1/leases`, `docs/budgets.md`): an SDK instance's slices of the
//! budgets and rate limits that apply to its app. Every grant runs under a lock on the
//! budgets and limits it touches (SQLite: the process's single writer; PostgreSQL: their
//! rows `FOR UPDATE`), and reads a budget's spend and the outstanding part of every slice
//! in one statement, so two grants cannot hand out the same money and an ingestion
//! committing in between cannot be seen half.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::{Any, AnyConnection, Transaction};
use switchyard::sdk_protocol::{BudgetSlice, LeaseGrant, LimitSlice, SliceScope, SliceUse};

use super::budgets::{BudgetRow, Scope, parse_policy};
use super::rate_limits::LimitRow;
use super::{Result, Store, StoreError, TenantStore};
use crate::budget::share::{budget_extra, limit_shares};
use crate::db::Backend;
use crate::usage::validate::CheckedEvent;
use crate::util::{new_id, now_ms};

/// The server's lease timings: server settings (`switchyard serve --lease-ttl-secs`,
/// `--lease-grace-secs`); the window is a minute, shorter only in tests.
#[derive(Debug, Clone, Copy)]
pub struct LeaseSettings {
    /// A grant is good this long.
    pub ttl_ms: i64,
    /// An expired lease's slices still count as granted this long: its last usage
    /// batches may be on the way.
    pub grace_ms: i64,
    /// The rate-limit window: a released share stays counted this long.
    pub window_ms: i64,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            ttl_ms: 30_000,
            grace_ms: 120_000,
            window_ms: 60_000,
        }
    }
}

/// A lease request, checked: amounts in micro-dollars (budgets) or a minute's units
/// (limits), by slice id.
#[derive(Debug, Clone, Default)]
pub struct LeaseAsk {
    pub instance: String,
    pub lease: Option<String>,
    pub used: HashMap<String, i64>,
    pub want: HashMap<String, i64>,
}

/// A budget's standing in one period.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Standing {
    pub spent: i64,
    pub outstanding: i64,
    pub live: i64,
}

/// `$first, $first+1, …` for `n` values.
fn params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a budget or limit of `scope` counts the calls of an app in `lineage` (its
/// department and the ancestors).
fn applies(scope: &Scope, app_id: &str, lineage: &[String]) -> bool {
    match scope.kind {
        SliceScope::Tenant | SliceScope::Model => true,
        SliceScope::Department => scope
            .reference
            .as_ref()
            .is_some_and(|d| lineage.contains(d)),
        SliceScope::App => scope.reference.as_deref() == Some(app_id),
    }
}

fn micros_usd(m: i64) -> f64 {
    m as f64 / 1e6
}

impl TenantStore<'_> {
    /// The department ids at or under `root`.
    async fn subtree(&self, conn: &mut AnyConnection, root: &str) -> Result<Vec<String>> {
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, parent_id FROM departments WHERE tenant_id = $1")
                .bind(&self.tenant_id)
                .fetch_all(&mut *conn)
                .await?;
        let mut out = vec![root.to_owned()];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i].clone();
            for (id, p) in &rows {
                if p.as_deref() == Some(parent.as_str()) && !out.contains(id) {
                    out.push(id.clone());
                }
            }
            i += 1;
        }
        Ok(out)
    }

    /// Spend ingested in `b`'s scope in `[start, end)`, the outstanding part of its slices
    /// of the period starting at `start`, and its live leases: one statement, one snapshot.
    pub(crate) async fn standing(
        &self,
        conn: &mut AnyConnection,
        b: &BudgetRow,
        start: i64,
        end: i64,
        now: i64,
        grace_ms: i64,
    ) -> Result<Standing> {
        let (filter, refs): (String, Vec<String>) = match (&b.scope.kind, &b.scope.reference) {
            (SliceScope::App, Some(r)) => ("AND app_id = $4".into(), vec![r.clone()]),
            (SliceScope::Model, Some(r)) => ("AND model = $4".into(), vec![r.clone()]),
            (SliceScope::Department, Some(r)) => {
                let ids = self.subtree(conn, r).await?;
                (
                    format!("AND department_id IN ({})", params(4, ids.len())),
                    ids,
                )
            }
            _ => (String::new(), Vec::new()),
        };
        let n = 4 + refs.len();
        let sql = format!(
            "SELECT \
             (SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM usage_minute \
              WHERE tenant_id = $1 AND minute >= $2 AND minute < $3 {filter}), \
             (SELECT CAST(COALESCE(SUM(CASE \
                WHEN l.returned_at IS NOT NULL THEN \
                  CASE WHEN s.used > s.ingested THEN s.used - s.ingested ELSE 0 END \
                WHEN l.expires_at > ${a} THEN \
                  CASE WHEN s.granted > s.ingested THEN s.granted - s.ingested ELSE 0 END \
                ELSE 0 END), 0) AS BIGINT) \
              FROM lease_slices s JOIN leases l ON l.id = s.lease_id \
              WHERE s.subject_id = ${b} AND s.period_start = ${c}), \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM lease_slices s JOIN leases l ON l.id = s.lease_id \
              WHERE s.subject_id = ${d} AND s.period_start = ${e} \
              AND l.returned_at IS NULL AND l.expires_at > ${f})",
            a = n,
            b = n + 1,
            c = n + 2,
            d = n + 3,
            e = n + 4,
            f = n + 5,
        );
        let mut q = sqlx::query_as::<_, (i64, i64, i64)>(&sql)
            .bind(&self.tenant_id)
            .bind(start)
            .bind(end);
        for r in &refs {
            q = q.bind(r);
        }
        let (spent, outstanding, live) = q
            .bind(now - grace_ms)
            .bind(&b.budget.id)
            .bind(start)
            .bind(&b.budget.id)
            .bind(start)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Standing {
            spent,
            outstanding,
            live,
        })
    }

    /// The budgets and limits that apply to `app_id`. A tenant without any (the common
    /// case on the ingestion path) costs two queries.
    pub(crate) async fn applicable(&self, app_id: &str) -> Result<(Vec<BudgetRow>, Vec<LimitRow>)> {
        let mut budgets = self.all_budgets().await?;
        let mut limits = self.all_rate_limits().await?;
        if budgets.is_empty() && limits.is_empty() {
            return Ok((budgets, limits));
        }
        let app = self.get_app(app_id).await?;
        let lineage = self.department_lineage(&app.department_id).await?;
        budgets.retain(|b| applies(&b.scope, app_id, &lineage));
        limits.retain(|l| applies(&l.scope, app_id, &lineage));
        Ok((budgets, limits))
    }

    /// Takes the grant lock: the process writer on SQLite, the rows on PostgreSQL.
    async fn lock_subjects(
        &self,
        tx: &mut Transaction<'static, Any>,
        budgets: &[BudgetRow],
        limits: &[LimitRow],
    ) -> Result<()> {
        if self.db.backend != Backend::Postgres {
            return Ok(());
        }
        for (table, ids) in [
            (
                "budgets",
                budgets
                    .iter()
                    .map(|b| b.budget.id.clone())
                    .collect::<Vec<_>>(),
            ),
            (
                "rate_limits",
                limits.iter().map(|l| l.limit.id.clone()).collect(),
            ),
        ] {
            if ids.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT id FROM {table} WHERE tenant_id = $1 AND id IN ({}) ORDER BY id FOR UPDATE",
                params(2, ids.len())
            );
            let mut q = sqlx::query(&sql).bind(&self.tenant_id);
            for id in &ids {
                q = q.bind(id);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Grants or renews `ask`'s lease for `app_id`: see the module doc and docs/budgets.md.
    pub async fn lease(
        &self,
        app_id: &str,
        ask: &LeaseAsk,
        settings: LeaseSettings,
    ) -> Result<LeaseGrant> {
        let (budgets, limits) = self.applicable(app_id).await?;
        let tz = self.time_zone().await?;
        let _guard = self.db.sqlite_writer().await;
        let mut tx = self.db.pool.begin().await?;
        self.lock_subjects(&mut tx, &budgets, &limits).await?;
        let now = now_ms();
        // Until when the instance may still use its previous grant: its expiry.
        let mut prior_expiry = now;
        let lease_id = match &ask.lease {
            None => {
                let id = new_id("lse");
                sqlx::query(
                    "INSERT INTO leases (id, tenant_id, app_id, instance, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(&self.tenant_id)
                .bind(app_id)
                .bind(&ask.instance)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                id
            }
            Some(id) => {
                let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT app_id, expires_at, returned_at FROM leases WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&self.tenant_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                match row {
                    Some((app, _, _)) if app != app_id => return Err(StoreError::NotFound),
                    None => return Err(StoreError::NotFound),
                    Some((_, expires, returned)) if returned.is_some() || expires <= now => {
                        return Err(StoreError::Gone(
                            "the lease has expired or was returned: request a new one".into(),
                        ));
                    }
                    Some((_, expires, _)) => {
                        prior_expiry = expires;
                        id.clone()
                    }
                }
            }
        };
        let mut grant = LeaseGrant {
            lease: lease_id.clone(),
            expires_at_ms: (now + settings.ttl_ms).max(0) as u64,
            refresh_in_ms: (settings.ttl_ms / 3).max(1) as u64,
            budgets: Vec::with_capacity(budgets.len()),
            limits: Vec::with_capacity(limits.len()),
        };
        for b in &budgets {
            let (start, end) = b.budget.period.bounds(&tz, now)?;
            let standing = self
                .standing(&mut tx, b, start, end, now, settings.grace_ms)
                .await?;
            let mine: Option<(i64, i64)> = sqlx::query_as(
                "SELECT granted, used FROM lease_slices WHERE lease_id = $1 AND subject_id = $2 AND period_start = $3",
            )
            .bind(&lease_id)
            .bind(&b.budget.id)
            .bind(start)
            .fetch_optional(&mut *tx)
            .await?;
            let (old, old_used) = mine.unwrap_or((0, 0));
            let available = b.amount_micros - standing.spent - standing.outstanding;
            let live = standing.live + i64::from(mine.is_none());
            let used = ask
                .used
                .get(&b.budget.id)
                .copied()
                .unwrap_or(0)
                .max(old_used);
            let extra = budget_extra(
                b.amount_micros,
                available,
                ask.want.get(&b.budget.id).copied(),
                mine.map(|_| old - used),
                live,
            );
            let granted = old + extra;
            sqlx::query(
                "INSERT INTO lease_slices (lease_id, subject_id, tenant_id, period_start, period_end, \
                 granted, used, ingested, want) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
                 ON CONFLICT (lease_id, subject_id, period_start) DO UPDATE SET \
                 granted = excluded.granted, used = excluded.used, want = excluded.want",
            )
            .bind(&lease_id)
            .bind(&b.budget.id)
            .bind(&self.tenant_id)
            .bind(start)
            .bind(end)
            .bind(granted)
            .bind(used)
            .bind(ask.want.get(&b.budget.id).copied())
            .execute(&mut *tx)
            .await?;
            grant.budgets.push(BudgetSlice {
                id: b.budget.id.clone(),
                name: b.budget.name.clone(),
                scope: b.scope.kind.clone(),
                model: (b.scope.kind == SliceScope::Model)
                    .then(|| b.scope.reference.clone())
                    .flatten(),
                hard: b.budget.mode == "hard",
                reroute_to: b.budget.reroute_to.clone(),
                on_server_down: parse_policy("on_server_down", Some(&b.budget.on_server_down))?,
                granted_usd: micros_usd(granted),
                limit_usd: micros_usd(b.amount_micros),
                spent_usd: micros_usd(standing.spent),
                period_start: start.div_euclid(1000),
                period_end: end.div_euclid(1000),
            });
        }
        for l in &limits {
            grant.limits.push(
                self.share(&mut tx, &lease_id, l, ask, (now, prior_expiry), settings)
                    .await?,
            );
        }
        sqlx::query("UPDATE leases SET expires_at = $1 WHERE id = $2")
            .bind(now + settings.ttl_ms)
            .bind(&lease_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// This lease's new share of limit `l`: see [`limit_shares`]. A share given up counts
    /// against the limit for one more window ([`LeaseSettings::window_ms`]) after the
    /// instance may last have used it: the previous grant's expiry (`times.1`), since the
    /// instance keeps to its old share until this answer reaches it, however late.
    async fn share(
        &self,
        tx: &mut Transaction<'static, Any>,
        lease_id: &str,
        l: &LimitRow,
        ask: &LeaseAsk,
        times: (i64, i64),
        settings: LeaseSettings,
    ) -> Result<LimitSlice> {
        let (now, prior_expiry) = times;
        // Other leases' shares still usable, or usable less than a window ago.
        let (others_rpm, others_tpm, others_live, others_want): (i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(s.granted), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(COALESCE(s.granted_tpm, 0)), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN l.expires_at > $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN l.expires_at > $2 THEN COALESCE(s.want, 0) ELSE 0 END), 0) AS BIGINT) \
                 FROM lease_slices s JOIN leases l ON l.id = s.lease_id \
                 WHERE s.subject_id = $3 AND l.returned_at IS NULL AND l.expires_at > $4 AND s.lease_id <> $5",
            )
            .bind(now)
            .bind(now)
            .bind(&l.limit.id)
            .bind(now - settings.window_ms)
            .bind(lease_id)
            .fetch_one(&mut **tx)
            .await?;
        let (cool_rpm, cool_tpm): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(rpm), 0) AS BIGINT), CAST(COALESCE(SUM(tpm), 0) AS BIGINT) \
             FROM rate_cooling WHERE limit_id = $1 AND until_ms > $2",
        )
        .bind(&l.limit.id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        let mine: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT granted, granted_tpm FROM lease_slices WHERE lease_id = $1 AND subject_id = $2",
        )
        .bind(lease_id)
        .bind(&l.limit.id)
        .fetch_optional(&mut **tx)
        .await?;
        let (old_rpm, old_tpm) = mine.map_or((0, 0), |(r, t)| (r, t.unwrap_or(0)));
        // Wants in the limit's first unit; an instance that names none asks for an equal
        // share.
        let live = others_live + 1;
        let equal = l.limit.rpm.or(l.limit.tpm).unwrap_or(1) / live;
        let asked = ask.want.get(&l.limit.id).copied();
        let want = asked.unwrap_or(equal).max(1);
        let total_want = others_want.max(0) + want;
        let (rpm, tpm) = limit_shares(
            l.limit.rpm.map(|lim| (lim, lim - others_rpm - cool_rpm)),
            l.limit.tpm.map(|lim| (lim, lim - others_tpm - cool_tpm)),
            want,
            total_want,
            asked.is_some(),
        );
        let (new_rpm, new_tpm) = (rpm.unwrap_or(0), tpm.unwrap_or(0));
        let (gave_rpm, gave_tpm) = ((old_rpm - new_rpm).max(0), (old_tpm - new_tpm).max(0));
        if gave_rpm > 0 || gave_tpm > 0 {
            let until = prior_expiry.max(now) + settings.window_ms;
            cool(tx, &l.limit.id, gave_rpm, gave_tpm, until).await?;
        }
        sqlx::query(
            "INSERT INTO lease_slices (lease_id, subject_id, tenant_id, period_start, period_end, \
             granted, granted_tpm, used, ingested, want) VALUES ($1, $2, $3, 0, 0, $4, $5, 0, 0, $6) \
             ON CONFLICT (lease_id, subject_id, period_start) DO UPDATE SET \
             granted = excluded.granted, granted_tpm = excluded.granted_tpm, want = excluded.want",
        )
        .bind(lease_id)
        .bind(&l.limit.id)
        .bind(&self.tenant_id)
        .bind(new_rpm)
        .bind(new_tpm)
        .bind(want)
        .execute(&mut **tx)
        .await?;
        Ok(LimitSlice {
            id: l.limit.id.clone(),
            name: l.limit.name.clone(),
            scope: l.scope.kind.clone(),
            model: (l.scope.kind == SliceScope::Model)
                .then(|| l.scope.reference.clone())
                .flatten(),
            rpm: rpm.map(|r| r.max(0) as u64),
            tpm: tpm.map(|t| t.max(0) as u64),
            on_server_down: parse_policy("on_server_down", Some(&l.limit.on_server_down))?,
        })
    }

    /// Ends `lease_id` of `app_id` at once: the final `used` per budget slice is recorded
    /// (its unspent part is free again), and its rate shares start their cooling window.
    /// Returning a lease already returned changes nothing.
    pub async fn return_lease(
        &self,
        app_id: &str,
        lease_id: &str,
        used: &[SliceUse],
        settings: LeaseSettings,
    ) -> Result<()> {
        let _guard = self.db.sqlite_writer().await;
        let mut tx = self.db.pool.begin().await?;
        let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT app_id, expires_at, returned_at FROM leases WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(lease_id)
        .fetch_optional(&mut *tx)
        .await?;
        let expires = match row {
            Some((app, expires, None)) if app == app_id => expires,
            Some((app, _, Some(_))) if app == app_id => return Ok(()),
            _ => return Err(StoreError::NotFound),
        };
        let now = now_ms();
        for u in used {
            sqlx::query(
                "UPDATE lease_slices SET used = $1 WHERE lease_id = $2 AND subject_id = $3 \
                 AND period_end > $4",
            )
            .bind((u.amount * 1e6).round() as i64)
            .bind(lease_id)
            .bind(&u.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        // Slices of budgets not named used nothing more than was ingested.
        let named: Vec<&str> = used.iter().map(|u| u.id.as_str()).collect();
        let unnamed: Vec<(String, i64)> = sqlx::query_as(
            "SELECT subject_id, period_start FROM lease_slices WHERE lease_id = $1 AND period_end > 0",
        )
        .bind(lease_id)
        .fetch_all(&mut *tx)
        .await?;
        for (subject, start) in unnamed {
            if !named.contains(&subject.as_str()) {
                sqlx::query(
                    "UPDATE lease_slices SET used = ingested WHERE lease_id = $1 AND subject_id = $2 AND period_start = $3",
                )
                .bind(lease_id)
                .bind(&subject)
                .bind(start)
                .execute(&mut *tx)
                .await?;
            }
        }
        // Rate shares: usable until now (or until the lease expired), then one window.
        let until = now.min(expires) + settings.window_ms;
        let shares: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT subject_id, granted, granted_tpm FROM lease_slices WHERE lease_id = $1 AND period_end = 0",
        )
        .bind(lease_id)
        .fetch_all(&mut *tx)
        .await?;
        for (limit, rpm, tpm) in shares {
            cool(&mut tx, &limit, rpm, tpm.unwrap_or(0), until).await?;
        }
        sqlx::query("UPDATE leases SET returned_at = $1 WHERE id = $2")
            .bind(now)
            .bind(lease_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl TenantStore<'_> {
    /// Of `ids`, the leases that are `app_id`'s: usage naming any other is refused.
    pub async fn app_leases(&self, app_id: &str, ids: &[String]) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT id FROM leases WHERE tenant_id = $1 AND app_id = $2 AND id IN ({})",
            params(3, ids.len())
        );
        let mut q = sqlx::query_as::<_, (String,)>(&sql)
            .bind(&self.tenant_id)
            .bind(app_id);
        for id in ids {
            q = q.bind(id);
        }
        Ok(q.fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }

    /// Adds the cost of `events` newly stored with a lease to that lease's budget slices
    /// they count toward (a model-scoped one only for its model), in the period of the
    /// event's time: part of the ingestion's transaction.
    pub(crate) async fn charge_slices(
        &self,
        tx: &mut Transaction<'static, Any>,
        events: &[CheckedEvent],
    ) -> Result<()> {
        // Summed by lease, model and minute: periods start on a minute.
        let mut sums: BTreeMap<(&str, &str, i64), i64> = BTreeMap::new();
        for e in events.iter().filter(|e| e.cost_micros > 0) {
            if let Some(lease) = &e.lease {
                let minute = e.time_ms - e.time_ms.rem_euclid(60_000);
                *sums.entry((lease, &e.model, minute)).or_default() += e.cost_micros;
            }
        }
        for ((lease, model, minute), cost) in sums {
            sqlx::query(
                "UPDATE lease_slices SET ingested = ingested + $1 WHERE lease_id = $2 \
                 AND period_start <= $3 AND period_end > $4 AND subject_id IN \
                 (SELECT id FROM budgets WHERE tenant_id = $5 AND (scope_kind <> 'model' OR scope_ref = $6))",
            )
            .bind(cost)
            .bind(lease)
            .bind(minute)
            .bind(minute)
            .bind(&self.tenant_id)
            .bind(model)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Deletes leases (with their slices) that ended before `before_ms`, and rate shares
    /// whose cooling is over. Leases are kept as long as raw usage is: a usage event names
    /// its lease, and one naming an unknown lease is refused.
    pub async fn prune_leases(&self, before_ms: i64) -> Result<u64> {
        let _guard = self.db.sqlite_writer().await;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM rate_cooling WHERE until_ms < $1")
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM lease_slices WHERE lease_id IN \
             (SELECT id FROM leases WHERE expires_at < $1)",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM leases WHERE expires_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

async fn cool(
    tx: &mut Transaction<'static, Any>,
    limit_id: &str,
    rpm: i64,
    tpm: i64,
    until: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO rate_cooling (limit_id, rpm, tpm, until_ms) VALUES ($1, $2, $3, $4)")
        .bind(limit_id)
        .bind(rpm)
        .bind(tpm)
        .bind(until)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
