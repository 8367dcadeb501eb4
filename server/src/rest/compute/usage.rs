//! `/compute/v2.1/os-simple-tenant-usage`: instance hours per project over
//! a period (`start` and `end`, naive UTC; the end is clipped to now).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, NaiveDateTime, Utc};
use cloud::compute::{ProjectUsage, ServerUsage};
use serde_json::{json, Value};

use super::iso;
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/os-simple-tenant-usage", get(index))
        .route("/os-simple-tenant-usage/{project_id}", get(show))
}

/// Nova's accepted formats (`_parse_datetime`); none given is now.
fn parse_time(v: Option<&String>) -> ApiResult<DateTime<Utc>> {
    let Some(s) = v.filter(|s| !s.is_empty()) else {
        return Ok(Utc::now());
    };
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    // What clients send with an offset (`…Z`, `…+00:00`).
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request("Invalid datetime string: Datetime is in invalid format")
        })
}

fn period(q: &HashMap<String, String>) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let start = parse_time(q.get("start"))?;
    let end = parse_time(q.get("end"))?;
    if start >= end {
        return Err(ApiError::bad_request(
            "Invalid start time. The start time cannot occur after the end time.",
        ));
    }
    Ok((start, end.min(Utc::now())))
}

fn server_json(project: &str, s: &ServerUsage) -> Value {
    let until = s.ended_at.unwrap_or_else(Utc::now);
    json!({
        "instance_id": s.instance_id,
        "name": s.name,
        "tenant_id": project,
        "hours": s.hours,
        "vcpus": s.vcpus,
        "memory_mb": s.memory_mb,
        "local_gb": s.local_gb,
        "flavor": s.flavor,
        "state": s.state,
        "started_at": iso(&s.started_at),
        "ended_at": s.ended_at.as_ref().map(iso),
        "uptime": (until - s.started_at).num_seconds().max(0),
    })
}

fn usage_json(u: &ProjectUsage, detailed: bool) -> Value {
    let mut v = json!({
        "tenant_id": u.project_id,
        "start": iso(&u.start),
        "stop": iso(&u.stop),
        "total_hours": u.total_hours,
        "total_vcpus_usage": u.total_vcpus_usage,
        "total_memory_mb_usage": u.total_memory_mb_usage,
        "total_local_gb_usage": u.total_local_gb_usage,
    });
    if detailed {
        v["server_usages"] = u
            .servers
            .iter()
            .map(|s| server_json(&u.project_id, s))
            .collect();
    }
    v
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (start, end) = period(&q)?;
    let detailed = q.get("detailed").is_some_and(|d| d == "1");
    let all = state.compute.all_usage(&caller.ctx, start, end).await?;
    let items: Vec<Value> = all
        .iter()
        .filter(|u| !u.servers.is_empty())
        .map(|u| usage_json(u, detailed))
        .collect();
    Ok(Json(json!({ "tenant_usages": items })))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(project): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (start, end) = period(&q)?;
    let u = state
        .compute
        .project_usage(&caller.ctx, &project, start, end)
        .await?;
    // Nova answers an empty object for a project that ran nothing.
    let body = if u.servers.is_empty() {
        json!({})
    } else {
        usage_json(&u, true)
    };
    Ok(Json(json!({ "tenant_usage": body })))
}
