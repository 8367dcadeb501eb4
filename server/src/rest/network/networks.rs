//! `/v2.0/networks`: Neutron's networks, with the `provider`,
//! `external-net`, `network-mtu` and `port-security` attributes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::network::{
    Network, NetworkFilter, NetworkSortKey, NetworkType, NetworkUpdate, NewNetwork,
};
use serde_json::{json, Map, Value};

use super::{
    collect, is_admin, list_body, object_at, project_of, select_fields, standard, Attrs, ListQuery,
    NeutronFault, NeutronResult,
};
use crate::rest::auth::Caller;
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/networks", get(index).post(create))
        .route("/networks/{id}", get(show).put(update).delete(delete))
}

/// The filters a network list takes.
const FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "status",
    "shared",
    "router:external",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "provider:network_type",
    "mtu",
];

/// A network as Neutron shows it; provider attributes to admins only.
pub fn render(n: &Network, admin: bool) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(n.id));
    o.insert("name".into(), json!(n.name));
    o.insert("description".into(), json!(n.description));
    o.insert("project_id".into(), json!(n.project_id));
    o.insert("tenant_id".into(), json!(n.project_id));
    o.insert("admin_state_up".into(), json!(n.admin_state_up));
    o.insert("status".into(), json!(n.status));
    o.insert("shared".into(), json!(n.shared));
    o.insert("router:external".into(), json!(n.router_external));
    o.insert("is_default".into(), json!(false));
    o.insert("mtu".into(), json!(n.mtu));
    o.insert("port_security_enabled".into(), json!(true));
    o.insert("subnets".into(), json!(n.subnets));
    o.insert("availability_zone_hints".into(), json!([]));
    o.insert("availability_zones".into(), json!(["nova"]));
    o.insert("ipv4_address_scope".into(), Value::Null);
    o.insert("ipv6_address_scope".into(), Value::Null);
    o.insert("l2_adjacency".into(), json!(true));
    o.insert("qos_policy_id".into(), Value::Null);
    if admin {
        o.insert(
            "provider:network_type".into(),
            json!(n.network_type.as_str()),
        );
        o.insert(
            "provider:physical_network".into(),
            json!(n.physical_network),
        );
        o.insert("provider:segmentation_id".into(), json!(n.segmentation_id));
    }
    standard(&mut o, &n.created_at, &n.updated_at);
    Value::Object(o)
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(FILTERS)?;
    let network_type = match q.text("provider:network_type") {
        None => None,
        Some(t) => match NetworkType::parse(&t) {
            Some(t) => Some(t),
            // No network has a type we do not make.
            None => return Ok(Json(list_body(&state, "networks", &q, vec![], None, false))),
        },
    };
    let base = NetworkFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        name: q.text("name"),
        shared: q.flag("shared")?,
        router_external: q.flag("router:external")?,
        admin_state_up: q.flag("admin_state_up")?,
        status: q.text("status"),
        network_type,
        sort: q.sort(NetworkSortKey::parse)?,
        ..Default::default()
    };
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |n: &Network| n.id.clone(),
        |marker, limit| {
            let f = NetworkFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_networks(ctx, &f).await }
        },
    )
    .await?;
    // Filters the service does not index: few rows carry them.
    if let Some(d) = q.text("description") {
        rows.retain(|n| n.description == d);
    }
    if let Some(m) = q.text("mtu") {
        rows.retain(|n| n.mtu.to_string() == m);
    }
    let admin = is_admin(&caller);
    let fields = q.fields();
    let last = rows.last().map(|n| n.id.clone());
    let items = rows
        .iter()
        .map(|n| select_fields(render(n, admin), &fields))
        .collect();
    Ok(Json(list_body(&state, "networks", &q, items, last, more)))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let n = state.network.get_network(&caller.ctx, &id).await?;
    let body = select_fields(render(&n, is_admin(&caller)), &q.fields());
    Ok(Json(json!({ "network": body })))
}

