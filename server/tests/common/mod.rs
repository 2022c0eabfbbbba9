//! What the integration tests share: the database each server of a test uses — an SQLite file
//! in the test's folder, or, when `KLOUDLESS_TEST_DATABASE` names a PostgreSQL server
//! (`postgres://user@host:port`, as `make test` sets it for its PostgreSQL run), a fresh
//! database there — and ways to look into it.

#![allow(dead_code)] // each test file uses some of these

pub mod acme;

use authenticator_server::store::Database;
use std::path::Path;

/// A fresh database for one test: `dir/data/db.sqlite`, or a new PostgreSQL database.
pub fn fresh_database(dir: &Path) -> Database {
    match std::env::var("KLOUDLESS_TEST_DATABASE") {
        Ok(server) if !server.is_empty() => {
            let mut url = url::Url::parse(&server).expect("KLOUDLESS_TEST_DATABASE is a URL");
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("random name");
            let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            url.set_path(&format!("/test_{name}"));
            Database::Postgres(url.into())
        }
        _ => Database::Sqlite(dir.join("data/db.sqlite")),
    }
}

/// `--database` for the server binary.
pub fn database_arg(database: &Database) -> String {
    match database {
        Database::Sqlite(path) => path.to_str().unwrap().to_owned(),
        Database::Postgres(url) => url.clone(),
    }
}

/// The tables of the database (the migrations' bookkeeping left out) and their rows, each row
/// as text.
pub async fn tables(database: &Database) -> Vec<(String, Vec<String>)> {
    let (list, row) = match database {
        Database::Sqlite(_) => (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'
             AND name NOT LIKE 'sqlite%' ORDER BY name",
            "SELECT * FROM \"{table}\"",
        ),
        Database::Postgres(_) => (
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'
             AND tablename NOT LIKE '\\_%' ORDER BY 1",
            "SELECT t::text FROM \"{table}\" t",
        ),
    };
    let mut out = Vec::new();
    match database {
        Database::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            let names: Vec<(String,)> = sqlx::query_as(list).fetch_all(&pool).await.unwrap();
            for (table,) in names {
                let sql = row.replace("{table}", &table);
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
                let rows = rows.iter().map(sqlite_row_text).collect();
                out.push((table, rows));
            }
            pool.close().await;
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let names: Vec<(String,)> = sqlx::query_as(list).fetch_all(&pool).await.unwrap();
            for (table,) in names {
                let sql = row.replace("{table}", &table);
                let rows: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
                out.push((table, rows.into_iter().map(|(r,)| r).collect()));
            }
            pool.close().await;
        }
    }
    out
}

fn sqlite_row_text(row: &sqlx::sqlite::SqliteRow) -> String {
    use sqlx::{Column, Row, ValueRef};
    let mut text = String::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).unwrap();
        let value = if raw.is_null() {
            "NULL".to_owned()
        } else if let Ok(v) = row.try_get::<i64, _>(i) {
            v.to_string()
        } else {
            row.try_get::<String, _>(i).unwrap_or_default()
        };
        text.push_str(&format!("{}={value},", column.name()));
    }
    text
}

/// The number of rows of every table.
pub async fn row_counts(database: &Database) -> Vec<(String, usize)> {
    tables(database).await.into_iter().map(|(table, rows)| (table, rows.len())).collect()
}

/// Everything the database holds, as text: the SQLite files' bytes (the WAL too), or every row
/// of every table on PostgreSQL.
pub async fn everything(database: &Database) -> String {
    match database {
        Database::Sqlite(path) => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Database::Postgres(_) => {
            tables(database).await.into_iter().flat_map(|(_, rows)| rows).collect::<Vec<_>>().join("\n")
        }
    }
}

/// Runs one SQL statement on the database (for a test to set up what time alone would do).
pub async fn execute(database: &Database, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match database {
        Database::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Database::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}
