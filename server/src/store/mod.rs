//! Storage: everything the server keeps, in one database that every instance shares — SQLite
//! embedded (the default, one file) or PostgreSQL (for more than one instance).
//!
//! Both are reached through sqlx's async drivers: a PostgreSQL query is socket I/O on the
//! runtime, and each SQLite connection runs on its own worker thread, so no database call ever
//! blocks a tokio worker. The schema is versioned: the migrations in `server/migrations/sqlite/`
//! and `server/migrations/postgres/` are built into the binary and applied at start-up
//! ([`Store::open`]). Queries live in this module only (`accounts.rs`, `flows.rs`, `codes.rs`…); each is written once in
//! the SQL both databases read (`$1` parameters, `ON CONFLICT`, `RETURNING`) and run by
//! `on_pool!` on the driver in use. (sqlx's `Any` driver would do the same at run time, but it
//! converts every row into owned values and knows fewer types; the two native pools do not.)
//!
//! Our tokens are kept only as SHA-256 hashes; upstream tokens only sealed ([`crate::secrets`]).

mod account;
mod accounts;
mod codes;
mod events;
mod flows;
mod health;
mod notices;
mod org_tokens;
mod returns;
mod schema;
mod sign_in;
mod upstream;

pub use account::Account;
pub use accounts::{AppData, Grant};
pub(crate) use accounts::{hash, new_token};
pub use codes::{AuthorizationCode, Presented};
pub use events::{AfterAttempt, Delivery, Event, EventKind};
pub use flows::{Full, NewFlow, Stage};
pub use health::{Health, RefreshFailure};
pub use org_tokens::OrgUserToken;
pub use returns::CodeFlow;
pub use upstream::{IdleAccount, OpenAt, PendingAt, StoredTokens, UpstreamAccount};

use sqlx::migrate::{MigrateDatabase, MigrateError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How long a request waits for a free database connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an SQLite write waits for another writer (another connection or instance) to finish.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite connections per instance: each runs on its own thread, reading in parallel (WAL).
const SQLITE_CONNECTIONS: u32 = 4;

/// PostgreSQL connections per instance: twice this machine's cores (at least 2). More are
/// slower, not faster: measured with `make bench-server` on 2 cores, a pool of 16 made
/// PostgreSQL's backends contend (3,400 verifications/s at 64 clients, p99 66 ms; two instances
/// slower still), where a pool of 4 gave 9,700 (p99 13 ms) and two instances 12,900.
fn postgres_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(2)
}

/// Where the database is (`--database`).
#[derive(Clone, Debug, PartialEq)]
pub enum Database {
    /// An SQLite file, created with its folder when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user[:password]@host[:port]/name`); the database is created
    /// when missing (the user needs the right to).
    Postgres(String),
}

impl Database {
    /// Reads `--database`: a `postgres://` or `postgresql://` URL selects PostgreSQL; a
    /// `sqlite://` or `sqlite:` URL, or anything else, names an SQLite file.
    pub fn parse(text: &str) -> Database {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Database::Postgres(text.to_owned());
        }
        let path = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")).unwrap_or(text);
        Database::Sqlite(PathBuf::from(path))
    }
}

impl From<&str> for Database {
    fn from(text: &str) -> Database {
        Database::parse(text)
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Database {
        Database::Sqlite(path)
    }
}

/// The file's path, or the URL without its password: safe to log.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(text) => match url::Url::parse(text) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    write!(f, "{url}")
                }
                Err(_) => f.write_str("(a PostgreSQL URL that does not parse)"),
            },
        }
    }
}

/// A storage failure.
#[derive(Debug)]
pub enum Error {
    /// The database failed (or could not be reached).
    Database(sqlx::Error),
    /// The schema could not be brought up to date.
    Migrate(MigrateError),
    /// The operating system's random source failed.
    Random(getrandom::Error),
    /// The SQLite file could not be created.
    File(std::io::Error),
    /// Connecting an account was refused, nothing changed: it is recorded for another end user
    /// of the app ([`crate::sign_in`]), and an account never silently changes hands.
    OtherUser,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Database(error) => write!(f, "database: {error}"),
            Error::Migrate(error) => write!(f, "migrations: {error}"),
            Error::Random(error) => write!(f, "random source: {error}"),
            Error::File(error) => write!(f, "database file: {error}"),
            Error::OtherUser => write!(f, "the account is recorded for another user of the app"),
        }
    }
}

