//! Keystone v3 REST API at `/identity`, against the real server on SQLite
//! and on MariaDB.

#![allow(clippy::unwrap_used, clippy::cloned_ref_to_slice_refs)]

mod common;

use cloud::{per_backend, Backend};
use common::{TestCloud, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// Replaces what changes between runs (ids, times, the server's port) so a
/// response's shape can be snapshotted.
fn normalize(v: &mut Value, url: &str) {
    match v {
        Value::String(s) => {
            if s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()) {
                *s = "[id]".into();
            } else if s.len() == 27 && s.ends_with('Z') && s.as_bytes()[10] == b'T' {
                *s = "[time]".into();
            } else if s.starts_with(url) {
                let rest = s[url.len()..].to_string();
                let rest: Vec<String> = rest
                    .split('/')
                    .map(|seg| {
                        if seg.len() == 32 && seg.chars().all(|c| c.is_ascii_hexdigit()) {
                            "[id]".into()
                        } else {
                            seg.to_string()
                        }
                    })
                    .collect();
                *s = format!("http://[server]{}", rest.join("/"));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalize(x, url)),
        Value::Object(o) => o.values_mut().for_each(|x| normalize(x, url)),
        _ => {}
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

async fn version_discovery(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let res = c
        .call(Method::GET, &format!("{}/identity", c.url), None, None)
        .await
        .expect(300);
    let slash = c
        .call(Method::GET, &format!("{}/identity/", c.url), None, None)
        .await
        .expect(300);
    assert_eq!(slash.body, res.body);
    let v = &res.body["versions"]["values"][0];
    assert_eq!(v["id"], "v3.14");
    assert_eq!(v["status"], "stable");
    assert_eq!(v["links"][0]["rel"], "self");
    assert_eq!(v["links"][0]["href"], format!("{}/identity/v3/", c.url));
    assert_eq!(
        v["media-types"][0]["type"],
        "application/vnd.openstack.identity-v3+json"
    );
    for path in ["/identity/v3", "/identity/v3/"] {
        let res = c
            .call(Method::GET, &format!("{}{path}", c.url), None, None)
            .await
            .expect(200);
        assert_eq!(res.body["version"]["id"], "v3.14");
        assert_eq!(
            res.body["version"]["links"][0]["href"],
            format!("{}/identity/v3/", c.url)
        );
    }
    // Unknown paths and methods are faults too.
    c.get(&c.admin_token, "/no-such-thing").await.expect(404);
    c.call(Method::PUT, "/users", Some(&c.admin_token), None)
        .await
        .expect(405);
    c.finish().await;
}
per_backend!(multi_thread: version_discovery);

async fn token_issue_validate_check_revoke(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let res = c
        .auth(TestCloud::password_body(
            "admin",
            ADMIN_PASSWORD,
            Some("admin"),
        ))
        .await
        .expect(201);
    let token = res.header("x-subject-token").unwrap();
    let t = &res.body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(
        t["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(t["project"]["id"], json!(c.admin_project_id));
    assert_eq!(t["is_domain"], false);
    let issued = t["issued_at"].as_str().unwrap();
    assert!(
        issued.ends_with('Z') && issued.len() == 27 && issued.as_bytes()[19] == b'.',
        "{issued}"
    );
    assert_eq!(names(&t["roles"]), ["admin", "member", "reader"]);
    let identity = t["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "identity")
        .expect("identity in the catalog");
    let eps = &identity["endpoints"];
    assert!(eps
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["interface"] == "public"
            && e["url"] == format!("{}/identity", c.url)
            && e["region_id"] == "RegionOne"));
    let mut snap = res.body.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("token_body", snap, {".token.audit_ids[]" => "[audit_id]"});

    // Validate and check with another token of the same user.
    let subject = |m: Method, t: &str| {
        c.client
            .request(m, c.v3("/auth/tokens"))
            .header("X-Auth-Token", c.admin_token.clone())
            .header("X-Subject-Token", t.to_string())
    };
    let v = subject(Method::GET, &token).send().await.unwrap();
    assert_eq!(v.status(), 200);
    let body: Value = v.json().await.unwrap();
    assert_eq!(body["token"]["audit_ids"], t["audit_ids"]);
    assert_eq!(body["token"]["expires_at"], t["expires_at"]);
    let v = c
        .client
        .get(c.v3("/auth/tokens?nocatalog"))
        .header("X-Auth-Token", &c.admin_token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    let body: Value = v.json().await.unwrap();
    assert!(body["token"].get("catalog").is_none(), "{body}");
    // Validations are answered from a cache of rendered bodies: a role
    // granted since shows in the next one all the same.
    let role = c
        .post(
            &c.admin_token,
            "/roles",
            json!({"role": {"name": "auditor"}}),
        )
        .await
        .expect(201);
    c.grant(
        &c.admin_project_id,
        t["user"]["id"].as_str().unwrap(),
        role.body["role"]["id"].as_str().unwrap(),
    )
    .await;
    let body: Value = subject(Method::GET, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        names(&body["token"]["roles"]),
        ["admin", "auditor", "member", "reader"]
    );
    assert_eq!(
        subject(Method::HEAD, &token).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        subject(Method::GET, "not-a-token")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        subject(Method::HEAD, "not-a-token")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Without a valid X-Auth-Token nothing is validated.
    let r = c
        .client
        .get(c.v3("/auth/tokens"))
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Rescope by token, unscoped, system and nocatalog.
    let res = c
        .auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}, "scope": {"system": {"all": true}}}}))
        .await
        .expect(201);
    assert_eq!(res.body["token"]["system"], json!({"all": true}));
    assert!(res.body["token"]["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("token")));
    let res = c
        .auth(TestCloud::password_body("admin", ADMIN_PASSWORD, None))
        .await
        .expect(201);
    assert!(res.body["token"].get("project").is_none() && res.body["token"].get("roles").is_none());
    let res = c
        .call(
            Method::POST,
            "/auth/tokens?nocatalog",
            None,
            Some(TestCloud::password_body(
                "admin",
                ADMIN_PASSWORD,
                Some("admin"),
            )),
        )
        .await
        .expect(201);
    assert!(res.body["token"].get("catalog").is_none());
    // Password by user id, project by id.
    let res = c
        .auth(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": c.admin_user_id, "password": ADMIN_PASSWORD}}}, "scope": {"project": {"id": c.admin_project_id}}}}))
        .await
        .expect(201);
    assert_eq!(res.body["token"]["project"]["name"], "admin");

    // What the token can see.
    let tok = c.login("admin", ADMIN_PASSWORD, Some("admin")).await;
    let r = c.get(&tok, "/auth/projects").await.expect(200);
    assert_eq!(ids(&r.body["projects"]), [c.admin_project_id.clone()]);
    let r = c.get(&tok, "/auth/catalog").await.expect(200);
    let mut types: Vec<&str> = r.body["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["compute", "identity", "image", "network"]);
    let r = c.get(&tok, "/auth/system").await.expect(200);
    assert_eq!(r.body["system"], json!([{"all": true}]));
    let r = c.get(&tok, "/auth/domains").await.expect(200);
    assert_eq!(r.body["domains"], json!([]));

    // Revoke: 204; then 404 on validate and 401 when used.
    let r = subject(Method::DELETE, &tok).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        subject(Method::GET, &tok).send().await.unwrap().status(),
        404
    );
    c.get(&tok, "/auth/projects").await.expect(401);
    assert_eq!(
        subject(Method::DELETE, &tok).send().await.unwrap().status(),
        404
    );

    // Failures: wrong password and unknown user are the same 401 fault.
    let r = c
        .auth(TestCloud::password_body(
            "admin",
            "wrong-password",
            Some("admin"),
        ))
        .await
        .expect(401);
    assert_eq!(
        r.message(),
        "The request you have made requires authentication."
    );
    assert!(r.header("www-authenticate").is_some());
    let r2 = c
        .auth(TestCloud::password_body(
            "nobody",
            "wrong-password",
            Some("admin"),
        ))
        .await
        .expect(401);
    assert_eq!(r.message(), r2.message());
    // Bad JSON and missing fields are 400 faults.
    let raw = c
        .client
        .post(c.v3("/auth/tokens"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["code"], 400);
    let raw = c.client.post(c.v3("/auth/tokens")).send().await.unwrap();
    assert_eq!(raw.status(), 400);
    for bad in [
        json!({}),
        json!({"auth": {}}),
        json!({"auth": {"identity": {"methods": ["password"]}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": 5, "password": "x"}}}}}),
        json!({"auth": {"identity": {"methods": ["token"], "token": {}}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "x"}}}, "scope": {"project": {"name": "admin"}}}}),
    ] {
        c.auth(bad).await.expect(400);
    }
    c.finish().await;
}
per_backend!(multi_thread: token_issue_validate_check_revoke);

async fn crud_of_each_resource(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.clone();
    let a = a.as_str();

    // Domains.
    let d = c
        .post(
            a,
            "/domains",
            json!({"domain": {"name": "acme", "description": "ACME"}}),
        )
        .await
        .expect(201)
        .body["domain"]
        .clone();
    let did = d["id"].as_str().unwrap().to_string();
    assert_eq!(d["enabled"], true);
    assert_eq!(d["links"]["self"], c.v3(&format!("/domains/{did}")));
    assert_eq!(
        c.get(a, &format!("/domains/{did}")).await.expect(200).body["domain"]["name"],
        "acme"
    );
    assert_eq!(
        names(&c.get(a, "/domains").await.expect(200).body["domains"]),
        ["Default", "acme"]
    );
    assert_eq!(
        ids(&c.get(a, "/domains?name=acme").await.expect(200).body["domains"]),
        [did.clone()]
    );
    c.post(a, "/domains", json!({"domain": {"name": "acme"}}))
        .await
        .expect(409);
    c.post(a, "/domains", json!({"domain": {}}))
        .await
        .expect(400);
    c.post(
        a,
        "/domains",
        json!({"domain": {"name": "x", "enabled": "yes"}}),
    )
    .await
    .expect(400);
    let d = c
        .patch(
            a,
            &format!("/domains/{did}"),
            json!({"domain": {"description": "changed"}}),
        )
        .await
        .expect(200);
    assert_eq!(d.body["domain"]["description"], "changed");
    c.delete(a, &format!("/domains/{did}")).await.expect(403); // still enabled
    c.patch(
        a,
        &format!("/domains/{did}"),
        json!({"domain": {"enabled": false}}),
    )
    .await
    .expect(200);
    assert_eq!(
        ids(&c.get(a, "/domains?enabled=false").await.expect(200).body["domains"]),
        [did.clone()]
    );
    c.delete(a, &format!("/domains/{did}")).await.expect(204);
    c.get(a, &format!("/domains/{did}")).await.expect(404);

    // Projects.
    let p = c
        .post(
            a,
            "/projects",
            json!({"project": {"name": "alpha", "description": "first", "domain_id": "default"}}),
        )
        .await
        .expect(201)
        .body["project"]
        .clone();
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["domain_id"], "default");
    assert_eq!(p["parent_id"], "default");
    assert_eq!(p["is_domain"], false);
    c.create_project("beta").await;
    let list = c.get(a, "/projects?name=alpha").await.expect(200);
    assert_eq!(list.body["links"]["self"], c.v3("/projects?name=alpha"));
    let mut snap = list.body.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("project_list_by_name", snap);
    assert_eq!(
        names(&c.get(a, "/projects").await.expect(200).body["projects"]),
        ["admin", "alpha", "beta"]
    );
    assert_eq!(
        names(
            &c.get(a, "/projects?domain_id=default&enabled=true")
                .await
                .expect(200)
                .body["projects"]
        ),
        ["admin", "alpha", "beta"]
    );
    let r = c
        .patch(
            a,
            &format!("/projects/{pid}"),
            json!({"project": {"name": "alpha2", "enabled": false}}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["project"]["name"], "alpha2");
    assert_eq!(
        names(&c.get(a, "/projects?enabled=0").await.expect(200).body["projects"]),
        ["alpha2"]
    );
    c.post(a, "/projects", json!({"project": {"name": "beta"}}))
        .await
        .expect(409);
    c.post(
        a,
        "/projects",
        json!({"project": {"name": "x", "domain_id": "nope"}}),
    )
    .await
    .expect(404);
    c.post(a, "/projects", json!({"name": "x"}))
        .await
        .expect(400);
    c.patch(
        a,
        "/projects/0123456789abcdef0123456789abcdef",
        json!({"project": {"name": "x"}}),
    )
    .await
    .expect(404);
    c.delete(a, &format!("/projects/{pid}")).await.expect(204);
    c.get(a, &format!("/projects/{pid}")).await.expect(404);
    c.delete(a, &format!("/projects/{pid}")).await.expect(404);

    // Users.
    let u = c
        .post(a, "/users", json!({"user": {"name": "ann", "domain_id": "default", "password": "ann-password", "email": "ann@example.com", "description": "Ann"}}))
        .await
        .expect(201)
        .body["user"]
        .clone();
    let uid = u["id"].as_str().unwrap().to_string();
    assert_eq!(u["email"], "ann@example.com");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none());
    assert_eq!(u["password_expires_at"], Value::Null);
    assert_eq!(
        c.get(a, &format!("/users/{uid}")).await.expect(200).body["user"]["name"],
        "ann"
    );
    assert_eq!(
        ids(&c
            .get(a, "/users?name=ann&domain_id=default")
            .await
            .expect(200)
            .body["users"]),
        [uid.clone()]
    );
    assert_eq!(
        names(&c.get(a, "/users").await.expect(200).body["users"]),
        ["admin", "ann"]
    );
    let r = c
        .patch(
            a,
            &format!("/users/{uid}"),
            json!({"user": {"email": null, "description": "changed"}}),
        )
        .await
        .expect(200);
    assert!(r.body["user"].get("email").is_none(), "{}", r.body);
    assert_eq!(r.body["user"]["description"], "changed");
    c.post(
        a,
        "/users",
        json!({"user": {"name": "bob", "password": "short"}}),
    )
    .await
    .expect(400);
    c.post(a, "/users", json!({"user": {"name": "ann"}}))
        .await
        .expect(409);
    // An admin reset of the password works for login.
    c.patch(
        a,
        &format!("/users/{uid}"),
        json!({"user": {"password": "new-ann-password"}}),
    )
    .await
    .expect(200);
    c.auth(TestCloud::password_body("ann", "new-ann-password", None))
        .await
        .expect(201);

    // Groups and membership.
    let g = c
        .post(
            a,
            "/groups",
            json!({"group": {"name": "devs", "domain_id": "default", "description": "Developers"}}),
        )
        .await
        .expect(201)
        .body["group"]
        .clone();
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&c.get(a, "/groups?name=devs").await.expect(200).body["groups"]),
        [gid.clone()]
    );
    assert_eq!(
        c.patch(
            a,
            &format!("/groups/{gid}"),
            json!({"group": {"description": "Dev team"}})
        )
        .await
        .expect(200)
        .body["group"]["description"],
        "Dev team"
    );
    c.head(a, &format!("/groups/{gid}/users/{uid}")).await;
    assert_eq!(
        c.head(a, &format!("/groups/{gid}/users/{uid}"))
            .await
            .status,
        404
    );
    c.put(a, &format!("/groups/{gid}/users/{uid}"))
        .await
        .expect(204);
    assert_eq!(
        c.head(a, &format!("/groups/{gid}/users/{uid}"))
            .await
            .status,
        204
    );
    assert_eq!(
        ids(&c
            .get(a, &format!("/groups/{gid}/users"))
            .await
            .expect(200)
            .body["users"]),
        [uid.clone()]
    );
    assert_eq!(
        ids(&c
            .get(a, &format!("/users/{uid}/groups"))
            .await
            .expect(200)
            .body["groups"]),
        [gid.clone()]
    );
    c.delete(a, &format!("/groups/{gid}/users/{uid}"))
        .await
        .expect(204);
    c.delete(a, &format!("/groups/{gid}/users/{uid}"))
        .await
        .expect(404);
    c.put(
        a,
        &format!("/groups/{gid}/users/0123456789abcdef0123456789abcdef"),
    )
    .await
    .expect(404);

    // Roles and implications.
    let r = c
        .post(
            a,
            "/roles",
            json!({"role": {"name": "auditor", "description": "Reads logs"}}),
        )
        .await
        .expect(201)
        .body["role"]
        .clone();
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["domain_id"], Value::Null);
    assert_eq!(
        ids(&c.get(a, "/roles?name=auditor").await.expect(200).body["roles"]),
        [rid.clone()]
    );
    assert_eq!(
        names(&c.get(a, "/roles").await.expect(200).body["roles"]),
        ["admin", "auditor", "member", "reader"]
    );
    assert_eq!(
        c.patch(
            a,
            &format!("/roles/{rid}"),
            json!({"role": {"description": "Audits"}})
        )
        .await
        .expect(200)
        .body["role"]["description"],
        "Audits"
    );
    let reader = c.role_id("reader").await;
    let r = c
        .put(a, &format!("/roles/{rid}/implies/{reader}"))
        .await
        .expect(201);
    assert_eq!(r.body["role_inference"]["prior_role"]["name"], "auditor");
    assert_eq!(r.body["role_inference"]["implies"]["name"], "reader");
    c.get(a, &format!("/roles/{rid}/implies/{reader}"))
        .await
        .expect(200);
    // HEAD is Keystone's check: 204, or 404 for a rule that does not exist.
    c.head(a, &format!("/roles/{rid}/implies/{reader}"))
        .await
        .expect(204);
    // (A HEAD answer has no body to carry the fault.)
    assert_eq!(
        c.head(a, &format!("/roles/{reader}/implies/{rid}"))
            .await
            .status,
        404
    );
    let inf = c.get(a, "/role_inferences").await.expect(200);
    let rules = inf.body["role_inferences"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|x| x["prior_role"]["name"] == "auditor" && x["implies"][0]["name"] == "reader"),
        "{}",
        inf.body
    );
    assert!(
        rules
            .iter()
            .any(|x| x["prior_role"]["name"] == "admin" && x["implies"][0]["name"] == "member"),
        "{}",
        inf.body
    );
    c.put(a, &format!("/roles/{reader}/implies/{rid}"))
        .await
        .expect(400); // a cycle
    let admin_role = c.role_id("admin").await;
    c.delete(a, &format!("/roles/{admin_role}"))
        .await
        .expect(403);
    c.delete(a, &format!("/roles/{rid}")).await.expect(204);
    c.get(a, &format!("/roles/{rid}")).await.expect(404);

    // Grants on a project, a domain and the system; HEAD and list.
    let beta = c.get(a, "/projects?name=beta").await.expect(200).body["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for target in [
        format!("/projects/{beta}"),
        "/domains/default".to_string(),
        "/system".to_string(),
    ] {
        let one = format!("{target}/users/{uid}/roles/{reader}");
        assert_eq!(c.head(a, &one).await.status, 404);
        c.put(a, &one).await.expect(204);
        assert_eq!(c.head(a, &one).await.status, 204);
        assert_eq!(
            names(
                &c.get(a, &format!("{target}/users/{uid}/roles"))
                    .await
                    .expect(200)
                    .body["roles"]
            ),
            ["reader"]
        );
        c.delete(a, &one).await.expect(204);
        c.delete(a, &one).await.expect(404);
        c.put(a, &format!("{target}/groups/{gid}/roles/member"))
            .await
            .expect(204);
        assert_eq!(
            names(
                &c.get(a, &format!("{target}/groups/{gid}/roles"))
                    .await
                    .expect(200)
                    .body["roles"]
            ),
            ["member"]
        );
    }
    c.put(
        a,
        &format!("/projects/{beta}/users/{uid}/roles/no-such-role"),
    )
    .await
    .expect(404);
    c.put(
        a,
        &format!("/projects/0123456789abcdef0123456789abcdef/users/{uid}/roles/{reader}"),
    )
    .await
    .expect(404);

    // Catalog.
    let s = c.get(a, "/services?type=identity").await.expect(200);
    let sid = s.body["services"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(a, &format!("/services/{sid}")).await.expect(200).body["service"]["type"],
        "identity"
    );
    let e = c
        .get(a, &format!("/endpoints?service_id={sid}&interface=public"))
        .await
        .expect(200);
    let eps = e.body["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["url"], format!("{}/identity", c.url));
    let eid = eps[0]["id"].as_str().unwrap();
    assert_eq!(
        c.get(a, &format!("/endpoints/{eid}"))
            .await
            .expect(200)
            .body["endpoint"]["interface"],
        "public"
    );
    c.get(a, "/endpoints/nope").await.expect(404);

    // Deleting a user and a group.
    c.delete(a, &format!("/groups/{gid}")).await.expect(204);
    c.delete(a, &format!("/users/{uid}")).await.expect(204);
    c.get(a, &format!("/users/{uid}")).await.expect(404);
    c.finish().await;
}
per_backend!(multi_thread: crud_of_each_resource);

async fn role_assignments_effective_and_names(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.clone();
    let a = a.as_str();
    let (uid, pid, _) = c.user_with_role("carol", "gamma", "member").await;
    let dave = c.create_user("dave").await;
    let gid = c
        .post(a, "/groups", json!({"group": {"name": "ops"}}))
        .await
        .expect(201)
        .body["group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.put(a, &format!("/groups/{gid}/users/{dave}"))
        .await
        .expect(204);
    c.put(a, &format!("/projects/{pid}/groups/{gid}/roles/reader"))
        .await
        .expect(204);
    let member = c.role_id("member").await;
    let reader = c.role_id("reader").await;

    // Direct assignments on the project: carol's member and the group's reader.
    let r = c
        .get(a, &format!("/role_assignments?scope.project.id={pid}"))
        .await
        .expect(200);
    let rows = r.body["role_assignments"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{}", r.body);
    let carol = rows.iter().find(|x| x.get("user").is_some()).unwrap();
    assert_eq!(carol["user"], json!({"id": uid}));
    assert_eq!(carol["role"], json!({"id": member}));
    assert_eq!(carol["scope"], json!({"project": {"id": pid}}));
    assert_eq!(
        carol["links"]["assignment"],
        c.v3(&format!("/projects/{pid}/users/{uid}/roles/{member}"))
    );
    let group = rows.iter().find(|x| x.get("group").is_some()).unwrap();
    assert_eq!(group["group"]["id"], json!(gid));

    // Effective, with names: the group expands to dave, member implies reader.
    let r = c
        .get(
            a,
            &format!("/role_assignments?scope.project.id={pid}&effective&include_names"),
        )
        .await
        .expect(200);
    let rows = r.body["role_assignments"].as_array().unwrap().clone();
    assert!(rows.iter().all(|x| x.get("group").is_none()), "{}", r.body);
    let carol_roles: Vec<&str> = rows
        .iter()
        .filter(|x| x["user"]["id"] == json!(uid))
        .map(|x| x["role"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(carol_roles.len(), 2);
    assert!(
        carol_roles.contains(&"member") && carol_roles.contains(&"reader"),
        "{carol_roles:?}"
    );
    let d = rows
        .iter()
        .find(|x| x["user"]["id"] == json!(dave))
        .expect("dave through the group");
    assert_eq!(d["user"]["name"], "dave");
    assert_eq!(
        d["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(d["role"], json!({"id": reader, "name": "reader"}));
    assert_eq!(
        d["scope"]["project"],
        json!({"id": pid, "name": "gamma", "domain": {"id": "default", "name": "Default"}})
    );
    assert_eq!(
        d["links"]["membership"],
        c.v3(&format!("/groups/{gid}/users/{dave}"))
    );
    let mut snap = json!(rows
        .iter()
        .filter(|x| x["user"]["id"] == json!(dave))
        .collect::<Vec<_>>());
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("effective_assignment_with_names", snap);

    // Filters: by user (effective includes the group's grant), by role, by system.
    let r = c
        .get(a, &format!("/role_assignments?user.id={dave}&effective"))
        .await
        .expect(200);
    assert_eq!(r.body["role_assignments"].as_array().unwrap().len(), 1);
    let r = c
        .get(a, &format!("/role_assignments?user.id={dave}"))
        .await
        .expect(200);
    assert_eq!(r.body["role_assignments"], json!([]));
    let r = c
        .get(a, &format!("/role_assignments?group.id={gid}"))
        .await
        .expect(200);
    assert_eq!(r.body["role_assignments"].as_array().unwrap().len(), 1);
    let r = c
        .get(
            a,
            &format!("/role_assignments?role.id={member}&scope.project.id={pid}"),
        )
        .await
        .expect(200);
    assert_eq!(r.body["role_assignments"].as_array().unwrap().len(), 1);
    let r = c
        .get(a, "/role_assignments?scope.system=all&include_names")
        .await
        .expect(200);
    let rows = r.body["role_assignments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["scope"], json!({"system": {"all": true}}));
    assert_eq!(rows[0]["user"]["name"], "admin");

    // A member may list its own assignments, not anyone else's.
    let carol_token = c.login("carol", "carol-password", Some("gamma")).await;
    c.get(&carol_token, &format!("/role_assignments?user.id={uid}"))
        .await
        .expect(200);
    c.get(&carol_token, "/role_assignments").await.expect(403);
    c.get(&carol_token, &format!("/role_assignments?user.id={dave}"))
        .await
        .expect(403);
    c.finish().await;
}
per_backend!(multi_thread: role_assignments_effective_and_names);

async fn rbac_and_isolation(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (member_id, pa, member) = c.user_with_role("mia", "project-a", "member").await;
    let (_, _, reader) = c.user_with_role("rex", "project-a", "reader").await;
    let (bob_id, pb, bob) = c.user_with_role("bob", "project-b", "member").await;
    let member_role = c.role_id("member").await;
    for token in [&member, &reader] {
        let r = c.get(token, "/users").await.expect(403);
        assert!(
            r.message().contains("identity:list_users"),
            "{}",
            r.message()
        );
        c.put(
            token,
            &format!("/projects/{pa}/users/{bob_id}/roles/{member_role}"),
        )
        .await
        .expect(403);
        c.post(token, "/projects", json!({"project": {"name": "mine"}}))
            .await
            .expect(403);
        c.post(
            token,
            "/users",
            json!({"user": {"name": "evil", "password": "evil-password"}}),
        )
        .await
        .expect(403);
        c.get(token, "/projects").await.expect(403);
        c.get(token, "/domains").await.expect(403);
        c.post(token, "/roles", json!({"role": {"name": "super"}}))
            .await
            .expect(403);
    }
    // A member sees itself and its own project, nobody else's.
    c.get(&member, &format!("/users/{member_id}"))
        .await
        .expect(200);
    c.get(&member, &format!("/users/{bob_id}"))
        .await
        .expect(403);
    c.get(&member, &format!("/projects/{pa}")).await.expect(200);
    assert_eq!(
        ids(&c.get(&member, "/auth/projects").await.expect(200).body["projects"]),
        [pa.clone()]
    );
    assert_eq!(
        ids(&c
            .get(&member, &format!("/users/{member_id}/projects"))
            .await
            .expect(200)
            .body["projects"]),
        [pa.clone()]
    );
    c.get(&member, &format!("/users/{bob_id}/projects"))
        .await
        .expect(403);
    c.get(&member, &format!("/users/{bob_id}/groups"))
        .await
        .expect(403);
    assert_eq!(
        c.get(&member, &format!("/users/{member_id}/groups"))
            .await
            .expect(200)
            .body["groups"],
        json!([])
    );
    // An unknown user's projects, groups and credentials: 404, not an empty list.
    let admin = c.admin_token.clone();
    for what in ["projects", "groups", "application_credentials"] {
        c.get(&admin, &format!("/users/{}/{what}", "0".repeat(32)))
            .await
            .expect(404);
    }
    // The user of project B cannot read project A nor scope to it.
    c.get(&bob, &format!("/projects/{pa}")).await.expect(403);
    c.get(&bob, &format!("/projects/{pb}")).await.expect(200);
    c.auth(TestCloud::password_body(
        "bob",
        "bob-password",
        Some("project-a"),
    ))
    .await
    .expect(401);
    c.auth(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": bob_id, "password": "bob-password"}}}, "scope": {"project": {"id": pa}}}})).await.expect(401);
    // Nor rescope its token to it, nor revoke someone else's token.
    c.auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": bob}}, "scope": {"project": {"id": pa}}}})).await.expect(401);
    let r = c
        .client
        .delete(c.v3("/auth/tokens"))
        .header("X-Auth-Token", &bob)
        .header("X-Subject-Token", &member)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .client
        .get(c.v3("/auth/tokens"))
        .header("X-Auth-Token", &bob)
        .header("X-Subject-Token", &member)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // No token, a garbage token: 401.
    c.call(Method::GET, "/users", None, None).await.expect(401);
    c.get("garbage", "/users").await.expect(401);
    // A disabled user cannot authenticate, and its tokens stop working.
    c.patch(
        &c.admin_token,
        &format!("/users/{bob_id}"),
        json!({"user": {"enabled": false}}),
    )
    .await
    .expect(200);
    c.auth(TestCloud::password_body(
        "bob",
        "bob-password",
        Some("project-b"),
    ))
    .await
    .expect(401);
    c.get(&bob, &format!("/projects/{pb}")).await.expect(401);
    // A disabled project cannot be scoped to.
    c.patch(
        &c.admin_token,
        &format!("/projects/{pa}"),
        json!({"project": {"enabled": false}}),
    )
    .await
    .expect(200);
    c.auth(TestCloud::password_body(
        "mia",
        "mia-password",
        Some("project-a"),
    ))
    .await
    .expect(401);
    c.finish().await;
}
per_backend!(multi_thread: rbac_and_isolation);

async fn application_credentials(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (uid, pid, _) = c.user_with_role("eve", "delta", "member").await;
    // Eve is a member (so also a reader); she delegates only reader.
    let token = c.login("eve", "eve-password", Some("delta")).await;
    let path = format!("/users/{uid}/application_credentials");
    let r = c
        .post(&token, &path, json!({"application_credential": {"name": "ci", "description": "for CI", "roles": [{"name": "reader"}], "expires_at": "2099-01-01T00:00:00"}}))
        .await
        .expect(201);
    let cred = r.body["application_credential"].clone();
    let cid = cred["id"].as_str().unwrap().to_string();
    let secret = cred["secret"]
        .as_str()
        .expect("secret returned at creation")
        .to_string();
    assert_eq!(cred["project_id"], json!(pid));
    assert_eq!(cred["unrestricted"], false);
    // As Keystone: Python's isoformat() of the naive UTC time sent.
    assert_eq!(cred["expires_at"], "2099-01-01T00:00:00");
    assert_eq!(names(&cred["roles"]), ["reader"]);
    // The secret is never shown again.
    let list = c.get(&token, &path).await.expect(200);
    assert_eq!(ids(&list.body["application_credentials"]), [cid.clone()]);
    assert!(list.body["application_credentials"][0]
        .get("secret")
        .is_none());
    let show = c.get(&token, &format!("{path}/{cid}")).await.expect(200);
    assert!(show.body["application_credential"].get("secret").is_none());
    assert_eq!(
        ids(&c
            .get(&token, &format!("{path}?name=ci"))
            .await
            .expect(200)
            .body["application_credentials"]),
        [cid.clone()]
    );
    assert_eq!(
        c.get(&token, &format!("{path}?name=other"))
            .await
            .expect(200)
            .body["application_credentials"],
        json!([])
    );
    c.post(
        &token,
        &path,
        json!({"application_credential": {"name": "ci"}}),
    )
    .await
    .expect(409);
    c.post(
        &token,
        &path,
        json!({"application_credential": {"name": "too-much", "roles": [{"name": "admin"}]}}),
    )
    .await
    .expect(403);
    c.post(
        &token,
        &path,
        json!({"application_credential": {"description": "no name"}}),
    )
    .await
    .expect(400);
    c.post(
        &token,
        &path,
        json!({"application_credential": {"name": "old", "expires_at": "2001-01-01T00:00:00Z"}}),
    )
    .await
    .expect(400);
    c.post(
        &token,
        &path,
        json!({"application_credential": {"name": "bad-time", "expires_at": "tomorrow"}}),
    )
    .await
    .expect(400);
    c.post(
        &c.admin_token,
        &path,
        json!({"application_credential": {"name": "not-yours"}}),
    )
    .await
    .expect(403);

    // Authenticate with it, by id and by name + user.
    for identity in [
        json!({"methods": ["application_credential"], "application_credential": {"id": cid, "secret": secret}}),
        json!({"methods": ["application_credential"], "application_credential": {"name": "ci", "user": {"name": "eve", "domain": {"name": "Default"}}, "secret": secret}}),
    ] {
        let r = c
            .auth(json!({"auth": {"identity": identity}}))
            .await
            .expect(201);
        let t = &r.body["token"];
        assert_eq!(t["methods"], json!(["application_credential"]));
        assert_eq!(t["project"]["id"], json!(pid));
        assert_eq!(names(&t["roles"]), ["reader"]);
        assert_eq!(
            t["application_credential"],
            json!({"id": cid, "name": "ci", "restricted": true})
        );
        let ac_token = r.header("x-subject-token").unwrap();
        // A restricted credential cannot make another.
        c.post(
            &ac_token,
            &path,
            json!({"application_credential": {"name": "child"}}),
        )
        .await
        .expect(403);
    }
    c.auth(json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cid, "secret": "wrong"}}}})).await.expect(401);
    // Deleting it ends its tokens.
    let r = c.auth(json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cid, "secret": secret}}}})).await.expect(201);
    let ac_token = r.header("x-subject-token").unwrap();
    c.delete(&token, &format!("{path}/{cid}")).await.expect(204);
    c.get(&token, &format!("{path}/{cid}")).await.expect(404);
    c.get(&ac_token, "/auth/projects").await.expect(401);
    c.auth(json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cid, "secret": secret}}}})).await.expect(401);
    c.finish().await;
}
per_backend!(multi_thread: application_credentials);

