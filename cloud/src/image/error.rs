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
    Forbidden(PublicMessage),
    #[error("No image found with ID {0}")]
    NotFound(String),
    #[error("{0}")]
    MemberNotFound(PublicMessage),
    /// A metadata definition (namespace, object, property, tag, resource
    /// type or association) that does not exist or that the caller cannot see.
    #[error("{0}")]
    MetadefNotFound(PublicMessage),
    #[error("{0}")]
    Conflict(PublicMessage),
    #[error("{0}")]
    Validation(PublicMessage),
    /// The uploaded bytes are not what they claim, or are unsafe.
    #[error("{0}")]
    Format(#[from] FormatError),
    /// A fixed limit: the maximum image size, tags, properties, members (413).
    #[error("{0}")]
    LimitExceeded(PublicMessage),
    /// A project quota (image count, stored bytes) would be exceeded (413,
    /// as Glance): names the resource, its limit, the use and the request.
    #[error(transparent)]
    OverQuota(OverQuota),
    /// A download grant that is unknown, expired, or for another image (401).
    #[error("The download grant is unknown, expired, or for another image.")]
    GrantRefused,
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
        ImageError::Forbidden(d.public())
    }
}

impl From<QuotaError> for ImageError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::OverQuota(o) => ImageError::OverQuota(o),
            QuotaError::Forbidden(m) => ImageError::Forbidden(m),
            QuotaError::UnknownResource(_)
            | QuotaError::InvalidLimit { .. }
            | QuotaError::InvalidAmount { .. } => ImageError::Validation(e.public()),
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
                detail: crate::msg!(
                    "error.image.format.vmdk.extents",
                    "{count} extents",
                    count = 2,
                ),
            },
            FormatError::Malformed {
                format: DiskFormat::Vhd,
                reason: crate::msg!(
                    "error.image.format.vhd.checksum",
                    "the footer checksum is wrong"
                ),
            },
            FormatError::Unsupported {
                format: DiskFormat::Vmdk,
                reason: crate::msg!(
                    "error.image.format.vmdk.cowd",
                    "it is in the legacy VMware 3 (COWD) sparse format"
                ),
            },
            FormatError::RefusedFormat { name: "qed" },
        ];
        let mut all = vec![
            ImageError::from(Denied {
                rule: "image:get_image",
            }),
            ImageError::Forbidden(crate::msg!(
                "error.image.deactivated",
                "The requested image has been deactivated. Image data download is forbidden."
            )),
            ImageError::NotFound("x".into()),
            ImageError::GrantRefused,
            ImageError::MemberNotFound(crate::msg!(
                "error.image.tag_not_found",
                "Tag {tag} not found on image {id}.",
                tag = "t",
                id = "x",
            )),
            ImageError::MetadefNotFound(crate::msg!(
                "error.metadef.namespace_not_found",
                "Metadata definition namespace={namespace} was not found.",
                namespace = "n",
            )),
            ImageError::Conflict(crate::msg!(
                "error.image.upload_busy",
                "Image {id} is already receiving data.",
                id = "x",
            )),
            ImageError::Validation(crate::msg!(
                "error.image.negative_size",
                "The image size must be 0 or more."
            )),
            ImageError::LimitExceeded(crate::msg!(
                "error.image.too_large",
                "The image is larger than the largest image accepted ({max} bytes).",
                max = 1,
            )),
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
            ImageError::NotFound(_)
            | ImageError::MemberNotFound(_)
            | ImageError::MetadefNotFound(_) => ErrorKind::NotFound,
            ImageError::Conflict(_) => ErrorKind::Conflict,
            ImageError::Validation(_)
            | ImageError::Format(_)
            | ImageError::UploadInterrupted(_) => ErrorKind::BadRequest,
            ImageError::LimitExceeded(_) | ImageError::OverQuota(_) => ErrorKind::OverLimit,
            ImageError::NoData(_) => ErrorKind::NoContent,
            ImageError::GrantRefused => ErrorKind::Unauthenticated,
            ImageError::RangeNotSatisfiable { .. } => ErrorKind::RangeNotSatisfiable,
            ImageError::Store { .. } | ImageError::Database { .. } | ImageError::Internal(_) => {
                ErrorKind::Internal
            }
        }
    }

    fn public(&self) -> PublicMessage {
        let text = self.to_string();
        match self {
            ImageError::Forbidden(m)
            | ImageError::MemberNotFound(m)
            | ImageError::MetadefNotFound(m)
            | ImageError::Conflict(m)
            | ImageError::Validation(m)
            | ImageError::LimitExceeded(m) => m.clone(),
            ImageError::NotFound(id) => {
                PublicMessage::new("error.image.not_found", &text).arg("id", id)
            }
            ImageError::Format(f) => f.public(),
            ImageError::OverQuota(o) => o.public(),
            ImageError::NoData(id) => {
                PublicMessage::new("error.image.no_data", &text).arg("id", id)
            }
            ImageError::GrantRefused => PublicMessage::new("error.image.grant_refused", &text),
            ImageError::RangeNotSatisfiable { size } => {
                PublicMessage::new("error.image.range", &text).arg("size", size)
            }
            ImageError::UploadInterrupted(d) => {
                PublicMessage::new("error.image.upload_interrupted", &text).arg("detail", d)
            }
            ImageError::Store { .. } | ImageError::Database { .. } | ImageError::Internal(_) => {
                PublicMessage::internal()
            }
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
        assert_eq!(status(super::super::too_many_tags()), 413);
        assert_eq!(status(ImageError::RangeNotSatisfiable { size: 3 }), 416);
        assert_eq!(
            status(ImageError::MemberNotFound(crate::msg!(
                "error.image.not_a_member",
                "Project {member} is not a member of image {id}.",
                member = "m",
                id = "i",
            ))),
            404
        );
        assert_eq!(
            status(ImageError::Format(FormatError::ExternalDataFile)),
            400
        );
        let store = ImageError::store("rename /srv/x", std::io::Error::other("disk full"));
        assert_eq!(store.kind(), ErrorKind::Internal);
        assert!(!store.public().text.contains("/srv/x"));
    }

    /// The REST text (Display) of a keyed error is what it always was, and
    /// the portal gets the call site's key and args.
    #[test]
    fn keyed_refusals_keep_their_english() {
        let check = |e: ImageError, text: &str, key: &str, args: &[(&str, &str)]| {
            assert_eq!(e.to_string(), text);
            let p = e.public();
            assert_eq!((p.key, p.text.as_str()), (key, text));
            for (name, value) in args {
                assert_eq!(p.get(name), Some(*value), "{key}: {name}");
            }
        };
        check(
            super::super::validate_property("locations", "x").expect_err("reserved"),
            "Attribute 'locations' is reserved.",
            "error.image.reserved_property",
            &[("key", "locations")],
        );
        check(
            super::super::validate_property("k", "bell\u{7}").expect_err("control"),
            "The value of property 'k' must not contain control characters (found U+0007).",
            "error.image.property_value_control_char",
            &[("key", "k"), ("code", "U+0007")],
        );
        let tags: Vec<String> = (0..=super::super::MAX_TAGS)
            .map(|i| format!("t{i}"))
            .collect();
        check(
            super::super::validate_tags(&tags).expect_err("too many"),
            "An image may have at most 128 tags.",
            "error.image.too_many_tags",
            &[("max", "128")],
        );
        check(
            super::super::members::member_not_found("img-1", "proj-2"),
            "Project proj-2 is not a member of image img-1.",
            "error.image.not_a_member",
            &[("member", "proj-2"), ("id", "img-1")],
        );
        // A quota refusal passes its message through.
        check(
            ImageError::from(QuotaError::InvalidLimit {
                resource: crate::quota::Resource::IMAGE_COUNT_TOTAL,
                limit: -2,
            }),
            "The limit for image_count_total must be -1 (unlimited) or more, not -2.",
            "error.quota.invalid_limit",
            &[("resource", "image_count_total"), ("limit", "-2")],
        );
        // A refused upload: the reason's key, the whole sentence's text.
        check(
            ImageError::Format(FormatError::Malformed {
                format: super::super::DiskFormat::Vhd,
                reason: crate::msg!(
                    "error.image.format.vhd.checksum",
                    "the footer checksum is wrong"
                ),
            }),
            "The vhd header is malformed: the footer checksum is wrong.",
            "error.image.format.vhd.checksum",
            &[("format", "vhd")],
        );
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
