//! The authorization matrix: every route of the OpenAPI document × every role × own and other
//! organisation, checked against the policy table — and the audit event each answer leaves.
//! A route without an entry here fails the test.

use casebridge::clients::model::ClientInput;
use casebridge::consents::model::ConsentInput;
use casebridge::db::{
    AppointmentId, ClientId, ConsentId, DocumentId, GrantId, Id, InterpreterId, OrganisationId, ReferralId, SessionId,
    TaskId, UserId, WebhookId,
};
use casebridge::domain::Role;
use casebridge::domain::client::{ClientStatus, HouseholdRelationship};
use casebridge::policy::{self, Action, Caller, Decision, Target};
use casebridge::procedure::model::ProcedureEventInput;
use casebridge::referrals::lifecycle::Move;
use casebridge::referrals::queries::{Change, NewReferral};
use casebridge::sessions::model::SessionInput;
use casebridge::sessions::queries::NewSession;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Account, TestApp};

/// Who a request is about.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reach {
    /// The caller's organisation (for the consortium administrator: the first organisation).
    Own,
    /// Another organisation.
    Other,
    /// Nothing organisation-specific (partners list, consortium-level records).
    Consortium,
    /// A record of the caller's own organisation that the caller wrote.
    OwnRecord,
}

/// How the policy sees a route.
enum Rule {
    /// No sign-in needed (login, health, keys).
    Public,
    /// Any signed-in user, about themselves.
    Oneself { allowed: StatusCode, audit: Option<&'static str> },
    /// Decided by the policy table.
    Policy { action: Action, reaches: &'static [Reach], allowed: StatusCode, audit: Option<&'static str> },
    /// Allowed when the table allows the first action for the consortium, or else the second
    /// for the caller's reach (a report: consortium-wide or one organisation's).
    Either { consortium: Action, action: Action, allowed: StatusCode, audit: Option<&'static str> },
    /// Something the consortium shares (an interpreter), asked about one of the organisations
    /// that share it: allowed when the table allows the action for the consortium, and then
    /// only to the organisations concerned (`Own`); another organisation's caller is refused
    /// openly (403: what is shared is no secret). The consortium administrator, who belongs to
    /// no organisation, is concerned by all.
    WorksFor { action: Action, allowed: StatusCode, audit: Option<&'static str> },
    /// No access token: a token of its own opens the route (a calendar app cannot send one). The
    /// caller is issued one, and it opens the route while the table allows its holder every one
    /// of `actions` on their own record; otherwise it answers 404, as an unknown token does —
    /// a feed that does not exist is no user being refused, so no denial is recorded (a
    /// calendar app keeps polling a stale address).
    FeedToken { actions: &'static [Action], audit: Option<&'static str> },
}

struct Case {
    method: &'static str,
    path: &'static str,
    rule: Rule,
}

const BOTH: &[Reach] = &[Reach::Own, Reach::Other];
const AUTHORED: &[Reach] = &[Reach::Own, Reach::Other, Reach::OwnRecord];

const CASES: &[Case] = &[
    Case {
        method: "put",
        path: "/api/v1/referrals/{id}/shared-documents",
        rule: Rule::Policy {
            action: Action::ShareDocuments,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.share_documents"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/referrals/{id}/shared-documents",
        rule: Rule::Policy {
            action: Action::ReadReferredClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.read_documents"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/referrals/{id}/shared-documents/{document_id}/content",
        rule: Rule::Policy {
            action: Action::ReadReferredClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("document.download"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/documents",
        rule: Rule::Policy {
            action: Action::UploadDocument,
            reaches: BOTH,
            allowed: StatusCode::CREATED,
            audit: Some("document.upload"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/documents",
        rule: Rule::Policy {
            action: Action::ListDocuments,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("document.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/documents/{id}",
        rule: Rule::Policy {
            action: Action::ReadDocument,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("document.read"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/documents/{id}/content",
        rule: Rule::Policy {
            action: Action::ReadDocument,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("document.download"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/documents/{id}",
        rule: Rule::Policy {
            action: Action::UpdateDocument,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("document.update"),
        },
    },
    Case {
        method: "delete",
        path: "/api/v1/documents/{id}",
        rule: Rule::Policy {
            action: Action::DeleteDocument,
            reaches: AUTHORED,
            allowed: StatusCode::NO_CONTENT,
            audit: Some("document.delete"),
        },
    },
    Case { method: "post", path: "/api/v1/auth/login", rule: Rule::Public },
    Case { method: "post", path: "/api/v1/auth/refresh", rule: Rule::Public },
    Case { method: "post", path: "/api/v1/auth/logout", rule: Rule::Public },
    Case { method: "post", path: "/api/v1/auth/enrol", rule: Rule::Public },
    Case {
        method: "get",
        path: "/api/v1/auth/me",
        rule: Rule::Oneself { allowed: StatusCode::OK, audit: Some("user.read") },
    },
    Case {
        method: "get",
        path: "/api/v1/auth/me/notifications",
        rule: Rule::Oneself { allowed: StatusCode::OK, audit: None },
    },
    Case {
        method: "patch",
        path: "/api/v1/auth/me/notifications",
        rule: Rule::Oneself { allowed: StatusCode::OK, audit: Some("user.notification_settings") },
    },
    Case {
        method: "post",
        path: "/api/v1/auth/password",
        // Sent with a wrong current password, so the caller's sessions survive the walk.
        rule: Rule::Oneself { allowed: StatusCode::UNPROCESSABLE_ENTITY, audit: None },
    },
    Case { method: "get", path: "/health/live", rule: Rule::Public },
    Case { method: "get", path: "/health/ready", rule: Rule::Public },
    Case { method: "get", path: "/metrics", rule: Rule::Public },
    Case { method: "get", path: "/.well-known/jwks.json", rule: Rule::Public },
    Case { method: "get", path: "/api/v1/reference", rule: Rule::Public },
    Case {
        method: "get",
        path: "/api/v1/reports/indicators",
        rule: Rule::Either {
            consortium: Action::ReadConsortiumReport,
            action: Action::ReadOrganisationReport,
            allowed: StatusCode::OK,
            audit: Some("report.indicators"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/export",
        rule: Rule::Policy {
            action: Action::ExportClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.export"),
        },
    },
    // The same route asked for the archive: documents' contents given out, under the same rule.
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/export?format=zip",
        rule: Rule::Policy {
            action: Action::ExportClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.export"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/erase",
        rule: Rule::Policy {
            action: Action::EraseClient,
            reaches: BOTH,
            allowed: StatusCode::NO_CONTENT,
            audit: Some("client.erase"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/merge",
        rule: Rule::Policy {
            action: Action::MergeClients,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.merge"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/referrals",
        rule: Rule::Policy {
            action: Action::CreateReferral,
            reaches: BOTH,
            allowed: StatusCode::CREATED,
            audit: Some("referral.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/referrals",
        rule: Rule::Policy {
            action: Action::ListReferrals,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("referral.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/referrals/changes",
        rule: Rule::Policy {
            action: Action::ListReferrals,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
    Case {
        method: "get",
        path: "/api/v1/referrals/{id}",
        rule: Rule::Policy {
            action: Action::ReadReferral,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.read"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/referrals/{id}/client",
        rule: Rule::Policy {
            action: Action::ReadReferredClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.read_shared"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/referrals/{id}/accept",
        rule: Rule::Policy {
            action: Action::RespondToReferral,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.accept"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/referrals/{id}/decline",
        rule: Rule::Policy {
            action: Action::RespondToReferral,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.decline"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/referrals/{id}/complete",
        rule: Rule::Policy {
            action: Action::RespondToReferral,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.complete"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/referrals/{id}/cancel",
        rule: Rule::Policy {
            action: Action::CancelReferral,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("referral.cancel"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/sessions",
        rule: Rule::Policy {
            action: Action::ListSessions,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("session.list"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/sessions",
        rule: Rule::Policy {
            action: Action::LogSession,
            reaches: BOTH,
            allowed: StatusCode::CREATED,
            audit: Some("session.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/sessions",
        rule: Rule::Policy {
            action: Action::ListSessions,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("session.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/sessions/counts",
        rule: Rule::Policy {
            action: Action::CountSessions,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
    Case {
        method: "get",
        path: "/api/v1/sessions/{id}",
        rule: Rule::Policy {
            action: Action::ReadSession,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("session.read"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/sessions/{id}",
        rule: Rule::Policy {
            action: Action::UpdateSession,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("session.update"),
        },
    },
    Case {
        method: "delete",
        path: "/api/v1/sessions/{id}",
        rule: Rule::Policy {
            action: Action::DeleteSession,
            reaches: AUTHORED,
            allowed: StatusCode::NO_CONTENT,
            audit: Some("session.delete"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients",
        rule: Rule::Policy {
            action: Action::ListClients,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("client.list"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients",
        rule: Rule::Policy {
            action: Action::CreateClient,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::CREATED,
            audit: Some("client.create"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/duplicate-check",
        rule: Rule::Policy {
            action: Action::ListClients,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("client.duplicate_check"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}",
        rule: Rule::Policy {
            action: Action::ReadClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.read"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/clients/{id}",
        rule: Rule::Policy {
            action: Action::UpdateClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.update"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/close",
        rule: Rule::Policy {
            action: Action::UpdateClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.close"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/reopen",
        rule: Rule::Policy {
            action: Action::UpdateClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.reopen"),
        },
    },
    Case {
        method: "put",
        path: "/api/v1/clients/{id}/household",
        rule: Rule::Policy {
            action: Action::UpdateClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.household_join"),
        },
    },
    Case {
        method: "delete",
        path: "/api/v1/clients/{id}/household",
        rule: Rule::Policy {
            action: Action::UpdateClient,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("client.household_leave"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/consents",
        rule: Rule::Policy {
            action: Action::ReadConsents,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("consent.list"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/consents",
        rule: Rule::Policy {
            action: Action::RecordConsent,
            reaches: BOTH,
            allowed: StatusCode::CREATED,
            audit: Some("consent.create"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/consents/{consent_id}/withdraw",
        rule: Rule::Policy {
            action: Action::WithdrawConsent,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("consent.withdraw"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/procedure-events",
        rule: Rule::Policy {
            action: Action::ReadProcedure,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("procedure_event.list"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/procedure-events",
        rule: Rule::Policy {
            action: Action::RecordProcedureEvent,
            reaches: BOTH,
            allowed: StatusCode::CREATED,
            audit: Some("procedure_event.create"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/clients/{id}/procedure-events/{event_id}",
        rule: Rule::Policy {
            action: Action::RecordProcedureEvent,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("procedure_event.update"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/deadlines",
        rule: Rule::Policy {
            action: Action::ListDeadlines,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("deadline.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/organisations",
        rule: Rule::Policy {
            action: Action::ListOrganisations,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
    Case {
        method: "post",
        path: "/api/v1/organisations",
        rule: Rule::Policy {
            action: Action::CreateOrganisation,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::CREATED,
            audit: Some("organisation.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/organisations/{id}",
        rule: Rule::Policy {
            action: Action::ReadOrganisation,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/organisations/{id}",
        rule: Rule::Policy {
            action: Action::UpdateOrganisation,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::OK,
            audit: Some("organisation.update"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/users",
        rule: Rule::Policy {
            action: Action::ListUsers,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::OK,
            audit: Some("user.list"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/users",
        rule: Rule::Policy {
            action: Action::CreateUser,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::CREATED,
            audit: Some("user.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/users/{id}",
        rule: Rule::Policy {
            action: Action::ReadUser,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::OK,
            audit: Some("user.read"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/users/{id}",
        rule: Rule::Policy {
            action: Action::UpdateUser,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::OK,
            audit: Some("user.update"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/users/{id}/password-reset",
        rule: Rule::Policy {
            action: Action::ResetUserPassword,
            reaches: &[Reach::Own, Reach::Other],
            allowed: StatusCode::OK,
            audit: Some("user.password_reset"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/specialty-grants",
        rule: Rule::Policy { action: Action::ListSpecialtyGrants, reaches: BOTH, allowed: StatusCode::OK, audit: None },
    },
    Case {
        method: "post",
        path: "/api/v1/specialty-grants/{id}/confirm",
        rule: Rule::Policy {
            action: Action::DecidePsychologicalGrant,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("specialty_grant.confirm"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/specialty-grants/{id}/refuse",
        rule: Rule::Policy {
            action: Action::DecidePsychologicalGrant,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("specialty_grant.refuse"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/clients/{id}/appointments",
        rule: Rule::Policy {
            action: Action::PlanAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::CREATED,
            audit: Some("appointment.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/clients/{id}/appointments",
        rule: Rule::Policy {
            action: Action::ListAppointments,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("appointment.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/appointments",
        rule: Rule::Policy {
            action: Action::ListAppointments,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("appointment.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/appointments/{id}",
        rule: Rule::Policy {
            action: Action::ReadAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("appointment.read"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/appointments/{id}",
        rule: Rule::Policy {
            action: Action::UpdateAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("appointment.update"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/appointments/{id}/confirm",
        rule: Rule::Policy {
            action: Action::UpdateAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("appointment.confirm"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/appointments/{id}/cancel",
        rule: Rule::Policy {
            action: Action::UpdateAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("appointment.cancel"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/appointments/{id}/mark-no-show",
        rule: Rule::Policy {
            action: Action::UpdateAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("appointment.no_show"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/appointments/{id}/hold",
        rule: Rule::Policy {
            action: Action::HoldAppointment,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("appointment.hold"),
        },
    },
    // The request names the organisation the interpreter works for.
    Case {
        method: "post",
        path: "/api/v1/interpreters",
        rule: Rule::Policy {
            action: Action::ManageInterpreters,
            reaches: BOTH,
            allowed: StatusCode::CREATED,
            audit: Some("interpreter.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/interpreters",
        rule: Rule::Policy {
            action: Action::ListInterpreters,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
    // Shared by the consortium: any organisation's interpreter is read alike.
    Case {
        method: "get",
        path: "/api/v1/interpreters/{id}",
        rule: Rule::Policy { action: Action::ListInterpreters, reaches: BOTH, allowed: StatusCode::OK, audit: None },
    },
    Case {
        method: "patch",
        path: "/api/v1/interpreters/{id}",
        rule: Rule::Policy {
            action: Action::ManageInterpreters,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("interpreter.update"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/interpreters/{id}/bookings",
        rule: Rule::WorksFor {
            action: Action::ListInterpreters,
            allowed: StatusCode::OK,
            audit: Some("interpreter.bookings"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/tasks",
        rule: Rule::Policy {
            action: Action::CreateTask,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::CREATED,
            audit: Some("task.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/tasks",
        rule: Rule::Policy {
            action: Action::ListTasks,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: Some("task.list"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/tasks/{id}",
        rule: Rule::Policy {
            action: Action::ReadTask,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("task.read"),
        },
    },
    Case {
        method: "patch",
        path: "/api/v1/tasks/{id}",
        rule: Rule::Policy {
            action: Action::UpdateTask,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("task.update"),
        },
    },
    Case {
        method: "delete",
        path: "/api/v1/tasks/{id}",
        rule: Rule::Policy {
            action: Action::DeleteTask,
            reaches: AUTHORED,
            allowed: StatusCode::NO_CONTENT,
            audit: Some("task.delete"),
        },
    },
    // A counselor named (`Own`, `Other`), or nobody: the caller's own agenda (`OwnRecord`).
    Case {
        method: "get",
        path: "/api/v1/agenda",
        rule: Rule::Policy {
            action: Action::ReadAgenda,
            reaches: AUTHORED,
            allowed: StatusCode::OK,
            audit: Some("agenda.read"),
        },
    },
    Case {
        method: "post",
        path: "/api/v1/agenda/feed",
        rule: Rule::Policy {
            action: Action::SubscribeCalendarFeed,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::CREATED,
            audit: Some("agenda.feed_issue"),
        },
    },
    // Asked by a caller who holds a feed, so that there is one to end.
    Case {
        method: "delete",
        path: "/api/v1/agenda/feed",
        rule: Rule::Policy {
            action: Action::SubscribeCalendarFeed,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::NO_CONTENT,
            audit: Some("agenda.feed_revoke"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/agenda.ics",
        rule: Rule::FeedToken {
            actions: &[Action::SubscribeCalendarFeed, Action::ReadAgenda],
            audit: Some("agenda.feed_read"),
        },
    },
    // The caller's own organisation's webhooks.
    Case {
        method: "post",
        path: "/api/v1/webhooks",
        rule: Rule::Policy {
            action: Action::ManageWebhooks,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::CREATED,
            audit: Some("webhook.create"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/webhooks",
        rule: Rule::Policy {
            action: Action::ManageWebhooks,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
    Case {
        method: "get",
        path: "/api/v1/webhooks/{id}",
        rule: Rule::Policy { action: Action::ManageWebhooks, reaches: BOTH, allowed: StatusCode::OK, audit: None },
    },
    Case {
        method: "patch",
        path: "/api/v1/webhooks/{id}",
        rule: Rule::Policy {
            action: Action::ManageWebhooks,
            reaches: BOTH,
            allowed: StatusCode::OK,
            audit: Some("webhook.update"),
        },
    },
    Case {
        method: "delete",
        path: "/api/v1/webhooks/{id}",
        rule: Rule::Policy {
            action: Action::ManageWebhooks,
            reaches: BOTH,
            allowed: StatusCode::NO_CONTENT,
            audit: Some("webhook.delete"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/webhooks/{id}/deliveries",
        rule: Rule::Policy { action: Action::ManageWebhooks, reaches: BOTH, allowed: StatusCode::OK, audit: None },
    },
    Case {
        method: "post",
        path: "/api/v1/webhooks/{id}/test",
        rule: Rule::Policy {
            action: Action::ManageWebhooks,
            reaches: BOTH,
            allowed: StatusCode::ACCEPTED,
            audit: Some("webhook.test"),
        },
    },
    Case {
        method: "get",
        path: "/api/v1/audit-events",
        rule: Rule::Policy {
            action: Action::ReadAuditTrail,
            reaches: &[Reach::Consortium],
            allowed: StatusCode::OK,
            audit: None,
        },
    },
];

struct World {
    own: OrganisationId,
    other: OrganisationId,
    /// A partner of `other`, for referrals between two organisations that are not the caller's.
    third: OrganisationId,
    /// Users no caller signs in as, so changes to them disturb nobody.
    own_target: UserId,
    other_target: UserId,
}

impl World {
    fn organisation(&self, reach: Reach) -> OrganisationId {
        if reach == Reach::Other { self.other } else { self.own }
    }

    fn user(&self, reach: Reach) -> UserId {
        if reach == Reach::Other { self.other_target } else { self.own_target }
    }
}

/// A client stored directly, as a fixture for one request.
fn fresh_client(app: &TestApp, organisation: OrganisationId) -> ClientId {
    let input: ClientInput = serde_json::from_value(json!({"given_names": "Aslan", "family_name": "Dudayev"})).unwrap();
    let fields = input.parse(casebridge::domain::today()).unwrap();
    app.db(|conn| {
        let reference = format!("T-{}", uuid::Uuid::now_v7().simple());
        casebridge::clients::queries::insert(conn, organisation, &reference, &fields).unwrap().id
    })
}

/// A consent of `client` (of `from`) to share identity fields with `to`, stored directly.
fn sharing_consent(
    app: &TestApp,
    world: &World,
    client: ClientId,
    from: OrganisationId,
    to: OrganisationId,
) -> ConsentId {
    let input: ConsentInput = serde_json::from_value(json!({
        "purpose": "sharing_with_partner", "partner_id": to, "scope": ["identity"],
        "given_on": "2026-11-02", "language": "ru", "form_version": "v1",
    }))
    .unwrap();
    app.db(|conn| {
        casebridge::consents::queries::insert(conn, client, from, world.own_target, &input, "ru", "v1").unwrap().id
    })
}

/// A pending (or accepted) legal referral from `from` to `to`, stored directly.
fn referral_between(
    app: &TestApp,
    world: &World,
    from: OrganisationId,
    to: OrganisationId,
    accepted: bool,
) -> ReferralId {
    let client = fresh_client(app, from);
    let consent = sharing_consent(app, world, client, from, to);
    let fields = vec!["given_names".to_owned(), "family_name".to_owned()];
    app.db(|conn| {
        let row = casebridge::referrals::queries::insert(
            conn,
            NewReferral {
                client_id: client,
                from,
                to,
                service: casebridge::domain::SessionKind::Legal,
                urgency: "routine",
                reason: "Needs a lawyer",
                shared_fields: &fields,
                consent_id: consent,
                respond_by: casebridge::domain::today() + chrono::Days::new(10),
                created_by: world.own_target,
            },
        )
        .unwrap();
        if accepted {
            let change = Change {
                by: Move::Accept,
                reason_code: None,
                reason: None,
                outcome: None,
                partner_client_id: None,
                partner_client_created: false,
            };
            casebridge::referrals::queries::transition(conn, &row, None, &change, None).unwrap();
        }
        row.id
    })
}

/// Sent by the caller's organisation (`Own`), or between two others (`Other`).
fn sent_referral(app: &TestApp, world: &World, reach: Reach, accepted: bool) -> ReferralId {
    match reach {
        Reach::Other => referral_between(app, world, world.other, world.third, accepted),
        _ => referral_between(app, world, world.own, world.other, accepted),
    }
}

/// Received by the caller's organisation (`Own`), or between two others (`Other`).
fn received_referral(app: &TestApp, world: &World, reach: Reach, accepted: bool) -> ReferralId {
    match reach {
        Reach::Other => referral_between(app, world, world.other, world.third, accepted),
        _ => referral_between(app, world, world.other, world.own, accepted),
    }
}

/// A legal session stored directly: written by the caller for `OwnRecord`, else by the
/// organisation's target user.
fn fresh_session(app: &TestApp, world: &World, reach: Reach, caller: &Account) -> SessionId {
    let organisation = world.organisation(reach);
    let author = if reach == Reach::OwnRecord { caller.id } else { world.user(reach) };
    let client = fresh_client(app, organisation);
    let input: SessionInput = serde_json::from_value(
        json!({"kind": "legal", "mode": "phone", "started_at": "2026-11-02T10:00:00Z", "duration_minutes": 30, "summary": "Advice"}),
    )
    .unwrap();
    let fields = input.parse(client, &[casebridge::domain::SessionKind::Legal], chrono::Utc::now()).unwrap();
    app.db(|conn| {
        let new = NewSession {
            id: Id::new(),
            organisation_id: organisation,
            client_id: client,
            counselor_id: author,
            fields: &fields,
            notes_ciphertext: None,
            details_ciphertext: None,
        };
        casebridge::sessions::queries::insert(conn, new).unwrap().id
    })
}

/// The master keys the test server is configured with.
fn master_keys() -> casebridge::crypto::MasterKeys {
    casebridge::crypto::MasterKeys::new(&[(
        "test-1".to_owned(),
        secrecy::SecretBox::new(Box::new(crate::helpers::MASTER_KEY)),
    )])
}

/// A document stored directly (its content sealed into the store as an upload would): uploaded
/// by the caller for `OwnRecord`, else by the organisation's target user.
fn fresh_document(app: &TestApp, world: &World, reach: Reach, caller: &Account) -> DocumentId {
    let organisation = world.organisation(reach);
    let author = if reach == Reach::OwnRecord { caller.id } else { world.user(reach) };
    stored_document(app, organisation, fresh_client(app, organisation), author)
}

/// A document of `client` stored directly, its content sealed into the store.
fn stored_document(app: &TestApp, organisation: OrganisationId, client: ClientId, author: UserId) -> DocumentId {
    use casebridge::documents::model::{DocumentInput, DocumentKind};
    use casebridge::documents::queries::{NewDocument, SessionLink};
    use casebridge::documents::sealing::{CHUNK_SIZE, ChunkSealer};
    use casebridge::documents::store::DocumentStore;
    let document_id = Id::new();
    let master = master_keys();
    let content = crate::documents::pdf(70_000);
    let storage_key = DocumentStore::key_of(client, document_id);
    let input = DocumentInput {
        kind: DocumentKind::Decision,
        title: "Decyzja".into(),
        issued_on: None,
        language: None,
        procedure_event_id: None,
        consent_id: None,
        session_id: None,
    };
    let fields = input.parse().unwrap();
    app.db(|conn| {
        let key = casebridge::crypto::keys::for_client(conn, &master, client).unwrap();
        let mut sealed = Vec::new();
        let mut sealer = ChunkSealer::new(key, document_id, CHUNK_SIZE);
        sealer.push(&content, |chunk| sealed.extend_from_slice(chunk)).unwrap();
        let summary = sealer.finish(|chunk| sealed.extend_from_slice(chunk)).unwrap();
        let path = app.data_dir().join("documents").join(&storage_key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sealed).unwrap();
        casebridge::documents::queries::insert(
            conn,
            NewDocument {
                id: document_id,
                organisation_id: organisation,
                client_id: client,
                fields: &fields,
                link: SessionLink::default(),
                sha256: &summary.sha256,
                size: summary.size as i64,
                content_type: "application/pdf",
                chunk_size: CHUNK_SIZE as i32,
                storage_key: &storage_key,
                uploaded_by: author,
            },
        )
        .unwrap()
        .id
    })
}

/// A pending referral received by the caller's organisation (`Own`) or between two others,
/// whose consent covers documents, with one document of its client shared.
fn shared_document(app: &TestApp, world: &World, reach: Reach) -> (ReferralId, DocumentId) {
    use diesel::prelude::*;
    let referral = received_referral(app, world, reach, false);
    let row = app.db(|conn| casebridge::referrals::queries::find(conn, referral).unwrap().unwrap());
    let document = stored_document(app, row.from_organisation_id, row.client_id, world.own_target);
    app.db(|conn| {
        use casebridge::db::schema::{consents, referral_documents};
        diesel::update(consents::table.find(row.consent_id))
            .set(consents::scope.eq("[\"identity\",\"documents\"]"))
            .execute(conn)
            .unwrap();
        diesel::insert_into(referral_documents::table)
            .values((referral_documents::referral_id.eq(referral), referral_documents::document_id.eq(document)))
            .execute(conn)
            .unwrap();
    });
    (referral, document)
}

/// A pending grant of the psychological specialty to a fresh user of the organisation, asked
/// for by its target user (so no caller is the requester or the grantee).
fn pending_grant(app: &TestApp, world: &World, reach: Reach) -> GrantId {
    let organisation = world.organisation(reach);
    let draft = casebridge::users::queries::NewUser {
        organisation_id: Some(organisation),
        email: casebridge::domain::Email::parse(&format!("{}@example.org", uuid::Uuid::now_v7().simple())).unwrap(),
        display_name: "Future Psychologist".into(),
        role: Role::Counselor,
        specialties: vec![],
        password_hash: String::new(),
    };
    app.db(|conn| {
        let grantee = casebridge::users::queries::insert(conn, &draft).unwrap().id;
        casebridge::grants::queries::insert(conn, organisation, grantee, world.user(reach)).unwrap().id
    })
}

/// A start time no other appointment of the walk has, on the hour: ahead (from tomorrow on),
/// or (`begun`) in the past hours, within the month back that planning accepts. Two hours apart,
/// so that no two appointments of an hour overlap on any calendar.
fn slot(begun: bool) -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    static TAKEN: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let n = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hour = chrono::Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();
    if begun { hour - TimeDelta::hours(2 + 2 * n) } else { hour + TimeDelta::hours(24 + 2 * n) }
}

/// A planned legal appointment of `client` on `counselor`'s calendar, stored directly.
fn appointment_of(
    app: &TestApp,
    organisation: OrganisationId,
    client: ClientId,
    counselor: UserId,
    begun: bool,
) -> AppointmentId {
    use casebridge::appointments::model::AppointmentInput;
    use casebridge::appointments::queries::NewAppointment;
    let input: AppointmentInput = serde_json::from_value(json!({
        "counselor_id": counselor, "kind": "legal", "mode": "in_person", "city": "Lublin",
        "starts_at": slot(begun), "duration_minutes": 60,
    }))
    .unwrap();
    let fields = input.parse(client, counselor, chrono::Utc::now()).unwrap();
    app.db(|conn| {
        let new = NewAppointment {
            id: Id::new(),
            organisation_id: organisation,
            client_id: client,
            created_by: counselor,
            fields: &fields,
        };
        casebridge::appointments::queries::insert(conn, new).unwrap().id
    })
}

/// A planned appointment on the calendar of the caller for `OwnRecord`, else of the
/// organisation's target user; begun already when asked.
fn fresh_appointment(app: &TestApp, world: &World, reach: Reach, caller: &Account, begun: bool) -> AppointmentId {
    let organisation = world.organisation(reach);
    let counselor = if reach == Reach::OwnRecord { caller.id } else { world.user(reach) };
    appointment_of(app, organisation, fresh_client(app, organisation), counselor, begun)
}

/// An interpreter working for `organisation`, stored directly.
fn fresh_interpreter(app: &TestApp, organisation: OrganisationId) -> InterpreterId {
    let input: casebridge::interpreters::model::InterpreterInput = serde_json::from_value(json!({
        "name": "Aminat Dudayeva", "languages": ["ce", "ru"], "cities": ["Lublin"], "organisation_ids": [organisation],
    }))
    .unwrap();
    let fields = input.parse().unwrap();
    app.db(|conn| casebridge::interpreters::queries::insert(conn, Id::new(), &fields).unwrap().id)
}

/// A task about a client of the organisation, assigned to its target user, stored directly:
/// written by the caller for `OwnRecord`, else by the target user.
fn fresh_task(app: &TestApp, world: &World, reach: Reach, caller: &Account) -> TaskId {
    let organisation = world.organisation(reach);
    let author = if reach == Reach::OwnRecord { caller.id } else { world.user(reach) };
    let today = casebridge::domain::today();
    let input: casebridge::tasks::model::TaskInput = serde_json::from_value(json!({
        "title": "Book an interpreter for the interview", "due_on": today + chrono::Days::new(7),
        "assignee_id": world.user(reach), "client_id": fresh_client(app, organisation),
    }))
    .unwrap();
    let fields = input.parse(today).unwrap();
    app.db(|conn| casebridge::tasks::queries::insert(conn, Id::new(), organisation, author, &fields).unwrap().id)
}

/// Where the walk's webhooks point: a public name that does not resolve here, which is accepted
/// (each delivery resolves it again).
const WEBHOOK_URL: &str = "https://partner.example.org/hook";

/// A webhook of the organisation, added by its target user, stored directly with its secret
/// sealed as creation seals it (so that the dispatcher can sign what it sends).
fn fresh_webhook(app: &TestApp, world: &World, reach: Reach) -> WebhookId {
    use casebridge::notifications::{dispatcher, signing};
    let input: casebridge::webhooks::model::WebhookInput =
        serde_json::from_value(json!({"url": WEBHOOK_URL, "event_types": ["referral_sent", "referral_accepted"]}))
            .unwrap();
    let fields = input.parse(false).unwrap();
    let id = Id::new();
    let (master_key_id, sealed) =
        master_keys().seal_secret(&dispatcher::webhook_label(id), &signing::new_secret().unwrap()).unwrap();
    let secret = casebridge::webhooks::queries::SealedSecret { master_key_id, sealed };
    app.db(|conn| {
        casebridge::webhooks::queries::insert(conn, id, world.organisation(reach), world.user(reach), &fields, secret)
            .unwrap()
            .id
    })
}

fn version_of<E>(app: &TestApp, table: &str, id: Id<E>) -> i32 {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    use diesel::RunQueryDsl;
    app.db(|conn| {
        diesel::sql_query(format!("SELECT version FROM {table} WHERE id = '{id}'"))
            .get_result::<Version>(conn)
            .unwrap()
            .version
    })
}

/// A request that the route accepts when the caller is allowed.
fn request(app: &TestApp, world: &World, case: &Case, reach: Reach, caller: &Account) -> reqwest::RequestBuilder {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let organisation = world.organisation(reach);
    let user = world.user(reach);
    match (case.method, case.path) {
        ("get", "/api/v1/auth/me") => app.get("/api/v1/auth/me"),
        ("post", "/api/v1/auth/password") => app
            .post("/api/v1/auth/password")
            .json(&json!({"current_password": "certainly not it", "new_password": "amber kettle over Vistula 2031?"})),
        ("get", "/api/v1/auth/me/notifications") => app.get("/api/v1/auth/me/notifications"),
        ("patch", "/api/v1/auth/me/notifications") => app
            .patch("/api/v1/auth/me/notifications")
            .json(&json!({"language": "uk", "email": {"referral_due_soon": false}})),
        ("get", "/api/v1/organisations") => app.get("/api/v1/organisations"),
        ("post", "/api/v1/organisations") => app.post("/api/v1/organisations").json(&json!({
            "name": "New partner", "short_name": &unique[..10], "cities": ["Poznań"],
            "services": ["integration"], "contact_email": "partner@example.org",
        })),
        ("get", "/api/v1/organisations/{id}") => app.get(&format!("/api/v1/organisations/{organisation}")),
        ("patch", "/api/v1/organisations/{id}") => app
            .patch(&format!("/api/v1/organisations/{organisation}"))
            .header("if-match", format!("\"{}\"", version_of(app, "organisations", organisation)))
            .json(&json!({"contact_email": format!("{unique}@example.org")})),
        ("get", "/api/v1/users") => app.get(&format!("/api/v1/users?organisation_id={organisation}")),
        ("post", "/api/v1/users") => app.post("/api/v1/users").json(&json!({
            "organisation_id": organisation, "email": format!("{unique}@example.org"),
            "display_name": "New Colleague", "role": "counselor",
        })),
        ("get", "/api/v1/users/{id}") => app.get(&format!("/api/v1/users/{user}")),
        ("patch", "/api/v1/users/{id}") => app
            .patch(&format!("/api/v1/users/{user}"))
            .header("if-match", format!("\"{}\"", version_of(app, "users", user)))
            .json(&json!({"display_name": format!("Renamed {unique}")})),
        ("post", "/api/v1/users/{id}/password-reset") => app.post(&format!("/api/v1/users/{user}/password-reset")),
        ("get", "/api/v1/specialty-grants") => app.get(&format!("/api/v1/specialty-grants?organisation_id={organisation}")),
        ("post", "/api/v1/specialty-grants/{id}/confirm") => {
            app.post(&format!("/api/v1/specialty-grants/{}/confirm", pending_grant(app, world, reach)))
        }
        ("post", "/api/v1/specialty-grants/{id}/refuse") => {
            app.post(&format!("/api/v1/specialty-grants/{}/refuse", pending_grant(app, world, reach)))
        }
        ("get", "/api/v1/audit-events") => app.get("/api/v1/audit-events"),
        ("get", "/api/v1/clients") => app.get("/api/v1/clients?q=dudayev"),
        ("post", "/api/v1/clients") => {
            app.post("/api/v1/clients").json(&json!({"given_names": "Aslan", "family_name": "Dudayev"}))
        }
        ("post", "/api/v1/clients/duplicate-check") => {
            app.post("/api/v1/clients/duplicate-check").json(&json!({"given_names": "Aslan", "family_name": "Dudayev"}))
        }
        ("get", "/api/v1/clients/{id}") => app.get(&format!("/api/v1/clients/{}", fresh_client(app, organisation))),
        ("patch", "/api/v1/clients/{id}") => {
            let client = fresh_client(app, organisation);
            app.patch(&format!("/api/v1/clients/{client}")).header("if-match", "\"1\"").json(&json!({"city": "Lublin"}))
        }
        ("post", "/api/v1/clients/{id}/close") => {
            let client = fresh_client(app, organisation);
            app.post(&format!("/api/v1/clients/{client}/close"))
                .header("if-match", "\"1\"")
                .json(&json!({"reason": "Moved away"}))
        }
        ("post", "/api/v1/clients/{id}/reopen") => {
            let client = fresh_client(app, organisation);
            app.db(|conn| {
                casebridge::clients::queries::set_status(conn, client, 1, ClientStatus::Closed, Some("Moved away"))
                    .unwrap()
            });
            app.post(&format!("/api/v1/clients/{client}/reopen")).header("if-match", "\"2\"")
        }
        ("put", "/api/v1/clients/{id}/household") => {
            let (client, relative) = (fresh_client(app, organisation), fresh_client(app, organisation));
            app.request(Method::PUT, &format!("/api/v1/clients/{client}/household"))
                .json(&json!({"with_client_id": relative, "relationship": "child"}))
        }
        ("delete", "/api/v1/clients/{id}/household") => {
            let client = fresh_client(app, organisation);
            app.db(|conn| {
                casebridge::clients::queries::set_household(
                    conn,
                    client,
                    Some((Id::new(), HouseholdRelationship::Head)),
                )
                .unwrap()
            });
            app.request(Method::DELETE, &format!("/api/v1/clients/{client}/household"))
        }
        ("get", "/api/v1/clients/{id}/consents") => {
            app.get(&format!("/api/v1/clients/{}/consents", fresh_client(app, organisation)))
        }
        ("post", "/api/v1/clients/{id}/consents") => app
            .post(&format!("/api/v1/clients/{}/consents", fresh_client(app, organisation)))
            .json(&json!({"purpose": "processing", "given_on": "2026-01-05", "language": "ru", "form_version": "v1"})),
        ("post", "/api/v1/clients/{id}/consents/{consent_id}/withdraw") => {
            let client = fresh_client(app, organisation);
            let consent = app.db(|conn| {
                let input: ConsentInput = serde_json::from_value(
                    json!({"purpose": "processing", "given_on": "2026-01-05", "language": "ru", "form_version": "v1"}),
                )
                .unwrap();
                casebridge::consents::queries::insert(conn, client, organisation, world.own_target, &input, "ru", "v1")
                    .unwrap()
                    .id
            });
            app.post(&format!("/api/v1/clients/{client}/consents/{consent}/withdraw"))
        }
        ("get", "/api/v1/clients/{id}/procedure-events") => {
            app.get(&format!("/api/v1/clients/{}/procedure-events", fresh_client(app, organisation)))
        }
        ("post", "/api/v1/clients/{id}/procedure-events") => app
            .post(&format!("/api/v1/clients/{}/procedure-events", fresh_client(app, organisation)))
            .json(&json!({"kind": "application_lodged", "occurred_on": "2026-02-02"})),
        ("patch", "/api/v1/clients/{id}/procedure-events/{event_id}") => {
            let client = fresh_client(app, organisation);
            let event = app.db(|conn| {
                let input: ProcedureEventInput =
                    serde_json::from_value(json!({"kind": "application_lodged", "occurred_on": "2026-02-02"})).unwrap();
                let fields = input.parse(casebridge::domain::today()).unwrap();
                casebridge::procedure::queries::insert_event(conn, client, organisation, world.own_target, &fields)
                    .unwrap()
                    .id
            });
            app.patch(&format!("/api/v1/clients/{client}/procedure-events/{event}"))
                .header("if-match", "\"1\"")
                .json(&json!({"authority": "Szef Urzędu do Spraw Cudzoziemców"}))
        }
        ("get", "/api/v1/deadlines") => app.get("/api/v1/deadlines?within_days=30"),
        ("get", "/api/v1/reports/indicators") => app.get("/api/v1/reports/indicators?from=2026-11-01&to=2026-11-30"),
        ("get", "/api/v1/clients/{id}/export") => {
            app.get(&format!("/api/v1/clients/{}/export", fresh_client(app, organisation)))
        }
        ("get", "/api/v1/clients/{id}/export?format=zip") => {
            let client = fresh_client(app, organisation);
            stored_document(app, organisation, client, world.user(reach));
            app.get(&format!("/api/v1/clients/{client}/export?format=zip"))
        }
        ("post", "/api/v1/clients/{id}/erase") => app
            .post(&format!("/api/v1/clients/{}/erase", fresh_client(app, organisation)))
            .json(&json!({"reason": "Request of the client"})),
        ("post", "/api/v1/clients/{id}/merge") => app
            .post(&format!("/api/v1/clients/{}/merge", fresh_client(app, organisation)))
            .header("if-match", "\"1\"")
            .json(&json!({"duplicate_id": fresh_client(app, organisation), "duplicate_version": 1})),
        ("post", "/api/v1/referrals") => {
            let (from, to) = if reach == Reach::Other { (world.other, world.own) } else { (world.own, world.other) };
            let client = fresh_client(app, from);
            let consent = sharing_consent(app, world, client, from, to);
            app.post("/api/v1/referrals").json(&json!({
                "client_id": client, "to_organisation_id": to, "service": "legal", "urgency": "routine",
                "reason": "Needs representation before the Refugee Board", "shared_fields": ["given_names", "family_name"],
                "consent_id": consent,
            }))
        }
        ("get", "/api/v1/referrals") => app.get("/api/v1/referrals?box=inbox"),
        ("get", "/api/v1/referrals/changes") => app.get("/api/v1/referrals/changes?after=0"),
        ("get", "/api/v1/referrals/{id}") => app.get(&format!("/api/v1/referrals/{}", sent_referral(app, world, reach, false))),
        ("post", "/api/v1/referrals/{id}/cancel") => app
            .post(&format!("/api/v1/referrals/{}/cancel", sent_referral(app, world, reach, false)))
            .header("if-match", "\"1\"")
            .json(&json!({"reason": "Resolved otherwise"})),
        ("get", "/api/v1/referrals/{id}/client") => {
            app.get(&format!("/api/v1/referrals/{}/client", received_referral(app, world, reach, false)))
        }
        ("post", "/api/v1/referrals/{id}/accept") => app
            .post(&format!("/api/v1/referrals/{}/accept", received_referral(app, world, reach, false)))
            .header("if-match", "\"1\"")
            .json(&json!({})),
        ("post", "/api/v1/referrals/{id}/decline") => app
            .post(&format!("/api/v1/referrals/{}/decline", received_referral(app, world, reach, false)))
            .header("if-match", "\"1\"")
            .json(&json!({"reason_code": "no_capacity"})),
        ("post", "/api/v1/referrals/{id}/complete") => app
            .post(&format!("/api/v1/referrals/{}/complete", received_referral(app, world, reach, true)))
            .header("if-match", "\"2\"")
            .json(&json!({"outcome": "Appeal drafted and lodged"})),
        ("get", "/api/v1/clients/{id}/sessions") => {
            app.get(&format!("/api/v1/clients/{}/sessions", fresh_client(app, organisation)))
        }
        ("post", "/api/v1/clients/{id}/sessions") => app
            .post(&format!("/api/v1/clients/{}/sessions", fresh_client(app, organisation)))
            .json(&json!({"kind": "other", "mode": "in_person", "started_at": "2026-11-02T10:00:00Z", "duration_minutes": 50})),
        ("get", "/api/v1/sessions") => app.get("/api/v1/sessions?kind=legal"),
        ("get", "/api/v1/sessions/counts") => app.get("/api/v1/sessions/counts?from=2026-01-01&to=2026-12-31"),
        ("get", "/api/v1/sessions/{id}") => app.get(&format!("/api/v1/sessions/{}", fresh_session(app, world, reach, caller))),
        ("patch", "/api/v1/sessions/{id}") => app
            .patch(&format!("/api/v1/sessions/{}", fresh_session(app, world, reach, caller)))
            .header("if-match", "\"1\"")
            .json(&json!({"summary": "Corrected summary"})),
        ("delete", "/api/v1/sessions/{id}") => {
            app.request(Method::DELETE, &format!("/api/v1/sessions/{}", fresh_session(app, world, reach, caller)))
        }
        ("post", "/api/v1/clients/{id}/documents") => {
            let meta = crate::documents::metadata();
            let file = crate::documents::pdf(3000);
            let body = crate::documents::multipart(&[
                (Some("metadata"), None, "application/json", &meta),
                (Some("file"), Some("d.pdf"), "application/pdf", &file),
            ]);
            app.post(&format!("/api/v1/clients/{}/documents", fresh_client(app, organisation)))
                .header("content-type", format!("multipart/form-data; boundary={}", crate::documents::BOUNDARY))
                .body(body)
        }
        ("get", "/api/v1/clients/{id}/documents") => {
            app.get(&format!("/api/v1/clients/{}/documents", fresh_client(app, organisation)))
        }
        ("get", "/api/v1/documents/{id}") => {
            app.get(&format!("/api/v1/documents/{}", fresh_document(app, world, reach, caller)))
        }
        ("get", "/api/v1/documents/{id}/content") => {
            app.get(&format!("/api/v1/documents/{}/content", fresh_document(app, world, reach, caller)))
        }
        ("patch", "/api/v1/documents/{id}") => app
            .patch(&format!("/api/v1/documents/{}", fresh_document(app, world, reach, caller)))
            .header("if-match", "\"1\"")
            .json(&json!({"title": "Decyzja Rady do Spraw Uchodźców"})),
        ("delete", "/api/v1/documents/{id}") => {
            app.request(Method::DELETE, &format!("/api/v1/documents/{}", fresh_document(app, world, reach, caller)))
        }
        ("put", "/api/v1/referrals/{id}/shared-documents") => app
            .request(Method::PUT, &format!("/api/v1/referrals/{}/shared-documents", sent_referral(app, world, reach, false)))
            .json(&json!({"document_ids": []})),
        ("get", "/api/v1/referrals/{id}/shared-documents") => {
            app.get(&format!("/api/v1/referrals/{}/shared-documents", shared_document(app, world, reach).0))
        }
        ("get", "/api/v1/referrals/{id}/shared-documents/{document_id}/content") => {
            let (referral, document) = shared_document(app, world, reach);
            app.get(&format!("/api/v1/referrals/{referral}/shared-documents/{document}/content"))
        }
        ("post", "/api/v1/clients/{id}/appointments") => {
            // On the calendar of the organisation's target user, or (`OwnRecord`) the caller's own.
            let mut body = json!({
                "kind": "legal", "mode": "in_person", "city": "Lublin", "starts_at": slot(false),
                "duration_minutes": 60,
            });
            if reach != Reach::OwnRecord {
                body["counselor_id"] = json!(user);
            }
            app.post(&format!("/api/v1/clients/{}/appointments", fresh_client(app, organisation))).json(&body)
        }
        ("get", "/api/v1/clients/{id}/appointments") => {
            let client = fresh_client(app, organisation);
            appointment_of(app, organisation, client, user, false);
            app.get(&format!("/api/v1/clients/{client}/appointments"))
        }
        ("get", "/api/v1/appointments") => app.get("/api/v1/appointments?status=planned"),
        ("get", "/api/v1/appointments/{id}") => {
            app.get(&format!("/api/v1/appointments/{}", fresh_appointment(app, world, reach, caller, false)))
        }
        ("patch", "/api/v1/appointments/{id}") => app
            .patch(&format!("/api/v1/appointments/{}", fresh_appointment(app, world, reach, caller, false)))
            .header("if-match", "\"1\"")
            .json(&json!({"location": "Room 2, ul. Narutowicza 8"})),
        ("post", "/api/v1/appointments/{id}/confirm") => app
            .post(&format!("/api/v1/appointments/{}/confirm", fresh_appointment(app, world, reach, caller, false)))
            .header("if-match", "\"1\""),
        ("post", "/api/v1/appointments/{id}/cancel") => app
            .post(&format!("/api/v1/appointments/{}/cancel", fresh_appointment(app, world, reach, caller, false)))
            .header("if-match", "\"1\"")
            .json(&json!({"reason": "The client moved to another reception centre"})),
        ("post", "/api/v1/appointments/{id}/mark-no-show") => app
            .post(&format!("/api/v1/appointments/{}/mark-no-show", fresh_appointment(app, world, reach, caller, true)))
            .header("if-match", "\"1\""),
        ("post", "/api/v1/appointments/{id}/hold") => app
            .post(&format!("/api/v1/appointments/{}/hold", fresh_appointment(app, world, reach, caller, true)))
            .header("if-match", "\"1\"")
            .json(&json!({"summary": "Appeal explained"})),
        ("post", "/api/v1/interpreters") => app.post("/api/v1/interpreters").json(&json!({
            "name": "Aminat Dudayeva", "languages": ["ce", "ru"], "cities": ["Lublin"],
            "organisation_ids": [organisation],
        })),
        ("get", "/api/v1/interpreters") => app.get("/api/v1/interpreters?language=ce"),
        ("get", "/api/v1/interpreters/{id}") => {
            app.get(&format!("/api/v1/interpreters/{}", fresh_interpreter(app, organisation)))
        }
        ("patch", "/api/v1/interpreters/{id}") => app
            .patch(&format!("/api/v1/interpreters/{}", fresh_interpreter(app, organisation)))
            .header("if-match", "\"1\"")
            .json(&json!({"phone": "+48 600 100 200"})),
        ("get", "/api/v1/interpreters/{id}/bookings") => {
            // Booked by the organisation it works for, so that there is booked time to show.
            let interpreter = fresh_interpreter(app, organisation);
            let client = fresh_client(app, organisation);
            let booked = appointment_of(app, organisation, client, user, false);
            app.db(|conn| {
                use diesel::prelude::*;
                use casebridge::db::schema::appointments;
                diesel::update(appointments::table.find(booked))
                    .set((appointments::interpreter_needed.eq(true), appointments::interpreter_id.eq(interpreter)))
                    .execute(conn)
                    .unwrap()
            });
            app.get(&format!("/api/v1/interpreters/{interpreter}/bookings"))
        }
        ("post", "/api/v1/tasks") => app.post("/api/v1/tasks").json(&json!({
            "title": "Book an interpreter for the interview",
            "due_on": casebridge::domain::today() + chrono::Days::new(7),
        })),
        ("get", "/api/v1/tasks") => app.get("/api/v1/tasks?done=false"),
        ("get", "/api/v1/tasks/{id}") => app.get(&format!("/api/v1/tasks/{}", fresh_task(app, world, reach, caller))),
        ("patch", "/api/v1/tasks/{id}") => app
            .patch(&format!("/api/v1/tasks/{}", fresh_task(app, world, reach, caller)))
            .header("if-match", "\"1\"")
            .json(&json!({"title": "Book a Chechen interpreter for the interview"})),
        ("delete", "/api/v1/tasks/{id}") => {
            app.request(Method::DELETE, &format!("/api/v1/tasks/{}", fresh_task(app, world, reach, caller)))
        }
        ("get", "/api/v1/agenda") => match reach {
            Reach::OwnRecord => app.get("/api/v1/agenda"),
            _ => app.get(&format!("/api/v1/agenda?counselor_id={user}")),
        },
        ("post", "/api/v1/agenda/feed") => app.post("/api/v1/agenda/feed"),
        ("delete", "/api/v1/agenda/feed") => {
            app.db(|conn| casebridge::agenda::feed::issue(conn, caller.id).unwrap());
            app.request(Method::DELETE, "/api/v1/agenda/feed")
        }
        ("get", "/api/v1/agenda.ics") => {
            let (token, _) = app.db(|conn| casebridge::agenda::feed::issue(conn, caller.id).unwrap());
            app.get(&format!("/api/v1/agenda.ics?token={token}"))
        }
        ("post", "/api/v1/webhooks") => {
            // An organisation has at most ten webhooks, and the walk adds many to the caller's:
            // room for this one, wherever the case stands in the table.
            if let Some(own) = caller.organisation_id {
                use casebridge::db::schema::webhooks;
                use diesel::prelude::*;
                app.db(|conn| {
                    diesel::delete(webhooks::table.filter(webhooks::organisation_id.eq(own))).execute(conn).unwrap()
                });
            }
            app.post("/api/v1/webhooks").json(&json!({
                "url": WEBHOOK_URL, "event_types": ["referral_sent", "deadline_due_soon"],
                "description": "Case system of the partner",
            }))
        }
        ("get", "/api/v1/webhooks") => app.get("/api/v1/webhooks?limit=20"),
        ("get", "/api/v1/webhooks/{id}") => app.get(&format!("/api/v1/webhooks/{}", fresh_webhook(app, world, reach))),
        ("patch", "/api/v1/webhooks/{id}") => app
            .patch(&format!("/api/v1/webhooks/{}", fresh_webhook(app, world, reach)))
            .header("if-match", "\"1\"")
            .json(&json!({"description": "Case system of the partner", "active": false})),
        ("delete", "/api/v1/webhooks/{id}") => {
            app.request(Method::DELETE, &format!("/api/v1/webhooks/{}", fresh_webhook(app, world, reach)))
        }
        ("get", "/api/v1/webhooks/{id}/deliveries") => {
            app.get(&format!("/api/v1/webhooks/{}/deliveries?status=pending", fresh_webhook(app, world, reach)))
        }
        ("post", "/api/v1/webhooks/{id}/test") => {
            app.post(&format!("/api/v1/webhooks/{}/test", fresh_webhook(app, world, reach)))
        }
        (method, path) => panic!("no request for {method} {path}"),
    }
}

fn target(case: &Case, caller: &Account, world: &World, reach: Reach) -> Target {
    // Records someone wrote (a session, a document, a task), and what is on someone's calendar
    // (an appointment, the one planned, an agenda).
    let authored =
        ["/api/v1/sessions/{id}", "/api/v1/documents/{id}", "/api/v1/appointments/{id}", "/api/v1/tasks/{id}"]
            .iter()
            .any(|prefix| case.path.starts_with(prefix))
            || (case.path == "/api/v1/clients/{id}/appointments" && case.method == "post")
            || case.path == "/api/v1/agenda";
    let receiving =
        case.path.starts_with("/api/v1/referrals/{id}/") && !case.path.ends_with("/cancel") && case.method != "put";
    let referral_seen_from = if reach == Reach::Other { world.other } else { world.own };
    match reach {
        // No organisation of the world has a psychologist; no caller asked for or receives it.
        Reach::Own | Reach::Other if case.path.starts_with("/api/v1/specialty-grants/{id}") => {
            Target::grant(world.organisation(reach), Id::new(), world.user(reach), false)
        }
        Reach::Own | Reach::Other if receiving => {
            let to = if reach == Reach::Other { world.third } else { world.own };
            Target::service(to, casebridge::domain::SessionKind::Legal)
        }
        Reach::Own | Reach::Other if case.path.starts_with("/api/v1/referrals/{id}") => {
            Target::organisation(referral_seen_from)
        }
        Reach::Own | Reach::Other if case.path == "/api/v1/referrals" && case.method == "post" => {
            Target::organisation(referral_seen_from)
        }
        Reach::Own | Reach::Other if authored => Target::record(world.organisation(reach), world.user(reach)),
        Reach::Own | Reach::Other => Target::organisation(world.organisation(reach)),
        Reach::OwnRecord => Target::record(world.own, caller.id),
        Reach::Consortium => Target::owned_by(caller.organisation_id),
    }
}

/// What the policy table answers this caller for this case.
fn decision(case: &Case, as_caller: Caller, caller: &Account, world: &World, reach: Reach) -> Decision {
    match &case.rule {
        Rule::Public | Rule::Oneself { .. } => Decision::Allow,
        Rule::Policy { action, .. } => policy::decide(as_caller, *action, target(case, caller, world, reach)),
        Rule::Either { consortium, action, .. } => {
            if policy::decide(as_caller, *consortium, Target::consortium()) == Decision::Allow {
                Decision::Allow
            } else {
                policy::decide(as_caller, *action, target(case, caller, world, reach))
            }
        }
        Rule::WorksFor { action, .. } => match policy::decide(as_caller, *action, Target::consortium()) {
            Decision::Allow if reach == Reach::Other && caller.organisation_id.is_some() => Decision::Forbidden,
            decided => decided,
        },
        Rule::FeedToken { actions, .. } => {
            let own = Target { author_id: Some(caller.id), ..Target::owned_by(caller.organisation_id) };
            actions
                .iter()
                .map(|action| policy::decide(as_caller, *action, own))
                .find(|decided| *decided != Decision::Allow)
                .unwrap_or(Decision::Allow)
        }
    }
}

/// A route opened by a token of its own answers nothing without one: neither to no token, nor
/// to an access token (as a bearer or in the token's place), nor to a token nobody was issued.
async fn no_feed_token_opens(app: &TestApp, case: &Case, signed_in: &Account) {
    let feed_reads = match &case.rule {
        Rule::FeedToken { audit: Some(action), .. } => Some(app.audit_count(action)),
        _ => None,
    };
    let method = Method::from_bytes(case.method.to_uppercase().as_bytes()).unwrap();
    let unknown = uuid::Uuid::now_v7().simple().to_string();
    let attempts = [
        ("no token", app.request(method.clone(), case.path), StatusCode::BAD_REQUEST),
        (
            "an access token as a bearer",
            app.request(method.clone(), case.path).bearer_auth(&signed_in.token),
            StatusCode::BAD_REQUEST,
        ),
        (
            "an access token as the token",
            app.request(method.clone(), &format!("{}?token={}", case.path, signed_in.token)),
            StatusCode::NOT_FOUND,
        ),
        (
            "an unknown token",
            app.request(method.clone(), &format!("{}?token={unknown}", case.path)),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (what, attempt, expected) in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), expected, "{} {} with {what}", case.method, case.path);
    }
    if let (Rule::FeedToken { audit: Some(action), .. }, Some(before)) = (&case.rule, feed_reads) {
        assert_eq!(app.audit_count(action), before, "{} {}: no {action} event", case.method, case.path);
    }
}

/// A legal counselor for whom the psychological specialty was asked and not yet confirmed.
async fn pending_psychologist(app: &TestApp, admin: &Account, organisation: OrganisationId) -> Account {
    let counselor = app.create_user(admin, Some(organisation), "counselor").await;
    let path = format!("/api/v1/users/{}", counselor.id);
    let etag = app.get(&path).bearer_auth(&admin.token).send().await.unwrap().headers()["etag"].clone();
    let asked = app
        .patch(&path)
        .bearer_auth(&admin.token)
        .header("if-match", etag)
        .json(&json!({"specialties": ["legal", "psychological"]}))
        .send()
        .await
        .unwrap();
    let user: serde_json::Value = asked.json().await.unwrap();
    assert_eq!(user["pending_specialties"], json!(["psychological"]));
    counselor
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_table_says() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let own = app.create_organisation(&admin, "OWN").await;
    let other = app.create_organisation(&admin, "OTHER").await;
    let third = app.create_organisation(&admin, "THIRD").await;
    let world = World {
        own,
        other,
        third,
        own_target: app.create_user(&admin, Some(own), "counselor").await.id,
        other_target: app.create_user(&admin, Some(other), "counselor").await.id,
    };
    let callers = [
        (Role::ConsortiumAdmin, admin.clone()),
        (Role::Coordinator, app.create_user(&admin, Some(own), "coordinator").await),
        (Role::Counselor, app.create_user(&admin, Some(own), "counselor").await),
        (Role::Analyst, app.create_user(&admin, Some(own), "analyst").await),
        // A pending psychological grant gives no access: the policy answers as for a lawyer.
        (Role::Counselor, pending_psychologist(&app, &admin, own).await),
    ];

    let document = serde_json::to_value(casebridge::openapi::document()).unwrap();
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if !CASES.iter().any(|c| c.method == method && c.path == path) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "routes without a matrix entry: {missing:?}");

    let mut checked = 0;
    for case in CASES {
        let (reaches, allowed, audit) = match &case.rule {
            Rule::Public => continue,
            Rule::Oneself { allowed, audit } | Rule::Either { allowed, audit, .. } => {
                (&[Reach::Consortium][..], *allowed, *audit)
            }
            Rule::Policy { reaches, allowed, audit, .. } => (*reaches, *allowed, *audit),
            Rule::WorksFor { allowed, audit, .. } => (BOTH, *allowed, *audit),
            Rule::FeedToken { audit, .. } => (&[Reach::OwnRecord][..], StatusCode::OK, *audit),
        };
        let by_token = matches!(case.rule, Rule::FeedToken { .. });
        for reach in reaches {
            if by_token {
                no_feed_token_opens(&app, case, &admin).await;
            } else {
                let anonymous = request(&app, &world, case, *reach, &admin).send().await.unwrap();
                assert_eq!(
                    anonymous.status(),
                    StatusCode::UNAUTHORIZED,
                    "{} {} without a token",
                    case.method,
                    case.path
                );
            }
            for (role, caller) in &callers {
                let as_caller = Caller {
                    role: *role,
                    organisation_id: caller.organisation_id,
                    user_id: Some(caller.id),
                    specialties: casebridge::domain::Specialties::of(&[casebridge::domain::SessionKind::Legal]),
                };
                let decision = decision(case, as_caller, caller, &world, *reach);
                let denials = app.audit_count("permission.denied");
                let recorded = audit.map(|a| app.audit_count(a));
                let mut sent = request(&app, &world, case, *reach, caller);
                if !by_token {
                    sent = sent.bearer_auth(&caller.token);
                }
                let response = sent.send().await.unwrap();
                let status = response.status();
                let what = format!("{} {} as {role:?} on {reach:?}", case.method, case.path);
                let expected = match decision {
                    Decision::Allow => allowed,
                    // A feed its holder may not read is no feed.
                    _ if by_token => StatusCode::NOT_FOUND,
                    Decision::Forbidden => StatusCode::FORBIDDEN,
                    Decision::Hidden => StatusCode::NOT_FOUND,
                };
                assert_eq!(status, expected, "{what}: {}", response.text().await.unwrap());
                if decision == Decision::Allow {
                    assert_eq!(app.audit_count("permission.denied"), denials, "{what}: no denial recorded");
                    if let (Some(action), Some(before)) = (audit, recorded) {
                        assert_eq!(app.audit_count(action), before + 1, "{what}: exactly one {action} event");
                    }
                } else if by_token {
                    assert_eq!(app.audit_count("permission.denied"), denials, "{what}: no denial recorded");
                    if let (Some(action), Some(before)) = (audit, recorded) {
                        assert_eq!(app.audit_count(action), before, "{what}: no {action} event");
                    }
                } else {
                    assert_eq!(app.audit_count("permission.denied"), denials + 1, "{what}: exactly one denial event");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} combinations checked");
}

#[tokio::test]
async fn public_routes_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let expectations = [
        (
            "/api/v1/auth/login",
            json!({"email": "nobody@example.org", "password": "wrong password"}),
            StatusCode::UNAUTHORIZED,
        ),
        ("/api/v1/auth/refresh", json!({"refresh_token": "unknown"}), StatusCode::UNAUTHORIZED),
        ("/api/v1/auth/logout", json!({"refresh_token": "unknown"}), StatusCode::NO_CONTENT),
        (
            "/api/v1/auth/enrol",
            json!({"token": "unknown", "password": "amber kettle over Vistula 2031?"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for case in CASES.iter().filter(|c| matches!(c.rule, Rule::Public)) {
        let method = Method::from_bytes(case.method.to_uppercase().as_bytes()).unwrap();
        let mut request = app.request(method, case.path);
        let mut expected = StatusCode::OK;
        if let Some((_, body, status)) = expectations.iter().find(|(path, _, _)| *path == case.path) {
            request = request.json(body);
            expected = *status;
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected, "{} {}", case.method, case.path);
    }
}
