//! Usage ingestion: raw events stored once each, and the per-minute rollups updated in
//! the same transaction from the rows actually inserted, so a replay counts nothing twice.
//!
//! Why not [`WriteTx`](super::WriteTx): usage is not an audited admin change, and an audit
//! record per batch would grow the hash chain with every SDK flush. On SQLite, which has
//! one writer at a time, ingestion still queues on the process's writer lock (a fair FIFO)
//! instead of racing admin writes through SQLite's busy-wait, so a stream of batches
//! cannot starve an admin write: each waits at most for the batches queued before it. It
//! never touches the audit head row. On PostgreSQL it takes no lock: raw rows are new keys,
//! and rollup rows are upserted in one sorted order, so concurrent batches (replays of one
//! batch included) wait on each other's rows without deadlock and admin writes, which touch
//! none of these tables, never wait on them.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::{Any, Transaction};

use super::call_logs::insert_call_logs;
use super::{Result, Store, TenantStore};
use crate::call_logs::intake::NewCallLog;
use crate::db::Backend;
use crate::usage::histogram::{BUCKETS, bucket};
use crate::usage::validate::{CheckedEvent, Sender};
use crate::util::now_ms;

/// Rows per INSERT statement: 28 parameters a row stays under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 400;

const EVENT_COLUMNS: &str = "id, tenant_id, department_id, app_id, time_ms, received_at, \
    user_id, model, deployment, provider, upstream_model, prompt_tokens, completion_tokens, \
    cached_tokens, cost_micros, latency_us, ttft_us, error_code, cache_hit, local, stream, \
    attempts, fallbacks, fallback, arm, tags, metadata, lease_id";
const EVENT_PARAMS: usize = 28;

/// The key of a rollup row, less the tenant, department and app (one per batch): the
/// minute and the table's own key columns' values ([`Rollup::keys`]).
type MinuteKey = (i64, Vec<String>);

/// A per-minute rollup table: its name and the key columns after tenant, minute,
/// department and app.
struct Rollup {
    table: &'static str,
    keys: &'static [&'static str],
}

/// Per model, deployment and provider: the usage reports'.
const BY_DEPLOYMENT: Rollup = Rollup {
    table: "usage_minute",
    keys: &["model", "deployment", "provider"],
};

/// Per model and rollout arm, for events that have one: the A/B report's series.
const BY_ARM: Rollup = Rollup {
    table: "usage_arm_minute",
    keys: &["model", "arm"],
};

/// The sums of one rollup row.
#[derive(Debug, Default, Clone)]
struct MinuteSums {
    calls: i64,
    errors: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cached_tokens: i64,
    cost_micros: i64,
    cache_hits: i64,
    local_calls: i64,
    latency_us_sum: i64,
    latency: [i64; BUCKETS],
}

/// The summed columns of `usage_minute`, in the order [`MinuteSums::values`] gives them.
pub(crate) const SUM_COLUMNS: [&str; 21] = [
    "calls",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_micros",
    "cache_hits",
    "local_calls",
    "latency_us_sum",
    "lat_0",
    "lat_1",
    "lat_2",
    "lat_3",
    "lat_4",
    "lat_5",
    "lat_6",
    "lat_7",
    "lat_8",
    "lat_9",
    "lat_10",
    "lat_11",
];

impl MinuteSums {
    fn add(&mut self, e: &CheckedEvent) {
        self.calls += 1;
        self.errors += i64::from(e.error_code.is_some());
        self.prompt_tokens += e.prompt_tokens;
        self.completion_tokens += e.completion_tokens;
        self.cached_tokens += e.cached_tokens;
        self.cost_micros += e.cost_micros;
        self.cache_hits += i64::from(e.cache_hit);
        self.local_calls += i64::from(e.local);
        self.latency_us_sum += e.latency_us;
        self.latency[bucket(e.latency_us as f64 / 1000.0)] += 1;
    }

    fn values(&self) -> impl Iterator<Item = i64> + '_ {
        [
            self.calls,
            self.errors,
            self.prompt_tokens,
            self.completion_tokens,
            self.cached_tokens,
            self.cost_micros,
            self.cache_hits,
            self.local_calls,
            self.latency_us_sum,
        ]
        .into_iter()
        .chain(self.latency.iter().copied())
    }
}

/// What one batch did to the store.
#[derive(Debug, Default)]
pub struct Ingested {
    /// The events stored by this batch.
    pub inserted: Vec<CheckedEvent>,
    /// Events whose id was already stored (or repeated within the batch).
    pub duplicates: u64,
}

