//! `/v2.0/ports`: ports with their fixed IPs (allocated by the service's
//! IPAM in the port's transaction), port security, allowed address pairs
//! and the `binding` attributes (the host to admins only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::network::{
    AddressPairRequest, FixedIpRequest, NewPort, Port, PortFilter, PortSortKey, PortUpdate,
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
        .route("/ports", get(index).post(create))
        .route("/ports/{id}", get(show).put(update).delete(delete))
}

const FILTERS: &[&str] = &[
    "id",
    "name",
    "description",
    "network_id",
    "device_id",
    "device_owner",
    "mac_address",
    "status",
    "admin_state_up",
    "project_id",
    "tenant_id",
    "binding:host_id",
    "fixed_ips",
];

pub fn render(p: &Port, admin: bool) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(p.id));
    o.insert("name".into(), json!(p.name));
    o.insert("description".into(), json!(p.description));
    o.insert("project_id".into(), json!(p.project_id));
    o.insert("tenant_id".into(), json!(p.project_id));
    o.insert("network_id".into(), json!(p.network_id));
    o.insert("mac_address".into(), json!(p.mac_address));
    o.insert("admin_state_up".into(), json!(p.admin_state_up));
    o.insert("status".into(), json!(p.status));
    o.insert("device_owner".into(), json!(p.device_owner));
    o.insert("device_id".into(), json!(p.device_id));
    o.insert(
        "fixed_ips".into(),
        Value::Array(
            p.fixed_ips
                .iter()
                .map(|ip| json!({"subnet_id": ip.subnet_id, "ip_address": ip.ip_address.to_string()}))
                .collect(),
        ),
    );
    o.insert(
        "port_security_enabled".into(),
        json!(p.port_security_enabled),
    );
    o.insert(
        "allowed_address_pairs".into(),
        Value::Array(
            p.allowed_address_pairs
                .iter()
                .map(|a| json!({"ip_address": a.ip_address, "mac_address": a.mac_address}))
                .collect(),
        ),
    );
    o.insert("security_groups".into(), json!(p.security_groups));
    o.insert("binding:vnic_type".into(), json!("normal"));
    if admin {
        o.insert("binding:host_id".into(), json!(p.binding_host_id));
        o.insert("binding:profile".into(), json!({}));
        o.insert("binding:vif_details".into(), json!({}));
        let vif = if p.binding_host_id.is_empty() {
            "unbound"
        } else {
            "bridge"
        };
        o.insert("binding:vif_type".into(), json!(vif));
    }
    o.insert("extra_dhcp_opts".into(), json!([]));
    o.insert("ip_allocation".into(), json!("immediate"));
    o.insert("qos_policy_id".into(), Value::Null);
    o.insert("propagate_uplink_status".into(), json!(false));
    standard(&mut o, &p.created_at, &p.updated_at);
    Value::Object(o)
}

/// `fixed_ips=ip_address=10.0.0.5` and `fixed_ips=subnet_id=…`.
fn fixed_ip_filters(q: &ListQuery) -> NeutronResult<(Option<String>, Option<String>)> {
    let (mut address, mut subnet) = (None, None);
    for f in q.all("fixed_ips") {
        match f.split_once('=') {
            Some(("ip_address", v)) => address = Some(v.to_string()),
            Some(("subnet_id", v)) => subnet = Some(v.to_string()),
            _ => {
                return Err(NeutronFault::bad_request(format!(
                    "[fixed_ips={f}] is invalid attribute for filtering: use fixed_ips=ip_address=… or fixed_ips=subnet_id=…"
                )))
            }
        }
    }
    Ok((address, subnet))
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    q.check_filters(FILTERS)?;
    let (fixed_ip_address, fixed_ip_subnet_id) = fixed_ip_filters(&q)?;
    let base = PortFilter {
        ids: q.any_of("id"),
        project_id: q.project(),
        network_id: q.text("network_id"),
        name: q.text("name"),
        device_id: q.text("device_id"),
        device_owner: q.text("device_owner"),
        mac_address: q.text("mac_address"),
        status: q.text("status"),
        admin_state_up: q.flag("admin_state_up")?,
        binding_host_id: q.text("binding:host_id"),
        fixed_ip_address,
        fixed_ip_subnet_id,
        sort: q.sort(PortSortKey::parse)?,
        ..Default::default()
    };
    let (limit, marker) = q.paging()?;
    let (mut rows, more) = collect(
        limit,
        marker,
        |p: &Port| p.id.clone(),
        |marker, limit| {
            let f = PortFilter {
                marker,
                limit: Some(limit),
                ..base.clone()
            };
            let (state, ctx) = (&state, &caller.ctx);
            async move { state.network.list_ports(ctx, &f).await }
        },
    )
    .await?;
    if let Some(d) = q.text("description") {
        rows.retain(|p| p.description == d);
    }
    let admin = is_admin(&caller);
    let fields = q.fields();
    let last = rows.last().map(|p| p.id.clone());
    let items = rows
        .iter()
        .map(|p| select_fields(render(p, admin), &fields))
        .collect();
    Ok(Json(list_body(&state, "ports", &q, items, last, more)))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> NeutronResult<Json<Value>> {
    let p = state.network.get_port(&caller.ctx, &id).await?;
    let body = select_fields(render(&p, is_admin(&caller)), &q.fields());
    Ok(Json(json!({ "port": body })))
}

/// `fixed_ips` (or a router gateway's `external_fixed_ips`): `null` is
/// the default (one address), `[]` none.
pub(super) fn fixed_ips_at(a: &mut Attrs, key: &str) -> NeutronResult<Option<Vec<FixedIpRequest>>> {
    if matches!(a.peek(key), Some(Value::Null)) {
        a.take(key);
        return Ok(None);
    }
    let Some(items) = a.objects(key)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(items.len());
    for o in items {
        let text = |k: &str| -> NeutronResult<Option<String>> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(NeutronFault::bad_request(format!(
                    "Invalid input for {key}. Reason: '{v}' is not a valid {k}."
                ))),
            }
        };
        if let Some(k) = o
            .keys()
            .find(|k| !matches!(k.as_str(), "subnet_id" | "ip_address"))
        {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for {key}. Reason: Unrecognized key(s) '{k}'."
            )));
        }
        let ip = FixedIpRequest {
            subnet_id: text("subnet_id")?,
            ip_address: text("ip_address")?,
        };
        if ip.subnet_id.is_none() && ip.ip_address.is_none() {
            return Err(NeutronFault::bad_request(
                "Invalid input for operation: IP allocation requires subnet_id or ip_address",
            ));
        }
        out.push(ip);
    }
    Ok(Some(out))
}

