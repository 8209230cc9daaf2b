//! The one permission table: role × action → scope. Every handler asks `decide`; nothing else
//! in the code compares roles. What is not in the table is denied.

use crate::db::{OrganisationId, UserId};
use crate::domain::{Role, SessionKind, Specialties};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ListOrganisations,
    ReadOrganisation,
    CreateOrganisation,
    UpdateOrganisation,
    ListUsers,
    ReadUser,
    CreateUser,
    UpdateUser,
    /// Changing a user's role or specialties: never one's own.
    ChangeUserPermissions,
    /// Ending a user's password and issuing them a new enrolment token.
    ResetUserPassword,
    /// Creating a user with, or changing a user to, the consortium administrator role.
    GrantConsortiumAdmin,
    /// Asking for a user to be given the psychological specialty (it stays pending until a
    /// second person decides).
    RequestPsychologicalGrant,
    /// Confirming or refusing such a request: the second person.
    DecidePsychologicalGrant,
    ListSpecialtyGrants,
    ReadAuditTrail,
    CreateClient,
    ListClients,
    ReadClient,
    UpdateClient,
    RecordConsent,
    ReadConsents,
    WithdrawConsent,
    RecordProcedureEvent,
    ReadProcedure,
    ListDeadlines,
    LogSession,
    ListSessions,
    ReadSession,
    /// Seeing a psychological session at all (SPEC §2.5: even that it exists is confidential).
    ReadPsychologicalSession,
    UpdateSession,
    DeleteSession,
    CountSessions,
    CreateReferral,
    ListReferrals,
    ReadReferral,
    /// Accepting, declining or completing a referral addressed to the caller's organisation.
    RespondToReferral,
    CancelReferral,
    /// The shared fields of a client referred to the caller's organisation.
    ReadReferredClient,
    /// Adding a document to a client's case file.
    UploadDocument,
    ListDocuments,
    /// A document's metadata and its content (each download is audited).
    ReadDocument,
    UpdateDocument,
    DeleteDocument,
    /// Choosing which documents the partner of a referral sees (the sending organisation).
    ShareDocuments,
    /// Everything held about one client (GDPR Art. 15/20).
    ExportClient,
    /// Irreversible anonymisation of a client (GDPR Art. 17).
    EraseClient,
    /// Moving the file of a duplicate record into the record of the same person that stays.
    MergeClients,
    /// Aggregate indicators of one organisation (no personal data).
    ReadOrganisationReport,
    /// Aggregate indicators of every organisation, with small cells suppressed.
    ReadConsortiumReport,
    /// Aggregates of the caller's organisation with every count exact, small ones included: for
    /// staff who hold its records anyway. Everyone else's aggregates show counts of 1-4 as "<5".
    ReadExactFigures,
    /// Being the assigned counselor of a client of the organisation (the caller is the user
    /// to be assigned).
    HoldCaseload,
    /// Putting an appointment on a counselor's calendar (the target's author is that counselor).
    PlanAppointment,
    ListAppointments,
    ReadAppointment,
    /// Changing, confirming, cancelling an appointment or marking the client absent.
    UpdateAppointment,
    /// Marking an appointment held, which logs its session in the counselor's name.
    HoldAppointment,
    /// Adding interpreters and changing them (the target: an organisation they work for).
    ManageInterpreters,
    /// The consortium's interpreters and their booked time (never whose appointment it is).
    ListInterpreters,
    CreateTask,
    ListTasks,
    ReadTask,
    UpdateTask,
    DeleteTask,
    /// Having tasks assigned (the caller is the user to be assigned).
    TakeTasks,
    /// A counselor's agenda (the target's author is that counselor).
    ReadAgenda,
    /// Holding a calendar feed of one's own agenda.
    SubscribeCalendarFeed,
    /// The organisation's webhooks: adding, changing, removing, testing them and reading their
    /// delivery log.
    ManageWebhooks,
}

/// How far an allowed action reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Any organisation, and things that belong to none.
    Any,
    /// Things of the caller's own organisation.
    OwnOrganisation,
    /// Things that belong to no organisation (consortium-level records).
    Consortium,
    /// Records of the caller's own organisation that the caller wrote.
    OwnRecord,
    /// The psychological tier: records of the caller's own organisation that the caller wrote,
    /// or any of them when the caller holds the psychological specialty.
    PsychologicalTier,
    /// Things of the caller's own organisation that ask for a service among the caller's
    /// specialties (answering a referral).
    Qualified,
    /// Things of the caller's own organisation, for psychologists only (refused openly to
    /// colleagues without the specialty).
    Psychologists,
    /// Users other than the caller, in any organisation.
    Others,
    /// Users of the caller's own organisation other than the caller.
    OthersInOwnOrganisation,
    /// A grant of the psychological specialty, decided by a psychologist of its organisation
    /// who neither asked for it nor receives it.
    SecondPsychologist,
    /// The same, decided by someone who neither asked for it nor receives it, where the
    /// organisation has no psychologist yet who could.
    SecondPersonWhereNoPsychologist,
}

