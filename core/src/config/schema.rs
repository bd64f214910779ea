//! The config's JSON Schema, derived from the Rust types so it cannot drift from what
//! `Config::from_yaml` accepts. The server stores and serves exactly this document, and
//! editors and CI validate config files with it; `docs/config.schema.json` is a copy that
//! a test keeps current.

use schemars::generate::SchemaSettings;

use super::{CONFIG_VERSION, Config};

/// The schema's `$id`: names the document and its version, resolvable or not.
pub const SCHEMA_ID: &str = "urn:switchyard:config:v1";

/// The JSON Schema (draft 2020-12) of a version-1 config document.
pub fn json_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Config>();
    schema.insert("$id".into(), SCHEMA_ID.into());
    schema.insert("title".into(), "Switchyard configuration".into());
    schema.insert(
        "description".into(),
        format!(
            "A Switchyard client configuration, version {CONFIG_VERSION}: providers, logical \
             models and their deployments and policies, identity, cache, budgets and rate \
             limits. Unknown fields are errors. See docs/configuration.md."
        )
        .into(),
    );
    schema.to_value()
}
