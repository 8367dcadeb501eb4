//! The dashboard's live instance views: `GET /portal/compute/events` is a
//! stream of Server-Sent Events, one per change to an instance the
//! session may see, carrying the row the instances table shows (`instance`),
//! or the id of one that is gone (`gone`). `?all=true` (admins) follows
//! every project. A receiver that fell behind gets `resync` and fetches
//! its page again; a session that ended gets `ended`.
//!
//! Where the changes come from: the compute service announces every
//! committed change in its process; the server forwards them to the bus
//! (`compute-changes-out`) and hands what other servers broadcast to
//! [`LiveInstances`] (`compute-changes-in`), so a browser on one server sees
//! what a conductor on another applied.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cloud::compute::{ComputeError, InstanceChanged};
use cloud::policy::{allows, compute as rules, Target};
use cloud::RequestContext;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tower_sessions::Session;

use crate::supervisor::{Worker, WorkerError};
use crate::AppState;

/// The changes this server's browsers hear of: its own and every other
/// server's. Cheap to clone.
#[derive(Clone)]
pub struct LiveInstances(broadcast::Sender<InstanceChanged>);

impl Default for LiveInstances {
    fn default() -> Self {
        LiveInstances(broadcast::channel(4096).0)
    }
}

impl LiveInstances {
    fn send(&self, c: InstanceChanged) {
        // No browser listening is not an error.
        let _ = self.0.send(c);
    }
}

/// How often a stream checks that its session still holds a valid token.
const REVALIDATE: Duration = Duration::from_secs(30);

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal/compute/events", get(events))
}

#[derive(Debug, Deserialize)]
struct Params {
    #[serde(default)]
    all: bool,
}

async fn events(
    State(state): State<AppState>,
    session: Session,
    Query(p): Query<Params>,
) -> Response {
    let idle = state.config.session.idle_timeout_secs;
    let Some((token, info)) = app::server::current_token(&state.identity, &session, idle).await
    else {
        let e = app::error::AppError::SessionEnded;
        return (StatusCode::UNAUTHORIZED, Json(e)).into_response();
    };
    let ctx = info.context();
    let all = p.all && allows(&ctx, &rules::SERVERS_INDEX_ALL, &Target::none());
    let feed = Feed {
        state: state.clone(),
        ctx,
        token,
        all,
        rx: state.live.0.subscribe(),
        ended: false,
    };
    Sse::new(feed.into_stream())
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// One browser's stream.
struct Feed {
    state: AppState,
    ctx: RequestContext,
    token: String,
    all: bool,
    rx: broadcast::Receiver<InstanceChanged>,
    ended: bool,
}

impl Feed {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        stream::unfold(self, |mut f| async move {
            if f.ended {
                return None;
            }
            let event = f.next_event().await;
            Some((Ok(event), f))
        })
    }

    /// Waits for the next change this session may see, and renders it.
    async fn next_event(&mut self) -> Event {
        loop {
            let change = tokio::select! {
                r = self.rx.recv() => r,
                _ = tokio::time::sleep(REVALIDATE) => {
                    if self.state.identity.validate_token(&self.token).await.is_err() {
                        self.ended = true;
                        return Event::default().event("ended").data("session");
                    }
                    continue;
                }
            };
            match change {
                Ok(c) => {
                    if !self.all && self.ctx.project_id() != Some(c.project_id.as_str()) {
                        continue;
                    }
                    if let Some(e) = self.render(&c.instance_id).await {
                        return e;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    return Event::default().event("resync").data("lagged")
                }
                Err(RecvError::Closed) => {
                    self.ended = true;
                    return Event::default().event("ended").data("server");
                }
            }
        }
    }

    /// The row as the caller may see it now, or `gone`; `None` to skip
    /// (a read failed: logged, and the next change shows it anyway).
    async fn render(&self, id: &str) -> Option<Event> {
        let s = &self.state;
        match s.compute.get_server(&self.ctx, id).await {
            Ok(server) => {
                let servers = [server];
                let names = app::pages::compute::convert::Names::of(
                    &self.ctx,
                    &s.image,
                    &s.identity,
                    &servers,
                    self.all,
                )
                .await;
                let [server] = servers;
                let row = app::pages::compute::convert::row(&self.ctx, &s.compute, server, &names);
                Event::default().event("instance").json_data(row).ok()
            }
            Err(ComputeError::NotFound(_)) => Some(Event::default().event("gone").data(id)),
            Err(e) => {
                tracing::warn!(instance = id, error = %cloud::error::Chain(&e), "live instance view");
                None
            }
        }
    }
}

/// Changes made here: to this server's browsers at once, and in batches
/// to the other servers over the bus.
pub fn changes_out(state: &AppState) -> Worker {
    let (compute, bus, live) = (state.compute.clone(), state.bus.clone(), state.live.clone());
    let me = state.server.id().to_string();
    Worker::new("compute-changes-out", move |cancel| {
        let (compute, bus, live, me) = (compute.clone(), bus.clone(), live.clone(), me.clone());
        async move {
            let mut rx = compute.subscribe_changes();
            loop {
                let first = tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    r = rx.recv() => r,
                };
                let mut batch = Vec::new();
                let take = |batch: &mut Vec<(String, String)>,
                            r: Result<InstanceChanged, RecvError>| {
                    match r {
                        Ok(c) => {
                            live.send(c.clone());
                            batch.push((c.instance_id, c.project_id));
                            true
                        }
                        // Those dropped were not sent anywhere: the other
                        // servers' browsers fetch again when they reconnect.
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "instance changes fell behind");
                            true
                        }
                        Err(RecvError::Closed) => false,
                    }
                };
                if !take(&mut batch, first) {
                    return Ok(());
                }
                // A burst (a boot storm) goes out as one message.
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(c) => {
                            take(&mut batch, Ok(c));
                        }
                        Err(_) => break,
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                let msg = bus::messages::InstanceChanges {
                    from: me.clone(),
                    changed: batch,
                };
                if let Err(e) = bus.broadcast(bus::INSTANCE_TOPIC, bus::encode(&msg)).await {
                    // Live views on other servers miss these until their
                    // next reconnect; nothing else depends on them.
                    tracing::warn!(error = %e, "could not broadcast instance changes");
                }
            }
        }
    })
}

/// Other servers' changes, to this server's browsers.
pub fn changes_in(state: &AppState) -> Worker {
    let (bus, live) = (state.bus.clone(), state.live.clone());
    let me = state.server.id().to_string();
    Worker::new("compute-changes-in", move |cancel| {
        let (bus, live, me) = (bus.clone(), live.clone(), me.clone());
        async move {
            let mut sub = bus
                .subscribe(bus::INSTANCE_TOPIC)
                .await
                .map_err(|e| WorkerError::new("subscribing to instance changes", e))?;
            loop {
                let body = tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    m = sub.next() => match m {
                        Some(b) => b,
                        None => return Err(WorkerError::msg("the instance change subscription ended")),
                    },
                };
                match bus::decode::<bus::messages::InstanceChanges>(&body) {
                    Ok(m) if m.from != me => {
                        for (instance_id, project_id) in m.changed {
                            live.send(InstanceChanged {
                                instance_id,
                                project_id,
                            });
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "unreadable instance changes"),
                }
            }
        }
    })
}
