//! `X-Auth-Token` → validated token → `RequestContext`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cloud::identity::TokenInfo;
use cloud::RequestContext;

use super::error::ApiError;
use crate::AppState;

/// The caller of a REST request, from its `X-Auth-Token`.
pub struct Caller {
    pub token: String,
    pub info: TokenInfo,
    pub ctx: RequestContext,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthorized)?
            .to_string();
        let info = state
            .identity
            .validate_token(&token)
            .await
            .map_err(|e| match e {
                cloud::identity::IdentityError::TokenNotFound => ApiError::unauthorized(),
                other => other.into(),
            })?;
        // An application credential with access rules may make only the
        // requests they allow (keystonemiddleware's check, made here for
        // every service the server runs).
        if !info.access_rules.is_empty() {
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or_else(|| parts.uri.path().to_string(), |u| u.path().to_string());
            let allowed = crate::services::service_of_path(&path).is_some_and(|(service, rest)| {
                info.access_rules
                    .iter()
                    .any(|r| r.allows(service, parts.method.as_str(), rest))
            });
            if !allowed {
                tracing::info!(%path, "refused by the application credential's access rules");
                return Err(ApiError::unauthorized());
            }
        }
        let ctx = info.context();
        Ok(Caller { token, info, ctx })
    }
}
