//! The OpenStack-compatible REST APIs: thin adapters over the services.

pub mod auth;
pub mod error;
pub mod identity;
pub mod image;
pub mod table;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .nest("/identity", identity::routes())
        // `nest` matches `/identity` only; discovery also asks with the slash.
        .route("/identity/", axum::routing::get(identity::versions))
        .nest("/image", image::routes())
        .route("/image/", axum::routing::get(image::versions))
}

/// Routes whose request bodies are image data: mounted outside the
/// server's body limit.
pub fn streaming_routes() -> Router<AppState> {
    Router::new().merge(image::streaming_routes())
}

/// Every REST path template this server answers (the fuzz suite walks them).
pub fn route_paths() -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    paths.extend(
        table::RouteTable::new()
            .nest("/identity", identity::table())
            .paths()
            .iter()
            .cloned(),
    );
    paths.extend(
        table::RouteTable::new()
            .nest("/image", image::table())
            .paths()
            .iter()
            .cloned(),
    );
    paths.extend(image::streaming_table().paths().iter().cloned());
    paths
}
