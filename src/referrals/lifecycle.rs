//! The referral life cycle as one table: each move, the statuses it starts from, the status it
//! leads to, who may make it and the audit event it writes. Handlers, the background expiry and
//! the cascades of withdrawal and erasure all read it; so does `is_open`.

use strum::IntoEnumIterator;

use super::model::ReferralStatus::{self, *};
use crate::policy::Action;

/// A change of a referral's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Accept,
    Decline,
    Cancel,
    Complete,
    /// The answer date passed without an answer (the background job).
    Expire,
    /// The client withdrew the consent the referral rests on.
    WithdrawConsent,
    /// The client's record was erased.
    EraseClient,
}

/// Who makes a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A user the policy table allows this action.
    User(Action),
    /// Nobody asks: it follows from the calendar or from a change of the client's record.
    System,
}

#[derive(Debug)]
pub struct Step {
    pub on: Move,
    pub from: &'static [ReferralStatus],
    pub to: ReferralStatus,
    pub by: Who,
    /// The audit event the move writes.
    pub event: &'static str,
}

const OPEN: &[ReferralStatus] = &[Pending, Accepted];

/// In the order of `Move`'s variants, so that a move's row is found by its position.
const LIFECYCLE: [Step; 7] = [
    Step {
        on: Move::Accept,
        from: &[Pending],
        to: Accepted,
        by: Who::User(Action::RespondToReferral),
        event: "referral.accept",
    },
    Step {
        on: Move::Decline,
        from: &[Pending],
        to: Declined,
        by: Who::User(Action::RespondToReferral),
        event: "referral.decline",
    },
    Step {
        on: Move::Cancel,
        from: OPEN,
        to: Cancelled,
        by: Who::User(Action::CancelReferral),
        event: "referral.cancel",
    },
    Step {
        on: Move::Complete,
        from: &[Accepted],
        to: Completed,
        by: Who::User(Action::RespondToReferral),
        event: "referral.complete",
    },
    Step { on: Move::Expire, from: &[Pending], to: Expired, by: Who::System, event: "referral.expire" },
    Step { on: Move::WithdrawConsent, from: OPEN, to: Cancelled, by: Who::System, event: "referral.cancel" },
    Step { on: Move::EraseClient, from: OPEN, to: Cancelled, by: Who::System, event: "referral.cancel" },
];

/// The table's row for `on`.
pub fn step(on: Move) -> &'static Step {
    &LIFECYCLE[on as usize]
}

/// Open referrals still need something from someone, and the partner sees the shared data:
/// those that some move still starts from.
pub fn is_open(status: ReferralStatus) -> bool {
    LIFECYCLE.iter().any(|step| step.from.contains(&status))
}

/// Every open status.
pub fn open_statuses() -> Vec<ReferralStatus> {
    ReferralStatus::iter().filter(|status| is_open(*status)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOVES: [Move; 7] = [
        Move::Accept,
        Move::Decline,
        Move::Cancel,
        Move::Complete,
        Move::Expire,
        Move::WithdrawConsent,
        Move::EraseClient,
    ];

    #[test]
    fn every_move_has_exactly_one_row() {
        for on in MOVES {
            assert_eq!(LIFECYCLE.iter().filter(|step| step.on == on).count(), 1, "{on:?}");
            assert_eq!(step(on).on, on);
        }
        assert_eq!(LIFECYCLE.len(), MOVES.len());
    }

    #[test]
    fn every_status_is_reached_from_pending_and_closed_ones_lead_nowhere() {
        let mut reached = vec![Pending];
        let mut frontier = vec![Pending];
        while let Some(status) = frontier.pop() {
            for step in LIFECYCLE.iter().filter(|step| step.from.contains(&status)) {
                if !reached.contains(&step.to) {
                    reached.push(step.to);
                    frontier.push(step.to);
                }
            }
        }
        for status in ReferralStatus::iter() {
            assert!(reached.contains(&status), "{status:?} cannot be reached");
        }
        assert_eq!(open_statuses(), vec![Pending, Accepted]);
        for closed in [Declined, Cancelled, Completed, Expired] {
            assert!(!is_open(closed));
        }
    }

    #[test]
    fn the_partner_answers_and_the_sender_cancels() {
        assert_eq!(step(Move::Accept).by, Who::User(Action::RespondToReferral));
        assert_eq!(step(Move::Complete).by, Who::User(Action::RespondToReferral));
        assert_eq!(step(Move::Cancel).by, Who::User(Action::CancelReferral));
        assert_eq!(step(Move::Expire).by, Who::System);
    }
}
