//! Counseling sessions (SPEC §2.5): logging, notes, summary and topics encrypted at rest, the
//! psychological tier, group sessions and follow-ups.

pub mod model;
pub mod queries;
pub mod routes;
pub mod sealing;