use Action::*;
use Role::*;
use Scope::*;

const TABLE: &[(Role, Action, Scope)] = &[
    (ConsortiumAdmin, ListOrganisations, Any),
    (ConsortiumAdmin, ReadOrganisation, Any),
    (ConsortiumAdmin, CreateOrganisation, Any),
    (ConsortiumAdmin, UpdateOrganisation, Any),
    (ConsortiumAdmin, ListUsers, Any),
    (ConsortiumAdmin, ReadUser, Any),
    (ConsortiumAdmin, CreateUser, Any),
    (ConsortiumAdmin, UpdateUser, Any),
    (ConsortiumAdmin, ChangeUserPermissions, Others),
    (ConsortiumAdmin, ResetUserPassword, Any),
    (ConsortiumAdmin, GrantConsortiumAdmin, Others),
    (ConsortiumAdmin, RequestPsychologicalGrant, Others),
    (ConsortiumAdmin, DecidePsychologicalGrant, SecondPersonWhereNoPsychologist),
    (ConsortiumAdmin, ListSpecialtyGrants, Any),
    (ConsortiumAdmin, ReadConsortiumReport, Any),
    (ConsortiumAdmin, ManageInterpreters, Any),
    (ConsortiumAdmin, ListInterpreters, Any),
    // Separation of duties: the administrator holds no client records and audits
    // consortium-level actions only (an organisation's trail reveals which clients it serves).
    (ConsortiumAdmin, ReadAuditTrail, Consortium),
    (Coordinator, ListOrganisations, Any),
    (Coordinator, ReadOrganisation, Any),
    (Coordinator, ListUsers, OwnOrganisation),
    (Coordinator, ReadUser, OwnOrganisation),
    (Coordinator, CreateUser, OwnOrganisation),
    (Coordinator, UpdateUser, OwnOrganisation),
    (Coordinator, ChangeUserPermissions, OthersInOwnOrganisation),
    (Coordinator, ResetUserPassword, OwnOrganisation),
    (Coordinator, RequestPsychologicalGrant, OthersInOwnOrganisation),
    (Coordinator, DecidePsychologicalGrant, SecondPsychologist),
    (Coordinator, ListSpecialtyGrants, OwnOrganisation),
    (Coordinator, ReadAuditTrail, OwnOrganisation),
    (Coordinator, CreateClient, OwnOrganisation),
    (Coordinator, ListClients, OwnOrganisation),
    (Coordinator, ReadClient, OwnOrganisation),
    (Coordinator, UpdateClient, OwnOrganisation),
    (Coordinator, RecordConsent, OwnOrganisation),
    (Coordinator, ReadConsents, OwnOrganisation),
    (Coordinator, WithdrawConsent, OwnOrganisation),
    (Coordinator, RecordProcedureEvent, OwnOrganisation),
    (Coordinator, ReadProcedure, OwnOrganisation),
    (Coordinator, ListDeadlines, OwnOrganisation),
    (Coordinator, LogSession, OwnOrganisation),
    (Coordinator, ListSessions, OwnOrganisation),
    (Coordinator, ReadSession, OwnOrganisation),
    (Coordinator, ReadPsychologicalSession, PsychologicalTier),
    (Coordinator, UpdateSession, OwnOrganisation),
    (Coordinator, DeleteSession, OwnRecord),
    (Coordinator, CountSessions, OwnOrganisation),
    (Coordinator, CreateReferral, OwnOrganisation),
    (Coordinator, ListReferrals, OwnOrganisation),
    (Coordinator, ReadReferral, OwnOrganisation),
    (Coordinator, RespondToReferral, OwnOrganisation),
    (Coordinator, CancelReferral, OwnOrganisation),
    (Coordinator, ReadReferredClient, OwnOrganisation),
    (Coordinator, UploadDocument, OwnOrganisation),
    (Coordinator, ListDocuments, OwnOrganisation),
    (Coordinator, ReadDocument, OwnOrganisation),
    (Coordinator, UpdateDocument, OwnOrganisation),
    (Coordinator, DeleteDocument, OwnOrganisation),
    (Coordinator, ShareDocuments, OwnOrganisation),
    (Coordinator, ExportClient, OwnOrganisation),
    (Coordinator, EraseClient, OwnOrganisation),
    (Coordinator, MergeClients, OwnOrganisation),
    (Coordinator, ReadOrganisationReport, OwnOrganisation),
    (Coordinator, ReadExactFigures, OwnOrganisation),
    (Coordinator, HoldCaseload, OwnOrganisation),
    (Coordinator, PlanAppointment, OwnOrganisation),
    (Coordinator, ListAppointments, OwnOrganisation),
    (Coordinator, ReadAppointment, OwnOrganisation),
    (Coordinator, UpdateAppointment, OwnOrganisation),
    // Holding logs a session in the counselor's name: only they do it.
    (Coordinator, HoldAppointment, OwnRecord),
    (Coordinator, ManageInterpreters, OwnOrganisation),
    (Coordinator, ListInterpreters, Any),
    (Coordinator, CreateTask, OwnOrganisation),
    (Coordinator, ListTasks, OwnOrganisation),
    (Coordinator, ReadTask, OwnOrganisation),
    (Coordinator, UpdateTask, OwnOrganisation),
    (Coordinator, DeleteTask, OwnOrganisation),
    (Coordinator, TakeTasks, OwnOrganisation),
    (Coordinator, ReadAgenda, OwnOrganisation),
    (Coordinator, SubscribeCalendarFeed, OwnOrganisation),
    (Coordinator, ManageWebhooks, OwnOrganisation),
    (Counselor, ListOrganisations, Any),
    (Counselor, ReadOrganisation, Any),
    (Counselor, ListUsers, OwnOrganisation),
    (Counselor, ReadUser, OwnOrganisation),
    (Counselor, DecidePsychologicalGrant, SecondPsychologist),
    (Counselor, ListSpecialtyGrants, PsychologicalTier),
    (Counselor, CreateClient, OwnOrganisation),
    (Counselor, ListClients, OwnOrganisation),
    (Counselor, ReadClient, OwnOrganisation),
    (Counselor, UpdateClient, OwnOrganisation),
    (Counselor, RecordConsent, OwnOrganisation),
    (Counselor, ReadConsents, OwnOrganisation),
    (Counselor, WithdrawConsent, OwnOrganisation),
    (Counselor, RecordProcedureEvent, OwnOrganisation),
    (Counselor, ReadProcedure, OwnOrganisation),
    (Counselor, ListDeadlines, OwnOrganisation),
    (Counselor, LogSession, OwnOrganisation),
    (Counselor, ListSessions, OwnOrganisation),
    (Counselor, ReadSession, OwnOrganisation),
    (Counselor, ReadPsychologicalSession, PsychologicalTier),
    (Counselor, UpdateSession, OwnRecord),
    (Counselor, DeleteSession, OwnRecord),
    (Counselor, CountSessions, OwnOrganisation),
    (Counselor, ReadExactFigures, OwnOrganisation),
    (Counselor, HoldCaseload, OwnOrganisation),
    // Counselors keep their own calendars; coordinators plan for everyone.
    (Counselor, PlanAppointment, OwnRecord),
    (Counselor, ListAppointments, OwnOrganisation),
    (Counselor, ReadAppointment, OwnOrganisation),
    (Counselor, UpdateAppointment, OwnRecord),
    (Counselor, HoldAppointment, OwnRecord),
    (Counselor, ListInterpreters, Any),
    (Counselor, CreateTask, OwnOrganisation),
    (Counselor, ListTasks, OwnOrganisation),
    (Counselor, ReadTask, OwnOrganisation),
    (Counselor, UpdateTask, OwnOrganisation),
    // A counselor removes the tasks they wrote; a coordinator any of the organisation's.
    (Counselor, DeleteTask, OwnRecord),
    (Counselor, TakeTasks, OwnOrganisation),
    (Counselor, ReadAgenda, OwnRecord),
    (Counselor, SubscribeCalendarFeed, OwnOrganisation),
    (Counselor, CreateReferral, OwnOrganisation),
    (Counselor, ListReferrals, OwnOrganisation),
    (Counselor, ReadReferral, OwnOrganisation),
    (Counselor, RespondToReferral, Qualified),
    (Counselor, CancelReferral, OwnOrganisation),
    (Counselor, ReadReferredClient, OwnOrganisation),
    (Counselor, UploadDocument, OwnOrganisation),
    (Counselor, ListDocuments, OwnOrganisation),
    (Counselor, ReadDocument, OwnOrganisation),
    (Counselor, UpdateDocument, OwnOrganisation),
    // A counselor removes the documents they added; a coordinator any of the organisation's.
    (Counselor, DeleteDocument, OwnRecord),
    (Counselor, ShareDocuments, OwnOrganisation),
    // A client's psychological sessions are exported by a psychologist (SPEC §2.5).
    (Counselor, ExportClient, Psychologists),
    // Analysts see aggregates only: no personal data, so no user records either.
    (Analyst, ListOrganisations, Any),
    (Analyst, ReadOrganisation, Any),
    (Analyst, CountSessions, OwnOrganisation),
    (Analyst, ReadOrganisationReport, OwnOrganisation),
];

