//! The report's aggregate queries: every figure is computed by the database (grouped counts
//! and sums), never by pulling personal rows into memory.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::dsl::{count, count_star, sum};
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::appointments::model::AppointmentStatus;
use crate::db::schema::{
    appointments, client_tags, clients, deadlines, organisations, procedure_events, referrals, session_participants,
    sessions,
};
use crate::db::{DbConnection, OrganisationId};
use crate::domain::SessionKind;

/// How appointments end: held, cancelled, or missed by the client.
pub const OUTCOMES: [AppointmentStatus; 3] =
    [AppointmentStatus::Held, AppointmentStatus::Cancelled, AppointmentStatus::NoShow];

/// The period and place a report covers.
#[derive(Debug, Clone)]
pub struct Scope {
    pub organisation_id: OrganisationId,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
    pub from_day: NaiveDate,
    pub to_day: NaiveDate,
    pub city: Option<String>,
    pub today: NaiveDate,
    /// Whether psychological sessions count: only for callers inside the tier. For everyone
    /// else every figure leaves them out, so nothing they can count changes when one exists.
    pub psychological: bool,
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
    pub referrals_sent: Vec<(OrganisationId, String, i64)>,
    pub referrals_received: Vec<(OrganisationId, String, i64)>,
    pub hours_to_answer: Vec<f64>,
    pub deadlines_met: i64,
    pub deadlines_missed: i64,
    /// Psychological sessions and minutes of each whole calendar month of the period.
    pub psychological_by_month: Vec<MonthOfTier>,
    /// Appointments of the period that were held, cancelled or missed: (kind, city, status) →
    /// count.
    pub appointment_outcomes: Vec<(String, String, String, i64)>,
}

/// One whole calendar month's psychological work of an organisation, exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthOfTier {
    /// `YYYY-MM`.
    pub month: String,
    pub sessions: i64,
    pub minutes: i64,
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
            .filter($scope.psychological.into_sql::<Bool>().or(sessions::kind.ne(SessionKind::Psychological)))
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
        // A merged duplicate was the same person as its survivor, who is counted.
        .filter(clients::status.ne(crate::domain::client::ClientStatus::Merged))
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
    let referrals_sent: Vec<(OrganisationId, String, i64)> = referrals_in_period()
        .filter(referrals::from_organisation_id.eq(scope.organisation_id))
        .group_by((referrals::to_organisation_id, referrals::status))
        .select((referrals::to_organisation_id, referrals::status, count_star()))
        .load(conn)?;
    let referrals_received: Vec<(OrganisationId, String, i64)> = referrals_in_period()
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
    // A city is typed freely: reports name only the organisation's own cities, the rest as
    // "other", so that nothing typed there reaches a report.
    let cities: Vec<String> = organisations::table
        .find(scope.organisation_id)
        .select(organisations::cities)
        .first::<crate::db::List<String>>(conn)?
        .into();
    let appointment_outcomes: Vec<(String, String, String, i64)> = appointments::table
        .filter(appointments::organisation_id.eq(scope.organisation_id))
        .filter(appointments::starts_at.ge(scope.from))
        .filter(appointments::starts_at.lt(scope.until))
        .filter(appointments::status.eq_any(OUTCOMES))
        .filter(
            scope.city.is_none().into_sql::<Bool>().or(appointments::city.eq(scope.city.clone().unwrap_or_default())),
        )
        .filter(scope.psychological.into_sql::<Bool>().or(appointments::kind.ne(SessionKind::Psychological)))
        .group_by((appointments::kind, appointments::city, appointments::status))
        .select((appointments::kind, appointments::city, appointments::status, count_star()))
        .load::<(String, String, String, i64)>(conn)?
        .into_iter()
        .map(|(kind, city, outcome, count)| (kind, listed_city(&cities, &city), outcome, count))
        .collect();
    Ok(Figures {
        appointment_outcomes,
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
        psychological_by_month: psychological_by_month(conn, scope.organisation_id, scope.from_day, scope.to_day)?,
    })
}

/// The organisation's own spelling of a city, or "other".
fn listed_city(cities: &[String], city: &str) -> String {
    let key = crate::domain::names::fold(city);
    cities
        .iter()
        .find(|listed| crate::domain::names::fold(listed) == key)
        .cloned()
        .unwrap_or_else(|| "other".to_owned())
}

/// The first days of the calendar months that lie wholly in `[from, to]`.
pub fn whole_months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut months = Vec::new();
    let Some(mut start) = from.with_day(1) else { return months };
    if start < from {
        start = start + Months::new(1);
    }
    while let Some(next) = start.checked_add_months(Months::new(1)) {
        if next.pred_opt().is_none_or(|last| last > to) {
            break;
        }
        months.push(start);
        start = next;
    }
    months
}

/// Psychological sessions of each whole calendar month in `[from, to]`. Each month is counted
/// on its own, whatever period was asked and whatever city, so that two overlapping reports
/// cannot be subtracted from each other to isolate a few sessions.
pub fn psychological_by_month(
    conn: &mut DbConnection,
    organisation_id: OrganisationId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<MonthOfTier>> {
    whole_months(from, to)
        .into_iter()
        .map(|start| {
            let until = start + Months::new(1);
            let (sessions, minutes): (i64, Option<i64>) = sessions::table
                .filter(sessions::organisation_id.eq(organisation_id))
                .filter(sessions::kind.eq(SessionKind::Psychological))
                .filter(sessions::started_at.ge(crate::domain::start_of_day_utc(start)))
                .filter(sessions::started_at.lt(crate::domain::start_of_day_utc(until)))
                .select((count_star(), sum(sessions::duration_minutes)))
                .first(conn)?;
            Ok(MonthOfTier { month: start.format("%Y-%m").to_string(), sessions, minutes: minutes.unwrap_or(0) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn only_months_wholly_inside_the_period_are_counted() {
        assert_eq!(whole_months(day("2026-11-01"), day("2026-11-30")), vec![day("2026-11-01")]);
        assert_eq!(whole_months(day("2026-11-02"), day("2026-12-31")), vec![day("2026-12-01")]);
        assert!(whole_months(day("2026-11-01"), day("2026-11-29")).is_empty());
        assert_eq!(whole_months(day("2026-12-01"), day("2027-02-28")).len(), 3);
    }
}
