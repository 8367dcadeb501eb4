//! The compute service's types, as its callers see them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use bus::messages::PowerState;

// ---------------------------------------------------------------- flavors

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
    pub ephemeral_gb: u64,
    pub swap_mib: u64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub extra_specs: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewFlavor {
    /// Nova accepts a caller-chosen id (any string, `auto` or none for a UUID).
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
    pub ephemeral_gb: u64,
    pub swap_mib: u64,
    pub rxtx_factor: f64,
    pub is_public: bool,
}

/// Which flavors a list shows. Nova: `is_public` None shows public ones
/// plus the caller's private ones (admins: all); `Some(b)` filters.
#[derive(Debug, Clone, Default)]
pub struct FlavorFilter {
    pub is_public: Option<bool>,
    pub min_ram: Option<u64>,
    pub min_disk: Option<u64>,
    pub marker: Option<String>,
    pub limit: Option<usize>,
}

// ---------------------------------------------------------------- key pairs

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPair {
    pub user_id: String,
    pub name: String,
    /// `ssh` (Nova also knows `x509`, which Gureum does not issue).
    pub key_type: String,
    /// MD5 of the key blob in colon hex, as Nova shows it.
    pub fingerprint: String,
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewKeyPair {
    pub name: String,
    /// An OpenSSH public key to import; `None` generates an ed25519 pair.
    pub public_key: Option<String>,
    /// An admin may create a key pair for another user (Nova 2.10).
    pub user_id: Option<String>,
}

/// A created key pair: the private key only when Gureum generated it, shown
/// this once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedKeyPair {
    pub keypair: KeyPair,
    pub private_key: Option<crate::secret::Secret>,
}

// ---------------------------------------------------------------- nodes

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputeNode {
    pub id: String,
    /// The node's name: Nova's `host` and `hypervisor_hostname`.
    pub name: String,
    pub host_ip: String,
    pub hypervisor_type: String,
    pub hypervisor_version: u64,
    pub availability_zone: String,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gb: u64,
    pub vcpus_used: u32,
    pub memory_mib_used: u64,
    pub disk_gb_used: u64,
    pub running_vms: u32,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub forced_down: bool,
    /// Heartbeat within the window.
    pub up: bool,
    pub heartbeat_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- servers

/// Nova's `vm_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Building,
    Active,
    Stopped,
    Paused,
    Suspended,
    Error,
    Deleted,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Building => "building",
            VmState::Active => "active",
            VmState::Stopped => "stopped",
            VmState::Paused => "paused",
            VmState::Suspended => "suspended",
            VmState::Error => "error",
            VmState::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<VmState> {
        Some(match s {
            "building" => VmState::Building,
            "active" => VmState::Active,
            "stopped" => VmState::Stopped,
            "paused" => VmState::Paused,
            "suspended" => VmState::Suspended,
            "error" => VmState::Error,
            "deleted" => VmState::Deleted,
            _ => return None,
        })
    }
}

/// Nova's `task_state`: what the instance is in the middle of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Scheduling,
    Spawning,
    PoweringOn,
    PoweringOff,
    Rebooting,
    RebootingHard,
    Pausing,
    Unpausing,
    Suspending,
    Resuming,
    Deleting,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Scheduling => "scheduling",
            TaskState::Spawning => "spawning",
            TaskState::PoweringOn => "powering-on",
            TaskState::PoweringOff => "powering-off",
            TaskState::Rebooting => "rebooting",
            TaskState::RebootingHard => "rebooting_hard",
            TaskState::Pausing => "pausing",
            TaskState::Unpausing => "unpausing",
            TaskState::Suspending => "suspending",
            TaskState::Resuming => "resuming",
            TaskState::Deleting => "deleting",
        }
    }

    pub fn parse(s: &str) -> Option<TaskState> {
        [
            TaskState::Scheduling,
            TaskState::Spawning,
            TaskState::PoweringOn,
            TaskState::PoweringOff,
            TaskState::Rebooting,
            TaskState::RebootingHard,
            TaskState::Pausing,
            TaskState::Unpausing,
            TaskState::Suspending,
            TaskState::Resuming,
            TaskState::Deleting,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// The status the API shows, from `vm_state` and `task_state` as Nova maps them.
pub fn server_status(vm: VmState, task: Option<TaskState>) -> &'static str {
    match (vm, task) {
        (VmState::Active, Some(TaskState::Rebooting)) => "REBOOT",
        (VmState::Active, Some(TaskState::RebootingHard)) => "HARD_REBOOT",
        (VmState::Building, _) => "BUILD",
        (VmState::Active, _) => "ACTIVE",
        (VmState::Stopped, _) => "SHUTOFF",
        (VmState::Paused, _) => "PAUSED",
        (VmState::Suspended, _) => "SUSPENDED",
        (VmState::Error, _) => "ERROR",
        (VmState::Deleted, _) => "DELETED",
    }
}

/// The `vm_state`s a status filter (`?status=ACTIVE`) selects.
pub fn vm_states_for_status(status: &str) -> Option<&'static [VmState]> {
    Some(match status.to_ascii_uppercase().as_str() {
        "BUILD" => &[VmState::Building],
        "ACTIVE" | "REBOOT" | "HARD_REBOOT" => &[VmState::Active],
        "SHUTOFF" => &[VmState::Stopped],
        "PAUSED" => &[VmState::Paused],
        "SUSPENDED" => &[VmState::Suspended],
        "ERROR" => &[VmState::Error],
        "DELETED" => &[VmState::Deleted],
        _ => return None,
    })
}

