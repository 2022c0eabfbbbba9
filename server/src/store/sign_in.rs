//! Single-use sign-in tokens ([`crate::sign_in`]): kept as SHA-256 hashes with their app, end
//! user and deadline; bound to the first pop-up flow that presents them, and to its browser, by one conditional
//! `UPDATE`, so that two pop-ups presenting one token at once cannot both be admitted; consumed
//! by the flow's result with one conditional `DELETE`, so that two results cannot both have it.

use super::accounts::{hash, new_token};
use super::{Error, Store, on_pool};

impl Store {
    /// Mints a sign-in token of the app `client_id` for its end user `user_id`, good until
    /// `expires` (ms since the epoch). Returns the token; only its hash is kept.
    pub async fn mint_sign_in_token(
        &self,
        client_id: &str,
        user_id: &str,
        expires: i64,
    ) -> Result<String, Error> {
        let token = new_token()?;
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO sign_in_tokens (token_hash, client_id, user_id, expires) VALUES ($1, $2, $3, $4)")
                .bind(hash(&token))
                .bind(client_id)
                .bind(user_id)
                .bind(expires)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(token)
    }

    /// Admits the pop-up flow `request_id` of the app `client_id`, in the browser whose
    /// binding cookie hashes to `browser`, with `token` at `now` (ms): an unused token not
    /// expired is bound to the flow and that browser, its deadline moved to `flow_deadline`; a
    /// token already bound to this flow and not past that deadline admits it again (its next
    /// pages). Returns the browser it is bound to (the caller checks that it is this one), or
    /// `None` when the token is unknown, expired, another app's or
    /// bound to another flow. One statement: of two flows presenting one unused token at once,
    /// exactly one is bound.
    pub async fn admit_sign_in_token(
        &self,
        token: &str,
        client_id: &str,
        request_id: &str,
        browser: &str,
        now: i64,
        flow_deadline: i64,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE sign_in_tokens
                 SET expires = CASE WHEN used_by IS NULL THEN $5 ELSE expires END, used_by = $3,
                     browser = COALESCE(browser, $6)
                 WHERE token_hash = $1 AND client_id = $2 AND expires > $4 AND (used_by IS NULL OR used_by = $3)
                 RETURNING browser",
            )
            .bind(hash(token))
            .bind(client_id)
            .bind(request_id)
            .bind(now)
            .bind(flow_deadline)
            .bind(browser)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(browser,)| browser))
    }

    /// Consumes `token` for the result of the flow `request_id` in the browser `browser`, if it
    /// is bound to both and not past its deadline at `now` (ms): returns its end user, and the
    /// token admits nothing any more. One conditional `DELETE`: of two results racing for one
    /// token, exactly one gets it.
    pub async fn consume_sign_in_token(
        &self,
        token: &str,
        request_id: &str,
        browser: &str,
        now: i64,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM sign_in_tokens WHERE token_hash = $1 AND used_by = $2 AND browser = $3 AND expires > $4
                 RETURNING user_id",
            )
            .bind(hash(token))
            .bind(request_id)
            .bind(browser)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(user_id,)| user_id))
    }

    /// Ends `token` once the flow `request_id` it was bound to has a result that connects
    /// nothing (a denial, an error): it admits nothing any more. A token bound to another flow
    /// is left alone.
    pub async fn end_sign_in_token(&self, token: &str, request_id: &str) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sign_in_tokens WHERE token_hash = $1 AND used_by = $2")
                .bind(hash(token))
                .bind(request_id)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }

    /// Deletes the sign-in tokens expired at `now` (ms); returns how many.
    pub async fn sweep_sign_in_tokens(&self, now: i64) -> Result<u64, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM sign_in_tokens WHERE expires <= $1").bind(now).execute(pool).await?.rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing;

    #[tokio::test]
    async fn a_token_admits_one_flow_of_its_app_until_it_expires_or_ends() {
        let (_dir, store) = testing::store().await;
        let token = store.mint_sign_in_token("app", "user-7", 1_000).await.unwrap();
        let admit = |client: &'static str, flow: &'static str, now| {
            let (store, token) = (store.clone(), token.clone());
            async move { store.admit_sign_in_token(&token, client, flow, "b1", now, 5_000).await.unwrap() }
        };
        assert_eq!(admit("other", "f1", 10).await, None, "another app's token");
        assert_eq!(admit("app", "f1", 1_000).await, None, "expired");
        assert_eq!(admit("app", "f1", 999).await.as_deref(), Some("b1"));
        assert_eq!(admit("app", "f2", 999).await, None, "bound to another flow");
        assert_eq!(admit("app", "f1", 4_999).await.as_deref(), Some("b1"), "the flow's next page");
        assert_eq!(admit("app", "f1", 5_000).await, None, "past the flow's deadline");
        store.end_sign_in_token(&token, "f2").await.unwrap();
        assert_eq!(admit("app", "f1", 10).await.as_deref(), Some("b1"), "not ended by another flow");
        store.end_sign_in_token(&token, "f1").await.unwrap();
        assert_eq!(admit("app", "f1", 10).await, None, "ended with its flow's result");
        assert_eq!(store.admit_sign_in_token("nope", "app", "f1", "b1", 0, 1).await.unwrap(), None);
        store.mint_sign_in_token("app", "u", 100).await.unwrap();
        assert_eq!(store.sweep_sign_in_tokens(100).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_token_keeps_its_first_browser_and_is_consumed_once_by_it() {
        let (_dir, store) = testing::store().await;
        let token = store.mint_sign_in_token("app", "user-7", 1_000).await.unwrap();
        let admitted = store.admit_sign_in_token(&token, "app", "f1", "b1", 10, 5_000).await.unwrap();
        assert_eq!(admitted.as_deref(), Some("b1"));
        let elsewhere = store.admit_sign_in_token(&token, "app", "f1", "b2", 10, 5_000).await.unwrap();
        assert_eq!(elsewhere.as_deref(), Some("b1"), "still bound to b1");
        assert_eq!(
            store.consume_sign_in_token(&token, "f1", "b2", 10).await.unwrap(),
            None,
            "another browser"
        );
        assert_eq!(store.consume_sign_in_token(&token, "f2", "b1", 10).await.unwrap(), None, "another flow");
        assert_eq!(store.consume_sign_in_token(&token, "f1", "b1", 5_000).await.unwrap(), None, "too late");
        assert_eq!(
            store.consume_sign_in_token(&token, "f1", "b1", 10).await.unwrap().as_deref(),
            Some("user-7")
        );
        assert_eq!(store.consume_sign_in_token(&token, "f1", "b1", 10).await.unwrap(), None, "once");
        assert_eq!(store.admit_sign_in_token(&token, "app", "f1", "b1", 10, 5_000).await.unwrap(), None);
    }
}
