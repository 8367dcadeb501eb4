//! The OpenStack-compatible REST APIs: thin adapters over the services.

pub mod auth;
pub mod error;
pub mod identity;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().nest("/identity", identity::routes())
}
