//! Nova's REST API at `/compute` (everything but servers, which
//! `rest_compute_servers.rs` covers), against the real server on SQLite
//! and MariaDB: version documents and microversion negotiation, Nova's
//! fault bodies, flavors with access and extra specs, key pairs, limits,
//! quota sets, hypervisors, services, zones and usage. The JSON shapes are
//! snapshotted.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use cloud::{per_backend, Backend};
use common::{Res, TestCloud};
use reqwest::Method;
use serde_json::{json, Value};

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHAIzEjqaeJQzlNwsju9aKK9rl+dE0DVAjk3dg0ddLwt test@gureum";

fn nova(c: &TestCloud, path: &str) -> String {
    format!("{}/compute/v2.1{path}", c.url)
}

/// A request with a microversion (`None`: the default, 2.1).
async fn call(
    c: &TestCloud,
    method: Method,
    token: &str,
    path: &str,
    mv: Option<&str>,
    body: Option<Value>,
) -> Res {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        nova(c, path)
    };
    c.call_compute(method, token, &url, mv, body).await
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// Replaces what changes between runs (ids, times, the port, node names).
fn normalize(v: &mut Value, url: &str) {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            let nova_time = s.len() == 26 && b[10] == b'T' && b[19] == b'.';
            if is_uuid(s) {
                *s = "[uuid]".into();
            } else if s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()) {
                *s = "[id]".into();
            } else if nova_time {
                *s = "[time]".into();
            } else if s.starts_with("node-") {
                *s = "[node]".into();
            } else {
                let mut t = s.replace(url, "http://[server]");
                for part in t.clone().split(['/', '?', '&', '=']) {
                    if is_uuid(part)
                        || (part.len() == 32 && part.chars().all(|c| c.is_ascii_hexdigit()))
                    {
                        t = t.replace(part, "[id]");
                    }
                }
                *s = t;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalize(x, url)),
        Value::Object(o) => o.values_mut().for_each(|x| normalize(x, url)),
        _ => {}
    }
}

fn snap(c: &TestCloud, v: &Value) -> Value {
    let mut v = v.clone();
    normalize(&mut v, &c.url);
    v
}

async fn versions_microversions_and_faults(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();

    let root = c
        .call(Method::GET, &format!("{}/compute/", c.url), None, None)
        .await
        .expect(200);
    insta::assert_json_snapshot!("versions", snap(&c, &root.body));
    let v = c
        .call(Method::GET, &format!("{}/compute/v2.1", c.url), None, None)
        .await
        .expect(200);
    insta::assert_json_snapshot!("version", snap(&c, &v.body));
    let slash = c
        .call(Method::GET, &format!("{}/compute/v2.1/", c.url), None, None)
        .await
        .expect(200);
    assert_eq!(slash.body, v.body);

    // The version asked for is echoed; none is 2.1, `latest` the newest.
    let res = call(&c, Method::GET, &admin, "/flavors", None, None)
        .await
        .expect(200);
    assert_eq!(
        res.header("openstack-api-version").as_deref(),
        Some("compute 2.1")
    );
    assert_eq!(
        res.header("x-openstack-nova-api-version").as_deref(),
        Some("2.1")
    );
    let vary: Vec<String> = res
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("OpenStack-API-Version")),
        "{vary:?}"
    );
    assert!(vary
        .iter()
        .any(|v| v.contains("X-OpenStack-Nova-API-Version")));
    let res = call(&c, Method::GET, &admin, "/flavors", Some("latest"), None)
        .await
        .expect(200);
    assert_eq!(
        res.header("openstack-api-version").as_deref(),
        Some("compute 2.96")
    );
    let legacy = c
        .client
        .get(nova(&c, "/flavors"))
        .header("X-Auth-Token", &admin)
        .header("X-OpenStack-Nova-API-Version", "2.53")
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.headers()["x-openstack-nova-api-version"], "2.53");

    // Out of range: 406 in Nova's words and shape; malformed: 400.
    let res = call(&c, Method::GET, &admin, "/flavors", Some("2.200"), None)
        .await
        .expect(406);
    insta::assert_json_snapshot!("fault_406", res.body);
    let res = call(&c, Method::GET, &admin, "/flavors", Some("2.x"), None)
        .await
        .expect(400);
    assert!(res.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("is of invalid format"));

    // Faults: Nova's names; 401 keeps keystonemiddleware's shape.
    let res = call(&c, Method::GET, &admin, "/flavors/nope", None, None)
        .await
        .expect(404);
    insta::assert_json_snapshot!("fault_404", res.body);
    let res = call(&c, Method::GET, &admin, "/no-such-thing", None, None)
        .await
        .expect(404);
    assert!(res.body["itemNotFound"].is_object(), "{}", res.body);
    let res = c
        .call(Method::GET, &nova(&c, "/flavors"), None, None)
        .await
        .expect(401);
    assert_eq!(res.body["error"]["code"], 401);
    let res = call(
        &c,
        Method::DELETE,
        &admin,
        "/flavors/detail/x/y",
        None,
        None,
    )
    .await;
    assert_eq!(res.status.as_u16(), 404, "{}", res.body);
    c.finish().await;
}