async fn self_password_change_and_lockout(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (uid, _, token) = c.user_with_role("finn", "eps", "member").await;
    let path = format!("/users/{uid}/password");
    // Wrong original password: 401; weak new password: 400; someone else's: 403.
    c.post(
        &token,
        &path,
        json!({"user": {"password": "finn-new-password", "original_password": "nope"}}),
    )
    .await
    .expect(401);
    c.post(
        &token,
        &path,
        json!({"user": {"password": "short", "original_password": "finn-password"}}),
    )
    .await
    .expect(400);
    c.post(
        &token,
        &path,
        json!({"user": {"password": "finn-new-password"}}),
    )
    .await
    .expect(400);
    // Keystone's rule: the original password is the authority, whoever
    // asks; an admin without it is refused like anyone.
    c.post(
        &c.admin_token,
        &path,
        json!({"user": {"password": "finn-new-password", "original_password": "not-finns-password"}}),
    )
    .await
    .expect(401);
    c.post(
        &token,
        &path,
        json!({"user": {"password": "finn-new-password", "original_password": "finn-password"}}),
    )
    .await
    .expect(204);
    // The old token is revoked; the old password no longer works, the new one does.
    c.get(&token, "/auth/projects").await.expect(401);
    c.auth(TestCloud::password_body("finn", "finn-password", None))
        .await
        .expect(401);
    c.auth(TestCloud::password_body(
        "finn",
        "finn-new-password",
        Some("eps"),
    ))
    .await
    .expect(201);

    // Lockout after 3 failures (the test config): then even the right password is refused.
    for _ in 0..2 {
        let r = c
            .auth(TestCloud::password_body("finn", "bad-password", None))
            .await
            .expect(401);
        assert!(!r.message().contains("locked"));
    }
    let r = c
        .auth(TestCloud::password_body("finn", "bad-password", None))
        .await
        .expect(401);
    assert!(r.message().contains("locked"), "{}", r.message());
    let r = c
        .auth(TestCloud::password_body("finn", "finn-new-password", None))
        .await
        .expect(401);
    assert!(r.message().contains("locked"), "{}", r.message());
    // An admin reset unlocks.
    c.patch(
        &c.admin_token,
        &format!("/users/{uid}"),
        json!({"user": {"password": "finn-third-password"}}),
    )
    .await
    .expect(200);
    c.auth(TestCloud::password_body(
        "finn",
        "finn-third-password",
        None,
    ))
    .await
    .expect(201);
    c.finish().await;
}
per_backend!(multi_thread: self_password_change_and_lockout);

