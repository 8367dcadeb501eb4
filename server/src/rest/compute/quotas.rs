//! `/compute/v2.1/limits` and `/compute/v2.1/os-quota-sets`: a project's
//! compute limits over the quota engine (`ComputeService::quota`).
//!
//! Nova still shows quotas Gureum does not enforce (server groups, injected
//! files; below 2.36 the nova-network ones): they are shown at Nova's
//! defaults and cannot be changed.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::quota::Resource;
use serde_json::{json, Map, Value};

use super::{object_at, parse_bool, Microversion};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/limits", get(limits))
        .route(
            "/os-quota-sets/{project_id}",
            get(show).put(update).delete(revert),
        )
        .route("/os-quota-sets/{project_id}/defaults", get(defaults))
        .route("/os-quota-sets/{project_id}/detail", get(detail))
        .route(
            "/os-quota-class-sets/{class}",
            get(class_show).put(class_update),
        )
}

/// The quotas the engine keeps, by Nova's names (which the engine shares).
const ENFORCED: [Resource; 5] = [
    Resource::INSTANCES,
    Resource::CORES,
    Resource::RAM,
    Resource::KEY_PAIRS,
    Resource::METADATA_ITEMS,
];

/// A quota Nova shows that Gureum does not keep: its name, Nova's default,
/// and the microversion that dropped it (None: still shown).
type FixedQuota = (&'static str, i64, Option<(u16, u16)>);

const FIXED: &[FixedQuota] = &[
    ("server_groups", 10, None),
    ("server_group_members", 10, None),
    ("injected_files", 5, Some((2, 57))),
    ("injected_file_content_bytes", 10240, Some((2, 57))),
    ("injected_file_path_bytes", 255, Some((2, 57))),
    ("fixed_ips", -1, Some((2, 36))),
    ("floating_ips", 10, Some((2, 36))),
    ("security_groups", 10, Some((2, 36))),
    ("security_group_rules", 20, Some((2, 36))),
];

fn fixed(mv: &Microversion) -> impl Iterator<Item = (&'static str, i64)> + '_ {
    FIXED
        .iter()
        .filter(|(_, _, gone)| gone.is_none_or(|(a, b)| !mv.at_least(a, b)))
        .map(|(k, v, _)| (*k, *v))
}

fn project_of(caller: &Caller) -> String {
    caller.ctx.project_id().unwrap_or_default().to_string()
}

/// `GET /limits`: Nova's absolute limits (rate limits are long gone).
pub async fn limits(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let project = q
        .get("tenant_id")
        .cloned()
        .unwrap_or_else(|| project_of(&caller));
    let l = state.compute.limits(&caller.ctx, &project).await?;
    let mut a = Map::new();
    a.insert("maxServerMeta".into(), json!(l.max_metadata_items));
    a.insert("maxTotalKeypairs".into(), json!(l.max_key_pairs));
    a.insert("maxTotalCores".into(), json!(l.max_cores));
    a.insert("maxTotalInstances".into(), json!(l.max_instances));
    a.insert("maxTotalRAMSize".into(), json!(l.max_ram_mib));
    a.insert("maxServerGroups".into(), json!(10));
    a.insert("maxServerGroupMembers".into(), json!(10));
    a.insert("totalCoresUsed".into(), json!(l.cores_used));
    a.insert("totalInstancesUsed".into(), json!(l.instances_used));
    a.insert("totalRAMUsed".into(), json!(l.ram_mib_used));
    a.insert("totalServerGroupsUsed".into(), json!(0));
    if !mv.at_least(2, 39) {
        a.insert("maxImageMeta".into(), json!(l.max_metadata_items));
    }
    if !mv.at_least(2, 57) {
        a.insert("maxPersonality".into(), json!(5));
        a.insert("maxPersonalitySize".into(), json!(10240));
    }
    if !mv.at_least(2, 36) {
        a.insert("maxSecurityGroups".into(), json!(10));
        a.insert("maxSecurityGroupRules".into(), json!(20));
        a.insert("maxTotalFloatingIps".into(), json!(10));
        a.insert("totalFloatingIpsUsed".into(), json!(0));
        a.insert("totalSecurityGroupsUsed".into(), json!(0));
    }
    Ok(Json(
        json!({"limits": {"rate": [], "absolute": Value::Object(a)}}),
    ))
}

fn quota_err(e: cloud::quota::QuotaError) -> ApiError {
    ApiError::from(cloud::compute::ComputeError::from(e))
}

/// The project's limits by name (enforced ones from the engine).
async fn limits_of(
    state: &AppState,
    caller: &Caller,
    project: &str,
) -> ApiResult<Map<String, Value>> {
    let limits = state
        .compute
        .quota()
        .get_limits(&caller.ctx, project)
        .await
        .map_err(quota_err)?;
    let mut m = Map::new();
    for l in limits {
        if ENFORCED.contains(&l.resource) {
            m.insert(l.resource.name().into(), json!(l.limit));
        }
    }
    Ok(m)
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut m = limits_of(&state, &caller, &project).await?;
    for (k, v) in fixed(&mv) {
        m.insert(k.into(), json!(v));
    }
    m.insert("id".into(), json!(project));
    Ok(Json(json!({ "quota_set": Value::Object(m) })))
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(project): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let usage = state
        .compute
        .quota()
        .usage(&caller.ctx, &project)
        .await
        .map_err(quota_err)?;
    // Key pairs belong to users: Nova counts the asking (or named) user's.
    let user = q.get("user_id").unwrap_or(&caller.ctx.user_id);
    let key_pairs = state.compute.count_keypairs(user).await?;
    let mut m = Map::new();
    for u in usage {
        if !ENFORCED.contains(&u.resource) {
            continue;
        }
        let in_use = if u.resource == Resource::KEY_PAIRS {
            key_pairs
        } else {
            u.in_use
        };
        m.insert(
            u.resource.name().into(),
            json!({"in_use": in_use, "limit": u.limit, "reserved": u.reserved}),
        );
    }
    for (k, v) in fixed(&mv) {
        m.insert(k.into(), json!({"in_use": 0, "limit": v, "reserved": 0}));
    }
    m.insert("id".into(), json!(project));
    Ok(Json(json!({ "quota_set": Value::Object(m) })))
}

/// The defaults by name: admins' overrides, else the config.
fn defaults_map(defaults: Vec<cloud::quota::DefaultLimit>) -> Map<String, Value> {
    defaults
        .into_iter()
        .filter(|d| ENFORCED.contains(&d.resource))
        .map(|d| (d.resource.name().to_string(), json!(d.limit)))
        .collect()
}

pub async fn defaults(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    let defaults = state
        .compute
        .quota()
        .defaults(&caller.ctx)
        .await
        .map_err(quota_err)?;
    let mut m = defaults_map(defaults);
    for (k, v) in fixed(&mv) {
        m.insert(k.into(), json!(v));
    }
    m.insert("id".into(), json!(project));
    Ok(Json(json!({ "quota_set": Value::Object(m) })))
}

fn invalid(field: &str, value: &Value, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {value}. {why}"
    ))
}

