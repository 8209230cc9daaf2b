//! Data-subject rights (SPEC §2.10): export of everything held about a client, irreversible
//! erasure (anonymisation that keeps aggregate counts), and retention.

pub mod archive;
pub mod routes;

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{self, Actor, Event};
use crate::crypto::keys::KeyRing;
use crate::crypto::{MasterKeys, SessionField};
use crate::db::schema::{
    client_identifiers, client_name_keys, client_name_tokens, clients, procedure_events, referral_events, referrals,
    session_participants, sessions,
};
use crate::db::{self, ClientId, DbConnection, HouseholdId, OrganisationId};
use crate::domain::client::{ClientStatus, HouseholdRelationship};
use crate::referrals::cascade as referral_cascade;
use crate::sessions::model::{Details, SessionRow};
use crate::sessions::sealing::{open_details, seal_details};

/// What an erased record is called.
pub const ERASED: &str = "[erased]";

/// Anonymises a client in one transaction: names, contacts, identifiers, free texts, and its
/// sessions' notes, summaries and topics are destroyed (the data key too, so the sealed ones in
/// backups cannot be read either once the master key that wrapped it there is destroyed); year of
/// birth, sex, nationalities, languages, vulnerabilities and session counts and durations stay,
/// so past reports keep their numbers. Group sessions in other clients' files that the client
/// only took part in lose the client's participation, and the client's name words in their
/// notes, summary and topics. Open referrals are cancelled, which also ends the partner's view,
/// and the partners are told through the change feed.
pub fn erase(
    conn: &mut DbConnection,
    master: &MasterKeys,
    client_id: ClientId,
    actor: &Actor,
    reason: &str,
) -> QueryResult<()> {
    db::transaction(conn, |conn| {
        let now = db::now().naive_utc();
        let names = match crate::clients::queries::find(conn, client_id)? {
            Some(row) => name_words(&row),
            None => return Err(diesel::result::Error::NotFound),
        };
        leave_group_sessions(conn, master, client_id, &names)?;
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
                    clients::household_id.eq(None::<HouseholdId>),
                    clients::household_relationship.eq(None::<HouseholdRelationship>),
                    clients::status.eq(ClientStatus::Erased),
                    clients::closed_reason.eq(reason),
                    clients::closed_at.eq(Some(now)),
                    clients::name_key.eq(""),
                    clients::updated_at.eq(now),
                    clients::version.eq(clients::version + 1),
                ),
            ))
            .execute(conn)?;
        diesel::delete(client_name_tokens::table.filter(client_name_tokens::client_id.eq(client_id))).execute(conn)?;
        diesel::delete(client_name_keys::table.filter(client_name_keys::client_id.eq(client_id))).execute(conn)?;
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
        crate::appointments::erase_of_client(conn, client_id)?;
        crate::tasks::erase_of_client(conn, client_id)?;
        diesel::update(procedure_events::table.filter(procedure_events::client_id.eq(client_id)))
            .set((procedure_events::notes.eq(None::<String>), procedure_events::authority.eq(None::<String>)))
            .execute(conn)?;
        let organisation =
            clients::table.find(client_id).select(clients::organisation_id).first::<OrganisationId>(conn)?;
        erase_referrals(conn, (organisation, client_id), actor)?;
        // Idempotency records hold nothing of the client to destroy (digests and ids only): a
        // retry is answered as its GET is, 410 Gone.
        let event = Event::new(actor, "client.erase", crate::clients::RESOURCE)
            .on(client_id)
            .for_client(client_id)
            .in_organisation(Some(organisation));
        audit::record(conn, event)?;
        Ok(())
    })
}

/// The folded words of every name of the client, as they are searched for (case, diacritics
/// and script ignored). Single letters are left out: they are initials or ordinary words.
fn name_words(row: &crate::clients::model::ClientRow) -> HashSet<String> {
    let names = [row.given_names.as_str(), row.family_name.as_str()]
        .into_iter()
        .chain(row.native_name.as_deref())
        .chain(row.aliases.iter().map(String::as_str));
    crate::domain::names::tokens(names).into_iter().filter(|word| word.chars().count() > 1).collect()
}

