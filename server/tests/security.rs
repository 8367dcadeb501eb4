//! Security by default: headers, CSRF refusal, body limit, session cookie flags.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::Backend;
use common::{TestCloud, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_pages_and_apis() {
    let c = TestCloud::start(Backend::Sqlite).await;
    for path in ["/login", "/identity/v3"] {
        let r = c
            .client
            .get(format!("{}{path}", c.url))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{csp}"
        );
    }
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_portal_posts_are_refused_same_origin_allowed() {
    let c = TestCloud::start(Backend::Sqlite).await;
    let form = [
        ("domain", "Default"),
        ("username", "admin"),
        ("password", ADMIN_PASSWORD),
    ];
    let login = |site: Option<&'static str>, origin: Option<String>| {
        let mut req = c.client.post(format!("{}/api/login", c.url)).form(&form);
        if let Some(s) = site {
            req = req.header("Sec-Fetch-Site", s);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send()
    };
    let cross = login(Some("cross-site"), Some("https://evil.example".into()))
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(
        cross.headers().get("set-cookie").is_none(),
        "no session for a refused request"
    );
    let foreign_origin = login(None, Some("https://evil.example".into()))
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), 403);

    let same = login(Some("same-origin"), Some(c.url.clone()))
        .await
        .unwrap();
    assert!(
        same.status().is_success() || same.status().is_redirection(),
        "{}",
        same.status()
    );
    let cookie = same
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(cookie.starts_with("gureum_session="), "{cookie}");
    assert!(
        cookie.contains("httponly") && cookie.contains("samesite=strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("secure"),
        "plain http: no Secure flag ({cookie})"
    );
    // The cookie holds an opaque session id, never the token or password.
    assert!(!cookie.contains(&ADMIN_PASSWORD.to_ascii_lowercase()));
    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused() {
    let c = TestCloud::start_with(Backend::Sqlite, |cfg| cfg.body_limit_bytes = 64 * 1024).await;
    let big = "x".repeat(200 * 1024);
    let body = serde_json::json!({"project": {"name": "p", "description": big}});
    let r = c
        .client
        .post(c.v3("/projects"))
        .header("X-Auth-Token", &c.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // The unread body is not drained: the connection closes, and says so,
    // so the client's next request goes out on a fresh one.
    assert_eq!(r.headers()["connection"], "close");
    let fault: serde_json::Value = r.json().await.expect("a JSON fault body");
    assert_eq!(fault["error"]["code"], 413, "{fault}");
    assert!(fault["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("larger")));
    // A body that was read keeps the connection alive.
    let ok = c
        .client
        .post(c.v3("/projects"))
        .header("X-Auth-Token", &c.admin_token)
        .json(&serde_json::json!({"project": {"name": "small"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    assert!(ok.headers().get("connection").is_none());
    let list = c.get(&c.admin_token, "/projects?name=p").await.expect(200);
    assert_eq!(
        list.body["projects"].as_array().unwrap().len(),
        0,
        "nothing half-written"
    );
    c.finish().await;
}

/// A page carries its signed-in user as JSON for the browser; names with
/// markup in them stay data (no way out of the `<script>` element).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_in_user_is_embedded_as_inert_json() {
    let c = TestCloud::start(Backend::Sqlite).await;
    let user = "x</script><script>alert(1)</script>";
    c.user_with_role(user, "p<!--&", "member").await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(format!("{}/api/login", c.url))
        .form(&[
            ("domain", "Default"),
            ("username", user),
            ("password", &format!("{user}-password")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let page = browser
        .get(format!("{}/project", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let start = html
        .find(r#"<script type="application/json" id="gureum-me">"#)
        .expect("the user's JSON in the page");
    let json = &html[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    let me: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(me["user_name"], user);
    assert_eq!(me["project"]["name"], "p<!--&");
    assert_eq!(me["is_admin"], false);
    assert!(
        !html.contains("<script>alert(1)"),
        "markup from a name stays data"
    );
    // Signed out, no page and no user.
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/project", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 303);
    c.finish().await;
}
