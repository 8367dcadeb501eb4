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
    /// Glance's `require_image_format_match`: data must be the format its
    /// image declares. Off, a mismatch is recorded as declared (Tempest's
    /// list tests upload random bytes as qcow2); images that refer to other
    /// files and unsafe headers are refused either way.
    pub require_format_match: bool,
    /// Offer `web-download` (Glance's default import methods include it).
    pub web_download: bool,
    /// Glance's `[import_filtering_opts]`: the ports a web-download URI may
    /// name (its `allowed_ports`, default 80 and 443).
    pub import_allowed_ports: Vec<u16>,
    /// Hosts a web-download may fetch from even though they resolve to
    /// loopback, private or link-local addresses, which are refused
    /// otherwise (the server's own network is not the user's to reach).
    pub import_allowed_hosts: Vec<String>,
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
            require_format_match: true,
            web_download: true,
            import_allowed_ports: vec![80, 443],
            import_allowed_hosts: Vec::new(),
        }
    }
}
