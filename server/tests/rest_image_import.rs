//! Glance's interoperable import (stage, then `glance-direct`), the task
//! records it leaves, and the tasks API, against the real server on SQLite
//! and MariaDB.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::{test_data, TestCloud};
use md5::{Digest, Md5};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn id_of(image: &Value) -> String {
    image["id"].as_str().unwrap().to_string()
}

async fn stage(c: &TestCloud, token: &str, id: &str, data: Vec<u8>) -> common::Res {
    let res = TestCloud::unpooled_client()
        .put(c.image_url(&format!("/images/{id}/stage")))
        .header("X-Auth-Token", token)
        .header("Content-Type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    common::Res::from_response(res).await
}

async fn status_of(c: &TestCloud, token: &str, id: &str) -> Value {
    c.get(token, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(200)
        .body
}

/// Stage, then import: `uploading` with its data hashed, then `active`
/// with one successful task naming the request; the data downloads intact.
async fn stage_then_glance_direct_import(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, a) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, reader) = c.user_with_role("rita", "proj-a", "reader").await;
    let info = c.get(&a, &c.image_url("/info/import")).await.expect(200);
    assert_eq!(
        info.body["import-methods"]["value"],
        json!(["glance-direct", "web-download"])
    );

    let img = c
        .create_image(
            &a,
            json!({"name": "staged", "disk_format": "raw", "container_format": "bare"}),
        )
        .await;
    let id = id_of(&img);
    // Importing before staging is refused, and changes nothing.
    let body = json!({"method": {"name": "glance-direct"}, "all_stores": true});
    c.post(
        &a,
        &c.image_url(&format!("/images/{id}/import")),
        body.clone(),
    )
    .await
    .expect(409);
    let data = test_data(50_000, 11);
    stage(&c, &reader, &id, data.clone()).await.expect(403);
    stage(&c, &a, &id, data.clone()).await.expect(204);
    let shown = status_of(&c, &reader, &id).await;
    assert_eq!(shown["status"], "uploading");
    // Staged data is not yet the image's: no download, no second stage.
    let (status, _, _) = c.download_image(&a, &id, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    stage(&c, &a, &id, data.clone()).await.expect(409);

    // Unknown methods, a web-download from the server's own network and
    // named stores are refused.
    for (bad, needle) in [
        (json!({"method": {"name": "copy-image"}}), "copy-image"),
        (
            json!({"method": {"name": "web-download", "uri": "http://127.0.0.1/x.img"}}),
            "does not pass filtering",
        ),
        (
            json!({"method": {"name": "glance-direct"}, "stores": ["a"]}),
            "Multi backend",
        ),
        (
            json!({"method": {"name": "glance-direct"}, "x": "y".repeat(9000)}),
            "at most",
        ),
    ] {
        let res = c
            .post(&a, &c.image_url(&format!("/images/{id}/import")), bad)
            .await
            .expect(400);
        assert!(res.message().contains(needle), "{}", res.message());
    }
    let res = c
        .post(
            &a,
            &c.image_url(&format!("/images/{id}/import")),
            body.clone(),
        )
        .await
        .expect(202);
    let request_id = res.header("x-openstack-request-id").unwrap();
    let shown = status_of(&c, &a, &id).await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["size"], json!(data.len()));
    assert_eq!(shown["checksum"], json!(hex::encode(Md5::digest(&data))));
    let (status, _, got) = c.download_image(&a, &id, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got == data);
    // A second import finds nothing staged.
    c.post(
        &a,
        &c.image_url(&format!("/images/{id}/import")),
        body.clone(),
    )
    .await
    .expect(409);

    let tasks = c
        .get(&reader, &c.image_url(&format!("/images/{id}/tasks")))
        .await
        .expect(200)
        .body;
    let tasks = tasks["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task["status"], "success");
    assert_eq!(task["type"], "api_image_import");
    assert_eq!(task["image_id"], json!(id));
    assert_eq!(task["request_id"], json!(request_id));
    assert_eq!(
        task["input"]["import_req"]["method"]["name"],
        "glance-direct"
    );
    let task_id = task["id"].as_str().unwrap().to_string();

    // The tasks API is for admins.
    c.get(&a, &c.image_url("/tasks")).await.expect(403);
    c.get(&a, &c.image_url(&format!("/tasks/{task_id}")))
        .await
        .expect(403);
    let admin = c.admin_token.clone();
    let shown = c
        .get(&admin, &c.image_url(&format!("/tasks/{task_id}")))
        .await
        .expect(200)
        .body;
    assert_eq!(shown["status"], "success");
    let list = c.get(&admin, &c.image_url("/tasks")).await.expect(200).body;
    assert_eq!(list["tasks"][0]["id"], json!(task_id));
    assert!(list["tasks"][0].get("input").is_none());
    let list = c
        .get(&admin, &c.image_url("/tasks?status=failure"))
        .await
        .expect(200)
        .body;
    assert_eq!(list["tasks"], json!([]));
    c.get(
        &admin,
        &c.image_url("/tasks/00000000-0000-0000-0000-000000000000"),
    )
    .await
    .expect(404);
    c.get(&admin, &c.image_url("/schemas/task"))
        .await
        .expect(200);
    c.get(&admin, &c.image_url("/schemas/tasks"))
        .await
        .expect(200);
    c.finish().await;
}
per_backend!(multi_thread: stage_then_glance_direct_import);

/// Staging runs the upload's checks: data that is not what its format says
/// is refused and the image stays `queued` with nothing stored.
async fn staging_refuses_what_upload_refuses(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, a) = c.user_with_role("alice", "proj-a", "member").await;
    let img = c
        .create_image(
            &a,
            json!({"name": "bogus", "disk_format": "qcow2", "container_format": "bare"}),
        )
        .await;
    let id = id_of(&img);
    let res = stage(&c, &a, &id, test_data(4096, 5)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.message());
    assert_eq!(status_of(&c, &a, &id).await["status"], "queued");
    assert!(c.stored_files().is_empty(), "{:?}", c.stored_files());
    c.finish().await;
}
per_backend!(multi_thread: staging_refuses_what_upload_refuses);

