use crate::policy::Denied;

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
    /// A per-project limit or the maximum image size (413).
    #[error("{0}")]
    LimitExceeded(String),
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
        ImageError::Forbidden(d.to_string())
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
