//! Glance's metadata definitions API (`/image/v2/metadefs`) against the real
//! server on SQLite and on MariaDB: namespaces and what they hold, the
//! resource type catalog, visibility and policy, and that a refused create
//! leaves nothing behind.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::{Res, TestCloud};
use reqwest::Method;
use serde_json::{json, Value};

fn md(c: &TestCloud, path: &str) -> String {
    c.image_url(&format!("/metadefs{path}"))
}

async fn put_json(c: &TestCloud, token: &str, url: &str, body: Value) -> Res {
    c.call(Method::PUT, url, Some(token), Some(body)).await
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

async fn tag_names(c: &TestCloud, token: &str) -> Vec<String> {
    let url = md(c, "/namespaces/NS/tags?sort_key=name&sort_dir=asc");
    names(&c.get(token, &url).await.expect(200).body, "tags")
}

fn namespaces(v: &Value) -> Vec<String> {
    v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["namespace"].as_str().unwrap().to_string())
        .collect()
}

async fn schemas_and_seeded_resource_types(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, reader) = c.user_with_role("mdreader", "mdproj", "reader").await;
    for (path, name) in [
        ("namespace", "namespace"),
        ("namespaces", "namespaces"),
        ("object", "object"),
        ("objects", "objects"),
        ("property", "property"),
        ("properties", "properties"),
        ("resource_type", "resource_type_association"),
        ("resource_types", "resource_type_associations"),
        ("tag", "tag"),
        ("tags", "tags"),
    ] {
        let res = c
            .get(&reader, &c.image_url(&format!("/schemas/metadefs/{path}")))
            .await
            .expect(200);
        assert_eq!(res.body["name"], name, "{path}");
    }
    // Glance's own schema text: required attributes and definitions.
    let ns = c
        .get(&reader, &c.image_url("/schemas/metadefs/namespace"))
        .await
        .expect(200)
        .body;
    assert_eq!(ns["required"], json!(["namespace"]));
    assert_eq!(ns["additionalProperties"], json!(false));
    assert!(ns["definitions"]["property"].is_object());
    let prop = c
        .get(&reader, &c.image_url("/schemas/metadefs/property"))
        .await
        .expect(200)
        .body;
    assert_eq!(prop["required"], json!(["type", "title", "name"]));
    c.get(&reader, &c.image_url("/schemas/metadefs/bogus"))
        .await
        .expect(404);

    let types = names(
        &c.get(&reader, &md(&c, "/resource_types"))
            .await
            .expect(200)
            .body,
        "resource_types",
    );
    for t in [
        "OS::Glance::Image",
        "OS::Cinder::Volume",
        "OS::Nova::Flavor",
        "OS::Nova::Server",
        "OS::Nova::Aggregate",
    ] {
        assert!(types.contains(&t.to_string()), "{t} in {types:?}");
    }
    c.finish().await;
}
per_backend!(multi_thread: schemas_and_seeded_resource_types);

