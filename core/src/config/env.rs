//! `${VAR}` references in the config's endpoint fields (`base_url`, `api_version`, header
//! values, `model_path`): kept as written in the document, substituted when a client is
//! built, so a stored or served config never carries what the environment holds.

use super::ConfigIssue;

/// `text` with every `${VAR}` replaced by the variable's value. An unset (or empty)
/// variable, or a reference left open, is an issue at `path` that names it.
pub fn expand(text: &str, path: &str) -> Result<String, ConfigIssue> {
    expand_with(text, path, |var| std::env::var(var).ok())
}

/// The syntax check done by validation (variables are looked up only at build time).
pub fn check(text: &str, path: &str) -> Option<ConfigIssue> {
    expand_with(text, path, |_| Some("set".to_owned())).err()
}

fn expand_with(
    text: &str,
    path: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigIssue> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(ConfigIssue::new(path, "a ${ reference is not closed by }"));
        };
        let var = &after[..end];
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConfigIssue::new(
                path,
                format!("'${{{var}}}' is not an environment variable name"),
            ));
        }
        match lookup(var) {
            Some(value) if !value.is_empty() => out.push_str(&value),
            _ => {
                return Err(ConfigIssue::new(
                    path,
                    format!(
                        "the environment variable {var} (referenced as ${{{var}}}) is not set or empty"
                    ),
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(var: &str) -> Option<String> {
        (var == "HOST").then(|| "example.org".to_owned())
    }

    #[test]
    fn substitutes_every_reference_and_names_the_missing_one() {
        let got = expand_with("https://${HOST}/v1/${HOST}", "p", lookup).unwrap();
        assert_eq!(got, "https://example.org/v1/example.org");
        assert_eq!(expand_with("plain", "p", lookup).unwrap(), "plain");
        let e = expand_with("https://${NOPE}/v1", "providers.x.base_url", lookup).unwrap_err();
        assert_eq!(e.path, "providers.x.base_url");
        assert!(e.message.contains("NOPE"), "{}", e.message);
        assert!(check("${open", "p").is_some());
        assert!(check("${bad-name}", "p").is_some());
        assert!(check("https://${OK_NAME}", "p").is_none());
    }
}
