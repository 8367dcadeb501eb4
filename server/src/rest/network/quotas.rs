//! `/v2.0/quotas`: a project's network limits over the quota engine
//! (`NetworkService::quota`), with Neutron's `default` and `details`.
//!
//! Neutron also shows a quota for RBAC policies; they are not served yet,
//! so it is shown at Neutron's default and cannot be changed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;
use cloud::quota::Resource;
use serde_json::{json, Map, Value};

use super::{object_at, parse_bool, NeutronFault, NeutronResult, QUOTA_RESOURCES};
use crate::rest::auth::Caller;
use crate::rest::identity::{all_pages, JsonBody};
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/quotas", get(index))
        .route("/quotas/tenant", get(tenant))
        .route("/quotas/{project_id}", get(show).put(update).delete(revert))
        .route("/quotas/{project_id}/default", get(defaults))
        .route("/quotas/{project_id}/details", get(details))
        .route("/quotas/{project_id}/details.json", get(details))
}

/// Neutron's quotas for resources not kept yet: name and Neutron's default.
const FIXED: [(&str, i64); 1] = [("rbac_policy", 10)];

fn with_fixed(mut m: Map<String, Value>) -> Value {
    for (k, v) in FIXED {
        m.insert(k.into(), json!(v));
    }
    Value::Object(m)
}

async fn limits_of(
    state: &AppState,
    caller: &Caller,
    project: &str,
) -> NeutronResult<Map<String, Value>> {
    let limits = state
        .network
        .quota()
        .get_limits(&caller.ctx, project)
        .await?;
    Ok(limits
        .into_iter()
        .filter(|l| QUOTA_RESOURCES.contains(&l.resource))
        .map(|l| (l.resource.name().to_string(), json!(l.limit)))
        .collect())
}

/// `GET /quotas` (admin): the projects with limits of their own.
pub async fn index(State(state): State<AppState>, caller: Caller) -> NeutronResult<Json<Value>> {
    let quota = state.network.quota();
    // Admins only, as Neutron's `get_quota` on other projects.
    quota.default_limits(&caller.ctx).await?;
    let every = cloud::identity::ListFilter::default();
    let projects = all_pages!(every, |f| state.identity.list_projects(&caller.ctx, &f));
    let mut out = Vec::new();
    for p in projects {
        let limits = quota.get_limits(&caller.ctx, &p.id).await?;
        if limits
            .iter()
            .filter(|l| QUOTA_RESOURCES.contains(&l.resource))
            .all(|l| l.is_default)
        {
            continue;
        }
        let mut m: Map<String, Value> = limits
            .into_iter()
            .filter(|l| QUOTA_RESOURCES.contains(&l.resource))
            .map(|l| (l.resource.name().to_string(), json!(l.limit)))
            .collect();
        m.insert("project_id".into(), json!(p.id));
        m.insert("tenant_id".into(), json!(p.id));
        out.push(with_fixed(m));
    }
    Ok(Json(json!({ "quotas": out })))
}

