//! `/compute/v2.1/flavors`: flavors (Nova's flavors and flavor-manage),
//! os-flavor-access and os-extra_specs.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use cloud::compute::{Flavor, FlavorFilter, NewFlavor};
use serde_json::{json, Map, Value};

use super::{limit_and_marker, links, next_links, object_at, parse_bool, Microversion};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/flavors", get(index).post(create))
        .route("/flavors/detail", get(detail))
        .route("/flavors/{id}", get(show).put(update).delete(delete))
        .route("/flavors/{id}/os-flavor-access", get(access_list))
        .route("/flavors/{id}/action", post(action))
        .route(
            "/flavors/{id}/os-extra_specs",
            get(specs_index).post(specs_create),
        )
        .route(
            "/flavors/{id}/os-extra_specs/{key}",
            get(spec_show).put(spec_update).delete(spec_delete),
        )
}

/// The detailed flavor, as Nova's view builder shows it at `mv`.
pub(crate) fn flavor_json(state: &AppState, mv: &Microversion, f: &Flavor) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(f.id));
    m.insert("name".into(), json!(f.name));
    m.insert("ram".into(), json!(f.ram_mib));
    m.insert("disk".into(), json!(f.disk_gb));
    // Nova showed a swap of 0 as "" until 2.75.
    let swap = if f.swap_mib == 0 && !mv.at_least(2, 75) {
        json!("")
    } else {
        json!(f.swap_mib)
    };
    m.insert("swap".into(), swap);
    m.insert("OS-FLV-EXT-DATA:ephemeral".into(), json!(f.ephemeral_gb));
    m.insert("OS-FLV-DISABLED:disabled".into(), json!(false));
    m.insert("vcpus".into(), json!(f.vcpus));
    m.insert("os-flavor-access:is_public".into(), json!(f.is_public));
    m.insert("rxtx_factor".into(), json!(f.rxtx_factor));
    m.insert("links".into(), links(state, "flavors", &f.id));
    if mv.at_least(2, 55) {
        m.insert("description".into(), json!(f.description));
    }
    if mv.at_least(2, 61) {
        m.insert("extra_specs".into(), json!(f.extra_specs));
    }
    Value::Object(m)
}

fn brief_json(state: &AppState, mv: &Microversion, f: &Flavor) -> Value {
    let mut v = json!({"id": f.id, "name": f.name, "links": links(state, "flavors", &f.id)});
    if mv.at_least(2, 55) {
        v["description"] = json!(f.description);
    }
    v
}

const LIST_PARAMS: &[&str] = &[
    "limit",
    "marker",
    "is_public",
    "minRam",
    "minDisk",
    "sort_key",
    "sort_dir",
];

/// Nova's reading of the list query (`_get_flavors`).
fn list_filter(
    caller: &Caller,
    mv: &Microversion,
    q: &HashMap<String, String>,
) -> ApiResult<FlavorFilter> {
    if mv.at_least(2, 75) {
        if let Some(k) = q.keys().find(|k| !LIST_PARAMS.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "Invalid input for query parameters {k}. Value: {}. Additional properties are not allowed ('{k}' was unexpected)",
                q[k]
            )));
        }
    }
    let (limit, marker) = limit_and_marker(q)?;
    // Only admins filter by visibility; without a filter they see the
    // public flavors (and their own project's private ones), `none` all.
    let is_public =
        if caller.ctx.is_admin() {
            match q.get("is_public") {
                None => Some(true),
                Some(v) if v.eq_ignore_ascii_case("none") => None,
                Some(v) => Some(parse_bool(&json!(v)).ok_or_else(|| {
                    ApiError::bad_request(format!("Invalid is_public filter [{v}]"))
                })?),
            }
        } else {
            None
        };
    let min = |name: &str| -> ApiResult<Option<u64>> {
        match q.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(|n| u64::try_from(n).ok())
                .map_err(|_| ApiError::bad_request(format!("Invalid {name} filter [{v}]"))),
        }
    };
    for (key, allowed) in [
        (
            "sort_key",
            &[
                "created_at",
                "description",
                "disabled",
                "ephemeral_gb",
                "flavorid",
                "id",
                "is_public",
                "memory_mb",
                "name",
                "root_gb",
                "rxtx_factor",
                "swap",
                "updated_at",
                "vcpu_weight",
                "vcpus",
            ][..],
        ),
        ("sort_dir", &["asc", "desc"][..]),
    ] {
        if let Some(v) = q.get(key) {
            if !allowed.contains(&v.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Invalid input for query parameters {key}. Value: {v}. '{v}' is not one of {allowed:?}"
                )));
            }
        }
    }
    Ok(FlavorFilter {
        is_public,
        min_ram: min("minRam")?,
        min_disk: min("minDisk")?,
        marker,
        limit: Some(limit),
    })
}