/// `PUT /os-quota-sets/{project_id}`: admins set limits; without `force`
/// a limit below what is in use (and reserved) is refused, as Nova does.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let o = object_at(&body, "quota_set")?;
    let force = match o.get("force") {
        None => false,
        Some(v) => parse_bool(v).ok_or_else(|| invalid("force", v, "is not a boolean"))?,
    };
    let wanted = parse_limits(o, &fixed(&mv).collect::<Vec<_>>(), true)?;
    let quota = state.compute.quota();
    if !force && !wanted.is_empty() {
        let usage = quota
            .usage(&caller.ctx, &project)
            .await
            .map_err(quota_err)?;
        for (r, limit) in &wanted {
            let used = usage
                .iter()
                .find(|u| u.resource == *r)
                .map_or(0, |u| u.in_use + u.reserved);
            if *limit != -1 && *limit < used {
                return Err(ApiError::bad_request(format!(
                    "Quota limit {limit} for {r} must be greater than or equal to already used and reserved {used}."
                )));
            }
        }
    }
    // One transaction: a refused value leaves every limit as it was.
    let items: Vec<(Resource, Option<i64>)> = wanted.iter().map(|(r, l)| (*r, Some(*l))).collect();
    quota
        .set_limits(&caller.ctx, &project, &items)
        .await
        .map_err(quota_err)?;
    let mut m = limits_of(&state, &caller, &project).await?;
    for (k, v) in fixed(&mv) {
        m.insert(k.into(), json!(v));
    }
    Ok(Json(json!({ "quota_set": Value::Object(m) })))
}

