//! What a partner may see of a referred client: the fields the referral shares, each within a
//! field group that the client's consent covers (SPEC §2.7). The household is never among them:
//! its members are other clients of the sender, with records, references and consents of their
//! own, and the partner serves only the referred person.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clients::model::{ClientDeadline, ClientInput, Identifier};
use crate::consents::model::ConsentScope;
use crate::domain::client::{Accommodation, Sex, Vulnerability};

/// What a partner's record is named when the referral shares no names, or once the consent to
/// share them was withdrawn.
pub const PLACEHOLDER: &str = "Referred client";

/// The client fields of each consent scope group that a partner may be shown (the `household`
/// group covers none of them).
pub const GROUPS: &[(ConsentScope, &[&str])] = &[
    (
        ConsentScope::Identity,
        &[
            "given_names",
            "family_name",
            "native_name",
            "aliases",
            "date_of_birth",
            "birth_year",
            "sex",
            "nationalities",
            "languages",
            "interpreter_needed",
            "identifiers",
        ],
    ),
    (ConsentScope::Contact, &["phone", "email", "city", "accommodation"]),
    (ConsentScope::Procedure, &["procedure_stage", "deadlines"]),
    (ConsentScope::Vulnerabilities, &["vulnerabilities"]),
];

fn group_of(field: &str) -> Option<ConsentScope> {
    GROUPS.iter().find(|(_, fields)| fields.contains(&field)).map(|(group, _)| *group)
}

/// Checks shared field names against the consent's scope; returns them without repeats.
pub fn check(fields: &[String], scope: &[ConsentScope]) -> Result<Vec<String>, String> {
    if fields.is_empty() {
        return Err("must name at least one field".to_owned());
    }
    let mut checked: Vec<String> = Vec::new();
    for field in fields {
        match group_of(field) {
            None if field == "household" => return Err("`household` is never shared with a partner".to_owned()),
            None => return Err(format!("`{field}` is not a client field that can be shared")),
            Some(group) if !scope.contains(&group) => {
                return Err(format!("`{field}` is outside the consent's scope ({} not consented)", group.code()));
            }
            Some(_) if !checked.contains(field) => checked.push(field.clone()),
            Some(_) => {}
        }
    }
    Ok(checked)
}

/// The partner's view of a referred client: only shared fields are filled in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SharedClient {
    pub given_names: Option<String>,
    pub family_name: Option<String>,
    pub native_name: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub date_of_birth: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub sex: Option<Sex>,
    pub nationalities: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub interpreter_needed: Option<bool>,
    pub identifiers: Option<Vec<Identifier>>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub city: Option<String>,
    pub accommodation: Option<Accommodation>,
    pub procedure_stage: Option<String>,
    pub deadlines: Option<Vec<ClientDeadline>>,
    pub vulnerabilities: Option<Vec<Vulnerability>>,
}

/// Everything the sender holds that could be shared.
pub struct Source {
    pub input: ClientInput,
    pub procedure_stage: Option<String>,
    pub deadlines: Vec<ClientDeadline>,
}

impl SharedClient {
    pub fn of(source: Source, shared: &[String]) -> Self {
        let has = |field: &str| shared.iter().any(|f| f == field);
        let input = source.input;
        Self {
            given_names: has("given_names").then_some(input.given_names),
            family_name: has("family_name").then_some(input.family_name),
            native_name: input.native_name.filter(|_| has("native_name")),
            aliases: has("aliases").then_some(input.aliases),
            date_of_birth: input.date_of_birth.filter(|_| has("date_of_birth")),
            birth_year: input.birth_year.filter(|_| has("birth_year")),
            sex: has("sex").then_some(input.sex),
            nationalities: has("nationalities").then_some(input.nationalities),
            languages: has("languages").then_some(input.languages),
            interpreter_needed: has("interpreter_needed").then_some(input.interpreter_needed),
            identifiers: has("identifiers").then_some(input.identifiers),
            phone: input.phone.filter(|_| has("phone")),
            email: input.email.filter(|_| has("email")),
            city: input.city.filter(|_| has("city")),
            accommodation: has("accommodation").then_some(input.accommodation),
            procedure_stage: source.procedure_stage.filter(|_| has("procedure_stage")),
            deadlines: has("deadlines").then_some(source.deadlines),
            vulnerabilities: has("vulnerabilities").then_some(input.vulnerabilities),
        }
    }

