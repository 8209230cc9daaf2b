//! Property tests for every parser and normaliser: no panics on any input, and the round trips
//! and invariants that the API relies on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge::db::Id;
use casebridge::domain::client::{CountryCode, IdentifierKind, LanguageCode, identifier_key, parse_identifier};
use casebridge::domain::names::{fold, name_key, tokens};
use casebridge::domain::{Email, bounded_text};
use casebridge::http::pagination::PageQuery;
use casebridge::procedure::calendar::is_day_off;
use casebridge::procedure::deadlines::{Period, period_end};
use chrono::{Days, NaiveDate};
use proptest::prelude::*;

/// Names as typed in reception centres: Latin with Polish letters, Cyrillic, digits, spaces,
/// hyphens and apostrophes.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-ZąćęłńóśźżĄĆĘŁŃÓŚŹŻа-яА-ЯёЁ0-9 '\\-]{0,40}"
}

proptest! {
    #[test]
    fn folding_yields_lowercase_ascii_words_and_is_idempotent(text in any::<String>()) {
        let folded = fold(&text);
        prop_assert!(folded.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' '));
        prop_assert!(!folded.starts_with(' ') && !folded.ends_with(' ') && !folded.contains("  "));
        prop_assert_eq!(fold(&folded), folded);
    }

    #[test]
    fn folding_ignores_case(text in name()) {
        prop_assert_eq!(fold(&text.to_uppercase()), fold(&text.to_lowercase()));
    }

    #[test]
    fn name_tokens_are_distinct_sorted_and_searchable(given in name(), family in name()) {
        let tokens = tokens([given.as_str(), family.as_str()]);
        let mut sorted = tokens.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&tokens, &sorted);
        for token in fold(&given).split(' ').filter(|t| !t.is_empty()) {
            prop_assert!(tokens.iter().any(|t| t == token));
        }
        prop_assert_eq!(name_key(&given, &family), name_key(&family, &given));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused_without_panic(garbage in any::<String>(), limit in any::<i64>()) {
        let query = PageQuery { limit: Some(limit), cursor: Some(garbage) };
        let _ = query.parse::<casebridge::db::id::entity::Any>();
        let _ = query.parse_keyed::<chrono::NaiveDate, casebridge::db::id::entity::Any>();
        let page = PageQuery { limit: Some(limit), cursor: None }.parse::<casebridge::db::id::entity::Any>();
        prop_assert_eq!(page.is_ok(), (1..=200).contains(&limit));
    }

    #[test]
    fn free_input_parsers_never_panic(text in any::<String>()) {
        let _ = Email::parse(&text);
        let _ = CountryCode::parse(&text);
        let _ = LanguageCode::parse(&text);
        let _ = bounded_text(&text, 1, 100);
        let _ = parse_identifier(IdentifierKind::Pesel, &text);
        let _ = casebridge::privacy::parse_period(&text);
        let _ = text.parse::<Id>();
    }

    #[test]
    fn identifier_keys_are_idempotent(text in any::<String>()) {
        let key = identifier_key(&text);
        prop_assert_eq!(identifier_key(&key), key.clone());
        prop_assert!(key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    }

    #[test]
    fn a_deadline_never_ends_early_or_on_a_day_off(offset in 0u64..36_500, days in 1u32..400, months in 1u32..36) {
        let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Days::new(offset);
        let end = period_end(start, Period::Days(days)).unwrap();
        prop_assert!(end >= start + Days::new(u64::from(days)));
        prop_assert!(!is_day_off(end));
        let end = period_end(start, Period::Months(months)).unwrap();
        prop_assert!(end > start);
        prop_assert!(!is_day_off(end));
    }
}
