use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential. It is written in the config as a literal or, better, an env reference
/// (`${OPENAI_API_KEY}`), which is kept as written and resolved only when used, so that
/// serialising a config never writes a key that came from the environment. `Debug` and
/// `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(raw: impl Into<String>) -> Self {
        Secret(raw.into())
    }

    /// The env variable this secret refers to, if it is a `${VAR}` reference.
    pub fn env_var(&self) -> Option<&str> {
        self.0.strip_prefix("${").and_then(|s| s.strip_suffix('}'))
    }

    /// The value to send: the env variable's content for a reference, else the literal.
    /// `None` when the referenced variable is unset or empty.
    pub fn resolve(&self) -> Option<String> {
        match self.env_var() {
            Some(var) => std::env::var(var).ok().filter(|v| !v.is_empty()),
            None => Some(self.0.clone()),
        }
    }

    /// A hint safe to show: the variable name, or the last four characters.
    pub fn masked(&self) -> String {
        match self.env_var() {
            Some(var) => format!("${{{var}}}"),
            None => {
                let tail: String = self
                    .0
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("…{tail}")
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A plain string in the schema: the wrapper is a Rust concern, the document holds text.
impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A credential. Prefer an environment reference such as \
                `${OPENAI_API_KEY}`: it is resolved only when a request is sent and never \
                written back; a literal value works but ends up wherever the config is stored.",
            "examples": ["${OPENAI_API_KEY}"]
        })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_a_literal() {
        let s = Secret::new("sk-abcdefgh1234");
        assert_eq!(format!("{s:?}"), "Secret(…1234)");
        let r = Secret::new("${SWITCHYARD_TEST_UNSET_VAR}");
        assert_eq!(r.env_var(), Some("SWITCHYARD_TEST_UNSET_VAR"));
        assert_eq!(r.resolve(), None);
    }
}
