//! Deadlines of the Polish protection procedure, derived from the events of a case.
//!
//! Every deadline comes from one row of [`RULES`]: which event starts it, from which date it runs,
//! how long it is, which later events meet it, and the provision it rests on. When the law changes,
//! a new version of the row is added with the date the change took effect. A deadline is computed
//! with the version in force on the day it started to run; when adding a version, check that the
//! transitional provisions of the amending act agree with that for periods already running.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::calendar;
use super::events::{EventKind, Outcome, ProcedureEvent};

/// The length of a time limit, in the units the statute uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Days(u32),
    Months(u32),
}

/// The calendar end of a period before KPA art. 57 §4 moves it off a day free from work.
///
/// KPA art. 57 §1: in a period counted in days the day of the triggering event is not counted, so
/// the period ends N days after it. KPA art. 57 §3: a period counted in months ends on the day of
/// the month that corresponds to the start day, or on the last day of the month when there is no
/// such day (31 January + 1 month = the last day of February), which is how chrono adds months.
fn calendar_end(start: NaiveDate, period: Period) -> Option<NaiveDate> {
    match period {
        Period::Days(days) => start.checked_add_days(Days::new(u64::from(days))),
        Period::Months(months) => start.checked_add_months(Months::new(months)),
    }
}

/// The last day on which a time limit of `period` running from `start` can be met.
///
/// The calendar end (KPA art. 57 §1 and §3) moves to the next working day when it falls on a day free
/// from work or a Saturday (KPA art. 57 §4; the Civil Code art. 111-115 rules that PPSA art. 83 §1
/// applies to court time limits give the same result). `None` only when the end lies outside the
/// representable calendar.
pub fn period_end(start: NaiveDate, period: Period) -> Option<NaiveDate> {
    calendar_end(start, period).map(calendar::next_working_day_from)
}

/// What the triggering event must look like for a rule to start running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The event itself starts the period.
    Always,
    /// Time limits for a remedy run only against a decision that went against the applicant, and
    /// only from its delivery (KPA art. 129 §2, PPSA art. 53 §1 and art. 177 §1).
    DeliveredWithNegativeOutcome,
}

impl Condition {
    fn is_met_by(self, event: &ProcedureEvent) -> bool {
        match self {
            Self::Always => true,
            Self::DeliveredWithNegativeOutcome => {
                event.delivered_on.is_some() && event.outcome.is_some_and(Outcome::is_negative)
            }
        }
    }
}

/// Which date of the triggering event the period is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartsFrom {
    /// The date the event happened.
    Occurred,
    /// The date the decision was delivered; without it the period has not started.
    Delivered,
    /// The date the decision was delivered when it is recorded, otherwise the date it was issued;
    /// for entitlements where an early estimate is safer than none.
    DeliveredIfKnown,
}

impl StartsFrom {
    fn start_date(self, event: &ProcedureEvent) -> Option<NaiveDate> {
        match self {
            Self::Occurred => Some(event.occurred_on),
            Self::Delivered => event.delivered_on,
            Self::DeliveredIfKnown => Some(event.delivered_on.unwrap_or(event.occurred_on)),
        }
    }
}

/// One version of one statutory deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable identifier shared by all versions of the rule.
    pub code: &'static str,
    /// Increases with every change of the law; together with `code` identifies this row.
    pub version: u32,
    pub trigger: EventKind,
    pub condition: Condition,
    pub period: Period,
    pub starts_from: StartsFrom,
    /// Events that meet the deadline (for the authority's deadlines: that the authority acted).
    pub closed_by: &'static [EventKind],
    pub title_en: &'static str,
    pub legal_basis: &'static str,
    /// The day this version took effect; it applies to periods that start on or after it.
    pub effective_from: NaiveDate,
    /// True when the deadline binds the authority and the case worker only watches it; false when
    /// the applicant has to act.
    pub monitoring: bool,
}

/// A date fixed by statute, for use in constants only: an impossible date stops compilation.
const fn statute_date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("impossible date in the rule table"),
    }
}

/// The Act of 13 June 2003 on granting protection to foreigners (APF) took effect.
const APF_IN_FORCE: NaiveDate = statute_date(2003, 9, 1);

/// The Law on proceedings before administrative courts (PPSA) took effect.
const PPSA_IN_FORCE: NaiveDate = statute_date(2004, 1, 1);

/// The Act of 12 March 2004 on social assistance took effect.
const SOCIAL_ASSISTANCE_IN_FORCE: NaiveDate = statute_date(2004, 5, 1);

/// The Act of 12 December 2013 on foreigners took effect.
const FOREIGNERS_ACT_IN_FORCE: NaiveDate = statute_date(2014, 5, 1);

/// The APF amendment of 10 September 2015 took effect.
const APF_2015_AMENDMENT: NaiveDate = statute_date(2015, 11, 13);