/// `GET /quotas/tenant`: the caller's own project.
pub async fn tenant(caller: Caller) -> Json<Value> {
    let p = caller.ctx.project_id().unwrap_or_default();
    Json(json!({"tenant": {"tenant_id": p, "project_id": p}}))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> NeutronResult<Json<Value>> {
    let m = limits_of(&state, &caller, &project).await?;
    Ok(Json(json!({ "quota": with_fixed(m) })))
}

pub async fn defaults(
    State(state): State<AppState>,
    caller: Caller,
    Path(_project): Path<String>,
) -> NeutronResult<Json<Value>> {
    let m: Map<String, Value> = state
        .network
        .quota()
        .defaults(&caller.ctx)
        .await?
        .into_iter()
        .filter(|d| QUOTA_RESOURCES.contains(&d.resource))
        .map(|d| (d.resource.name().to_string(), json!(d.limit)))
        .collect();
    Ok(Json(json!({ "quota": with_fixed(m) })))
}

/// `GET /quotas/{project_id}/details`: limit, use and reservations.
pub async fn details(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> NeutronResult<Json<Value>> {
    let usage = state.network.quota().usage(&caller.ctx, &project).await?;
    let mut m = Map::new();
    for u in usage
        .into_iter()
        .filter(|u| QUOTA_RESOURCES.contains(&u.resource))
    {
        m.insert(
            u.resource.name().into(),
            json!({"limit": u.limit, "used": u.in_use, "reserved": u.reserved}),
        );
    }
    for (k, v) in FIXED {
        m.insert(k.into(), json!({"limit": v, "used": 0, "reserved": 0}));
    }
    Ok(Json(json!({ "quota": Value::Object(m) })))
}

fn invalid(key: &str, v: &Value) -> NeutronFault {
    NeutronFault::bad_request(format!(
        "Invalid input for {key}. Reason: '{}' is not an integer greater than or equal to -1.",
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    ))
}

/// `PUT /quotas/{project_id}` (admin): new limits, all or nothing. As
/// Neutron, a limit below use is accepted unless `check_limit` is true
/// (which the CLI's `quota set` sends unless `--force`).
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> NeutronResult<Json<Value>> {
    let o = object_at(&body, "quota")?;
    let mut check_limit = false;
    let mut wanted: Vec<(Resource, i64)> = Vec::new();
    for (k, v) in &o {
        // `check_limit` asks for the use check; `force` (the CLI's
        // `--force`) skips it, which is the default anyway.
        if k == "check_limit" || k == "force" {
            let on = parse_bool(v).ok_or_else(|| {
                NeutronFault::bad_request(format!(
                    "Invalid input for {k}. Reason: '{v}' is not a valid boolean."
                ))
            })?;
            if k == "check_limit" {
                check_limit = on;
            }
            continue;
        }
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .filter(|n| (-1..=0x7FFF_FFFF).contains(n))
        .ok_or_else(|| invalid(k, v))?;
        match QUOTA_RESOURCES.iter().find(|r| r.name() == k) {
            Some(r) => wanted.push((*r, n)),
            None => match FIXED.iter().find(|(name, _)| name == k) {
                Some((_, fixed)) if *fixed == n => {}
                Some((_, fixed)) => {
                    return Err(NeutronFault::bad_request(format!(
                        "Quota {k} is fixed at {fixed} in this cloud until {k}s are served."
                    )))
                }
                None => {
                    return Err(NeutronFault::bad_request(format!(
                        "Unrecognized attribute(s) '{k}'"
                    )))
                }
            },
        }
    }
    let quota = state.network.quota();
    if check_limit {
        let usage = quota.usage(&caller.ctx, &project).await?;
        for (r, limit) in &wanted {
            let used = usage
                .iter()
                .find(|u| u.resource == *r)
                .map_or(0, |u| u.in_use + u.reserved);
            if *limit != -1 && *limit < used {
                return Err(NeutronFault::bad_request(format!(
                    "Invalid input for operation: Quota limit {limit} for {r} must be greater than or equal to already used and reserved {used}."
                )));
            }
        }
    }
    let items: Vec<(Resource, Option<i64>)> = wanted.iter().map(|(r, l)| (*r, Some(*l))).collect();
    quota.set_limits(&caller.ctx, &project, &items).await?;
    let m = limits_of(&state, &caller, &project).await?;
    Ok(Json(json!({ "quota": with_fixed(m) })))
}

/// `DELETE /quotas/{project_id}` (admin): back to the defaults.
pub async fn revert(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
) -> NeutronResult<StatusCode> {
    let items: Vec<(Resource, Option<i64>)> = QUOTA_RESOURCES.iter().map(|r| (*r, None)).collect();
    state
        .network
        .quota()
        .set_limits(&caller.ctx, &project, &items)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
