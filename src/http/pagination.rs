//! Cursor pagination (SPEC §4.4): `?limit=` (default 50, at most 200) and an opaque `?cursor=`.
//! Lists are ordered by id (UUIDv7, so creation order); a page starts after the cursor's id,
//! which an index answers at the same cost at any depth.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use crate::db::Id;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request, through a list whose rows have ids of type `I` (`ClientId`, …).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<I = Id> {
    pub limit: i64,
    pub after: Option<I>,
}

impl PageQuery {
    pub fn parse<E>(&self) -> Result<PageRequest<Id<E>>, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request("invalid_limit", format!("limit must be between 1 and {MAX_LIMIT}.")));
        }
        let after = self.cursor.as_deref().map(decode).transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// A page request for lists ordered by a sort key and then by id (e.g. deadlines by due date).
/// The key is parsed with the cursor, so a forged one is a 400 before any query.
#[derive(Debug, Clone)]
pub struct KeyedPageRequest<K, I = Id> {
    pub limit: i64,
    pub after: Option<(K, I)>,
}

impl PageQuery {
    pub fn parse_keyed<K: std::str::FromStr, E>(&self) -> Result<KeyedPageRequest<K, Id<E>>, ApiError> {
        let PageRequest::<Id<E>> { limit, .. } = PageQuery { limit: self.limit, cursor: None }.parse()?;
        let after = self.cursor.as_deref().map(decode_keyed).transpose()?;
        let after =
            after.map(|(key, id)| key.parse().map(|key| (key, id)).map_err(|_| invalid_cursor())).transpose()?;
        Ok(KeyedPageRequest { limit, after })
    }
}

impl<K, I> KeyedPageRequest<K, I> {
    /// Refuses a cursor whose key falls on no day of the calendar (`domain::on_the_calendar`):
    /// none the API handed out.
    pub fn on_the_calendar(self, day_of: impl Fn(&K) -> chrono::NaiveDate) -> Result<Self, ApiError> {
        match &self.after {
            Some((key, _)) if !crate::domain::on_the_calendar(day_of(key)) => Err(invalid_cursor()),
            _ => Ok(self),
        }
    }
}

/// An instant as the sort key of a keyed cursor (`NaiveDateTime`'s own text form, which
/// `parse_keyed` reads back).
pub fn instant_key(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request("invalid_cursor", "cursor is not one this API handed out.")
}

fn decode_text(cursor: &str) -> Result<String, ApiError> {
    let bytes = BASE64URL.decode(cursor).map_err(|_| invalid_cursor())?;
    String::from_utf8(bytes).map_err(|_| invalid_cursor())
}

fn decode<E>(cursor: &str) -> Result<Id<E>, ApiError> {
    decode_text(cursor)?.strip_prefix("id:").and_then(|id| id.parse().ok()).ok_or_else(invalid_cursor)
}

fn decode_keyed<E>(cursor: &str) -> Result<(String, Id<E>), ApiError> {
    let text = decode_text(cursor)?;
    let (key, id) = text.strip_prefix("key:").and_then(|rest| rest.rsplit_once('|')).ok_or_else(invalid_cursor)?;
    Ok((key.to_owned(), id.parse().map_err(|_| invalid_cursor())?))
}

fn encode<E>(id: Id<E>) -> String {
    BASE64URL.encode(format!("id:{id}"))
}

fn encode_keyed<E>(key: &str, id: Id<E>) -> String {
    BASE64URL.encode(format!("key:{key}|{id}"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows (one more than asked tells whether a next
    /// page exists).
    pub fn from_rows<R, E>(
        mut rows: Vec<R>,
        request: PageRequest<Id<E>>,
        id_of: impl Fn(&R) -> Id<E>,
        view: impl FnMut(R) -> T,
    ) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = more.then(|| rows.last().map(|row| encode(id_of(row)))).flatten();
        Self { items: rows.into_iter().map(view).collect(), next_cursor }
    }
}

impl<T> Page<T> {
    /// As `from_rows`, for lists ordered by a sort key and then by id.
    pub fn from_keyed_rows<R, K, E>(
        mut rows: Vec<R>,
        request: &KeyedPageRequest<K, Id<E>>,
        key_of: impl Fn(&R) -> (String, Id<E>),
        view: impl FnMut(R) -> T,
    ) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = more
            .then(|| {
                rows.last().map(|row| {
                    let (key, id) = key_of(row);
                    encode_keyed(&key, id)
                })
            })
            .flatten();
        Self { items: rows.into_iter().map(view).collect(), next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::id::entity::Any;

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let id: Id = Id::new();
        assert_eq!(decode(&encode(id)).unwrap(), id);
        assert!(decode::<Any>("not-a-cursor").is_err());
        assert!(decode::<Any>(&BASE64URL.encode("id:1; DROP TABLE users")).is_err());
    }

    #[test]
    fn keyed_cursor_round_trips() {
        let id: Id = Id::new();
        assert_eq!(decode_keyed(&encode_keyed("2026-05-04", id)).unwrap(), ("2026-05-04".to_owned(), id));
        assert!(decode_keyed::<Any>(&encode(id)).is_err());
    }

    #[test]
    fn a_keyed_cursor_with_a_forged_key_is_refused() {
        let query = |cursor: String| PageQuery { limit: None, cursor: Some(cursor) };
        let id: Id = Id::new();
        let parsed = query(encode_keyed("2026-05-04", id)).parse_keyed::<chrono::NaiveDate, _>().unwrap();
        assert_eq!(parsed.after, Some(("2026-05-04".parse().unwrap(), id)));
        for forged in [encode_keyed("not a date", id), encode_keyed("2026-02-30", id), BASE64URL.encode("key:|")] {
            let refused = query(forged).parse_keyed::<chrono::NaiveDate, Any>().err().map(|e| e.problem().status);
            assert_eq!(refused, Some(400));
        }
    }

    #[test]
    fn an_instant_key_is_read_back_to_the_microsecond() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 10, 25).unwrap().and_hms_micro_opt(1, 30, 0, 123_456).unwrap();
        let id: Id = Id::new();
        let query = PageQuery { limit: None, cursor: Some(encode_keyed(&instant_key(at), id)) };
        assert_eq!(query.parse_keyed::<chrono::NaiveDateTime, _>().unwrap().after, Some((at, id)));
    }

    #[test]
    fn limit_bounds_are_enforced() {
        let query = |limit| PageQuery { limit: Some(limit), cursor: None };
        assert!(query(0).parse::<Any>().is_err());
        assert!(query(201).parse::<Any>().is_err());
        assert_eq!(query(200).parse::<Any>().unwrap().limit, 200);
        assert_eq!(PageQuery::default().parse::<Any>().unwrap().limit, DEFAULT_LIMIT);
    }
}
