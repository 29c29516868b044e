//! The notification centre and the daily scheduler that fills it.
//!
//! A notification is keyed by (user, cause, stage): a reminder pass may run any number of
//! times and each user still hears of a cause at a stage once. The daily pass claims its
//! day in `job_run`, so several instances sharing PostgreSQL run it once between them.

pub mod mail;
pub mod routes;

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::db::{now, Sql};
use crate::error::AppResult;
use crate::state::AppState;

/// One reminder for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub user_id: i64,
    /// What it is about, e.g. `meeting:12:theme_day:2026-11-01`.
    pub cause: String,
    /// How far along, e.g. `near_end`, `6m`, `overdue:2026-11`.
    pub stage: String,
    pub title: String,
    pub body: String,
    pub href: String,
}

/// Writes the notices not yet sent; returns how many were new.
pub async fn deliver(state: &AppState, notices: &[Notice]) -> AppResult<u64> {
    let t = now();
    let mut created = 0;
    for chunk in notices.chunks(200) {
        let mut tx = state.db.begin_write().await?;
        let mut sql = Sql::new(
            "insert into notification (user_id, cause, stage, title, body, href, created_at) values ",
        );
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(n.user_id)
                .push(", ")
                .bind(n.cause.as_str())
                .push(", ")
                .bind(n.stage.as_str())
                .push(", ")
                .bind(n.title.as_str())
                .push(", ")
                .bind(n.body.as_str())
                .push(", ")
                .bind(n.href.as_str())
                .push(", ")
                .bind(t)
                .push(")");
        }
        sql.push(" on conflict (user_id, cause, stage) do nothing");
        created += sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await
            .map_err(anyhow::Error::from)?
            .rows_affected();
        tx.commit().await?;
    }
    if created > 0 {
        // The unread count rides on the cached user.
        state.auth_cache.clear();
    }
    Ok(created)
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Notification {
    pub notification_id: i64,
    pub cause: String,
    pub stage: String,
    pub title: String,
    pub body: String,
    pub href: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

pub async fn unread_count(state: &AppState, user_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from notification where user_id = $1 and read_at is null",
    )
    .bind(user_id)
    .fetch_one(&state.db.pool)
    .await?)
}

/// The caller's notifications, unread first, newest first.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    unread_only: bool,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<Notification>, i64)> {
    let filter = if unread_only {
        " and read_at is null"
    } else {
        ""
    };
    let rows = sqlx::query_as(&format!(
        "select notification_id, cause, stage, title, body, href, created_at, read_at from notification \
         where user_id = $1{filter} order by case when read_at is null then 0 else 1 end, created_at desc, notification_id desc \
         limit $2 offset $3"
    ))
    .bind(user.user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "select count(*) from notification where user_id = $1{filter}"
    ))
    .bind(user.user_id)
    .fetch_one(&state.db.pool)
    .await?;
    Ok((rows, total))
}

/// Marks one of the caller's notifications read; returns where it points, or None if it
/// is not theirs.
pub async fn mark_read(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Option<String>> {
    let href: Option<String> = sqlx::query_scalar(
        "select href from notification where notification_id = $1 and user_id = $2",
    )
    .bind(id)
    .bind(user.user_id)
    .fetch_optional(&state.db.pool)
    .await?;
    if href.is_some() {
        let mut tx = state.db.begin_write().await?;
        sqlx::query(
            "update notification set read_at = $1 where notification_id = $2 and read_at is null",
        )
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
        tx.commit().await?;
        state.auth_cache.clear();
    }
    Ok(href)
}

pub async fn mark_all_read(state: &AppState, user: &CurrentUser) -> AppResult<u64> {
    let mut tx = state.db.begin_write().await?;
    let n =
        sqlx::query("update notification set read_at = $1 where user_id = $2 and read_at is null")
            .bind(now())
            .bind(user.user_id)
            .execute(tx.conn())
            .await
            .map_err(anyhow::Error::from)?
            .rows_affected();
    tx.commit().await?;
    state.auth_cache.clear();
    Ok(n)
}

/// The caller's digest address ('' for none).
pub async fn email_of(state: &AppState, user_id: i64) -> AppResult<String> {
    Ok(
        sqlx::query_scalar("select email from app_user where user_id = $1")
            .bind(user_id)
            .fetch_one(&state.db.pool)
            .await?,
    )
}

/// Sets (or with an empty string clears) where the caller's daily digest goes.
pub async fn set_email(state: &AppState, user: &CurrentUser, email: &str) -> AppResult<()> {
    let email = email.trim();
    if !email.is_empty() && (email.len() > 100 || !mail::valid_address(email)) {
        return Err(crate::error::AppError::field(
            "email",
            "邮箱地址格式不正确，例如 zhangsan@example.gov.cn",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update app_user set email = $1, updated_at = $2 where user_id = $3")
        .bind(email)
        .bind(now())
        .bind(user.user_id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    crate::audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        crate::audit::Entry::new(
            "user.email",
            "app_user",
            user.user_id,
            if email.is_empty() {
                "取消邮件提醒".to_string()
            } else {
                "设置邮件提醒地址".to_string()
            },
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
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

/// The daily reminder pass for `today`, if no instance has run it yet today.
pub async fn daily(state: &AppState, today: time::Date) -> AppResult<Option<u64>> {
    let day = crate::org::normalize::format_date(today);
    if !claim(state, "reminders", &day).await? {
        return Ok(None);
    }
    let created = crate::orglife::reminders::run(state, today).await?;
    crate::org::establishment::snapshot(state, today).await?;
    finish(state, "reminders", &day, created).await?;
    match mail::send_digests(state).await {
        Ok(n) if n > 0 => tracing::info!(emails = n, "daily digests sent"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "daily digests failed"),
    }
    Ok(Some(created))
}

/// Runs the daily pass at start and then shortly after each Beijing midnight.
pub fn spawn_scheduler(state: AppState) {
    tokio::spawn(async move {
        loop {
            match daily(&state, crate::web::today()).await {
                Ok(Some(n)) => tracing::info!(created = n, "daily reminders sent"),
                Ok(None) => tracing::debug!("daily reminders already ran today"),
                Err(e) => tracing::error!(error = %e, "daily reminders failed"),
            }
            tokio::time::sleep(until_next_run()).await;
        }
    });
}

/// Time until 00:05 Beijing time tomorrow.
fn until_next_run() -> std::time::Duration {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let now = time::OffsetDateTime::now_utc().to_offset(offset);
    let secs_today =
        i64::from(now.hour()) * 3600 + i64::from(now.minute()) * 60 + i64::from(now.second());
    let next = 24 * 3600 + 5 * 60 - secs_today;
    std::time::Duration::from_secs(next.clamp(60, 25 * 3600) as u64)
}
