//! `/v3/users/{id}/application_credentials`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::identity::{AccessRule, AppCredential, NewAccessRule, NewAppCredential};
use cloud::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ListLinks;
use super::{base, parse_time, JsonBody};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

fn cred_json(state: &AppState, c: &AppCredential) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "expires_at": c.expires_at.map(|t| Value::String(naive_iso(&t))),
        "unrestricted": c.unrestricted,
        "roles": c.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": null})).collect::<Vec<_>>(),
        "access_rules": c.access_rules.iter().map(|r| json!({"id": r.id, "service": r.service, "path": r.path, "method": r.method})).collect::<Vec<_>>(),
        "links": {"self": format!("{}/users/{}/application_credentials/{}", base(state), c.user_id, c.id)},
    })
}

/// An application credential's expiry as Keystone sends it: Python's
/// `isoformat()` of a naive UTC time — no zone, microseconds only when
/// there are any (`2026-12-02T05:14:38.797088`, `2099-01-01T00:00:00`), so
/// a client reads back exactly what it sent.
fn naive_iso(t: &chrono::DateTime<chrono::Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

#[derive(Deserialize)]
pub struct CredBody {
    application_credential: CredFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CredFields {
    name: Option<String>,
    description: Option<String>,
    secret: Option<String>,
    expires_at: Option<String>,
    roles: Vec<RoleKey>,
    unrestricted: Option<bool>,
    access_rules: Vec<NewAccessRule>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RoleKey {
    id: Option<String>,
    name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    JsonBody(b): JsonBody<CredBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = b.application_credential;
    let roles = c
        .roles
        .into_iter()
        .map(|r| {
            r.id.or(r.name)
                .ok_or_else(|| ApiError::bad_request("Each role needs an id or a name."))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let req = NewAppCredential {
        name: c.name.ok_or_else(|| {
            ApiError::bad_request(
                "Expecting to find application_credential.name in the request body.",
            )
        })?,
        description: c.description,
        roles,
        expires_at: c.expires_at.as_deref().map(parse_time).transpose()?,
        unrestricted: c.unrestricted.unwrap_or(false),
        secret: c.secret.map(Secret::new),
        access_rules: c.access_rules,
    };
    let created = state
        .identity
        .create_app_credential(&caller.ctx, &user_id, req)
        .await?;
    let mut v = cred_json(&state, &created.credential);
    v["secret"] = json!(created.secret.expose());
    Ok((
        StatusCode::CREATED,
        Json(json!({"application_credential": v})),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(user_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let creds = state
        .identity
        .list_app_credentials(&caller.ctx, &user_id, q.get("name").map(String::as_str))
        .await?;
    Ok(Json(json!({
        "application_credentials": creds.iter().map(|c| cred_json(&state, c)).collect::<Vec<_>>(),
        "links": links.0.clone(),
    })))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let c = state
        .identity
        .get_app_credential(&caller.ctx, &user_id, &id)
        .await?;
    Ok(Json(
        json!({"application_credential": cred_json(&state, &c)}),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .delete_app_credential(&caller.ctx, &user_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------- access rules

fn rule_json(state: &AppState, user_id: &str, r: &AccessRule) -> Value {
    json!({
        "id": r.id,
        "service": r.service,
        "path": r.path,
        "method": r.method,
        "links": {"self": format!("{}/users/{user_id}/access_rules/{}", base(state), r.id)},
    })
}

/// `GET /v3/users/{id}/access_rules`.
pub async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let rules = state
        .identity
        .list_access_rules(&caller.ctx, &user_id)
        .await?;
    Ok(Json(json!({
        "access_rules": rules.iter().map(|r| rule_json(&state, &user_id, r)).collect::<Vec<_>>(),
        "links": links.0.clone(),
    })))
}

pub async fn show_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let r = state
        .identity
        .get_access_rule(&caller.ctx, &user_id, &id)
        .await?;
    Ok(Json(
        json!({"access_rule": rule_json(&state, &user_id, &r)}),
    ))
}

pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .delete_access_rule(&caller.ctx, &user_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
