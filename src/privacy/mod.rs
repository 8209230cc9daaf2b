//! Data-subject rights (SPEC §2.10): export of everything held about a client, irreversible
//! erasure (anonymisation that keeps aggregate counts), and retention.

pub mod routes;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{self, Actor, Event};
use crate::db::schema::{
    client_identifiers, client_name_tokens, clients, procedure_events, referral_events, referrals, sessions,
};
use crate::db::{self, DbConnection, Id};
use crate::domain::client::ClientStatus;
use crate::referrals::cascade as referral_cascade;

/// What an erased record is called.
pub const ERASED: &str = "[erased]";

/// Anonymises a client in one transaction: names, contacts, identifiers, free texts, and its
/// sessions' notes, summaries and topics are destroyed (the data key too, so the sealed ones in
/// old backups cannot be read either); year of
/// birth, sex, nationalities, languages, vulnerabilities and session counts and durations stay,
/// so past reports keep their numbers. Open referrals are cancelled, which also ends the
/// partner's view.
pub fn erase(conn: &mut DbConnection, client_id: Id, actor: &Actor, reason: &str) -> QueryResult<()> {
    db::transaction(conn, |conn| {
        let now = db::now().naive_utc();
        diesel::update(clients::table.find(client_id))
            .set((
                (
                    clients::given_names.eq(ERASED),
                    clients::family_name.eq(ERASED),
                    clients::native_name.eq(None::<String>),
                    clients::aliases.eq("[]"),
                    clients::date_of_birth.eq(None::<chrono::NaiveDate>),
                    clients::region_of_origin.eq(None::<String>),
                    clients::city.eq(None::<String>),
                    clients::city_key.eq(None::<String>),
                    clients::phone.eq(None::<String>),
                    clients::email.eq(None::<String>),
                ),
                (
                    clients::identifiers.eq("[]"),
                    clients::household_id.eq(None::<Id>),
                    clients::household_relationship.eq(None::<String>),
                    clients::status.eq(ClientStatus::Erased.code()),
                    clients::closed_reason.eq(reason),
                    clients::closed_at.eq(Some(now)),
                    clients::name_key.eq(""),
                    clients::updated_at.eq(now),
                    clients::version.eq(clients::version + 1),
                ),
            ))
            .execute(conn)?;
        diesel::delete(client_name_tokens::table.filter(client_name_tokens::client_id.eq(client_id))).execute(conn)?;
        diesel::delete(client_identifiers::table.filter(client_identifiers::client_id.eq(client_id))).execute(conn)?;
        diesel::update(sessions::table.filter(sessions::client_id.eq(client_id)))
            .set((
                sessions::summary.eq(None::<String>),
                sessions::topics.eq("[]"),
                sessions::notes_ciphertext.eq(None::<Vec<u8>>),
                sessions::details_ciphertext.eq(None::<Vec<u8>>),
            ))
            .execute(conn)?;
        crate::crypto::keys::destroy(conn, client_id)?;
        crate::documents::erase_of_client(conn, client_id)?;
        diesel::update(procedure_events::table.filter(procedure_events::client_id.eq(client_id)))
            .set((procedure_events::notes.eq(None::<String>), procedure_events::authority.eq(None::<String>)))
            .execute(conn)?;
        let organisation = clients::table.find(client_id).select(clients::organisation_id).first::<Id>(conn)?;
        erase_referrals(conn, (organisation, client_id), actor)?;
        // Idempotency records hold nothing of the client to destroy (digests and ids only): a
        // retry reads the erased record again, as its GET does.
        let event = Event::new(actor, "client.erase", crate::clients::RESOURCE)
            .on(client_id)
            .for_client(client_id)
            .in_organisation(Some(organisation));
        audit::record(conn, event)?;
        Ok(())
    })
}

/// Open referrals of the client end (which also ends the partner's view); the free texts of
/// all its referrals go with the rest of the record.
fn erase_referrals(conn: &mut DbConnection, client: (Id, Id), actor: &Actor) -> QueryResult<()> {
    let ids = referral_cascade::cancel_for_erasure(conn, client, actor)?;
    diesel::update(referrals::table.filter(referrals::id.eq_any(&ids)))
        .set((
            referrals::reason.eq(ERASED),
            referrals::outcome.eq(None::<String>),
            referrals::status_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(referral_events::table.filter(referral_events::referral_id.eq_any(&ids)))
        .set(referral_events::reason.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// A client whose case is closed.
#[derive(Debug, Clone)]
pub struct ClosedClient {
    pub id: Id,
    pub reference: String,
    pub closed_at: NaiveDateTime,
}

/// Clients closed before `cutoff` and not erased yet.
pub fn due_for_erasure(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<Vec<ClosedClient>> {
    let rows: Vec<(Id, String, Option<NaiveDateTime>)> = clients::table
        .filter(clients::status.eq(ClientStatus::Closed.code()))
        .filter(clients::closed_at.lt(cutoff))
        .order(clients::closed_at)
        .select((clients::id, clients::reference, clients::closed_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, reference, closed_at)| Some(ClosedClient { id, reference, closed_at: closed_at? }))
        .collect())
}

/// Parses a retention period such as `5y`, `18m`, `90d`.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let unit_at = text.char_indices().last().map_or(0, |(at, _)| at);
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| format!("`{text}` is not a period such as 5y, 18m or 90d"))?;
    let days = match unit {
        "d" => number,
        "m" => number * 30,
        "y" => number * 365,
        _ => return Err(format!("`{text}` is not a period such as 5y, 18m or 90d")),
    };
    if days <= 0 {
        return Err("the period must be positive".to_owned());
    }
    Ok(Duration::days(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_read_in_days_months_and_years() {
        assert_eq!(parse_period("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_period("5y").unwrap(), Duration::days(5 * 365));
        assert!(parse_period("5").is_err());
        assert!(parse_period("0d").is_err());
        assert!(parse_period("-3y").is_err());
    }
}
