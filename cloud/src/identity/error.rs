use std::panic::Location;

use crate::error::{ErrorKind, PublicMessage, ServiceError};
use crate::policy::Denied;

/// Everything the identity service can refuse. [`ServiceError`] gives each
/// variant its kind (and so its HTTP status, in the one table of
/// `cloud::error`) and its public message key; the Display text is the
/// English message the REST API sends.
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
    /// `detail` is [`duplicate_detail`]'s text for a name already taken.
    #[error("Conflict occurred attempting to store {kind} - {detail}.")]
    Conflict { kind: &'static str, detail: String },
    #[error("{0}")]
    Validation(String),
    #[error("Password does not meet the requirements: {0}")]
    PasswordPolicy(String),
    #[error("The token is invalid, expired or revoked.")]
    TokenNotFound,
    /// The change would leave no enabled user holding the admin role
    /// anywhere: nobody could administer the cloud any more (409).
    #[error("This would leave the cloud without an administrator: at least one enabled user must keep the admin role.")]
    LastAdmin,
    /// Too many password checks waiting: try again shortly (503).
    #[error("The server is busy. Please try again in a moment.")]
    Busy,
    /// A query failed; `at` is the `?` (or `IdentityError::from`) that
    /// received it, so the log names the operation.
    #[error("database error at {at}")]
    Database {
        at: &'static Location<'static>,
        #[source]
        source: sqlx::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for IdentityError {
    /// Records the caller: with `?` that is the line of the failed query.
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        IdentityError::Database {
            at: Location::caller(),
            source,
        }
    }
}

impl From<Denied> for IdentityError {
    fn from(d: Denied) -> Self {
        IdentityError::Forbidden(d.to_string())
    }
}

const DUPLICATE_PREFIX: &str = "Duplicate entry: a ";
const DUPLICATE_NAMED: &str = " named \"";
const DUPLICATE_SUFFIX: &str = "\" already exists";

/// The `detail` of a [`IdentityError::Conflict`] for a name already taken;
/// [`IdentityError::public`] reads the name back for the portal's message.
pub fn duplicate_detail(kind: &str, name: &str) -> String {
    format!("{DUPLICATE_PREFIX}{kind}{DUPLICATE_NAMED}{name}{DUPLICATE_SUFFIX}")
}

/// The name in a [`duplicate_detail`] text.
fn duplicate_name<'a>(kind: &str, detail: &'a str) -> Option<&'a str> {
    detail
        .strip_prefix(DUPLICATE_PREFIX)?
        .strip_prefix(kind)?
        .strip_prefix(DUPLICATE_NAMED)?
        .strip_suffix(DUPLICATE_SUFFIX)
}

impl IdentityError {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        IdentityError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// A 409 for a `kind` named `name` that already exists.
    pub fn duplicate(kind: &'static str, name: &str) -> Self {
        IdentityError::Conflict {
            kind,
            detail: duplicate_detail(kind, name),
        }
    }

    /// One value of every variant (and every duplicate kind), for tests
    /// that check each message key is translated.
    pub fn examples() -> Vec<IdentityError> {
        let mut all = vec![
            IdentityError::Unauthenticated,
            IdentityError::Locked { minutes: 5 },
            IdentityError::Forbidden("no".into()),
            IdentityError::Conflict {
                kind: "domain",
                detail: "domain d still owns projects; delete them first".into(),
            },
            IdentityError::Validation("bad".into()),
            IdentityError::PasswordPolicy("too short".into()),
            IdentityError::TokenNotFound,
            IdentityError::Busy,
            IdentityError::LastAdmin,
            IdentityError::from(sqlx::Error::RowNotFound),
            IdentityError::Internal("x".into()),
        ];
        for kind in KINDS {
            all.push(IdentityError::not_found(kind, "x"));
            all.push(IdentityError::duplicate(kind, "x"));
        }
        all
    }
}

