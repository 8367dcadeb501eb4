//! Glance v2 REST API at `/image`, against the real server on SQLite and on
//! MariaDB: records, data up and down, lists, members, visibility and the
//! refusals that keep hostile or broken uploads out of the store.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use cloud::{per_backend, Backend};
use common::{qcow2_image, test_data, Res, TestCloud};
use md5::{Digest, Md5};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha512;
use tokio::io::AsyncWriteExt;

// ------------------------------------------------------------------ helpers

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Glance's times: `2024-01-01T00:00:00Z`.
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
}

/// Replaces UUIDs inside a string (paths, query strings).
fn redact_uuids(s: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        if i + 36 <= s.len() && s.is_char_boundary(i + 36) && is_uuid(&s[i..i + 36]) {
            out.push_str("[uuid]");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Replaces what changes between runs (ids, times, the server's port) so a
/// response's shape can be snapshotted.
fn normalize(v: &mut Value, url: &str) {
    match v {
        Value::String(s) => {
            if is_hex32(s) {
                *s = "[id]".into();
            } else if is_time(s) {
                *s = "[time]".into();
            } else {
                let t = s.replace(url, "http://[server]");
                *s = redact_uuids(&t);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalize(x, url)),
        Value::Object(o) => o.values_mut().for_each(|x| normalize(x, url)),
        _ => {}
    }
}

fn md5_hex(d: &[u8]) -> String {
    hex::encode(Md5::digest(d))
}

fn sha512_hex(d: &[u8]) -> String {
    hex::encode(Sha512::digest(d))
}

fn names(list: &Value) -> Vec<String> {
    list["images"]
        .as_array()
        .unwrap_or_else(|| panic!("not an image list: {list}"))
        .iter()
        .map(|x| x["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn id_of(image: &Value) -> String {
    image["id"].as_str().unwrap().to_string()
}

fn raw_image(name: &str) -> Value {
    json!({"name": name, "disk_format": "raw", "container_format": "bare"})
}

impl TestCloud {
    async fn list_images(&self, token: &str, query: &str) -> Value {
        self.get(token, &self.image_url(&format!("/images{query}")))
            .await
            .expect(200)
            .body
    }

    async fn image_status(&self, id: &str) -> String {
        let img = self
            .get(&self.admin_token, &self.image_url(&format!("/images/{id}")))
            .await
            .expect(200);
        img.body["status"].as_str().unwrap().to_string()
    }
}

/// Polls (up to 5 s) until the image is `queued` and the store holds no
/// file at all, neither committed nor staged.
async fn wait_queued_and_empty(c: &TestCloud, id: &str) {
    for _ in 0..100 {
        if c.image_status(id).await == "queued" && c.stored_files().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "image {id}: status {}, files {:?}",
        c.image_status(id).await,
        c.stored_files()
    );
}

// -------------------------------------------------------------------- tests

async fn version_discovery_and_schemas(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let res = c
        .call(Method::GET, &format!("{}/image", c.url), None, None)
        .await
        .expect(300);
    let slash = c
        .call(Method::GET, &format!("{}/image/", c.url), None, None)
        .await
        .expect(300);
    assert_eq!(slash.body, res.body);
    let explicit = c
        .call(
            Method::GET,
            &format!("{}/image/versions", c.url),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(explicit.body, res.body);
    let v = &res.body["versions"][0];
    assert_eq!(v["status"], "CURRENT");
    assert!(v["id"].as_str().unwrap().starts_with("v2."));
    assert_eq!(v["links"][0]["href"], format!("{}/image/v2/", c.url));
    let mut snap = res.body.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("versions", snap);

    // Schemas need a token, as Glance's do.
    c.call(Method::GET, &c.image_url("/schemas/image"), None, None)
        .await
        .expect(401);
    let schema = c
        .get(&c.admin_token, &c.image_url("/schemas/image"))
        .await
        .expect(200)
        .body;
    assert_eq!(schema["name"], "image");
    assert_eq!(schema["additionalProperties"], json!({"type": "string"}));
    let disk = schema["properties"]["disk_format"]["enum"]
        .as_array()
        .unwrap();
    assert!(disk.contains(&Value::Null) && disk.contains(&json!("qcow2")));
    assert_eq!(
        schema["links"][1],
        json!({"rel": "enclosure", "href": "{file}"})
    );
    // Every attribute an image shows is described by the schema.
    let img = c.create_image(&c.admin_token, raw_image("s")).await;
    for key in img.as_object().unwrap().keys() {
        assert!(
            schema["properties"].get(key).is_some(),
            "{key} missing from the schema"
        );
    }
    let images = c
        .get(&c.admin_token, &c.image_url("/schemas/images"))
        .await
        .expect(200)
        .body;
    assert_eq!(images["name"], "images");
    assert_eq!(images["properties"]["images"]["items"], schema);
    let member = c
        .get(&c.admin_token, &c.image_url("/schemas/member"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        member["properties"]["status"]["enum"],
        json!(["pending", "accepted", "rejected"])
    );
    let members = c
        .get(&c.admin_token, &c.image_url("/schemas/members"))
        .await
        .expect(200)
        .body;
    assert_eq!(members["properties"]["members"]["items"], member);
    let info = c
        .get(&c.admin_token, &c.image_url("/info/import"))
        .await
        .expect(200);
    assert!(info.body["import-methods"]["value"].is_array());
    c.get(&c.admin_token, &c.image_url("/info/stores"))
        .await
        .expect(404);

    // Unknown paths and methods are faults.
    c.get(&c.admin_token, &c.image_url("/nothing"))
        .await
        .expect(404);
    c.call(
        Method::PUT,
        &c.image_url("/images"),
        Some(&c.admin_token),
        None,
    )
    .await
    .expect(405);
    c.finish().await;
}
per_backend!(multi_thread: version_discovery_and_schemas);

async fn create_show_patch_delete(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, project, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let res = c
        .post(
            &tok,
            &c.image_url("/images"),
            json!({
                "name": "cirros",
                "disk_format": "qcow2",
                "container_format": "bare",
                "visibility": "private",
                "min_disk": 1,
                "min_ram": 64,
                "tags": ["b", "a", "b"],
                "os_distro": "cirros",
                "hw_disk_bus": "virtio",
            }),
        )
        .await
        .expect(201);
    let img = res.body.clone();
    let id = id_of(&img);
    assert!(is_uuid(&id), "{id}");
    assert_eq!(
        res.header("location").unwrap(),
        format!("{}/image/v2/images/{id}", c.url)
    );
    assert_eq!(img["status"], "queued");
    assert_eq!(img["owner"], json!(project));
    assert_eq!(img["tags"], json!(["a", "b"]));
    assert_eq!(img["os_distro"], "cirros");
    assert_eq!(img["self"], format!("/v2/images/{id}"));
    assert_eq!(img["file"], format!("/v2/images/{id}/file"));
    for null in [
        "checksum",
        "size",
        "virtual_size",
        "os_hash_algo",
        "os_hash_value",
    ] {
        assert_eq!(img[null], Value::Null, "{null}");
    }
    assert!(is_time(img["created_at"].as_str().unwrap()));
    let mut snap = img.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("image", snap);

    let shown = c
        .get(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(200);
    assert_eq!(shown.body, img);
    c.get(&tok, &c.image_url("/images/not-a-uuid"))
        .await
        .expect(404);
    c.get(
        &tok,
        &c.image_url("/images/00000000-0000-0000-0000-000000000000"),
    )
    .await
    .expect(404);

    // A caller-chosen id, once.
    let chosen = "6a1b0c9e-6a9b-4f4e-8a2a-3f0e9c1d2b7a";
    let mine = c
        .create_image(&tok, json!({"id": chosen, "name": "chosen"}))
        .await;
    assert_eq!(mine["id"], chosen);
    assert_eq!(mine["visibility"], "shared");
    assert_eq!(mine["disk_format"], Value::Null);
    c.post(&tok, &c.image_url("/images"), json!({"id": chosen}))
        .await
        .expect(409);

    // Refusals on create.
    for (body, status, needle) in [
        (json!({"disk_format": "floppy"}), 400, "disk_format"),
        (json!({"container_format": "zip"}), 400, "container_format"),
        (json!({"visibility": "everyone"}), 400, "visibility"),
        (json!({"name": "x".repeat(256)}), 400, "name"),
        (json!({"min_ram": "lots"}), 400, "min_ram"),
        (json!({"min_disk": -1}), 400, "min_disk"),
        (json!({"protected": "yes"}), 400, "protected"),
        (json!({"tags": "a,b"}), 400, "tags"),
        (json!({"os_distro": 7}), 400, "os_distro"),
        (json!({"id": "nope"}), 400, "nope"),
        (json!({"status": "active"}), 403, "read-only"),
        (json!({"checksum": "00"}), 403, "read-only"),
        (json!({"size": 1}), 403, "read-only"),
        (json!({"self": "x"}), 403, "read-only"),
        (json!({"os_glance_import_task": "x"}), 403, "reserved"),
        (json!({"deleted": "x"}), 403, "reserved"),
        (json!({"locations": []}), 403, "reserved"),
        (
            json!({"owner": "someone-else"}),
            403,
            "owned by another project",
        ),
    ] {
        let res = c
            .post(&tok, &c.image_url("/images"), body.clone())
            .await
            .expect(status);
        assert!(
            res.message().contains(needle),
            "{body}: {} lacks {needle}",
            res.message()
        );
    }
    c.post(&tok, &c.image_url("/images"), json!([1]))
        .await
        .expect(400);
    let res = c
        .client
        .post(c.image_url("/images"))
        .header("X-Auth-Token", &tok)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Only admins publish.
    c.post(
        &tok,
        &c.image_url("/images"),
        json!({"visibility": "public"}),
    )
    .await
    .expect(403);
    c.post(&tok, &c.image_url("/images"), json!({"owner": project}))
        .await
        .expect(201);

    // PATCH: the ops apply in order to one update.
    let res = c
        .patch_image(
            &tok,
            &id,
            json!([
                {"op": "replace", "path": "/name", "value": "cirros-0.6"},
                {"op": "add", "path": "/description", "value": "tiny"},
                {"op": "replace", "path": "/os_distro", "value": "cirros-os"},
                {"op": "remove", "path": "/hw_disk_bus"},
                {"op": "add", "path": "/min_ram", "value": 128},
                {"op": "replace", "path": "/protected", "value": true},
                {"op": "add", "path": "/tags/-", "value": "c"},
                {"op": "remove", "path": "/tags/0"},
                {"op": "replace", "path": "/disk_format", "value": "raw"},
                {"op": "add", "path": "/visibility", "value": "community"},
                {"op": "add", "path": "/a~1b", "value": "slash"},
            ]),
        )
        .await
        .expect(200);
    let p = &res.body;
    assert_eq!(p["name"], "cirros-0.6");
    assert_eq!(p["description"], "tiny");
    assert_eq!(p["os_distro"], "cirros-os");
    assert!(p.get("hw_disk_bus").is_none(), "{p}");
    assert_eq!(p["min_ram"], 128);
    assert_eq!(p["protected"], true);
    assert_eq!(p["tags"], json!(["b", "c"]));
    assert_eq!(p["disk_format"], "raw");
    assert_eq!(p["visibility"], "community");
    assert_eq!(p["a/b"], "slash");
    assert_eq!(
        c.get(&tok, &c.image_url(&format!("/images/{id}")))
            .await
            .expect(200)
            .body,
        res.body
    );
    // The whole tag list, and clearing the name.
    let p = c
        .patch_image(
            &tok,
            &id,
            json!([
                {"op": "replace", "path": "/tags", "value": ["x", "y"]},
                {"op": "replace", "path": "/name", "value": null},
            ]),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["tags"], json!(["x", "y"]));
    assert_eq!(p["name"], Value::Null);
    // The draft-4 dialect of v2.0.
    let p = c
        .patch_image_as(
            &tok,
            &id,
            "application/openstack-images-v2.0-json-patch",
            json!([{"replace": "/name", "value": "v20"}]),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(p["name"], "v20");
    c.patch_image_as(
        &tok,
        &id,
        "application/openstack-images-v2.0-json-patch",
        json!([{"add": "/description", "value": "dup"}]),
    )
    .await
    .expect(409);
    // Refused patches change nothing.
    for (ops, status) in [
        (
            json!([{"op": "replace", "path": "/nothing", "value": "x"}]),
            409,
        ),
        (json!([{"op": "remove", "path": "/nothing"}]), 409),
        (json!([{"op": "remove", "path": "/name"}]), 403),
        (
            json!([{"op": "replace", "path": "/status", "value": "active"}]),
            403,
        ),
        (json!([{"op": "replace", "path": "/id", "value": "x"}]), 403),
        (
            json!([{"op": "add", "path": "/os_glance_x", "value": "x"}]),
            403,
        ),
        (
            json!([{"op": "add", "path": "/locations/-", "value": {}}]),
            403,
        ),
        (json!([{"op": "add", "path": "/a/b", "value": "x"}]), 400),
        (json!([{"op": "add", "path": "name", "value": "x"}]), 400),
        (json!([{"op": "copy", "path": "/name", "from": "/x"}]), 400),
        (json!([{"op": "add", "path": "/name"}]), 400),
        (json!([{"path": "/name", "value": "x"}]), 400),
        (
            json!([{"op": "replace", "path": "/min_ram", "value": "x"}]),
            400,
        ),
        (
            json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
            403,
        ),
        (
            json!([{"op": "replace", "path": "/owner", "value": "other"}]),
            403,
        ),
        (json!([{"op": "remove", "path": "/tags/9"}]), 400),
        (json!({"op": "remove"}), 400),
    ] {
        c.patch_image(&tok, &id, ops.clone()).await.expect(status);
    }
    assert_eq!(
        c.get(&tok, &c.image_url(&format!("/images/{id}")))
            .await
            .expect(200)
            .body["name"],
        "v20"
    );
    // Other content types are 415, with the ones we accept.
    let res = c
        .patch_image_as(
            &tok,
            &id,
            "application/json",
            json!([{"op": "replace", "path": "/name", "value": "x"}]),
        )
        .await
        .expect(415);
    assert!(res
        .header("accept-patch")
        .unwrap()
        .contains("openstack-images-v2.1-json-patch"));
    // An empty patch is a no-op.
    c.patch_image(&tok, &id, json!([])).await.expect(200);

    // Protected images cannot be deleted until unprotected.
    let res = c
        .delete(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(403);
    assert!(res.message().contains("protected"), "{}", res.message());
    c.patch_image(
        &tok,
        &id,
        json!([{"op": "replace", "path": "/protected", "value": false}]),
    )
    .await
    .expect(200);
    c.delete(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(204);
    c.get(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(404);
    c.delete(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(404);

    // Tags one at a time.
    let t = id_of(&c.create_image(&tok, raw_image("tagged")).await);
    c.put(&tok, &c.image_url(&format!("/images/{t}/tags/red")))
        .await
        .expect(204);
    c.put(&tok, &c.image_url(&format!("/images/{t}/tags/red")))
        .await
        .expect(204);
    c.put(&tok, &c.image_url(&format!("/images/{t}/tags/blue")))
        .await
        .expect(204);
    let img = c
        .get(&tok, &c.image_url(&format!("/images/{t}")))
        .await
        .expect(200)
        .body;
    assert_eq!(img["tags"], json!(["blue", "red"]));
    c.delete(&tok, &c.image_url(&format!("/images/{t}/tags/red")))
        .await
        .expect(204);
    c.delete(&tok, &c.image_url(&format!("/images/{t}/tags/red")))
        .await
        .expect(404);

    // No token, no images.
    c.call(Method::GET, &c.image_url("/images"), None, None)
        .await
        .expect(401);
    c.finish().await;
}
per_backend!(multi_thread: create_show_patch_delete);

async fn upload_download_and_ranges(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let data = test_data(3_000_000 + 17, 1);
    let id = id_of(&c.create_image(&tok, raw_image("disk")).await);

    // No data yet: 204.
    let (status, _, body) = c.download_image(&tok, &id, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    // Image data is octet-stream only.
    let res = c
        .client
        .put(c.image_url(&format!("/images/{id}/file")))
        .header("X-Auth-Token", &tok)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);

    c.upload_image(&tok, &id, data.clone()).await.expect(204);
    let img = c
        .get(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(200)
        .body;
    assert_eq!(img["status"], "active");
    assert_eq!(img["size"], json!(data.len()));
    assert_eq!(img["virtual_size"], json!(data.len()));
    assert_eq!(img["checksum"], json!(md5_hex(&data)));
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"], json!(sha512_hex(&data)));
    assert_eq!(
        c.stored_files(),
        vec![format!("images/{id}")],
        "one committed file, nothing staged"
    );

    let (status, headers, body) = c.download_image(&tok, &id, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == data, "downloaded bytes differ");
    assert_eq!(md5_hex(&body), md5_hex(&data));
    assert_eq!(sha512_hex(&body), sha512_hex(&data));
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
    assert_eq!(h("content-md5"), md5_hex(&data));
    assert_eq!(h("content-length"), data.len().to_string());
    assert_eq!(h("content-type"), "application/octet-stream");
    assert_eq!(h("accept-ranges"), "bytes");

    // Ranges.
    let n = data.len();
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=-5", n - 5, n - 1),
        (&format!("bytes={}-", n - 100) as &str, n - 100, n - 1),
        (&format!("bytes=10-{}", n + 50) as &str, 10, n - 1),
    ] {
        let (status, headers, body) = c.download_image(&tok, &id, Some(range)).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert!(body == data[start..=end], "{range}: wrong bytes");
        assert_eq!(
            headers["content-range"].to_str().unwrap(),
            format!("bytes {start}-{end}/{n}"),
            "{range}"
        );
        assert_eq!(
            headers["content-length"].to_str().unwrap(),
            (end - start + 1).to_string()
        );
        assert!(headers.get("content-md5").is_none());
    }
    for range in [format!("bytes={n}-"), format!("bytes={}-{}", n + 1, n + 9)] {
        let (status, headers, _) = c.download_image(&tok, &id, Some(&range)).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(
            headers["content-range"].to_str().unwrap(),
            format!("bytes */{n}")
        );
    }
    // A range header we do not serve is ignored: the whole image.
    let (status, _, body) = c.download_image(&tok, &id, Some("bytes=0-1,5-6")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), n);

    // Data is written once.
    let res = c.upload_image(&tok, &id, vec![1, 2, 3]).await.expect(409);
    assert!(res.message().contains("queued"), "{}", res.message());
    // Formats must be set before data.
    let bare = id_of(&c.create_image(&tok, json!({"name": "bare"})).await);
    let res = c.upload_image(&tok, &bare, vec![0; 10]).await.expect(400);
    assert!(res.message().contains("disk_format"), "{}", res.message());

    // A real qcow2 declared qcow2 records its virtual size.
    let qcow = qcow2_image("64M");
    let q = id_of(
        &c.create_image(
            &tok,
            json!({"name": "q", "disk_format": "qcow2", "container_format": "bare"}),
        )
        .await,
    );
    c.upload_image(&tok, &q, qcow.clone()).await.expect(204);
    let img = c
        .get(&tok, &c.image_url(&format!("/images/{q}")))
        .await
        .expect(200)
        .body;
    assert_eq!(img["virtual_size"], json!(64 << 20));
    assert_eq!(img["size"], json!(qcow.len()));

    // Deleting removes the data.
    c.delete(&tok, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(204);
    assert_eq!(c.stored_files(), vec![format!("images/{q}")]);
    c.finish().await;
}
per_backend!(multi_thread: upload_download_and_ranges);

async fn hostile_and_oversized_uploads_store_nothing(backend: Backend) {
    let c = TestCloud::start_with(backend, |cfg| cfg.image.max_image_size = 1 << 20).await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;

    // A qcow2 declared raw: the classic way to make a host read its files.
    let id = id_of(&c.create_image(&tok, raw_image("sneaky")).await);
    let res = c
        .upload_image(&tok, &id, qcow2_image("1G"))
        .await
        .expect(400);
    assert!(res.message().contains("qcow2"), "{}", res.message());
    assert_eq!(c.image_status(&id).await, "queued");
    assert_eq!(c.stored_files(), Vec::<String>::new());

    // Over the size limit, declared: refused before any byte is stored.
    let big = test_data((1 << 20) + 1, 2);
    let res = c.upload_image(&tok, &id, big.clone()).await.expect(413);
    assert!(res.message().contains("larger"), "{}", res.message());
    assert_eq!(c.image_status(&id).await, "queued");
    assert_eq!(c.stored_files(), Vec::<String>::new());

    // Over the size limit, chunked (no Content-Length): refused as the
    // bytes pass the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let res = TestCloud::unpooled_client()
        .put(c.image_url(&format!("/images/{id}/file")))
        .header("X-Auth-Token", &tok)
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    if let Ok(res) = res {
        assert_eq!(res.status(), 413);
    }
    // (The client may see the connection close before the answer.)
    wait_queued_and_empty(&c, &id).await;

    // Within the limit it goes through.
    let ok = test_data(1 << 20, 3);
    c.upload_image(&tok, &id, ok).await.expect(204);
    assert_eq!(c.image_status(&id).await, "active");
    assert_eq!(c.stored_files(), vec![format!("images/{id}")]);
    c.finish().await;
}
per_backend!(multi_thread: hostile_and_oversized_uploads_store_nothing);

async fn an_upload_cut_off_midstream_leaves_the_image_queued(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let id = id_of(&c.create_image(&tok, raw_image("cut")).await);
    let addr = c.url.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /image/v2/images/{id}/file HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {tok}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&test_data(1 << 20, 4)).await.unwrap();
    sock.flush().await.unwrap();
    // The upload is under way…
    let mut saving = false;
    for _ in 0..100 {
        if c.image_status(&id).await == "saving" {
            saving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saving, "the upload never started");
    // …and the client hangs up.
    drop(sock);
    wait_queued_and_empty(&c, &id).await;
    // And the image takes a complete upload afterwards.
    c.upload_image(&tok, &id, test_data(4096, 5))
        .await
        .expect(204);
    c.finish().await;
}
per_backend!(multi_thread: an_upload_cut_off_midstream_leaves_the_image_queued);

async fn list_filters_sorting_and_paging(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, project, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let img = c
            .create_image(
                &tok,
                json!({
                    "name": format!("img-{i}"),
                    "disk_format": if i % 2 == 0 { "raw" } else { "qcow2" },
                    "container_format": if i < 5 { "bare" } else { "ovf" },
                    "visibility": "private",
                    "tags": if i % 3 == 0 { json!(["even3", "x"]) } else { json!(["x"]) },
                    "protected": i == 6,
                    "os_hidden": i == 5,
                    "flavor": if i < 2 { "small" } else { "large" },
                }),
            )
            .await;
        ids.push(id_of(&img));
    }
    c.upload_image(&tok, &ids[0], test_data(1000, 9))
        .await
        .expect(204);
    c.upload_image(&tok, &ids[2], test_data(5000, 9))
        .await
        .expect(204);

    // Default: newest first, hidden images left out.
    let all = c.list_images(&tok, "").await;
    assert_eq!(
        names(&all),
        ["img-6", "img-4", "img-3", "img-2", "img-1", "img-0"]
    );
    assert_eq!(all["first"], "/v2/images");
    assert_eq!(all["schema"], "/v2/schemas/images");
    assert!(all.get("next").is_none());

    // Paging with limit 3 and name order, following `next`.
    let mut seen = Vec::new();
    let mut url = "?limit=3&sort=name:asc&os_hidden=false".to_string();
    let mut pages = 0;
    loop {
        let page = c.list_images(&tok, &url).await;
        pages += 1;
        seen.extend(names(&page));
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/v2/images?"), "{next}");
                assert!(next.contains("limit=3"), "{next}");
                url = next.trim_start_matches("/v2/images").to_string();
            }
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(seen, ["img-0", "img-1", "img-2", "img-3", "img-4", "img-6"]);
    assert_eq!(pages, 2 + 1, "two full pages and an empty last one");
    let first = c
        .list_images(&tok, "?limit=3&sort_key=name&sort_dir=desc")
        .await;
    assert_eq!(names(&first), ["img-6", "img-4", "img-3"]);
    assert_eq!(
        first["first"],
        "/v2/images?limit=3&sort_key=name&sort_dir=desc"
    );
    let mut snap = first.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("image_list", snap);
    let next = c
        .list_images(
            &tok,
            &format!("?limit=3&sort_key=name&sort_dir=desc&marker={}", ids[3]),
        )
        .await;
    assert_eq!(names(&next), ["img-2", "img-1", "img-0"]);
    // Several keys, each with a direction.
    let by_format = c
        .list_images(
            &tok,
            "?sort_key=disk_format&sort_key=name&sort_dir=asc&sort_dir=desc",
        )
        .await;
    assert_eq!(
        names(&by_format),
        ["img-3", "img-1", "img-6", "img-4", "img-2", "img-0"]
    );
    let by_sort = c.list_images(&tok, "?sort=disk_format:asc,name:desc").await;
    assert_eq!(names(&by_sort), names(&by_format));

    // Filters.
    for (query, want) in [
        ("?name=img-3", vec!["img-3"]),
        ("?status=active", vec!["img-0", "img-2"]),
        ("?status=queued&disk_format=raw", vec!["img-4", "img-6"]),
        ("?disk_format=qcow2", vec!["img-1", "img-3"]),
        ("?container_format=ovf", vec!["img-6"]),
        ("?container_format=ovf&os_hidden=true", vec!["img-5"]),
        ("?tag=even3", vec!["img-0", "img-3", "img-6"]),
        ("?tag=even3&tag=x", vec!["img-0", "img-3", "img-6"]),
        ("?tag=nothing", vec![]),
        ("?protected=true", vec!["img-6"]),
        ("?size_min=2000", vec!["img-2"]),
        ("?size_max=2000", vec!["img-0"]),
        ("?size=5000", vec!["img-2"]),
        ("?size=4999", vec![]),
        ("?flavor=small", vec!["img-0", "img-1"]),
        (
            "?flavor=large&disk_format=raw",
            vec!["img-2", "img-4", "img-6"],
        ),
        ("?status=bogus", vec![]),
        (
            "?visibility=private",
            vec!["img-0", "img-1", "img-2", "img-3", "img-4", "img-6"],
        ),
        ("?visibility=public", vec![]),
    ] {
        let got = sorted(names(&c.list_images(&tok, query).await));
        assert_eq!(got, want, "{query}");
    }
    let owned = c
        .list_images(&tok, &format!("?owner={project}&limit=100"))
        .await;
    assert_eq!(names(&owned).len(), 6);
    // Bad parameters are 400s.
    for query in [
        "?limit=x",
        "?limit=-1",
        "?visibility=everyone",
        "?member_status=maybe",
        "?sort_key=color",
        "?sort_dir=up",
        "?sort=name:up",
        "?sort=name&sort_key=name",
        "?sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc",
        "?protected=maybe",
        "?os_hidden=2",
        "?size_min=big",
        "?marker=00000000-0000-0000-0000-000000000000",
        "?changes-since=2020-01-01",
    ] {
        c.get(&tok, &c.image_url(&format!("/images{query}")))
            .await
            .expect(400);
    }
    c.finish().await;
}
per_backend!(multi_thread: list_filters_sorting_and_paging);

async fn visibility_roles_and_members_across_projects(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, project_a, a) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, _, reader) = c.user_with_role("rita", "proj-a", "reader").await;
    let (_, project_b, b) = c.user_with_role("bob", "proj-b", "member").await;
    let admin = c.admin_token.clone();
    let data = test_data(10_000, 7);

    let mk = |name: &str, vis: &str| json!({"name": name, "visibility": vis, "disk_format": "raw", "container_format": "bare"});
    let private = id_of(&c.create_image(&a, mk("a-private", "private")).await);
    let shared = id_of(&c.create_image(&a, mk("a-shared", "shared")).await);
    let community = id_of(&c.create_image(&a, mk("a-community", "community")).await);
    let public = id_of(&c.create_image(&admin, mk("admin-public", "public")).await);
    for id in [&private, &shared, &community, &public] {
        let tok = if id == &public { &admin } else { &a };
        c.upload_image(tok, id, data.clone()).await.expect(204);
    }
    let show = |tok: String, id: String| {
        let c = &c;
        async move { c.get(&tok, &c.image_url(&format!("/images/{id}"))).await }
    };

    // Project B: not A's private or (unshared) shared image.
    show(b.clone(), private.clone()).await.expect(404);
    show(b.clone(), shared.clone()).await.expect(404);
    let (status, _, _) = c.download_image(&b, &private, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    c.patch_image(
        &b,
        &private,
        json!([{"op": "replace", "path": "/name", "value": "x"}]),
    )
    .await
    .expect(404);
    c.delete(&b, &c.image_url(&format!("/images/{private}")))
        .await
        .expect(404);
    // Public and community images are visible; community only listed
    // when asked for.
    show(b.clone(), public.clone()).await.expect(200);
    show(b.clone(), community.clone()).await.expect(200);
    let (status, _, body) = c.download_image(&b, &community, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == data);
    assert_eq!(names(&c.list_images(&b, "").await), ["admin-public"]);
    assert_eq!(
        names(&c.list_images(&b, "?visibility=community").await),
        ["a-community"]
    );
    assert_eq!(
        sorted(names(&c.list_images(&b, "?visibility=all").await)),
        ["a-community", "admin-public"]
    );
    // Visible is not writable.
    c.patch_image(
        &b,
        &community,
        json!([{"op": "replace", "path": "/name", "value": "x"}]),
    )
    .await
    .expect(403);
    c.delete(&b, &c.image_url(&format!("/images/{public}")))
        .await
        .expect(403);

    // Project A sees its own (its community image too); admins see
    // everything.
    assert_eq!(
        sorted(names(&c.list_images(&a, "").await)),
        ["a-community", "a-private", "a-shared", "admin-public"]
    );
    // Glance lists every project's images to an admin; community ones
    // only on request, as for everyone.
    assert_eq!(
        sorted(names(&c.list_images(&admin, "").await)),
        ["a-private", "a-shared", "admin-public"]
    );
    assert_eq!(
        sorted(names(&c.list_images(&admin, "?visibility=all").await)),
        ["a-community", "a-private", "a-shared", "admin-public"]
    );

    // A reader of A lists and downloads, but creates and changes nothing.
    assert_eq!(
        sorted(names(&c.list_images(&reader, "").await)),
        ["a-community", "a-private", "a-shared", "admin-public"]
    );
    let (status, _, body) = c.download_image(&reader, &private, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == data);
    c.post(&reader, &c.image_url("/images"), mk("r", "private"))
        .await
        .expect(403);
    c.patch_image(
        &reader,
        &private,
        json!([{"op": "replace", "path": "/name", "value": "x"}]),
    )
    .await
    .expect(403);
    c.delete(&reader, &c.image_url(&format!("/images/{private}")))
        .await
        .expect(403);

    // Non-admins cannot publish.
    c.patch_image(
        &a,
        &private,
        json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
    )
    .await
    .expect(403);

    // Members: A shares with B; B sees it pending, accepts, lists it.
    let members = |id: &str| c.image_url(&format!("/images/{id}/members"));
    let m = c
        .post(&a, &members(&shared), json!({"member": project_b}))
        .await
        .expect(200)
        .body;
    assert_eq!(m["status"], "pending");
    assert_eq!(m["image_id"], json!(shared));
    assert_eq!(m["member_id"], json!(project_b));
    let mut snap = m.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("member", snap);
    c.post(&a, &members(&shared), json!({"member": project_b}))
        .await
        .expect(409);
    c.post(&a, &members(&shared), json!({})).await.expect(400);
    c.post(&a, &members(&shared), json!({"member": ""}))
        .await
        .expect(400);
    // Only shared images have members.
    c.post(&a, &members(&private), json!({"member": project_b}))
        .await
        .expect(403);
    // B cannot add members to A's image.
    c.post(&b, &members(&shared), json!({"member": project_b}))
        .await
        .expect(403);

    let b_member = format!("{}/{project_b}", members(&shared));
    show(b.clone(), shared.clone()).await.expect(200);
    assert_eq!(names(&c.list_images(&b, "").await), ["admin-public"]);
    assert_eq!(
        names(
            &c.list_images(&b, "?visibility=shared&member_status=pending")
                .await
        ),
        ["a-shared"]
    );
    assert_eq!(
        c.get(&b, &b_member).await.expect(200).body["status"],
        "pending"
    );
    // The owner may not answer for B.
    c.call(
        Method::PUT,
        &b_member,
        Some(&a),
        Some(json!({"status": "accepted"})),
    )
    .await
    .expect(403);
    c.call(
        Method::PUT,
        &b_member,
        Some(&b),
        Some(json!({"status": "maybe"})),
    )
    .await
    .expect(400);
    c.call(Method::PUT, &b_member, Some(&b), Some(json!({})))
        .await
        .expect(400);
    let accepted = c
        .call(
            Method::PUT,
            &b_member,
            Some(&b),
            Some(json!({"status": "accepted"})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(
        sorted(names(&c.list_images(&b, "").await)),
        ["a-shared", "admin-public"]
    );
    let (status, _, body) = c.download_image(&b, &shared, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == data);
    // B lists only itself; A lists every member.
    let list = c.get(&b, &members(&shared)).await.expect(200).body;
    assert_eq!(list["members"].as_array().unwrap().len(), 1);
    assert_eq!(list["schema"], "/v2/schemas/members");
    let mut snap = list.clone();
    normalize(&mut snap, &c.url);
    insta::assert_json_snapshot!("member_list", snap);
    let (_, project_c, _) = c.user_with_role("carol", "proj-c", "member").await;
    c.post(&a, &members(&shared), json!({"member": project_c}))
        .await
        .expect(200);
    assert_eq!(
        c.get(&a, &members(&shared)).await.expect(200).body["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.get(&b, &members(&shared)).await.expect(200).body["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // B cannot look at C's membership.
    c.get(&b, &format!("{}/{project_c}", members(&shared)))
        .await
        .expect(404);
    // Rejecting hides it from B's list again; removal hides it entirely.
    c.call(
        Method::PUT,
        &b_member,
        Some(&b),
        Some(json!({"status": "rejected"})),
    )
    .await
    .expect(200);
    assert_eq!(names(&c.list_images(&b, "").await), ["admin-public"]);
    c.delete(&a, &b_member).await.expect(204);
    c.delete(&a, &b_member).await.expect(404);
    show(b.clone(), shared.clone()).await.expect(404);
    assert_eq!(
        show(a.clone(), shared.clone()).await.expect(200).body["owner"],
        json!(project_a)
    );

    // Deactivation: the owning project's members (as Glance's default
    // policy), not its readers nor other projects; then only admins
    // download.
    for tok in [&reader, &b] {
        let want = if tok == &b { 404 } else { 403 };
        c.post(
            tok,
            &c.image_url(&format!("/images/{private}/actions/deactivate")),
            json!({}),
        )
        .await
        .expect(want);
    }
    c.post(
        &a,
        &c.image_url(&format!("/images/{private}/actions/deactivate")),
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(c.image_status(&private).await, "deactivated");
    let (status, _, _) = c.download_image(&a, &private, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = c.download_image(&admin, &private, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == data);
    c.post(
        &reader,
        &c.image_url(&format!("/images/{private}/actions/reactivate")),
        json!({}),
    )
    .await
    .expect(403);
    c.post(
        &a,
        &c.image_url(&format!("/images/{private}/actions/reactivate")),
        json!({}),
    )
    .await
    .expect(204);
    let (status, _, _) = c.download_image(&a, &private, None).await;
    assert_eq!(status, StatusCode::OK);
    // A queued image cannot be deactivated.
    let queued = id_of(&c.create_image(&a, mk("q", "private")).await);
    c.post(
        &admin,
        &c.image_url(&format!("/images/{queued}/actions/deactivate")),
        json!({}),
    )
    .await
    .expect(403);
    c.finish().await;
}
per_backend!(multi_thread: visibility_roles_and_members_across_projects);

/// An admin creates an image for another project and hands images between
/// projects (Glance's default policy); the image's count and bytes move with
/// it. Members can do neither.
async fn admins_set_and_change_owners(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, project_a, a) = c.user_with_role("alice", "proj-a", "member").await;
    let (_, project_b, b) = c.user_with_role("bob", "proj-b", "member").await;
    let admin = c.admin_token.clone();
    let body = json!({"name": "for-a", "disk_format": "raw", "container_format": "bare", "owner": project_a});
    let img = c.create_image(&admin, body).await;
    assert_eq!(img["owner"], json!(project_a));
    let id = id_of(&img);
    // A sees it as its own and uploads to it.
    c.upload_image(&a, &id, test_data(1000, 3))
        .await
        .expect(204);
    // B may not create for A, nor take A's image.
    c.post(
        &b,
        &c.image_url("/images"),
        json!({"name": "x", "owner": project_a}),
    )
    .await
    .expect(403);
    let res = c
        .patch_image(
            &a,
            &id,
            json!([{"op": "replace", "path": "/owner", "value": project_b}]),
        )
        .await
        .expect(403);
    assert!(res.message().contains("non admin"), "{}", res.message());
    // The admin hands it to B: B now changes it, A no longer sees it.
    let res = c
        .patch_image(
            &admin,
            &id,
            json!([{"op": "replace", "path": "/owner", "value": project_b}]),
        )
        .await
        .expect(200);
    assert_eq!(res.body["owner"], json!(project_b));
    c.get(&a, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(404);
    c.patch_image(
        &b,
        &id,
        json!([{"op": "replace", "path": "/name", "value": "b-now"}]),
    )
    .await
    .expect(200);
    // Its count and bytes went along: B's usage has them, A's does not.
    let img_usage = |p: &str| {
        let svc = c.state.image.clone();
        let p = p.to_string();
        async move {
            svc.usage(&cloud::RequestContext::internal(), &p)
                .await
                .unwrap()
        }
    };
    let ua = img_usage(&project_a).await;
    let ub = img_usage(&project_b).await;
    assert_eq!((ua.images, ua.bytes), (0, 0));
    assert_eq!((ub.images, ub.bytes), (1, 1000));
    // Deleting it gives them back to B.
    c.delete(&b, &c.image_url(&format!("/images/{id}")))
        .await
        .expect(204);
    let ub = img_usage(&project_b).await;
    assert_eq!((ub.images, ub.bytes), (0, 0));
    c.finish().await;
}
per_backend!(multi_thread: admins_set_and_change_owners);

/// A compute node's download grant: it opens its own image's data, not
/// another's, not after it expires, not once the image is deactivated, and
/// nothing but the data.
async fn download_grants_open_one_image_for_a_while(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, tok) = c.user_with_role("alice", "proj-a", "member").await;
    let data = test_data(300_017, 3);
    let id = id_of(&c.create_image(&tok, raw_image("granted")).await);
    c.upload_image(&tok, &id, data.clone()).await.expect(204);
    let other = id_of(&c.create_image(&tok, raw_image("other")).await);
    c.upload_image(&tok, &other, test_data(10, 4))
        .await
        .expect(204);

    let minute = Duration::from_secs(60);
    let grant = c.state.image.grant_download(&id, minute).await.unwrap();
    let with_grant = |image: &str, grant: &str| {
        c.client
            .get(c.image_url(&format!("/images/{image}/file")))
            .header("X-Image-Download-Grant", grant.to_owned())
            .send()
    };
    let res = with_grant(&id, grant.expose()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), data);
    // Ranges work as for a token.
    let res = c
        .client
        .get(c.image_url(&format!("/images/{id}/file")))
        .header("X-Image-Download-Grant", grant.expose())
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap().to_vec(), data[10..20].to_vec());

    // Another image, a made-up grant, a grant used as a token: 401.
    for (image, g) in [(&other, grant.expose()), (&id, "made-up")] {
        let res = with_grant(image, g).await.unwrap();
        assert_eq!(res.status(), 401, "{image} {g}");
    }
    let (status, _, _) = c.download_image(grant.expose(), &id, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = Res::from_response(
        c.client
            .get(c.image_url(&format!("/images/{id}")))
            .header("X-Image-Download-Grant", grant.expose())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 401);

    // Expired.
    let short = c
        .state
        .image
        .grant_download(&id, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(with_grant(&id, short.expose()).await.unwrap().status(), 401);

    // Deactivated: closed to the grant, as to the owner.
    c.post(
        &tok,
        &c.image_url(&format!("/images/{id}/actions/deactivate")),
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(with_grant(&id, grant.expose()).await.unwrap().status(), 403);
    c.finish().await;
}
per_backend!(multi_thread: download_grants_open_one_image_for_a_while);

/// `id=<id>` and Glance's `id=in:<a>,<b>`: only those images, and still
/// only the ones the caller may see.
async fn list_filters_on_ids(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (_, _, a) = c.user_with_role("ida", "proj-ida", "member").await;
    let (_, _, b) = c.user_with_role("idb", "proj-idb", "member").await;
    let one = id_of(&c.create_image(&a, raw_image("one")).await);
    let two = id_of(&c.create_image(&a, raw_image("two")).await);
    let _three = id_of(&c.create_image(&a, raw_image("three")).await);
    let theirs = id_of(&c.create_image(&b, raw_image("theirs")).await);

    let list = c.list_images(&a, &format!("?id=in:{one},{two}")).await;
    assert_eq!(sorted(names(&list)), ["one", "two"]);
    let list = c.list_images(&a, &format!("?id={two}")).await;
    assert_eq!(names(&list), ["two"]);
    let list = c.list_images(&a, &format!("?id=in:{one},{theirs}")).await;
    assert_eq!(names(&list), ["one"]);
    let list = c.list_images(&a, "?id=in:").await;
    assert_eq!(names(&list), Vec::<String>::new());
    c.finish().await;
}
per_backend!(multi_thread: list_filters_on_ids);
