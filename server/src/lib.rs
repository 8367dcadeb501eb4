//! gureum-server: the portal, the REST APIs and (later) the scheduler and
//! conductor, over the `cloud` services.

pub mod config;
pub mod connection;
pub mod portal;
pub mod portal_images;
pub mod rest;
pub mod security;

use std::sync::Arc;

use axum::Router;
use cloud::identity::IdentityService;
use cloud::image::ImageService;
use cloud::Db;

pub use config::Config;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub identity: IdentityService,
    pub image: ImageService,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] cloud::db::DbError),
    #[error(transparent)]
    Identity(#[from] cloud::identity::IdentityError),
    #[error(transparent)]
    Image(#[from] cloud::image::ImageError),
    #[error("session store: {0}")]
    Sessions(String),
}

impl AppState {
    /// Connects to the database and runs migrations.
    pub async fn new(config: Config) -> Result<AppState, StartError> {
        let db = Db::connect(&config.database_url).await?;
        let identity = IdentityService::new(db.clone(), config.identity.clone())?;
        let image = ImageService::new(db.clone(), config.image.clone())?;
        image.recover_interrupted_uploads().await?;
        // Deleting a project deletes its images; the sweep catches projects deleted while this server was down.
        identity.register_project_lifecycle(Arc::new(image.clone()));
        if let Err(e) = identity.sweep_deleted_projects().await {
            tracing::error!(error = ?e, "sweep of deleted projects' resources failed");
        }
        Ok(AppState {
            config: Arc::new(config),
            db,
            identity,
            image,
        })
    }
}

/// The whole HTTP application: REST APIs, the portal, security layers.
pub async fn app(state: AppState) -> Result<Router, StartError> {
    let api = rest::routes().with_state(state.clone());
    let portal = portal::router(state.clone()).await?;
    let limited = Router::new().merge(api).merge(portal.pages).layer(
        tower_http::limit::RequestBodyLimitLayer::new(state.config.body_limit_bytes),
    );
    // Image data streams past the body limit: the image service enforces
    // its own size limits as the bytes arrive.
    let streaming = Router::new()
        .merge(rest::streaming_routes().with_state(state.clone()))
        .merge(portal.streaming);
    Ok(limited
        .merge(streaming)
        .layer(axum::middleware::from_fn(security::api_fault_bodies))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(connection::close_if_body_unread)))
}
