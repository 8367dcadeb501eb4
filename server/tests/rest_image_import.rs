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
        json!(["glance-direct"])
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

    // Unknown methods, web-download (nothing is fetched) and named stores
    // are refused.
    for (bad, needle) in [
        (json!({"method": {"name": "copy-image"}}), "copy-image"),
        (
            json!({"method": {"name": "web-download", "uri": "http://example.com/x.img"}}),
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
