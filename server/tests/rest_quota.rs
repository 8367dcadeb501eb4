//! Quotas and the project lifecycle through the REST APIs, on SQLite and on
//! MariaDB: an over-quota request is Glance's 413 naming the resource, and
//! `DELETE /v3/projects/{id}` takes the project's images (data included).

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::{test_data, TestCloud};
use serde_json::{json, Value};

fn raw_image(name: &str) -> Value {
    json!({"name": name, "disk_format": "raw", "container_format": "bare", "visibility": "private"})
}

fn image_ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn over_quota_is_413_naming_the_resource(backend: Backend) {
    let c = TestCloud::start_with(backend, |cfg| {
        cfg.image.max_images_per_project = 1;
        cfg.image.max_bytes_per_project = 1000;
    })
    .await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let id = c.create_image(&tok, raw_image("one")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = c
        .post(&tok, &c.image_url("/images"), raw_image("two"))
        .await
        .expect(413);
    assert!(res.message().contains("image_count_total"), "{}", res.body);
    let res = c
        .upload_image(&tok, &id, test_data(2000, 1))
        .await
        .expect(413);
    assert!(res.message().contains("image_size_total"), "{}", res.body);
    assert!(c.stored_files().is_empty(), "{:?}", c.stored_files());
    c.finish().await;
}
per_backend!(multi_thread: over_quota_is_413_naming_the_resource);

async fn deleting_a_project_deletes_its_images(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, doomed, tok) = c.user_with_role("alice", "proj-doomed", "member").await;
    let (_, _, other) = c.user_with_role("bob", "proj-other", "member").await;
    let gone = c.create_image(&tok, raw_image("gone")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.upload_image(&tok, &gone, test_data(4000, 1))
        .await
        .expect(204);
    let kept = c.create_image(&other, raw_image("kept")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.stored_files(), vec![format!("images/{gone}")]);

    let admin = c.admin_token.clone();
    c.delete(&admin, &c.v3(&format!("/projects/{doomed}")))
        .await
        .expect(204);

    let list = c
        .get(&admin, &c.image_url("/images"))
        .await
        .expect(200)
        .body;
    assert_eq!(image_ids(&list), vec![kept.clone()]);
    c.get(&admin, &c.image_url(&format!("/images/{gone}")))
        .await
        .expect(404);
    assert!(c.stored_files().is_empty(), "{:?}", c.stored_files());
    c.finish().await;
}
per_backend!(multi_thread: deleting_a_project_deletes_its_images);
