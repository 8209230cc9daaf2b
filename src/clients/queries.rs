//! Database functions for clients and their search index.

use chrono::NaiveDate;
use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{ClientFields, ClientNames, ClientRow, HouseholdMember, Identifier};
use crate::db::schema::{
    client_identifiers, client_name_keys, client_name_tokens, client_tags, clients, deadlines, name_index_state,
    reference_counters,
};
use crate::db::{self, ClientId, DbConnection, HouseholdId, Id, List, MultiBackend, OrganisationId, UserId};
use crate::domain::client::{
    Accommodation, ClientStatus, CountryCode, HouseholdRelationship, LanguageCode, Sex, Vulnerability, identifier_key,
};
use crate::http::pagination::PageRequest;

pub fn find(conn: &mut DbConnection, id: ClientId) -> QueryResult<Option<ClientRow>> {
    clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()
}

/// The next reference of an organisation for a year, e.g. `PFM-2026-0042`. Numbers come from
/// a counter row, so they are never reused, even after an erasure.
pub fn next_reference(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
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
pub fn last_reference_number(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    year: i32,
) -> QueryResult<Option<i32>> {
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
    organisation_id: OrganisationId,
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
    organisation_id: OrganisationId,
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
    organisation_id: OrganisationId,
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
            clients::status.eq(ClientStatus::Active),
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
        diesel::dsl::Eq<clients::aliases, List<String>>,
        diesel::dsl::Eq<clients::date_of_birth, Option<NaiveDate>>,
        diesel::dsl::Eq<clients::birth_year, Option<i32>>,
        diesel::dsl::Eq<clients::sex, Sex>,
        diesel::dsl::Eq<clients::nationalities, List<CountryCode>>,
        diesel::dsl::Eq<clients::region_of_origin, Option<String>>,
    ),
    (
        diesel::dsl::Eq<clients::languages, List<LanguageCode>>,
        diesel::dsl::Eq<clients::interpreter_needed, bool>,
        diesel::dsl::Eq<clients::city, Option<String>>,
        diesel::dsl::Eq<clients::city_key, Option<String>>,
        diesel::dsl::Eq<clients::accommodation, Accommodation>,
        diesel::dsl::Eq<clients::phone, Option<String>>,
        diesel::dsl::Eq<clients::email, Option<String>>,
        diesel::dsl::Eq<clients::vulnerabilities, List<Vulnerability>>,
        diesel::dsl::Eq<clients::identifiers, List<Identifier>>,
        diesel::dsl::Eq<clients::assigned_counselor_id, Option<UserId>>,
        diesel::dsl::Eq<clients::name_key, String>,
    ),
) {
    (
        (
            clients::given_names.eq(fields.given_names.clone()),
            clients::family_name.eq(fields.family_name.clone()),
            clients::native_name.eq(fields.native_name.clone()),
            clients::aliases.eq(List::of(&fields.aliases)),
            clients::date_of_birth.eq(fields.date_of_birth),
            clients::birth_year.eq(fields.birth_year),
            clients::sex.eq(fields.sex),
            clients::nationalities.eq(List::of(&fields.nationalities)),
            clients::region_of_origin.eq(fields.region_of_origin.clone()),
        ),
        (
            clients::languages.eq(List::of(&fields.languages)),
            clients::interpreter_needed.eq(fields.interpreter_needed),
            clients::city.eq(fields.city.clone()),
            clients::city_key.eq(city_key(fields)),
            clients::accommodation.eq(fields.accommodation),
            clients::phone.eq(fields.phone.clone()),
            clients::email.eq(fields.email.clone()),
            clients::vulnerabilities.eq(List::of(&fields.vulnerabilities)),
            clients::identifiers.eq(List::of(&fields.identifiers)),
            clients::assigned_counselor_id.eq(fields.assigned_counselor_id),
            clients::name_key.eq(fields.name_key()),
        ),
    )
}