/// `text` with every word that is one of the client's name words replaced by `[erased]`.
pub fn redact_names(text: &str, names: &HashSet<String>) -> String {
    let mut redacted = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, redacted: &mut String| {
        if !word.is_empty() {
            let folded = crate::domain::names::fold(word);
            let is_name = !folded.is_empty() && folded.split(' ').all(|part| names.contains(part));
            redacted.push_str(if is_name { ERASED } else { word.as_str() });
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut redacted);
            redacted.push(c);
        }
    }
    flush(&mut word, &mut redacted);
    redacted
}

/// The client leaves the group sessions of other clients' files: its participation goes, and
/// so does every word of its names in their notes, summaries and topics (re-sealed with the
/// file owner's key; text that no longer opens cannot be read and is left as it is). The
/// sessions stay in their owners' files.
fn leave_group_sessions(
    conn: &mut DbConnection,
    master: &MasterKeys,
    client_id: ClientId,
    names: &HashSet<String>,
) -> QueryResult<()> {
    let joined = session_participants::table
        .filter(session_participants::client_id.eq(client_id))
        .select(session_participants::session_id);
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::id.eq_any(joined))
        .filter(sessions::client_id.ne(client_id))
        .select(SessionRow::as_select())
        .load(conn)?;
    let mut keys = KeyRing::new(master);
    for row in rows {
        diesel::delete(
            session_participants::table
                .filter(session_participants::session_id.eq(row.id))
                .filter(session_participants::client_id.eq(client_id)),
        )
        .execute(conn)?;
        let key = keys.existing(conn, row.client_id)?;
        let notes = match (&row.notes_ciphertext, key) {
            (Some(sealed), Some(key)) => match key.open(SessionField::Notes, row.id, sealed) {
                Ok(text) => key.seal(SessionField::Notes, row.id, &redact_names(&text, names)).ok(),
                Err(_) => None,
            },
            _ => None,
        };
        let details = match (open_details(key, &row), key) {
            (Details::Shown(mut details), Some(key)) if !details.is_empty() => {
                details.summary = details.summary.map(|summary| redact_names(&summary, names));
                details.topics = details.topics.iter().map(|topic| redact_names(topic, names)).collect();
                seal_details(key, row.id, &details).ok().flatten()
            }
            _ => None,
        };
        diesel::update(sessions::table.find(row.id))
            .set((
                sessions::notes_ciphertext.eq(notes.or(row.notes_ciphertext)),
                sessions::details_ciphertext.eq(details.or(row.details_ciphertext)),
                sessions::updated_at.eq(db::now().naive_utc()),
                sessions::version.eq(sessions::version + 1),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Open referrals of the client end (which also ends the partner's view); the free texts of
/// all its referrals go with the rest of the record.
fn erase_referrals(conn: &mut DbConnection, client: (OrganisationId, ClientId), actor: &Actor) -> QueryResult<()> {
    referral_cascade::tell_partners_of_erasure(conn, client.1, actor)?;
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
    pub id: ClientId,
    pub reference: String,
    pub closed_at: NaiveDateTime,
}

/// Clients closed before `cutoff` and not erased yet.
pub fn due_for_erasure(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<Vec<ClosedClient>> {
    let rows: Vec<(ClientId, String, Option<NaiveDateTime>)> = clients::table
        .filter(clients::status.eq(ClientStatus::Closed))
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
    fn names_are_redacted_in_any_case_script_or_diacritics_and_other_words_stay() {
        let names: HashSet<String> = ["zelimkhan", "yandarbiyev", "lukasz"].into_iter().map(String::from).collect();
        assert_eq!(
            redact_names("ZELIMKHAN Yandarbiyev's story (Зелимхан), Łukasz: zelimkhanov", &names),
            "[erased] [erased]'s story ([erased]), [erased]: zelimkhanov"
        );
        assert_eq!(redact_names("", &names), "");
        assert_eq!(redact_names("Aisha, 2026", &names), "Aisha, 2026");
    }

    #[test]
    fn periods_are_read_in_days_months_and_years() {
        assert_eq!(parse_period("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_period("5y").unwrap(), Duration::days(5 * 365));
        assert!(parse_period("5").is_err());
        assert!(parse_period("0d").is_err());
        assert!(parse_period("-3y").is_err());
    }
}
