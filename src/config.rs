//! Typed configuration from environment variables (and an optional `.env` file), validated once
//! at start-up. Development mode may generate missing secrets; production mode refuses to start
//! without them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{SecretBox, SecretString};
use serde::{Deserialize, Serialize};

use crate::db::DatabaseUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything the service is told from outside.
pub struct Config {
    pub environment: Environment,
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client's address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>`.
    pub metrics_token: Option<SecretString>,
    pub data_dir: PathBuf,
    /// Set when development mode generated or reused secrets kept in this file.
    pub development_secrets: Option<PathBuf>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    pub db_pool_size: u32,
    pub db_timeout: Duration,
    pub tokens: TokenConfig,
    /// Master keys that wrap the clients' data keys, oldest first; the last wraps new keys.
    pub master_keys: Vec<(String, SecretBox<[u8; 32]>)>,
    pub login_throttle: LoginThrottle,
    pub audit_seal_interval: Duration,
    /// How often expired idempotency records are removed.
    pub idempotency_purge_interval: Duration,
    /// Working days a partner has to answer an urgent and a routine referral.
    pub referral_working_days: (u32, u32),
    /// Where documents are stored and what uploads may be.
    pub documents: crate::documents::DocumentConfig,
    /// How webhooks and e-mails go out.
    pub notifications: crate::notifications::NotificationConfig,
}

/// Access-token signing: an Ed25519 key (32-byte seed) and public keys of earlier signing keys
/// that are still accepted while their tokens live out (key rotation).
pub struct TokenConfig {
    pub signing_key: SecretBox<[u8; 32]>,
    pub previous_public_keys: Vec<[u8; 32]>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub session_ttl: Duration,
}

/// Failed-login throttling: at most `max_per_account` failures for one account and
/// `max_per_ip` from one address within `window`; the block ends with the window, so an
/// attacker cannot lock a victim out for good.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub window: Duration,
    pub max_per_account: u32,
    pub max_per_ip: u32,
}

/// Secrets that development mode generated and keeps in the data folder.
#[derive(Serialize, Deserialize)]
struct DevelopmentSecrets {
    jwt_signing_key: String,
    #[serde(default)]
    master_key: Option<String>,
}

const DEV_SECRETS_FILE: &str = "development-secrets.json";

