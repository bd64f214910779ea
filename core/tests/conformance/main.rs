//! Runs every scenario in `tests/conformance/scenarios/` against the engine and the mock
//! provider, one named test per file. Each language's SDK runs the same files. The Rust
//! runner also runs `scenarios-next/`: files using fields the other runners do not
//! implement yet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod check;
mod run;
mod scenario;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use libtest_mimic::{Arguments, Failed, Trial};
use switchyard_mock_provider::MockServer;

/// One runtime for every scenario: the engine's pooled HTTP client outlives any one test.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
});

/// One mock for every scenario; each scenario gets its own session (isolated script,
/// step positions and counters).
static MOCK: LazyLock<Arc<MockServer>> = LazyLock::new(|| {
    Arc::new(
        RUNTIME
            .block_on(MockServer::start())
            .expect("mock provider"),
    )
});

fn scenario_files(dir: &str) -> impl Iterator<Item = PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance")
        .join(dir);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
}

fn main() {
    let args = Arguments::from_args();
    let mut files: Vec<PathBuf> = scenario_files("scenarios")
        .chain(scenario_files("scenarios-next"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            // `local_*` scenarios need the in-process model: only with the `local` feature.
            let skip_local = name.starts_with("local_") && !cfg!(feature = "local");
            if skip_local {
                eprintln!("conformance: SKIPPED {name}: needs `--features switchyard/local`");
            }
            let file = path.clone();
            Trial::test(name, move || {
                if !std::path::Path::new(&run::local_model_path()).is_file()
                    && std::fs::read_to_string(&file).is_ok_and(|t| t.contains("{{local_model}}"))
                {
                    return Err(Failed::from(format!(
                        "local model {} is missing: run `make model`",
                        run::local_model_path()
                    )));
                }
                let text =
                    std::fs::read_to_string(&path).map_err(|e| Failed::from(e.to_string()))?;
                RUNTIME
                    .block_on(run::scenario(&MOCK, &text))
                    .map_err(Failed::from)
            })
            .with_ignored_flag(skip_local)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
