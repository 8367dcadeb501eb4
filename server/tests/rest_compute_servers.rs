//! Nova's server API end to end, on SQLite and on MariaDB: the server's
//! conductor and its embedded agent (libvirt's test driver over the
//! in-process bus) take a boot from POST /servers to ACTIVE, through every
//! power action, the console log and delete; another project sees nothing.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cloud::{per_backend, Backend};
use common::{Res, TestCloud};
use reqwest::Method;
use serde_json::{json, Value};

fn nova(c: &TestCloud, path: &str) -> String {
    format!("{}/compute/v2.1{path}", c.url)
}

/// A public raw image with data, and a flavor; returns (image id, flavor id).
async fn image_and_flavor(c: &TestCloud) -> (String, String) {
    let img = c
        .create_image(
            &c.admin_token,
            json!({"name": "tiny", "disk_format": "raw", "container_format": "bare", "visibility": "public"}),
        )
        .await;
    let id = img["id"].as_str().unwrap().to_string();
    c.upload_image(&c.admin_token, &id, b"bootable bytes".to_vec())
        .await
        .expect(204);
    let f = c
        .post(
            &c.admin_token,
            &nova(c, "/flavors"),
            json!({"flavor": {"name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1, "id": "tiny"}}),
        )
        .await
        .expect(200);
    (id, f.body["flavor"]["id"].as_str().unwrap().to_string())
}

async fn wait_status(c: &TestCloud, tok: &str, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = c.get(tok, &nova(c, &format!("/servers/{id}"))).await;
        if want == "GONE" && res.status.as_u16() == 404 {
            return Value::Null;
        }
        let s = res.expect(200).body["server"].clone();
        if s["status"] == want && s["OS-EXT-STS:task_state"].is_null() {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {want}, server is {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn action(c: &TestCloud, tok: &str, id: &str, body: Value) -> Res {
    c.post(tok, &nova(c, &format!("/servers/{id}/action")), body)
        .await
}

async fn boot_and_run_through_every_action(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (image, flavor) = image_and_flavor(&c).await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, other) = c.user_with_role("mallory", "proj-b", "member").await;

    // Nova 2.37+: `networks` is required.
    let res = c
        .client
        .post(nova(&c, "/servers"))
        .header("X-Auth-Token", &tok)
        .header("OpenStack-API-Version", "compute 2.96")
        .json(&json!({"server": {"name": "web", "imageRef": image, "flavorRef": flavor}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = c
        .client
        .post(nova(&c, "/servers"))
        .header("X-Auth-Token", &tok)
        .header("OpenStack-API-Version", "compute 2.96")
        .json(&json!({"server": {"name": "web", "imageRef": image, "flavorRef": flavor, "networks": "none", "metadata": {"role": "web"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert!(res.headers().get("location").is_some());
    let body: Value = res.json().await.unwrap();
    let id = body["server"]["id"].as_str().unwrap().to_string();

    let s = wait_status(&c, &tok, &id, "ACTIVE").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 1);
    assert_eq!(s["metadata"]["role"], "web");
    assert_eq!(s["tenant_id"].as_str().unwrap().len(), 32);
    assert!(
        s["OS-EXT-SRV-ATTR:host"].is_null(),
        "host is an admin's: {s}"
    );
    let admin_view = c
        .get(&c.admin_token, &nova(&c, &format!("/servers/{id}")))
        .await
        .expect(200);
    assert_eq!(
        admin_view.body["server"]["OS-EXT-SRV-ATTR:host"],
        c.state.config.agent.node.as_str()
    );

    // Another project: not found, and an empty list.
    c.get(&other, &nova(&c, &format!("/servers/{id}")))
        .await
        .expect(404);
    action(&c, &other, &id, json!({"os-stop": null}))
        .await
        .expect(404);
    c.delete(&other, &nova(&c, &format!("/servers/{id}")))
        .await
        .expect(404);
    let list = c
        .get(&other, &nova(&c, "/servers/detail"))
        .await
        .expect(200);
    assert_eq!(list.body["servers"], json!([]));
    let list = c.get(&tok, &nova(&c, "/servers")).await.expect(200);
    assert_eq!(list.body["servers"][0]["id"], id.as_str());
    let all = c
        .get(&c.admin_token, &nova(&c, "/servers/detail?all_tenants=1"))
        .await
        .expect(200);
    assert_eq!(all.body["servers"].as_array().unwrap().len(), 1);
    c.get(&tok, &nova(&c, "/servers/detail?all_tenants=1"))
        .await
        .expect(403);

    // A start while running is Nova's 409.
    let res = action(&c, &tok, &id, json!({"os-start": null}))
        .await
        .expect(409);
    assert!(
        res.message().contains("Cannot 'start' instance"),
        "{}",
        res.body
    );

    action(&c, &tok, &id, json!({"os-stop": null}))
        .await
        .expect(202);
    assert_eq!(
        wait_status(&c, &tok, &id, "SHUTOFF").await["OS-EXT-STS:power_state"],
        4
    );
    action(&c, &tok, &id, json!({"os-start": null}))
        .await
        .expect(202);
    wait_status(&c, &tok, &id, "ACTIVE").await;
    action(&c, &tok, &id, json!({"reboot": {"type": "SOFT"}}))
        .await
        .expect(202);
    wait_status(&c, &tok, &id, "ACTIVE").await;
    action(&c, &tok, &id, json!({"reboot": {"type": "HARD"}}))
        .await
        .expect(202);
    wait_status(&c, &tok, &id, "ACTIVE").await;
    action(&c, &tok, &id, json!({"reboot": {"type": "sideways"}}))
        .await
        .expect(400);
    action(&c, &tok, &id, json!({"pause": null}))
        .await
        .expect(202);
    assert_eq!(
        wait_status(&c, &tok, &id, "PAUSED").await["OS-EXT-STS:power_state"],
        3
    );
    action(&c, &tok, &id, json!({"unpause": null}))
        .await
        .expect(202);
    wait_status(&c, &tok, &id, "ACTIVE").await;
    action(&c, &tok, &id, json!({"suspend": null}))
        .await
        .expect(202);
    wait_status(&c, &tok, &id, "SUSPENDED").await;
    action(&c, &tok, &id, json!({"resume": null}))
        .await
        .expect(202);
    wait_status(&c, &tok, &id, "ACTIVE").await;
    action(&c, &tok, &id, json!({"explode": null}))
        .await
        .expect(400);

    let out = action(
        &c,
        &tok,
        &id,
        json!({"os-getConsoleOutput": {"length": 10}}),
    )
    .await
    .expect(200);
    assert!(out.body["output"].is_string(), "{}", out.body);

    action(
        &c,
        &tok,
        &id,
        json!({"lock": {"locked_reason": "hands off"}}),
    )
    .await
    .expect(202);
    let res = c
        .client
        .get(nova(&c, &format!("/servers/{id}")))
        .header("X-Auth-Token", &tok)
        .header("OpenStack-API-Version", "compute 2.73")
        .send()
        .await
        .unwrap();
    let locked: Value = res.json().await.unwrap();
    assert_eq!(locked["server"]["locked"], true);
    assert_eq!(locked["server"]["locked_reason"], "hands off");
    c.delete(&tok, &nova(&c, &format!("/servers/{id}")))
        .await
        .expect(409);
    action(&c, &tok, &id, json!({"unlock": null}))
        .await
        .expect(202);

    let acts = c
        .get(
            &tok,
            &nova(&c, &format!("/servers/{id}/os-instance-actions")),
        )
        .await
        .expect(200);
    let names: Vec<&str> = acts.body["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"create") && names.contains(&"stop") && names.contains(&"lock"),
        "{names:?}"
    );

    // Usage counts against the limits while it lives.
    let limits = c.get(&tok, &nova(&c, "/limits")).await.expect(200);
    assert_eq!(
        limits.body["limits"]["absolute"]["totalInstancesUsed"], 1,
        "{}",
        limits.body
    );

    c.delete(&tok, &nova(&c, &format!("/servers/{id}")))
        .await
        .expect(204);
    wait_status(&c, &tok, &id, "GONE").await;
    let limits = c.get(&tok, &nova(&c, "/limits")).await.expect(200);
    assert_eq!(limits.body["limits"]["absolute"]["totalInstancesUsed"], 0);
    c.finish().await;
}

async fn bad_requests_are_clear_faults(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (image, flavor) = image_and_flavor(&c).await;
    let (_, _, tok) = c.user_with_role("bob", "proj-a", "member").await;
    let cases = [
        (
            json!({"server": {"imageRef": image, "flavorRef": flavor}}),
            400,
            "name",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": "nope"}}),
            400,
            "Flavor nope could not be found",
        ),
        (
            json!({"server": {"name": "x", "imageRef": "00000000-0000-0000-0000-000000000000", "flavorRef": flavor}}),
            400,
            "could not be found",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": flavor, "user_data": "not base64!"}}),
            400,
            "base 64",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": flavor, "key_name": "missing"}}),
            400,
            "missing",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": flavor, "min_count": 0}}),
            400,
            "min_count",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": flavor, "accessIPv4": "1.1.1.1.1.1"}}),
            400,
            "'1.1.1.1.1.1' is not a 'ipv4'",
        ),
        (
            json!({"server": {"name": "x", "imageRef": image, "flavorRef": flavor, "accessIPv6": "1.2.3.4"}}),
            400,
            "accessIPv6",
        ),
        (json!({"nothing": {}}), 400, "server"),
    ];
    for (body, status, text) in cases {
        let res = c
            .post(&tok, &nova(&c, "/servers"), body.clone())
            .await
            .expect(status);
        assert!(res.message().contains(text), "{body} → {}", res.body);
    }
    let list = c.get(&tok, &nova(&c, "/servers")).await.expect(200);
    assert_eq!(list.body["servers"], json!([]), "nothing half-made");
    c.get(&tok, &nova(&c, "/servers/nope")).await.expect(404);
    c.get(&tok, &nova(&c, "/servers?limit=x")).await.expect(400);
    c.finish().await;
}

/// accessIPv4/v6 as Nova keeps them: given at create, shown (IPv6 in its
/// canonical form), changed and cleared by PUT, a bad one refused with the
/// server left as it was. Admins see the kernel and ramdisk a server boots.
async fn access_addresses_and_boot_images(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (image, flavor) = image_and_flavor(&c).await;
    let (_, _, tok) = c.user_with_role("carol", "proj-a", "member").await;
    let res = c
        .post(
            &tok,
            &nova(&c, "/servers"),
            json!({"server": {"name": "reach", "imageRef": image, "flavorRef": flavor, "networks": "none",
                "accessIPv4": "1.1.1.1", "accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2"}}),
        )
        .await
        .expect(202);
    let id = res.body["server"]["id"].as_str().unwrap().to_string();
    let s = wait_status(&c, &tok, &id, "ACTIVE").await;
    assert_eq!(
        (&s["accessIPv4"], &s["accessIPv6"]),
        (&json!("1.1.1.1"), &json!("::babe:dc0c:1602"))
    );
    let url = nova(&c, &format!("/servers/{id}"));
    let put = |body: Value| c.call_compute(Method::PUT, &tok, &url, None, Some(body));
    let res = put(json!({"server": {"accessIPv4": "2.2.2.2", "accessIPv6": "::babe:202:202"}}))
        .await
        .expect(200);
    assert_eq!(res.body["server"]["accessIPv4"], "2.2.2.2");
    let bad = put(json!({"server": {"name": "renamed", "accessIPv4": "::1"}}))
        .await
        .expect(400);
    assert!(bad.message().contains("accessIPv4"), "{}", bad.body);
    let s = c.get(&tok, &url).await.expect(200).body["server"].clone();
    assert_eq!(
        (&s["name"], &s["accessIPv4"], &s["accessIPv6"]),
        (&json!("reach"), &json!("2.2.2.2"), &json!("::babe:202:202"))
    );
    put(json!({"server": {"accessIPv4": ""}})).await.expect(200);
    let s = c.get(&tok, &url).await.expect(200).body["server"].clone();
    assert_eq!(
        (&s["accessIPv4"], &s["accessIPv6"]),
        (&json!(""), &json!("::babe:202:202"))
    );

    // A kernel-booted image: the admin's view names both parts.
    let part = |name: &'static str, disk: &'static str| {
        let c = &c;
        async move {
            let img = c
                .create_image(&c.admin_token, json!({"name": name, "disk_format": disk, "container_format": disk, "visibility": "public"}))
                .await;
            let id = img["id"].as_str().unwrap().to_string();
            c.upload_image(&c.admin_token, &id, b"part".to_vec())
                .await
                .expect(204);
            id
        }
    };
    let kernel = part("vmlinuz", "aki").await;
    let ramdisk = part("initrd", "ari").await;
    let root = c
        .create_image(
            &c.admin_token,
            json!({"name": "root", "disk_format": "ami", "container_format": "ami", "visibility": "public",
                "kernel_id": kernel, "ramdisk_id": ramdisk}),
        )
        .await;
    let root = root["id"].as_str().unwrap().to_string();
    c.upload_image(&c.admin_token, &root, b"root".to_vec())
        .await
        .expect(204);
    let res = c
        .post(
            &tok,
            &nova(&c, "/servers"),
            json!({"server": {"name": "direct", "imageRef": root, "flavorRef": flavor, "networks": "none"}}),
        )
        .await
        .expect(202);
    let direct = res.body["server"]["id"].as_str().unwrap().to_string();
    let admin = c
        .call_compute(
            Method::GET,
            &c.admin_token,
            &nova(&c, &format!("/servers/{direct}")),
            Some("2.3"),
            None,
        )
        .await
        .expect(200)
        .body["server"]
        .clone();
    assert_eq!(
        (
            &admin["OS-EXT-SRV-ATTR:kernel_id"],
            &admin["OS-EXT-SRV-ATTR:ramdisk_id"]
        ),
        (&json!(kernel), &json!(ramdisk))
    );
    c.finish().await;
}

/// Clients that hang up in the middle of `POST /servers` (a timeout, a
/// closed laptop) cancel the request's handler; every boot that was
/// committed still starts and goes ACTIVE, none waits in BUILD.
async fn boots_whose_client_hangs_up_still_start(backend: Backend) {
    let c = TestCloud::start_with(backend, |cfg| {
        // Room on the embedded node for every boot.
        cfg.agent.vcpus = Some(1000);
        cfg.agent.memory_mib = Some(1 << 20);
    })
    .await;
    let (image, flavor) = image_and_flavor(&c).await;
    let (_, project, tok) = c.user_with_role("dave", "proj-h", "member").await;
    c.call_compute(
        Method::PUT,
        &c.admin_token,
        &nova(&c, &format!("/os-quota-sets/{project}")),
        None,
        Some(json!({"quota_set": {"instances": -1, "cores": -1, "ram": -1}})),
    )
    .await
    .expect(200);
    let impatient = reqwest::Client::new();
    let mut cut = 0;
    for i in 0..60u64 {
        let res = impatient
            .post(nova(&c, "/servers"))
            .header("X-Auth-Token", &tok)
            .timeout(Duration::from_millis(1 + i % 15))
            .json(&json!({"server": {"name": format!("hasty-{i}"), "imageRef": image, "flavorRef": flavor, "networks": "none"}}))
            .send()
            .await;
        if res.is_err() {
            cut += 1;
        }
    }
    assert!(cut > 0, "no request was cut short");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = c.get(&tok, &nova(&c, "/servers/detail")).await.expect(200);
        let servers = list.body["servers"].as_array().unwrap().clone();
        let waiting: Vec<&Value> = servers.iter().filter(|s| s["status"] != "ACTIVE").collect();
        if waiting.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} never went ACTIVE: {:?}",
            waiting.len(),
            servers.len(),
            waiting
                .iter()
                .map(|s| (
                    &s["status"],
                    &s["OS-EXT-STS:task_state"],
                    &s["fault"]["message"]
                ))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.finish().await;
}

per_backend!(
    multi_thread: boot_and_run_through_every_action,
    boots_whose_client_hangs_up_still_start,
    bad_requests_are_clear_faults,
    access_addresses_and_boot_images,
);
