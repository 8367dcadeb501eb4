//! `/compute/v2.1/servers`: Nova's server API over
//! [`cloud::compute::ComputeService`]: create, list (+detail), show,
//! update, delete, actions, metadata and os-instance-actions.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use cloud::compute::{
    NetworkRequest, Networks, NewServer, Server, ServerAction, ServerFilter, ServerUpdate, VmState,
};
use cloud::policy::{allows, compute as rules, Target};
use cloud::RequestContext;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha224};

use super::Microversion;
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

/// The server routes, relative to `/compute/v2.1`.
pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/servers", get(list).post(create))
        .route("/servers/detail", get(list_detail))
        .route("/servers/{id}", get(show).put(update).delete(delete))
        .route("/servers/{id}/action", post(action))
        .route(
            "/servers/{id}/metadata",
            get(metadata).put(replace_metadata).post(merge_metadata),
        )
        .route(
            "/servers/{id}/metadata/{key}",
            get(metadata_item)
                .put(set_metadata_item)
                .delete(delete_metadata_item),
        )
        .route("/servers/{id}/os-instance-actions", get(instance_actions))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn base(state: &AppState) -> String {
    format!(
        "{}/compute/v2.1",
        state.config.public_url.trim_end_matches('/')
    )
}

fn links(state: &AppState, kind: &str, id: &str) -> Value {
    let b = base(state);
    let root = state.config.public_url.trim_end_matches('/');
    json!([
        {"rel": "self", "href": format!("{b}/{kind}/{id}")},
        {"rel": "bookmark", "href": format!("{root}/compute/{kind}/{id}")},
    ])
}

