//! Server processes on one database: each registers a row at start and
//! renews it with a heartbeat; a server whose heartbeat is older than the
//! lease is dead, and only a dead (or unknown) server's work in progress may
//! be taken over by another.

use std::time::Duration;

use sqlx::Row;

use crate::db::now_micros;
use crate::Db;

#[derive(Debug, thiserror::Error)]
pub enum ServersError {
    #[error("server registry: {operation} failed")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

fn db_err(operation: &'static str) -> impl FnOnce(sqlx::Error) -> ServersError {
    move |source| ServersError::Database { operation, source }
}

/// One row of the `servers` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: i64,
    pub heartbeat_at: i64,
}

/// This process's membership: its id and its lease.
#[derive(Debug, Clone)]
pub struct ServerRegistry {
    db: Db,
    id: String,
    lease: Duration,
}

impl ServerRegistry {
    /// Registers this process under a new id (a UUID) with a first heartbeat.
    pub async fn register(db: Db, lease: Duration) -> Result<ServerRegistry, ServersError> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let host = hostname();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO servers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.clone())
        .bind(host)
        .bind(i64::from(std::process::id()))
        .bind(now)
        .bind(now)
        .execute(&db.pool)
        .await
        .map_err(db_err("registering this server"))?;
        tracing::info!(server_id = %id, "registered this server");
        Ok(ServerRegistry { db, id, lease })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Renews the lease. A row reaped meanwhile (this server was taken for
    /// dead, e.g. during a database outage) is put back: its uploads may
    /// already have been handed to others, which the conditional updates
    /// on `upload_owner` make safe.
    pub async fn heartbeat(&self) -> Result<(), ServersError> {
        let now = now_micros();
        let renewed = sqlx::query("UPDATE servers SET heartbeat_at = ? WHERE id = ?")
            .bind(now)
            .bind(self.id.clone())
            .execute(&self.db.pool)
            .await
            .map_err(db_err("renewing this server's lease"))?
            .rows_affected();
        if renewed == 0 {
            tracing::warn!(server_id = %self.id, "this server's row was reaped; registering again");
            sqlx::query(
                "INSERT INTO servers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(self.id.clone())
            .bind(hostname())
            .bind(i64::from(std::process::id()))
            .bind(now)
            .bind(now)
            .execute(&self.db.pool)
            .await
            .map_err(db_err("registering this server again"))?;
        }
        Ok(())
    }

    /// The oldest heartbeat a live server can have now.
    pub fn live_since(&self) -> i64 {
        live_since(self.lease)
    }

    /// Ids of the servers whose lease has not expired (this one included).
    pub async fn live_servers(&self) -> Result<Vec<String>, ServersError> {
        let rows = sqlx::query("SELECT id FROM servers WHERE heartbeat_at >= ? ORDER BY id")
            .bind(self.live_since())
            .fetch_all(&self.db.pool)
            .await
            .map_err(db_err("listing live servers"))?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()
            .map_err(db_err("listing live servers"))
    }

    /// Removes the rows of servers dead for more than ten leases (their
    /// work was recovered long ago); returns how many.
    pub async fn reap_dead(&self) -> Result<u64, ServersError> {
        let cutoff = now_micros() - 10 * micros(self.lease);
        sqlx::query("DELETE FROM servers WHERE heartbeat_at < ? AND id <> ?")
            .bind(cutoff)
            .bind(self.id.clone())
            .execute(&self.db.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(db_err("reaping dead servers"))
    }

    /// Removes this server's row: called last at a clean shutdown.
    pub async fn deregister(&self) -> Result<(), ServersError> {
        sqlx::query("DELETE FROM servers WHERE id = ?")
            .bind(self.id.clone())
            .execute(&self.db.pool)
            .await
            .map_err(db_err("deregistering this server"))?;
        tracing::info!(server_id = %self.id, "deregistered this server");
        Ok(())
    }

    /// Every registered server, live or not.
    pub async fn all(db: &Db) -> Result<Vec<ServerRecord>, ServersError> {
        let rows = sqlx::query(
            "SELECT id, host, pid, started_at, heartbeat_at FROM servers ORDER BY started_at, id",
        )
        .fetch_all(&db.pool)
        .await
        .map_err(db_err("listing servers"))?;
        let decode = |r: &sqlx::any::AnyRow| -> Result<ServerRecord, sqlx::Error> {
            Ok(ServerRecord {
                id: r.try_get("id")?,
                host: r.try_get("host")?,
                pid: r.try_get("pid")?,
                started_at: r.try_get("started_at")?,
                heartbeat_at: r.try_get("heartbeat_at")?,
            })
        };
        rows.iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(db_err("listing servers"))
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The oldest heartbeat a live server can have, for a lease of `lease`.
pub fn live_since(lease: Duration) -> i64 {
    now_micros().saturating_sub(micros(lease))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}
