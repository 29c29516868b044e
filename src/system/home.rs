//! What the three admins see first on the home page: for the system admin, whether 三员
//! are in place and whether the first-start account should now be renamed or disabled;
//! for the security admin, locks now; for the audit admin, today's security events.

use askama::Template;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::home::{CardsFuture, HomeCard};

pub struct AdminCard {
    pub system: bool,
    pub security: bool,
    pub audit: bool,
    /// Active accounts holding each of the three roles.
    pub system_admins: i64,
    pub security_admins: i64,
    pub audit_admins: i64,
    /// The first-start account `admin` is still enabled under its well-known name.
    pub default_admin_active: Option<i64>,
    pub locked_now: i64,
    pub failed_today: i64,
    pub events_today: i64,
}

#[derive(Template)]
#[template(path = "system/home_admin.html")]
struct AdminTemplate {
    a: AdminCard,
}

pub fn cards<'a>(state: &'a AppState, user: &'a CurrentUser) -> CardsFuture<'a> {
    Box::pin(async move {
        Ok(match admin_card(state, user).await? {
            Some(a) => vec![HomeCard::render(10, true, &AdminTemplate { a })?],
            None => Vec::new(),
        })
    })
}

async fn admin_card(state: &AppState, user: &CurrentUser) -> AppResult<Option<AdminCard>> {
    let (system, security, audit) = (
        user.is_system_admin(),
        user.is_security_admin(),
        user.is_audit_admin(),
    );
    if !(system || security || audit) {
        return Ok(None);
    }
    let holders = |role: &'static str| async move {
        let n: i64 = sqlx::query_scalar(
            "select count(distinct g.user_id) from role_grant g join app_user a on a.user_id = g.user_id \
             where g.role = $1 and a.disabled = 0",
        )
        .bind(role)
        .fetch_one(&state.db.pool)
        .await?;
        Ok::<i64, AppError>(n)
    };
    let default_admin_active: Option<i64> = if system {
        sqlx::query_scalar("select user_id from app_user where username = 'admin' and disabled = 0")
            .fetch_optional(&state.db.pool)
            .await?
    } else {
        None
    };
    let locked_now = if security {
        super::security::locks(state)
            .await?
            .iter()
            .filter(|l| l.locked_until.is_some())
            .count() as i64
    } else {
        0
    };
    let day_start = crate::clock::day_start(crate::clock::now());
    let (failed_today, events_today) = if audit {
        // Repeated failures share one audit row per burst: the bursts' counts tell how many.
        let failed = crate::auth::throttle::failures_since(state, day_start).await?;
        let all: i64 = sqlx::query_scalar("select count(*) from audit_log where at >= $1")
            .bind(day_start)
            .fetch_one(&state.db.pool)
            .await?;
        (failed, all)
    } else {
        (0, 0)
    };
    Ok(Some(AdminCard {
        system,
        security,
        audit,
        system_admins: holders("system_admin").await?,
        security_admins: holders("security_admin").await?,
        audit_admins: holders("audit_admin").await?,
        default_admin_active,
        locked_now,
        failed_today,
        events_today,
    }))
}
