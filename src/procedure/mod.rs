//! The procedure timeline of a client (SPEC §2.4): events as they happen, the stage derived from
//! them, and the legal deadlines the rule table derives from them.

pub mod calendar;
pub mod deadlines;
pub mod events;
pub mod model;
pub mod queries;
pub mod routes;
