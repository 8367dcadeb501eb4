//! `make bench`: the figures issue #2 asks for, on this machine.
//!
//! Boots the real server in-process on a scratch database (SQLite by
//! default; `--mysql` for MariaDB) and measures over HTTP on loopback:
//! token validations per second, password token issues per second at
//! concurrency 8 (argon2id at OWASP's parameters), and the server time to
//! render Identity > Users (a 50-row page) with 10,000 users; then image
//! data: `sha512sum`/`md5sum` on a file (the ceiling), and uploading and
//! downloading it through the image API.
//!
//! Flags: `--mysql`; `--image-size-mib N` (default 1024); `--image-only`
//! (skip the identity figures); `--compute [--amqp URL]`: only the compute
//! figures — a scheduling decision among 1,000 nodes, POST /servers to
//! ACTIVE through the conductor and the embedded agent (libvirt's test
//! driver) over RabbitMQ (or the in-process bus without `--amqp`), and 500
//! concurrent boots against an instance quota of 100.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud::identity::{BootstrapRequest, ListFilter, NewUser};
use cloud::testing::ScratchDb;
use cloud::{Backend, RequestContext};
use gureum_server::{AppState, Config};

const ADMIN_PW: &str = "bench-admin-password";

/// The value of `--name N` or `--name=N`.
fn flag_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        if a == name {
            return args.get(i + 1).cloned();
        }
        if let Some(v) = a.strip_prefix(&format!("{name}=")) {
            return Some(v.to_string());
        }
    }
    None
}

