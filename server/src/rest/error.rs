//! Service errors become HTTP here: the status comes from the one table
//! (`cloud::ErrorKind::status`, shared with the portal) and the body is an
//! OpenStack fault (`{"error": {"code", "title", "message"}}`). Internal
//! causes are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cloud::compute::ComputeError;
use cloud::identity::IdentityError;
use cloud::image::ImageError;
use cloud::{ErrorKind, ServiceError};
use serde_json::json;

/// An error on its way out of a REST handler.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
}

impl ApiError {
    /// Any service error, through the one table (`cloud::ErrorKind`): its
    /// kind gives the status, its public message the fault's text; a server
    /// fault is logged with its cause and answered generically.
    pub fn service(e: &dyn ServiceError) -> ApiError {
        let kind = e.kind();
        let public = cloud::error::public_and_log(e);
        ApiError::new(status_of(kind), public.text)
    }
}

/// The HTTP status of an error kind (the table is `ErrorKind::status`).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

// One line per service: a new service's error enum implements
// `cloud::ServiceError` and is listed here.
impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> ApiError {
        ApiError::service(&e)
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        ApiError::service(&e)
    }
}

/// Compute (Nova) answers every over-quota refusal with 403 and its own
/// words; the compute layer (`rest::compute`) gives every fault Nova's shape.
impl From<ComputeError> for ApiError {
    fn from(e: ComputeError) -> ApiError {
        match &e {
            ComputeError::OverQuota(o) => ApiError::new(StatusCode::FORBIDDEN, nova_over_quota(o)),
            _ => ApiError::service(&e),
        }
    }
}

/// Nova's over-quota texts (`KeypairLimitExceeded`, `MetadataLimitExceeded`,
/// `OverQuota` for instances, cores and ram).
fn nova_over_quota(o: &cloud::quota::OverQuota) -> String {
    use cloud::quota::Resource;
    let used = o.in_use.saturating_add(o.reserved);
    match o.resource {
        Resource::KEY_PAIRS => "Quota exceeded, too many key pairs.".into(),
        Resource::METADATA_ITEMS => {
            format!("Maximum number of metadata items exceeds {}", o.limit)
        }
        r => format!(
            "Quota exceeded for {r}: Requested {}, but already used {used} of {} {r}",
            o.requested, o.limit
        ),
    }
}

/// The fault an [`ApiError`] rendered, left on its response so a layer can
/// re-render it in another service's shape (Nova's, under `/compute`).
#[derive(Debug, Clone)]
pub struct Fault(pub String);

/// OpenStack's title for a status code: the kind's title when the status is
/// one of the table's, else the framework's own (405, 415).
pub fn title(status: StatusCode) -> &'static str {
    match ErrorKind::from_status(status.as_u16()) {
        Some(kind) => kind.title(),
        None => match status.as_u16() {
            405 => "Method Not Allowed",
            415 => "Unsupported Media Type",
            _ => status.canonical_reason().unwrap_or("Error"),
        },
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if !self.status.is_client_error() && !self.status.is_server_error() {
            // Not a fault (an image without data is a 204): no body.
            return self.status.into_response();
        }
        let body = json!({"error": {"code": self.status.as_u16(), "title": title(self.status), "message": self.message}});
        let mut res = (self.status, Json(body)).into_response();
        res.extensions_mut().insert(Fault(self.message));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Keystone uri=\"/identity\""),
            );
        }
        res
    }
}

/// Turns axum's JSON extraction failures into OpenStack faults.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> ApiError {
        ApiError::bad_request(format!("Invalid request body: {}", r.body_text()))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The fallback of every REST router: an OpenStack 404 fault.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("The resource could not be found.")
}

/// A known path with another method: an OpenStack 405 fault.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(res: Response) -> Vec<u8> {
        axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("a small body")
            .to_vec()
    }

    #[tokio::test]
    async fn service_errors_go_through_the_table() {
        let dup: ApiError = IdentityError::duplicate("project", "p").into();
        assert_eq!(dup.status, StatusCode::CONFLICT);
        let res = dup.into_response();
        let fault: serde_json::Value =
            serde_json::from_slice(&body(res).await).expect("a JSON fault");
        assert_eq!(fault["error"]["code"], 409);
        assert_eq!(fault["error"]["title"], "Conflict");
        assert!(fault["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already exists")));

        let res = ApiError::from(IdentityError::Unauthenticated).into_response();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key("www-authenticate"));

        let res = ApiError::from(ImageError::NoData("i".into())).into_response();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(body(res).await.is_empty());

        let over = ApiError::from(ImageError::LimitExceeded(cloud::msg!(
            "error.image.too_large",
            "The image is larger than the largest image accepted ({max} bytes).",
            max = 1,
        )));
        assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(title(over.status), "Request Entity Too Large");

        let internal = ApiError::from(IdentityError::Internal("secret detail".into()));
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(internal.message, cloud::error::INTERNAL_MESSAGE);
    }
}
