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
    Forbidden(PublicMessage),
    #[error("Could not find {kind}: {id}.")]
    NotFound { kind: &'static str, id: String },
    /// `detail` says what conflicts (for a name already taken, see
    /// [`IdentityError::duplicate`]); its key's translation is the whole
    /// message.
    #[error("Conflict occurred attempting to store {kind} - {detail}.")]
    Conflict {
        kind: &'static str,
        detail: PublicMessage,
    },
    #[error("{0}")]
    Validation(PublicMessage),
    /// The reason's key's translation is the whole message.
    #[error("Password does not meet the requirements: {0}")]
    PasswordPolicy(PublicMessage),
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
        IdentityError::Forbidden(d.public())
    }
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
            detail: crate::msg!(
                "error.identity.duplicate",
                "Duplicate entry: a {object} named \"{name}\" already exists",
                object = kind,
                name = name,
            ),
        }
    }

    /// One value of every variant (and every duplicate kind), for tests
    /// that check each message key is translated.
    pub fn examples() -> Vec<IdentityError> {
        let mut all = vec![
            IdentityError::Unauthenticated,
            IdentityError::Locked { minutes: 5 },
            IdentityError::from(Denied {
                rule: "identity:get_user",
            }),
            IdentityError::Forbidden(crate::msg!(
                "error.identity.revoke_own_tokens",
                "You may only revoke your own tokens."
            )),
            IdentityError::Validation(crate::msg!(
                "error.identity.name_empty",
                "The {object} name must not be empty.",
                object = "project",
            )),
            IdentityError::PasswordPolicy(crate::msg!(
                "error.identity.password.too_long",
                "at most 4096 bytes"
            )),
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
pub const KINDS: [&str; 14] = [
    "domain",
    "project",
    "user",
    "group",
    "role",
    "application credential",
    "service",
    "endpoint",
    "implied role",
    "region",
    "endpoint group",
    "policy",
    "credential",
    "domain config",
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
            IdentityError::Forbidden(m) | IdentityError::Validation(m) => m.clone(),
            IdentityError::NotFound { kind, id } => {
                PublicMessage::new("error.identity.not_found", text)
                    .arg("object", kind)
                    .arg("id", id)
            }
            IdentityError::Conflict { detail: m, .. } | IdentityError::PasswordPolicy(m) => {
                m.with_text(text)
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
    }

    /// The REST text (Display) of a keyed error is what it always was, and
    /// the portal gets the call site's key and args.
    #[test]
    fn keyed_refusals_keep_their_english() {
        let check = |e: IdentityError, text: &str, key: &str, args: &[(&str, &str)]| {
            assert_eq!(e.to_string(), text);
            let p = e.public();
            assert_eq!((p.key, p.text.as_str()), (key, text));
            for (name, value) in args {
                assert_eq!(p.get(name), Some(*value), "{key}: {name}");
            }
        };
        check(
            crate::identity::validate_name("project", "  ").expect_err("empty"),
            "The project name must not be empty.",
            "error.identity.name_empty",
            &[("object", "project")],
        );
        // Keystone's lengths: 64 for projects and domains, 255 for the rest.
        let name = crate::identity::validate_name;
        assert!(name("project", &"p".repeat(64)).is_ok());
        check(
            name("project", &"p".repeat(65)).expect_err("65"),
            "The project name must be at most 64 characters.",
            "error.identity.name_too_long",
            &[("object", "project"), ("max", "64")],
        );
        assert!(name("domain", &"d".repeat(65)).is_err());
        assert!(name("user", &"u".repeat(255)).is_ok());
        check(
            name("user", &"u".repeat(256)).expect_err("256"),
            "The user name must be at most 255 characters.",
            "error.identity.name_too_long",
            &[("object", "user"), ("max", "255")],
        );
        check(
            crate::identity::validate_name("application credential", "a\u{1b}[31m")
                .expect_err("escape"),
            "The application credential name must not contain control characters (found U+001B).",
            "error.identity.name_control_char",
            &[("object", "application credential"), ("code", "U+001B")],
        );
        check(
            super::super::resources::normalize_email(Some("no-at-sign".into()))
                .expect_err("not an address"),
            "\"no-at-sign\" is not a valid email address.",
            "error.identity.invalid_email",
            &[("email", "no-at-sign")],
        );
        check(
            IdentityError::PasswordPolicy(crate::msg!(
                "error.identity.password.reused",
                "it must differ from your last {count} passwords",
                count = 3,
            )),
            "Password does not meet the requirements: it must differ from your last 3 passwords",
            "error.identity.password.reused",
            &[("count", "3")],
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
