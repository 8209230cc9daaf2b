//! The appointment life cycle as one table: each move, the statuses it starts from, the status
//! it leads to, who may make it and the audit event it writes.

use super::model::AppointmentStatus::{self, *};
use crate::policy::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Confirm,
    Cancel,
    MarkNoShow,
    Hold,
    /// The client's record was erased: what was still planned will not take place.
    EraseClient,
}

#[derive(Debug)]
pub struct Step {
    pub on: Move,
    pub from: &'static [AppointmentStatus],
    pub to: AppointmentStatus,
    /// The action a user needs; `None` for a move nobody asks for.
    pub by: Option<Action>,
    pub event: &'static str,
    /// Whether the appointment must have begun (nobody is absent from, or meets at, a future
    /// appointment).
    pub once_begun: bool,
}

/// In the order of `Move`'s variants, so that a move's row is found by its position.
const LIFECYCLE: [Step; 5] = [
    Step {
        on: Move::Confirm,
        from: &[Planned],
        to: Confirmed,
        by: Some(Action::UpdateAppointment),
        event: "appointment.confirm",
        once_begun: false,
    },
    Step {
        on: Move::Cancel,
        from: &super::model::BOOKED,
        to: Cancelled,
        by: Some(Action::UpdateAppointment),
        event: "appointment.cancel",
        once_begun: false,
    },
    Step {
        on: Move::MarkNoShow,
        from: &super::model::BOOKED,
        to: NoShow,
        by: Some(Action::UpdateAppointment),
        event: "appointment.no_show",
        once_begun: true,
    },
    Step {
        on: Move::Hold,
        from: &super::model::BOOKED,
        to: Held,
        by: Some(Action::HoldAppointment),
        event: "appointment.hold",
        once_begun: true,
    },
    Step {
        on: Move::EraseClient,
        from: &super::model::BOOKED,
        to: Cancelled,
        by: None,
        event: "appointment.cancel",
        once_begun: false,
    },
];

pub fn step(on: Move) -> &'static Step {
    &LIFECYCLE[on as usize]
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    const MOVES: [Move; 5] = [Move::Confirm, Move::Cancel, Move::MarkNoShow, Move::Hold, Move::EraseClient];

    #[test]
    fn every_move_has_exactly_one_row() {
        for on in MOVES {
            assert_eq!(step(on).on, on);
        }
        assert_eq!(LIFECYCLE.len(), MOVES.len());
    }

    #[test]
    fn only_booked_appointments_move_and_every_status_is_reached() {
        for status in AppointmentStatus::iter() {
            let leaves = LIFECYCLE.iter().any(|step| step.from.contains(&status));
            assert_eq!(leaves, status.is_booked(), "{status:?}");
            let reached = status == Planned || LIFECYCLE.iter().any(|step| step.to == status);
            assert!(reached, "{status:?} cannot be reached");
        }
    }
}
