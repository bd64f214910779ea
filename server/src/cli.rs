//! The `switchyard` command line: run the server, and the operator tasks that must work
//! without it (first tenant, migrations, keys, config versions, audit verification,
//! master key rotation, usage reports and the chargeback export), and a person's sign-in
//! to a running server (`login --sso`, `logout`, `whoami`). Results meant for the
//! operator go to stdout; logs go to stderr.

mod audit;
mod budgets;
mod session;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};
use ipnet::IpNet;
use switchyard::config::Config;

use crate::auth::password::hash_password;
use crate::client_addr::{ProxyHeader, TrustedProxies, parse_net};
use crate::cluster::leader::Leaders;
use crate::crypto::{CryptoError, MasterKey};
use crate::db::{Backend, Db};
use crate::state::AppState;
use crate::store::{AuditCtx, LeaseSettings, NewKey, NewTenant, Page, Store, StoreError};
use crate::util::{now_ms, random_hex};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(#[from] switchyard::config::ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("audit chain broken: {0}")]
    AuditBroken(String),
    #[error("{0}")]
    AuditKey(#[from] crate::audit::AuditKeyError),
    #[error("{0}")]
    Checkpoint(#[from] crate::audit::CheckpointError),
}

#[derive(Parser, Debug)]
#[command(name = "switchyard", version, about = "Switchyard management server")]
pub struct Cli {
    /// `postgres://…`, `sqlite://PATH`, or a file path. Default: switchyard.db next to the binary.
    #[arg(long, global = true, env = "SWITCHYARD_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (applies migrations first).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "SWITCHYARD_LISTEN")]
        listen: SocketAddr,
        /// A reverse proxy (address or CIDR network) whose forwarding header names the
        /// client; repeatable. None by default: the peer address is the client.
        #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_net, env = "SWITCHYARD_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<IpNet>,
        /// The header the trusted proxies write (only that one is read).
        #[arg(long, value_enum, default_value_t = ProxyHeader::XForwardedFor, env = "SWITCHYARD_PROXY_HEADER")]
        proxy_header: ProxyHeader,
        /// On SIGTERM/SIGINT: seconds `/readyz` answers 503 while requests are still
        /// accepted, so load balancers stop sending before the listener closes.
        #[arg(long, default_value_t = 0, env = "SWITCHYARD_DRAIN_SECS")]
        drain_secs: u64,
        /// Then: seconds requests in flight (gateway streams included) may take to finish
        /// before the process exits anyway.
        #[arg(long, default_value_t = 30, env = "SWITCHYARD_SHUTDOWN_GRACE_SECS")]
        grace_secs: u64,
        /// Days raw usage events are kept (the per-minute rollups are kept for good).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..), env = "SWITCHYARD_USAGE_RETENTION_DAYS")]
        usage_retention_days: u32,
        /// Seconds a lease grant is good for; SDKs renew after a third of it.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3600), env = "SWITCHYARD_LEASE_TTL_SECS")]
        lease_ttl_secs: u64,
        /// Seconds an expired lease's slices stay set aside for its last usage batches.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(0..=86400), env = "SWITCHYARD_LEASE_GRACE_SECS")]
        lease_grace_secs: u64,
        #[command(flatten)]
        checkpoints: audit::CheckpointArgs,
    },
    /// Create a tenant and its infra_admin; prints a one-time API token. The first
    /// tenant's admin is a server operator (may create tenants through the API).
    Init {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "admin")]
        admin: String,
        /// The admin's password; generated and printed when unset.
        #[arg(long, env = "SWITCHYARD_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Make the admin a server operator even if this is not the first tenant.
        #[arg(long)]
        operator: bool,
    },
    /// The server-operator flag of a user (tenant creation and listing).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Apply pending migrations and exit.
    Migrate,
    /// App API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Config documents and versions.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The audit log: verify it, checkpoint it, make its keys.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The master key that seals provider credentials.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Usage reports and the monthly chargeback export.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Server-side budgets and their state (`docs/budgets.md`).
    #[command(subcommand)]
    Budget(budgets::BudgetCommand),
    /// Per-tenant price overrides, sent to SDKs with their config.
    #[command(subcommand)]
    Price(budgets::PriceCommand),
    /// Sign in to a running server through the tenant's identity provider (a code to
    /// enter in a browser); the session is kept in a credentials file.
    Login(session::LoginArgs),
    /// Revoke the kept session and remove the credentials file.
    Logout(session::CredentialsArg),
    /// The signed-in user and their roles, from the server (JSON).
    Whoami(session::CredentialsArg),
}

