//! The background job that delivers the outbox: it writes the events the calendar brings,
//! fans waiting events out into deliveries, claims the deliveries that are due and attempts
//! them — webhooks as signed POSTs, e-mails through the mail server — a bounded number at once,
//! each request with a timeout, so that a receiver that never answers holds up nothing but its
//! own delivery. A failed attempt is tried again after a pause that doubles (with jitter) up to
//! a longest pause, until the delivery has been tried for a day; then it is marked failed.
//!
//! The requests run on a thread of their own at a lower priority (`Couriers`): on a core that
//! request handling keeps busy, deliveries take a small share and catch up when it frees; on an
//! idle core they take all of it. The dispatcher's database work keeps the priority of requests,
//! because on SQLite it holds the write lock that requests wait for.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::oneshot;
use url::Url;

use super::address::{self, PublicResolver};
use super::email::Mailer;
use super::outbox::{self, Attempt, EventRow, Outcome, Recipient, RoundOutcomes};
use super::signing;
use super::{ATTEMPTS_PER_SLOT, NotificationConfig};
use crate::clock::Clock;
use crate::crypto::MasterKeys;
use crate::db::{self, DbError, DbPool, OutboxEventId, WebhookId};
use crate::health::OutboxMetrics;

/// How often the gauges of `/metrics` are read from the outbox.
const GAUGES_EVERY: Duration = Duration::from_secs(5);
/// The longest error text kept in the delivery log.
const ERROR_CHARS: usize = 300;
/// The nice value of the thread that makes the requests. At nice 10 it gets about a tenth of a
/// core that requests keep busy, and all of an idle one. Not lower: a request's timeout runs on
/// the wall clock, and at nice 19 a busy instance kept its thread waiting for the processor past
/// a short timeout, so receivers were sent an event they had already answered.
const DELIVERY_NICENESS: i32 = 10;

/// A runtime on a thread of its own at `DELIVERY_NICENESS`, where deliveries are attempted.
/// The thread ends when this is dropped.
struct Couriers {
    runtime: tokio::runtime::Handle,
    _stop: oneshot::Sender<()>,
}

impl Couriers {
    fn start() -> anyhow::Result<Self> {
        let give_way = || crate::jobs::give_way_to_requests(DELIVERY_NICENESS, "webhook deliveries");
        // The hook lowers the runtime's blocking threads (name lookups); the thread below, itself.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().on_thread_start(give_way).build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new().name("deliveries".to_owned()).spawn(move || {
            give_way();
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
        Ok(Self { runtime: handle, _stop: stop })
    }
}

pub struct Dispatcher {
    pool: DbPool,
    couriers: Couriers,
    clock: Clock,
    config: NotificationConfig,
    http: reqwest::Client,
    mailer: Option<Mailer>,
    master_keys: MasterKeys,
    metrics: OutboxMetrics,
}

