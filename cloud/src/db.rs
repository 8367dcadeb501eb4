//! The database handle: one `sqlx::AnyPool` over MariaDB or SQLite.
//!
//! Queries are runtime-checked, portable SQL with `?` placeholders. The Any
//! driver decodes only a few types, so the schema keeps to them: `VARCHAR`
//! for text, `BIGINT` for integers, booleans and times (UTC microseconds).

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Transaction};

/// Which SQL engine sits behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    MySql,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database url {0:?}: use mysql://… or sqlite:…")]
    UnsupportedUrl(String),
    #[error("could not create the directory for the SQLite file {path}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A cheap-to-clone handle on the pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    pub url: String,
}

static MYSQL_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mysql");
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

impl Db {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Backend::MySql
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(DbError::UnsupportedUrl(url.to_string()));
        };
        let url = url.replacen("mariadb://", "mysql://", 1);
        let pool = match backend {
            Backend::Sqlite => {
                if let Some(path) = sqlite_path(&url) {
                    if let Some(dir) = std::path::Path::new(&path).parent() {
                        if !dir.as_os_str().is_empty() {
                            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                                path: dir.display().to_string(),
                                source,
                            })?;
                        }
                    }
                }
                let url = if url.contains('?') {
                    url.clone()
                } else {
                    format!("{url}?mode=rwc")
                };
                // WAL lets readers run beside the single writer; the busy
                // timeout queues writers instead of failing them.
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(DbError::Connect)?
            }
            Backend::MySql => {
                let opts = AnyConnectOptions::from_str(&url)
                    .map_err(DbError::Connect)?
                    .disable_statement_logging();
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(DbError::Connect)?
            }
        };
        let db = Db { pool, backend, url };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::MySql => &MYSQL_MIGRATOR,
            Backend::Sqlite => &SQLITE_MIGRATOR,
        };
        migrator.run(&self.pool).await.map_err(DbError::Migrate)
    }
}

/// A transaction for read-modify-write: rows read through
/// [`Db::for_update`] stay locked until it ends.
pub type WriteTx = Transaction<'static, Any>;

impl Db {
    /// Begins a transaction for read-modify-write that cannot lose an update.
    ///
    /// MariaDB locks the rows that [`Db::for_update`] selects; the
    /// transaction runs at READ COMMITTED, so a plain read after taking a
    /// lock sees what the lock's previous holder committed (not a snapshot
    /// from before the wait) and no gap locks are taken. SQLite has no row
    /// locks, and a plain (deferred) `BEGIN` only takes the write lock at the
    /// first write — two writers could both read the old value first. So on
    /// SQLite the transaction starts with `BEGIN IMMEDIATE`, which takes the
    /// database's single write lock at once (waiting up to the busy
    /// timeout); readers carry on beside it under WAL.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::MySql => {
                self.pool
                    .begin_with("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION")
                    .await
            }
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
        }
    }

    /// `select` with the engine's row-lock clause appended (`FOR UPDATE` on
    /// MariaDB; nothing on SQLite, where [`Db::begin_write`] already holds
    /// the write lock). Use it only inside a [`Db::begin_write`] transaction.
    pub fn for_update(&self, select: &str) -> String {
        match self.backend {
            Backend::MySql => format!("{select} FOR UPDATE"),
            Backend::Sqlite => select.to_string(),
        }
    }

    /// `INSERT` that skips rows whose key already exists.
    pub fn insert_ignore(&self) -> &'static str {
        match self.backend {
            Backend::MySql => "INSERT IGNORE",
            Backend::Sqlite => "INSERT OR IGNORE",
        }
    }

    /// An expression summing a BIGINT column as BIGINT: MariaDB's `SUM` is
    /// DECIMAL, which the Any driver cannot decode.
    pub fn sum_bigint(&self, col: &str) -> String {
        match self.backend {
            Backend::MySql => format!("CAST(COALESCE(SUM({col}), 0) AS SIGNED)"),
            Backend::Sqlite => format!("COALESCE(SUM({col}), 0)"),
        }
    }
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

/// Current time as UTC microseconds, the unit every time column uses.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub fn micros_to_time(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// True when the error is a unique-constraint violation on either engine.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || db.code().as_deref() == Some("23000")
                || db.message().contains("UNIQUE constraint failed")
                || db.message().contains("Duplicate entry")
        }
        _ => false,
    }
}
