//! The frequencies and quorums in force, versioned by year (`meeting_rule`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{self, MeetingKind, Period, Quorum, Rule};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;

#[derive(sqlx::FromRow)]
pub(super) struct RuleRow {
    kind: String,
    from_year: i64,
    period: String,
    times: i64,
    quorum: String,
}

pub async fn load_rules(state: &AppState) -> AppResult<Vec<Rule>> {
    let rows: Vec<RuleRow> = sqlx::query_as(
        "select kind, from_year, period, times, quorum from meeting_rule order by kind, from_year",
    )
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Rule {
                kind: MeetingKind::parse(&r.kind)?,
                from_year: i32::try_from(r.from_year).ok()?,
                period: Period::parse(&r.period)?,
                times: r.times,
                quorum: Quorum::parse(&r.quorum)?,
            })
        })
        .collect())
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct RuleInput {
    #[schema(schema_with = crate::orglife::schema::meeting_kind)]
    pub kind: String,
    /// The first year the rule applies to.
    pub from_year: i64,
    /// month | quarter | year
    #[schema(schema_with = crate::orglife::schema::period)]
    pub period: String,
    pub times: i64,
    /// none | half_of_full_members | half_of_committee
    #[schema(schema_with = crate::orglife::schema::quorum)]
    pub quorum: String,
}

/// Sets the rule of a kind from a year on (the committee only). Earlier years keep theirs.
pub async fn set_rule(state: &AppState, user: &CurrentUser, input: RuleInput) -> AppResult<()> {
    user.require(user.is_committee())?;
    let mut errors = FieldErrors::new();
    let kind = MeetingKind::parse(&input.kind);
    if kind.is_none() {
        errors.insert("kind".into(), "请选择会议类型".into());
    }
    if !(2000..=2100).contains(&input.from_year) {
        errors.insert("from_year".into(), "起始年份应在2000至2100之间".into());
    }
    let period = Period::parse(&input.period);
    if period.is_none() {
        errors.insert("period".into(), "频次只能是每月、每季度或每年".into());
    }
    if !(1..=31).contains(&input.times) {
        errors.insert("times".into(), "每期次数应在1至31之间".into());
    }
    let quorum = Quorum::parse(&input.quorum);
    if quorum.is_none() {
        errors.insert("quorum".into(), "请选择到会要求".into());
    }
    let (Some(kind), Some(period), Some(quorum)) = (kind, period, quorum) else {
        return Err(AppError::fields(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let before = load_rules(state).await?;
    let old = rules::rule_for(&before, kind, input.from_year as i32).cloned();
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from meeting_rule where kind = $1 and from_year = $2")
        .bind(kind.as_str())
        .bind(input.from_year)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    sqlx::query(
        "insert into meeting_rule (kind, from_year, period, times, quorum, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(kind.as_str())
    .bind(input.from_year)
    .bind(period.as_str())
    .bind(input.times)
    .bind(quorum.as_str())
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await
    .map_err(anyhow::Error::from)?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "meeting_rule.set",
            "meeting_rule",
            format!("{}:{}", kind.as_str(), input.from_year),
            format!(
                "{}自{}年起：{}{}次，到会要求{}",
                kind.label(),
                input.from_year,
                period.label(),
                input.times,
                quorum.label()
            ),
        )
        .before(&old)
        .after(&input),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- the year at a glance, and compliance ----
