//! The notification centre: features deliver notices, users read them in the app and,
//! if they gave an address, in one email digest a day (the daily pass's last step).
//!
//! A notification is keyed by (user, cause, stage): a reminder pass may run any number of
//! times and each user still hears of a cause at a stage once.

pub mod mail;
pub mod routes;

/// The notification centre's part: its pages, its audit label, the digest as the daily
/// pass's last step (notify comes after the features in `app::FEATURES`).
pub const FEATURE: crate::feature::Feature = crate::feature::Feature {
    audit_labels: &[("user.email", "修改邮箱")],
    daily: &[crate::jobs::Step {
        name: "digest",
        run: digest_step,
    }],
    ..crate::feature::Feature::new("notify", routes::pages, routes::api)
};

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
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
        crate::auth::cache::clear(state);
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
        crate::auth::cache::clear(state);
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
    crate::auth::cache::clear(state);
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

/// Sets (or with an empty string clears) where the caller's daily digest goes, with the
/// current password given again: a stolen session must not send the digest elsewhere or
/// stop it.
pub async fn set_email(
    state: &AppState,
    user: &CurrentUser,
    email: &str,
    current_password: &str,
) -> AppResult<()> {
    let email = email.trim();
    if !email.is_empty() && (email.len() > 100 || !mail::valid_address(email)) {
        return Err(crate::error::AppError::field(
            "email",
            "邮箱地址格式不正确，例如 zhangsan@example.gov.cn",
        ));
    }
    crate::auth::login::check_current_password(
        state,
        user,
        current_password,
        "current_password",
        "修改提醒邮箱时当前密码错误",
    )
    .await?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update app_user set email = $1, updated_at = $2 where user_id = $3")
        .bind(email)
        .bind(now())
        .bind(user.user_id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.audit(
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

/// The daily pass's last step: one email digest per user of what is not yet mailed. A
/// failure to mail is logged, not a failure of the pass (the notices are in the app).
pub fn digest_step<'a>(
    state: &'a AppState,
    _now: time::OffsetDateTime,
) -> crate::jobs::StepFuture<'a> {
    Box::pin(async move {
        match mail::send_digests(state).await {
            Ok(n) if n > 0 => tracing::info!(emails = n, "daily digests sent"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "daily digests failed"),
        }
        Ok(0)
    })
}
