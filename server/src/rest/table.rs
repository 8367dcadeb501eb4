//! A router that remembers its path templates. The REST APIs build their
//! routes with it, so the fuzz suite (`server/tests/fuzz.rs`) walks every
//! route there is — a new route is covered without editing the test.

use axum::routing::MethodRouter;
use axum::Router;

pub struct RouteTable<S = crate::AppState> {
    router: Router<S>,
    paths: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Default for RouteTable<S> {
    fn default() -> Self {
        RouteTable {
            router: Router::new(),
            paths: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> RouteTable<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// As [`Router::route`], remembering `path`.
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.paths.push(path.to_string());
        self.router = self.router.route(path, method_router);
        self
    }

    /// As [`Router::nest`]: `other`'s paths under `prefix`.
    pub fn nest(mut self, prefix: &str, other: RouteTable<S>) -> Self {
        let prefix = prefix.trim_end_matches('/');
        self.paths.extend(other.paths.iter().map(|p| {
            if p == "/" {
                prefix.to_string()
            } else {
                format!("{prefix}{p}")
            }
        }));
        self.router = self.router.nest(prefix, other.router);
        self
    }

    /// As [`Router::merge`].
    pub fn merge(mut self, other: RouteTable<S>) -> Self {
        self.paths.extend(other.paths);
        self.router = self.router.merge(other.router);
        self
    }

    /// Applies `f` to the router (fallbacks, layers), keeping the paths.
    pub fn map_router(mut self, f: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The path templates, e.g. `/identity/v3/users/{id}`.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
