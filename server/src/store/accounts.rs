//! Accounts and the tokens issued for them.

use super::account::{ACCOUNT_COLUMNS, Account, AccountRow};
use super::events::{EventKind, record_event};
use super::{Error, Store, in_transaction, on_pool};
use crate::clock::now_millis;
use sha2::{Digest, Sha256};

/// Issues a token of ours: its hash, account, app, scope and when (ms since the epoch).
pub(super) const INSERT_TOKEN: &str =
    "INSERT INTO tokens (hash, account_id, client_id, scope, created) VALUES ($1, $2, $3, $4, $5)";

/// What the pop-up request connecting an account attaches to it for the app; `None` keeps what
/// the account has.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AppData<'a> {
    /// The app's end user the flow was admitted for ([`crate::sign_in`]).
    pub user_id: Option<&'a str>,
    /// The app's own data to keep on it, checked ([`crate::accounts::custom_properties`]).
    pub custom_properties: Option<&'a str>,
}

/// What a token grants.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Grant {
    /// The account it is bound to.
    pub account_id: i64,
    /// The app it was issued to.
    pub client_id: String,
    /// Its scope.
    pub scope: String,
}

impl Store {
    /// Connects an account (the same app, service and name give the same account) with what the
    /// request attaches to it for the app (`app`), and issues a fresh token for it, in one
    /// transaction. Returns the account id and the token. An account recorded for another end
    /// user of the app is refused ([`Error::OtherUser`]), nothing changed.
    pub async fn connect(
        &self,
        grant_scope: &str,
        client_id: &str,
        service: &str,
        name: &str,
        admin: bool,
        app: AppData<'_>,
    ) -> Result<(i64, String), Error> {
        let token = new_token()?;
        let now = now_millis();
        let account_id = in_transaction!(self, tx => {
            let connected: Option<(i64, Option<i64>)> = sqlx::query_as(
                "INSERT INTO accounts (client_id, service, name, admin, user_id, created, custom_properties)
                 VALUES ($1, $2, $3, $4, $6, $5, $7)
                 ON CONFLICT (client_id, service, name) DO UPDATE SET admin = excluded.admin, modified = $5,
                   user_id = COALESCE(excluded.user_id, accounts.user_id),
                   custom_properties = COALESCE(excluded.custom_properties, accounts.custom_properties)
                 WHERE accounts.user_id IS NULL OR excluded.user_id IS NULL OR accounts.user_id = excluded.user_id
                 RETURNING id, modified",
            )
            .bind(client_id)
            .bind(service)
            .bind(name)
            .bind(admin)
            .bind(now)
            .bind(app.user_id)
            .bind(app.custom_properties)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((account_id, modified)) = connected else { return Err(Error::OtherUser) };
            let kind = if modified.is_some() { EventKind::Reconnected } else { EventKind::Connected };
            record_event!(tx, kind, account_id, None::<&str>);
            sqlx::query(INSERT_TOKEN)
                .bind(hash(&token))
                .bind(account_id)
                .bind(client_id)
                .bind(grant_scope)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            account_id
        });
        Ok((account_id, token))
    }

    /// What `token` grants, if it was issued here.
    pub async fn grant(&self, token: &str) -> Result<Option<Grant>, Error> {
        let hash = hash(token);
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT account_id, client_id, scope FROM tokens WHERE hash = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The account with this id.
    pub async fn account(&self, id: i64) -> Result<Option<Account>, Error> {
        let row: Option<AccountRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(Account::from))
    }
}