#[derive(Subcommand, Debug)]
pub enum UsageCommand {
    /// The usage series (JSON), as `GET /api/v1/usage` gives it for the whole tenant.
    Report {
        #[arg(long)]
        tenant: String,
        /// RFC 3339 or Unix milliseconds; default: 24 hours before --to.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339 or Unix milliseconds; default: now.
        #[arg(long)]
        to: Option<String>,
        /// `1m`, `1h`, `1d`…
        #[arg(long, default_value = "1h")]
        step: String,
        /// department, app, model, deployment, provider or tag.
        #[arg(long)]
        group_by: Option<String>,
    },
    /// The chargeback of a month (`GET /api/v1/costs/chargeback`), as CSV or JSON.
    Export {
        #[arg(long)]
        tenant: String,
        /// A calendar month in UTC: 2026-11.
        #[arg(long)]
        period: String,
        #[arg(long, default_value = "csv")]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key for an app; prints the secret once.
    Create {
        #[arg(long)]
        tenant: String,
        /// App id or name.
        #[arg(long)]
        app: String,
        #[arg(long, default_value = "cli")]
        name: String,
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        app: String,
    },
    Revoke {
        #[arg(long)]
        tenant: String,
        /// Key id.
        key: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum OperatorCommand {
    /// Make a user a server operator.
    Grant {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
    },
    /// Withdraw the operator flag.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate a config file (YAML or JSON) with core's validator.
    Validate { file: PathBuf },
    /// Convert a LiteLLM config.yaml; prints the result, or stores it as a version with --tenant.
    ImportLitellm {
        file: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Store a config file as a new version of a tenant (not activated).
    Push {
        file: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Activate a version (id or number).
    Activate {
        #[arg(long)]
        tenant: String,
        version: String,
    },
    /// Re-activate the previously active version.
    Rollback {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum MasterKeyCommand {
    /// Print a new random key (base64).
    Generate,
    /// Re-seal every credential from the current key (env) to the key in FILE.
    Rotate {
        #[arg(long)]
        new_key_file: PathBuf,
    },
}

/// The default database: `switchyard.db` beside the executable.
pub fn default_database_url() -> String {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("."));
    format!("sqlite://{}", dir.join("switchyard.db").display())
}

/// The database, migrated, ready to write: with the audit keys from the environment when
/// set, the chain switched over to them ([`Store::adopt_audit_key`]).
async fn open(url: &str) -> Result<Store, CliError> {
    let store = connect(url).await?;
    if let Some(action) = store.adopt_audit_key(&cli_actor()).await? {
        tracing::info!(action, "audit chain keyed");
    }
    Ok(store)
}

/// The database, migrated, with the audit keys from the environment when set; nothing
/// written.
async fn connect(url: &str) -> Result<Store, CliError> {
    let db = Db::connect(url)
        .await?
        .with_audit_keys(crate::audit::AuditKeys::from_env_if_set()?);
    db.migrate().await?;
    Ok(Store::new(db))
}

fn cli_actor() -> AuditCtx {
    AuditCtx::cli(&std::env::var("USER").unwrap_or_else(|_| "operator".into()))
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

async fn tenant_id(store: &Store, name: &str) -> Result<String, CliError> {
    match store.tenant_by_name(name).await {
        Ok(t) => Ok(t.id),
        Err(StoreError::NotFound) => Err(CliError::Usage(format!("no tenant named {name}"))),
        Err(e) => Err(e.into()),
    }
}

async fn app_id(store: &Store, tenant: &str, app: &str) -> Result<String, CliError> {
    let t = store.tenant(tenant);
    if let Ok(a) = t.get_app(app).await {
        return Ok(a.id);
    }
    let mut offset = 0;
    loop {
        let page = t.list_apps(None, Page { limit: 500, offset }).await?;
        if let Some(a) = page.iter().find(|a| a.name == app) {
            return Ok(a.id.clone());
        }
        if page.len() < 500 {
            return Err(CliError::Usage(format!("no app {app}")));
        }
        offset += 500;
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let url = cli.database_url.unwrap_or_else(default_database_url);
    match cli.command {
        Command::Serve {
            listen,
            trusted_proxies,
            proxy_header,
            drain_secs,
            grace_secs,
            usage_retention_days,
            lease_ttl_secs,
            lease_grace_secs,
            checkpoints,
        } => {
            serve(
                &url,
                listen,
                TrustedProxies::new(trusted_proxies, proxy_header),
                Shutdown {
                    drain: Duration::from_secs(drain_secs),
                    grace: Duration::from_secs(grace_secs),
                },
                usage_retention_days,
                LeaseSettings {
                    ttl_ms: lease_ttl_secs as i64 * 1000,
                    grace_ms: lease_grace_secs as i64 * 1000,
                    ..LeaseSettings::default()
                },
                &checkpoints,
            )
            .await
        }
        Command::Migrate => {
            let db = Db::connect(&url).await?;
            let ran = db.migrate().await?;
            println!("{ran} migration(s) applied");
            Ok(())
        }
        Command::Init {
            tenant,
            admin,
            password,
            operator,
        } => {
            let store = open(&url).await?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(|| random_hex(12));
            if password.chars().count() < 12 {
                return Err(CliError::Usage(
                    "the password must be at least 12 characters".into(),
                ));
            }
            let hash = hash_password(&password).map_err(|e| CliError::Usage(e.to_string()))?;
            let done = store
                .create_tenant(
                    &cli_actor(),
                    NewTenant {
                        name: &tenant,
                        admin: &admin,
                        password_hash: &hash,
                        operator,
                    },
                )
                .await?;
            println!("tenant:   {} ({})", done.tenant.name, done.tenant.id);
            let operator_note = if done.user.operator { ", operator" } else { "" };
            println!(
                "admin:    {} (infra_admin{operator_note})",
                done.user.username
            );
            if generated {
                println!("password: {password}");
            }
            println!("token:    {}", done.token);
            println!("(shown once: store them now)");
            Ok(())
        }
        Command::Operator(cmd) => operators(&url, cmd).await,
        Command::Keys(cmd) => keys(&url, cmd).await,
        Command::Config(cmd) => config(&url, cmd).await,
        Command::Audit(command) => audit::audit(&url, command).await,
        Command::MasterKey(MasterKeyCommand::Generate) => {
            println!("{}", MasterKey::generate_base64());
            Ok(())
        }
        Command::MasterKey(MasterKeyCommand::Rotate { new_key_file }) => {
            let store = open(&url).await?;
            let old = MasterKey::from_env()?;
            let new = MasterKey::from_file(&new_key_file)?;
            let n = store.rotate_master_key(&cli_actor(), &old, &new).await?;
            println!(
                "{n} credential(s) re-sealed from key {} to key {}",
                old.id(),
                new.id()
            );
            println!("now point SWITCHYARD_MASTER_KEY(_FILE) at the new key and restart");
            Ok(())
        }
        Command::Usage(command) => usage(&url, command).await,
        Command::Budget(command) => {
            budgets::budgets(&url, command, LeaseSettings::default().grace_ms).await
        }
        Command::Price(command) => budgets::prices(&url, command).await,
        Command::Login(args) => session::login(args).await,
        Command::Logout(args) => session::logout(args).await,
        Command::Whoami(args) => session::whoami(args).await,
    }
}

async fn operators(url: &str, cmd: OperatorCommand) -> Result<(), CliError> {
    let store = open(url).await?;
    let (tenant, user, grant) = match cmd {
        OperatorCommand::Grant { tenant, user } => (tenant, user, true),
        OperatorCommand::Revoke { tenant, user } => (tenant, user, false),
    };
    let tenant = tenant_id(&store, &tenant).await?;
    let t = store.tenant(&tenant);
    let found = match t.user_by_username(&user).await {
        Err(StoreError::NotFound) => return Err(CliError::Usage(format!("no user {user}"))),
        other => other?,
    };
    let done = t.set_operator(&cli_actor(), &found.id, grant).await?;
    println!("{}: operator = {}", done.username, done.operator);
    Ok(())
}

async fn keys(url: &str, cmd: KeysCommand) -> Result<(), CliError> {
    let store = open(url).await?;
    match cmd {
        KeysCommand::Create {
            tenant,
            app,
            name,
            expires_in_days,
        } => {
            let tenant = tenant_id(&store, &tenant).await?;
            let app_id = app_id(&store, &tenant, &app).await?;
            let expires_at = expires_in_days.map(|d| now_ms() + d * 86_400_000);
            let (key, secret) = store
                .tenant(&tenant)
                .create_key(
                    &cli_actor(),
                    NewKey {
                        app_id,
                        name,
                        expires_at,
                    },
                )
                .await?;
            println!("key id: {}", key.id);
            println!("secret: {secret}");
            println!("(shown once)");
        }
        KeysCommand::List { tenant, app } => {
            let tenant = tenant_id(&store, &tenant).await?;
            let app_id = app_id(&store, &tenant, &app).await?;
            print_json(&store.tenant(&tenant).list_keys(&app_id).await?);
        }
        KeysCommand::Revoke { tenant, key } => {
            let tenant = tenant_id(&store, &tenant).await?;
            let key = store.tenant(&tenant).revoke_key(&cli_actor(), &key).await?;
            println!("revoked {}", key.id);
        }
    }
    Ok(())
}

async fn config(url: &str, cmd: ConfigCommand) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::Validate { file } => {
            let config = Config::from_file(&file)?;
            println!(
                "{}: valid ({} providers, {} models)",
                file.display(),
                config.providers.len(),
                config.models.len()
            );
            Ok(())
        }
        ConfigCommand::ImportLitellm { file, tenant } => {
            let text = std::fs::read_to_string(&file)?;
            let imported = switchyard::config::import_litellm(&text)?;
            for note in &imported.report {
                eprintln!("{:?} {}: {}", note.kind, note.path, note.message);
            }
            let document = serde_json::to_value(&imported.config)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            match tenant {
                None => print_json(&document),
                Some(tenant) => {
                    let store = open(url).await?;
                    let tenant = tenant_id(&store, &tenant).await?;
                    let v = store
                        .tenant(&tenant)
                        .create_version(&cli_actor(), &document, Some("import-litellm"))
                        .await?;
                    println!("stored as version {} ({}), not active", v.number, v.id);
                }
            }
            Ok(())
        }
        ConfigCommand::Push {
            file,
            tenant,
            label,
        } => {
            let config = Config::from_file(&file)?;
            let document =
                serde_json::to_value(&config).map_err(|e| CliError::Usage(e.to_string()))?;
            let store = open(url).await?;
            let tenant = tenant_id(&store, &tenant).await?;
            let v = store
                .tenant(&tenant)
                .create_version(&cli_actor(), &document, label.as_deref())
                .await?;
            println!("stored as version {} ({}), not active", v.number, v.id);
            Ok(())
        }
        ConfigCommand::Activate { tenant, version } => {
            let store = open(url).await?;
            let tenant = tenant_id(&store, &tenant).await?;
            let (_, v) = store
                .tenant(&tenant)
                .activate(&cli_actor(), &version)
                .await?;
            println!("version {} ({}) is active", v.number, v.id);
            Ok(())
        }
        ConfigCommand::Rollback { tenant } => {
            let store = open(url).await?;
            let tenant = tenant_id(&store, &tenant).await?;
            let (_, v) = store.tenant(&tenant).rollback(&cli_actor()).await?;
            println!("rolled back: version {} ({}) is active", v.number, v.id);
            Ok(())
        }
    }
}

/// How `serve` stops: readiness goes false first, then the listener closes after `drain`,
/// then requests in flight get `grace` to finish.
struct Shutdown {
    drain: Duration,
    grace: Duration,
}

async fn usage(url: &str, command: UsageCommand) -> Result<(), CliError> {
    use crate::api::costs::{chargeback_csv, chargeback_of};
    use crate::api::usage::{check_range, usage_report};
    use crate::store::{Dimension, UsageFilter};
    use crate::usage::time::{parse_instant, parse_period, parse_step};
    let bad = |what: &str| CliError::Usage(what.to_owned());
    let api = |e: crate::error::ApiError| CliError::Usage(e.to_string());
    match command {
        UsageCommand::Report {
            tenant,
            from,
            to,
            step,
            group_by,
        } => {
            let store = open(url).await?;
            let t = store.tenant(&tenant_id(&store, &tenant).await?);
            let instant = |text: Option<String>, default: i64| match text {
                None => Ok(default),
                Some(x) => parse_instant(&x).ok_or_else(|| bad(&format!("not a time: {x}"))),
            };
            let to = instant(to, now_ms())?;
            let from = instant(from, to - 86_400_000)?;
            let step = parse_step(&step).ok_or_else(|| bad("--step must be like 1m, 1h or 1d"))?;
            check_range(from, to, step).map_err(api)?;
            let group: Option<Dimension> = group_by
                .map(|g| serde_json::from_value(serde_json::Value::String(g)))
                .transpose()
                .map_err(|_| {
                    bad("--group-by: department, app, model, deployment, provider or tag")
                })?;
            let filter = UsageFilter {
                from_ms: from,
                to_ms: to,
                ..UsageFilter::default()
            };
            let nodes = t.department_nodes().await?;
            print_json(
                &usage_report(&t, &nodes, &filter, step, group)
                    .await
                    .map_err(api)?,
            );
            Ok(())
        }
        UsageCommand::Export {
            tenant,
            period,
            format,
        } => {
            let (from, to) =
                parse_period(&period).ok_or_else(|| bad("--period must be YYYY-MM"))?;
            let store = open(url).await?;
            let t = store.tenant(&tenant_id(&store, &tenant).await?);
            let filter = UsageFilter {
                from_ms: from,
                to_ms: to,
                ..UsageFilter::default()
            };
            let nodes = t.department_nodes().await?;
            let c = chargeback_of(&t, &period, &filter, &nodes)
                .await
                .map_err(api)?;
            match format.as_str() {
                "csv" => print!("{}", chargeback_csv(&c)),
                "json" => print_json(&c),
                _ => return Err(bad("--format: csv or json")),
            }
            Ok(())
        }
    }
}

async fn serve(
    url: &str,
    listen: SocketAddr,
    proxies: TrustedProxies,
    shutdown: Shutdown,
    usage_retention_days: u32,
    leases: LeaseSettings,
    checkpoints: &audit::CheckpointArgs,
) -> Result<(), CliError> {
    let started = Instant::now();
    let store = connect(url).await?;
    let checkpoints = audit::prepare_serve(&store, checkpoints).await?;
    let master_key = match MasterKey::from_env() {
        Ok(k) => Some(k),
        Err(CryptoError::Missing) => {
            tracing::warn!("no master key: provider credentials can be neither stored nor served");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let mut state = AppState::new(store, master_key);
    if !proxies.is_empty() {
        tracing::info!(?proxies, "client addresses taken from trusted proxies");
    }
    state.proxies = Arc::new(proxies);
    state.usage_retention_days = usage_retention_days;
    state.leases = leases;
    match state.store.db.backend {
        Backend::Sqlite => state
            .configs
            .spawn_activation_watch(state.store.clone(), state.activations.clone()),
        Backend::Postgres => {
            // Replicas: hear each other's changes, and elect one runner per job.
            let replica = crate::cluster::replica_name();
            state.leaders = Arc::new(Leaders::none());
            state
                .leaders
                .spawn_election(state.store.db.clone(), replica.clone());
            crate::cluster::listener::spawn(state.clone(), replica);
        }
    }
    crate::usage::retention::spawn_pruning(
        state.store.clone(),
        state.leaders.clone(),
        usage_retention_days,
    );
    crate::call_logs::retention::spawn_pruning(state.store.clone(), state.leaders.clone());
    state.audit_checkpoints = audit::start_checkpoints(&state.store, &state.leaders, checkpoints);
    crate::rollout::job::spawn(state.clone(), crate::rollout::job::EVERY);
    crate::capacity::spawn(state.clone(), Duration::from_secs(300));
    crate::alerts::spawn(
        state.clone(),
        crate::alerts::AlertSettings {
            grace_ms: state.leases.grace_ms,
            ..crate::alerts::AlertSettings::default()
        },
    );
    let stopping = state.shutdown.clone();
    let gateway = state.gateway.clone();
    let router = crate::api::router(state);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    // No Nagle: a gateway stream's small SSE frames would otherwise wait for the client's
    // delayed ACK (40 ms each on Linux).
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    tracing::info!(addr = %local, startup_ms = started.elapsed().as_secs_f64() * 1000.0, "ready");
    let mut stopped = stopping.subscribe();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        stopping.send_replace(true);
        tokio::time::sleep(shutdown.drain).await;
    });
    // The grace period starts when the listener closes, after the drain.
    let deadline = async {
        let _ = stopped.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(shutdown.drain + shutdown.grace).await;
    };
    tokio::select! {
        served = server => served?,
        () = deadline => tracing::warn!(grace_s = shutdown.grace.as_secs(), "requests still in flight after the grace period: exiting anyway"),
    }
    gateway.usage().flush().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
