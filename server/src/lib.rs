//! gureum-server: the portal, the REST APIs and (later) the scheduler and
//! conductor, over the `cloud` services.

pub mod config;
pub mod connection;
pub mod embedded;
pub mod listener;
pub mod observe;
pub mod portal;
pub mod portal_compute;
pub mod portal_images;
pub mod rest;
pub mod security;
pub mod seed;
pub mod services;
pub mod supervisor;

use std::sync::Arc;

use axum::Router;
use cloud::compute::ComputeService;
use cloud::identity::IdentityService;
use cloud::image::ImageService;
use cloud::network::NetworkService;
use cloud::servers::ServerRegistry;
use cloud::Db;

pub use config::Config;
use supervisor::Worker;

/// Every service this server runs, in catalog order (see
/// [`services::Service`]): a new service is listed here, once.
pub static SERVICES: &[&dyn services::Service] = &[
    &services::Identity,
    &services::Image,
    &services::Compute,
    &services::Network,
];

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    /// This process's row in `servers`: its id and lease.
    pub server: ServerRegistry,
    pub metrics: Arc<observe::Metrics>,
    pub identity: IdentityService,
    pub image: ImageService,
    pub compute: ComputeService,
    pub network: NetworkService,
    /// The message bus to the agents (and between servers).
    pub bus: Arc<dyn bus::Bus>,
    /// Rendered token validations (`GET /v3/auth/tokens`).
    pub token_bodies: Arc<rest::identity::TokenBodies>,
    /// Instance changes for the dashboard's live views (this server's and
    /// the others').
    pub live: portal_compute::LiveInstances,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] cloud::db::DbError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Servers(#[from] cloud::servers::ServersError),
    #[error(transparent)]
    Identity(#[from] cloud::identity::IdentityError),
    #[error(transparent)]
    Image(#[from] cloud::image::ImageError),
    #[error(transparent)]
    Bus(#[from] bus::BusError),
    #[error("session store: {0}")]
    Sessions(String),
}

impl AppState {
    /// Connects to the database, runs migrations, registers this server,
    /// recovers dead servers' uploads and brings the catalog up to date.
    pub async fn new(config: Config) -> Result<AppState, StartError> {
        config.server.validate()?;
        let db = Db::connect(&config.database_url).await?;
        let server = ServerRegistry::register(db.clone(), config.server.lease()).await?;
        let identity = IdentityService::new(db.clone(), config.identity.clone())?;
        let image = ImageService::new(db.clone(), config.image.clone())?
            .owned_by(server.id(), config.server.lease());
        image.recover_interrupted_uploads().await?;
        let bus = connect_bus(&config.bus).await?;
        let compute = ComputeService::new(
            db.clone(),
            config.compute.clone(),
            image.clone(),
            bus.clone(),
        );
        let network = NetworkService::new(db.clone(), config.network.clone());
        identity.ensure_catalog(&services::catalog()).await?;
        // Deleting a project deletes its images and network resources; the
        // sweep catches projects deleted while this server was down.
        identity.register_project_lifecycle(Arc::new(image.clone()));
        identity.register_project_lifecycle(Arc::new(network.clone()));
        if let Err(e) = identity.sweep_deleted_projects().await {
            tracing::error!(error = ?e, "sweep of deleted projects' resources failed");
        }
        Ok(AppState {
            config: Arc::new(config),
            db,
            server,
            metrics: Arc::new(observe::Metrics::new()),
            identity,
            image,
            compute,
            network,
            bus,
            token_bodies: Arc::default(),
            live: portal_compute::LiveInstances::default(),
        })
    }
}

/// The bus the config names: in-process, or RabbitMQ.
pub async fn connect_bus(cfg: &config::BusConfig) -> Result<Arc<dyn bus::Bus>, bus::BusError> {
    if cfg.url == "memory" {
        tracing::info!("message bus: in-process");
        return Ok(Arc::new(bus::memory::MemoryBus::new()));
    }
    let options = bus::amqp::AmqpOptions {
        prefix: cfg.prefix.clone(),
        connection_name: "gureum-server".into(),
        ..Default::default()
    };
    let amqp = bus::amqp::AmqpBus::connect(&cfg.url, options).await?;
    tracing::info!("message bus: RabbitMQ");
    Ok(Arc::new(amqp))
}

/// The HTTP application and the background workers it needs.
pub struct Server {
    pub router: Router,
    pub workers: Vec<Worker>,
}

/// The whole HTTP application: REST APIs, the portal, security layers.
pub async fn app(state: AppState) -> Result<Router, StartError> {
    Ok(build(state).await?.router)
}

/// The application and its workers: this server's heartbeat, the portal's
/// session purge and every registered service's own.
pub async fn build(state: AppState) -> Result<Server, StartError> {
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
    let router = limited
        .merge(streaming)
        .merge(observe::routes(state.clone()))
        .layer(axum::middleware::from_fn(security::api_fault_bodies))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(security::require_host))
        .layer(axum::Extension(security::PublicOrigin::from_url(
            &state.config.public_url,
        )))
        .layer(axum::middleware::from_fn(connection::close_if_body_unread))
        .layer(listener::body_idle_timeout(&state.config.http))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            observe::track,
        ))
        .layer(axum::middleware::from_fn(observe::request_id));
    let mut workers = vec![heartbeat_worker(&state), portal.session_purge];
    for service in services::SERVICES {
        workers.extend(service.workers(&state));
    }
    Ok(Server { router, workers })
}

/// Beats every `server.heartbeat_secs`. A failed beat is logged and the
/// next one tried on time, not after the supervisor's backoff: a pause
/// longer than the lease would let the other servers take this one for
/// dead once the database is back.
fn heartbeat_worker(state: &AppState) -> Worker {
    let server = state.server.clone();
    Worker::periodic(
        "server-heartbeat",
        state.config.server.heartbeat(),
        move || {
            let server = server.clone();
            async move {
                if let Err(e) = server.heartbeat().await {
                    tracing::warn!(error = %supervisor::error_chain(&e), "heartbeat failed");
                    return Ok(());
                }
                if let Err(e) = server.reap_dead().await {
                    tracing::warn!(error = %supervisor::error_chain(&e), "reaping dead servers failed");
                }
                Ok(())
            }
        },
    )
}

/// The last step of a shutdown: every service hands back the work this
/// server still runs, then its `servers` row goes. Returns how many items
/// were handed back.
pub async fn hand_back(state: &AppState) -> u64 {
    let mut handed_back = 0;
    for service in services::SERVICES {
        match service.hand_back(state).await {
            Ok(n) => handed_back += n,
            Err(e) => tracing::error!(
                service = service.name(),
                error = %supervisor::error_chain(&e),
                "could not hand back work in progress; the other servers recover it when this server's lease expires"
            ),
        }
    }
    if let Err(e) = state.server.deregister().await {
        tracing::error!(error = %supervisor::error_chain(&e), "could not remove this server's row");
    }
    handed_back
}