/// `mtu` as given: a whole number of at least 68 (IPv4's minimum).
fn mtu_of(v: Option<i64>) -> NeutronResult<Option<u32>> {
    match v {
        None => Ok(None),
        Some(m) if (68..=65535).contains(&m) => Ok(u32::try_from(m).ok()),
        Some(m) => Err(NeutronFault::bad_request(format!(
            "Invalid input for mtu. Reason: '{m}' is too small - must be at least '68'."
        ))),
    }
}

/// Networks keep port security on: a port turns it off for itself.
fn port_security_of(a: &mut Attrs) -> NeutronResult<()> {
    if a.boolean("port_security_enabled")? == Some(false) {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: port security is set per port in this cloud; a network's is always enabled.",
        ));
    }
    Ok(())
}

/// Attributes a client may send with their default value only (an
/// extension this cloud does not implement).
fn defaults_only(a: &mut Attrs) -> NeutronResult<()> {
    for key in ["qos_policy_id", "dns_domain", "ipv4_address_scope"] {
        match a.take(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(_) => {
                return Err(NeutronFault::bad_request(format!(
                    "Invalid input for operation: '{key}' is not supported by this cloud."
                )))
            }
        }
    }
    if let Some(hints) = a.strings("availability_zone_hints")? {
        if hints.iter().any(|h| h != "nova") {
            return Err(NeutronFault::not_found(
                "AvailabilityZoneNotFound",
                format!("AvailabilityZone {} could not be found.", hints.join(", ")),
            ));
        }
    }
    if a.boolean("is_default")? == Some(true) {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: a default external network is not supported by this cloud.",
        ));
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    if body.get("networks").is_some() {
        return Err(NeutronFault::bad_request(
            "Bulk network creation is not supported by this cloud: create one network per request.",
        ));
    }
    let mut a = Attrs::new(object_at(&body, "network")?);
    let network_type = match a.string("provider:network_type")? {
        None => None,
        Some(t) => Some(NetworkType::parse(&t).ok_or_else(|| {
            NeutronFault::bad_request(format!(
                "Invalid input for operation: network_type value '{t}' not supported."
            ))
        })?),
    };
    let segmentation_id = match a.integer("provider:segmentation_id")? {
        None => None,
        Some(s) => Some(u32::try_from(s).map_err(|_| {
            NeutronFault::bad_request(format!(
                "Invalid input for operation: segmentation_id {s} is out of range."
            ))
        })?),
    };
    let new = NewNetwork {
        project_id: project_of(&mut a)?,
        name: a.string("name")?.unwrap_or_default(),
        description: a.string("description")?.unwrap_or_default(),
        admin_state_up: a.boolean("admin_state_up")?,
        shared: a.boolean("shared")?.unwrap_or(false),
        router_external: a.boolean("router:external")?.unwrap_or(false),
        mtu: mtu_of(a.integer("mtu")?)?,
        network_type,
        physical_network: a
            .string_or_null("provider:physical_network")?
            .filter(|p| !p.is_empty()),
        segmentation_id,
    };
    port_security_of(&mut a)?;
    defaults_only(&mut a)?;
    a.done()?;
    let n = state.network.create_network(&caller.ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "network": render(&n, is_admin(&caller)) })),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let mut a = Attrs::new(object_at(&body, "network")?);
    for key in [
        "provider:network_type",
        "provider:physical_network",
        "provider:segmentation_id",
    ] {
        if a.take(key).is_some() {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for operation: Plugin does not support updating the following provider network attributes: {key}."
            )));
        }
    }
    let u = NetworkUpdate {
        name: a.string("name")?,
        description: a.string("description")?,
        admin_state_up: a.boolean("admin_state_up")?,
        shared: a.boolean("shared")?,
        router_external: a.boolean("router:external")?,
        mtu: mtu_of(a.integer("mtu")?)?,
    };
    port_security_of(&mut a)?;
    defaults_only(&mut a)?;
    // Read-only attributes a client may echo back.
    a.ignore(&["id", "status", "subnets"]);
    a.done()?;
    let n = state.network.update_network(&caller.ctx, &id, u).await?;
    Ok(Json(json!({ "network": render(&n, is_admin(&caller)) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state.network.delete_network(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
