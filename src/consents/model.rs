//! Consents: wire types and rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::consents;
use crate::db::{ClientId, ConsentId, List, OrganisationId, UserId};
use crate::domain::closed_list;

closed_list! { ConsentPurpose { Processing, SharingWithPartner, Contact } }

closed_list! {
    /// Groups of client fields a consent to sharing covers.
    ConsentScope { Identity, Contact, Procedure, Vulnerabilities, Household, Documents }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub id: ConsentId,
    pub client_id: ClientId,
    pub organisation_id: OrganisationId,
    pub purpose: ConsentPurpose,
    pub partner_id: Option<OrganisationId>,
    #[diesel(deserialize_as = List<ConsentScope>)]
    pub scope: Vec<ConsentScope>,
    pub given_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawn_by: Option<UserId>,
    pub language: String,
    pub form_version: String,
    pub recorded_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

/// A consent as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Consent {
    pub id: ConsentId,
    pub client_id: ClientId,
    pub purpose: ConsentPurpose,
    /// The partner organisation, for `sharing_with_partner`.
    pub partner_id: Option<OrganisationId>,
    pub scope: Vec<ConsentScope>,
    pub given_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub withdrawn_on: Option<NaiveDate>,
    /// Given, not expired and not withdrawn, today (Europe/Warsaw).
    pub valid: bool,
    /// ISO 639 code of the language the client was informed in.
    pub language: String,
    pub form_version: String,
    pub recorded_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub version: i32,
}

impl ConsentRow {
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.given_on <= day && self.expires_on.is_none_or(|expires| day <= expires) && self.withdrawn_on.is_none()
    }

    pub fn view(self, today: NaiveDate) -> Consent {
        Consent {
            valid: self.is_valid_on(today),
            purpose: self.purpose,
            scope: self.scope,
            id: self.id,
            client_id: self.client_id,
            partner_id: self.partner_id,
            given_on: self.given_on,
            expires_on: self.expires_on,
            withdrawn_on: self.withdrawn_on,
            language: self.language,
            form_version: self.form_version,
            recorded_by: self.recorded_by,
            created_at: self.created_at.and_utc(),
            version: self.version,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: ConsentPurpose,
    /// Required for `sharing_with_partner`, absent otherwise.
    #[serde(default)]
    pub partner_id: Option<OrganisationId>,
    /// Field groups covered; required for `sharing_with_partner`.
    #[serde(default)]
    pub scope: Vec<ConsentScope>,
    pub given_on: NaiveDate,
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    #[schema(example = "ru")]
    pub language: String,
    #[schema(example = "PFM-consent-2026-01", max_length = 50)]
    pub form_version: String,
}