/// The identity a key proves, for [`crate::usage::validate`].
impl TenantStore<'_> {
    pub async fn usage_sender(&self, app_id: &str) -> Result<Sender> {
        let (tenant_name, department_id, app_name): (String, String, String) = sqlx::query_as(
            "SELECT t.name, a.department_id, a.name FROM apps a JOIN tenants t ON t.id = a.tenant_id \
             WHERE a.tenant_id = $1 AND a.id = $2",
        )
        .bind(&self.tenant_id)
        .bind(app_id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(Sender {
            tenant_id: self.tenant_id.clone(),
            tenant_name,
            department_id,
            app_id: app_id.to_owned(),
            app_name,
        })
    }

    /// Stores `events` from `sender` in one transaction: raw rows new by id, and the
    /// rollups of those rows only. Returns once committed.
    pub async fn ingest_usage(
        &self,
        sender: &Sender,
        events: Vec<CheckedEvent>,
    ) -> Result<Ingested> {
        self.ingest_usage_logged(sender, events, &HashMap::new())
            .await
    }

    /// [`TenantStore::ingest_usage`], with the content of the events that have some stored
    /// beside them (`logs`, by event id) for the events new in this batch only.
    pub async fn ingest_usage_logged(
        &self,
        sender: &Sender,
        mut events: Vec<CheckedEvent>,
        logs: &HashMap<String, NewCallLog>,
    ) -> Result<Ingested> {
        // One order for every writer: concurrent batches lock rows in the same sequence.
        events.sort_by(|a, b| a.id.cmp(&b.id));
        let before = events.len();
        events.dedup_by(|a, b| a.id == b.id);
        let mut duplicates = (before - events.len()) as u64;
        if events.is_empty() {
            return Ok(Ingested {
                inserted: Vec::new(),
                duplicates,
            });
        }
        let _guard = self.db.sqlite_writer().await;
        let mut tx = self.db.pool.begin().await?;
        let received_at = now_ms();
        let mut new_ids: HashSet<String> = HashSet::with_capacity(events.len());
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            new_ids
                .extend(insert_events(&mut tx, self.db.backend, sender, chunk, received_at).await?);
        }
        let (inserted, replayed): (Vec<CheckedEvent>, Vec<CheckedEvent>) =
            events.into_iter().partition(|e| new_ids.contains(&e.id));
        duplicates += replayed.len() as u64;
        let mut minutes: BTreeMap<MinuteKey, MinuteSums> = BTreeMap::new();
        let mut arms: BTreeMap<MinuteKey, MinuteSums> = BTreeMap::new();
        for e in &inserted {
            let minute = e.time_ms - e.time_ms.rem_euclid(60_000);
            let key = vec![e.model.clone(), e.deployment.clone(), e.provider.clone()];
            minutes.entry((minute, key)).or_default().add(e);
            if let Some(arm) = &e.arm {
                let key = vec![e.model.clone(), arm.clone()];
                arms.entry((minute, key)).or_default().add(e);
            }
        }
        for (rollup, rows) in [(BY_DEPLOYMENT, minutes), (BY_ARM, arms)] {
            let rows: Vec<(MinuteKey, MinuteSums)> = rows.into_iter().collect();
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                upsert_minutes(&mut tx, self.db.backend, sender, &rollup, chunk).await?;
            }
        }
        self.charge_slices(&mut tx, &inserted).await?;
        if !logs.is_empty() {
            insert_call_logs(
                &mut tx,
                self.db.backend,
                sender,
                &inserted,
                logs,
                received_at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Ingested {
            inserted,
            duplicates,
        })
    }
}

/// `($1, …, $n), ($n+1, …)`: `rows` tuples of `per_row` placeholders. On SQLite the
/// anonymous `?` instead: SQLite looks a numbered parameter's name up by a linear scan, so
/// binding n of them costs n², which at 10,000 parameters a statement took three quarters
/// of the ingestion time.
pub(crate) fn placeholders(backend: Backend, rows: usize, per_row: usize) -> String {
    let mut out = String::with_capacity(rows * per_row * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..per_row {
            if c > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(r * per_row + c + 1).to_string());
                }
            }
        }
        out.push(')');
    }
    out
}

/// An INSERT … RETURNING id of one call per row.
pub(super) type CallInsert<'q> =
    sqlx::query::QueryAs<'q, Any, (String,), sqlx::any::AnyArguments<'q>>;

