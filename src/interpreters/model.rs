//! Interpreters: wire types, rows, parsing.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::interpreters;
use crate::db::{Id, InterpreterId, List, OrganisationId};
use crate::domain::client::LanguageCode;
use crate::domain::{Email, bounded_text, distinct, optional_text};
use crate::http::FieldErrors;
use crate::http::patch::Patch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interpreters)]
pub struct InterpreterRow {
    pub id: InterpreterId,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    #[diesel(deserialize_as = List<String>)]
    pub languages: Vec<String>,
    #[diesel(deserialize_as = List<String>)]
    pub cities: Vec<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl InterpreterRow {
    pub fn view(self, organisation_ids: Vec<OrganisationId>) -> Interpreter {
        Interpreter {
            languages: self.languages,
            cities: self.cities,
            id: self.id,
            name: self.name,
            phone: self.phone,
            email: self.email,
            active: self.active,
            organisation_ids,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }

    pub fn input(&self, organisation_ids: Vec<OrganisationId>) -> InterpreterInput {
        InterpreterInput {
            name: self.name.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            languages: self.languages.clone(),
            cities: self.cities.clone(),
            active: self.active,
            organisation_ids,
        }
    }
}

/// An interpreter the consortium's organisations book on their appointments.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Interpreter {
    pub id: InterpreterId,
    #[schema(example = "Aminat Dudayeva")]
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// ISO 639 codes.
    #[schema(example = json!(["ce", "ru"]))]
    pub languages: Vec<String>,
    #[schema(example = json!(["Lublin", "Biała Podlaska"]))]
    pub cities: Vec<String>,
    /// Inactive interpreters are not booked any more.
    pub active: bool,
    /// The organisations the interpreter works for: they book and manage them.
    pub organisation_ids: Vec<OrganisationId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

fn active_by_default() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterpreterInput {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 40)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// 1–20 ISO 639 codes.
    pub languages: Vec<String>,
    /// Up to 20 cities.
    #[serde(default)]
    pub cities: Vec<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// The organisations the interpreter works for. A coordinator adds or removes only their
    /// own organisation (absent: their own); the consortium administrator names any.
    #[serde(default)]
    pub organisation_ids: Vec<OrganisationId>,
}

/// A change (JSON Merge Patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterpreterPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub languages: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub cities: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Id>>)]
    pub organisation_ids: Patch<Vec<OrganisationId>>,
}

impl InterpreterPatch {
    pub fn apply(self, current: InterpreterInput, errors: &mut FieldErrors) -> InterpreterInput {
        InterpreterInput {
            name: self.name.apply(errors, "name", current.name),
            phone: self.phone.apply_optional(current.phone),
            email: self.email.apply_optional(current.email),
            languages: self.languages.apply_list(current.languages),
            cities: self.cities.apply_list(current.cities),
            active: self.active.apply(errors, "active", current.active),
            organisation_ids: self.organisation_ids.apply_list(current.organisation_ids),
        }
    }
}

/// Checked interpreter fields.
#[derive(Debug, Clone)]
pub struct InterpreterFields {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub languages: Vec<String>,
    pub cities: Vec<String>,
    pub active: bool,
    pub organisation_ids: Vec<OrganisationId>,
}

impl InterpreterInput {
    pub fn parse(&self) -> Result<InterpreterFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", bounded_text(&self.name, 1, 200));
        let phone = errors.check("phone", optional_text(self.phone.as_deref(), 40));
        let email = errors.check(
            "email",
            optional_text(self.email.as_deref(), Email::MAX_LEN)
                .and_then(|e| e.map(|e| Email::parse(&e).map(|e| e.as_str().to_owned())).transpose()),
        );
        let languages = errors.check(
            "languages",
            self.languages
                .iter()
                .map(|code| LanguageCode::parse(code).map(|c| c.as_str().to_owned()))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|codes| distinct(&codes, 20))
                .and_then(|codes| if codes.is_empty() { Err("must name a language".to_owned()) } else { Ok(codes) }),
        );
        let cities = errors.check(
            "cities",
            self.cities
                .iter()
                .map(|city| bounded_text(city, 1, 100))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|cities| distinct(&cities, 20)),
        );
        let organisation_ids = errors.check("organisation_ids", distinct(&self.organisation_ids, 50));
        let fields = (|| {
            Some(InterpreterFields {
                name: name?,
                phone: phone?,
                email: email?,
                languages: languages?,
                cities: cities?,
                active: self.active,
                organisation_ids: organisation_ids?,
            })
        })();
        if !errors.is_empty() {
            return Err(errors);
        }
        fields.ok_or(errors)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InterpreterFilter {
    /// Interpreters of this ISO 639 language.
    #[param(example = "ce")]
    pub language: Option<String>,
    /// Interpreters who work in this city (exact name).
    pub city: Option<String>,
    /// Interpreters working for this organisation.
    pub organisation_id: Option<OrganisationId>,
    /// Inactive interpreters too (default: only active ones).
    pub include_inactive: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BookingFilter {
    /// First day (Europe/Warsaw), inclusive; today when absent.
    pub from: Option<NaiveDate>,
    /// Last day (Europe/Warsaw), inclusive; 31 days after `from` when absent, at most 366.
    pub to: Option<NaiveDate>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Time an interpreter is booked: when, and by which organisation — never for whom or what.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Booking {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime, example = "2026-10-25T02:30:00+01:00")]
    pub local_starts_at: DateTime<FixedOffset>,
    #[schema(value_type = String, format = DateTime, example = "2026-10-25T03:30:00+01:00")]
    pub local_ends_at: DateTime<FixedOffset>,
    pub organisation_id: OrganisationId,
}
