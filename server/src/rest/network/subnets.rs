//! `/v2.0/subnets`: IPv4 subnets (IPv6 comes later: `ip_version` 6 is
//! refused by the service, and a list filtered on it is empty).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::network::{
    GatewayRequest, NewSubnet, PoolRequest, RouteRequest, Subnet, SubnetFilter, SubnetSortKey,
    SubnetUpdate,
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
        .route("/subnets", get(index).post(create))
        .route("/subnets/{id}", get(show).put(update).delete(delete))
}

const FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "network_id",
    "cidr",
    "gateway_ip",
    "enable_dhcp",
    "ip_version",
    "project_id",
    "tenant_id",
    "subnetpool_id",
];

pub fn render(s: &Subnet) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id));
    o.insert("name".into(), json!(s.name));
    o.insert("description".into(), json!(s.description));
    o.insert("project_id".into(), json!(s.project_id));
    o.insert("tenant_id".into(), json!(s.project_id));
    o.insert("network_id".into(), json!(s.network_id));
    o.insert("ip_version".into(), json!(s.ip_version));
    o.insert("cidr".into(), json!(s.cidr.to_string()));
    o.insert(
        "gateway_ip".into(),
        json!(s.gateway_ip.map(|g| g.to_string())),
    );
    o.insert(
        "allocation_pools".into(),
        Value::Array(
            s.allocation_pools
                .iter()
                .map(|p| json!({"start": p.start.to_string(), "end": p.end.to_string()}))
                .collect(),
        ),
    );
    o.insert(
        "dns_nameservers".into(),
        json!(s
            .dns_nameservers
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()),
    );
    o.insert(
        "host_routes".into(),
        Value::Array(
            s.host_routes
                .iter()
                .map(|r| {
                    json!({"destination": r.destination.to_string(), "nexthop": r.nexthop.to_string()})
                })
                .collect(),
        ),
    );
    o.insert("enable_dhcp".into(), json!(s.enable_dhcp));
    o.insert("ipv6_address_mode".into(), Value::Null);
    o.insert("ipv6_ra_mode".into(), Value::Null);
    o.insert("subnetpool_id".into(), Value::Null);
    o.insert("segment_id".into(), Value::Null);
    o.insert("service_types".into(), json!([]));
    o.insert("dns_publish_fixed_ip".into(), json!(false));
    standard(&mut o, &s.created_at, &s.updated_at);
    Value::Object(o)
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(FILTERS)?;
    let empty = || Json(list_body(&state, "subnets", &q, vec![], None, false));
    // Only IPv4 subnets exist, and none comes from a pool.
    if q.text("ip_version").is_some_and(|v| v.trim() != "4") {
        return Ok(empty());
    }
    if q.text("subnetpool_id").is_some_and(|v| !v.is_empty()) {
        return Ok(empty());
    }
    let base = SubnetFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        network_id: q.text("network_id"),
        name: q.text("name"),
        cidr: q.text("cidr"),
        gateway_ip: q.text("gateway_ip"),
        enable_dhcp: q.flag("enable_dhcp")?,
        sort: q.sort(SubnetSortKey::parse)?,
        ..Default::default()
    };
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |s: &Subnet| s.id.clone(),
        |marker, limit| {
            let f = SubnetFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_subnets(ctx, &f).await }
        },
    )
    .await?;
    if let Some(d) = q.text("description") {
        rows.retain(|s| s.description == d);
    }
    let fields = q.fields();
    let last = rows.last().map(|s| s.id.clone());
    let items = rows
        .iter()
        .map(|s| select_fields(render(s), &fields))
        .collect();
    Ok(Json(list_body(&state, "subnets", &q, items, last, more)))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let s = state.network.get_subnet(&caller.ctx, &id).await?;
    Ok(Json(
        json!({ "subnet": select_fields(render(&s), &q.fields()) }),
    ))
}

/// `gateway_ip`: absent is the CIDR's first host, `null` none.
fn gateway_of(v: Option<Value>) -> NeutronResult<Option<GatewayRequest>> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(GatewayRequest::None)),
        Some(Value::String(s)) => Ok(Some(GatewayRequest::Address(s))),
        Some(v) => Err(NeutronFault::bad_request(format!(
            "Invalid input for gateway_ip. Reason: '{v}' is not a valid IP address."
        ))),
    }
}

/// A string member of one entry of a list attribute.
fn member(o: &Map<String, Value>, list: &str, key: &str) -> NeutronResult<String> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(NeutronFault::bad_request(format!(
            "Invalid input for {list}. Reason: '{}' has no valid '{key}'.",
            Value::Object(o.clone())
        ))),
    }
}

