//! HTTP plumbing shared by every route: problem+json errors for actix's own extractors and
//! for unknown routes, body limits, security headers, request ids and request logging.

pub mod error;
pub mod forwarded;
pub mod idempotency;
pub mod pagination;
pub mod patch;
pub mod precondition;

use std::collections::HashMap;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpMessage, HttpRequest, web};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::db::{DbConnection, DbPool};

pub use error::{ApiError, FieldErrors, PROBLEM_JSON, Problem};

/// Largest request body accepted (SPEC §4.7).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Runs a handler's database work off the async workers (`db::run`), in the API's error type:
/// no connection to be had becomes 503 and a lost blocking task 500, as `ApiError` maps them.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    crate::db::run(pool, work).await
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(MAX_BODY_BYTES).error_handler(|error, _req| json_error(error).into())
}

fn json_error(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be JSON (Content-Type: application/json).",
        ),
        JsonPayloadError::Deserialize(error) if error.is_data() => {
            ApiError::bad_request("invalid_body", format!("The JSON body does not fit: {error}."))
        }
        JsonPayloadError::Deserialize(error) => {
            ApiError::bad_request("malformed_json", format!("The body is not valid JSON: {error}."))
        }
        _ => ApiError::bad_request("unreadable_body", "The request body could not be read."),
    }
}

pub fn path_config() -> web::PathConfig {
    // A path that does not parse (say, an id that is not a UUID) names nothing that exists —
    // unless it is another resource's path that a parameterised route took for another method
    // (PATCH /clients/duplicate-check reaches PATCH /clients/{id}): that resource exists.
    web::PathConfig::default().error_handler(|_: PathError, req| {
        match req.resource_map().match_pattern(req.path()) {
            Some(owner) if req.match_pattern().is_some_and(|taken| taken != owner) => method_not_allowed(req, &owner),
            _ => ApiError::not_found("resource"),
        }
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::bad_request("invalid_query", format!("The query string does not fit: {error}.")).into()
    })
}

/// The days a calendar view asks for (`from`, `to`, in Poland): from today when `from` is
/// absent, `default_days` on when `to` is, at most 366 days; a day off the calendar or a `to`
/// before `from` is a 400.
pub fn day_span(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    default_days: u64,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    let mut errors = FieldErrors::default();
    errors.check_days(&[("from", from), ("to", to)]);
    errors.finish_query(|| Some(()))?;
    let from = from.unwrap_or_else(crate::domain::today);
    let to = to.unwrap_or(from + chrono::Days::new(default_days));
    let mut errors = FieldErrors::default();
    if to < from || (to - from).num_days() > 366 {
        errors.add("to", "must be on or after from, within 366 days");
    }
    errors.finish_query(|| Some((from, to)))
}

/// Answers requests no route took: 405 when the path exists for another method, else 404.
pub async fn unmatched(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match req.resource_map().match_pattern(req.path()) {
        Some(pattern) => method_not_allowed(&req, &pattern),
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is no such resource."),
    })
}

/// The methods each route pattern answers (`/api/v1/clients/{id}` → `GET, PATCH`), read from
/// the OpenAPI document, which is generated from exactly the registered routes.
pub struct AllowedMethods(HashMap<String, String>);

impl AllowedMethods {
    pub fn of(document: &utoipa::openapi::OpenApi) -> Self {
        let methods = |item: &utoipa::openapi::path::PathItem| {
            [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ]
            .into_iter()
            .filter(|(_, operation)| operation.is_some())
            .map(|(method, _)| method)
            .collect::<Vec<_>>()
            .join(", ")
        };
        Self(document.paths.paths.iter().map(|(path, item)| (path.clone(), methods(item))).collect())
    }
}

/// 405 with `Allow`, which RFC 9110 requires on it. Only the read-only documentation pages are
/// routes outside the document.
fn method_not_allowed(req: &HttpRequest, pattern: &str) -> ApiError {
    let allow = req
        .app_data::<web::Data<AllowedMethods>>()
        .and_then(|allowed| allowed.0.get(pattern).cloned())
        .unwrap_or_else(|| "GET".to_owned());
    ApiError::method_not_allowed(req.method().as_str(), allow)
}

/// Response headers for a JSON API that handles sensitive data: nothing is cached, nothing is
/// sniffed or framed, no referrer leaks. In production, where the API is served over HTTPS (by
/// itself or a proxy in front), browsers are also told to use nothing else for a year.
pub fn security_headers(production: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Cache-Control", "no-store"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Content-Security-Policy", "frame-ancestors 'none'"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"));
    if production { headers.add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains")) } else { headers }
}

/// Sends the request id (also on every log line of the request) back as `X-Request-Id`.
pub async fn expose_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = req.extensions().get::<RequestId>().copied();
    let mut response = next.call(req).await?;
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        response.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// The request id of a request, as recorded in audit events.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(ToString::to_string)
}

/// The route pattern a request matches (`/api/v1/clients/{id}`), or `unmatched`: what logs and
/// metrics call a request, never its concrete path or query string (those may hold identifiers
/// or searched names). Finding it tries every route's pattern, so it is found once per request
/// and kept with it.
pub fn route_pattern(request: &ServiceRequest) -> Rc<str> {
    #[derive(Clone)]
    struct RoutePattern(Rc<str>);

    if let Some(RoutePattern(pattern)) = request.extensions().get::<RoutePattern>() {
        return pattern.clone();
    }
    let pattern: Rc<str> = request.match_pattern().as_deref().unwrap_or("unmatched").into();
    request.extensions_mut().insert(RoutePattern(pattern.clone()));
    pattern
}

/// Request spans that name the matched route pattern.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string);
        let route = route_pattern(request);
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = request_id.as_deref().unwrap_or(""),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        span.in_scope(|| tracing::info!(status = status.as_u16(), "request finished"));
    }
}
