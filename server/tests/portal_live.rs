//! The dashboard's live instance stream, `GET /portal/compute/events`, as a
//! browser reads it: a signed-in session hears of every change to its
//! project's instances (the row as the table shows it, then `gone`) and of
//! nothing in another project; `?all=true` follows every project for an
//! admin and is ignored for a member; no session, no stream. Across two
//! servers on one MariaDB and the real RabbitMQ, a browser on one hears of
//! what the other changed.

#![allow(clippy::unwrap_used)]

mod common;

use std::pin::Pin;
use std::time::Duration;

use cloud::{per_backend, Backend};
use common::{TestCloud, ADMIN_PASSWORD};
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};

type Events = Pin<Box<dyn Stream<Item = (String, String)> + Send>>;

/// One browser: a cookie store and a session signed in on the portal.
async fn browser(c: &TestCloud, user: &str, password: &str) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = b
        .post(format!("{}/api/login", c.url))
        .form(&[
            ("domain", "Default"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign in as {user}");
    b
}

/// The session's event stream (`query` is `""` or `"?all=true"`), as
/// (event, data) pairs.
async fn events(c: &TestCloud, b: &reqwest::Client, query: &str) -> Events {
    let res = b
        .get(format!("{}/portal/compute/events{query}", c.url))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    Box::pin(
        res.bytes_stream()
            .eventsource()
            .map(|e| {
                let e = e.expect("a well-formed event");
                (e.event, e.data)
            })
            // Keep-alive comments carry no event.
            .filter(|(event, _)| std::future::ready(!event.is_empty())),
    )
}

/// The next event, within ten seconds.
async fn next(s: &mut Events) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream stays open")
}

/// Reads `instance` events until one shows instance `id` with `status`;
/// every event before it must be about `id` too (the stream carries
/// nothing else here). Returns that row.
async fn until_status(s: &mut Events, id: &str, status: &str) -> Value {
    until(s, id, |row| row["status"] == status).await
}

/// Reads `instance` events about `id` until one whose row passes `done`.
async fn until(s: &mut Events, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    loop {
        let (event, data) = next(s).await;
        assert_eq!(event, "instance", "{event}: {data}");
        let row: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(row["id"], id, "a change to another instance: {row}");
        if done(&row) {
            return row;
        }
    }
}

/// Reads events until `gone` for `id`; every event before it is about `id`.
async fn until_gone(s: &mut Events, id: &str) {
    loop {
        let (event, data) = next(s).await;
        if event == "gone" {
            assert_eq!(data, id);
            return;
        }
        assert_eq!(event, "instance", "{event}: {data}");
        let row: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(row["id"], id, "a change to another instance: {row}");
    }
}

fn nova(c: &TestCloud, path: &str) -> String {
    format!("{}/compute/v2.1{path}", c.url)
}

/// A public image with data and a flavor `live-tiny`; the image's id.
async fn image_and_flavor(c: &TestCloud) -> String {
    let img = c
        .create_image(
            &c.admin_token,
            json!({"name": "live", "disk_format": "raw", "container_format": "bare", "visibility": "public"}),
        )
        .await;
    let id = img["id"].as_str().unwrap().to_string();
    c.upload_image(&c.admin_token, &id, b"bootable bytes".to_vec())
        .await
        .expect(204);
    c.post(
        &c.admin_token,
        &nova(c, "/flavors"),
        json!({"flavor": {"name": "live.tiny", "vcpus": 1, "ram": 512, "disk": 1, "id": "live-tiny"}}),
    )
    .await
    .expect(200);
    id
}

async fn boot(c: &TestCloud, token: &str, image: &str, name: &str) -> String {
    let res = c
        .post(
            token,
            &nova(c, "/servers"),
            json!({"server": {"name": name, "imageRef": image, "flavorRef": "live-tiny", "networks": "none"}}),
        )
        .await
        .expect(202);
    res.body["server"]["id"].as_str().unwrap().to_string()
}

async fn a_session_hears_its_project_and_nothing_else(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let image = image_and_flavor(&c).await;
    let (_, _, kim_token) = c.user_with_role("kim", "kim-project", "member").await;

    // No session: no stream, and the reason in the portal's error shape.
    let res = reqwest::get(format!("{}/portal/compute/events", c.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let admin = browser(&c, "admin", ADMIN_PASSWORD).await;
    let kim = browser(&c, "kim", "kim-password").await;
    let mut admin_project = events(&c, &admin, "").await;
    let mut admin_all = events(&c, &admin, "?all=true").await;
    let mut kim_project = events(&c, &kim, "").await;
    // A member asking for every project gets only its own.
    let mut kim_all = events(&c, &kim, "?all=true").await;

    // The admin's boot: BUILD, then ACTIVE, as the row the table shows.
    let vm = boot(&c, &c.admin_token, &image, "admin-vm").await;
    let row = until_status(&mut admin_project, &vm, "ACTIVE").await;
    assert_eq!(row["name"], "admin-vm");
    assert_eq!(row["power_state"], "running");
    assert_eq!(row["image_name"], "live");
    assert_eq!(row["flavor_name"], "live.tiny");
    assert_eq!(row["can"]["stop"], true);
    assert_eq!(row["can"]["start"], false);
    until_status(&mut admin_all, &vm, "ACTIVE").await;

    // A stop arrives as SHUTOFF, with what may be done now.
    c.post(
        &c.admin_token,
        &nova(&c, &format!("/servers/{vm}/action")),
        json!({"os-stop": null}),
    )
    .await
    .expect(202);
    let row = until_status(&mut admin_project, &vm, "SHUTOFF").await;
    assert_eq!(row["can"]["start"], true);
    assert_eq!(row["can"]["stop"], false);
    until_status(&mut admin_all, &vm, "SHUTOFF").await;

    // Kim's boot: the first thing either of kim's streams hears, so none
    // of the admin's changes reached them.
    let kim_vm = boot(&c, &kim_token, &image, "kim-vm").await;
    until_status(&mut kim_project, &kim_vm, "ACTIVE").await;
    until_status(&mut kim_all, &kim_vm, "ACTIVE").await;
    // The admin following every project hears it too.
    until_status(&mut admin_all, &kim_vm, "ACTIVE").await;

    // The admin's delete: the admin's project stream has heard nothing of
    // kim's instance before it; kim's streams hear nothing of it before
    // kim's own delete.
    c.delete(&c.admin_token, &nova(&c, &format!("/servers/{vm}")))
        .await
        .expect(204);
    until_gone(&mut admin_project, &vm).await;
    c.delete(&kim_token, &nova(&c, &format!("/servers/{kim_vm}")))
        .await
        .expect(204);
    until_gone(&mut kim_project, &kim_vm).await;
    until_gone(&mut kim_all, &kim_vm).await;
    c.finish().await;
}

per_backend!(multi_thread: a_session_hears_its_project_and_nothing_else);

fn amqp_url() -> String {
    std::env::var("GUREUM_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browser_on_one_server_hears_what_another_changed() {
    let prefix = format!("test-{}.", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let on_the_bus = |cfg: &mut gureum_server::Config| {
        cfg.bus.url = amqp_url();
        cfg.bus.prefix = prefix.clone();
        // No node: a boot ends in ERROR, which is a change like any other.
        cfg.bus.embedded_agent = false;
    };
    let a = TestCloud::start_with(Backend::MySql, on_the_bus).await;
    let b = TestCloud::start_beside(&a, on_the_bus).await;
    let image = image_and_flavor(&a).await;
    let browser_on_b = browser(&b, "admin", ADMIN_PASSWORD).await;
    let mut stream = events(&b, &browser_on_b, "").await;

    // Server a schedules the boot and records its failure; b's browser
    // hears each step.
    let vm = boot(&a, &a.admin_token, &image, "far-vm").await;
    let row = until_status(&mut stream, &vm, "ERROR").await;
    assert_eq!(row["name"], "far-vm");
    assert!(!row["fault"].as_str().unwrap().is_empty(), "{row}");

    // A rename on a.
    a.call_compute(
        reqwest::Method::PUT,
        &a.admin_token,
        &nova(&a, &format!("/servers/{vm}")),
        None,
        Some(json!({"server": {"name": "renamed"}})),
    )
    .await
    .expect(200);
    until(&mut stream, &vm, |row| row["name"] == "renamed").await;

    // And its delete.
    a.delete(&a.admin_token, &nova(&a, &format!("/servers/{vm}")))
        .await
        .expect(204);
    until_gone(&mut stream, &vm).await;
    b.finish().await;
    a.finish().await;
}
