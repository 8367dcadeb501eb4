//! The image service's types: what Glance v2 calls an image, its members,
//! and the filters and changes the API accepts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::SortDir;

pub use super::inspect::DiskFormat;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Who can see an image (Glance v2).
    Visibility {
        Public = "public",
        Private = "private",
        Shared = "shared",
        Community = "community",
    }
);

string_enum!(
    /// An image's life: `queued` (no data) → `saving` (upload running) →
    /// `active`; `deactivated` by an admin; `killed` when data went bad.
    /// `uploading`: data staged (`PUT …/stage`), waiting for `POST …/import`.
    ImageStatus {
        Queued = "queued",
        Saving = "saving",
        Uploading = "uploading",
        Importing = "importing",
        Active = "active",
        Killed = "killed",
        Deactivated = "deactivated",
        Deleted = "deleted",
    }
);

string_enum!(
    ContainerFormat {
        Bare = "bare",
        Ovf = "ovf",
        Ova = "ova",
        Ami = "ami",
        Ari = "ari",
        Aki = "aki",
    }
);

string_enum!(
    /// A member project's answer to an image shared with it.
    MemberStatus {
        Pending = "pending",
        Accepted = "accepted",
        Rejected = "rejected",
    }
);

/// The hash Glance calls `os_hash_algo`; ours is always SHA-512.
pub const HASH_ALGO: &str = "sha512";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    /// The owning project.
    pub owner: Option<String>,
    pub visibility: Visibility,
    pub status: ImageStatus,
    pub disk_format: Option<DiskFormat>,
    pub container_format: Option<ContainerFormat>,
    /// GiB.
    pub min_disk: i64,
    /// MiB.
    pub min_ram: i64,
    pub protected: bool,
    /// Hidden from default lists (Glance's `os_hidden`).
    pub os_hidden: bool,
    /// Sorted.
    pub tags: Vec<String>,
    /// Free-form key/value pairs (Glance's "extra properties").
    pub properties: BTreeMap<String, String>,
    /// Bytes stored.
    pub size: Option<i64>,
    /// Bytes the disk holds, from the format's header.
    pub virtual_size: Option<i64>,
    /// MD5 of the data, hex.
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    /// SHA-512 of the data, hex.
    pub os_hash_value: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the caller may do with one image, computed by the service from its
/// rules and the image's state (`ImageService::capabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCapabilities {
    /// Change its name, visibility, tags, properties…
    pub edit: bool,
    /// Delete it (never while it is protected).
    pub delete: bool,
    /// Upload its data (only while it is queued).
    pub upload: bool,
    /// Download its data (active; deactivated only for admins).
    pub download: bool,
    /// Change the disk and container formats (only while queued).
    pub change_formats: bool,
    /// Make it (or create it) public.
    pub publicize: bool,
    /// Share it with projects and remove members (shared images).
    pub share: bool,
    /// See every member, not only the caller's own record.
    pub see_members: bool,
    /// Accept or reject it, as a project it was shared with.
    pub answer_share: bool,
    pub deactivate: bool,
    pub reactivate: bool,
}

/// What the caller may do before an image exists (`create_capabilities`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewImageCapabilities {
    pub create: bool,
    pub publicize: bool,
}

/// A new image record (no data yet: it starts `queued`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewImage {
    /// A caller-chosen UUID (Glance allows it); generated when absent.
    pub id: Option<String>,
    pub name: Option<String>,
    /// Default `shared` (Glance's default since Ocata).
    pub visibility: Option<Visibility>,
    pub disk_format: Option<DiskFormat>,
    pub container_format: Option<ContainerFormat>,
    pub min_disk: Option<i64>,
    pub min_ram: Option<i64>,
    pub protected: Option<bool>,
    pub os_hidden: Option<bool>,
    pub tags: Vec<String>,
    pub properties: BTreeMap<String, String>,
    /// An owner the client named (`Some(None)`: explicitly none). The
    /// token's own project for anyone; any project (or none) for an admin.
    pub owner: Option<Option<String>>,
}

/// Changes to an image; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageUpdate {
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    /// Only while the image is `queued`.
    pub disk_format: Option<DiskFormat>,
    pub container_format: Option<ContainerFormat>,
    pub min_disk: Option<i64>,
    pub min_ram: Option<i64>,
    pub protected: Option<bool>,
    pub os_hidden: Option<bool>,
    /// Replaces the whole tag set.
    pub tags: Option<Vec<String>>,
    /// Added or replaced.
    pub set_properties: BTreeMap<String, String>,
    /// Removed; naming a property that does not exist is an error (as a
    /// JSON-patch `remove` of a missing path is).
    pub remove_properties: Vec<String>,
    /// The owner the client asks for: another project (or none) only for
    /// an admin; the image's count and bytes move with it.
    pub owner: Option<Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageSortKey {
    Name,
    Status,
    ContainerFormat,
    DiskFormat,
    Size,
    Id,
    CreatedAt,
    UpdatedAt,
    Visibility,
    Owner,
    MinDisk,
    MinRam,
}

