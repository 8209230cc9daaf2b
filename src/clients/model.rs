//! Clients: wire types, database rows, and parsing of input into checked fields.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::clients;
use crate::db::{ClientId, DeadlineId, HouseholdId, Id, List, OrganisationId, UserId};
use crate::domain::client::{
    Accommodation, ClientStatus, CountryCode, HouseholdRelationship, IdentifierKind, LanguageCode, Sex, Vulnerability,
    parse_date_of_birth, parse_identifier,
};
use crate::domain::{self, Email, bounded_text, distinct, optional_text};
use crate::http::FieldErrors;
use crate::http::patch::Patch;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: ClientId,
    pub organisation_id: OrganisationId,
    pub reference: String,
    pub given_names: String,
    pub family_name: String,
    pub native_name: Option<String>,
    #[diesel(deserialize_as = List<String>)]
    pub aliases: Vec<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub sex: Sex,
    #[diesel(deserialize_as = List<String>)]
    pub nationalities: Vec<String>,
    pub region_of_origin: Option<String>,
    #[diesel(deserialize_as = List<String>)]
    pub languages: Vec<String>,
    pub interpreter_needed: bool,
    pub city: Option<String>,
    pub city_key: Option<String>,
    pub accommodation: Accommodation,
    pub phone: Option<String>,
    pub email: Option<String>,
    #[diesel(deserialize_as = List<Vulnerability>)]
    pub vulnerabilities: Vec<Vulnerability>,
    #[diesel(deserialize_as = List<Identifier>)]
    pub identifiers: Vec<Identifier>,
    pub household_id: Option<HouseholdId>,
    pub household_relationship: Option<HouseholdRelationship>,
    pub status: ClientStatus,
    pub closed_reason: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub assigned_counselor_id: Option<UserId>,
    pub procedure_stage: Option<String>,
    pub name_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// An identity document or case number of a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    pub kind: IdentifierKind,
    #[schema(example = "44051401359", max_length = 50)]
    pub value: String,
}

/// A member of the client's household whom the caller may see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HouseholdMember {
    pub client_id: ClientId,
    pub reference: String,
    pub given_names: String,
    pub family_name: String,
    pub relationship: Option<HouseholdRelationship>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Household {
    pub id: HouseholdId,
    /// Every member, the client included.
    pub members: Vec<HouseholdMember>,
}

/// An open legal deadline of the client, derived from the procedure timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientDeadline {
    pub id: DeadlineId,
    #[schema(example = "appeal_to_refugee_board")]
    pub rule: String,
    #[schema(example = "KPA art. 129 §2")]
    pub legal_basis: String,
    pub due_on: NaiveDate,
    pub days_left: i64,
    pub overdue: bool,
}

/// A person served by an organisation (SPEC §2.3).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Client {
    pub id: ClientId,
    pub organisation_id: OrganisationId,
    /// Human-friendly, unique per organisation, never reused.
    #[schema(example = "PFM-2026-0042")]
    pub reference: String,
    pub given_names: String,
    pub family_name: String,
    /// The name in its original script.
    pub native_name: Option<String>,
    pub aliases: Vec<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// When only the year of birth is known (also filled from `date_of_birth`).
    pub birth_year: Option<i32>,
    pub sex: Sex,
    /// ISO 3166-1 alpha-2 codes.
    #[schema(example = json!(["RU"]))]
    pub nationalities: Vec<String>,
    #[schema(example = "Chechnya")]
    pub region_of_origin: Option<String>,
    /// ISO 639 codes; the first is the preferred language.
    #[schema(example = json!(["ce", "ru"]))]
    pub languages: Vec<String>,
    pub interpreter_needed: bool,
    pub city: Option<String>,
    pub accommodation: Accommodation,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub identifiers: Vec<Identifier>,
    pub household_id: Option<HouseholdId>,
    pub household: Option<Household>,
    pub status: ClientStatus,
    pub closed_reason: Option<String>,
    pub assigned_counselor_id: Option<UserId>,
    /// Derived from the procedure timeline.
    #[schema(example = "appeal")]
    pub procedure_stage: Option<String>,
    /// Open deadlines, soonest first.
    pub deadlines: Vec<ClientDeadline>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// One line of a client list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientSummary {
    pub id: ClientId,
    pub reference: String,
    pub given_names: String,
    pub family_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub sex: Sex,
    pub nationalities: Vec<String>,
    pub city: Option<String>,
    pub status: ClientStatus,
    pub procedure_stage: Option<String>,
    pub assigned_counselor_id: Option<UserId>,
    pub version: i32,
}

