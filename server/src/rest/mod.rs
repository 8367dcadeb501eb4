//! The OpenStack-compatible REST APIs: thin adapters over the services.

pub mod auth;
pub mod error;
pub mod identity;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .nest("/identity", identity::routes())
        // `nest` matches `/identity` only; discovery also asks with the slash.
        .route("/identity/", axum::routing::get(identity::versions))
}
