//! Database functions for clients and their search index.

use chrono::NaiveDate;
use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{ClientFields, ClientRow, HouseholdMember};
use crate::db::schema::{client_identifiers, client_name_tokens, client_tags, clients, deadlines, reference_counters};
use crate::db::{self, DbConnection, Id, MultiBackend};
use crate::domain::client::{ClientStatus, HouseholdRelationship, identifier_key};
use crate::http::pagination::PageRequest;

pub fn find(conn: &mut DbConnection, id: Id) -> QueryResult<Option<ClientRow>> {
    clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()
}

/// The next reference of an organisation for a year, e.g. `PFM-2026-0042`. Numbers come from
/// a counter row, so they are never reused, even after an erasure.
pub fn next_reference(
    conn: &mut DbConnection,
    organisation_id: Id,
    short_name: &str,
    year: i32,
) -> QueryResult<String> {
    let bump = |conn: &mut DbConnection| {
        diesel::update(reference_counters::table.find((organisation_id, year)))
            .set(reference_counters::last_number.eq(reference_counters::last_number + 1))
            .returning(reference_counters::last_number)
            .get_result::<i32>(conn)
            .optional()
    };
    let number = match bump(conn)? {
        Some(number) => number,
        None => {
            // The first client of the year. A concurrent first one may win the insert; then
            // the counter exists and bumping it works (the savepoint keeps the transaction usable).
            let inserted = conn.transaction(|conn| {
                diesel::insert_into(reference_counters::table)
                    .values((
                        reference_counters::organisation_id.eq(organisation_id),
                        reference_counters::year.eq(year),
                        reference_counters::last_number.eq(1),
                    ))
                    .execute(conn)
            });
            match inserted {
                Ok(_) => 1,
                Err(_) => bump(conn)?.ok_or(diesel::result::Error::NotFound)?,
            }
        }
    };
    Ok(format!("{}-{year}-{number:04}", short_name.to_uppercase()))
}

/// The last reference number handed out for an organisation and year, if any.
pub fn last_reference_number(conn: &mut DbConnection, organisation_id: Id, year: i32) -> QueryResult<Option<i32>> {
    reference_counters::table
        .find((organisation_id, year))
        .select(reference_counters::last_number)
        .first(conn)
        .optional()
}

