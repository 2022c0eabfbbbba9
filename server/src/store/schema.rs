//! The schema: each dialect's migrations, built into the binary and applied at start-up, and
//! the repair of migration 0003, whose text was edited after databases had run it.
//!
//! Migration 0003 gained `accounts.login` after it was committed (a7198c6). sqlx records each
//! applied migration's checksum and refuses to start on a database whose record differs from
//! the text it carries, so a database that ran the first text could no longer start (and lacked
//! the column). Before migrating, such a database gets the column and the current checksum, in
//! one transaction; the first texts are kept in `server/migrations/original-0003/` to recognise
//! it. Committed migrations are never edited again: a change is a new migration.

use super::{Error, Pool, Store, in_transaction, on_pool};
use sha2::{Digest, Sha384};
use sqlx::migrate::Migrator;

/// The SQLite migrations, in order.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
/// The PostgreSQL migrations, in order.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The migration whose text was edited after it was committed.
const EDITED: i64 = 3;
/// Its first SQLite text, as databases may have run it.
const ORIGINAL_SQLITE_0003: &str =
    include_str!("../../migrations/original-0003/sqlite/0003_upstream_accounts.sql");
/// Its first PostgreSQL text.
const ORIGINAL_POSTGRES_0003: &str =
    include_str!("../../migrations/original-0003/postgres/0003_upstream_accounts.sql");

impl Store {
    /// The migrations of the database in use.
    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Brings the schema up to date: repairs a database that ran the first text of 0003, then
    /// applies the migrations it lacks.
    pub(super) async fn migrate(&self) -> Result<(), Error> {
        self.repair_edited_0003().await?;
        on_pool!(self, pool => self.migrator().run(pool).await?);
        Ok(())
    }

    /// On a database that ran the first text of 0003: adds the column the edit added and
    /// records the current text's checksum (one conditional UPDATE decides, so that of two
    /// instances starting at once, one repairs). Any other database is left as it is.
    async fn repair_edited_0003(&self) -> Result<(), Error> {
        let (original, has_record) = match self.pool {
            Pool::Sqlite(_) => (
                ORIGINAL_SQLITE_0003,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            ),
            Pool::Postgres(_) => (
                ORIGINAL_POSTGRES_0003,
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'",
            ),
        };
        let Some(current) = self.migrator().iter().find(|m| m.version == EDITED) else { return Ok(()) };
        let current = current.checksum.to_vec();
        in_transaction!(self, tx => {
            let (tables,): (i64,) = sqlx::query_as(has_record).fetch_one(&mut *tx).await?;
            let repaired = tables == 1
                && sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND checksum = $3")
                    .bind(&current)
                    .bind(EDITED)
                    .bind(Sha384::digest(original).to_vec())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
            if repaired {
                sqlx::query("ALTER TABLE accounts ADD COLUMN login TEXT").execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
