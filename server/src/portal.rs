//! The dashboard: Leptos SSR + hydration, its server functions, the static
//! front-end files, and the database-backed sessions the portal runs on.

use std::sync::Arc;

use async_trait::async_trait;
use axum::routing::post;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::services::ServeDir;
use tower_sessions::cookie::time::Duration;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::{session_store, ExpiredDeletion, Expiry, SessionManagerLayer, SessionStore};
use tower_sessions_sqlx_store::{MySqlStore, SqliteStore};

use crate::supervisor::{Worker, WorkerError};
use crate::{AppState, StartError};

/// The session store on whichever database the server runs on, so sessions
/// survive restarts and are shared by every server on the same database.
#[derive(Debug, Clone)]
pub enum DbSessionStore {
    Sqlite(SqliteStore),
    MySql(MySqlStore),
}

impl DbSessionStore {
    pub async fn connect(url: &str) -> Result<DbSessionStore, StartError> {
        let err = |e: sqlx::Error| StartError::Sessions(e.to_string());
        if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .connect(&url)
                .await
                .map_err(err)?;
            let store = SqliteStore::new(pool);
            store.migrate().await.map_err(err)?;
            Ok(DbSessionStore::Sqlite(store))
        } else {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(8)
                .connect(&url)
                .await
                .map_err(err)?;
            // The store's default schema is its own database; keep the table
            // in ours so each deployment (and each test database) is self-contained.
            let schema: String = sqlx::query_scalar("SELECT DATABASE()")
                .fetch_one(&pool)
                .await
                .map_err(err)?;
            let store = MySqlStore::new(pool)
                .with_schema_name(schema)
                .map_err(StartError::Sessions)?;
            store.migrate().await.map_err(err)?;
            Ok(DbSessionStore::MySql(store))
        }
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.create(record).await,
            DbSessionStore::MySql(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.save(record).await,
            DbSessionStore::MySql(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DbSessionStore::Sqlite(s) => s.load(id).await,
            DbSessionStore::MySql(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.delete(id).await,
            DbSessionStore::MySql(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.delete_expired().await,
            DbSessionStore::MySql(s) => s.delete_expired().await,
        }
    }
}

pub fn leptos_options(state: &AppState) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("gureum")
        .site_root(state.config.site_root.as_str())
        .site_pkg_dir("pkg")
        .build()
}

/// The portal's routers: `pages` (pages, server functions, static files)
/// sits behind the server's body limit; `streaming` (image data up and
/// down, `/portal/images/{id}/file`) does not. Both run on the same sessions
/// and CSRF check.
pub struct PortalRouters {
    pub pages: Router,
    pub streaming: Router,
    /// Deletes expired sessions: they are never loaded again, and this
    /// keeps their rows from piling up.
    pub session_purge: Worker,
}

pub async fn router(state: AppState) -> Result<PortalRouters, StartError> {
    let options = leptos_options(&state);
    let store = DbSessionStore::connect(&state.config.database_url).await?;
    let session_purge = {
        let store = store.clone();
        Worker::periodic(
            "portal-session-purge",
            std::time::Duration::from_secs(3600),
            move || {
                let store = store.clone();
                async move {
                    store
                        .delete_expired()
                        .await
                        .map_err(|e| WorkerError::new("deleting expired sessions", e))
                }
            },
        )
    };
    let sessions = SessionManagerLayer::new(store)
        .with_name("gureum_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(state.config.public_url.starts_with("https://"))
        .with_expiry(Expiry::OnInactivity(Duration::seconds(
            state.config.session.idle_timeout_secs,
        )));

    let portal_cfg = Arc::new(app::PortalSettings {
        idle_timeout_secs: state.config.session.idle_timeout_secs,
    });
    let context = {
        let state = state.clone();
        move || {
            for service in crate::services::SERVICES {
                service.provide_portal_context(&state);
            }
            provide_context(portal_cfg.clone());
        }
    };
    let server_fns = {
        let context = context.clone();
        move |req| leptos_axum::handle_server_fns_with_context(context.clone(), req)
    };
    let routes = generate_route_list(app::App);
    let pkg = ServeDir::new(format!("{}/pkg", state.config.site_root));
    let router = Router::new()
        .route("/api/{*fn_name}", post(server_fns))
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .nest_service("/pkg", pkg)
        .with_state(options)
        .layer(axum::middleware::from_fn_with_state(
            GuardState {
                identity: state.identity.clone(),
                idle_timeout_secs: state.config.session.idle_timeout_secs,
            },
            guard,
        ))
        .layer(axum::middleware::from_fn(crate::security::csrf))
        .layer(sessions.clone());
    let streaming = crate::services::SERVICES
        .iter()
        .fold(Router::new(), |r, s| r.merge(s.portal_streaming_routes()))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(crate::security::csrf))
        .layer(sessions);
    Ok(PortalRouters {
        pages: router,
        streaming,
        session_purge,
    })
}

#[derive(Clone)]
struct GuardState {
    identity: cloud::identity::IdentityService,
    idle_timeout_secs: i64,
}

/// Page loads: the session's language goes into the request for the
/// renderer, a page other than the login page needs a valid token (else to
/// the login page) and gets the signed-in user with it, and a signed-in user
/// asking for the login page goes to their project.
async fn guard(
    axum::extract::State(g): axum::extract::State<GuardState>,
    session: tower_sessions::Session,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let path = req.uri().path().to_string();
    if req.method() != axum::http::Method::GET
        || path.starts_with("/api/")
        || path.starts_with("/pkg/")
    {
        return next.run(req).await;
    }
    let lang = app::server::ui_lang(&session, req.headers()).await;
    req.extensions_mut()
        .insert(app::UiLang(lang.code().to_string()));
    let token = app::server::current_token(&g.identity, &session, g.idle_timeout_secs).await;
    if path == "/login" {
        if token.is_some() {
            return Redirect::to("/project").into_response();
        }
    } else {
        let Some((_, info)) = token else {
            return Redirect::to("/login").into_response();
        };
        // Who is signed in, worked out once for the whole page (header,
        // navigation, what the panels offer).
        match app::auth::me_for(&g.identity, &info).await {
            Ok(me) => {
                req.extensions_mut().insert(app::PageMe(me));
            }
            Err(e) => {
                tracing::error!("page guard: the signed-in user's projects: {e}");
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "The identity service failed. Please try again.",
                )
                    .into_response();
            }
        }
    }
    next.run(req).await
}
