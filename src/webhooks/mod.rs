//! An organisation's webhooks (`/webhooks`): where its own systems are told of referral and
//! deadline events, with the secret their signatures are made with, and each webhook's
//! delivery log. Coordinators manage their organisation's; nobody else sees them.

pub mod model;
pub mod queries;
pub mod routes;

pub const RESOURCE: &str = "webhook";

/// Webhooks one organisation may have.
pub const MAX_PER_ORGANISATION: i64 = 10;
