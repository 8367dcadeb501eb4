//! Background workers (token and session purges, the heartbeat, upload
//! recovery, later the bus consumers) run as named workers under one
//! supervisor: a worker that fails or panics is logged and restarted after
//! a growing pause; at shutdown every worker is cancelled through its
//! `CancellationToken` and joined, and one that does not stop in time is
//! aborted.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a worker's run ended in error; the supervisor logs it with its cause.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct WorkerError {
    what: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl WorkerError {
    /// `what` failed because of `source`.
    pub fn new(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> WorkerError {
        WorkerError {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn msg(what: impl Into<String>) -> WorkerError {
        WorkerError {
            what: what.into(),
            source: None,
        }
    }
}

type RunFn = dyn Fn(CancellationToken) -> BoxFuture<'static, Result<(), WorkerError>> + Send + Sync;

/// A named background job. Its run returns when its token is cancelled;
/// returning earlier (or failing, or panicking) gets it restarted.
#[derive(Clone)]
pub struct Worker {
    pub name: &'static str,
    run: Arc<RunFn>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

impl Worker {
    pub fn new<F, Fut>(name: &'static str, run: F) -> Worker
    where
        F: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), WorkerError>> + Send + 'static,
    {
        Worker {
            name,
            run: Arc::new(move |cancel| Box::pin(run(cancel))),
        }
    }

    /// Runs `tick` every `every` (the first after `every`) until cancelled.
    /// A failed tick ends the run, so the supervisor logs it and restarts
    /// the worker after its backoff.
    pub fn periodic<F, Fut>(name: &'static str, every: Duration, tick: F) -> Worker
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), WorkerError>> + Send + 'static,
    {
        let tick = Arc::new(tick);
        Worker::new(name, move |cancel: CancellationToken| {
            let tick = tick.clone();
            async move {
                let mut timer = tokio::time::interval(every);
                timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                // `interval` fires at once; the first tick waits a period.
                timer.tick().await;
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(()),
                        _ = timer.tick() => tick().await?,
                    }
                }
            }
        })
    }
}

/// Pause before restarting a worker: doubles from `initial` to `max`, and
/// starts over after a run that lasted longer than `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// Aborts the task when dropped, so aborting a supervising loop also
/// stops the worker run it was waiting on.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What [`Supervisor::shutdown`] saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Workers that stopped when cancelled.
    pub stopped: Vec<&'static str>,
    /// Workers still running at the deadline, aborted.
    pub aborted: Vec<&'static str>,
}

pub struct Supervisor {
    cancel: CancellationToken,
    backoff: Backoff,
    workers: Vec<(&'static str, JoinHandle<()>)>,
}

impl Supervisor {
    /// Workers stop when `cancel` is cancelled (by [`Supervisor::shutdown`]
    /// or by whoever else holds it).
    pub fn new(cancel: CancellationToken) -> Supervisor {
        Supervisor {
            cancel,
            backoff: Backoff::default(),
            workers: Vec::new(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Supervisor {
        self.backoff = backoff;
        self
    }

    pub fn worker_names(&self) -> Vec<&'static str> {
        self.workers.iter().map(|(n, _)| *n).collect()
    }

    /// Starts `worker` and keeps it running until cancellation.
    pub fn spawn(&mut self, worker: Worker) {
        let name = worker.name;
        let cancel = self.cancel.clone();
        let backoff = self.backoff;
        let handle = tokio::spawn(supervise(worker, cancel, backoff));
        self.workers.push((name, handle));
    }

    /// Cancels every worker and waits up to `deadline` for them all to
    /// stop; the ones still running then are aborted.
    pub async fn shutdown(self, deadline: Duration) -> ShutdownReport {
        self.cancel.cancel();
        let until = tokio::time::Instant::now() + deadline;
        let mut report = ShutdownReport::default();
        for (name, mut handle) in self.workers {
            match tokio::time::timeout_at(until, &mut handle).await {
                Ok(_) => report.stopped.push(name),
                Err(_) => {
                    tracing::warn!(worker = name, "worker did not stop in time; aborted");
                    handle.abort();
                    report.aborted.push(name);
                }
            }
        }
        report
    }
}

async fn supervise(worker: Worker, cancel: CancellationToken, backoff: Backoff) {
    let name = worker.name;
    let mut pause = backoff.initial;
    tracing::debug!(worker = name, "worker started");
    loop {
        let started = Instant::now();
        let mut run = AbortOnDrop(tokio::spawn((worker.run)(cancel.child_token())));
        let outcome = (&mut run.0).await;
        if cancel.is_cancelled() {
            if let Ok(Err(e)) = &outcome {
                tracing::warn!(worker = name, error = %error_chain(e), "worker failed while stopping");
            }
            break;
        }
        if started.elapsed() > backoff.max {
            pause = backoff.initial;
        }
        match outcome {
            Ok(Ok(())) => {
                tracing::warn!(worker = name, restart_in = ?pause, "worker ended on its own; restarting")
            }
            Ok(Err(e)) => {
                tracing::error!(worker = name, error = %error_chain(&e), restart_in = ?pause, "worker failed; restarting")
            }
            Err(e) if e.is_panic() => {
                tracing::error!(worker = name, restart_in = ?pause, "worker panicked; restarting")
            }
            Err(_) => {
                tracing::warn!(worker = name, restart_in = ?pause, "worker was aborted; restarting")
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(backoff.max);
    }
    tracing::debug!(worker = name, "worker stopped");
}

/// "what: cause: cause's cause" for one log field.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn quick() -> Backoff {
        Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(40),
        }
    }

    async fn wait_for(what: &str, cond: impl Fn() -> bool) {
        for _ in 0..200 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    #[tokio::test]
    async fn a_failing_or_panicking_worker_is_restarted() {
        let runs = Arc::new(AtomicU32::new(0));
        let mut sup = Supervisor::new(CancellationToken::new()).with_backoff(quick());
        let counter = runs.clone();
        sup.spawn(Worker::new("flaky", move |cancel| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(WorkerError::new(
                        "first run",
                        std::io::Error::other("disk on fire"),
                    )),
                    1 => panic!("second run panics"),
                    _ => {
                        cancel.cancelled().await;
                        Ok(())
                    }
                }
            }
        }));
        wait_for("a third run", || runs.load(Ordering::SeqCst) >= 3).await;
        let report = sup.shutdown(Duration::from_secs(2)).await;
        assert_eq!(report.stopped, vec!["flaky"]);
        assert!(report.aborted.is_empty());
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "no restart after it settled"
        );
    }

    #[tokio::test]
    async fn periodic_worker_ticks_and_stops_on_shutdown() {
        let ticks = Arc::new(AtomicU32::new(0));
        let mut sup = Supervisor::new(CancellationToken::new()).with_backoff(quick());
        let counter = ticks.clone();
        sup.spawn(Worker::periodic(
            "ticker",
            Duration::from_millis(10),
            move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            },
        ));
        wait_for("three ticks", || ticks.load(Ordering::SeqCst) >= 3).await;
        let report = sup.shutdown(Duration::from_secs(2)).await;
        assert_eq!(report.stopped, vec!["ticker"]);
        let after = ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            after,
            "no tick after shutdown"
        );
    }

    #[tokio::test]
    async fn a_worker_ignoring_cancellation_is_aborted_at_the_deadline() {
        let dropped = Arc::new(AtomicU32::new(0));
        struct Flag(Arc<AtomicU32>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let mut sup = Supervisor::new(CancellationToken::new()).with_backoff(quick());
        let d = dropped.clone();
        sup.spawn(Worker::new("stubborn", move |_cancel| {
            let flag = Flag(d.clone());
            async move {
                let _flag = flag;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        let report = sup.shutdown(Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(report.aborted, vec!["stubborn"]);
        wait_for("the run to be dropped", || {
            dropped.load(Ordering::SeqCst) == 1
        })
        .await;
    }
}
