//! Security headers on every response, and CSRF protection for the portal.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// CSP allows our own scripts plus the inline hydration bootstrap Leptos
/// emits, and wasm compilation; nothing from other origins.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// Refuses cross-site state-changing requests to the portal (server
/// functions and forms), which are the requests that carry the session
/// cookie. Uses Fetch Metadata, falling back to comparing Origin with Host.
/// The REST APIs authenticate with `X-Auth-Token`, never cookies, so they
/// are not exposed to CSRF and are not routed through here.
pub async fn csrf(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let allowed = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
            // Neither header: not a browser (browsers send Origin on POST).
            (None, _) => true,
            _ => false,
        },
    };
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(path = %req.uri().path(), "refused cross-site request");
        (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
    }
}

/// REST clients expect OpenStack fault JSON on every error; the body-limit
/// layer answers 413 in plain text, so API paths get it rewritten.
pub async fn api_fault_bodies(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = crate::services::is_api_path(path);
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if api && res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return crate::rest::error::ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than this server accepts.",
        )
        .into_response();
    }
    res
}
