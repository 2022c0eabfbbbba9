//! The one `fresh_database` of every test: the integration tests (`tests/common`) and the unit
//! tests (`src/store/testing.rs`, which includes this file) both call it. `super::Database` is
//! the store's `Database` as each of them imports it.

use super::Database;

/// The environment variable that selects PostgreSQL for the tests.
pub const TEST_DATABASE: &str = "KLOUDLESS_TEST_DATABASE";

/// A fresh database for one test: `dir/db.sqlite`, or, when [`TEST_DATABASE`] names a
/// PostgreSQL server (`postgres://user@host:port`), a new database of its own there (the suites
/// run at once, each test on its own data).
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
