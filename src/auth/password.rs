//! Passwords: Argon2id with OWASP parameters in PHC strings, computed on threads of their own
//! that give way to request handling, with a bound on how many run at once, and strength checked
//! with zxcvbn.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, oneshot};

use crate::http::ApiError;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// How long a password computation waits for a place: a few hashes' time.
const WAIT_FOR_PLACE: Duration = Duration::from_millis(100);

/// The nice value of the threads that compute password hashes. A hash holds a core for about
/// 15 ms; at the same priority as request handling, a request woken meanwhile on that core waits
/// for the hash's time slice to end, once for each of its hand-offs between threads. At nice 10 a
/// hash gets about a tenth of a core that requests keep busy, and all of an idle one.
const HASHING_NICENESS: i32 = 10;

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
    /// One thread per place.
    threads: Arc<rayon::ThreadPool>,
    areas: Arc<WorkAreas>,
    /// Verified against when the e-mail is unknown, so that costs the same as a wrong password.
    decoy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(max_in_flight: usize) -> anyhow::Result<Self> {
        let decoy = argon2()
            .hash_password(b"decoy password that never matches")
            .map_err(|e| anyhow::anyhow!("cannot hash with Argon2: {e}"))?;
        let places = max_in_flight.max(1);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(places)
            .thread_name(|i| format!("password-{i}"))
            .start_handler(|_| crate::jobs::give_way_to_requests(HASHING_NICENESS, "password threads"))
            // The computation's caller sees it fail (its answer never comes) and answers 500.
            .panic_handler(|_| tracing::error!("a password computation panicked"))
            .build()?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(places)),
            threads: Arc::new(threads),
            areas: Arc::default(),
            decoy_hash: decoy.to_string().into(),
        })
    }

    /// Takes one of the places for a password computation, waiting at most `WAIT_FOR_PLACE`
    /// for one to free up, then answers 503. Sign-ins arriving back to back thus keep every
    /// place busy, while a flood is turned away at a bounded rate, before any database work.
    pub async fn reserve(&self) -> Result<Reservation, ApiError> {
        let queued = Queued::join(&self.areas);
        match tokio::time::timeout(WAIT_FOR_PLACE, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Reservation { _permit: permit, _queued: queued }),
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
        let (done, outcome) = oneshot::channel();
        self.threads.spawn(move || {
            let outcome = work();
            drop(reservation);
            // Nobody waits any more when the request was cancelled.
            let _ = done.send(outcome);
        });
        outcome.await.map_err(|_| ApiError::Internal(anyhow::anyhow!("password computation failed")))
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
        let areas = self.areas.clone();
        let matches = self
            .compute(reservation, move || {
                areas.with(|area| PasswordHash::new(&hash).is_ok_and(|hash| matches(area, &password, &hash)))
            })
            .await?;
        Ok(known && matches)
    }
}

/// Whether `password` gives `hash`, computed in `area`, or in an area of its own when the hash
/// asks for more memory than ours. `argon2`'s own verification would allocate a fresh area.
fn matches(area: &mut [Block], password: &SecretString, hash: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let argon2 = match (
        Algorithm::try_from(hash.algorithm.as_str()),
        hash.version.map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(hash),
    ) {
        (Ok(algorithm), Ok(version), Ok(params)) => Argon2::new(algorithm, version, params),
        _ => return false,
    };
    let password = password.expose_secret().as_bytes();
    let mut computed = vec![0; expected.len()];
    let done = if argon2.params().block_count() <= area.len() {
        argon2.hash_password_into_with_memory(password, salt, &mut computed, area)
    } else {
        argon2.hash_password_into(password, salt, &mut computed)
    };
    // `Output` compares in constant time.
    done.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == *expected)
}

/// Argon2 work areas (19 MiB each), kept between password checks while other sign-ins hold or
/// wait for a place: a fresh area costs about as much again as the hash itself in page faults,
/// as the allocator gives freed areas back to the system. With nobody else queued the area is
/// given back at once, so it costs no memory between sign-ins.
#[derive(Default)]
struct WorkAreas {
    spare: Mutex<Vec<Vec<Block>>>,
    /// Sign-ins holding or waiting for a place.
    queued: AtomicUsize,
}

impl WorkAreas {
    /// Runs `work` in a spare area or a new one, for a caller that holds a place.
    fn with<T>(&self, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut area = spare.unwrap_or_else(|| vec![Block::default(); argon2().params().block_count()]);
        let outcome = work(&mut area);
        // This sign-in counts itself until its reservation ends.
        if self.queued.load(Ordering::Acquire) > 1 {
            self.spare.lock().unwrap_or_else(PoisonError::into_inner).push(area);
        }
        outcome
    }
}

/// Counts a sign-in as queued for a place from `reserve` until its reservation ends.
struct Queued(Arc<WorkAreas>);

impl Queued {
    fn join(areas: &Arc<WorkAreas>) -> Self {
        areas.queued.fetch_add(1, Ordering::AcqRel);
        Self(areas.clone())
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if self.0.queued.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last one out gives back an area kept for a sign-in that did not come.
            self.0.spare.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}

/// A place for one password computation, given back when dropped.
pub struct Reservation {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _queued: Queued,
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
    async fn passwords_are_computed_below_the_priority_of_requests() {
        let callers = rustix::process::getpriority_process(None).unwrap();
        let passwords = Passwords::new(1).unwrap();
        let reservation = passwords.reserve().await.unwrap();
        let niceness = passwords.compute(reservation, || rustix::process::getpriority_process(None)).await;
        assert_eq!(niceness.unwrap().unwrap(), callers.max(HASHING_NICENESS));
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), callers, "the caller's is unchanged");
    }

    #[test]
    fn hashes_with_other_parameters_are_verified_too() {
        let password = SecretString::from("violet tram under Wawel 1987!");
        let mut area = vec![Block::default(); argon2().params().block_count()];
        for (memory, lanes) in [(8 * 1024, 1), (19 * 1024, 2), (32 * 1024, 1)] {
            let params = Params::new(memory, 2, lanes, None).unwrap();
            let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.expose_secret().as_bytes())
                .unwrap();
            assert!(matches(&mut area, &password, &hash), "m={memory},p={lanes}");
            assert!(!matches(&mut area, &SecretString::from("violet tram under Wawel 1988!"), &hash));
        }
    }

    #[test]
    fn a_work_area_is_kept_only_while_other_sign_ins_are_queued() {
        let areas = Arc::new(WorkAreas::default());
        let alone = Queued::join(&areas);
        areas.with(|_| ());
        assert!(areas.spare.lock().unwrap().is_empty(), "nobody else queued: given back at once");
        let next = Queued::join(&areas);
        let first = areas.with(|area| area.as_ptr());
        assert_eq!(areas.spare.lock().unwrap().len(), 1, "kept for the sign-in queued behind");
        drop(alone);
        assert_eq!(areas.with(|area| area.as_ptr()), first, "and reused by it");
        drop(next);
        assert!(areas.spare.lock().unwrap().is_empty(), "the last one out gives it back");
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