/// The flavor as the instance was built with it (Nova 2.47 shows this).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceFlavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
    pub ephemeral_gb: u64,
    pub swap_mib: u64,
    pub extra_specs: BTreeMap<String, String>,
}

/// Why an instance is in ERROR, as the user reads it (`fault`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub code: u16,
    pub message: String,
    pub details: Option<String>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub image_id: String,
    /// The kernel and ramdisk images it boots with (direct kernel boot),
    /// taken from the image's properties when it was created.
    pub kernel_id: Option<String>,
    pub ramdisk_id: Option<String>,
    /// `accessIPv4` / `accessIPv6`: what the user says reaches the server.
    pub access_ip_v4: Option<std::net::Ipv4Addr>,
    pub access_ip_v6: Option<std::net::Ipv6Addr>,
    pub flavor: InstanceFlavor,
    pub key_name: Option<String>,
    pub availability_zone: Option<String>,
    pub hostname: String,
    /// `OS-EXT-SRV-ATTR:instance_name`: the libvirt domain's name.
    pub instance_name: String,
    pub node_name: Option<String>,
    pub node_id: Option<String>,
    pub vm_state: VmState,
    pub task_state: Option<TaskState>,
    pub power_state: PowerState,
    pub locked: bool,
    /// Who locked it: `admin` (another project's admin) or `owner`.
    pub locked_by: Option<String>,
    pub locked_reason: Option<String>,
    pub fault: Option<Fault>,
    pub metadata: BTreeMap<String, String>,
    pub reservation_id: String,
    pub launch_index: u32,
    /// Base64 as given at create (Nova 2.3 shows it to admins).
    pub user_data: Option<String>,
    pub launched_at: Option<DateTime<Utc>>,
    pub terminated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Server {
    pub fn status(&self) -> &'static str {
        server_status(self.vm_state, self.task_state)
    }

    /// Nova's progress: 0 while building, 100 once active.
    pub fn progress(&self) -> u8 {
        match self.vm_state {
            VmState::Building => 0,
            _ => 100,
        }
    }
}

/// `networks` on create (Nova 2.37+ requires it): none, auto, or a list.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Networks {
    #[default]
    None,
    Auto,
    Requested(Vec<NetworkRequest>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkRequest {
    pub network_id: Option<String>,
    pub port_id: Option<String>,
    pub fixed_ip: Option<String>,
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewServer {
    pub name: String,
    pub description: Option<String>,
    pub image_id: String,
    pub flavor_id: String,
    pub key_name: Option<String>,
    /// Base64, at most 65,535 bytes (Nova's limit).
    pub user_data: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub availability_zone: Option<String>,
    pub networks: Networks,
    pub access_ip_v4: Option<std::net::Ipv4Addr>,
    pub access_ip_v6: Option<std::net::Ipv6Addr>,
    /// How many to boot (Nova's `min_count`/`max_count`): all of
    /// `max_count` if the quota allows, else as many as fit down to
    /// `min_count`, else none.
    pub min_count: u32,
    pub max_count: u32,
}

/// A server's editable fields (`PUT /servers/{id}`); `None` leaves one as
/// it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ServerUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub access_ip_v4: Option<Option<std::net::Ipv4Addr>>,
    pub access_ip_v6: Option<Option<std::net::Ipv6Addr>>,
}

#[derive(Debug, Clone, Default)]
pub struct ServerFilter {
    /// Admin with `all_tenants`: every project (optionally one, `project_id`).
    pub all_projects: bool,
    pub project_id: Option<String>,
    /// A regular-expression-free substring match, as Nova's `name` filter
    /// is for non-admins (a regex in Nova; substring covers what users type).
    pub name: Option<String>,
    pub status: Option<String>,
    pub image: Option<String>,
    pub flavor: Option<String>,
    pub host: Option<String>,
    pub changes_since: Option<DateTime<Utc>>,
    /// Include deleted instances (admin, or `changes-since`).
    pub deleted: bool,
    pub marker: Option<String>,
    pub limit: Option<usize>,
    /// Rows to skip (the portal's pages; REST pages by `marker`).
    pub offset: Option<usize>,
    /// The order; newest first when `None` (Nova's default).
    pub sort: Option<(ServerSortKey, crate::SortDir)>,
}

/// What a server list can be sorted by (the id breaks ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSortKey {
    Name,
    Status,
    Created,
    Flavor,
    Node,
    Project,
}

