//! Embedded mode: the compute agent inside the server process, on the
//! server's own bus (the in-process one by default), so `make run` is a
//! whole cloud in one process.

use crate::supervisor::{Worker, WorkerError};
use crate::AppState;

/// The in-process agent as a supervised worker.
pub fn agent_worker(state: &AppState) -> Worker {
    let bus = state.bus.clone();
    let cfg = state.config.agent.clone();
    Worker::new("compute-agent", move |cancel| {
        let bus = bus.clone();
        let cfg = cfg.clone();
        async move {
            let hypervisor = agent::Hypervisor::open(&cfg.libvirt_uri)
                .await
                .map_err(|e| WorkerError::new("opening libvirt for the embedded agent", e))?;
            if cfg.libvirt_uri.starts_with("test:") {
                tracing::info!(node = %cfg.node, "embedded compute agent on libvirt's test driver: instances are simulated, no guest runs");
            }
            agent::Agent::new(cfg, bus, hypervisor)
                .run(cancel.cancelled_owned())
                .await
                .map_err(|e| WorkerError::new("running the embedded agent", e))
        }
    })
}
