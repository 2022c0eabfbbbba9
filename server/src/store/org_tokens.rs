//! The access tokens minted for the users of an organisation-wide account's tenant
//! ([`crate::accounts::as_user`]), sealed by the caller: one row per (account, user), saved by
//! compare-and-swap on its `version` under a lease so that one caller across all instances
//! mints a user's token at a time.

use super::{Error, Store, on_pool};

/// A user's token row as it is now.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct OrgUserToken {
    /// The token, sealed (`None` before the first is saved).
    pub sealed: Option<Vec<u8>>,
    /// Bumped on every save.
    pub version: i64,
}

impl Store {
    /// The token row of `user` under the account, if there is one.
    pub async fn org_user_token(&self, account_id: i64, user: &str) -> Result<Option<OrgUserToken>, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT sealed, version FROM org_user_tokens WHERE account_id = $1 AND user_email = $2")
                .bind(account_id)
                .bind(user)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Takes the lease to mint `user`'s token until `until` (ms): the row is created if there
    /// is none (`version` 0), or leased if it is still at `version` and no unexpired lease is
    /// held at `now`. Returns whether it was taken.
    pub async fn claim_org_mint(
        &self,
        account_id: i64,
        user: &str,
        version: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO org_user_tokens (account_id, user_email, version, refreshing_until) VALUES ($1, $2, 0, $5)
                 ON CONFLICT (account_id, user_email) DO UPDATE SET refreshing_until = $5
                 WHERE org_user_tokens.version = $3
                   AND (org_user_tokens.refreshing_until IS NULL OR org_user_tokens.refreshing_until <= $4)",
            )
            .bind(account_id)
            .bind(user)
            .bind(version)
            .bind(now)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Saves `user`'s minted token over `version` and releases the lease; returns whether the
    /// row was still at `version`.
    pub async fn save_org_token(
        &self,
        account_id: i64,
        user: &str,
        version: i64,
        sealed: &[u8],
    ) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE org_user_tokens SET sealed = $4, version = version + 1, refreshing_until = NULL
                 WHERE account_id = $1 AND user_email = $2 AND version = $3",
            )
            .bind(account_id)
            .bind(user)
            .bind(version)
            .bind(sealed)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Gives up the lease on `user`'s token (the mint failed), keeping what is saved.
    pub async fn release_org_mint(&self, account_id: i64, user: &str) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE org_user_tokens SET refreshing_until = NULL WHERE account_id = $1 AND user_email = $2")
                .bind(account_id)
                .bind(user)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing;

    #[tokio::test]
    async fn one_caller_holds_a_users_lease_and_saves_over_its_version_only() {
        let (_dir, store) = testing::store().await;
        let (account, _) =
            store.connect("acme:admin.storage", "app", "acme", "a", true, Default::default()).await.unwrap();
        assert_eq!(store.org_user_token(account, "ann@acme.test").await.unwrap(), None);
        assert!(store.claim_org_mint(account, "ann@acme.test", 0, 100, 200).await.unwrap());
        assert!(!store.claim_org_mint(account, "ann@acme.test", 0, 150, 250).await.unwrap(), "leased");
        assert!(store.claim_org_mint(account, "bob@acme.test", 0, 150, 250).await.unwrap(), "per user");
        assert!(store.save_org_token(account, "ann@acme.test", 0, b"t1").await.unwrap());
        assert!(!store.save_org_token(account, "ann@acme.test", 0, b"t2").await.unwrap(), "stale version");
        let row = store.org_user_token(account, "ann@acme.test").await.unwrap().unwrap();
        assert_eq!((row.sealed.as_deref(), row.version), (Some(&b"t1"[..]), 1));
        assert!(!store.claim_org_mint(account, "ann@acme.test", 0, 300, 400).await.unwrap(), "moved on");
        assert!(store.claim_org_mint(account, "ann@acme.test", 1, 300, 400).await.unwrap());
        store.release_org_mint(account, "ann@acme.test").await.unwrap();
        assert!(store.claim_org_mint(account, "ann@acme.test", 1, 301, 400).await.unwrap(), "released");
        assert!(store.delete_account(account).await.unwrap(), "its tokens go with it");
    }
}
