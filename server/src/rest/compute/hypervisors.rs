//! `/compute/v2.1/os-hypervisors`, `/os-services` and
//! `/os-availability-zone`: the compute nodes as Nova's admin APIs show
//! them. Each node is one hypervisor and one `nova-compute` service, both
//! with the node's UUID as id (Nova's 2.53 ids; older microversions get
//! the UUID too, as Gureum has no integer ids).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use axum::Json;
use cloud::compute::{ComputeError, ComputeNode};
use cloud::policy::{compute as rules, Target};
use cloud::ServiceError;
use serde_json::{json, Map, Value};

use super::{iso, limit_and_marker, next_links, parse_bool, Microversion};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/os-hypervisors", get(index))
        .route("/os-hypervisors/detail", get(detail))
        .route("/os-hypervisors/statistics", get(statistics))
        .route("/os-hypervisors/{id}", get(show))
        .route("/os-services", get(services))
        .route("/os-services/{id}", put(update_service))
        .route("/os-availability-zone", get(zones))
        .route("/os-availability-zone/detail", get(zones_detail))
        .route("/os-aggregates", get(aggregates))
}

/// `GET /os-aggregates`: Gureum has no host aggregates; the list is empty
/// (`openstack hypervisor show` reads it).
pub async fn aggregates(caller: Caller) -> ApiResult<Json<Value>> {
    cloud::policy::enforce(&caller.ctx, &rules::HYPERVISORS, &Target::none())
        .map_err(|d| ApiError::from(ComputeError::from(d)))?;
    Ok(Json(json!({ "aggregates": [] })))
}

const BINARY: &str = "nova-compute";

fn state_of(n: &ComputeNode) -> &'static str {
    if n.up && !n.forced_down {
        "up"
    } else {
        "down"
    }
}

fn status_of(n: &ComputeNode) -> &'static str {
    if n.enabled {
        "enabled"
    } else {
        "disabled"
    }
}

fn hypervisor_json(mv: &Microversion, n: &ComputeNode, detailed: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(n.id));
    m.insert("hypervisor_hostname".into(), json!(n.name));
    m.insert("state".into(), json!(state_of(n)));
    m.insert("status".into(), json!(status_of(n)));
    if !detailed {
        return Value::Object(m);
    }
    m.insert("hypervisor_type".into(), json!(n.hypervisor_type));
    m.insert("hypervisor_version".into(), json!(n.hypervisor_version));
    m.insert("host_ip".into(), json!(n.host_ip));
    m.insert(
        "service".into(),
        json!({"id": n.id, "host": n.name, "disabled_reason": n.disabled_reason}),
    );
    if mv.at_least(2, 88) {
        m.insert("uptime".into(), Value::Null);
    } else {
        let free_ram = n.memory_mib as i64 - n.memory_mib_used as i64;
        let free_disk = n.disk_gb as i64 - n.disk_gb_used as i64;
        m.insert("vcpus".into(), json!(n.vcpus));
        m.insert("memory_mb".into(), json!(n.memory_mib));
        m.insert("local_gb".into(), json!(n.disk_gb));
        m.insert("vcpus_used".into(), json!(n.vcpus_used));
        m.insert("memory_mb_used".into(), json!(n.memory_mib_used));
        m.insert("local_gb_used".into(), json!(n.disk_gb_used));
        m.insert("free_ram_mb".into(), json!(free_ram));
        m.insert("free_disk_gb".into(), json!(free_disk));
        m.insert("current_workload".into(), json!(0));
        m.insert("running_vms".into(), json!(n.running_vms));
        m.insert("disk_available_least".into(), json!(free_disk));
        let cpu_info = if mv.at_least(2, 28) {
            json!({})
        } else {
            json!("")
        };
        m.insert("cpu_info".into(), cpu_info);
    }
    Value::Object(m)
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

