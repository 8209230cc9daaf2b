//! The client's consents (SPEC §2.7): to processing, to sharing with a named partner, to being
//! contacted. A consent is valid while given, not expired and not withdrawn.

pub mod model;
pub mod queries;
pub mod routes;
