//! Version discovery: `GET /image` (300, Glance's list of versions) and
//! `GET /image/versions` (200, the same list).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// The v2 minor versions we answer to, newest first. 2.15 is Glance's
/// CURRENT without the cache API (2.16) and with a single store (the
/// multi-store versions 2.8 and 2.10 to 2.13 are not offered).
const VERSIONS: &[(&str, &str)] = &[
    ("v2.15", "CURRENT"),
    ("v2.9", "SUPPORTED"),
    ("v2.7", "SUPPORTED"),
    ("v2.6", "SUPPORTED"),
    ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
];

fn doc(state: &AppState) -> Value {
    let href = format!("{}/v2/", super::base(state));
    let values: Vec<Value> = VERSIONS
        .iter()
        .map(|(id, status)| {
            json!({"id": id, "status": status, "links": [{"rel": "self", "href": href}]})
        })
        .collect();
    json!({ "versions": values })
}

/// `GET /image`, `/image/`, `/image/v2`: 300 Multiple Choices, as Glance
/// answers a request that names no version.
pub async fn versions(State(state): State<AppState>) -> impl IntoResponse {
    (StatusCode::MULTIPLE_CHOICES, Json(doc(&state)))
}

/// `GET /image/versions`: the same document, 200.
pub async fn versions_explicit(State(state): State<AppState>) -> impl IntoResponse {
    Json(doc(&state))
}
