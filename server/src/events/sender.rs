//! The sender every instance runs: for each app with a webhook, a loop that leases its due events
//! ([`Store::claim_events`]: the earliest pending one of each account, so a later event waits for
//! an earlier one being retried), posts them signed, at most [`CONCURRENCY`] at a time, and
//! records each attempt with what follows it ([`retry::decide`]). One loop per app, so that a slow
//! receiver delays only its own app. An instance that dies mid-delivery leaves a lease that
//! expires after [`LEASE`]: another instance sends the event again (at least once; receivers
//! dedupe by `webhook-id`).

use super::retry::{self, Decision, Outcome};
use super::settings::{self, Webhook};
use super::signature;
use crate::AppState;
use crate::clock::now_millis;
use crate::providers::guard;
use crate::store::{AfterAttempt, Event, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How many of an app's events are posted at once.
pub const CONCURRENCY: i64 = 8;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long an instance holds an event it is sending: beyond [`TIMEOUT`], so that only a dead
/// instance's lease expires.
pub const LEASE: Duration = Duration::from_secs(60);

/// How often an app's loop looks for due events when it found none.
pub const POLL: Duration = Duration::from_secs(1);

/// Runs a loop per app with a webhook until `stop` holds `true`; each finishes the posts under
/// way first.
pub async fn run(app: Arc<AppState>, stop: watch::Receiver<bool>) {
    let client = match client(app.config.allow_private_upstreams) {
        Ok(client) => client,
        Err(error) => return tracing::error!("webhooks: cannot build the HTTP client: {error}"),
    };
    let loops: Vec<_> = app
        .config
        .apps
        .iter()
        .filter_map(|entry| Some((entry.client_id.clone(), entry.webhook.clone()?)))
        .map(|(client_id, webhook)| {
            let sender = Sender { app: app.clone(), client: client.clone(), client_id, webhook };
            tokio::spawn(sender.run(stop.clone()))
        })
        .collect();
    for task in loops {
        let _ = task.await;
    }
}

/// The HTTP client posting events: no redirects, [`TIMEOUT`], names resolved through the SSRF
/// guard.
fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("authenticator-server/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(guard::Resolver { allow_private }))
        .build()
}

/// One app's sender.
struct Sender {
    app: Arc<AppState>,
    client: reqwest::Client,
    client_id: String,
    webhook: Webhook,
}

impl Sender {
    /// Sends the app's due events until `stop` holds `true`.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let idle = match self.send_due().await {
                Ok(sent) => sent == 0,
                Err(error) => {
                    tracing::error!("webhooks: {}: storage error: {error}", self.client_id);
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Leases the app's due events, posts them at once and records each attempt as soon as it
    /// ends (so that an instance dying mid-batch leaves only the posts still under way to be
    /// sent again); returns how many it leased.
    async fn send_due(&self) -> Result<usize, crate::store::Error> {
        let store: &Store = &self.app.store;
        let now = now_millis();
        let lease = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let events = store.claim_events(&self.client_id, now, lease, CONCURRENCY).await?;
        let attempts = events.iter().map(|event| async move {
            let (status, error, after) = self.attempt(event).await;
            let kept = store.finish_attempt(event.id, lease, status, error.as_deref(), after).await?;
            if !kept {
                tracing::warn!("webhooks: event {} was taken over by another instance", event.id);
            }
            Ok::<(), crate::store::Error>(())
        });
        for recorded in futures_util::future::join_all(attempts).await {
            recorded?;
        }
        Ok(events.len())
    }

    /// Posts `event` (unless the webhook does not want its type): the receiver's status, the
    /// error and what follows.
    async fn attempt(&self, event: &Event) -> (Option<u16>, Option<String>, AfterAttempt) {
        if !self.webhook.wants(&event.kind) {
            return (None, None, AfterAttempt::Skipped);
        }
        let body = match super::event_json(&self.app.config.services, event) {
            Ok(body) => body.to_string(),
            Err(error) => return (None, Some(format!("unreadable event: {error}")), AfterAttempt::Failed),
        };
        let outcome = self.post(event.id, body).await;
        let status = match outcome {
            Outcome::Status(status, _) => Some(status),
            Outcome::TimedOut | Outcome::Unreachable => None,
        };
        let made = u32::try_from(event.attempts + 1).unwrap_or(u32::MAX);
        match retry::decide(&outcome, made, jitter()) {
            Decision::Delivered => (status, None, AfterAttempt::Delivered),
            Decision::Retry(wait) => {
                let error = describe(&outcome);
                let at = now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                (status, Some(error), AfterAttempt::RetryAt(at))
            }
            Decision::GiveUp(reason) => (status, Some(reason), AfterAttempt::Failed),
        }
    }

    /// Posts one event's `body`, signed.
    async fn post(&self, id: i64, body: String) -> Outcome {
        let Ok(key) = settings::key(self.webhook.secret.expose()) else { return Outcome::Unreachable };
        let id = id.to_string();
        let timestamp = now_millis() / 1000;
        let signature = signature::sign(&key, &id, timestamp, body.as_bytes());
        let sent = self
            .client
            .post(self.webhook.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => Outcome::Status(response.status().as_u16(), retry_after(response.headers())),
            Err(error) if error.is_timeout() => Outcome::TimedOut,
            Err(_) => Outcome::Unreachable,
        }
    }
}

/// A `Retry-After` in seconds (an HTTP date is not honoured: the backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Why an attempt is tried again, for the deliveries' list.
fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(status, _) => format!("the receiver answered {status}"),
        Outcome::TimedOut => "the receiver did not answer in time".to_owned(),
        Outcome::Unreachable => "the receiver could not be reached".to_owned(),
    }
}

/// A random number from 0 to 1 (0 when the random source fails: no jitter).
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.0,
    }
}
