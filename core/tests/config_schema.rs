//! The JSON Schema export: the committed copy is current, and it accepts what the engine
//! accepts (every scenario's config) and rejects what it rejects (unknown fields).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.schema.json")
}

fn generated_text() -> String {
    let mut text = serde_json::to_string_pretty(&switchyard::config::json_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_schema_is_current() {
    let generated = generated_text();
    let path = committed_path();
    if std::env::var_os("SWITCHYARD_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/config.schema.json differs from the schema the config types generate; \
         regenerate it with `SWITCHYARD_BLESS=1 cargo test -p switchyard schema` and commit it"
    );
}

/// A small validator for the keywords the generated schema uses, so the tests need no
/// heavyweight dependency. Returns the first violation's JSON path.
fn violation(root: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let Some(schema) = schema.as_object() else {
        return None; // `true`
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.strip_prefix("#/$defs/").expect("local $ref");
        let target = &root["$defs"][name];
        assert!(!target.is_null(), "dangling $ref {reference}");
        if let Some(v) = violation(root, target, value, at) {
            return Some(v);
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type keyword"),
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("unknown type {other}"),
        });
        if !ok {
            return Some(format!("{at}: expected {types:?}, got {value}"));
        }
    }
    if let Some(expected) = schema.get("const") {
        if value != expected {
            return Some(format!("{at}: expected {expected}, got {value}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Some(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            return Some(format!("{at}: {n} < {min}"));
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
            let passing = branches
                .iter()
                .filter(|b| violation(root, b, value, at).is_none())
                .count();
            let ok = if keyword == "oneOf" {
                passing == 1
            } else {
                passing >= 1
            };
            if !ok {
                return Some(format!(
                    "{at}: {passing} branches of {keyword} match {value}"
                ));
            }
        }
    }
    if let Some(items) = schema.get("items") {
        for (i, item) in value.as_array().into_iter().flatten().enumerate() {
            if let Some(v) = violation(root, items, item, &format!("{at}[{i}]")) {
                return Some(v);
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Some(format!("{at}: missing required field {name}"));
            }
        }
        for (key, item) in object {
            let path = format!("{at}.{key}");
            let sub = properties.and_then(|p| p.get(key));
            let sub = match (sub, schema.get("additionalProperties")) {
                (Some(sub), _) => sub,
                (None, Some(Value::Bool(false))) => {
                    return Some(format!("{path}: unknown field"));
                }
                (None, Some(extra)) => extra,
                (None, None) => continue,
            };
            if let Some(v) = violation(root, sub, item, &path) {
                return Some(v);
            }
        }
    }
    None
}

fn validate(config: &Value) -> Option<String> {
    let schema = switchyard::config::json_schema();
    violation(&schema, &schema, config, "$")
}

/// Every scenario file's `config`, with `{{mock}}` filled in as the runner does.
fn scenario_configs() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/scenarios");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("{{mock}}", "http://127.0.0.1:9");
        let doc: Value = serde_norway::from_str(&text).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, doc["config"].clone()));
    }
    assert!(!out.is_empty(), "no scenario files found");
    out
}

#[test]
fn schema_header_names_the_draft_and_document() {
    let schema = switchyard::config::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$id"], switchyard::config::SCHEMA_ID);
    assert!(schema["title"].is_string());
    assert!(schema["description"].is_string());
}

#[test]
fn schema_accepts_every_scenario_config() {
    for (name, config) in scenario_configs() {
        assert_eq!(validate(&config), None, "{name}");
        switchyard::config::Config::from_json_value(config)
            .unwrap_or_else(|e| panic!("{name}: the engine rejects it too: {e}"));
    }
}

/// Edits a valid config into an invalid one.
type Mutation<'a> = Box<dyn Fn(&mut Value) + 'a>;

#[test]
fn schema_rejects_unknown_fields_at_every_level() {
    let (_, base) = scenario_configs().remove(0);
    let alias = base["models"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let provider = base["providers"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let cases: Vec<(&str, Mutation)> = vec![
        ("$.modles", Box::new(|c| c["modles"] = Value::Bool(true))),
        (
            "model",
            Box::new(|c| c["models"][&alias]["stratgy"] = "weighted".into()),
        ),
        (
            "deployment",
            Box::new(|c| c["models"][&alias]["deployments"][0]["wieght"] = 2.into()),
        ),
        (
            "provider",
            Box::new(|c| c["providers"][&provider]["apikey"] = "x".into()),
        ),
        (
            "retry",
            Box::new(|c| c["models"][&alias]["retry"] = serde_json::json!({"max_retries": 2})),
        ),
    ];
    for (label, mutate) in cases {
        let mut config = base.clone();
        mutate(&mut config);
        let found = validate(&config);
        assert!(
            found
                .as_deref()
                .is_some_and(|v| v.ends_with("unknown field")),
            "{label}: {found:?}"
        );
        assert!(switchyard::config::Config::from_json_value(config).is_err());
    }
}

#[test]
fn schema_rejects_wrong_types_and_values() {
    let (_, base) = scenario_configs().remove(0);
    let mut config = base.clone();
    config["version"] = 2.into();
    assert!(validate(&config).is_some());
    let mut config = base;
    let alias = config["models"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    config["models"][&alias]["strategy"] = "fastest".into();
    assert!(validate(&config).is_some());
}

#[test]
fn schema_closes_every_object() {
    let schema = switchyard::config::json_schema();
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["models"]["additionalProperties"]["$ref"],
        "#/$defs/ModelConfig"
    );
    for (name, def) in schema["$defs"].as_object().unwrap() {
        if def.get("properties").is_some() {
            assert_eq!(def["additionalProperties"], false, "{name}");
        }
    }
    let secret = &schema["$defs"]["Secret"];
    assert_eq!(secret["type"], "string");
    assert!(secret["description"].as_str().unwrap().contains("${"));
}

#[test]
fn schema_and_engine_accept_the_documented_example() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
    )
    .unwrap();
    let example = doc
        .split("## An example")
        .nth(1)
        .and_then(|rest| rest.split("```yaml\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("docs/configuration.md has an example block");
    let value: Value = serde_norway::from_str(example).unwrap();
    assert_eq!(validate(&value), None);
    switchyard::config::Config::from_yaml(example).unwrap();
}
