//! The image service (Glance v2): image records, members, tags and
//! properties in the database; image data in an [`ImageStore`], written
//! through a streaming pipeline that hashes (MD5 and SHA-512) and inspects
//! the format as the bytes arrive.

mod config;
mod error;
pub mod inspect;
mod members;
pub mod model;
mod records;
pub mod store;
mod transfer;

use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::Row;

pub use config::ImageConfig;
pub use error::{ImageError, Result};
pub use inspect::{FormatError, Inspection};
pub use model::*;
pub use store::{ByteStream, ImageStore, LocalStore};
pub use transfer::ImageDownload;

use crate::db::micros_to_time;
use crate::policy::{self, allows, enforce, image as rules, Check, Rule, Target};
use crate::{Db, RequestContext};

/// The image service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct ImageService {
    db: Db,
    cfg: Arc<ImageConfig>,
    store: Arc<dyn ImageStore>,
}

impl std::fmt::Debug for ImageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageService")
            .field("backend", &self.db.backend)
            .field("store", &self.store)
            .finish()
    }
}

impl ImageService {
    /// The service over the local filesystem store in `cfg.store_dir`.
    pub fn new(db: Db, cfg: ImageConfig) -> Result<ImageService> {
        let store = LocalStore::new(&cfg.store_dir)
            .map_err(|e| ImageError::store(format!("cannot open {}", cfg.store_dir), e))?;
        Ok(Self::with_store(db, cfg, Arc::new(store)))
    }

    pub fn with_store(db: Db, cfg: ImageConfig, store: Arc<dyn ImageStore>) -> ImageService {
        ImageService {
            db,
            cfg: Arc::new(cfg),
            store,
        }
    }

    pub fn config(&self) -> &ImageConfig {
        &self.cfg
    }

    /// Run at start: uploads cut off by a stopped process go back to
    /// `queued` and their staging files are removed.
    pub async fn recover_interrupted_uploads(&self) -> Result<u64> {
        self.store
            .clean_staging()
            .await
            .map_err(|e| ImageError::store("cleaning the staging area", e))?;
        let reset = sqlx::query(
            "UPDATE images SET status = 'queued', updated_at = ? WHERE status = 'saving'",
        )
        .bind(crate::db::now_micros())
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if reset > 0 {
            tracing::warn!(reset, "interrupted image uploads reset to queued");
        }
        Ok(reset)
    }
}

// ---- access rules (Glance's default policy, secure RBAC: crate::policy::image) ----

/// The image as a policy target. `membership` is the caller's project's
/// member record for it, if any.
fn image_target<'a>(image: &'a Image, membership: Option<MemberStatus>) -> Target<'a> {
    Target {
        project_id: image.owner.as_deref(),
        public: matches!(image.visibility, Visibility::Public | Visibility::Community),
        shared_with_caller: image.visibility == Visibility::Shared && membership.is_some(),
        ..Default::default()
    }
}

/// What `ctx` may do before there is an image: create one, and make it
/// public. Depends on the caller only.
pub fn create_capabilities(ctx: &RequestContext) -> NewImageCapabilities {
    NewImageCapabilities {
        create: allows(ctx, &rules::ADD_IMAGE, &Target::owned_by(ctx.project_id())),
        publicize: allows(ctx, &rules::PUBLICIZE_IMAGE, &Target::none()),
    }
}

impl ImageService {
    /// What `ctx` may do with `image`, from the same rules (and image
    /// state) the service enforces: the dashboard shows an action only when
    /// this says so. `image` must be one `ctx` can see (as every image this
    /// service hands out is).
    pub fn capabilities(&self, ctx: &RequestContext, image: &Image) -> ImageCapabilities {
        let owned = Target::owned_by(image.owner.as_deref());
        let can = |rule: &Rule| allows(ctx, rule, &owned);
        let shared = image.visibility == Visibility::Shared;
        let status = image.status;
        ImageCapabilities {
            edit: can(&rules::MODIFY_IMAGE),
            delete: can(&rules::DELETE_IMAGE) && !image.protected,
            upload: can(&rules::UPLOAD_IMAGE) && status == ImageStatus::Queued,
            download: match status {
                ImageStatus::Active => can(&rules::DOWNLOAD_IMAGE),
                ImageStatus::Deactivated => can(&rules::DOWNLOAD_DEACTIVATED),
                _ => false,
            },
            change_formats: can(&rules::MODIFY_IMAGE) && status == ImageStatus::Queued,
            publicize: can(&rules::PUBLICIZE_IMAGE),
            share: shared && can(&rules::ADD_MEMBER),
            see_members: shared && can(&rules::GET_MEMBERS),
            answer_share: shared
                && !Check::OwningProject.holds(ctx, &owned)
                && allows(
                    ctx,
                    &rules::MODIFY_MEMBER,
                    &Target {
                        member_id: ctx.project_id(),
                        ..owned
                    },
                ),
            deactivate: can(&rules::DEACTIVATE) && status == ImageStatus::Active,
            reactivate: can(&rules::REACTIVATE) && status == ImageStatus::Deactivated,
        }
    }
}

// ---- row decoding ----

