//! Where a binding's client takes its config from: the constructor's arguments, else the
//! environment. One precedence and one set of errors for every language.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::client::{Client, ClientBuilder, ConfigServer};
use crate::config::{Config, ConfigError};
use crate::error::{Error, Result};

/// A config as a binding passes it: a file path (YAML or JSON) or the document itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ConfigInput {
    Path(PathBuf),
    Value(serde_json::Value),
    /// A config already read (never on the wire): what a reload leaves for a forked child.
    #[serde(skip)]
    Loaded(Box<Config>),
}

impl ConfigInput {
    pub fn load(self) -> Result<Config> {
        match self {
            ConfigInput::Path(path) => Ok(Config::from_file(&path)?),
            ConfigInput::Value(value) => Ok(Config::from_json_value(value)?),
            ConfigInput::Loaded(config) => Ok(*config),
        }
    }
}

/// A binding constructor's arguments, as one JSON object with the same names in every
/// language. Exactly one source: `config` (with `watch`, seconds between checks of a
/// config file), or `server` with `api_key` (with `config_cache`, a file to start from
/// while the server is down). With none given, `SWITCHYARD_CONFIG` names a config file,
/// else `SWITCHYARD_SERVER` and `SWITCHYARD_API_KEY` name the server.
///
/// `otlp_endpoint` (a base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`, which applies when it is
/// unset) and `service_name` turn on OTLP export of spans and GenAI metrics for the process.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSpec {
    pub config: Option<ConfigInput>,
    pub watch: Option<f64>,
    pub server: Option<String>,
    pub api_key: Option<String>,
    pub config_cache: Option<PathBuf>,
    pub otlp_endpoint: Option<String>,
    pub service_name: Option<String>,
}

/// The shortest interval a config file is polled at.
const MIN_WATCH: Duration = Duration::from_millis(10);

impl ClientSpec {
    /// The spec from its JSON form; a mistyped or unknown argument is a `bad_request`.
    pub fn from_json(value: serde_json::Value) -> Result<ClientSpec> {
        if value.is_null() {
            return Ok(ClientSpec::default());
        }
        crate::validate::decode(value)
    }

    /// A builder for the one source this spec names, the environment (`env`) filling in
    /// when the spec names none.
    pub fn builder(self, env: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder> {
        let spec = self.or_from_env(env);
        match (spec.config, spec.server, spec.api_key) {
            (Some(config), None, None) => {
                let builder = match config {
                    ConfigInput::Path(path) => Client::builder().config_file(path),
                    value => Client::builder().config(value.load()?),
                };
                Ok(match spec.watch {
                    Some(secs) if secs.is_finite() => builder
                        .watch_config_file(Duration::from_secs_f64(secs.max(0.0)).max(MIN_WATCH)),
                    _ => builder,
                })
            }
            (Some(_), _, _) => Err(Error::bad_request(
                "server",
                "pass config, or server with api_key, not both",
            )),
            (None, Some(url), Some(key)) => {
                let mut server = ConfigServer::new(url, key);
                if let Some(path) = spec.config_cache {
                    server = server.cache_file(path);
                }
                Ok(Client::builder().server(server))
            }
            (None, Some(_), None) => Err(Error::bad_request(
                "api_key",
                "server and api_key go together",
            )),
            (None, None, Some(_)) => Err(Error::bad_request(
                "server",
                "server and api_key go together",
            )),
            (None, None, None) => Err(ConfigError::single(
                "",
                "no config given: pass config (a file path or a mapping) or server with api_key, \
                 or set SWITCHYARD_CONFIG (or SWITCHYARD_SERVER and SWITCHYARD_API_KEY)",
            )
            .into()),
        }
    }

    /// This spec, or the source the environment names when it names none.
    fn or_from_env(mut self, env: impl Fn(&str) -> Option<String>) -> ClientSpec {
        if self.config.is_some() || self.server.is_some() || self.api_key.is_some() {
            return self;
        }
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(path) = set("SWITCHYARD_CONFIG") {
            self.config = Some(ConfigInput::Path(path.into()));
        } else {
            self.server = set("SWITCHYARD_SERVER");
            self.api_key = set("SWITCHYARD_API_KEY");
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn refusal(spec: serde_json::Value, env: impl Fn(&str) -> Option<String>) -> Error {
        match ClientSpec::from_json(spec).and_then(|s| s.builder(env)) {
            Ok(_) => panic!("accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn one_source_at_a_time() {
        let mixed = refusal(
            json!({"config": {"version": 1}, "server": "http://x", "api_key": "k"}),
            no_env,
        );
        assert_eq!(
            (mixed.code(), mixed.field()),
            ("bad_request", Some("server"))
        );
        let partial = refusal(json!({"server": "http://x"}), no_env);
        assert_eq!(partial.field(), Some("api_key"));
        let none = refusal(json!({}), no_env);
        assert_eq!(none.code(), "config");
        let unknown = refusal(json!({"confg": "x.yaml"}), no_env);
        assert_eq!(unknown.field(), Some("confg"));
    }

    #[test]
    fn the_environment_fills_in() {
        let env = |name: &str| (name == "SWITCHYARD_SERVER").then(|| "http://x".to_owned());
        // The server alone is named: its key is missing.
        assert_eq!(refusal(json!(null), env).field(), Some("api_key"));
        let spec = ClientSpec::default().or_from_env(|name| match name {
            "SWITCHYARD_CONFIG" => Some("app.yaml".into()),
            _ => Some("ignored".into()),
        });
        assert_eq!(spec.config, Some(ConfigInput::Path("app.yaml".into())));
        assert_eq!(spec.server, None);
    }

    #[test]
    fn a_value_config_is_read_and_checked() {
        let bad = refusal(json!({"config": {"version": 2}}), no_env);
        assert_eq!((bad.code(), bad.field()), ("config", Some("version")));
        assert!(
            ClientSpec::from_json(json!({"config": {"version": 1}}))
                .unwrap()
                .builder(no_env)
                .is_ok()
        );
    }
}