impl ServerSortKey {
    pub fn parse(s: &str) -> Option<ServerSortKey> {
        Some(match s {
            "name" | "display_name" => ServerSortKey::Name,
            "status" | "vm_state" => ServerSortKey::Status,
            "created" | "created_at" => ServerSortKey::Created,
            "flavor" | "flavor_name" => ServerSortKey::Flavor,
            "node" | "host" | "node_name" => ServerSortKey::Node,
            "project" | "project_id" => ServerSortKey::Project,
            _ => return None,
        })
    }

    /// The column, `COALESCE`d so NULLs never reach a comparison.
    pub(super) fn column(self) -> &'static str {
        match self {
            ServerSortKey::Name => "name",
            ServerSortKey::Status => "vm_state",
            ServerSortKey::Created => "created_at",
            ServerSortKey::Flavor => "flavor_name",
            ServerSortKey::Node => "COALESCE(node_name, '')",
            ServerSortKey::Project => "project_id",
        }
    }
}

/// What the caller may do with a server now, answered by the service from
/// its policy rules and the server's state: the dashboard shows an action
/// only when its flag is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCapabilities {
    pub start: bool,
    pub stop: bool,
    pub reboot: bool,
    pub hard_reboot: bool,
    pub pause: bool,
    pub unpause: bool,
    pub suspend: bool,
    pub resume: bool,
    pub lock: bool,
    pub unlock: bool,
    pub edit: bool,
    pub delete: bool,
    pub console: bool,
}

/// A change to an instance's row (state, name, lock, creation, deletion):
/// what the dashboard's live views are told, on this server and, over the
/// bus, on every other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceChanged {
    pub instance_id: String,
    pub project_id: String,
}

/// The server actions (`POST /servers/{id}/action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAction {
    Start,
    Stop,
    Reboot { hard: bool },
    Pause,
    Unpause,
    Suspend,
    Resume,
    Lock { reason: Option<String> },
    Unlock,
}

impl ServerAction {
    /// Nova's action name (os-instance-actions, policy and error messages).
    pub fn name(&self) -> &'static str {
        match self {
            ServerAction::Start => "start",
            ServerAction::Stop => "stop",
            ServerAction::Reboot { .. } => "reboot",
            ServerAction::Pause => "pause",
            ServerAction::Unpause => "unpause",
            ServerAction::Suspend => "suspend",
            ServerAction::Resume => "resume",
            ServerAction::Lock { .. } => "lock",
            ServerAction::Unlock => "unlock",
        }
    }
}

/// One os-instance-actions record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceAction {
    pub id: String,
    pub instance_id: String,
    pub action: String,
    pub request_id: String,
    pub user_id: String,
    pub project_id: String,
    pub message: Option<String>,
    pub start_time: DateTime<Utc>,
    pub finish_time: Option<DateTime<Utc>>,
}

/// A project's absolute limits and use (`GET /limits`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AbsoluteLimits {
    pub max_instances: i64,
    pub max_cores: i64,
    pub max_ram_mib: i64,
    pub max_key_pairs: i64,
    pub max_metadata_items: i64,
    pub instances_used: i64,
    pub cores_used: i64,
    pub ram_mib_used: i64,
}

/// One project's usage over a period (os-simple-tenant-usage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectUsage {
    pub project_id: String,
    pub start: DateTime<Utc>,
    pub stop: DateTime<Utc>,
    pub total_hours: f64,
    pub total_vcpus_usage: f64,
    pub total_memory_mb_usage: f64,
    pub total_local_gb_usage: f64,
    pub servers: Vec<ServerUsage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    pub instance_id: String,
    pub name: String,
    pub hours: f64,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub local_gb: u64,
    pub flavor: String,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}
