//! The portal's image data routes: a browser uploads an image file
//! (streamed, with progress) and downloads one, on its session's token.
//!
//! `PUT /portal/images/{id}/file` takes the raw file as the request body
//! (the dashboard sends the `File` with `XMLHttpRequest`, so the browser
//! streams it from disk and reports progress) and answers `{"ok":true}` or
//! `{"error":"…"}`. `GET` sends the data back as an attachment. Both sit
//! outside the server's body limit: the image service enforces its own.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use cloud::image::ImageError;
use cloud::RequestContext;
use futures_util::TryStreamExt;
use tower_sessions::Session;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal/images/{id}/file", put(upload).get(download))
}

/// The caller's context from the session's token, as the server functions
/// build it.
async fn context(state: &AppState, session: &Session) -> Result<RequestContext, Response> {
    match app::server::current_token(
        &state.identity,
        session,
        state.config.session.idle_timeout_secs,
    )
    .await
    {
        Some((_, info)) => Ok(info.context()),
        None => Err(failure(
            StatusCode::UNAUTHORIZED,
            app::auth::UNAUTHENTICATED.to_string(),
        )),
    }
}

fn failure(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// A service error as the status and message the dashboard shows inline.
fn error_response(e: ImageError) -> Response {
    let status = match &e {
        ImageError::Forbidden(_) => StatusCode::FORBIDDEN,
        ImageError::NotFound(_) | ImageError::MemberNotFound(_) | ImageError::NoData(_) => {
            StatusCode::NOT_FOUND
        }
        ImageError::Conflict(_) => StatusCode::CONFLICT,
        ImageError::Validation(_) | ImageError::Format(_) | ImageError::UploadInterrupted(_) => {
            StatusCode::BAD_REQUEST
        }
        ImageError::LimitExceeded(_) | ImageError::OverQuota(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ImageError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
        ImageError::Store { .. } | ImageError::Database(_) | ImageError::Internal(_) => {
            tracing::error!(error = ?e, "portal image transfer failed");
            return failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred. Please try again.".into(),
            );
        }
    };
    failure(status, e.to_string())
}

async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = match context(&state, &session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let data = body.into_data_stream().map_err(std::io::Error::other);
    match state.image.upload(&ctx, &id, data, declared).await {
        Ok(_) => Json(serde_json::json!({ "ok": true })).into_response(),
        Err(e) => error_response(e),
    }
}

async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let ctx = match context(&state, &session).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let dl = match state.image.download(&ctx, &id, None).await {
        Ok(d) => d,
        Err(e) => return error_response(e),
    };
    let name = file_name(
        dl.image.name.as_deref(),
        &dl.image.id,
        dl.image.disk_format.map(|f| f.as_str()),
    );
    let mut res = Body::from_stream(dl.stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(dl.len));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The downloaded file's name: the image's name (or id), with the disk
/// format as extension when it has none.
fn file_name(name: Option<&str>, id: &str, format: Option<&str>) -> String {
    let base: String = name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(id)
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    match format {
        Some(f) if !base.contains('.') => format!("{base}.{f}"),
        _ => base,
    }
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name
/// (RFC 6266 / RFC 5987).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names() {
        assert_eq!(
            file_name(Some("cirros"), "x", Some("qcow2")),
            "cirros.qcow2"
        );
        assert_eq!(file_name(Some("a.img"), "x", Some("raw")), "a.img");
        assert_eq!(file_name(None, "abc", Some("raw")), "abc.raw");
        assert_eq!(file_name(Some("../etc/x"), "abc", None), ".._etc_x");
        assert_eq!(
            content_disposition("우분투 \"x\".iso"),
            "attachment; filename=\"___ _x_.iso\"; filename*=UTF-8''%EC%9A%B0%EB%B6%84%ED%88%AC%20%22x%22.iso"
        );
    }
}