/// A quota set's body read into limits of the enforced quotas, as Nova's
/// schema checks it (integers or integer strings, -1 to 2³¹−1, no unknown
/// keys); a fixed quota may only be given its fixed value.
fn parse_limits(
    o: &Map<String, Value>,
    fixed: &[(&'static str, i64)],
    allow_force: bool,
) -> ApiResult<Vec<(Resource, i64)>> {
    let mut wanted: Vec<(Resource, i64)> = Vec::new();
    for (k, v) in o {
        if allow_force && k == "force" {
            continue;
        }
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| invalid(k, v, format!("{v} is not of type 'integer', 'string'")))?;
        if !(-1..=0x7FFF_FFFF).contains(&n) {
            return Err(invalid(k, v, format!("{n} is less than the minimum of -1")));
        }
        match ENFORCED.iter().find(|r| r.name() == k) {
            Some(r) => wanted.push((*r, n)),
            None => match fixed.iter().find(|(name, _)| name == k) {
                Some((_, fixed)) if *fixed == n => {}
                Some((_, fixed)) => {
                    return Err(ApiError::bad_request(format!(
                        "Quota {k} is fixed at {fixed} in this cloud."
                    )))
                }
                None => {
                    return Err(invalid(
                        "quota_set",
                        &Value::Object(o.clone()),
                        format!("Additional properties are not allowed ('{k}' was unexpected)"),
                    ))
                }
            },
        }
    }
    Ok(wanted)
}

/// The quotas a quota class shows beside the enforced ones: Nova's class
/// sets dropped the network quotas at 2.50, not 2.36.
fn class_fixed(mv: &Microversion) -> Vec<(&'static str, i64)> {
    FIXED
        .iter()
        .filter(|(_, _, gone)| {
            gone.map(|(a, b)| if (a, b) == (2, 36) { (2, 50) } else { (a, b) })
                .is_none_or(|(a, b)| !mv.at_least(a, b))
        })
        .map(|(k, v, _)| (*k, *v))
        .collect()
}

/// Only Nova's `default` class means anything (it is the defaults).
fn default_class(class: &str) -> ApiResult<()> {
    if class == "default" {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Quota class {class} could not be found."
        )))
    }
}

/// `GET /os-quota-class-sets/default` (admin): the default limits.
pub async fn class_show(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(class): Path<String>,
) -> ApiResult<Json<Value>> {
    let defaults = state
        .compute
        .quota()
        .default_limits(&caller.ctx)
        .await
        .map_err(quota_err)?;
    default_class(&class)?;
    let mut m = defaults_map(defaults);
    for (k, v) in class_fixed(&mv) {
        m.insert(k.into(), json!(v));
    }
    m.insert("id".into(), json!(class));
    Ok(Json(json!({ "quota_class_set": Value::Object(m) })))
}

/// `PUT /os-quota-class-sets/default` (admin): new default limits, all or
/// nothing; the answer has no `id`, as Nova's.
pub async fn class_update(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(class): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let quota = state.compute.quota();
    // Who may ask is decided before what was asked is read.
    quota.default_limits(&caller.ctx).await.map_err(quota_err)?;
    default_class(&class)?;
    let o = object_at(&body, "quota_class_set")?;
    let wanted = parse_limits(o, &class_fixed(&mv), false)?;
    let items: Vec<(Resource, Option<i64>)> = wanted.iter().map(|(r, l)| (*r, Some(*l))).collect();
    quota
        .set_default_limits(&caller.ctx, &items)
        .await
        .map_err(quota_err)?;
    let mut m = defaults_map(quota.default_limits(&caller.ctx).await.map_err(quota_err)?);
    for (k, v) in class_fixed(&mv) {
        m.insert(k.into(), json!(v));
    }
    Ok(Json(json!({ "quota_class_set": Value::Object(m) })))
}

/// `DELETE /os-quota-sets/{project_id}`: back to the defaults (202).
pub async fn revert(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> ApiResult<StatusCode> {
    let items: Vec<(Resource, Option<i64>)> = ENFORCED.iter().map(|r| (*r, None)).collect();
    state
        .compute
        .quota()
        .set_limits(&caller.ctx, &project, &items)
        .await
        .map_err(quota_err)?;
    Ok(StatusCode::ACCEPTED)
}