impl ClientRow {
    pub fn summary(self) -> ClientSummary {
        ClientSummary {
            sex: self.sex,
            nationalities: self.nationalities,
            status: self.status,
            id: self.id,
            reference: self.reference,
            given_names: self.given_names,
            family_name: self.family_name,
            date_of_birth: self.date_of_birth,
            birth_year: self.birth_year,
            city: self.city,
            procedure_stage: self.procedure_stage,
            assigned_counselor_id: self.assigned_counselor_id,
            version: self.version,
        }
    }

    pub fn view(self, household: Option<Household>, deadlines: Vec<ClientDeadline>) -> Client {
        Client {
            aliases: self.aliases,
            sex: self.sex,
            nationalities: self.nationalities,
            languages: self.languages,
            accommodation: self.accommodation,
            vulnerabilities: self.vulnerabilities,
            identifiers: self.identifiers,
            status: self.status,
            id: self.id,
            organisation_id: self.organisation_id,
            reference: self.reference,
            given_names: self.given_names,
            family_name: self.family_name,
            native_name: self.native_name,
            date_of_birth: self.date_of_birth,
            birth_year: self.birth_year,
            region_of_origin: self.region_of_origin,
            interpreter_needed: self.interpreter_needed,
            city: self.city,
            phone: self.phone,
            email: self.email,
            household_id: self.household_id,
            household,
            closed_reason: self.closed_reason,
            assigned_counselor_id: self.assigned_counselor_id,
            procedure_stage: self.procedure_stage,
            deadlines,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }

    /// The record as input, so a merge patch can be applied and the result parsed again.
    pub fn input(&self) -> ClientInput {
        ClientInput {
            given_names: self.given_names.clone(),
            family_name: self.family_name.clone(),
            native_name: self.native_name.clone(),
            aliases: self.aliases.clone(),
            date_of_birth: self.date_of_birth,
            birth_year: self.birth_year,
            sex: self.sex,
            nationalities: self.nationalities.clone(),
            region_of_origin: self.region_of_origin.clone(),
            languages: self.languages.clone(),
            interpreter_needed: self.interpreter_needed,
            city: self.city.clone(),
            accommodation: self.accommodation,
            phone: self.phone.clone(),
            email: self.email.clone(),
            vulnerabilities: self.vulnerabilities.clone(),
            identifiers: self.identifiers.clone(),
            assigned_counselor_id: self.assigned_counselor_id,
        }
    }
}

fn unknown_sex() -> Sex {
    Sex::Unknown
}

fn unknown_accommodation() -> Accommodation {
    Accommodation::Unknown
}

/// A new client, as sent by a frontend.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    #[schema(example = "Magomed", max_length = 100)]
    pub given_names: String,
    #[schema(example = "Dudayev", max_length = 100)]
    pub family_name: String,
    #[serde(default)]
    #[schema(example = "Магомед Дудаев", max_length = 200)]
    pub native_name: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default)]
    pub birth_year: Option<i32>,
    #[serde(default = "unknown_sex")]
    pub sex: Sex,
    #[serde(default)]
    #[schema(example = json!(["RU"]))]
    pub nationalities: Vec<String>,
    #[serde(default)]
    pub region_of_origin: Option<String>,
    #[serde(default)]
    #[schema(example = json!(["ce", "ru"]))]
    pub languages: Vec<String>,
    #[serde(default)]
    pub interpreter_needed: bool,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default = "unknown_accommodation")]
    pub accommodation: Accommodation,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub assigned_counselor_id: Option<UserId>,
}

/// A partial update (JSON Merge Patch): absent fields stay, `null` clears optional ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub given_names: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub family_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub native_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub aliases: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub date_of_birth: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub birth_year: Patch<i32>,
    #[serde(default)]
    #[schema(value_type = Option<Sex>)]
    pub sex: Patch<Sex>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub nationalities: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub region_of_origin: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub languages: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub interpreter_needed: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Accommodation>)]
    pub accommodation: Patch<Accommodation>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Vulnerability>>)]
    pub vulnerabilities: Patch<Vec<Vulnerability>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Identifier>>)]
    pub identifiers: Patch<Vec<Identifier>>,
    #[serde(default)]
    #[schema(value_type = Option<Id>)]
    pub assigned_counselor_id: Patch<UserId>,
}

