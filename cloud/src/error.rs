//! The one error model every service shares.
//!
//! A service error tells three things: its [`ErrorKind`] (which decides the
//! HTTP status and OpenStack fault title, through the one table in
//! [`ErrorKind::status`] and [`ErrorKind::title`]), a [`PublicMessage`] (a
//! message key and arguments, so the portal words it in the user's
//! language, plus the English text the REST APIs send), and its cause for
//! the log (`#[source]`, with the code location of a failed query).
//! Internal errors never show their cause: their public message is generic.
//!
//! A service implements [`ServiceError`] for its error enum; the REST
//! adapter and the portal then map it without knowing the service.

use std::error::Error;
use std::fmt;

/// What went wrong, as a client can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or a value is invalid (400).
    BadRequest,
    /// No valid credentials, or they were refused (401).
    Unauthenticated,
    /// Authenticated, but policy refuses the action (403).
    Forbidden,
    /// The object does not exist, or the caller may not see it (404).
    NotFound,
    /// The request conflicts with the current state: a duplicate name, a
    /// status that does not allow it (409).
    Conflict,
    /// A quota, count or size limit (413, as Glance answers).
    OverLimit,
    /// A byte range outside the data (416).
    RangeNotSatisfiable,
    /// Nothing to send: an image without data (Glance answers 204 with no
    /// body). Not a fault, but a service outcome the adapters must render.
    NoContent,
    /// A dependency is down or overloaded; retrying later may work (503).
    Unavailable,
    /// A fault of the server itself (500); the cause is logged, never shown.
    Internal,
}

/// The generic text every internal error shows instead of its cause.
pub const INTERNAL_MESSAGE: &str =
    "An unexpected error prevented the server from fulfilling your request.";

impl ErrorKind {
    /// Every kind, for tables and tests.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthenticated,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::OverLimit,
        ErrorKind::RangeNotSatisfiable,
        ErrorKind::NoContent,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The HTTP status of this kind: THE table, used by REST and the portal.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::OverLimit => 413,
            ErrorKind::RangeNotSatisfiable => 416,
            ErrorKind::NoContent => 204,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// OpenStack's fault title for this kind (`{"error": {"title": …}}`).
    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "Bad Request",
            ErrorKind::Unauthenticated => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not Found",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::OverLimit => "Request Entity Too Large",
            ErrorKind::RangeNotSatisfiable => "Requested Range Not Satisfiable",
            ErrorKind::NoContent => "No Content",
            ErrorKind::Unavailable => "Service Unavailable",
            ErrorKind::Internal => "Internal Server Error",
        }
    }

    /// A stable lower-case name (`not_found`), for logs and the portal.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::OverLimit => "over_limit",
            ErrorKind::RangeNotSatisfiable => "range_not_satisfiable",
            ErrorKind::NoContent => "no_content",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind a status code stands for, if it is one of the table's.
    pub fn from_status(status: u16) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.status() == status)
    }

    /// Internal and unavailable errors are the server's fault: their cause
    /// is logged and their public message stays generic.
    pub fn is_server_fault(self) -> bool {
        matches!(self, ErrorKind::Internal | ErrorKind::Unavailable)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a user may be told: a message key with named arguments (the portal
/// looks the key up in its i18n table and fills in `{name}` placeholders)
/// and the English text, which the REST APIs send as the fault message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicMessage {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
    /// The English rendering (for services this is the error's `Display`).
    pub text: String,
}

impl PublicMessage {
    pub fn new(key: &'static str, text: impl Into<String>) -> PublicMessage {
        PublicMessage {
            key,
            args: Vec::new(),
            text: text.into(),
        }
    }

    /// Adds the argument `{name}`.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> PublicMessage {
        self.args.push((name, value.to_string()));
        self
    }

    /// The message of every internal error: nothing about the cause.
    pub fn internal() -> PublicMessage {
        PublicMessage::new("error.internal", INTERNAL_MESSAGE)
    }

    /// The message of a dependency that is down.
    pub fn unavailable() -> PublicMessage {
        PublicMessage::new(
            "error.unavailable",
            "The service is temporarily unavailable. Please try again later.",
        )
    }

    pub fn english(&self) -> &str {
        &self.text
    }

    /// The value of argument `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The same key and arguments with another English text: for an error
    /// whose Display wraps a keyed reason (`Password does not meet the
    /// requirements: {reason}`), whose key's translation is the whole
    /// sentence.
    pub fn with_text(&self, text: impl Into<String>) -> PublicMessage {
        PublicMessage {
            key: self.key,
            args: self.args.clone(),
            text: text.into(),
        }
    }
}