async fn list(
    state: &AppState,
    caller: &Caller,
    mv: &Microversion,
    q: &HashMap<String, String>,
    detailed: bool,
) -> ApiResult<Json<Value>> {
    let mut nodes = state.compute.list_nodes(&caller.ctx).await?;
    if let Some(p) = q.get("hypervisor_hostname_pattern") {
        nodes.retain(|n| n.name.contains(p.as_str()));
        if nodes.is_empty() {
            return Err(ApiError::not_found(format!(
                "No hypervisor matching '{p}' could be found."
            )));
        }
    }
    // Paged by id, as Nova's compute nodes are (2.33).
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let (limit, marker) = if mv.at_least(2, 33) {
        limit_and_marker(q)?
    } else {
        (usize::MAX, None)
    };
    if let Some(m) = &marker {
        let at = nodes
            .iter()
            .position(|n| &n.id == m)
            .ok_or_else(|| ApiError::bad_request(format!("marker [{m}] not found")))?;
        nodes.drain(..=at);
    }
    nodes.truncate(limit);
    let with_servers = mv.at_least(2, 75)
        && q.get("with_servers")
            .is_some_and(|v| parse_bool(&json!(v)) == Some(true));
    let items: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let mut v = hypervisor_json(mv, n, detailed);
            if with_servers {
                v["servers"] = json!([]);
            }
            v
        })
        .collect();
    let mut body = json!({ "hypervisors": items });
    let collection = if detailed {
        "os-hypervisors/detail"
    } else {
        "os-hypervisors"
    };
    if let Some(l) = next_links(
        state,
        collection,
        q,
        nodes.len(),
        limit,
        nodes.last().map(|n| n.id.as_str()),
    ) {
        body["hypervisors_links"] = l;
    }
    Ok(Json(body))
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list(&state, &caller, &mv, &q, false).await
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list(&state, &caller, &mv, &q, true).await
}

