//! Merging two records of one person (SPEC §2.3): the file of the duplicate — sessions,
//! participations in group sessions, consents, procedure events, referrals, household and
//! identifiers — moves to the record that survives, in one transaction, and the duplicate is
//! left as a tombstone that only points to its survivor.
//!
//! Session contents are sealed with the duplicate's data key and bound to their session, so they
//! are opened and sealed again under the survivor's key; the duplicate's key is then destroyed.
//! A ciphertext that does not open stops the merge: it would be unreadable for good once that
//! key is gone. Documents keep the duplicate's key instead (their bytes are in the document
//! store, outside the transaction); the survivor's erasure destroys it with its own.

use diesel::prelude::*;

use super::model::{ClientInput, ClientRow};
use super::queries;
use crate::audit::{self, Actor, Event};
use crate::crypto::keys::{self, KeyError};
use crate::crypto::{DataKey, MasterKeys, SessionField};
use crate::db::schema::{
    client_merges, clients, consents, deadlines, documents, procedure_events, referrals, session_participants, sessions,
};
use crate::db::{self, ClientId, DbConnection, SessionId};
use crate::http::{ApiError, FieldErrors};
use crate::referrals::model::{ReferralRow, ReferralStatus};
use crate::referrals::queries::open_duplicate;

/// What a merged record is called once its file has moved.
pub const MERGED: &str = "[merged]";

/// The survivor's fields completed from the duplicate: the survivor's values stand; what it lacks
/// is taken from the duplicate; lists are united (the survivor's entries first); the duplicate's
/// names become aliases, so a search by that spelling still finds the person.
pub fn combined(survivor: &ClientRow, duplicate: &ClientRow) -> ClientInput {
    let mut merged = survivor.input();
    let other = duplicate.input();
    let full_name = |input: &ClientInput| format!("{} {}", input.given_names, input.family_name);
    let mut aliases = vec![full_name(&other)];
    aliases.extend(other.native_name.iter().filter(|_| merged.native_name.is_some()).cloned());
    aliases.extend(other.aliases.iter().cloned());
    aliases.retain(|alias| alias != &full_name(&merged) && merged.native_name.as_ref() != Some(alias));
    unite(&mut merged.aliases, aliases);
    merged.native_name = merged.native_name.or(other.native_name);
    merged.date_of_birth = merged.date_of_birth.or(other.date_of_birth);
    merged.birth_year = match merged.date_of_birth {
        Some(_) => merged.birth_year,
        None => merged.birth_year.or(other.birth_year),
    };
    if merged.sex == crate::domain::client::Sex::Unknown {
        merged.sex = other.sex;
    }
    unite(&mut merged.nationalities, other.nationalities);
    merged.region_of_origin = merged.region_of_origin.or(other.region_of_origin);
    unite(&mut merged.languages, other.languages);
    merged.interpreter_needed |= other.interpreter_needed;
    merged.city = merged.city.or(other.city);
    if merged.accommodation == crate::domain::client::Accommodation::Unknown {
        merged.accommodation = other.accommodation;
    }
    merged.phone = merged.phone.or(other.phone);
    merged.email = merged.email.or(other.email);
    unite(&mut merged.vulnerabilities, other.vulnerabilities);
    unite(&mut merged.identifiers, other.identifiers);
    merged.assigned_counselor_id = merged.assigned_counselor_id.or(other.assigned_counselor_id);
    merged
}

