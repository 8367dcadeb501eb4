//! `/v2/images/{id}/members`: sharing a `shared` image with other projects.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::image::{ImageError, MemberStatus};
use serde_json::{json, Value};

use super::member_json;
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::AppState;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let members = state.image.list_members(&caller.ctx, &id).await?;
    Ok(Json(json!({
        "members": members.iter().map(member_json).collect::<Vec<_>>(),
        "schema": "/v2/schemas/members",
    })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let member = match body.get("member") {
        None => return Err(ApiError::bad_request("Member to be added not specified")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(ApiError::bad_request("Member can't be empty"))
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::bad_request("Member must be a project id string")),
    };
    let m = state.image.add_member(&caller.ctx, &id, &member).await?;
    Ok(Json(member_json(&m)))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    match state.image.get_member(&caller.ctx, &id, &member_id).await {
        Ok(m) => Ok(Json(member_json(&m))),
        // As Glance: a refusal here reads as "not found", telling nothing.
        Err(ImageError::Forbidden(msg)) => Err(ApiError::not_found(msg.text)),
        Err(e) => Err(e.into()),
    }
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let status = match body.get("status") {
        None => return Err(ApiError::bad_request("Status not specified")),
        Some(v) => v.as_str().and_then(MemberStatus::parse).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Incorrect request: Invalid status {v}: it must be pending, accepted or rejected."
            ))
        })?,
    };
    let m = state
        .image
        .update_member(&caller.ctx, &id, &member_id, status)
        .await?;
    Ok(Json(member_json(&m)))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .image
        .remove_member(&caller.ctx, &id, &member_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
