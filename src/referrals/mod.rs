//! Referrals between partner organisations (SPEC §2.6), gated by the client's consent.

pub mod cascade;
pub mod gate;
pub mod lifecycle;
pub mod model;
pub mod queries;
pub mod routes;
pub mod shared;

use chrono::NaiveDate;

use self::model::Urgency;
use crate::procedure::calendar;

/// The day a partner should answer by: an emergency the same day; otherwise after the given
/// number of working days (Saturdays, Sundays and Polish public holidays do not count).
pub fn respond_by(urgency: Urgency, today: NaiveDate, (urgent_days, routine_days): (u32, u32)) -> NaiveDate {
    let days = match urgency {
        Urgency::Emergency => return today,
        Urgency::Urgent => urgent_days,
        Urgency::Routine => routine_days,
    };
    let mut day = today;
    let mut counted = 0;
    while counted < days {
        day = day.succ_opt().unwrap_or(day);
        if !calendar::is_day_off(day) {
            counted += 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn answer_dates_count_working_days_only() {
        let thursday = date(2026, 4, 30);
        assert_eq!(respond_by(Urgency::Emergency, thursday, (2, 10)), thursday);
        // Friday 1 May and Sunday 3 May are holidays, Saturday 2 May a day off.
        assert_eq!(respond_by(Urgency::Urgent, thursday, (2, 10)), date(2026, 5, 5));
        assert_eq!(
            respond_by(Urgency::Routine, date(2026, 11, 2), (2, 10)),
            date(2026, 11, 17),
            "11 November is a holiday"
        );
    }
}
