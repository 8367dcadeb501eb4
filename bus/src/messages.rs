//! The messages servers and agents exchange, as versioned serde JSON.
//!
//! Every message travels in an [`Envelope`] carrying [`VERSION`]. A reader
//! refuses a newer major version it cannot understand (and the message is
//! dead-lettered rather than misread); fields added within a version are
//! optional (`#[serde(default)]`) so older readers skip them.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The protocol version this build writes.
pub const VERSION: u16 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Envelope<T> {
    v: u16,
    #[serde(flatten)]
    body: T,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("message version {0} is newer than this build understands ({VERSION})")]
    Version(u16),
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
}

pub fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail (no maps with non-string keys).
    serde_json::to_vec(&Envelope { v: VERSION, body }).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MessageError> {
    #[derive(Deserialize)]
    struct Head {
        v: u16,
    }
    let head: Head = serde_json::from_slice(bytes)?;
    if head.v > VERSION {
        return Err(MessageError::Version(head.v));
    }
    let env: Envelope<T> = serde_json::from_slice(bytes)?;
    Ok(env.body)
}

// ---------------------------------------------------------------- server → agent

/// Work for one node's compute agent, on `compute.<node>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputeRequest {
    /// Unique per request: the agent's result names it, and the server
    /// ignores a second result for the same id (a redelivery).
    pub request_id: String,
    /// The instance (server) UUID, which is also the libvirt domain UUID.
    pub instance_id: String,
    pub action: ComputeAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ComputeAction {
    Spawn(Box<SpawnSpec>),
    Start,
    /// Graceful shutdown (ACPI), then forced off after `timeout_secs`.
    Stop {
        timeout_secs: u32,
    },
    Reboot {
        hard: bool,
    },
    Pause,
    Unpause,
    Suspend,
    Resume,
    /// Destroy, undefine and remove the instance's disks. Deleting what is
    /// not there succeeds.
    Delete,
    /// The last `lines` of the serial console log (all when `None`); sent
    /// with `Bus::call`, answered with a [`ConsoleOutput`].
    ConsoleLog {
        lines: Option<u32>,
    },
}

/// Everything a node needs to build an instance; it never asks the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpawnSpec {
    pub name: String,
    /// The instance's `OS-EXT-SRV-ATTR:instance_name` (`instance-0000002a`),
    /// which is also the libvirt domain name.
    pub domain_name: String,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// Root disk size; 0 means the image's own virtual size.
    pub root_gb: u64,
    pub image: ImageRef,
    /// Direct kernel boot, as Nova does for images with `kernel_id` /
    /// `ramdisk_id`.
    #[serde(default)]
    pub kernel: Option<ImageRef>,
    #[serde(default)]
    pub ramdisk: Option<ImageRef>,
    /// Extra kernel command line (the image's `os_command_line`).
    #[serde(default)]
    pub kernel_cmdline: Option<String>,
    /// Network interfaces, filled by the network service (none until it lands).
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// What the config drive carries (`openstack/latest/...`).
    pub config_drive: ConfigDrive,
}

/// An image as the node fetches it: from `download_url`, verified against
/// the checksum, kept in the node's cache under `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    pub id: String,
    pub download_url: String,
    pub disk_format: String,
    pub size: u64,
    /// Glance's multihash (`os_hash_algo`, `os_hash_value`), else the MD5
    /// `checksum`.
    pub hash_algo: String,
    pub hash_value: String,
    /// Opens this image's data for a few minutes (sent as
    /// `X-Image-Download-Grant`); the agent falls back to its own service
    /// credential when it is missing or refused.
    #[serde(default)]
    pub download_grant: Option<Credential>,
}

/// A credential carried in a message: `Debug` prints `***`, so a logged
/// message never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credential(String);

impl Credential {
    pub fn new(s: impl Into<String>) -> Credential {
        Credential(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub port_id: String,
    pub mac: String,
    /// The Linux bridge the tap joins.
    pub bridge: String,
    /// The tap device name (`tap` + the port id's first 11 characters, as Nova).
    pub tap: String,
    #[serde(default)]
    pub mtu: Option<u32>,
}

/// The config drive's contents: `openstack/latest/meta_data.json` (and
/// `openstack/2012-08-10/...`, which older cloud-init reads) and
/// `user_data`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfigDrive {
    /// The `meta_data.json` document (uuid, name, hostname, public_keys,
    /// keys, meta, availability_zone, launch_index, project_id).
    pub meta_data: serde_json::Value,
    /// Raw user data (already base64-decoded).
    #[serde(default)]
    pub user_data: Option<Vec<u8>>,
}

/// The answer to a [`ComputeAction::ConsoleLog`] call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleOutput {
    pub instance_id: String,
    /// `None` when the node does not have the instance.
    pub output: Option<String>,
}

