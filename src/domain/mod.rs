//! Domain values shared by several capabilities: closed lists with stable codes and the
//! parsed forms of free input. Pure code: no actix, and of diesel only what stores a closed
//! list as its code.

pub mod client;
pub mod names;

/// Declares a closed list: a Rust enum whose stable snake_case codes are its API and database
/// representation (a text column on both databases, read back as the enum: a code outside the
/// list fails the read).
macro_rules! closed_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            strum::EnumString, strum::IntoStaticStr, strum::EnumIter,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub fn code(self) -> &'static str {
                self.into()
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let code = String::from_sql(bytes)?;
                Ok(code.parse()?)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                std::io::Write::write_all(out, self.code().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                out.set_value(self.code());
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }
    };
}
pub(crate) use closed_list;

closed_list! {
    /// What a user may do is decided by the role (see `policy`).
    Role { ConsortiumAdmin, Coordinator, Counselor, Analyst }
}

impl Role {
    /// Every role but the consortium administrator works inside one organisation.
    pub fn belongs_to_organisation(self) -> bool {
        self != Self::ConsortiumAdmin
    }
}

closed_list! {
    /// Kinds of counseling session; also what an organisation offers and what a user is
    /// qualified for.
    SessionKind { Psychological, Vocational, Legal, Social, Integration, MedicalReferral, Other }
}

/// A set of session kinds (a user's specialties), small enough to copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Specialties(u16);

impl Specialties {
    pub fn of(kinds: &[SessionKind]) -> Self {
        Self(kinds.iter().fold(0, |bits, kind| bits | 1 << (*kind as u16)))
    }

    pub fn contains(self, kind: SessionKind) -> bool {
        self.0 & (1 << (kind as u16)) != 0
    }
}

/// Today in Poland, as the request in progress sees it (`clock::today`).
pub fn today() -> chrono::NaiveDate {
    crate::clock::today()
}

/// Whether a day is one a filter or a cursor may name: the four-digit years of ISO 8601. Far
/// beyond them day arithmetic overflows and PostgreSQL holds no timestamp, so such a day is
/// refused as input (400) instead of failing the request (500).
pub fn on_the_calendar(day: chrono::NaiveDate) -> bool {
    (1..=9999).contains(&chrono::Datelike::year(&day))
}

/// The instant (UTC) a day begins in Poland.
pub fn start_of_day_utc(day: chrono::NaiveDate) -> chrono::NaiveDateTime {
    use chrono::TimeZone;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    chrono_tz::Europe::Warsaw
        .from_local_datetime(&midnight)
        .earliest()
        .map(|start| start.naive_utc())
        .unwrap_or(midnight)
}

/// An e-mail address as typed (trimmed) and its key for uniqueness and login (lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let address = raw.trim();
        if address.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let valid = email_address::EmailAddress::parse_with_options(
            address,
            email_address::Options::default().without_display_text().without_domain_literal(),
        )
        .is_ok_and(|parsed| parsed.domain().contains('.'));
        if !valid {
            return Err("must be an e-mail address such as name@example.org".to_owned());
        }
        Ok(Self { address: address.to_owned() })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// Logins and uniqueness ignore case.
    pub fn key(&self) -> String {
        Self::key_of(&self.address)
    }

    pub fn key_of(raw: &str) -> String {
        raw.trim().to_lowercase()
    }
}

/// Trimmed text of `min..=max` characters without control characters.
pub fn bounded_text(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let text = raw.trim();
    let length = text.chars().count();
    if length < min {
        return Err(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        });
    }
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(text.to_owned())
}

/// Optional free text: absent or blank is `None`, anything else must fit `bounded_text(1, max)`.
pub fn optional_text(raw: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match raw.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => bounded_text(text, 1, max).map(Some),
        None => Ok(None),
    }
}

/// A list without repeated entries, in first-seen order, of at most `max` items.
pub fn distinct<T: PartialEq + Clone>(items: &[T], max: usize) -> Result<Vec<T>, String> {
    if items.len() > max {
        return Err(format!("must have at most {max} entries"));
    }
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if seen.contains(item) {
            return Err("must not repeat an entry".to_owned());
        }
        seen.push(item.clone());
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keeps_the_typed_form_and_keys_by_lower_case() {
        let email = Email::parse("  Anna.Kowalska@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Anna.Kowalska@Example.ORG");
        assert_eq!(email.key(), "anna.kowalska@example.org");
    }

    #[test]
    fn email_rejects_what_cannot_receive_mail() {
        for bad in ["", "anna", "anna@", "@example.org", "anna@localhost", "a b@example.org", "Anna <a@example.org>"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn bounded_text_trims_and_counts_characters_not_bytes() {
        assert_eq!(bounded_text("  Łódź ", 1, 5).unwrap(), "Łódź");
        assert!(bounded_text("Łódź!!", 1, 5).is_err());
        assert!(bounded_text("   ", 1, 5).is_err());
        assert!(bounded_text("a\u{0}b", 1, 5).is_err());
    }

    #[test]
    fn role_codes_are_snake_case() {
        assert_eq!(Role::ConsortiumAdmin.code(), "consortium_admin");
        assert_eq!("counselor".parse::<Role>().unwrap(), Role::Counselor);
    }
}