/// Binds the columns every per-call row starts with: `id, tenant_id, department_id,
/// app_id, time_ms, received_at, user_id, model, deployment, provider`.
pub(super) fn bind_call<'q>(
    q: CallInsert<'q>,
    sender: &'q Sender,
    e: &'q CheckedEvent,
    received_at: i64,
) -> CallInsert<'q> {
    q.bind(e.id.as_str())
        .bind(sender.tenant_id.as_str())
        .bind(sender.department_id.as_str())
        .bind(sender.app_id.as_str())
        .bind(e.time_ms)
        .bind(received_at)
        .bind(e.user.as_deref())
        .bind(e.model.as_str())
        .bind(e.deployment.as_str())
        .bind(e.provider.as_str())
}

/// Inserts the rows whose id is new; returns their ids.
async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    sender: &Sender,
    chunk: &[CheckedEvent],
    received_at: i64,
) -> Result<Vec<String>> {
    let sql = format!(
        "INSERT INTO usage_events ({EVENT_COLUMNS}) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
        placeholders(backend, chunk.len(), EVENT_PARAMS)
    );
    // Not kept prepared: each row count is another statement, and a connection's cache of
    // a hundred of them (megabytes each at 400 rows) held most of a loaded server's heap.
    let mut q = sqlx::query_as::<_, (String,)>(&sql).persistent(false);
    for e in chunk {
        q = bind_call(q, sender, e, received_at)
            .bind(e.upstream_model.as_deref())
            .bind(e.prompt_tokens)
            .bind(e.completion_tokens)
            .bind(e.cached_tokens)
            .bind(e.cost_micros)
            .bind(e.latency_us)
            .bind(e.ttft_us)
            .bind(e.error_code.as_deref())
            .bind(i64::from(e.cache_hit))
            .bind(i64::from(e.local))
            .bind(i64::from(e.stream))
            .bind(e.attempts)
            .bind(e.fallbacks)
            .bind(e.fallback.as_deref())
            .bind(e.arm.as_deref())
            .bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()))
            .bind(serde_json::to_string(&e.metadata).unwrap_or_else(|_| "{}".into()))
            .bind(e.lease.as_deref());
    }
    let rows = q.fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

async fn upsert_minutes(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    sender: &Sender,
    rollup: &Rollup,
    chunk: &[(MinuteKey, MinuteSums)],
) -> Result<()> {
    let Rollup { table, keys } = rollup;
    let sums = SUM_COLUMNS.join(", ");
    let keys = keys.join(", ");
    let updates: Vec<String> = SUM_COLUMNS
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO {table} (tenant_id, minute, department_id, app_id, {keys}, {sums}) \
         VALUES {} ON CONFLICT (tenant_id, minute, department_id, app_id, {keys}) \
         DO UPDATE SET {}",
        placeholders(
            backend,
            chunk.len(),
            4 + rollup.keys.len() + SUM_COLUMNS.len()
        ),
        updates.join(", ")
    );
    // Not kept prepared, like the events' insert.
    let mut q = sqlx::query(&sql).persistent(false);
    for ((minute, key), s) in chunk {
        q = q
            .bind(sender.tenant_id.as_str())
            .bind(*minute)
            .bind(sender.department_id.as_str())
            .bind(sender.app_id.as_str());
        for k in key {
            q = q.bind(k.as_str());
        }
        for v in s.values() {
            q = q.bind(v);
        }
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Raw events deleted per statement when pruning: each deletion is short, so ingestion
/// and admin writes queued behind it wait little.
const PRUNE_ROWS: i64 = 5000;

impl Store {
    /// Deletes raw events stamped before `before_ms` (the rollups stay), a slice at a
    /// time. Returns how many.
    pub async fn prune_usage(&self, before_ms: i64) -> Result<u64> {
        self.delete_in_slices("usage_events", "time_ms", before_ms)
            .await
    }

    /// Deletes the rows of `table` whose `column` is before `before`, [`PRUNE_ROWS`] per
    /// statement, each on the SQLite writer lock. Returns how many.
    pub(super) async fn delete_in_slices(
        &self,
        table: &str,
        column: &str,
        before: i64,
    ) -> Result<u64> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < $1 LIMIT $2)"
        );
        let mut total = 0;
        loop {
            let _guard = self.db.sqlite_writer().await;
            let done = sqlx::query(&sql)
                .bind(before)
                .bind(PRUNE_ROWS)
                .execute(&self.db.pool)
                .await?;
            total += done.rows_affected();
            if done.rows_affected() < PRUNE_ROWS as u64 {
                return Ok(total);
            }
        }
    }
}
