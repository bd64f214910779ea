//! `switchyard budget …` and `switchyard price …`: server-side budgets (with their state
//! this period) and price overrides, with the database's own authority, audited as the CLI.

use clap::Subcommand;

use super::{CliError, cli_actor, open, print_json, tenant_id};
use crate::store::{BudgetInput, Page, PriceInput, Store, StoreError, TenantStore};

#[derive(Subcommand, Debug)]
pub enum BudgetCommand {
    /// The tenant's budgets (JSON).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// One budget and its state: spent, reserved by leases, remaining, the period's end.
    Show {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// A new budget; prints it (JSON).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// tenant, department, app or model.
        #[arg(long)]
        scope: String,
        /// The department id, app id or logical model name (none for tenant).
        #[arg(long)]
        scope_ref: Option<String>,
        /// day, week or month (in the tenant's time zone).
        #[arg(long)]
        period: String,
        #[arg(long)]
        amount_usd: f64,
        /// hard or soft.
        #[arg(long, default_value = "hard")]
        mode: String,
        #[arg(long)]
        reroute_to: Option<String>,
        /// deny (default), local or allow.
        #[arg(long)]
        on_server_down: Option<String>,
    },
    Delete {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// The tenant's time zone (an IANA name such as Europe/Paris; UTC until set): budget
    /// days, weeks and months start at its midnight.
    TimeZone {
        #[arg(long)]
        tenant: String,
        zone: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PriceCommand {
    /// The tenant's price overrides (JSON).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Sets the price of an upstream model, USD per million tokens.
    Set {
        #[arg(long)]
        tenant: String,
        model: String,
        #[arg(long)]
        input: f64,
        #[arg(long)]
        output: f64,
        #[arg(long)]
        cached_input: Option<f64>,
    },
    Delete {
        #[arg(long)]
        tenant: String,
        model: String,
    },
}

/// A store refusal said as a usage error naming the field.
fn refused(e: StoreError) -> CliError {
    match e {
        StoreError::Invalid { field, message } => CliError::Usage(format!("{field}: {message}")),
        StoreError::NotFound => CliError::Usage("not found".into()),
        other => other.into(),
    }
}

/// The tenant named `name`'s store.
async fn scoped<'a>(store: &'a Store, name: &str) -> Result<TenantStore<'a>, CliError> {
    Ok(store.tenant(&tenant_id(store, name).await?))
}

pub async fn budgets(url: &str, cmd: BudgetCommand, grace_ms: i64) -> Result<(), CliError> {
    let store = open(url).await?;
    let actor = cli_actor();
    match cmd {
        BudgetCommand::List { tenant } => {
            let page = Page {
                limit: 500,
                offset: 0,
            };
            print_json(&scoped(&store, &tenant).await?.list_budgets(page).await?);
        }
        BudgetCommand::Show { tenant, id } => {
            let t = scoped(&store, &tenant).await?;
            print_json(&t.get_budget(&id, grace_ms).await.map_err(refused)?);
        }
        BudgetCommand::Create {
            tenant,
            name,
            scope,
            scope_ref,
            period,
            amount_usd,
            mode,
            reroute_to,
            on_server_down,
        } => {
            let input = BudgetInput {
                name,
                scope,
                scope_ref,
                period,
                amount_usd,
                mode,
                reroute_to,
                on_server_down,
            };
            let t = scoped(&store, &tenant).await?;
            print_json(&t.create_budget(&actor, input).await.map_err(refused)?);
        }
        BudgetCommand::Delete { tenant, id } => {
            let t = scoped(&store, &tenant).await?;
            t.delete_budget(&actor, &id).await.map_err(refused)?;
        }
        BudgetCommand::TimeZone { tenant, zone } => {
            let t = scoped(&store, &tenant).await?;
            t.set_time_zone(&actor, &zone).await.map_err(refused)?;
        }
    }
    Ok(())
}

pub async fn prices(url: &str, cmd: PriceCommand) -> Result<(), CliError> {
    let store = open(url).await?;
    let actor = cli_actor();
    match cmd {
        PriceCommand::List { tenant } => {
            print_json(&scoped(&store, &tenant).await?.list_prices().await?);
        }
        PriceCommand::Set {
            tenant,
            model,
            input,
            output,
            cached_input,
        } => {
            let price = PriceInput {
                input,
                output,
                cached_input,
            };
            let t = scoped(&store, &tenant).await?;
            print_json(&t.set_price(&actor, &model, price).await.map_err(refused)?);
        }
        PriceCommand::Delete { tenant, model } => {
            let t = scoped(&store, &tenant).await?;
            t.delete_price(&actor, &model).await.map_err(refused)?;
        }
    }
    Ok(())
}
