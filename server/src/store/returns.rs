//! The one-time codes of results brought back to an app's return page ([`crate::popup::returns`]):
//! kept under the hash of the code, with the flow they belong to and the result sealed (the
//! sealing is the caller's: these queries only ever see ciphertext).

use super::{Error, Store, on_pool};

/// A code's flow: what a redemption must name to take it.
#[derive(Clone, Copy, Debug)]
pub struct CodeFlow<'a> {
    /// The app.
    pub client_id: &'a str,
    /// The flow's `request_id`.
    pub request_id: &'a str,
    /// The origin of the page that launched the flow.
    pub origin: &'a str,
}

impl Store {
    /// Keeps the sealed result of `flow` under `code_hash` until `expires` (ms).
    pub async fn put_return_code(
        &self,
        code_hash: &str,
        flow: CodeFlow<'_>,
        sealed: &[u8],
        expires: i64,
    ) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO return_codes (code_hash, client_id, request_id, origin, sealed, expires)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(code_hash)
            .bind(flow.client_id)
            .bind(flow.request_id)
            .bind(flow.origin)
            .bind(sealed)
            .bind(expires)
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }

    /// Takes (deletes and returns) the sealed result under `code_hash`, if it belongs to `flow`
    /// and has not expired at `now`: one statement, so a code is redeemed once at most, on
    /// whichever instance. A request naming another flow takes nothing and leaves the code.
    pub async fn take_return_code(
        &self,
        code_hash: &str,
        flow: CodeFlow<'_>,
        now: i64,
    ) -> Result<Option<Vec<u8>>, Error> {
        let row: Option<(Vec<u8>,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM return_codes
                 WHERE code_hash = $1 AND client_id = $2 AND request_id = $3 AND origin = $4 AND expires > $5
                 RETURNING sealed",
            )
            .bind(code_hash)
            .bind(flow.client_id)
            .bind(flow.request_id)
            .bind(flow.origin)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(sealed,)| sealed))
    }

    /// Deletes the codes expired at `now`; returns how many.
    pub async fn sweep_return_codes(&self, now: i64) -> Result<u64, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM return_codes WHERE expires <= $1").bind(now).execute(pool).await?.rows_affected()
        }))
    }

    /// Forgets the tracked flow `request_id` of app `client_id`: its result was handed over.
    pub async fn forget_flow(&self, request_id: &str, client_id: &str) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM popup_flows WHERE request_id = $1 AND client_id = $2")
                .bind(request_id)
                .bind(client_id)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }
}
