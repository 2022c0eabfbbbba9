//! A connected account as the store reads it ([`Account`]): its columns, its row and the
//! account built from it. A leaf of the store, shared by the accounts' queries and the events'
//! outbox, which records the account as it is in the transaction of each change.

use crate::clock::rfc3339;

/// The columns an [`Account`] is read from (its times in ms since the epoch), its refresh
/// health from its upstream tokens, if it has any.
pub(super) const ACCOUNT_COLUMNS: &str =
    "SELECT id, client_id, service, COALESCE(login, name) AS name, admin, created,
        COALESCE(modified, created) AS modified, inactive_reason, user_id, custom_properties,
        (SELECT c.refreshed_at FROM upstream_credentials c WHERE c.account_id = accounts.id) AS refreshed_at,
        (SELECT c.refresh_error FROM upstream_credentials c WHERE c.account_id = accounts.id) AS refresh_error,
        COALESCE((SELECT c.refresh_failures FROM upstream_credentials c WHERE c.account_id = accounts.id), 0)
          AS refresh_failures
     FROM accounts";

/// A connected account.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// The app it is connected to.
    pub client_id: String,
    /// The service id.
    pub service: String,
    /// The account's name: as the user gave it (demo), or the upstream login.
    pub name: String,
    /// Whether it was connected with admin access.
    pub admin: bool,
    /// When it was first connected (RFC 3339, UTC).
    pub created: String,
    /// When it was last connected again (RFC 3339, UTC): `created` until then.
    pub modified: String,
    /// Why the account no longer works (its upstream grant was refused); `None`: active.
    pub inactive_reason: Option<String>,
    /// The app's end user whose sign-in token admitted the flow that last connected it.
    pub user_id: Option<String>,
    /// The app's own data on it: a JSON object's text ([`crate::accounts::custom_properties`]);
    /// `None` until given.
    pub custom_properties: Option<String>,
    /// When the upstream last issued its tokens (RFC 3339, UTC): connected or refreshed; `None`
    /// for an account without upstream OAuth tokens.
    #[serde(default)]
    pub last_refresh_at: Option<String>,
    /// The OAuth error code of the last refresh the provider refused, while refreshes fail.
    #[serde(default)]
    pub last_refresh_error: Option<String>,
    /// How many refreshes failed in a row since the last success (0: healthy).
    #[serde(default)]
    pub consecutive_failures: i64,
}

/// An account as the database keeps it: its times in ms since the epoch.
#[derive(sqlx::FromRow)]
pub(super) struct AccountRow {
    id: i64,
    client_id: String,
    service: String,
    name: String,
    admin: bool,
    created: i64,
    modified: i64,
    inactive_reason: Option<String>,
    user_id: Option<String>,
    custom_properties: Option<String>,
    refreshed_at: Option<i64>,
    refresh_error: Option<String>,
    refresh_failures: i64,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Account {
        Account {
            id: row.id,
            client_id: row.client_id,
            service: row.service,
            name: row.name,
            admin: row.admin,
            created: rfc3339(row.created),
            modified: rfc3339(row.modified),
            inactive_reason: row.inactive_reason,
            user_id: row.user_id,
            custom_properties: row.custom_properties,
            // 0: tokens stored before refreshes were timed (migration 0011).
            last_refresh_at: row.refreshed_at.filter(|at| *at > 0).map(rfc3339),
            last_refresh_error: row.refresh_error,
            consecutive_failures: row.refresh_failures,
        }
    }
}
