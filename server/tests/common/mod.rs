//! Test kit: boots the real server (router, services, database) in-process
//! on a scratch SQLite file or MariaDB database and talks HTTP to it.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

pub mod cli;

use cloud::identity::BootstrapRequest;
pub use cloud::testing::test_data;
use cloud::testing::ScratchDb;
use cloud::Backend;
use gureum_server::{AppState, Config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A running server on its own database.
pub struct TestCloud {
    pub backend: Backend,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub admin_token: String,
    pub admin_user_id: String,
    pub admin_project_id: String,
    /// The image store's directory (removed by `finish`).
    pub image_dir: std::path::PathBuf,
    /// The scratch database, when this server made it (not one started
    /// beside another).
    scratch: Option<ScratchDb>,
    server: tokio::task::JoinHandle<()>,
    /// The compute workers (conductor, timeouts, the embedded agent): the
    /// other workers stay off, as the tests drive those paths themselves.
    workers: Option<gureum_server::supervisor::Supervisor>,
}

/// A response: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Res {
    /// The OpenStack fault's message.
    pub fn message(&self) -> &str {
        self.fault()["message"].as_str().unwrap_or_default()
    }
    /// The fault object: Keystone's and Glance's `{"error": {…}}`, or
    /// Nova's `{"itemNotFound": {…}}` (one key, named for the status).
    pub fn fault(&self) -> &Value {
        match self.body.as_object() {
            Some(o) if o.contains_key("error") => &self.body["error"],
            Some(o) if o.len() == 1 => o.values().next().unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// Asserts the status is `want` and the body a well-formed fault when it is an error.
    #[track_caller]
    pub fn expect(self, want: u16) -> Res {
        assert_eq!(
            self.status.as_u16(),
            want,
            "unexpected status; body: {}",
            self.body
        );
        if want >= 400 {
            let fault = self.fault();
            assert_eq!(fault["code"], json!(want), "fault body: {}", self.body);
            // Nova's faults carry no title.
            assert!(
                fault["title"].is_string() || self.body.get("error").is_none(),
                "fault body: {}",
                self.body
            );
            assert!(fault["message"].is_string(), "fault body: {}", self.body);
        }
        self
    }
}

impl Res {
    /// Status, headers and the body parsed as JSON (a string when not JSON).
    pub async fn from_response(res: reqwest::Response) -> Res {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Res {
            status,
            headers,
            body,
        }
    }
}

/// A real qcow2 image made by `qemu-img create -f qcow2` (required, like
/// the CLI: the tests fail when it is missing).
pub fn qcow2_image(virtual_size: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("gureum-qcow2-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("disk.qcow2");
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&path)
        .arg(virtual_size)
        .output()
        .expect("qemu-img is required for the image tests");
    assert!(out.status.success(), "qemu-img failed: {out:?}");
    let data = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    data
}

/// Test configuration: cheap hashing, a small lockout threshold.
pub fn test_config() -> Config {
    let mut cfg = Config::default();
    cfg.identity.argon2_memory_kib = 1024;
    cfg.identity.argon2_iterations = 1;
    cfg.identity.lockout_failure_attempts = 3;
    cfg.identity.lockout_duration_secs = 600;
    cfg.identity.token_cache_secs = 5;
    // The embedded agent on libvirt's test driver, its state in the temp dir.
    cfg.agent.libvirt_uri = "test:///default".into();
    cfg.agent.state_dir = std::env::temp_dir().join(format!(
        "gureum-test-agent-{}",
        uuid::Uuid::new_v4().simple()
    ));
    cfg.agent.node = format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    cfg.site_root = std::env::temp_dir()
        .join("gureum-test-no-site")
        .display()
        .to_string();
    cfg
}

impl TestCloud {
    pub async fn start(backend: Backend) -> TestCloud {
        TestCloud::start_with(backend, |_| {}).await
    }

    /// Starts a server; `tweak` adjusts the configuration first.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestCloud {
        let scratch = ScratchDb::new(backend).await;
        let url = scratch.url.clone();
        TestCloud::launch(backend, Some(scratch), url, tweak).await
    }

    /// A second server on `other`'s database, as another host of the same
    /// cloud runs: its own listener, image store and workers. `other`
    /// drops the database when it finishes.
    pub async fn start_beside(other: &TestCloud, tweak: impl FnOnce(&mut Config)) -> TestCloud {
        let url = other.state.config.database_url.clone();
        TestCloud::launch(other.backend, None, url, tweak).await
    }

    async fn launch(
        backend: Backend,
        scratch: Option<ScratchDb>,
        database_url: String,
        tweak: impl FnOnce(&mut Config),
    ) -> TestCloud {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let mut config = test_config();
        config.database_url = database_url;
        config.listen = format!("127.0.0.1:{port}");
        let image_dir = std::env::temp_dir().join(format!(
            "gureum-test-images-{}",
            uuid::Uuid::new_v4().simple()
        ));
        config.image.store_dir = image_dir.display().to_string();
        config.identity.credential_key_file =
            image_dir.join("credential-keys").display().to_string();
        tweak(&mut config);
        config.public_url = url.clone();
        config.identity.public_url = url.clone();
        // As `Config::load` does: nodes fetch images from this server.
        if config.compute.image_api_url.is_empty() {
            config.compute.image_api_url = format!("{url}/image");
        }
        let state = AppState::new(config).await.expect("start the server state");
        let report = state
            .identity
            .bootstrap(&BootstrapRequest {
                admin_user: "admin".into(),
                admin_project: "admin".into(),
                admin_password: ADMIN_PASSWORD.into(),
            })
            .await
            .expect("bootstrap");
        let built = gureum_server::build(state.clone())
            .await
            .expect("build the app");
        let app = built.router;
        let mut workers =
            gureum_server::supervisor::Supervisor::new(tokio_util::sync::CancellationToken::new());
        for w in built.workers {
            if w.name.starts_with("compute-") {
                workers.spawn(w);
            }
        }
        let http = state.config.http.clone();
        // The same listener as the binary (its timeouts are under test too).
        let server = tokio::spawn(async move {
            gureum_server::listener::serve(
                listener,
                app,
                &http,
                std::time::Duration::from_secs(1),
                std::future::pending(),
            )
            .await;
        });
        let client = reqwest::Client::builder().build().unwrap();
        let mut cloud = TestCloud {
            backend,
            url,
            client,
            state,
            admin_token: String::new(),
            admin_user_id: report.admin_user_id,
            admin_project_id: report.admin_project_id,
            image_dir,
            scratch,
            server,
            workers: Some(workers),
        };
        cloud.admin_token = cloud.login("admin", ADMIN_PASSWORD, Some("admin")).await;
        cloud
    }

    /// `<url>/identity/v3<path>`.
    pub fn v3(&self, path: &str) -> String {
        format!("{}/identity/v3{path}", self.url)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            self.v3(path)
        };
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Res::from_response(req.send().await.expect("request")).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Res {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// A request to `url` at a compute microversion (`None`: the default).
    pub async fn call_compute(
        &self,
        method: Method,
        token: &str,
        url: &str,
        mv: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut req = self
            .client
            .request(method, url)
            .header("X-Auth-Token", token);
        if let Some(v) = mv {
            req = req.header("OpenStack-API-Version", format!("compute {v}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Res::from_response(req.send().await.expect("request")).await
    }
    pub async fn head(&self, token: &str, path: &str) -> Res {
        self.call(Method::HEAD, path, Some(token), None).await
    }
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Res {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Res {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }
    pub async fn put(&self, token: &str, path: &str) -> Res {
        self.call(Method::PUT, path, Some(token), None).await
    }
    pub async fn delete(&self, token: &str, path: &str) -> Res {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// `POST /v3/auth/tokens` with any body.
    pub async fn auth(&self, body: Value) -> Res {
        self.call(Method::POST, "/auth/tokens", None, Some(body))
            .await
    }

    /// The password auth body for a user of the Default domain, scoped to a
    /// project of the Default domain by name, or unscoped.
    pub fn password_body(user: &str, password: &str, project: Option<&str>) -> Value {
        let mut auth = json!({
            "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        });
        auth["scope"] = match project {
            Some(p) => json!({"project": {"name": p, "domain": {"id": "default"}}}),
            None => json!("unscoped"),
        };
        json!({"auth": auth})
    }

    /// A token for the user, panicking if login fails.
    pub async fn login(&self, user: &str, password: &str, project: Option<&str>) -> String {
        let res = self
            .auth(Self::password_body(user, password, project))
            .await
            .expect(201);
        res.header("x-subject-token").expect("X-Subject-Token")
    }

    pub async fn create_project(&self, name: &str) -> String {
        let res = self
            .post(
                &self.admin_token,
                "/projects",
                json!({"project": {"name": name, "domain_id": "default"}}),
            )
            .await
            .expect(201);
        res.body["project"]["id"].as_str().unwrap().to_string()
    }

    /// A user of the Default domain with password `<name>-password`.
    pub async fn create_user(&self, name: &str) -> String {
        let res = self.post(&self.admin_token, "/users", json!({"user": {"name": name, "domain_id": "default", "password": format!("{name}-password")}})).await.expect(201);
        res.body["user"]["id"].as_str().unwrap().to_string()
    }

    /// Grants `role` (id or name) to the user on the project.
    pub async fn grant(&self, project_id: &str, user_id: &str, role: &str) {
        self.put(
            &self.admin_token,
            &format!("/projects/{project_id}/users/{user_id}/roles/{role}"),
        )
        .await
        .expect(204);
    }

    pub async fn role_id(&self, name: &str) -> String {
        let res = self
            .get(&self.admin_token, &format!("/roles?name={name}"))
            .await
            .expect(200);
        res.body["roles"][0]["id"]
            .as_str()
            .expect("role exists")
            .to_string()
    }

    /// A new project (or an existing one by name) and a new user with
    /// `role` on it; returns (user id, project id, project-scoped token).
    pub async fn user_with_role(
        &self,
        user: &str,
        project: &str,
        role: &str,
    ) -> (String, String, String) {
        let found = self
            .get(&self.admin_token, &format!("/projects?name={project}"))
            .await
            .expect(200);
        let project_id = match found.body["projects"][0]["id"].as_str() {
            Some(id) => id.to_string(),
            None => self.create_project(project).await,
        };
        let user_id = self.create_user(user).await;
        self.grant(&project_id, &user_id, role).await;
        let token = self
            .login(user, &format!("{user}-password"), Some(project))
            .await;
        (user_id, project_id, token)
    }

    // ------------------------------------------------------------ images

    /// `<url>/image/v2<path>`.
    pub fn image_url(&self, path: &str) -> String {
        format!("{}/image/v2{path}", self.url)
    }

    /// `POST /image/v2/images`; panics unless 201. Returns the image JSON.
    pub async fn create_image(&self, token: &str, body: Value) -> Value {
        self.post(token, &self.image_url("/images"), body)
            .await
            .expect(201)
            .body
    }

    /// A client that never reuses a connection: an upload the server refuses
    /// before reading it all leaves its connection closed under the client,
    /// which a pooled client could pick for the next request.
    pub fn unpooled_client() -> reqwest::Client {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }

    /// `PUT /image/v2/images/{id}/file` with `data` (Content-Length set), on
    /// a connection of its own.
    pub async fn upload_image(&self, token: &str, id: &str, data: Vec<u8>) -> Res {
        let res = Self::unpooled_client()
            .put(self.image_url(&format!("/images/{id}/file")))
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .expect("upload");
        Res::from_response(res).await
    }

    /// `GET /image/v2/images/{id}/file`, optionally with a `Range` header:
    /// status, headers and the raw bytes.
    pub async fn download_image(
        &self,
        token: &str,
        id: &str,
        range: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self
            .client
            .get(self.image_url(&format!("/images/{id}/file")))
            .header("X-Auth-Token", token);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        let res = req.send().await.expect("download");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("download body").to_vec();
        (status, headers, bytes)
    }

    /// `PATCH /image/v2/images/{id}` with a v2.1 JSON patch.
    pub async fn patch_image(&self, token: &str, id: &str, ops: Value) -> Res {
        self.patch_image_as(
            token,
            id,
            "application/openstack-images-v2.1-json-patch",
            ops,
        )
        .await
    }

    pub async fn patch_image_as(
        &self,
        token: &str,
        id: &str,
        content_type: &str,
        ops: Value,
    ) -> Res {
        let res = self
            .client
            .patch(self.image_url(&format!("/images/{id}")))
            .header("X-Auth-Token", token)
            .header("Content-Type", content_type)
            .body(ops.to_string())
            .send()
            .await
            .expect("patch");
        Res::from_response(res).await
    }

    /// Files in the image store's `images/` and `staging/` directories.
    pub fn stored_files(&self) -> Vec<String> {
        cloud::testing::store_files(&self.image_dir)
    }

    /// Stops the server and drops the scratch database.
    pub async fn finish(mut self) {
        if let Some(w) = self.workers.take() {
            w.shutdown(std::time::Duration::from_secs(5)).await;
        }
        self.server.abort();
        let _ = self.server.await;
        self.state.db.pool.close().await;
        if let Some(s) = self.scratch {
            s.finish().await;
        }
        let _ = std::fs::remove_dir_all(&self.image_dir);
    }
}
