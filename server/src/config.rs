//! One TOML file, overridden by `GUREUM_…` environment variables
//! (`GUREUM_DATABASE_URL`, `GUREUM_IDENTITY__TOKEN_TTL_SECS`: `__` descends
//! into a section). See docs/configuration.md.

use std::path::Path;

use cloud::compute::ComputeConfig;
use cloud::identity::IdentityConfig;
use cloud::image::ImageConfig;
use cloud::network::NetworkConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the server listens on.
    pub listen: String,
    /// URL clients reach the server at (catalog, cookies' Secure flag).
    pub public_url: String,
    /// `sqlite:data/gureum.db` (embedded) or `mysql://user:pass@host/db`.
    pub database_url: String,
    /// Where the built front end (pkg/, CSS) lives.
    pub site_root: String,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    pub http: HttpConfig,
    pub session: SessionConfig,
    pub server: ServerConfig,
    pub identity: IdentityConfig,
    pub image: ImageConfig,
    pub compute: ComputeConfig,
    pub network: NetworkConfig,
    pub bus: BusConfig,
    /// The agent this process runs in-process when `bus.embedded_agent`.
    pub agent: agent::AgentConfig,
}

/// The message bus between servers and agents (`[bus]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BusConfig {
    /// `memory` (in-process, the embedded default) or an AMQP URL
    /// (`amqp://user:pass@host:5672/%2f`) for RabbitMQ.
    pub url: String,
    /// Run a compute agent inside this process (the embedded default; a
    /// production server leaves this to the agents on the nodes).
    pub embedded_agent: bool,
    /// Prepended to every queue and exchange name on RabbitMQ, so clouds
    /// (or test runs) sharing one vhost keep apart; agents use the same.
    pub prefix: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            url: "memory".into(),
            embedded_agent: true,
            prefix: String::new(),
        }
    }
}

/// Limits on slow or idle clients (see `server/src/listener.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// A client must send a request's whole header block within this many
    /// seconds; an idle keep-alive connection is closed after it.
    pub header_read_timeout_secs: u64,
    /// A request body that sends nothing for this long fails.
    pub body_idle_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: 10,
            body_idle_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// A portal session ends after this long without a request.
    pub idle_timeout_secs: i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout_secs: 3600,
        }
    }
}

/// This process among the servers on one database (`[server]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Seconds between heartbeats of this server's row in `servers`.
    pub heartbeat_secs: u64,
    /// A server silent this long is dead and its uploads are recovered by
    /// the others; three heartbeats by default.
    pub lease_secs: u64,
    /// On SIGTERM or Ctrl-C: seconds requests in flight may take to finish
    /// before they are cut off and their uploads handed back.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            heartbeat_secs: 2,
            lease_secs: 6,
            shutdown_grace_secs: 10,
        }
    }
}

impl ServerConfig {
    pub fn heartbeat(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.heartbeat_secs)
    }
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_secs)
    }
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_secs)
    }

    /// A lease must outlast more than one heartbeat, or a live server
    /// would look dead between two beats.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_secs == 0 || self.lease_secs <= self.heartbeat_secs {
            return Err(ConfigError::Invalid(format!(
                "server.lease_secs ({}) must be larger than server.heartbeat_secs ({}), which must be at least 1",
                self.lease_secs, self.heartbeat_secs
            )));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:3000".into(),
            public_url: "http://127.0.0.1:3000".into(),
            database_url: "sqlite:data/gureum.db".into(),
            site_root: "target/site".into(),
            body_limit_bytes: 2 * 1024 * 1024,
            http: HttpConfig::default(),
            session: SessionConfig::default(),
            server: ServerConfig::default(),
            identity: IdentityConfig::default(),
            image: ImageConfig::default(),
            compute: ComputeConfig::default(),
            network: NetworkConfig::default(),
            bus: BusConfig::default(),
            // Embedded: libvirt's test driver, which needs no daemon or QEMU.
            agent: agent::AgentConfig {
                libvirt_uri: "test:///default".into(),
                state_dir: "data/agent".into(),
                ..agent::AgentConfig::default()
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads `path` if given (or `gureum.toml` if present), then applies
    /// `GUREUM_*` environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None if Path::new("gureum.toml").exists() => std::fs::read_to_string("gureum.toml")
                .map_err(|source| ConfigError::Read {
                    path: "gureum.toml".into(),
                    source,
                })?,
            None => String::new(),
        };
        Self::from_toml_and_env(&text, std::env::vars())
    }

    pub fn from_toml_and_env(
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(text)?;
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("GUREUM_") else {
                continue;
            };
            // Not configuration: read by `make run` and bootstrap.
            if matches!(rest, "ADMIN_PASSWORD" | "CONFIG" | "LOG" | "SEED_GUEST_DIR") {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            set_path(&mut table, &path, parse_scalar(&v));
        }
        // Every key the file and environment leave out keeps its value in
        // `Config::default()`, section by section: the embedded agent's
        // defaults (the test driver, state under data/) differ from a node
        // agent's, and a partial `[agent]` must not fall back to those.
        let mut merged = toml::Table::try_from(Config::default())
            .map_err(|e| ConfigError::Invalid(format!("the defaults do not serialize: {e}")))?;
        merge(&mut merged, table);
        let table = merged;
        let mut cfg: Config = toml::Value::Table(table).try_into()?;
        // The catalog follows the server's public URL.
        cfg.identity.public_url = cfg.public_url.clone();
        // Nodes fetch images from the server's own image API unless told otherwise.
        if cfg.compute.image_api_url.is_empty() {
            cfg.compute.image_api_url = format!("{}/image", cfg.public_url.trim_end_matches('/'));
        }
        cfg.server.validate()?;
        Ok(cfg)
    }
}

