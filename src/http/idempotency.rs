//! Idempotent creation (SPEC §4.6): a creating `POST` may carry `Idempotency-Key`; a retry with
//! the same key and body gets the first response, the same key with another body gets 422.
//! Keys are kept per caller in the database, so a retry may reach any API instance.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ApiError;
use super::precondition::etag;
use crate::db::schema::idempotency_keys;
use crate::db::{self, DbConnection, Id};

/// The optional `Idempotency-Key` header: 1–200 visible ASCII characters.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get("idempotency-key") else {
            return ready(Ok(Self(None)));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|key| (1..=200).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic()))
            .map(|key| Self(Some(key.to_owned())))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1–200 visible ASCII characters.",
                )
            });
        ready(key)
    }
}

/// What a creating request produced: answered as `201 Created` with `Location` and `ETag`.
#[derive(Debug, Clone)]
pub struct Created {
    pub location: String,
    pub version: i32,
    pub body: serde_json::Value,
}

impl Created {
    pub fn new(location: String, version: i32, body: &impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Self { location, version, body })
    }

    pub fn response(&self) -> HttpResponse {
        HttpResponse::Created()
            .insert_header(etag(self.version))
            .insert_header((actix_web::http::header::LOCATION, self.location.clone()))
            .json(&self.body)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct StoredResponse {
    request_hash: String,
    location: Option<String>,
    etag: Option<String>,
    body: String,
}

impl StoredResponse {
    fn replay(self, request_hash: &str) -> Result<Created, ApiError> {
        if self.request_hash != request_hash {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
            ));
        }
        let version = self.etag.as_deref().and_then(|e| e.trim_matches('"').parse().ok()).unwrap_or(1);
        let body = serde_json::from_str(&self.body).map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Created { location: self.location.unwrap_or_default(), version, body })
    }
}

/// Fingerprint of a request body, to tell a retry from a different request.
pub fn fingerprint(route: &str, body: &impl Serialize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(hasher.finalize())
}

fn stored(conn: &mut DbConnection, actor_id: Id, key: &str) -> QueryResult<Option<StoredResponse>> {
    idempotency_keys::table.find((actor_id, key)).select(StoredResponse::as_select()).first(conn).optional()
}

/// Whether a failed creation may have met a concurrent twin: its key (a unique violation), or
/// what the twin created (a refusal such as "duplicate" that the first request did not meet).
fn may_have_met_a_twin(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Problem(_) | ApiError::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
    )
}

/// Runs `create` in a transaction, at most once per caller and key.
pub fn create_once(
    conn: &mut DbConnection,
    actor_id: Id,
    key: &IdempotencyKey,
    request_hash: &str,
    create: impl FnOnce(&mut DbConnection) -> Result<Created, ApiError>,
) -> Result<Created, ApiError> {
    let Some(key) = key.0.as_deref() else {
        return db::transaction(conn, create);
    };
    if let Some(previous) = stored(conn, actor_id, key)? {
        return previous.replay(request_hash);
    }
    let outcome = db::transaction(conn, |conn| {
        let created = create(conn)?;
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::actor_id.eq(actor_id),
                idempotency_keys::idempotency_key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::status.eq(i32::from(StatusCode::CREATED.as_u16())),
                idempotency_keys::location.eq(&created.location),
                idempotency_keys::etag.eq(format!("\"{}\"", created.version)),
                idempotency_keys::body.eq(created.body.to_string()),
                idempotency_keys::created_at.eq(db::now().naive_utc()),
            ))
            .execute(conn)?;
        Ok(created)
    });
    match outcome {
        // A concurrent twin of this request committed first: answer as it was answered.
        Err(error) if may_have_met_a_twin(&error) => match stored(conn, actor_id, key)? {
            Some(previous) => previous.replay(request_hash),
            None => Err(error),
        },
        other => other,
    }
}
