//! What talking to an OpenID provider fails with.

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider did not answer, or answered with an error status.
    #[error("the identity provider at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    /// Its metadata or key set is not what the standard says.
    #[error("the identity provider's {what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// Discovery names another issuer than the one configured (OpenID Discovery 4.3).
    #[error("the discovery document names issuer {found}, not {expected}")]
    IssuerMismatch { expected: String, found: String },
    /// No published key has the token's `kid`, even after a refetch (or a refetch was
    /// not allowed yet).
    #[error("no signing key {kid:?} at the identity provider")]
    UnknownKey { kid: Option<String> },
}
