//! Access tokens: short-lived EdDSA JWTs that name their login session. Several verification
//! keys may be live at once (`kid`), so signing keys can be rotated without logging anybody out.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::config::TokenConfig;
use crate::db::{LoginSessionId, OrganisationId, UserId};
use crate::domain::Role;

const ACCESS_TYPE: &str = "access";

/// Seconds of clock difference tolerated when checking `exp` and `iat`.
const LEEWAY: u64 = 5;

/// How many verified tokens are remembered (a few hundred bytes each).
const REMEMBERED_TOKENS: usize = 4096;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub org: Option<OrganisationId>,
    pub role: Role,
    /// The login session (refresh-token family) the token belongs to.
    pub sid: LoginSessionId,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
}

/// One public key as published at `/.well-known/jwks.json` (RFC 8037).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JsonWebKey {
    #[schema(example = "OKP")]
    pub kty: String,
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    pub kid: String,
    #[schema(example = "EdDSA")]
    pub alg: String,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JsonWebKeySet {
    pub keys: Vec<JsonWebKey>,
}

pub struct TokenKeys {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: JsonWebKeySet,
    validation: Validation,
    /// Tokens that passed every check, by their SHA-256: a client sends the same token with
    /// every request for up to its lifetime, and checking the EdDSA signature again each time
    /// cost about 8 % of a simple read. Expiry is checked again on every use.
    verified: quick_cache::sync::Cache<[u8; 32], AccessClaims>,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
}

fn key_id(public_key: &[u8; 32]) -> String {
    BASE64URL.encode(&Sha256::digest(public_key)[..12])
}

impl TokenKeys {
    pub fn new(config: &TokenConfig) -> anyhow::Result<Self> {
        let signing = SigningKey::from_bytes(config.signing_key.expose_secret());
        let der = signing.to_pkcs8_der().map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
        let current_public = signing.verifying_key().to_bytes();
        let signing_kid = key_id(&current_public);

        let mut decoding = HashMap::new();
        let mut keys = Vec::new();
        for public in std::iter::once(&current_public).chain(&config.previous_public_keys) {
            let kid = key_id(public);
            decoding.insert(kid.clone(), DecodingKey::from_ed_der(public));
            keys.push(JsonWebKey {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: BASE64URL.encode(public),
                kid,
                alg: "EdDSA".into(),
                key_use: "sig".into(),
            });
        }

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[&config.audience]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY;

        Ok(Self {
            signing_kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding,
            jwks: JsonWebKeySet { keys },
            validation,
            verified: quick_cache::sync::Cache::new(REMEMBERED_TOKENS),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            access_ttl: config.access_ttl,
        })
    }

    pub fn jwks(&self) -> &JsonWebKeySet {
        &self.jwks
    }

    pub fn issue(
        &self,
        user_id: UserId,
        organisation_id: Option<OrganisationId>,
        role: Role,
        session_id: LoginSessionId,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            org: organisation_id,
            role,
            sid: session_id,
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
            typ: ACCESS_TYPE.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        header.typ = Some("at+jwt".to_owned());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// The claims of a valid access token; `None` for anything else (wrong algorithm, unknown
    /// key, bad signature, expired, wrong audience or issuer, not an access token).
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    fn verify_at(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.verified.get(&digest) {
            return (now <= claims.exp.saturating_add(LEEWAY as i64)).then_some(claims);
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = self.decoding.get(header.kid.as_deref()?)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation).ok()?;
        let claims = (data.claims.typ == ACCESS_TYPE).then_some(data.claims)?;
        self.verified.insert(digest, claims.clone());
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretBox;

    use super::*;
    use crate::db::Id;

    fn keys() -> TokenKeys {
        TokenKeys::new(&TokenConfig {
            signing_key: SecretBox::new(Box::new([7; 32])),
            previous_public_keys: Vec::new(),
            issuer: "casebridge".to_owned(),
            audience: "casebridge-api".to_owned(),
            access_ttl: Duration::from_secs(900),
            session_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(3600),
        })
        .unwrap()
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let keys = keys();
        let token = keys.issue(Id::new(), None, Role::Counselor, Id::new()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let claims = keys.verify(&token).expect("a fresh token is valid");
        assert_eq!(keys.verify_at(&token, now).map(|c| c.sid), Some(claims.sid), "and stays valid");
        assert!(keys.verify_at(&token, claims.exp + LEEWAY as i64).is_some());
        assert!(keys.verify_at(&token, claims.exp + LEEWAY as i64 + 1).is_none(), "not past its expiry");
    }

    #[test]
    fn a_tampered_token_is_refused_every_time() {
        let keys = keys();
        let token = keys.issue(Id::new(), None, Role::Counselor, Id::new()).unwrap();
        let signature = token.rfind('.').unwrap() + 1;
        let flipped = if token.as_bytes()[signature] == b'A' { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &token[..signature], &token[signature + 1..]);
        assert!(keys.verify(&tampered).is_none());
        assert!(keys.verify(&tampered).is_none(), "a refused token is refused again");
        assert!(keys.verify(&token).is_some());
    }
}
