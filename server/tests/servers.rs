//! Several real `gureum-server` processes on one database and one image
//! store: restarting one never disturbs another's upload; a killed server's
//! upload is recovered by the others only once its lease has expired; a
//! SIGTERM hands back the uploads still running.

#![allow(clippy::unwrap_used)]

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cloud::testing::{test_data, ScratchDb};
use cloud::{per_backend, Backend};
use md5::{Digest, Md5};
use serde_json::{json, Value};
use sqlx::Row;

const ADMIN_PASSWORD: &str = "admin-password-1";
const HEARTBEAT_SECS: u64 = 1;
const LEASE_SECS: u64 = 3;

/// Held while a test copies the server binary or starts a process: a
/// process forked while another thread has the copy open for writing
/// keeps that descriptor until it execs, and executing the copy then fails
/// with "text file busy".
static SPAWN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Files for one test: a copy of the server binary (other worktrees
/// rebuild the shared target directory under a running test), the image
/// store and the logs. Removed on drop.
struct Workspace {
    dir: PathBuf,
    binary: PathBuf,
    database_url: String,
}

impl Workspace {
    fn new(database_url: &str) -> Workspace {
        let dir =
            std::env::temp_dir().join(format!("gureum-servers-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("store")).unwrap();
        let binary = dir.join("gureum-server");
        {
            let _spawning = spawn_lock();
            std::fs::copy(env!("CARGO_BIN_EXE_gureum-server"), &binary).unwrap();
        }
        Workspace {
            dir,
            binary,
            database_url: database_url.to_string(),
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    fn command(&self, listen: &str, log: &Path) -> Command {
        let mut cmd = Command::new(&self.binary);
        for (k, _) in std::env::vars() {
            if k.starts_with("GUREUM_") {
                cmd.env_remove(k);
            }
        }
        let log = std::fs::File::create(log).unwrap();
        cmd.current_dir(&self.dir)
            .env("GUREUM_DATABASE_URL", &self.database_url)
            .env("GUREUM_LISTEN", listen)
            .env("GUREUM_PUBLIC_URL", format!("http://{listen}"))
            .env("GUREUM_SITE_ROOT", self.dir.join("no-site"))
            .env("GUREUM_IMAGE__STORE_DIR", self.store())
            .env("GUREUM_IDENTITY__ARGON2_MEMORY_KIB", "1024")
            .env("GUREUM_IDENTITY__ARGON2_ITERATIONS", "1")
            .env("GUREUM_SERVER__HEARTBEAT_SECS", HEARTBEAT_SECS.to_string())
            .env("GUREUM_SERVER__LEASE_SECS", LEASE_SECS.to_string())
            .env("GUREUM_SERVER__SHUTDOWN_GRACE_SECS", "1")
            .env("GUREUM_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "GUREUM_LOG",
                "info,sqlx=warn,tower_sessions=warn,gureum_server::observe=debug",
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        cmd
    }

    fn bootstrap(&self) {
        let log = self.dir.join("bootstrap.log");
        let mut child = {
            let _spawning = spawn_lock();
            self.command("127.0.0.1:1", &log)
                .arg("bootstrap")
                .spawn()
                .unwrap()
        };
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "bootstrap failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Starts a server and waits until `/healthz` answers.
    async fn start(&self, name: &str) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log = self
            .dir
            .join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()));
        let child = {
            let _spawning = spawn_lock();
            self.command(&listen, &log).arg("serve").spawn().unwrap()
        };
        let server = ServerProcess {
            child,
            url: format!("http://{listen}"),
            log,
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{}/healthz", server.url)).send().await {
                if r.status() == 200 {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server {name} did not start:\n{}", server.log_text());
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct ServerProcess {
    child: Child,
    url: String,
    log: PathBuf,
}

impl ServerProcess {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> i64 {
        i64::from(self.child.id())
    }

    fn signal(&self, sig: &str) {
        let status = {
            let _spawning = spawn_lock();
            Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.child.id().to_string())
                .status()
                .unwrap()
        };
        assert!(status.success(), "kill -{sig}");
    }

    /// SIGTERM, then the exit status (panics after `within`).
    async fn terminate(self, within: Duration) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit(within).await
    }

    async fn wait_exit(mut self, within: Duration) -> std::process::ExitStatus {
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "the server did not stop within {within:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn token(url: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{url}/identity/v3/auth/tokens"))
        .json(&json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string()
}

async fn create_image(url: &str, token: &str, name: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{url}/image/v2/images"))
        .header("X-Auth-Token", token)
        .json(&json!({"name": name, "disk_format": "raw", "container_format": "bare"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// An upload whose body the test feeds chunk by chunk.
struct SlowUpload {
    tx: Option<tokio::sync::mpsc::Sender<io::Result<Bytes>>>,
    response: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
    md5: Md5,
}

impl SlowUpload {
    fn start(url: &str, token: &str, image_id: &str) -> SlowUpload {
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(1);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let request = reqwest::Client::new()
            .put(format!("{url}/image/v2/images/{image_id}/file"))
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream));
        SlowUpload {
            tx: Some(tx),
            response: tokio::spawn(request.send()),
            md5: Md5::new(),
        }
    }

    async fn send(&mut self, chunk: Vec<u8>) {
        self.md5.update(&chunk);
        self.tx
            .as_ref()
            .unwrap()
            .send(Ok(Bytes::from(chunk)))
            .await
            .expect("the server is still reading the body");
    }

    /// Ends the body; the response and the MD5 of what was sent.
    async fn finish(mut self) -> (reqwest::StatusCode, String) {
        self.tx = None;
        let res = self.response.await.unwrap().unwrap();
        (res.status(), hex::encode(self.md5.finalize()))
    }
}

async fn image_row(db: &cloud::Db, id: &str) -> (String, Option<String>, Option<String>) {
    let r = sqlx::query("SELECT status, upload_owner, checksum FROM images WHERE id = ?")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (
        r.try_get("status").unwrap(),
        r.try_get("upload_owner").unwrap(),
        r.try_get("checksum").unwrap(),
    )
}

/// The servers table: (id, pid, heartbeat_at).
async fn servers(db: &cloud::Db) -> Vec<(String, i64, i64)> {
    cloud::servers::ServerRegistry::all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.pid, s.heartbeat_at))
        .collect()
}

async fn server_id_of(db: &cloud::Db, pid: i64) -> String {
    servers(db)
        .await
        .into_iter()
        .find(|s| s.1 == pid)
        .map(|s| s.0)
        .expect("the server's row")
}

async fn wait_status(db: &cloud::Db, id: &str, want: &str) {
    for _ in 0..200 {
        if image_row(db, id).await.0 == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "image {id} never became {want}: {:?}",
        image_row(db, id).await
    );
}

fn staging_areas(store: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(store.join("staging"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_one_server_spares_the_others_upload_and_a_dead_servers_upload_waits_for_its_lease(
) {
    let scratch = ScratchDb::new(Backend::MySql).await;
    let db = scratch.db.clone();
    let ws = Workspace::new(&scratch.url);
    ws.bootstrap();
    assert!(servers(&db).await.is_empty(), "bootstrap removes its row");

    let mut a = ws.start("a").await;
    let b = ws.start("b").await;
    let a_id = server_id_of(&db, a.pid()).await;
    let tok = token(&a.url).await;

    // A receives an upload, slowly.
    let image = create_image(&a.url, &tok, "while-b-restarts").await;
    let mut upload = SlowUpload::start(&a.url, &tok, &image);
    upload.send(test_data(256 * 1024, 1)).await;
    wait_status(&db, &image, "saving").await;
    assert_eq!(
        image_row(&db, &image).await.1.as_deref(),
        Some(a_id.as_str())
    );
    assert_eq!(staging_areas(&ws.store()), vec![a_id.clone()]);

    // B restarts meanwhile: its shutdown and its start-up recovery leave
    // A's upload alone, and so does its periodic recovery.
    let status = b.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    upload.send(test_data(256 * 1024, 2)).await;
    let b = ws.start("b-again").await;
    // Longer than B's recovery period (one lease), so a periodic round
    // runs while A uploads.
    let until = Instant::now() + Duration::from_secs(LEASE_SECS) + Duration::from_millis(600);
    let mut seed = 3;
    while Instant::now() < until {
        upload.send(test_data(64 * 1024, seed)).await;
        seed += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(image_row(&db, &image).await.0, "saving");
    let (status, md5) = upload.finish().await;
    assert_eq!(status, 204, "A's upload completes:\n{}", a.log_text());
    let (state, owner, checksum) = image_row(&db, &image).await;
    assert_eq!(state, "active");
    assert_eq!(owner, None);
    assert_eq!(checksum.as_deref(), Some(md5.as_str()));
    // B serves the same image.
    let res = reqwest::Client::new()
        .get(format!("{}/image/v2/images/{image}", b.url))
        .header("X-Auth-Token", &tok)
        .send()
        .await
        .unwrap();
    let shown: Value = res.json().await.unwrap();
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["checksum"], json!(md5));

    // A dies mid-upload (kill -9: no hand-back).
    let image2 = create_image(&a.url, &tok, "a-dies").await;
    let mut upload = SlowUpload::start(&a.url, &tok, &image2);
    upload.send(test_data(256 * 1024, 9)).await;
    wait_status(&db, &image2, "saving").await;
    a.kill9();
    drop(upload);
    let a_last_beat = servers(&db)
        .await
        .into_iter()
        .find(|s| s.0 == a_id)
        .expect("A's row stays after a kill -9")
        .2;
    let lease_end = a_last_beat + i64::try_from(LEASE_SECS * 1_000_000).unwrap();
    let mut checks_before_expiry = 0;
    let recovered_at = loop {
        let now = cloud::db::now_micros();
        let (state, _, _) = image_row(&db, &image2).await;
        if state == "queued" {
            break now;
        }
        assert_eq!(state, "saving");
        if now < lease_end {
            checks_before_expiry += 1;
        }
        assert!(
            now < lease_end + 10_000_000,
            "B never recovered the dead server's upload:\n{}",
            b.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        checks_before_expiry > 0,
        "the image was seen saving while A's lease ran"
    );
    assert!(
        recovered_at >= lease_end,
        "recovered {} µs before A's lease expired",
        lease_end - recovered_at
    );
    assert_eq!(image_row(&db, &image2).await.1, None);
    // And A's staging area went with it.
    for _ in 0..100 {
        if !staging_areas(&ws.store()).contains(&a_id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!staging_areas(&ws.store()).contains(&a_id));

    let b_pid = b.pid();
    let status = b.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    assert!(
        !servers(&db).await.iter().any(|s| s.1 == b_pid),
        "a clean shutdown removes the server's row"
    );
    scratch.finish().await;
}

async fn sigterm_hands_back_the_uploads_still_running(backend: Backend) {
    let scratch = ScratchDb::new(backend).await;
    let db = scratch.db.clone();
    let ws = Workspace::new(&scratch.url);
    ws.bootstrap();
    let server = ws.start("s").await;
    let server_id = server_id_of(&db, server.pid()).await;
    let tok = token(&server.url).await;
    let image = create_image(&server.url, &tok, "cut-off").await;
    let mut upload = SlowUpload::start(&server.url, &tok, &image);
    upload.send(test_data(128 * 1024, 1)).await;
    wait_status(&db, &image, "saving").await;
    assert_eq!(staging_areas(&ws.store()), vec![server_id.clone()]);

    // The upload never finishes: the grace period (1 s) runs out.
    let started = Instant::now();
    let log = server.log.clone();
    let status = server.terminate(Duration::from_secs(15)).await;
    let log = std::fs::read_to_string(log).unwrap_or_default();
    assert!(status.success(), "{status}:\n{log}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for the request in flight"
    );
    assert!(log.contains("shutdown grace period"), "{log}");
    let (state, owner, _) = image_row(&db, &image).await;
    assert_eq!(state, "queued", "{log}");
    assert_eq!(owner, None);
    assert!(servers(&db).await.is_empty(), "its row is removed");
    assert!(staging_areas(&ws.store()).is_empty());
    drop(upload);
    scratch.finish().await;
}
per_backend!(multi_thread: sigterm_hands_back_the_uploads_still_running);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish_within_the_grace_period() {
    let scratch = ScratchDb::new(Backend::Sqlite).await;
    let db = scratch.db.clone();
    let ws = Workspace::new(&scratch.url);
    ws.bootstrap();
    let server = ws.start("s").await;
    let tok = token(&server.url).await;
    // The response's request id is on the request's log lines.
    let res = reqwest::Client::new()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    let request_id = res.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let logged = server
        .log_text()
        .lines()
        .any(|l| l.contains(&format!("request_id={request_id}")) && l.contains("request done"));
    assert!(
        logged,
        "no log line with {request_id}:\n{}",
        server.log_text()
    );
    let image = create_image(&server.url, &tok, "finishes").await;
    let mut upload = SlowUpload::start(&server.url, &tok, &image);
    upload.send(test_data(128 * 1024, 1)).await;
    wait_status(&db, &image, "saving").await;
    server.signal("TERM");
    // The listener closes at once; the upload in flight goes on.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", server.url))
        .send()
        .await;
    assert!(refused.is_err(), "no new connections after SIGTERM");
    upload.send(test_data(128 * 1024, 2)).await;
    let (status, md5) = upload.finish().await;
    assert_eq!(status, 204, "{}", server.log_text());
    let (state, _, checksum) = image_row(&db, &image).await;
    assert_eq!(state, "active");
    assert_eq!(checksum, Some(md5));
    let status = server.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success());
    scratch.finish().await;
}