impl ClientPatch {
    pub fn apply(self, current: ClientInput, errors: &mut FieldErrors) -> ClientInput {
        ClientInput {
            given_names: self.given_names.apply(errors, "given_names", current.given_names),
            family_name: self.family_name.apply(errors, "family_name", current.family_name),
            native_name: self.native_name.apply_optional(current.native_name),
            aliases: self.aliases.apply_list(current.aliases),
            date_of_birth: self.date_of_birth.apply_optional(current.date_of_birth),
            birth_year: self.birth_year.apply_optional(current.birth_year),
            sex: self.sex.apply(errors, "sex", current.sex),
            nationalities: self.nationalities.apply_list(current.nationalities),
            region_of_origin: self.region_of_origin.apply_optional(current.region_of_origin),
            languages: self.languages.apply_list(current.languages),
            interpreter_needed: self.interpreter_needed.apply(errors, "interpreter_needed", current.interpreter_needed),
            city: self.city.apply_optional(current.city),
            accommodation: self.accommodation.apply(errors, "accommodation", current.accommodation),
            phone: self.phone.apply_optional(current.phone),
            email: self.email.apply_optional(current.email),
            vulnerabilities: self.vulnerabilities.apply_list(current.vulnerabilities),
            identifiers: self.identifiers.apply_list(current.identifiers),
            assigned_counselor_id: self.assigned_counselor_id.apply_optional(current.assigned_counselor_id),
        }
    }
}

/// Checked client fields, ready to store.
#[derive(Debug, Clone)]
pub struct ClientFields {
    pub given_names: String,
    pub family_name: String,
    pub native_name: Option<String>,
    pub aliases: Vec<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub sex: Sex,
    pub nationalities: Vec<CountryCode>,
    pub region_of_origin: Option<String>,
    pub languages: Vec<LanguageCode>,
    pub interpreter_needed: bool,
    pub city: Option<String>,
    pub accommodation: Accommodation,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub identifiers: Vec<Identifier>,
    pub assigned_counselor_id: Option<UserId>,
}

fn parse_phone(raw: Option<&str>) -> Result<Option<String>, String> {
    let phone = optional_text(raw, 30)?;
    if phone.as_deref().is_some_and(|p| !p.chars().all(|c| c.is_ascii_digit() || " +-()/".contains(c))) {
        return Err("may hold digits, spaces and + - ( ) / only".to_owned());
    }
    Ok(phone)
}

fn each<T>(items: &[String], parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    items.iter().map(|item| parse(item)).collect()
}

impl ClientInput {
    /// Checks every field at once; `today` is Poland's date.
    pub fn parse(&self, today: NaiveDate) -> Result<ClientFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let given_names = errors.check("given_names", bounded_text(&self.given_names, 1, 100));
        let family_name = errors.check("family_name", bounded_text(&self.family_name, 1, 100));
        let native_name = errors.check("native_name", optional_text(self.native_name.as_deref(), 200));
        let aliases = errors.check(
            "aliases",
            each(&self.aliases, |alias| bounded_text(alias, 1, 200)).and_then(|aliases| distinct(&aliases, 10)),
        );
        let date_of_birth =
            errors.check("date_of_birth", self.date_of_birth.map(|d| parse_date_of_birth(d, today)).transpose());
        let birth_year = errors.check(
            "birth_year",
            match (self.birth_year, self.date_of_birth) {
                (Some(year), _) if !(1900..=today.year()).contains(&year) => {
                    Err(format!("must be between 1900 and {}", today.year()))
                }
                (Some(year), Some(date)) if date.year() != year => Err("does not match date_of_birth".to_owned()),
                (year, date) => Ok(year.or(date.map(|d| d.year()))),
            },
        );
        let nationalities = errors.check(
            "nationalities",
            each(&self.nationalities, CountryCode::parse).and_then(|codes| distinct(&codes, 5)),
        );
        let region_of_origin = errors.check("region_of_origin", optional_text(self.region_of_origin.as_deref(), 100));
        let languages = errors
            .check("languages", each(&self.languages, LanguageCode::parse).and_then(|codes| distinct(&codes, 10)));
        let city = errors.check("city", optional_text(self.city.as_deref(), 100));
        let phone = errors.check("phone", parse_phone(self.phone.as_deref()));
        let email = errors.check(
            "email",
            optional_text(self.email.as_deref(), Email::MAX_LEN)
                .and_then(|email| email.map(|e| Email::parse(&e).map(|e| e.as_str().to_owned())).transpose()),
        );
        let vulnerabilities = errors.check("vulnerabilities", distinct(&self.vulnerabilities, 20));
        let identifiers = errors.check(
            "identifiers",
            self.identifiers
                .iter()
                .map(|id| parse_identifier(id.kind, &id.value).map(|value| Identifier { kind: id.kind, value }))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|ids| distinct(&ids, 10)),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        let fields = (|| {
            Some(ClientFields {
                given_names: given_names?,
                family_name: family_name?,
                native_name: native_name?,
                aliases: aliases?,
                date_of_birth: date_of_birth?,
                birth_year: birth_year?,
                sex: self.sex,
                nationalities: nationalities?,
                region_of_origin: region_of_origin?,
                languages: languages?,
                interpreter_needed: self.interpreter_needed,
                city: city?,
                accommodation: self.accommodation,
                phone: phone?,
                email: email?,
                vulnerabilities: vulnerabilities?,
                identifiers: identifiers?,
                assigned_counselor_id: self.assigned_counselor_id,
            })
        })();
        fields.ok_or(errors)
    }
}

