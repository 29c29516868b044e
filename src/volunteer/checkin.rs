//! 扫码签到 at a volunteer activity: the community that posted the need opens a sign-in at
//! the activity (from two hours before it starts until four hours after it ends) and later a
//! sign-out; the members who claimed it sign in and out by scanning; the times are kept on the
//! claim, and the confirmation form pre-fills each member's hours from them.

use crate::auth::CurrentUser;
use crate::checkin::{
    AdmitFuture, Admitted, Direction, Kind, RecordedFuture, Target, TargetFuture,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::volunteer::store::{self, Need};

pub const KIND: Kind = Kind {
    key: "need",
    label: "志愿服务活动",
    sign_out: true,
    target,
    admit,
    recorded: Some(recorded),
};

/// How long before the start a sign-in may open, and after the end it may still take scans.
const BEFORE: i64 = 2 * 3600;
const AFTER: i64 = 4 * 3600;

fn title(n: &Need) -> String {
    format!(
        "{} · {}（{}）",
        n.community_name,
        n.title,
        crate::clock::fmt_time(n.starts_at)
    )
}

/// Whether `at` is near enough the activity's time for a sign-in.
pub fn near(n: &Need, at: i64) -> bool {
    at >= n.starts_at - BEFORE && at <= n.ends_at + AFTER
}

fn on_the_day(n: &Need, at: i64) -> AppResult<()> {
    if n.status == "cancelled" {
        return Err(AppError::Conflict("该需求已撤销，不能扫码签到".into()));
    }
    if !near(n, at) {
        return Err(AppError::Conflict(format!(
            "只能在活动前后扫码签到：活动时间为{}（开始前2小时至结束后4小时内可用）",
            n.when()
        )));
    }
    Ok(())
}

/// Who claimed it and has not cancelled.
async fn claimants(state: &AppState, need: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "select k.member_id, m.name from volunteer_claim k join member m on m.member_id = k.member_id \
         where k.volunteer_need_id = $1 and k.status in ('claimed', 'confirmed') order by m.name, k.member_id",
    )
    .bind(need)
    .fetch_all(&state.db.pool)
    .await?)
}

fn target<'a>(state: &'a AppState, user: &'a CurrentUser, id: i64) -> TargetFuture<'a> {
    Box::pin(async move {
        let n = store::need(state, user, id).await?;
        if !user.community_ids().contains(&n.community_id) {
            return Err(AppError::Refused(
                "只有发布该需求的社区可以组织扫码签到".into(),
            ));
        }
        on_the_day(&n, crate::clock::now())?;
        Ok(Target {
            title: title(&n),
            back: format!("/volunteer/needs/{id}"),
            expected: claimants(state, id).await?,
            next: vec![(
                "确认服务时长".into(),
                format!("/volunteer/needs/{id}#confirm"),
            )],
        })
    })
}

fn admit<'a>(
    state: &'a AppState,
    user: &'a CurrentUser,
    id: i64,
    direction: Direction,
) -> AdmitFuture<'a> {
    Box::pin(async move {
        // Members read needs: the same record the need's page shows them.
        let n = store::need(state, user, id).await?;
        on_the_day(&n, crate::clock::now())?;
        let mine = user.member_ids();
        let claim = claimants(state, id)
            .await?
            .into_iter()
            .find(|(m, _)| mine.contains(m));
        match claim {
            Some((member_id, _)) => Ok(Admitted {
                member_id,
                title: title(&n),
            }),
            None => Err(AppError::Refused(format!(
                "您没有认领这项服务，不能{}：请先在需求清单中认领“{}”",
                direction.label(),
                n.title
            ))),
        }
    })
}

/// Keeps the time on the claim, where the confirmation form reads it (in the sign-in's own
/// transaction).
fn recorded(
    conn: &mut sqlx::AnyConnection,
    need: i64,
    member: i64,
    direction: Direction,
    at: i64,
) -> RecordedFuture<'_> {
    Box::pin(async move {
        let column = match direction {
            Direction::In => "signed_in_at",
            Direction::Out => "signed_out_at",
        };
        sqlx::query(&format!(
            "update volunteer_claim set {column} = $1, updated_at = $1 \
             where volunteer_need_id = $2 and member_id = $3 and {column} is null"
        ))
        .bind(at)
        .bind(need)
        .bind(member)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}
