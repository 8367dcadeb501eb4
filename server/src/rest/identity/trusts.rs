//! OS-TRUST: `/v3/OS-TRUST/trusts`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::identity::{NewTrust, Trust, TrustFilter};
use serde::Deserialize;
use serde_json::{json, Value};

use super::resources::role_json;
use super::ListLinks;
use super::{base, parse_time, JsonBody};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

fn trust_json(state: &AppState, t: &Trust, with_roles: bool) -> Value {
    let mut v = json!({
        "id": t.id,
        "trustor_user_id": t.trustor_user_id,
        "trustee_user_id": t.trustee_user_id,
        "project_id": t.project_id,
        "impersonation": t.impersonation,
        "allow_redelegation": t.allow_redelegation,
        "remaining_uses": t.remaining_uses,
        // Keystone's form: microseconds and a `Z`.
        "expires_at": t.expires_at.map(|e| e.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        "links": {"self": format!("{}/OS-TRUST/trusts/{}", base(state), t.id)},
    });
    if with_roles {
        v["roles"] = json!(t
            .roles
            .iter()
            .map(|r| role_json(state, r))
            .collect::<Vec<_>>());
        v["roles_links"] = json!({"self": null, "previous": null, "next": null});
    }
    v
}

#[derive(Deserialize)]
pub struct TrustBody {
    trust: TrustFields,
}

#[derive(Deserialize)]
struct RoleKey {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct TrustFields {
    trustor_user_id: String,
    trustee_user_id: String,
    impersonation: bool,
    project_id: Option<String>,
    #[serde(default)]
    roles: Vec<RoleKey>,
    expires_at: Option<String>,
    remaining_uses: Option<i64>,
    #[serde(default)]
    allow_redelegation: bool,
}

/// `POST /v3/OS-TRUST/trusts` → 201.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<TrustBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let t = b.trust;
    let expires_at = t.expires_at.as_deref().map(parse_time).transpose()?;
    let roles = t
        .roles
        .into_iter()
        .map(|r| {
            r.id.or(r.name)
                .ok_or_else(|| ApiError::bad_request("Each trust role needs an id or a name."))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let new = NewTrust {
        trustor_user_id: t.trustor_user_id,
        trustee_user_id: t.trustee_user_id,
        project_id: t.project_id,
        impersonation: t.impersonation,
        allow_redelegation: t.allow_redelegation,
        remaining_uses: t.remaining_uses,
        expires_at,
        roles,
    };
    let trust = state.identity.create_trust(&caller.ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"trust": trust_json(&state, &trust, true)})),
    ))
}

/// `GET /v3/OS-TRUST/trusts[?trustor_user_id=…][&trustee_user_id=…]`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let f = TrustFilter {
        trustor_user_id: q.get("trustor_user_id").cloned(),
        trustee_user_id: q.get("trustee_user_id").cloned(),
    };
    let trusts = state.identity.list_trusts(&caller.ctx, &f).await?;
    Ok(Json(json!({
        "trusts": trusts.iter().map(|t| trust_json(&state, t, false)).collect::<Vec<_>>(),
        "links": links.0.clone(),
    })))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = state.identity.get_trust(&caller.ctx, &id).await?;
    Ok(Json(json!({"trust": trust_json(&state, &t, true)})))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_trust(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/OS-TRUST/trusts/{id}/roles`.
pub async fn roles(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = state.identity.get_trust(&caller.ctx, &id).await?;
    Ok(Json(json!({
        "roles": t.roles.iter().map(|r| role_json(&state, r)).collect::<Vec<_>>(),
        "links": links.0.clone(),
    })))
}

/// `GET /v3/OS-TRUST/trusts/{id}/roles/{role_id}`.
pub async fn role(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, role_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let r = state
        .identity
        .get_trust_role(&caller.ctx, &id, &role_id)
        .await?;
    Ok(Json(json!({"role": role_json(&state, &r)})))
}

/// `HEAD /v3/OS-TRUST/trusts/{id}/roles/{role_id}` → 200, or 404.
pub async fn check_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, role_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .get_trust_role(&caller.ctx, &id, &role_id)
        .await?;
    Ok(StatusCode::OK)
}
