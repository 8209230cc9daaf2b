//! The OpenAPI 3.1 document: generated from the handlers' annotations, served at
//! `/api/v1/openapi.json`, committed as `openapi/openapi.json`.

use actix_web::App;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::http::Problem;

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
        (name = "referrals", description = "Referrals between partner organisations, gated by consent"),
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
                let if_match = operation.parameters.as_ref().is_some_and(|parameters| {
                    parameters.iter().any(|parameter| {
                            matches!(parameter, utoipa::openapi::RefOr::T(parameter) if parameter.name == "If-Match")
                        })
                });
                if if_match {
                    add("412", "The resource changed since it was read");
                    add("428", "If-Match missing");
                }
            }
        }
    }
}

/// The document for the routes `startup::register_routes` registers.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiBase::openapi())
        .configure(crate::startup::register_routes)
        .split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // The paths exist only now, after the routes were collected.
    CommonResponses.modify(&mut document);
    document
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> anyhow::Result<String> {
    Ok(format!("{}\n", document().to_pretty_json()?))
}
