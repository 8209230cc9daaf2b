//! Polish calendar of working days, computed for any year.
//!
//! A time limit in administrative procedure that ends on a day free from work or on a Saturday
//! moves to the next working day (KPA art. 57 §4; for court time limits the same rule follows from
//! PPSA art. 83 §1 with Civil Code art. 115). Which days are free from work is set by the Act of
//! 18 January 1951 on days free from work. That list changes from time to time (Epiphany came back
//! in 2011, Christmas Eve was added from 2025), so it is kept below as data, each entry with the
//! year from which it applies: a new statutory day is one more line in the table.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The Gregorian calendar, and with it the Gregorian Easter rule, was adopted in October 1582;
/// earlier years have no Gregorian Easter.
const FIRST_GREGORIAN_YEAR: i32 = 1583;

/// Where a statutory day free from work falls in a given year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// The same calendar day every year.
    Fixed { month: u32, day: u32 },
    /// A movable feast, a number of days after Easter Sunday.
    AfterEaster { days: u64 },
}

/// One day listed in art. 1 pkt 1 of the Act on days free from work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatutoryHoliday {
    name: &'static str,
    placement: Placement,
    /// The first year from which the day has been free from work without interruption.
    since_year: i32,
}

impl StatutoryHoliday {
    const fn fixed(month: u32, day: u32, since_year: i32, name: &'static str) -> Self {
        Self { name, placement: Placement::Fixed { month, day }, since_year }
    }

    const fn after_easter(days: u64, since_year: i32, name: &'static str) -> Self {
        Self { name, placement: Placement::AfterEaster { days }, since_year }
    }

    /// The date of this holiday in `year`, or `None` when the statute did not yet list it then.
    fn date_in(&self, year: i32) -> Option<NaiveDate> {
        if year < self.since_year {
            return None;
        }
        match self.placement {
            Placement::Fixed { month, day } => NaiveDate::from_ymd_opt(year, month, day),
            Placement::AfterEaster { days } => easter_sunday(year)?.checked_add_days(Days::new(days)),
        }
    }
}

/// Days free from work under art. 1 pkt 1 of the Act of 18 January 1951, with the year from which
/// each applies.
///
/// Years are those of the amending acts: Assumption and Independence Day were restored in 1989,
/// Constitution Day in 1990 (when 22 July ceased to be a holiday), Epiphany from 2011 and Christmas
/// Eve from 2025. Days that were later abolished (22 July, and Epiphany and Assumption before
/// 1960) are not listed, so the calendar is exact from 1990 on, which covers every procedure under
/// the 2003 Act on granting protection. Easter Sunday and Pentecost Sunday always fall on a Sunday
/// and never change the count. A day designated by the Prime Minister during an epidemic (art. 1a)
/// is not modelled.
const STATUTORY_HOLIDAYS: &[StatutoryHoliday] = &[
    StatutoryHoliday::fixed(1, 1, 1951, "New Year's Day"),
    StatutoryHoliday::fixed(1, 6, 2011, "Epiphany"),
    StatutoryHoliday::after_easter(0, 1951, "Easter Sunday"),
    StatutoryHoliday::after_easter(1, 1951, "Easter Monday"),
    StatutoryHoliday::fixed(5, 1, 1951, "Labour Day"),
    StatutoryHoliday::fixed(5, 3, 1990, "Constitution Day"),
    StatutoryHoliday::after_easter(49, 1951, "Pentecost Sunday"),
    StatutoryHoliday::after_easter(60, 1951, "Corpus Christi"),
    StatutoryHoliday::fixed(8, 15, 1989, "Assumption of Mary"),
    StatutoryHoliday::fixed(11, 1, 1951, "All Saints' Day"),
    StatutoryHoliday::fixed(11, 11, 1989, "Independence Day"),
    StatutoryHoliday::fixed(12, 24, 2025, "Christmas Eve"),
    StatutoryHoliday::fixed(12, 25, 1951, "Christmas Day"),
    StatutoryHoliday::fixed(12, 26, 1951, "Second Day of Christmas"),
];

/// Easter Sunday of `year` in the Gregorian calendar, which Easter Monday, Pentecost and Corpus
/// Christi are counted from.
///
/// Uses the anonymous Gregorian algorithm (Meeus/Jones/Butcher). Returns `None` for years before
/// 1583 and for years outside the range of [`NaiveDate`].
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    if year < FIRST_GREGORIAN_YEAR {
        return None;
    }
    let metonic_year = year % 19;
    let century = year / 100;
    let year_of_century = year % 100;
    let solar_correction = century - century / 4;
    let lunar_correction = (century - (century + 8) / 25 + 1) / 3;
    let paschal_moon_offset = (19 * metonic_year + solar_correction - lunar_correction + 15) % 30;
    let sunday_offset =
        (32 + 2 * (century % 4) + 2 * (year_of_century / 4) - paschal_moon_offset - year_of_century % 4) % 7;
    let late_moon_correction = (metonic_year + 11 * paschal_moon_offset + 22 * sunday_offset) / 451;
    let day_number = paschal_moon_offset + sunday_offset - 7 * late_moon_correction + 114;
    let month = u32::try_from(day_number / 31).ok()?;
    let day = u32::try_from(day_number % 31 + 1).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Whether `date` is one of the days that the Act on days free from work lists by name.