/// Every name a client is found by: given names and family name, the name in its original
/// script, and aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientNames {
    pub given_names: String,
    pub family_name: String,
    pub native_name: Option<String>,
    pub aliases: Vec<String>,
}

impl ClientNames {
    fn all(&self) -> impl Iterator<Item = &str> {
        [self.given_names.as_str(), self.family_name.as_str()]
            .into_iter()
            .chain(self.native_name.as_deref())
            .chain(self.aliases.iter().map(String::as_str))
    }

    /// Folded name words for prefix search on the spelling as typed.
    pub fn search_tokens(&self) -> Vec<String> {
        domain::names::tokens(self.all())
    }

    /// Phonetic keys of every word, equal across scripts and transliterations.
    pub fn search_keys(&self) -> Vec<String> {
        domain::names::keys(self.all())
    }

    pub fn name_key(&self) -> String {
        domain::names::name_key(&self.given_names, &self.family_name)
    }

    /// Each name of the person as a whole (given and family name together, the native name,
    /// each alias), parsed for comparison.
    pub fn parsed(&self) -> Vec<domain::names::Name> {
        let full = format!("{} {}", self.given_names, self.family_name);
        std::iter::once(full.as_str())
            .chain(self.native_name.as_deref())
            .chain(self.aliases.iter().map(String::as_str))
            .map(domain::names::Name::parse)
            .filter(|name| !name.is_empty())
            .collect()
    }
}

impl ClientFields {
    pub fn names(&self) -> ClientNames {
        ClientNames {
            given_names: self.given_names.clone(),
            family_name: self.family_name.clone(),
            native_name: self.native_name.clone(),
            aliases: self.aliases.clone(),
        }
    }

    pub fn name_key(&self) -> String {
        self.names().name_key()
    }
}

impl ClientRow {
    pub fn names(&self) -> ClientNames {
        ClientNames {
            given_names: self.given_names.clone(),
            family_name: self.family_name.clone(),
            native_name: self.native_name.clone(),
            aliases: self.aliases.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientFilter {
    /// Free text: a reference (`PFM-2026-0042`), an identifier, or words of a name (any case,
    /// script or diacritics; each word matches the start of a name word).
    pub q: Option<String>,
    pub status: Option<ClientStatus>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub nationality: Option<String>,
    /// ISO 639 code.
    pub language: Option<String>,
    pub vulnerability: Option<Vulnerability>,
    pub assigned_counselor_id: Option<UserId>,
    #[param(example = "appeal")]
    pub procedure_stage: Option<String>,
    /// Only clients with an open deadline due within this many days (overdue included).
    #[param(minimum = 0, maximum = 3650)]
    pub deadline_within_days: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[schema(example = "Moved abroad", max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdLinkRequest {
    /// A client of the same organisation whose household this client joins (a household is
    /// created when that client has none yet).
    pub with_client_id: ClientId,
    /// This client's place in the household.
    pub relationship: HouseholdRelationship,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateCheckRequest {
    /// In any script or transliteration.
    #[schema(example = "Ramzan", max_length = 100)]
    pub given_names: String,
    #[schema(example = "Dudajew", max_length = 100)]
    pub family_name: String,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default)]
    pub birth_year: Option<i32>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    #[schema(example = json!(["RU"]))]
    pub nationalities: Vec<String>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
}

/// A client that may be the same person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DuplicateMatch {
    pub client: ClientSummary,
    /// 0–1; 1 is certain (an equal UdSC case number, PESEL, passport or other identifier).
    pub score: f64,
    /// What matched, strongest first: `identifier` (equal identifier of the same kind),
    /// `name` (every word of the shorter name has an equal key: same spelling, script or
    /// transliteration), `name_phonetic` (the names sound alike: Arabic-script vowels, close
    /// spellings such as Khalid and Khaled), `date_of_birth`, `date_of_birth_swapped` (day and
    /// month exchanged), `birth_year`, `nationality`.
    #[schema(example = json!(["name", "date_of_birth"]))]
    pub matched: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DuplicateCheckResponse {
    pub matches: Vec<DuplicateMatch>,
}

/// Merges a duplicate record of the same person into the record named in the path.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The duplicate: its file moves to the surviving record, and it is left as a tombstone.
    pub duplicate_id: ClientId,
    /// The duplicate's version as the caller last saw it (its `ETag`): a change made to it since
    /// answers 412 instead of being merged unseen.
    #[schema(minimum = 1)]
    pub duplicate_version: i32,
}
