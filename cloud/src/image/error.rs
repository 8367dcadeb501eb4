use std::panic::Location;

use crate::error::{ErrorKind, PublicMessage, ServiceError};
use crate::policy::Denied;
use crate::quota::{OverQuota, QuotaError};

use super::inspect::FormatError;

/// Everything the image service can refuse. [`ServiceError`] gives each
/// variant its kind (its HTTP status, in the one table of `cloud::error`)
/// and its public message key; the Display text is what Glance's API sends.
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
    /// A query failed; `at` is the `?` (or `ImageError::from`) that
    /// received it, so the log names the operation.
    #[error("database error at {at}")]
    Database {
        at: &'static Location<'static>,
        #[source]
        source: sqlx::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for ImageError {
    /// Records the caller: with `?` that is the line of the failed query.
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        ImageError::Database {
            at: Location::caller(),
            source,
        }
    }
}

impl From<Denied> for ImageError {
    fn from(d: Denied) -> Self {
        ImageError::Forbidden(d.to_string())
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
                ImageError::from(source)
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

    /// One value of every variant (and of every format refusal), for tests
    /// that check each message key is translated.
    pub fn examples() -> Vec<ImageError> {
        use super::DiskFormat;
        let formats = [
            FormatError::Mismatch {
                declared: DiskFormat::Qcow2,
                found: DiskFormat::Raw,
            },
            FormatError::Ambiguous {
                formats: "iso, vmdk".into(),
            },
            FormatError::BackingFile {
                format: DiskFormat::Qcow2,
            },
            FormatError::ExternalDataFile,
            FormatError::VmdkExtent {
                detail: "FLAT".into(),
            },
            FormatError::Malformed {
                format: DiskFormat::Vhd,
                reason: "bad footer".into(),
            },
            FormatError::Unsupported {
                format: DiskFormat::Vmdk,
                reason: "compressed grains".into(),
            },
            FormatError::RefusedFormat { name: "qed" },
        ];
        let mut all = vec![
            ImageError::Forbidden("no".into()),
            ImageError::NotFound("x".into()),
            ImageError::MemberNotFound("x".into()),
            ImageError::Conflict("x".into()),
            ImageError::Validation("x".into()),
            ImageError::LimitExceeded("x".into()),
            ImageError::OverQuota(crate::quota::OverQuota {
                project_id: "p".into(),
                resource: crate::quota::Resource::IMAGE_COUNT_TOTAL,
                limit: 3,
                in_use: 3,
                reserved: 0,
                requested: 1,
            }),
            ImageError::NoData("x".into()),
            ImageError::RangeNotSatisfiable { size: 1 },
            ImageError::UploadInterrupted("x".into()),
            ImageError::store("x", std::io::Error::other("disk")),
            ImageError::from(sqlx::Error::RowNotFound),
            ImageError::Internal("x".into()),
        ];
        all.extend(formats.into_iter().map(ImageError::Format));
        all
    }
}

impl ServiceError for ImageError {
    fn kind(&self) -> ErrorKind {
        match self {
            ImageError::Forbidden(_) => ErrorKind::Forbidden,
            ImageError::NotFound(_) | ImageError::MemberNotFound(_) => ErrorKind::NotFound,
            ImageError::Conflict(_) => ErrorKind::Conflict,
            ImageError::Validation(_)
            | ImageError::Format(_)
            | ImageError::UploadInterrupted(_) => ErrorKind::BadRequest,
            ImageError::LimitExceeded(_) | ImageError::OverQuota(_) => ErrorKind::OverLimit,
            ImageError::NoData(_) => ErrorKind::NoContent,
            ImageError::RangeNotSatisfiable { .. } => ErrorKind::RangeNotSatisfiable,
            ImageError::Store { .. } | ImageError::Database { .. } | ImageError::Internal(_) => {
                ErrorKind::Internal
            }
        }
    }

