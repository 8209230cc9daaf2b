//! Counseling sessions (SPEC §2.5): logging, confidential notes encrypted at rest, the
//! psychological tier, group sessions and follow-ups.

pub mod model;
pub mod queries;
pub mod routes;
