//! `/v3/policies`: Keystone's opaque policy blobs.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::identity::{Policy, PolicyUpdate};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{base, JsonBody, ListLinks};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

fn policy_json(state: &AppState, p: &Policy) -> Value {
    let mut out = p.extra.clone();
    out.insert("id".into(), json!(p.id));
    out.insert("type".into(), json!(p.r#type));
    out.insert("blob".into(), json!(p.blob));
    out.insert(
        "links".into(),
        json!({"self": format!("{}/policies/{}", base(state), p.id)}),
    );
    Value::Object(out)
}

#[derive(Deserialize)]
pub struct PolicyBody {
    policy: PolicyFields,
}

#[derive(Deserialize)]
struct PolicyFields {
    r#type: Option<String>,
    blob: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl PolicyFields {
    /// Attributes Keystone computes are never stored as extras.
    fn extra(mut self) -> (Option<String>, Option<String>, Map<String, Value>) {
        self.extra.remove("id");
        self.extra.remove("links");
        (self.r#type, self.blob, self.extra)
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let policies = state
        .identity
        .list_policies(&caller.ctx, q.get("type").map(String::as_str))
        .await?;
    let items: Vec<Value> = policies.iter().map(|p| policy_json(&state, p)).collect();
    Ok(Json(json!({"policies": items, "links": links.0.clone()})))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let p = state.identity.get_policy(&caller.ctx, &id).await?;
    Ok(Json(json!({"policy": policy_json(&state, &p)})))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<PolicyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (t, blob, extra) = b.policy.extra();
    let t = t.ok_or_else(|| ApiError::bad_request("'type' is a required property"))?;
    let blob = blob.ok_or_else(|| ApiError::bad_request("'blob' is a required property"))?;
    let p = state
        .identity
        .create_policy(&caller.ctx, &t, &blob, extra)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"policy": policy_json(&state, &p)})),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PolicyBody>,
) -> ApiResult<Json<Value>> {
    let (r#type, blob, extra) = b.policy.extra();
    let p = state
        .identity
        .update_policy(
            &caller.ctx,
            &id,
            PolicyUpdate {
                r#type,
                blob,
                extra,
            },
        )
        .await?;
    Ok(Json(json!({"policy": policy_json(&state, &p)})))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_policy(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