/// The statutory deadlines of the protection procedure, every version of each.
pub const RULES: &[Rule] = &[
    Rule {
        code: "appeal_to_refugee_board",
        version: 1,
        trigger: EventKind::FirstInstanceDecision,
        condition: Condition::DeliveredWithNegativeOutcome,
        period: Period::Days(14),
        starts_from: StartsFrom::Delivered,
        closed_by: &[EventKind::AppealLodged],
        title_en: "Appeal to the Refugee Board",
        legal_basis: "KPA art. 129 §2",
        effective_from: APF_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "complaint_to_administrative_court",
        version: 1,
        trigger: EventKind::AppealDecision,
        condition: Condition::DeliveredWithNegativeOutcome,
        period: Period::Days(30),
        starts_from: StartsFrom::Delivered,
        closed_by: &[EventKind::CourtComplaintFiled],
        title_en: "Complaint to the voivodeship administrative court",
        legal_basis: "PPSA art. 53 §1",
        effective_from: PPSA_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "cassation_to_supreme_administrative_court",
        version: 1,
        trigger: EventKind::CourtJudgment,
        condition: Condition::DeliveredWithNegativeOutcome,
        period: Period::Days(30),
        starts_from: StartsFrom::Delivered,
        closed_by: &[EventKind::CassationFiled],
        title_en: "Cassation appeal to the Supreme Administrative Court",
        legal_basis: "PPSA art. 177 §1",
        effective_from: PPSA_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "first_instance_decision_due",
        version: 1,
        trigger: EventKind::ApplicationLodged,
        condition: Condition::Always,
        period: Period::Months(6),
        starts_from: StartsFrom::Occurred,
        closed_by: &[EventKind::FirstInstanceDecision],
        title_en: "First-instance decision due",
        legal_basis: "APF art. 34 ust. 1",
        effective_from: APF_IN_FORCE,
        monitoring: true,
    },
    Rule {
        code: "work_certificate_eligibility",
        version: 1,
        trigger: EventKind::ApplicationLodged,
        condition: Condition::Always,
        period: Period::Months(6),
        starts_from: StartsFrom::Occurred,
        closed_by: &[EventKind::WorkCertificateIssued, EventKind::ProtectionGranted],
        title_en: "Eligibility for the certificate allowing work",
        legal_basis: "APF art. 35 ust. 1",
        effective_from: APF_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "declare_will_to_continue",
        version: 1,
        trigger: EventKind::ProcedureDiscontinued,
        condition: Condition::Always,
        period: Period::Months(24),
        starts_from: StartsFrom::Occurred,
        closed_by: &[EventKind::ApplicationLodged, EventKind::SubsequentApplication],
        title_en: "Declare the will to continue the discontinued procedure",
        legal_basis: "APF art. 40 ust. 5",
        effective_from: APF_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "declare_will_to_continue",
        version: 2,
        trigger: EventKind::ProcedureDiscontinued,
        condition: Condition::Always,
        period: Period::Months(9),
        starts_from: StartsFrom::Occurred,
        closed_by: &[EventKind::ApplicationLodged, EventKind::SubsequentApplication],
        title_en: "Declare the will to continue the discontinued procedure",
        legal_basis: "APF art. 40 ust. 5",
        effective_from: APF_2015_AMENDMENT,
        monitoring: false,
    },
    Rule {
        code: "apply_for_integration_programme",
        version: 1,
        trigger: EventKind::ProtectionGranted,
        condition: Condition::Always,
        period: Period::Days(60),
        starts_from: StartsFrom::DeliveredIfKnown,
        closed_by: &[EventKind::IpiStarted],
        title_en: "Apply for the individual integration programme",
        legal_basis: "Act on Social Assistance art. 92 ust. 1",
        effective_from: SOCIAL_ASSISTANCE_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "leave_poland",
        version: 1,
        trigger: EventKind::AppealDecision,
        condition: Condition::DeliveredWithNegativeOutcome,
        period: Period::Days(30),
        starts_from: StartsFrom::Delivered,
        closed_by: &[EventKind::ProtectionGranted],
        title_en: "Leave Poland within the period for voluntary return",
        legal_basis: "Act on Foreigners art. 299 ust. 6",
        effective_from: FOREIGNERS_ACT_IN_FORCE,
        monitoring: false,
    },
    Rule {
        code: "justify_missed_interview",
        version: 1,
        trigger: EventKind::InterviewMissed,
        condition: Condition::Always,
        period: Period::Days(7),
        starts_from: StartsFrom::Occurred,
        closed_by: &[EventKind::InterviewHeld, EventKind::InterviewScheduled],
        title_en: "Justify the missed interview",
        legal_basis: "APF art. 40 ust. 2",
        effective_from: APF_IN_FORCE,
        monitoring: false,
    },
];