    /// A new client record for the partner, pre-filled from the shared fields. Without shared
    /// names the record is named after the referral.
    pub fn as_new_client(&self, placeholder: &str) -> ClientInput {
        ClientInput {
            given_names: self.given_names.clone().unwrap_or_else(|| placeholder.to_owned()),
            family_name: self.family_name.clone().unwrap_or_else(|| placeholder.to_owned()),
            native_name: self.native_name.clone(),
            aliases: self.aliases.clone().unwrap_or_default(),
            date_of_birth: self.date_of_birth,
            birth_year: self.birth_year,
            sex: self.sex.unwrap_or(Sex::Unknown),
            nationalities: self.nationalities.clone().unwrap_or_default(),
            region_of_origin: None,
            languages: self.languages.clone().unwrap_or_default(),
            interpreter_needed: self.interpreter_needed.unwrap_or(false),
            city: self.city.clone(),
            accommodation: self.accommodation.unwrap_or(Accommodation::Unknown),
            phone: self.phone.clone(),
            email: self.email.clone(),
            vulnerabilities: self.vulnerabilities.clone().unwrap_or_default(),
            identifiers: self.identifiers.clone().unwrap_or_default(),
            assigned_counselor_id: None,
        }
    }
}

/// A partner's record created from a referral, without what the referral shared: shared names
/// become the placeholder, other shared fields are emptied. Fields the referral did not share
/// hold what the partner itself recorded and stay.
pub fn without_shared(mut input: ClientInput, shared: &[String], placeholder: &str) -> ClientInput {
    let has = |field: &str| shared.iter().any(|f| f == field);
    if has("given_names") {
        input.given_names = placeholder.to_owned();
    }
    if has("family_name") {
        input.family_name = placeholder.to_owned();
    }
    if has("native_name") {
        input.native_name = None;
    }
    if has("aliases") {
        input.aliases.clear();
    }
    // The year of birth was derived from a shared date of birth.
    if has("date_of_birth") {
        input.date_of_birth = None;
        input.birth_year = None;
    }
    if has("birth_year") {
        input.birth_year = None;
    }
    if has("sex") {
        input.sex = Sex::Unknown;
    }
    if has("nationalities") {
        input.nationalities.clear();
    }
    if has("languages") {
        input.languages.clear();
    }
    if has("interpreter_needed") {
        input.interpreter_needed = false;
    }
    if has("identifiers") {
        input.identifiers.clear();
    }
    if has("phone") {
        input.phone = None;
    }
    if has("email") {
        input.email = None;
    }
    if has("city") {
        input.city = None;
    }
    if has("accommodation") {
        input.accommodation = Accommodation::Unknown;
    }
    if has("vulnerabilities") {
        input.vulnerabilities.clear();
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_shared_fields_a_record_keeps_only_what_was_not_shared() {
        let record = ClientInput {
            given_names: "Aslan".into(),
            family_name: "Basayev".into(),
            native_name: Some("Аслан".into()),
            aliases: vec!["Aslanbek".into()],
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 1),
            birth_year: Some(1990),
            sex: Sex::Male,
            nationalities: vec!["RU".into()],
            region_of_origin: Some("Vedeno".into()),
            languages: vec!["ce".into()],
            interpreter_needed: true,
            city: Some("Lublin".into()),
            accommodation: Accommodation::Private,
            phone: Some("+48 600 000 001".into()),
            email: None,
            vulnerabilities: vec![Vulnerability::Ptsd],
            identifiers: Vec::new(),
            assigned_counselor_id: None,
        };
        let shared = ["family_name", "date_of_birth", "languages", "city"].map(String::from);
        let left = without_shared(record, &shared, PLACEHOLDER);
        assert_eq!((left.given_names.as_str(), left.family_name.as_str()), ("Aslan", PLACEHOLDER));
        assert_eq!((left.date_of_birth, left.birth_year, left.city), (None, None, None));
        assert!(left.languages.is_empty());
        assert_eq!(left.nationalities, ["RU"], "not shared, so the partner's own");
        assert_eq!(left.phone.as_deref(), Some("+48 600 000 001"));
        assert_eq!(left.sex, Sex::Male);
    }

    #[test]
    fn shared_fields_must_lie_within_the_consented_groups() {
        let scope = [ConsentScope::Identity, ConsentScope::Procedure];
        let fields = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(check(&fields(&["given_names", "procedure_stage", "given_names"]), &scope).unwrap().len(), 2);
        assert!(check(&fields(&["phone"]), &scope).unwrap_err().contains("contact"));
        assert!(check(&fields(&["notes"]), &scope).is_err());
        let everything = [ConsentScope::Identity, ConsentScope::Household];
        assert!(check(&fields(&["household"]), &everything).unwrap_err().contains("never"));
        assert!(check(&[], &scope).is_err());
    }
}