/// Actions allowed only for a while after the record was written, beside the table: after the
/// window the record is corrected instead (409).
const WINDOWS: &[(Action, chrono::TimeDelta)] = &[(DeleteSession, chrono::TimeDelta::hours(24))];

/// Whether `action` is still open for a record written at `written_at`; actions without a
/// window always are.
pub fn within_window(action: Action, written_at: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> bool {
    WINDOWS.iter().find(|(a, _)| *a == action).is_none_or(|(_, window)| now - written_at <= *window)
}

/// Who is asking, as far as the policy cares.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub role: Role,
    pub organisation_id: Option<OrganisationId>,
    pub user_id: Option<UserId>,
    pub specialties: Specialties,
}

impl Caller {
    pub fn psychologist(&self) -> bool {
        self.specialties.contains(SessionKind::Psychological)
    }
}

/// What the action is applied to: the organisation that owns it (none for consortium-level
/// things) and, for records someone wrote, their author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub organisation_id: Option<OrganisationId>,
    /// The author of a record; for a grant, who asked for it.
    pub author_id: Option<UserId>,
    /// The service asked for (referrals), for rules that depend on the caller's specialties.
    pub service: Option<SessionKind>,
    /// The user the action changes (users and grants).
    pub user_id: Option<UserId>,
    /// For a grant of the psychological specialty: whether its organisation has a psychologist.
    pub has_psychologist: bool,
}