fn unite<T: PartialEq>(into: &mut Vec<T>, more: Vec<T>) {
    for item in more {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// 409: a sealed field of the duplicate does not open with its key.
fn unreadable() -> ApiError {
    ApiError::conflict(
        "sealed_contents_unreadable",
        "Contents of the duplicate's sessions cannot be decrypted; nothing was merged.",
    )
}

/// Key errors while moving sessions: a data key that does not unwrap makes the contents
/// unreadable, as a ciphertext that does not open does.
fn key_error(error: KeyError) -> ApiError {
    match error {
        KeyError::Database(error) => ApiError::Database(error),
        KeyError::Crypto(_) => unreadable(),
    }
}

/// Moves the file of `duplicate` into `survivor` and leaves `duplicate` as a tombstone. Both
/// versions must be the ones the caller saw (412 otherwise); the combined record must be valid
/// (422, e.g. more than ten identifiers together). Returns the survivor as it now stands.
pub fn merge(
    conn: &mut DbConnection,
    master: &MasterKeys,
    (survivor, survivor_version): (&ClientRow, i32),
    (duplicate, duplicate_version): (&ClientRow, i32),
    actor: &Actor,
) -> Result<ClientRow, ApiError> {
    if survivor.version != survivor_version || duplicate.version != duplicate_version {
        return Err(crate::http::precondition::IfMatch::stale());
    }
    // A record made from what another organisation shared gives none of its values to the
    // survivor: they stand on the client's consent, and withdrawing it must be able to take them
    // back, which it could not from the survivor's own fields.
    let from_share = made_from_a_share(conn, duplicate.id)?;
    let input = if from_share { survivor.input() } else { combined(survivor, duplicate) };
    let fields = input.parse(crate::domain::today()).map_err(FieldErrors::into_error)?;
    db::transaction(conn, |conn| {
        move_sessions(conn, master, duplicate.id, survivor.id)?;
        move_records(conn, duplicate.id, survivor.id)?;
        crate::procedure::queries::rederive(conn, survivor.id, survivor.organisation_id)?;
        // Documents are not sealed again (their bytes live in the document store): they keep the
        // duplicate's key, which then stays, named on each of them.
        if !move_documents(conn, duplicate.id, survivor.id)? {
            keys::destroy(conn, duplicate.id)?;
        }
        if survivor.household_id.is_none()
            && let Some(household_id) = duplicate.household_id
        {
            diesel::update(clients::table.find(survivor.id))
                .set((
                    clients::household_id.eq(household_id),
                    clients::household_relationship.eq(duplicate.household_relationship),
                ))
                .execute(conn)?;
        }
        let merged = queries::update(conn, survivor, survivor_version, &fields)?
            .ok_or_else(crate::http::precondition::IfMatch::stale)?;
        let tombstoned = queries::tombstone(conn, duplicate.id, duplicate_version, MERGED)?;
        if tombstoned == 0 {
            return Err(crate::http::precondition::IfMatch::stale());
        }
        diesel::insert_into(client_merges::table)
            .values((
                client_merges::duplicate_id.eq(duplicate.id),
                client_merges::survivor_id.eq(survivor.id),
                client_merges::organisation_id.eq(survivor.organisation_id),
                client_merges::merged_by.eq(actor.user_id),
                client_merges::merged_at.eq(db::now().naive_utc()),
            ))
            .execute(conn)?;
        // One event in each record's trail: the survivor took over a file, the duplicate gave
        // its own away.
        for (action, client_id) in [("client.merge", survivor.id), ("client.merge_duplicate", duplicate.id)] {
            audit::record(conn, Event::new(actor, action, super::RESOURCE).on(client_id).for_client(client_id))?;
        }
        Ok(merged)
    })
}

/// The duplicate's sessions, their contents sealed again under the survivor's data key.
fn move_sessions(conn: &mut DbConnection, master: &MasterKeys, from: ClientId, to: ClientId) -> Result<(), ApiError> {
    type Sealed = (SessionId, Option<Vec<u8>>, Option<Vec<u8>>);
    let sealed: Vec<Sealed> = sessions::table
        .filter(sessions::client_id.eq(from))
        .filter(sessions::notes_ciphertext.is_not_null().or(sessions::details_ciphertext.is_not_null()))
        .select((sessions::id, sessions::notes_ciphertext, sessions::details_ciphertext))
        .load(conn)?;
    if !sealed.is_empty() {
        let old = keys::existing(conn, master, from).map_err(key_error)?.ok_or_else(unreadable)?;
        let new = keys::for_client(conn, master, to).map_err(key_error)?;
        let reseal = |field, session_id, sealed: Option<Vec<u8>>| -> Result<Option<Vec<u8>>, ApiError> {
            sealed.map(|sealed| reseal(&old, &new, field, session_id, &sealed)).transpose()
        };
        for (session_id, notes, details) in sealed {
            let notes = reseal(SessionField::Notes, session_id, notes)?;
            let details = reseal(SessionField::Details, session_id, details)?;
            diesel::update(sessions::table.find(session_id))
                .set((sessions::notes_ciphertext.eq(notes), sessions::details_ciphertext.eq(details)))
                .execute(conn)?;
        }
    }
    diesel::update(sessions::table.filter(sessions::client_id.eq(from)))
        .set((
            sessions::client_id.eq(to),
            sessions::updated_at.eq(db::now().naive_utc()),
            sessions::version.eq(sessions::version + 1),
        ))
        .execute(conn)?;
    // A group session both took part in keeps one participation, the survivor's.
    let shared: Vec<SessionId> = session_participants::table
        .filter(session_participants::client_id.eq(to))
        .select(session_participants::session_id)
        .load(conn)?;
    let both: Vec<SessionId> = session_participants::table
        .filter(session_participants::client_id.eq(from))
        .filter(session_participants::session_id.eq_any(shared))
        .select(session_participants::session_id)
        .load(conn)?;
    diesel::delete(
        session_participants::table
            .filter(session_participants::client_id.eq(from))
            .filter(session_participants::session_id.eq_any(&both)),
    )
    .execute(conn)?;
    diesel::update(session_participants::table.filter(session_participants::client_id.eq(from)))
        .set(session_participants::client_id.eq(to))
        .execute(conn)?;
    Ok(())
}

fn reseal(
    old: &DataKey,
    new: &DataKey,
    field: SessionField,
    session_id: SessionId,
    sealed: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let text = old.open(field, session_id, sealed).map_err(|_| unreadable())?;
    new.seal(field, session_id, &text).map_err(|error| ApiError::Internal(error.into()))
}

/// Consents, procedure events and referrals follow the person. Two open referrals of the two
/// records to the same partner for the same service cannot both stand: 409 names the duplicate's.
fn move_records(conn: &mut DbConnection, from: ClientId, to: ClientId) -> Result<(), ApiError> {
    diesel::update(consents::table.filter(consents::client_id.eq(from)))
        .set(consents::client_id.eq(to))
        .execute(conn)?;
    diesel::update(procedure_events::table.filter(procedure_events::client_id.eq(from)))
        .set(procedure_events::client_id.eq(to))
        .execute(conn)?;
    // The survivor's deadlines are derived again from the united timeline.
    diesel::delete(deadlines::table.filter(deadlines::client_id.eq(from))).execute(conn)?;
    let open: Vec<ReferralRow> = referrals::table
        .filter(referrals::client_id.eq(from))
        .filter(referrals::status.eq_any([ReferralStatus::Pending.code(), ReferralStatus::Accepted.code()]))
        .select(ReferralRow::as_select())
        .load(conn)?;
    for referral in &open {
        if open_duplicate(conn, to, referral.to_organisation_id, referral.service()?)?.is_some() {
            return Err(ApiError::conflicts_with(
                "duplicate_referral",
                referral.id,
                "Both records have an open referral to the same partner for the same service: close one first.",
            ));
        }
    }
    diesel::update(referrals::table.filter(referrals::client_id.eq(from)))
        .set(referrals::client_id.eq(to))
        .execute(conn)?;
    crate::appointments::move_client(conn, from, to)?;
    crate::tasks::move_client(conn, from, to)?;
    // The survivor was not made from the share: a later withdrawal leaves it as it is.
    diesel::update(referrals::table.filter(referrals::partner_client_id.eq(from)))
        .set((referrals::partner_client_id.eq(to), referrals::partner_client_created.eq(false)))
        .execute(conn)?;
    Ok(())
}

/// Whether accepting a referral created this record from the fields the sender shared.
fn made_from_a_share(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        referrals::table
            .filter(referrals::partner_client_id.eq(client_id))
            .filter(referrals::partner_client_created.eq(true)),
    ))
    .get_result(conn)
}