/// Legacy import tasks fetch a URI: refused at create (no host passes the
/// import filter), as newer Glance refuses filtered URIs; admins only.
async fn legacy_import_tasks_are_refused_at_create(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, a) = c.user_with_role("alice", "proj-a", "member").await;
    let admin = c.admin_token.clone();
    let task = json!({
        "type": "import",
        "input": {
            "import_from": "http://nowhere.invalid/x.qcow2",
            "import_from_format": "qcow2",
            "image_properties": {"disk_format": "qcow2", "container_format": "bare"},
        },
    });
    c.post(&a, &c.image_url("/tasks"), task.clone())
        .await
        .expect(403);
    let res = c
        .post(&admin, &c.image_url("/tasks"), task)
        .await
        .expect(400);
    assert!(
        res.message().contains("does not pass filtering"),
        "{}",
        res.message()
    );
    let res = c
        .post(
            &admin,
            &c.image_url("/tasks"),
            json!({"type": "import", "input": {"import_from": "file:///etc/passwd"}}),
        )
        .await
        .expect(400);
    assert!(res.message().contains("not valid"), "{}", res.message());
    c.post(
        &admin,
        &c.image_url("/tasks"),
        json!({"type": "clone", "input": {}}),
    )
    .await
    .expect(400);
    let list = c.get(&admin, &c.image_url("/tasks")).await.expect(200).body;
    assert_eq!(list["tasks"], json!([]));
    c.finish().await;
}
per_backend!(multi_thread: legacy_import_tasks_are_refused_at_create);

