//! `switchyard login --sso`, `logout` and `whoami`: a person's session on a running server,
//! from the tenant's OpenID provider by the device authorization grant the server brokers
//! (`docs/identity.md`). Unlike the other commands they go through the server's API, not
//! the database; the session is kept in a credentials file readable by its owner only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::CliError;

/// Where the session is kept.
#[derive(Args, Debug)]
pub struct CredentialsArg {
    /// The credentials file. Default: `$XDG_CONFIG_HOME/switchyard/credentials.json`, else
    /// `~/.config/switchyard/credentials.json`.
    #[arg(long, env = "SWITCHYARD_CREDENTIALS")]
    credentials: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Sign in through the tenant's identity provider (the only way built: passwords
    /// sign in with `POST /api/v1/auth/login`).
    #[arg(long)]
    sso: bool,
    /// The server's URL, e.g. `https://switchyard.example.com`.
    #[arg(long, env = "SWITCHYARD_SERVER")]
    server: String,
    /// The tenant's name.
    #[arg(long)]
    tenant: String,
    #[command(flatten)]
    credentials: CredentialsArg,
}

/// What `login` keeps and the other commands read.
#[derive(Serialize, Deserialize)]
struct Credentials {
    server: String,
    tenant: String,
    username: String,
    token: String,
    /// Unix milliseconds.
    expires_at: i64,
}

impl CredentialsArg {
    fn path(&self) -> Result<PathBuf, CliError> {
        if let Some(path) = &self.credentials {
            return Ok(path.clone());
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .ok_or_else(|| CliError::Usage("no HOME: pass --credentials".into()))?;
        Ok(config.join("switchyard").join("credentials.json"))
    }

    fn read(&self) -> Result<Credentials, CliError> {
        let path = self.path()?;
        let text = std::fs::read(&path).map_err(|e| {
            CliError::Usage(format!(
                "not signed in ({}: {e}): run `switchyard login --sso`",
                path.display()
            ))
        })?;
        serde_json::from_slice(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
    }
}

/// Writes the credentials file, created readable and writable by its owner only.
fn write_private(path: &Path, credentials: &Credentials) -> Result<(), CliError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        // An older file keeps its mode when opened: narrow it first.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let mut file = options.open(path)?;
    let body = serde_json::to_vec_pretty(credentials)
        .map_err(|e| CliError::Usage(format!("credentials: {e}")))?;
    file.write_all(&body)?;
    Ok(())
}

fn http() -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| CliError::Usage(format!("HTTP client: {e}")))
}

fn api(server: &str, path: &str) -> String {
    format!("{}/api/v1{path}", server.trim_end_matches('/'))
}

/// Sends `req`: the answer's status and JSON body (`null` when it has none).
async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Value), CliError> {
    let response = req
        .send()
        .await
        .map_err(|e| CliError::Usage(format!("the server: {e}")))?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// The server's error body as one line.
fn refused(what: &str, status: u16, body: &Value) -> CliError {
    let message = body["message"].as_str().unwrap_or("no details");
    CliError::Usage(format!("{what}: {status} {message}"))
}

/// How long to wait after a poll answered `code`, from `interval`: RFC 8628 3.5 asks
/// for 5 seconds more after each `slow_down`, kept for the polls after it.
pub fn next_interval(interval: Duration, code: &str) -> Duration {
    if code == "slow_down" {
        interval + Duration::from_secs(5)
    } else {
        interval
    }
}

pub async fn login(args: LoginArgs) -> Result<(), CliError> {
    if !args.sso {
        return Err(CliError::Usage(
            "only `switchyard login --sso` is built; a password signs in with POST /api/v1/auth/login"
                .into(),
        ));
    }
    let path = args.credentials.path()?;
    let http = http()?;
    let (status, start) = send(
        http.post(api(&args.server, "/auth/oidc/device"))
            .json(&serde_json::json!({"tenant": args.tenant})),
    )
    .await?;
    if status != 200 {
        return Err(refused("starting the sign-in", status, &start));
    }
    let field = |name: &str| start[name].as_str().unwrap_or_default().to_owned();
    let handle = field("handle");
    let verification = start["verification_uri_complete"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| field("verification_uri"));
    println!("Open this address in a browser and sign in:");
    println!("  {verification}");
    println!("and check that it shows the code {}", field("user_code"));
    let mut interval = Duration::from_secs(start["interval"].as_u64().unwrap_or(5).max(1));
    let deadline = std::time::Instant::now()
        + Duration::from_secs(start["expires_in"].as_u64().unwrap_or(600) + 60);
    loop {
        tokio::time::sleep(interval).await;
        let (status, body) = send(
            http.post(api(&args.server, "/auth/oidc/device/token"))
                .json(&serde_json::json!({"handle": handle})),
        )
        .await?;
        if status == 200 {
            let credentials = Credentials {
                server: args.server.trim_end_matches('/').to_owned(),
                tenant: args.tenant.clone(),
                username: body["username"].as_str().unwrap_or_default().to_owned(),
                token: body["token"].as_str().unwrap_or_default().to_owned(),
                expires_at: body["expires_at"].as_i64().unwrap_or_default(),
            };
            write_private(&path, &credentials)?;
            println!(
                "signed in to {} as {} (session kept in {})",
                args.tenant,
                credentials.username,
                path.display()
            );
            return Ok(());
        }
        let code = body["code"].as_str().unwrap_or_default();
        match code {
            "authorization_pending" | "slow_down" => interval = next_interval(interval, code),
            // The server or the provider briefly unavailable: try again.
            "unavailable" => {}
            _ => return Err(refused("the sign-in", status, &body)),
        }
        if std::time::Instant::now() > deadline {
            return Err(CliError::Usage(
                "the code expired before it was approved".into(),
            ));
        }
    }
}

/// The kept session, and the server's answer to `method path` with it.
async fn with_session(
    args: &CredentialsArg,
    method: reqwest::Method,
    path: &str,
) -> Result<(Credentials, u16, Value), CliError> {
    let credentials = args.read()?;
    let req = http()?
        .request(method, api(&credentials.server, path))
        .bearer_auth(&credentials.token);
    let (status, body) = send(req).await?;
    Ok((credentials, status, body))
}

/// Revokes the kept session at the server and removes the credentials file.
pub async fn logout(args: CredentialsArg) -> Result<(), CliError> {
    let (credentials, status, body) =
        with_session(&args, reqwest::Method::POST, "/auth/logout").await?;
    // 401: already expired or revoked; the file goes all the same.
    if !(200..300).contains(&status) && status != 401 {
        return Err(refused("signing out", status, &body));
    }
    std::fs::remove_file(args.path()?)?;
    println!("signed out of {}", credentials.tenant);
    Ok(())
}

/// `GET /api/v1/me` with the kept session (JSON).
pub async fn whoami(args: CredentialsArg) -> Result<(), CliError> {
    let (_, status, body) = with_session(&args, reqwest::Method::GET, "/me").await?;
    if status != 200 {
        return Err(refused("the server", status, &body));
    }
    super::print_json(&body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_down_adds_five_seconds_for_good() {
        let start = Duration::from_secs(5);
        let slower = next_interval(start, "slow_down");
        assert_eq!(slower, Duration::from_secs(10));
        assert_eq!(next_interval(slower, "authorization_pending"), slower);
        assert_eq!(next_interval(slower, "slow_down"), Duration::from_secs(15));
    }
}
