//! Telling partner systems and people what happened. An event is written to the outbox in the
//! transaction of the change it reports (`outbox`); the dispatcher (`dispatcher`) fans it out
//! into deliveries — a signed POST to each webhook that asked for it (`signing`, `address`) and
//! an e-mail to each user who should act (`email`) — and retries them until they arrive.
//!
//! An event carries ids and dates, never a name or free text; nothing of the psychological tier
//! is ever written to the outbox.

pub mod address;
pub mod dispatcher;
pub mod email;
pub mod outbox;
pub mod settings;
pub mod signing;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;

use crate::domain::closed_list;

closed_list! {
    /// What an event tells. `referral_due_soon`: a pending referral's answer date is the next
    /// working day or today; `deadline_due_soon`: a legal deadline has entered its last three
    /// working days; `consent_withdrawn`: the client withdrew the consent a referral rested on,
    /// and the partner's access ended; `referred_client_erased`: the sender erased the record of a
    /// client it referred (a partner's system should erase what it was given); `webhook_test`: sent on request to one webhook.
    EventType {
        ReferralSent,
        ReferralAccepted,
        ReferralDeclined,
        ReferralCancelled,
        ReferralCompleted,
        ReferralExpired,
        ReferralDueSoon,
        DeadlineDueSoon,
        ConsentWithdrawn,
        ReferredClientErased,
        WebhookTest,
    }
}

/// Deliveries claimed per round for each request slot (`concurrency`): a round's requests run
/// in up to this many turns, which the lease must outlast.
pub const ATTEMPTS_PER_SLOT: usize = 4;

/// How notifications go out, from the environment.
#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// `smtp://` or `smtps://` URL of the mail server; e-mail is off without it.
    pub smtp_url: Option<secrecy::SecretString>,
    /// The sender of notification e-mails.
    pub email_from: String,
    /// Where links in e-mails point (the frontend).
    pub frontend_url: String,
    /// Lets webhooks reach private, loopback and link-local addresses (never in a deployment
    /// that can reach an internal network it should not).
    pub allow_private_addresses: bool,
    /// How long one webhook request may take.
    pub request_timeout: Duration,
    /// The first pause before a retry; each later one doubles (with jitter) up to `longest_pause`.
    pub first_retry: Duration,
    pub longest_pause: Duration,
    /// How long a delivery is retried before it is marked failed.
    pub give_up_after: Duration,
    /// How often the dispatcher looks for work.
    pub poll_interval: Duration,
    /// How long a claimed delivery is left to the instance attempting it. An instance that dies
    /// mid-attempt leaves its deliveries untouched for this long, after which any instance
    /// attempts them again; so it must outlast a whole round of attempts (see `ATTEMPTS_PER_SLOT`),
    /// or a slow receiver would be sent one delivery by two instances at once.
    pub lease: Duration,
    /// How often it looks at the calendar (answer dates and deadlines coming close).
    pub calendar_interval: Duration,
    /// Requests in flight at once, per instance.
    pub concurrency: usize,
}

impl NotificationConfig {
    pub fn from_vars(vars: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let millis = |name: &str, default: u64| -> anyhow::Result<Duration> {
            let value =
                get(name).map(str::parse::<u64>).transpose().with_context(|| format!("{name}: not a number"))?;
            let value = value.unwrap_or(default);
            anyhow::ensure!(value > 0, "{name} must be greater than zero");
            Ok(Duration::from_millis(value))
        };
        let allow_private_addresses = match get("CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE").unwrap_or("false") {
            "true" | "1" => true,
            "false" | "0" => false,
            other => anyhow::bail!("CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE must be `true` or `false`, not `{other}`"),
        };
        let frontend_url = get("CASEBRIDGE_FRONTEND_URL").unwrap_or("http://localhost:3000").trim_end_matches('/');
        url::Url::parse(frontend_url).context("CASEBRIDGE_FRONTEND_URL is not a URL")?;
        let concurrency = get("CASEBRIDGE_WEBHOOK_CONCURRENCY")
            .map(str::parse::<usize>)
            .transpose()
            .context("CASEBRIDGE_WEBHOOK_CONCURRENCY: not a number")?
            .unwrap_or(16);
        anyhow::ensure!((1..=256).contains(&concurrency), "CASEBRIDGE_WEBHOOK_CONCURRENCY must be 1 to 256");
        Ok(Self {
            smtp_url: get("CASEBRIDGE_SMTP_URL").map(|url| secrecy::SecretString::from(url.to_owned())),
            email_from: get("CASEBRIDGE_EMAIL_FROM").unwrap_or("casebridge <no-reply@localhost>").to_owned(),
            frontend_url: frontend_url.to_owned(),
            allow_private_addresses,
            request_timeout: millis("CASEBRIDGE_WEBHOOK_TIMEOUT_MS", 10_000)?,
            first_retry: millis("CASEBRIDGE_WEBHOOK_FIRST_RETRY_MS", 30_000)?,
            longest_pause: millis("CASEBRIDGE_WEBHOOK_LONGEST_PAUSE_MS", 3 * 3600 * 1000)?,
            give_up_after: millis("CASEBRIDGE_WEBHOOK_GIVE_UP_AFTER_MS", 24 * 3600 * 1000)?,
            poll_interval: millis("CASEBRIDGE_OUTBOX_POLL_INTERVAL_MS", 1000)?,
            lease: millis("CASEBRIDGE_OUTBOX_LEASE_MS", 120_000)?,
            calendar_interval: millis("CASEBRIDGE_OUTBOX_CALENDAR_INTERVAL_MS", 60_000)?,
            concurrency,
        })
        .and_then(Self::lease_outlasts_a_round)
    }

    fn lease_outlasts_a_round(self) -> anyhow::Result<Self> {
        let round = self.request_timeout.saturating_mul(ATTEMPTS_PER_SLOT as u32);
        anyhow::ensure!(
            self.lease > round,
            "CASEBRIDGE_OUTBOX_LEASE_MS must be more than {ATTEMPTS_PER_SLOT} × CASEBRIDGE_WEBHOOK_TIMEOUT_MS \
             ({} ms): a round attempts up to {ATTEMPTS_PER_SLOT} deliveries in turn per request slot",
            round.as_millis()
        );
        Ok(self)
    }

    pub fn email_enabled(&self) -> bool {
        self.smtp_url.is_some()
    }
}