/// A one-file web server on loopback for web-download: `/disk.qcow2`
/// serves `disk`, `/random` serves `random` (raw bytes), `/to-port-1`
/// redirects to a port imports may not use, anything else is a 404.
async fn source_server(disk: Vec<u8>, random: Vec<u8>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let (disk, random) = (disk.clone(), random.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let path = line.split(' ').nth(1).unwrap_or("/").to_string();
                let (status, extra, body) = match path.as_str() {
                    "/disk.qcow2" => ("200 OK", String::new(), disk),
                    "/random" => ("200 OK", String::new(), random),
                    "/to-port-1" => (
                        "302 Found",
                        "Location: http://127.0.0.1:1/disk.qcow2\r\n".to_string(),
                        Vec::new(),
                    ),
                    _ => ("404 Not Found", String::new(), b"no such file".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    port
}

/// Waits for the image's import task to end; returns the image and task.
async fn import_outcome(c: &TestCloud, token: &str, id: &str) -> (Value, Value) {
    for _ in 0..200 {
        let tasks = c
            .get(token, &c.image_url(&format!("/images/{id}/tasks")))
            .await
            .expect(200)
            .body;
        let last = tasks["tasks"].as_array().unwrap().first().cloned();
        if let Some(task) = last.filter(|t| t["status"] != "processing" && t["status"] != "pending")
        {
            return (status_of(c, token, id).await, task);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import of {id} did not end within 10 s");
}

/// web-download fetches over HTTP through the one upload pipeline: the
/// image is `importing`, then `active` with the data's hashes; a source
/// that fails (404, a redirect off the allowed ports, a name resolving to
/// loopback that is not trusted, data that is not its declared format)
/// ends the task in `failure` and leaves the image `queued`, ready for
/// another try. URIs off the filter are refused before anything changes.
async fn web_download_fetches_through_the_upload_pipeline(backend: Backend) {
    let disk = common::qcow2_image("16M");
    let random = test_data(40_000, 5);
    let port = source_server(disk.clone(), random.clone()).await;
    let c = TestCloud::start_with(backend, |cfg| {
        cfg.image.import_allowed_hosts = vec!["127.0.0.1".into()];
        cfg.image.import_allowed_ports = vec![80, 443, port];
    })
    .await;
    let (_, _, a) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, b) = c.user_with_role("bob", "proj-b", "member").await;
    let new_image =
        |name: &str| json!({"name": name, "disk_format": "qcow2", "container_format": "bare"});
    let web = |uri: String| json!({"method": {"name": "web-download", "uri": uri}});
    let import = |id: &str| c.image_url(&format!("/images/{id}/import"));

    let img = c.create_image(&a, new_image("fetched")).await;
    let id = id_of(&img);
    // Another project cannot import into it; bad URIs change nothing.
    c.post(
        &b,
        &import(&id),
        web(format!("http://127.0.0.1:{port}/disk.qcow2")),
    )
    .await
    .expect(404);
    for (uri, needle) in [
        (
            "http://127.0.0.1:1/disk.qcow2".to_string(),
            "does not pass filtering",
        ),
        (
            "http://10.1.2.3/disk.qcow2".to_string(),
            "does not pass filtering",
        ),
        ("ftp://127.0.0.1/disk.qcow2".to_string(), "supported uri"),
    ] {
        let res = c.post(&a, &import(&id), web(uri)).await.expect(400);
        assert!(res.message().contains(needle), "{}", res.message());
    }
    assert_eq!(status_of(&c, &a, &id).await["status"], "queued");

    // Each failing source: the task fails, the image stays queued.
    for path in ["/missing", "/to-port-1", "/random"] {
        c.post(
            &a,
            &import(&id),
            web(format!("http://127.0.0.1:{port}{path}")),
        )
        .await
        .expect(202);
        let (image, task) = import_outcome(&c, &a, &id).await;
        assert_eq!(task["status"], "failure", "{path}: {task}");
        assert!(!task["message"].as_str().unwrap().is_empty());
        assert_eq!(image["status"], "queued", "{path}");
        assert_eq!(image["size"], Value::Null, "{path}");
    }
    // A name that resolves to loopback is not trusted: the resolver drops
    // the address, so the fetch fails without touching the source.
    c.post(
        &a,
        &import(&id),
        web(format!("http://localhost:{port}/disk.qcow2")),
    )
    .await
    .expect(202);
    let (image, task) = import_outcome(&c, &a, &id).await;
    assert_eq!(task["status"], "failure", "{task}");
    assert_eq!(image["status"], "queued");

    // The good source.
    let res = c
        .post(
            &a,
            &import(&id),
            web(format!("http://127.0.0.1:{port}/disk.qcow2")),
        )
        .await
        .expect(202);
    let request_id = res.header("x-openstack-request-id").unwrap();
    let (image, task) = import_outcome(&c, &a, &id).await;
    assert_eq!(task["status"], "success", "{task}");
    assert_eq!(task["request_id"], json!(request_id));
    assert_eq!(
        task["input"]["import_req"]["method"]["name"],
        "web-download"
    );
    assert_eq!(image["status"], "active");
    assert_eq!(image["size"], json!(disk.len()));
    assert_eq!(image["virtual_size"], json!(16 * 1024 * 1024));
    assert_eq!(image["checksum"], json!(hex::encode(Md5::digest(&disk))));
    let (status, _, got) = c.download_image(&a, &id, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got == disk);
    // An active image takes no second import.
    c.post(
        &a,
        &import(&id),
        web(format!("http://127.0.0.1:{port}/disk.qcow2")),
    )
    .await
    .expect(409);
    c.finish().await;
}

per_backend!(multi_thread: web_download_fetches_through_the_upload_pipeline);

/// With `require_format_match` off (Glance's option, which Tempest's list
/// tests need), data that is not its declared format is kept as declared;
/// images that refer to other files are still refused.
async fn format_match_off_keeps_the_declared_format(backend: Backend) {
    let c = TestCloud::start_with(backend, |cfg| cfg.image.require_format_match = false).await;
    let (_, _, a) = c.user_with_role("alice", "proj-a", "member").await;
    let img = c
        .create_image(
            &a,
            json!({"name": "lies", "disk_format": "qcow2", "container_format": "bare"}),
        )
        .await;
    let id = id_of(&img);
    let data = test_data(3000, 9);
    c.upload_image(&a, &id, data.clone()).await.expect(204);
    let shown = status_of(&c, &a, &id).await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["disk_format"], "qcow2");
    assert_eq!(shown["size"], json!(data.len()));

    // A qcow2 with a backing file is refused whatever it declares.
    let dir =
        std::env::temp_dir().join(format!("gureum-backing-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("base.qcow2");
    let top = dir.join("top.qcow2");
    for args in [
        vec!["create", "-q", "-f", "qcow2", base.to_str().unwrap(), "1M"],
        vec![
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            base.to_str().unwrap(),
            top.to_str().unwrap(),
        ],
    ] {
        let out = std::process::Command::new("qemu-img")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let layered = std::fs::read(&top).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    for declared in ["qcow2", "raw"] {
        let img = c
            .create_image(
                &a,
                json!({"name": "layered", "disk_format": declared, "container_format": "bare"}),
            )
            .await;
        let res = c
            .upload_image(&a, &id_of(&img), layered.clone())
            .await
            .expect(400);
        assert!(res.message().contains("backing file"), "{}", res.message());
    }
    c.finish().await;
}

per_backend!(multi_thread: format_match_off_keeps_the_declared_format);
