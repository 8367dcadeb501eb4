use crate::policy::Denied;

/// Everything the identity service can refuse. The server maps each variant
/// to an HTTP status and OpenStack fault in one place (`server/src/rest/error.rs`)
/// and the portal shows `to_string()` inline.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Authentication failed. Deliberately says nothing about whether the
    /// user exists or which part was wrong.
    #[error("The request you have made requires authentication.")]
    Unauthenticated,
    #[error("The account is locked for {minutes} more minute(s) after too many failed logins.")]
    Locked { minutes: i64 },
    #[error("{0}")]
    Forbidden(String),
    #[error("Could not find {kind}: {id}.")]
    NotFound { kind: &'static str, id: String },
    #[error("Conflict occurred attempting to store {kind} - {detail}.")]
    Conflict { kind: &'static str, detail: String },
    #[error("{0}")]
    Validation(String),
    #[error("Password does not meet the requirements: {0}")]
    PasswordPolicy(String),
    #[error("The token is invalid, expired or revoked.")]
    TokenNotFound,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Denied> for IdentityError {
    fn from(d: Denied) -> Self {
        IdentityError::Forbidden(d.to_string())
    }
}

impl IdentityError {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        IdentityError::NotFound {
            kind,
            id: id.into(),
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
