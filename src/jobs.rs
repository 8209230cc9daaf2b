//! The background jobs of one instance (audit sealing, referral expiry, purges) under one
//! supervisor: a job that panics or ends is logged and started again after a pause that grows
//! to a minute, and `/health/ready` reports a job that is not running. The jobs end with the
//! instance.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::{AbortHandle, JoinHandle};

const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// Which jobs are running, shared with the readiness check.
#[derive(Debug, Clone, Default)]
pub struct JobStatus(Arc<Mutex<BTreeMap<&'static str, bool>>>);

impl JobStatus {
    fn set(&self, job: &'static str, running: bool) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(job, running);
    }

    /// The jobs that are not running now (between a failure and their restart).
    pub fn stopped(&self) -> Vec<&'static str> {
        let jobs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.iter().filter(|(_, running)| !**running).map(|(job, _)| *job).collect()
    }
}

/// The supervised jobs; dropping this stops them all.
#[derive(Debug, Default)]
pub struct Jobs {
    status: JobStatus,
    supervisors: Vec<JoinHandle<()>>,
}

/// Aborts a job's task when its supervisor is dropped or aborted.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Jobs {
    pub fn new(status: JobStatus) -> Self {
        Self { status, supervisors: Vec::new() }
    }

    /// Runs the job `start` makes, and makes and runs it again whenever it panics or ends.
    pub fn supervise<F, J>(&mut self, job: &'static str, start: F)
    where
        F: Fn() -> J + Send + 'static,
        J: Future<Output = ()> + Send + 'static,
    {
        self.supervise_with_pause(job, FIRST_PAUSE, start);
    }

    fn supervise_with_pause<F, J>(&mut self, job: &'static str, first_pause: Duration, start: F)
    where
        F: Fn() -> J + Send + 'static,
        J: Future<Output = ()> + Send + 'static,
    {
        let status = self.status.clone();
        status.set(job, true);
        self.supervisors.push(tokio::spawn(async move {
            let mut pause = first_pause;
            loop {
                let task = tokio::spawn(start());
                let _abort = AbortOnDrop(task.abort_handle());
                status.set(job, true);
                match task.await {
                    Err(error) if error.is_panic() => {
                        tracing::error!(job, restart_in = ?pause, "background job panicked; restarting it")
                    }
                    Err(_) => return,
                    Ok(()) => tracing::error!(job, restart_in = ?pause, "background job ended; restarting it"),
                }
                status.set(job, false);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }));
    }
}

/// Lowers the calling thread's priority to `niceness` unless it is lower already (on Linux the
/// nice value is the thread's own): for work that should give way to request handling on a busy
/// core (password hashing, webhook deliveries). Without it, `what` still works, only at the
/// priority of requests.
pub fn give_way_to_requests(niceness: i32, what: &str) {
    let lowered = rustix::process::getpriority_process(None)
        .and_then(|current| rustix::process::setpriority_process(None, current.max(niceness)));
    if let Err(error) = lowered {
        tracing::warn!(%error, "{what} keep the priority of request handling");
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for supervisor in &self.supervisors {
            supervisor.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_job_that_panics_is_reported_stopped_and_started_again() {
        let status = JobStatus::default();
        let mut jobs = Jobs::new(status.clone());
        let starts = Arc::new(AtomicUsize::new(0));
        let counted = starts.clone();
        jobs.supervise_with_pause("flaky", Duration::from_millis(200), move || {
            let start = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if start == 0 {
                    panic!("the first run fails");
                }
                std::future::pending::<()>().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(status.stopped(), ["flaky"], "down until its restart");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 2);
        assert!(status.stopped().is_empty(), "running again");
    }

    #[tokio::test]
    async fn dropping_the_jobs_stops_them() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let mut jobs = Jobs::new(JobStatus::default());
        jobs.supervise("ticker", move || {
            let counted = counted.clone();
            async move {
                loop {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(jobs);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let after_drop = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(runs.load(Ordering::SeqCst), after_drop);
    }
}
