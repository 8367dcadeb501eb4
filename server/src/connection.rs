//! Keep-alive hygiene: a response sent before its request body was read to
//! the end (a refused upload: 413, 401, 403, 404) first reads what is left of
//! a small body (the client then reads the answer and keeps the connection);
//! when the rest is too big or too slow it closes the connection and says so. Without `Connection: close` a client may already have queued its
//! next request on a connection the server is about to drop, and would see a
//! reset instead of an answer.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};

/// What an early answer may still read of the request body, so that a
/// client that is still sending (a refused request with a body, a 405 on a
/// POST) gets the answer instead of a reset; past this the connection closes.
const DRAIN_LIMIT: u64 = 4 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

pub async fn close_if_body_unread(req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let leftover = Arc::new(Mutex::new(None));
    let (parts, body) = req.into_parts();
    let body = Body::new(Tracked {
        inner: Some(body),
        finished: finished.clone(),
        leftover: leftover.clone(),
    });
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if !finished.load(Ordering::Acquire) {
        let rest = leftover.lock().ok().and_then(|mut l| l.take());
        let drained = match rest {
            Some(body) => drain(body).await,
            None => false,
        };
        if !drained {
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    res
}

/// Reads and discards what is left of a small body; false when it is too
/// big, too slow or broken (the connection must then close).
async fn drain(body: Body) -> bool {
    if body.size_hint().lower() > DRAIN_LIMIT {
        return false;
    }
    let read = async move {
        let mut stream = body.into_data_stream();
        let mut seen: u64 = 0;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => {
                    seen += c.len() as u64;
                    if seen > DRAIN_LIMIT {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, read)
        .await
        .unwrap_or(false)
}

/// A request body that notes when it has been read to the end, and hands
/// what is left back (`leftover`) when the handler drops it unread.
struct Tracked {
    inner: Option<Body>,
    finished: Arc<AtomicBool>,
    leftover: Arc<Mutex<Option<Body>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::Acquire) {
            if let (Some(body), Ok(mut slot)) = (self.inner.take(), self.leftover.lock()) {
                *slot = Some(body);
            }
        }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(|b| b.size_hint())
            .unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn small_leftovers_are_drained_big_ones_close() {
        assert!(drain(Body::from(vec![0u8; 200 * 1024])).await);
        assert!(drain(Body::empty()).await);
        // Too big to read through: the connection must close instead.
        assert!(!drain(Body::from(vec![0u8; DRAIN_LIMIT as usize + 1])).await);
        // A body whose size is unknown is read up to the limit, then given up.
        let endless = futures_util::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 64 * 1024]))
        });
        assert!(!drain(Body::from_stream(endless)).await);
    }
}