/// One node by its id; Nova's 404 names the hypervisor.
async fn node(state: &AppState, caller: &Caller, id: &str, what: &str) -> ApiResult<ComputeNode> {
    match state.compute.get_node(&caller.ctx, id).await {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == cloud::ErrorKind::NotFound => Err(ApiError::not_found(match what {
            "service" => format!("Service {id} could not be found."),
            _ => format!("Hypervisor with ID '{id}' could not be found."),
        })),
        Err(e) => Err(e.into()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    if mv.at_least(2, 53) && !is_uuid(&id) {
        return Err(ApiError::bad_request(format!("Invalid uuid {id}")));
    }
    let n = node(&state, &caller, &id, "hypervisor").await?;
    let mut v = hypervisor_json(&mv, &n, true);
    if mv.at_least(2, 75)
        && q.get("with_servers")
            .is_some_and(|v| parse_bool(&json!(v)) == Some(true))
    {
        v["servers"] = json!([]);
    }
    Ok(Json(json!({ "hypervisor": v })))
}

/// `GET /os-hypervisors/statistics`: removed at 2.88.
pub async fn statistics(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
) -> ApiResult<Json<Value>> {
    if mv.at_least(2, 88) {
        return Err(ApiError::not_found("The resource could not be found."));
    }
    let nodes = state.compute.list_nodes(&caller.ctx).await?;
    let sum = |f: &dyn Fn(&ComputeNode) -> i64| nodes.iter().map(f).sum::<i64>();
    let free_ram = sum(&|n| n.memory_mib as i64 - n.memory_mib_used as i64);
    let free_disk = sum(&|n| n.disk_gb as i64 - n.disk_gb_used as i64);
    Ok(Json(json!({"hypervisor_statistics": {
        "count": nodes.len(),
        "vcpus": sum(&|n| i64::from(n.vcpus)),
        "memory_mb": sum(&|n| n.memory_mib as i64),
        "local_gb": sum(&|n| n.disk_gb as i64),
        "vcpus_used": sum(&|n| i64::from(n.vcpus_used)),
        "memory_mb_used": sum(&|n| n.memory_mib_used as i64),
        "local_gb_used": sum(&|n| n.disk_gb_used as i64),
        "free_ram_mb": free_ram,
        "free_disk_gb": free_disk,
        "current_workload": 0,
        "running_vms": sum(&|n| i64::from(n.running_vms)),
        "disk_available_least": free_disk,
    }})))
}

// ------------------------------------------------------------ os-services

fn service_json(mv: &Microversion, n: &ComputeNode, forced_down: bool) -> Value {
    let mut v = json!({
        "id": n.id,
        "binary": BINARY,
        "host": n.name,
        "zone": n.availability_zone,
        "status": status_of(n),
        "state": state_of(n),
        "updated_at": iso(&n.heartbeat_at),
        "disabled_reason": n.disabled_reason,
    });
    if forced_down || mv.at_least(2, 11) {
        v["forced_down"] = json!(n.forced_down);
    }
    v
}

pub async fn services(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    cloud::policy::enforce(&caller.ctx, &rules::SERVICES, &Target::none())
        .map_err(|d| ApiError::from(ComputeError::from(d)))?;
    let nodes = state.compute.list_nodes(&caller.ctx).await?;
    let items: Vec<Value> = nodes
        .iter()
        .filter(|n| q.get("host").is_none_or(|h| h.is_empty() || *h == n.name))
        .filter(|_| q.get("binary").is_none_or(|b| b.is_empty() || b == BINARY))
        .map(|n| service_json(&mv, n, false))
        .collect();
    Ok(Json(json!({ "services": items })))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// `PUT /os-services/{id}`: from 2.53 the id is the service's UUID and
/// the body says what changes; before, the id is an action (`enable`,
/// `disable`, `disable-log-reason`, `force-down`) on a host and binary.
pub async fn update_service(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Some(o) = body.as_object() else {
        return Err(bad(format!(
            "Invalid input for field/attribute body. Value: {body}. {body} is not of type 'object'"
        )));
    };
    let ctx = &caller.ctx;
    if !mv.at_least(2, 53) {
        return update_by_host(&state, &caller, &mv, &id, o).await;
    }
    if !is_uuid(&id) {
        return Err(bad(format!("Invalid uuid {id}")));
    }
    if let Some(k) = o
        .keys()
        .find(|k| !["status", "disabled_reason", "forced_down"].contains(&k.as_str()))
    {
        return Err(bad(format!(
            "Invalid input for field/attribute body. Value: {body}. Additional properties are not allowed ('{k}' was unexpected)"
        )));
    }
    let reason = match o.get("disabled_reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(bad(format!(
                "Invalid input for field/attribute disabled_reason. Value: {v}. {v} is not of type 'string'"
            )))
        }
    };
    let mut n = node(&state, &caller, &id, "service").await?;
    let mut changed = false;
    if let Some(status) = o.get("status") {
        match status.as_str() {
            Some("enabled") => {
                if reason.as_deref().is_some_and(|r| !r.is_empty()) {
                    return Err(bad(
                        "Specifying 'disabled_reason' with status 'enabled' is invalid.",
                    ));
                }
                n = state.compute.set_node_enabled(ctx, &n.id, true, None).await?;
            }
            Some("disabled") => {
                n = state
                    .compute
                    .set_node_enabled(ctx, &n.id, false, reason)
                    .await?;
            }
            _ => {
                return Err(bad(format!(
                    "Invalid input for field/attribute status. Value: {status}. {status} is not one of ['enabled', 'disabled']"
                )))
            }
        }
        changed = true;
    }
    if let Some(v) = o.get("forced_down") {
        let down = parse_bool(v).ok_or_else(|| {
            bad(format!(
                "Invalid input for field/attribute forced_down. Value: {v}. {v} is not of type 'boolean'"
            ))
        })?;
        n = state.compute.set_node_forced_down(ctx, &n.id, down).await?;
        changed = true;
    }
    if !changed {
        return Err(bad(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
        ));
    }
    Ok(Json(json!({ "service": service_json(&mv, &n, true) })))
}

