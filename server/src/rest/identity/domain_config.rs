//! `/v3/domains/{id}/config…` and `/v3/domains/config/…/default`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::JsonBody;
use crate::rest::auth::Caller;
use crate::rest::error::ApiResult;
use crate::AppState;

#[derive(Deserialize)]
pub struct ConfigBody {
    config: Map<String, Value>,
}

fn body(config: Map<String, Value>) -> Json<Value> {
    Json(json!({ "config": config }))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(domain): Path<String>,
    JsonBody(b): JsonBody<ConfigBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (config, created) = state
        .identity
        .create_domain_config(&caller.ctx, &domain, &b.config)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, body(config)))
}

async fn show_at(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> ApiResult<Json<Value>> {
    Ok(body(
        state
            .identity
            .get_domain_config(&caller.ctx, domain, group, option)
            .await?,
    ))
}

async fn update_at(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    group: Option<&str>,
    option: Option<&str>,
    config: Map<String, Value>,
) -> ApiResult<Json<Value>> {
    Ok(body(
        state
            .identity
            .update_domain_config(&caller.ctx, domain, config, group, option)
            .await?,
    ))
}

async fn delete_at(
    state: &AppState,
    caller: &Caller,
    domain: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .delete_domain_config(&caller.ctx, domain, group, option)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    show_at(&state, &caller, &domain, None, None).await
}

pub async fn show_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, group)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    show_at(&state, &caller, &domain, Some(&group), None).await
}

pub async fn show_option(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, group, option)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    show_at(&state, &caller, &domain, Some(&group), Some(&option)).await
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(domain): Path<String>,
    JsonBody(b): JsonBody<ConfigBody>,
) -> ApiResult<Json<Value>> {
    update_at(&state, &caller, &domain, None, None, b.config).await
}

pub async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, group)): Path<(String, String)>,
    JsonBody(b): JsonBody<ConfigBody>,
) -> ApiResult<Json<Value>> {
    update_at(&state, &caller, &domain, Some(&group), None, b.config).await
}

pub async fn update_option(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, group, option)): Path<(String, String, String)>,
    JsonBody(b): JsonBody<ConfigBody>,
) -> ApiResult<Json<Value>> {
    update_at(
        &state,
        &caller,
        &domain,
        Some(&group),
        Some(&option),
        b.config,
    )
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(domain): Path<String>,
) -> ApiResult<StatusCode> {
    delete_at(&state, &caller, &domain, None, None).await
}

pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, group)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    delete_at(&state, &caller, &domain, Some(&group), None).await
}

pub async fn delete_option(
    State(state): State<AppState>,
    caller: Caller,
    Path((domain, group, option)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    delete_at(&state, &caller, &domain, Some(&group), Some(&option)).await
}

pub async fn default_all(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(body(state.identity.domain_config_default(
        &caller.ctx,
        None,
        None,
    )?))
}

pub async fn default_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(group): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(body(state.identity.domain_config_default(
        &caller.ctx,
        Some(&group),
        None,
    )?))
}

pub async fn default_option(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, option)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(body(state.identity.domain_config_default(
        &caller.ctx,
        Some(&group),
        Some(&option),
    )?))
}