/// The version of rule `code` that governs a period starting `on`: the one with the latest
/// `effective_from` not after that day. `None` for an unknown code or a day before the first version.
pub fn rule_in_force(code: &str, on: NaiveDate) -> Option<&'static Rule> {
    RULES.iter().filter(|rule| rule.code == code && rule.effective_from <= on).max_by_key(|rule| rule.effective_from)
}

/// The rules, each in the version in force `on`, that an event of `kind` triggers.
pub fn rules_for(kind: EventKind, on: NaiveDate) -> impl Iterator<Item = &'static Rule> {
    RULES.iter().filter(move |rule| rule.trigger == kind && is_version_in_force(rule, on))
}

fn is_version_in_force(rule: &Rule, on: NaiveDate) -> bool {
    rule_in_force(rule.code, on).is_some_and(|current| current.version == rule.version)
}

/// One deadline of a case: which rule, which event started it, when it ends, and what met it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub rule: &'static Rule,
    pub trigger_event_id: String,
    /// The last day on which the deadline can be met, already moved off days free from work.
    pub due_on: NaiveDate,
    /// The event that met the deadline, if any; `None` means the deadline is still open or missed.
    pub closed_by_event_id: Option<String>,
}

/// Every deadline that the events of one case give rise to, ordered by due date and then rule code.
///
/// An event starts a rule when the rule's condition holds and its start date is known (a period
/// that runs from delivery waits for the delivery date). The period is computed with the version
/// of the rule in force on the start date. A deadline is met by the earliest event (by date, ties
/// by position in `events`) of a kind the rule lists in `closed_by` that happened on or after the
/// start date; an event dated earlier belongs to an earlier round of the procedure.
pub fn derive(events: &[ProcedureEvent]) -> Vec<Deadline> {
    let mut deadlines: Vec<Deadline> = events
        .iter()
        .enumerate()
        .flat_map(|(position, trigger)| {
            RULES.iter().filter_map(move |rule| deadline_from(rule, events, position, trigger))
        })
        .collect();
    deadlines.sort_by(|left, right| (left.due_on, left.rule.code).cmp(&(right.due_on, right.rule.code)));
    deadlines
}

fn deadline_from(
    rule: &'static Rule,
    events: &[ProcedureEvent],
    trigger_position: usize,
    trigger: &ProcedureEvent,
) -> Option<Deadline> {
    if rule.trigger != trigger.kind || !rule.condition.is_met_by(trigger) {
        return None;
    }
    let start = rule.starts_from.start_date(trigger)?;
    if !is_version_in_force(rule, start) {
        return None;
    }
    Some(Deadline {
        rule,
        trigger_event_id: trigger.id.clone(),
        due_on: period_end(start, rule.period)?,
        closed_by_event_id: closing_event(rule, events, trigger_position, start).map(|event| event.id.clone()),
    })
}

fn closing_event<'a>(
    rule: &Rule,
    events: &'a [ProcedureEvent],
    trigger_position: usize,
    start: NaiveDate,
) -> Option<&'a ProcedureEvent> {
    events
        .iter()
        .enumerate()
        .filter(|&(position, event)| {
            position != trigger_position && event.occurred_on >= start && rule.closed_by.contains(&event.kind)
        })
        .min_by_key(|&(position, event)| (event.occurred_on, position))
        .map(|(_, event)| event)
}

/// Where a case stands, as shown to case workers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProcedureStage {
    Registered,
    FirstInstance,
    Dublin,
    Appeal,
    CourtComplaint,
    Cassation,
    Discontinued,
    ProtectionGranted,
    FinalNegative,
}

/// The stage of the case after its latest event that says something about the stage.
///
/// Events are taken in date order (events on the same day in the order given). The mapping:
///
/// | event | stage |
/// | --- | --- |
/// | declaration_registered | registered |
/// | application_lodged, subsequent_application, interview_scheduled, interview_held, interview_missed | first_instance |
/// | tztc_issued, work_certificate_issued | first_instance after registered, otherwise unchanged |
/// | dublin_procedure_started, dublin_transfer_decision | dublin |
/// | first_instance_decision | protection_granted if it grants a stay, otherwise first_instance (until appealed) |
/// | appeal_lodged | appeal |
/// | appeal_decision | protection_granted if it grants a stay, first_instance if annulled, final_negative if negative, otherwise appeal |
/// | court_complaint_filed | court_complaint |
/// | court_judgment | appeal if annulled (the Refugee Board decides again), otherwise court_complaint |
/// | cassation_filed | cassation |
/// | procedure_discontinued | discontinued |
/// | protection_granted | protection_granted |
/// | ipi_started, left_reception_centre | unchanged |
///
/// A temporary identity certificate is renewed throughout the procedure, and a work certificate
/// may be issued while an appeal is pending, so neither moves a case back to first instance.
pub fn procedure_stage(events: &[ProcedureEvent]) -> Option<ProcedureStage> {
    let mut chronological: Vec<&ProcedureEvent> = events.iter().collect();
    chronological.sort_by_key(|event| event.occurred_on);
    chronological.into_iter().fold(None, stage_after)
}

