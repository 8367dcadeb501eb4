//! Nova v2.1 at `/compute`: thin adapters over
//! [`cloud::compute::ComputeService`].
//!
//! Every request under `/compute` passes [`compute_layer`]: it reads the
//! microversion the client asks for (`OpenStack-API-Version: compute 2.x`
//! or `X-OpenStack-Nova-API-Version: 2.x`; none is 2.1, `latest` is
//! [`Microversion::MAX`], one outside the range a 406), hands it to the
//! handlers as the [`Microversion`] extractor, echoes it in the response
//! headers, and renders every fault in Nova's shape
//! (`{"itemNotFound": {"code": 404, "message": …}}`).

mod flavors;
mod hypervisors;
mod keypairs;
mod quotas;
mod servers;
mod usage;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::{method_not_allowed, not_found, ApiError, ApiResult, Fault};
use super::table::RouteTable;
use crate::AppState;

/// Nova's `CONF.api.max_limit`.
pub(crate) const MAX_LIMIT: usize = 1000;

/// Nova's routes, relative to `/compute` (`/compute/` itself is
/// [`versions`], mounted beside the nest as identity's is).
pub fn table() -> RouteTable {
    let v21 = RouteTable::new()
        .route("/", get(version))
        .merge(servers::table())
        .merge(flavors::table())
        .merge(keypairs::table())
        .merge(quotas::table())
        .merge(hypervisors::table())
        .merge(usage::table());
    RouteTable::new()
        .route("/", get(versions))
        .route("/v2.1/", get(version))
        .nest("/v2.1", v21)
        .map_router(|r| {
            r.fallback(not_found)
                .method_not_allowed_fallback(method_not_allowed)
                .layer(axum::middleware::from_fn(compute_layer))
        })
}

// ------------------------------------------------------------ microversions

/// The compute API microversion of a request (2.1 when none is asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion {
    pub major: u16,
    pub minor: u16,
}

impl Microversion {
    pub const MIN: Microversion = Microversion { major: 2, minor: 1 };
    /// The newest we speak: 2.96 (Nova 2024.1's, without what came after).
    pub const MAX: Microversion = Microversion {
        major: 2,
        minor: 96,
    };

    /// The request asks for `major.minor` or later.
    pub fn at_least(&self, major: u16, minor: u16) -> bool {
        *self >= Microversion { major, minor }
    }

    /// What the headers ask for: Nova's reading (microversion_parse), the
    /// new header's `compute` entry first, then the legacy header.
    pub fn from_headers(headers: &HeaderMap) -> Result<Microversion, ApiError> {
        let asked = headers
            .get_all("openstack-api-version")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|entry| {
                let mut parts = entry.split_whitespace();
                let service = parts.next()?;
                service
                    .eq_ignore_ascii_case("compute")
                    .then(|| parts.next().unwrap_or_default().to_string())
            })
            .or_else(|| {
                headers
                    .get("x-openstack-nova-api-version")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_string())
            });
        let Some(asked) = asked else {
            return Ok(Microversion::MIN);
        };
        if asked.eq_ignore_ascii_case("latest") {
            return Ok(Microversion::MAX);
        }
        let v = parse_version(&asked).ok_or_else(|| {
            ApiError::bad_request(format!(
                "API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum."
            ))
        })?;
        if v < Microversion::MIN || v > Microversion::MAX {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "Version {v} is not supported by the API. Minimum is {} and maximum is {}.",
                    Microversion::MIN,
                    Microversion::MAX
                ),
            ));
        }
        Ok(v)
    }
}

/// Nova's `^([1-9]\d*)\.([1-9]\d*|0)$`.
fn parse_version(s: &str) -> Option<Microversion> {
    let (major, minor) = s.split_once('.')?;
    let number = |p: &str, zero_ok: bool| -> Option<u16> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if p.starts_with('0') && !(zero_ok && p == "0") {
            return None;
        }
        p.parse().ok()
    };
    Some(Microversion {
        major: number(major, false)?,
        minor: number(minor, true)?,
    })
}

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Microversion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Microversion>() {
            Some(v) => Ok(*v),
            None => Microversion::from_headers(&parts.headers),
        }
    }
}