/// Every `kind` the identity service names in NotFound and Conflict; the
/// portal translates each (`object.<name>`).
pub const KINDS: [&str; 8] = [
    "domain",
    "project",
    "user",
    "group",
    "role",
    "application credential",
    "service",
    "endpoint",
];

impl ServiceError for IdentityError {
    fn kind(&self) -> ErrorKind {
        match self {
            IdentityError::Unauthenticated | IdentityError::Locked { .. } => {
                ErrorKind::Unauthenticated
            }
            IdentityError::Forbidden(_) => ErrorKind::Forbidden,
            IdentityError::NotFound { .. } | IdentityError::TokenNotFound => ErrorKind::NotFound,
            IdentityError::Conflict { .. } | IdentityError::LastAdmin => ErrorKind::Conflict,
            IdentityError::Validation(_) | IdentityError::PasswordPolicy(_) => {
                ErrorKind::BadRequest
            }
            IdentityError::Busy => ErrorKind::Unavailable,
            IdentityError::Database { .. } | IdentityError::Internal(_) => ErrorKind::Internal,
        }
    }

    fn public(&self) -> PublicMessage {
        let text = self.to_string();
        match self {
            IdentityError::Unauthenticated => PublicMessage::new("error.unauthenticated", text),
            IdentityError::Locked { minutes } => {
                PublicMessage::new("error.identity.locked", text).arg("minutes", minutes)
            }
            IdentityError::Forbidden(detail) => {
                PublicMessage::new("error.forbidden", text).arg("detail", detail)
            }
            IdentityError::NotFound { kind, id } => {
                PublicMessage::new("error.identity.not_found", text)
                    .arg("object", kind)
                    .arg("id", id)
            }
            IdentityError::Conflict { kind, detail } => match duplicate_name(kind, detail) {
                Some(name) => PublicMessage::new("error.identity.duplicate", text)
                    .arg("object", kind)
                    .arg("name", name),
                None => PublicMessage::new("error.identity.conflict", text)
                    .arg("object", kind)
                    .arg("detail", detail),
            },
            IdentityError::Validation(detail) => {
                PublicMessage::new("error.validation", text).arg("detail", detail)
            }
            IdentityError::PasswordPolicy(detail) => {
                PublicMessage::new("error.identity.password_policy", text).arg("detail", detail)
            }
            IdentityError::TokenNotFound => {
                PublicMessage::new("error.identity.token_not_found", text)
            }
            IdentityError::Busy => PublicMessage::new("error.busy", text),
            IdentityError::LastAdmin => PublicMessage::new("error.identity.last_admin", text),
            IdentityError::Database { .. } | IdentityError::Internal(_) => {
                PublicMessage::internal()
            }
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_names_its_kind_and_name() {
        let e = IdentityError::duplicate("project", "a \"quoted\" 이름");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(
            e.to_string(),
            "Conflict occurred attempting to store project - Duplicate entry: a project named \"a \"quoted\" 이름\" already exists."
        );
        let p = e.public();
        assert_eq!(p.key, "error.identity.duplicate");
        assert_eq!(p.get("object"), Some("project"));
        assert_eq!(p.get("name"), Some("a \"quoted\" 이름"));
        assert_eq!(p.text, e.to_string());
        // Any other conflict keeps its detail.
        let other = IdentityError::Conflict {
            kind: "domain",
            detail: "domain d still owns users".into(),
        };
        assert_eq!(other.public().key, "error.identity.conflict");
        assert_eq!(
            other.public().get("detail"),
            Some("domain d still owns users")
        );
    }

    #[test]
    fn internal_errors_tell_nothing() {
        let e = IdentityError::Internal("argon2: secret parameter".into());
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.public(), PublicMessage::internal());
        assert_eq!(
            IdentityError::Locked { minutes: 3 }.kind().status(),
            401,
            "a locked account is refused like any failed login"
        );
    }
}