// ---------------------------------------------------------------- agent → server

/// What agents send to the servers, on [`crate::CONDUCTOR_QUEUE`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEvent {
    /// At start and on every heartbeat: who the node is and what it has.
    Heartbeat(NodeReport),
    /// The outcome of one [`ComputeRequest`].
    Result(ActionResult),
    /// The periodic power-state sync: what libvirt really says about every
    /// instance the node has.
    PowerStates {
        node: String,
        states: Vec<InstancePower>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub node: String,
    /// The address guests' consoles (VNC) listen on.
    pub host_ip: String,
    /// `QEMU` or `test`, as libvirt names it.
    pub hypervisor_type: String,
    /// libvirt's hypervisor version number (major * 1,000,000 + minor * 1,000 + release).
    pub hypervisor_version: u64,
    pub vcpus: u32,
    pub memory_mib: u64,
    pub disk_gb: u64,
    /// The agent's availability zone (from its config).
    pub availability_zone: String,
    /// Instances running there now (for the heartbeat's usage view).
    pub running: u32,
    /// When the agent started (seconds since the epoch): a change tells the
    /// server the agent restarted.
    pub started_at: i64,
}

/// Nova's power states (`OS-EXT-STS:power_state`), with its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    NoState,
    Running,
    Paused,
    Shutdown,
    Crashed,
    Suspended,
}

impl PowerState {
    /// Nova's numeric code.
    pub fn code(self) -> u8 {
        match self {
            PowerState::NoState => 0,
            PowerState::Running => 1,
            PowerState::Paused => 3,
            PowerState::Shutdown => 4,
            PowerState::Crashed => 6,
            PowerState::Suspended => 7,
        }
    }

    pub fn from_code(code: u8) -> PowerState {
        match code {
            1 => PowerState::Running,
            3 => PowerState::Paused,
            4 => PowerState::Shutdown,
            6 => PowerState::Crashed,
            7 => PowerState::Suspended,
            _ => PowerState::NoState,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancePower {
    pub instance_id: String,
    pub power_state: PowerState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    pub request_id: String,
    pub instance_id: String,
    pub node: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Done; the instance's power state afterwards.
    Done { power_state: PowerState },
    /// Failed. `retry_elsewhere`: a spawn that may work on another node
    /// (the image could not be fetched, the hypervisor refused); `message`
    /// is what the user reads in the instance's fault.
    Failed {
        message: String,
        retry_elsewhere: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let req = ComputeRequest {
            request_id: "r1".into(),
            instance_id: "i1".into(),
            action: ComputeAction::Stop { timeout_secs: 60 },
        };
        let bytes = encode(&req);
        let text = String::from_utf8(bytes.clone()).unwrap_or_default();
        assert!(text.contains("\"v\":1"), "{text}");
        assert!(text.contains("\"action\":\"stop\""), "{text}");
        assert_eq!(decode::<ComputeRequest>(&bytes).ok(), Some(req));

        let newer = br#"{"v":2,"request_id":"r","instance_id":"i","action":"start"}"#;
        assert!(matches!(
            decode::<ComputeRequest>(newer),
            Err(MessageError::Version(2))
        ));
        assert!(matches!(
            decode::<ComputeRequest>(b"{\"v\":1}"),
            Err(MessageError::Malformed(_))
        ));
    }

    #[test]
    fn power_state_codes_are_novas() {
        for s in [
            PowerState::NoState,
            PowerState::Running,
            PowerState::Paused,
            PowerState::Shutdown,
            PowerState::Crashed,
            PowerState::Suspended,
        ] {
            assert_eq!(PowerState::from_code(s.code()), s);
        }
        assert_eq!(PowerState::Running.code(), 1);
        assert_eq!(PowerState::Suspended.code(), 7);
    }
}

/// Instances whose rows a server changed (a batch: a burst of changes is
/// one message), on [`crate::INSTANCE_TOPIC`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceChanges {
    /// The server that made them (its own broadcasts come back to it too).
    pub from: String,
    /// `(instance id, project id)` pairs.
    pub changed: Vec<(String, String)>,
}
