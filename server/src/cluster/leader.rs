//! Which replica runs each background job. On PostgreSQL a job is led by the replica
//! whose lock session ([`LockSession`]) holds the job's advisory lock; every replica
//! tries for the locks it lacks every [`CHECK_EVERY`], and a leader that cannot reach
//! its session within [`CHECK_TIMEOUT`] stops leading at once and reconnects.
//!
//! Why an advisory lock and not a lease row with an expiry: a replica that dies loses
//! its locks the moment its connection closes (a killed process: at once; a vanished
//! host: after PostgreSQL's keepalives, about 11 s), with no clock compared between
//! replicas, no renewal writes, and no table. The lease row would make every hand-over
//! wait for a TTL. The price is a connection per replica that must reach PostgreSQL
//! directly (not through a transaction pooler).
//!
//! Leadership is checked when a job's tick comes ([`Leaders::turn`]), so two replicas run
//! one job at once only while a deposed leader finishes the pass it began; each job is
//! safe under that overlap (`docs/operations.md`).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::backoff::Backoff;
use crate::db::Db;
use crate::store::{LockSession, Result};

/// How often a replica tries for the locks it lacks, and checks its session.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A session that does not answer within this is taken for lost.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The jobs that run on one replica at a time. (The capacity task runs on every replica:
/// it writes nothing, and fills each replica's own gauge.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Rollouts,
    Alerts,
    UsageRetention,
    CallLogRetention,
    /// Two replicas signing the same head would write two checkpoints for one sequence.
    AuditCheckpoints,
}

impl Job {
    pub const ALL: [Job; 5] = [
        Job::Rollouts,
        Job::Alerts,
        Job::UsageRetention,
        Job::CallLogRetention,
        Job::AuditCheckpoints,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Rollouts => "rollouts",
            Job::Alerts => "alerts",
            Job::UsageRetention => "usage_retention",
            Job::CallLogRetention => "call_log_retention",
            Job::AuditCheckpoints => "audit_checkpoints",
        }
    }

    /// The job's advisory lock: "SWYD" in the high bytes, the job's number below.
    pub fn lock_key(self) -> i64 {
        0x5357_5944_0000 + self.index() as i64 + 1
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Default)]
struct JobState {
    leading: AtomicBool,
    runs: AtomicU64,
}

/// This replica's leadership of each job, and how many passes of each it ran.
pub struct Leaders {
    jobs: [JobState; Job::ALL.len()],
}

impl Default for Leaders {
    /// Leads everything: one process (SQLite), or a test.
    fn default() -> Self {
        let leaders = Leaders::none();
        for job in &leaders.jobs {
            job.leading.store(true, Ordering::Relaxed);
        }
        leaders
    }
}

impl Leaders {
    /// Leads nothing until elected (see [`Leaders::spawn_election`]).
    pub fn none() -> Self {
        Leaders {
            jobs: Default::default(),
        }
    }

    fn state(&self, job: Job) -> &JobState {
        &self.jobs[job.index()]
    }

    pub fn leading(&self, job: Job) -> bool {
        self.state(job).leading.load(Ordering::Relaxed)
    }

    /// Called when `job`'s tick comes: true (and the pass counted) when this replica
    /// leads it, so the pass should run.
    pub fn turn(&self, job: Job) -> bool {
        let state = self.state(job);
        let leading = state.leading.load(Ordering::Relaxed);
        if leading {
            state.runs.fetch_add(1, Ordering::Relaxed);
        }
        leading
    }

