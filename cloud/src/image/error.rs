use crate::policy::Denied;
use crate::quota::{OverQuota, QuotaError};

use super::inspect::FormatError;

/// Everything the image service can refuse. Mapped to HTTP and OpenStack
/// fault JSON in `server/src/rest/error.rs`; the portal shows `to_string()`.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}")]
    Forbidden(String),
    #[error("No image found with ID {0}")]
    NotFound(String),
    #[error("{0}")]
    MemberNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Validation(String),
    /// The uploaded bytes are not what they claim, or are unsafe.
    #[error("{0}")]
    Format(#[from] FormatError),
    /// A fixed limit: the maximum image size, tags, properties, members (413).
    #[error("{0}")]
    LimitExceeded(String),
    /// A project quota (image count, stored bytes) would be exceeded (413,
    /// as Glance): names the resource, its limit, the use and the request.
    #[error(transparent)]
    OverQuota(OverQuota),
    /// The image has no data yet (Glance answers 204).
    #[error("The image {0} has no data.")]
    NoData(String),
    #[error("The requested range is not satisfiable for an image of {size} bytes.")]
    RangeNotSatisfiable { size: u64 },
    /// The client's upload stream broke off; the image is left as it was.
    #[error("The upload was interrupted: {0}")]
    UploadInterrupted(String),
    #[error("image store error: {context}")]
    Store {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Denied> for ImageError {
    fn from(d: Denied) -> Self {
        ImageError::Forbidden(d.0)
    }
}

impl From<QuotaError> for ImageError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::OverQuota(o) => ImageError::OverQuota(o),
            QuotaError::Forbidden(m) => ImageError::Forbidden(m),
            QuotaError::UnknownResource(_)
            | QuotaError::InvalidLimit { .. }
            | QuotaError::InvalidAmount { .. } => ImageError::Validation(e.to_string()),
            QuotaError::Database { op, source } => {
                tracing::error!(error = ?source, "image quota: {op}");
                ImageError::Database(source)
            }
        }
    }
}

impl ImageError {
    pub fn store(context: impl Into<String>, source: std::io::Error) -> ImageError {
        ImageError::Store {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;
