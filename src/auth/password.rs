//! Passwords: Argon2id with OWASP parameters in PHC strings, computed on the blocking pool with
//! a bound on how many run at once, and strength checked with zxcvbn.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::http::ApiError;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// How long a password computation waits for a place: a few hashes' time.
const WAIT_FOR_PLACE: Duration = Duration::from_millis(100);

/// OWASP's Argon2id recommendation: 19 MiB of memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the calling thread (for the command line; the API uses `Passwords`).
pub fn hash_now(password: &SecretString) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.expose_secret().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Hashes and verifies passwords without letting a flood of logins pile up work: at most
/// `max_in_flight` computations run at once; beyond that callers wait briefly, then get a 503.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the e-mail is unknown, so that costs the same as a wrong password.
    decoy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(max_in_flight: usize) -> anyhow::Result<Self> {
        let decoy = argon2()
            .hash_password(b"decoy password that never matches")
            .map_err(|e| anyhow::anyhow!("cannot hash with Argon2: {e}"))?;
        Ok(Self { permits: Arc::new(Semaphore::new(max_in_flight.max(1))), decoy_hash: decoy.to_string().into() })
    }

    /// Takes one of the places for a password computation, waiting at most `WAIT_FOR_PLACE`
    /// for one to free up, then answers 503. Sign-ins arriving back to back thus keep every
    /// place busy, while a flood is turned away at a bounded rate, before any database work.
    pub async fn reserve(&self) -> Result<Reservation, ApiError> {
        match tokio::time::timeout(WAIT_FOR_PLACE, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Reservation { _permit: permit }),
            _ => Err(ApiError::unavailable(
                "password_checks_busy",
                "Too many sign-ins are being checked right now; retry in a moment.",
            )),
        }
    }

    async fn compute<T: Send + 'static>(
        &self,
        reservation: Reservation,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        actix_web::web::block(move || {
            let outcome = work();
            drop(reservation);
            outcome
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password task failed: {e}")))
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: SecretString) -> Result<String, ApiError> {
        self.compute(self.reserve().await?, move || hash_now(&password)).await?.map_err(ApiError::Internal)
    }

    /// Whether `password` matches the stored hash; with no stored hash (unknown account) the
    /// decoy is checked instead and the answer is always no.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> Result<bool, ApiError> {
        self.verify_reserved(self.reserve().await?, password, stored).await
    }

    /// `verify` in a place taken earlier with `reserve`.
    pub async fn verify_reserved(
        &self,
        reservation: Reservation,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, ApiError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.to_string());
        let matches = self
            .compute(reservation, move || {
                PasswordHash::new(&hash)
                    .is_ok_and(|parsed| argon2().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(known && matches)
    }
}

/// A place for one password computation, given back when dropped.
pub struct Reservation {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// A new password must be 12–128 characters and hard to guess: zxcvbn (with its own lists of
/// common passwords, names and words) must rate it at least 3 of 4, also given the user's
/// e-mail and name, which must not make it guessable.
pub fn check_strength(password: &str, user_inputs: &[&str]) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LEN {
        return Err(format!("must be at least {MIN_LEN} characters"));
    }
    if length > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    let letters =
        |text: &str| -> String { text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect() };
    let folded = letters(password);
    let personal = user_inputs
        .iter()
        .map(|input| letters(input.split('@').next().unwrap_or(input)))
        .any(|input| input.chars().count() >= 4 && folded.contains(&input));
    if personal {
        return Err("must not contain your name or e-mail address".to_owned());
    }
    let mut inputs: Vec<&str> = user_inputs.to_vec();
    let parts: Vec<&str> = user_inputs
        .iter()
        .flat_map(|input| input.split(|c: char| !c.is_alphanumeric()))
        .filter(|part| part.chars().count() >= 3)
        .collect();
    inputs.extend(parts);
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(estimate.score()) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map(|warning| format!(": {warning}"))
            .unwrap_or_default();
        return Err(format!("is too easy to guess{hint}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_or_personal_passwords_are_refused() {
        assert!(check_strength("password1234", &[]).is_err());
        assert!(check_strength("qwertyuiop123", &[]).is_err());
        assert!(check_strength("anna.kowalska1", &["anna.kowalska@example.org", "Anna Kowalska"]).is_err());
    }

    #[test]
    fn length_bounds_hold() {
        assert!(check_strength("Xk9#vB2!", &[]).is_err());
        assert!(check_strength(&"Xk9#vB2!mQ".repeat(13), &[]).is_err());
    }

    #[test]
    fn a_long_unusual_passphrase_is_accepted() {
        assert!(check_strength("violet tram under Wawel 1987!", &[]).is_ok());
    }

    #[actix_web::test]
    async fn verify_accepts_the_right_password_only() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash(SecretString::from("violet tram under Wawel 1987!")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords.verify(SecretString::from("violet tram under Wawel 1987!"), Some(hash.clone())).await.unwrap()
        );
        assert!(!passwords.verify(SecretString::from("violet tram under Wawel 1988!"), Some(hash)).await.unwrap());
        assert!(!passwords.verify(SecretString::from("decoy password that never matches"), None).await.unwrap());
    }

    #[actix_web::test]
    async fn a_sign_in_waits_briefly_for_a_place_then_is_answered_busy() {
        let passwords = Passwords::new(1).unwrap();
        let held = passwords.reserve().await.unwrap();
        let busy = passwords.reserve().await.err().map(|e| e.problem().status);
        assert_eq!(busy, Some(503));
        let release = async {
            tokio::time::sleep(WAIT_FOR_PLACE / 4).await;
            drop(held);
        };
        let (waited, ()) = tokio::join!(passwords.reserve(), release);
        assert!(waited.is_ok(), "a place freed within the wait is taken");
    }
}
