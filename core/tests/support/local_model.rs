//! Where the local test model is: `SWITCHYARD_LOCAL_MODEL`, else `models/` at the
//! repository's root (`make model` fetches it). Missing, the tests that need it fail.

use std::path::PathBuf;

pub fn model_path() -> PathBuf {
    let path = std::env::var("SWITCHYARD_LOCAL_MODEL")
        .ok()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        path.is_file(),
        "the local model {} is missing: run `make model` first",
        path.display()
    );
    path
}