/// Nova's `hostId`: a hash of the project and the host, so a project can
/// tell its servers apart by host without learning host names.
fn host_id(s: &Server) -> String {
    match &s.node_name {
        Some(h) => hex_lower(&Sha224::digest(format!("{}{}", s.project_id, h).as_bytes())),
        None => String::new(),
    }
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The full server document at microversion `mv`, as Nova renders it.
fn server_json(state: &AppState, ctx: &RequestContext, mv: &Microversion, s: &Server) -> Value {
    let admin = allows(ctx, &rules::EXTENDED_ATTRIBUTES, &Target::none());
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id));
    o.insert("name".into(), json!(s.name));
    o.insert("status".into(), json!(s.status()));
    o.insert("tenant_id".into(), json!(s.project_id));
    o.insert("user_id".into(), json!(s.user_id));
    o.insert("metadata".into(), json!(s.metadata));
    o.insert("hostId".into(), json!(host_id(s)));
    o.insert(
        "image".into(),
        json!({"id": s.image_id, "links": [{"rel": "bookmark", "href": format!("{}/compute/images/{}", state.config.public_url.trim_end_matches('/'), s.image_id)}]}),
    );
    let f = &s.flavor;
    let flavor = if mv.at_least(2, 47) {
        let mut fj = json!({
            "vcpus": f.vcpus, "ram": f.ram_mib, "disk": f.disk_gb,
            "ephemeral": f.ephemeral_gb, "swap": f.swap_mib, "original_name": f.name,
        });
        if admin || mv.at_least(2, 47) {
            fj["extra_specs"] = json!(f.extra_specs);
        }
        fj
    } else {
        json!({"id": f.id, "links": [{"rel": "bookmark", "href": format!("{}/compute/flavors/{}", state.config.public_url.trim_end_matches('/'), f.id)}]})
    };
    o.insert("flavor".into(), flavor);
    o.insert("created".into(), json!(ts(s.created_at)));
    o.insert("updated".into(), json!(ts(s.updated_at)));
    // Filled by the network service when it lands.
    o.insert("addresses".into(), json!({}));
    // Nova shows "" when none was given; IPv6 in RFC 5952's canonical form.
    let shown = |a: Option<String>| json!(a.unwrap_or_default());
    o.insert(
        "accessIPv4".into(),
        shown(s.access_ip_v4.map(|a| a.to_string())),
    );
    o.insert(
        "accessIPv6".into(),
        shown(s.access_ip_v6.map(|a| a.to_string())),
    );
    o.insert("links".into(), links(state, "servers", &s.id));
    o.insert("OS-DCF:diskConfig".into(), json!("MANUAL"));
    if matches!(s.vm_state, VmState::Building | VmState::Active) {
        o.insert("progress".into(), json!(s.progress()));
    }
    o.insert(
        "OS-EXT-AZ:availability_zone".into(),
        json!(s.availability_zone.clone().unwrap_or_else(|| state
            .config
            .compute
            .default_availability_zone
            .clone())),
    );
    o.insert("config_drive".into(), json!("True"));
    o.insert("key_name".into(), json!(s.key_name));
    o.insert(
        "OS-SRV-USG:launched_at".into(),
        json!(s
            .launched_at
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())),
    );
    o.insert(
        "OS-SRV-USG:terminated_at".into(),
        json!(s
            .terminated_at
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())),
    );
    o.insert(
        "OS-EXT-STS:task_state".into(),
        json!(s.task_state.map(|t| t.as_str())),
    );
    o.insert("OS-EXT-STS:vm_state".into(), json!(s.vm_state.as_str()));
    o.insert("OS-EXT-STS:power_state".into(), json!(s.power_state.code()));
    o.insert("os-extended-volumes:volumes_attached".into(), json!([]));
    if admin {
        o.insert("OS-EXT-SRV-ATTR:host".into(), json!(s.node_name));
        o.insert(
            "OS-EXT-SRV-ATTR:instance_name".into(),
            json!(s.instance_name),
        );
        o.insert(
            "OS-EXT-SRV-ATTR:hypervisor_hostname".into(),
            json!(s.node_name),
        );
        if mv.at_least(2, 3) {
            o.insert(
                "OS-EXT-SRV-ATTR:reservation_id".into(),
                json!(s.reservation_id),
            );
            o.insert("OS-EXT-SRV-ATTR:launch_index".into(), json!(s.launch_index));
            // Nova shows "" for an instance without one.
            o.insert(
                "OS-EXT-SRV-ATTR:kernel_id".into(),
                json!(s.kernel_id.as_deref().unwrap_or_default()),
            );
            o.insert(
                "OS-EXT-SRV-ATTR:ramdisk_id".into(),
                json!(s.ramdisk_id.as_deref().unwrap_or_default()),
            );
            o.insert("OS-EXT-SRV-ATTR:root_device_name".into(), json!("/dev/vda"));
            o.insert("OS-EXT-SRV-ATTR:user_data".into(), json!(s.user_data));
        }
        if mv.at_least(2, 16) {
            let up = s.node_name.is_some();
            o.insert("host_status".into(), json!(if up { "UP" } else { "" }));
        }
    }
    if mv.at_least(2, 3) && (admin || mv.at_least(2, 90)) {
        o.insert("OS-EXT-SRV-ATTR:hostname".into(), json!(s.hostname));
    }
    if mv.at_least(2, 9) {
        o.insert("locked".into(), json!(s.locked));
    }
    if mv.at_least(2, 19) {
        o.insert("description".into(), json!(s.description));
    }
    if mv.at_least(2, 26) {
        o.insert("tags".into(), json!([]));
    }
    if mv.at_least(2, 63) {
        o.insert("trusted_image_certificates".into(), Value::Null);
    }
    if mv.at_least(2, 73) {
        o.insert("locked_reason".into(), json!(s.locked_reason));
    }
    if mv.at_least(2, 96) {
        o.insert(
            "pinned_availability_zone".into(),
            json!(s.availability_zone),
        );
    }
    if let Some(fault) = &s.fault {
        if s.vm_state == VmState::Error {
            let mut fj =
                json!({"code": fault.code, "created": ts(fault.created), "message": fault.message});
            if admin {
                fj["details"] = json!(fault.details.clone().unwrap_or_default());
            }
            o.insert("fault".into(), fj);
        }
    }
    Value::Object(o)
}