/// The pre-2.53 form: `PUT /os-services/{action}` with `host` and `binary`.
async fn update_by_host(
    state: &AppState,
    caller: &Caller,
    mv: &Microversion,
    action: &str,
    o: &Map<String, Value>,
) -> ApiResult<Json<Value>> {
    let ctx = &caller.ctx;
    let actions: &[&str] = if mv.at_least(2, 11) {
        &["enable", "disable", "disable-log-reason", "force-down"]
    } else {
        &["enable", "disable", "disable-log-reason"]
    };
    if !actions.contains(&action) {
        return Err(ApiError::not_found("Unknown action"));
    }
    let field = |k: &str| -> ApiResult<String> {
        match o.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(bad(format!(
                "Invalid input for field/attribute body. Value: {}. '{k}' is a required property",
                Value::Object(o.clone())
            ))),
        }
    };
    let host = field("host")?;
    let binary = field("binary")?;
    if binary != BINARY {
        return Err(bad(format!(
            "Updating a {binary} service is not supported. Only nova-compute services can be updated."
        )));
    }
    let n = match state.compute.get_node(ctx, &host).await {
        Ok(n) => n,
        Err(e) if e.kind() == cloud::ErrorKind::NotFound => {
            return Err(ApiError::not_found(format!(
                "Could not find binary {binary} on host {host}."
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let out = match action {
        "enable" => {
            state
                .compute
                .set_node_enabled(ctx, &n.id, true, None)
                .await?;
            json!({"host": host, "binary": binary, "status": "enabled"})
        }
        "disable" => {
            state
                .compute
                .set_node_enabled(ctx, &n.id, false, None)
                .await?;
            json!({"host": host, "binary": binary, "status": "disabled"})
        }
        "disable-log-reason" => {
            let reason = match o.get("disabled_reason") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(bad("Missing disabled reason field")),
            };
            state
                .compute
                .set_node_enabled(ctx, &n.id, false, Some(reason.clone()))
                .await?;
            json!({"host": host, "binary": binary, "status": "disabled", "disabled_reason": reason})
        }
        _ => {
            let down = o
                .get("forced_down")
                .and_then(parse_bool)
                .ok_or_else(|| bad("Missing forced_down field"))?;
            state.compute.set_node_forced_down(ctx, &n.id, down).await?;
            json!({"host": host, "binary": binary, "forced_down": down})
        }
    };
    Ok(Json(json!({ "service": out })))
}

// ------------------------------------------------------------ zones

pub async fn zones(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let zones = state.compute.availability_zones(&caller.ctx).await?;
    let items: Vec<Value> = zones
        .iter()
        .map(|(name, nodes)| {
            // Nodes are listed only for admins; a zone whose every node is
            // disabled is not available (Nova's reading).
            let available = nodes.is_empty() || nodes.iter().any(|n| n.enabled);
            json!({"zoneName": name, "zoneState": {"available": available}, "hosts": null})
        })
        .collect();
    Ok(Json(json!({ "availabilityZoneInfo": items })))
}

pub async fn zones_detail(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    cloud::policy::enforce(
        &caller.ctx,
        &rules::AVAILABILITY_ZONES_DETAIL,
        &Target::none(),
    )
    .map_err(|d| ApiError::from(ComputeError::from(d)))?;
    let zones = state.compute.availability_zones(&caller.ctx).await?;
    let items: Vec<Value> = zones
        .iter()
        .map(|(name, nodes)| {
            let enabled: Vec<&ComputeNode> = nodes.iter().filter(|n| n.enabled).collect();
            if !nodes.is_empty() && enabled.is_empty() {
                return json!({"zoneName": name, "zoneState": {"available": false}, "hosts": null});
            }
            let mut hosts = Map::new();
            for n in enabled {
                hosts.insert(
                    n.name.clone(),
                    json!({ BINARY: {
                        "available": state_of(n) == "up",
                        "active": true,
                        "updated_at": iso(&n.heartbeat_at),
                    }}),
                );
            }
            json!({"zoneName": name, "zoneState": {"available": true}, "hosts": Value::Object(hosts)})
        })
        .collect();
    Ok(Json(json!({ "availabilityZoneInfo": items })))
}
