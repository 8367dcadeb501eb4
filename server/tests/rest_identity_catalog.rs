//! The writable catalog (services, endpoints, regions, endpoint groups),
//! policy blobs, credentials (and OS-EC2) and domain configuration, against
//! the real server on SQLite and on MariaDB.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::TestCloud;
use serde_json::{json, Value};

fn catalog_urls(token_body: &Value, service_type: &str) -> Vec<String> {
    token_body["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == service_type)
        .flat_map(|s| s["endpoints"].as_array().unwrap().clone())
        .map(|e| e["url"].as_str().unwrap().to_string())
        .collect()
}

async fn catalog_writes_show_in_tokens_and_the_registry_stays(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.as_str();

    let s = c
        .post(
            a,
            "/services",
            json!({"service": {"type": "widget", "name": "w"}}),
        )
        .await
        .expect(201);
    let sid = s.body["service"]["id"].as_str().unwrap().to_string();
    // The legacy `region` field creates the region; `region_id` must exist.
    let e = c
        .post(
            a,
            "/endpoints",
            json!({"endpoint": {"service_id": sid, "interface": "public",
                   "url": "http://widget.example/v1", "region": "Far"}}),
        )
        .await
        .expect(201);
    assert_eq!(e.body["endpoint"]["region"], "Far");
    let eid = e.body["endpoint"]["id"].as_str().unwrap().to_string();
    c.get(a, "/regions/Far").await.expect(200);
    let missing = c
        .post(
            a,
            "/endpoints",
            json!({"endpoint": {"service_id": sid, "interface": "public",
                   "url": "http://x.example", "region_id": "Nowhere"}}),
        )
        .await
        .expect(400);
    assert!(
        missing.message().contains("Nowhere"),
        "{}",
        missing.message()
    );
    // Keystone's validation: a string is not a boolean, an unknown service
    // or interface is a 400.
    for bad in [
        json!({"service_id": sid, "interface": "public", "url": "http://x.example", "enabled": "True"}),
        json!({"service_id": "nope", "interface": "public", "url": "http://x.example"}),
        json!({"service_id": sid, "interface": "sideways", "url": "http://x.example"}),
        json!({"service_id": sid, "interface": "public", "url": "not a url"}),
    ] {
        c.post(a, "/endpoints", json!({"endpoint": bad}))
            .await
            .expect(400);
    }

    // A new token's catalog shows the admin-made service.
    let t = c
        .auth(TestCloud::password_body(
            "admin",
            common::ADMIN_PASSWORD,
            Some("admin"),
        ))
        .await
        .expect(201);
    assert_eq!(
        catalog_urls(&t.body, "widget"),
        vec!["http://widget.example/v1"]
    );

    // Disabling the endpoint takes it out of the catalog.
    let up = c
        .patch(
            a,
            &format!("/endpoints/{eid}"),
            json!({"endpoint": {"enabled": false}}),
        )
        .await
        .expect(200);
    assert_eq!(up.body["endpoint"]["enabled"], false);
    let t = c
        .auth(TestCloud::password_body(
            "admin",
            common::ADMIN_PASSWORD,
            Some("admin"),
        ))
        .await
        .expect(201);
    assert!(catalog_urls(&t.body, "widget").is_empty());

    // A region with endpoints cannot go (403); deleting the service takes
    // its endpoints with it, and then the region can.
    c.delete(a, "/regions/Far").await.expect(403);
    c.delete(a, &format!("/services/{sid}")).await.expect(204);
    c.get(a, &format!("/endpoints/{eid}")).await.expect(404);
    c.delete(a, "/regions/Far").await.expect(204);

    // The registry's own identity entry and its endpoints are read-only.
    let ids = c.get(a, "/services?type=identity").await.expect(200);
    let identity = ids.body["services"][0]["id"].as_str().unwrap().to_string();
    c.delete(a, &format!("/services/{identity}"))
        .await
        .expect(409);
    c.patch(
        a,
        &format!("/services/{identity}"),
        json!({"service": {"enabled": false}}),
    )
    .await
    .expect(409);
    let eps = c
        .get(a, &format!("/endpoints?service_id={identity}"))
        .await
        .expect(200);
    let ep = eps.body["endpoints"][0]["id"].as_str().unwrap().to_string();
    c.delete(a, &format!("/endpoints/{ep}")).await.expect(409);
    let t = c
        .auth(TestCloud::password_body(
            "admin",
            common::ADMIN_PASSWORD,
            Some("admin"),
        ))
        .await
        .expect(201);
    assert_eq!(catalog_urls(&t.body, "identity").len(), 3);

    // A member may read regions but not change the catalog.
    let (_, _, member) = c.user_with_role("cat-member", "cat-proj", "member").await;
    c.get(&member, "/regions").await.expect(200);
    c.post(&member, "/services", json!({"service": {"type": "x"}}))
        .await
        .expect(403);
    c.post(&member, "/regions", json!({"region": {}}))
        .await
        .expect(403);
    c.finish().await;
}
per_backend!(multi_thread: catalog_writes_show_in_tokens_and_the_registry_stays);

async fn regions_form_a_tree_without_loops(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.as_str();
    let root = c.put(a, "/regions/root-r").await;
    // PUT needs a body: the helper sends none, so it is a 400.
    assert_eq!(root.status.as_u16(), 400);
    let root = c
        .call(
            reqwest::Method::PUT,
            "/regions/root-r",
            Some(a),
            Some(json!({"region": {"description": "r"}})),
        )
        .await
        .expect(201);
    assert_eq!(root.body["region"]["id"], "root-r");
    let child = c
        .post(
            a,
            "/regions",
            json!({"region": {"parent_region_id": "root-r"}}),
        )
        .await
        .expect(201);
    let cid = child.body["region"]["id"].as_str().unwrap().to_string();
    let listed = c
        .get(a, "/regions?parent_region_id=root-r")
        .await
        .expect(200);
    assert_eq!(listed.body["regions"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["regions"][0], child.body["region"]);
    // The root under its own child would be a loop.
    c.patch(
        a,
        "/regions/root-r",
        json!({"region": {"parent_region_id": cid}}),
    )
    .await
    .expect(400);
    c.post(
        a,
        "/regions",
        json!({"region": {"parent_region_id": "no-such"}}),
    )
    .await
    .expect(404);
    c.call(
        reqwest::Method::PUT,
        "/regions/root-r",
        Some(a),
        Some(json!({"region": {}})),
    )
    .await
    .expect(409);
    // Deleting the root deletes the subtree.
    c.delete(a, "/regions/root-r").await.expect(204);
    c.get(a, &format!("/regions/{cid}")).await.expect(404);

    // Endpoint groups: create, HEAD, filter validation.
    let g = c
        .post(
            a,
            "/OS-EP-FILTER/endpoint_groups",
            json!({"endpoint_group": {"name": "pub", "filters": {"interface": "public"}}}),
        )
        .await
        .expect(201);
    let gid = g.body["endpoint_group"]["id"].as_str().unwrap().to_string();
    c.head(a, &format!("/OS-EP-FILTER/endpoint_groups/{gid}"))
        .await
        .expect(200);
    c.post(
        a,
        "/OS-EP-FILTER/endpoint_groups",
        json!({"endpoint_group": {"name": "bad", "filters": {"colour": "red"}}}),
    )
    .await
    .expect(400);
    c.delete(a, &format!("/OS-EP-FILTER/endpoint_groups/{gid}"))
        .await
        .expect(204);
    // A HEAD answer has no fault body: only its status.
    let gone = c
        .head(a, &format!("/OS-EP-FILTER/endpoint_groups/{gid}"))
        .await;
    assert_eq!(gone.status.as_u16(), 404);
    c.finish().await;
}
per_backend!(multi_thread: regions_form_a_tree_without_loops);

async fn policies_and_credentials(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.as_str();
    let p = c
        .post(
            a,
            "/policies",
            json!({"policy": {"type": "application/json", "blob": "{}", "note": "kept"}}),
        )
        .await
        .expect(201);
    let pid = p.body["policy"]["id"].as_str().unwrap().to_string();
    assert_eq!(p.body["policy"]["note"], "kept");
    let up = c
        .patch(
            a,
            &format!("/policies/{pid}"),
            json!({"policy": {"type": "text/plain"}}),
        )
        .await
        .expect(200);
    assert_eq!(up.body["policy"]["blob"], "{}");
    assert_eq!(up.body["policy"]["type"], "text/plain");

    let (member_id, project_id, member) =
        c.user_with_role("cred-owner", "cred-proj", "member").await;
    let (_, _, other) = c.user_with_role("cred-other", "cred-proj", "member").await;
    // A policy blob is for admins to write.
    c.post(
        &member,
        "/policies",
        json!({"policy": {"type": "t", "blob": "b"}}),
    )
    .await
    .expect(403);

    // An owner makes its own credential; the blob is sealed in the table.
    let blob = r#"{"access": "AK1", "secret": "very-secret-value"}"#;
    let cred = c
        .post(
            &member,
            "/credentials",
            json!({"credential": {"user_id": member_id, "project_id": project_id, "type": "ec2", "blob": blob}}),
        )
        .await
        .expect(201);
    let cid = cred.body["credential"]["id"].as_str().unwrap().to_string();
    assert_eq!(cid, cloud::identity::ec2_credential_id("AK1"));
    assert_eq!(cred.body["credential"]["blob"], blob);
    let stored: String = sqlx::query_scalar("SELECT encrypted_blob FROM credentials WHERE id = ?")
        .bind(cid.clone())
        .fetch_one(&c.state.db.pool)
        .await
        .unwrap();
    assert!(!stored.contains("very-secret-value"), "sealed at rest");

    // Nobody else's: another member cannot read it, create one for the
    // owner, or see it listed.
    c.get(&other, &format!("/credentials/{cid}"))
        .await
        .expect(403);
    c.post(
        &other,
        "/credentials",
        json!({"credential": {"user_id": member_id, "type": "totp", "blob": "x"}}),
    )
    .await
    .expect(403);
    let listed = c.get(&other, "/credentials").await.expect(200);
    assert!(listed.body["credentials"].as_array().unwrap().is_empty());
    let mine = c.get(&member, "/credentials").await.expect(200);
    assert_eq!(mine.body["credentials"].as_array().unwrap().len(), 1);
    // An ec2 blob needs an access key.
    c.post(
        &member,
        "/credentials",
        json!({"credential": {"user_id": member_id, "project_id": project_id, "type": "ec2", "blob": "{}"}}),
    )
    .await
    .expect(400);

    // OS-EC2: a key pair, found by its access key, listed among credentials.
    let ec2 = c
        .post(
            &member,
            &format!("/users/{member_id}/credentials/OS-EC2"),
            json!({"tenant_id": project_id}),
        )
        .await
        .expect(201);
    let access = ec2.body["credential"]["access"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ec2.body["credential"]["tenant_id"], project_id.as_str());
    let shown = c
        .get(
            &member,
            &format!("/users/{member_id}/credentials/OS-EC2/{access}"),
        )
        .await
        .expect(200);
    assert_eq!(
        shown.body["credential"]["secret"],
        ec2.body["credential"]["secret"]
    );
    let all = c
        .get(&member, &format!("/users/{member_id}/credentials/OS-EC2"))
        .await
        .expect(200);
    assert_eq!(all.body["credentials"].as_array().unwrap().len(), 2);
    c.get(
        &other,
        &format!("/users/{member_id}/credentials/OS-EC2/{access}"),
    )
    .await
    .expect(403);
    c.delete(
        &member,
        &format!("/users/{member_id}/credentials/OS-EC2/{access}"),
    )
    .await
    .expect(204);
    c.get(
        &member,
        &format!("/users/{member_id}/credentials/OS-EC2/{access}"),
    )
    .await
    .expect(404);
    c.delete(a, &format!("/credentials/{cid}"))
        .await
        .expect(204);
    c.finish().await;
}
per_backend!(multi_thread: policies_and_credentials);

async fn domain_configuration(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.as_str();
    let d = c
        .post(a, "/domains", json!({"domain": {"name": "cfg-domain"}}))
        .await
        .expect(201);
    let did = d.body["domain"]["id"].as_str().unwrap().to_string();
    let put = |body: Value| {
        let path = format!("/domains/{did}/config");
        let c = &c;
        async move {
            c.call(reqwest::Method::PUT, &path, Some(a), Some(body))
                .await
        }
    };
    let cfg =
        json!({"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x", "password": "hidden"}});
    let made = put(json!({"config": cfg})).await.expect(201);
    // The sensitive password is kept but never shown.
    assert_eq!(
        made.body["config"],
        json!({"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x"}})
    );
    put(json!({"config": cfg})).await.expect(200);
    // Only Keystone's groups and options.
    put(json!({"config": {"assignment": {"driver": "x"}}}))
        .await
        .expect(400);
    put(json!({"config": {"ldap": {"colour": "red"}}}))
        .await
        .expect(400);

    let opt = c
        .get(a, &format!("/domains/{did}/config/ldap/url"))
        .await
        .expect(200);
    assert_eq!(opt.body["config"], json!({"url": "ldap://x"}));
    let up = c
        .patch(
            a,
            &format!("/domains/{did}/config/identity"),
            json!({"config": {"identity": {"list_limit": 7}}}),
        )
        .await;
    // A group update merges options into that (existing) group.
    let up = up.expect(200);
    assert_eq!(up.body["config"]["identity"]["list_limit"], 7);
    c.delete(a, &format!("/domains/{did}/config/identity/driver"))
        .await
        .expect(204);
    c.get(a, &format!("/domains/{did}/config/identity/driver"))
        .await
        .expect(404);
    c.delete(a, &format!("/domains/{did}/config"))
        .await
        .expect(204);
    c.get(a, &format!("/domains/{did}/config"))
        .await
        .expect(404);

    let defaults = c.get(a, "/domains/config/default").await.expect(200);
    assert_eq!(defaults.body["config"]["identity"]["driver"], "sql");
    assert_eq!(defaults.body["config"]["ldap"]["url"], "ldap://localhost");
    let one = c
        .get(a, "/domains/config/ldap/pool_size/default")
        .await
        .expect(200);
    assert_eq!(one.body["config"], json!({"pool_size": 10}));

    let (_, _, member) = c.user_with_role("cfg-member", "cfg-proj", "member").await;
    c.get(&member, &format!("/domains/{did}/config"))
        .await
        .expect(403);
    c.finish().await;
}
per_backend!(multi_thread: domain_configuration);