async fn list(
    state: &AppState,
    caller: &Caller,
    mv: &Microversion,
    q: &HashMap<String, String>,
    detailed: bool,
) -> ApiResult<Json<Value>> {
    let filter = list_filter(caller, mv, q)?;
    let limit = filter.limit.unwrap_or(super::MAX_LIMIT);
    let flavors = state.compute.list_flavors(&caller.ctx, &filter).await?;
    let items: Vec<Value> = flavors
        .iter()
        .map(|f| {
            if detailed {
                flavor_json(state, mv, f)
            } else {
                brief_json(state, mv, f)
            }
        })
        .collect();
    let mut body = json!({ "flavors": items });
    let collection = if detailed {
        "flavors/detail"
    } else {
        "flavors"
    };
    if let Some(l) = next_links(
        state,
        collection,
        q,
        flavors.len(),
        limit,
        flavors.last().map(|f| f.id.as_str()),
    ) {
        body["flavors_links"] = l;
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

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let f = state.compute.get_flavor(&caller.ctx, &id).await?;
    Ok(Json(json!({ "flavor": flavor_json(&state, &mv, &f) })))
}

fn invalid(field: &str, value: &Value, why: impl std::fmt::Display) -> ApiError {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ApiError::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {shown}. {why}"
    ))
}

/// Nova's `flavor_param_positive`/`non_negative`: an integer, or a string
/// of digits, from `min` to 2^31-1.
fn int_field(o: &Map<String, Value>, field: &str, min: i64) -> ApiResult<Option<u64>> {
    let Some(v) = o.get(field) else {
        return Ok(None);
    };
    let n = match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| invalid(field, v, format!("{v} is not of type 'integer', 'string'")))?,
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i64>().unwrap_or(i64::MAX)
        }
        Value::String(s) => {
            return Err(invalid(
                field,
                v,
                format!("'{s}' does not match '^[0-9]+$'"),
            ))
        }
        _ => {
            return Err(invalid(
                field,
                v,
                format!("{v} is not of type 'integer', 'string'"),
            ))
        }
    };
    if n < min {
        return Err(invalid(
            field,
            v,
            format!("{n} is less than the minimum of {min}"),
        ));
    }
    if n > 0x7FFF_FFFF {
        return Err(invalid(
            field,
            v,
            format!("{n} is greater than the maximum of 2147483647"),
        ));
    }
    Ok(Some(u64::try_from(n).unwrap_or(0)))
}

fn required(o: &Map<String, Value>, field: &str) -> ApiError {
    invalid(
        "flavor",
        &Value::Object(o.clone()),
        format!("'{field}' is a required property"),
    )
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let o = object_at(&body, "flavor")?;
    let mut allowed = vec![
        "name",
        "id",
        "ram",
        "vcpus",
        "disk",
        "OS-FLV-EXT-DATA:ephemeral",
        "swap",
        "rxtx_factor",
        "os-flavor-access:is_public",
    ];
    if mv.at_least(2, 55) {
        allowed.push("description");
    }
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(
            "flavor",
            &Value::Object(o.clone()),
            format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    let name = match o.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => return Err(invalid("name", v, format!("{v} is not of type 'string'"))),
        None => return Err(required(o, "name")),
    };
    let id = match o.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(v) => {
            return Err(invalid(
                "id",
                v,
                format!("{v} is not of type 'string', 'number', 'null'"),
            ))
        }
    };
    let ram = int_field(o, "ram", 1)?.ok_or_else(|| required(o, "ram"))?;
    let vcpus = int_field(o, "vcpus", 1)?.ok_or_else(|| required(o, "vcpus"))?;
    let disk = int_field(o, "disk", 0)?.ok_or_else(|| required(o, "disk"))?;
    let ephemeral = int_field(o, "OS-FLV-EXT-DATA:ephemeral", 0)?.unwrap_or(0);
    let swap = int_field(o, "swap", 0)?.unwrap_or(0);
    let rxtx_factor = match o.get("rxtx_factor") {
        None => 1.0,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(v @ Value::String(s)) => s
            .parse::<f64>()
            .ok()
            .filter(|_| {
                let mut parts = s.splitn(2, '.');
                let digits = |p: Option<&str>| {
                    p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                };
                let int_ok = digits(parts.next());
                int_ok && parts.next().is_none_or(|f| digits(Some(f)))
            })
            .ok_or_else(|| {
                invalid(
                    "rxtx_factor",
                    v,
                    format!("'{s}' does not match '^[0-9]+(\\.[0-9]+)?$'"),
                )
            })?,
        Some(v) => {
            return Err(invalid(
                "rxtx_factor",
                v,
                format!("{v} is not of type 'number', 'string'"),
            ))
        }
    };
    let is_public = match o.get("os-flavor-access:is_public") {
        None => true,
        Some(v) => parse_bool(v).ok_or_else(|| {
            invalid(
                "os-flavor-access:is_public",
                v,
                format!("{v} is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']"),
            )
        })?,
    };
    let description = match o.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(invalid(
                "description",
                v,
                format!("{v} is not of type 'string', 'null'"),
            ))
        }
    };
    let f = state
        .compute
        .create_flavor(
            &caller.ctx,
            NewFlavor {
                id,
                name,
                description,
                vcpus: u32::try_from(vcpus).unwrap_or(u32::MAX),
                ram_mib: ram,
                disk_gb: disk,
                ephemeral_gb: ephemeral,
                swap_mib: swap,
                rxtx_factor,
                is_public,
            },
        )
        .await?;
    Ok(Json(json!({ "flavor": flavor_json(&state, &mv, &f) })))
}

