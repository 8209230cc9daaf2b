//! Closed lists and parsed values of the client record (SPEC §2.3).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::closed_list;

closed_list! { Sex { Female, Male, Other, Unknown } }

closed_list! {
    Accommodation { ReceptionCentre, ResidentialCentre, Private, Detention, Homeless, Unknown }
}

closed_list! {
    /// SPEC §2.3.1.
    Vulnerability {
        Minor, UnaccompaniedMinor, Disability, Elderly, Pregnant, SingleParent, TraffickingVictim,
        SeriousIllness, MentalDisorder, TortureVictim, ViolenceVictim, GenderBasedViolence, Lgbti, Ptsd, Fgm,
    }
}

closed_list! { IdentifierKind { UdscCaseNumber, Tztc, Passport, Pesel, ResidenceCard } }

closed_list! {
    /// `erased`: anonymised for good (the person's data-subject right); nothing can change it.
    /// `merged`: a duplicate whose file moved into another record; only a link to that record
    /// is left.
    ClientStatus { Active, Closed, Erased, Merged }
}

closed_list! {
    HouseholdRelationship { Head, Spouse, Partner, Child, Parent, Sibling, Grandparent, Grandchild, OtherRelative, Other }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        isocountry::CountryCode::for_alpha2(&code)
            .map(|_| Self(code))
            .map_err(|_| format!("`{raw}` is not an ISO 3166-1 alpha-2 country code"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 639 language code: two letters (639-1) or three (639-3), lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_lowercase();
        let known = match code.len() {
            2 => isolang::Language::from_639_1(&code).is_some(),
            3 => isolang::Language::from_639_3(&code).is_some(),
            _ => false,
        };
        if known { Ok(Self(code)) } else { Err(format!("`{raw}` is not an ISO 639-1 or 639-3 language code")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An identity document or case number. PESEL numbers must carry a valid check digit.
pub fn parse_identifier(kind: IdentifierKind, raw: &str) -> Result<String, String> {
    let value = super::bounded_text(raw, 1, 50)?;
    if kind == IdentifierKind::Pesel && !valid_pesel(&value) {
        return Err("is not a valid PESEL number (11 digits with a check digit)".to_owned());
    }
    Ok(value)
}

/// The key identifiers are matched by: letters and digits only, upper case.
pub fn identifier_key(value: &str) -> String {
    value.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn valid_pesel(value: &str) -> bool {
    const WEIGHTS: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 11 || value.len() != 11 {
        return false;
    }
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    (10 - sum % 10) % 10 == digits[10]
}

/// A date of birth must lie between 1900 and today.
pub fn parse_date_of_birth(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if date < earliest || date > today {
        return Err("must be between 1900-01-01 and today".to_owned());
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_checked_and_upper_cased() {
        assert_eq!(CountryCode::parse("ru").unwrap().as_str(), "RU");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("RUS").is_err());
    }

    #[test]
    fn language_codes_of_two_or_three_letters_are_checked() {
        assert_eq!(LanguageCode::parse("CE").unwrap().as_str(), "ce");
        assert!(LanguageCode::parse("prs").is_ok());
        assert!(LanguageCode::parse("zz").is_err());
        assert!(LanguageCode::parse("english").is_err());
    }

    #[test]
    fn pesel_check_digit_is_verified() {
        assert!(parse_identifier(IdentifierKind::Pesel, "44051401359").is_ok());
        assert!(parse_identifier(IdentifierKind::Pesel, "44051401358").is_err());
        assert!(parse_identifier(IdentifierKind::Passport, "AB 123456").is_ok());
        assert_eq!(identifier_key("ab-123 456"), "AB123456");
    }
}