fn brief_json(state: &AppState, s: &Server) -> Value {
    json!({"id": s.id, "name": s.name, "links": links(state, "servers", &s.id)})
}

fn filter_from(q: &HashMap<String, String>, ctx: &RequestContext) -> ApiResult<ServerFilter> {
    let all = q
        .get("all_tenants")
        .is_some_and(|v| !(v == "0" || v.eq_ignore_ascii_case("false")));
    let project = q.get("project_id").or_else(|| q.get("tenant_id")).cloned();
    let limit = match q.get("limit") {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid input for query parameters limit. Value: {l}."
            ))
        })?),
        None => None,
    };
    let changes_since = match q.get("changes-since").or_else(|| q.get("changes_since")) {
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
                        .map(|n| n.and_utc())
                })
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "Invalid input for query parameters changes-since. Value: {t}."
                    ))
                })?,
        ),
        None => None,
    };
    // A non-admin's project filter is its own project anyway (Nova ignores it).
    let all_projects = all || (project.is_some() && ctx.is_admin());
    Ok(ServerFilter {
        all_projects,
        project_id: project.filter(|_| all_projects),
        name: q.get("name").cloned(),
        status: q.get("status").cloned(),
        image: q.get("image").cloned(),
        flavor: q.get("flavor").cloned(),
        host: q.get("host").cloned(),
        changes_since,
        deleted: q
            .get("deleted")
            .is_some_and(|v| v == "true" || v == "True" || v == "1"),
        marker: q.get("marker").cloned(),
        limit,
        offset: None,
        sort: None,
    })
}

fn next_link(
    state: &AppState,
    kind: &str,
    servers: &[Server],
    limit: Option<usize>,
) -> Option<Value> {
    let l = limit?;
    if servers.len() < l || l == 0 {
        return None;
    }
    let last = servers.last()?;
    Some(
        json!([{"rel": "next", "href": format!("{}/{kind}?limit={l}&marker={}", base(state), last.id)}]),
    )
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let f = filter_from(&q, &caller.ctx)?;
    let servers = state.compute.list_servers(&caller.ctx, &f).await?;
    let mut body =
        json!({"servers": servers.iter().map(|s| brief_json(&state, s)).collect::<Vec<_>>()});
    if let Some(l) = next_link(&state, "servers", &servers, f.limit) {
        body["servers_links"] = l;
    }
    Ok(Json(body))
}

pub async fn list_detail(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let f = filter_from(&q, &caller.ctx)?;
    let servers = state.compute.list_servers(&caller.ctx, &f).await?;
    let mut body = json!({"servers": servers.iter().map(|s| server_json(&state, &caller.ctx, &mv, s)).collect::<Vec<_>>()});
    if let Some(l) = next_link(&state, "servers/detail", &servers, f.limit) {
        body["servers_links"] = l;
    }
    Ok(Json(body))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = state.compute.get_server(&caller.ctx, &id).await?;
    let mut body = server_json(&state, &caller.ctx, &mv, &s);
    with_server_groups(&mut body, &mv);
    Ok(Json(json!({"server": body})))
}

/// 2.71: a single server's view names its server groups (none until they
/// land); lists do not.
fn with_server_groups(body: &mut Value, mv: &Microversion) {
    if mv.at_least(2, 71) {
        body["server_groups"] = json!([]);
    }
}