async fn namespace_lifecycle(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let res = c
        .post(
            &admin,
            &md(&c, "/namespaces"),
            json!({
                "namespace": "Test::Full",
                "display_name": "Full",
                "description": "with contents",
                "visibility": "public",
                "protected": true,
                "resource_type_associations": [
                    {"name": "OS::Glance::Image", "prefix": "hw_"},
                    {"name": "Test::Brand::New"},
                ],
                "properties": {"cpu": {"title": "CPU", "type": "string", "enum": ["a", "b"]}},
                "objects": [{"name": "obj", "required": ["ram"], "properties": {"ram": {"title": "RAM", "type": "integer"}}}],
                "tags": [{"name": "t1"}, {"name": "t2"}],
            }),
        )
        .await
        .expect(201);
    assert_eq!(
        res.header("location").as_deref(),
        Some("/v2/metadefs/namespaces/Test::Full")
    );
    assert_eq!(res.body["owner"], c.admin_project_id.as_str());
    assert_eq!(res.body["self"], "/v2/metadefs/namespaces/Test::Full");
    assert_eq!(res.body["schema"], "/v2/schemas/metadefs/namespace");

    let show = c
        .get(&admin, &md(&c, "/namespaces/Test::Full"))
        .await
        .expect(200)
        .body;
    assert_eq!(show["visibility"], "public");
    assert_eq!(show["protected"], true);
    assert_eq!(show["properties"]["cpu"]["enum"], json!(["a", "b"]));
    assert_eq!(show["objects"][0]["properties"]["ram"]["type"], "integer");
    assert_eq!(names(&show, "tags").len(), 2);
    assert_eq!(names(&show, "resource_type_associations").len(), 2);
    // A resource type named for the first time joined the catalog.
    let types = names(
        &c.get(&admin, &md(&c, "/resource_types"))
            .await
            .expect(200)
            .body,
        "resource_types",
    );
    assert!(types.contains(&"Test::Brand::New".to_string()));
    // With a resource type, names carry its prefix.
    let prefixed = c
        .get(
            &admin,
            &md(&c, "/namespaces/Test::Full?resource_type=OS::Glance::Image"),
        )
        .await
        .expect(200)
        .body;
    assert!(prefixed["properties"]["hw_cpu"].is_object());
    assert_eq!(prefixed["objects"][0]["required"], json!(["hw_ram"]));
    let p = c
        .get(
            &admin,
            &md(
                &c,
                "/namespaces/Test::Full/properties/hw_cpu?resource_type=OS::Glance::Image",
            ),
        )
        .await
        .expect(200);
    assert_eq!(p.body["name"], "cpu");

    // Protected: neither it nor anything in it can be deleted.
    let res = c
        .delete(&admin, &md(&c, "/namespaces/Test::Full"))
        .await
        .expect(403);
    assert!(res.message().contains("protected"), "{}", res.message());
    c.delete(&admin, &md(&c, "/namespaces/Test::Full/tags/t1"))
        .await
        .expect(403);
    c.delete(&admin, &md(&c, "/namespaces/Test::Full/tags"))
        .await
        .expect(403);

    // A duplicate name is a conflict.
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Test::Full"}),
    )
    .await
    .expect(409);

    // Lists filter by visibility and resource type.
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Test::Plain"}),
    )
    .await
    .expect(201);
    let all = namespaces(&c.get(&admin, &md(&c, "/namespaces")).await.expect(200).body);
    assert_eq!(all, vec!["Test::Plain", "Test::Full"], "newest first");
    let public = namespaces(
        &c.get(&admin, &md(&c, "/namespaces?visibility=public"))
            .await
            .expect(200)
            .body,
    );
    assert_eq!(public, vec!["Test::Full"]);
    let by_type = c
        .get(
            &admin,
            &md(&c, "/namespaces?resource_types=Test::Brand::New"),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(namespaces(&by_type), vec!["Test::Full"]);
    assert_eq!(
        by_type["namespaces"][0]["resource_type_associations"][0]["name"],
        "OS::Glance::Image"
    );
    let page = c
        .get(&admin, &md(&c, "/namespaces?limit=1"))
        .await
        .expect(200)
        .body;
    assert_eq!(namespaces(&page), vec!["Test::Plain"]);
    let next = page["next"].as_str().unwrap().to_string();
    assert!(next.contains("marker=Test%3A%3APlain"), "{next}");
    let page2 = c
        .get(&admin, &md(&c, "/namespaces?limit=1&marker=Test::Plain"))
        .await
        .expect(200)
        .body;
    assert_eq!(namespaces(&page2), vec!["Test::Full"]);
    c.get(&admin, &md(&c, "/namespaces?visibility=shared"))
        .await
        .expect(400);

    // PUT replaces the fields; then it can go, contents and all.
    let up = put_json(
        &c,
        &admin,
        &md(&c, "/namespaces/Test::Full"),
        json!({"namespace": "Test::Renamed", "visibility": "private", "protected": false}),
    )
    .await
    .expect(200);
    assert_eq!(up.body["visibility"], "private");
    assert_eq!(up.body["protected"], false);
    assert!(up.body.get("display_name").is_none());
    c.get(&admin, &md(&c, "/namespaces/Test::Full"))
        .await
        .expect(404);
    let moved = c
        .get(&admin, &md(&c, "/namespaces/Test::Renamed"))
        .await
        .expect(200)
        .body;
    assert_eq!(names(&moved, "tags").len(), 2, "contents follow a rename");
    c.delete(&admin, &md(&c, "/namespaces/Test::Renamed"))
        .await
        .expect(204);
    c.get(&admin, &md(&c, "/namespaces/Test::Renamed"))
        .await
        .expect(404);
    c.finish().await;
}
per_backend!(multi_thread: namespace_lifecycle);

