//! `GET /audit-events`: a coordinator's view of their organisation's trail ("who viewed this
//! client"); consortium administrators see consortium-level events.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::chain::EventRow;
use crate::auth::SignedIn;
use crate::db::schema::{audit_events, audit_links};
use crate::db::{AuditEventId, ClientId, DbConnection, Id, OrganisationId, UserId};
use crate::http::pagination::{Page, PageQuery, PageRequest};
use crate::http::{ApiError, Problem};
use crate::policy::{Action, Target};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list);
}

/// One recorded action.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub organisation_id: Option<OrganisationId>,
    #[schema(example = "user.read")]
    pub action: String,
    #[schema(example = "user")]
    pub resource: String,
    pub resource_id: Option<Id>,
    pub client_id: Option<ClientId>,
    #[schema(example = "success")]
    pub outcome: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// `psychological` for an event about a psychological session; such events are listed
    /// only to callers inside the tier.
    pub tier: Option<String>,
    /// Position in the hash chain; absent until the event is sealed (within seconds).
    pub chain_index: Option<i64>,
    pub hash: Option<String>,
}

/// An event with its place in the chain, if it has one yet.
type ListedRow = (EventRow, Option<i64>, Option<String>);

impl From<ListedRow> for AuditEvent {
    fn from((row, chain_index, hash): ListedRow) -> Self {
        Self {
            id: row.id,
            at: row.at.and_utc(),
            actor_id: row.actor_id,
            organisation_id: row.organisation_id,
            action: row.action,
            resource: row.resource,
            resource_id: row.resource_id,
            client_id: row.client_id,
            outcome: row.outcome,
            request_id: row.request_id,
            ip: row.ip,
            tier: row.tier,
            chain_index,
            hash,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub actor_id: Option<UserId>,
    pub client_id: Option<ClientId>,
    pub resource_id: Option<Id>,
    /// Exact action code, e.g. `user.read`.
    pub action: Option<String>,
    /// Events at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Events before this instant.
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn query(
    conn: &mut DbConnection,
    organisation_id: Option<OrganisationId>,
    inside_tier: bool,
    filter: &AuditFilter,
    page: PageRequest<AuditEventId>,
) -> QueryResult<Vec<ListedRow>> {
    let mut query = audit_events::table
        .left_join(audit_links::table)
        .select((EventRow::as_select(), audit_links::chain_index.nullable(), audit_links::hash.nullable()))
        .into_boxed();
    query = match organisation_id {
        Some(organisation_id) => query.filter(audit_events::organisation_id.eq(organisation_id)),
        None => query.filter(audit_events::organisation_id.is_null()),
    };
    // Filtered before paging, so a page and its cursor are as if tier events did not exist.
    if !inside_tier {
        query = query.filter(audit_events::tier.is_null());
    }
    if let Some(actor_id) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor_id));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(audit_events::client_id.eq(client_id));
    }
    if let Some(resource_id) = filter.resource_id {
        query = query.filter(audit_events::resource_id.eq(resource_id));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from.naive_utc()));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to.naive_utc()));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_events::id.gt(after));
    }
    query.order(audit_events::id).limit(page.limit + 1).load(conn)
}

/// The audit trail of the caller's organisation, oldest first. Events of the psychological tier
/// (about psychological sessions) are listed only to psychologists of the organisation; for
/// everyone else they are absent, as if they did not exist.
#[utoipa::path(
    operation_id = "list_audit_events",
    tag = "audit",
    params(AuditFilter),
    responses(
        (status = 200, description = "A page of audit events", body = Page<AuditEvent>),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to read the audit trail", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/audit-events")]
pub async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    filter: web::Query<AuditFilter>,
) -> Result<web::Json<Page<AuditEvent>>, ApiError> {
    let filter = filter.into_inner();
    let page = PageQuery { limit: filter.limit, cursor: filter.cursor.clone() }.parse()?;
    if filter.action.as_ref().is_some_and(|a| a.len() > 100) {
        return Err(ApiError::bad_request("invalid_query", "action is at most 100 characters."));
    }
    let mut errors = crate::http::FieldErrors::default();
    errors.check_days(&[("from", filter.from.map(|at| at.date_naive())), ("to", filter.to.map(|at| at.date_naive()))]);
    errors.finish_query(|| Some(()))?;
    let page = signed_in
        .run(&state.pool, move |conn, principal| {
            let organisation_id = principal.organisation_id;
            principal.authorize(
                conn,
                Action::ReadAuditTrail,
                Target::owned_by(organisation_id),
                "audit_event",
                None,
            )?;
            let inside_tier = crate::sessions::inside_tier(&principal);
            let rows = query(conn, organisation_id, inside_tier, &filter, page)?;
            Ok(Page::from_rows(rows, page, |(row, ..)| row.id, AuditEvent::from))
        })
        .await?;
    Ok(web::Json(page))
}
