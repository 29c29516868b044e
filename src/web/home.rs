//! 首页: the figures and to-dos of the caller's role and scope.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::auth::{CurrentUser, Role, Scope};
use crate::db::Sql;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

pub struct Figures {
    pub units: i64,
    pub branches: i64,
    pub members: i64,
    pub probationary: i64,
    pub terms_due: i64,
    pub terms_overdue: i64,
}

#[derive(sqlx::FromRow)]
pub struct CategoryCount {
    pub category_id: i64,
    pub name: String,
    pub units: i64,
    pub members: i64,
}

#[derive(sqlx::FromRow)]
pub struct TermDue {
    pub org_id: i64,
    pub name: String,
    pub unit_name: String,
    pub term_end: String,
}

/// Counts within a scope: units, branches, active and probationary members, terms.
pub async fn figures(state: &AppState, scope: &Scope) -> AppResult<Figures> {
    let today = crate::org::normalize::format_date(web::today());
    let in6 =
        crate::org::normalize::format_date(web::today().saturating_add(time::Duration::days(183)));
    let mut m = Sql::new("select count(*) from member m where m.status = 'active' and ");
    scope.member_condition(&mut m);
    let mut p = Sql::new(
        "select count(*) from member m where m.status = 'active' and m.kind = 'probationary' and ",
    );
    scope.member_condition(&mut p);
    let mut b = Sql::new("select count(*) from org o where o.kind = 'branch' and ");
    scope.org_condition(&mut b);
    let mut due = Sql::new("select count(*) from org o where o.kind <> 'group' and o.term_end >= ");
    due.bind(today.clone())
        .push(" and o.term_end <= ")
        .bind(in6)
        .push(" and ");
    scope.org_condition(&mut due);
    let mut over = Sql::new("select count(*) from org o where o.kind <> 'group' and o.term_end < ");
    over.bind(today).push(" and ");
    scope.org_condition(&mut over);
    let mut u = Sql::new("select count(*) from unit u where ");
    scope.unit_condition(&mut u);
    let pool = &state.db.pool;
    Ok(Figures {
        units: u.fetch_scalar(pool).await?,
        branches: b.fetch_scalar(pool).await?,
        members: m.fetch_scalar(pool).await?,
        probationary: p.fetch_scalar(pool).await?,
        terms_due: due.fetch_scalar(pool).await?,
        terms_overdue: over.fetch_scalar(pool).await?,
    })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    admin: Option<AdminCard>,
    life: Option<LifeCard>,
    figures: Option<Figures>,
    categories: Vec<CategoryCount>,
    terms: Vec<TermDue>,
    is_committee: bool,
    member_id: Option<i64>,
    has_role: bool,
    communities: Vec<crate::org::communities::Community>,
}

/// 组织生活 at a glance: this year's rates in scope and the records waiting on someone.
pub struct LifeCard {
    pub year: i32,
    pub rate: String,
    pub attendance: String,
    pub submitted: i64,
    pub returned: i64,
    pub drafts: i64,
}

async fn life_card(state: &AppState, user: &CurrentUser) -> AppResult<Option<LifeCard>> {
    if !crate::orglife::store::may_read(user) {
        return Ok(None);
    }
    let year = web::today().year();
    let (_, total) = crate::orglife::store::compliance(
        state,
        user,
        year,
        "branch",
        None,
        crate::orglife::store::Months::YEAR,
    )
    .await?;
    let count = |status: &str| {
        let f = crate::orglife::store::MeetingFilter {
            status: Some(status.to_string()),
            ..Default::default()
        };
        async move { crate::orglife::store::count(state, user, &f).await }
    };
    Ok(Some(LifeCard {
        year,
        rate: total.rate_text(),
        attendance: total.attendance_text(),
        submitted: count("submitted").await?,
        returned: count("returned").await?,
        drafts: count("draft").await?,
    }))
}

/// What the three admins see first: for the system admin, whether 三员 are in place and
/// whether the first-start account should now be renamed or disabled; for the security
/// admin, locks now; for the audit admin, today's security events.
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
        Ok::<i64, crate::error::AppError>(n)
    };
    let default_admin_active: Option<i64> = if system {
        sqlx::query_scalar("select user_id from app_user where username = 'admin' and disabled = 0")
            .fetch_optional(&state.db.pool)
            .await?
    } else {
        None
    };
    let locked_now = if security {
        crate::system::security::locks(state)
            .await?
            .iter()
            .filter(|l| l.locked_until.is_some())
            .count() as i64
    } else {
        0
    };
    let day_start = {
        let t = crate::db::now();
        t - (t + 8 * 3600).rem_euclid(86_400)
    };
    let (failed_today, events_today) = if audit {
        let failed: i64 = sqlx::query_scalar(
            "select count(*) from audit_log where at >= $1 and action = 'login.failed'",
        )
        .bind(day_start)
        .fetch_one(&state.db.pool)
        .await?;
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

async fn home(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    let scope = user.scope();
    let registry = user.is_registry_admin() || user.has(Role::Branch);
    let figures = if registry {
        Some(figures(&state, &scope).await?)
    } else {
        None
    };
    let categories = if user.is_committee() {
        sqlx::query_as(
            "select c.category_id, c.name, (select count(*) from unit u where u.category_id = c.category_id) as units, \
             (select count(*) from member m join unit u on u.unit_id = m.unit_id where u.category_id = c.category_id and m.status = 'active') as members \
             from category c where c.retired = 0 order by c.sort_order",
        )
        .fetch_all(&state.db.pool)
        .await?
    } else {
        Vec::new()
    };
    let terms = if registry {
        let in6 = crate::org::normalize::format_date(
            web::today().saturating_add(time::Duration::days(183)),
        );
        let mut sql = Sql::new("select o.org_id, o.name, u.name as unit_name, o.term_end from org o join unit u on u.unit_id = o.unit_id where o.kind <> 'group' and o.term_end <= ");
        sql.bind(in6).push(" and ");
        scope.org_condition(&mut sql);
        sql.push(" order by o.term_end, o.org_id limit 10");
        sql.fetch_all(&state.db.pool).await?
    } else {
        Vec::new()
    };
    web::render(&HomePage {
        admin: admin_card(&state, &user).await?,
        life: life_card(&state, &user).await?,
        ctx: PageCtx::new(&user, "首页", "/", flash),
        figures,
        categories,
        terms,
        is_committee: user.is_committee(),
        member_id: user.member_ids().first().copied(),
        has_role: !user.grants.is_empty(),
        communities: {
            let mut sql = Sql::new(
                "select community_id, name, address, contact from community where community_id in ",
            );
            sql.bind_list(&user.community_ids()).push(" order by name");
            sql.fetch_all(&state.db.pool).await?
        },
    })
}