fn pairs_of(a: &mut Attrs) -> NeutronResult<Option<Vec<AddressPairRequest>>> {
    let Some(items) = a.objects("allowed_address_pairs")? else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|o| {
            let ip_address = match o.get("ip_address") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(NeutronFault::bad_request(
                        "AllowedAddressPair must contain ip_address",
                    ))
                }
            };
            let mac_address = match o.get("mac_address") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => {
                    return Err(NeutronFault::bad_request(format!(
                        "Invalid input for allowed_address_pairs. Reason: '{v}' is not a valid MAC address."
                    )))
                }
            };
            Ok(AddressPairRequest {
                ip_address,
                mac_address,
            })
        })
        .collect::<NeutronResult<Vec<_>>>()
        .map(Some)
}

/// The binding attributes a client may send: the host (the service
/// decides who may set it) and the defaults of the rest.
fn binding_of(a: &mut Attrs) -> NeutronResult<Option<String>> {
    if let Some(v) = a.string("binding:vnic_type")? {
        if v != "normal" {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for binding:vnic_type. Reason: '{v}' is not in [normal]: this cloud binds normal (tap) ports only."
            )));
        }
    }
    match a.take("binding:profile") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) if o.is_empty() => {}
        Some(_) => {
            return Err(NeutronFault::bad_request(
                "Invalid input for operation: 'binding:profile' is not supported by this cloud.",
            ))
        }
    }
    a.string_or_null("binding:host_id")
}

fn unsupported(a: &mut Attrs) -> NeutronResult<()> {
    for key in ["qos_policy_id", "dns_name", "data_plane_status"] {
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
    if let Some(opts) = a.objects("extra_dhcp_opts")? {
        if !opts.is_empty() {
            return Err(NeutronFault::bad_request(
                "Invalid input for operation: 'extra_dhcp_opts' is not supported by this cloud.",
            ));
        }
    }
    if a.boolean("propagate_uplink_status")? == Some(true) {
        return Err(NeutronFault::bad_request(
            "Invalid input for operation: 'propagate_uplink_status' is not supported by this cloud.",
        ));
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<(StatusCode, Json<Value>)> {
    if body.get("ports").is_some() {
        return Err(NeutronFault::bad_request(
            "Bulk port creation is not supported by this cloud: create one port per request.",
        ));
    }
    let mut a = Attrs::new(object_at(&body, "port")?);
    let network_id = a.string("network_id")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Failed to parse request. Required attribute 'network_id' not specified",
        )
    })?;
    let new = NewPort {
        project_id: project_of(&mut a)?,
        network_id,
        name: a.string("name")?.unwrap_or_default(),
        description: a.string("description")?.unwrap_or_default(),
        admin_state_up: a.boolean("admin_state_up")?,
        mac_address: a.string_or_null("mac_address")?.filter(|m| !m.is_empty()),
        fixed_ips: fixed_ips_at(&mut a, "fixed_ips")?,
        device_owner: a.string_or_null("device_owner")?.unwrap_or_default(),
        device_id: a.string_or_null("device_id")?.unwrap_or_default(),
        port_security_enabled: a.boolean("port_security_enabled")?,
        allowed_address_pairs: pairs_of(&mut a)?.unwrap_or_default(),
        security_groups: a.strings("security_groups")?,
        binding_host_id: binding_of(&mut a)?.filter(|h| !h.is_empty()),
    };
    unsupported(&mut a)?;
    a.done()?;
    let p = state.network.create_port(&caller.ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "port": render(&p, is_admin(&caller)) })),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let mut a = Attrs::new(object_at(&body, "port")?);
    for key in ["network_id", "mac_address"] {
        if a.take(key).is_some() {
            return Err(NeutronFault::bad_request(format!(
                "Cannot update read-only attribute {key}"
            )));
        }
    }
    let u = PortUpdate {
        name: a.string("name")?,
        description: a.string("description")?,
        admin_state_up: a.boolean("admin_state_up")?,
        fixed_ips: fixed_ips_at(&mut a, "fixed_ips")?,
        device_owner: a.string_or_null("device_owner")?,
        device_id: a.string_or_null("device_id")?,
        port_security_enabled: a.boolean("port_security_enabled")?,
        allowed_address_pairs: pairs_of(&mut a)?,
        security_groups: a.strings("security_groups")?,
        binding_host_id: binding_of(&mut a)?,
    };
    unsupported(&mut a)?;
    a.ignore(&["id", "status"]);
    a.done()?;
    let p = state.network.update_port(&caller.ctx, &id, u).await?;
    Ok(Json(json!({ "port": render(&p, is_admin(&caller)) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> NeutronResult<StatusCode> {
    state.network.delete_port(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