#[tokio::main]
async fn main() {
    let backend = if std::env::args().any(|a| a == "--mysql") {
        Backend::MySql
    } else {
        Backend::Sqlite
    };
    let image_only = std::env::args().any(|a| a == "--image-only");
    let image_mib: u64 = match flag_value("--image-size-mib") {
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("--image-size-mib takes a whole number of MiB, not {v:?}");
            std::process::exit(2)
        }),
        None => 1024,
    };
    let work = std::env::temp_dir().join(format!("gureum-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).expect("bench work directory");
    let scratch = ScratchDb::new(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let mut config = Config {
        database_url: scratch.url.clone(),
        public_url: base.clone(),
        ..Config::default()
    };
    config.identity.public_url = base.clone();
    // Image data goes to the scratch directory, never the checkout's data/.
    config.image.store_dir = work.join("store").display().to_string();
    config.image.max_image_size = i64::MAX;
    config.image.max_bytes_per_project = -1;
    let compute_only = std::env::args().any(|a| a == "--compute");
    if let Some(url) = flag_value("--amqp") {
        config.bus.url = url;
    }
    config.agent.libvirt_uri = "test:///default".into();
    config.agent.state_dir = work.join("agent");
    config.agent.node = "bench-node".into();
    config.agent.vcpus = Some(100_000);
    config.agent.memory_mib = Some(100_000_000);
    config.agent.disk_gb = Some(1_000_000);
    config.compute.instances = -1;
    config.compute.cores = -1;
    config.compute.ram_mib = -1;
    let state = AppState::new(config).await.expect("start");
    state
        .identity
        .bootstrap(&BootstrapRequest {
            admin_user: "admin".into(),
            admin_project: "admin".into(),
            admin_password: ADMIN_PW.into(),
        })
        .await
        .expect("bootstrap");
    let built = gureum_server::build(state.clone()).await.expect("app");
    let app = built.router;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut supervisor =
        gureum_server::supervisor::Supervisor::new(tokio_util::sync::CancellationToken::new());
    if compute_only {
        for w in built.workers {
            if w.name.starts_with("compute-") {
                supervisor.spawn(w);
            }
        }
    }

    println!(
        "Gureum benchmark — backend {backend:?}, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let token = issue(&client, &base).await.expect("admin token");

    if compute_only {
        compute_figures(&state, &client, &base, &token).await;
        supervisor.shutdown(Duration::from_secs(5)).await;
        let _ = std::fs::remove_dir_all(&work);
        scratch.finish().await;
        return;
    }
    if !image_only {
        identity_figures(&state, &client, &base, &token).await;
    }
    image_figures(&client, &base, &token, &work, image_mib).await;
    let _ = std::fs::remove_dir_all(&work);
    scratch.finish().await;
}

async fn identity_figures(state: &AppState, client: &reqwest::Client, base: &str, token: &str) {
    let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
    // 1. Token validations per second: GET /v3/auth/tokens, 32 connections, 5 s.
    let vps = run_for(Duration::from_secs(5), 32, {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        move || {
            let client = client.clone();
            let url = format!("{base}/identity/v3/auth/tokens?nocatalog");
            let token = token.clone();
            async move {
                let r = client
                    .get(url)
                    .header("X-Auth-Token", &token)
                    .header("X-Subject-Token", &token)
                    .send()
                    .await;
                matches!(r, Ok(r) if r.status() == 200)
            }
        }
    })
    .await;
    println!("token validations/s (HTTP, loopback, concurrency 32): {vps:.0}   target >= 10000");

    // 2. Password token issues per second at concurrency 8.
    let ips = run_for(Duration::from_secs(5), 8, {
        let client = client.clone();
        let base = base.clone();
        move || {
            let client = client.clone();
            let base = base.clone();
            async move { issue(&client, &base).await.is_some() }
        }
    })
    .await;
    println!(
        "password token issues/s (argon2id m={}KiB t={}, concurrency 8): {ips:.1}   target >= 50",
        state.config.identity.argon2_memory_kib, state.config.identity.argon2_iterations
    );

    // 3. Identity > Users with 10,000 users.
    seed_users(state, 10_000).await;
    let ctx = state
        .identity
        .validate_token(&token)
        .await
        .expect("validate")
        .context();
    let mut times = Vec::new();
    for i in 0..50 {
        let t = Instant::now();
        let page = state
            .identity
            .list_users(
                &ctx,
                &ListFilter {
                    limit: Some(50),
                    offset: Some((i * 50) % 10_000),
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        assert_eq!(page.items.len(), 50);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "Users page query (50 of 10,000 rows, service call): median {:.2} ms, p95 {:.2} ms",
        ms(times[25]),
        ms(times[47])
    );
    match portal_page_times(&client, &base).await {
        Some((median, p95)) => println!("Identity > Users page, full SSR response over HTTP (50 of 10,000): median {median:.2} ms, p95 {p95:.2} ms   target <= 10 ms"),
        None => println!("Identity > Users page: portal login not available in this build"),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn issue(client: &reqwest::Client, base: &str) -> Option<String> {
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PW}}}, "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}});
    let r = client
        .post(format!("{base}/identity/v3/auth/tokens?nocatalog"))
        .json(&body)
        .send()
        .await
        .ok()?;
    if r.status() != 201 {
        return None;
    }
    r.headers()
        .get("x-subject-token")?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// Runs `op` from `concurrency` tasks for `dur`; returns successes per second.
async fn run_for<F, Fut>(dur: Duration, concurrency: usize, op: F) -> f64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let op = op.clone();
        let ok = ok.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < dur {
                if op().await {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let f = failed.load(Ordering::Relaxed);
    if f > 0 {
        eprintln!("  ({f} requests failed)");
    }
    ok.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn seed_users(state: &AppState, n: usize) {
    // Direct inserts: creating 10,000 users through argon2 would take minutes
    // and measure hashing, not the page.
    let now = chrono::Utc::now().timestamp_micros();
    let pool = &state.db.pool;
    let mut tx = pool.begin().await.expect("tx");
    for i in 0..n {
        sqlx::query("INSERT INTO users (id, domain_id, name, email, description, enabled, language, created_at) VALUES (?, 'default', ?, ?, '', 1, '', ?)")
            .bind(uuid::Uuid::new_v4().simple().to_string())
            .bind(format!("user-{i:05}"))
            .bind(format!("user{i}@example.org"))
            .bind(now)
            .execute(&mut *tx)
            .await
            .expect("seed");
    }
    tx.commit().await.expect("commit");
    let admin = RequestContext::internal();
    let total = state
        .identity
        .list_users(
            &admin,
            &ListFilter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("count")
        .total;
    assert!(total >= n as i64);
    let _ = NewUser::default();
}

/// Logs in through the portal and times GET /identity/users.
async fn portal_page_times(_client: &reqwest::Client, base: &str) -> Option<(f64, f64)> {
    let client = reqwest::Client::builder().cookie_store(true).build().ok()?;
    let login = client
        .post(format!("{base}/api/login"))
        .header("Origin", base)
        .form(&[
            ("domain", "Default"),
            ("username", "admin"),
            ("password", ADMIN_PW),
        ])
        .send()
        .await
        .ok()?;
    if !login.status().is_success() && !login.status().is_redirection() {
        return None;
    }
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/identity/users"))
            .send()
            .await
            .ok()?;
        let body = r.text().await.ok()?;
        times.push(t.elapsed());
        if !body.contains("user-0") {
            return None;
        }
    }
    times.sort();
    Some((ms(times[25]), ms(times[47])))
}

/// This process's CPU time (user + system), from `/proc/self/stat`
/// (Linux; `None` elsewhere).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// ` (CPU 1.73 cores)`: how busy the process was over `wall`.
fn cores_used(before: Option<Duration>, wall: Duration) -> String {
    match (before, cpu_time()) {
        (Some(a), Some(b)) => format!(
            "  (process CPU {:.2} cores)",
            b.saturating_sub(a).as_secs_f64() / wall.as_secs_f64()
        ),
        _ => String::new(),
    }
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Writes `mib` MiB of pseudo-random (incompressible) bytes.
fn write_random_file(path: &std::path::Path, mib: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&buf)?;
    }
    f.flush()
}

/// Runs `<tool> <file>` (sha512sum, md5sum): its time and the hex digest.
fn time_tool(tool: &str, path: &std::path::Path) -> Option<(Duration, String)> {
    let t = Instant::now();
    let out = std::process::Command::new(tool).arg(path).output().ok()?;
    let d = t.elapsed();
    if !out.status.success() {
        return None;
    }
    let digest = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .to_string();
    Some((d, digest))
}

/// MD5 and SHA-512 as the upload computes them (the same crates, one
/// thread each), over `len` bytes in memory: (both at once, MD5 alone,
/// SHA-512 alone) in MB/s.
async fn hash_ceiling(len: u64) -> (f64, f64, f64) {
    use md5::{Digest, Md5};
    use sha2::Sha512;
    tokio::task::spawn_blocking(move || {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut data = vec![0u8; usize::try_from(len).unwrap_or(0)];
        for c in data.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let data = Arc::new(data);
        fn run<D: Digest>(data: &[u8]) {
            let mut d = D::new();
            for c in data.chunks(256 * 1024) {
                d.update(c);
            }
            std::hint::black_box(d.finalize());
        }
        let t = Instant::now();
        run::<Md5>(&data);
        let md5 = mb_per_s(len, t.elapsed());
        let t = Instant::now();
        run::<Sha512>(&data);
        let sha = mb_per_s(len, t.elapsed());
        let t = Instant::now();
        let a = {
            let data = data.clone();
            std::thread::spawn(move || run::<Md5>(&data))
        };
        run::<Sha512>(&data);
        let _ = a.join();
        (mb_per_s(len, t.elapsed()), md5, sha)
    })
    .await
    .unwrap_or((0.0, 0.0, 0.0))
}

/// Image data through the API on loopback: upload (the server hashes MD5 and
/// SHA-512, inspects and writes) and download, against `sha512sum`.
async fn image_figures(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    work: &std::path::Path,
    mib: u64,
) {
    let path = work.join("bench.img");
    let bytes = mib << 20;
    let t = Instant::now();
    let written = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || write_random_file(&path, mib))
            .await
            .expect("writer thread")
    };
    if let Err(e) = written {
        eprintln!(
            "image benchmark skipped: cannot write {}: {e}",
            path.display()
        );
        return;
    }
    println!(
        "image file: {mib} MiB of random data written in {:.1} s ({})",
        t.elapsed().as_secs_f64(),
        path.display()
    );
    let sha = time_tool("sha512sum", &path);
    let md5 = time_tool("md5sum", &path);
    match &sha {
        Some((d, _)) => println!(
            "sha512sum (the ceiling for an upload): {:.0} MB/s",
            mb_per_s(bytes, *d)
        ),
        None => println!("sha512sum: not available"),
    }
    match &md5 {
        Some((d, _)) => println!("md5sum (for reference): {:.0} MB/s", mb_per_s(bytes, *d)),
        None => println!("md5sum: not available"),
    }
    let (both, md5_alone, sha_alone) = hash_ceiling(bytes.min(256 << 20)).await;
    println!(
        "in-process hashing of 256 MiB in memory: MD5 {md5_alone:.0} MB/s, SHA-512 {sha_alone:.0} MB/s, \
         both on two threads {both:.0} MB/s (the ceiling of an upload, which computes both)"
    );

    // Upload: a streaming body read from the file.
    let images = format!("{base}/image/v2/images");
    let created: serde_json::Value = client
        .post(&images)
        .header("X-Auth-Token", token)
        .json(
            &serde_json::json!({"name": "bench", "disk_format": "raw", "container_format": "bare"}),
        )
        .send()
        .await
        .expect("create image")
        .json()
        .await
        .expect("image JSON");
    let Some(id) = created["id"].as_str().map(str::to_string) else {
        eprintln!("image benchmark: create failed: {created}");
        return;
    };
    let file = tokio::fs::File::open(&path).await.expect("open image file");
    let body =
        reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
    let cpu = cpu_time();
    let t = Instant::now();
    let res = client
        .put(format!("{images}/{id}/file"))
        .header("X-Auth-Token", token)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", bytes)
        .body(body)
        .send()
        .await
        .expect("upload");
    let up = t.elapsed();
    if res.status() != 204 {
        let status = res.status();
        eprintln!(
            "image upload failed: {status} {}",
            res.text().await.unwrap_or_default()
        );
        return;
    }
    println!(
        "image upload (HTTP, loopback; MD5 + SHA-512 + format inspection + write + fsync): {:.0} MB/s   target >= 300{}",
        mb_per_s(bytes, up),
        cores_used(cpu, up)
    );

    // Download: consume the stream.
    let cpu = cpu_time();
    let t = Instant::now();
    let res = client
        .get(format!("{images}/{id}/file"))
        .header("X-Auth-Token", token)
        .send()
        .await
        .expect("download");
    let header_md5 = res
        .headers()
        .get("content-md5")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut got: u64 = 0;
    let mut stream = res.bytes_stream();
    use futures_util::StreamExt;
    while let Some(chunk) = stream.next().await {
        got += chunk.expect("download chunk").len() as u64;
    }
    let down = t.elapsed();
    assert_eq!(got, bytes, "downloaded size");
    println!(
        "image download (HTTP, loopback; MD5 re-verified as it streams): {:.0} MB/s{}",
        mb_per_s(bytes, down),
        cores_used(cpu, down)
    );
    let image: serde_json::Value = client
        .get(format!("{images}/{id}"))
        .header("X-Auth-Token", token)
        .send()
        .await
        .expect("show image")
        .json()
        .await
        .expect("image JSON");
    if let (Some((_, sha)), Some((_, md5))) = (&sha, &md5) {
        let ok = image["os_hash_value"].as_str() == Some(sha.as_str())
            && image["checksum"].as_str() == Some(md5.as_str())
            && header_md5.as_deref() == Some(md5.as_str());
        println!(
            "checksums agree with sha512sum/md5sum: {}",
            if ok { "yes" } else { "NO" }
        );
    }
    let _ = client
        .delete(format!("{images}/{id}"))
        .header("X-Auth-Token", token)
        .send()
        .await;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// POST /servers and poll until ACTIVE; the time taken.
async fn boot_once(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    image: &str,
    name: &str,
) -> Option<Duration> {
    let start = Instant::now();
    let r = client
        .post(format!("{base}/compute/v2.1/servers"))
        .header("X-Auth-Token", token)
        .json(&serde_json::json!({"server": {"name": name, "imageRef": image, "flavorRef": "bench", "networks": "none"}}))
        .send()
        .await
        .ok()?;
    if r.status() != 202 {
        return None;
    }
    let body: serde_json::Value = r.json().await.ok()?;
    let id = body["server"]["id"].as_str()?.to_string();
    loop {
        let s: serde_json::Value = client
            .get(format!("{base}/compute/v2.1/servers/{id}"))
            .header("X-Auth-Token", token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        match s["server"]["status"].as_str() {
            Some("ACTIVE") => return Some(start.elapsed()),
            Some("ERROR") | None => return None,
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
        if start.elapsed() > Duration::from_secs(30) {
            return None;
        }
    }
}

async fn compute_figures(state: &AppState, client: &reqwest::Client, base: &str, token: &str) {
    // The bench's own admin, scoped to the admin project (images need an owner).
    let admin = state
        .identity
        .validate_token(token)
        .await
        .expect("token")
        .context();
    // An image and a flavor to boot.
    let img = state
        .image
        .create_image(
            &admin,
            cloud::image::NewImage {
                name: Some("bench".into()),
                visibility: Some(cloud::image::Visibility::Public),
                disk_format: Some(cloud::image::DiskFormat::Raw),
                container_format: Some(cloud::image::ContainerFormat::Bare),
                ..Default::default()
            },
        )
        .await
        .expect("image");
    let data = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
        bytes::Bytes::from_static(b"bench"),
    )]);
    state
        .image
        .upload(&admin, &img.id, data, Some(5))
        .await
        .expect("upload");
    state
        .compute
        .create_flavor(
            &admin,
            cloud::compute::NewFlavor {
                id: Some("bench".into()),
                name: "bench".into(),
                vcpus: 1,
                ram_mib: 64,
                disk_gb: 0,
                rxtx_factor: 1.0,
                is_public: true,
                ..Default::default()
            },
        )
        .await
        .expect("flavor");

    // Wait for the embedded agent's first heartbeat.
    let until = Instant::now() + Duration::from_secs(30);
    while state
        .compute
        .list_nodes(&admin)
        .await
        .map(|n| n.is_empty())
        .unwrap_or(true)
    {
        assert!(Instant::now() < until, "the embedded agent never reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // POST /servers → ACTIVE, one at a time.
    let mut times = Vec::new();
    for i in 0..100 {
        if let Some(d) = boot_once(client, base, token, &img.id, &format!("seq-{i}")).await {
            times.push(ms(d));
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "POST /servers → ACTIVE (test driver, bus {}): p50 {:.1} ms, p99 {:.1} ms over {} boots   goal p50 <= 50 ms",
        state.config.bus.url.split('@').next_back().unwrap_or("?"),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len()
    );

    // 500 concurrent boots against an instance quota of 100.
    let project = admin_project(state).await;
    let already = state
        .compute
        .limits(&admin, &project)
        .await
        .map(|l| l.instances_used)
        .unwrap_or(0);
    state
        .compute
        .quota()
        .set_limit(
            &admin,
            &project,
            cloud::quota::Resource::INSTANCES,
            already + 100,
        )
        .await
        .expect("limit");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..500 {
        let client = client.clone();
        let url = format!("{base}/compute/v2.1/servers");
        let token = token.to_string();
        let image = img.id.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("X-Auth-Token", token)
                .json(&serde_json::json!({"server": {"name": format!("burst-{i}"), "imageRef": image, "flavorRef": "bench", "networks": "none"}}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let (mut accepted, mut refused, mut other) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap_or(0) {
            202 => accepted += 1,
            403 | 413 => refused += 1,
            _ => other += 1,
        }
    }
    let wall = start.elapsed();
    println!(
        "500 concurrent boots, instance quota 100: {accepted} accepted, {refused} refused by quota, {other} other, in {:.2} s ({:.0} accepted/s)   goal exactly 100",
        wall.as_secs_f64(),
        f64::from(accepted) / wall.as_secs_f64()
    );

    // A scheduling decision among 1,000 registered nodes (read, rank, claim).
    for i in 0..1000 {
        let report = bus::messages::NodeReport {
            node: format!("sched-{i:04}"),
            host_ip: "127.0.0.1".into(),
            hypervisor_type: "test".into(),
            hypervisor_version: 1,
            vcpus: 64,
            memory_mib: 262_144,
            disk_gb: 10_000,
            availability_zone: String::new(),
            running: 0,
            started_at: 0,
        };
        state.compute.record_heartbeat(&report).await.expect("node");
    }
    let want = cloud::compute::Candidate {
        vcpus: 1,
        ram_mib: 64,
        disk_gb: 0,
        ..Default::default()
    };
    let mut decide = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let node = state.compute.schedule(&want).await.expect("schedule");
        decide.push(ms(t.elapsed()));
        assert!(node.is_some(), "a node among 1,000");
    }
    decide.sort_by(f64::total_cmp);
    let nodes = state.compute.list_nodes(&admin).await.expect("nodes");
    let t = Instant::now();
    for _ in 0..100 {
        std::hint::black_box(state.compute.scheduler().rank(&nodes, &want));
    }
    println!(
        "scheduling among {} nodes: decision (read, rank, claim) p50 {:.2} ms, p99 {:.2} ms; ranking alone {:.3} ms   goal <= 5 ms",
        nodes.len(),
        percentile(&decide, 0.5),
        percentile(&decide, 0.99),
        ms(t.elapsed()) / 100.0
    );
}

/// The admin project's id (the bench's token is scoped to it).
async fn admin_project(state: &AppState) -> String {
    let admin = RequestContext::internal();
    let projects = state
        .identity
        .list_projects(
            &admin,
            &ListFilter {
                name: Some("admin".into()),
                ..Default::default()
            },
        )
        .await
        .expect("projects");
    projects.items[0].id.clone()
}
