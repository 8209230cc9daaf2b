//! `GET /reference`: every closed list of the API with labels in Polish, English, Ukrainian and
//! Russian (SPEC §4.9), so frontends never hard-code them.

pub mod labels;

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use labels::ENUMERATIONS;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(reference);
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Labels {
    pub pl: String,
    pub en: String,
    pub uk: String,
    pub ru: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferenceValue {
    #[schema(example = "refugee_status")]
    pub code: String,
    pub labels: Labels,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Enumeration {
    #[schema(example = "procedure_outcome")]
    pub name: String,
    pub values: Vec<ReferenceValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferenceData {
    pub enumerations: Vec<Enumeration>,
}

/// Every enumeration with its codes and their labels.
#[utoipa::path(tag = "reference", responses((status = 200, description = "Reference data", body = ReferenceData)))]
#[get("/reference")]
pub async fn reference() -> web::Json<ReferenceData> {
    let enumerations = ENUMERATIONS
        .iter()
        .map(|enumeration| Enumeration {
            name: enumeration.name.to_owned(),
            values: enumeration
                .values
                .iter()
                .map(|label| ReferenceValue {
                    code: label.code.to_owned(),
                    labels: Labels {
                        pl: label.pl.to_owned(),
                        en: label.en.to_owned(),
                        uk: label.uk.to_owned(),
                        ru: label.ru.to_owned(),
                    },
                })
                .collect(),
        })
        .collect();
    web::Json(ReferenceData { enumerations })
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::ENUMERATIONS;
    use crate::consents::model::{ConsentPurpose, ConsentScope};
    use crate::domain::client::{
        Accommodation, ClientStatus, HouseholdRelationship, IdentifierKind, Sex, Vulnerability,
    };
    use crate::domain::{Role, SessionKind};
    use crate::procedure::deadlines::{ProcedureStage, RULES};
    use crate::procedure::events::{EventKind, Outcome};

    fn labelled(name: &str) -> Vec<&'static str> {
        let enumeration =
            ENUMERATIONS.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no labels for {name}"));
        enumeration.values.iter().map(|label| label.code).collect()
    }

    fn codes<E: IntoEnumIterator + Into<&'static str>>() -> Vec<&'static str> {
        E::iter().map(Into::into).collect()
    }

    #[test]
    fn every_closed_list_has_labels_for_exactly_its_codes() {
        assert_eq!(labelled("role"), codes::<Role>());
        assert_eq!(labelled("session_kind"), codes::<SessionKind>());
        assert_eq!(labelled("sex"), codes::<Sex>());
        assert_eq!(labelled("accommodation"), codes::<Accommodation>());
        assert_eq!(labelled("vulnerability"), codes::<Vulnerability>());
        assert_eq!(labelled("identifier_kind"), codes::<IdentifierKind>());
        assert_eq!(labelled("client_status"), codes::<ClientStatus>());
        assert_eq!(labelled("household_relationship"), codes::<HouseholdRelationship>());
        assert_eq!(labelled("procedure_event_kind"), codes::<EventKind>());
        assert_eq!(labelled("procedure_outcome"), codes::<Outcome>());
        assert_eq!(labelled("procedure_stage"), codes::<ProcedureStage>());
        assert_eq!(labelled("consent_purpose"), codes::<ConsentPurpose>());
        assert_eq!(labelled("consent_scope"), codes::<ConsentScope>());
        assert_eq!(labelled("appointment_status"), codes::<crate::appointments::model::AppointmentStatus>());
        assert_eq!(labelled("agenda_entry_kind"), codes::<crate::agenda::model::EntryKind>());
        assert_eq!(labelled("event_type"), codes::<crate::notifications::EventType>());
        assert_eq!(labelled("delivery_status"), codes::<crate::notifications::outbox::DeliveryStatus>());
        assert_eq!(labelled("interface_language"), codes::<crate::notifications::settings::Language>());
        let mut rules: Vec<&str> = RULES.iter().map(|rule| rule.code).collect();
        rules.dedup();
        assert_eq!(labelled("deadline_rule"), rules);
    }

    #[test]
    fn no_label_is_empty() {
        for enumeration in ENUMERATIONS {
            for label in enumeration.values {
                for text in [label.pl, label.en, label.uk, label.ru] {
                    assert!(!text.trim().is_empty(), "{}.{} lacks a label", enumeration.name, label.code);
                }
            }
        }
    }
}