impl Dispatcher {
    pub fn new(
        pool: DbPool,
        clock: Clock,
        config: NotificationConfig,
        master_keys: MasterKeys,
        metrics: OutboxMetrics,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .dns_resolver(Arc::new(PublicResolver { allow_private: config.allow_private_addresses }))
            .user_agent(concat!("casebridge-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let couriers = Couriers::start()?;
        // The mail transport's connections live where the e-mails are sent.
        let mailer = {
            let _inside = couriers.runtime.enter();
            Mailer::new(&config)?
        };
        Ok(Self { pool, couriers, clock, config, http, mailer, master_keys, metrics })
    }

    /// Runs until the instance ends; a failed round is logged and the next one tries again.
    pub async fn run(self: Arc<Self>) {
        let mut calendar_due = Instant::now();
        let mut gauges_due = Instant::now();
        // A busy round's outcomes, for the next round to write with its own.
        let mut unwritten = None;
        loop {
            if Instant::now() >= calendar_due {
                calendar_due = Instant::now() + self.config.calendar_interval;
                if let Err(error) = self.clock.read_once(self.calendar()).await {
                    tracing::warn!(error = %error, "the outbox could not look at the calendar");
                }
            }
            let round = self.clock.read_once(self.round(&mut unwritten)).await;
            if Instant::now() >= gauges_due {
                gauges_due = Instant::now() + GAUGES_EVERY;
                if let Err(error) = self.refresh_gauges().await {
                    tracing::debug!(error = %error, "the outbox gauges could not be read");
                }
            }
            match round {
                // More is waiting, go on at once. Otherwise pause, so that the writes of a busy
                // outbox come in batches rather than one per event.
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(error = %error, "outbox round failed; trying again"),
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    async fn calendar(&self) -> anyhow::Result<()> {
        db::run(&self.pool, |conn| -> Result<(), DbError> {
            outbox::tell_what_comes_due(conn, crate::domain::today())?;
            outbox::purge(conn)?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn refresh_gauges(&self) -> anyhow::Result<()> {
        let status = db::run(&self.pool, |conn| -> Result<_, DbError> { Ok(outbox::status(conn)?) }).await?;
        self.metrics.show(&status);
        Ok(())
    }

    /// One round: fan out what waits, then attempt what is due. `true` when more is waiting.
    /// When it is, the outcomes are left in `unwritten` for the next round, which follows at
    /// once, to write in its transaction: a busy outbox commits once a round, not twice. (An
    /// instance that ends before then leaves those deliveries to be attempted again after the
    /// lease, with the same `webhook-id`, as it does any attempt in flight.)
    async fn round(self: &Arc<Self>, unwritten: &mut Option<RoundOutcomes>) -> anyhow::Result<bool> {
        let email = self.mailer.is_some();
        let batch = (self.config.concurrency * ATTEMPTS_PER_SLOT) as i64;
        let lease = TimeDelta::from_std(self.config.lease).unwrap_or(TimeDelta::MAX);
        let before = unwritten.clone();
        let (more, attempts) = db::run(&self.pool, move |conn| -> Result<_, DbError> {
            Ok(outbox::take_round(conn, before.as_ref(), email, lease, batch)?)
        })
        .await?;
        *unwritten = None;
        if attempts.is_empty() {
            return Ok(more);
        }
        let dispatcher = Arc::clone(self);
        let outcomes: Vec<(Attempt, Outcome)> = self
            .couriers
            .runtime
            .spawn(crate::clock::carried_future(async move {
                let dispatcher = &dispatcher;
                let shared = &Shared::of(dispatcher, &attempts);
                stream::iter(attempts)
                    .map(|attempt| async move {
                        let outcome = dispatcher.attempt(&attempt, shared).await;
                        (attempt, outcome)
                    })
                    .buffer_unordered(dispatcher.config.concurrency)
                    .collect()
                    .await
            }))
            .await
            .context("the deliveries' thread stopped")?;
        let now = db::now().naive_utc();
        for (attempt, outcome) in &outcomes {
            if let Outcome::Delivered { .. } = outcome {
                let waited = now - attempt.event.occurred_at;
                self.metrics.delivered(waited.as_seconds_f64().max(0.0));
            }
            if let Outcome::Failed { error, .. } = outcome {
                tracing::warn!(delivery = %attempt.delivery.delivery_id, error = %error, "delivery failed for good");
            }
        }
        let round = RoundOutcomes {
            at: now,
            outcomes: outcomes.into_iter().map(|(attempt, outcome)| (attempt.delivery, outcome)).collect(),
        };
        if more {
            *unwritten = Some(round);
        } else {
            db::run(&self.pool, move |conn| -> Result<(), DbError> { Ok(outbox::record_round(conn, &round)?) }).await?;
        }
        Ok(more)
    }

    /// Makes one attempt and says what became of it.
    async fn attempt(&self, attempt: &Attempt, shared: &Shared) -> Outcome {
        let sent = match &attempt.recipient {
            Recipient::Webhook { id, .. } => match self.post(attempt, *id, shared).await {
                Ok(code) if (200..300).contains(&code) => return Outcome::Delivered { code: Some(code) },
                Ok(410) => return Outcome::Gone { webhook_id: *id },
                Ok(code) => Err((Some(code), format!("the receiver answered {code}"))),
                Err(error) => Err((None, error)),
            },
            Recipient::Email { address, language } => match &self.mailer {
                Some(mailer) => match attempt.event.data() {
                    Ok(data) => mailer.send(address, *language, &attempt.event, &data).await.map_err(|e| (None, e)),
                    Err(error) => Err((None, format!("the event cannot be read: {error}"))),
                },
                None => Err((None, "e-mail is off (no CASEBRIDGE_SMTP_URL)".to_owned())),
            },
        };
        match sent {
            Ok(()) => Outcome::Delivered { code: None },
            Err((code, error)) => self.after_failure(attempt, code, error),
        }
    }

    fn after_failure(&self, attempt: &Attempt, code: Option<i32>, error: String) -> Outcome {
        let error: String = error.chars().take(ERROR_CHARS).collect();
        let now = db::now().naive_utc();
        let next = now + retry_pause(&self.config, attempt.number, jitter());
        if next - attempt.delivery.created_at > TimeDelta::from_std(self.config.give_up_after).unwrap_or(TimeDelta::MAX)
        {
            return Outcome::Failed { code, error };
        }
        Outcome::Retry { code, error, next }
    }

    /// POSTs the event to a webhook: the HTTP status, or why there was none.
    async fn post(&self, attempt: &Attempt, webhook_id: WebhookId, shared: &Shared) -> Result<i32, String> {
        let (url, secret) = made(&shared.endpoints, &webhook_id)?;
        let body = made(&shared.bodies, &attempt.event.id)?;
        let message_id = attempt.delivery.delivery_id.to_string();
        let timestamp = Utc::now().timestamp();
        let signature =
            signing::signature(secret, &message_id, timestamp, body.as_bytes()).map_err(|e| e.to_string())?;
        let request = self
            .http
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.clone());
        // The timeout looks at the answer before the clock: when this thread has waited for the
        // processor past the deadline, an answer that came in meanwhile still counts.
        tokio::time::timeout(self.config.request_timeout, exchange(request))
            .await
            .map_err(|_| "no answer within the timeout".to_owned())?
    }

    /// A webhook's URL, checked, and its secret, opened.
    fn endpoint(
        &self,
        webhook_id: WebhookId,
        url: &str,
        master_key_id: &str,
        sealed_secret: &[u8],
    ) -> Result<(Url, Vec<u8>), String> {
        let url = address::check_url(url, self.config.allow_private_addresses).map_err(str::to_owned)?;
        let secret = self
            .master_keys
            .open_secret(master_key_id, &webhook_label(webhook_id), sealed_secret)
            .map_err(|e| format!("the webhook's secret cannot be opened: {e}"))?;
        Ok((url, secret))
    }
}

/// What a round's webhook requests share, made once a round rather than for each request: each
/// webhook's checked URL and opened secret, and each event's body.
struct Shared {
    endpoints: HashMap<WebhookId, Result<(Url, Vec<u8>), String>>,
    bodies: HashMap<OutboxEventId, Result<String, String>>,
}

impl Shared {
    fn of(dispatcher: &Dispatcher, attempts: &[Attempt]) -> Self {
        let mut shared = Self { endpoints: HashMap::new(), bodies: HashMap::new() };
        for attempt in attempts {
            let Recipient::Webhook { id, url, master_key_id, sealed_secret } = &attempt.recipient else {
                continue;
            };
            shared.endpoints.entry(*id).or_insert_with(|| dispatcher.endpoint(*id, url, master_key_id, sealed_secret));
            shared
                .bodies
                .entry(attempt.event.id)
                .or_insert_with(|| body(&attempt.event).map_err(|e| format!("the event cannot be read: {e}")));
        }
        shared
    }
}

/// What `Shared` made for `key`, or why it could not be made.
fn made<'a, K: Eq + Hash, T>(made: &'a HashMap<K, Result<T, String>>, key: &K) -> Result<&'a T, String> {
    match made.get(key) {
        Some(Ok(value)) => Ok(value),
        Some(Err(error)) => Err(error.clone()),
        None => Err("not prepared with the round".to_owned()),
    }
}

/// Sends a request and reads a short answer to its end, so that the connection goes back to the
/// pool for the next delivery (a longer answer is neither read further nor kept): the status.
async fn exchange(request: reqwest::RequestBuilder) -> Result<i32, String> {
    let mut response = request.send().await.map_err(describe)?;
    let status = i32::from(response.status().as_u16());
    let mut read = 0;
    while read <= DRAINED_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    Ok(status)
}

/// How much of a receiver's answer is read (and dropped) to keep its connection for reuse.
const DRAINED_BYTES: usize = 64 * 1024;

/// The associated data a webhook's secret is sealed with.
pub fn webhook_label(webhook_id: WebhookId) -> String {
    format!("webhook secret|{webhook_id}")
}

/// The JSON a receiver gets: the event's id, type and time, and its ids and dates.
fn body(event: &EventRow) -> Result<String, serde_json::Error> {
    let data: serde_json::Value = serde_json::from_str(&event.payload)?;
    serde_json::to_string(&serde_json::json!({
        "id": event.id,
        "type": event.event_type,
        "timestamp": event.occurred_at.and_utc(),
        "data": data,
    }))
}

/// A request error without the URL (it may carry a token of the receiver's).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "no answer within the timeout".to_owned()
    } else if error.is_connect() {
        "cannot connect to the receiver".to_owned()
    } else {
        error.without_url().to_string()
    }
}

/// A number in [0, 1) for the jitter of a pause.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// The pause after the `attempt`th attempt failed: the first retry's pause doubled for each
/// attempt before, at most the longest pause, then between 80 % and 120 % of that at random,
/// so that receivers coming back are not met by every instance at once.
pub fn retry_pause(config: &NotificationConfig, attempt: i32, jitter: f64) -> TimeDelta {
    let doublings = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let base = config.first_retry.saturating_mul(1 << doublings).min(config.longest_pause);
    let pause = base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    TimeDelta::from_std(pause).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn deliveries_are_attempted_below_the_priority_of_requests() {
        let callers = rustix::process::getpriority_process(None).unwrap();
        let couriers = Couriers::start().unwrap();
        let (tell, told) = std::sync::mpsc::channel();
        couriers.runtime.spawn(async move { tell.send(rustix::process::getpriority_process(None)) });
        let niceness = told.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(niceness, callers.max(DELIVERY_NICENESS));
    }

    #[test]
    fn pauses_double_up_to_the_longest_with_jitter_around_them() {
        let config = NotificationConfig::from_vars(&HashMap::new()).unwrap();
        let seconds = |attempt, jitter| retry_pause(&config, attempt, jitter).num_seconds();
        assert_eq!(seconds(1, 0.5), 30);
        assert_eq!(seconds(2, 0.5), 60);
        assert_eq!(seconds(5, 0.5), 480);
        assert_eq!(seconds(20, 0.5), 3 * 3600);
        assert_eq!(seconds(1, 0.0), 24);
        assert_eq!(seconds(1, 1.0), 36);
        // Up to a day of attempts: the schedule reaches 24 hours in about a dozen tries.
        let mut at = TimeDelta::zero();
        let mut attempts = 0;
        while at < TimeDelta::hours(24) {
            attempts += 1;
            at += retry_pause(&config, attempts, 0.5);
        }
        assert!((10..=16).contains(&attempts), "{attempts}");
    }

    #[test]
    fn a_lease_must_outlast_a_round_of_attempts() {
        let vars = |timeout: &str, lease: &str| {
            HashMap::from([
                ("CASEBRIDGE_WEBHOOK_TIMEOUT_MS".to_owned(), timeout.to_owned()),
                ("CASEBRIDGE_OUTBOX_LEASE_MS".to_owned(), lease.to_owned()),
            ])
        };
        assert_eq!(NotificationConfig::from_vars(&HashMap::new()).unwrap().lease, Duration::from_secs(120));
        assert_eq!(NotificationConfig::from_vars(&vars("2000", "9000")).unwrap().lease, Duration::from_secs(9));
        let refused = NotificationConfig::from_vars(&vars("2000", "8000")).unwrap_err().to_string();
        assert!(refused.contains("CASEBRIDGE_OUTBOX_LEASE_MS"), "{refused}");
    }
}
