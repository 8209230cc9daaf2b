//! Authentication (SPEC §4.3): passwords, access tokens, login sessions with rotating refresh
//! tokens, failed-login throttling, and `SignedIn`, which every protected handler takes.

pub mod enrolment;
pub mod password;
pub mod principal;
pub mod routes;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use principal::{Origin, Principal, SignedIn};
