//! 扫码签到 at a 三会一课 meeting: the branch admin opens it on the day of a meeting whose
//! record is still open (a draft, or returned); the members expected — the branch's register
//! on that day, a group meeting's group, a committee meeting's committee — sign in by scanning;
//! the record's attendance form is then pre-filled from the sign-ins for the admin to confirm.

use std::collections::BTreeMap;

use crate::auth::CurrentUser;
use crate::checkin::{AdmitFuture, Admitted, Direction, Kind, Target, TargetFuture};
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::orglife::rules::MeetingKind;
use crate::orglife::store::{self, AttendanceInput, Meeting, MeetingInput};
use crate::state::AppState;

pub const KIND: Kind = Kind {
    key: "meeting",
    label: "会议",
    sign_out: false,
    target,
    admit,
    recorded: None,
};

fn title(m: &Meeting) -> String {
    let group = m
        .group_name
        .as_deref()
        .map(|g| format!("{g} · "))
        .unwrap_or_default();
    format!(
        "{} · {group}{}（{}）",
        m.branch_name,
        m.kind_label(),
        m.held_on
    )
}

/// Who is expected: the register on the meeting's day, as its attendance form lists it.
async fn expected(state: &AppState, m: &Meeting) -> AppResult<Vec<(i64, String)>> {
    let Ok(held) = crate::text::parse_date(&m.held_on) else {
        return Ok(Vec::new());
    };
    let kind = MeetingKind::parse(&m.kind);
    Ok(store::register_on(state, m.branch_id, held)
        .await?
        .into_iter()
        .filter(|r| match kind {
            Some(MeetingKind::GroupMeeting) => m.group_id.is_some() && r.group_id == m.group_id,
            Some(MeetingKind::CommitteeMeeting) => r.officer,
            _ => true,
        })
        .map(|r| (r.member_id, r.name))
        .collect())
}

fn open_or_refuse(m: &Meeting) -> AppResult<()> {
    if !m.status.is_open() {
        return Err(AppError::Conflict(format!(
            "该会议记录{}，不能再扫码签到",
            m.status.label()
        )));
    }
    Ok(())
}

fn target<'a>(state: &'a AppState, user: &'a CurrentUser, id: i64) -> TargetFuture<'a> {
    Box::pin(async move {
        user.require(store::may_write(user))?;
        let m = store::get(state, user, id).await?;
        open_or_refuse(&m)?;
        let today = crate::clock::today().to_string();
        if m.held_on != today {
            return Err(AppError::Conflict(format!(
                "只能在会议当天扫码签到：这条记录的会议日期是{}，今天是{today}",
                m.held_on
            )));
        }
        Ok(Target {
            title: title(&m),
            back: format!("/orglife/meetings/{id}"),
            expected: expected(state, &m).await?,
            next: vec![(
                "按签到填写出席情况".into(),
                format!("/orglife/meetings/{id}/edit?checkin=1"),
            )],
        })
    })
}

/// The meeting as the member scanning sees it: no scope of theirs reaches the record, so
/// it is read by id, and only its title leaves.
async fn meeting_by_id(state: &AppState, id: i64) -> AppResult<Meeting> {
    let mut sql = Sql::new(super::meetings::MEETING_SELECT);
    sql.push("mt.meeting_id = ").bind(id);
    sql.fetch_all::<Meeting>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

fn admit<'a>(state: &'a AppState, user: &'a CurrentUser, id: i64, _: Direction) -> AdmitFuture<'a> {
    Box::pin(async move {
        let mine = user.member_ids();
        if mine.is_empty() {
            return Err(AppError::Refused(
                "只有党员可以扫码签到：您的账号没有关联党员身份".into(),
            ));
        }
        let m = meeting_by_id(state, id).await?;
        open_or_refuse(&m)?;
        let expected = expected(state, &m).await?;
        match expected.iter().find(|(e, _)| mine.contains(e)) {
            Some((member_id, _)) => Ok(Admitted {
                member_id: *member_id,
                title: title(&m),
            }),
            None => Err(AppError::Refused(format!(
                "您不在本次会议的应到人员中，不能签到：{}的{}只由{}参加",
                m.branch_name,
                m.kind_label(),
                match MeetingKind::parse(&m.kind) {
                    Some(MeetingKind::GroupMeeting) => "本党小组党员",
                    Some(MeetingKind::CommitteeMeeting) => "支委会委员",
                    _ => "本支部党员",
                }
            ))),
        }
    })
}

/// The attendance of an open record pre-filled from its sign-ins: who signed in is present;
/// who did not is absent, unless on leave already. `None` when nobody signed in.
pub async fn prefill(
    state: &AppState,
    meeting_id: i64,
    v: &mut MeetingInput,
) -> AppResult<Option<usize>> {
    let times = crate::checkin::store::times(state, KIND.key, meeting_id).await?;
    if times.is_empty() {
        return Ok(None);
    }
    let given: BTreeMap<i64, AttendanceInput> =
        v.attendance.drain(..).map(|a| (a.member_id, a)).collect();
    let Ok(held) = crate::text::parse_date(&v.held_on) else {
        return Ok(None);
    };
    for r in store::register_on(state, v.branch_id, held).await? {
        let before = given.get(&r.member_id);
        let (st, reason) = if times.contains_key(&r.member_id) {
            ("present", String::new())
        } else if before.is_some_and(|a| a.state == "leave") {
            (
                "leave",
                before.map(|a| a.reason.clone()).unwrap_or_default(),
            )
        } else {
            ("absent", String::new())
        };
        v.attendance.push(AttendanceInput {
            member_id: r.member_id,
            state: st.into(),
            reason,
        });
    }
    Ok(Some(times.len()))
}
