//! The one error type of the API, rendered once as RFC 9457 `application/problem+json`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document with a stable machine `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference naming the problem type; its last segment is `code`.
    #[serde(rename = "type")]
    #[schema(example = "urn:casebridge:problem:validation_failed")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
    /// Stable machine-readable code.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Field → message, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// For a conflict with a resource's state: its current status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// For a conflict with another resource: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<String>,
    /// For 410 on a merged client record: the record it was merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// For 405: the methods the resource answers, sent as `Allow` (RFC 9110 §15.5.6).
    #[serde(skip)]
    pub allow: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:casebridge:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: None,
            retry_after: None,
            current_status: None,
            conflicting_id: None,
            merged_into: None,
            allow: None,
        }
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn to_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(methods) = &self.allow {
            response.insert_header((header::ALLOW, methods.as_str()));
        }
        response.json(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}: {}", .0.code, .0.detail)]
    Problem(Box<Problem>),
    #[error("database error")]
    Database(#[from] DieselError),
    #[error("database unavailable")]
    DatabaseUnavailable(#[source] r2d2::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match error {
            DbError::Query(error) => Self::Database(error),
            DbError::Unavailable(error) => Self::DatabaseUnavailable(error),
            DbError::Interrupted(cause) => Self::Internal(anyhow::anyhow!("blocking task failed: {cause}")),
        }
    }
}

impl crate::db::WorkError for ApiError {
    fn failed_in_database(&self) -> bool {
        matches!(self, Self::Database(_))
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self::Problem(Box::new(Problem::new(status, code, detail)))
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "You are not allowed to do this.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("No such {what}."))
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 409 for a request the resource's current status does not allow.
    pub fn wrong_status(current_status: &str, detail: impl Into<String>) -> Self {
        let mut problem = Problem::new(StatusCode::CONFLICT, "illegal_transition", detail);
        problem.current_status = Some(current_status.to_owned());
        Self::Problem(Box::new(problem))
    }

    /// 409 because another resource already stands where this one would.
    pub fn conflicts_with(code: &str, id: impl ToString, detail: impl Into<String>) -> Self {
        let mut problem = Problem::new(StatusCode::CONFLICT, code, detail);
        problem.conflicting_id = Some(id.to_string());
        Self::Problem(Box::new(problem))
    }

    /// 405 for a resource that exists but does not answer this method.
    pub fn method_not_allowed(method: &str, allow: String) -> Self {
        let mut problem = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on this resource."),
        );
        problem.allow = Some(allow);
        Self::Problem(Box::new(problem))
    }

    pub fn unprocessable(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn too_many_requests(retry_after: u64, detail: impl Into<String>) -> Self {
        let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail);
        problem.retry_after = Some(retry_after.max(1));
        Self::Problem(Box::new(problem))
    }

    pub fn unavailable(code: &str, detail: impl Into<String>) -> Self {
        let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, code, detail);
        problem.retry_after = Some(1);
        Self::Problem(Box::new(problem))
    }

    /// A query string whose parameters do not fit: 400, with the same `errors` map as a 422.
    pub fn invalid_query(errors: BTreeMap<String, String>) -> Self {
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Some query parameters are not valid; see `errors`.",
        );
        problem.errors = Some(errors);
        Self::Problem(Box::new(problem))
    }

    pub fn validation(errors: BTreeMap<String, String>) -> Self {
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Some fields are not valid; see `errors`.",
        );
        problem.errors = Some(errors);
        Self::Problem(Box::new(problem))
    }

    /// The problem sent to the client. Nothing internal (SQL, causes) reaches the body.
    pub fn problem(&self) -> Problem {
        match self {
            Self::Problem(problem) => (**problem).clone(),
            Self::Database(DieselError::NotFound) => {
                Problem::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
            }
            Self::Database(DieselError::DatabaseError(kind, info)) => match kind {
                DatabaseErrorKind::UniqueViolation => Problem::new(
                    StatusCode::CONFLICT,
                    "already_exists",
                    "A resource with the same unique value already exists.",
                ),
                DatabaseErrorKind::ForeignKeyViolation => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "reference_not_found",
                    "The request refers to a resource that does not exist.",
                ),
                DatabaseErrorKind::SerializationFailure => unavailable_problem(),
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => unavailable_problem(),
                _ if is_database_busy(info.message()) => unavailable_problem(),
                _ => internal_problem(),
            },
            Self::DatabaseUnavailable(_) => unavailable_problem(),
            Self::Database(_) | Self::Internal(_) => internal_problem(),
        }
    }
}

/// SQLite reports a writer that waited past `busy_timeout` (and PostgreSQL a lost connection)
/// as plain messages; both are outages to retry, not bugs.
fn is_database_busy(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("server closed the connection")
        || message.contains("terminating connection")
        || message.contains("no connection to the server")
}

fn unavailable_problem() -> Problem {
    let mut problem = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "The database is not reachable at the moment; retry shortly.",
    );
    problem.retry_after = Some(1);
    problem
}

fn internal_problem() -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "An unexpected error occurred; it has been logged.",
    )
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        // A problem the code chose to answer (a refusal, or 503 while sign-ins are busy) is
        // counted in /metrics, not logged line by line: a flood of them must not flood the log.
        match (self, problem.status) {
            (Self::Problem(_), _) | (_, ..500) => {
                tracing::debug!(code = %problem.code, status = problem.status, "request refused")
            }
            _ => tracing::error!(error = ?ErrorChain(self), status = problem.status, "request failed"),
        }
        problem.to_response()
    }
}

/// Formats an error with its whole cause chain for the logs.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Field-level validation messages collected while parsing a request into domain values.
#[derive(Debug, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// Keeps the parsed value, or records the message under `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// The value assembled from the checked parts when nothing was recorded, else the 422
    /// problem listing every field at once.
    pub fn finish<T>(self, assemble: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::validation(self.0));
        }
        assemble().ok_or_else(|| anyhow::anyhow!("a checked field was missing").into())
    }

    /// As `finish`, for query parameters (400 `invalid_query`).
    pub fn finish_query<T>(self, assemble: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::invalid_query(self.0));
        }
        assemble().ok_or_else(|| anyhow::anyhow!("a checked parameter was missing").into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Refuses, field by field, the days of a query that are not on the calendar
    /// (`domain::on_the_calendar`).
    pub fn check_days(&mut self, days: &[(&str, Option<chrono::NaiveDate>)]) {
        for (field, day) in days {
            if day.is_some_and(|day| !crate::domain::on_the_calendar(day)) {
                self.add(*field, "must be a day from 0001-01-01 to 9999-12-31");
            }
        }
    }

    /// Takes over the messages of another check (the first message of a field stays).
    pub fn extend(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// The 422 problem listing every recorded field.
    pub fn into_error(self) -> ApiError {
        ApiError::validation(self.0)
    }
}
