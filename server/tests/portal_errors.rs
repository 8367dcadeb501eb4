//! The portal's server functions fail with the typed `AppError`, and the
//! call's HTTP status follows the error's kind through the one table.

#![allow(clippy::unwrap_used)]

mod common;

use app::error::AppError;
use cloud::{per_backend, Backend};
use common::{TestCloud, ADMIN_PASSWORD};

/// A browser-like client signed in to the portal as `user`.
async fn signed_in(c: &TestCloud, user: &str, password: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(format!("{}/api/login", c.url))
        .form(&[
            ("domain", "Default"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    browser
}

/// Calls `/api/create_project` and returns the status and the error sent.
async fn create_project(
    c: &TestCloud,
    browser: &reqwest::Client,
    name: &str,
) -> (u16, Option<AppError>) {
    let res = browser
        .post(format!("{}/api/create_project", c.url))
        .form(&[("name", name), ("description", "")])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.bytes().await.unwrap();
    let error = (status >= 400).then(|| serde_json::from_slice(&body).unwrap());
    (status, error)
}

async fn server_functions_answer_the_kinds_status(backend: Backend) {
    let c = TestCloud::start(backend).await;

    // No session: 401 and the SessionEnded variant (the page goes to /login).
    let anonymous = reqwest::Client::new();
    assert_eq!(
        create_project(&c, &anonymous, "p").await,
        (401, Some(AppError::SessionEnded))
    );

    // A member may not create projects: 403, not 500.
    c.user_with_role("member-user", "member-project", "member")
        .await;
    let member = signed_in(&c, "member-user", "member-user-password").await;
    let (status, error) = create_project(&c, &member, "p").await;
    assert_eq!(status, 403);
    assert!(
        matches!(&error, Some(AppError::Service { kind, key, args, .. })
            if kind == "forbidden"
                && key == "error.policy.denied"
                && args == &[("rule".to_string(), "identity:create_project".to_string())]),
        "{error:?}"
    );

    // A duplicate name: 409 with the key and arguments the UI words.
    let admin = signed_in(&c, "admin", ADMIN_PASSWORD).await;
    assert_eq!(create_project(&c, &admin, "twice").await, (200, None));
    let (status, error) = create_project(&c, &admin, "twice").await;
    assert_eq!(status, 409);
    let Some(AppError::Service {
        kind,
        key,
        args,
        message,
    }) = error
    else {
        panic!("not a service error: {error:?}");
    };
    assert_eq!(
        (kind.as_str(), key.as_str()),
        ("conflict", "error.identity.duplicate")
    );
    assert_eq!(
        args,
        [
            ("object".to_string(), "project".to_string()),
            ("name".to_string(), "twice".to_string())
        ]
    );
    assert!(message.contains("already exists"), "{message}");
    c.finish().await;
}
per_backend!(multi_thread: server_functions_answer_the_kinds_status);
