//! The fuzz suite: malformed, oversized, wrong-typed and hostile input to
//! every REST route and every server function, against the real server.
//!
//! The routes come from the server's own tables (`rest::route_paths`, the
//! registered server functions), so a new route is covered without editing
//! this file. For every answer: no 5xx, no dropped connection, a client
//! error carries a well-formed OpenStack fault on the REST APIs (each in its
//! service's shape), and the server still answers normally afterwards.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::{TestCloud, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Values put in place of every `{param}` of a path (already URL-safe).
fn hostile_ids() -> Vec<String> {
    vec![
        "0".into(),
        "00000000-0000-0000-0000-000000000000".into(),
        "..%2F..%2Fetc%2Fpasswd".into(),
        "%00".into(),
        "%27%20OR%20%271%27%3D%271".into(),
        "%F0%9F%92%A9%E2%80%AE".into(),
        "a".repeat(4096),
        "-1".into(),
        "9223372036854775808".into(),
    ]
}

/// Request bodies: (content type, body).
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let json = "application/json";
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let huge = format!(
        "{{\"project\": {{\"name\": \"{}\"}}, \"user\": {{\"name\": \"{}\"}}}}",
        "x".repeat(300_000),
        "y".repeat(300_000)
    );
    vec![
        (json, Vec::new()),
        (json, b"{".to_vec()),
        (json, b"[]".to_vec()),
        (json, b"null".to_vec()),
        (json, b"{\"a\": 1, \"a\": 2}".to_vec()),
        (json, deep.into_bytes()),
        (json, huge.into_bytes()),
        (
            json,
            br#"{"auth": "x", "user": 5, "project": [], "group": null, "role": {"name": 7},
                "domain": {"name": ["x"]}, "image": true, "name": {"a": 1}, "visibility": 3,
                "member": 1.5e308, "tags": "t", "enabled": "yes", "password": null}"#
                .to_vec(),
        ),
        (
            json,
            "{\"project\": {\"name\": \"a\\u0000b\\u001b[2J\"}, \"user\": {\"name\": \"\\u0000\", \"password\": \"\\u0000\"}}"
                .as_bytes()
                .to_vec(),
        ),
        (
            "application/openstack-images-v2.1-json-patch",
            br#"[{"op": "replace", "path": "/name", "value": 5}, {"op": "boom"}, {"path": 7}]"#
                .to_vec(),
        ),
        ("text/plain", b"\xff\xfe\x00garbage".to_vec()),
        ("application/x-www-form-urlencoded", b"a=%ZZ&&==&b".to_vec()),
    ]
}

fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(value);
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

struct Finding(String);

