//! Idempotent creation (SPEC §4.6): a creating `POST` may carry `Idempotency-Key`; a retry with
//! the same key and body within 24 hours is answered as the first request was, the same key with
//! another body gets 422. Keys are kept per caller in the database, so a retry may reach any API
//! instance.
//!
//! A record holds no content, only where the resource is: notes and every other field would
//! otherwise sit in clear in the database and its backups, and a replay would repeat them after
//! the resource was deleted or the caller lost sight of it. A replay reads the resource again as
//! its `GET` does, with the same authorisation and audit. The key itself is kept as a digest:
//! callers choose keys, and a key such as `log-zelimkhan-1` names a person.

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
use crate::db::{self, DbConnection, Id, UserId};

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
pub struct Created<T> {
    /// The resource's id (of whatever kind), kept in the record to read it again on a replay.
    pub id: Id,
    pub location: String,
    pub version: i32,
    pub body: T,
}

impl<T: Serialize> Created<T> {
    pub fn new<E>(id: Id<E>, location: String, version: i32, body: T) -> Self {
        Self { id: id.any(), location, version, body }
    }

    pub fn response(&self) -> HttpResponse {
        HttpResponse::Created()
            .insert_header(etag(self.version))
            .insert_header((actix_web::http::header::LOCATION, self.location.clone()))
            .json(&self.body)
    }
}

/// How long a record answers retries; after it the same key starts a new request.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

fn cutoff() -> chrono::NaiveDateTime {
    db::now().naive_utc() - RETENTION
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct Record {
    request_hash: String,
    resource_id: Id,
}

impl Record {
    /// The resource the first request created, if this request is its retry.
    fn resource_of<E>(self, request_hash: &str) -> Result<Id<E>, ApiError> {
        if self.request_hash != request_hash {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
            ));
        }
        Ok(self.resource_id.of())
    }
}

/// Fingerprint of a request body, to tell a retry from a different request. A body that cannot
/// be serialised fails the request: hashing nothing would make every such request a "retry".
pub fn fingerprint(route: &str, body: &impl Serialize) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|error| anyhow::Error::new(error).context(format!("cannot fingerprint a request to {route}")))?;
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update(bytes);
    Ok(hex::encode(hasher.finalize()))
}

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The caller's live record of this key (its digest); an expired one is as good as none.
fn stored(conn: &mut DbConnection, actor_id: UserId, key: &str) -> QueryResult<Option<Record>> {
    idempotency_keys::table
        .find((actor_id, key))
        .filter(idempotency_keys::created_at.ge(cutoff()))
        .select(Record::as_select())
        .first(conn)
        .optional()
}

/// Removes the records that no longer answer retries; returns how many.
pub fn purge_expired(conn: &mut DbConnection) -> QueryResult<usize> {
    db::write(conn, |conn| {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff()))).execute(conn)
    })
}

/// Whether a failed creation may have met a concurrent twin: its key (a unique violation), or
/// what the twin created (a refusal such as "duplicate" that the first request did not meet).
fn may_have_met_a_twin(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Problem(_) | ApiError::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
    )
}

/// Creates a resource at most once per caller and key.
///
/// - `read` answers a retry: it reads the resource the first request created as its `GET`
///   does, so a deleted resource or one the caller may no longer see answers as `GET` would;
/// - `check` runs outside the transaction (a permission denial it records in the audit trail
///   must stay recorded) and hands what it found to `create`;
/// - `create` runs in a transaction, together with the record of the key.
///
/// A retry is recognised before `check`, so it is answered as the resource stands now, not
/// refused for what the first request changed (its own referral is the open duplicate, say).
pub fn create_once<A, E, T: Serialize>(
    conn: &mut DbConnection,
    actor_id: UserId,
    key: &IdempotencyKey,
    request_hash: &str,
    read: impl FnOnce(&mut DbConnection, Id<E>) -> Result<Created<T>, ApiError>,
    check: impl FnOnce(&mut DbConnection) -> Result<A, ApiError>,
    create: impl FnOnce(&mut DbConnection, A) -> Result<Created<T>, ApiError>,
) -> Result<Created<T>, ApiError> {
    let Some(key) = key.0.as_deref().map(digest) else {
        let checked = check(conn)?;
        return db::transaction(conn, |conn| create(conn, checked));
    };
    let key = key.as_str();
    if let Some(previous) = stored(conn, actor_id, key)? {
        return read(conn, previous.resource_of(request_hash)?);
    }
    let checked = check(conn)?;
    let outcome = db::transaction(conn, |conn| {
        let created = create(conn, checked)?;
        // An expired record of the same key gives way; a live one (a twin's) stays and makes
        // the insert below fail.
        diesel::delete(idempotency_keys::table.find((actor_id, key)).filter(idempotency_keys::created_at.lt(cutoff())))
            .execute(conn)?;
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::actor_id.eq(actor_id),
                idempotency_keys::key_hash.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::status.eq(i32::from(StatusCode::CREATED.as_u16())),
                idempotency_keys::location.eq(&created.location),
                idempotency_keys::etag.eq(format!("\"{}\"", created.version)),
                idempotency_keys::resource_id.eq(created.id),
                idempotency_keys::created_at.eq(db::now().naive_utc()),
            ))
            .execute(conn)?;
        Ok(created)
    });
    match outcome {
        // A concurrent twin of this request committed first: answer as a retry of it.
        Err(error) if may_have_met_a_twin(&error) => match stored(conn, actor_id, key)? {
            Some(previous) => read(conn, previous.resource_of(request_hash)?),
            None => Err(error),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Unserialisable;

    impl Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no JSON form"))
        }
    }

    #[test]
    fn a_body_that_cannot_be_serialised_fails_the_request_instead_of_hashing_nothing() {
        let error = fingerprint("POST /clients", &Unserialisable).unwrap_err();
        assert_eq!(error.problem().status, 500);
        assert!(format!("{:?}", anyhow::Error::from(error)).contains("no JSON form"));
    }

    #[test]
    fn the_route_and_the_body_both_tell_requests_apart() {
        let one = fingerprint("POST /clients", &("Amina", 1)).unwrap();
        assert_eq!(one, fingerprint("POST /clients", &("Amina", 1)).unwrap());
        assert_ne!(one, fingerprint("POST /clients", &("Amina", 2)).unwrap());
        assert_ne!(one, fingerprint("POST /referrals", &("Amina", 1)).unwrap());
    }
}
