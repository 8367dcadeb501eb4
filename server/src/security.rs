//! Security headers on every response, and CSRF protection for the portal.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// CSP allows our own scripts plus the inline hydration bootstrap Leptos
/// emits, and wasm compilation; nothing from other origins.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub async fn headers(req: Request, next: Next) -> Response {
    // Tokens, pages with a user's data and API answers must not be kept by
    // browsers or proxies; only the built front end (`/pkg`) may be cached.
    let cacheable = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !cacheable && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
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

/// The origin (`scheme://host[:port]`) browsers reach the portal at, from
/// the configured public URL; put into every request by the app's layers.
#[derive(Debug, Clone)]
pub struct PublicOrigin(pub String);

impl PublicOrigin {
    pub fn from_url(public_url: &str) -> PublicOrigin {
        let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
        let authority = rest.split('/').next().unwrap_or_default();
        PublicOrigin(format!("{}://{}", scheme.to_ascii_lowercase(), authority))
    }
    fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

/// Is `origin` this server's own? The public origin, or — when the server
/// is served over plain HTTP — `http://` and the request's Host. Scheme
/// included: behind https, a page on `http://` the same host is another
/// origin.
fn same_origin(origin: &str, host: Option<&str>, public: Option<&PublicOrigin>) -> bool {
    let origin = origin.to_ascii_lowercase();
    if let Some(p) = public {
        if origin == p.0.to_ascii_lowercase() {
            return true;
        }
        if p.is_https() {
            return false;
        }
    }
    host.is_some_and(|h| origin == format!("http://{}", h.to_ascii_lowercase()))
}

/// Refuses cross-site state-changing requests to the portal (server
/// functions and forms), which are the requests that carry the session
/// cookie. Uses Fetch Metadata, falling back to comparing Origin (scheme,
/// host and port) with this server's origin.
/// The REST APIs authenticate with `X-Auth-Token`, never cookies, so they
/// are not exposed to CSRF and are not routed through here.
pub async fn csrf(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let public = req.extensions().get::<PublicOrigin>();
    let allowed = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(origin) => same_origin(
                origin,
                headers.get(header::HOST).and_then(|v| v.to_str().ok()),
                public,
            ),
            // No Origin: not a browser (browsers send Origin on POST).
            None => true,
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

/// HTTP/1.1 requires a Host header (RFC 9112 §3.2): a request without one
/// (and without an absolute URI) is refused with 400.
pub async fn require_host(req: Request, next: Next) -> Response {
    let has_host = req.headers().contains_key(header::HOST) || req.uri().authority().is_some();
    if !has_host && req.version() >= axum::http::Version::HTTP_11 {
        return (StatusCode::BAD_REQUEST, "A Host header is required.").into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let http = PublicOrigin::from_url("http://127.0.0.1:3000/");
        assert_eq!(http.0, "http://127.0.0.1:3000");
        assert!(same_origin("http://127.0.0.1:3000", None, Some(&http)));
        assert!(same_origin(
            "http://cloud.local:3000",
            Some("cloud.local:3000"),
            Some(&http)
        ));
        assert!(!same_origin(
            "https://evil.example",
            Some("cloud.local:3000"),
            Some(&http)
        ));
        assert!(!same_origin(
            "http://cloud.local:3001",
            Some("cloud.local:3000"),
            Some(&http)
        ));
        // Behind https only the public origin counts: http:// on the same host is another origin.
        let https = PublicOrigin::from_url("https://cloud.example");
        assert!(same_origin(
            "https://cloud.example",
            Some("cloud.example"),
            Some(&https)
        ));
        assert!(!same_origin(
            "http://cloud.example",
            Some("cloud.example"),
            Some(&https)
        ));
    }
}
