//! Staff accounts (SPEC §2.2).

pub mod model;
pub mod queries;
pub mod routes;
