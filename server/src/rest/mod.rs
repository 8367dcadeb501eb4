//! The OpenStack-compatible REST APIs: thin adapters over the services.

pub mod auth;
pub mod compute;
pub mod error;
pub mod identity;
pub mod image;
pub mod network;
pub mod table;

#[cfg(test)]
pub(crate) mod arbitrary;

use axum::Router;

use crate::services::SERVICES;
use crate::AppState;

/// Every registered service's REST routes.
pub fn routes() -> Router<AppState> {
    SERVICES
        .iter()
        .fold(Router::new(), |r, s| r.merge(s.routes().into_router()))
}

/// Routes whose request bodies are bulk data (image uploads): mounted
/// outside the server's body limit.
pub fn streaming_routes() -> Router<AppState> {
    SERVICES.iter().fold(Router::new(), |r, s| {
        r.merge(s.streaming_routes().into_router())
    })
}

/// Every REST path template of every registered service (the fuzz suite
/// walks them, so a new service's routes are fuzzed without editing it).
pub fn route_paths() -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|s| {
            let mut paths = s.routes().paths().to_vec();
            paths.extend_from_slice(s.streaming_routes().paths());
            paths
        })
        .collect()
}
