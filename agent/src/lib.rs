//! Gureum's compute agent (Nova's compute role): it consumes its node's
//! work queue, runs instances with libvirt, and reports results, heartbeats
//! and power states to the conductor queue. It never touches the database.
//!
//! The `gureum-agent` binary runs it against RabbitMQ; the server can embed
//! it in-process over the memory bus ([`Agent::new`] + [`Agent::run`]).

pub mod config;
pub mod config_drive;
pub mod domain;
pub mod driver;
pub mod images;
pub mod service;

pub use config::{AgentConfig, DomainType, IdentityConfig, Secret};
pub use driver::{DriverError, HostInfo, Hypervisor};
pub use service::{Agent, AgentError};
