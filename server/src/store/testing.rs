//! The database the unit tests use: an SQLite file in a temporary folder, or, when
//! `KLOUDLESS_TEST_DATABASE` names a PostgreSQL server (`postgres://user@host:port`), a fresh
//! database of its own there (the suites run at once, each test on its own data). Its
//! `fresh_database` is the integration tests' own (tests/common/database.rs), included here so
//! that there is one copy and the library needs no test-only code outside `cfg(test)`.

use super::{Database, Store};

#[path = "../../tests/common/database.rs"]
mod database;

pub use database::{TEST_DATABASE, fresh_database};

/// A fresh, migrated store and the folder that holds it (or nothing, on PostgreSQL).
pub async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&fresh_database(dir.path())).await.unwrap();
    (dir, store)
}

/// Everything the database holds, as text: the SQLite files' bytes (after the store is closed),
/// or every row of every table on PostgreSQL.
pub async fn everything(store: &Store, dir: &std::path::Path) -> String {
    match &store.pool {
        super::Pool::Sqlite(_) => {
            store.close().await;
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        super::Pool::Postgres(pool) => {
            let tables: Vec<(String,)> =
                sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let mut text = String::new();
            for (table,) in tables {
                let sql = format!("SELECT t::text FROM \"{table}\" t");
                let rows: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap();
                rows.into_iter().for_each(|(row,)| text.push_str(&row));
            }
            text
        }
    }
}
