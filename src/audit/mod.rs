//! The audit trail (SPEC §2.8): append-only events written in the request's own transaction,
//! sealed into a hash chain afterwards, verifiable from the command line.

pub mod chain;
pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use strum::IntoStaticStr;
use utoipa::ToSchema;

use crate::db::schema::audit_events;
use crate::db::{AuditEventId, ClientId, DbConnection, Id, OrganisationId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

/// The tier an event belongs to: events about a psychological session (SPEC §2.5) are shown only
/// to callers inside the tier, because even that such a session exists is confidential.
pub const PSYCHOLOGICAL_TIER: &str = "psychological";

/// Who did something, from where: the part of an event that comes from the request.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub organisation_id: Option<OrganisationId>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

/// One thing that happened to one resource.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'static str,
    pub resource: &'static str,
    pub resource_id: Option<Id>,
    pub client_id: Option<ClientId>,
    pub outcome: Outcome,
    /// The organisation whose trail shows the event; by default the actor's.
    pub organisation_id: Option<OrganisationId>,
    /// `Some` for an event of the psychological tier.
    pub tier: Option<&'static str>,
    pub actor: &'a Actor,
}

impl<'a> Event<'a> {
    pub fn new(actor: &'a Actor, action: &'static str, resource: &'static str) -> Self {
        Self {
            action,
            resource,
            resource_id: None,
            client_id: None,
            outcome: Outcome::Success,
            organisation_id: actor.organisation_id,
            tier: None,
            actor,
        }
    }

    pub fn on<E>(mut self, resource_id: Id<E>) -> Self {
        self.resource_id = Some(resource_id.any());
        self
    }

    pub fn for_client(mut self, client_id: ClientId) -> Self {
        self.client_id = Some(client_id);
        self
    }

    pub fn in_organisation(mut self, organisation_id: Option<OrganisationId>) -> Self {
        self.organisation_id = organisation_id;
        self
    }

    /// Puts the event in the psychological tier when `psychological` holds.
    pub fn in_tier(mut self, psychological: bool) -> Self {
        self.tier = psychological.then_some(PSYCHOLOGICAL_TIER);
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// Absent values are written as NULL (not `DEFAULT`), so the statement is always the same and
/// stays prepared on the connection instead of being prepared again for every event.
#[derive(Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
struct NewEventRow<'a> {
    id: AuditEventId,
    at: NaiveDateTime,
    actor_id: Option<UserId>,
    organisation_id: Option<OrganisationId>,
    action: &'a str,
    resource: &'a str,
    resource_id: Option<Id>,
    client_id: Option<ClientId>,
    outcome: &'a str,
    request_id: Option<&'a str>,
    ip: Option<&'a str>,
    tier: Option<&'a str>,
}

/// Appends an event. Call it inside the transaction of the change it records (or before
/// answering a read), so the event is durable before the response is sent.
pub fn record(conn: &mut DbConnection, event: Event<'_>) -> QueryResult<()> {
    let row = NewEventRow {
        id: Id::new(),
        at: crate::db::now().naive_utc(),
        actor_id: event.actor.user_id,
        organisation_id: event.organisation_id,
        action: event.action,
        resource: event.resource,
        resource_id: event.resource_id,
        client_id: event.client_id,
        outcome: event.outcome.into(),
        request_id: event.actor.request_id.as_deref(),
        ip: event.actor.ip.as_deref(),
        tier: event.tier,
    };
    crate::db::write(conn, |conn| diesel::insert_into(audit_events::table).values(row).execute(conn))?;
    Ok(())
}
