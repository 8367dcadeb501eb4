//! The image service (Glance v2): image records, members, tags and
//! properties in the database; image data in an [`ImageStore`], written
//! through a streaming pipeline that hashes (MD5 and SHA-512) and inspects
//! the format as the bytes arrive.

mod config;
mod error;
mod grants;
pub mod inspect;
mod lifecycle;
mod members;
pub mod metadefs;
pub mod model;
mod records;
pub mod store;
mod tasks;
mod transfer;
mod web_download;

use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::Row;

pub use config::ImageConfig;
pub use error::{ImageError, Result};
pub use inspect::{FormatError, Inspection};
pub use model::*;
pub use store::{ByteStream, ImageStore, LocalStore};
pub use tasks::API_IMAGE_IMPORT;
pub use transfer::ImageDownload;

use crate::db::micros_to_time;
use crate::policy::{allows, enforce, image as rules, Check, Rule, Target};
use crate::quota::{QuotaService, Resource};
use crate::{Db, RequestContext};

/// The image service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct ImageService {
    db: Db,
    cfg: Arc<ImageConfig>,
    store: Arc<dyn ImageStore>,
    quota: QuotaService,
    owner: Arc<UploadOwner>,
}

/// Which server process runs this service's uploads, and how long another
/// server's silence must last before its uploads count as abandoned.
#[derive(Debug, Clone)]
struct UploadOwner {
    server_id: String,
    lease: std::time::Duration,
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
        let quota = QuotaService::new(db.clone(), cfg.quota_defaults());
        ImageService {
            db,
            cfg: Arc::new(cfg),
            store,
            quota,
            // Until `owned_by`: an id no other server knows, so every other
            // owner (and any leftover) counts as unknown.
            owner: Arc::new(UploadOwner {
                server_id: uuid::Uuid::new_v4().hyphenated().to_string(),
                lease: std::time::Duration::from_secs(15),
            }),
        }
    }

    /// Runs uploads as the registered server `server_id`
    /// ([`crate::servers::ServerRegistry`]); other servers' uploads are left
    /// alone while their heartbeat is younger than `lease`.
    pub fn owned_by(mut self, server_id: &str, lease: std::time::Duration) -> ImageService {
        self.owner = Arc::new(UploadOwner {
            server_id: server_id.to_string(),
            lease,
        });
        self
    }

    /// The server id this service records on the uploads it runs.
    pub fn server_id(&self) -> &str {
        &self.owner.server_id
    }

    /// Uses `quota` (one shared by every service) instead of its own, which
    /// knows only the image defaults.
    pub fn with_quota(mut self, quota: QuotaService) -> ImageService {
        self.quota = quota;
        self
    }

    pub fn config(&self) -> &ImageConfig {
        &self.cfg
    }

    pub fn quota(&self) -> &QuotaService {
        &self.quota
    }

    /// Run at start and periodically: uploads whose server is dead (its
    /// lease expired) or unknown go back to `queued`, and the staging files
    /// of servers that are not live are removed. Uploads of live servers,
    /// this one included, are left alone.
    pub async fn recover_interrupted_uploads(&self) -> Result<u64> {
        // Staging areas are listed before the live servers are read: a
        // server registers before it stages, so an area created after the
        // listing is never mistaken for a dead server's.
        let areas = self
            .store
            .staging_owners()
            .await
            .map_err(|e| ImageError::store("listing the staging area", e))?;
        let live_since = crate::servers::live_since(self.owner.lease);
        let live: Vec<String> = sqlx::query("SELECT id FROM servers WHERE heartbeat_at >= ?")
            .bind(live_since)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<std::result::Result<_, _>>()?;
        let dead: Vec<String> = areas
            .into_iter()
            .filter(|o| *o != self.owner.server_id && !live.contains(o))
            .collect();
        self.store
            .clean_staging(&dead)
            .await
            .map_err(|e| ImageError::store("cleaning the staging area", e))?;
        // The liveness test is in the statement itself, so a server that
        // registered and started an upload a moment ago is seen as live.
        let reset = sqlx::query(
            "UPDATE images SET status = 'queued', upload_owner = NULL, updated_at = ? \
             WHERE status IN ('saving', 'importing') AND (upload_owner IS NULL OR (upload_owner <> ? \
             AND upload_owner NOT IN (SELECT id FROM servers WHERE heartbeat_at >= ?)))",
        )
        .bind(crate::db::now_micros())
        .bind(self.owner.server_id.as_str())
        .bind(live_since)
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if reset > 0 {
            tracing::warn!(reset, "uploads of dead servers reset to queued");
        }
        Ok(reset)
    }

    /// At shutdown: this server's uploads still running go back to
    /// `queued` (their tasks then find the image no longer theirs and
    /// drop the data), and its staging area is removed.
    pub async fn hand_back_uploads(&self) -> Result<u64> {
        let reset = sqlx::query(
            "UPDATE images SET status = 'queued', upload_owner = NULL, updated_at = ? \
             WHERE status IN ('saving', 'importing') AND upload_owner = ?",
        )
        .bind(crate::db::now_micros())
        .bind(self.owner.server_id.as_str())
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        self.store
            .clean_staging(std::slice::from_ref(&self.owner.server_id))
            .await
            .map_err(|e| ImageError::store("cleaning this server's staging area", e))?;
        if reset > 0 {
            tracing::warn!(
                reset,
                "uploads still running at shutdown handed back (queued)"
            );
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

/// An owner named on create or update: the caller's own project, or any
/// project for an admin (Glance does not check that it exists).
fn check_new_owner(ctx: &RequestContext, asked: Option<&str>, creating: bool) -> Result<()> {
    if allows(ctx, &rules::SET_OWNER, &Target::owned_by(asked)) {
        return Ok(());
    }
    Err(ImageError::Forbidden(if creating {
        crate::msg!(
            "error.image.create_for_other_project",
            "You are not permitted to create images owned by another project."
        )
    } else {
        crate::msg!(
            "error.image.owner_change_admin_only",
            "Owner can't be updated by non admin."
        )
    }))
}

/// Glance's default `image_tag_quota`, `image_property_quota` and
/// `image_member_quota`.
pub const MAX_TAGS: usize = 128;
pub const MAX_PROPERTIES: usize = 128;
pub const MAX_MEMBERS: i64 = 128;
const MAX_PROPERTY_VALUE: usize = 4096;

fn validate_name(name: Option<String>) -> Result<Option<String>> {
    match name {
        Some(n) if n.chars().count() > 255 => Err(ImageError::Validation(crate::msg!(
            "error.image.name_too_long",
            "The image name must be at most 255 characters."
        ))),
        Some(n) => {
            crate::text::check_name(&n).map_err(|code| {
                ImageError::Validation(crate::msg!(
                    "error.image.name_control_char",
                    "The image name must not contain control characters (found {code}).",
                    code = code,
                ))
            })?;
            Ok(Some(n))
        }
        None => Ok(None),
    }
}

fn validate_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.chars().count() > 255 {
        return Err(ImageError::Validation(crate::msg!(
            "error.image.tag_length",
            "A tag must be 1 to 255 characters."
        )));
    }
    crate::text::check_name(tag).map_err(|code| {
        ImageError::Validation(crate::msg!(
            "error.image.tag_control_char",
            "The tag must not contain control characters (found {code}).",
            code = code,
        ))
    })?;
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
        return Err(too_many_tags());
    }
    out.sort();
    Ok(out)
}