const IMAGE_COLS: &str = "id, name, owner, visibility, status, disk_format, container_format, \
     min_disk, min_ram, protected, os_hidden, size, virtual_size, checksum, os_hash_algo, \
     os_hash_value, created_at, updated_at";

fn image_row(r: &AnyRow) -> Result<Image> {
    let text = |c: &str| -> Result<String> { Ok(r.try_get::<String, _>(c)?) };
    let visibility = text("visibility")?;
    let status = text("status")?;
    let disk_format: Option<String> = r.try_get("disk_format")?;
    let container_format: Option<String> = r.try_get("container_format")?;
    Ok(Image {
        id: text("id")?,
        name: r.try_get("name")?,
        owner: r.try_get("owner")?,
        visibility: Visibility::parse(&visibility)
            .ok_or_else(|| ImageError::Internal(format!("bad visibility {visibility}")))?,
        status: ImageStatus::parse(&status)
            .ok_or_else(|| ImageError::Internal(format!("bad status {status}")))?,
        disk_format: disk_format.as_deref().and_then(DiskFormat::parse),
        container_format: container_format.as_deref().and_then(ContainerFormat::parse),
        min_disk: r.try_get("min_disk")?,
        min_ram: r.try_get("min_ram")?,
        protected: r.try_get::<i64, _>("protected")? != 0,
        os_hidden: r.try_get::<i64, _>("os_hidden")? != 0,
        tags: Vec::new(),
        properties: Default::default(),
        size: r.try_get("size")?,
        virtual_size: r.try_get("virtual_size")?,
        checksum: r.try_get("checksum")?,
        os_hash_algo: r.try_get("os_hash_algo")?,
        os_hash_value: r.try_get("os_hash_value")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

// ---- validation ----

/// Names Glance reserves for its own fields; they cannot be properties.
pub const RESERVED_PROPERTIES: &[&str] = &[
    "id",
    "name",
    "visibility",
    "status",
    "protected",
    "os_hidden",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "min_ram",
    "min_disk",
    "owner",
    "disk_format",
    "container_format",
    "created_at",
    "updated_at",
    "tags",
    "file",
    "schema",
    "self",
    "direct_url",
    "locations",
    "deleted",
    "deleted_at",
    "stores",
];

/// Names Glance keeps for itself beyond its fields: refused as property
/// names for every caller (REST and portal alike), as is any name starting
/// with [`RESERVED_PREFIX`].
pub const RESERVED_NAMES: &[&str] = &["location", "locations", "deleted", "deleted_at"];
pub const RESERVED_PREFIX: &str = "os_glance";

/// A name Glance reserves (not one of its fields, which are refused as
/// properties separately).
pub fn is_reserved_name(key: &str) -> bool {
    RESERVED_NAMES.contains(&key) || key.starts_with(RESERVED_PREFIX)
}

/// An owner named on create: only the token's own project (Glance lets an
/// admin create for another project; this service does not).
fn check_new_owner(ctx: &RequestContext, asked: Option<&str>) -> Result<()> {
    if allows(ctx, &rules::SET_OWNER, &Target::owned_by(asked)) {
        return Ok(());
    }
    Err(ImageError::Forbidden(
        if policy::ADMIN.holds(ctx, &Target::none()) {
            "Images can only be created in the project of the token."
        } else {
            "You are not permitted to create images owned by another project."
        }
        .into(),
    ))
}

/// Glance's default `image_tag_quota`, `image_property_quota` and
/// `image_member_quota`.
pub const MAX_TAGS: usize = 128;
pub const MAX_PROPERTIES: usize = 128;
pub const MAX_MEMBERS: i64 = 128;
const MAX_PROPERTY_VALUE: usize = 4096;

fn validate_name(name: Option<String>) -> Result<Option<String>> {
    match name {
        Some(n) if n.chars().count() > 255 => Err(ImageError::Validation(
            "The image name must be at most 255 characters.".into(),
        )),
        other => Ok(other),
    }
}

fn validate_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.chars().count() > 255 {
        return Err(ImageError::Validation(
            "A tag must be 1 to 255 characters.".into(),
        ));
    }
    Ok(())
}

fn validate_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        validate_tag(t)?;
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(ImageError::LimitExceeded(format!(
            "An image may have at most {MAX_TAGS} tags."
        )));
    }
    out.sort();
    Ok(out)
}

fn validate_property(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.chars().count() > 255 {
        return Err(ImageError::Validation(
            "A property name must be 1 to 255 characters.".into(),
        ));
    }
    if RESERVED_PROPERTIES.contains(&key) || is_reserved_name(key) {
        return Err(ImageError::Forbidden(format!(
            "Attribute '{key}' is reserved."
        )));
    }
    if value.chars().count() > MAX_PROPERTY_VALUE {
        return Err(ImageError::Validation(format!(
            "The value of property '{key}' must be at most {MAX_PROPERTY_VALUE} characters."
        )));
    }
    Ok(())
}

fn validate_min(field: &str, v: i64) -> Result<i64> {
    if v < 0 {
        return Err(ImageError::Validation(format!(
            "{field} must be 0 or more."
        )));
    }
    Ok(v)
}

/// Glance's ids are hyphenated UUIDs; anything else cannot name an image
/// (and so can never reach the store as a path).
fn parse_image_id(id: &str) -> Result<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ImageError::NotFound(id.to_string()))
}
