//! The two dialects' migrations make the same schema; a database of the previous release, or
//! one that ran the first text of 0003, is brought forward with every row read back the same.

use super::*;
use crate::store::testing::{self, TEST_DATABASE};
use crate::store::{Database, Grant, Stage, StoredTokens, UpstreamAccount, hash};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType};
use std::collections::BTreeMap;

/// A column in a vocabulary both dialects map to: its type, whether it is NOT NULL, whether the
/// database has a default for it.
type Columns = BTreeMap<(String, String), (&'static str, bool, bool)>;

/// A column as a dialect describes it: table, name, declared type, NOT NULL, has a default.
type ColumnRow = (String, String, String, bool, bool);

/// The last migration of the release before times were stored one way (96bb492).
const PREVIOUS_RELEASE: i64 = 12;

/// The columns that hold times (ms since the epoch).
const TIMES: [&str; 6] =
    ["created", "modified", "expires", "returned_at", "refreshed_at", "refreshing_until"];

fn common_type(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "integer",
        "text" => "text",
        "blob" | "bytea" => "bytes",
        "boolean" => "boolean",
        other => panic!("a column type the comparison does not know: {other}"),
    }
}

/// The tables' columns and the explicitly created indexes of a migrated database.
async fn describe(store: &Store) -> (Columns, Vec<String>) {
    let (rows, mut indexes): (Vec<ColumnRow>, Vec<(String,)>) = match &store.pool {
        Pool::Sqlite(pool) => (
            sqlx::query_as(
                "SELECT m.name, p.name, p.type, p.\"notnull\" OR p.pk > 0, p.dflt_value IS NOT NULL
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT IN ('_sqlx_migrations', 'sqlite_sequence')",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                .fetch_all(pool)
                .await
                .unwrap(),
        ),
        Pool::Postgres(pool) => (
            sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'NO',
                        column_default IS NOT NULL
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            sqlx::query_as(
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()
                 AND indexname NOT IN (SELECT conname::text FROM pg_constraint)",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        ),
    };
    let columns = rows
        .into_iter()
        .map(|(table, column, declared, not_null, default)| {
            ((table, column), (common_type(&declared), not_null, default))
        })
        .collect();
    indexes.sort();
    (columns, indexes.into_iter().map(|(name,)| name).collect())
}

#[tokio::test]
async fn both_dialects_migrate_to_the_same_schema_with_times_in_ms_and_no_time_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&Database::Sqlite(dir.path().join("db.sqlite"))).await.unwrap();
    let (columns, indexes) = describe(&sqlite).await;
    assert!(columns.contains_key(&("accounts".into(), "created".into())), "{columns:?}");
    for ((table, column), (kind, _, default)) in &columns {
        if TIMES.contains(&column.as_str()) {
            assert_eq!((*kind, *default), ("integer", false), "{table}.{column}: ms, written by the server");
        }
    }
    match std::env::var(TEST_DATABASE) {
        Ok(server) if !server.is_empty() => {
            let postgres = Store::open(&testing::fresh_database(dir.path())).await.unwrap();
            assert_eq!(describe(&postgres).await, (columns, indexes), "PostgreSQL's schema is SQLite's");
        }
        _ => eprintln!("{TEST_DATABASE} is not set: PostgreSQL's schema was not compared"),
    }
}

/// Runs `sql` with `binds` (text, or NULL for `None`) on the store's database, returning the
/// first column of the first row it returns, an id.
async fn insert(store: &Store, sql: &'static str, binds: &[Option<&str>]) -> Option<i64> {
    on_pool!(store, pool => {
        let mut query = sqlx::query_as::<_, (i64,)>(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.fetch_optional(pool).await.unwrap().map(|(id,)| id)
    })
}

/// Far in the future (2100-01-01), in ms.
const LATER: i64 = 4_102_444_800_000;

#[tokio::test]
async fn a_database_of_the_previous_release_reads_back_the_same_with_its_times() {
    let dir = tempfile::tempdir().unwrap();
    let database = testing::fresh_database(dir.path());
    let old = Store::connect_database(&database).await.unwrap();
    on_pool!(old, pool => old.migrator().run_to(PREVIOUS_RELEASE, pool).await.unwrap());
    let demo = insert(
        &old,
        "INSERT INTO accounts (client_id, service, name, admin, created) VALUES ($1, $2, $3, TRUE, $4) RETURNING id",
        &[Some("app"), Some("box"), Some("a@example.com"), Some("2025-03-04T05:06:07Z")],
    )
    .await
    .unwrap();
    let upstream = insert(
        &old,
        "INSERT INTO accounts (client_id, service, name, admin, created, subject, login, modified, user_id)
         VALUES ($1, $2, $3, FALSE, $4, $5, $6, $7, $8) RETURNING id",
        &[
            Some("app"),
            Some("acme"),
            Some("upstream:u1"),
            Some("2025-01-02T03:04:05Z"),
            Some("u1"),
            Some("ann@x.test"),
            Some("2025-06-07T08:09:10Z"),
            Some("ann"),
        ],
    )
    .await
    .unwrap();
    let token_hash = hash("the token");
    on_pool!(old, pool => {
        sqlx::query("INSERT INTO tokens (hash, account_id, client_id, scope, created) VALUES ($1, $2, 'app', 'box:normal.storage', '2025-03-04T05:06:07Z')")
            .bind(&token_hash).bind(demo).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO upstream_credentials (account_id, sealed, modified, version, refreshed_at, refreshable)
                     VALUES ($1, $2, '2025-06-07T08:09:10Z', 3, 1749283750000, TRUE)")
            .bind(upstream).bind(b"sealed".as_slice()).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO upstream_states (state_hash, sealed, expires) VALUES ('state', $1, $2)")
            .bind(b"pending".as_slice()).bind(LATER).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO popup_flows (request_id, client_id, client, stage, expires) VALUES ('r1', 'app', '192.0.2.1', 0, $1)")
            .bind(LATER).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO sign_in_tokens (token_hash, client_id, user_id, expires) VALUES ($1, 'app', 'ann', $2)")
            .bind(hash("sign-in")).bind(LATER).execute(pool).await.unwrap();
    });
    old.close().await;

    let store = Store::open(&database).await.unwrap();
    let account = store.account(demo).await.unwrap().unwrap();
    assert_eq!((account.name.as_str(), account.admin), ("a@example.com", true));
    assert_eq!(
        (account.created.as_str(), account.modified.as_str()),
        ("2025-03-04T05:06:07Z", "2025-03-04T05:06:07Z")
    );
    let account = store.account(upstream).await.unwrap().unwrap();
    assert_eq!((account.name.as_str(), account.user_id.as_deref()), ("ann@x.test", Some("ann")));
    assert_eq!(
        (account.created.as_str(), account.modified.as_str()),
        ("2025-01-02T03:04:05Z", "2025-06-07T08:09:10Z")
    );
    let created: (i64,) = on_pool!(store, pool => {
        sqlx::query_as("SELECT created FROM accounts WHERE id = $1").bind(demo).fetch_one(pool).await.unwrap()
    });
    assert_eq!(created.0, 1_741_064_767_000, "kept in ms since the epoch");
    let grant = Grant { account_id: demo, client_id: "app".into(), scope: "box:normal.storage".into() };
    assert_eq!(store.grant("the token").await.unwrap(), Some(grant));
    let tokens = StoredTokens {
        sealed: b"sealed".to_vec(),
        version: 3,
        refreshing_until: None,
        refreshed_at: 1_749_283_750_000,
        inactive_reason: None,
        health: Default::default(),
    };
    assert_eq!(store.stored_tokens(upstream).await.unwrap(), Some(tokens));
    assert_eq!(store.take_upstream_state("state", 0).await.unwrap().as_deref(), Some(b"pending".as_slice()));
    assert_eq!(store.flow_stage("r1", "app", 0).await.unwrap(), Some(Stage::UnderWay));
    let admitted = store.admit_sign_in_token("sign-in", "app", "r2", "browser", 0, LATER).await.unwrap();
    assert_eq!(admitted.as_deref(), Some("browser"));

    let (again, _) = store
        .connect_upstream(
            "acme:normal.storage",
            UpstreamAccount {
                client_id: "app",
                service: "acme",
                subject: "u1",
                login: "ann@x.test",
                admin: false,
                sealed: b"new",
                app: Default::default(),
                refreshable: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(again, upstream, "the migrated account is connected again");
    let (new, _) = store
        .connect("box:normal.storage", "app", "box", "b@example.com", false, Default::default())
        .await
        .unwrap();
    assert!(new > upstream, "new accounts take new ids");
}

#[tokio::test]
async fn a_database_that_ran_the_first_text_of_0003_starts_and_gains_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let database = testing::fresh_database(dir.path());
    let old = Store::connect_database(&database).await.unwrap();
    let original = if old.is_postgres() { ORIGINAL_POSTGRES_0003 } else { ORIGINAL_SQLITE_0003 };
    let mut first = old.migrator().iter().filter(|m| m.version < EDITED).cloned().collect::<Vec<_>>();
    first.push(Migration::new(
        EDITED,
        "upstream accounts".into(),
        MigrationType::Simple,
        original.into_sql_str(),
        false,
    ));
    on_pool!(old, pool => Migrator::with_migrations(first).run(pool).await.unwrap());
    let id = insert(
        &old,
        "INSERT INTO accounts (client_id, service, name, admin, subject) VALUES ('app', 'acme', 'upstream:u1', FALSE, 'u1') RETURNING id",
        &[],
    )
    .await
    .unwrap();
    old.close().await;

    let store = Store::open(&database).await.expect("starts");
    let account = UpstreamAccount {
        client_id: "app",
        service: "acme",
        subject: "u1",
        login: "ann@x.test",
        admin: false,
        sealed: b"s",
        app: Default::default(),
        refreshable: true,
    };
    assert_eq!(store.connect_upstream("acme:normal.storage", account).await.unwrap().0, id);
    assert_eq!(store.account(id).await.unwrap().unwrap().name, "ann@x.test", "the login is kept");
    store.close().await;
    Store::open(&database).await.expect("starts again, repaired once");
}
