//! The application's time. Each instance has one clock (the system's, which tests can move); a
//! request reads it once when it arrives and keeps that instant for all its work, so that every
//! "now" and "today" of one request agree — also when it straddles midnight. Background jobs read
//! it once per run in the same way.
//!
//! Access tokens keep the system clock: their lifetime is real time.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};

/// The system clock, moved by an offset that only tests change.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The current time of this instance, truncated to microseconds so that both databases
    /// return exactly what was written.
    pub fn now(&self) -> DateTime<Utc> {
        system_now() + TimeDelta::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Moves the clock so that it now reads `at` (and runs on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        let offset = (at - system_now()).num_microseconds().unwrap_or(0);
        self.offset_micros.store(offset, Ordering::Relaxed);
    }

    /// Runs `work` with this clock read once: what it asks of `now` and `today` (here or in
    /// blocking work it hands off through `db::run`) is that instant.
    pub async fn read_once<F: Future>(&self, work: F) -> F::Output {
        REQUEST_NOW.scope(self.now(), work).await
    }
}

fn system_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

tokio::task_local! {
    static REQUEST_NOW: DateTime<Utc>;
}

thread_local! {
    static BLOCKING_NOW: Cell<Option<DateTime<Utc>>> = const { Cell::new(None) };
}

/// The instant of the request (or background run) in progress; outside any (command-line tools),
/// the system clock.
pub fn now() -> DateTime<Utc> {
    BLOCKING_NOW.get().or_else(|| REQUEST_NOW.try_with(|at| *at).ok()).unwrap_or_else(system_now)
}

/// Today in Poland: calendar questions (deadlines, "today") are answered in Europe/Warsaw,
/// whatever the server's time zone.
pub fn today() -> NaiveDate {
    now().with_timezone(&chrono_tz::Europe::Warsaw).date_naive()
}

/// Wraps blocking work so that, on whichever thread runs it, it sees the instant of the request
/// that handed it off.
pub fn carried<T>(work: impl FnOnce() -> T) -> impl FnOnce() -> T {
    /// Puts back what the thread saw before, also when the work panics.
    struct Restore(Option<DateTime<Utc>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BLOCKING_NOW.set(self.0);
        }
    }
    let at = now();
    move || {
        let _restore = Restore(BLOCKING_NOW.replace(Some(at)));
        work()
    }
}

/// The same for a future handed to another runtime (the dispatcher's deliveries): it sees the
/// instant of the work that made it.
pub fn carried_future<F: Future>(work: F) -> impl Future<Output = F::Output> {
    REQUEST_NOW.scope(now(), work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_keeps_the_instant_it_arrived_at_also_in_blocking_work() {
        let clock = Clock::default();
        let midnight = DateTime::parse_from_rfc3339("2026-03-28T22:59:59.900Z").unwrap().with_timezone(&Utc);
        clock.set(midnight);
        let (during, in_blocking) = clock
            .read_once(async {
                let during = today();
                // The clock moves on past midnight in Warsaw while the request works.
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                let in_blocking = tokio::task::spawn_blocking(carried(today)).await.unwrap();
                (during, in_blocking)
            })
            .await;
        assert_eq!(during, NaiveDate::from_ymd_opt(2026, 3, 28).unwrap());
        assert_eq!(in_blocking, during, "one request answers one day");
        assert_eq!(clock.now().with_timezone(&chrono_tz::Europe::Warsaw).date_naive(), during.succ_opt().unwrap());
    }

    #[test]
    fn a_moved_clock_runs_on_from_where_it_was_set() {
        let clock = Clock::default();
        let at = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        clock.set(at);
        let read = clock.now();
        assert!(read >= at && read - at < TimeDelta::seconds(5));
    }
}
