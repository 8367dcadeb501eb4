//! The one place service errors become HTTP: status codes and OpenStack
//! fault bodies (`{"error": {"code", "title", "message"}}`). Internal causes
//! are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cloud::identity::IdentityError;
use cloud::image::ImageError;
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

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> ApiError {
        let status = match &e {
            IdentityError::Unauthenticated | IdentityError::Locked { .. } => {
                StatusCode::UNAUTHORIZED
            }
            IdentityError::Forbidden(_) => StatusCode::FORBIDDEN,
            IdentityError::NotFound { .. } | IdentityError::TokenNotFound => StatusCode::NOT_FOUND,
            IdentityError::Conflict { .. } => StatusCode::CONFLICT,
            IdentityError::Validation(_) | IdentityError::PasswordPolicy(_) => {
                StatusCode::BAD_REQUEST
            }
            IdentityError::Database(_) | IdentityError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = ?e, "identity service failed");
            return ApiError::new(
                status,
                "An unexpected error prevented the server from fulfilling your request.",
            );
        }
        ApiError::new(status, e.to_string())
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        let status = match &e {
            ImageError::Forbidden(_) => StatusCode::FORBIDDEN,
            ImageError::NotFound(_) | ImageError::MemberNotFound(_) => StatusCode::NOT_FOUND,
            ImageError::Conflict(_) => StatusCode::CONFLICT,
            ImageError::Validation(_)
            | ImageError::Format(_)
            | ImageError::UploadInterrupted(_) => StatusCode::BAD_REQUEST,
            ImageError::LimitExceeded(_) | ImageError::OverQuota(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ImageError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            // Handlers answer 204 themselves; this keeps any other path honest.
            ImageError::NoData(_) => StatusCode::NO_CONTENT,
            ImageError::Store { .. } | ImageError::Database(_) | ImageError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = ?e, "image service failed");
            return ApiError::new(
                status,
                "An unexpected error prevented the server from fulfilling your request.",
            );
        }
        ApiError::new(status, e.to_string())
    }
}

/// OpenStack's title for a status code.
pub fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => status.canonical_reason().unwrap_or("Error"),
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