/// Moves the duplicate's documents to the survivor, each naming the key that seals it; whether
/// any document is sealed with the duplicate's own key.
fn move_documents(conn: &mut DbConnection, from: ClientId, to: ClientId) -> QueryResult<bool> {
    diesel::update(documents::table.filter(documents::client_id.eq(from)).filter(documents::key_client_id.is_null()))
        .set(documents::key_client_id.eq(Some(from)))
        .execute(conn)?;
    diesel::update(documents::table.filter(documents::client_id.eq(from)))
        .set(documents::client_id.eq(to))
        .execute(conn)?;
    diesel::select(diesel::dsl::exists(documents::table.filter(documents::key_client_id.eq(from)))).get_result(conn)
}

/// The record a merged duplicate now lives in.
pub fn survivor_of(conn: &mut DbConnection, duplicate_id: ClientId) -> QueryResult<Option<ClientId>> {
    client_merges::table.find(duplicate_id).select(client_merges::survivor_id).first(conn).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_united_without_repeats_keeping_the_survivors_order() {
        let mut languages = vec!["ce".to_owned(), "ru".to_owned()];
        unite(&mut languages, vec!["pl".to_owned(), "ru".to_owned()]);
        assert_eq!(languages, ["ce", "ru", "pl"]);
    }
}
