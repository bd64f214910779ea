//! Per-tenant price overrides: USD per million tokens of an upstream model, set by the
//! resource manager and written into every deployment of that model in the config the
//! tenant's SDKs receive (`crate::resolve`).

use serde::{Deserialize, Serialize};

use super::{AuditCtx, AuditEntry, Result, StoreError, TenantStore, check_name};
use crate::util::now_ms;

/// The highest price accepted, USD per million tokens.
pub const MAX_PRICE_USD: f64 = 1e6;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PriceOverride {
    pub model: String,
    /// USD per million input tokens.
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens; absent: `input`.
    pub cached_input: Option<f64>,
    pub updated_at: i64,
}

/// The body of `PUT /api/v1/prices/{model}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    #[schema(minimum = 0.0, maximum = 1e6)]
    pub input: f64,
    #[schema(minimum = 0.0, maximum = 1e6)]
    pub output: f64,
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1e6)]
    pub cached_input: Option<f64>,
}

fn micros(field: &str, usd: f64) -> Result<i64> {
    if !usd.is_finite() || !(0.0..=MAX_PRICE_USD).contains(&usd) {
        return Err(StoreError::invalid(
            field,
            format!("must be a number of USD per million tokens between 0 and {MAX_PRICE_USD}"),
        ));
    }
    Ok((usd * 1e6).round() as i64)
}

type Row = (String, i64, i64, Option<i64>, i64);

fn from_row((model, input, output, cached, updated_at): Row) -> PriceOverride {
    PriceOverride {
        model,
        input: input as f64 / 1e6,
        output: output as f64 / 1e6,
        cached_input: cached.map(|c| c as f64 / 1e6),
        updated_at,
    }
}

impl TenantStore<'_> {
    pub async fn list_prices(&self) -> Result<Vec<PriceOverride>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT upstream_model, input_micros_per_m, output_micros_per_m, \
             cached_input_micros_per_m, updated_at FROM price_overrides WHERE tenant_id = $1 \
             ORDER BY upstream_model",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn set_price(
        &self,
        ctx: &AuditCtx,
        model: &str,
        p: PriceInput,
    ) -> Result<PriceOverride> {
        check_name("model", model)?;
        let input = micros("input", p.input)?;
        let output = micros("output", p.output)?;
        let cached = p
            .cached_input
            .map(|c| micros("cached_input", c))
            .transpose()?;
        let now = now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO price_overrides (tenant_id, upstream_model, input_micros_per_m, \
             output_micros_per_m, cached_input_micros_per_m, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, upstream_model) DO UPDATE SET \
             input_micros_per_m = excluded.input_micros_per_m, \
             output_micros_per_m = excluded.output_micros_per_m, \
             cached_input_micros_per_m = excluded.cached_input_micros_per_m, \
             updated_at = excluded.updated_at",
        )
        .bind(&self.tenant_id)
        .bind(model)
        .bind(input)
        .bind(output)
        .bind(cached)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        let price = from_row((model.to_owned(), input, output, cached, now));
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "price.set", model).states(
                None,
                Some(&serde_json::to_value(&price).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(price)
    }

    pub async fn delete_price(&self, ctx: &AuditCtx, model: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let done =
            sqlx::query("DELETE FROM price_overrides WHERE tenant_id = $1 AND upstream_model = $2")
                .bind(&self.tenant_id)
                .bind(model)
                .execute(&mut *tx.tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.audit(AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            "price.delete",
            model,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
