use serde::{Deserialize, Serialize};

use crate::quota::Resource;

/// Compute service settings (`[compute]` in gureum.toml).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ComputeConfig {
    /// Nova's `cpu_allocation_ratio`: vCPUs a node may promise per real one.
    pub cpu_allocation_ratio: f64,
    /// Nova's `ram_allocation_ratio`.
    pub ram_allocation_ratio: f64,
    /// Nova's `disk_allocation_ratio`.
    pub disk_allocation_ratio: f64,
    /// A node is down when its last heartbeat is older than this
    /// (Nova's `service_down_time`, 60 s).
    pub node_down_after_secs: u64,
    /// How long an agent may take to answer a boot before it is tried on
    /// another node (or goes to ERROR).
    pub spawn_timeout_secs: u64,
    /// How long any other action may go unanswered before its task is given up.
    pub action_timeout_secs: u64,
    /// Nodes a boot is tried on before the instance goes to ERROR
    /// (Nova's `max_attempts`, 3).
    pub max_attempts: u32,
    /// Graceful shutdown before a stop forces the power off
    /// (Nova's `shutdown_timeout`, 60 s).
    pub shutdown_timeout_secs: u32,
    /// The availability zone of nodes that report none (Nova's
    /// `default_availability_zone`).
    pub default_availability_zone: String,
    /// Where nodes fetch images from: the image API's base URL as the
    /// nodes reach it (`http://host:port/image`). Empty: the server's own.
    pub image_api_url: String,
    /// Default quota limits of a project without its own (Nova's defaults).
    pub instances: i64,
    pub cores: i64,
    pub ram_mib: i64,
    pub key_pairs: i64,
    pub metadata_items: i64,
}

impl ComputeConfig {
    /// The defaults the quota engine applies to compute resources.
    pub fn quota_defaults(&self) -> [(Resource, i64); 5] {
        [
            (Resource::INSTANCES, self.instances),
            (Resource::CORES, self.cores),
            (Resource::RAM, self.ram_mib),
            (Resource::KEY_PAIRS, self.key_pairs),
            (Resource::METADATA_ITEMS, self.metadata_items),
        ]
    }
}

impl Default for ComputeConfig {
    fn default() -> Self {
        ComputeConfig {
            cpu_allocation_ratio: 4.0,
            ram_allocation_ratio: 1.0,
            disk_allocation_ratio: 1.0,
            node_down_after_secs: 60,
            spawn_timeout_secs: 300,
            action_timeout_secs: 300,
            max_attempts: 3,
            shutdown_timeout_secs: 60,
            default_availability_zone: "nova".into(),
            image_api_url: String::new(),
            instances: 10,
            cores: 20,
            ram_mib: 51200,
            key_pairs: 100,
            metadata_items: 128,
        }
    }
}