/// What PUT (and rebuild) leave out of a server below 2.75, where Nova's
/// update view shows only the core attributes.
const NOT_IN_UPDATE_VIEW_BEFORE_2_75: &[&str] = &[
    "OS-EXT-AZ:availability_zone",
    "config_drive",
    "key_name",
    "OS-SRV-USG:launched_at",
    "OS-SRV-USG:terminated_at",
    "OS-EXT-STS:task_state",
    "OS-EXT-STS:vm_state",
    "OS-EXT-STS:power_state",
    "os-extended-volumes:volumes_attached",
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:instance_name",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:reservation_id",
    "OS-EXT-SRV-ATTR:launch_index",
    "OS-EXT-SRV-ATTR:kernel_id",
    "OS-EXT-SRV-ATTR:ramdisk_id",
    "OS-EXT-SRV-ATTR:root_device_name",
    "OS-EXT-SRV-ATTR:user_data",
    "OS-EXT-SRV-ATTR:hostname",
    "host_status",
];

/// The last path segment of an `imageRef`/`flavorRef` (Nova accepts URLs).
fn ref_id(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(s.rsplit('/').next().unwrap_or(&s).to_string())
}

fn string_map(v: Option<&Value>, what: &str) -> ApiResult<BTreeMap<String, String>> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ApiError::bad_request(format!("Invalid input for field/attribute {what}. Value: {v}. {v} is not of type 'string'"))),
            })
            .collect(),
        Some(other) => Err(ApiError::bad_request(format!("Invalid input for field/attribute {what}. Value: {other}. {other} is not of type 'object'"))),
    }
}

