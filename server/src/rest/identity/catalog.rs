//! `/v3/services` and `/v3/endpoints` (read-only: bootstrap keeps the catalog).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use cloud::identity::{Endpoint, Service};
use serde_json::{json, Value};

use super::base;
use super::ListLinks;
use crate::rest::auth::Caller;
use crate::rest::error::ApiResult;
use crate::AppState;

fn service_json(state: &AppState, s: &Service) -> Value {
    json!({
        "id": s.id,
        "type": s.r#type,
        "name": s.name,
        "description": s.description,
        "enabled": s.enabled,
        "links": {"self": format!("{}/services/{}", base(state), s.id)},
    })
}

fn endpoint_json(state: &AppState, e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "interface": e.interface,
        "region": e.region_id,
        "region_id": e.region_id,
        "service_id": e.service_id,
        "url": e.url,
        "enabled": e.enabled,
        "links": {"self": format!("{}/endpoints/{}", base(state), e.id)},
    })
}

pub async fn list_services(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let services = state.identity.list_services(&caller.ctx).await?;
    let items: Vec<Value> = services
        .iter()
        .filter(|s| {
            q.get("type").is_none_or(|t| *t == s.r#type)
                && q.get("name").is_none_or(|n| *n == s.name)
        })
        .map(|s| service_json(&state, s))
        .collect();
    Ok(Json(json!({"services": items, "links": links.0.clone()})))
}

pub async fn get_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = state.identity.get_service(&caller.ctx, &id).await?;
    Ok(Json(json!({"service": service_json(&state, &s)})))
}

pub async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let endpoints = state.identity.list_endpoints(&caller.ctx).await?;
    let items: Vec<Value> = endpoints
        .iter()
        .filter(|e| {
            q.get("service_id").is_none_or(|v| *v == e.service_id)
                && q.get("interface").is_none_or(|v| *v == e.interface)
                && q.get("region_id").is_none_or(|v| *v == e.region_id)
        })
        .map(|e| endpoint_json(&state, e))
        .collect();
    Ok(Json(json!({"endpoints": items, "links": links.0.clone()})))
}

pub async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = state.identity.get_endpoint(&caller.ctx, &id).await?;
    Ok(Json(json!({"endpoint": endpoint_json(&state, &e)})))
}
