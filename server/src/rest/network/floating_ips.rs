//! `/v2.0/floatingips`: addresses of external networks a project holds,
//! associated with one of its ports through a router, over the network
//! service.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::network::{
    FloatingIp, FloatingIpFilter, FloatingIpSortKey, FloatingIpUpdate, NewFloatingIp,
};
use serde_json::{json, Map, Value};

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
        .route("/floatingips", get(index).post(create))
        .route("/floatingips/{id}", get(show).put(update).delete(delete))
}

const FILTERS: &[&str] = &[
    "id",
    "floating_ip_address",
    "floating_network_id",
    "fixed_ip_address",
    "port_id",
    "router_id",
    "status",
    "description",
    "project_id",
    "tenant_id",
];

pub fn render(f: &FloatingIp) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(f.id));
    o.insert("project_id".into(), json!(f.project_id));
    o.insert("tenant_id".into(), json!(f.project_id));
    o.insert("floating_network_id".into(), json!(f.floating_network_id));
    o.insert(
        "floating_ip_address".into(),
        json!(f.floating_ip_address.to_string()),
    );
    o.insert(
        "fixed_ip_address".into(),
        json!(f.fixed_ip_address.map(|i| i.to_string())),
    );
    o.insert("port_id".into(), json!(f.port_id));
    o.insert("router_id".into(), json!(f.router_id));
    o.insert("status".into(), json!(f.status));
    o.insert("description".into(), json!(f.description));
    o.insert("port_forwardings".into(), json!([]));
    o.insert("qos_policy_id".into(), Value::Null);
    o.insert("tags".into(), json!([]));
    o.insert("revision_number".into(), json!(0));
    standard(&mut o, &f.created_at, &f.updated_at);
    Value::Object(o)
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(FILTERS)?;
    // `port_id=` (empty) asks for the unassociated ones, as in Neutron.
    let port_id = q.one("port_id").map(|p| Some(p).filter(|p| !p.is_empty()));
    let base = FloatingIpFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        floating_network_id: q.text("floating_network_id"),
        floating_ip_address: q.text("floating_ip_address"),
        port_id,
        fixed_ip_address: q.text("fixed_ip_address"),
        router_id: q.text("router_id"),
        status: q.text("status"),
        sort: q.sort(FloatingIpSortKey::parse)?,
        ..Default::default()
    };
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |f: &FloatingIp| f.id.clone(),
        |marker, limit| {
            let f = FloatingIpFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_floating_ips(ctx, &f).await }
        },
    )
    .await?;
    if let Some(d) = q.text("description") {
        rows.retain(|f| f.description == d);
    }
    let fields = q.fields();
    let last = rows.last().map(|f| f.id.clone());
    let items = rows
        .iter()
        .map(|f| select_fields(render(f), &fields))
        .collect();
    Ok(Json(list_body(
        &state,
        "floatingips",
        &q,
        items,
        last,
        more,
    )))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let f = state.network.get_floating_ip(&caller.ctx, &id).await?;
    Ok(Json(
        json!({ "floatingip": select_fields(render(&f), &q.fields()) }),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    let mut a = Attrs::new(object_at(&body, "floatingip")?);
    let floating_network_id = a.string("floating_network_id")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'floating_network_id' not specified",
        )
    })?;
    let new = NewFloatingIp {
        project_id: project_of(&mut a)?,
        floating_network_id,
        subnet_id: a.string_or_null("subnet_id")?.filter(|s| !s.is_empty()),
        floating_ip_address: a
            .string_or_null("floating_ip_address")?
            .filter(|s| !s.is_empty()),
        port_id: a.string_or_null("port_id")?.filter(|s| !s.is_empty()),
        fixed_ip_address: a
            .string_or_null("fixed_ip_address")?
            .filter(|s| !s.is_empty()),
        description: a.string_or_null("description")?.unwrap_or_default(),
    };
    if matches!(a.peek("dns_name"), Some(Value::String(s)) if !s.is_empty())
        || matches!(a.peek("dns_domain"), Some(Value::String(s)) if !s.is_empty())
    {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: DNS names for floating IPs are not supported by this cloud.",
        ));
    }
    a.ignore(&["tags", "dns_name", "dns_domain", "qos_policy_id"]);
    a.done()?;
    let f = state.network.create_floating_ip(&caller.ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "floatingip": render(&f) })),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let mut a = Attrs::new(object_at(&body, "floatingip")?);
    // `port_id: null` disassociates; a port id associates.
    let port_id = match a.take("port_id") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(Value::String(s)) => Some(Some(s)),
        Some(v) => {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for port_id. Reason: '{v}' is not a valid string."
            )))
        }
    };
    let u = FloatingIpUpdate {
        port_id,
        fixed_ip_address: a
            .string_or_null("fixed_ip_address")?
            .filter(|s| !s.is_empty()),
        description: a.string_or_null("description")?,
    };
    a.ignore(&["id", "qos_policy_id"]);
    a.done()?;
    let f = state
        .network
        .update_floating_ip(&caller.ctx, &id, u)
        .await?;
    Ok(Json(json!({ "floatingip": render(&f) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state.network.delete_floating_ip(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
