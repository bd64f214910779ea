//! `switchyard-mock`: the mock provider as a process, for other languages' test runners.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use switchyard_mock_provider::{MockServer, Script};

const USAGE: &str =
    "usage: switchyard-mock [--addr 127.0.0.1:0] [--script FILE] [--port-file FILE]";

struct Args {
    addr: SocketAddr,
    script: Option<PathBuf>,
    port_file: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        script: None,
        port_file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--addr" => args.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--script" => args.script = Some(value()?.into()),
            "--port-file" => args.port_file = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let script = match &args.script {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Script::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Script::default(),
    };
    // Handlers first: a runner may send SIGTERM as soon as it has read the line below.
    let stop = shutdown_signal()?;
    let server = MockServer::bind(args.addr, script)
        .await
        .map_err(|e| format!("bind {}: {e}", args.addr))?;
    if let Some(path) = &args.port_file {
        std::fs::write(path, server.addr().port().to_string())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // The one stdout line test runners parse for the port.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", server.url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    stop.await?;
    tracing::info!("shutting down");
    drop(server);
    Ok(())
}

/// SIGTERM or SIGINT, with the handlers installed now rather than when first awaited.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = Result<(), String>>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = Result<(), String>>, String> {
    Ok(async { tokio::signal::ctrl_c().await.map_err(|e| e.to_string()) })
}
