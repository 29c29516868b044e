//! Sign-ins: opening and closing them, the current code, recording a scan, and what was
//! recorded for a target.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{self, Direction};
use super::{kind, Kind, Target};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Session {
    pub checkin_session_id: i64,
    pub kind: String,
    pub target_id: i64,
    pub direction: String,
    pub opened_by: i64,
    pub opened_at: i64,
    pub expires_at: i64,
    pub closed_at: Option<i64>,
}

impl Session {
    pub fn direction(&self) -> Direction {
        Direction::parse(&self.direction).unwrap_or(Direction::In)
    }
    pub fn is_open(&self, at: i64) -> bool {
        rules::session_open(at, self.expires_at, self.closed_at)
    }
}

/// One recorded sign-in or sign-out.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Signed {
    pub member_id: i64,
    pub name: String,
    pub direction: Direction,
    /// Unix seconds.
    pub at: i64,
}

fn kind_of(key: &str) -> AppResult<&'static Kind> {
    kind(key).ok_or(AppError::NotFound)
}

/// The code of `session` for the window `at` falls in.
pub fn code(state: &AppState, session: i64, at: i64) -> String {
    let payload = rules::payload(session, rules::window(at));
    rules::code_of(&state.keys.snapshot().seal(payload.as_bytes()))
}

