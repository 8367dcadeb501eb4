#![allow(clippy::unwrap_used)]
//! The image cache against a real (tiny, hand-written) HTTP/1.1 server on
//! the loopback: tokens, checksums, one download for concurrent spawns, and
//! the qcow2 overlay with the real qemu-img.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agent::config::{IdentityConfig, Secret};
use agent::images::{self, ImageCache, ImageError};
use bus::messages::{Credential, ImageRef};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const GRANT: &str = "the-grant";
const SERVICE_TOKEN: &str = "service-token";

struct Server {
    base: String,
    image_gets: Arc<AtomicUsize>,
    auths: Arc<AtomicUsize>,
}

/// Serves `GET /images/<anything>` with `body` to the known grant or the
/// service token (401 otherwise) and Keystone's `POST /v3/auth/tokens` for password "pw".
async fn server(body: Vec<u8>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let image_gets = Arc::new(AtomicUsize::new(0));
    let auths = Arc::new(AtomicUsize::new(0));
    let (gets, auth_count) = (image_gets.clone(), auths.clone());
    let body = Arc::new(body);
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (body, gets, auth_count) = (body.clone(), gets.clone(), auth_count.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let header = |name: &str| {
                    head.lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim().to_owned())
                };
                let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let req_body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
                let first = head.lines().next().unwrap_or("").to_owned();
                let resp: Vec<u8> = if first.starts_with("POST /v3/auth/tokens ") {
                    auth_count.fetch_add(1, Ordering::SeqCst);
                    if req_body.contains("\"password\":\"pw\"") {
                        format!(
                            "HTTP/1.1 201 Created\r\nX-Subject-Token: {SERVICE_TOKEN}\r\n\
                             Content-Type: application/json\r\nContent-Length: 2\r\n\
                             Connection: close\r\n\r\n{{}}"
                        )
                        .into_bytes()
                    } else {
                        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                } else if first.starts_with("GET /images/") {
                    let granted = header("x-image-download-grant").as_deref() == Some(GRANT);
                    let token = header("x-auth-token").as_deref() == Some(SERVICE_TOKEN);
                    if granted || token {
                        gets.fetch_add(1, Ordering::SeqCst);
                        // Slow enough that concurrent fetches overlap.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(&body);
                        r
                    } else {
                        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                };
                let _ = sock.write_all(&resp).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Server {
        base,
        image_gets,
        auths,
    }
}

fn image(srv: &Server, id: &str, algo: &str, hash: String, size: u64) -> ImageRef {
    ImageRef {
        id: id.into(),
        download_url: format!("{}/images/{id}", srv.base),
        disk_format: "raw".into(),
        size,
        hash_algo: algo.into(),
        hash_value: hash,
        download_grant: Some(Credential::new(GRANT)),
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn payload() -> Vec<u8> {
    (0..200_000u32).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn verified_download_is_cached_and_fetched_once_for_concurrent_spawns() {
    let data = payload();
    let srv = server(data.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(ImageCache::new(dir.path().join("images"), None));
    let img = image(
        &srv,
        "img-sha512",
        "sha512",
        hex::encode(sha2::Sha512::digest(&data)),
        data.len() as u64,
    );

    let mut spawns = vec![];
    for _ in 0..4 {
        let (cache, img) = (cache.clone(), img.clone());
        spawns.push(tokio::spawn(
            async move { cache.fetch(&img).await.unwrap() },
        ));
    }
    for s in spawns {
        let p = s.await.unwrap();
        assert_eq!(p, dir.path().join("images/img-sha512"));
    }
    assert_eq!(srv.image_gets.load(Ordering::SeqCst), 1);
    assert_eq!(
        std::fs::read(dir.path().join("images/img-sha512")).unwrap(),
        data
    );
    assert_eq!(leftovers(&dir.path().join("images")), vec!["img-sha512"]);

    // Cached: trusted without another download.
    cache.fetch(&img).await.unwrap();
    assert_eq!(srv.image_gets.load(Ordering::SeqCst), 1);

    // MD5 (Glance's legacy checksum) and SHA-256 verify too.
    let md5 = image(
        &srv,
        "img-md5",
        "md5",
        hex::encode(md5::Md5::digest(&data)),
        0,
    );
    cache.fetch(&md5).await.unwrap();
    let s256 = image(
        &srv,
        "img-sha256",
        "sha256",
        hex::encode(sha2::Sha256::digest(&data)).to_uppercase(),
        0,
    );
    cache.fetch(&s256).await.unwrap();
}

#[tokio::test]
async fn a_bad_checksum_or_size_keeps_nothing_and_may_retry_elsewhere() {
    let data = payload();
    let srv = server(data.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = ImageCache::new(dir.path().join("images"), None);

    let wrong = image(&srv, "img-bad", "sha256", "ab".repeat(32), 0);
    let e = cache.fetch(&wrong).await.unwrap_err();
    assert!(matches!(e, ImageError::Fetch { .. }), "{e:?}");
    assert!(e.retry_elsewhere());
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    assert!(leftovers(&dir.path().join("images")).is_empty());

    let short = image(
        &srv,
        "img-size",
        "sha256",
        hex::encode(sha2::Sha256::digest(&data)),
        data.len() as u64 + 1,
    );
    let e = cache.fetch(&short).await.unwrap_err();
    assert!(e.to_string().contains("expected"), "{e}");
    assert!(leftovers(&dir.path().join("images")).is_empty());

    // An unknown algorithm is the request's fault: not retried.
    let odd = image(&srv, "img-odd", "crc32", "00".into(), 0);
    let e = cache.fetch(&odd).await.unwrap_err();
    assert!(!e.retry_elsewhere(), "{e:?}");
    // So is an id that is not a file name.
    let evil = image(&srv, "../escape", "sha256", "00".into(), 0);
    assert!(!cache.fetch(&evil).await.unwrap_err().retry_elsewhere());
}

#[tokio::test]
async fn a_refused_grant_falls_back_to_the_service_credential() {
    let data = payload();
    let srv = server(data.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let hash = hex::encode(sha2::Sha256::digest(&data));
    let expired = |id: &str| ImageRef {
        download_grant: Some(Credential::new("expired")),
        ..image(&srv, id, "sha256", hash.clone(), 0)
    };

    // Without a credential, a refused grant is the end of it.
    let bare = ImageCache::new(dir.path().join("a"), None);
    let e = bare.fetch(&expired("img-a")).await.unwrap_err();
    assert!(e.to_string().contains("grant was refused"), "{e}");

    let identity = IdentityConfig {
        auth_url: srv.base.clone(),
        username: "nova".into(),
        password: Secret::new("pw"),
        project: "service".into(),
        domain: "Default".into(),
    };
    let cache = ImageCache::new(dir.path().join("b"), Some(identity));
    cache.fetch(&expired("img-b")).await.unwrap();
    // No grant at all: the (reused) service token.
    let ungranted = ImageRef {
        download_grant: None,
        ..image(&srv, "img-c", "sha256", hash.clone(), 0)
    };
    cache.fetch(&ungranted).await.unwrap();
    assert_eq!(srv.auths.load(Ordering::SeqCst), 1);
}

#[test]
fn a_grant_never_shows_in_debug_output() {
    let img = ImageRef {
        id: "i".into(),
        download_url: String::new(),
        disk_format: "raw".into(),
        size: 0,
        hash_algo: "sha256".into(),
        hash_value: String::new(),
        download_grant: Some(Credential::new("s3cret-grant")),
    };
    let shown = format!("{img:?}");
    assert!(!shown.contains("s3cret-grant"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
}

async fn qemu_img_info(path: &Path) -> serde_json::Value {
    let out = tokio::process::Command::new("qemu-img")
        .args(["info", "--output=json", "-U"])
        .arg(path)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn root_disk_is_a_qcow2_overlay_grown_to_the_flavor() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    std::fs::write(&base, vec![0u8; 1 << 20]).unwrap();
    let img = ImageRef {
        id: "base".into(),
        download_url: String::new(),
        disk_format: "raw".into(),
        size: 1 << 20,
        hash_algo: "sha256".into(),
        hash_value: String::new(),
        download_grant: None,
    };
    let disk = dir.path().join("disk");
    images::create_overlay(&base, &img, &disk, 1).await.unwrap();
    let info = qemu_img_info(&disk).await;
    assert_eq!(info["format"], "qcow2");
    assert_eq!(info["virtual-size"], 1u64 << 30);
    assert_eq!(info["backing-filename-format"], "raw");
    assert_eq!(
        info["backing-filename"].as_str().unwrap(),
        base.canonicalize().unwrap().to_str().unwrap()
    );

    // root_gb 0: the image's own size.
    let disk0 = dir.path().join("disk0");
    images::create_overlay(&base, &img, &disk0, 0)
        .await
        .unwrap();
    assert_eq!(qemu_img_info(&disk0).await["virtual-size"], 1u64 << 20);

    // A flavor smaller than the image is refused.
    let big = dir.path().join("big");
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&big)
        .arg("2G")
        .output()
        .unwrap();
    assert!(out.status.success());
    let big_img = ImageRef {
        id: "big".into(),
        disk_format: "qcow2".into(),
        ..img.clone()
    };
    let e = images::create_overlay(&big, &big_img, &dir.path().join("d2"), 1)
        .await
        .unwrap_err();
    assert!(matches!(e, ImageError::DiskTooSmall { .. }), "{e:?}");

    // An "image" that is itself an overlay (it could point at host files)
    // is refused.
    let sneaky = ImageRef {
        id: "sneaky".into(),
        disk_format: "qcow2".into(),
        ..img
    };
    let e = images::create_overlay(&disk, &sneaky, &dir.path().join("d3"), 1)
        .await
        .unwrap_err();
    assert!(matches!(e, ImageError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("refers to other files"), "{e}");
    assert!(!e.retry_elsewhere());
}
