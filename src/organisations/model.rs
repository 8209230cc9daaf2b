//! Organisations: wire types and database rows.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::organisations;
use crate::db::{List, OrganisationId};
use crate::domain::SessionKind;
use crate::http::patch::Patch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: OrganisationId,
    pub name: String,
    pub short_name: String,
    pub short_name_key: String,
    #[diesel(deserialize_as = List<String>)]
    pub cities: Vec<String>,
    #[diesel(deserialize_as = List<SessionKind>)]
    pub services: Vec<SessionKind>,
    pub contact_email: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// A consortium partner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Organisation {
    pub id: OrganisationId,
    #[schema(example = "Polskie Forum Migracyjne")]
    pub name: String,
    /// Unique abbreviation; prefixes the organisation's client references.
    #[schema(example = "PFM")]
    pub short_name: String,
    #[schema(example = json!(["Warszawa", "Lublin"]))]
    pub cities: Vec<String>,
    /// Session kinds the organisation provides (what partners may refer to it).
    pub services: Vec<SessionKind>,
    pub contact_email: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl OrganisationRow {
    pub fn view(self) -> Organisation {
        Organisation {
            cities: self.cities,
            services: self.services,
            id: self.id,
            name: self.name,
            short_name: self.short_name,
            contact_email: self.contact_email,
            active: self.active,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisationRequest {
    #[schema(example = "Polskie Forum Migracyjne", max_length = 200)]
    pub name: String,
    /// 2–12 letters, digits or hyphens; unique (case-insensitive).
    #[schema(example = "PFM", min_length = 2, max_length = 12)]
    pub short_name: String,
    #[schema(example = json!(["Warszawa", "Lublin"]))]
    pub cities: Vec<String>,
    pub services: Vec<SessionKind>,
    #[schema(example = "biuro@example.org")]
    pub contact_email: String,
}

/// A partial update (JSON Merge Patch): absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganisationRequest {
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 2, max_length = 12)]
    pub short_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub cities: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<SessionKind>>)]
    pub services: Patch<Vec<SessionKind>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub contact_email: Patch<String>,
    /// `false` deactivates the organisation: its users' sessions end and they cannot sign in.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationFilter {
    pub active: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Parsed fields of an organisation, as created or changed.
#[derive(Debug, Clone)]
pub struct OrganisationFields {
    pub name: String,
    pub short_name: String,
    pub cities: Vec<String>,
    pub services: Vec<SessionKind>,
    pub contact_email: String,
}

pub fn parse_short_name(raw: &str) -> Result<String, String> {
    let short = raw.trim();
    let valid_chars = short.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !(2..=12).contains(&short.len()) || !valid_chars {
        return Err("must be 2–12 letters, digits or hyphens".to_owned());
    }
    Ok(short.to_owned())
}

pub fn parse_cities(raw: &[String]) -> Result<Vec<String>, String> {
    let cities = raw.iter().map(|city| crate::domain::bounded_text(city, 1, 100)).collect::<Result<Vec<_>, _>>()?;
    crate::domain::distinct(&cities, 50)
}
