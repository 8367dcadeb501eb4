//! `/v3/credentials` and `/v3/users/{id}/credentials/OS-EC2`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::identity::{Credential, CredentialUpdate, Ec2Credential, NewCredential};
use cloud::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{base, double_option, JsonBody, ListLinks};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

fn credential_json(state: &AppState, c: &Credential) -> Value {
    json!({
        "id": c.id,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "type": c.r#type,
        "blob": c.blob.expose(),
        "links": {"self": format!("{}/credentials/{}", base(state), c.id)},
    })
}

fn ec2_json(state: &AppState, c: &Ec2Credential) -> Value {
    json!({
        "user_id": c.user_id,
        "tenant_id": c.project_id,
        "access": c.access,
        "secret": c.secret.expose(),
        "trust_id": c.trust_id,
        "links": {"self": format!(
            "{}/users/{}/credentials/OS-EC2/{}", base(state), c.user_id, c.access
        )},
    })
}

#[derive(Deserialize)]
pub struct CredentialBody {
    credential: CredentialFields,
}

#[derive(Deserialize)]
struct CredentialFields {
    user_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    project_id: Option<Option<String>>,
    r#type: Option<String>,
    blob: Option<String>,
}

fn required(field: &str) -> ApiError {
    ApiError::bad_request(format!("'{field}' is a required property"))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let creds = state
        .identity
        .list_credentials(
            &caller.ctx,
            q.get("user_id").map(String::as_str),
            q.get("type").map(String::as_str),
        )
        .await?;
    let items: Vec<Value> = creds.iter().map(|c| credential_json(&state, c)).collect();
    Ok(Json(
        json!({"credentials": items, "links": links.0.clone()}),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = state.identity.get_credential(&caller.ctx, &id).await?;
    Ok(Json(json!({"credential": credential_json(&state, &c)})))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<CredentialBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = b.credential;
    let c = state
        .identity
        .create_credential(
            &caller.ctx,
            NewCredential {
                user_id: f.user_id.ok_or_else(|| required("user_id"))?,
                project_id: f.project_id.flatten(),
                r#type: f.r#type.ok_or_else(|| required("type"))?,
                blob: Secret::new(f.blob.ok_or_else(|| required("blob"))?),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": credential_json(&state, &c)})),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CredentialBody>,
) -> ApiResult<Json<Value>> {
    let f = b.credential;
    let c = state
        .identity
        .update_credential(
            &caller.ctx,
            &id,
            CredentialUpdate {
                user_id: f.user_id,
                project_id: f.project_id,
                r#type: f.r#type,
                blob: f.blob.map(Secret::new),
            },
        )
        .await?;
    Ok(Json(json!({"credential": credential_json(&state, &c)})))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_credential(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------ OS-EC2

#[derive(Deserialize)]
pub struct Ec2Body {
    tenant_id: Option<String>,
}

pub async fn ec2_list(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let creds = state
        .identity
        .list_ec2_credentials(&caller.ctx, &user_id)
        .await?;
    let items: Vec<Value> = creds.iter().map(|c| ec2_json(&state, c)).collect();
    Ok(Json(
        json!({"credentials": items, "links": links.0.clone()}),
    ))
}

pub async fn ec2_create(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    JsonBody(b): JsonBody<Ec2Body>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = b.tenant_id.ok_or_else(|| required("tenant_id"))?;
    let c = state
        .identity
        .create_ec2_credential(&caller.ctx, &user_id, &project)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"credential": ec2_json(&state, &c)})),
    ))
}

pub async fn ec2_show(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, access)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let c = state
        .identity
        .get_ec2_credential(&caller.ctx, &user_id, &access)
        .await?;
    Ok(Json(json!({"credential": ec2_json(&state, &c)})))
}

pub async fn ec2_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, access)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .delete_ec2_credential(&caller.ctx, &user_id, &access)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
