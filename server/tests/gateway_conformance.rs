//! The shared conformance scenarios (`tests/conformance/scenarios/`) over HTTP, through the
//! gateway: each scenario's config is activated for a tenant of the real router, its calls
//! are made as an OpenAI client makes them (app key, JSON bodies, SSE), and what comes back
//! — body, headers, OpenAI-shaped errors — is checked with core's own checks
//! (`core/tests/conformance/check.rs`, shared by path). Scenarios that cannot apply over
//! HTTP are listed in [`run::not_over_http`] with the reason, and reported as ignored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../core/tests/conformance/check.rs"]
mod check;
mod common;
#[path = "gateway_conformance/run.rs"]
mod run;
#[path = "../../core/tests/conformance/scenario.rs"]
mod scenario;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use libtest_mimic::{Arguments, Failed, Trial};
use switchyard_mock_provider::MockServer;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
});

static MOCK: LazyLock<Arc<MockServer>> = LazyLock::new(|| {
    Arc::new(
        RUNTIME
            .block_on(MockServer::start())
            .expect("mock provider"),
    )
});

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/conformance/scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let skip = run::not_over_http(&name, &text);
            if let Some(reason) = &skip {
                eprintln!("gateway conformance: SKIPPED {name}: {reason}");
            }
            Trial::test(name, move || {
                RUNTIME
                    .block_on(run::scenario(&MOCK, &text))
                    .map_err(Failed::from)
            })
            .with_ignored_flag(skip.is_some())
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
