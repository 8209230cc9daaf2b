//! Closed lists of procedure events and decision outcomes that the deadline engine works on.
//!
//! The lists are closed on purpose: every kind of event has to be mapped to the rules that it
//! triggers or closes, and an open string would let an unmapped kind slip through unnoticed.

use chrono::NaiveDate;

crate::domain::closed_list! {
    /// Something that happened in a protection procedure and that the law attaches consequences to.
    EventKind {
        /// The Border Guard registered the intention to apply for protection.
        DeclarationRegistered,
        /// The application for international protection was lodged.
        ApplicationLodged,
        /// The temporary identity certificate of a foreigner (TZTC) was issued.
        TztcIssued,
        /// Another member state was asked to take charge under the Dublin III Regulation.
        DublinProcedureStarted,
        /// A decision on transfer to the member state responsible.
        DublinTransferDecision,
        /// The Office for Foreigners set a date for the personal interview.
        InterviewScheduled,
        /// The personal interview took place.
        InterviewHeld,
        /// The applicant did not appear for the interview.
        InterviewMissed,
        /// The Head of the Office for Foreigners decided the case.
        FirstInstanceDecision,
        /// An appeal against the first-instance decision was lodged with the Refugee Board.
        AppealLodged,
        /// The Refugee Board decided the appeal.
        AppealDecision,
        /// A complaint against the Refugee Board's decision was filed with the administrative court.
        CourtComplaintFiled,
        /// The voivodeship administrative court gave judgment.
        CourtJudgment,
        /// A cassation appeal was filed with the Supreme Administrative Court.
        CassationFiled,
        /// A subsequent application for protection was lodged after a final decision.
        SubsequentApplication,
        /// The procedure was discontinued (for example after the applicant left the centre).
        ProcedureDiscontinued,
        /// The certificate that allows the applicant to work was issued.
        WorkCertificateIssued,
        /// A form of protection was granted.
        ProtectionGranted,
        /// The individual integration programme (IPI) started.
        IpiStarted,
        /// The applicant left the reception centre.
        LeftReceptionCentre,
    }
}

crate::domain::closed_list! {
    /// What a decision or judgment said, as far as deadlines depend on it.
    Outcome {
        RefugeeStatus,
        SubsidiaryProtection,
        HumanitarianStay,
        ToleratedStay,
        Refusal,
        Discontinued,
        Inadmissible,
        /// The higher authority or court upheld the decision under review.
        Upheld,
        /// The higher authority or court annulled the decision under review and sent the case back.
        Annulled,
    }
}

impl Outcome {
    /// Whether the outcome leaves the applicant without protection, which is what opens the
    /// time limit for the next remedy.
    pub fn is_negative(self) -> bool {
        matches!(self, Self::Refusal | Self::Discontinued | Self::Inadmissible | Self::Upheld)
    }

    /// Whether the outcome gives the applicant a right to stay: a form of international protection
    /// or one of the national forms of stay.
    pub fn grants_stay(self) -> bool {
        matches!(self, Self::RefugeeStatus | Self::SubsidiaryProtection | Self::HumanitarianStay | Self::ToleratedStay)
    }
}

/// One procedure event as the engine needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcedureEvent {
    /// Opaque identifier chosen by the caller, echoed back in derived deadlines.
    pub id: String,
    pub kind: EventKind,
    /// The date the event happened (for a decision: the date it was issued).
    pub occurred_on: NaiveDate,
    /// The date a decision was delivered to the applicant; time limits for remedies run from it.
    pub delivered_on: Option<NaiveDate>,
    pub outcome: Option<Outcome>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use strum::IntoEnumIterator;

    #[test]
    fn event_kinds_round_trip_through_their_snake_case_names() {
        for kind in EventKind::iter() {
            let name: &'static str = kind.into();
            assert_eq!(EventKind::from_str(name), Ok(kind));
        }
        assert_eq!(EventKind::from_str("tztc_issued"), Ok(EventKind::TztcIssued));
    }

    #[test]
    fn negative_and_stay_granting_outcomes_do_not_overlap() {
        for outcome in Outcome::iter() {
            assert!(!(outcome.is_negative() && outcome.grants_stay()), "{outcome:?}");
        }
        assert!(!Outcome::Annulled.is_negative());
        assert!(!Outcome::Annulled.grants_stay());
    }
}
