use std::fmt;

/// One problem in a config document, at a path like `models.chat.deployments[2].weight`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A rejected config: every issue found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl ConfigError {
    pub fn new(issues: Vec<ConfigIssue>) -> Self {
        ConfigError { issues }
    }

    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(vec![ConfigIssue::new(path, message)])
    }

    /// A parse failure, located by `serde_path_to_error`.
    pub fn from_parse<E: fmt::Display>(error: serde_path_to_error::Error<E>) -> Self {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        Self::single(path, error.inner().to_string())
    }

    /// The path of the first issue, for errors that carry one field.
    pub fn first_path(&self) -> &str {
        self.issues.first().map(|i| i.path.as_str()).unwrap_or("")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config: ")?;
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}
