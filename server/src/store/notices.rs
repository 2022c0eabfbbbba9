//! The upstreams' revocation notices acted on ([`crate::accounts::revocations`]): one row per
//! provider and notice id, so that a notice sent again (the upstream's retry, or a replay)
//! deletes nothing a second time.

use super::{Error, Store, on_pool};

impl Store {
    /// Notes that the notice `notice_id` of `service` is being acted on, at `now` (ms). Returns
    /// whether it is new: false when it was noted before, and nothing is to be done.
    pub async fn note_notice(&self, service: &str, notice_id: &str, now: i64) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO revocation_notices (service, notice_id, received) VALUES ($1, $2, $3)
                 ON CONFLICT (service, notice_id) DO NOTHING",
            )
            .bind(service)
            .bind(notice_id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Forgets the notice `notice_id` of `service`: acting on it failed, and the upstream's
    /// retry is to be acted on.
    pub async fn forget_notice(&self, service: &str, notice_id: &str) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM revocation_notices WHERE service = $1 AND notice_id = $2")
                .bind(service)
                .bind(notice_id)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }

    /// Deletes the notices received before `before` (ms); returns how many.
    pub async fn sweep_notices(&self, before: i64) -> Result<u64, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM revocation_notices WHERE received < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