/// Whether `given` is the code of `session` for a window still taken at `at`.
fn code_matches(state: &AppState, session: i64, given: &str, at: i64) -> bool {
    if !rules::code_shape_ok(given) {
        return false;
    }
    let keys = state.keys.snapshot();
    rules::accepted_windows(at).any(|w| {
        let want = rules::code_of(&keys.seal(rules::payload(session, w).as_bytes()));
        // Compared whole, not to the first difference.
        want.len() == given.len()
            && want
                .bytes()
                .zip(given.to_ascii_lowercase().bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

async fn session_row(state: &AppState, id: i64) -> AppResult<Session> {
    sqlx::query_as(
        "select checkin_session_id, kind, target_id, direction, opened_by, opened_at, expires_at, \
         closed_at from checkin_session where checkin_session_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// Opens a sign-in (or sign-out) of a target, or returns the one already open: the
/// organiser who reloads or opens it on a second screen shows the same code.
pub async fn open(
    state: &AppState,
    user: &CurrentUser,
    kind_key: &str,
    target_id: i64,
    direction: Direction,
) -> AppResult<i64> {
    let k = kind_of(kind_key)?;
    if direction == Direction::Out && !k.sign_out {
        return Err(AppError::invalid(format!("{}只需签到，没有签退", k.label)));
    }
    let target = (k.target)(state, user, target_id).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let open: Option<i64> = sqlx::query_scalar(
        "select checkin_session_id from checkin_session where kind = $1 and target_id = $2 \
         and direction = $3 and closed_at is null and expires_at > $4 \
         order by checkin_session_id desc limit 1",
    )
    .bind(k.key)
    .bind(target_id)
    .bind(direction.key())
    .bind(t)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = open {
        tx.commit().await?;
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar(
        "insert into checkin_session (kind, target_id, direction, opened_by, opened_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6) returning checkin_session_id",
    )
    .bind(k.key)
    .bind(target_id)
    .bind(direction.key())
    .bind(user.user_id)
    .bind(t)
    .bind(t + rules::SESSION_SECONDS)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "checkin.open",
            "checkin_session",
            id,
            format!("开启扫码{}：{}", direction.label(), target.title),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A sign-in as its organiser sees it: the session, its target, and who has signed.
pub struct Live {
    pub session: Session,
    pub kind: &'static Kind,
    pub target: Target,
    pub signed: Vec<Signed>,
}

impl Live {
    /// The expected who have not signed in this direction yet.
    pub fn missing(&self) -> Vec<&(i64, String)> {
        self.target
            .expected
            .iter()
            .filter(|(m, _)| !self.signed.iter().any(|s| s.member_id == *m))
            .collect()
    }
}

/// The sign-in `id` for its organiser: whoever may run the target's sign-in now.
pub async fn live(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Live> {
    let session = session_row(state, id).await?;
    let k = kind_of(&session.kind)?;
    let target = (k.target)(state, user, session.target_id).await?;
    let signed = signed(state, k.key, session.target_id)
        .await?
        .into_iter()
        .filter(|s| s.direction == session.direction())
        .collect();
    Ok(Live {
        session,
        kind: k,
        target,
        signed,
    })
}

/// Closes a sign-in before its time.
pub async fn close(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let l = live(state, user, id).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update checkin_session set closed_at = $1 where checkin_session_id = $2 and closed_at is null",
    )
    .bind(t)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict("该扫码签到已经结束".into()));
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "checkin.close",
            "checkin_session",
            id,
            format!(
                "结束扫码{}：{}（{}人）",
                l.session.direction().label(),
                l.target.title,
                l.signed.len()
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a scan came to.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Scanned {
    pub title: String,
    pub direction: Direction,
    /// When this member signed (now, or earlier when they had already).
    pub at: i64,
    /// Whether they had signed already (scanning twice changes nothing).
    pub already: bool,
}

/// A member's scan of the code `code` of sign-in `id`.
pub async fn scan(state: &AppState, user: &CurrentUser, id: i64, code: &str) -> AppResult<Scanned> {
    let t = now();
    let session = match session_row(state, id).await {
        Ok(s) => s,
        Err(AppError::NotFound) => {
            return Err(AppError::invalid(
                "二维码无效：请扫描组织者现场展示的签到二维码",
            ))
        }
        Err(e) => return Err(e),
    };
    let direction = session.direction();
    if user.member_ids().is_empty() {
        return Err(AppError::Refused(
            "只有党员可以扫码签到：您的账号没有关联党员身份".into(),
        ));
    }
    if !session.is_open(t) {
        return Err(AppError::Conflict(format!(
            "本次扫码{}已经结束，请联系组织者",
            direction.label()
        )));
    }
    if !code_matches(state, id, code.trim(), t) {
        return Err(AppError::Conflict(
            "二维码已过期：签到码每隔几秒更新一次，请扫描现场屏幕上当前的二维码".into(),
        ));
    }
    let k = kind_of(&session.kind)?;
    let admitted = (k.admit)(state, user, session.target_id, direction).await?;
    let member_id = admitted.member_id;
    let target = session.target_id;
    let mut tx = state.db.begin_write().await?;
    let earlier: Option<i64> = sqlx::query_scalar(
        "select at from checkin where kind = $1 and target_id = $2 and direction = $3 and member_id = $4",
    )
    .bind(k.key)
    .bind(target)
    .bind(direction.key())
    .bind(member_id)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(at) = earlier {
        tx.commit().await?;
        return Ok(Scanned {
            title: admitted.title.clone(),
            direction,
            at,
            already: true,
        });
    }
    if direction == Direction::Out {
        let signed_in: Option<i64> = sqlx::query_scalar(
            "select at from checkin where kind = $1 and target_id = $2 and direction = 'in' and member_id = $3",
        )
        .bind(k.key)
        .bind(target)
        .bind(member_id)
        .fetch_optional(tx.conn())
        .await?;
        if signed_in.is_none() {
            return Err(AppError::Conflict(
                "您还没有签到，不能签退：请先在活动开始时扫码签到，或请组织者核实".into(),
            ));
        }
    }
    sqlx::query(
        "insert into checkin (kind, target_id, member_id, direction, checkin_session_id, user_id, at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(k.key)
    .bind(target)
    .bind(member_id)
    .bind(direction.key())
    .bind(id)
    .bind(user.user_id)
    .bind(t)
    .execute(tx.conn())
    .await?;
    if let Some(recorded) = k.recorded {
        recorded(tx.conn(), target, member_id, direction, t).await?;
    }
    tx.commit().await?;
    Ok(Scanned {
        title: admitted.title,
        direction,
        at: t,
        already: false,
    })
}

/// Every sign-in and sign-out recorded for a target, in the order they came.
pub async fn signed(state: &AppState, kind: &str, target_id: i64) -> AppResult<Vec<Signed>> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "select c.member_id, m.name, c.direction, c.at from checkin c \
         join member m on m.member_id = c.member_id \
         where c.kind = $1 and c.target_id = $2 order by c.at, c.member_id",
    )
    .bind(kind)
    .bind(target_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member_id, name, d, at)| {
            Direction::parse(&d).map(|direction| Signed {
                member_id,
                name,
                direction,
                at,
            })
        })
        .collect())
}

/// Each member's sign-in and sign-out times for a target: what a feature pre-fills from.
pub async fn times(
    state: &AppState,
    kind: &str,
    target_id: i64,
) -> AppResult<BTreeMap<i64, (Option<i64>, Option<i64>)>> {
    let mut out: BTreeMap<i64, (Option<i64>, Option<i64>)> = BTreeMap::new();
    for s in signed(state, kind, target_id).await? {
        let e = out.entry(s.member_id).or_default();
        match s.direction {
            Direction::In => e.0 = Some(s.at),
            Direction::Out => e.1 = Some(s.at),
        }
    }
    Ok(out)
}
