//! Server-side helpers for the server functions: the session and the token
//! it holds. Service errors become [`AppError`] by `?` (see `crate::error`).

use std::sync::Arc;

use cloud::identity::{IdentityService, TokenInfo};
use cloud::image::ImageService;
use cloud::RequestContext;
use leptos::prelude::*;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};
use tower_sessions::{Expiry, Session};

use crate::error::AppError;
use crate::PortalSettings;

pub const KEY_TOKEN: &str = "token";
/// Earlier tokens of this session (the login token a project token was
/// rescoped from, previous projects); revoked at logout.
pub const KEY_OLD_TOKENS: &str = "old_tokens";
pub const KEY_LANG: &str = "lang";

/// A service the portal was not wired with (a server bug, logged).
fn missing_service(name: &str) -> AppError {
    AppError::internal(format!("the portal has no {name} service in its context"))
}

pub fn identity() -> Result<IdentityService, AppError> {
    use_context::<IdentityService>().ok_or_else(|| missing_service("identity"))
}

pub fn image() -> Result<ImageService, AppError> {
    use_context::<ImageService>().ok_or_else(|| missing_service("image"))
}

pub fn settings() -> Arc<PortalSettings> {
    use_context::<Arc<PortalSettings>>().unwrap_or_else(|| {
        Arc::new(PortalSettings {
            idle_timeout_secs: 3600,
        })
    })
}

/// The language this request's browser asks for (`Accept-Language`).
pub fn browser_lang(headers: &http::HeaderMap) -> crate::i18n::Lang {
    headers
        .get(http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(crate::i18n::Lang::from_accept_language)
        .unwrap_or_default()
}

/// The language the portal speaks to a request: the session's (the
/// account's stored choice, copied in at sign-in, or else the choice made
/// on the login page), and before any choice the browser's.
pub async fn ui_lang(session: &Session, headers: &http::HeaderMap) -> crate::i18n::Lang {
    session_lang_or(session, browser_lang(headers)).await
}

/// The session's language, else `browser` (no choice made yet).
async fn session_lang_or(session: &Session, browser: crate::i18n::Lang) -> crate::i18n::Lang {
    match session.get::<String>(KEY_LANG).await.ok().flatten() {
        Some(code) => crate::i18n::Lang::parse(&code),
        None => browser,
    }
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal(format!("session: {e}")))
}

fn sess_err(e: tower_sessions::session::Error) -> AppError {
    AppError::internal(format!("session store: {e}"))
}

/// The session's session expiry: the idle timeout, but never past the
/// token's own expiry.
pub fn apply_expiry(session: &Session, info: &TokenInfo, idle_secs: i64) {
    let now = chrono::Utc::now();
    let idle_end = now + chrono::Duration::seconds(idle_secs);
    if info.expires_at < idle_end {
        if let Ok(at) = OffsetDateTime::from_unix_timestamp(info.expires_at.timestamp()) {
            session.set_expiry(Some(Expiry::AtDateTime(at)));
            return;
        }
    }
    session.set_expiry(Some(Expiry::OnInactivity(Duration::seconds(idle_secs))));
}

/// How often an active session's expiry is pushed forward. Saving the
/// session on every request would make every page view a database write
/// (on MariaDB a commit to disk); once a minute keeps the idle timeout
/// exact to within a minute.
const EXPIRY_REFRESH_SECS: i64 = 60;
/// When the session's expiry was last pushed forward (Unix seconds).
pub const KEY_REFRESHED: &str = "refreshed_at";

/// [`apply_expiry`], at most once per [`EXPIRY_REFRESH_SECS`].
async fn refresh_expiry(session: &Session, info: &TokenInfo, idle_secs: i64) {
    let now = chrono::Utc::now().timestamp();
    let last: Option<i64> = session.get(KEY_REFRESHED).await.ok().flatten();
    if last.is_some_and(|t| (0..EXPIRY_REFRESH_SECS).contains(&(now - t))) {
        return;
    }
    apply_expiry(session, info, idle_secs);
    let _ = session.insert(KEY_REFRESHED, now).await;
}

/// The session's token, validated; `None` (and the session emptied of it)
/// when there is none or it is no longer valid.
pub async fn current_token(
    identity: &IdentityService,
    session: &Session,
    idle_secs: i64,
) -> Option<(String, TokenInfo)> {
    let token: String = session.get(KEY_TOKEN).await.ok().flatten()?;
    match identity.validate_token(&token).await {
        Ok(info) => {
            refresh_expiry(session, &info, idle_secs).await;
            Some((token, info))
        }
        Err(_) => {
            let lang: Option<String> = session.get(KEY_LANG).await.ok().flatten();
            let _ = session.flush().await;
            if let Some(lang) = lang {
                let _ = session.insert(KEY_LANG, lang).await;
            }
            None
        }
    }
}

/// Who is calling a server function.
pub struct Auth {
    pub identity: IdentityService,
    pub session: Session,
    pub token: String,
    pub info: TokenInfo,
    pub ctx: RequestContext,
    /// The browser's language, for a session without a choice.
    pub browser_lang: crate::i18n::Lang,
}

