//! The service registry: every OpenStack service this server speaks is one
//! [`Service`] implementation listed once in [`crate::SERVICES`]. The router, the
//! catalog, the fault-body rewrite, the portal's server-function context,
//! the background workers and the shutdown hand-back all read this list, so
//! a new service plugs in here instead of in a dozen places.

use std::time::Duration;

use async_trait::async_trait;
use axum::routing::get;
use axum::Router;
use cloud::identity::{CatalogSpec, IDENTITY_CATALOG};
use leptos::prelude::provide_context;

use crate::rest::table::RouteTable;
use crate::supervisor::{Worker, WorkerError};
use crate::{rest, AppState};

/// One service of the cloud, as the server mounts and runs it.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// Short name for logs (`identity`).
    fn name(&self) -> &'static str;

    /// Its catalog entry; its REST API is mounted at `catalog().path`.
    fn catalog(&self) -> CatalogSpec;

    /// Requests under this prefix are REST calls: errors get OpenStack
    /// fault bodies (see `security::api_fault_bodies`).
    fn api_prefix(&self) -> &'static str {
        self.catalog().path
    }

    /// Its REST routes, with full paths (under `api_prefix`), behind the
    /// server's request body limit.
    /// A [`RouteTable`] remembers its paths: the fuzz suite walks them all.
    fn routes(&self) -> RouteTable;

    /// Routes whose bodies are bulk data (image uploads): outside the body
    /// limit; the service enforces its own limits as bytes arrive.
    fn streaming_routes(&self) -> RouteTable {
        RouteTable::new()
    }

    /// The portal's streaming routes (session cookie, CSRF check, no body
    /// limit), e.g. `/portal/images/{id}/file`.
    fn portal_streaming_routes(&self) -> Router<AppState> {
        Router::new()
    }

    /// Called for every portal request before server functions run:
    /// `provide_context` what they take from the reactive context.
    fn provide_portal_context(&self, _state: &AppState) {}

    /// Its background jobs, run under the supervisor.
    fn workers(&self, _state: &AppState) -> Vec<Worker> {
        Vec::new()
    }

    /// At shutdown, after the grace period: give back the work this server
    /// still runs (reset it so another server can take it over). Returns
    /// how many items were handed back.
    async fn hand_back(&self, _state: &AppState) -> Result<u64, WorkerError> {
        Ok(0)
    }
}

pub use crate::SERVICES;

/// The catalog entries of every registered service.
pub fn catalog() -> Vec<CatalogSpec> {
    SERVICES.iter().map(|s| s.catalog()).collect()
}

/// True when `path` is under a registered service's REST prefix.
pub fn is_api_path(path: &str) -> bool {
    SERVICES.iter().any(|s| {
        path.strip_prefix(s.api_prefix())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The service type a request path belongs to, and the path under that
/// service's endpoint (`/image/v2/images` → `("image", "/v2/images")`), as
/// application-credential access rules name them.
pub fn service_of_path(path: &str) -> Option<(&'static str, &str)> {
    SERVICES.iter().find_map(|s| {
        let rest = path.strip_prefix(s.api_prefix())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| (s.catalog().service_type, rest))
    })
}

// ---------------------------------------------------------------- identity

pub struct Identity;

#[async_trait]
impl Service for Identity {
    fn name(&self) -> &'static str {
        "identity"
    }

    fn catalog(&self) -> CatalogSpec {
        IDENTITY_CATALOG
    }

    fn routes(&self) -> RouteTable {
        RouteTable::new()
            .nest("/identity", rest::identity::table())
            // `nest` matches `/identity` only; discovery also asks with the slash.
            .route(
                "/identity/",
                get(rest::identity::versions).fallback(rest::error::method_not_allowed),
            )
    }

    fn provide_portal_context(&self, state: &AppState) {
        provide_context(state.identity.clone());
    }

    fn workers(&self, state: &AppState) -> Vec<Worker> {
        let identity = state.identity.clone();
        vec![
            revocations_out(state),
            revocations_in(state),
            Worker::periodic(
                "identity-token-purge",
                Duration::from_secs(3600),
                move || {
                    let identity = identity.clone();
                    async move {
                        identity
                            .purge_expired_tokens()
                            .await
                            .map(drop)
                            .map_err(|e| WorkerError::new("purging expired tokens", e))
                    }
                },
            ),
            {
                // What a deleted project still owns, should a hook have missed it
                // (a server stopped between the delete and its hooks).
                let identity = state.identity.clone();
                Worker::periodic(
                    "deleted-project-sweep",
                    Duration::from_secs(3600),
                    move || {
                        let identity = identity.clone();
                        async move {
                            identity
                                .sweep_deleted_projects()
                                .await
                                .map(drop)
                                .map_err(|e| {
                                    WorkerError::new("sweeping deleted projects' resources", e)
                                })
                        }
                    },
                )
            },
        ]
    }
}

/// Tells the other servers, over the bus's broadcast topic, of every
/// identity change made here that invalidates cached validations (a
/// revoked token, a removed role, a disabled user), with this server's id.
fn revocations_out(state: &AppState) -> Worker {
    let identity = state.identity.clone();
    let bus = state.bus.clone();
    let me = state.server.id().to_string();
    Worker::new("identity-revocations-out", move |cancel| {
        let (identity, bus, me) = (identity.clone(), bus.clone(), me.clone());
        async move {
            let mut changes = identity.subscribe_changes();
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    r = changes.recv() => {
                        if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                            return Ok(());
                        }
                    }
                }
                bus.broadcast(bus::REVOCATION_TOPIC, me.clone().into_bytes())
                    .await
                    .map_err(|e| WorkerError::new("broadcasting an identity change", e))?;
            }
        }
    })
}

