//! The queries behind the usage and cost reports. They read the per-minute rollups only,
//! with one exception: grouping or filtering by tag reads the raw events (tags are not
//! rolled up), so it covers the raw retention period only (`--usage-retention-days`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{Result, StoreError, TenantStore};
use crate::usage::histogram::{BUCKETS, bucket};

/// A dimension usage is grouped or filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Department,
    App,
    Model,
    Deployment,
    Provider,
    Tag,
}

impl Dimension {
    /// The column of both usage tables (none for tags).
    fn column(self) -> Option<&'static str> {
        match self {
            Dimension::Department => Some("department_id"),
            Dimension::App => Some("app_id"),
            Dimension::Model => Some("model"),
            Dimension::Deployment => Some("deployment"),
            Dimension::Provider => Some("provider"),
            Dimension::Tag => None,
        }
    }
}

/// Which usage a report covers.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    /// `[from, to)`, Unix milliseconds.
    pub from_ms: i64,
    pub to_ms: i64,
    /// Only these departments (the caller's scope and the `department` filter, subtrees
    /// already expanded); `None`: the whole tenant.
    pub departments: Option<Vec<String>>,
    pub app: Option<String>,
    pub model: Option<String>,
    pub deployment: Option<String>,
    pub provider: Option<String>,
    pub tag: Option<String>,
    /// Only this user's calls (raw events: rollups have no user).
    pub user: Option<String>,
}

/// The sums of some calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageSums {
    pub calls: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost_micros: i64,
    pub cache_hits: i64,
    pub local_calls: i64,
    pub latency_us_sum: i64,
    pub latency: [i64; BUCKETS],
}

impl UsageSums {
    pub fn add(&mut self, o: &UsageSums) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.cached_tokens += o.cached_tokens;
        self.cost_micros += o.cost_micros;
        self.cache_hits += o.cache_hits;
        self.local_calls += o.local_calls;
        self.latency_us_sum += o.latency_us_sum;
        for (a, b) in self.latency.iter_mut().zip(o.latency) {
            *a += b;
        }
    }

    fn from_values(v: &[i64]) -> UsageSums {
        let mut latency = [0; BUCKETS];
        latency.copy_from_slice(&v[9..9 + BUCKETS]);
        UsageSums {
            calls: v[0],
            errors: v[1],
            prompt_tokens: v[2],
            completion_tokens: v[3],
            cached_tokens: v[4],
            cost_micros: v[5],
            cache_hits: v[6],
            local_calls: v[7],
            latency_us_sum: v[8],
            latency,
        }
    }
}

/// One group in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// The bucket's start, Unix milliseconds.
    pub bucket: i64,
    /// The group's value (`""` when not grouped, or for an event without tags).
    pub group: String,
    pub sums: UsageSums,
}

/// A department as the reports need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentNode {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
}

/// `$n, $n+1, …` for `count` values from `$first`.
fn list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The WHERE clause shared by both tables past tenant and time, and its values in order
/// (placeholders from `$first`).
fn conditions(f: &UsageFilter, first: usize) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values: Vec<String> = Vec::new();
    if let Some(deps) = &f.departments {
        if deps.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            sql.push_str(&format!(
                " AND department_id IN ({})",
                list(first + values.len(), deps.len())
            ));
            values.extend(deps.iter().cloned());
        }
    }
    for (column, value) in [
        ("app_id", &f.app),
        ("model", &f.model),
        ("deployment", &f.deployment),
        ("provider", &f.provider),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ${}", first + values.len()));
            values.push(v.clone());
        }
    }
    (sql, values)
}

/// `sql` with the tenant, the range and the filter's `values` bound, in that order.
fn filtered<'q>(
    sql: &'q str,
    tenant_id: &'q str,
    f: &UsageFilter,
    values: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql)
        .bind(tenant_id)
        .bind(f.from_ms)
        .bind(f.to_ms);
    for v in values {
        q = q.bind(v.as_str());
    }
    q
}

