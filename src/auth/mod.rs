//! Authentication (SPEC §4.3): passwords, access tokens, login sessions with rotating refresh
//! tokens, failed-login throttling, and `SignedIn`, which every protected handler takes.

pub mod enrolment;
pub mod login_sessions;
pub mod password;
pub mod principal;
pub mod routes;
pub mod throttle;
pub mod tokens;

pub use principal::{Origin, Principal, SignedIn};