const NOTHING: Target =
    Target { organisation_id: None, author_id: None, service: None, user_id: None, has_psychologist: false };

impl Target {
    pub fn organisation(id: OrganisationId) -> Self {
        Self { organisation_id: Some(id), ..NOTHING }
    }

    pub fn owned_by(organisation_id: Option<OrganisationId>) -> Self {
        Self { organisation_id, ..NOTHING }
    }

    pub fn consortium() -> Self {
        NOTHING
    }

    pub fn service(organisation_id: OrganisationId, service: SessionKind) -> Self {
        Self { organisation_id: Some(organisation_id), service: Some(service), ..NOTHING }
    }

    pub fn record(organisation_id: OrganisationId, author_id: UserId) -> Self {
        Self { organisation_id: Some(organisation_id), author_id: Some(author_id), ..NOTHING }
    }

    /// A user (`None` for one about to be created) of an organisation (`None`: of none).
    pub fn user(organisation_id: Option<OrganisationId>, user_id: Option<UserId>) -> Self {
        Self { organisation_id, user_id, ..NOTHING }
    }

    /// A grant of the psychological specialty to `user_id`, asked for by `requested_by`.
    pub fn grant(
        organisation_id: OrganisationId,
        user_id: UserId,
        requested_by: UserId,
        has_psychologist: bool,
    ) -> Self {
        Self {
            organisation_id: Some(organisation_id),
            author_id: Some(requested_by),
            user_id: Some(user_id),
            has_psychologist,
            ..NOTHING
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The role may never do this: 403.
    Forbidden,
    /// The role may do this, but not to this target, whose existence is not revealed: 404.
    Hidden,
}

pub fn scope(role: Role, action: Action) -> Option<Scope> {
    TABLE.iter().find(|(r, a, _)| *r == role && *a == action).map(|(_, _, scope)| *scope)
}

pub fn decide(caller: Caller, action: Action, target: Target) -> Decision {
    let Some(scope) = scope(caller.role, action) else {
        return Decision::Forbidden;
    };
    let own_organisation = caller.organisation_id.is_some() && target.organisation_id == caller.organisation_id;
    let own_record = caller.user_id.is_some() && target.author_id == caller.user_id;
    let oneself = caller.user_id.is_some() && target.user_id == caller.user_id;
    // Neither the one who asked for a grant nor the one who receives it.
    let second_person = !own_record && !oneself;
    // Outside the caller's organisation nothing is revealed (404). Inside it, a record the caller
    // may not act on is refused openly (403) — except in the psychological tier, where even its
    // existence is confidential.
    let (reaches, inside) = match scope {
        Any => (true, true),
        OwnOrganisation => (own_organisation, false),
        Consortium => (target.organisation_id.is_none(), false),
        OwnRecord => (own_organisation && own_record, own_organisation),
        PsychologicalTier => (own_organisation && (own_record || caller.psychologist()), false),
        Qualified => (
            own_organisation && target.service.is_some_and(|service| caller.specialties.contains(service)),
            own_organisation,
        ),
        Psychologists => (own_organisation && caller.psychologist(), own_organisation),
        Others => (!oneself, true),
        OthersInOwnOrganisation => (own_organisation && !oneself, own_organisation),
        SecondPsychologist => (own_organisation && caller.psychologist() && second_person, own_organisation),
        SecondPersonWhereNoPsychologist => (!target.has_psychologist && second_person, true),
    };
    match (reaches, inside) {
        (true, _) => Decision::Allow,
        (false, true) => Decision::Forbidden,
        (false, false) => Decision::Hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Id;

    fn caller(role: Role, organisation_id: Option<OrganisationId>) -> Caller {
        Caller { role, organisation_id, user_id: Some(Id::new()), specialties: Specialties::default() }
    }

    #[test]
    fn the_psychological_tier_reaches_authors_and_psychologists_only() {
        let organisation = Id::new();
        let author = caller(Counselor, Some(organisation));
        let session = Target::record(organisation, author.user_id.unwrap());
        assert_eq!(decide(author, ReadPsychologicalSession, session), Decision::Allow);
        let colleague = caller(Counselor, Some(organisation));
        assert_eq!(decide(colleague, ReadPsychologicalSession, session), Decision::Hidden);
        let psychologist = Caller { specialties: Specialties::of(&[SessionKind::Psychological]), ..colleague };
        assert_eq!(decide(psychologist, ReadPsychologicalSession, session), Decision::Allow);
        let coordinator = caller(Coordinator, Some(organisation));
        assert_eq!(decide(coordinator, ReadPsychologicalSession, session), Decision::Hidden);
        let elsewhere = Caller {
            specialties: Specialties::of(&[SessionKind::Psychological]),
            ..caller(Counselor, Some(Id::new()))
        };
        assert_eq!(decide(elsewhere, ReadPsychologicalSession, session), Decision::Hidden);
    }

    #[test]
    fn exact_small_counts_are_for_staff_who_hold_the_records() {
        let organisation = Id::new();
        let own = Target::owned_by(Some(organisation));
        for role in [Coordinator, Counselor] {
            assert_eq!(decide(caller(role, Some(organisation)), ReadExactFigures, own), Decision::Allow);
            assert_ne!(decide(caller(role, Some(Id::new())), ReadExactFigures, own), Decision::Allow);
        }
        assert_ne!(decide(caller(Analyst, Some(organisation)), ReadExactFigures, own), Decision::Allow);
        assert_ne!(decide(caller(ConsortiumAdmin, None), ReadExactFigures, own), Decision::Allow);
    }

    #[test]
    fn nobody_changes_their_own_permissions() {
        let organisation = Id::new();
        let coordinator = caller(Coordinator, Some(organisation));
        let own = Target::user(Some(organisation), coordinator.user_id);
        assert_eq!(decide(coordinator, ChangeUserPermissions, own), Decision::Forbidden);
        assert_eq!(decide(coordinator, RequestPsychologicalGrant, own), Decision::Forbidden);
        let colleague = Target::user(Some(organisation), Some(Id::new()));
        assert_eq!(decide(coordinator, ChangeUserPermissions, colleague), Decision::Allow);
        let admin = caller(ConsortiumAdmin, None);
        assert_eq!(decide(admin, ChangeUserPermissions, Target::user(None, admin.user_id)), Decision::Forbidden);
        assert_eq!(decide(admin, ChangeUserPermissions, colleague), Decision::Allow);
    }

    #[test]
    fn a_psychological_grant_takes_a_second_person() {
        let organisation = Id::new();
        let coordinator = caller(Coordinator, Some(organisation));
        let grantee = Id::new();
        let grant =
            |has_psychologist| Target::grant(organisation, grantee, coordinator.user_id.unwrap(), has_psychologist);
        let psychologist = Caller {
            specialties: Specialties::of(&[SessionKind::Psychological]),
            ..caller(Counselor, Some(organisation))
        };
        assert_eq!(decide(psychologist, DecidePsychologicalGrant, grant(true)), Decision::Allow);
        let requester_psychologist = Caller { specialties: psychologist.specialties, ..coordinator };
        assert_eq!(decide(requester_psychologist, DecidePsychologicalGrant, grant(true)), Decision::Forbidden);
        let grantee_psychologist = Caller { user_id: Some(grantee), ..psychologist };
        assert_eq!(decide(grantee_psychologist, DecidePsychologicalGrant, grant(true)), Decision::Forbidden);
        let plain_counselor = caller(Counselor, Some(organisation));
        assert_eq!(decide(plain_counselor, DecidePsychologicalGrant, grant(true)), Decision::Forbidden);
        let elsewhere = Caller { organisation_id: Some(Id::new()), ..psychologist };
        assert_eq!(decide(elsewhere, DecidePsychologicalGrant, grant(true)), Decision::Hidden);
        let admin = caller(ConsortiumAdmin, None);
        assert_eq!(decide(admin, DecidePsychologicalGrant, grant(false)), Decision::Allow);
        assert_eq!(decide(admin, DecidePsychologicalGrant, grant(true)), Decision::Forbidden);
        let requesting_admin = caller(ConsortiumAdmin, None);
        let asked_by_admin = Target::grant(organisation, grantee, requesting_admin.user_id.unwrap(), false);
        assert_eq!(decide(requesting_admin, DecidePsychologicalGrant, asked_by_admin), Decision::Forbidden);
    }

    #[test]
    fn a_session_can_be_deleted_for_a_day_after_it_was_logged() {
        let logged = chrono::NaiveDate::from_ymd_opt(2026, 3, 28).unwrap().and_hms_opt(23, 30, 0).unwrap();
        assert!(within_window(DeleteSession, logged, logged + chrono::TimeDelta::hours(24)));
        assert!(!within_window(
            DeleteSession,
            logged,
            logged + chrono::TimeDelta::hours(24) + chrono::TimeDelta::seconds(1)
        ));
        assert!(within_window(UpdateSession, logged, logged + chrono::TimeDelta::days(400)));
    }

    #[test]
    fn only_counselors_and_coordinators_of_the_organisation_hold_a_caseload() {
        let organisation = Id::new();
        let own = Target::organisation(organisation);
        for role in [Counselor, Coordinator] {
            assert_eq!(decide(caller(role, Some(organisation)), HoldCaseload, own), Decision::Allow);
            assert_eq!(decide(caller(role, Some(Id::new())), HoldCaseload, own), Decision::Hidden);
        }
        assert_eq!(decide(caller(Analyst, Some(organisation)), HoldCaseload, own), Decision::Forbidden);
        assert_eq!(decide(caller(ConsortiumAdmin, None), HoldCaseload, own), Decision::Forbidden);
    }

    #[test]
    fn each_role_and_action_has_at_most_one_entry() {
        for (i, (role, action, _)) in TABLE.iter().enumerate() {
            assert!(
                !TABLE[i + 1..].iter().any(|(r, a, _)| r == role && a == action),
                "{role:?} × {action:?} appears twice"
            );
        }
    }

    #[test]
    fn coordinator_reaches_own_organisation_only() {
        let own = Id::new();
        let other = Id::new();
        let coordinator = caller(Coordinator, Some(own));
        assert_eq!(decide(coordinator, ReadUser, Target::organisation(own)), Decision::Allow);
        assert_eq!(decide(coordinator, ReadUser, Target::organisation(other)), Decision::Hidden);
        assert_eq!(decide(coordinator, ReadUser, Target::consortium()), Decision::Hidden);
    }

    #[test]
    fn what_the_table_omits_is_forbidden() {
        let analyst = caller(Analyst, Some(Id::new()));
        assert_eq!(decide(analyst, ListUsers, Target::consortium()), Decision::Forbidden);
        let coordinator = caller(Coordinator, Some(Id::new()));
        assert_eq!(decide(coordinator, GrantConsortiumAdmin, Target::consortium()), Decision::Forbidden);
    }

    #[test]
    fn a_caller_without_organisation_never_matches_own_organisation_scope() {
        let orphan = caller(Counselor, None);
        assert_eq!(decide(orphan, ListUsers, Target::consortium()), Decision::Hidden);
    }
}