fn validate_property(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.chars().count() > 255 {
        return Err(ImageError::Validation(crate::msg!(
            "error.image.property_name_length",
            "A property name must be 1 to 255 characters."
        )));
    }
    crate::text::check_name(key).map_err(|code| {
        ImageError::Validation(crate::msg!(
            "error.image.property_name_control_char",
            "The property name must not contain control characters (found {code}).",
            code = code,
        ))
    })?;
    if RESERVED_PROPERTIES.contains(&key) || is_reserved_name(key) {
        return Err(ImageError::Forbidden(crate::msg!(
            "error.image.reserved_property",
            "Attribute '{key}' is reserved.",
            key = key,
        )));
    }
    if value.chars().count() > MAX_PROPERTY_VALUE {
        return Err(ImageError::Validation(crate::msg!(
            "error.image.property_value_too_long",
            "The value of property '{key}' must be at most {max} characters.",
            key = key,
            max = MAX_PROPERTY_VALUE,
        )));
    }
    crate::text::check_text(value).map_err(|code| {
        ImageError::Validation(crate::msg!(
            "error.image.property_value_control_char",
            "The value of property '{key}' must not contain control characters (found {code}).",
            key = key,
            code = code,
        ))
    })?;
    Ok(())
}

/// The 413 for a tag beyond [`MAX_TAGS`].
fn too_many_tags() -> ImageError {
    ImageError::LimitExceeded(crate::msg!(
        "error.image.too_many_tags",
        "An image may have at most {max} tags.",
        max = MAX_TAGS,
    ))
}

/// The 413 for a property beyond [`MAX_PROPERTIES`].
fn too_many_properties() -> ImageError {
    ImageError::LimitExceeded(crate::msg!(
        "error.image.too_many_properties",
        "An image may have at most {max} properties.",
        max = MAX_PROPERTIES,
    ))
}

fn validate_min(field: &str, v: i64) -> Result<i64> {
    if v < 0 {
        return Err(ImageError::Validation(crate::msg!(
            "error.image.negative_min",
            "{field} must be 0 or more.",
            field = field,
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