/// Prints the English text: a variant carrying a message displays as the
/// REST APIs send it.
impl fmt::Display for PublicMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A [`PublicMessage`] keyed at the call site:
///
/// ```
/// let max = 255;
/// let m = cloud::msg!(
///     "error.example.too_long",
///     "The name is longer than {max} characters ({name:?}).",
///     max = max,
///     name = "x",
/// );
/// assert_eq!(m.key, "error.example.too_long");
/// assert_eq!(m.text, "The name is longer than 255 characters (\"x\").");
/// assert_eq!(m.get("max"), Some("255"));
/// assert_eq!(m.get("name"), Some("x"));
/// ```
///
/// The key is looked up in the portal's i18n table; the English text is
/// `format!(template, name = value, …)` (so a format spec such as `{x:?}`
/// is fine in English); the arguments are the same names with each value's
/// `to_string()`, which the Korean template uses as plain `{name}`. Each
/// value expression is evaluated once. Pass every name the template uses
/// (`app`'s i18n coverage test checks it, and that the key is translated).
#[macro_export]
macro_rules! msg {
    ($key:literal, $text:literal $(,)?) => {
        $crate::error::PublicMessage::new($key, ::std::format!($text))
    };
    ($key:literal, $text:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let ($($name,)+) = ($(&$value,)+);
        $crate::error::PublicMessage {
            key: $key,
            args: ::std::vec![
                $((::std::stringify!($name), ::std::string::ToString::to_string($name))),+
            ],
            text: ::std::format!($text, $($name = $name),+),
        }
    }};
}

/// An error a service returns: its kind and what the user may be told.
/// The cause, if any, is the error's `source()` chain (for the log).
///
/// A new service implements it for its error enum with two `match`es; see
/// `identity::IdentityError` for the pattern.
pub trait ServiceError: Error + Send + Sync + 'static {
    fn kind(&self) -> ErrorKind;
    /// What the user may be told. Server faults must answer a generic
    /// message ([`PublicMessage::internal`]): their text may hold internals.
    fn public(&self) -> PublicMessage;
}

