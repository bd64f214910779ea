//! Where a Bedrock provider's AWS credentials come from, in the AWS SDKs' order: the
//! entry's own fields, the standard environment variables, then the shared credentials
//! file's profile.

use std::path::PathBuf;

use crate::config::Secret;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::http::credential;

/// A key pair, and the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AwsCredentials({})", self.access_key_id)
    }
}

/// The credential settings of one provider entry.
#[derive(Debug, Clone, Default)]
pub struct CredentialSource {
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    pub profile: Option<String>,
}

impl CredentialSource {
    /// Resolves the credentials for one request. Missing ones are an `auth` error naming
    /// every place looked at, raised before anything is sent.
    pub fn resolve(&self, provider: &str) -> Result<AwsCredentials> {
        if let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) {
            let missing = || Error::new(ErrorKind::Auth, "unreachable").with_provider(provider);
            return Ok(AwsCredentials {
                access_key_id: credential(provider, Some(id))?.ok_or_else(missing)?,
                secret_access_key: credential(provider, Some(secret))?.ok_or_else(missing)?,
                session_token: credential(provider, self.session_token.as_ref())?,
            });
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            return Ok(AwsCredentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: env("AWS_SESSION_TOKEN"),
            });
        }
        let profile = self
            .profile
            .clone()
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".to_owned());
        let file = env("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".aws/credentials")));
        if let Some(found) = file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| from_shared_file(&text, &profile))
        {
            return Ok(found);
        }
        let place = file.map_or_else(
            || "~/.aws/credentials".to_owned(),
            |p| p.display().to_string(),
        );
        Err(Error::new(
            ErrorKind::Auth,
            format!(
                "no AWS credentials: set access_key_id/secret_access_key on the provider, \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile [{profile}] in {place}"
            ),
        )
        .with_provider(provider))
    }
}

/// The keys of `[profile]` in a shared credentials (INI) file.
fn from_shared_file(text: &str, profile: &str) -> Option<AwsCredentials> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            in_profile = section == profile || section.strip_prefix("profile ") == Some(profile);
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = Some(value.trim().to_owned());
            match key.trim() {
                "aws_access_key_id" => id = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
    }
    Some(AwsCredentials {
        access_key_id: id?,
        secret_access_key: secret?,
        session_token: token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_profile_of_a_shared_file() {
        let text = "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n\
                    # work account\n[work]\naws_access_key_id=AKIDWORK\naws_secret_access_key=s2\naws_session_token = t2\n";
        let work = from_shared_file(text, "work").unwrap();
        assert_eq!(work.access_key_id, "AKIDWORK");
        assert_eq!(work.session_token.as_deref(), Some("t2"));
        assert_eq!(
            from_shared_file(text, "default").unwrap().secret_access_key,
            "s1"
        );
        assert!(from_shared_file(text, "missing").is_none());
    }

    #[test]
    fn an_unset_reference_names_its_variable() {
        let source = CredentialSource {
            access_key_id: Some(Secret::new("${SWITCHYARD_TEST_UNSET_AWS_ID}")),
            secret_access_key: Some(Secret::new("s")),
            ..CredentialSource::default()
        };
        let e = source.resolve("br").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Auth);
        assert!(e.message().contains("SWITCHYARD_TEST_UNSET_AWS_ID"), "{e}");
    }
}
