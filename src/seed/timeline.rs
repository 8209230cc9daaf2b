//! Invented procedure timelines that follow the order the law allows: where a case can stand
//! (waiting for the interview, refused with the appeal period running, protection granted, …),
//! as a sequence of events with plausible gaps between them.

use chrono::{Days, NaiveDate};
use rand::Rng;

use super::people::weighted;
use crate::procedure::events::{EventKind, Outcome};
use crate::procedure::model::ProcedureEventInput;

const BORDER_GUARD: &str = "Komendant Placówki Straży Granicznej";
const OFFICE: &str = "Szef Urzędu do Spraw Cudzoziemców";
const BOARD: &str = "Rada do Spraw Uchodźców";
const COURT: &str = "Wojewódzki Sąd Administracyjny w Warszawie";

/// One event of a scenario: its kind, how many days after the previous event (or after that
/// event's delivery) it happens, and for decisions the outcome and the days until delivery.
struct Step {
    kind: EventKind,
    after: (u64, u64),
    outcome: Option<Outcome>,
    delivered_after: Option<(u64, u64)>,
    authority: Option<&'static str>,
}

const fn step(kind: EventKind, after: (u64, u64), authority: Option<&'static str>) -> Step {
    Step { kind, after, outcome: None, delivered_after: None, authority }
}

const fn decision(kind: EventKind, after: (u64, u64), outcome: Outcome, authority: &'static str) -> Step {
    Step { kind, after, outcome: Some(outcome), delivered_after: Some((2, 12)), authority: Some(authority) }
}

const REGISTERED: Step = step(EventKind::DeclarationRegistered, (0, 0), Some(BORDER_GUARD));
const LODGED: Step = step(EventKind::ApplicationLodged, (0, 3), Some(BORDER_GUARD));
const TZTC: Step = step(EventKind::TztcIssued, (3, 12), Some(OFFICE));
const SCHEDULED: Step = step(EventKind::InterviewScheduled, (30, 90), Some(OFFICE));
const HELD: Step = step(EventKind::InterviewHeld, (14, 45), Some(OFFICE));
const MISSED: Step = step(EventKind::InterviewMissed, (14, 45), Some(OFFICE));
const REFUSED: Step = decision(EventKind::FirstInstanceDecision, (40, 160), Outcome::Refusal, OFFICE);
const SUBSIDIARY: Step = decision(EventKind::FirstInstanceDecision, (40, 160), Outcome::SubsidiaryProtection, OFFICE);
const REFUGEE: Step = decision(EventKind::FirstInstanceDecision, (40, 160), Outcome::RefugeeStatus, OFFICE);
const GRANTED: Step = step(EventKind::ProtectionGranted, (0, 5), Some(OFFICE));
const IPI: Step = step(EventKind::IpiStarted, (10, 50), None);
const APPEAL: Step = step(EventKind::AppealLodged, (5, 13), Some(BOARD));
const APPEAL_UPHELD: Step = decision(EventKind::AppealDecision, (60, 180), Outcome::Upheld, BOARD);
const COMPLAINT: Step = step(EventKind::CourtComplaintFiled, (10, 29), Some(COURT));
const DUBLIN: Step = step(EventKind::DublinProcedureStarted, (10, 40), Some(OFFICE));
const LEFT_CENTRE: Step = step(EventKind::LeftReceptionCentre, (20, 120), None);
const DISCONTINUED: Step = decision(EventKind::ProcedureDiscontinued, (10, 40), Outcome::Discontinued, OFFICE);
const WORK_CERTIFICATE: Step = step(EventKind::WorkCertificateIssued, (150, 200), Some(OFFICE));

/// Where a case stands, with how often the demo shows it.
const SCENARIOS: &[(&[Step], u32)] = &[
    (&[REGISTERED, LODGED, TZTC], 14),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED], 14),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD], 10),
    (&[REGISTERED, LODGED, TZTC, WORK_CERTIFICATE, SCHEDULED], 6),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, MISSED], 5),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD, REFUSED], 12),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD, REFUSED, APPEAL], 10),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD, REFUSED, APPEAL, APPEAL_UPHELD], 7),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD, REFUSED, APPEAL, APPEAL_UPHELD, COMPLAINT], 4),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD, SUBSIDIARY, GRANTED], 7),
    (&[REGISTERED, LODGED, TZTC, SCHEDULED, HELD, REFUGEE, GRANTED, IPI], 4),
    (&[REGISTERED, LODGED, DUBLIN], 4),
    (&[REGISTERED, LODGED, TZTC, LEFT_CENTRE, DISCONTINUED], 4),
];

/// A valid timeline ending recently (at most `settle_days` before `today`), so that the periods
/// it starts are still running or just over.
pub fn timeline(rng: &mut impl Rng, today: NaiveDate, settle_days: u64) -> Vec<ProcedureEventInput> {
    let steps = *weighted(rng, SCENARIOS);
    // Dates are laid out from day 0, then moved so the last one falls shortly before today.
    let mut offset = 0u64;
    let mut laid_out = Vec::with_capacity(steps.len());
    for step in steps {
        offset += rng.gen_range(step.after.0..=step.after.1);
        let occurred = offset;
        let delivered = step.delivered_after.map(|(least, most)| occurred + rng.gen_range(least..=most));
        if let Some(delivered) = delivered {
            offset = delivered;
        }
        laid_out.push((step, occurred, delivered));
    }
    let end = today - Days::new(rng.gen_range(0..=settle_days));
    let day_zero = end - Days::new(offset);
    laid_out
        .into_iter()
        .map(|(step, occurred, delivered)| ProcedureEventInput {
            kind: step.kind,
            occurred_on: day_zero + Days::new(occurred),
            delivered_on: delivered.map(|days| day_zero + Days::new(days)),
            authority: step.authority.map(str::to_owned),
            outcome: step.outcome,
            notes: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::deadlines::check_order;
    use crate::procedure::events::ProcedureEvent;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_timeline_is_in_an_order_the_law_allows_and_in_the_past() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..500 {
            let mut recorded: Vec<ProcedureEvent> = Vec::new();
            for (position, input) in timeline(&mut rng, today, 30).into_iter().enumerate() {
                let fields = input.parse(today).unwrap();
                let event = ProcedureEvent {
                    id: position.to_string(),
                    kind: fields.kind,
                    occurred_on: fields.occurred_on,
                    delivered_on: fields.delivered_on,
                    outcome: fields.outcome,
                };
                check_order(&recorded, &event).unwrap();
                recorded.push(event);
            }
        }
    }
}
