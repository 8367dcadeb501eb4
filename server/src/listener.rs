//! The HTTP listener: hyper's HTTP/1 server with the limits a public server
//! needs and `axum::serve` does not set — a client must send its whole header
//! block within `header_read_timeout_secs` (hyper needs a timer for that,
//! which axum does not give it), and an idle keep-alive connection is closed
//! after the same time. Request bodies get their idle timeout from
//! [`body_idle_timeout`], a layer on the router.
//!
//! On shutdown it stops accepting, lets the connections in flight finish
//! their requests for up to `grace` (`[server] shutdown_grace_secs`), then
//! returns.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::config::HttpConfig;

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    cfg: &HttpConfig,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.header_read_timeout_secs.max(1)))
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection closed: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after the {}s shutdown grace period; closing them",
            grace.as_secs()
        );
    }
}

/// A request body that sends nothing for `body_idle_timeout_secs` fails its
/// read (the handler answers 400 and an upload is cleaned up as if the
/// client had hung up), so a stalled client cannot hold a request open.
pub fn body_idle_timeout(cfg: &HttpConfig) -> tower_http::timeout::RequestBodyTimeoutLayer {
    tower_http::timeout::RequestBodyTimeoutLayer::new(Duration::from_secs(
        cfg.body_idle_timeout_secs.max(1),
    ))
}