async fn readers_see_public_and_their_own(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let (_, p1, reader1) = c.user_with_role("r1", "proj1", "reader").await;
    let (_, _, member2) = c.user_with_role("m2", "proj2", "member").await;
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Pub", "visibility": "public"}),
    )
    .await
    .expect(201);
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Mine", "owner": p1}),
    )
    .await
    .expect(201);
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Hidden"}),
    )
    .await
    .expect(201);
    c.post(&admin, &md(&c, "/namespaces/Hidden/tags/secret"), json!({}))
        .await
        .expect(201);

    let seen1 = namespaces(
        &c.get(&reader1, &md(&c, "/namespaces"))
            .await
            .expect(200)
            .body,
    );
    assert_eq!(seen1, vec!["Mine", "Pub"]);
    let seen2 = namespaces(
        &c.get(&member2, &md(&c, "/namespaces"))
            .await
            .expect(200)
            .body,
    );
    assert_eq!(seen2, vec!["Pub"]);
    // Another project's private namespace (and what is in it) is not found.
    c.get(&member2, &md(&c, "/namespaces/Mine"))
        .await
        .expect(404);
    c.get(&member2, &md(&c, "/namespaces/Hidden/tags"))
        .await
        .expect(404);
    c.get(&reader1, &md(&c, "/namespaces/Mine"))
        .await
        .expect(200);
    c.get(&admin, &md(&c, "/namespaces/Hidden/tags/secret"))
        .await
        .expect(200);

    // Only admins change the catalog: what a caller sees but may not change is 403.
    let res = c
        .post(
            &member2,
            &md(&c, "/namespaces"),
            json!({"namespace": "Nope"}),
        )
        .await
        .expect(403);
    assert!(
        res.message().contains("image:add_metadef_namespace"),
        "{}",
        res.message()
    );
    put_json(
        &c,
        &member2,
        &md(&c, "/namespaces/Pub"),
        json!({"namespace": "Pub", "visibility": "public"}),
    )
    .await
    .expect(403);
    c.post(&reader1, &md(&c, "/namespaces/Mine/tags/x"), json!({}))
        .await
        .expect(403);
    c.delete(&member2, &md(&c, "/namespaces/Pub"))
        .await
        .expect(403);
    c.delete(&member2, &md(&c, "/namespaces/Hidden"))
        .await
        .expect(404);
    c.finish().await;
}
per_backend!(multi_thread: readers_see_public_and_their_own);