/// Every server function starts here: no valid token, no call.
///
/// Everything taken from the reactive context is taken before the first
/// await: during server rendering a `Suspense` may render its children
/// twice and drop the first run's owner while that run's server call is
/// still pending; polled again, `use_context` there finds nothing.
pub async fn auth() -> Result<Auth, AppError> {
    let identity = identity()?;
    let idle_secs = settings().idle_timeout_secs;
    let browser = use_context::<http::request::Parts>()
        .map(|p| browser_lang(&p.headers))
        .unwrap_or_default();
    let session = session().await?;
    match current_token(&identity, &session, idle_secs).await {
        Some((token, info)) => {
            let ctx = info.context();
            Ok(Auth {
                identity,
                session,
                token,
                info,
                ctx,
                browser_lang: browser,
            })
        }
        None => Err(AppError::SessionEnded),
    }
}

/// `auth()` with the image service, taken from the context before anything
/// is awaited (see [`auth`]).
pub async fn auth_image() -> Result<(Auth, ImageService), AppError> {
    let image = image()?;
    Ok((auth().await?, image))
}

impl Auth {
    /// The language of this call, as [`ui_lang`] decides it, read from this
    /// call's own session (no reactive context needed).
    pub async fn lang(&self) -> crate::i18n::Lang {
        session_lang_or(&self.session, self.browser_lang).await
    }

    /// One of the portal's own messages (an i18n key, `{name}` filled in);
    /// the browser words it in the user's language.
    pub fn msg(&self, key: &'static str, name: &str) -> AppError {
        AppError::portal_named(key, name)
    }
}

/// Revokes every token this session holds and ends it.
pub async fn end_session(
    identity: &IdentityService,
    session: &Session,
    keep_lang: bool,
) -> Result<(), AppError> {
    let token: Option<String> = session.get(KEY_TOKEN).await.map_err(sess_err)?;
    let old: Vec<String> = session
        .get(KEY_OLD_TOKENS)
        .await
        .map_err(sess_err)?
        .unwrap_or_default();
    let lang: Option<String> = session.get(KEY_LANG).await.map_err(sess_err)?;
    if let Some(t) = &token {
        if let Ok(info) = identity.validate_token(t).await {
            for tok in std::iter::once(t).chain(old.iter()) {
                let _ = identity.revoke_token(&info, tok).await;
            }
        }
    }
    session.flush().await.map_err(sess_err)?;
    if keep_lang {
        if let Some(lang) = lang {
            session.insert(KEY_LANG, lang).await.map_err(sess_err)?;
        }
    }
    Ok(())
}

/// Replaces the session's token (after login or a project switch).
pub async fn store_token(
    session: &Session,
    new_token: &str,
    info: &TokenInfo,
    retired: Vec<String>,
) -> Result<(), AppError> {
    let mut old: Vec<String> = session
        .get(KEY_OLD_TOKENS)
        .await
        .map_err(sess_err)?
        .unwrap_or_default();
    old.extend(retired);
    old.retain(|t| t != new_token);
    session
        .insert(KEY_TOKEN, new_token.to_string())
        .await
        .map_err(sess_err)?;
    session
        .insert(KEY_OLD_TOKENS, old)
        .await
        .map_err(sess_err)?;
    apply_expiry(session, info, settings().idle_timeout_secs);
    session
        .insert(KEY_REFRESHED, chrono::Utc::now().timestamp())
        .await
        .map_err(sess_err)?;
    Ok(())
}

pub async fn set_session_lang(session: &Session, lang: &str) -> Result<(), AppError> {
    session
        .insert(KEY_LANG, lang.to_string())
        .await
        .map_err(sess_err)
}

/// For plain form posts (no JavaScript) a real redirect; the hydrated page
/// navigates by itself.
pub fn redirect_if_form(path: &str) {
    let accepts_html = use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    if accepts_html {
        leptos_axum::redirect(path);
    }
}

/// A list filter from the portal's table parameters (50 rows a page).
pub fn list_filter(q: &str, sort: &str, dir: &str, page: i64) -> cloud::identity::ListFilter {
    use cloud::identity::SortKey;
    let sort = match sort {
        "id" => SortKey::Id,
        "enabled" => SortKey::Enabled,
        "email" => SortKey::Email,
        "created" => SortKey::Created,
        _ => SortKey::Name,
    };
    let q = q.trim();
    cloud::identity::ListFilter {
        search: (!q.is_empty()).then(|| q.to_string()),
        sort,
        dir: cloud::SortDir::parse(dir),
        limit: Some(crate::components::PAGE_SIZE),
        offset: Some(cloud::page::page_offset(page, crate::components::PAGE_SIZE)),
        ..Default::default()
    }
}

pub fn compute() -> Result<cloud::compute::ComputeService, AppError> {
    use_context::<cloud::compute::ComputeService>().ok_or_else(|| missing_service("compute"))
}

/// `auth()` with the compute service, taken from the context before
/// anything is awaited (see [`auth`]).
pub async fn auth_compute() -> Result<(Auth, cloud::compute::ComputeService), AppError> {
    let compute = compute()?;
    Ok((auth().await?, compute))
}
