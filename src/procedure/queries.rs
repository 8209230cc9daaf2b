//! Database functions for the procedure timeline and the deadlines derived from it.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::deadlines::{self, RULES, Rule};
use super::model::{AgendaItem, AgendaKind, EventFields, EventRow};
use crate::clients::model::ClientDeadline;
use crate::db::schema::{clients, deadline_rules_state, deadlines as deadline_rows, procedure_events};
use crate::db::{self, ClientId, DbConnection, DeadlineId, OrganisationId, ProcedureEventId, UserId};
use crate::http::pagination::KeyedPageRequest;

pub fn events_of_client(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Vec<EventRow>> {
    procedure_events::table
        .filter(procedure_events::client_id.eq(client_id))
        .order((procedure_events::occurred_on, procedure_events::created_at, procedure_events::id))
        .select(EventRow::as_select())
        .load(conn)
}

pub fn find_event(conn: &mut DbConnection, client_id: ClientId, id: ProcedureEventId) -> QueryResult<Option<EventRow>> {
    procedure_events::table
        .find(id)
        .filter(procedure_events::client_id.eq(client_id))
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_event(
    conn: &mut DbConnection,
    client_id: ClientId,
    organisation_id: OrganisationId,
    recorded_by: UserId,
    fields: &EventFields,
) -> QueryResult<EventRow> {
    let now = db::now().naive_utc();
    diesel::insert_into(procedure_events::table)
        .values((
            procedure_events::id.eq(ProcedureEventId::new()),
            procedure_events::client_id.eq(client_id),
            procedure_events::organisation_id.eq(organisation_id),
            procedure_events::kind.eq(fields.kind),
            procedure_events::occurred_on.eq(fields.occurred_on),
            procedure_events::delivered_on.eq(fields.delivered_on),
            procedure_events::authority.eq(&fields.authority),
            procedure_events::outcome.eq(fields.outcome),
            procedure_events::notes.eq(&fields.notes),
            procedure_events::recorded_by.eq(recorded_by),
            procedure_events::created_at.eq(now),
            procedure_events::updated_at.eq(now),
            procedure_events::version.eq(1),
        ))
        .returning(procedure_events::all_columns)
        .get_result(conn)
}

pub fn update_event(
    conn: &mut DbConnection,
    id: ProcedureEventId,
    expected_version: i32,
    fields: &EventFields,
) -> QueryResult<Option<EventRow>> {
    diesel::update(procedure_events::table.find(id))
        .filter(procedure_events::version.eq(expected_version))
        .set((
            procedure_events::kind.eq(fields.kind),
            procedure_events::occurred_on.eq(fields.occurred_on),
            procedure_events::delivered_on.eq(fields.delivered_on),
            procedure_events::authority.eq(&fields.authority),
            procedure_events::outcome.eq(fields.outcome),
            procedure_events::notes.eq(&fields.notes),
            procedure_events::updated_at.eq(db::now().naive_utc()),
            procedure_events::version.eq(expected_version + 1),
        ))
        .returning(procedure_events::all_columns)
        .get_result(conn)
        .optional()
}

/// Derives the client's deadlines and procedure stage from its whole timeline again. Run in the
/// transaction that changed the timeline, so the derived state never lags behind it.
pub fn rederive(conn: &mut DbConnection, client_id: ClientId, organisation_id: OrganisationId) -> QueryResult<()> {
    let rows = events_of_client(conn, client_id)?;
    let events: Vec<_> = rows.iter().map(EventRow::engine_event).collect();
    // The engine names events by the ids it was given: these rows' ids, as text.
    let ids: HashMap<String, ProcedureEventId> = rows.iter().map(|row| (row.id.to_string(), row.id)).collect();
    let event_id = |named: &str| {
        ids.get(named).copied().ok_or_else(|| {
            diesel::result::Error::DeserializationError(format!("a deadline names an unknown event {named}").into())
        })
    };
    diesel::delete(deadline_rows::table.filter(deadline_rows::client_id.eq(client_id))).execute(conn)?;
    for deadline in deadlines::derive(&events) {
        let trigger = event_id(&deadline.trigger_event_id)?;
        let closed_by = deadline.closed_by_event_id.as_deref().map(event_id).transpose()?;
        diesel::insert_into(deadline_rows::table)
            .values((
                deadline_rows::id.eq(DeadlineId::new()),
                deadline_rows::client_id.eq(client_id),
                deadline_rows::organisation_id.eq(organisation_id),
                deadline_rows::rule_code.eq(deadline.rule.code),
                deadline_rows::rule_version.eq(deadline.rule.version as i32),
                deadline_rows::trigger_event_id.eq(trigger),
                deadline_rows::due_on.eq(deadline.due_on),
                deadline_rows::closed_by_event_id.eq(closed_by),
            ))
            .execute(conn)?;
    }
    let stage = deadlines::procedure_stage(&events).map(<&str>::from);
    diesel::update(clients::table.find(client_id)).set(clients::procedure_stage.eq(stage)).execute(conn)?;
    Ok(())
}

/// Names the rule table the stored deadlines follow: every rule's code and version (a change of
/// the law is a new version of its rule).
pub fn rules_fingerprint() -> String {
    let mut rules: Vec<String> = RULES.iter().map(|rule| format!("{}@{}", rule.code, rule.version)).collect();
    rules.sort();
    rules.join(",")
}

/// Where the stored deadlines stand: `None` when they follow the current rule table, otherwise
/// the client after which an interrupted re-derivation under the current rules resumes
/// (`Some(None)`: from the start).
fn rederivation_due(conn: &mut DbConnection) -> QueryResult<Option<Option<ClientId>>> {
    let (rules, resume_after): (String, Option<ClientId>) = deadline_rules_state::table
        .find(1)
        .select((deadline_rules_state::rules, deadline_rules_state::resume_after))
        .first(conn)?;
    if rules != rules_fingerprint() {
        return Ok(Some(None));
    }
    Ok(resume_after.map(Some))
}

/// Derives the deadlines of the next `batch` clients with a timeline after `after` (in id order)
/// again; returns their ids.
fn rederive_batch(conn: &mut DbConnection, after: Option<ClientId>, batch: i64) -> QueryResult<Vec<ClientId>> {
    let with_timeline = procedure_events::table.select(procedure_events::client_id);
    let mut query = clients::table
        .filter(clients::id.eq_any(with_timeline))
        .select((clients::id, clients::organisation_id))
        .order(clients::id)
        .limit(batch)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(clients::id.gt(after));
    }
    let rows: Vec<(ClientId, OrganisationId)> = query.load(conn)?;
    for (client_id, organisation_id) in &rows {
        rederive(conn, *client_id, *organisation_id)?;
    }
    Ok(rows.into_iter().map(|(client_id, _)| client_id).collect())
}

/// Records the rules a re-derivation follows and the client it reached (none once it is through).
fn record_rederivation(conn: &mut DbConnection, reached: Option<ClientId>) -> QueryResult<usize> {
    diesel::update(deadline_rules_state::table.find(1))
        .set((deadline_rules_state::rules.eq(rules_fingerprint()), deadline_rules_state::resume_after.eq(reached)))
        .execute(conn)
}

/// Derives every client's deadlines and stage again when the rule table changed since they were
/// stored, resuming an interrupted run; nothing when they are current. Returns the clients done.
pub fn rederive_all(conn: &mut DbConnection, batch: i64, progress: impl Fn(usize)) -> QueryResult<usize> {
    let Some(after) = rederivation_due(conn)? else {
        return Ok(0);
    };
    db::resumable_batches(conn, after, |conn, after| rederive_batch(conn, after, batch), record_rederivation, progress)
}

/// The rule a stored deadline was computed with. A deadline whose rule is not in the table (a
/// rule removed without re-deriving the deadlines) fails the request: its legal basis is never
/// silently left blank.
fn rule(code: &str, version: i32) -> QueryResult<&'static Rule> {
    RULES.iter().find(|rule| rule.code == code && rule.version as i32 == version).ok_or_else(|| {
        diesel::result::Error::DeserializationError(format!("no deadline rule {code} version {version}").into())
    })
}

