//! Consortium partners (SPEC §2.1).

pub mod model;
pub mod queries;
pub mod routes;
