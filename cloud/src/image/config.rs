use serde::{Deserialize, Serialize};

use crate::quota::Resource;

/// Image service settings (`[image]` in gureum.toml).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    /// Directory of the local filesystem store (`images/` and `staging/`
    /// beneath it).
    pub store_dir: String,
    /// Largest image accepted, in bytes (Glance's `image_size_cap`).
    pub max_image_size: i64,
    /// Default quota limits (`image_count_total`, `image_size_total` in
    /// bytes) of a project without its own; -1 is unlimited.
    pub max_images_per_project: i64,
    pub max_bytes_per_project: i64,
}

impl ImageConfig {
    /// The defaults the quota engine applies to image resources.
    pub fn quota_defaults(&self) -> [(Resource, i64); 2] {
        [
            (Resource::IMAGE_COUNT_TOTAL, self.max_images_per_project),
            (Resource::IMAGE_SIZE_TOTAL, self.max_bytes_per_project),
        ]
    }
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig {
            store_dir: "data/images".into(),
            max_image_size: 1 << 40,
            max_images_per_project: 100,
            max_bytes_per_project: 1 << 40,
        }
    }
}