pub fn open_deadlines_of_client(
    conn: &mut DbConnection,
    client_id: ClientId,
    today: NaiveDate,
) -> QueryResult<Vec<ClientDeadline>> {
    let rows: Vec<(DeadlineId, String, i32, NaiveDate)> = deadline_rows::table
        .filter(deadline_rows::client_id.eq(client_id))
        .filter(deadline_rows::closed_by_event_id.is_null())
        .order((deadline_rows::due_on, deadline_rows::id))
        .select((deadline_rows::id, deadline_rows::rule_code, deadline_rows::rule_version, deadline_rows::due_on))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, code, version, due_on)| {
            let days_left = (due_on - today).num_days();
            Ok(ClientDeadline {
                id,
                legal_basis: rule(&code, version)?.legal_basis.to_owned(),
                rule: code,
                due_on,
                days_left,
                overdue: days_left < 0,
            })
        })
        .collect()
}

/// deadline id, client id, reference, assigned counselor, rule code, rule version, due date
type AgendaRow = (DeadlineId, ClientId, String, Option<UserId>, String, i32, NaiveDate);

pub struct AgendaQuery {
    pub counselor_id: Option<UserId>,
    pub due_from: Option<NaiveDate>,
    pub due_by: Option<NaiveDate>,
    pub overdue: Option<bool>,
    pub today: NaiveDate,
}