/// An override's value: an integer, a boolean, a TOML array
/// (`GUREUM_IMAGE__IMPORT_ALLOWED_PORTS='[80, 8080]'`), else a string.
fn parse_scalar(v: &str) -> toml::Value {
    if v.trim_start().starts_with('[') {
        if let Ok(mut t) = toml::from_str::<toml::Table>(&format!("v = {v}")) {
            if let Some(a @ toml::Value::Array(_)) = t.remove("v") {
                return a;
            }
        }
    }
    if let Ok(i) = v.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(b) = v.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(v.to_string())
    }
}

/// Lays `over` onto `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_descends_into_sections() {
        let env = vec![
            (
                "GUREUM_DATABASE_URL".to_string(),
                "mysql://root@127.0.0.1/x".to_string(),
            ),
            (
                "GUREUM_IDENTITY__TOKEN_TTL_SECS".to_string(),
                "60".to_string(),
            ),
            ("OTHER".to_string(), "ignored".to_string()),
        ];
        let cfg = Config::from_toml_and_env(
            "listen = \"0.0.0.0:9\"\n[identity]\nlockout_failure_attempts = 2\n",
            env.into_iter(),
        )
        .unwrap();
        assert_eq!(cfg.listen, "0.0.0.0:9");
        assert_eq!(cfg.database_url, "mysql://root@127.0.0.1/x");
        assert_eq!(cfg.identity.token_ttl_secs, 60);
        assert_eq!(cfg.identity.lockout_failure_attempts, 2);
        // A partial [agent] section keeps the embedded defaults it omits.
        let cfg = Config::from_toml_and_env(
            "",
            [("GUREUM_AGENT__STATE_DIR".to_string(), "/tmp/a".to_string())].into_iter(),
        )
        .unwrap();
        assert_eq!(cfg.agent.state_dir, std::path::PathBuf::from("/tmp/a"));
        assert_eq!(cfg.agent.libvirt_uri, "test:///default");
        let cfg = Config::from_toml_and_env(
            "[agent]\nlibvirt_uri = \"qemu:///system\"\n",
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(cfg.agent.libvirt_uri, "qemu:///system");
        assert_eq!(cfg.agent.state_dir, std::path::PathBuf::from("data/agent"));
    }

    #[test]
    fn nothing_given_is_exactly_the_defaults() {
        // Every section goes through the merge with `Config::default()`:
        // its serialized form must read back unchanged.
        let cfg = Config::from_toml_and_env("", std::iter::empty()).unwrap();
        let mut want = Config::default();
        want.identity.public_url = want.public_url.clone();
        want.compute.image_api_url = format!("{}/image", want.public_url);
        assert_eq!(
            toml::Table::try_from(&cfg).unwrap(),
            toml::Table::try_from(&want).unwrap()
        );
        // A nested key keeps its section's other defaults.
        let cfg =
            Config::from_toml_and_env("[identity]\ntoken_ttl_secs = 60\n", std::iter::empty())
                .unwrap();
        assert_eq!(cfg.identity.token_ttl_secs, 60);
        assert_eq!(
            cfg.identity.argon2_memory_kib,
            Config::default().identity.argon2_memory_kib
        );
    }

    #[test]
    fn array_overrides_are_toml_arrays() {
        let env = vec![
            (
                "GUREUM_IMAGE__IMPORT_ALLOWED_PORTS".to_string(),
                "[80, 8080]".to_string(),
            ),
            (
                "GUREUM_IMAGE__IMPORT_ALLOWED_HOSTS".to_string(),
                "[\"127.0.0.1\"]".to_string(),
            ),
            (
                "GUREUM_IMAGE__REQUIRE_FORMAT_MATCH".to_string(),
                "false".to_string(),
            ),
        ];
        let cfg = Config::from_toml_and_env("", env.into_iter()).unwrap();
        assert_eq!(cfg.image.import_allowed_ports, vec![80, 8080]);
        assert_eq!(
            cfg.image.import_allowed_hosts,
            vec!["127.0.0.1".to_string()]
        );
        assert!(!cfg.image.require_format_match);
    }

    #[test]
    fn a_lease_shorter_than_a_heartbeat_is_refused() {
        let err = Config::from_toml_and_env(
            "[server]\nheartbeat_secs = 5\nlease_secs = 5\n",
            std::iter::empty(),
        )
        .expect_err("a lease of one heartbeat is refused");
        assert!(matches!(err, ConfigError::Invalid(_)), "{err}");
    }

    #[test]
    fn bad_types_are_a_clear_error() {
        let err = Config::from_toml_and_env("listen = 5", std::iter::empty()).unwrap_err();
        assert!(err.to_string().contains("invalid config"), "{err}");
    }
}
