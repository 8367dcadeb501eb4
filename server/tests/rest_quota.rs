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

/// Nova's quota class `default` over the engine's default overrides: admins
/// read and change it (all or nothing), and `os-quota-sets/{p}/defaults`,
/// the project's own view and `/limits` follow it for a project without
/// its own limit, not for one with.
async fn quota_class_default_sets_the_defaults(backend: Backend) {
    use reqwest::Method;
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, project_b, _) = c.user_with_role("bob", "proj-b", "member").await;
    let nova = |path: &str| format!("{}/compute/v2.1{path}", c.url);
    let class = nova("/os-quota-class-sets/default");

    let res = c
        .call_compute(
            Method::GET,
            &alice,
            &nova(&format!("/os-quota-sets/{project_a}/defaults")),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(res.body["quota_set"]["instances"], 10);
    c.call_compute(Method::GET, &alice, &class, None, None)
        .await
        .expect(403);
    c.call_compute(
        Method::PUT,
        &alice,
        &class,
        None,
        Some(json!({"quota_class_set": {"instances": 50}})),
    )
    .await
    .expect(403);
    let res = c
        .call_compute(Method::GET, &admin, &class, Some("2.57"), None)
        .await
        .expect(200);
    let set = &res.body["quota_class_set"];
    assert_eq!(set["id"], "default");
    assert_eq!(set["instances"], 10);
    assert_eq!(set["server_groups"], 10);
    assert!(set.get("injected_files").is_none(), "{set}");
    assert!(set.get("floating_ips").is_none(), "{set}");
    // Below 2.50 a class still shows the network quotas.
    let res = c
        .call_compute(Method::GET, &admin, &class, Some("2.49"), None)
        .await
        .expect(200);
    assert_eq!(res.body["quota_class_set"]["floating_ips"], 10);
    c.call_compute(
        Method::GET,
        &admin,
        &nova("/os-quota-class-sets/gold"),
        None,
        None,
    )
    .await
    .expect(404);

    c.call_compute(
        Method::PUT,
        &admin,
        &nova(&format!("/os-quota-sets/{project_b}")),
        None,
        Some(json!({"quota_set": {"instances": 3}})),
    )
    .await
    .expect(200);
    let res = c
        .call_compute(
            Method::PUT,
            &admin,
            &class,
            None,
            Some(json!({"quota_class_set": {"instances": 7, "cores": "30"}})),
        )
        .await
        .expect(200);
    assert_eq!(res.body["quota_class_set"]["instances"], 7);
    assert_eq!(res.body["quota_class_set"]["cores"], 30);
    assert!(res.body["quota_class_set"].get("id").is_none());
    // Refused bodies change nothing, not even their valid part.
    for bad in [
        json!({"quota_class_set": {"cores": 5, "instances": -2}}),
        json!({"quota_class_set": {"cores": 5, "instances": "many"}}),
        json!({"quota_class_set": {"cores": 5, "bogus": 1}}),
        json!({"quota_class_set": {"cores": 5, "server_groups": 99}}),
        json!({"cores": 5}),
    ] {
        c.call_compute(Method::PUT, &admin, &class, None, Some(bad.clone()))
            .await
            .expect(400);
    }
    let res = c
        .call_compute(Method::GET, &admin, &class, None, None)
        .await
        .expect(200);
    assert_eq!(res.body["quota_class_set"]["cores"], 30);

    let res = c
        .call_compute(
            Method::GET,
            &alice,
            &nova(&format!("/os-quota-sets/{project_a}/defaults")),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(res.body["quota_set"]["instances"], 7);
    let res = c
        .call_compute(
            Method::GET,
            &alice,
            &nova(&format!("/os-quota-sets/{project_a}")),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(res.body["quota_set"]["instances"], 7);
    assert_eq!(res.body["quota_set"]["cores"], 30);
    let res = c
        .call_compute(Method::GET, &alice, &nova("/limits"), None, None)
        .await
        .expect(200);
    assert_eq!(res.body["limits"]["absolute"]["maxTotalInstances"], 7);
    let res = c
        .call_compute(
            Method::GET,
            &admin,
            &nova(&format!("/os-quota-sets/{project_b}")),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(res.body["quota_set"]["instances"], 3, "b keeps its own");
    // Unlimited.
    c.call_compute(
        Method::PUT,
        &admin,
        &class,
        None,
        Some(json!({"quota_class_set": {"instances": -1}})),
    )
    .await
    .expect(200);
    let res = c
        .call_compute(
            Method::GET,
            &alice,
            &nova(&format!("/os-quota-sets/{project_a}/detail")),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(res.body["quota_set"]["instances"]["limit"], -1);
    c.finish().await;
}
per_backend!(multi_thread: quota_class_default_sets_the_defaults);