/// One page of an organisation's open deadlines, soonest first.
pub fn agenda(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    query: &AgendaQuery,
    page: &KeyedPageRequest<NaiveDate>,
) -> QueryResult<Vec<AgendaItem>> {
    let mut select = deadline_rows::table
        .inner_join(clients::table)
        .filter(deadline_rows::organisation_id.eq(organisation_id))
        .filter(deadline_rows::closed_by_event_id.is_null())
        .select((
            deadline_rows::id,
            deadline_rows::client_id,
            clients::reference,
            clients::assigned_counselor_id,
            deadline_rows::rule_code,
            deadline_rows::rule_version,
            deadline_rows::due_on,
        ))
        .into_boxed();
    if let Some(counselor_id) = query.counselor_id {
        select = select.filter(clients::assigned_counselor_id.eq(counselor_id));
    }
    if let Some(due_from) = query.due_from {
        select = select.filter(deadline_rows::due_on.ge(due_from));
    }
    if let Some(due_by) = query.due_by {
        select = select.filter(deadline_rows::due_on.le(due_by));
    }
    match query.overdue {
        Some(true) => select = select.filter(deadline_rows::due_on.lt(query.today)),
        Some(false) => select = select.filter(deadline_rows::due_on.ge(query.today)),
        None => {}
    }
    if let Some((due, id)) = page.after {
        select = select
            .filter(deadline_rows::due_on.gt(due).or(deadline_rows::due_on.eq(due).and(deadline_rows::id.gt(id))));
    }
    let rows: Vec<AgendaRow> =
        select.order((deadline_rows::due_on, deadline_rows::id)).limit(page.limit + 1).load(conn)?;
    rows.into_iter()
        .map(|(id, client_id, client_reference, assigned_counselor_id, code, version, due_on)| {
            let rule = rule(&code, version)?;
            let days_left = (due_on - query.today).num_days();
            Ok(AgendaItem {
                id: id.any(),
                kind: AgendaKind::LegalDeadline,
                session_id: None,
                client_id,
                client_reference,
                assigned_counselor_id,
                title: rule.title_en.to_owned(),
                legal_basis: Some(rule.legal_basis.to_owned()),
                monitoring: rule.monitoring,
                rule: Some(code),
                due_on,
                days_left,
                overdue: days_left < 0,
            })
        })
        .collect()
}