impl Store {
    /// A page of the accounts of the app `client_id`, oldest first (`limit` from `offset`), and
    /// how many it has in all.
    pub async fn app_accounts(
        &self,
        client_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(i64, Vec<Account>), Error> {
        let (total, page): (i64, Vec<AccountRow>) = on_pool!(self, pool => {
            let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE client_id = $1")
                .bind(client_id)
                .fetch_one(pool)
                .await?;
            let page = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{ACCOUNT_COLUMNS} WHERE client_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
            )))
            .bind(client_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            (total, page)
        });
        Ok((total, page.into_iter().map(Account::from).collect()))
    }

    /// Sets the app's own data on the account `id` (a JSON object's text, checked by
    /// [`crate::accounts::custom_properties`]). Returns whether the account exists.
    pub async fn set_custom_properties(&self, id: i64, json: &str) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query("UPDATE accounts SET custom_properties = $2 WHERE id = $1")
                .bind(id)
                .bind(json)
                .execute(pool)
                .await?
                .rows_affected()
                > 0
        }))
    }

    /// The upstream subject of an account connected through an upstream (`None` for the demo's).
    pub async fn account_subject(&self, id: i64) -> Result<Option<String>, Error> {
        let row: Option<(Option<String>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT subject FROM accounts WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        Ok(row.and_then(|(subject,)| subject))
    }

    /// The accounts, in every app, of the upstream user `subject` at any of `services` (a
    /// service's id and its aliases).
    pub async fn accounts_of_subject(&self, services: &[&str], subject: &str) -> Result<Vec<Account>, Error> {
        let mut found = Vec::new();
        for service in services {
            let rows: Vec<AccountRow> = on_pool!(self, pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{ACCOUNT_COLUMNS} WHERE service = $1 AND subject = $2 ORDER BY id"
                )))
                .bind(*service)
                .bind(subject)
                .fetch_all(pool)
                .await?
            });
            found.extend(rows.into_iter().map(Account::from));
        }
        Ok(found)
    }

    /// Deletes an account with everything kept for it — our tokens and its sealed upstream
    /// credentials — in one transaction, adding `account.deleted` to the outbox. Returns
    /// whether it existed.
    pub async fn delete_account(&self, id: i64) -> Result<bool, Error> {
        self.delete_account_because(id, None).await
    }

    /// [`Store::delete_account`], the event's reason `reason` (`revoked_upstream`). Two
    /// deletions of one account at once add one event: the first statement locks the account's
    /// row, and the second finds it gone.
    pub async fn delete_account_because(&self, id: i64, reason: Option<&str>) -> Result<bool, Error> {
        Ok(in_transaction!(self, tx => {
            let exists = sqlx::query("UPDATE accounts SET modified = modified WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if exists {
                record_event!(tx, EventKind::Deleted, id, reason);
                sqlx::query("DELETE FROM tokens WHERE account_id = $1").bind(id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM upstream_credentials WHERE account_id = $1").bind(id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM org_user_tokens WHERE account_id = $1").bind(id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(&mut *tx).await?;
            }
            exists
        }))
    }
}

/// 256 random bits, hex-encoded.
pub(crate) fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    Ok(hex::encode(bytes))
}

