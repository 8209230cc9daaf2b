//! The OpenAPI 3.1 document: generated from the handlers' annotations, served at
//! `/api/v1/openapi.json`, committed as `openapi/openapi.json`.

use actix_web::App;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::Problem;
use crate::{
    agenda, appointments, audit, auth, clients, consents, documents, grants, health, interpreters, notifications,
    organisations, privacy, procedure, reference, referrals, reports, sessions, tasks, users, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "casebridge",
        description = "Case management for NGOs that assist people in the international-protection \
                       procedure in Poland: clients, counseling sessions, referrals between partner \
                       organisations, donor reports. Errors are RFC 9457 problem documents \
                       (`application/problem+json`) with a stable `code`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    tags(
        (name = "auth", description = "Sign-in, tokens and one's own account"),
        (name = "organisations", description = "Consortium partners"),
        (name = "users", description = "Staff accounts"),
        (name = "clients", description = "Clients of an organisation, their households, the duplicate check"),
        (name = "consents", description = "Consents the clients gave"),
        (name = "procedure", description = "The protection procedure timeline and the deadlines derived from it"),
        (name = "sessions", description = "Counseling sessions; confidential notes are encrypted at rest"),
        (name = "appointments", description = "Planned meetings on counselors' calendars; holding one logs its session"),
        (name = "interpreters", description = "Interpreters shared by the consortium and their booked time"),
        (name = "agenda", description = "A counselor's day: appointments, deadlines, follow-ups and tasks, also as a calendar feed"),
        (name = "tasks", description = "To-dos of an organisation, assigned to a user or in its inbox"),
        (name = "documents", description = "Documents of the case file, encrypted at rest with the client's key"),
        (name = "referrals", description = "Referrals between partner organisations, gated by consent"),
        (name = "webhooks", description = "An organisation's own systems told of referral and deadline events by signed POSTs"),
        (name = "privacy", description = "Data-subject rights: export and erasure"),
        (name = "reports", description = "Donor indicators: aggregates only, no personal data"),
        (name = "reference", description = "Closed lists with labels in pl, en, uk, ru"),
        (name = "audit", description = "The tamper-evident audit trail"),
        (name = "health", description = "Liveness, readiness and metrics"),
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
)]
struct ApiBase;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Answers every operation of a kind can give, documented once instead of on each handler:
/// 401 where a token is needed, 400/413/415 where a body is read, 412/428 where `If-Match` is.
struct CommonResponses;

impl CommonResponses {
    fn problem(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
        utoipa::openapi::ResponseBuilder::new()
            .description(description)
            .content(
                crate::http::PROBLEM_JSON,
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
            .into()
    }
}

impl CommonResponses {
    /// The parameters that one extractor parses the same way on every operation, described as
    /// strictly as it parses them: `If-Match` (`precondition`), `Idempotency-Key`
    /// (`idempotency`) and the opaque, base64url `cursor` (`pagination`).
    fn header_or_cursor_schema(name: &str) -> Option<utoipa::openapi::schema::Object> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let string = ObjectBuilder::new().schema_type(Type::String);
        match name {
            "If-Match" => Some(
                string
                    .pattern(Some(r#"^(W/)?"[0-9]{1,9}"$"#))
                    .description(Some("The `ETag` of the version being changed, such as `\"3\"`"))
                    .build(),
            ),
            "Idempotency-Key" => Some(
                string
                    .min_length(Some(1))
                    .max_length(Some(200))
                    .pattern(Some("^[!-~]+$"))
                    .description(Some("1–200 visible ASCII characters"))
                    .build(),
            ),
            "cursor" => Some(
                string
                    .min_length(Some(1))
                    .pattern(Some("^[A-Za-z0-9_-]+$"))
                    .description(Some("`next_cursor` of the previous page"))
                    .build(),
            ),
            _ => None,
        }
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses.entry(status.to_owned()).or_insert_with(|| Self::problem(description));
                };
                if operation.security.as_ref().is_some_and(|security| !security.is_empty()) {
                    add("401", "No valid access token");
                }
                if operation.request_body.is_some() {
                    add("400", "Malformed JSON, unknown fields or wrong types");
                    add("413", "Body larger than 1 MiB");
                    add("415", "Body is not JSON");
                }
                let parameters = operation.parameters.iter_mut().flatten();
                let (mut if_match, mut query_or_header) = (false, false);
                for parameter in parameters {
                    let utoipa::openapi::RefOr::T(parameter) = parameter else { continue };
                    query_or_header |= !matches!(parameter.parameter_in, ParameterIn::Path);
                    if_match |= parameter.name == "If-Match";
                    if let Some(schema) = Self::header_or_cursor_schema(&parameter.name) {
                        parameter.schema = Some(schema.into());
                    }
                }
                if query_or_header {
                    add("400", "A query parameter or header is not valid");
                }
                if if_match {
                    add("412", "The resource changed since it was read");
                    add("428", "If-Match missing");
                }
            }
        }
    }
}

