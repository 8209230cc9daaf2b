//! Optimistic concurrency (SPEC §4.5): resources carry a `version`, sent as a strong `ETag`;
//! a change names the version it was based on in `If-Match`.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, HeaderValue, IF_MATCH};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};

use super::ApiError;

/// The version a change is based on. Missing header → 428; unparsable → 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub i32);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.headers().get(IF_MATCH)))
    }
}

fn parse(header: Option<&HeaderValue>) -> Result<IfMatch, ApiError> {
    let Some(value) = header else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "Send If-Match with the ETag of the version you changed.",
        ));
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .map(IfMatch)
        .ok_or_else(|| ApiError::bad_request("invalid_if_match", "If-Match must be an ETag such as \"3\"."))
}

impl IfMatch {
    pub fn stale() -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "stale_version",
            "The resource changed since you read it; read it again and reapply your change.",
        )
    }
}

pub fn etag(version: i32) -> (actix_web::http::header::HeaderName, String) {
    (ETAG, format!("\"{version}\""))
}

/// `201 Created` with `Location` and `ETag`.
pub fn created(location: String, version: i32, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header(etag(version))
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(body)
}

/// A JSON response that carries the resource's version as `ETag`.
pub fn with_etag(status: StatusCode, version: i32, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).insert_header(etag(version)).json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_and_weak_etags_parse() {
        assert_eq!(parse(Some(&HeaderValue::from_static("\"7\""))).unwrap(), IfMatch(7));
        assert_eq!(parse(Some(&HeaderValue::from_static("W/\"7\""))).unwrap(), IfMatch(7));
        assert!(parse(Some(&HeaderValue::from_static("*"))).is_err());
        assert!(parse(None).is_err());
    }
}
