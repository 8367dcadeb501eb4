//! `/compute/v2.1/os-keypairs`: a user's key pairs. Below 2.92 a create
//! without `public_key` generates an ed25519 pair here and answers its
//! private key once; from 2.92 Nova (and so Gureum) only imports, which
//! is what `openstack keypair create` does (it generates the key itself).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use cloud::compute::{KeyPair, NewKeyPair};
use serde_json::{json, Map, Value};

use super::{iso, limit_and_marker, next_links, object_at, Microversion};
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::identity::JsonBody;
use crate::rest::table::RouteTable;
use crate::AppState;

pub fn table() -> RouteTable {
    RouteTable::new()
        .route("/os-keypairs", get(index).post(create))
        .route("/os-keypairs/{name}", get(show).delete(delete))
}

/// `user_id` from the query, honoured from 2.10 (an admin's, by policy).
fn user_of<'a>(mv: &Microversion, q: &'a HashMap<String, String>) -> Option<&'a str> {
    if mv.at_least(2, 10) {
        q.get("user_id").map(String::as_str)
    } else {
        None
    }
}

fn brief(mv: &Microversion, k: &KeyPair) -> Value {
    let mut v = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if mv.at_least(2, 2) {
        v["type"] = json!(k.key_type);
    }
    v
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let all = state
        .compute
        .list_keypairs(&caller.ctx, user_of(&mv, &q))
        .await?;
    let paged = mv.at_least(2, 35);
    let (limit, marker) = if paged {
        limit_and_marker(&q)?
    } else {
        (usize::MAX, None)
    };
    let start = match &marker {
        None => 0,
        Some(m) => {
            all.iter()
                .position(|k| &k.name == m)
                .ok_or_else(|| ApiError::bad_request(format!("Marker {m} could not be found.")))?
                + 1
        }
    };
    let page: Vec<&KeyPair> = all.iter().skip(start).take(limit).collect();
    let items: Vec<Value> = page
        .iter()
        .map(|k| json!({ "keypair": brief(&mv, k) }))
        .collect();
    let mut body = json!({ "keypairs": items });
    if paged {
        if let Some(l) = next_links(
            &state,
            "os-keypairs",
            &q,
            page.len(),
            limit,
            page.last().map(|k| k.name.as_str()),
        ) {
            body["keypairs_links"] = l;
        }
    }
    Ok(Json(body))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let k = state
        .compute
        .get_keypair(&caller.ctx, user_of(&mv, &q), &name)
        .await?;
    let mut v = brief(&mv, &k);
    v["user_id"] = json!(k.user_id);
    v["created_at"] = json!(iso(&k.created_at));
    // Nova's soft-delete columns and integer id; Gureum keys by (user, name).
    v["deleted"] = json!(false);
    v["deleted_at"] = Value::Null;
    v["updated_at"] = Value::Null;
    v["id"] = json!(0);
    Ok(Json(json!({ "keypair": v })))
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

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let o: &Map<String, Value> = object_at(&body, "keypair")?;
    let whole = Value::Object(o.clone());
    let mut allowed = vec!["name", "public_key"];
    if mv.at_least(2, 2) {
        allowed.push("type");
    }
    if mv.at_least(2, 10) {
        allowed.push("user_id");
    }
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(
            "keypair",
            &whole,
            format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    let name = match o.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => return Err(invalid("name", v, format!("{v} is not of type 'string'"))),
        None => return Err(invalid("keypair", &whole, "'name' is a required property")),
    };
    // '@' and '.' are allowed from 2.92 (the service checks the rest).
    if !mv.at_least(2, 92) && name.contains(['@', '.']) {
        return Err(invalid(
            "name",
            &json!(name),
            format!("'{name}' does not match '^[_\\\\- a-zA-Z0-9]+$'"),
        ));
    }
    let public_key = match o.get("public_key") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(invalid(
                "public_key",
                v,
                format!("{v} is not of type 'string'"),
            ))
        }
    };
    if public_key.is_none() && mv.at_least(2, 92) {
        return Err(invalid(
            "keypair",
            &whole,
            "'public_key' is a required property",
        ));
    }
    match o.get("type") {
        None => {}
        Some(Value::String(t)) if t == "ssh" => {}
        Some(Value::String(t)) if t == "x509" => {
            return Err(ApiError::bad_request(
                "Keypair data is invalid: x509 key pairs are not supported by this cloud",
            ))
        }
        Some(v) => {
            return Err(invalid(
                "type",
                v,
                format!("{v} is not one of ['ssh', 'x509']"),
            ))
        }
    }
    let user_id = match o.get("user_id") {
        None => None,
        Some(Value::String(u)) => Some(u.clone()),
        Some(v) => {
            return Err(invalid(
                "user_id",
                v,
                format!("{v} is not of type 'string'"),
            ))
        }
    };
    let created = state
        .compute
        .create_keypair(
            &caller.ctx,
            NewKeyPair {
                name,
                public_key,
                user_id,
            },
        )
        .await?;
    let k = &created.keypair;
    let mut v = brief(&mv, k);
    v["user_id"] = json!(k.user_id);
    if let Some(private) = &created.private_key {
        v["private_key"] = json!(private.expose());
    }
    let status = if mv.at_least(2, 2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "keypair": v }))).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    mv: Microversion,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    state
        .compute
        .delete_keypair(&caller.ctx, user_of(&mv, &q), &name)
        .await?;
    Ok(if mv.at_least(2, 2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    })
}
