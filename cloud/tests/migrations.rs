//! `migrations/mysql` and `migrations/sqlite` describe one schema: after
//! both have run, the two databases have the same tables, columns (order,
//! nullability, primary keys) and indexes (names and columns).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use cloud::testing::ScratchDb;
use cloud::{Backend, Db};
use sqlx::Row;

/// Table → its shape, as comparable text.
#[derive(Debug, PartialEq, Eq)]
struct Table {
    /// `name NOT NULL` / `name NULL`, in column order.
    columns: Vec<String>,
    primary_key: Vec<String>,
    /// Index name (or `unique(cols)` for a UNIQUE constraint) → unique?, its columns in order.
    indexes: BTreeMap<String, (bool, Vec<String>)>,
}

async fn strings(db: &Db, sql: &str, binds: &[&str]) -> Vec<Vec<String>> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.fetch_all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<String, _>(i)
                        .or_else(|_| r.try_get::<i64, _>(i).map(|n| n.to_string()))
                        .unwrap_or_else(|e| panic!("{sql}: column {i}: {e}"))
                })
                .collect()
        })
        .collect()
}

async fn sqlite_schema(db: &Db) -> BTreeMap<String, Table> {
    let mut out = BTreeMap::new();
    let tables = strings(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
        &[],
    )
    .await;
    for t in tables {
        let name = &t[0];
        let cols = strings(
            db,
            "SELECT name, CAST(\"notnull\" AS TEXT), CAST(pk AS TEXT) FROM pragma_table_info(?) ORDER BY cid",
            &[name],
        )
        .await;
        let mut pk: Vec<(i64, String)> = cols
            .iter()
            .filter(|c| c[2] != "0")
            .map(|c| (c[2].parse().unwrap_or(0), c[0].clone()))
            .collect();
        pk.sort();
        let mut indexes = BTreeMap::new();
        // origin 'c': made by CREATE INDEX (not a PRIMARY KEY or UNIQUE constraint's own).
        // origin 'u': a UNIQUE constraint's index (named by SQLite, so keyed by its columns).
        let idx = strings(
            db,
            "SELECT name, origin, CAST(\"unique\" AS TEXT) FROM pragma_index_list(?) WHERE origin IN ('c', 'u') ORDER BY name",
            &[name],
        )
        .await;
        for i in idx {
            let icols: Vec<String> = strings(
                db,
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                &[&i[0]],
            )
            .await
            .into_iter()
            .map(|c| c[0].clone())
            .collect();
            let key = if i[1] == "u" {
                format!("unique({})", icols.join(","))
            } else {
                i[0].clone()
            };
            indexes.insert(key, (i[2] == "1", icols));
        }
        // A column declared PRIMARY KEY is NOT NULL on MariaDB, and effectively
        // so for our SQLite tables (every key is written).
        let columns = cols
            .iter()
            .map(|c| {
                let not_null = c[1] == "1" || c[2] != "0";
                format!("{} {}", c[0], if not_null { "NOT NULL" } else { "NULL" })
            })
            .collect();
        out.insert(
            name.clone(),
            Table {
                columns,
                primary_key: pk.into_iter().map(|(_, c)| c).collect(),
                indexes,
            },
        );
    }
    out
}

async fn mysql_schema(db: &Db) -> BTreeMap<String, Table> {
    let mut out = BTreeMap::new();
    let tables = strings(
        db,
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name",
        &[],
    )
    .await;
    for t in tables {
        let name = &t[0];
        let cols = strings(
            db,
            "SELECT CAST(column_name AS CHAR), CAST(is_nullable AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
            &[name],
        )
        .await;
        let stats = strings(
            db,
            "SELECT CAST(index_name AS CHAR), CAST(column_name AS CHAR), non_unique FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name, seq_in_index",
            &[name],
        )
        .await;
        // Foreign keys: MariaDB adds an index named after the constraint or
        // column when none leads with the column; SQLite needs none.
        let fk_names: Vec<String> = strings(
            db,
            "SELECT CAST(constraint_name AS CHAR) FROM information_schema.referential_constraints \
             WHERE constraint_schema = DATABASE() AND table_name = ?",
            &[name],
        )
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
        let fk_cols: Vec<String> = strings(
            db,
            "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = ? AND referenced_table_name IS NOT NULL",
            &[name],
        )
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
        let mut primary_key = Vec::new();
        let mut raw: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
        for s in stats {
            if s[0] == "PRIMARY" {
                primary_key.push(s[1].clone());
            } else {
                let e = raw.entry(s[0].clone()).or_default();
                e.0 = s[2] == "0";
                e.1.push(s[1].clone());
            }
        }
        raw.retain(|iname, (unique, icols)| {
            *unique
                || !(icols.len() == 1
                    && (fk_names.contains(iname)
                        || (iname == &icols[0] && fk_cols.contains(iname))))
        });
        // An unnamed UNIQUE constraint is named after its first column
        // (`col`, `col_2`, …) by MariaDB: key it by its columns, as on SQLite.
        let indexes = raw
            .into_iter()
            .map(|(iname, (unique, icols))| {
                let first = icols.first().cloned().unwrap_or_default();
                let from_constraint = unique
                    && (iname == first
                        || iname
                            .strip_prefix(&format!("{first}_"))
                            .is_some_and(|n| n.parse::<u32>().is_ok()));
                if from_constraint {
                    (format!("unique({})", icols.join(",")), (unique, icols))
                } else {
                    (iname, (unique, icols))
                }
            })
            .collect();
        out.insert(
            name.clone(),
            Table {
                columns: cols
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {}",
                            c[0],
                            if c[1] == "NO" { "NOT NULL" } else { "NULL" }
                        )
                    })
                    .collect(),
                primary_key,
                indexes,
            },
        );
    }
    out
}

#[tokio::test]
async fn mysql_and_sqlite_migrations_build_the_same_schema() {
    let sqlite = ScratchDb::new(Backend::Sqlite).await;
    let mysql = ScratchDb::new(Backend::MySql).await;
    let a = sqlite_schema(&sqlite.db).await;
    let b = mysql_schema(&mysql.db).await;
    assert!(a.len() > 5, "found only {} tables on SQLite", a.len());
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the two migration sets create different tables"
    );
    for (name, t) in &a {
        assert_eq!(
            t, &b[name],
            "table {name} differs (left: SQLite, right: MariaDB)"
        );
    }
    sqlite.finish().await;
    mysql.finish().await;
}

#[test]
fn both_migration_sets_have_the_same_files() {
    let names = |backend: &str| -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(backend);
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                e.map(|e| e.file_name().to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("mysql"), names("sqlite"));
}
