//! `/v2.0/routers`, with `add_router_interface` and
//! `remove_router_interface`: a project's routers, their interfaces on
//! its subnets and their external gateway (`ext-gw-mode`: SNAT on or
//! off), over the network service.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::Json;
use cloud::network::{
    ExternalGatewayRequest, InterfaceRequest, NewRouter, Router, RouterFilter, RouterInterface,
    RouterSortKey, RouterUpdate,
};
use serde_json::{json, Map, Value};

use super::ports::fixed_ips_at;
use super::{
    collect, list_body, object_at, project_of, select_fields, standard, Attrs, ListQuery,
    NeutronFault, NeutronResult,
};
use crate::rest::auth::Caller;
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/routers", get(index).post(create))
        .route("/routers/{id}", get(show).put(update).delete(delete))
        .route("/routers/{id}/add_router_interface", put(add_interface))
        .route(
            "/routers/{id}/remove_router_interface",
            put(remove_interface),
        )
}

const FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "status",
    "admin_state_up",
    "project_id",
    "tenant_id",
];

pub fn render(r: &Router) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(r.id));
    o.insert("name".into(), json!(r.name));
    o.insert("description".into(), json!(r.description));
    o.insert("project_id".into(), json!(r.project_id));
    o.insert("tenant_id".into(), json!(r.project_id));
    o.insert("admin_state_up".into(), json!(r.admin_state_up));
    o.insert("status".into(), json!(r.status));
    let gateway = match &r.external_gateway {
        None => Value::Null,
        Some(g) => json!({
            "network_id": g.network_id,
            "enable_snat": g.enable_snat,
            "external_fixed_ips": g.external_fixed_ips.iter().map(|ip| json!({
                "subnet_id": ip.subnet_id,
                "ip_address": ip.ip_address.to_string(),
            })).collect::<Vec<_>>(),
        }),
    };
    o.insert("external_gateway_info".into(), gateway);
    o.insert("routes".into(), json!([]));
    o.insert("tags".into(), json!([]));
    o.insert("revision_number".into(), json!(0));
    standard(&mut o, &r.created_at, &r.updated_at);
    Value::Object(o)
}

fn render_interface(i: &RouterInterface) -> Value {
    json!({
        "id": i.router_id,
        "project_id": i.project_id,
        "tenant_id": i.project_id,
        "port_id": i.port_id,
        "network_id": i.network_id,
        "subnet_id": i.subnet_ids.first(),
        "subnet_ids": i.subnet_ids,
    })
}

/// `external_gateway_info`: an object with a `network_id` sets the
/// gateway; `null` or `{}` clears it.
fn gateway_of(a: &mut Attrs) -> NeutronResult<Option<Option<ExternalGatewayRequest>>> {
    let Some(v) = a.take("external_gateway_info") else {
        return Ok(None);
    };
    let map = match v {
        Value::Null => return Ok(Some(None)),
        Value::Object(m) if m.is_empty() => return Ok(Some(None)),
        Value::Object(m) => m,
        other => {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for external_gateway_info. Reason: '{other}' is not a dictionary."
            )))
        }
    };
    let mut g = Attrs::new(map);
    let network_id = g.string("network_id")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Invalid input for external_gateway_info. Reason: Validation of dictionary's keys failed. Expected keys: {'network_id'}",
        )
    })?;
    let req = ExternalGatewayRequest {
        network_id,
        enable_snat: g.boolean("enable_snat")?,
        external_fixed_ips: fixed_ips_at(&mut g, "external_fixed_ips")?,
    };
    g.ignore(&["qos_policy_id"]);
    g.done()?;
    Ok(Some(Some(req)))
}

/// `routes` (the `extraroute` extension) is not served: only an empty
/// list is taken.
fn no_routes(a: &mut Attrs) -> NeutronResult<()> {
    match a.take("routes") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(v)) if v.is_empty() => Ok(()),
        Some(_) => Err(NeutronFault::bad_request(
            "Invalid input for operation: extra routes are not supported by this cloud.",
        )),
    }
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(FILTERS)?;
    let base = RouterFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        name: q.text("name"),
        status: q.text("status"),
        admin_state_up: q.flag("admin_state_up")?,
        sort: q.sort(RouterSortKey::parse)?,
        ..Default::default()
    };
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |r: &Router| r.id.clone(),
        |marker, limit| {
            let f = RouterFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_routers(ctx, &f).await }
        },
    )
    .await?;
    if let Some(d) = q.text("description") {
        rows.retain(|r| r.description == d);
    }
    let fields = q.fields();
    let last = rows.last().map(|r| r.id.clone());
    let items = rows
        .iter()
        .map(|r| select_fields(render(r), &fields))
        .collect();
    Ok(Json(list_body(&state, "routers", &q, items, last, more)))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let r = state.network.get_router(&caller.ctx, &id).await?;
    Ok(Json(
        json!({ "router": select_fields(render(&r), &q.fields()) }),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    let mut a = Attrs::new(object_at(&body, "router")?);
    let new = NewRouter {
        project_id: project_of(&mut a)?,
        name: a.string("name")?.unwrap_or_default(),
        description: a.string_or_null("description")?.unwrap_or_default(),
        admin_state_up: a.boolean("admin_state_up")?,
        external_gateway: gateway_of(&mut a)?.flatten(),
    };
    no_routes(&mut a)?;
    a.ignore(&["tags", "availability_zone_hints", "flavor_id"]);
    a.done()?;
    let r = state.network.create_router(&caller.ctx, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "router": render(&r) }))))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let mut a = Attrs::new(object_at(&body, "router")?);
    let u = RouterUpdate {
        name: a.string("name")?,
        description: a.string_or_null("description")?,
        admin_state_up: a.boolean("admin_state_up")?,
        external_gateway: gateway_of(&mut a)?,
    };
    no_routes(&mut a)?;
    a.ignore(&["id"]);
    a.done()?;
    let r = state.network.update_router(&caller.ctx, &id, u).await?;
    Ok(Json(json!({ "router": render(&r) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state.network.delete_router(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of both interface calls: `subnet_id` and/or `port_id`.
fn interface_body(body: &Value) -> NeutronResult<(Option<String>, Option<String>)> {
    let Value::Object(map) = body else {
        return Err(NeutronFault::bad_request(
            "Bad router request: the body must be an object with subnet_id or port_id.",
        ));
    };
    let mut a = Attrs::new(map.clone());
    let subnet = a.string("subnet_id")?.filter(|s| !s.is_empty());
    let port = a.string("port_id")?.filter(|s| !s.is_empty());
    a.done()?;
    if subnet.is_none() && port.is_none() {
        return Err(NeutronFault::bad_request(
            "Bad router request: Either subnet_id or port_id must be specified.",
        ));
    }
    Ok((subnet, port))
}

pub async fn add_interface(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let what = match interface_body(&body)? {
        (Some(_), Some(_)) => {
            return Err(NeutronFault::bad_request(
                "Bad router request: Cannot specify both subnet-id and port-id.",
            ))
        }
        (Some(s), None) => InterfaceRequest::Subnet(s),
        (None, Some(p)) => InterfaceRequest::Port(p),
        (None, None) => unreachable!("interface_body refuses it"),
    };
    let i = state
        .network
        .add_router_interface(&caller.ctx, &id, what)
        .await?;
    Ok(Json(render_interface(&i)))
}

pub async fn remove_interface(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let (subnet, port) = interface_body(&body)?;
    let i = state
        .network
        .remove_router_interface(&caller.ctx, &id, subnet.as_deref(), port.as_deref())
        .await?;
    Ok(Json(render_interface(&i)))
}