async fn send(
    c: &TestCloud,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&(&'static str, Vec<u8>)>,
) -> Result<(StatusCode, Vec<u8>, Option<String>), String> {
    let mut req = c.client.request(method.clone(), format!("{}{path}", c.url));
    if let Some(t) = token {
        // A forged subject: the caller's own token would be revoked by
        // `DELETE /v3/auth/tokens` and end the run's admin session.
        req = req
            .header("X-Auth-Token", t)
            .header("X-Subject-Token", "gAAAAAforged-subject-0000");
    }
    if let Some((ct, b)) = body {
        req = req.header("Content-Type", *ct).body(b.clone());
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("no answer (connection dropped?): {e}"))?;
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res
        .bytes()
        .await
        .map_err(|e| format!("body cut off: {e}"))?;
    Ok((status, bytes.to_vec(), ct))
}

/// What is wrong with an answer to a REST call, if anything.
fn judge_rest(method: &Method, status: StatusCode, body: &[u8]) -> Option<String> {
    if status.is_server_error() {
        return Some(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    if status.is_client_error() && method != Method::HEAD {
        let fault: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => {
                return Some(format!(
                    "{status} without a JSON fault: {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ))
            }
        };
        // Neutron's `{"NeutronError": {type, message, detail}}` under /network.
        if let Some(e) = fault.get("NeutronError") {
            if !e["type"].is_string() || !e["message"].is_string() || !e["detail"].is_string() {
                return Some(format!("{status} with a malformed Neutron fault: {fault}"));
            }
            return None;
        }
        // Keystone's and Glance's `{"error": {code, title, message}}`, or
        // Nova's `{"<faultName>": {code, message}}` under /compute.
        let nova = fault
            .as_object()
            .filter(|o| o.len() == 1 && !o.contains_key("error"))
            .and_then(|o| o.values().next());
        let e = nova.unwrap_or(&fault["error"]);
        if e["code"] != status.as_u16()
            || !(nova.is_some() || e["title"].is_string())
            || !e["message"].is_string()
        {
            return Some(format!("{status} with a malformed fault: {fault}"));
        }
    }
    None
}

async fn rest_routes_survive_hostile_input(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let admin = c.admin_token.clone();
    let tokens: [Option<&str>; 3] = [None, Some(&admin), Some("gAAAAAforged-token-0000")];
    let methods = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let paths = gureum_server::rest::route_paths();
    assert!(
        paths.len() > 40,
        "the route table lists only {} paths",
        paths.len()
    );
    let ids = hostile_ids();
    let bodies = hostile_bodies();
    let mut findings: Vec<Finding> = Vec::new();
    let mut sent = 0usize;
    for template in &paths {
        for method in &methods {
            let with_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
            // Every hostile id once, and every hostile body once, rotating
            // through the tokens (and the other dimension) as they go.
            let mut cases: Vec<(String, Option<usize>, usize)> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (fill(template, id), with_body.then_some(i % bodies.len()), i))
                .collect();
            if with_body {
                cases.extend(
                    (0..bodies.len())
                        .map(|b| (fill(template, &ids[b % ids.len()]), Some(b), b + 1)),
                );
            }
            if !template.contains('{') {
                cases.truncate(if with_body { bodies.len() } else { 3 });
                for (n, case) in cases.iter_mut().enumerate() {
                    case.0 = template.clone();
                    case.2 = n;
                }
            }
            for (path, body, n) in cases {
                let token = tokens[n % tokens.len()];
                let body = body.map(|b| &bodies[b]);
                sent += 1;
                match send(&c, method, &path, token, body).await {
                    Err(e) => {
                        findings.push(Finding(format!("{method} {template} ({path:.80}): {e}")))
                    }
                    Ok((status, bytes, _)) => {
                        if let Some(problem) = judge_rest(method, status, &bytes) {
                            findings.push(Finding(format!(
                                "{method} {template} ({path:.80}, body {:?}): {problem}",
                                body.map(|b| b.0)
                            )));
                        }
                    }
                }
            }
        }
    }
    // Still serving, and the admin's token still works.
    c.get(&admin, "/auth/catalog").await.expect(200);
    let report: Vec<String> = findings.into_iter().map(|f| f.0).collect();
    assert!(
        report.is_empty(),
        "{} of {sent} hostile requests were mishandled:\n{}",
        report.len(),
        report.join("\n")
    );
    c.finish().await;
}
per_backend!(multi_thread: rest_routes_survive_hostile_input);

/// Every registered server function, signed in and not, with missing,
/// malformed and wrong-typed arguments: never a 5xx, never a dropped
/// connection; the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_survive_hostile_input() {
    let c = TestCloud::start(Backend::Sqlite).await;
    let mut fns: Vec<(String, Method)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m))
        .collect();
    // Signing out ends the session the later calls use: last.
    fns.sort_by_key(|(p, _)| (p.contains("logout"), p.clone()));
    assert!(
        fns.len() > 20,
        "only {} server functions registered",
        fns.len()
    );
    let session = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = session
        .post(format!("{}/api/login", c.url))
        .form(&[
            ("domain", "Default"),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "login: {}", login.status());
    let anonymous = reqwest::Client::new();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/x-www-form-urlencoded", Vec::new()),
        ("application/x-www-form-urlencoded", b"a=%ZZ&&==&page=9223372036854775807".to_vec()),
        (
            "application/x-www-form-urlencoded",
            format!(
                "id=..%2F..%2F&name=%00%1B&q={}&page=-9223372036854775808&sort=%27&dir=x&project_id=0&user_id=0",
                "x".repeat(60_000)
            )
            .into_bytes(),
        ),
        ("application/json", b"{".to_vec()),
        ("text/plain", b"\xff\xfe\x00".to_vec()),
    ];
    let mut findings = Vec::new();
    for (path, method) in &fns {
        for (client, who) in [(&session, "signed in"), (&anonymous, "anonymous")] {
            for (ct, body) in &bodies {
                let res = client
                    .request(method.clone(), format!("{}{path}", c.url))
                    .header("Content-Type", *ct)
                    .body(body.clone())
                    .send()
                    .await;
                match res {
                    Err(e) => findings.push(format!("{path} ({who}, {ct}): no answer: {e}")),
                    Ok(r) if r.status().is_server_error() => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        findings.push(format!("{path} ({who}, {ct}): {status}: {:.200}", text));
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    let ok = c
        .client
        .get(format!("{}/login", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "the portal still serves");
    assert!(
        findings.is_empty(),
        "{} server-function calls were mishandled:\n{}",
        findings.len(),
        findings.join("\n")
    );
    c.finish().await;
}
