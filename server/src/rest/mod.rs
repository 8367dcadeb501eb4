//! The OpenStack-compatible REST APIs: thin adapters over the services.

pub mod auth;
pub mod error;
pub mod identity;
pub mod image;

use axum::Router;

use crate::services::SERVICES;
use crate::AppState;

/// Every registered service's REST routes.
pub fn routes() -> Router<AppState> {
    SERVICES
        .iter()
        .fold(Router::new(), |r, s| r.merge(s.routes()))
}

/// Routes whose request bodies are bulk data (image uploads): mounted
/// outside the server's body limit.
pub fn streaming_routes() -> Router<AppState> {
    SERVICES
        .iter()
        .fold(Router::new(), |r, s| r.merge(s.streaming_routes()))
}
