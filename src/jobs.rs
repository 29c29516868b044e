//! Work the server does by itself each day, and the ledger (`job_run`) that makes each
//! job run once a day however many instances share the database.
//!
//! Features register two kinds of work in their `register` (see `app::features`):
//! - **steps of the daily pass** (job `reminders`, from 00:05 Beijing time): reminders,
//!   snapshots of figures, the email digest — run in registration order under one claim;
//! - **scheduled jobs** with a time of day of their own (the backup, the audit archive),
//!   each claiming its own day.
//!
//! The scheduler runs at start whatever is due and not yet done today, then sleeps until
//! the next job's time. A failed job gives its claim back and is tried again an hour
//! later, a few times a day at most.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use time::{Date, OffsetDateTime};

use crate::clock::now;
use crate::config::Config;
use crate::error::AppResult;
use crate::state::AppState;

/// The daily pass's job name in `job_run`.
pub const DAILY_PASS: &str = "reminders";
/// When the daily pass runs, Beijing time.
const DAILY_PASS_AT: (u8, u8) = (0, 5);
/// Tries a day, counting the first.
const MAX_ATTEMPTS: u32 = 3;

pub type StepFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<u64>> + Send + 'a>>;
/// A step's work for the day of `now`; returns how many things it made.
pub type StepFn = for<'a> fn(&'a AppState, OffsetDateTime) -> StepFuture<'a>;

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Option<u64>>> + Send + 'a>>;
/// A job for the day of `now` unless an instance already ran it (`None`): it claims its
/// day itself, through `once`, so it can also be called directly.
pub type JobFn = for<'a> fn(&'a AppState, OffsetDateTime) -> JobFuture<'a>;

/// A step of the daily pass.
pub struct Step {
    pub name: &'static str,
    pub run: StepFn,
}

/// A job with a time of day of its own.
pub struct Job {
    /// Its name in `job_run`.
    pub name: &'static str,
    /// The Beijing time of day from which it runs; `None` when the configuration turns it off.
    pub at: fn(&Config) -> Option<(u8, u8)>,
    pub run: JobFn,
}

/// Everything registered (`feature::install`).
#[derive(Default)]
pub struct Jobs {
    pub steps: Vec<&'static Step>,
    pub jobs: Vec<&'static Job>,
}

static REGISTERED: std::sync::OnceLock<Jobs> = std::sync::OnceLock::new();

/// Sets the registered work, once at start (every app of the process has the same).
pub fn install(jobs: Jobs) {
    let _ = REGISTERED.set(jobs);
}

fn registered() -> &'static Jobs {
    static NONE: Jobs = Jobs {
        steps: Vec::new(),
        jobs: Vec::new(),
    };
    REGISTERED.get().unwrap_or(&NONE)
}

/// Claims `job` for `day`: true for exactly one caller, however many instances try.
pub async fn claim(state: &AppState, job: &str, day: &str) -> AppResult<bool> {
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "insert into job_run (job, day, started_at) values ($1, $2, $3) on conflict (job, day) do nothing",
    )
    .bind(job)
    .bind(day)
    .bind(now())
    .execute(tx.conn())
    .await
    .map_err(anyhow::Error::from)?
    .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

/// Marks `job` for `day` finished, with how many things it made.
pub async fn finish(state: &AppState, job: &str, day: &str, created: u64) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update job_run set finished_at = $1, created = $2 where job = $3 and day = $4")
        .bind(now())
        .bind(created as i64)
        .bind(job)
        .bind(day)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.commit().await?;
    Ok(())
}

/// Gives up an unfinished claim so the job can be tried again the same day.
pub async fn release(state: &AppState, job: &str, day: &str) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from job_run where job = $1 and day = $2 and finished_at is null")
        .bind(job)
        .bind(day)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.commit().await?;
    Ok(())
}

/// Runs `work` as `job` for `day` unless an instance already has: `None` then. A failure
/// gives the claim back. `count` says how many things the result made, for the ledger.
pub async fn once<T, Fut>(
    state: &AppState,
    job: &str,
    day: Date,
    work: impl FnOnce() -> Fut,
    count: impl FnOnce(&T) -> u64,
) -> anyhow::Result<Option<T>>
where
    Fut: Future<Output = anyhow::Result<T>>,
{
    let day = crate::text::format_date(day);
    if !claim(state, job, &day).await? {
        return Ok(None);
    }
    match work().await {
        Ok(v) => {
            finish(state, job, &day, count(&v)).await?;
            Ok(Some(v))
        }
        Err(e) => {
            if let Err(r) = release(state, job, &day).await {
                tracing::warn!(job, error = %r, "could not release the claim");
            }
            Err(e)
        }
    }
}

/// The daily pass for the day of `now` — every registered step in order — unless an
/// instance already ran it that day.
pub async fn daily_pass(state: &AppState, now: OffsetDateTime) -> anyhow::Result<Option<u64>> {
    let jobs = registered();
    once(
        state,
        DAILY_PASS,
        now.date(),
        || async {
            let mut made = 0;
            for step in jobs.steps.iter() {
                let n = (step.run)(state, now).await?;
                tracing::debug!(step = step.name, made = n, "daily step done");
                made += n;
            }
            Ok(made)
        },
        |n| *n,
    )
    .await
}

/// The daily pass for `day`, as if run at noon that day (tests and the command line).
pub async fn daily_pass_on(state: &AppState, day: Date) -> anyhow::Result<Option<u64>> {
    let noon = day
        .with_hms(12, 0, 0)
        .map_err(anyhow::Error::from)?
        .assume_offset(crate::clock::beijing());
    daily_pass(state, noon).await
}

/// Starts the scheduler in the background.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        // Failures per job: the day they were on and how many.
        let mut failed: HashMap<&'static str, (Date, u32)> = HashMap::new();
        loop {
            let now = crate::clock::beijing_now();
            let jobs = registered();
            let due = |at: (u8, u8)| (now.hour(), now.minute()) >= at;
            let mut wait = crate::clock::until_next(now, DAILY_PASS_AT.0, DAILY_PASS_AT.1);
            let mut outcome = Vec::new();
            if due(DAILY_PASS_AT) {
                outcome.push((DAILY_PASS, daily_pass(&state, now).await));
            }
            for job in jobs.jobs.iter() {
                let Some(at) = (job.at)(&state.config) else {
                    continue;
                };
                wait = wait.min(crate::clock::until_next(now, at.0, at.1));
                if due(at) {
                    outcome.push((job.name, (job.run)(&state, now).await));
                }
            }
            for (name, r) in outcome {
                match r {
                    Ok(Some(n)) => tracing::info!(job = name, made = n, "daily job done"),
                    Ok(None) => tracing::debug!(job = name, "daily job already ran today"),
                    Err(e) => {
                        tracing::error!(job = name, error = %format!("{e:#}"), "daily job failed");
                        let f = failed.entry(name).or_insert((now.date(), 0));
                        if f.0 != now.date() {
                            *f = (now.date(), 0);
                        }
                        f.1 += 1;
                        if f.1 < MAX_ATTEMPTS {
                            wait = wait.min(Duration::from_secs(3600));
                        }
                    }
                }
            }
            tokio::time::sleep(wait).await;
        }
    });
}
