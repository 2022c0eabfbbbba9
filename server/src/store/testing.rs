//! The database the unit tests use: an SQLite file in a temporary folder, or, when
//! `KLOUDLESS_TEST_DATABASE` names a PostgreSQL server (`postgres://user@host:port`), a fresh
//! database of its own there (the suites run at once, each test on its own data).

use super::{Database, Store};

/// The environment variable that selects PostgreSQL for the tests.
pub const TEST_DATABASE: &str = "KLOUDLESS_TEST_DATABASE";

/// A fresh database for one test: SQLite in `dir`, or a new PostgreSQL database.
pub fn fresh_database(dir: &std::path::Path) -> Database {
    match std::env::var(TEST_DATABASE) {
        Ok(server) if !server.is_empty() => {
            let mut url = url::Url::parse(&server).expect("KLOUDLESS_TEST_DATABASE is a URL");
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("random name");
            url.set_path(&format!("/test_{}", hex::encode(bytes)));
            Database::Postgres(url.into())
        }
        _ => Database::Sqlite(dir.join("db.sqlite")),
    }
}

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
