//! Petty's background jobs and the scheduler that runs them: the behaviour analysis and
//! geofences, alarm judgement and the silence sweep, device liveness, retention, the outbox
//! (escalation and delivery), the sweep of uploads never confirmed, and the training of
//! life-log models.
//!
//! Each job is a value with a `run_once(app, now)` that tests drive directly; the
//! [`Scheduler`] runs each as a named task that wakes on its period or when this node's
//! [`App`] nudges it, stops on shutdown, and is joined. Progress lives in the database, never
//! in a job: per-device work is noted by ingest and claimed with a lease
//! (`Store::claim_work`), and jobs that are not per device take a named lease
//! (`Store::claim_job`), so on N nodes each unit of work runs once, and after a crash the lease
//! runs out and the work is done by the next run.
//!
//! Architecture invariant: jobs call the application layer and the store; they know no HTTP.
//!
//! API boundary: [`Job`], [`Scheduler`], and the jobs: [`alarms::JudgeAlarms`],
//! [`alarms::SilenceSweep`], [`analysis::Analyse`], [`liveness::Liveness`],
//! [`retention::Retention`], [`outbox::Outbox`], [`reminders::Reminders`],
//! [`files::SweepUploads`], [`life_models::LifeModels`].

pub mod alarms;
pub mod analysis;
pub mod files;
mod geofences;
pub mod life_models;
pub mod liveness;
pub mod outbox;
pub mod reminders;
pub mod retention;

use std::future::Future;
use std::time::Duration;

use petty_app::App;
use petty_store::StoreError;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One background job.
pub trait Job: Send + Sync + 'static {
    /// The task's name in logs and metrics.
    fn name(&self) -> &'static str;
    /// How often it looks for work when nothing wakes it.
    fn every(&self, app: &App) -> Duration;
    /// How long it lets work gather after being woken (zero: at once).
    fn delay(&self, _app: &App) -> Duration {
        Duration::ZERO
    }
    /// The least time between the starts of two passes, given how long the last one took.
    /// Under steady load a job woken by every commit would run a pass for each; with a pace,
    /// work gathers meanwhile and one pass takes it all. A job woken after a quiet spell runs
    /// at once (zero: no pace).
    fn pace(&self, _app: &App, _last: Duration) -> Duration {
        Duration::ZERO
    }
    /// What wakes it early on this node, if anything.
    fn wake<'a>(&self, _app: &'a App) -> Option<&'a tokio::sync::Notify> {
        None
    }
    /// Does the work due at `now`; answers how many units of work it did.
    fn run_once(&self, app: &App, now: OffsetDateTime) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Runs jobs (and other long-lived tasks, such as the MQTT subscriber) as named tasks that stop
/// when asked and are joined.
pub struct Scheduler {
    app: App,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Scheduler {
    pub fn new(app: App) -> Scheduler {
        Scheduler { app, stop: watch::Sender::new(false), tasks: Vec::new() }
    }

    /// A receiver that sees `true` once shutdown starts (for tasks that stop by themselves).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Runs `job` until shutdown.
    pub fn spawn<J: Job>(&mut self, job: J) {
        let app = self.app.clone();
        let mut stop = self.stop.subscribe();
        let name = job.name();
        let handle = tokio::spawn(async move {
            // When the last pass started, and how long it took.
            let mut last: Option<(tokio::time::Instant, Duration)> = None;
            loop {
                let every = job.every(&app);
                let woken = async {
                    match job.wake(&app) {
                        Some(wake) => wake.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(every) => {}
                    _ = woken => {
                        let delay = job.delay(&app);
                        if !delay.is_zero() {
                            tokio::select! {
                                _ = stop.changed() => break,
                                _ = tokio::time::sleep(delay) => {}
                            }
                        }
                    }
                }
                if let Some(next) = last.map(|(at, took)| at + job.pace(&app, took))
                    && next > tokio::time::Instant::now()
                {
                    tokio::select! {
                        _ = stop.changed() => break,
                        _ = tokio::time::sleep_until(next) => {}
                    }
                }
                if *stop.borrow() {
                    break;
                }
                let started = tokio::time::Instant::now();
                let pass = job.run_once(&app, app.now()).await;
                last = Some((started, started.elapsed()));
                match pass {
                    Ok(done) if done > 0 => tracing::debug!(job = name, done, "job pass"),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(job = name, error = %e, "job pass failed; its work stays noted and is tried again")
                    }
                }
            }
        });
        self.tasks.push((name, handle));
    }

    /// Runs another long-lived task under a name; it should stop when [`Scheduler::stopping`]
    /// says so.
    pub fn spawn_task(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push((name, tokio::spawn(task)));
    }

    /// Asks every task to stop and waits for each; says how each ended.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for (name, handle) in self.tasks {
            match handle.await {
                Ok(()) => tracing::info!(task = name, "stopped"),
                Err(e) if e.is_panic() => tracing::error!(task = name, "ended with a panic"),
                Err(_) => tracing::warn!(task = name, "was cancelled"),
            }
        }
    }
}

/// This process's name in named leases.
pub fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("node-{}", uuid::Uuid::new_v4().simple()))
}

/// Runs a named job's body when this node gets its lease (see `Store::claim_job`).
pub(crate) async fn with_lease<F, Fut>(
    app: &App,
    job: &str,
    every: Duration,
    now_ms: i64,
    body: F,
) -> Result<usize, StoreError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<usize, StoreError>>,
{
    let lease_ms = 5 * 60_000;
    // A little under the period, so the next tick on any node finds it due.
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).saturating_sub(500);
    if !app.store.claim_job(job, node_id(), now_ms, lease_ms, every_ms).await? {
        return Ok(0);
    }
    let result = body().await;
    app.store.finish_job(job, node_id(), now_ms).await?;
    result
}
