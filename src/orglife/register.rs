//! The branch register on a date: who was a member, and a full (voting) one, on the day of
//! a meeting, transfers and conversions applied from their dates.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use super::rules::{self, Move};
use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::text::parse_date;

/// A member of a branch on a given date, as the quorum and the attendance see them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegisterMember {
    pub member_id: i64,
    pub name: String,
    /// A full (voting) member on that date.
    pub full: bool,
    pub group_id: Option<i64>,
    /// Holds a post on the branch committee.
    pub officer: bool,
}

/// A branch as the meeting rules need it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BranchFacts {
    pub org_id: i64,
    pub unit_id: i64,
    pub name: String,
    pub founded_on: Option<String>,
}

/// The branch (kind 'branch') if it is in the caller's scope, else 404.
pub async fn branch_in_scope(
    state: &AppState,
    user: &CurrentUser,
    branch_id: i64,
) -> AppResult<BranchFacts> {
    let mut sql = Sql::new(
        "select o.org_id, o.unit_id, o.name, o.founded_on from org o where o.kind = 'branch' and o.org_id = ",
    );
    sql.bind(branch_id).push(" and ");
    user.scope().org_condition(&mut sql);
    sql.fetch_all::<BranchFacts>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
pub(super) struct RegRow {
    member_id: i64,
    name: String,
    kind: String,
    converted_on: Option<String>,
    joined_on: Option<String>,
    branch_id: i64,
    group_id: Option<i64>,
    status: String,
    status_on: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct MoveRow {
    member_id: i64,
    transferred_on: String,
    from_branch_id: i64,
    to_branch_id: i64,
}

pub(super) fn date_of(s: &Option<String>) -> Option<Date> {
    s.as_deref().and_then(|v| parse_date(v).ok())
}

/// Who belonged to `branch_id` on `d`: members who had joined by then, had not yet left
/// the register (a status change applies from its date), and whose transfers put them in
/// this branch on that date.
pub async fn register_on(
    state: &AppState,
    branch_id: i64,
    d: Date,
) -> AppResult<Vec<RegisterMember>> {
    let rows: Vec<RegRow> = sqlx::query_as(
        // Two index reads joined by union: with `branch_id = $1 or member_id in (…)`
        // PostgreSQL read the whole register (22 ms a form at city scale).
        "select member_id, name, kind, converted_on, joined_on, branch_id, group_id, status, status_on, name_initials from member \
         where (status = 'active' or status_on is not null) and branch_id = $1 \
         union \
         select member_id, name, kind, converted_on, joined_on, branch_id, group_id, status, status_on, name_initials from member \
         where (status = 'active' or status_on is not null) and member_id in \
         (select member_id from member_transfer where from_branch_id = $2 \
          union select member_id from member_transfer where to_branch_id = $3) \
         order by name_initials, member_id",
    )
    .bind(branch_id)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_all(&state.db.pool)
    .await?;
    let moves: Vec<MoveRow> = sqlx::query_as(
        "select t.member_id, t.transferred_on, t.from_branch_id, t.to_branch_id from member_transfer t \
         where t.member_id in (select member_id from member where branch_id = $1) \
         union select t.member_id, t.transferred_on, t.from_branch_id, t.to_branch_id from member_transfer t \
         where t.from_branch_id = $2 \
         union select t.member_id, t.transferred_on, t.from_branch_id, t.to_branch_id from member_transfer t \
         where t.to_branch_id = $3",
    )
    .bind(branch_id)
    .bind(branch_id)
    .bind(branch_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut by_member: HashMap<i64, Vec<Move>> = HashMap::new();
    for m in moves {
        if let Ok(on) = parse_date(&m.transferred_on) {
            by_member.entry(m.member_id).or_default().push(Move {
                on,
                from_branch: m.from_branch_id,
                to_branch: m.to_branch_id,
            });
        }
    }
    let officers: HashSet<i64> =
        sqlx::query_scalar::<_, i64>("select member_id from org_officer where org_id = $1")
            .bind(branch_id)
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .collect();
    let empty = Vec::new();
    Ok(rows
        .into_iter()
        .filter(|r| date_of(&r.joined_on).is_none_or(|j| j <= d))
        .filter(|r| rules::registered_on(r.status == "active", date_of(&r.status_on), d))
        .filter(|r| {
            rules::branch_on(
                r.branch_id,
                by_member.get(&r.member_id).unwrap_or(&empty),
                d,
            ) == branch_id
        })
        .map(|r| RegisterMember {
            full: rules::full_on(r.kind == "full", date_of(&r.converted_on), d),
            officer: officers.contains(&r.member_id),
            // The current group stands for the group on that date (groups keep no history).
            group_id: if r.branch_id == branch_id {
                r.group_id
            } else {
                None
            },
            member_id: r.member_id,
            name: r.name,
        })
        .collect())
}

// ---- writing ----
