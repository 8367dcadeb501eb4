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
    // The same host under another scheme is another origin.
    let other_scheme = login(None, Some(c.url.replacen("http://", "https://", 1)))
        .await
        .unwrap();
    assert_eq!(other_scheme.status(), 403);

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
    // A small unread body is read and discarded: the client gets the answer
    // and keeps its connection.
    assert!(r.headers().get("connection").is_none());
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

/// Slow clients cannot hold the server: a header block that never ends and
/// a body that stalls are both cut off after their timeouts, while other
/// clients are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_stalled_bodies_are_cut_off() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let c = TestCloud::start_with(Backend::Sqlite, |cfg| {
        cfg.http.header_read_timeout_secs = 1;
        cfg.http.body_idle_timeout_secs = 1;
    })
    .await;
    let addr = c.url.trim_start_matches("http://").to_string();

    // Headers trickle in and never end.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /identity/v3 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Meanwhile another client is served at once.
    let t = Instant::now();
    let ok = c
        .client
        .get(format!("{}/identity/v3", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(t.elapsed() < Duration::from_millis(900));
    // The slow one is closed by the server (read sees EOF or a reset) within the timeout.
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let _ = slow.write_all(b"X-More: 1\r\n").await;
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // hyper may answer 408 first; keep reading to the close
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a never-ending header block must be closed");

    // A body that stalls after 10 bytes fails its read: the request ends (4xx) instead of hanging.
    let mut stall = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"auth\": {{"
    );
    stall.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match stall.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "a stalled body must not hold the request open"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 4"),
        "a stalled body is a client error: {text}"
    );
    c.finish().await;
}

/// Tokens and pages are never cached; a request without Host is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_store_on_tokens_and_pages_and_host_is_required() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let c = TestCloud::start(Backend::Sqlite).await;
    let token = c
        .client
        .post(c.v3("/auth/tokens"))
        .json(&TestCloud::password_body(
            "admin",
            ADMIN_PASSWORD,
            Some("admin"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    assert_eq!(token.headers()["cache-control"], "no-store");
    let page = c
        .client
        .get(format!("{}/login", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");

    let addr = c.url.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"GET /identity/v3 HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    sock.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    c.finish().await;
}