async fn flavors_access_and_extra_specs(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;

    let body = json!({"flavor": {
        "name": "m1.small", "id": "2", "ram": 2048, "vcpus": "1", "disk": 20,
        "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "rxtx_factor": 1.0,
        "os-flavor-access:is_public": true,
    }});
    let created = call(
        &c,
        Method::POST,
        &admin,
        "/flavors",
        None,
        Some(body.clone()),
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("flavor_2_1", snap(&c, &created.body));
    let res = call(&c, Method::POST, &admin, "/flavors", None, Some(body))
        .await
        .expect(409);
    insta::assert_json_snapshot!("fault_409", res.body);
    let res = call(
        &c,
        Method::POST,
        &admin,
        "/flavors",
        None,
        Some(json!({"flavor": {"name": "bad", "ram": 0, "vcpus": 1, "disk": 0}})),
    )
    .await
    .expect(400);
    assert_eq!(
        res.message(),
        "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"
    );
    // description needs 2.55.
    let with_desc = json!({"flavor": {"name": "p", "id": "p1", "ram": 512, "vcpus": 2, "disk": 1,
        "os-flavor-access:is_public": false, "description": "private one"}});
    call(
        &c,
        Method::POST,
        &admin,
        "/flavors",
        None,
        Some(with_desc.clone()),
    )
    .await
    .expect(400);
    let private = call(
        &c,
        Method::POST,
        &admin,
        "/flavors",
        Some("2.75"),
        Some(with_desc),
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("flavor_2_75", snap(&c, &private.body));
    let res = call(
        &c,
        Method::POST,
        &alice,
        "/flavors",
        None,
        Some(json!({"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 1}})),
    )
    .await
    .expect(403);
    assert!(res.body["forbidden"]["message"]
        .as_str()
        .unwrap()
        .contains("os_compute_api:os-flavor-manage:create"));

    // Lists: brief and detail; alice sees the private one after access.
    let brief = call(&c, Method::GET, &alice, "/flavors", None, None)
        .await
        .expect(200);
    insta::assert_json_snapshot!("flavor_list", snap(&c, &brief.body));
    call(&c, Method::GET, &alice, "/flavors/p1", None, None)
        .await
        .expect(404);
    let action = |t: &str| json!({"addTenantAccess": {"tenant": t}});
    let access = call(
        &c,
        Method::POST,
        &admin,
        "/flavors/p1/action",
        None,
        Some(action(&project_a)),
    )
    .await
    .expect(200);
    assert_eq!(
        access.body,
        json!({"flavor_access": [{"flavor_id": "p1", "tenant_id": project_a}]})
    );
    call(
        &c,
        Method::POST,
        &admin,
        "/flavors/p1/action",
        None,
        Some(action(&project_a)),
    )
    .await
    .expect(409);
    call(
        &c,
        Method::POST,
        &admin,
        "/flavors/2/action",
        None,
        Some(action(&project_a)),
    )
    .await
    .expect(409);
    call(
        &c,
        Method::GET,
        &admin,
        "/flavors/2/os-flavor-access",
        None,
        None,
    )
    .await
    .expect(404);
    let detail = call(
        &c,
        Method::GET,
        &alice,
        "/flavors/detail",
        Some("2.61"),
        None,
    )
    .await
    .expect(200);
    let ids: Vec<&str> = detail.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "p1"]);
    assert!(detail.body["flavors"][0]["extra_specs"].is_object());
    // Paging: a full page carries a next link with the marker.
    let page = call(
        &c,
        Method::GET,
        &admin,
        "/flavors?is_public=none&limit=1",
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(page.body["flavors"].as_array().unwrap().len(), 1);
    let next = page.body["flavors_links"][0]["href"].as_str().unwrap();
    assert!(
        next.contains("marker=2") && next.contains("limit=1"),
        "{next}"
    );
    let admin_default = call(&c, Method::GET, &admin, "/flavors", None, None)
        .await
        .expect(200);
    assert_eq!(
        admin_default.body["flavors"].as_array().unwrap().len(),
        1,
        "admins see public by default"
    );
    call(
        &c,
        Method::GET,
        &admin,
        "/flavors?is_public=maybe",
        None,
        None,
    )
    .await
    .expect(400);
    call(
        &c,
        Method::GET,
        &admin,
        "/flavors?bogus=1",
        Some("2.75"),
        None,
    )
    .await
    .expect(400);

    // Description update (2.55).
    let upd = json!({"flavor": {"description": "two"}});
    call(
        &c,
        Method::PUT,
        &admin,
        "/flavors/2",
        None,
        Some(upd.clone()),
    )
    .await
    .expect(404);
    let res = call(
        &c,
        Method::PUT,
        &admin,
        "/flavors/2",
        Some("2.55"),
        Some(upd),
    )
    .await
    .expect(200);
    assert_eq!(res.body["flavor"]["description"], "two");

    // Extra specs.
    let specs = json!({"extra_specs": {"hw:cpu_policy": "dedicated", "quota:vif": 5}});
    let res = call(
        &c,
        Method::POST,
        &admin,
        "/flavors/2/os-extra_specs",
        None,
        Some(specs.clone()),
    )
    .await
    .expect(200);
    assert_eq!(res.body, specs);
    let res = call(
        &c,
        Method::GET,
        &alice,
        "/flavors/2/os-extra_specs",
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        res.body,
        json!({"extra_specs": {"hw:cpu_policy": "dedicated", "quota:vif": "5"}})
    );
    let res = call(
        &c,
        Method::GET,
        &alice,
        "/flavors/2/os-extra_specs/hw:cpu_policy",
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(res.body, json!({"hw:cpu_policy": "dedicated"}));
    let res = call(
        &c,
        Method::PUT,
        &admin,
        "/flavors/2/os-extra_specs/hw:cpu_policy",
        None,
        Some(json!({"other": "x"})),
    )
    .await
    .expect(400);
    assert_eq!(res.message(), "Request body and URI mismatch");
    call(
        &c,
        Method::PUT,
        &admin,
        "/flavors/2/os-extra_specs/hw:cpu_policy",
        None,
        Some(json!({"hw:cpu_policy": "shared"})),
    )
    .await
    .expect(200);
    let res = call(
        &c,
        Method::DELETE,
        &admin,
        "/flavors/2/os-extra_specs/hw:cpu_policy",
        None,
        None,
    )
    .await
    .expect(200);
    assert!(res.body.is_null());
    call(
        &c,
        Method::DELETE,
        &admin,
        "/flavors/2/os-extra_specs/hw:cpu_policy",
        None,
        None,
    )
    .await
    .expect(404);
    call(
        &c,
        Method::POST,
        &alice,
        "/flavors/2/os-extra_specs",
        None,
        Some(specs),
    )
    .await
    .expect(403);

    // Remove access, delete (202).
    call(
        &c,
        Method::POST,
        &admin,
        "/flavors/p1/action",
        None,
        Some(json!({"removeTenantAccess": {"tenant": project_a}})),
    )
    .await
    .expect(200);
    call(
        &c,
        Method::POST,
        &admin,
        "/flavors/p1/action",
        None,
        Some(json!({"frobnicate": {"tenant": "x"}})),
    )
    .await
    .expect(400);
    call(&c, Method::DELETE, &admin, "/flavors/p1", None, None)
        .await
        .expect(202);
    call(&c, Method::DELETE, &admin, "/flavors/p1", None, None)
        .await
        .expect(404);
    c.finish().await;
}

async fn keypairs(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (alice_id, _, alice) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, bob) = c.user_with_role("bob", "proj-b", "member").await;

    // Generated server-side below 2.92 (200 at 2.1, 201 from 2.2).
    let res = call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        None,
        Some(json!({"keypair": {"name": "gen"}})),
    )
    .await
    .expect(200);
    let private = res.body["keypair"]["private_key"].as_str().unwrap();
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(res.body["keypair"].get("type").is_none());
    let res = call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        Some("2.91"),
        Some(json!({"keypair": {"name": "gen2"}})),
    )
    .await
    .expect(201);
    assert_eq!(res.body["keypair"]["type"], "ssh");
    // From 2.92 a public key is required.
    let res = call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        Some("2.92"),
        Some(json!({"keypair": {"name": "gen3"}})),
    )
    .await
    .expect(400);
    assert!(
        res.message()
            .contains("'public_key' is a required property"),
        "{}",
        res.body
    );
    let imported = call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        Some("2.92"),
        Some(json!({"keypair": {"name": "alice@laptop", "public_key": ED25519}})),
    )
    .await
    .expect(201);
    insta::assert_json_snapshot!("keypair_created", snap(&c, &imported.body));
    // '@' is refused below 2.92.
    call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        Some("2.91"),
        Some(json!({"keypair": {"name": "a@b", "public_key": ED25519}})),
    )
    .await
    .expect(400);
    let res = call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        None,
        Some(json!({"keypair": {"name": "junk", "public_key": "not a key"}})),
    )
    .await
    .expect(400);
    assert_eq!(
        res.message(),
        "Keypair data is invalid: failed to generate fingerprint"
    );
    let res = call(
        &c,
        Method::POST,
        &alice,
        "/os-keypairs",
        None,
        Some(json!({"keypair": {"name": "gen", "public_key": ED25519}})),
    )
    .await
    .expect(409);
    assert_eq!(res.message(), "Key pair 'gen' already exists.");

    let list = call(&c, Method::GET, &alice, "/os-keypairs", Some("2.35"), None)
        .await
        .expect(200);
    let names: Vec<&str> = list.body["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice@laptop", "gen", "gen2"]);
    let page = call(
        &c,
        Method::GET,
        &alice,
        "/os-keypairs?limit=2",
        Some("2.35"),
        None,
    )
    .await
    .expect(200);
    assert!(page.body["keypairs_links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("marker=gen"));
    let show = call(
        &c,
        Method::GET,
        &alice,
        "/os-keypairs/alice@laptop",
        Some("2.2"),
        None,
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("keypair_show", snap(&c, &show.body));
    assert_eq!(show.body["keypair"]["user_id"], alice_id);
    // Bob sees none of alice's; naming her is an admin's.
    let res = call(&c, Method::GET, &bob, "/os-keypairs/gen", None, None)
        .await
        .expect(404);
    assert!(res.message().starts_with("Keypair gen not found for user"));
    call(
        &c,
        Method::GET,
        &bob,
        &format!("/os-keypairs?user_id={alice_id}"),
        Some("2.10"),
        None,
    )
    .await
    .expect(403);
    let res = call(
        &c,
        Method::GET,
        &c.admin_token,
        &format!("/os-keypairs?user_id={alice_id}"),
        Some("2.10"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(res.body["keypairs"].as_array().unwrap().len(), 3);
    call(&c, Method::DELETE, &alice, "/os-keypairs/gen", None, None)
        .await
        .expect(202);
    call(
        &c,
        Method::DELETE,
        &alice,
        "/os-keypairs/gen2",
        Some("2.2"),
        None,
    )
    .await
    .expect(204);
    call(
        &c,
        Method::DELETE,
        &alice,
        "/os-keypairs/gen2",
        Some("2.2"),
        None,
    )
    .await
    .expect(404);
    c.finish().await;
}

async fn limits_and_quota_sets(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;

    let limits = call(&c, Method::GET, &alice, "/limits", None, None)
        .await
        .expect(200);
    insta::assert_json_snapshot!("limits_2_1", limits.body);
    let limits = call(&c, Method::GET, &alice, "/limits", Some("2.57"), None)
        .await
        .expect(200);
    insta::assert_json_snapshot!("limits_2_57", limits.body);

    let show = call(
        &c,
        Method::GET,
        &alice,
        &format!("/os-quota-sets/{project_a}"),
        Some("2.57"),
        None,
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("quota_set", snap(&c, &show.body));
    let defaults = call(
        &c,
        Method::GET,
        &alice,
        &format!("/os-quota-sets/{project_a}/defaults"),
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(defaults.body["quota_set"]["instances"], 10);
    assert_eq!(defaults.body["quota_set"]["injected_files"], 5);
    assert_eq!(defaults.body["quota_set"]["floating_ips"], 10);

    // Admins set limits; members may not.
    let set = json!({"quota_set": {"instances": 5, "cores": "40"}});
    call(
        &c,
        Method::PUT,
        &alice,
        &format!("/os-quota-sets/{project_a}"),
        None,
        Some(set.clone()),
    )
    .await
    .expect(403);
    let res = call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-quota-sets/{project_a}"),
        Some("2.57"),
        Some(set),
    )
    .await
    .expect(200);
    assert_eq!(res.body["quota_set"]["instances"], 5);
    assert_eq!(res.body["quota_set"]["cores"], 40);
    assert!(res.body["quota_set"].get("id").is_none());
    call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-quota-sets/{project_a}"),
        None,
        Some(json!({"quota_set": {"bogus": 1}})),
    )
    .await
    .expect(400);
    call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-quota-sets/{project_a}"),
        None,
        Some(json!({"quota_set": {"instances": -2}})),
    )
    .await
    .expect(400);
    let detail = call(
        &c,
        Method::GET,
        &alice,
        &format!("/os-quota-sets/{project_a}/detail"),
        Some("2.57"),
        None,
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("quota_set_detail", snap(&c, &detail.body));
    let limits = call(&c, Method::GET, &alice, "/limits", Some("2.57"), None)
        .await
        .expect(200);
    assert_eq!(limits.body["limits"]["absolute"]["maxTotalInstances"], 5);
    call(
        &c,
        Method::DELETE,
        &admin,
        &format!("/os-quota-sets/{project_a}"),
        None,
        None,
    )
    .await
    .expect(202);
    let show = call(
        &c,
        Method::GET,
        &alice,
        &format!("/os-quota-sets/{project_a}"),
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(show.body["quota_set"]["instances"], 10);
    c.finish().await;
}

/// The embedded agent registers its node with its first heartbeat.
async fn wait_for_node(c: &TestCloud) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = call(
            c,
            Method::GET,
            &c.admin_token,
            "/os-hypervisors/detail",
            Some("2.88"),
            None,
        )
        .await
        .expect(200);
        if let Some(n) = res.body["hypervisors"].as_array().and_then(|a| a.first()) {
            return n.clone();
        }
        assert!(Instant::now() < deadline, "no compute node registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

async fn hypervisors_services_zones_usage(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, project_a, alice) = c.user_with_role("alice", "proj-a", "member").await;

    let node = wait_for_node(&c).await;
    let id = node["id"].as_str().unwrap().to_string();
    insta::assert_json_snapshot!("hypervisor_keys_2_88", keys(&node));
    let old = call(
        &c,
        Method::GET,
        &admin,
        &format!("/os-hypervisors/{id}"),
        Some("2.53"),
        None,
    )
    .await
    .expect(200);
    insta::assert_json_snapshot!("hypervisor_keys_2_53", keys(&old.body["hypervisor"]));
    let brief = call(
        &c,
        Method::GET,
        &admin,
        "/os-hypervisors",
        Some("2.53"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(brief.body["hypervisors"][0]["state"], "up");
    assert_eq!(brief.body["hypervisors"][0]["status"], "enabled");
    call(
        &c,
        Method::GET,
        &admin,
        "/os-hypervisors/not-a-uuid",
        Some("2.53"),
        None,
    )
    .await
    .expect(400);
    call(
        &c,
        Method::GET,
        &admin,
        &format!("/os-hypervisors/{}", uuid::Uuid::new_v4()),
        Some("2.53"),
        None,
    )
    .await
    .expect(404);
    call(
        &c,
        Method::GET,
        &admin,
        "/os-hypervisors/statistics",
        Some("2.87"),
        None,
    )
    .await
    .expect(200);
    call(
        &c,
        Method::GET,
        &admin,
        "/os-hypervisors/statistics",
        Some("2.88"),
        None,
    )
    .await
    .expect(404);
    call(&c, Method::GET, &alice, "/os-hypervisors", None, None)
        .await
        .expect(403);

    // os-services: disable with a reason, then enable again.
    let services = call(&c, Method::GET, &admin, "/os-services", Some("2.53"), None)
        .await
        .expect(200);
    let svc = &services.body["services"][0];
    insta::assert_json_snapshot!("service_keys", keys(svc));
    assert_eq!(svc["binary"], "nova-compute");
    assert_eq!(svc["id"], id.as_str());
    let res = call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-services/{id}"),
        Some("2.53"),
        Some(json!({"status": "disabled", "disabled_reason": "maintenance"})),
    )
    .await
    .expect(200);
    assert_eq!(res.body["service"]["status"], "disabled");
    assert_eq!(res.body["service"]["disabled_reason"], "maintenance");
    let hv = call(
        &c,
        Method::GET,
        &admin,
        "/os-hypervisors",
        Some("2.53"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(hv.body["hypervisors"][0]["status"], "disabled");
    call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-services/{id}"),
        Some("2.53"),
        Some(json!({"status": "enabled", "disabled_reason": "x"})),
    )
    .await
    .expect(400);
    call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-services/{id}"),
        Some("2.53"),
        Some(json!({})),
    )
    .await
    .expect(400);
    let res = call(
        &c,
        Method::PUT,
        &admin,
        &format!("/os-services/{id}"),
        Some("2.53"),
        Some(json!({"status": "enabled"})),
    )
    .await
    .expect(200);
    assert_eq!(res.body["service"]["status"], "enabled");
    assert_eq!(res.body["service"]["forced_down"], false);
    // The pre-2.53 form names the host.
    let host = svc["host"].as_str().unwrap();
    let res = call(
        &c,
        Method::PUT,
        &admin,
        "/os-services/disable-log-reason",
        None,
        Some(json!({"host": host, "binary": "nova-compute", "disabled_reason": "old style"})),
    )
    .await
    .expect(200);
    assert_eq!(res.body["service"]["status"], "disabled");
    call(
        &c,
        Method::PUT,
        &admin,
        "/os-services/enable",
        None,
        Some(json!({"host": host, "binary": "nova-compute"})),
    )
    .await
    .expect(200);
    call(
        &c,
        Method::PUT,
        &alice,
        &format!("/os-services/{id}"),
        Some("2.53"),
        Some(json!({"status": "disabled"})),
    )
    .await
    .expect(403);

    // Zones: names for anyone, hosts for admins.
    let zones = call(&c, Method::GET, &alice, "/os-availability-zone", None, None)
        .await
        .expect(200);
    insta::assert_json_snapshot!("zones", zones.body);
    call(
        &c,
        Method::GET,
        &alice,
        "/os-availability-zone/detail",
        None,
        None,
    )
    .await
    .expect(403);
    let detail = call(
        &c,
        Method::GET,
        &admin,
        "/os-availability-zone/detail",
        None,
        None,
    )
    .await
    .expect(200);
    let hosts = &detail.body["availabilityZoneInfo"][0]["hosts"];
    assert_eq!(hosts[host]["nova-compute"]["available"], true, "{detail:?}");

    // Usage: nothing ran in proj-a; bad periods are refused.
    let res = call(
        &c,
        Method::GET,
        &alice,
        &format!("/os-simple-tenant-usage/{project_a}?start=2020-01-01T00:00:00"),
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(res.body, json!({"tenant_usage": {}}));
    call(
        &c,
        Method::GET,
        &alice,
        &format!("/os-simple-tenant-usage/{project_a}?start=yesterday"),
        None,
        None,
    )
    .await
    .expect(400);
    call(
        &c,
        Method::GET,
        &alice,
        &format!(
            "/os-simple-tenant-usage/{project_a}?start=2030-01-02T00:00:00&end=2030-01-01T00:00:00"
        ),
        None,
        None,
    )
    .await
    .expect(400);
    let all = call(
        &c,
        Method::GET,
        &admin,
        "/os-simple-tenant-usage?detailed=1&start=2020-01-01T00:00:00",
        None,
        None,
    )
    .await
    .expect(200);
    assert!(all.body["tenant_usages"].is_array());
    call(
        &c,
        Method::GET,
        &alice,
        "/os-simple-tenant-usage",
        None,
        None,
    )
    .await
    .expect(403);
    c.finish().await;
}

per_backend!(
    multi_thread: versions_microversions_and_faults,
    flavors_access_and_extra_specs,
    keypairs,
    limits_and_quota_sets,
    hypervisors_services_zones_usage,
);