/// `CAST(SUM(calls) AS BIGINT), …`: the summed rollup columns, as integers on both
/// engines (PostgreSQL sums BIGINT to NUMERIC).
fn sum_select() -> String {
    super::usage::SUM_COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sums [`sum_select`] selected, from column `first` of `row`.
fn read_sums(row: &sqlx::any::AnyRow, first: usize) -> Result<UsageSums> {
    use sqlx::Row;
    let mut v = Vec::with_capacity(super::usage::SUM_COLUMNS.len());
    for i in 0..super::usage::SUM_COLUMNS.len() {
        v.push(row.try_get::<Option<i64>, _>(first + i)?.unwrap_or(0));
    }
    Ok(UsageSums::from_values(&v))
}

impl TenantStore<'_> {
    /// Usage in `step_ms` buckets from `f.from_ms`, grouped by `group` (or not).
    pub async fn usage_rows(
        &self,
        f: &UsageFilter,
        step_ms: i64,
        group: Option<Dimension>,
    ) -> Result<Vec<UsageRow>> {
        if step_ms <= 0 {
            return Err(StoreError::invalid("step", "must be positive"));
        }
        if group == Some(Dimension::Tag) || f.tag.is_some() || f.user.is_some() {
            return self.usage_rows_raw(f, step_ms, group).await;
        }
        let group_sql = group.and_then(Dimension::column).unwrap_or("''");
        let sums = sum_select();
        let (cond, values) = conditions(f, 4);
        let step = 4 + values.len();
        let sql = format!(
            "SELECT (minute - $2) / ${step} AS b, {group_sql} AS g, {sums} FROM usage_minute \
             WHERE tenant_id = $1 AND minute >= $2 AND minute < $3{cond} \
             GROUP BY 1, 2 ORDER BY 1, 2"
        );
        let rows = filtered(&sql, &self.tenant_id, f, &values)
            .bind(step_ms)
            .fetch_all(&self.db.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            use sqlx::Row;
            let b: i64 = row.try_get(0)?;
            let g: String = row.try_get(1)?;
            out.push(UsageRow {
                bucket: f.from_ms + b * step_ms,
                group: g,
                sums: read_sums(&row, 2)?,
            });
        }
        Ok(out)
    }

    /// The same from raw events: for tags, within the retention period.
    async fn usage_rows_raw(
        &self,
        f: &UsageFilter,
        step_ms: i64,
        group: Option<Dimension>,
    ) -> Result<Vec<UsageRow>> {
        let (mut cond, mut values) = conditions(f, 4);
        if let Some(user) = &f.user {
            cond.push_str(&format!(" AND user_id = ${}", 4 + values.len()));
            values.push(user.clone());
        }
        let sql = format!(
            "SELECT time_ms, department_id, app_id, model, deployment, provider, tags, \
             prompt_tokens, completion_tokens, cached_tokens, cost_micros, latency_us, \
             error_code, cache_hit, local FROM usage_events \
             WHERE tenant_id = $1 AND time_ms >= $2 AND time_ms < $3{cond}"
        );
        let rows = filtered(&sql, &self.tenant_id, f, &values)
            .fetch_all(&self.db.pool)
            .await?;
        let mut groups: BTreeMap<(i64, String), UsageSums> = BTreeMap::new();
        for row in rows {
            use sqlx::Row;
            let time_ms: i64 = row.try_get(0)?;
            let tags: String = row.try_get(6)?;
            let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
            if f.tag.as_ref().is_some_and(|t| !tags.contains(t)) {
                continue;
            }
            let latency_us: i64 = row.try_get(11)?;
            let mut one = UsageSums {
                calls: 1,
                errors: i64::from(row.try_get::<Option<String>, _>(12)?.is_some()),
                prompt_tokens: row.try_get(7)?,
                completion_tokens: row.try_get(8)?,
                cached_tokens: row.try_get(9)?,
                cost_micros: row.try_get(10)?,
                cache_hits: row.try_get(13)?,
                local_calls: row.try_get(14)?,
                latency_us_sum: latency_us,
                latency: [0; BUCKETS],
            };
            one.latency[bucket(latency_us as f64 / 1000.0)] = 1;
            let column = |i: usize| row.try_get::<String, _>(i);
            let b = f.from_ms + (time_ms - f.from_ms).div_euclid(step_ms) * step_ms;
            let keys: Vec<String> = match group {
                None => vec![String::new()],
                Some(Dimension::Department) => vec![column(1)?],
                Some(Dimension::App) => vec![column(2)?],
                Some(Dimension::Model) => vec![column(3)?],
                Some(Dimension::Deployment) => vec![column(4)?],
                Some(Dimension::Provider) => vec![column(5)?],
                Some(Dimension::Tag) if tags.is_empty() => vec![String::new()],
                Some(Dimension::Tag) => tags,
            };
            for k in keys {
                groups.entry((b, k)).or_default().add(&one);
            }
        }
        Ok(groups
            .into_iter()
            .map(|((bucket, group), sums)| UsageRow {
                bucket,
                group,
                sums,
            })
            .collect())
    }

    /// Usage over the whole range grouped by `dims` (rollup columns, not tags): each
    /// group's values in the order of `dims`, and its sums.
    pub async fn usage_grouped(
        &self,
        f: &UsageFilter,
        dims: &[Dimension],
    ) -> Result<Vec<(Vec<String>, UsageSums)>> {
        let columns: Vec<&str> = dims.iter().filter_map(|d| d.column()).collect();
        if columns.is_empty() || columns.len() != dims.len() {
            return Err(StoreError::invalid("group_by", "must name rollup columns"));
        }
        let columns = columns.join(", ");
        let sums = sum_select();
        let (cond, values) = conditions(f, 4);
        let sql = format!(
            "SELECT {columns}, {sums} FROM usage_minute \
             WHERE tenant_id = $1 AND minute >= $2 AND minute < $3{cond} \
             GROUP BY {columns} ORDER BY {columns}"
        );
        let rows = filtered(&sql, &self.tenant_id, f, &values)
            .fetch_all(&self.db.pool)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            use sqlx::Row;
            let mut key = Vec::with_capacity(dims.len());
            for i in 0..dims.len() {
                key.push(row.try_get::<String, _>(i)?);
            }
            out.push((key, read_sums(&row, dims.len())?));
        }
        Ok(out)
    }

    /// Calls of the range that look like repeats: the same app, model, user and prompt
    /// token count as another call in the same minute, not served from the cache. Events
    /// carry no request hash, so this is an estimate from the raw events (within
    /// retention): (app, model, calls in such groups, their cost, groups).
    pub async fn repeated_requests(
        &self,
        f: &UsageFilter,
    ) -> Result<Vec<(String, String, i64, i64, i64)>> {
        let (cond, values) = conditions(f, 4);
        let sql = format!(
            "SELECT app_id, model, CAST(SUM(n) AS BIGINT), CAST(SUM(cost) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) FROM (\
               SELECT app_id, model, COUNT(*) AS n, SUM(cost_micros) AS cost FROM usage_events \
               WHERE tenant_id = $1 AND time_ms >= $2 AND time_ms < $3 AND cache_hit = 0{cond} \
               GROUP BY app_id, model, user_id, prompt_tokens, time_ms / 60000 \
               HAVING COUNT(*) > 1) AS r \
             GROUP BY app_id, model ORDER BY 1, 2"
        );
        let mut q = sqlx::query_as::<_, (String, String, i64, i64, i64)>(&sql)
            .bind(&self.tenant_id)
            .bind(f.from_ms)
            .bind(f.to_ms);
        for v in &values {
            q = q.bind(v);
        }
        Ok(q.fetch_all(&self.db.pool).await?)
    }

    /// Every department of the tenant.
    pub async fn department_nodes(&self) -> Result<Vec<DepartmentNode>> {
        let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT id, parent_id, name FROM departments WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, parent_id, name)| DepartmentNode {
                id,
                parent_id,
                name,
            })
            .collect())
    }

    /// App id -> (name, department id), deleted apps excluded.
    pub async fn app_directory(&self) -> Result<HashMap<String, (String, String)>> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, department_id FROM apps WHERE tenant_id = $1")
                .bind(&self.tenant_id)
                .fetch_all(&self.db.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, dep)| (id, (name, dep)))
            .collect())
    }
}
