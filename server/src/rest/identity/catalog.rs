//! `/v3/services`, `/v3/endpoints`, `/v3/regions` and OS-EP-FILTER's
//! `/v3/OS-EP-FILTER/endpoint_groups`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use cloud::identity::{
    Endpoint, EndpointGroup, EndpointGroupUpdate, EndpointUpdate, NewEndpoint, NewEndpointGroup,
    NewRegion, NewService, Region, RegionUpdate, Service, ServiceUpdate,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ListLinks;
use super::{base, double_option, JsonBody};
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
                && q.get("region_id")
                    .is_none_or(|v| Some(v) == e.region_id.as_ref())
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

// ------------------------------------------------------------ writes

#[derive(Deserialize)]
pub struct ServiceBody {
    service: ServiceFields,
}

#[derive(Deserialize, Default)]
struct ServiceFields {
    r#type: Option<String>,
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
}

fn missing(field: &str) -> crate::rest::error::ApiError {
    crate::rest::error::ApiError::bad_request(format!("'{field}' is a required property"))
}

pub async fn create_service(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<ServiceBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = b.service;
    let s = state
        .identity
        .create_service(
            &caller.ctx,
            NewService {
                r#type: f.r#type.ok_or_else(|| missing("type"))?,
                name: f.name,
                description: f.description,
                enabled: f.enabled,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"service": service_json(&state, &s)})),
    ))
}

pub async fn update_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ServiceBody>,
) -> ApiResult<Json<Value>> {
    let f = b.service;
    let s = state
        .identity
        .update_service(
            &caller.ctx,
            &id,
            ServiceUpdate {
                r#type: f.r#type,
                name: f.name,
                description: f.description,
                enabled: f.enabled,
            },
        )
        .await?;
    Ok(Json(json!({"service": service_json(&state, &s)})))
}

pub async fn delete_service(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_service(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct EndpointBody {
    endpoint: EndpointFields,
}

#[derive(Deserialize, Default)]
struct EndpointFields {
    service_id: Option<String>,
    interface: Option<String>,
    url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    region_id: Option<Option<String>>,
    /// Keystone's legacy field: a region that does not exist is created.
    #[serde(default, deserialize_with = "double_option")]
    region: Option<Option<String>>,
    /// Strictly a JSON boolean: `"True"` is a 400, as in Keystone.
    enabled: Option<bool>,
}

impl EndpointFields {
    /// `region_id` wins; the legacy `region` is used (and created) only
    /// when `region_id` is absent or null.
    fn region(&self) -> (Option<Option<String>>, bool) {
        match (&self.region_id, &self.region) {
            (Some(Some(id)), _) => (Some(Some(id.clone())), false),
            (_, Some(Some(r))) => (Some(Some(r.clone())), true),
            (Some(None), _) | (None, Some(None)) => (Some(None), false),
            (None, None) => (None, false),
        }
    }
}

pub async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<EndpointBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (region, create_region) = b.endpoint.region();
    let f = b.endpoint;
    let e = state
        .identity
        .create_endpoint(
            &caller.ctx,
            NewEndpoint {
                service_id: f.service_id.ok_or_else(|| missing("service_id"))?,
                interface: f.interface.ok_or_else(|| missing("interface"))?,
                url: f.url.ok_or_else(|| missing("url"))?,
                region_id: region.flatten(),
                create_region,
                enabled: f.enabled,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"endpoint": endpoint_json(&state, &e)})),
    ))
}

pub async fn update_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<EndpointBody>,
) -> ApiResult<Json<Value>> {
    let (region_id, create_region) = b.endpoint.region();
    let f = b.endpoint;
    let e = state
        .identity
        .update_endpoint(
            &caller.ctx,
            &id,
            EndpointUpdate {
                service_id: f.service_id,
                interface: f.interface,
                url: f.url,
                region_id,
                create_region,
                enabled: f.enabled,
            },
        )
        .await?;
    Ok(Json(json!({"endpoint": endpoint_json(&state, &e)})))
}

pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_endpoint(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------ regions

fn region_json(state: &AppState, r: &Region) -> Value {
    json!({
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": {"self": format!("{}/regions/{}", base(state), r.id)},
    })
}

#[derive(Deserialize)]
pub struct RegionBody {
    region: RegionFields,
}

#[derive(Deserialize, Default)]
struct RegionFields {
    id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    parent_region_id: Option<Option<String>>,
}

pub async fn list_regions(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let regions = state
        .identity
        .list_regions(&caller.ctx, q.get("parent_region_id").map(String::as_str))
        .await?;
    let items: Vec<Value> = regions.iter().map(|r| region_json(&state, r)).collect();
    Ok(Json(json!({"regions": items, "links": links.0.clone()})))
}

pub async fn get_region(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = state.identity.get_region(&caller.ctx, &id).await?;
    Ok(Json(json!({"region": region_json(&state, &r)})))
}

async fn create_region_with(
    state: AppState,
    caller: Caller,
    id: Option<String>,
    f: RegionFields,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = state
        .identity
        .create_region(
            &caller.ctx,
            NewRegion {
                id,
                description: f.description.flatten(),
                parent_region_id: f.parent_region_id.flatten(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"region": region_json(&state, &r)})),
    ))
}

pub async fn create_region(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<RegionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = b.region.id.clone();
    create_region_with(state, caller, id, b.region).await
}

/// `PUT /v3/regions/{id}`: a region with the id the client chose.
pub async fn put_region(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RegionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if b.region.id.as_ref().is_some_and(|body_id| *body_id != id) {
        return Err(crate::rest::error::ApiError::bad_request(format!(
            "Conflicting region IDs specified: \"{id}\" in the URL and \"{}\" in the body.",
            b.region.id.unwrap_or_default()
        )));
    }
    create_region_with(state, caller, Some(id), b.region).await
}

pub async fn update_region(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RegionBody>,
) -> ApiResult<Json<Value>> {
    if b.region.id.as_ref().is_some_and(|body_id| *body_id != id) {
        return Err(crate::rest::error::ApiError::bad_request(
            "The region id in the body must match the URL; a region's id cannot be changed.",
        ));
    }
    let f = b.region;
    let r = state
        .identity
        .update_region(
            &caller.ctx,
            &id,
            RegionUpdate {
                description: f.description.map(Option::unwrap_or_default),
                parent_region_id: f.parent_region_id,
            },
        )
        .await?;
    Ok(Json(json!({"region": region_json(&state, &r)})))
}

pub async fn delete_region(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.delete_region(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------- endpoint groups

fn endpoint_group_json(state: &AppState, g: &EndpointGroup) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "filters": g.filters,
        "links": {"self": format!("{}/OS-EP-FILTER/endpoint_groups/{}", base(state), g.id)},
    })
}

#[derive(Deserialize)]
pub struct EndpointGroupBody {
    endpoint_group: EndpointGroupFields,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EndpointGroupFields {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    description: Option<Option<String>>,
    filters: Option<serde_json::Map<String, Value>>,
}

pub async fn list_endpoint_groups(
    State(state): State<AppState>,
    caller: Caller,
    links: ListLinks,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let groups = state
        .identity
        .list_endpoint_groups(&caller.ctx, q.get("name").map(String::as_str))
        .await?;
    let items: Vec<Value> = groups
        .iter()
        .map(|g| endpoint_group_json(&state, g))
        .collect();
    Ok(Json(
        json!({"endpoint_groups": items, "links": links.0.clone()}),
    ))
}

pub async fn get_endpoint_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let g = state.identity.get_endpoint_group(&caller.ctx, &id).await?;
    Ok(Json(
        json!({"endpoint_group": endpoint_group_json(&state, &g)}),
    ))
}

pub async fn create_endpoint_group(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<EndpointGroupBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = b.endpoint_group;
    let g = state
        .identity
        .create_endpoint_group(
            &caller.ctx,
            NewEndpointGroup {
                name: f.name.ok_or_else(|| missing("name"))?,
                description: f.description.flatten(),
                filters: f.filters.ok_or_else(|| missing("filters"))?,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"endpoint_group": endpoint_group_json(&state, &g)})),
    ))
}

pub async fn update_endpoint_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<EndpointGroupBody>,
) -> ApiResult<Json<Value>> {
    let f = b.endpoint_group;
    let g = state
        .identity
        .update_endpoint_group(
            &caller.ctx,
            &id,
            EndpointGroupUpdate {
                name: f.name,
                description: f.description,
                filters: f.filters,
            },
        )
        .await?;
    Ok(Json(
        json!({"endpoint_group": endpoint_group_json(&state, &g)}),
    ))
}

pub async fn delete_endpoint_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .identity
        .delete_endpoint_group(&caller.ctx, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