pub fn is_public_holiday(date: NaiveDate) -> bool {
    STATUTORY_HOLIDAYS.iter().any(|holiday| holiday.date_in(date.year()) == Some(date))
}

/// Whether a time limit may not end on `date`: KPA art. 57 §4 names days free from work (Sundays
/// and the listed holidays) and Saturdays.
pub fn is_day_off(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun) || is_public_holiday(date)
}

/// The day on which a time limit that would end on `date` actually ends: `date` itself when it is
/// a working day, otherwise the first working day after it (KPA art. 57 §4).
///
/// At the very end of the representable calendar, where no later day exists, `date` is returned.
pub fn next_working_day_from(date: NaiveDate) -> NaiveDate {
    date.iter_days().find(|day| !is_day_off(*day)).unwrap_or(date)
}

/// How many working days there are from `from` to `to`, both included (none when `to` comes
/// first): the time that is left for something due on `to`.
pub fn working_days_through(from: NaiveDate, to: NaiveDate) -> usize {
    from.iter_days().take_while(|day| *day <= to).filter(|day| !is_day_off(*day)).count()
}

/// The statutory days free from work in `year`, in date order, with their English names.
pub fn holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut days: Vec<_> = STATUTORY_HOLIDAYS
        .iter()
        .filter_map(|holiday| holiday.date_in(year).map(|date| (date, holiday.name)))
        .collect();
    days.sort_unstable_by_key(|(date, _)| *date);
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn easter_sunday_matches_published_dates() {
        for (year, month, day) in
            [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2038, 4, 25), (1818, 3, 22), (2285, 3, 22)]
        {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "Easter {year}");
        }
    }

    #[test]
    fn easter_sunday_is_unknown_before_the_gregorian_calendar() {
        assert_eq!(easter_sunday(1582), None);
        assert!(easter_sunday(1583).is_some());
    }

    #[test]
    fn the_ends_of_the_representable_calendar_do_not_panic() {
        assert_eq!(easter_sunday(i32::MAX), None);
        assert_eq!(easter_sunday(i32::MIN), None);
        let last_day = NaiveDate::MAX;
        assert!(next_working_day_from(last_day) >= last_day);
        assert!(!holidays(last_day.year()).is_empty());
    }

    #[test]
    fn easter_sunday_is_always_a_sunday_between_22_march_and_25_april() {
        for year in FIRST_GREGORIAN_YEAR..=4099 {
            let easter = easter_sunday(year).unwrap();
            assert_eq!(easter.weekday(), Weekday::Sun, "{easter}");
            assert!(easter >= date(year, 3, 22) && easter <= date(year, 4, 25), "{easter}");
        }
    }

    #[test]
    fn movable_feasts_follow_easter() {
        assert!(is_public_holiday(date(2027, 3, 29)), "Easter Monday 2027");
        assert!(is_public_holiday(date(2026, 6, 4)), "Corpus Christi 2026");
        assert!(is_public_holiday(date(2026, 5, 24)), "Pentecost Sunday 2026");
        assert!(!is_public_holiday(date(2026, 6, 5)));
    }

    #[test]
    fn epiphany_is_a_holiday_only_from_2011() {
        assert!(!is_public_holiday(date(2010, 1, 6)));
        assert!(is_public_holiday(date(2011, 1, 6)));
    }

    #[test]
    fn christmas_eve_is_a_holiday_only_from_2025() {
        assert!(!is_public_holiday(date(2024, 12, 24)));
        assert!(is_public_holiday(date(2025, 12, 24)));
    }

    #[test]
    fn weekends_are_days_off_and_ordinary_weekdays_are_not() {
        assert!(is_day_off(date(2026, 5, 2)), "Saturday");
        assert!(is_day_off(date(2026, 5, 10)), "Sunday");
        assert!(!is_day_off(date(2026, 5, 4)), "Monday");
        assert!(is_day_off(date(2026, 11, 11)), "Independence Day on a Wednesday");
    }

    #[test]
    fn next_working_day_skips_a_run_of_days_off() {
        assert_eq!(next_working_day_from(date(2026, 5, 1)), date(2026, 5, 4));
        assert_eq!(next_working_day_from(date(2025, 12, 24)), date(2025, 12, 29));
        assert_eq!(next_working_day_from(date(2026, 5, 4)), date(2026, 5, 4));
    }

    #[test]
    fn holidays_lists_every_statutory_day_of_the_year_in_order() {
        let year_2025 = holidays(2025);
        assert_eq!(year_2025.len(), 14);
        assert!(year_2025.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(year_2025.first(), Some(&(date(2025, 1, 1), "New Year's Day")));
        assert!(year_2025.contains(&(date(2025, 6, 19), "Corpus Christi")));
        assert_eq!(holidays(2024).len(), 13);
        assert_eq!(holidays(2010).len(), 12);
    }

    #[test]
    fn next_working_day_is_never_a_day_off_and_never_earlier() {
        for day in date(2000, 1, 1).iter_days().take_while(|day| day.year() <= 2060) {
            let working_day = next_working_day_from(day);
            assert!(working_day >= day);
            assert!(!is_day_off(working_day), "{day} -> {working_day}");
            assert_eq!(working_day == day, !is_day_off(day));
        }
    }
}