/// The rows that index one client: folded name words, phonetic name keys, list-valued fields as
/// tags, and identifier keys. The API and the seed generator both write exactly these.
#[derive(Debug, Clone, Default)]
pub struct IndexRows {
    pub name_tokens: Vec<String>,
    pub name_keys: Vec<String>,
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
        let names = fields.names();
        Self { name_tokens: names.search_tokens(), name_keys: names.search_keys(), tags, identifiers }
    }

    pub fn len(&self) -> usize {
        self.name_tokens.len() + self.name_keys.len() + self.tags.len() + self.identifiers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rewrites what a client's names are found by: the folded words, the phonetic keys, and the
/// client's `name_key`. Every change of a client's names goes through here, in the transaction
/// that changes them.
pub fn write_name_index(
    conn: &mut DbConnection,
    client_id: ClientId,
    organisation_id: OrganisationId,
    names: &ClientNames,
) -> QueryResult<()> {
    diesel::update(clients::table.find(client_id)).set(clients::name_key.eq(names.name_key())).execute(conn)?;
    write_name_rows(conn, client_id, organisation_id, names)
}

fn write_name_rows(
    conn: &mut DbConnection,
    client_id: ClientId,
    organisation_id: OrganisationId,
    names: &ClientNames,
) -> QueryResult<()> {
    diesel::delete(client_name_tokens::table.filter(client_name_tokens::client_id.eq(client_id))).execute(conn)?;
    diesel::delete(client_name_keys::table.filter(client_name_keys::client_id.eq(client_id))).execute(conn)?;
    let tokens: Vec<_> = names
        .search_tokens()
        .into_iter()
        .map(|token| {
            (
                client_name_tokens::client_id.eq(client_id),
                client_name_tokens::organisation_id.eq(organisation_id),
                client_name_tokens::token.eq(token),
            )
        })
        .collect();
    let keys: Vec<_> = names
        .search_keys()
        .into_iter()
        .map(|key| {
            (
                client_name_keys::client_id.eq(client_id),
                client_name_keys::organisation_id.eq(organisation_id),
                client_name_keys::key.eq(key),
            )
        })
        .collect();
    // Multi-row inserts are written per backend (the multi-backend connection has none). A
    // client's names are at most a few hundred words, well below either backend's parameter limit.
    match conn {
        DbConnection::Postgres(c) => {
            diesel::insert_into(client_name_tokens::table).values(&tokens).execute(c)?;
            diesel::insert_into(client_name_keys::table).values(&keys).execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            diesel::insert_into(client_name_tokens::table).values(&tokens).execute(c)?;
            diesel::insert_into(client_name_keys::table).values(&keys).execute(c)?;
        }
    }
    Ok(())
}

/// Whether the stored name keys follow the current rules; if not, where re-keying resumes (the
/// state row names the rules a run writes and the last client it finished).
pub fn name_index_state(conn: &mut DbConnection) -> QueryResult<(bool, Option<ClientId>)> {
    let (version, resume_after): (i32, Option<ClientId>) = name_index_state::table
        .find(1)
        .select((name_index_state::key_version, name_index_state::resume_after))
        .first(conn)?;
    // A run under other rules than the current ones starts over.
    if version != crate::domain::names::KEY_VERSION {
        return Ok((false, None));
    }
    Ok((resume_after.is_none(), resume_after))
}

/// Re-keys the next `batch` clients after `after` (in id order) with the current rules; returns
/// their ids. A client changed meanwhile (its version moved) was re-keyed by that change and is
/// left alone.
fn rekey_batch(conn: &mut DbConnection, after: Option<ClientId>, batch: i64) -> QueryResult<Vec<ClientId>> {
    let mut query = clients::table.select(ClientRow::as_select()).order(clients::id).limit(batch).into_boxed();
    if let Some(after) = after {
        query = query.filter(clients::id.gt(after));
    }
    let rows: Vec<ClientRow> = query.load(conn)?;
    for row in &rows {
        // An erased record keeps no names to find it by.
        if row.status == ClientStatus::Erased {
            continue;
        }
        let names = row.names();
        let updated = diesel::update(clients::table.find(row.id))
            .filter(clients::version.eq(row.version))
            .set(clients::name_key.eq(names.name_key()))
            .execute(conn)?;
        if updated == 1 {
            write_name_rows(conn, row.id, row.organisation_id, &names)?;
        }
    }
    Ok(rows.iter().map(|row| row.id).collect())
}

/// Records the rules a re-keying writes and the client it reached; when none is left, that the
/// stored keys follow the current rules.
fn record_rekeying(conn: &mut DbConnection, reached: Option<ClientId>) -> QueryResult<usize> {
    diesel::update(name_index_state::table.find(1))
        .set((
            name_index_state::key_version.eq(crate::domain::names::KEY_VERSION),
            name_index_state::resume_after.eq(reached),
        ))
        .execute(conn)
}

/// Re-keys every client if the stored keys follow older rules, resuming an interrupted run;
/// nothing when they are current. Returns how many clients were re-keyed.
pub fn reindex_names(conn: &mut DbConnection, batch: i64, progress: impl Fn(usize)) -> QueryResult<usize> {
    let (current, after) = name_index_state(conn)?;
    if current {
        return Ok(0);
    }
    db::resumable_batches(conn, after, |conn, after| rekey_batch(conn, after, batch), record_rekeying, progress)
}

/// Rewrites the rows that index a client's names, list fields and identifiers.
fn replace_index(
    conn: &mut DbConnection,
    client_id: ClientId,
    organisation_id: OrganisationId,
    fields: &ClientFields,
) -> QueryResult<()> {
    write_name_index(conn, client_id, organisation_id, &fields.names())?;
    diesel::delete(client_tags::table.filter(client_tags::client_id.eq(client_id))).execute(conn)?;
    diesel::delete(client_identifiers::table.filter(client_identifiers::client_id.eq(client_id))).execute(conn)?;
    let rows = IndexRows::of(fields);
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
    id: ClientId,
    expected_version: i32,
    status: ClientStatus,
    reason: Option<&str>,
) -> QueryResult<Option<ClientRow>> {
    let now = db::now().naive_utc();
    let closed_at = (status == ClientStatus::Closed).then_some(now);
    diesel::update(clients::table.find(id))
        .filter(clients::version.eq(expected_version))
        .set((
            clients::status.eq(status),
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
    /// Each word of the searched name: its folded spelling (matched as a prefix) and its
    /// phonetic keys.
    pub name_words: Vec<(String, Vec<String>)>,
    pub status: Option<ClientStatus>,
    pub city_key: Option<String>,
    pub tags: Vec<(&'static str, String)>,
    pub assigned_counselor_id: Option<UserId>,
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
    Few(Vec<ClientId>),
    Many,
}

impl IndexCondition {
    /// Whether more than `LOADED_MATCHES_MAX` clients match, asked by skipping that many index
    /// rows inside the database (nothing is sent back for them); if not, the matches.
    fn matches(&self, conn: &mut DbConnection, organisation_id: OrganisationId) -> QueryResult<Matches> {
        let most = LOADED_MATCHES_MAX as i64;
        if !self.matching_ids(conn, organisation_id, most, 1)?.is_empty() {
            return Ok(Matches::Many);
        }
        Ok(Matches::Few(self.matching_ids(conn, organisation_id, 0, most)?))
    }

    fn matching_ids(
        &self,
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        skip: i64,
        take: i64,
    ) -> QueryResult<Vec<ClientId>> {
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
    fn checked_per_client(&self, after: Option<ClientId>) -> ClientCondition {
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
    fn gathered(&self, organisation_id: OrganisationId, after: Option<ClientId>) -> ClientCondition {
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
    organisation_id: OrganisationId,
    conditions: &[IndexCondition],
    after: Option<ClientId>,
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
    organisation_id: OrganisationId,
    search: &Search,
    page: PageRequest<ClientId>,
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
        query = query.filter(clients::status.eq(status));
    } else {
        // A merged duplicate is only a pointer to its survivor: lists show it when asked for.
        query = query.filter(clients::status.ne(ClientStatus::Merged));
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

/// How well a client matches a free-text search; lower ranks come first.
pub const RANK_IDENTITY: i32 = 0;
pub const RANK_SPELLING: i32 = 1;
pub const RANK_SOUND: i32 = 2;

/// The conditions of a search other than the free text (status, city, tags, counselor, stage,
/// deadlines).
fn filters(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    search: &Search,
    after: Option<ClientId>,
) -> QueryResult<Vec<ClientCondition>> {
    let tags: Vec<IndexCondition> =
        search.tags.iter().map(|(kind, value)| IndexCondition::Tag(kind, value.clone())).collect();
    let mut conditions = index_conditions(conn, organisation_id, &tags, after)?;
    if let Some(status) = search.status {
        conditions.push(Box::new(clients::status.eq(status)));
    }
    if let Some(city_key) = &search.city_key {
        conditions.push(Box::new(clients::city_key.assume_not_null().eq(city_key.clone())));
    }
    if let Some(counselor) = search.assigned_counselor_id {
        conditions.push(Box::new(clients::assigned_counselor_id.assume_not_null().eq(counselor)));
    }
    if let Some(stage) = &search.procedure_stage {
        conditions.push(Box::new(clients::procedure_stage.assume_not_null().eq(stage.clone())));
    }
    if let Some(due_by) = search.deadline_due_by {
        let matching = deadlines::table
            .filter(deadlines::organisation_id.eq(organisation_id))
            .filter(deadlines::closed_by_event_id.is_null())
            .filter(deadlines::due_on.le(due_by))
            .select(deadlines::client_id);
        conditions.push(Box::new(clients::id.eq_any(matching)));
    }
    Ok(conditions)
}

/// Clients whose reference or an identifier is the searched text: a handful at most.
fn identity_matches(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    search: &Search,
) -> QueryResult<Vec<ClientId>> {
    let mut ids: Vec<ClientId> = Vec::new();
    if let Some(reference) = &search.reference {
        ids.extend(
            clients::table
                .filter(clients::organisation_id.eq(organisation_id))
                .filter(clients::reference.eq(reference.clone()))
                .select(clients::id)
                .load::<ClientId>(conn)?,
        );
    }
    if let Some(key) = &search.identifier_key {
        ids.extend(
            client_identifiers::table
                .filter(client_identifiers::organisation_id.eq(organisation_id))
                .filter(client_identifiers::value_key.eq(key.clone()))
                .select(client_identifiers::client_id)
                .limit(IDENTITY_MATCHES_MAX)
                .load::<ClientId>(conn)?,
        );
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Identifiers are unique in practice; a value shared by more clients than this is no identity.
const IDENTITY_MATCHES_MAX: i64 = 100;

/// A name word of the search spelled as typed: some folded name word starts with it.
///
/// The cursor of the page is repeated inside (`after`, the last id of the previous page within
/// this rank; the outer query asks for later clients anyway, so the matches are the same). A page
/// is planned by PostgreSQL as the clients walked in id order from the cursor, merged with this
/// subquery's rows in client order read from the token index (client, token): without the cursor
/// that index is read from the organisation's first client on, so a deep page cost as much as the
/// pages before it (page 101 of a common surname at a million clients: 120–300 ms instead of 5).
fn spelled(word: &str, after: Option<ClientId>) -> ClientCondition {
    let rows = client_name_tokens::table
        .filter(client_name_tokens::client_id.eq(clients::id))
        .filter(client_name_tokens::token.ge(word.to_owned()))
        .filter(client_name_tokens::token.lt(prefix_end(word)));
    match after {
        Some(after) => Box::new(exists(rows.filter(client_name_tokens::client_id.gt(after)))),
        None => Box::new(exists(rows)),
    }
}

/// A name word of the search, spelled as typed or sounding alike (a phonetic key in common); the
/// cursor is repeated inside as in `spelled`.
fn spelled_or_sounding(
    organisation_id: OrganisationId,
    prefix: &str,
    keys: &[String],
    after: Option<ClientId>,
) -> ClientCondition {
    let by_key = client_name_keys::table
        .filter(client_name_keys::organisation_id.eq(organisation_id))
        .filter(client_name_keys::key.eq_any(keys.to_vec()));
    let by_key: ClientCondition = match after {
        Some(after) => Box::new(
            clients::id
                .eq_any(by_key.filter(client_name_keys::client_id.gt(after)).select(client_name_keys::client_id)),
        ),
        None => Box::new(clients::id.eq_any(by_key.select(client_name_keys::client_id))),
    };
    if prefix.is_empty() { by_key } else { Box::new(by_key.or(spelled(prefix, after))) }
}

/// One page of a free-text search, best matches first: clients whose reference or identifier is
/// the text, then those whose names are spelled so (case, diacritics and script aside, each word
/// the start of a name word), then those whose names sound so (another transliteration or
/// script). Within a rank, oldest first; `after` is the last (rank, id) of the previous page.
pub fn search_ranked(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    search: &Search,
    limit: i64,
    after: Option<(i32, ClientId)>,
) -> QueryResult<Vec<(i32, ClientRow)>> {
    let identity = identity_matches(conn, organisation_id, search)?;
    let mut found: Vec<(i32, ClientRow)> = Vec::new();
    let first_rank = after.map_or(RANK_IDENTITY, |(rank, _)| rank);
    for rank in first_rank..=RANK_SOUND {
        let wanted = limit + 1 - found.len() as i64;
        if wanted <= 0 {
            break;
        }
        let after_id = after.filter(|(r, _)| *r == rank).map(|(_, id)| id);
        let mut conditions: Vec<ClientCondition> = Vec::new();
        let spelling = || all_of(search.name_tokens.iter().map(|word| spelled(word, after_id)).collect());
        match rank {
            RANK_IDENTITY => {
                if identity.is_empty() {
                    continue;
                }
                conditions.push(Box::new(clients::id.eq_any(identity.clone())));
            }
            RANK_SPELLING => {
                let Some(spelled) = spelling() else { continue };
                conditions.push(spelled);
                conditions.push(Box::new(diesel::dsl::not(clients::id.eq_any(identity.clone()))));
            }
            _ => {
                let sounding: Vec<ClientCondition> = search
                    .name_words
                    .iter()
                    .map(|(prefix, keys)| spelled_or_sounding(organisation_id, prefix, keys, after_id))
                    .collect();
                let Some(sounding) = all_of(sounding) else { continue };
                conditions.push(sounding);
                if let Some(spelled) = spelling() {
                    conditions.push(Box::new(diesel::dsl::not(spelled)));
                }
                conditions.push(Box::new(diesel::dsl::not(clients::id.eq_any(identity.clone()))));
            }
        }
        conditions.extend(filters(conn, organisation_id, search, after_id)?);
        let mut query = clients::table
            .filter(clients::organisation_id.eq(organisation_id))
            .select(ClientRow::as_select())
            .into_boxed();
        for condition in conditions {
            query = query.filter(condition);
        }
        if let Some(after_id) = after_id {
            query = query.filter(clients::id.gt(after_id));
        }
        let rows: Vec<ClientRow> = query.order(clients::id).limit(wanted).load(conn)?;
        found.extend(rows.into_iter().map(|row| (rank, row)));
    }
    Ok(found)
}

/// Possible records of the same person inside an organisation, in one query: a client with an
/// equal identifier, or one that has a key of a given name and a key of the family name among
/// the keys of its names (in any field, so swapped names and a native-script name are found).
/// The caller scores them.
pub fn duplicate_candidates(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    given_keys: &[String],
    family_keys: &[String],
    identifier_keys: &[String],
) -> QueryResult<Vec<ClientRow>> {
    let by_identifier = client_identifiers::table
        .filter(client_identifiers::organisation_id.eq(organisation_id))
        .filter(client_identifiers::value_key.eq_any(identifier_keys.to_vec()))
        .select(client_identifiers::client_id);
    let having = |keys: &[String]| {
        client_name_keys::table
            .filter(client_name_keys::organisation_id.eq(organisation_id))
            .filter(client_name_keys::key.eq_any(keys.to_vec()))
            .select(client_name_keys::client_id)
    };
    let by_name = clients::id.eq_any(having(given_keys)).and(clients::id.eq_any(having(family_keys)));
    clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .filter(clients::status.ne(ClientStatus::Erased))
        .filter(clients::id.eq_any(by_identifier).or(by_name))
        .order(clients::id)
        .limit(DUPLICATE_CANDIDATES_MAX)
        .select(ClientRow::as_select())
        .load(conn)
}

/// More candidates than this are not worth a person's review; the best are shown.
const DUPLICATE_CANDIDATES_MAX: i64 = 200;

pub fn identifier_keys_of(conn: &mut DbConnection, client_id: ClientId) -> QueryResult<Vec<String>> {
    client_identifiers::table
        .filter(client_identifiers::client_id.eq(client_id))
        .select(client_identifiers::value_key)
        .load(conn)
}

/// The members of a household, among the clients of `organisation_id` only: a household id is
/// no key to another organisation's records.
pub fn household_members(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    household_id: HouseholdId,
) -> QueryResult<Vec<HouseholdMember>> {
    let rows: Vec<(ClientId, String, String, String, Option<HouseholdRelationship>)> = clients::table
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
    Ok(rows
        .into_iter()
        .map(|(client_id, reference, given_names, family_name, relationship)| HouseholdMember {
            client_id,
            reference,
            given_names,
            family_name,
            relationship,
        })
        .collect())
}

/// Puts a client into a household (or out of any, with `None`); bumps its version.
pub fn set_household(
    conn: &mut DbConnection,
    client_id: ClientId,
    household: Option<(HouseholdId, HouseholdRelationship)>,
) -> QueryResult<ClientRow> {
    diesel::update(clients::table.find(client_id))
        .set((
            clients::household_id.eq(household.map(|(id, _)| id)),
            clients::household_relationship.eq(household.map(|(_, relationship)| relationship)),
            clients::updated_at.eq(db::now().naive_utc()),
            clients::version.eq(clients::version + 1),
        ))
        .returning(clients::all_columns)
        .get_result(conn)
}

pub fn household_size(conn: &mut DbConnection, household_id: HouseholdId) -> QueryResult<i64> {
    clients::table.filter(clients::household_id.eq(household_id)).select(count_star()).first(conn)
}

/// Leaves a merged duplicate as a tombstone if its version is still `expected_version`: every
/// personal and statistical field emptied (the survivor carries the person now, in lists and
/// reports alike) and its index rows removed. Returns how many rows changed (0: stale).
pub fn tombstone(
    conn: &mut DbConnection,
    id: ClientId,
    expected_version: i32,
    placeholder: &str,
) -> QueryResult<usize> {
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
                clients::sex.eq(crate::domain::client::Sex::Unknown),
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
                clients::household_id.eq(None::<HouseholdId>),
                clients::household_relationship.eq(None::<HouseholdRelationship>),
                clients::assigned_counselor_id.eq(None::<UserId>),
                clients::procedure_stage.eq(None::<String>),
                clients::status.eq(ClientStatus::Merged),
                clients::closed_at.eq(Some(now)),
                clients::name_key.eq(""),
                clients::updated_at.eq(now),
                clients::version.eq(expected_version + 1),
            ),
        ))
        .execute(conn)?;
    diesel::delete(client_name_tokens::table.filter(client_name_tokens::client_id.eq(id))).execute(conn)?;
    diesel::delete(client_name_keys::table.filter(client_name_keys::client_id.eq(id))).execute(conn)?;
    diesel::delete(client_tags::table.filter(client_tags::client_id.eq(id))).execute(conn)?;
    diesel::delete(client_identifiers::table.filter(client_identifiers::client_id.eq(id))).execute(conn)?;
    Ok(changed)
}