impl ImageSortKey {
    pub fn parse(s: &str) -> Option<ImageSortKey> {
        Some(match s {
            "name" => ImageSortKey::Name,
            "status" => ImageSortKey::Status,
            "container_format" => ImageSortKey::ContainerFormat,
            "disk_format" => ImageSortKey::DiskFormat,
            "size" => ImageSortKey::Size,
            "id" => ImageSortKey::Id,
            "created_at" => ImageSortKey::CreatedAt,
            "updated_at" => ImageSortKey::UpdatedAt,
            "visibility" => ImageSortKey::Visibility,
            "owner" => ImageSortKey::Owner,
            "min_disk" => ImageSortKey::MinDisk,
            "min_ram" => ImageSortKey::MinRam,
            _ => return None,
        })
    }
    pub fn column(self) -> &'static str {
        match self {
            ImageSortKey::Name => "name",
            ImageSortKey::Status => "status",
            ImageSortKey::ContainerFormat => "container_format",
            ImageSortKey::DiskFormat => "disk_format",
            ImageSortKey::Size => "size",
            ImageSortKey::Id => "id",
            ImageSortKey::CreatedAt => "created_at",
            ImageSortKey::UpdatedAt => "updated_at",
            ImageSortKey::Visibility => "visibility",
            ImageSortKey::Owner => "owner",
            ImageSortKey::MinDisk => "min_disk",
            ImageSortKey::MinRam => "min_ram",
        }
    }
}

/// Which images a list returns. The default (all `None`) is Glance's: public
/// images, the caller's project's own, and those shared with it and
/// accepted — or, for an admin, every image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageFilter {
    pub visibility: Option<VisibilityFilter>,
    /// For shared images: the caller's membership status (`accepted` by
    /// default when `visibility=shared`); `All` shows every status.
    pub member_status: Option<MemberStatusFilter>,
    /// Admins see every project's images unless this is set to false
    /// (Glance's admin view); the portal's project panel sets it.
    pub admin_all: Option<bool>,
    pub owner: Option<String>,
    /// Only these ids (Glance's `id=in:a,b`); an empty list matches nothing.
    pub ids: Option<Vec<String>>,
    /// Exact name.
    pub name: Option<String>,
    /// Name or id contains (the portal's search box).
    pub query: Option<String>,
    pub status: Option<ImageStatus>,
    pub disk_format: Option<DiskFormat>,
    pub container_format: Option<ContainerFormat>,
    /// Images carrying every one of these tags.
    pub tags: Vec<String>,
    /// Images whose properties hold these exact values.
    pub properties: Vec<(String, String)>,
    pub protected: Option<bool>,
    /// `None` hides hidden images; `Some(true)` shows only hidden ones.
    pub os_hidden: Option<bool>,
    pub size_min: Option<i64>,
    pub size_max: Option<i64>,
    /// Sort keys in order; `id` is always the final tie-breaker. Default
    /// `created_at desc`.
    pub sort: Vec<(ImageSortKey, SortDir)>,
    /// Keyset paging (Glance's `marker`): rows after this image id.
    pub marker: Option<String>,
    /// Offset paging (the portal).
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VisibilityFilter {
    Public,
    Private,
    Shared,
    Community,
    /// Everything the caller may see, community images included.
    All,
}

impl VisibilityFilter {
    pub fn parse(s: &str) -> Option<VisibilityFilter> {
        Some(match s {
            "public" => VisibilityFilter::Public,
            "private" => VisibilityFilter::Private,
            "shared" => VisibilityFilter::Shared,
            "community" => VisibilityFilter::Community,
            "all" => VisibilityFilter::All,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberStatusFilter {
    Pending,
    Accepted,
    Rejected,
    All,
}

impl MemberStatusFilter {
    pub fn parse(s: &str) -> Option<MemberStatusFilter> {
        Some(match s {
            "pending" => MemberStatusFilter::Pending,
            "accepted" => MemberStatusFilter::Accepted,
            "rejected" => MemberStatusFilter::Rejected,
            "all" => MemberStatusFilter::All,
            _ => return None,
        })
    }
}

/// A project an image is shared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMember {
    pub image_id: String,
    /// The member project's id.
    pub member_id: String,
    pub status: MemberStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A project's image usage against its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUsage {
    pub images: i64,
    pub bytes: i64,
    /// -1 means unlimited.
    pub max_images: i64,
    pub max_bytes: i64,
}

/// A byte range of a download, as parsed from `Range: bytes=a-b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `a-b` inclusive, or `a-` (to the end).
    From { start: u64, end: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

string_enum!(
    /// A task's life (Glance's tasks).
    TaskStatus {
        Pending = "pending",
        Processing = "processing",
        Success = "success",
        Failure = "failure",
    }
);

/// A Glance task: one image import, its request and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageTask {
    pub id: String,
    /// `api_image_import` for the interoperable import API.
    pub task_type: String,
    pub status: TaskStatus,
    pub owner: Option<String>,
    pub image_id: Option<String>,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    pub input: serde_json::Value,
    pub result: Option<serde_json::Value>,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Which tasks a list shows (Glance's `/v2/tasks` filters), newest first.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub task_type: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}