fn count(v: Option<&Value>, what: &str) -> ApiResult<Option<u32>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| *n >= 1)
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid input for field/attribute {what}. Value: {n}. {n} is less than the minimum of 1"))),
        Some(Value::String(s)) => s
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid input for field/attribute {what}. Value: {s}."))),
        Some(other) => Err(ApiError::bad_request(format!("Invalid input for field/attribute {what}. Value: {other}."))),
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let Some(s) = body.get("server").and_then(Value::as_object) else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute server. The request body needs a 'server' object.",
        ));
    };
    let name = match s.get("name") {
        Some(Value::String(n)) => n.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "Invalid input for field/attribute name. 'name' is a required property",
            ))
        }
    };
    // The client sends the image itself as a block device (image → local,
    // as Nova builds it from imageRef); only volumes are not there yet.
    let mut bdm_image = None;
    if s.contains_key("block_device_mapping") {
        return Err(ApiError::bad_request(
            "Booting from a volume is not supported yet: give an imageRef.",
        ));
    }
    if let Some(bdms) = s.get("block_device_mapping_v2") {
        let Some(list) = bdms.as_array() else {
            return Err(ApiError::bad_request(
                "Invalid input for field/attribute block_device_mapping_v2.",
            ));
        };
        for b in list {
            let src = b.get("source_type").and_then(Value::as_str).unwrap_or("");
            let dst = b
                .get("destination_type")
                .and_then(Value::as_str)
                .unwrap_or("local");
            if src != "image" || dst != "local" {
                return Err(ApiError::bad_request(
                    "Booting from a volume is not supported yet: give an imageRef.",
                ));
            }
            bdm_image = b.get("uuid").and_then(ref_id);
        }
    }
    let Some(image_id) = s
        .get("imageRef")
        .and_then(ref_id)
        .filter(|i| !i.is_empty())
        .or(bdm_image)
    else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute imageRef. An image is required to boot a server.",
        ));
    };
    let Some(flavor_id) = s
        .get("flavorRef")
        .and_then(ref_id)
        .filter(|i| !i.is_empty())
    else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute flavorRef. 'flavorRef' is a required property",
        ));
    };
    let networks = match s.get("networks") {
        None if mv.at_least(2, 37) => {
            return Err(ApiError::bad_request("Invalid input for field/attribute networks. 'networks' is a required property"))
        }
        None => Networks::Auto,
        Some(Value::String(v)) if v == "none" => Networks::None,
        Some(Value::String(v)) if v == "auto" => Networks::Auto,
        Some(Value::Array(items)) => Networks::Requested(
            items
                .iter()
                .map(|n| NetworkRequest {
                    network_id: n.get("uuid").and_then(Value::as_str).map(String::from),
                    port_id: n.get("port").and_then(Value::as_str).map(String::from),
                    fixed_ip: n.get("fixed_ip").and_then(Value::as_str).map(String::from),
                    tag: n.get("tag").and_then(Value::as_str).map(String::from),
                })
                .collect(),
        ),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field/attribute networks. Value: {other}. {other} is not valid under any of the given schemas"
            )))
        }
    };
    let min_count = count(s.get("min_count"), "min_count")?.unwrap_or(1);
    let max_count = count(s.get("max_count"), "max_count")?.unwrap_or(min_count);
    if min_count > max_count {
        return Err(ApiError::bad_request("min_count must be <= max_count"));
    }
    let req = NewServer {
        name,
        description: s
            .get("description")
            .and_then(Value::as_str)
            .map(String::from),
        image_id,
        flavor_id,
        key_name: s.get("key_name").and_then(Value::as_str).map(String::from),
        user_data: s.get("user_data").and_then(Value::as_str).map(String::from),
        metadata: string_map(s.get("metadata"), "metadata")?,
        availability_zone: s
            .get("availability_zone")
            .and_then(Value::as_str)
            .filter(|z| !z.is_empty())
            .map(String::from),
        networks,
        access_ip_v4: access_ip(s.get("accessIPv4"), "accessIPv4")?.flatten(),
        access_ip_v6: access_ip(s.get("accessIPv6"), "accessIPv6")?.flatten(),
        min_count,
        max_count,
    };
    let servers = state.compute.create_servers(&caller.ctx, req).await?;
    let Some(first) = servers.first() else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            cloud::error::INTERNAL_MESSAGE,
        ));
    };
    if s.get("return_reservation_id")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("True"))
    {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"reservation_id": first.reservation_id})),
        )
            .into_response());
    }
    let location = format!("{}/servers/{}", base(&state), first.id);
    let body = json!({"server": {
        "id": first.id,
        "links": links(&state, "servers", &first.id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
    }});
    let mut res = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Some(s) = body.get("server").and_then(Value::as_object) else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute server.",
        ));
    };
    let name = match s.get("name") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid input for field/attribute name.",
            ))
        }
    };
    let description = match s.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(d)) => Some(Some(d.clone())),
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid input for field/attribute description.",
            ))
        }
    };
    let change = ServerUpdate {
        name,
        description,
        access_ip_v4: access_ip(s.get("accessIPv4"), "accessIPv4")?,
        access_ip_v6: access_ip(s.get("accessIPv6"), "accessIPv6")?,
    };
    let server = state
        .compute
        .update_server(&caller.ctx, &id, change)
        .await?;
    let mut body = server_json(&state, &caller.ctx, &mv, &server);
    if !mv.at_least(2, 75) {
        if let Some(o) = body.as_object_mut() {
            for k in NOT_IN_UPDATE_VIEW_BEFORE_2_75 {
                o.remove(*k);
            }
        }
    }
    with_server_groups(&mut body, &mv);
    Ok(Json(json!({"server": body})))
}