impl std::error::Error for Error {}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Error {
        Error::Database(error)
    }
}

impl From<MigrateError> for Error {
    fn from(error: MigrateError) -> Error {
        Error::Migrate(error)
    }
}

/// The connection pool of the database in use.
#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool in use: the same code, type-checked once for
/// each driver.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs `$body` in a transaction `$tx`, committed when `$body` gives a value (a `?` in it
/// returns early and rolls back). On SQLite the transaction takes the write lock at once
/// (`BEGIN IMMEDIATE`), so that what it reads cannot change before it writes.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let value = $body;
                $tx.commit().await?;
                value
            }
            $crate::store::Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let value = $body;
                $tx.commit().await?;
                value
            }
        }
    };
}
pub(crate) use in_transaction;

/// Creates the SQLite file at `path` when it is missing, readable and writable by its owner only
/// (mode 0600 on Unix, whatever the umask): SQLite gives the WAL, shared-memory and journal files
/// it creates beside it the same mode. An existing file is left as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Whether `error` says the PostgreSQL database does not exist (SQLSTATE 3D000).
fn is_missing_database(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "3D000")
}

/// The database, shared by every instance of the server.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Opens the database (creating an SQLite file, or a PostgreSQL database, when missing) and
    /// applies the migrations it lacks. Instances starting together are safe: sqlx's migrator
    /// takes a lock on PostgreSQL, and SQLite's writes are serialized.
    pub async fn open(database: &Database) -> Result<Store, Error> {
        let store = Store::connect_database(database).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to the database, creating an SQLite file, or a PostgreSQL database, when missing;
    /// the schema is left as it is.
    async fn connect_database(database: &Database) -> Result<Store, Error> {
        Ok(match database {
            Database::Sqlite(path) => {
                create_private(path).map_err(Error::File)?;
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // With WAL, NORMAL loses no committed transaction when the process dies;
                    // only a power cut can take the last ones back.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(SQLITE_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?;
                Store { pool: Pool::Sqlite(pool) }
            }
            Database::Postgres(url) => {
                let options = PgConnectOptions::from_str(url)?;
                let pool_options = || {
                    PgPoolOptions::new()
                        .max_connections(postgres_connections())
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                };
                // Only a database that does not exist is created (through the `postgres`
                // maintenance database): a user who may reach only its own database can start.
                let pool = match pool_options().connect_with(options.clone()).await {
                    Err(error) if is_missing_database(&error) => {
                        if let Err(error) = sqlx::Postgres::create_database(url).await {
                            // Unless another instance starting at the same time created it.
                            if !sqlx::Postgres::database_exists(url).await? {
                                return Err(error.into());
                            }
                        }
                        pool_options().connect_with(options).await?
                    }
                    connected => connected?,
                };
                Store { pool: Pool::Postgres(pool) }
            }
        })
    }

    /// Whether the database answers (`SELECT 1`), for `/healthz`.
    pub async fn ping(&self) -> Result<(), Error> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop)?);
        Ok(())
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Waits for the connections to close (at shutdown).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_select_the_driver_and_never_print_a_password() {
        assert_eq!(Database::parse("data/a.sqlite"), Database::Sqlite("data/a.sqlite".into()));
        assert_eq!(Database::parse("sqlite://data/a.sqlite"), Database::Sqlite("data/a.sqlite".into()));
        assert_eq!(Database::parse("sqlite:///abs/a.sqlite"), Database::Sqlite("/abs/a.sqlite".into()));
        assert_eq!(Database::parse("sqlite:a.sqlite"), Database::Sqlite("a.sqlite".into()));
        let pg = Database::parse("postgres://kl:s3cret@db.internal:5432/auth");
        assert_eq!(pg, Database::Postgres("postgres://kl:s3cret@db.internal:5432/auth".into()));
        assert_eq!(pg.to_string(), "postgres://kl:***@db.internal:5432/auth");
        assert!(matches!(Database::parse("postgresql://h/db"), Database::Postgres(_)));
        assert_eq!(Database::parse("postgres://h/db").to_string(), "postgres://h/db");
    }
}
