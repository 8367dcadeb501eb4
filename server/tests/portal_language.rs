//! The portal's language: the account's stored choice, else the choice made
//! on the login page, else the browser's `Accept-Language`; and page views
//! that do not write the session each time.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::{per_backend, Backend, RequestContext};
use common::{TestCloud, ADMIN_PASSWORD};

const KOREAN_BROWSER: &str = "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7";
const ENGLISH_BROWSER: &str = "en-US,en;q=0.9";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// A page as a browser asking for `accept` gets it: `<html lang>` and
/// whether the response set the session cookie (that is, saved the session).
async fn page(c: &TestCloud, b: &reqwest::Client, path: &str, accept: &str) -> (String, bool) {
    let res = b
        .get(format!("{}{path}", c.url))
        .header("Accept-Language", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    assert!(res.url().path() == path, "GET {path} went to {}", res.url());
    let saved = res.headers().contains_key("set-cookie");
    let body = res.text().await.unwrap();
    let lang = body
        .split_once("<html lang=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(lang, _)| lang.to_string())
        .unwrap_or_else(|| panic!("no <html lang> in {path}"));
    (lang, saved)
}

async fn post(c: &TestCloud, b: &reqwest::Client, function: &str, form: &[(&str, &str)]) {
    let res = b
        .post(format!("{}/api/{function}", c.url))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{function}");
}

async fn sign_in(c: &TestCloud, b: &reqwest::Client, user: &str, password: &str) {
    post(
        c,
        b,
        "login",
        &[
            ("domain", "Default"),
            ("username", user),
            ("password", password),
        ],
    )
    .await;
}

async fn stored_language(c: &TestCloud, user_id: &str) -> Option<String> {
    c.state
        .identity
        .get_user(&RequestContext::internal(), user_id)
        .await
        .unwrap()
        .language
}

async fn the_portal_follows_the_choice_then_the_browser(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let (kim, _, _) = c.user_with_role("kim", "kim-project", "member").await;
    assert_eq!(stored_language(&c, &kim).await, None, "no choice yet");
    // The bootstrap admin has made no choice either.
    assert_eq!(stored_language(&c, &c.admin_user_id).await, None);

    // Before any choice the browser decides.
    let b = browser();
    assert_eq!(page(&c, &b, "/login", KOREAN_BROWSER).await.0, "ko");
    assert_eq!(page(&c, &b, "/login", ENGLISH_BROWSER).await.0, "en");
    assert_eq!(page(&c, &b, "/login", "fr-FR").await.0, "en");

    // English chosen on the login page wins over a Korean browser, and
    // stays after sign-in: the account has no choice of its own.
    post(&c, &b, "set_language", &[("lang", "en")]).await;
    assert_eq!(page(&c, &b, "/login", KOREAN_BROWSER).await.0, "en");
    sign_in(&c, &b, "kim", "kim-password").await;
    assert_eq!(page(&c, &b, "/project", KOREAN_BROWSER).await.0, "en");
    assert_eq!(stored_language(&c, &kim).await, None);

    // Signed in, the choice is the account's, kept for every device.
    post(&c, &b, "set_language", &[("lang", "ko")]).await;
    assert_eq!(page(&c, &b, "/project", ENGLISH_BROWSER).await.0, "ko");
    assert_eq!(stored_language(&c, &kim).await.as_deref(), Some("ko"));
    let other = browser();
    post(&c, &other, "set_language", &[("lang", "en")]).await;
    assert_eq!(page(&c, &other, "/login", KOREAN_BROWSER).await.0, "en");
    sign_in(&c, &other, "kim", "kim-password").await;
    assert_eq!(page(&c, &other, "/project", ENGLISH_BROWSER).await.0, "ko");

    // A user who never chose follows the browser after sign-in too.
    let admin = browser();
    sign_in(&c, &admin, "admin", ADMIN_PASSWORD).await;
    assert_eq!(page(&c, &admin, "/project", KOREAN_BROWSER).await.0, "ko");
    assert_eq!(page(&c, &admin, "/project", ENGLISH_BROWSER).await.0, "en");

    // An unsupported language is refused, and changes nothing.
    let res = b
        .post(format!("{}/api/set_language", c.url))
        .form(&[("lang", "xx")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(stored_language(&c, &kim).await.as_deref(), Some("ko"));
}

/// Each page view used to save the session (its expiry moved forward): a
/// database write per page. Now the expiry moves at most once a minute.
async fn page_views_do_not_rewrite_the_session(backend: Backend) {
    let c = TestCloud::start(backend).await;
    let b = browser();
    sign_in(&c, &b, "admin", ADMIN_PASSWORD).await;
    for path in ["/project", "/identity/users", "/project"] {
        let (_, saved) = page(&c, &b, path, ENGLISH_BROWSER).await;
        assert!(!saved, "{path} saved the session again");
    }
    // Still signed in: a server function call works.
    post(&c, &b, "set_language", &[("lang", "en")]).await;
    assert_eq!(
        page(&c, &b, "/identity/users", KOREAN_BROWSER).await.0,
        "en"
    );
}

per_backend!(
    the_portal_follows_the_choice_then_the_browser,
    page_views_do_not_rewrite_the_session
);
