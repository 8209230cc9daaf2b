//! Referrals: wire types and rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::{referral_events, referrals};
use crate::db::{ClientId, ConsentId, List, OrganisationId, ReferralEventId, ReferralId, UserId};
use crate::domain::{SessionKind, closed_list};

closed_list! { Urgency { Routine, Urgent, Emergency } }

closed_list! { ReferralStatus { Pending, Accepted, Declined, Cancelled, Completed, Expired } }

closed_list! {
    DeclineReason { NoCapacity, ServiceNotOffered, OutsideArea, ClientUnreachable, Duplicate, Other }
}

closed_list! {
    /// What happened to a referral, as the change feed reports it. `consent_withdrawn`: the
    /// client withdrew the consent the referral rests on — the partner deletes what it holds
    /// from it (its record created from the shared fields has already lost them).
    /// `client_erased`: the sender erased the client's record (GDPR Art. 17(2), 19) — the
    /// partner decides on erasing its own record of the client.
    ReferralEventKind { Created, Accepted, Declined, Cancelled, Completed, Expired, ConsentWithdrawn, ClientErased }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: ReferralId,
    pub client_id: ClientId,
    pub from_organisation_id: OrganisationId,
    pub to_organisation_id: OrganisationId,
    pub service: SessionKind,
    pub urgency: Urgency,
    pub reason: String,
    #[diesel(deserialize_as = List<String>)]
    pub shared_fields: Vec<String>,
    pub consent_id: ConsentId,
    pub status: ReferralStatus,
    pub status_reason_code: Option<String>,
    pub status_reason: Option<String>,
    pub respond_by: NaiveDate,
    pub partner_client_id: Option<ClientId>,
    pub outcome: Option<String>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub declined_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub expired_at: Option<NaiveDateTime>,
    pub version: i32,
    /// Accepting created `partner_client_id` from the shared fields (rather than linking a
    /// record the partner already held).
    pub partner_client_created: bool,
}

impl ReferralRow {
    pub fn service(&self) -> QueryResult<SessionKind> {
        Ok(self.service)
    }

    /// The status as of `today`: a pending referral past its answer date has expired, whether
    /// or not the background job has recorded that yet.
    pub fn status_on(&self, today: NaiveDate) -> QueryResult<ReferralStatus> {
        let stored = self.status;
        Ok(if stored == ReferralStatus::Pending && self.respond_by < today { ReferralStatus::Expired } else { stored })
    }

    /// Due today: still pending on its answer date, the last day to answer. The day after, it is
    /// expired instead (SPEC §2.6).
    fn is_due_on(&self, today: NaiveDate, status: ReferralStatus) -> bool {
        status == ReferralStatus::Pending && self.respond_by == today
    }

    /// The view of one side. The receiving organisation never sees the sender's client id.
    pub fn view(self, today: NaiveDate, for_sender: bool) -> QueryResult<Referral> {
        let status = self.status_on(today)?;
        Ok(Referral {
            service: self.service()?,
            urgency: self.urgency,
            due_today: self.is_due_on(today, status),
            shared_fields: self.shared_fields,
            status,
            id: self.id,
            client_id: for_sender.then_some(self.client_id),
            from_organisation_id: self.from_organisation_id,
            to_organisation_id: self.to_organisation_id,
            reason: self.reason,
            consent_id: for_sender.then_some(self.consent_id),
            status_reason_code: self.status_reason_code,
            status_reason: self.status_reason,
            respond_by: self.respond_by,
            partner_client_id: if for_sender { None } else { self.partner_client_id },
            outcome: self.outcome,
            created_by: self.created_by,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            accepted_at: self.accepted_at.map(|t| t.and_utc()),
            declined_at: self.declined_at.map(|t| t.and_utc()),
            cancelled_at: self.cancelled_at.map(|t| t.and_utc()),
            completed_at: self.completed_at.map(|t| t.and_utc()),
            expired_at: self.expired_at.map(|t| t.and_utc()),
            version: self.version,
            history: Vec::new(),
        })
    }
}