async fn implied_roles_create_list_refuse_cycles_delete(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let tok = c.admin_token.clone();
    let ops = c
        .post(&tok, "/roles", json!({"role": {"name": "operator"}}))
        .await
        .expect(201)
        .body["role"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = c.role_id("member").await;
    let created = c
        .put(&tok, &format!("/roles/{ops}/implies/{member}"))
        .await
        .expect(201);
    assert_eq!(created.body["role_inference"]["implies"]["name"], "member");
    // member → operator would close a cycle.
    c.put(&tok, &format!("/roles/{member}/implies/{ops}"))
        .await
        .expect(400);
    let list = c
        .get(&tok, &format!("/roles/{ops}/implies"))
        .await
        .expect(200);
    assert_eq!(names(&list.body["role_inference"]["implies"]), ["member"]);
    c.head(&tok, &format!("/roles/{ops}/implies/{member}"))
        .await
        .expect(204);
    c.delete(&tok, &format!("/roles/{ops}/implies/{member}"))
        .await
        .expect(204);
    c.delete(&tok, &format!("/roles/{ops}/implies/{member}"))
        .await
        .expect(404);
    c.get(&tok, &format!("/roles/{ops}/implies/{member}"))
        .await
        .expect(404);
    c.finish().await;
}
per_backend!(multi_thread: implied_roles_create_list_refuse_cycles_delete);