    fn public(&self) -> PublicMessage {
        let text = self.to_string();
        let with_detail =
            |key, detail: &String| PublicMessage::new(key, &text).arg("detail", detail);
        match self {
            ImageError::Forbidden(d) => with_detail("error.forbidden", d),
            ImageError::NotFound(id) => {
                PublicMessage::new("error.image.not_found", &text).arg("id", id)
            }
            ImageError::MemberNotFound(d) => with_detail("error.image.member_not_found", d),
            ImageError::Conflict(d) => with_detail("error.image.conflict", d),
            ImageError::Validation(d) => with_detail("error.validation", d),
            ImageError::Format(f) => format_message(f, text.clone()),
            ImageError::LimitExceeded(d) => with_detail("error.image.limit_exceeded", d),
            ImageError::OverQuota(o) => PublicMessage::new("error.quota.over", &text)
                .arg("resource", o.resource.name())
                .arg("limit", o.limit)
                .arg("used", o.in_use.saturating_add(o.reserved))
                .arg("requested", o.requested),
            ImageError::NoData(id) => {
                PublicMessage::new("error.image.no_data", &text).arg("id", id)
            }
            ImageError::RangeNotSatisfiable { size } => {
                PublicMessage::new("error.image.range", &text).arg("size", size)
            }
            ImageError::UploadInterrupted(d) => with_detail("error.image.upload_interrupted", d),
            ImageError::Store { .. } | ImageError::Database { .. } | ImageError::Internal(_) => {
                PublicMessage::internal()
            }
        }
    }
}

/// A refused upload's message: each refusal has its own key, so the portal
/// explains it in the user's language.
fn format_message(f: &FormatError, text: String) -> PublicMessage {
    match f {
        FormatError::Mismatch { declared, found } => {
            PublicMessage::new("error.image.format.mismatch", text)
                .arg("declared", declared.as_str())
                .arg("found", found.as_str())
        }
        FormatError::Ambiguous { formats } => {
            PublicMessage::new("error.image.format.ambiguous", text).arg("formats", formats)
        }
        FormatError::BackingFile { format } => {
            PublicMessage::new("error.image.format.backing_file", text)
                .arg("format", format.as_str())
        }
        FormatError::ExternalDataFile => {
            PublicMessage::new("error.image.format.external_data_file", text)
        }
        FormatError::VmdkExtent { detail } => {
            PublicMessage::new("error.image.format.vmdk_extent", text).arg("detail", detail)
        }
        FormatError::Malformed { format, reason } => {
            PublicMessage::new("error.image.format.malformed", text)
                .arg("format", format.as_str())
                .arg("reason", reason)
        }
        FormatError::Unsupported { format, reason } => {
            PublicMessage::new("error.image.format.unsupported", text)
                .arg("format", format.as_str())
                .arg("reason", reason)
        }
        FormatError::RefusedFormat { name } => {
            PublicMessage::new("error.image.format.refused_format", text).arg("name", name)
        }
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_glance() {
        let status = |e: ImageError| e.kind().status();
        assert_eq!(status(ImageError::NoData("i".into())), 204);
        assert_eq!(status(ImageError::LimitExceeded("l".into())), 413);
        assert_eq!(status(ImageError::RangeNotSatisfiable { size: 3 }), 416);
        assert_eq!(status(ImageError::MemberNotFound("m".into())), 404);
        assert_eq!(
            status(ImageError::Format(FormatError::ExternalDataFile)),
            400
        );
        let store = ImageError::store("rename /srv/x", std::io::Error::other("disk full"));
        assert_eq!(store.kind(), ErrorKind::Internal);
        assert!(!store.public().text.contains("/srv/x"));
    }

    #[test]
    fn every_variant_has_its_own_key_and_the_display_text() {
        for e in ImageError::examples() {
            let p = e.public();
            assert!(p.key.starts_with("error."), "{e:?}: {}", p.key);
            if !e.kind().is_server_fault() {
                assert_eq!(p.text, e.to_string());
            }
        }
    }
}