/// Moves an organisation's counter to `last_number`, so the next reference follows numbers that
/// were assigned in bulk (by the seed generator).
pub fn set_last_reference_number(
    conn: &mut DbConnection,
    organisation_id: Id,
    year: i32,
    last_number: i32,
) -> QueryResult<()> {
    let updated = diesel::update(reference_counters::table.find((organisation_id, year)))
        .set(reference_counters::last_number.eq(last_number))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(reference_counters::table)
            .values((
                reference_counters::organisation_id.eq(organisation_id),
                reference_counters::year.eq(year),
                reference_counters::last_number.eq(last_number),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Moves the counter forward to `last_number` (never back: batches written side by side may
/// commit out of order). The counter row must exist.
pub fn advance_last_reference_number(
    conn: &mut DbConnection,
    organisation_id: Id,
    year: i32,
    last_number: i32,
) -> QueryResult<usize> {
    diesel::update(reference_counters::table.find((organisation_id, year)))
        .filter(reference_counters::last_number.lt(last_number))
        .set(reference_counters::last_number.eq(last_number))
        .execute(conn)
}

fn city_key(fields: &ClientFields) -> Option<String> {
    fields.city.as_deref().map(crate::domain::names::fold)
}

pub fn insert(
    conn: &mut DbConnection,
    organisation_id: Id,
    reference: &str,
    fields: &ClientFields,
) -> QueryResult<ClientRow> {
    let now = db::now().naive_utc();
    let id = Id::new();
    let row = diesel::insert_into(clients::table)
        .values((
            clients::id.eq(id),
            clients::organisation_id.eq(organisation_id),
            clients::reference.eq(reference),
            clients::status.eq(ClientStatus::Active.code()),
            clients::created_at.eq(now),
            clients::updated_at.eq(now),
            clients::version.eq(1),
            field_values(fields),
        ))
        .returning(clients::all_columns)
        .get_result::<ClientRow>(conn)?;
    replace_index(conn, id, organisation_id, fields)?;
    Ok(row)
}

/// The columns a client's checked fields are stored in (shared by insert, update and the seed
/// generator's multi-row insert).
#[allow(clippy::type_complexity)]
pub fn field_values(
    fields: &ClientFields,
) -> (
    (
        diesel::dsl::Eq<clients::given_names, String>,
        diesel::dsl::Eq<clients::family_name, String>,
        diesel::dsl::Eq<clients::native_name, Option<String>>,
        diesel::dsl::Eq<clients::aliases, String>,
        diesel::dsl::Eq<clients::date_of_birth, Option<NaiveDate>>,
        diesel::dsl::Eq<clients::birth_year, Option<i32>>,
        diesel::dsl::Eq<clients::sex, &'static str>,
        diesel::dsl::Eq<clients::nationalities, String>,
        diesel::dsl::Eq<clients::region_of_origin, Option<String>>,
    ),
    (
        diesel::dsl::Eq<clients::languages, String>,
        diesel::dsl::Eq<clients::interpreter_needed, bool>,
        diesel::dsl::Eq<clients::city, Option<String>>,
        diesel::dsl::Eq<clients::city_key, Option<String>>,
        diesel::dsl::Eq<clients::accommodation, &'static str>,
        diesel::dsl::Eq<clients::phone, Option<String>>,
        diesel::dsl::Eq<clients::email, Option<String>>,
        diesel::dsl::Eq<clients::vulnerabilities, String>,
        diesel::dsl::Eq<clients::identifiers, String>,
        diesel::dsl::Eq<clients::assigned_counselor_id, Option<Id>>,
        diesel::dsl::Eq<clients::name_key, String>,
    ),
) {
    (
        (
            clients::given_names.eq(fields.given_names.clone()),
            clients::family_name.eq(fields.family_name.clone()),
            clients::native_name.eq(fields.native_name.clone()),
            clients::aliases.eq(db::encode_list(&fields.aliases)),
            clients::date_of_birth.eq(fields.date_of_birth),
            clients::birth_year.eq(fields.birth_year),
            clients::sex.eq(fields.sex.code()),
            clients::nationalities.eq(db::encode_list(&fields.nationalities)),
            clients::region_of_origin.eq(fields.region_of_origin.clone()),
        ),
        (
            clients::languages.eq(db::encode_list(&fields.languages)),
            clients::interpreter_needed.eq(fields.interpreter_needed),
            clients::city.eq(fields.city.clone()),
            clients::city_key.eq(city_key(fields)),
            clients::accommodation.eq(fields.accommodation.code()),
            clients::phone.eq(fields.phone.clone()),
            clients::email.eq(fields.email.clone()),
            clients::vulnerabilities.eq(db::encode_list(&fields.vulnerabilities)),
            clients::identifiers.eq(db::encode_list(&fields.identifiers)),
            clients::assigned_counselor_id.eq(fields.assigned_counselor_id),
            clients::name_key.eq(fields.name_key()),
        ),
    )
}

/// The rows that index one client: folded name words, list-valued fields as tags, and
/// identifier keys. The API and the seed generator both write exactly these.
#[derive(Debug, Clone, Default)]
pub struct IndexRows {
    pub name_tokens: Vec<String>,
    pub tags: Vec<(&'static str, String)>,
    pub identifiers: Vec<(&'static str, String)>,
}

impl IndexRows {
    pub fn of(fields: &ClientFields) -> Self {
        let tags = fields
            .nationalities
            .iter()
            .map(|c| ("nationality", c.as_str().to_owned()))
            .chain(fields.languages.iter().map(|l| ("language", l.as_str().to_owned())))
            .chain(fields.vulnerabilities.iter().map(|v| ("vulnerability", v.code().to_owned())))
            .collect();
        let mut identifiers: Vec<(&'static str, String)> =
            fields.identifiers.iter().map(|i| (i.kind.code(), identifier_key(&i.value))).collect();
        identifiers.sort();
        identifiers.dedup();
        Self { name_tokens: fields.search_tokens(), tags, identifiers }
    }

    pub fn len(&self) -> usize {
        self.name_tokens.len() + self.tags.len() + self.identifiers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rewrites the rows that index a client's names, list fields and identifiers.
fn replace_index(
    conn: &mut DbConnection,
    client_id: Id,
    organisation_id: Id,
    fields: &ClientFields,
) -> QueryResult<()> {
    diesel::delete(client_name_tokens::table.filter(client_name_tokens::client_id.eq(client_id))).execute(conn)?;
    diesel::delete(client_tags::table.filter(client_tags::client_id.eq(client_id))).execute(conn)?;
    diesel::delete(client_identifiers::table.filter(client_identifiers::client_id.eq(client_id))).execute(conn)?;
    let rows = IndexRows::of(fields);
    for token in rows.name_tokens {
        diesel::insert_into(client_name_tokens::table)
            .values((
                client_name_tokens::client_id.eq(client_id),
                client_name_tokens::organisation_id.eq(organisation_id),
                client_name_tokens::token.eq(token),
            ))
            .execute(conn)?;
    }
    for (kind, value) in rows.tags {
        diesel::insert_into(client_tags::table)
            .values((
                client_tags::client_id.eq(client_id),
                client_tags::organisation_id.eq(organisation_id),
                client_tags::kind.eq(kind),
                client_tags::value.eq(value),
            ))
            .execute(conn)?;
    }
    for (kind, key) in rows.identifiers {
        diesel::insert_into(client_identifiers::table)
            .values((
                client_identifiers::client_id.eq(client_id),
                client_identifiers::organisation_id.eq(organisation_id),
                client_identifiers::kind.eq(kind),
                client_identifiers::value_key.eq(key),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Writes new fields if the version is still `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    current: &ClientRow,
    expected_version: i32,
    fields: &ClientFields,
) -> QueryResult<Option<ClientRow>> {
    let updated = diesel::update(clients::table.find(current.id))
        .filter(clients::version.eq(expected_version))
        .set((
            field_values(fields),
            clients::updated_at.eq(db::now().naive_utc()),
            clients::version.eq(expected_version + 1),
        ))
        .returning(clients::all_columns)
        .get_result::<ClientRow>(conn)
        .optional()?;
    if updated.is_some() {
        replace_index(conn, current.id, current.organisation_id, fields)?;
    }
    Ok(updated)
}

/// Closes or reopens a client if the version is still `expected_version`.
pub fn set_status(
    conn: &mut DbConnection,
    id: Id,
    expected_version: i32,
    status: ClientStatus,
    reason: Option<&str>,
) -> QueryResult<Option<ClientRow>> {
    let now = db::now().naive_utc();
    let closed_at = (status == ClientStatus::Closed).then_some(now);
    diesel::update(clients::table.find(id))
        .filter(clients::version.eq(expected_version))
        .set((
            clients::status.eq(status.code()),
            clients::closed_reason.eq(reason),
            clients::closed_at.eq(closed_at),
            clients::updated_at.eq(now),
            clients::version.eq(expected_version + 1),
        ))
        .returning(clients::all_columns)
        .get_result(conn)
        .optional()
}

/// What a client list is narrowed by; every field is optional.
#[derive(Debug, Default, Clone)]
pub struct Search {
    pub reference: Option<String>,
    pub identifier_key: Option<String>,
    pub name_tokens: Vec<String>,
    pub status: Option<ClientStatus>,
    pub city_key: Option<String>,
    pub tags: Vec<(&'static str, String)>,
    pub assigned_counselor_id: Option<Id>,
    pub procedure_stage: Option<String>,
    pub deadline_due_by: Option<NaiveDate>,
}

type ClientCondition = Box<dyn BoxableExpression<clients::table, MultiBackend, SqlType = Bool>>;

/// The smallest string greater than every string that starts with `prefix` (ASCII tokens).
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    if let Some(last) = end.pop() {
        end.push(char::from(last as u8 + 1));
    }
    end
}

/// Up to this many clients matching a name word or a tag are loaded and looked up by id.
///
/// A page is the first clients in id order after the cursor. Gathering every client that matches a
/// condition and then sorting them costs as much as there are matches, which grows with the
/// organisation: a common surname prefix or nationality matches thousands among a million. So a
/// condition with more matches than this is instead checked on each client while the
/// organisation's clients are walked in id order from the cursor; that costs about the page size
/// divided by the share of clients that match, whatever the organisation's size. Either way a
/// page costs about the same at ten thousand clients and at a million, at any depth.
const LOADED_MATCHES_MAX: usize = 2_000;

/// A condition on the rows that index clients.
enum IndexCondition {
    /// A name word starts with this (folded) prefix.
    NameWord(String),
    /// A list-valued field (nationality, language, vulnerability) holds this value.
    Tag(&'static str, String),
}

/// The clients an index condition matches: all of them, when few enough to load, or too many.
enum Matches {
    Few(Vec<Id>),
    Many,
}

impl IndexCondition {
    /// Whether more than `LOADED_MATCHES_MAX` clients match, asked by skipping that many index
    /// rows inside the database (nothing is sent back for them); if not, the matches.
    fn matches(&self, conn: &mut DbConnection, organisation_id: Id) -> QueryResult<Matches> {
        let most = LOADED_MATCHES_MAX as i64;
        if !self.matching_ids(conn, organisation_id, most, 1)?.is_empty() {
            return Ok(Matches::Many);
        }
        Ok(Matches::Few(self.matching_ids(conn, organisation_id, 0, most)?))
    }

    fn matching_ids(&self, conn: &mut DbConnection, organisation_id: Id, skip: i64, take: i64) -> QueryResult<Vec<Id>> {
        match self {
            Self::NameWord(word) => client_name_tokens::table
                .filter(client_name_tokens::organisation_id.eq(organisation_id))
                .filter(client_name_tokens::token.ge(word.clone()))
                .filter(client_name_tokens::token.lt(prefix_end(word)))
                .select(client_name_tokens::client_id)
                .offset(skip)
                .limit(take)
                .load(conn),
            Self::Tag(kind, value) => client_tags::table
                .filter(client_tags::organisation_id.eq(organisation_id))
                .filter(client_tags::kind.eq(*kind))
                .filter(client_tags::value.eq(value.clone()))
                .select(client_tags::client_id)
                .offset(skip)
                .limit(take)
                .load(conn),
        }
    }

    /// Checked on each client in turn. The cursor is repeated inside so that PostgreSQL, when it
    /// merges this with the clients in id order, starts the index rows at the cursor too.
    fn checked_per_client(&self, after: Option<Id>) -> ClientCondition {
        match self {
            Self::NameWord(word) => {
                let rows = client_name_tokens::table
                    .filter(client_name_tokens::client_id.eq(clients::id))
                    .filter(client_name_tokens::token.ge(word.clone()))
                    .filter(client_name_tokens::token.lt(prefix_end(word)));
                match after {
                    Some(after) => Box::new(exists(rows.filter(client_name_tokens::client_id.gt(after)))),
                    None => Box::new(exists(rows)),
                }
            }
            Self::Tag(kind, value) => {
                let rows = client_tags::table
                    .filter(client_tags::client_id.eq(clients::id))
                    .filter(client_tags::kind.eq(*kind))
                    .filter(client_tags::value.eq(value.clone()));
                match after {
                    Some(after) => Box::new(exists(rows.filter(client_tags::client_id.gt(after)))),
                    None => Box::new(exists(rows)),
                }
            }
        }
    }

    /// Every match gathered by the database, from the cursor on.
    fn gathered(&self, organisation_id: Id, after: Option<Id>) -> ClientCondition {
        match self {
            Self::NameWord(word) => {
                let rows = client_name_tokens::table
                    .filter(client_name_tokens::organisation_id.eq(organisation_id))
                    .filter(client_name_tokens::token.ge(word.clone()))
                    .filter(client_name_tokens::token.lt(prefix_end(word)));
                match after {
                    Some(after) => Box::new(clients::id.eq_any(
                        rows.filter(client_name_tokens::client_id.gt(after)).select(client_name_tokens::client_id),
                    )),
                    None => Box::new(clients::id.eq_any(rows.select(client_name_tokens::client_id))),
                }
            }
            Self::Tag(kind, value) => {
                let rows = client_tags::table
                    .filter(client_tags::organisation_id.eq(organisation_id))
                    .filter(client_tags::kind.eq(*kind))
                    .filter(client_tags::value.eq(value.clone()));
                match after {
                    Some(after) => Box::new(
                        clients::id
                            .eq_any(rows.filter(client_tags::client_id.gt(after)).select(client_tags::client_id)),
                    ),
                    None => Box::new(clients::id.eq_any(rows.select(client_tags::client_id))),
                }
            }
        }
    }
}

/// The conditions on name words and tags, each checked the cheapest way (see
/// `LOADED_MATCHES_MAX`): a condition with few matches by its loaded list; the others per client,
/// which is cheap when a list narrows the candidates or when there is only one condition.
/// Several conditions that each match many clients may still match few together, so then the
/// database gathers their matches (as many as there are) rather than walk for a rare combination.
fn index_conditions(
    conn: &mut DbConnection,
    organisation_id: Id,
    conditions: &[IndexCondition],
    after: Option<Id>,
) -> QueryResult<Vec<ClientCondition>> {
    let matches =
        conditions.iter().map(|condition| condition.matches(conn, organisation_id)).collect::<QueryResult<Vec<_>>>()?;
    let walk = conditions.len() == 1 || matches.iter().any(|m| matches!(m, Matches::Few(_)));
    Ok(conditions
        .iter()
        .zip(matches)
        .map(|(condition, matches)| match matches {
            Matches::Few(ids) => Box::new(clients::id.eq_any(ids)) as ClientCondition,
            Matches::Many if walk => condition.checked_per_client(after),
            Matches::Many => condition.gathered(organisation_id, after),
        })
        .collect())
}

fn all_of(conditions: Vec<ClientCondition>) -> Option<ClientCondition> {
    conditions.into_iter().reduce(|all, next| Box::new(all.and(next)))
}

/// One page of an organisation's clients, oldest first.
pub fn search(
    conn: &mut DbConnection,
    organisation_id: Id,
    search: &Search,
    page: PageRequest,
) -> QueryResult<Vec<ClientRow>> {
    let mut query =
        clients::table.filter(clients::organisation_id.eq(organisation_id)).select(ClientRow::as_select()).into_boxed();
    if let Some(reference) = &search.reference {
        query = query.filter(clients::reference.eq(reference.clone()));
    }
    let by_identifier: Option<ClientCondition> = search.identifier_key.as_ref().map(|key| {
        let matching = client_identifiers::table
            .filter(client_identifiers::organisation_id.eq(organisation_id))
            .filter(client_identifiers::value_key.eq(key.clone()))
            .select(client_identifiers::client_id);
        Box::new(clients::id.eq_any(matching)) as ClientCondition
    });
    // Names and tags are weighed together: a rare tag narrows a common name and the other way round.
    let conditions: Vec<IndexCondition> = search
        .name_tokens
        .iter()
        .cloned()
        .map(IndexCondition::NameWord)
        .chain(search.tags.iter().map(|(kind, value)| IndexCondition::Tag(kind, value.clone())))
        .collect();
    let mut checks = index_conditions(conn, organisation_id, &conditions, page.after)?;
    let tag_checks = checks.split_off(search.name_tokens.len());
    match (by_identifier, all_of(checks)) {
        (Some(identifier), Some(name)) => query = query.filter(identifier.or(name)),
        (Some(only), None) | (None, Some(only)) => query = query.filter(only),
        (None, None) => {}
    }
    if let Some(status) = search.status {
        query = query.filter(clients::status.eq(status.code()));
    } else {
        // A merged duplicate is only a pointer to its survivor: lists show it when asked for.
        query = query.filter(clients::status.ne(ClientStatus::Merged.code()));
    }
    if let Some(city_key) = &search.city_key {
        query = query.filter(clients::city_key.eq(city_key.clone()));
    }
    for check in tag_checks {
        query = query.filter(check);
    }
    if let Some(counselor) = search.assigned_counselor_id {
        query = query.filter(clients::assigned_counselor_id.eq(counselor));
    }
    if let Some(stage) = &search.procedure_stage {
        query = query.filter(clients::procedure_stage.eq(stage.clone()));
    }
    if let Some(due_by) = search.deadline_due_by {
        let matching = deadlines::table
            .filter(deadlines::organisation_id.eq(organisation_id))
            .filter(deadlines::closed_by_event_id.is_null())
            .filter(deadlines::due_on.le(due_by))
            .select(deadlines::client_id);
        query = query.filter(clients::id.eq_any(matching));
    }
    if let Some(after) = page.after {
        query = query.filter(clients::id.gt(after));
    }
    query.order(clients::id).limit(page.limit + 1).load(conn)
}

/// Likely duplicates inside an organisation: same identifier, or same name regardless of word
/// order (the caller scores them).
pub fn duplicate_candidates(
    conn: &mut DbConnection,
    organisation_id: Id,
    name_key: &str,
    identifier_keys: &[String],
) -> QueryResult<Vec<ClientRow>> {
    let by_identifier = client_identifiers::table
        .filter(client_identifiers::organisation_id.eq(organisation_id))
        .filter(client_identifiers::value_key.eq_any(identifier_keys.to_vec()))
        .select(client_identifiers::client_id);
    clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .filter(clients::name_key.eq(name_key).or(clients::id.eq_any(by_identifier)))
        .order(clients::id)
        .limit(50)
        .select(ClientRow::as_select())
        .load(conn)
}

pub fn identifier_keys_of(conn: &mut DbConnection, client_id: Id) -> QueryResult<Vec<String>> {
    client_identifiers::table
        .filter(client_identifiers::client_id.eq(client_id))
        .select(client_identifiers::value_key)
        .load(conn)
}

/// The members of a household, among the clients of `organisation_id` only: a household id is
/// no key to another organisation's records.
pub fn household_members(
    conn: &mut DbConnection,
    organisation_id: Id,
    household_id: Id,
) -> QueryResult<Vec<HouseholdMember>> {
    let rows: Vec<(Id, String, String, String, Option<String>)> = clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .filter(clients::household_id.eq(household_id))
        .order(clients::id)
        .select((
            clients::id,
            clients::reference,
            clients::given_names,
            clients::family_name,
            clients::household_relationship,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(client_id, reference, given_names, family_name, relationship)| {
            Ok(HouseholdMember {
                client_id,
                reference,
                given_names,
                family_name,
                relationship: relationship.as_deref().map(db::decode).transpose()?,
            })
        })
        .collect()
}

/// Puts a client into a household (or out of any, with `None`); bumps its version.
pub fn set_household(
    conn: &mut DbConnection,
    client_id: Id,
    household: Option<(Id, HouseholdRelationship)>,
) -> QueryResult<ClientRow> {
    diesel::update(clients::table.find(client_id))
        .set((
            clients::household_id.eq(household.map(|(id, _)| id)),
            clients::household_relationship.eq(household.map(|(_, relationship)| relationship.code())),
            clients::updated_at.eq(db::now().naive_utc()),
            clients::version.eq(clients::version + 1),
        ))
        .returning(clients::all_columns)
        .get_result(conn)
}

pub fn household_size(conn: &mut DbConnection, household_id: Id) -> QueryResult<i64> {
    clients::table.filter(clients::household_id.eq(household_id)).select(count_star()).first(conn)
}

/// Leaves a merged duplicate as a tombstone if its version is still `expected_version`: every
/// personal and statistical field emptied (the survivor carries the person now, in lists and
/// reports alike) and its index rows removed. Returns how many rows changed (0: stale).
pub fn tombstone(conn: &mut DbConnection, id: Id, expected_version: i32, placeholder: &str) -> QueryResult<usize> {
    let now = db::now().naive_utc();
    let changed = diesel::update(clients::table.find(id))
        .filter(clients::version.eq(expected_version))
        .set((
            (
                clients::given_names.eq(placeholder),
                clients::family_name.eq(placeholder),
                clients::native_name.eq(None::<String>),
                clients::aliases.eq("[]"),
                clients::date_of_birth.eq(None::<NaiveDate>),
                clients::birth_year.eq(None::<i32>),
                clients::sex.eq(crate::domain::client::Sex::Unknown.code()),
                clients::nationalities.eq("[]"),
                clients::region_of_origin.eq(None::<String>),
                clients::languages.eq("[]"),
                clients::city.eq(None::<String>),
                clients::city_key.eq(None::<String>),
            ),
            (
                clients::phone.eq(None::<String>),
                clients::email.eq(None::<String>),
                clients::vulnerabilities.eq("[]"),
                clients::identifiers.eq("[]"),
                clients::household_id.eq(None::<Id>),
                clients::household_relationship.eq(None::<String>),
                clients::assigned_counselor_id.eq(None::<Id>),
                clients::procedure_stage.eq(None::<String>),
                clients::status.eq(ClientStatus::Merged.code()),
                clients::closed_at.eq(Some(now)),
                clients::name_key.eq(""),
                clients::updated_at.eq(now),
                clients::version.eq(expected_version + 1),
            ),
        ))
        .execute(conn)?;
    diesel::delete(client_name_tokens::table.filter(client_name_tokens::client_id.eq(id))).execute(conn)?;
    diesel::delete(client_tags::table.filter(client_tags::client_id.eq(id))).execute(conn)?;
    diesel::delete(client_identifiers::table.filter(client_identifiers::client_id.eq(id))).execute(conn)?;
    Ok(changed)
}
