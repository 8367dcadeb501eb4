//! What a server function returns when it fails: a typed error, so the
//! browser tells an ended session from a refusal without comparing text, and
//! words a service's refusal in the user's language from its message key.
//!
//! On the server a service error becomes [`AppError::Service`] through the
//! one table of `cloud::error` (its kind, key and arguments); when the error
//! is sent, the response status follows the kind (403 for a refused call,
//! 401 for an ended session), as the REST APIs answer.

use std::fmt;

use leptos::prelude::ServerFnError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::{lookup, t, Lang};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// The session has no valid token: the page goes to the login page.
    SessionEnded,
    /// A service refused or failed. `kind` is `cloud::ErrorKind::as_str`,
    /// `key` and `args` its public message, `message` the English text
    /// (shown when the key has no translation).
    Service {
        kind: String,
        key: String,
        args: Vec<(String, String)>,
        message: String,
    },
    /// One of the portal's own messages: an i18n key with `{name}` args.
    Portal {
        kind: String,
        key: String,
        args: Vec<(String, String)>,
    },
    /// Text already worded for the user, or the call itself failed
    /// (network, encoding).
    Other(String),
}

impl AppError {
    /// A portal message refusing bad input (400).
    pub fn portal(key: &'static str) -> AppError {
        AppError::Portal {
            kind: "bad_request".into(),
            key: key.into(),
            args: Vec::new(),
        }
    }

    /// A portal message with its `{name}` filled in.
    pub fn portal_named(key: &'static str, name: &str) -> AppError {
        AppError::portal(key).arg("name", name)
    }

    /// The same message with another kind (`not_found`, `forbidden`…).
    pub fn with_kind(mut self, new_kind: &str) -> AppError {
        if let AppError::Portal { kind, .. } | AppError::Service { kind, .. } = &mut self {
            *kind = new_kind.to_string();
        }
        self
    }

    /// Adds an argument to a portal or service message.
    pub fn arg(mut self, name: &str, value: &str) -> AppError {
        if let AppError::Portal { args, .. } | AppError::Service { args, .. } = &mut self {
            args.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// The error's kind, as `cloud::ErrorKind::as_str` names it.
    pub fn kind(&self) -> &str {
        match self {
            AppError::SessionEnded => "unauthenticated",
            AppError::Service { kind, .. } | AppError::Portal { kind, .. } => kind,
            AppError::Other(_) => "internal",
        }
    }

    /// The message in `lang`: from the i18n table by key, arguments filled
    /// in; a service message without a translation shows its English text.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            AppError::SessionEnded => t(lang, "error.session_ended").to_string(),
            AppError::Service {
                key, args, message, ..
            } => match (lang, lookup(lang, key)) {
                // English is the service's own wording, as REST sends it.
                (Lang::En, _) | (_, None) => message.clone(),
                (_, Some(template)) => fill(lang, template, args),
            },
            AppError::Portal { key, args, .. } => match lookup(lang, key) {
                Some(template) => fill(lang, template, args),
                None => key.clone(),
            },
            AppError::Other(text) => text.clone(),
        }
    }
}

