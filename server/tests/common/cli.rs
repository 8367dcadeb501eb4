//! Runs the stock `openstack` CLI for the CLI tests. The CLI is required,
//! never skipped: `make test` installs it and exports `GUREUM_OPENSTACK_CLI`.

use std::process::{Command, Output};

use serde_json::Value;

pub fn cli_path() -> String {
    let path = std::env::var("GUREUM_OPENSTACK_CLI").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/gureum/venv/bin/openstack")
    });
    assert!(
        std::path::Path::new(&path).is_file(),
        "the openstack CLI is required for this test but was not found at {path}; \
         run `make test` (it installs it), or point GUREUM_OPENSTACK_CLI at an `openstack` executable"
    );
    path
}

/// Runs the CLI with the given credentials (`OS_*` variables), off the
/// async runtime the server runs on.
pub struct Cli {
    pub path: String,
    pub auth_url: String,
}

impl Cli {
    pub async fn run(&self, creds: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.path);
        for (k, _) in std::env::vars() {
            if k.starts_with("OS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("OS_AUTH_URL", &self.auth_url)
            .env("OS_IDENTITY_API_VERSION", "3")
            .env("OS_INTERFACE", "public");
        for (k, v) in creds {
            cmd.env(k, v);
        }
        cmd.args(args);
        let shown = args.join(" ");
        tokio::task::spawn_blocking(move || {
            cmd.output()
                .unwrap_or_else(|e| panic!("could not run openstack {shown}: {e}"))
        })
        .await
        .unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub async fn ok(&self, creds: &[(&str, &str)], args: &[&str]) -> String {
        let out = self.run(creds, args).await;
        assert!(
            out.status.success(),
            "`openstack {}` failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs with `-f json` appended and parses the output.
    pub async fn json(&self, creds: &[(&str, &str)], args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-f", "json"]);
        let out = self.ok(creds, &args).await;
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "`openstack {}` printed non-JSON ({e}): {out}",
                args.join(" ")
            )
        })
    }

    /// Runs and asserts failure; returns stderr.
    pub async fn fails(&self, creds: &[(&str, &str)], args: &[&str]) -> String {
        let out = self.run(creds, args).await;
        assert!(
            !out.status.success(),
            "`openstack {}` should have failed but printed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

pub fn password_creds<'a>(
    user: &'a str,
    password: &'a str,
    project: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("OS_AUTH_TYPE", "password"),
        ("OS_USERNAME", user),
        ("OS_PASSWORD", password),
        ("OS_PROJECT_NAME", project),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
    ]
}