fn pools_of(a: &mut Attrs) -> NeutronResult<Option<Vec<PoolRequest>>> {
    a.objects("allocation_pools")?
        .map(|pools| {
            pools
                .iter()
                .map(|p| {
                    Ok(PoolRequest {
                        start: member(p, "allocation_pools", "start")?,
                        end: member(p, "allocation_pools", "end")?,
                    })
                })
                .collect()
        })
        .transpose()
}

fn routes_of(a: &mut Attrs) -> NeutronResult<Option<Vec<RouteRequest>>> {
    a.objects("host_routes")?
        .map(|routes| {
            routes
                .iter()
                .map(|r| {
                    Ok(RouteRequest {
                        destination: member(r, "host_routes", "destination")?,
                        nexthop: member(r, "host_routes", "nexthop")?,
                    })
                })
                .collect()
        })
        .transpose()
}

/// Attributes of features this cloud does not have, accepted at their
/// default values only.
fn unsupported(a: &mut Attrs) -> NeutronResult<()> {
    for key in [
        "subnetpool_id",
        "ipv6_ra_mode",
        "ipv6_address_mode",
        "segment_id",
        "prefixlen",
    ] {
        match a.take(key) {
            None | Some(Value::Null) => {}
            Some(_) => {
                return Err(NeutronFault::bad_request(format!(
                    "Invalid input for operation: '{key}' is not supported by this cloud."
                )))
            }
        }
    }
    if a.boolean("use_default_subnet_pool")? == Some(true) {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: subnet pools are not supported by this cloud: give a cidr.",
        ));
    }
    if let Some(types) = a.strings("service_types")? {
        if !types.is_empty() {
            return Err(NeutronFault::bad_request(
                "Invalid input for operation: 'service_types' is not supported by this cloud.",
            ));
        }
    }
    if a.boolean("dns_publish_fixed_ip")? == Some(true) {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: 'dns_publish_fixed_ip' is not supported by this cloud.",
        ));
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    if body.get("subnets").is_some() {
        return Err(NeutronFault::bad_request(
            "Bulk subnet creation is not supported by this cloud: create one subnet per request.",
        ));
    }
    let mut a = Attrs::new(object_at(&body, "subnet")?);
    let ip_version = match a.integer("ip_version")? {
        None => None,
        Some(v) => Some(u8::try_from(v).map_err(|_| {
            NeutronFault::bad_request(format!(
                "Invalid input for ip_version. Reason: '{v}' is not in [4, 6]."
            ))
        })?),
    };
    let network_id = a.string("network_id")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'network_id' not specified",
        )
    })?;
    let cidr = a.string("cidr")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Bad subnets request: a cidr must be specified in the absence of a subnet pool.",
        )
    })?;
    unsupported(&mut a)?;
    let new = NewSubnet {
        project_id: project_of(&mut a)?,
        network_id,
        name: a.string("name")?.unwrap_or_default(),
        description: a.string("description")?.unwrap_or_default(),
        ip_version,
        cidr,
        gateway_ip: gateway_of(a.take("gateway_ip"))?.unwrap_or_default(),
        allocation_pools: pools_of(&mut a)?,
        dns_nameservers: a.strings("dns_nameservers")?.unwrap_or_default(),
        host_routes: routes_of(&mut a)?.unwrap_or_default(),
        enable_dhcp: a.boolean("enable_dhcp")?,
    };
    a.done()?;
    let s = state.network.create_subnet(&caller.ctx, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "subnet": render(&s) }))))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let mut a = Attrs::new(object_at(&body, "subnet")?);
    for key in ["cidr", "ip_version", "network_id"] {
        if a.take(key).is_some() {
            return Err(NeutronFault::bad_request(format!(
                "Cannot update read-only attribute {key}"
            )));
        }
    }
    let u = SubnetUpdate {
        name: a.string("name")?,
        description: a.string("description")?,
        gateway_ip: gateway_of(a.take("gateway_ip"))?,
        allocation_pools: pools_of(&mut a)?,
        dns_nameservers: a.strings("dns_nameservers")?,
        host_routes: routes_of(&mut a)?,
        enable_dhcp: a.boolean("enable_dhcp")?,
    };
    unsupported(&mut a)?;
    a.ignore(&["id"]);
    a.done()?;
    let s = state.network.update_subnet(&caller.ctx, &id, u).await?;
    Ok(Json(json!({ "subnet": render(&s) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state.network.delete_subnet(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