/// Drops this server's cached validations when another server broadcasts
/// a change (its own broadcasts come back too and are skipped).
fn revocations_in(state: &AppState) -> Worker {
    let identity = state.identity.clone();
    let bus = state.bus.clone();
    let me = state.server.id().to_string();
    Worker::new("identity-revocations-in", move |cancel| {
        let (identity, bus, me) = (identity.clone(), bus.clone(), me.clone());
        async move {
            let mut sub = bus
                .subscribe(bus::REVOCATION_TOPIC)
                .await
                .map_err(|e| WorkerError::new("subscribing to identity changes", e))?;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    m = sub.next() => match m {
                        Some(from) if from != me.as_bytes() => identity.forget_cached_tokens(),
                        Some(_) => {}
                        None => return Err(WorkerError::msg("the identity change subscription ended")),
                    },
                }
            }
        }
    })
}

// ---------------------------------------------------------------- image

pub struct Image;

pub const IMAGE_CATALOG: CatalogSpec = CatalogSpec {
    service_type: "image",
    name: "glance",
    description: "Image service (Gureum)",
    path: "/image",
};

#[async_trait]
impl Service for Image {
    fn name(&self) -> &'static str {
        "image"
    }

    fn catalog(&self) -> CatalogSpec {
        IMAGE_CATALOG
    }

    fn routes(&self) -> RouteTable {
        RouteTable::new()
            .nest("/image", rest::image::table())
            .route(
                "/image/",
                get(rest::image::versions).fallback(rest::error::method_not_allowed),
            )
    }

    fn streaming_routes(&self) -> RouteTable {
        rest::image::streaming_table()
    }

    fn portal_streaming_routes(&self) -> Router<AppState> {
        crate::portal_images::routes()
    }

    fn provide_portal_context(&self, state: &AppState) {
        provide_context(state.image.clone());
    }

    fn workers(&self, state: &AppState) -> Vec<Worker> {
        let image = state.image.clone();
        // Another server's uploads are recovered within two leases of its
        // death: the lease itself, then at most one period.
        vec![
            Worker::periodic(
                "image-upload-recovery",
                state.config.server.lease(),
                move || {
                    let image = image.clone();
                    async move {
                        image
                            .recover_interrupted_uploads()
                            .await
                            .map(drop)
                            .map_err(|e| WorkerError::new("recovering dead servers' uploads", e))
                    }
                },
            ),
            {
                // Expired reservations no longer count; this only tidies the table.
                let image = state.image.clone();
                Worker::periodic(
                    "quota-reservation-purge",
                    Duration::from_secs(3600),
                    move || {
                        let image = image.clone();
                        async move {
                            image.quota().purge_expired().await.map(drop).map_err(|e| {
                                WorkerError::new("purging expired quota reservations", e)
                            })
                        }
                    },
                )
            },
        ]
    }

    async fn hand_back(&self, state: &AppState) -> Result<u64, WorkerError> {
        state
            .image
            .hand_back_uploads()
            .await
            .map_err(|e| WorkerError::new("handing back uploads", e))
    }
}

