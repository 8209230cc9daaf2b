//! The report's aggregate queries: every figure is computed by the database (grouped counts
//! and sums), never by pulling personal rows into memory.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count, count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::db::schema::{client_tags, clients, deadlines, procedure_events, referrals, session_participants, sessions};
use crate::db::{DbConnection, Id};

/// The period and place a report covers.
#[derive(Debug, Clone)]
pub struct Scope {
    pub organisation_id: Id,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
    pub from_day: NaiveDate,
    pub to_day: NaiveDate,
    pub city: Option<String>,
    pub today: NaiveDate,
}

/// Raw figures of one organisation.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub clients_served: i64,
    pub new_clients: i64,
    pub sessions: i64,
    pub minutes: i64,
    pub sessions_by_kind: Vec<(String, i64)>,
    pub sessions_by_mode: Vec<(String, i64)>,
    /// (sex, birth year) → clients served.
    pub clients_by_sex_and_birth_year: Vec<(String, Option<i32>, i64)>,
    pub clients_by_nationality: Vec<(String, i64)>,
    pub clients_by_vulnerability: Vec<(String, i64)>,
    pub referrals_sent: Vec<(Id, String, i64)>,
    pub referrals_received: Vec<(Id, String, i64)>,
    pub hours_to_answer: Vec<f64>,
    pub deadlines_met: i64,
    pub deadlines_missed: i64,
}

/// Sessions of the scope: the organisation's, in the period, in the city if one is given.
/// "No city" is tested first: then SQLite never reads a session's row for its city, and counts
/// from the index alone where the index holds all else a statement needs.
macro_rules! in_scope_sessions {
    ($scope:expr) => {
        sessions::table
            .filter(sessions::organisation_id.eq($scope.organisation_id))
            .filter(sessions::started_at.ge($scope.from))
            .filter(sessions::started_at.lt($scope.until))
            .filter(
                $scope.city.is_none().into_sql::<Bool>().or(sessions::city.eq($scope.city.clone().unwrap_or_default())),
            )
    };
}

pub fn figures(conn: &mut DbConnection, scope: &Scope) -> QueryResult<Figures> {
    // Clients who attended a session of the scope.
    let served = || {
        session_participants::table
            .filter(session_participants::attended.eq(true))
            .filter(session_participants::session_id.eq_any(in_scope_sessions!(scope).select(sessions::id)))
            .select(session_participants::client_id)
    };
    let clients_served: i64 = session_participants::table
        .filter(session_participants::attended.eq(true))
        .filter(session_participants::session_id.eq_any(in_scope_sessions!(scope).select(sessions::id)))
        .select(count(session_participants::client_id).aggregate_distinct())
        .first(conn)?;
    let city_key = scope.city.as_deref().map(crate::domain::names::fold);
    let new_clients: i64 = clients::table
        .filter(clients::organisation_id.eq(scope.organisation_id))
        .filter(clients::created_at.ge(scope.from))
        .filter(clients::created_at.lt(scope.until))
        .filter(city_key.is_none().into_sql::<Bool>().or(clients::city_key.eq(city_key.clone().unwrap_or_default())))
        .select(count_star())
        .first(conn)?;
    let (sessions_count, minutes): (i64, Option<i64>) =
        in_scope_sessions!(scope).select((count_star(), sum(sessions::duration_minutes))).first(conn)?;
    let sessions_by_kind: Vec<(String, i64)> = in_scope_sessions!(scope)
        .group_by(sessions::kind)
        .select((sessions::kind, count_star()))
        .order(sessions::kind)
        .load(conn)?;
    let sessions_by_mode: Vec<(String, i64)> = in_scope_sessions!(scope)
        .group_by(sessions::mode)
        .select((sessions::mode, count_star()))
        .order(sessions::mode)
        .load(conn)?;
    let clients_by_sex_and_birth_year: Vec<(String, Option<i32>, i64)> = clients::table
        .filter(clients::id.eq_any(served()))
        .group_by((clients::sex, clients::birth_year))
        .select((clients::sex, clients::birth_year, count_star()))
        .load(conn)?;
    let by_tag = |conn: &mut DbConnection, kind: &'static str| -> QueryResult<Vec<(String, i64)>> {
        client_tags::table
            .filter(client_tags::organisation_id.eq(scope.organisation_id))
            .filter(client_tags::kind.eq(kind))
            .filter(client_tags::client_id.eq_any(served()))
            .group_by(client_tags::value)
            .select((client_tags::value, count_star()))
            .order(client_tags::value)
            .load(conn)
    };
    let clients_by_nationality = by_tag(conn, "nationality")?;
    let clients_by_vulnerability = by_tag(conn, "vulnerability")?;
    let referrals_in_period =
        || referrals::table.filter(referrals::created_at.ge(scope.from)).filter(referrals::created_at.lt(scope.until));
    let referrals_sent: Vec<(Id, String, i64)> = referrals_in_period()
        .filter(referrals::from_organisation_id.eq(scope.organisation_id))
        .group_by((referrals::to_organisation_id, referrals::status))
        .select((referrals::to_organisation_id, referrals::status, count_star()))
        .load(conn)?;
    let referrals_received: Vec<(Id, String, i64)> = referrals_in_period()
        .filter(referrals::to_organisation_id.eq(scope.organisation_id))
        .group_by((referrals::from_organisation_id, referrals::status))
        .select((referrals::from_organisation_id, referrals::status, count_star()))
        .load(conn)?;
    // Answer times are one number per answered referral (no personal data); few enough per
    // period to take the median here, which SQLite cannot compute.
    let answered: Vec<(NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>)> = referrals_in_period()
        .filter(referrals::to_organisation_id.eq(scope.organisation_id))
        .filter(referrals::accepted_at.is_not_null().or(referrals::declined_at.is_not_null()))
        .select((referrals::created_at, referrals::accepted_at, referrals::declined_at))
        .load(conn)?;
    let mut hours_to_answer: Vec<f64> = answered
        .into_iter()
        .filter_map(|(created, accepted, declined)| {
            accepted.or(declined).map(|answered| (answered - created).num_seconds() as f64 / 3600.0)
        })
        .collect();
    hours_to_answer.sort_by(f64::total_cmp);
    let due_in_period = || {
        deadlines::table
            .left_join(procedure_events::table.on(deadlines::closed_by_event_id.eq(procedure_events::id.nullable())))
            .filter(deadlines::organisation_id.eq(scope.organisation_id))
            .filter(deadlines::due_on.ge(scope.from_day))
            .filter(deadlines::due_on.le(scope.to_day))
    };
    let deadlines_met: i64 = due_in_period()
        .filter(deadlines::closed_by_event_id.is_not_null())
        .filter(procedure_events::occurred_on.nullable().le(deadlines::due_on.nullable()))
        .select(count_star())
        .first(conn)?;
    let deadlines_missed: i64 = due_in_period()
        .filter(
            procedure_events::occurred_on
                .nullable()
                .gt(deadlines::due_on.nullable())
                .or(deadlines::closed_by_event_id.is_null().and(deadlines::due_on.lt(scope.today))),
        )
        .select(count_star())
        .first(conn)?;
    Ok(Figures {
        clients_served,
        new_clients,
        sessions: sessions_count,
        minutes: minutes.unwrap_or(0),
        sessions_by_kind,
        sessions_by_mode,
        clients_by_sex_and_birth_year,
        clients_by_nationality,
        clients_by_vulnerability,
        referrals_sent,
        referrals_received,
        hours_to_answer,
        deadlines_met,
        deadlines_missed,
    })
}