/// Fills `{name}` placeholders. The `object` argument names what a message
/// is about (`project`, `user`) and is itself translated (`object.<name>`).
pub fn fill(lang: Lang, template: &str, args: &[(String, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        let value = if name == "object" {
            lookup(lang, &format!("object.{}", value.replace(' ', "_")))
                .map(str::to_string)
                .unwrap_or_else(|| value.clone())
        } else if name == "resource" {
            // A quota's name (`instances`), as the quota panels word it.
            lookup(lang, &format!("quota.name.{value}"))
                .map(str::to_string)
                .unwrap_or_else(|| value.clone())
        } else {
            value.clone()
        };
        out = out.replace(&format!("{{{name}}}"), &value);
    }
    match lang {
        Lang::Ko => korean_particles(&out),
        Lang::En => out,
    }
}

/// Picks each Korean particle written as both forms (`이(가)`, `을(를)`,
/// `은(는)`, `과(와)`) by whether the syllable before it ends in a
/// consonant; after anything but a Hangul syllable both forms stay.
fn korean_particles(text: &str) -> String {
    const PAIRS: [(&str, &str, &str); 4] = [
        ("이(가)", "이", "가"),
        ("을(를)", "을", "를"),
        ("은(는)", "은", "는"),
        ("과(와)", "과", "와"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(c) = rest.chars().next() {
        for (both, after_consonant, after_vowel) in PAIRS {
            if let Some(tail) = rest.strip_prefix(both) {
                match out.chars().last().map(u32::from) {
                    Some(prev @ 0xAC00..=0xD7A3) => out.push_str(if (prev - 0xAC00) % 28 != 0 {
                        after_consonant
                    } else {
                        after_vowel
                    }),
                    _ => out.push_str(both),
                }
                rest = tail;
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The call's arguments could not be read (missing, malformed,
            // wrong type): the client's error, a 400, never a 500.
            ServerFnErrorErr::Args(detail)
            | ServerFnErrorErr::MissingArg(detail)
            | ServerFnErrorErr::Deserialization(detail)
            | ServerFnErrorErr::UnsupportedRequestMethod(detail) => {
                AppError::portal("error.bad_arguments").arg("detail", &detail)
            }
            // The call did not get through (network, server answer not
            // understood): worded in the user's language, the technical
            // detail after it.
            other => AppError::portal("error.request_failed")
                .with_kind("internal")
                .arg("detail", &other.to_string()),
        }
    }

    /// Encodes the error for the response, and sets the response's status
    /// from the error's kind: this runs exactly once per failed call, in
    /// the call's reactive owner.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        self.set_response_status();
        serde_json::to_vec(self)
            .map(leptos::server_fn::Bytes::from)
            .unwrap_or_else(|e| {
                leptos::server_fn::Bytes::from(
                    serde_json::to_vec(&AppError::Other(e.to_string())).unwrap_or_default(),
                )
            })
    }
}

impl From<ServerFnError> for AppError {
    fn from(e: ServerFnError) -> Self {
        AppError::portal("error.request_failed")
            .with_kind("internal")
            .arg("detail", &e.to_string())
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use cloud::error::public_and_log;
    use cloud::identity::IdentityError;
    use cloud::image::ImageError;
    use cloud::{ErrorKind, PublicMessage, ServiceError};

    use super::AppError;

    impl AppError {
        /// Any service error, through the one table: a server fault is
        /// logged with its cause and shows only the generic message.
        pub fn service(e: &dyn ServiceError) -> AppError {
            let kind = e.kind();
            let public = public_and_log(e);
            AppError::Service {
                kind: kind.as_str().to_string(),
                key: public.key.to_string(),
                args: public
                    .args
                    .into_iter()
                    .map(|(n, v)| (n.to_string(), v))
                    .collect(),
                message: public.text,
            }
        }

        /// A failure of the portal's own machinery (the session store, its
        /// wiring): logged, shown as the generic internal message.
        pub fn internal(detail: impl std::fmt::Display) -> AppError {
            tracing::error!(error = %detail, "portal error");
            let public = PublicMessage::internal();
            AppError::Service {
                kind: ErrorKind::Internal.as_str().to_string(),
                key: public.key.to_string(),
                args: Vec::new(),
                message: public.text,
            }
        }

        /// The HTTP status of this error, from the one table.
        pub fn status(&self) -> u16 {
            ErrorKind::ALL
                .into_iter()
                .find(|k| k.as_str() == self.kind())
                .unwrap_or(ErrorKind::Internal)
                .status()
        }

        /// Sets the server call's response status. A plain form post (no
        /// JavaScript) keeps the redirect server_fn gives it.
        pub(super) fn set_response_status(&self) {
            let plain_form = leptos::prelude::use_context::<http::request::Parts>()
                .and_then(|p| {
                    p.headers
                        .get(http::header::ACCEPT)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.contains("text/html"))
                })
                .unwrap_or(false);
            if plain_form {
                return;
            }
            if let (Some(opts), Ok(status)) = (
                leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
                http::StatusCode::from_u16(self.status()),
            ) {
                opts.set_status(status);
            }
        }
    }

    // One impl per service: `?` on a service call gives the typed error.
    impl From<IdentityError> for AppError {
        fn from(e: IdentityError) -> Self {
            AppError::service(&e)
        }
    }

    impl From<ImageError> for AppError {
        fn from(e: ImageError) -> Self {
            AppError::service(&e)
        }
    }

    impl From<cloud::compute::ComputeError> for AppError {
        fn from(e: cloud::compute::ComputeError) -> Self {
            AppError::service(&e)
        }
    }

    impl From<cloud::quota::QuotaError> for AppError {
        fn from(e: cloud::quota::QuotaError) -> Self {
            AppError::service(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_message_is_worded_in_the_users_language() {
        let e = AppError::Service {
            kind: "conflict".into(),
            key: "error.identity.duplicate".into(),
            args: vec![
                ("object".into(), "project".into()),
                ("name".into(), "demo".into()),
            ],
            message: "Conflict occurred attempting to store project - Duplicate entry.".into(),
        };
        assert_eq!(
            e.text(Lang::Ko),
            "이름이 “demo”인 프로젝트가 이미 있습니다."
        );
        assert_eq!(
            e.text(Lang::En),
            "Conflict occurred attempting to store project - Duplicate entry."
        );
        let untranslated = AppError::Service {
            kind: "conflict".into(),
            key: "error.nowhere".into(),
            args: vec![],
            message: "English".into(),
        };
        assert_eq!(untranslated.text(Lang::Ko), "English");
    }

    #[test]
    fn korean_particles_follow_the_last_syllable() {
        assert_eq!(
            korean_particles("사용자이(가) 역할을(를)"),
            "사용자가 역할을"
        );
        assert_eq!(
            korean_particles("그룹은(는) 도메인과(와)"),
            "그룹은 도메인과"
        );
        assert_eq!(korean_particles("“x”이(가)"), "“x”이(가)");
    }

    #[test]
    fn the_error_survives_the_wire() {
        let e = AppError::portal_named("err.no_user", "kim").with_kind("not_found");
        let back = AppError::de(e.ser());
        assert_eq!(back, e);
        assert_eq!(back.kind(), "not_found");
        assert_eq!(
            AppError::de(AppError::SessionEnded.ser()),
            AppError::SessionEnded
        );
        // Bytes that do not decode are an unreadable request (a 400 on the
        // server), never a panic.
        assert!(matches!(
            AppError::de(leptos::server_fn::Bytes::from_static(b"not json")),
            AppError::Portal { ref key, .. } if key == "error.bad_arguments"
        ));
    }
}
