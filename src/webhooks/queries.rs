//! Database functions for webhooks and their delivery log.

use diesel::prelude::*;

use super::model::{Delivery, DeliveryFilter, WebhookFields, WebhookRow};
use crate::crypto::MasterKeys;
use crate::crypto::keys::KeyError;
use crate::db::schema::{deliveries, outbox_events, webhooks};
use crate::db::{self, DbConnection, DeliveryId, List, OrganisationId, OutboxEventId, UserId, WebhookId};
use crate::http::pagination::PageRequest;
use crate::notifications::EventType;
use crate::notifications::dispatcher::webhook_label;
use crate::notifications::outbox::DeliveryStatus;

pub fn find(conn: &mut DbConnection, id: WebhookId) -> QueryResult<Option<WebhookRow>> {
    webhooks::table.find(id).select(WebhookRow::as_select()).first(conn).optional()
}

pub fn count_of(conn: &mut DbConnection, organisation_id: OrganisationId) -> QueryResult<i64> {
    webhooks::table.filter(webhooks::organisation_id.eq(organisation_id)).count().get_result(conn)
}

/// The sealed secret: (master key id, sealed bytes).
pub struct SealedSecret {
    pub master_key_id: String,
    pub sealed: Vec<u8>,
}

pub fn insert(
    conn: &mut DbConnection,
    id: WebhookId,
    organisation_id: OrganisationId,
    created_by: UserId,
    fields: &WebhookFields,
    secret: SealedSecret,
) -> QueryResult<WebhookRow> {
    let now = db::now().naive_utc();
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(id),
            webhooks::organisation_id.eq(organisation_id),
            webhooks::url.eq(&fields.url),
            webhooks::event_types.eq(List::of(&fields.event_types)),
            webhooks::description.eq(&fields.description),
            webhooks::secret_master_key_id.eq(secret.master_key_id),
            webhooks::secret_sealed.eq(secret.sealed),
            webhooks::active.eq(fields.active),
            webhooks::created_by.eq(created_by),
            webhooks::created_at.eq(now),
            webhooks::updated_at.eq(now),
            webhooks::version.eq(1),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}

/// Writes the fields if the version is still `expected_version`; turning a webhook on again
/// clears why it was off.
pub fn update(
    conn: &mut DbConnection,
    current: &WebhookRow,
    expected_version: i32,
    fields: &WebhookFields,
) -> QueryResult<Option<WebhookRow>> {
    let disabled_reason = if fields.active { None } else { current.disabled_reason.clone() };
    let updated = diesel::update(webhooks::table.find(current.id))
        .filter(webhooks::version.eq(expected_version))
        .set((
            webhooks::url.eq(&fields.url),
            webhooks::event_types.eq(List::of(&fields.event_types)),
            webhooks::description.eq(&fields.description),
            webhooks::active.eq(fields.active),
            webhooks::disabled_reason.eq(disabled_reason),
            webhooks::updated_at.eq(db::now().naive_utc()),
            webhooks::version.eq(expected_version + 1),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    find(conn, current.id)
}

pub fn delete(conn: &mut DbConnection, id: WebhookId) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

pub fn list(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    page: PageRequest<WebhookId>,
) -> QueryResult<Vec<WebhookRow>> {
    let mut query = webhooks::table
        .filter(webhooks::organisation_id.eq(organisation_id))
        .order(webhooks::id)
        .limit(page.limit + 1)
        .select(WebhookRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhooks::id.gt(after));
    }
    query.load(conn)
}

/// A webhook's deliveries, newest first.
pub fn deliveries_of(
    conn: &mut DbConnection,
    webhook_id: WebhookId,
    filter: &DeliveryFilter,
    page: PageRequest<DeliveryId>,
) -> QueryResult<Vec<Delivery>> {
    let mut query = deliveries::table
        .inner_join(outbox_events::table)
        .filter(deliveries::webhook_id.eq(webhook_id))
        .order(deliveries::id.desc())
        .limit(page.limit + 1)
        .select((
            deliveries::id,
            deliveries::event_id,
            outbox_events::event_type,
            deliveries::status,
            deliveries::attempts,
            deliveries::last_response_code,
            deliveries::last_error,
            deliveries::last_attempt_at,
            deliveries::next_attempt_at,
            deliveries::delivered_at,
            deliveries::created_at,
        ))
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(deliveries::status.eq(status));
    }
    if let Some(before) = page.after {
        query = query.filter(deliveries::id.lt(before));
    }
    type Row = (
        DeliveryId,
        OutboxEventId,
        EventType,
        DeliveryStatus,
        i32,
        Option<i32>,
        Option<String>,
        Option<chrono::NaiveDateTime>,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
        chrono::NaiveDateTime,
    );
    let rows: Vec<Row> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, event_id, event_type, status, attempts, code, error, last, next, delivered, created)| Delivery {
            id,
            event_id,
            event_type,
            status,
            attempts,
            last_response_code: code,
            last_error: error,
            last_attempt_at: last.map(|at| at.and_utc()),
            next_attempt_at: (status == DeliveryStatus::Pending).then(|| next.and_utc()),
            delivered_at: delivered.map(|at| at.and_utc()),
            created_at: created.and_utc(),
        })
        .collect())
}

/// Seals every webhook secret that an older master key seals under the newest one (a master
/// key rotation); returns how many.
pub fn reseal_secrets(conn: &mut DbConnection, master: &MasterKeys) -> Result<usize, KeyError> {
    let Some(newest) = master.newest_id().map(str::to_owned) else {
        return Ok(0);
    };
    let stale: Vec<(WebhookId, String, Vec<u8>)> = webhooks::table
        .filter(webhooks::secret_master_key_id.ne(&newest))
        .select((webhooks::id, webhooks::secret_master_key_id, webhooks::secret_sealed))
        .load(conn)?;
    for (id, master_key_id, sealed) in &stale {
        let label = webhook_label(*id);
        let secret = master.open_secret(master_key_id, &label, sealed)?;
        let (newest_id, resealed) = master.seal_secret(&label, &secret)?;
        diesel::update(webhooks::table.find(id))
            .set((webhooks::secret_master_key_id.eq(newest_id), webhooks::secret_sealed.eq(resealed)))
            .execute(conn)?;
    }
    Ok(stale.len())
}