fn stage_after(current: Option<ProcedureStage>, event: &ProcedureEvent) -> Option<ProcedureStage> {
    use EventKind as Kind;
    use ProcedureStage as Stage;
    let next = match event.kind {
        Kind::DeclarationRegistered => Stage::Registered,
        Kind::ApplicationLodged
        | Kind::SubsequentApplication
        | Kind::InterviewScheduled
        | Kind::InterviewHeld
        | Kind::InterviewMissed => Stage::FirstInstance,
        Kind::TztcIssued | Kind::WorkCertificateIssued => match current {
            None | Some(Stage::Registered) => Stage::FirstInstance,
            Some(stage) => stage,
        },
        Kind::DublinProcedureStarted | Kind::DublinTransferDecision => Stage::Dublin,
        Kind::FirstInstanceDecision => first_instance_decision_stage(event.outcome),
        Kind::AppealLodged => Stage::Appeal,
        Kind::AppealDecision => appeal_decision_stage(event.outcome),
        Kind::CourtComplaintFiled => Stage::CourtComplaint,
        Kind::CourtJudgment => court_judgment_stage(event.outcome),
        Kind::CassationFiled => Stage::Cassation,
        Kind::ProcedureDiscontinued => Stage::Discontinued,
        Kind::ProtectionGranted => Stage::ProtectionGranted,
        Kind::IpiStarted | Kind::LeftReceptionCentre => return current,
    };
    Some(next)
}

fn first_instance_decision_stage(outcome: Option<Outcome>) -> ProcedureStage {
    match outcome {
        Some(outcome) if outcome.grants_stay() => ProcedureStage::ProtectionGranted,
        _ => ProcedureStage::FirstInstance,
    }
}

fn appeal_decision_stage(outcome: Option<Outcome>) -> ProcedureStage {
    match outcome {
        Some(outcome) if outcome.grants_stay() => ProcedureStage::ProtectionGranted,
        Some(outcome) if outcome.is_negative() => ProcedureStage::FinalNegative,
        Some(Outcome::Annulled) => ProcedureStage::FirstInstance,
        _ => ProcedureStage::Appeal,
    }
}

fn court_judgment_stage(outcome: Option<Outcome>) -> ProcedureStage {
    match outcome {
        Some(Outcome::Annulled) => ProcedureStage::Appeal,
        _ => ProcedureStage::CourtComplaint,
    }
}

/// A step of the procedure that the law allows only after another one.
struct Prerequisite {
    event: EventKind,
    needs: EventKind,
    message: &'static str,
}

/// The order of remedies: an appeal lies against a first-instance decision (KPA art. 127 §1), the
/// Refugee Board decides an appeal, a complaint to the court may be filed only once the appeal has
/// been used (PPSA art. 52 §1), the court rules on a complaint, and a cassation appeal lies against
/// the court's judgment (PPSA art. 173 §1).
const PREREQUISITES: &[Prerequisite] = &[
    Prerequisite {
        event: EventKind::AppealLodged,
        needs: EventKind::FirstInstanceDecision,
        message: "an appeal needs a first-instance decision before it",
    },
    Prerequisite {
        event: EventKind::AppealDecision,
        needs: EventKind::AppealLodged,
        message: "an appeal decision needs an appeal lodged before it",
    },
    Prerequisite {
        event: EventKind::CourtComplaintFiled,
        needs: EventKind::AppealDecision,
        message: "a complaint to the administrative court needs an appeal decision before it",
    },
    Prerequisite {
        event: EventKind::CourtJudgment,
        needs: EventKind::CourtComplaintFiled,
        message: "a court judgment needs a complaint filed with the court before it",
    },
    Prerequisite {
        event: EventKind::CassationFiled,
        needs: EventKind::CourtJudgment,
        message: "a cassation appeal needs a court judgment before it",
    },
];

/// Checks that `new` can follow the `existing` events of a case where the law fixes the order:
/// each remedy needs the step it challenges on the same day or earlier, and nothing is delivered
/// before it was issued.
///
/// # Errors
///
/// A sentence for the person entering the event that says which earlier step is missing, or that
/// the delivery date is earlier than the date of the event.
pub fn check_order(existing: &[ProcedureEvent], new: &ProcedureEvent) -> Result<(), String> {
    check_delivery_date(new)?;
    PREREQUISITES.iter().filter(|prerequisite| prerequisite.event == new.kind).try_for_each(|prerequisite| {
        if has_event_by(existing, prerequisite.needs, new.occurred_on) {
            Ok(())
        } else {
            Err(prerequisite.message.to_owned())
        }
    })
}

