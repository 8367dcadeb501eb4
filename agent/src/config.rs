//! The agent's configuration: a TOML file (every field optional), then
//! command-line / environment overrides in `main.rs`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// libvirt's `<domain type=...>`: `qemu` (TCG, works anywhere) or `kvm`
/// (needs /dev/kvm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainType {
    #[default]
    Qemu,
    Kvm,
}

impl DomainType {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainType::Qemu => "qemu",
            DomainType::Kvm => "kvm",
        }
    }
}

/// A string that must not reach logs: `Debug` prints `***`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

/// The agent's own service credential (Keystone v3 password auth), used to
/// download images when a request carries no usable user token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityConfig {
    /// Keystone's endpoint, with or without the trailing `/v3`.
    pub auth_url: String,
    pub username: String,
    pub password: Secret,
    pub project: String,
    /// The user's and the project's domain (by name).
    #[serde(default = "default_domain")]
    pub domain: String,
}

fn default_domain() -> String {
    "Default".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentConfig {
    /// The node's name: its queue is `compute.<node>`. Default: the hostname.
    pub node: String,
    /// Where the binary connects (`amqp://...`); an embedding server passes
    /// its own bus and ignores this.
    pub bus_url: Option<String>,
    /// The servers' `bus.prefix`: queue and exchange names are prefixed
    /// with it, so clouds sharing one RabbitMQ vhost keep apart.
    pub bus_prefix: String,
    /// `qemu:///system` for real guests, `test:///default` for libvirt's
    /// in-process test driver (no disks, no QEMU).
    pub libvirt_uri: String,
    pub domain_type: DomainType,
    /// The address guests' VNC consoles listen on.
    pub host_ip: String,
    pub availability_zone: String,
    /// Holds `instances/<uuid>/` and the image cache `images/`.
    pub state_dir: PathBuf,
    pub heartbeat_interval_secs: u64,
    pub power_sync_interval_secs: u64,
    /// How long a graceful stop whose request says 0, or a soft reboot,
    /// waits for the guest before forcing it.
    pub stop_timeout_secs: u32,
    /// Requests worked on at once (the queue prefetch).
    pub concurrency: u16,
    /// Reported inventory; `None` reads libvirt's node info / the disk.
    pub vcpus: Option<u32>,
    pub memory_mib: Option<u64>,
    pub disk_gb: Option<u64>,
    pub identity: Option<IdentityConfig>,
}

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            node: hostname(),
            bus_url: None,
            bus_prefix: String::new(),
            libvirt_uri: "qemu:///system".into(),
            domain_type: DomainType::Qemu,
            host_ip: "127.0.0.1".into(),
            availability_zone: "nova".into(),
            state_dir: PathBuf::from("/var/lib/gureum/agent"),
            heartbeat_interval_secs: 10,
            power_sync_interval_secs: 60,
            stop_timeout_secs: 60,
            concurrency: 4,
            vcpus: None,
            memory_mib: None,
            disk_gb: None,
            identity: None,
        }
    }
}

impl AgentConfig {
    pub fn from_toml(text: &str) -> Result<AgentConfig, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn instances_dir(&self) -> PathBuf {
        self.state_dir.join("instances")
    }

    pub fn image_cache_dir(&self) -> PathBuf {
        self.state_dir.join("images")
    }

    /// The test driver keeps domains in memory and never opens their disks,
    /// so the agent skips images, overlays and config drives there.
    pub fn is_test_driver(&self) -> bool {
        self.libvirt_uri.starts_with("test:")
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(self.heartbeat_interval_secs.max(1))
    }

    pub fn power_sync_interval(&self) -> Duration {
        Duration::from_secs(self.power_sync_interval_secs.max(1))
    }
}

/// The kernel's hostname, without a libc call (unsafe is forbidden here).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_toml() {
        let d = AgentConfig::default();
        assert!(!d.node.is_empty());
        assert_eq!(d.availability_zone, "nova");
        assert_eq!(d.heartbeat_interval(), Duration::from_secs(10));
        assert_eq!(d.domain_type, DomainType::Qemu);

        let c = AgentConfig::from_toml(
            r#"
            node = "node-1"
            libvirt_uri = "test:///default"
            domain_type = "kvm"
            vcpus = 8
            [identity]
            auth_url = "http://127.0.0.1:5000/v3"
            username = "nova"
            password = "hunter2"
            project = "service"
            "#,
        )
        .unwrap();
        assert_eq!(c.node, "node-1");
        assert!(c.is_test_driver());
        assert_eq!(c.domain_type, DomainType::Kvm);
        assert_eq!(c.vcpus, Some(8));
        assert_eq!(c.power_sync_interval_secs, 60);
        let id = c.identity.unwrap();
        assert_eq!(id.domain, "Default");
        assert_eq!(id.password.expose(), "hunter2");
        let shown = format!("{id:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