/// How an answer leads to the next request: `(operation, status, link name, target operation,
/// parameters, request body)`. A client (or a stateful test) follows them from a created
/// resource to reading, changing and using it; values are OpenAPI runtime expressions.
type LinkRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static [(&'static str, &'static str)]>,
);

const ID: (&str, &str) = ("id", "$response.body#/id");
const ETAG: (&str, &str) = ("If-Match", "$response.header.ETag");
const USER_ID: (&str, &str) = ("id", "$response.body#/user/id");
const CLIENT_OF_PATH: (&str, &str) = ("id", "$request.path.id");

const LINKS: &[LinkRow] = &[
    ("create_organisation", "201", "read", "read_organisation", &[ID], None),
    ("create_organisation", "201", "update", "update_organisation", &[ID, ETAG], None),
    ("create_organisation", "201", "list_users", "list_users", &[("organisation_id", "$response.body#/id")], None),
    (
        "create_organisation",
        "201",
        "create_user",
        "create_user",
        &[],
        Some(&[("organisation_id", "$response.body#/id")]),
    ),
    ("update_organisation", "200", "update_again", "update_organisation", &[ID, ETAG], None),
    ("read_organisation", "200", "update", "update_organisation", &[ID, ETAG], None),
    ("create_user", "201", "read", "read_user", &[USER_ID], None),
    ("create_user", "201", "update", "update_user", &[USER_ID, ETAG], None),
    ("create_user", "201", "reset_password", "reset_user_password", &[USER_ID], None),
    ("create_user", "201", "grants", "list_specialty_grants", &[("user_id", "$response.body#/user/id")], None),
    ("update_user", "200", "update_again", "update_user", &[ID, ETAG], None),
    ("read_user", "200", "update", "update_user", &[ID, ETAG], None),
    ("create_client", "201", "read", "read_client", &[ID], None),
    ("create_client", "201", "update", "update_client", &[ID, ETAG], None),
    ("create_client", "201", "close", "close", &[ID, ETAG], None),
    ("create_client", "201", "consents", "list_consents", &[ID], None),
    ("create_client", "201", "record_consent", "record_consent", &[ID], None),
    ("create_client", "201", "timeline", "timeline", &[ID], None),
    ("create_client", "201", "record_procedure_event", "record_procedure_event", &[ID], None),
    ("create_client", "201", "sessions", "list_of_client", &[ID], None),
    ("create_client", "201", "log_session", "log", &[ID], None),
    ("create_client", "201", "export", "export", &[ID], None),
    ("create_client", "201", "erase", "erase", &[ID], None),
    ("create_client", "201", "merge_into", "merge", &[ID, ETAG], None),
    ("create_client", "201", "join_household", "join_household", &[ID], None),
    ("create_client", "201", "household_of", "join_household", &[], Some(&[("with_client_id", "$response.body#/id")])),
    ("create_client", "201", "leave_household", "leave_household", &[ID], None),
    ("create_client", "201", "refer", "create_referral", &[], Some(&[("client_id", "$response.body#/id")])),
    ("read_client", "200", "update", "update_client", &[ID, ETAG], None),
    ("update_client", "200", "update_again", "update_client", &[ID, ETAG], None),
    ("update_client", "200", "close", "close", &[ID, ETAG], None),
    ("close", "200", "reopen", "reopen", &[ID, ETAG], None),
    ("reopen", "200", "close", "close", &[ID, ETAG], None),
    ("record_consent", "201", "withdraw", "withdraw", &[CLIENT_OF_PATH, ("consent_id", "$response.body#/id")], None),
    (
        "record_consent",
        "201",
        "refer",
        "create_referral",
        &[],
        Some(&[
            ("client_id", "$request.path.id"),
            ("consent_id", "$response.body#/id"),
            ("to_organisation_id", "$response.body#/partner_id"),
        ]),
    ),
    (
        "record_procedure_event",
        "201",
        "correct",
        "correct",
        &[CLIENT_OF_PATH, ("event_id", "$response.body#/id"), ETAG],
        None,
    ),
    ("log", "201", "read", "read_session", &[ID], None),
    ("log", "201", "update", "update_session", &[ID, ETAG], None),
    ("log", "201", "remove", "remove", &[ID], None),
    ("read_session", "200", "update", "update_session", &[ID, ETAG], None),
    ("update_session", "200", "update_again", "update_session", &[ID, ETAG], None),
    ("create_referral", "201", "read", "read_referral", &[ID], None),
    ("create_referral", "201", "accept", "accept", &[ID, ETAG], None),
    ("create_referral", "201", "decline", "decline", &[ID, ETAG], None),
    ("create_referral", "201", "cancel", "cancel", &[ID, ETAG], None),
    ("create_referral", "201", "client", "referred_client", &[ID], None),
    ("read_referral", "200", "accept", "accept", &[ID, ETAG], None),
    ("accept", "200", "complete", "complete", &[ID, ETAG], None),
    ("accept", "200", "cancel", "cancel", &[ID, ETAG], None),
];

struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::link::LinkBuilder;
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let Some(operation_id) = operation.operation_id.clone() else { continue };
                for (_, status, name, target, parameters, body) in LINKS.iter().filter(|row| row.0 == operation_id) {
                    let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else { continue };
                    let link = parameters
                        .iter()
                        .fold(LinkBuilder::new().operation_id(*target), |link, (name, value)| {
                            link.parameter(*name, *value)
                        })
                        .request_body(body.map(|fields| {
                            fields
                                .iter()
                                .map(|(name, value)| ((*name).to_owned(), serde_json::Value::from(*value)))
                                .collect::<serde_json::Map<_, _>>()
                        }))
                        .build();
                    response.links.insert((*name).to_owned(), link.into());
                }
            }
        }
    }
}

/// Every documented route. The OpenAPI document is generated from exactly this.
pub fn register_routes(cfg: &mut ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .configure(auth::routes::configure)
            .configure(notifications::settings::configure)
            .configure(organisations::routes::configure)
            .configure(users::routes::configure)
            .configure(grants::routes::configure)
            .configure(audit::routes::configure)
            .configure(clients::routes::configure)
            .configure(consents::routes::configure)
            .configure(procedure::routes::configure)
            .configure(sessions::routes::configure)
            .configure(appointments::routes::configure)
            .configure(interpreters::routes::configure)
            .configure(tasks::routes::configure)
            .configure(agenda::routes::configure)
            .configure(documents::routes::configure)
            .configure(documents::sharing::configure)
            .configure(referrals::routes::configure)
            .configure(webhooks::routes::configure)
            .configure(privacy::routes::configure)
            .configure(reports::routes::configure)
            .configure(reference::configure),
    )
    .configure(health::configure)
    .service(auth::routes::jwks);
}

/// The document for the routes `register_routes` registers.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) =
        App::new().into_utoipa_app().openapi(ApiBase::openapi()).configure(register_routes).split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // The paths exist only now, after the routes were collected.
    CommonResponses.modify(&mut document);
    Links.modify(&mut document);
    document
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> anyhow::Result<String> {
    Ok(format!("{}\n", document().to_pretty_json()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link that names a missing operation, response or parameter would be silently useless.
    #[test]
    fn every_link_leads_from_a_documented_response_to_a_documented_parameter() {
        let document = document();
        let operations: Vec<&utoipa::openapi::path::Operation> = document
            .paths
            .paths
            .values()
            .flat_map(|item| [&item.get, &item.put, &item.post, &item.delete, &item.patch])
            .flatten()
            .collect();
        let find = |id: &str| {
            operations
                .iter()
                .find(|operation| operation.operation_id.as_deref() == Some(id))
                .unwrap_or_else(|| panic!("no operation {id}"))
        };
        for (source, status, name, target, parameters, _) in LINKS {
            let response = find(source).responses.responses.get(*status);
            assert!(
                matches!(response, Some(utoipa::openapi::RefOr::T(response)) if response.links.contains_key(*name)),
                "{source} {status} lacks the link {name}"
            );
            let target_parameters: Vec<&str> = find(target)
                .parameters
                .iter()
                .flatten()
                .filter_map(|parameter| match parameter {
                    utoipa::openapi::RefOr::T(parameter) => Some(parameter.name.as_str()),
                    utoipa::openapi::RefOr::Ref(_) => None,
                })
                .collect();
            for (parameter, _) in *parameters {
                assert!(target_parameters.contains(parameter), "{target} has no parameter {parameter}");
            }
        }
    }
}
