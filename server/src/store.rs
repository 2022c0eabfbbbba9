//! Storage: accounts and tokens in SQLite. Tokens are kept only as SHA-256 hashes.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Mutex;

/// A connected account.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// The app it is connected to.
    pub client_id: String,
    /// The service id.
    pub service: String,
    /// The account's name, as the user gave it.
    pub name: String,
    /// Whether it was connected with admin access.
    pub admin: bool,
    /// When it was first connected (RFC 3339, UTC).
    pub created: String,
}

/// What a token grants.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// The account it is bound to.
    pub account_id: i64,
    /// The app it was issued to.
    pub client_id: String,
    /// Its scope.
    pub scope: String,
}

/// The database.
pub struct Store {
    db: Mutex<Connection>,
}

/// A storage failure.
#[derive(Debug)]
pub enum Error {
    /// SQLite failed.
    Database(rusqlite::Error),
    /// The operating system's random source failed.
    Random(getrandom::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Database(error) => write!(f, "database: {error}"),
            Error::Random(error) => write!(f, "random source: {error}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Error {
        Error::Database(error)
    }
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    admin INTEGER NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (client_id, service, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
";

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let db = Connection::open(path)?;
        db.execute_batch(SCHEMA)?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent: keep going.
        self.db.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Connects an account (the same app, service and name give the same account) and issues a
    /// fresh token for it. Returns the account id and the token.
    pub fn connect(
        &self,
        grant_scope: &str,
        client_id: &str,
        service: &str,
        name: &str,
        admin: bool,
    ) -> Result<(i64, String), Error> {
        let token = new_token()?;
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO accounts (client_id, service, name, admin) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (client_id, service, name) DO UPDATE SET admin = excluded.admin",
            params![client_id, service, name, admin],
        )?;
        let account_id: i64 = tx.query_row(
            "SELECT id FROM accounts WHERE client_id = ?1 AND service = ?2 AND name = ?3",
            params![client_id, service, name],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO tokens (hash, account_id, client_id, scope) VALUES (?1, ?2, ?3, ?4)",
            params![hash(&token), account_id, client_id, grant_scope],
        )?;
        tx.commit()?;
        Ok((account_id, token))
    }

    /// What `token` grants, if it was issued here.
    pub fn grant(&self, token: &str) -> Result<Option<Grant>, Error> {
        self.db()
            .query_row(
                "SELECT account_id, client_id, scope FROM tokens WHERE hash = ?1",
                params![hash(token)],
                |row| Ok(Grant { account_id: row.get(0)?, client_id: row.get(1)?, scope: row.get(2)? }),
            )
            .optional()
            .map_err(Error::from)
    }

    /// The account with this id.
    pub fn account(&self, id: i64) -> Result<Option<Account>, Error> {
        self.db()
            .query_row(
                "SELECT id, client_id, service, name, admin, created FROM accounts WHERE id = ?1",
                params![id],
                |row| {
                    Ok(Account {
                        id: row.get(0)?,
                        client_id: row.get(1)?,
                        service: row.get(2)?,
                        name: row.get(3)?,
                        admin: row.get(4)?,
                        created: row.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(Error::from)
    }
}

/// 256 random bits, hex-encoded.
fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    Ok(hex(&bytes))
}

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn tokens_are_bound_and_accounts_reused() {
        let (_dir, store) = store();
        let (id, token) = store.connect("box:normal.storage", "app", "box", "a@example.com", false).unwrap();
        let (again, token2) =
            store.connect("box:admin.storage", "app", "box", "a@example.com", true).unwrap();
        assert_eq!(id, again);
        assert_ne!(token, token2);
        assert_eq!(token.len(), 64);
        let grant = store.grant(&token).unwrap().unwrap();
        assert_eq!(
            grant,
            Grant { account_id: id, client_id: "app".into(), scope: "box:normal.storage".into() }
        );
        assert!(store.account(id).unwrap().unwrap().admin);
        let (other, _) = store.connect("box:normal.storage", "other", "box", "a@example.com", false).unwrap();
        assert_ne!(other, id, "accounts are per app");
        assert_eq!(store.grant("nope").unwrap(), None);
        assert_eq!(store.account(9999).unwrap(), None);
    }

    #[test]
    fn only_hashes_are_stored() {
        let (dir, store) = store();
        let (_, token) = store.connect("box:normal.storage", "app", "box", "a", false).unwrap();
        drop(store);
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&token));
        assert!(text.contains(&hash(&token)));
    }
}