// ---------------------------------------------------------------- compute

pub struct Compute;

pub const COMPUTE_CATALOG: CatalogSpec = CatalogSpec {
    service_type: "compute",
    name: "nova",
    description: "Compute service (Gureum)",
    // Nova's catalog URL names the version (devstack's `/compute/v2.1`):
    // Tempest and other clients that skip version discovery append paths
    // to it directly.
    path: "/compute/v2.1",
};

#[async_trait]
impl Service for Compute {
    fn name(&self) -> &'static str {
        "compute"
    }

    fn catalog(&self) -> CatalogSpec {
        COMPUTE_CATALOG
    }

    fn api_prefix(&self) -> &'static str {
        "/compute"
    }

    fn routes(&self) -> RouteTable {
        RouteTable::new()
            .nest("/compute", rest::compute::table())
            .route(
                "/compute/",
                get(rest::compute::versions).fallback(rest::error::method_not_allowed),
            )
    }

    fn portal_streaming_routes(&self) -> Router<AppState> {
        crate::portal_compute::routes()
    }

    fn provide_portal_context(&self, state: &AppState) {
        provide_context(state.compute.clone());
    }

    fn workers(&self, state: &AppState) -> Vec<Worker> {
        let mut workers = vec![
            crate::portal_compute::changes_out(state),
            crate::portal_compute::changes_in(state),
        ];
        // Agents' heartbeats and results: every server consumes the one
        // conductor queue (each event goes to one of them).
        let compute = state.compute.clone();
        workers.push(Worker::new("compute-conductor", move |cancel| {
            let compute = compute.clone();
            async move {
                tokio::select! {
                    _ = cancel.cancelled() => Ok(()),
                    r = compute.run_conductor() => r.map_err(|e| WorkerError::new("consuming agents' events", e)),
                }
            }
        }));
        // Requests no agent answered: rescheduled, or ended with a fault.
        let compute = state.compute.clone();
        workers.push(Worker::periodic(
            "compute-timeouts",
            Duration::from_secs(5),
            move || {
                let compute = compute.clone();
                async move {
                    compute
                        .sweep()
                        .await
                        .map(drop)
                        .map_err(|e| WorkerError::new("timing out unanswered requests", e))
                }
            },
        ));
        if state.config.bus.embedded_agent {
            workers.push(crate::embedded::agent_worker(state));
        }
        workers
    }
}

// ---------------------------------------------------------------- network

pub struct Network;

pub const NETWORK_CATALOG: CatalogSpec = CatalogSpec {
    service_type: "network",
    name: "neutron",
    description: "Network service (Gureum)",
    path: "/network",
};

#[async_trait]
impl Service for Network {
    fn name(&self) -> &'static str {
        "network"
    }

    fn catalog(&self) -> CatalogSpec {
        NETWORK_CATALOG
    }

    fn routes(&self) -> RouteTable {
        RouteTable::new()
            .nest("/network", rest::network::table())
            .route(
                "/network/",
                get(rest::network::versions).fallback(rest::error::method_not_allowed),
            )
    }

    fn provide_portal_context(&self, state: &AppState) {
        provide_context(state.network.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_the_registered_prefixes_only() {
        assert!(is_api_path("/identity"));
        assert!(is_api_path("/identity/v3/users"));
        assert!(is_api_path("/image/v2/images"));
        assert!(!is_api_path("/images"));
        assert!(!is_api_path("/portal/images/x/file"));
        assert!(!is_api_path("/login"));
    }

    #[test]
    fn the_catalog_lists_every_service_once() {
        let types: Vec<_> = catalog().iter().map(|c| c.service_type).collect();
        assert_eq!(types, ["identity", "image", "compute", "network"]);
    }
}
