//! What the storage layer fails with, and its `Result`. A file of its own because the
//! connection layer ([`crate::db`]) fails the same way and sits below the store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Existed, but is over (an expired lease): 410.
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("internal: {0}")]
    Internal(String),
    #[error("database: {0}")]
    Db(sqlx::Error),
    /// The database connection's TLS failed (bad or unknown certificate, host mismatch,
    /// server without TLS): said as such, since the driver reports some of these as I/O.
    #[error(
        "TLS to the database failed: {0} (check sslmode, sslrootcert, and that the server's \
         certificate names the host)"
    )]
    Tls(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                field: String::new(),
                message: "already exists".into(),
            },
            _ => StoreError::Db(e),
        }
    }
}

impl StoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A referenced object that is not in the tenant is the request's fault: 422 naming
    /// the field that referenced it (`no such department`), not 404.
    pub(crate) fn reference(self, field: &str, what: &str) -> Self {
        match self {
            StoreError::NotFound => StoreError::invalid(field, format!("no such {what}")),
            other => other,
        }
    }

    /// Names the field of a unique violation (the database does not say which, portably).
    pub(crate) fn on_field(self, field: &str) -> Self {
        match self {
            StoreError::Conflict { message, .. } => StoreError::Conflict {
                field: field.into(),
                message,
            },
            other => other,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
