//! Scratch databases for tests: every test run gets its own SQLite file or
//! MariaDB database, so tests run in parallel and leave nothing behind.
//!
//! MariaDB is found at `GUREUM_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`). It is not optional: when it is down the
//! tests fail loudly rather than skip.

use crate::db::{Backend, Db};

pub struct ScratchDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Held for its `Drop`, which removes the directory.
    File {
        _dir: tempfile_path::TempDir,
    },
    MySql {
        server: String,
        name: String,
    },
}

mod tempfile_path {
    /// A directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn mysql_server_url() -> String {
    std::env::var("GUREUM_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

impl ScratchDb {
    pub async fn new(backend: Backend) -> ScratchDb {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("gureum-test-{tag}"));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite:{}", dir.join("gureum.db").display());
                let db = Db::connect(&url)
                    .await
                    .expect("open scratch SQLite database");
                ScratchDb {
                    db,
                    url,
                    cleanup: Cleanup::File {
                        _dir: tempfile_path::TempDir(dir),
                    },
                }
            }
            Backend::MySql => {
                use sqlx::Connection;
                let server = mysql_server_url();
                let name = format!("gureum_test_{}", &tag[..16]);
                let mut conn = sqlx::mysql::MySqlConnection::connect(&server)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("MariaDB must be running at {server} for the tests: {e}")
                    });
                sqlx::query(&format!(
                    "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .execute(&mut conn)
                .await
                .expect("create scratch database");
                let url = format!("{}/{name}", server.trim_end_matches('/'));
                let db = Db::connect(&url)
                    .await
                    .expect("open scratch MariaDB database");
                ScratchDb {
                    db,
                    url,
                    cleanup: Cleanup::MySql { server, name },
                }
            }
        }
    }

    /// Drops the database. Call at the end of the test; a panicking test
    /// leaves its database behind for inspection (named `gureum_test_*`).
    pub async fn finish(self) {
        self.db.pool.close().await;
        if let Cleanup::MySql { server, name } = &self.cleanup {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::mysql::MySqlConnection::connect(server).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

/// Both backends, for tests that must pass on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::MySql];

/// One test per backend from a scenario `async fn name(backend: Backend)`:
/// `per_backend!(name);` generates `name::sqlite` and `name::mysql`, so a
/// failure names its backend and the two run in parallel.
/// `per_backend!(multi_thread: name, …)` runs each on a two-thread runtime
/// (tests that serve HTTP in-process and call it).
#[macro_export]
macro_rules! per_backend {
    (multi_thread: $($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::db::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                super::$name($crate::db::Backend::MySql).await
            }
        }
    )+};
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::db::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn mysql() {
                super::$name($crate::db::Backend::MySql).await
            }
        }
    )+};
}

/// Deterministic pseudo-random bytes (xorshift), different for each seed.
pub fn test_data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The files of a `LocalStore` directory, sorted: `images/<id>`, and
/// staging files as `staging/<server-id>/<name>` (an empty staging area of
/// a server is no leftover, so it is not listed; a loose file is
/// `staging/<name>`).
pub fn store_files(dir: &std::path::Path) -> Vec<String> {
    let names = |d: &std::path::Path| -> Vec<(String, bool)> {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                        (e.file_name().to_string_lossy().into_owned(), is_dir)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out: Vec<String> = names(&dir.join("images"))
        .into_iter()
        .map(|(n, _)| format!("images/{n}"))
        .collect();
    for (name, is_dir) in names(&dir.join("staging")) {
        if is_dir {
            for (file, _) in names(&dir.join("staging").join(&name)) {
                out.push(format!("staging/{name}/{file}"));
            }
        } else {
            out.push(format!("staging/{name}"));
        }
    }
    out.sort();
    out
}