/// Nova's fault names by status (`wsgi.Fault._fault_names`).
fn fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// A fault as Nova renders it, keeping the response's headers.
fn nova_fault(mut res: Response, message: String) -> Response {
    let status = res.status();
    let body = json!({ fault_name(status): {"code": status.as_u16(), "message": message} });
    let mut out = (status, Json(body)).into_response();
    for (k, v) in res.headers_mut().drain().filter_map(|(k, v)| Some((k?, v))) {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(k, v);
        }
    }
    out
}

/// The compute API's layer: microversion in, version headers and Nova's
/// fault bodies out.
pub async fn compute_layer(mut req: Request, next: Next) -> Response {
    let mv = match Microversion::from_headers(req.headers()) {
        Ok(v) => v,
        Err(e) => {
            let message = e.message.clone();
            return nova_fault(e.into_response(), message);
        }
    };
    req.extensions_mut().insert(mv);
    let mut res = next.run(req).await;
    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        // keystonemiddleware's 401 keeps Keystone's shape in Nova too.
        let fault = res.extensions_mut().remove::<Fault>();
        if status != StatusCode::UNAUTHORIZED {
            let message = match fault {
                Some(f) => Some(f.0),
                None => plain_text(&mut res).await,
            };
            if let Some(message) = message {
                res = nova_fault(res, message);
            }
        }
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("compute {mv}")) {
        h.insert("openstack-api-version", v);
    }
    if let Ok(v) = HeaderValue::from_str(&mv.to_string()) {
        h.insert("x-openstack-nova-api-version", v);
    }
    h.append(
        axum::http::header::VARY,
        HeaderValue::from_static("OpenStack-API-Version"),
    );
    h.append(
        axum::http::header::VARY,
        HeaderValue::from_static("X-OpenStack-Nova-API-Version"),
    );
    res
}

/// The text of a framework error (a path or query that did not parse),
/// read off the response so it can be re-sent as a Nova fault; `None` for
/// a body that is already JSON.
pub(crate) async fn plain_text(res: &mut Response) -> Option<String> {
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return None;
    }
    let body = std::mem::take(res.body_mut());
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    Some(if text.is_empty() {
        res.status()
            .canonical_reason()
            .unwrap_or("Error")
            .to_string()
    } else {
        text
    })
}

// ------------------------------------------------------------ versions

const MEDIA_TYPE: &str = "application/vnd.openstack.compute+json;version=2.1";
const UPDATED: &str = "2013-07-23T11:33:21Z";

fn root(state: &AppState) -> String {
    format!("{}/compute", state.config.public_url.trim_end_matches('/'))
}

/// `<public_url>/compute/v2.1`, the base of every self link.
pub(crate) fn base(state: &AppState) -> String {
    format!("{}/v2.1", root(state))
}

/// `GET /compute/`: the versions Nova offers (v2.1 only: the legacy v2.0
/// endpoint is not served).
pub async fn versions(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"versions": [{
        "id": "v2.1",
        "status": "CURRENT",
        "version": Microversion::MAX.to_string(),
        "min_version": Microversion::MIN.to_string(),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": format!("{}/", base(&state))}],
    }]}))
}

/// `GET /compute/v2.1`: the version document.
pub async fn version(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"version": {
        "id": "v2.1",
        "status": "CURRENT",
        "version": Microversion::MAX.to_string(),
        "min_version": Microversion::MIN.to_string(),
        "updated": UPDATED,
        "links": [
            {"rel": "self", "href": format!("{}/", base(&state))},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
    }}))
}

// ------------------------------------------------------------ helpers

/// Nova's `self` and `bookmark` links of an object.
pub(crate) fn links(state: &AppState, collection: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/{collection}/{id}", base(state))},
        {"rel": "bookmark", "href": format!("{}/{collection}/{id}", root(state))},
    ])
}

