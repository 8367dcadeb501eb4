//! The stock `openstack` CLI against the real server: what an operator
//! types must work unchanged. The CLI is required, never skipped: `make
//! test` installs it and exports `GUREUM_OPENSTACK_CLI`.

#![allow(clippy::unwrap_used)]

mod common;

use cloud::Backend;
use common::cli::{cli_path, password_creds, Cli};
use common::{TestCloud, ADMIN_PASSWORD};
use serde_json::Value;

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["Name"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn scenario(backend: Backend) {
    let cli_path = cli_path();
    let c = TestCloud::start(backend).await;
    let cli = Cli {
        path: cli_path,
        auth_url: c.v3(""),
    };
    let admin = password_creds("admin", ADMIN_PASSWORD, "admin");
    let admin = admin.as_slice();

    // token issue / revoke
    let t = cli.json(admin, &["token", "issue"]).await;
    assert_eq!(
        t["project_id"],
        Value::String(c.admin_project_id.clone()),
        "{t}"
    );
    assert_eq!(t["user_id"], Value::String(c.admin_user_id.clone()), "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    c.get(&id, "/auth/projects").await.expect(200);
    cli.ok(admin, &["token", "revoke", &id]).await;
    c.get(&id, "/auth/projects").await.expect(401);

    // domains
    let d = cli
        .json(
            admin,
            &["domain", "create", "--description", "CLI domain", "cli-dom"],
        )
        .await;
    assert_eq!(d["name"], "cli-dom");
    assert!(names(&cli.json(admin, &["domain", "list"]).await).contains(&"cli-dom".to_string()));
    cli.ok(
        admin,
        &["domain", "set", "--description", "changed", "cli-dom"],
    )
    .await;
    assert_eq!(
        cli.json(admin, &["domain", "show", "cli-dom"]).await["description"],
        "changed"
    );
    cli.ok(admin, &["domain", "set", "--disable", "cli-dom"])
        .await;
    cli.ok(admin, &["domain", "delete", "cli-dom"]).await;
    assert!(!names(&cli.json(admin, &["domain", "list"]).await).contains(&"cli-dom".to_string()));

    // projects
    let p = cli
        .json(
            admin,
            &[
                "project",
                "create",
                "--domain",
                "default",
                "--description",
                "CLI project",
                "cli-proj",
            ],
        )
        .await;
    let pid = p["id"].as_str().unwrap().to_string();
    cli.json(admin, &["project", "create", "tmp-proj"]).await;
    assert_eq!(
        names(&cli.json(admin, &["project", "list"]).await),
        ["admin", "cli-proj", "tmp-proj"]
    );
    cli.ok(
        admin,
        &["project", "set", "--description", "changed", "cli-proj"],
    )
    .await;
    let p = cli.json(admin, &["project", "show", "cli-proj"]).await;
    assert_eq!(p["description"], "changed");
    assert_eq!(p["id"], Value::String(pid.clone()));
    cli.ok(admin, &["project", "delete", "tmp-proj"]).await;
    assert_eq!(
        names(&cli.json(admin, &["project", "list"]).await),
        ["admin", "cli-proj"]
    );

    // users
    let u = cli
        .json(
            admin,
            &[
                "user",
                "create",
                "--domain",
                "default",
                "--password",
                "cli-user-password",
                "--project",
                "cli-proj",
                "cli-user",
            ],
        )
        .await;
    let uid = u["id"].as_str().unwrap().to_string();
    cli.json(
        admin,
        &[
            "user",
            "create",
            "--password",
            "tmp-user-password",
            "tmp-user",
        ],
    )
    .await;
    assert_eq!(
        names(&cli.json(admin, &["user", "list"]).await),
        ["admin", "cli-user", "tmp-user"]
    );
    cli.ok(
        admin,
        &["user", "set", "--email", "cli@example.com", "cli-user"],
    )
    .await;
    let u = cli.json(admin, &["user", "show", "cli-user"]).await;
    assert_eq!(u["email"], "cli@example.com");
    assert_eq!(u["default_project_id"], Value::String(pid.clone()));
    cli.ok(admin, &["user", "delete", "tmp-user"]).await;
    assert_eq!(
        names(&cli.json(admin, &["user", "list"]).await),
        ["admin", "cli-user"]
    );

    // groups and membership
    cli.json(
        admin,
        &["group", "create", "--description", "CLI group", "cli-group"],
    )
    .await;
    assert_eq!(
        names(&cli.json(admin, &["group", "list"]).await),
        ["cli-group"]
    );
    cli.ok(
        admin,
        &["group", "set", "--description", "changed", "cli-group"],
    )
    .await;
    assert_eq!(
        cli.json(admin, &["group", "show", "cli-group"]).await["description"],
        "changed"
    );
    cli.ok(admin, &["group", "add", "user", "cli-group", "cli-user"])
        .await;
    let out = cli
        .ok(
            admin,
            &["group", "contains", "user", "cli-group", "cli-user"],
        )
        .await;
    assert!(out.contains("cli-user in group cli-group"), "{out}");
    assert_eq!(
        c.get(&c.admin_token, &format!("/users/{uid}/groups"))
            .await
            .expect(200)
            .body["groups"][0]["name"],
        "cli-group"
    );
    cli.ok(admin, &["group", "remove", "user", "cli-group", "cli-user"])
        .await;
    assert_eq!(
        c.get(&c.admin_token, &format!("/users/{uid}/groups"))
            .await
            .expect(200)
            .body["groups"],
        serde_json::json!([])
    );
    cli.ok(admin, &["group", "delete", "cli-group"]).await;

    // roles
    cli.json(
        admin,
        &["role", "create", "--description", "CLI role", "cli-role"],
    )
    .await;
    assert_eq!(names(&cli.json(admin, &["role", "list"]).await), {
        let mut n = vec![
            "admin".to_string(),
            "cli-role".into(),
            "member".into(),
            "reader".into(),
        ];
        n.sort();
        n
    });
    cli.ok(
        admin,
        &["role", "set", "--description", "changed", "cli-role"],
    )
    .await;
    assert_eq!(
        cli.json(admin, &["role", "show", "cli-role"]).await["description"],
        "changed"
    );
    cli.ok(admin, &["role", "delete", "cli-role"]).await;

    // role assignments
    cli.ok(
        admin,
        &[
            "role",
            "add",
            "--project",
            "cli-proj",
            "--user",
            "cli-user",
            "member",
        ],
    )
    .await;
    let rows = cli
        .json(
            admin,
            &[
                "role",
                "assignment",
                "list",
                "--names",
                "--project",
                "cli-proj",
            ],
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["Role"], "member");
    assert_eq!(rows[0]["User"], "cli-user@Default");
    assert_eq!(rows[0]["Project"], "cli-proj@Default");
    cli.ok(
        admin,
        &[
            "role",
            "remove",
            "--project",
            "cli-proj",
            "--user",
            "cli-user",
            "member",
        ],
    )
    .await;
    assert_eq!(
        cli.json(
            admin,
            &["role", "assignment", "list", "--project", "cli-proj"]
        )
        .await,
        serde_json::json!([])
    );
    cli.ok(
        admin,
        &[
            "role",
            "add",
            "--project",
            "cli-proj",
            "--user",
            "cli-user",
            "member",
        ],
    )
    .await;

    // a member is refused admin calls
    let member = password_creds("cli-user", "cli-user-password", "cli-proj");
    let member = member.as_slice();
    let t = cli.json(member, &["token", "issue"]).await;
    assert_eq!(t["project_id"], Value::String(pid.clone()));
    let err = cli.fails(member, &["user", "list"]).await;
    assert!(err.contains("403"), "expected a 403 in: {err}");

    // application credentials, and logging in with one
    let ac = cli
        .json(
            member,
            &[
                "application",
                "credential",
                "create",
                "--role",
                "reader",
                "--description",
                "for CI",
                "cli-cred",
            ],
        )
        .await;
    let ac_id = ac["ID"].as_str().unwrap().to_string();
    let secret = ac["Secret"]
        .as_str()
        .expect("secret shown at creation")
        .to_string();
    let list = cli
        .json(member, &["application", "credential", "list"])
        .await;
    assert_eq!(names(&list), ["cli-cred"]);
    assert!(list[0].get("Secret").is_none());
    let shown = cli
        .json(member, &["application", "credential", "show", "cli-cred"])
        .await;
    assert_eq!(shown["ID"], Value::String(ac_id.clone()));
    assert!(shown.get("Secret").is_none());
    let ac_creds = [
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_APPLICATION_CREDENTIAL_ID", ac_id.as_str()),
        ("OS_APPLICATION_CREDENTIAL_SECRET", secret.as_str()),
    ];
    let t = cli.json(&ac_creds, &["token", "issue"]).await;
    assert_eq!(t["project_id"], Value::String(pid.clone()));
    assert_eq!(t["user_id"], Value::String(uid.clone()));
    // The token carries only the delegated role.
    let tok = t["id"].as_str().unwrap();
    let res = c
        .client
        .get(c.v3("/auth/tokens"))
        .header("X-Auth-Token", &c.admin_token)
        .header("X-Subject-Token", tok)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["reader"]
    );
    cli.ok(member, &["application", "credential", "delete", "cli-cred"])
        .await;
    assert_eq!(
        cli.json(member, &["application", "credential", "list"])
            .await,
        serde_json::json!([])
    );
    let err = cli.fails(&ac_creds, &["token", "issue"]).await;
    assert!(err.contains("401"), "expected a 401 in: {err}");

    // a wrong password is a 401
    let wrong = password_creds("admin", "not-the-password", "admin");
    let err = cli.fails(&wrong, &["token", "issue"]).await;
    assert!(err.contains("401"), "expected a 401 in: {err}");

    c.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_cli_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openstack_cli_on_mariadb() {
    scenario(Backend::MySql).await;
}