    /// Runs `pass` every `every` while this replica leads `job`, and at once when it takes
    /// the job over (a new leader does not wait out a long period its predecessor began).
    pub fn spawn_periodic<F, Fut>(
        self: &Arc<Self>,
        job: Job,
        every: Duration,
        mut pass: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let leaders = Arc::clone(self);
        tokio::spawn(async move {
            let mut last: Option<tokio::time::Instant> = None;
            let mut tick = tokio::time::interval(CHECK_EVERY.min(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if !leaders.leading(job) {
                    last = None;
                    continue;
                }
                if last.is_some_and(|at| at.elapsed() < every) || !leaders.turn(job) {
                    continue;
                }
                last = Some(tokio::time::Instant::now());
                pass().await;
            }
        })
    }

    fn set(&self, job: Job, leading: bool, replica: &str) {
        let was = self.state(job).leading.swap(leading, Ordering::Relaxed);
        match (was, leading) {
            (false, true) => tracing::info!(job = job.name(), replica, "leading the job"),
            (true, false) => tracing::warn!(job = job.name(), replica, "no longer leading the job"),
            _ => {}
        }
    }

    /// `switchyard_leader{job}` (1 on the replica that leads it) and
    /// `switchyard_job_runs_total{job}` (passes this replica ran).
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# TYPE switchyard_leader gauge");
        for job in Job::ALL {
            let _ = writeln!(
                out,
                "switchyard_leader{{job=\"{}\"}} {}",
                job.name(),
                u8::from(self.leading(job))
            );
        }
        let _ = writeln!(out, "# TYPE switchyard_job_runs_total counter");
        for job in Job::ALL {
            let _ = writeln!(
                out,
                "switchyard_job_runs_total{{job=\"{}\"}} {}",
                job.name(),
                self.state(job).runs.load(Ordering::Relaxed)
            );
        }
    }

    /// Tries for the locks this session lacks; pings it when it holds them all.
    async fn check(&self, session: &mut LockSession, replica: &str) -> Result<()> {
        let mut asked = false;
        for job in Job::ALL {
            if !self.leading(job) {
                asked = true;
                if session.try_lock(job.lock_key()).await? {
                    self.set(job, true, replica);
                }
            }
        }
        if !asked {
            session.ping().await?;
        }
        Ok(())
    }

    fn resign_all(&self, replica: &str) {
        for job in Job::ALL {
            self.set(job, false, replica);
        }
    }

    /// Runs the election until the process ends: a lock session, its locks tried for and
    /// checked every [`CHECK_EVERY`]; on a lost session every job is given up at once and
    /// a new session opened after a backoff.
    pub fn spawn_election(
        self: &Arc<Self>,
        db: Db,
        replica: String,
    ) -> tokio::task::JoinHandle<()> {
        let leaders = Arc::clone(self);
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            let name = format!("switchyard leader {replica}");
            loop {
                let opened = tokio::time::timeout(CHECK_TIMEOUT, LockSession::open(&db, &name));
                let mut session = match opened.await {
                    Ok(Ok(session)) => session,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "leader election: cannot open a lock session");
                        tokio::time::sleep(backoff.next_wait()).await;
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!("leader election: opening a lock session timed out");
                        tokio::time::sleep(backoff.next_wait()).await;
                        continue;
                    }
                };
                backoff.reset();
                loop {
                    let checked =
                        tokio::time::timeout(CHECK_TIMEOUT, leaders.check(&mut session, &replica))
                            .await;
                    match checked {
                        Ok(Ok(())) => tokio::time::sleep(CHECK_EVERY).await,
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "leader election: lock session lost");
                            break;
                        }
                        Err(_) => {
                            tracing::warn!("leader election: lock session did not answer");
                            break;
                        }
                    }
                }
                // Give the jobs up before anything else: PostgreSQL may release the locks
                // to another replica as soon as it sees this session gone.
                leaders.resign_all(&replica);
                drop(session);
                tokio::time::sleep(backoff.next_wait()).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_runs_and_is_counted_only_where_the_job_is_led() {
        let follower = Leaders::none();
        assert!(!follower.turn(Job::Rollouts));
        let one = Leaders::default();
        assert!(one.turn(Job::Rollouts) && one.turn(Job::Rollouts));
        let mut text = String::new();
        one.render(&mut text);
        assert!(
            text.contains("switchyard_leader{job=\"alerts\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_job_runs_total{job=\"rollouts\"} 2"),
            "{text}"
        );
        let mut text = String::new();
        follower.render(&mut text);
        assert!(
            text.contains("switchyard_leader{job=\"rollouts\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn every_job_has_its_own_lock() {
        let mut keys: Vec<i64> = Job::ALL.iter().map(|j| j.lock_key()).collect();
        keys.dedup();
        assert_eq!(keys.len(), Job::ALL.len());
        // Apart from the migrations' lock (db.rs).
        assert!(!keys.contains(&7_420_615));
    }
}
