//! What operators rely on: request ids on every response, `/healthz` and
//! `/metrics`, on both backends.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend};
use common::TestCloud;

fn request_id_of(headers: &reqwest::header::HeaderMap) -> String {
    let id = headers
        .get("x-openstack-request-id")
        .expect("x-openstack-request-id")
        .to_str()
        .unwrap()
        .to_string();
    let uuid = id.strip_prefix("req-").expect("req- prefix");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{id}");
    id
}

async fn request_ids_on_rest_faults_and_portal_pages(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let ok = c.get(&c.admin_token, "/users").await.expect(200);
    let first = request_id_of(&ok.headers);

    // A fault, and a client's own id is not taken.
    let res = c
        .client
        .get(c.image_url("/images/00000000-0000-0000-0000-000000000000"))
        .header("X-Auth-Token", &c.admin_token)
        .header("x-openstack-request-id", "req-chosen-by-the-client")
        .send()
        .await
        .unwrap();
    let fault = common::Res::from_response(res).await.expect(404);
    let second = request_id_of(&fault.headers);
    assert_ne!(second, "req-chosen-by-the-client");
    assert_ne!(first, second, "a new id per request");

    // Unauthenticated: the fault from the auth extractor has one too.
    let unauth = c.call(reqwest::Method::GET, "/users", None, None).await;
    request_id_of(&unauth.expect(401).headers);

    // A portal page (the login page renders without a session).
    let page = c
        .client
        .get(format!("{}/login", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    request_id_of(page.headers());
    // A redirect from the page guard.
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/project", c.url))
        .send()
        .await
        .unwrap();
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    request_id_of(redirect.headers());
    c.finish().await;
}
per_backend!(multi_thread: request_ids_on_rest_faults_and_portal_pages);

async fn healthz_follows_the_database(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let res = c
        .client
        .get(format!("{}/healthz", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    request_id_of(res.headers());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok", "database": "ok"}));

    // The database goes away (here: the server's pool is closed).
    c.state.db.pool.close().await;
    let res = c
        .client
        .get(format!("{}/healthz", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "unavailable");
    assert_eq!(body["status"], "unavailable");
    c.finish().await;
}
per_backend!(multi_thread: healthz_follows_the_database);

async fn metrics_count_requests_by_route_template(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let image = c
        .create_image(
            &c.admin_token,
            serde_json::json!({"name": "m", "disk_format": "raw", "container_format": "bare"}),
        )
        .await;
    let id = image["id"].as_str().unwrap();
    for _ in 0..3 {
        c.get(&c.admin_token, &c.image_url(&format!("/images/{id}")))
            .await
            .expect(200);
    }
    // Two raw paths that match no route share one series.
    for junk in ["/no/such/thing", "/nor/this"] {
        let _ = c
            .client
            .get(format!("{}{junk}", c.url))
            .send()
            .await
            .unwrap();
    }
    let res = c
        .client
        .get(format!("{}/metrics", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();
    let line = |prefix: &str| -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_string)
    };
    // Labels come in declaration order: route, method, status.
    let shown = line(
        "gureum_http_requests_total{route=\"/image/v2/images/{id}\",method=\"GET\",status=\"200\"}",
    )
    .unwrap_or_else(|| panic!("no series for the image route:\n{text}"));
    assert!(shown.ends_with(" 3"), "{shown}");
    assert!(!text.contains(id), "raw ids never become labels");
    assert!(
        !text.contains("/no/such/thing"),
        "raw paths never become labels"
    );
    assert!(
        line("gureum_http_requests_total{route=\"/identity/v3/auth/tokens\",method=\"POST\",status=\"201\"}")
            .is_some(),
        "{text}"
    );
    let histogram_count =
        line("gureum_http_request_duration_seconds_count{route=\"/image/v2/images/{id}\",method=\"GET\"}")
            .unwrap_or_else(|| panic!("no latency histogram:\n{text}"));
    assert!(histogram_count.ends_with(" 3"), "{histogram_count}");
    let pool = line("gureum_db_pool_connections ").expect("pool size gauge");
    let size: i64 = pool.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(size >= 1, "{pool}");
    assert!(line("gureum_db_pool_idle_connections ").is_some(), "{text}");
    c.finish().await;
}
per_backend!(multi_thread: metrics_count_requests_by_route_template);
