//! Keystone's project hierarchy and tags, projects acting as domains,
//! extra user attributes, OS-INHERIT, domain-specific roles and OS-TRUST,
//! against the real server on SQLite and on MariaDB.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::TestCloud;
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// The role names a token holds.
async fn token_roles(c: &TestCloud, token: &str) -> Vec<String> {
    let res = c
        .client
        .get(c.v3("/auth/tokens"))
        .header("X-Auth-Token", &c.admin_token)
        .header("X-Subject-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let mut names: Vec<String> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn projects_hierarchy_tags_and_domains(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.clone();
    let a = a.as_str();

    // A domain made through the projects API is a domain.
    let d = c
        .post(
            a,
            "/projects",
            json!({"project": {"name": "acme", "is_domain": true}}),
        )
        .await
        .expect(201);
    let did = d.body["project"]["id"].as_str().unwrap().to_string();
    assert_eq!(d.body["project"]["is_domain"], true);
    assert_eq!(d.body["project"]["domain_id"], Value::Null);
    c.get(a, &format!("/domains/{did}")).await.expect(200);
    let listed = c.get(a, "/projects?is_domain=true").await.expect(200);
    assert!(ids(&listed.body["projects"]).contains(&did));
    let plain = c.get(a, "/projects").await.expect(200);
    assert!(
        !ids(&plain.body["projects"]).contains(&did),
        "domains are not projects by default"
    );

    // Top level: the parent is the domain. Below: the given project.
    let root = c
        .post(
            a,
            "/projects",
            json!({"project": {"name": "root", "domain_id": did, "tags": ["a", "b"]}}),
        )
        .await
        .expect(201);
    let root_id = root.body["project"]["id"].as_str().unwrap().to_string();
    assert_eq!(root.body["project"]["parent_id"], json!(did));
    assert_eq!(root.body["project"]["tags"], json!(["a", "b"]));
    let leaf = c
        .post(
            a,
            "/projects",
            json!({"project": {"name": "leaf", "parent_id": root_id}}),
        )
        .await
        .expect(201);
    let leaf_id = leaf.body["project"]["id"].as_str().unwrap().to_string();
    assert_eq!(leaf.body["project"]["parent_id"], json!(root_id));
    assert_eq!(
        leaf.body["project"]["domain_id"],
        json!(did),
        "the parent gives the domain"
    );
    let children = c
        .get(a, &format!("/projects?parent_id={root_id}"))
        .await
        .expect(200);
    assert_eq!(ids(&children.body["projects"]), vec![leaf_id.clone()]);
    // Another domain's parent, an unknown parent, a move: refused.
    c.post(
        a,
        "/projects",
        json!({"project": {"name": "x", "domain_id": "default", "parent_id": root_id}}),
    )
    .await
    .expect(400);
    c.post(
        a,
        "/projects",
        json!({"project": {"name": "x", "parent_id": "nope"}}),
    )
    .await
    .expect(400);
    c.patch(
        a,
        &format!("/projects/{leaf_id}"),
        json!({"project": {"parent_id": did}}),
    )
    .await
    .expect(403);
    // Five deep at most.
    let mut parent = leaf_id.clone();
    for depth in 3..=5 {
        let p = c
            .post(
                a,
                "/projects",
                json!({"project": {"name": format!("d{depth}"), "parent_id": parent}}),
            )
            .await
            .expect(201);
        parent = p.body["project"]["id"].as_str().unwrap().to_string();
    }
    c.post(
        a,
        "/projects",
        json!({"project": {"name": "d6", "parent_id": parent}}),
    )
    .await
    .expect(403);

    // Tags: one at a time, all at once, and the list filters.
    c.put(a, &format!("/projects/{leaf_id}/tags/c"))
        .await
        .expect(201);
    c.get(a, &format!("/projects/{leaf_id}/tags/c"))
        .await
        .expect(204);
    c.get(a, &format!("/projects/{leaf_id}/tags/zz"))
        .await
        .expect(404);
    let tagged = c.get(a, "/projects?tags=a,b").await.expect(200);
    assert_eq!(ids(&tagged.body["projects"]), vec![root_id.clone()]);
    let any = c.get(a, "/projects?tags-any=c,b").await.expect(200);
    let mut any_ids = ids(&any.body["projects"]);
    any_ids.sort();
    let mut want = vec![root_id.clone(), leaf_id.clone()];
    want.sort();
    assert_eq!(any_ids, want);
    let not_any = c.get(a, "/projects?not-tags-any=a,c").await.expect(200);
    assert!(!ids(&not_any.body["projects"]).contains(&root_id));
    assert!(!ids(&not_any.body["projects"]).contains(&leaf_id));
    let all = c
        .call(
            reqwest::Method::PUT,
            &format!("/projects/{leaf_id}/tags"),
            Some(a),
            Some(json!({"tags": ["x", "y"]})),
        )
        .await
        .expect(200);
    assert_eq!(all.body["tags"], json!(["x", "y"]));
    c.post(
        a,
        "/projects",
        json!({"project": {"name": "dup", "tags": ["t", "t"]}}),
    )
    .await
    .expect(400);
    c.post(
        a,
        "/projects",
        json!({"project": {"name": "slash", "tags": ["a/b"]}}),
    )
    .await
    .expect(400);
    c.delete(a, &format!("/projects/{leaf_id}/tags"))
        .await
        .expect(204);
    let none = c
        .get(a, &format!("/projects/{leaf_id}/tags"))
        .await
        .expect(200);
    assert_eq!(none.body["tags"], json!([]));

    // A project with children stays; deleting the disabled domain takes
    // its projects, users and groups along.
    c.delete(a, &format!("/projects/{root_id}"))
        .await
        .expect(403);
    let uid = c
        .post(
            a,
            "/users",
            json!({"user": {"name": "u", "domain_id": did}}),
        )
        .await
        .expect(201)
        .body["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.patch(
        a,
        &format!("/projects/{did}"),
        json!({"project": {"enabled": false}}),
    )
    .await
    .expect(200);
    c.delete(a, &format!("/projects/{did}")).await.expect(204);
    c.get(a, &format!("/domains/{did}")).await.expect(404);
    c.get(a, &format!("/projects/{leaf_id}")).await.expect(404);
    c.get(a, &format!("/users/{uid}")).await.expect(404);
    c.finish().await;
}
per_backend!(multi_thread: projects_hierarchy_tags_and_domains);

async fn extra_user_attributes_and_password_changes(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.clone();
    let a = a.as_str();
    let pid = c.create_project("p").await;
    let u = c
        .post(a, "/users", json!({"user": {"name": "eve", "password": "eve-password-1", "project_id": pid, "team": {"n": 1}}}))
        .await
        .expect(201);
    let uid = u.body["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(u.body["user"]["project_id"], json!(pid));
    let got = c.get(a, &format!("/users/{uid}")).await.expect(200);
    assert_eq!(got.body["user"]["team"], json!({"n": 1}));
    // Keystone's own attributes cannot be overridden by an extra.
    let upd = c
        .patch(
            a,
            &format!("/users/{uid}"),
            json!({"user": {"team": "b", "links": "x"}}),
        )
        .await
        .expect(200);
    assert_eq!(upd.body["user"]["team"], "b");
    assert_eq!(upd.body["user"]["project_id"], json!(pid), "extras merge");
    assert!(upd.body["user"]["links"].is_object());

    // The original password authorizes the change, whoever asks.
    let body =
        |orig: &str, new: &str| json!({"user": {"original_password": orig, "password": new}});
    c.post(
        a,
        &format!("/users/{uid}/password"),
        body("wrong", "eve-password-2"),
    )
    .await
    .expect(401);
    c.post(
        a,
        &format!("/users/{uid}/password"),
        body("eve-password-1", "eve-password-2"),
    )
    .await
    .expect(204);
    c.auth(TestCloud::password_body("eve", "eve-password-2", None))
        .await
        .expect(201);
    c.finish().await;
}
per_backend!(multi_thread: extra_user_attributes_and_password_changes);

async fn inherited_and_domain_roles(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.clone();
    let a = a.as_str();
    let root = c.create_project("root").await;
    let leaf = c
        .post(
            a,
            "/projects",
            json!({"project": {"name": "leaf", "parent_id": root}}),
        )
        .await
        .expect(201)
        .body["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uid = c.create_user("ann").await;
    let member = c.role_id("member").await;

    // Inherited on the root project: the leaf gets it, the root does not.
    let grant =
        format!("/OS-INHERIT/projects/{root}/users/{uid}/roles/{member}/inherited_to_projects");
    c.put(a, &grant).await.expect(204);
    c.head(a, &grant).await.expect(204);
    let direct = c
        .head(a, &format!("/projects/{root}/users/{uid}/roles/{member}"))
        .await;
    assert_eq!(
        direct.status, 404,
        "an inherited grant is not a grant on the project"
    );
    let t = c.login("ann", "ann-password", Some("leaf")).await;
    assert!(token_roles(&c, &t).await.contains(&"member".to_string()));
    c.auth(TestCloud::password_body(
        "ann",
        "ann-password",
        Some("root"),
    ))
    .await
    .expect(401);
    let eff = c
        .get(
            a,
            &format!("/role_assignments?effective&user.id={uid}&scope.project.id={leaf}"),
        )
        .await
        .expect(200);
    // member, and the reader it implies.
    assert_eq!(eff.body["role_assignments"].as_array().unwrap().len(), 2);
    let raw = c
        .get(a, &format!("/role_assignments?user.id={uid}"))
        .await
        .expect(200);
    assert_eq!(
        raw.body["role_assignments"][0]["scope"]["OS-INHERIT:inherited_to"],
        "projects"
    );
    let mine = c
        .get(a, &format!("/users/{uid}/projects"))
        .await
        .expect(200);
    assert_eq!(ids(&mine.body["projects"]), vec![leaf.clone()]);
    c.delete(a, &grant).await.expect(204);
    c.get(&t, "/auth/projects").await.expect(401);

    // Inherited on the domain: every project in it.
    let on_domain =
        format!("/OS-INHERIT/domains/default/users/{uid}/roles/{member}/inherited_to_projects");
    c.put(a, &on_domain).await.expect(204);
    let listed = c
        .get(
            a,
            &format!("/OS-INHERIT/domains/default/users/{uid}/roles/inherited_to_projects"),
        )
        .await
        .expect(200);
    assert_eq!(ids(&listed.body["roles"]), vec![member.clone()]);
    c.login("ann", "ann-password", Some("root")).await;

    // A domain role: only what it implies reaches a token.
    let dr = c
        .post(
            a,
            "/roles",
            json!({"role": {"name": "auditor", "domain_id": "default"}}),
        )
        .await
        .expect(201);
    let drid = dr.body["role"]["id"].as_str().unwrap().to_string();
    assert_eq!(dr.body["role"]["domain_id"], "default");
    let in_domain = c.get(a, "/roles?domain_id=default").await.expect(200);
    assert_eq!(ids(&in_domain.body["roles"]), vec![drid.clone()]);
    let global = c.get(a, "/roles").await.expect(200);
    assert!(!ids(&global.body["roles"]).contains(&drid));
    // The same name may exist globally and in a domain.
    c.post(a, "/roles", json!({"role": {"name": "auditor"}}))
        .await
        .expect(201);
    let reader = c.role_id("reader").await;
    c.put(a, &format!("/roles/{reader}/implies/{drid}"))
        .await
        .expect(403);
    c.put(a, &format!("/roles/{drid}/implies/{reader}"))
        .await
        .expect(201);
    c.delete(a, &on_domain).await.expect(204);
    let bob = c.create_user("bob").await;
    c.grant(&root, &bob, &drid).await;
    let bt = c.login("bob", "bob-password", Some("root")).await;
    assert_eq!(token_roles(&c, &bt).await, vec!["reader".to_string()]);
    let eff = c
        .get(a, &format!("/role_assignments?effective&user.id={bob}"))
        .await
        .expect(200);
    let roles: Vec<&str> = eff.body["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec![reader.as_str()]);
    c.finish().await;
}
per_backend!(multi_thread: inherited_and_domain_roles);

async fn trusts_delegate_roles(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let a = c.admin_token.clone();
    let a = a.as_str();
    let (trustor, pid, tt) = c.user_with_role("tom", "p", "member").await;
    let reader = c.role_id("reader").await;
    c.grant(&pid, &trustor, &reader).await;
    let trustee = c.create_user("tim").await;
    let body = |roles: Value, imp: bool| json!({"trust": {"trustor_user_id": trustor, "trustee_user_id": trustee, "project_id": pid, "impersonation": imp, "roles": roles, "expires_at": "2999-01-01T00:00:00Z"}});
    // Only the trustor makes a trust, and only with roles it holds.
    c.post(
        a,
        "/OS-TRUST/trusts",
        body(json!([{"name": "reader"}]), true),
    )
    .await
    .expect(403);
    c.post(
        &tt,
        "/OS-TRUST/trusts",
        body(json!([{"name": "admin"}]), true),
    )
    .await
    .expect(403);
    c.post(&tt, "/OS-TRUST/trusts", json!({"trust": {"trustor_user_id": trustor, "trustee_user_id": trustee, "project_id": pid, "impersonation": true, "roles": [{"name": "reader"}], "expires_at": "bad.123Z"}}))
        .await
        .expect(400);
    let t = c
        .post(
            &tt,
            "/OS-TRUST/trusts",
            body(json!([{"name": "reader"}]), true),
        )
        .await
        .expect(201);
    let trust_id = t.body["trust"]["id"].as_str().unwrap().to_string();
    assert_eq!(t.body["trust"]["expires_at"], "2999-01-01T00:00:00.000000Z");
    assert_eq!(t.body["trust"]["roles"][0]["name"], "reader");
    let mine = c
        .get(&tt, &format!("/OS-TRUST/trusts?trustor_user_id={trustor}"))
        .await
        .expect(200);
    assert_eq!(ids(&mine.body["trusts"]), vec![trust_id.clone()]);
    c.get(&tt, "/OS-TRUST/trusts").await.expect(403);
    c.get(a, &format!("/OS-TRUST/trusts/{trust_id}/roles/{reader}"))
        .await
        .expect(200);
    let member = c.role_id("member").await;
    c.get(a, &format!("/OS-TRUST/trusts/{trust_id}/roles/{member}"))
        .await
        .expect(404);

    // The trustee's trust-scoped token acts as the trustor, with the
    // delegated role only; it cannot be rescoped.
    let tim = c.login("tim", "tim-password", None).await;
    let scoped = c
        .auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": tim}}, "scope": {"OS-TRUST:trust": {"id": trust_id}}}}))
        .await
        .expect(201);
    assert_eq!(scoped.body["token"]["user"]["id"], json!(trustor));
    assert_eq!(
        scoped.body["token"]["OS-TRUST:trust"]["id"],
        json!(trust_id)
    );
    let st = scoped.header("x-subject-token").unwrap();
    assert_eq!(token_roles(&c, &st).await, vec!["reader".to_string()]);
    c.auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": st}}, "scope": {"project": {"id": pid}}}}))
        .await
        .expect(403);
    // Someone else cannot use it.
    c.auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": tt}}, "scope": {"OS-TRUST:trust": {"id": trust_id}}}}))
        .await
        .expect(401);
    // Deleting the trust ends its tokens.
    c.delete(&tt, &format!("/OS-TRUST/trusts/{trust_id}"))
        .await
        .expect(204);
    c.get(a, &format!("/OS-TRUST/trusts/{trust_id}"))
        .await
        .expect(404);
    c.get(&st, "/auth/projects").await.expect(401);
    c.finish().await;
}
per_backend!(multi_thread: trusts_delegate_roles);
