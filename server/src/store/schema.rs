//! The schema: each dialect's migrations, built into the binary and applied at start-up.

use super::{Error, Pool, Store, on_pool};
use sqlx::migrate::Migrator;

/// The SQLite migrations, in order.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
/// The PostgreSQL migrations, in order.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// The migrations of the database in use.
    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Brings the schema up to date: applies the migrations it lacks.
    pub(super) async fn migrate(&self) -> Result<(), Error> {
        on_pool!(self, pool => self.migrator().run(pool).await?);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