/// The SHA-256 hash of a token, hex-encoded: all that is stored of it.
pub(crate) fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[tokio::test]
    async fn tokens_are_bound_and_accounts_reused() {
        let (_dir, store) = testing::store().await;
        let (id, token) = store
            .connect("box:normal.storage", "app", "box", "a@example.com", false, AppData::default())
            .await
            .unwrap();
        let (again, token2) = store
            .connect("box:admin.storage", "app", "box", "a@example.com", true, AppData::default())
            .await
            .unwrap();
        assert_eq!(id, again);
        assert_ne!(token, token2);
        assert_eq!(token.len(), 64);
        let grant = store.grant(&token).await.unwrap().unwrap();
        assert_eq!(
            grant,
            Grant { account_id: id, client_id: "app".into(), scope: "box:normal.storage".into() }
        );
        let account = store.account(id).await.unwrap().unwrap();
        assert!(account.admin);
        assert_eq!(account.created.len(), "2025-01-01T00:00:00Z".len(), "{}", account.created);
        assert!(account.created.ends_with('Z') && account.created.as_bytes()[10] == b'T');
        let (other, _) = store
            .connect("box:normal.storage", "other", "box", "a@example.com", false, AppData::default())
            .await
            .unwrap();
        assert_ne!(other, id, "accounts are per app");
        assert_eq!(store.grant("nope").await.unwrap(), None);
        assert_eq!(store.account(9999).await.unwrap(), None);
        assert_eq!(account.custom_properties, None);
        assert!(store.set_custom_properties(id, r#"{"crm_id":7}"#).await.unwrap());
        store
            .connect("box:normal.storage", "app", "box", "a@example.com", false, AppData::default())
            .await
            .unwrap();
        let again = store.account(id).await.unwrap().unwrap();
        assert_eq!(again.custom_properties.as_deref(), Some(r#"{"crm_id":7}"#), "a reconnection keeps them");
        assert!(!store.set_custom_properties(9999, "{}").await.unwrap());
    }

    #[tokio::test]
    async fn custom_properties_given_at_connect_are_in_the_connected_event() {
        let (_dir, store) = testing::store().await;
        let app = AppData { user_id: None, custom_properties: Some(r#"{"crm_id":7}"#) };
        let (id, _) = store.connect("box:normal.storage", "app", "box", "a", false, app).await.unwrap();
        let app = AppData { custom_properties: Some(r#"{"crm_id":8}"#), ..app };
        store.connect("box:normal.storage", "app", "box", "a", false, app).await.unwrap();
        let events = store.app_events("app", 0, 10).await.unwrap();
        let properties: Vec<_> = events
            .iter()
            .map(|event| {
                let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
                (event.kind.clone(), payload["account"]["custom_properties"].as_str().map(str::to_owned))
            })
            .collect();
        assert_eq!(
            properties,
            [
                ("account.connected".to_owned(), Some(r#"{"crm_id":7}"#.to_owned())),
                ("account.reconnected".to_owned(), Some(r#"{"crm_id":8}"#.to_owned())),
            ]
        );
        let kept = store.connect("box:normal.storage", "app", "box", "a", false, AppData::default()).await;
        assert_eq!(kept.unwrap().0, id);
        let account = store.account(id).await.unwrap().unwrap();
        assert_eq!(account.custom_properties.as_deref(), Some(r#"{"crm_id":8}"#), "kept without new ones");
    }

    #[tokio::test]
    async fn an_apps_accounts_come_in_pages_and_a_deleted_one_leaves_nothing() {
        let (_dir, store) = testing::store().await;
        let mut ids = Vec::new();
        for name in ["a", "b", "c"] {
            ids.push(
                store
                    .connect("box:normal.storage", "app", "box", name, false, AppData::default())
                    .await
                    .unwrap()
                    .0,
            );
        }
        let (other, other_token) = store
            .connect("box:normal.storage", "other", "box", "a", false, AppData::default())
            .await
            .unwrap();
        let (total, page) = store.app_accounts("app", 2, 0).await.unwrap();
        assert_eq!((total, page.iter().map(|a| a.id).collect::<Vec<_>>()), (3, ids[..2].to_vec()));
        let (_, rest) = store.app_accounts("app", 2, 2).await.unwrap();
        assert_eq!(rest.iter().map(|a| a.id).collect::<Vec<_>>(), ids[2..].to_vec());
        assert_eq!(store.app_accounts("nobody", 10, 0).await.unwrap(), (0, Vec::new()));
        assert!(store.delete_account(other).await.unwrap());
        assert!(!store.delete_account(other).await.unwrap(), "deleted once");
        assert_eq!(store.grant(&other_token).await.unwrap(), None, "its tokens are gone");
        assert_eq!(store.app_accounts("app", 10, 0).await.unwrap().0, 3, "other apps' accounts stay");
    }

    #[tokio::test]
    async fn only_hashes_are_stored() {
        let (dir, store) = testing::store().await;
        let (_, token) =
            store.connect("box:normal.storage", "app", "box", "a", false, AppData::default()).await.unwrap();
        let text = testing::everything(&store, dir.path()).await;
        assert!(!text.contains(&token));
        assert!(text.contains(&hash(&token)));
    }
}
