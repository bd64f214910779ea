//! The LiteLLM import figure: imports each LiteLLM config given on the command line and
//! prints, over all of them, how many deployments (`model_list` entries) were kept, how many
//! were dropped and why, and which per-deployment settings the import dropped most often.
//!
//! `cargo run -p switchyard --example litellm_figure -- /work/notes/litellm-real/*.yaml`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard::config::{ImportKind, import_litellm};

fn main() {
    let mut total = 0usize;
    let mut kept = 0usize;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut settings: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0usize;
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).expect("readable file");
        let doc: Value = serde_norway::from_str(&text).expect("YAML");
        let entries = doc
            .get("model_list")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        files += 1;
        total += entries;
        let import = match import_litellm(&text) {
            Ok(import) => import,
            Err(e) => {
                println!("{path}: refused whole: {e}");
                *reasons.entry(format!("file refused: {e}")).or_default() += entries;
                continue;
            }
        };
        let file_kept = import
            .config
            .models
            .values()
            .map(|m| m.deployments.len())
            .sum::<usize>();
        kept += file_kept;
        for i in 0..entries {
            let at = format!("model_list[{i}]");
            let mapped = import
                .report
                .iter()
                .any(|n| n.path == at && n.kind == ImportKind::Mapped);
            if mapped {
                continue;
            }
            let reason = import
                .report
                .iter()
                .find(|n| {
                    n.kind == ImportKind::Dropped
                        && (n.path == at
                            || n.path == format!("{at}.litellm_params")
                            || (n.path.starts_with(&format!("{at}."))
                                && n.message.contains("skipped")))
                })
                .map_or_else(|| "no reason given".to_owned(), |n| normalise(&n.message));
            *reasons.entry(reason).or_default() += 1;
        }
        for note in &import.report {
            if note.kind == ImportKind::Dropped
                && note.path.starts_with("model_list[")
                && !note.message.contains("skipped")
                && let Some(key) = note.path.rsplit('.').next()
                && !key.starts_with("model_list[")
            {
                *settings.entry(key.to_owned()).or_default() += 1;
            }
        }
        println!("{path}: {file_kept}/{entries} kept");
    }
    println!();
    println!("files: {files}");
    println!("deployments: {total}");
    let share = if total == 0 {
        0.0
    } else {
        100.0 * kept as f64 / total as f64
    };
    println!("kept: {kept} ({share:.1}%)");
    println!("dropped: {}", total - kept);
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (reason, n) in by_count {
        println!("  {n:4}  {reason}");
    }
    println!("per-deployment settings dropped (kept deployments):");
    let mut by_count: Vec<_> = settings.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (key, n) in by_count {
        println!("  {n:4}  {key}");
    }
}

/// The reason without the deployment's alias, so equal reasons add up.
fn normalise(message: &str) -> String {
    match message.split_once("; deployment of '") {
        Some((head, _)) => head.to_owned(),
        None => message.to_owned(),
    }
}
