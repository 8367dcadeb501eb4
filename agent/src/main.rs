//! `gureum-agent`: the compute agent of one node, on RabbitMQ.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agent::{Agent, AgentConfig, Hypervisor};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "gureum-agent", version, about = "Gureum's compute agent")]
struct Args {
    /// A TOML file with the agent's settings (every field optional).
    #[arg(long, env = "GUREUM_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// The node's name (its queue is `compute.<node>`).
    #[arg(long, env = "GUREUM_AGENT_NODE")]
    node: Option<String>,
    /// The message bus (`amqp://user:pass@host:5672/%2f`).
    #[arg(long, env = "GUREUM_AGENT_BUS_URL")]
    bus_url: Option<String>,
    /// The servers' `bus.prefix` (empty unless clouds share a vhost).
    #[arg(long, env = "GUREUM_AGENT_BUS_PREFIX")]
    bus_prefix: Option<String>,
    /// `qemu:///system`, or `test:///default` for libvirt's test driver.
    #[arg(long, env = "GUREUM_AGENT_LIBVIRT_URI")]
    libvirt_uri: Option<String>,
    #[arg(long, env = "GUREUM_AGENT_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// The address guests' VNC consoles listen on.
    #[arg(long, env = "GUREUM_AGENT_HOST_IP")]
    host_ip: Option<String>,
}

fn load(args: &Args) -> Result<AgentConfig, String> {
    let mut cfg = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            AgentConfig::from_toml(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => AgentConfig::default(),
    };
    if let Some(v) = &args.node {
        cfg.node.clone_from(v);
    }
    if let Some(v) = &args.bus_url {
        cfg.bus_url = Some(v.clone());
    }
    if let Some(v) = &args.bus_prefix {
        cfg.bus_prefix.clone_from(v);
    }
    if let Some(v) = &args.libvirt_uri {
        cfg.libvirt_uri.clone_from(v);
    }
    if let Some(v) = &args.state_dir {
        cfg.state_dir.clone_from(v);
    }
    if let Some(v) = &args.host_ip {
        cfg.host_ip.clone_from(v);
    }
    Ok(cfg)
}

/// Resolves on ctrl-c or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing the requests in hand");
}

async fn serve(cfg: AgentConfig) -> Result<(), String> {
    let url = cfg
        .bus_url
        .clone()
        .ok_or("no bus URL: set --bus-url, GUREUM_AGENT_BUS_URL or bus_url")?;
    if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
        return Err(format!(
            "unsupported bus URL {:?}: the agent binary speaks AMQP (the memory bus is in-process only)",
            url.split('@').next_back().unwrap_or("")
        ));
    }
    let options = bus::amqp::AmqpOptions {
        prefix: cfg.bus_prefix.clone(),
        connection_name: format!("gureum-agent {}", cfg.node),
        ..Default::default()
    };
    let bus = bus::amqp::AmqpBus::connect(&url, options)
        .await
        .map_err(|e| e.to_string())?;
    let hv = Hypervisor::open(&cfg.libvirt_uri)
        .await
        .map_err(|e| e.to_string())?;
    let agent = Agent::new(cfg, Arc::new(bus.clone()), hv);
    let r = agent
        .run(shutdown_signal())
        .await
        .map_err(|e| e.to_string());
    bus.close().await;
    r
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let r = match load(&args) {
        Ok(cfg) => serve(cfg).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
