//! Counseling sessions (SPEC §2.5): logging, notes, summary and topics encrypted at rest, the
//! psychological tier, group sessions and follow-ups.

pub mod model;
pub mod queries;
pub mod routes;
pub mod sealing;

use crate::auth::Principal;
use crate::policy::{self, Action, Decision, Target};

/// Whether the caller is inside their organisation's psychological tier (a psychologist of
/// it): only then do audit events, counts and reports show psychological sessions.
pub fn inside_tier(principal: &Principal) -> bool {
    policy::decide(principal.caller(), Action::ReadPsychologicalSession, Target::owned_by(principal.organisation_id))
        == Decision::Allow
}