/// A request from one organisation to another to serve a client (SPEC §2.6).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Referral {
    pub id: ReferralId,
    /// The sender's client record (shown to the sender only).
    pub client_id: Option<ClientId>,
    pub from_organisation_id: OrganisationId,
    pub to_organisation_id: OrganisationId,
    pub service: SessionKind,
    pub urgency: Urgency,
    pub reason: String,
    /// Client fields the partner may see while the referral is open.
    pub shared_fields: Vec<String>,
    /// The consent the sharing rests on (shown to the sender only).
    pub consent_id: Option<ConsentId>,
    pub status: ReferralStatus,
    pub status_reason_code: Option<String>,
    pub status_reason: Option<String>,
    /// The day the partner should answer by.
    pub respond_by: NaiveDate,
    /// Pending and `respond_by` is today: the answer date has come and this is the last day to
    /// answer. From the next day the referral is `expired`.
    pub due_today: bool,
    /// The partner's own client record, once accepted (shown to the partner only).
    pub partner_client_id: Option<ClientId>,
    /// The partner's closing summary (never session notes).
    pub outcome: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub version: i32,
    /// Every transition with actor, time and reason (in answers about one referral).
    pub history: Vec<ReferralEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    pub client_id: ClientId,
    pub to_organisation_id: OrganisationId,
    pub service: SessionKind,
    pub urgency: Urgency,
    #[schema(max_length = 2000)]
    pub reason: String,
    /// Client field names the partner may see; each must belong to a field group the consent
    /// covers (identity: names, date of birth, sex, nationalities, languages, identifiers;
    /// contact: phone, email, city, accommodation; procedure: procedure_stage, deadlines;
    /// vulnerabilities). The household is never shared.
    #[schema(example = json!(["given_names", "family_name", "languages", "procedure_stage"]))]
    pub shared_fields: Vec<String>,
    pub consent_id: ConsentId,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// An existing client of the accepting organisation to link; without it a new client
    /// record is created from the shared fields.
    #[serde(default)]
    pub client_id: Option<ClientId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    pub reason_code: DeclineReason,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// What was done, for the sender: a summary, never session notes.
    #[schema(max_length = 4000)]
    pub outcome: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mailbox {
    /// Referrals received by the caller's organisation.
    Inbox,
    /// Referrals sent by the caller's organisation.
    Outbox,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReferralFilter {
    #[param(inline)]
    pub r#box: Mailbox,
    pub status: Option<ReferralStatus>,
    pub service: Option<SessionKind>,
    pub urgency: Option<Urgency>,
    /// The other organisation.
    pub partner: Option<OrganisationId>,
    /// `true`: only referrals due today (pending, answer date today, the last day to answer);
    /// `false`: all others. A referral past its answer date is expired.
    pub due_today: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referral_events)]
pub struct EventRow {
    pub id: ReferralEventId,
    pub position: i64,
    pub referral_id: ReferralId,
    pub from_organisation_id: OrganisationId,
    pub to_organisation_id: OrganisationId,
    pub kind: ReferralEventKind,
    pub actor_id: Option<UserId>,
    pub at: NaiveDateTime,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
}

/// One transition of a referral, in commit order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferralEvent {
    pub id: ReferralEventId,
    /// Increases with every event; pass the last one seen as `after`.
    pub position: i64,
    pub referral_id: ReferralId,
    pub from_organisation_id: OrganisationId,
    pub to_organisation_id: OrganisationId,
    pub kind: ReferralEventKind,
    pub actor_id: Option<UserId>,
    pub at: DateTime<Utc>,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
}

impl EventRow {
    pub fn view(self) -> QueryResult<ReferralEvent> {
        Ok(ReferralEvent {
            kind: self.kind,
            id: self.id,
            position: self.position,
            referral_id: self.referral_id,
            from_organisation_id: self.from_organisation_id,
            to_organisation_id: self.to_organisation_id,
            actor_id: self.actor_id,
            at: self.at.and_utc(),
            reason_code: self.reason_code,
            reason: self.reason,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The last position seen (omit to start from the beginning).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Changes {
    pub items: Vec<ReferralEvent>,
    /// Poll again with `after` set to this.
    pub last_position: i64,
}
