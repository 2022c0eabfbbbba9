//! The code flow's authorization codes ([`crate::code_flow`]): kept under the hash of the code,
//! with what the code is bound to and the token it gives, sealed (the sealing is the caller's:
//! these queries only ever see ciphertext).

use super::{Error, Store, in_transaction, on_pool};

/// What a code is bound to and gives, as it is minted and as its first use takes it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AuthorizationCode {
    /// The app it was issued to.
    pub client_id: String,
    /// The redirect URI it was sent to: the exchange must name the same.
    pub redirect_uri: String,
    /// The account connected.
    pub account_id: i64,
    /// The PKCE `code_challenge` (S256) of the request, if it had one.
    pub code_challenge: Option<String>,
    /// The hash of the token it gives.
    pub token_hash: String,
    /// That token, sealed.
    pub sealed_token: Vec<u8>,
}

/// What presenting a code found.
#[derive(Debug, PartialEq)]
pub enum Presented {
    /// Its first use, before it expired: it is now used.
    First(AuthorizationCode),
    /// A second use: the token it gave is revoked.
    Again,
    /// No such code, or an expired one.
    Unknown,
}

impl Store {
    /// Keeps `code` under `code_hash`, unused, until `expires` (ms).
    pub async fn put_authorization_code(
        &self,
        code_hash: &str,
        code: &AuthorizationCode,
        expires: i64,
    ) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, account_id, code_challenge,
                   token_hash, sealed_token, used, expires)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8)",
            )
            .bind(code_hash)
            .bind(&code.client_id)
            .bind(&code.redirect_uri)
            .bind(code.account_id)
            .bind(&code.code_challenge)
            .bind(&code.token_hash)
            .bind(&code.sealed_token)
            .bind(expires)
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }

    /// Presents the code under `code_hash` at `now` (ms), in one transaction: its first use
    /// marks it used and returns it; a later one revokes the token it gave (RFC 6749 §4.1.2),
    /// on whichever instance.
    pub async fn present_authorization_code(&self, code_hash: &str, now: i64) -> Result<Presented, Error> {
        Ok(in_transaction!(self, tx => {
            let first: Option<AuthorizationCode> = sqlx::query_as(
                "UPDATE authorization_codes SET used = TRUE
                 WHERE code_hash = $1 AND NOT used AND expires > $2
                 RETURNING client_id, redirect_uri, account_id, code_challenge, token_hash, sealed_token",
            )
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match first {
                Some(code) => Presented::First(code),
                None => {
                    sqlx::query(
                        "DELETE FROM tokens WHERE hash IN
                           (SELECT token_hash FROM authorization_codes WHERE code_hash = $1 AND used)",
                    )
                    .bind(code_hash)
                    .execute(&mut *tx)
                    .await?;
                    let used: Option<(String,)> =
                        sqlx::query_as("SELECT token_hash FROM authorization_codes WHERE code_hash = $1 AND used")
                            .bind(code_hash)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if used.is_some() { Presented::Again } else { Presented::Unknown }
                }
            }
        }))
    }

    /// Revokes (deletes) the token whose hash is `token_hash`.
    pub async fn revoke_token(&self, token_hash: &str) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM tokens WHERE hash = $1").bind(token_hash).execute(pool).await.map(drop)?
        });
        Ok(())
    }

    /// Deletes the codes that expired at `before` (ms), revoking the tokens of those never used
    /// (nobody ever got them); returns how many codes.
    pub async fn sweep_authorization_codes(&self, before: i64) -> Result<u64, Error> {
        Ok(in_transaction!(self, tx => {
            sqlx::query(
                "DELETE FROM tokens WHERE hash IN
                   (SELECT token_hash FROM authorization_codes WHERE expires <= $1 AND NOT used)",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM authorization_codes WHERE expires <= $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{hash, testing};

    /// A code for a fresh token of account "a" of app "app", expiring at `expires`.
    async fn minted(store: &Store, code_hash: &str, expires: i64) -> (String, AuthorizationCode) {
        let (account_id, token) =
            store.connect("box", "app", "box", "a", false, Default::default()).await.unwrap();
        let code = AuthorizationCode {
            client_id: "app".into(),
            redirect_uri: "https://app.test/cb".into(),
            account_id,
            code_challenge: Some("c".repeat(43)),
            token_hash: hash(&token),
            sealed_token: b"sealed".to_vec(),
        };
        store.put_authorization_code(code_hash, &code, expires).await.unwrap();
        (token, code)
    }

    #[tokio::test]
    async fn a_code_is_taken_once_and_its_second_use_revokes_its_token() {
        let (_dir, store) = testing::store().await;
        let (token, code) = minted(&store, "h1", 2_000).await;
        assert_eq!(store.present_authorization_code("h1", 1_000).await.unwrap(), Presented::First(code));
        assert!(store.grant(&token).await.unwrap().is_some(), "the first use keeps the token");
        assert_eq!(store.present_authorization_code("h1", 1_000).await.unwrap(), Presented::Again);
        assert_eq!(store.grant(&token).await.unwrap(), None, "the second use revokes it");
        assert_eq!(store.present_authorization_code("h2", 1_000).await.unwrap(), Presented::Unknown);
    }

    #[tokio::test]
    async fn an_expired_code_is_unknown_and_the_sweep_revokes_unused_codes_tokens() {
        let (_dir, store) = testing::store().await;
        let (unused, _) = minted(&store, "h1", 2_000).await;
        assert_eq!(store.present_authorization_code("h1", 2_000).await.unwrap(), Presented::Unknown);
        let (used, _) = minted(&store, "h2", 2_000).await;
        assert!(matches!(store.present_authorization_code("h2", 1_000).await.unwrap(), Presented::First(_)));
        assert_eq!(store.sweep_authorization_codes(1_999).await.unwrap(), 0);
        assert_eq!(store.sweep_authorization_codes(2_000).await.unwrap(), 2);
        assert_eq!(store.grant(&unused).await.unwrap(), None, "nobody got it");
        assert!(store.grant(&used).await.unwrap().is_some(), "handed over: kept");
    }
}