impl Config {
    /// Reads the process environment (after an optional `.env` file).
    pub fn from_env() -> anyhow::Result<Self> {
        // A missing .env file is normal; a malformed one is not.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(e).context("reading .env"),
        }
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(&vars)
    }

    /// Builds the configuration from a set of variables; tests pass their own.
    pub fn from_vars(vars: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let environment = match get("CASEBRIDGE_ENV").unwrap_or("development") {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => bail!("CASEBRIDGE_ENV must be `development` or `production`, not `{other}`"),
        };
        let data_dir = PathBuf::from(get("CASEBRIDGE_DATA_DIR").unwrap_or("data"));
        let database_url = DatabaseUrl::parse(
            &get("DATABASE_URL")
                .map(str::to_owned)
                .unwrap_or_else(|| data_dir.join("casebridge.db").to_string_lossy().into_owned()),
        );
        let bind: SocketAddr = parse(get, "CASEBRIDGE_BIND", "127.0.0.1:8080")?;
        // Development mode generates its own secrets and keeps them in a file: fine on one's own
        // machine, never where others can reach it. A server set up without CASEBRIDGE_ENV must
        // not quietly run that way.
        if environment == Environment::Development && !bind.ip().to_canonical().is_loopback() {
            let why = if get("CASEBRIDGE_ENV").is_none() {
                "CASEBRIDGE_ENV is not set, so the mode is development"
            } else {
                "CASEBRIDGE_ENV is development"
            };
            bail!(
                "CASEBRIDGE_BIND {bind} is not a loopback address, and {why}: development mode (with \
                 generated secrets) is only allowed on 127.0.0.1 or ::1. Set CASEBRIDGE_ENV=production \
                 and its secrets, or bind to 127.0.0.1"
            );
        }
        let log_format = match get("CASEBRIDGE_LOG_FORMAT").unwrap_or("pretty") {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => bail!("CASEBRIDGE_LOG_FORMAT must be `pretty` or `json`, not `{other}`"),
        };
        let cors_origins = get("CASEBRIDGE_CORS_ORIGINS")
            .map(|list| list.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
            .unwrap_or_default();

        let trusted_proxies = get("CASEBRIDGE_TRUSTED_PROXIES")
            .map(|list| {
                list.split(',')
                    .map(|ip| {
                        ip.trim().parse::<std::net::IpAddr>().map(|ip| ip.to_canonical()).map_err(|e| {
                            anyhow::anyhow!("CASEBRIDGE_TRUSTED_PROXIES: `{ip}` is not an IP address: {e}")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let development = match (get("CASEBRIDGE_JWT_SIGNING_KEY"), get("CASEBRIDGE_MASTER_KEYS")) {
            (Some(_), Some(_)) => None,
            _ if environment == Environment::Production => bail!(
                "CASEBRIDGE_JWT_SIGNING_KEY and CASEBRIDGE_MASTER_KEYS are required in production mode \
                 (generate keys with `casebridge generate-key`)"
            ),
            _ => Some(development_secrets(&data_dir)?),
        };
        let signing_key = match (get("CASEBRIDGE_JWT_SIGNING_KEY"), &development) {
            (Some(encoded), _) => decode_key("CASEBRIDGE_JWT_SIGNING_KEY", encoded)?,
            (None, Some(secrets)) => decode_key(DEV_SECRETS_FILE, &secrets.jwt_signing_key)?,
            (None, None) => bail!("CASEBRIDGE_JWT_SIGNING_KEY is missing"),
        };
        let master_keys = match (get("CASEBRIDGE_MASTER_KEYS"), &development) {
            (Some(list), _) => parse_master_keys(list)?,
            (None, Some(DevelopmentSecrets { master_key: Some(key), .. })) => {
                vec![("development".to_owned(), SecretBox::new(Box::new(decode_key(DEV_SECRETS_FILE, key)?)))]
            }
            _ => bail!("CASEBRIDGE_MASTER_KEYS is missing"),
        };
        let development_secrets = development.map(|_| data_dir.join(DEV_SECRETS_FILE));
        let previous_public_keys = get("CASEBRIDGE_JWT_PREVIOUS_PUBLIC_KEYS")
            .map(|list| {
                list.split(',')
                    .map(|k| decode_key("CASEBRIDGE_JWT_PREVIOUS_PUBLIC_KEYS", k.trim()))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let access_ttl = seconds(get, "CASEBRIDGE_ACCESS_TOKEN_TTL_SECONDS", 600)?;
        if access_ttl > Duration::from_secs(900) || access_ttl.is_zero() {
            bail!("CASEBRIDGE_ACCESS_TOKEN_TTL_SECONDS must be between 1 and 900");
        }

        Ok(Self {
            environment,
            database_url,
            bind,
            log_filter: get("CASEBRIDGE_LOG").unwrap_or("info").to_owned(),
            log_format,
            cors_origins,
            trusted_proxies,
            metrics_token: get("CASEBRIDGE_METRICS_TOKEN").map(|token| SecretString::from(token.to_owned())),
            workers: parse(get, "CASEBRIDGE_WORKERS", "0")?,
            db_pool_size: parse(get, "CASEBRIDGE_DB_POOL_SIZE", "10")?,
            db_timeout: seconds(get, "CASEBRIDGE_DB_TIMEOUT_SECONDS", 3)?,
            tokens: TokenConfig {
                signing_key: SecretBox::new(Box::new(signing_key)),
                previous_public_keys,
                issuer: get("CASEBRIDGE_JWT_ISSUER").unwrap_or("casebridge").to_owned(),
                audience: get("CASEBRIDGE_JWT_AUDIENCE").unwrap_or("casebridge-api").to_owned(),
                access_ttl,
                refresh_ttl: seconds(get, "CASEBRIDGE_REFRESH_TOKEN_TTL_SECONDS", 14 * 24 * 3600)?,
                session_ttl: seconds(get, "CASEBRIDGE_SESSION_TTL_SECONDS", 30 * 24 * 3600)?,
            },
            master_keys,
            login_throttle: LoginThrottle {
                window: seconds(get, "CASEBRIDGE_LOGIN_THROTTLE_WINDOW_SECONDS", 900)?,
                max_per_account: parse(get, "CASEBRIDGE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "10")?,
                max_per_ip: parse(get, "CASEBRIDGE_LOGIN_MAX_FAILURES_PER_IP", "50")?,
            },
            audit_seal_interval: Duration::from_millis(parse(get, "CASEBRIDGE_AUDIT_SEAL_INTERVAL_MS", "1000")?),
            idempotency_purge_interval: positive(seconds(get, "CASEBRIDGE_IDEMPOTENCY_PURGE_INTERVAL_SECONDS", 600)?)
                .context("CASEBRIDGE_IDEMPOTENCY_PURGE_INTERVAL_SECONDS")?,
            referral_working_days: (
                parse(get, "CASEBRIDGE_REFERRAL_URGENT_WORKING_DAYS", "2")?,
                parse(get, "CASEBRIDGE_REFERRAL_ROUTINE_WORKING_DAYS", "10")?,
            ),
            documents: crate::documents::DocumentConfig::from_vars(vars, data_dir.clone())?,
            notifications: crate::notifications::NotificationConfig::from_vars(vars)?,
            data_dir,
            development_secrets,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

fn parse<'a, T>(get: impl Fn(&str) -> Option<&'a str>, name: &str, default: &str) -> anyhow::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw = get(name).unwrap_or(default);
    raw.parse().map_err(|e| anyhow::anyhow!("{name}: `{raw}` is not valid: {e}"))
}

fn seconds<'a>(get: impl Fn(&str) -> Option<&'a str>, name: &str, default: u64) -> anyhow::Result<Duration> {
    parse::<u64>(get, name, &default.to_string()).map(Duration::from_secs)
}

/// A period of periodic work: zero would make it spin.
fn positive(period: Duration) -> anyhow::Result<Duration> {
    anyhow::ensure!(!period.is_zero(), "must be greater than zero");
    Ok(period)
}

fn decode_key(name: &str, encoded: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = BASE64.decode(encoded).with_context(|| format!("{name}: not valid base64"))?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("{name}: a key must be 32 bytes (44 characters of base64)"))
}

/// A fresh random 32-byte key, base64-encoded, as `casebridge generate-key` prints it.
pub fn generate_key() -> anyhow::Result<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(BASE64.encode(key))
}

/// `id:base64key` pairs, comma-separated, oldest first.
fn parse_master_keys(list: &str) -> anyhow::Result<Vec<(String, SecretBox<[u8; 32]>)>> {
    let mut keys = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, key) = entry
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("CASEBRIDGE_MASTER_KEYS: each entry is `id:base64key`"))?;
        let id = id.trim();
        if id.is_empty() || id.len() > 40 || keys.iter().any(|(known, _)| known == id) {
            bail!("CASEBRIDGE_MASTER_KEYS: key ids must be unique and 1–40 characters");
        }
        keys.push((id.to_owned(), SecretBox::new(Box::new(decode_key("CASEBRIDGE_MASTER_KEYS", key.trim())?))));
    }
    if keys.is_empty() {
        bail!("CASEBRIDGE_MASTER_KEYS names no key");
    }
    Ok(keys)
}

/// The development secrets, generated (or completed) and kept in the data folder.
fn development_secrets(data_dir: &Path) -> anyhow::Result<DevelopmentSecrets> {
    let path = data_dir.join(DEV_SECRETS_FILE);
    let (mut secrets, changed) = match std::fs::read_to_string(&path) {
        Ok(text) => (
            serde_json::from_str::<DevelopmentSecrets>(&text)
                .with_context(|| format!("{} is not valid", path.display()))?,
            false,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (DevelopmentSecrets { jwt_signing_key: generate_key()?, master_key: None }, true)
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let changed = changed || secrets.master_key.is_none();
    if secrets.master_key.is_none() {
        secrets.master_key = Some(generate_key()?);
    }
    if changed {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        write_private_file(&path, &serde_json::to_string_pretty(&secrets)?)?;
    }
    Ok(secrets)
}

fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn production_secrets() -> Vec<(&'static str, String)> {
        let key = BASE64.encode([7u8; 32]);
        vec![("CASEBRIDGE_JWT_SIGNING_KEY", key.clone()), ("CASEBRIDGE_MASTER_KEYS", format!("k1:{key}"))]
    }

    #[test]
    fn development_mode_is_refused_beyond_loopback() {
        for bind in ["0.0.0.0:8080", "192.0.2.10:8080", "[::]:8080"] {
            let unset = Config::from_vars(&vars(&[("CASEBRIDGE_BIND", bind)])).err().map(|e| e.to_string());
            assert!(unset.as_deref().is_some_and(|e| e.contains("CASEBRIDGE_ENV is not set")), "{bind}: {unset:?}");
            let explicit = Config::from_vars(&vars(&[("CASEBRIDGE_BIND", bind), ("CASEBRIDGE_ENV", "development")]));
            assert!(explicit.is_err(), "{bind}");
        }
    }

    #[test]
    fn development_mode_serves_on_loopback_and_production_anywhere() {
        let data = tempfile::tempdir().unwrap();
        let data_dir = data.path().to_string_lossy().into_owned();
        for bind in ["127.0.0.1:8080", "[::1]:8080"] {
            let config = Config::from_vars(&vars(&[("CASEBRIDGE_BIND", bind), ("CASEBRIDGE_DATA_DIR", &data_dir)]));
            assert!(config.is_ok_and(|c| !c.is_production()), "{bind}");
        }
        let mut production: HashMap<String, String> =
            production_secrets().into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        production.insert("CASEBRIDGE_ENV".to_owned(), "production".to_owned());
        production.insert("CASEBRIDGE_BIND".to_owned(), "0.0.0.0:8080".to_owned());
        assert!(Config::from_vars(&production).is_ok_and(|c| c.is_production() && c.metrics_token.is_none()));
        production.insert("CASEBRIDGE_METRICS_TOKEN".to_owned(), " scrape-me ".to_owned());
        let token = Config::from_vars(&production).unwrap().metrics_token.unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "scrape-me");
    }
}
