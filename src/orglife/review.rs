//! The review of a record: submit, accept, return, and the trail of each step.

use serde::Serialize;
use utoipa::ToSchema;

use super::may_write;
use super::meetings::*;
use super::rules::MeetingStatus;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::text::clean_prose;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ReviewStep {
    /// submit | accept | return | reopen
    pub action: String,
    pub comment: String,
    pub actor_name: String,
    pub at: i64,
}

impl ReviewStep {
    pub fn action_label(&self) -> &'static str {
        match self.action.as_str() {
            "submit" => "提交审核",
            "accept" => "审核通过",
            "return" => "退回修改",
            "reopen" => "通过后修改，重新提交",
            _ => "其他",
        }
    }
}

pub async fn review_trail(state: &AppState, meeting_id: i64) -> AppResult<Vec<ReviewStep>> {
    Ok(sqlx::query_as(
        "select action, comment, actor_name, at from meeting_review where meeting_id = $1 \
         order by meeting_review_id",
    )
    .bind(meeting_id)
    .fetch_all(&state.db.pool)
    .await?)
}

/// Who put the record up for review last (its submit, or an edit that reopened it).
pub async fn submitted_by(state: &AppState, meeting_id: i64) -> AppResult<Option<i64>> {
    let who: Option<Option<i64>> = sqlx::query_scalar(
        "select actor_user_id from meeting_review where meeting_id = $1 and action in ('submit', 'reopen') \
         order by meeting_review_id desc limit 1",
    )
    .bind(meeting_id)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(who.flatten())
}

/// The reviewer is not the submitter: whoever put the record up for review may not accept
/// or return it (another admin of the unit, or the committee, does).
pub const OWN_SUBMISSION: &str =
    "这条记录由您提交审核，不能再由您审核；请由本单位另一位管理员或市直机关工委审核";

pub(super) async fn log_step(
    conn: &mut sqlx::AnyConnection,
    meeting_id: i64,
    action: &str,
    comment: &str,
    user: &CurrentUser,
) -> AppResult<()> {
    sqlx::query(
        "insert into meeting_review (meeting_id, action, comment, actor_user_id, actor_name, at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(meeting_id)
    .bind(action)
    .bind(comment)
    .bind(user.user_id)
    .bind(user.display_name.clone())
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(anyhow::Error::from)?;
    Ok(())
}

/// The review steps: submit (editors), accept and return (reviewers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Submit,
    Accept,
    Return,
}

pub async fn step(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    step: Step,
    comment: &str,
) -> AppResult<()> {
    let m = get(state, user, id).await?;
    let comment = clean_prose(comment);
    use MeetingStatus::*;
    let (from, to, action): (&[MeetingStatus], MeetingStatus, &str) = match step {
        Step::Submit => {
            user.require(may_write(user))?;
            (&[Draft, Returned], Submitted, "submit")
        }
        Step::Accept => {
            user.require(may_review_meeting(user, &m))?;
            (&[Submitted], Accepted, "accept")
        }
        Step::Return => {
            user.require(may_review_meeting(user, &m))?;
            if comment.is_empty() {
                return Err(AppError::field(
                    "comment",
                    "请填写退回理由，告诉支部要改什么",
                ));
            }
            (&[Submitted], Returned, "return")
        }
    };
    if comment.chars().count() > 500 {
        return Err(AppError::field("comment", "意见不超过500字"));
    }
    if step != Step::Submit && submitted_by(state, id).await? == Some(user.user_id) {
        return Err(AppError::Conflict(OWN_SUBMISSION.into()));
    }
    if !from.contains(&m.status) {
        return Err(AppError::Conflict(format!(
            "该记录当前为“{}”，不能{}",
            m.status_label(),
            match step {
                Step::Submit => "提交",
                Step::Accept => "通过",
                Step::Return => "退回",
            }
        )));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    // The status guard in the WHERE makes a double click a no-op, not a second step.
    let mut sql = Sql::new("update meeting set status = ");
    sql.bind(to.as_str()).push(", updated_at = ").bind(t);
    match step {
        Step::Submit => {
            sql.push(", submitted_at = ").bind(t);
        }
        Step::Accept | Step::Return => {
            sql.push(", reviewed_at = ")
                .bind(t)
                .push(", reviewed_by = ")
                .bind(user.user_id)
                .push(", review_comment = ")
                .bind(comment.clone());
        }
    }
    sql.push(" where meeting_id = ")
        .bind(id)
        .push(" and status = ")
        .bind(m.status.as_str());
    let done = sqlx::query_with(&sql.text, sql.arguments())
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?
        .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict(
            "该记录刚被他人处理，请刷新后再看".into(),
        ));
    }
    log_step(tx.conn(), id, action, &comment, user).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            match step {
                Step::Submit => "meeting.submit",
                Step::Accept => "meeting.accept",
                Step::Return => "meeting.return",
            },
            "meeting",
            id,
            format!(
                "{}：{}（{}）{}",
                m.kind_label(),
                m.topic,
                m.held_on,
                if comment.is_empty() {
                    String::new()
                } else {
                    format!("，意见：{comment}")
                }
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    if step == Step::Return {
        // The record is returned whatever happens to the notice: a failure is logged.
        if let Err(e) = notify_returned(state, &m, &comment, user.user_id).await {
            tracing::warn!(meeting_id = id, error = %e, "return notice not delivered");
        }
    }
    Ok(())
}

/// Tells the branch's admins (and whoever submitted the record) that it was returned and
/// why, in the notification centre; each return is a notice of its own.
async fn notify_returned(
    state: &AppState,
    m: &Meeting,
    comment: &str,
    reviewer: i64,
) -> AppResult<u64> {
    let mut users: Vec<i64> = sqlx::query_scalar(
        "select g.user_id from role_grant g join app_user u on u.user_id = g.user_id \
         where u.disabled = 0 and g.role = 'branch' and g.org_id = $1",
    )
    .bind(m.branch_id)
    .fetch_all(&state.db.pool)
    .await?;
    if let Some(s) = submitted_by(state, m.meeting_id).await? {
        users.push(s);
    }
    users.sort_unstable();
    users.dedup();
    users.retain(|u| *u != reviewer);
    // The n-th return of the record is a stage of its own (two returns may share a second).
    let returns: i64 = sqlx::query_scalar(
        "select count(*) from meeting_review where meeting_id = $1 and action = 'return'",
    )
    .bind(m.meeting_id)
    .fetch_one(&state.db.pool)
    .await?;
    let stage = format!("returned:{returns}");
    let notices: Vec<crate::notify::Notice> = users
        .into_iter()
        .map(|user_id| crate::notify::Notice {
            user_id,
            cause: format!("meeting:{}:review", m.meeting_id),
            stage: stage.clone(),
            title: format!("已退回：{}{}", m.branch_name, m.kind_label()),
            body: format!("{}「{}」被退回修改，理由：{comment}", m.held_on, m.topic),
            href: format!("/orglife/meetings/{}/edit", m.meeting_id),
        })
        .collect();
    crate::notify::deliver(state, &notices).await
}

// ---- rules as data ----