/// `PUT /flavors/{id}` (2.55): the description, the one thing that changes.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    if !mv.at_least(2, 55) {
        return Err(ApiError::not_found("The resource could not be found."));
    }
    let o = object_at(&body, "flavor")?;
    if let Some(k) = o.keys().find(|k| k.as_str() != "description") {
        return Err(invalid(
            "flavor",
            &Value::Object(o.clone()),
            format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    let description = match o.get("description") {
        None => {
            return Err(invalid(
                "flavor",
                &Value::Object(o.clone()),
                "'description' is a required property",
            ))
        }
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(invalid(
                "description",
                v,
                format!("{v} is not of type 'string', 'null'"),
            ))
        }
    };
    let f = state
        .compute
        .update_flavor_description(&caller.ctx, &id, description)
        .await?;
    Ok(Json(json!({ "flavor": flavor_json(&state, &mv, &f) })))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.compute.delete_flavor(&caller.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

// ------------------------------------------------------------ access

fn access_json(id: &str, projects: &[String]) -> Json<Value> {
    let list: Vec<Value> = projects
        .iter()
        .map(|p| json!({"flavor_id": id, "tenant_id": p}))
        .collect();
    Json(json!({ "flavor_access": list }))
}

pub async fn access_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let projects = state.compute.list_flavor_access(&caller.ctx, &id).await?;
    Ok(access_json(&id, &projects))
}

/// `POST /flavors/{id}/action`: `addTenantAccess` or `removeTenantAccess`.
pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Some((name, args)) = body
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return Err(ApiError::bad_request("Malformed request body"));
    };
    let tenant = match args.get("tenant") {
        Some(Value::String(t)) if !t.is_empty() && t.chars().count() <= 255 => t.clone(),
        Some(v) => return Err(invalid("tenant", v, "The tenant is 1 to 255 characters.")),
        None => return Err(invalid(name, args, "'tenant' is a required property")),
    };
    let projects = match name.as_str() {
        "addTenantAccess" => {
            state
                .compute
                .add_flavor_access(&caller.ctx, &id, &tenant)
                .await?
        }
        "removeTenantAccess" => {
            state
                .compute
                .remove_flavor_access(&caller.ctx, &id, &tenant)
                .await?
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "There is no such action: {other}"
            )))
        }
    };
    Ok(access_json(&id, &projects))
}

// ------------------------------------------------------------ extra specs

/// Nova's spec values: strings, numbers or booleans (stored as text).
fn spec_values(o: &Map<String, Value>) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in o {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            other => {
                return Err(invalid(
                    k,
                    other,
                    format!("{other} is not of type 'string', 'number', 'boolean'"),
                ))
            }
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

pub async fn specs_index(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let specs = state.compute.list_extra_specs(&caller.ctx, &id).await?;
    Ok(Json(json!({ "extra_specs": specs })))
}

/// `POST …/os-extra_specs`: merges; answers the request body, as Nova does.
pub async fn specs_create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let o = object_at(&body, "extra_specs")?;
    let specs = spec_values(o)?;
    state
        .compute
        .set_extra_specs(&caller.ctx, &id, specs)
        .await?;
    Ok(Json(body))
}

pub async fn spec_show(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let value = state.compute.get_extra_spec(&caller.ctx, &id, &key).await?;
    let mut m = Map::new();
    m.insert(key, Value::String(value));
    Ok(Json(Value::Object(m)))
}

pub async fn spec_update(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Some(o) = body.as_object() else {
        return Err(invalid(
            "body",
            &body,
            format!("{body} is not of type 'object'"),
        ));
    };
    let specs = spec_values(o)?;
    state
        .compute
        .update_extra_spec(&caller.ctx, &id, &key, specs)
        .await?;
    Ok(Json(body))
}

/// Nova answers 200 with no body.
pub async fn spec_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .compute
        .delete_extra_spec(&caller.ctx, &id, &key)
        .await?;
    Ok(StatusCode::OK)
}