/// Nova's `…_links` of a page: a `next` link when the page is full.
pub(crate) fn next_links(
    state: &AppState,
    collection: &str,
    query: &HashMap<String, String>,
    items: usize,
    limit: usize,
    last_id: Option<&str>,
) -> Option<Value> {
    let last = last_id?;
    if limit == 0 || items != limit {
        return None;
    }
    let mut params: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "marker")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    params.push(("marker".into(), last.to_string()));
    params.sort();
    let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
    Some(json!([{
        "rel": "next",
        "href": format!("{}/{collection}?{qs}", base(state)),
    }]))
}

/// `limit` and `marker` as Nova reads them: a limit is a whole number of 0
/// or more (at most [`MAX_LIMIT`] are given).
pub(crate) fn limit_and_marker(q: &HashMap<String, String>) -> ApiResult<(usize, Option<String>)> {
    let limit = match q.get("limit") {
        None => MAX_LIMIT,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
            Ok(_) => {
                return Err(ApiError::bad_request(format!(
                    "Invalid input received: limit must be >= 0. Value: {v}"
                )))
            }
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "Invalid input received: limit must be an integer. Value: {v}"
                )))
            }
        },
    };
    Ok((limit, q.get("marker").cloned()))
}

/// Nova's `strutils.bool_from_string(strict=True)` for query and body strings.
pub(crate) fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
            "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A time as Nova's JSON writes a naive UTC datetime:
/// `2024-01-01T00:00:00.000000`.
pub(crate) fn iso(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The body's one top-level object under `key`, or Nova's schema error.
pub(crate) fn object_at<'a>(
    body: &'a Value,
    key: &str,
) -> ApiResult<&'a serde_json::Map<String, Value>> {
    body.get(key).and_then(Value::as_object).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {}. '{key}' is a required property",
            body.get(key).unwrap_or(&Value::Null)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                *k,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn microversions_are_read_as_nova_reads_them() {
        let mv = |pairs: &[(&'static str, &str)]| Microversion::from_headers(&headers(pairs));
        assert_eq!(mv(&[]).ok(), Some(Microversion::MIN));
        assert_eq!(
            mv(&[("openstack-api-version", "compute 2.53")]).ok(),
            Some(Microversion {
                major: 2,
                minor: 53
            })
        );
        assert_eq!(
            mv(&[("openstack-api-version", "volume 3.0, compute 2.60")]).ok(),
            Some(Microversion {
                major: 2,
                minor: 60
            })
        );
        assert_eq!(
            mv(&[("openstack-api-version", "compute latest")]).ok(),
            Some(Microversion::MAX)
        );
        assert_eq!(
            mv(&[("x-openstack-nova-api-version", "2.10")]).ok(),
            Some(Microversion {
                major: 2,
                minor: 10
            })
        );
        // The new header wins over the legacy one.
        assert_eq!(
            mv(&[
                ("openstack-api-version", "compute 2.20"),
                ("x-openstack-nova-api-version", "2.10")
            ])
            .ok(),
            Some(Microversion {
                major: 2,
                minor: 20
            })
        );
        let too_new = mv(&[("openstack-api-version", "compute 2.200")]).err();
        assert_eq!(
            too_new.as_ref().map(|e| e.status),
            Some(StatusCode::NOT_ACCEPTABLE)
        );
        assert_eq!(
            too_new.map(|e| e.message).as_deref(),
            Some("Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is 2.96.")
        );
        for bad in ["2", "2.x", "02.1", "2.01", "abc", ""] {
            let e = mv(&[("x-openstack-nova-api-version", bad)]).err();
            assert_eq!(
                e.map(|e| e.status),
                Some(StatusCode::BAD_REQUEST),
                "{bad:?}"
            );
        }
        assert!(Microversion {
            major: 2,
            minor: 47
        }
        .at_least(2, 47));
        assert!(!Microversion {
            major: 2,
            minor: 46
        }
        .at_least(2, 47));
        assert!(Microversion { major: 3, minor: 0 }.at_least(2, 96));
    }
}
