//! What every handler can reach: the state the application is built with (`startup`) and the
//! handlers read through `web::Data<AppState>`.

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::password::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::LoginThrottle;
use crate::crypto::MasterKeys;
use crate::db::DbPool;
use crate::documents;
use crate::health::Metrics;
use crate::jobs::JobStatus;

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    /// The instance's time, read once per request (`clock`).
    pub clock: Clock,
    /// Which background jobs are running (`/health/ready`).
    pub jobs: JobStatus,
    pub tokens: TokenKeys,
    pub passwords: Passwords,
    pub login_throttle: LoginThrottle,
    pub session_ttl: Duration,
    pub refresh_ttl: Duration,
    pub trusted_proxies: Vec<IpAddr>,
    pub metrics: Metrics,
    /// When set, `/metrics` needs it as a bearer token.
    pub metrics_token: Option<secrecy::SecretString>,
    pub master_keys: MasterKeys,
    pub referral_working_days: (u32, u32),
    pub documents: documents::Documents,
    /// Where webhooks may point (`CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE`) and whether e-mail is on.
    pub notifications: crate::notifications::NotificationConfig,
}