/// `accessIPv4` / `accessIPv6` as Nova's schema takes them: absent (leave
/// it), `""` or null (none), or an address of that family.
fn access_ip<T: std::str::FromStr>(
    v: Option<&Value>,
    field: &str,
) -> Result<Option<Option<T>>, ApiError> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(a)) if a.is_empty() => Ok(Some(None)),
        Some(Value::String(a)) => a.parse().map(|ip| Some(Some(ip))).map_err(|_| {
            let family = if field.ends_with('6') { "ipv6" } else { "ipv4" };
            ApiError::bad_request(format!(
                "Invalid input for field/attribute {field}. Value: {a}. '{a}' is not a '{family}'"
            ))
        }),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute {field}. Value: {other}. {other} is not of type 'string'"
        ))),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.compute.delete_server(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let Some((name, arg)) = body.as_object().and_then(|o| o.iter().next()) else {
        return Err(ApiError::bad_request("There is no such action: None"));
    };
    let act = match name.as_str() {
        "os-start" => ServerAction::Start,
        "os-stop" => ServerAction::Stop,
        "reboot" => {
            let t = arg.get("type").and_then(Value::as_str).unwrap_or("");
            match t.to_ascii_uppercase().as_str() {
                "SOFT" => ServerAction::Reboot { hard: false },
                "HARD" => ServerAction::Reboot { hard: true },
                _ => return Err(ApiError::bad_request(format!("Invalid input for field/attribute type. Value: {t}. '{t}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"))),
            }
        }
        "pause" => ServerAction::Pause,
        "unpause" => ServerAction::Unpause,
        "suspend" => ServerAction::Suspend,
        "resume" => ServerAction::Resume,
        "lock" => ServerAction::Lock {
            reason: arg
                .get("locked_reason")
                .and_then(Value::as_str)
                .map(String::from),
        },
        "unlock" => ServerAction::Unlock,
        "os-getConsoleOutput" => {
            let lines = match arg.get("length") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(-1) => None,
                    Some(v) if v >= 0 => u32::try_from(v).ok(),
                    _ => {
                        return Err(ApiError::bad_request(
                            "Invalid input for field/attribute length.",
                        ))
                    }
                },
                Some(Value::String(s)) => match s.parse::<i64>() {
                    Ok(-1) => None,
                    Ok(v) if v >= 0 => u32::try_from(v).ok(),
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "Invalid input for field/attribute length. Value: {s}."
                        )))
                    }
                },
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "Invalid input for field/attribute length.",
                    ))
                }
            };
            let output = state
                .compute
                .console_output(&caller.ctx, &id, lines)
                .await?;
            return Ok(Json(json!({"output": output})).into_response());
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "There is no such action: {other}"
            )))
        }
    };
    state.compute.server_action(&caller.ctx, &id, act).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn metadata(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let m = state.compute.server_metadata(&caller.ctx, &id).await?;
    Ok(Json(json!({"metadata": m})))
}

pub async fn replace_metadata(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let items = string_map(body.get("metadata"), "metadata")?;
    let m = state
        .compute
        .set_metadata(&caller.ctx, &id, items, true)
        .await?;
    Ok(Json(json!({"metadata": m})))
}

pub async fn merge_metadata(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let items = string_map(body.get("metadata"), "metadata")?;
    let m = state
        .compute
        .set_metadata(&caller.ctx, &id, items, false)
        .await?;
    Ok(Json(json!({"metadata": m})))
}

pub async fn metadata_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let m = state.compute.server_metadata(&caller.ctx, &id).await?;
    match m.get(&key) {
        Some(v) => Ok(Json(json!({"meta": {key: v}}))),
        None => Err(ApiError::not_found("Metadata item was not found")),
    }
}

pub async fn set_metadata_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let meta = string_map(body.get("meta"), "meta")?;
    if meta.len() != 1 {
        return Err(ApiError::bad_request(
            "Request body contains too many items",
        ));
    }
    if !meta.contains_key(&key) {
        return Err(ApiError::bad_request("Request body and URI mismatch"));
    }
    state
        .compute
        .set_metadata(&caller.ctx, &id, meta.clone(), false)
        .await?;
    Ok(Json(json!({"meta": meta})))
}

pub async fn delete_metadata_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .compute
        .delete_metadata_item(&caller.ctx, &id, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn instance_actions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let actions = state.compute.instance_actions(&caller.ctx, &id).await?;
    Ok(Json(
        json!({"instanceActions": actions.iter().map(|a| json!({
        "action": a.action,
        "instance_uuid": a.instance_id,
        "message": a.message,
        "project_id": a.project_id,
        "request_id": a.request_id,
        "start_time": a.start_time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "updated_at": a.finish_time.unwrap_or(a.start_time).format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "user_id": a.user_id,
    })).collect::<Vec<_>>()}),
    ))
}