async fn objects_properties_tags_and_associations(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    c.post(&admin, &md(&c, "/namespaces"), json!({"namespace": "NS"}))
        .await
        .expect(201);

    // Objects: create, rename, delete.
    let o = c
        .post(
            &admin,
            &md(&c, "/namespaces/NS/objects"),
            json!({"name": "o1", "description": "d", "properties": {"p": {"title": "P", "type": "boolean"}}}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(o["self"], "/v2/metadefs/namespaces/NS/objects/o1");
    assert_eq!(o["schema"], "/v2/schemas/metadefs/object");
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/objects"),
        json!({"name": "o1"}),
    )
    .await
    .expect(409);
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/objects"),
        json!({"name": "o2", "properties": {"p": {"type": "string"}}}),
    )
    .await
    .expect(400);
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/objects"),
        json!({"name": "o2", "self": "x"}),
    )
    .await
    .expect(403);
    let up = put_json(
        &c,
        &admin,
        &md(&c, "/namespaces/NS/objects/o1"),
        json!({"name": "o1b"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(up["name"], "o1b");
    assert!(up.get("description").is_none(), "PUT replaces: {up}");
    let list = c
        .get(&admin, &md(&c, "/namespaces/NS/objects"))
        .await
        .expect(200)
        .body;
    assert_eq!(names(&list, "objects"), vec!["o1b"]);
    c.delete(&admin, &md(&c, "/namespaces/NS/objects/o1b"))
        .await
        .expect(204);
    c.get(&admin, &md(&c, "/namespaces/NS/objects/o1b"))
        .await
        .expect(404);

    // Properties: the list is keyed by name.
    let p = c
        .post(
            &admin,
            &md(&c, "/namespaces/NS/properties"),
            json!({"name": "OS::Nova::Server", "title": "T", "type": "string", "enum": ["kvm", "qemu"]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(p["name"], "OS::Nova::Server");
    assert_eq!(p["title"], "T");
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/properties"),
        json!({"name": "bad", "title": "T", "type": "text"}),
    )
    .await
    .expect(400);
    let up = put_json(
        &c,
        &admin,
        &md(&c, "/namespaces/NS/properties/OS::Nova::Server"),
        json!({"name": "renamed", "title": "T2", "type": "integer", "minimum": 1}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(up["title"], "T2");
    let list = c
        .get(&admin, &md(&c, "/namespaces/NS/properties"))
        .await
        .expect(200)
        .body;
    assert_eq!(list["properties"]["renamed"]["minimum"], 1);
    assert!(list["properties"]["renamed"].get("name").is_none());
    c.delete(&admin, &md(&c, "/namespaces/NS/properties/renamed"))
        .await
        .expect(204);
    c.delete(&admin, &md(&c, "/namespaces/NS/properties/renamed"))
        .await
        .expect(404);

    // Tags: a batch replaces unless X-Openstack-Append; a duplicate changes nothing.
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/tags"),
        json!({"tags": [{"name": "a"}, {"name": "b"}]}),
    )
    .await
    .expect(201);
    let res = c
        .client
        .post(md(&c, "/namespaces/NS/tags"))
        .header("X-Auth-Token", &admin)
        .header("X-Openstack-Append", "True")
        .json(&json!({"tags": [{"name": "c"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(tag_names(&c, &admin).await, vec!["a", "b", "c"]);
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/tags"),
        json!({"tags": [{"name": "x"}, {"name": "x"}]}),
    )
    .await
    .expect(409);
    assert_eq!(
        tag_names(&c, &admin).await,
        vec!["a", "b", "c"],
        "a refused batch changes nothing"
    );
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/tags"),
        json!({"tags": [{"name": "z"}]}),
    )
    .await
    .expect(201);
    assert_eq!(tag_names(&c, &admin).await, vec!["z"]);
    c.post(&admin, &md(&c, "/namespaces/NS/tags/one"), json!({}))
        .await
        .expect(201);
    c.post(&admin, &md(&c, "/namespaces/NS/tags/one"), json!({}))
        .await
        .expect(409);
    let t = put_json(
        &c,
        &admin,
        &md(&c, "/namespaces/NS/tags/one"),
        json!({"name": "two"}),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(t["name"], "two");
    c.get(&admin, &md(&c, "/namespaces/NS/tags/two"))
        .await
        .expect(200);
    c.delete(&admin, &md(&c, "/namespaces/NS/tags"))
        .await
        .expect(204);
    assert!(tag_names(&c, &admin).await.is_empty());

    // Resource type associations.
    let a = c
        .post(
            &admin,
            &md(&c, "/namespaces/NS/resource_types"),
            json!({"name": "OS::Cinder::Volume", "prefix": "p_", "properties_target": "image"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(a["prefix"], "p_");
    c.post(
        &admin,
        &md(&c, "/namespaces/NS/resource_types"),
        json!({"name": "OS::Cinder::Volume"}),
    )
    .await
    .expect(409);
    let list = c
        .get(&admin, &md(&c, "/namespaces/NS/resource_types"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        names(&list, "resource_type_associations"),
        vec!["OS::Cinder::Volume"]
    );
    c.delete(
        &admin,
        &md(&c, "/namespaces/NS/resource_types/OS::Cinder::Volume"),
    )
    .await
    .expect(204);
    let res = c
        .delete(
            &admin,
            &md(&c, "/namespaces/NS/resource_types/OS::Cinder::Volume"),
        )
        .await
        .expect(404);
    assert_eq!(
        res.message(),
        "Failed to find resource type OS::Cinder::Volume to delete"
    );
    c.finish().await;
}
per_backend!(multi_thread: objects_properties_tags_and_associations);

async fn a_refused_create_leaves_no_namespace(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    // The second tag collides with the first: the whole create is undone.
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Half", "tags": [{"name": "t"}, {"name": "t"}]}),
    )
    .await
    .expect(409);
    c.get(&admin, &md(&c, "/namespaces/Half")).await.expect(404);
    // A bad property schema is refused before anything is written.
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Half", "properties": {"p": {"title": "no type"}}}),
    )
    .await
    .expect(400);
    c.get(&admin, &md(&c, "/namespaces/Half")).await.expect(404);
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Half", "visibility": "shared"}),
    )
    .await
    .expect(400);
    c.post(
        &admin,
        &md(&c, "/namespaces"),
        json!({"namespace": "Half", "created_at": "now"}),
    )
    .await
    .expect(403);
    let n = "x".repeat(81);
    c.post(&admin, &md(&c, "/namespaces"), json!({"namespace": n}))
        .await
        .expect(400);
    c.get(&admin, &md(&c, "/namespaces/Half")).await.expect(404);
    c.finish().await;
}
per_backend!(multi_thread: a_refused_create_leaves_no_namespace);
