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
        let ctx = info.context();
        Ok(Caller { token, info, ctx })
    }
}