fn check_delivery_date(event: &ProcedureEvent) -> Result<(), String> {
    match event.delivered_on {
        Some(delivered_on) if delivered_on < event.occurred_on => {
            Err("the delivery date cannot be earlier than the date of the event".to_owned())
        }
        _ => Ok(()),
    }
}

fn has_event_by(events: &[ProcedureEvent], kind: EventKind, latest: NaiveDate) -> bool {
    events.iter().any(|event| event.kind == kind && event.occurred_on <= latest)
}

#[cfg(test)]
mod tests {
    use super::calendar::is_day_off;
    use super::*;
    use chrono::Datelike;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn event(id: &str, kind: EventKind, occurred_on: NaiveDate) -> ProcedureEvent {
        ProcedureEvent { id: id.to_owned(), kind, occurred_on, delivered_on: None, outcome: None }
    }

    fn decision(
        id: &str,
        kind: EventKind,
        occurred_on: NaiveDate,
        delivered_on: Option<NaiveDate>,
        outcome: Outcome,
    ) -> ProcedureEvent {
        ProcedureEvent { delivered_on, outcome: Some(outcome), ..event(id, kind, occurred_on) }
    }

    fn deadline<'a>(deadlines: &'a [Deadline], code: &str) -> &'a Deadline {
        deadlines.iter().find(|deadline| deadline.rule.code == code).unwrap()
    }

    fn codes(deadlines: &[Deadline]) -> Vec<&'static str> {
        deadlines.iter().map(|deadline| deadline.rule.code).collect()
    }

    fn every_day_2000_to_2060() -> impl Iterator<Item = NaiveDate> {
        date(2000, 1, 1).iter_days().take_while(|day| day.year() <= 2060)
    }

    #[test]
    fn appeal_due_date_skips_labour_day_weekend_and_constitution_day() {
        let refusal = decision(
            "d1",
            EventKind::FirstInstanceDecision,
            date(2026, 4, 10),
            Some(date(2026, 4, 17)),
            Outcome::Refusal,
        );
        let deadlines = derive(&[refusal]);
        assert_eq!(codes(&deadlines), ["appeal_to_refugee_board"]);
        let appeal = &deadlines[0];
        assert_eq!(appeal.due_on, date(2026, 5, 4));
        assert_eq!(appeal.trigger_event_id, "d1");
        assert_eq!(appeal.closed_by_event_id, None);
    }

    #[test]
    fn complaint_and_departure_due_the_day_after_independence_day() {
        let upheld =
            decision("rb", EventKind::AppealDecision, date(2026, 10, 5), Some(date(2026, 10, 12)), Outcome::Upheld);
        let deadlines = derive(&[upheld]);
        assert_eq!(codes(&deadlines), ["complaint_to_administrative_court", "leave_poland"]);
        assert!(deadlines.iter().all(|deadline| deadline.due_on == date(2026, 11, 12)));
    }

    #[test]
    fn cassation_runs_thirty_days_from_delivery_of_the_judgment() {
        let dismissed =
            decision("j", EventKind::CourtJudgment, date(2026, 2, 2), Some(date(2026, 2, 9)), Outcome::Upheld);
        let deadlines = derive(&[dismissed]);
        assert_eq!(codes(&deadlines), ["cassation_to_supreme_administrative_court"]);
        assert_eq!(deadlines[0].due_on, date(2026, 3, 11));
    }

    #[test]
    fn a_month_from_31_january_ends_on_the_last_day_of_february() {
        assert_eq!(calendar_end(date(2026, 1, 31), Period::Months(1)), Some(date(2026, 2, 28)));
        // 28 February 2026 is a Saturday, so the time limit ends on Monday 2 March.
        assert_eq!(period_end(date(2026, 1, 31), Period::Months(1)), Some(date(2026, 3, 2)));
        // In a leap year the last day is the 29th, a Thursday.
        assert_eq!(period_end(date(2024, 1, 31), Period::Months(1)), Some(date(2024, 2, 29)));
    }

    #[test]
    fn a_period_past_the_representable_calendar_has_no_end() {
        assert_eq!(period_end(NaiveDate::MAX, Period::Days(1)), None);
        assert_eq!(period_end(NaiveDate::MAX, Period::Months(1)), None);
    }

    #[test]
    fn first_instance_decision_is_due_six_months_after_the_application() {
        let application = event("a", EventKind::ApplicationLodged, date(2026, 3, 16));
        let deadlines = derive(&[application]);
        assert_eq!(codes(&deadlines), ["first_instance_decision_due", "work_certificate_eligibility"]);
        let due = deadline(&deadlines, "first_instance_decision_due");
        assert!(due.rule.monitoring);
        assert_eq!(due.due_on, date(2026, 9, 16));
    }

    #[test]
    fn will_to_continue_before_the_2015_amendment_is_two_years() {
        let discontinued = event("x", EventKind::ProcedureDiscontinued, date(2015, 6, 1));
        let deadlines = derive(&[discontinued]);
        let continuation = deadline(&deadlines, "declare_will_to_continue");
        assert_eq!(continuation.rule.version, 1);
        assert_eq!(continuation.rule.period, Period::Months(24));
        assert_eq!(continuation.due_on, date(2017, 6, 1));
    }

    #[test]
    fn will_to_continue_after_the_2015_amendment_is_nine_months() {
        let discontinued = event("x", EventKind::ProcedureDiscontinued, date(2016, 6, 1));
        let deadlines = derive(&[discontinued]);
        let continuation = deadline(&deadlines, "declare_will_to_continue");
        assert_eq!(continuation.rule.version, 2);
        assert_eq!(continuation.rule.period, Period::Months(9));
        assert_eq!(continuation.due_on, date(2017, 3, 1));
    }

    #[test]
    fn the_amended_version_applies_from_the_day_it_took_effect() {
        assert_eq!(rule_in_force("declare_will_to_continue", date(2015, 11, 12)).map(|rule| rule.version), Some(1));
        assert_eq!(rule_in_force("declare_will_to_continue", date(2015, 11, 13)).map(|rule| rule.version), Some(2));
        assert_eq!(rule_in_force("declare_will_to_continue", date(2003, 8, 31)), None);
        assert_eq!(rule_in_force("no_such_rule", date(2020, 1, 1)), None);
    }

    #[test]
    fn rules_for_yields_one_version_per_rule() {
        let triggered: Vec<_> = rules_for(EventKind::ProcedureDiscontinued, date(2020, 1, 1))
            .map(|rule| (rule.code, rule.version))
            .collect();
        assert_eq!(triggered, [("declare_will_to_continue", 2)]);
        let triggered: Vec<_> = rules_for(EventKind::AppealDecision, date(2020, 1, 1)).map(|rule| rule.code).collect();
        assert_eq!(triggered, ["complaint_to_administrative_court", "leave_poland"]);
        assert_eq!(rules_for(EventKind::LeftReceptionCentre, date(2020, 1, 1)).count(), 0);
    }

    #[test]
    fn an_appeal_lodged_after_delivery_closes_the_appeal_deadline() {
        let events = [
            decision(
                "d",
                EventKind::FirstInstanceDecision,
                date(2026, 4, 10),
                Some(date(2026, 4, 17)),
                Outcome::Refusal,
            ),
            event("late", EventKind::AppealLodged, date(2026, 4, 30)),
            event("first", EventKind::AppealLodged, date(2026, 4, 24)),
        ];
        let deadlines = derive(&events);
        assert_eq!(deadline(&deadlines, "appeal_to_refugee_board").closed_by_event_id.as_deref(), Some("first"));
    }

    #[test]
    fn an_appeal_lodged_on_the_day_of_delivery_closes_the_deadline() {
        let events = [
            decision(
                "d",
                EventKind::FirstInstanceDecision,
                date(2026, 4, 10),
                Some(date(2026, 4, 17)),
                Outcome::Refusal,
            ),
            event("same_day", EventKind::AppealLodged, date(2026, 4, 17)),
        ];
        let deadlines = derive(&events);
        assert_eq!(deadline(&deadlines, "appeal_to_refugee_board").closed_by_event_id.as_deref(), Some("same_day"));
    }

    #[test]
    fn an_appeal_dated_before_delivery_does_not_close_the_deadline() {
        let events = [
            event("old", EventKind::AppealLodged, date(2026, 4, 15)),
            decision(
                "d",
                EventKind::FirstInstanceDecision,
                date(2026, 4, 10),
                Some(date(2026, 4, 17)),
                Outcome::Refusal,
            ),
        ];
        let deadlines = derive(&events);
        assert_eq!(deadline(&deadlines, "appeal_to_refugee_board").closed_by_event_id, None);
    }

    #[test]
    fn a_positive_decision_starts_no_appeal_deadline() {
        let granted = decision(
            "d",
            EventKind::FirstInstanceDecision,
            date(2026, 4, 10),
            Some(date(2026, 4, 17)),
            Outcome::RefugeeStatus,
        );
        assert!(derive(&[granted]).is_empty());
    }

    #[test]
    fn an_undelivered_refusal_starts_no_deadline_yet() {
        let refusal = decision("d", EventKind::FirstInstanceDecision, date(2026, 4, 10), None, Outcome::Refusal);
        assert!(derive(&[refusal]).is_empty());
    }

    #[test]
    fn an_annulment_by_the_refugee_board_starts_no_court_deadline() {
        let annulled =
            decision("rb", EventKind::AppealDecision, date(2026, 10, 5), Some(date(2026, 10, 12)), Outcome::Annulled);
        assert!(derive(&[annulled]).is_empty());
    }

    #[test]
    fn integration_programme_runs_from_delivery_when_known_else_from_the_decision() {
        let delivered = ProcedureEvent {
            delivered_on: Some(date(2026, 3, 2)),
            ..event("p", EventKind::ProtectionGranted, date(2026, 2, 23))
        };
        assert_eq!(derive(&[delivered])[0].due_on, date(2026, 5, 4));
        let undelivered = event("p", EventKind::ProtectionGranted, date(2026, 2, 23));
        assert_eq!(derive(&[undelivered])[0].due_on, date(2026, 4, 24));
    }

    #[test]
    fn a_missed_interview_is_met_by_a_new_interview_date() {
        let events = [
            event("miss", EventKind::InterviewMissed, date(2026, 6, 8)),
            event("new", EventKind::InterviewScheduled, date(2026, 6, 10)),
        ];
        let deadlines = derive(&events);
        let justification = deadline(&deadlines, "justify_missed_interview");
        assert_eq!(justification.due_on, date(2026, 6, 15));
        assert_eq!(justification.closed_by_event_id.as_deref(), Some("new"));
    }

    #[test]
    fn derived_deadlines_are_ordered_by_due_date_then_code() {
        let events = [
            event("a", EventKind::ApplicationLodged, date(2026, 1, 5)),
            event("miss", EventKind::InterviewMissed, date(2026, 3, 2)),
            decision("d", EventKind::FirstInstanceDecision, date(2026, 6, 1), Some(date(2026, 6, 3)), Outcome::Refusal),
        ];
        let deadlines = derive(&events);
        assert_eq!(
            codes(&deadlines),
            [
                "justify_missed_interview",
                "appeal_to_refugee_board",
                "first_instance_decision_due",
                "work_certificate_eligibility"
            ]
        );
        assert_eq!(deadline(&deadlines, "first_instance_decision_due").closed_by_event_id.as_deref(), Some("d"));
        assert_eq!(derive(&events), deadlines);
    }

    #[test]
    fn period_end_never_lands_on_a_day_off() {
        let periods = [Period::Days(7), Period::Days(14), Period::Days(30), Period::Months(6), Period::Months(9)];
        for start in every_day_2000_to_2060() {
            for period in periods {
                let end = period_end(start, period).unwrap();
                assert!(!is_day_off(end), "{start} + {period:?} = {end}");
            }
        }
    }

    #[test]
    fn a_due_date_is_never_before_the_calendar_end() {
        for start in every_day_2000_to_2060() {
            for days in [7, 14, 30, 60] {
                let end = period_end(start, Period::Days(days)).unwrap();
                assert!(end >= start + Days::new(u64::from(days)), "{start} + {days} days = {end}");
            }
            let end = period_end(start, Period::Months(6)).unwrap();
            assert!(end >= start.checked_add_months(Months::new(6)).unwrap(), "{start} + 6 months = {end}");
        }
    }

    #[test]
    fn a_due_date_moves_only_across_days_off() {
        for start in every_day_2000_to_2060() {
            let nominal = start + Days::new(14);
            let end = period_end(start, Period::Days(14)).unwrap();
            assert!(nominal.iter_days().take_while(|day| *day < end).all(is_day_off), "{start}");
        }
    }

    #[test]
    fn the_rule_table_is_consistent() {
        for rule in RULES {
            assert!(rule.code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", rule.code);
            assert!(!rule.closed_by.is_empty(), "{}", rule.code);
            assert!(!rule.closed_by.contains(&rule.trigger), "{}", rule.code);
            let first = RULES.iter().filter(|other| other.code == rule.code).min_by_key(|other| other.effective_from);
            assert_eq!(first.map(|first| first.version), Some(1), "{}", rule.code);
            assert_eq!(rule_in_force(rule.code, rule.effective_from).map(|r| r.version), Some(rule.version));
            for other in RULES.iter().filter(|other| other.code == rule.code) {
                assert_eq!(other.trigger, rule.trigger, "{}", rule.code);
                assert_eq!(other.starts_from, rule.starts_from, "{}", rule.code);
                assert_eq!(
                    other.version.cmp(&rule.version),
                    other.effective_from.cmp(&rule.effective_from),
                    "versions of {} must follow their effective dates",
                    rule.code
                );
            }
        }
    }

    #[test]
    fn stage_follows_a_refusal_through_appeal_to_final_negative() {
        let mut events = vec![
            event("r", EventKind::DeclarationRegistered, date(2026, 1, 2)),
            event("a", EventKind::ApplicationLodged, date(2026, 1, 5)),
        ];
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::FirstInstance));
        events.push(decision("d", EventKind::FirstInstanceDecision, date(2026, 5, 4), None, Outcome::Refusal));
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::FirstInstance));
        events.push(event("ap", EventKind::AppealLodged, date(2026, 5, 12)));
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::Appeal));
        events.push(event("t", EventKind::TztcIssued, date(2026, 6, 1)));
        events.push(event("c", EventKind::LeftReceptionCentre, date(2026, 6, 2)));
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::Appeal));
        events.push(decision("rb", EventKind::AppealDecision, date(2026, 8, 3), None, Outcome::Upheld));
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::FinalNegative));
        events.push(event("sk", EventKind::CourtComplaintFiled, date(2026, 9, 1)));
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::CourtComplaint));
        events.push(decision("j", EventKind::CourtJudgment, date(2027, 2, 1), None, Outcome::Annulled));
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::Appeal));
    }

    #[test]
    fn stage_uses_dates_not_the_order_of_entry() {
        let events = [
            decision("rb", EventKind::AppealDecision, date(2026, 8, 3), None, Outcome::SubsidiaryProtection),
            event("ap", EventKind::AppealLodged, date(2026, 5, 12)),
            event("ipi", EventKind::IpiStarted, date(2026, 9, 1)),
        ];
        assert_eq!(procedure_stage(&events), Some(ProcedureStage::ProtectionGranted));
    }

    #[test]
    fn stage_covers_dublin_discontinuance_and_empty_cases() {
        assert_eq!(procedure_stage(&[]), None);
        assert_eq!(procedure_stage(&[event("i", EventKind::IpiStarted, date(2026, 1, 1))]), None);
        let dublin = [
            event("a", EventKind::ApplicationLodged, date(2026, 1, 5)),
            event("du", EventKind::DublinProcedureStarted, date(2026, 2, 1)),
        ];
        assert_eq!(procedure_stage(&dublin), Some(ProcedureStage::Dublin));
        let discontinued = [
            event("a", EventKind::ApplicationLodged, date(2026, 1, 5)),
            event("x", EventKind::ProcedureDiscontinued, date(2026, 3, 1)),
        ];
        assert_eq!(procedure_stage(&discontinued), Some(ProcedureStage::Discontinued));
        let granted = [decision("d", EventKind::FirstInstanceDecision, date(2026, 5, 4), None, Outcome::RefugeeStatus)];
        assert_eq!(procedure_stage(&granted), Some(ProcedureStage::ProtectionGranted));
        let tztc_only = [event("t", EventKind::TztcIssued, date(2026, 1, 6))];
        assert_eq!(procedure_stage(&tztc_only), Some(ProcedureStage::FirstInstance));
    }

    #[test]
    fn check_order_accepts_the_remedies_in_their_legal_order() {
        let mut case = Vec::new();
        let steps = [
            event("a", EventKind::ApplicationLodged, date(2026, 1, 5)),
            decision("d", EventKind::FirstInstanceDecision, date(2026, 5, 4), Some(date(2026, 5, 6)), Outcome::Refusal),
            event("ap", EventKind::AppealLodged, date(2026, 5, 12)),
            decision("rb", EventKind::AppealDecision, date(2026, 8, 3), Some(date(2026, 8, 3)), Outcome::Upheld),
            event("sk", EventKind::CourtComplaintFiled, date(2026, 9, 1)),
            decision("j", EventKind::CourtJudgment, date(2027, 2, 1), Some(date(2027, 3, 1)), Outcome::Upheld),
            event("nsa", EventKind::CassationFiled, date(2027, 3, 30)),
        ];
        for step in steps {
            assert_eq!(check_order(&case, &step), Ok(()), "{}", step.id);
            case.push(step);
        }
    }

    #[test]
    fn check_order_rejects_a_remedy_without_the_step_it_challenges() {
        let decided = [decision(
            "d",
            EventKind::FirstInstanceDecision,
            date(2026, 5, 4),
            Some(date(2026, 5, 6)),
            Outcome::Refusal,
        )];
        let appeal_decision = decision("rb", EventKind::AppealDecision, date(2026, 8, 3), None, Outcome::Upheld);
        assert_eq!(
            check_order(&decided, &appeal_decision),
            Err("an appeal decision needs an appeal lodged before it".to_owned())
        );
        assert!(check_order(&[], &event("ap", EventKind::AppealLodged, date(2026, 5, 12))).is_err());
        assert!(check_order(&decided, &event("ap", EventKind::AppealLodged, date(2026, 5, 1))).is_err());
        assert!(check_order(&decided, &event("sk", EventKind::CourtComplaintFiled, date(2026, 9, 1))).is_err());
        assert!(check_order(&decided, &event("j", EventKind::CourtJudgment, date(2027, 2, 1))).is_err());
        assert!(check_order(&decided, &event("nsa", EventKind::CassationFiled, date(2027, 3, 30))).is_err());
    }

    #[test]
    fn check_order_rejects_delivery_before_the_decision() {
        let backdated =
            decision("d", EventKind::FirstInstanceDecision, date(2026, 5, 4), Some(date(2026, 5, 3)), Outcome::Refusal);
        assert_eq!(
            check_order(&[], &backdated),
            Err("the delivery date cannot be earlier than the date of the event".to_owned())
        );
    }
}
