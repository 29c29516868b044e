//! A member's own meetings and attendance.

use serde::Serialize;
use utoipa::ToSchema;

use super::meetings::*;
use super::rules::{self, MeetingKind};
use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct MyMeeting {
    pub meeting_id: i64,
    pub kind: String,
    pub held_on: String,
    pub topic: String,
    pub branch_name: String,
    /// present | leave | absent
    pub state: String,
    pub reason: String,
}

impl MyMeeting {
    pub fn kind_label(&self) -> &'static str {
        MeetingKind::parse(&self.kind).map_or("未知", MeetingKind::label)
    }

    pub fn state_label(&self) -> &'static str {
        attendance_label(&self.state)
    }
}

/// The accepted meetings the member was on the register of, with their attendance,
/// and the attendance rate over them.
pub async fn my_meetings(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
) -> AppResult<(Vec<MyMeeting>, Option<f64>)> {
    let members = user.member_ids();
    user.require(!members.is_empty())?;
    let mut sql = Sql::new(
        // CROSS JOIN keeps SQLite's join order: from the member's attendance (a few dozen
        // rows) to their meetings. Left to choose without statistics it scanned every
        // accepted meeting of the year (the sweep: 10 req/s for a member's page at city
        // scale). PostgreSQL treats it as the inner join it is.
        "select mt.meeting_id, mt.kind, mt.held_on, mt.topic, b.name as branch_name, a.state, a.reason \
         from meeting_attendance a cross join meeting mt join org b on b.org_id = mt.branch_id \
         where mt.meeting_id = a.meeting_id and mt.status = 'accepted' and a.member_id in ",
    );
    sql.bind_list(&members)
        .push(" and mt.held_on between ")
        .bind(format!("{year:04}-01-01"))
        .push(" and ")
        .bind(format!("{year:04}-12-31"))
        .push(" order by mt.held_on desc, mt.meeting_id desc");
    let rows: Vec<MyMeeting> = sql.fetch_all(&state.db.pool).await?;
    let present = rows.iter().filter(|r| r.state == "present").count() as i64;
    let rate = rules::rate(present, rows.len() as i64);
    Ok((rows, rate))
}

/// The year a query names, defaulting to this one.
pub fn year_or_now(y: Option<&str>) -> i32 {
    y.and_then(|v| v.trim().parse().ok())
        .filter(|v: &i32| (2000..=2100).contains(v))
        .unwrap_or_else(|| crate::clock::today().year())
}

/// Spans of a period, for templates that label columns.
pub fn month_labels() -> Vec<String> {
    (1..=12).map(|m| format!("{m}月")).collect()
}