/// Displays an error with its whole `source()` chain, for log lines:
/// `database error at cloud/src/…:42:14: error returned from database: …`.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// Logs a server fault with its cause; other kinds are the client's business
/// and are not logged as errors. Returns what the user may be told.
pub fn public_and_log(e: &dyn ServiceError) -> PublicMessage {
    let kind = e.kind();
    if kind.is_server_fault() {
        tracing::error!(kind = %kind, error = %Chain(e), "service error");
    }
    e.public()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityError;
    use crate::image::ImageError;

    #[test]
    fn the_table() {
        let table: Vec<(u16, &str)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.status(), k.title()))
            .collect();
        assert_eq!(
            table,
            [
                (400, "Bad Request"),
                (401, "Unauthorized"),
                (403, "Forbidden"),
                (404, "Not Found"),
                (409, "Conflict"),
                (413, "Request Entity Too Large"),
                (416, "Requested Range Not Satisfiable"),
                (204, "No Content"),
                (503, "Service Unavailable"),
                (500, "Internal Server Error"),
            ]
        );
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_status(k.status()), Some(k));
        }
        assert_eq!(ErrorKind::from_status(418), None);
    }

    #[test]
    fn msg_formats_the_english_and_keeps_each_arg_once() {
        let calls = std::cell::Cell::new(0);
        let next = || {
            calls.set(calls.get() + 1);
            calls.get() * 10
        };
        let name = String::from("우분투 \"22.04\"");
        let m = crate::msg!(
            "error.test.example",
            "The {what:?} is {n}-{n} of {max:>4}, not {{n}}.",
            what = name,
            n = next(),
            max = next(),
        );
        // Each expression ran once, though `{n}` appears twice.
        assert_eq!(calls.get(), 2);
        assert_eq!(m.key, "error.test.example");
        assert_eq!(
            m.text,
            format!(
                "The {what:?} is {n}-{n} of {max:>4}, not {{n}}.",
                what = name,
                n = 10,
                max = 20
            )
        );
        assert_eq!(
            m.text,
            "The \"우분투 \\\"22.04\\\"\" is 10-10 of   20, not {n}."
        );
        // Args are the plain values (no format spec), in call order.
        assert_eq!(
            m.args,
            [
                ("what", "우분투 \"22.04\"".to_string()),
                ("n", "10".to_string()),
                ("max", "20".to_string()),
            ]
        );
        // `name` was borrowed, not moved.
        assert_eq!(name.len(), 17);
        // Display is the English text.
        assert_eq!(m.to_string(), m.text);

        let plain = crate::msg!("error.test.plain", "Nothing to fill in, {{really}}.");
        assert_eq!(
            plain,
            PublicMessage::new("error.test.plain", "Nothing to fill in, {really}.")
        );
        assert!(plain.args.is_empty());
    }

    #[test]
    fn with_text_keeps_the_key_and_args() {
        let m = crate::msg!("error.test.reason", "{count} extents", count = 3);
        let w = m.with_text("The whole sentence: 3 extents.");
        assert_eq!((w.key, w.args.clone()), (m.key, m.args.clone()));
        assert_eq!(w.text, "The whole sentence: 3 extents.");
    }

    #[test]
    fn a_policy_refusal_has_its_own_key_and_the_same_text() {
        let d = crate::policy::Denied {
            rule: "identity:create_grant",
        };
        let p = d.public();
        assert_eq!(p.key, "error.policy.denied");
        assert_eq!(p.get("rule"), Some("identity:create_grant"));
        assert_eq!(p.text, d.to_string());
        assert_eq!(
            IdentityError::from(d.clone()).to_string(),
            "You are not authorized to perform the requested action: identity:create_grant."
        );
        assert_eq!(ImageError::from(d.clone()).public(), p);
        assert_eq!(crate::quota::QuotaError::from(d).public(), p);
    }

    // The `?` below must be the recorded location, not error.rs's `From`.
    const IDENTITY_QUERY_LINE: u32 = line!() + 4;
    const IMAGE_QUERY_LINE: u32 = line!() + 8;
    fn failing_identity_query() -> Result<(), IdentityError> {
        let missing: Result<(), sqlx::Error> = Err(sqlx::Error::RowNotFound);
        missing?;
        Ok(())
    }
    fn failing_image_query() -> Result<(), ImageError> {
        let missing: Result<(), sqlx::Error> = Err(sqlx::Error::RowNotFound);
        missing?;
        Ok(())
    }

    #[test]
    fn a_database_error_names_the_failing_question_mark() {
        let err = failing_identity_query().expect_err("the query fails");
        let IdentityError::Database { at, source } = &err else {
            panic!("not a database error: {err:?}");
        };
        assert_eq!((at.file(), at.line()), (file!(), IDENTITY_QUERY_LINE));
        assert!(matches!(source, sqlx::Error::RowNotFound));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert_eq!(err.public(), PublicMessage::internal());
        // The log line says where, and why.
        let logged = Chain(&err).to_string();
        assert!(logged.contains(&format!("{}:{}", file!(), IDENTITY_QUERY_LINE)));
        assert!(logged.contains("no rows returned"), "{logged}");

        let err = failing_image_query().expect_err("the query fails");
        let ImageError::Database { at, .. } = &err else {
            panic!("not a database error: {err:?}");
        };
        assert_eq!((at.file(), at.line()), (file!(), IMAGE_QUERY_LINE));
        assert_eq!(err.public().text, INTERNAL_MESSAGE);
    }
}
