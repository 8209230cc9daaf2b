//! Database functions for consents.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::{ConsentInput, ConsentRow};
use crate::db::schema::consents;
use crate::db::{self, ClientId, ConsentId, DbConnection, List, OrganisationId, UserId};

pub fn of_client(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Vec<ConsentRow>> {
    consents::table
        .filter(consents::client_id.eq(client_id))
        .order(consents::id)
        .select(ConsentRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, client_id: ClientId, id: ConsentId) -> QueryResult<Option<ConsentRow>> {
    consents::table
        .find(id)
        .filter(consents::client_id.eq(client_id))
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(
    conn: &mut DbConnection,
    client_id: ClientId,
    organisation_id: OrganisationId,
    recorded_by: UserId,
    input: &ConsentInput,
    language: &str,
    form_version: &str,
) -> QueryResult<ConsentRow> {
    diesel::insert_into(consents::table)
        .values((
            consents::id.eq(ConsentId::new()),
            consents::client_id.eq(client_id),
            consents::organisation_id.eq(organisation_id),
            consents::purpose.eq(input.purpose),
            consents::partner_id.eq(input.partner_id),
            consents::scope.eq(List::of(&input.scope)),
            consents::given_on.eq(input.given_on),
            consents::expires_on.eq(input.expires_on),
            consents::language.eq(language),
            consents::form_version.eq(form_version),
            consents::recorded_by.eq(recorded_by),
            consents::created_at.eq(db::now().naive_utc()),
            consents::version.eq(1),
        ))
        .returning(consents::all_columns)
        .get_result(conn)
}

/// Marks a consent withdrawn today; `None` when it already was (or changed meanwhile).
pub fn withdraw(conn: &mut DbConnection, id: ConsentId, on: NaiveDate, by: UserId) -> QueryResult<Option<ConsentRow>> {
    diesel::update(consents::table.find(id))
        .filter(consents::withdrawn_on.is_null())
        .set((
            consents::withdrawn_on.eq(on),
            consents::withdrawn_by.eq(by),
            consents::version.eq(consents::version + 1),
        ))
        .returning(consents::all_columns)
        .get_result(conn)
        .optional()
}
