//! The security admin's (安全管理员) pages: the security policy, accounts' lock and
//! second-factor state (unlock, reset a lost phone, end sessions), and the review of
//! every role grant. The security admin changes no business data and reads no audit log.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::Entry;
use crate::auth::policy::{self, Policy};
use crate::auth::throttle;
use crate::auth::{CurrentUser, Role};
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/system/security", get(policy_page).post(policy_submit))
        .route("/system/security/accounts", get(accounts_page))
        .route("/system/security/unlock", post(unlock_submit))
        .route(
            "/system/security/accounts/{id}/totp-reset",
            post(totp_reset_submit),
        )
        .route(
            "/system/security/accounts/{id}/end-sessions",
            post(end_sessions_submit),
        )
        .route("/system/security/grants", get(grants_page))
        .route("/system/security/grants/export", get(grants_export))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_policy, api_set_policy))
        .routes(routes!(api_locks))
        .routes(routes!(api_unlock))
        .routes(routes!(api_grants))
        .routes(routes!(api_totp_reset))
}

// ---- the rules ----

/// A user name with recent failed logins, locked or not.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LockRow {
    pub username: String,
    /// Failures within the lock window plus the lock time, from all addresses.
    pub failures: i64,
    pub last_failure_at: i64,
    /// When the last lock of an address out of this name ends, if one is locked now.
    pub locked_until: Option<i64>,
    /// The addresses locked out of this name now (others may still sign in).
    pub locked_addresses: Vec<String>,
    /// Until when an address the account has not signed in from lately must give the
    /// second-factor code first (failures from many addresses reached the account's ceiling).
    pub guarded_until: Option<i64>,
    /// How many addresses the failures came from.
    pub addresses: i64,
    pub last_ip: String,
}

/// An address locked out of every name (too many failures against any names).
#[derive(Clone, Debug)]
pub struct AddressLockRow {
    pub ip: String,
    pub failures: i64,
    pub locked_until: i64,
}

pub async fn locks(state: &AppState) -> AppResult<Vec<LockRow>> {
    Ok(lock_overview(state).await?.0)
}

async fn lock_overview(state: &AppState) -> AppResult<(Vec<LockRow>, Vec<AddressLockRow>)> {
    let (names, addresses) = throttle::overview(state).await?;
    let mut out: Vec<LockRow> = names
        .into_iter()
        .map(|a| LockRow {
            username: a.username,
            failures: a.failures,
            last_failure_at: a.last_failure_at,
            locked_until: a.locked_until,
            locked_addresses: a.locked_addresses,
            guarded_until: a.guarded_until,
            addresses: a.addresses,
            last_ip: a.last_ip,
        })
        .collect();
    out.sort_by(|a, b| {
        let held = |l: &LockRow| l.locked_until.is_some() || l.guarded_until.is_some();
        held(b)
            .cmp(&held(a))
            .then(b.last_failure_at.cmp(&a.last_failure_at))
    });
    let addresses = addresses
        .into_iter()
        .map(|a| AddressLockRow {
            ip: a.ip,
            failures: a.failures,
            locked_until: a.locked_until,
        })
        .collect();
    Ok((out, addresses))
}

/// Lifts a name's locks and guard (clears its failures from every address); audited.
pub async fn unlock(state: &AppState, user: &CurrentUser, username: &str) -> AppResult<()> {
    user.require(user.is_security_admin())?;
    throttle::unlock(state, &user.actor(), username).await?;
    Ok(())
}

/// Ends every session of a user and revokes their API tokens (a suspected stolen session);
/// audited. Returns how many sessions and tokens.
pub async fn end_sessions(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<(u64, u64)> {
    user.require(user.is_security_admin())?;
    let mut tx = state.db.begin_write().await?;
    let (n, tokens) = crate::auth::session::sign_out_everywhere_in(tx.conn(), id).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "session.end",
            "user",
            id,
            format!("强制结束该用户的 {n} 个会话，作废 {tokens} 个 API 令牌"),
        ),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok((n, tokens))
}

pub async fn totp_reset(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    user.require(user.is_security_admin())?;
    crate::auth::totp::clear(
        state,
        &user.actor(),
        id,
        "totp.reset",
        "安全管理员重置双因素认证（须重新绑定）",
    )
    .await
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct AccountRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub disabled: i64,
    pub password_changed_at: i64,
    pub totp_enabled_at: Option<i64>,
    pub sessions: i64,
    /// API tokens not revoked.
    pub tokens: i64,
    pub last_login_at: Option<i64>,
}

#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct AccountFilter {
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

async fn accounts(
    state: &AppState,
    f: &AccountFilter,
) -> AppResult<(Vec<AccountRow>, i64, Paging)> {
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let q = f.q.clone().unwrap_or_default();
    let filter = |sql: &mut Sql| {
        if !q.trim().is_empty() {
            sql.push(" where (");
            sql.contains(state.db.backend, "u.username", q.trim());
            sql.push(" or ");
            sql.contains(state.db.backend, "u.display_name", q.trim());
            sql.push(")");
        }
    };
    // `now` is an integer of ours, not input: formatted into the text like a constant.
    let live_tokens = format!(
        "(select count(*) from api_token t where t.user_id = u.user_id and t.revoked_at is null \
         and (t.expires_at is null or t.expires_at > {})) as tokens",
        crate::clock::now()
    );
    let mut sql = Sql::new(&format!(
        "select u.user_id, u.username, u.display_name, u.disabled, u.password_changed_at, u.totp_enabled_at, \
         (select count(*) from session s where s.user_id = u.user_id) as sessions, \
         {live_tokens}, \
         (select max(s.created_at) from session s where s.user_id = u.user_id) as last_login_at \
         from app_user u"
    ));
    filter(&mut sql);
    sql.push(" order by u.user_id limit ")
        .bind(paging.per_page())
        .push(" offset ")
        .bind(paging.offset());
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new("select count(*) from app_user u");
    filter(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?, paging))
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct GrantRow {
    pub role_grant_id: i64,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub disabled: i64,
    pub role: String,
    pub scope_name: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct GrantFilter {
    /// A role code: committee, unit, branch, member, community, system_admin, security_admin, audit_admin.
    pub role: Option<String>,
    /// User name or name contains.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

async fn grants(
    state: &AppState,
    f: &GrantFilter,
    all: bool,
) -> AppResult<(Vec<GrantRow>, i64, Paging)> {
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let filter = |sql: &mut Sql| {
        sql.push(" where 1 = 1");
        if let Some(r) = f.role.as_deref().filter(|r| !r.is_empty()) {
            sql.push(" and g.role = ").bind(r.to_string());
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            sql.push(" and (");
            sql.contains(state.db.backend, "a.username", q);
            sql.push(" or ");
            sql.contains(state.db.backend, "a.display_name", q);
            sql.push(")");
        }
    };
    let from = " from role_grant g join app_user a on a.user_id = g.user_id \
         left join unit u on u.unit_id = g.unit_id left join org o on o.org_id = g.org_id \
         left join member m on m.member_id = g.member_id left join community c on c.community_id = g.community_id";
    let mut sql = Sql::new(&format!(
        "select g.role_grant_id, g.user_id, a.username, a.display_name, a.disabled, g.role, \
         coalesce(u.name, o.name, m.name, c.name) as scope_name, g.created_at{from}"
    ));
    filter(&mut sql);
    sql.push(" order by g.role_grant_id");
    if !all {
        sql.push(" limit ")
            .bind(paging.per_page())
            .push(" offset ")
            .bind(paging.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new(&format!("select count(*){from}"));
    filter(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?, paging))
}

fn role_label(code: &str) -> String {
    Role::parse(code)
        .map(|r| r.label().to_string())
        .unwrap_or_else(|| code.to_string())
}

// ---- pages ----

#[derive(Template)]
#[template(path = "system/security.html")]
struct PolicyPage {
    ctx: PageCtx,
    p: Policy,
    errors: BTreeMap<String, String>,
}

/// A policy input: name, label, value, hint.
type Field = (&'static str, &'static str, i64, &'static str);

impl PolicyPage {
    fn err(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }

    fn password_fields(&self) -> Vec<Field> {
        let p = &self.p;
        vec![
            (
                "password_min_length",
                "最小长度（位）",
                p.password_min_length,
                "8–64，默认10",
            ),
            (
                "password_classes",
                "至少包含的字符类别数",
                p.password_classes,
                "大写、小写、数字、符号四类中的2–4类，默认3",
            ),
            (
                "password_history",
                "不可重复使用的最近密码个数",
                p.password_history,
                "0–24，含当前密码，默认5",
            ),
            (
                "password_max_age_days",
                "密码有效期（天）",
                p.password_max_age_days,
                "0–365，0表示不过期，默认90",
            ),
            (
                "password_warn_days",
                "到期前提醒（天）",
                p.password_warn_days,
                "0–30，默认14",
            ),
        ]
    }

    fn lock_fields(&self) -> Vec<Field> {
        let p = &self.p;
        vec![
            (
                "lock_threshold",
                "连续失败次数（同一地址对同一账号）",
                p.lock_threshold,
                "3–10，默认5：该地址对该账号的登录锁定，其他地址不受影响",
            ),
            (
                "lock_window_minutes",
                "失败计数时间窗（分钟）",
                p.lock_window_minutes,
                "默认15",
            ),
            (
                "lock_minutes",
                "锁定时长（分钟）",
                p.lock_minutes,
                "默认30；安全管理员可在“账号安全”中提前解锁",
            ),
            (
                "address_threshold",
                "同一地址失败次数上限（各账号合计）",
                p.address_threshold,
                "10–1000，默认30：时间窗内超过后该地址对所有账号的登录暂停，时长同上",
            ),
            (
                "account_ceiling",
                "同一账号失败次数上限（各地址合计）",
                p.account_ceiling,
                "不小于连续失败次数，至1000，默认20：超过后从近期未登录过的地址登录须先输入动态验证码，常用地址不受影响",
            ),
        ]
    }

    fn session_fields(&self) -> Vec<Field> {
        let p = &self.p;
        vec![
            (
                "session_idle_minutes",
                "空闲超时（分钟）",
                p.session_idle_minutes,
                "5–120，默认30",
            ),
            (
                "session_absolute_hours",
                "会话最长时间（小时）",
                p.session_absolute_hours,
                "1–24，默认12",
            ),
            (
                "admin_max_sessions",
                "管理员同时在线会话数",
                p.admin_max_sessions,
                "工委和三员账号，1–10，默认1：新登录结束旧会话",
            ),
            (
                "user_max_sessions",
                "其他用户同时在线会话数",
                p.user_max_sessions,
                "0–20，0表示不限",
            ),
        ]
    }

    fn audit_fields(&self) -> Vec<Field> {
        vec![(
            "audit_retention_days",
            "审计日志保留期（天）",
            self.p.audit_retention_days,
            "183–3650，默认365：更早的记录每天凌晨归档为签名文件，不删除",
        )]
    }
}

async fn policy_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    user.require(user.is_security_admin())?;
    web::render(&PolicyPage {
        ctx: PageCtx::new(&user, "安全策略", "/system/security", flash)
            .crumb("安全策略", "/system/security"),
        p: policy::current(&state).await?,
        errors: BTreeMap::new(),
    })
}

/// The form sends numbers as text and the checkbox only when ticked.
#[derive(Deserialize)]
struct PolicyForm {
    #[serde(flatten)]
    fields: BTreeMap<String, String>,
}

fn policy_from_form(f: &PolicyForm) -> Result<Policy, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let mut num = |k: &str, d: i64| -> i64 {
        match f.fields.get(k).map(|v| v.trim()).unwrap_or("") {
            "" => {
                errors.insert(k.to_string(), "请填写".to_string());
                d
            }
            v => v.parse().unwrap_or_else(|_| {
                errors.insert(k.to_string(), "应为整数".to_string());
                d
            }),
        }
    };
    let d = Policy::default();
    let p = Policy {
        password_min_length: num("password_min_length", d.password_min_length),
        password_classes: num("password_classes", d.password_classes),
        password_history: num("password_history", d.password_history),
        password_max_age_days: num("password_max_age_days", d.password_max_age_days),
        password_warn_days: num("password_warn_days", d.password_warn_days),
        lock_threshold: num("lock_threshold", d.lock_threshold),
        lock_window_minutes: num("lock_window_minutes", d.lock_window_minutes),
        lock_minutes: num("lock_minutes", d.lock_minutes),
        address_threshold: num("address_threshold", d.address_threshold),
        account_ceiling: num("account_ceiling", d.account_ceiling),
        session_idle_minutes: num("session_idle_minutes", d.session_idle_minutes),
        session_absolute_hours: num("session_absolute_hours", d.session_absolute_hours),
        admin_max_sessions: num("admin_max_sessions", d.admin_max_sessions),
        user_max_sessions: num("user_max_sessions", d.user_max_sessions),
        totp_required_all: f.fields.contains_key("totp_required_all"),
        audit_retention_days: num("audit_retention_days", d.audit_retention_days),
    };
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(errors)
    }
}

async fn policy_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PolicyForm>,
) -> AppResult<Response> {
    user.require(user.is_security_admin())?;
    let parsed = policy_from_form(&f);
    let result = match &parsed {
        Ok(p) => policy::save(&state, &user.actor(), p.clone()).await,
        Err(e) => Err(AppError::Invalid {
            message: "安全策略填写有误".into(),
            fields: e.clone(),
        }),
    };
    match result {
        Ok(()) => Ok(web::redirect_with_flash(
            "/system/security",
            "安全策略已保存",
        )),
        Err(AppError::Invalid { fields, .. }) => {
            let p = parsed.unwrap_or_else(|_| Policy::default());
            web::render_invalid(&PolicyPage {
                ctx: PageCtx::new(&user, "安全策略", "/system/security", FlashIn(None))
                    .crumb("安全策略", "/system/security"),
                p,
                errors: fields,
            })
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "system/security_accounts.html")]
struct AccountsPage {
    ctx: PageCtx,
    locks: Vec<LockRow>,
    address_locks: Vec<AddressLockRow>,
    rows: Vec<AccountRow>,
    pager: Pager,
    q: String,
    policy: Policy,
    now: i64,
}

impl AccountsPage {
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn opt_time(&self, t: &Option<i64>) -> String {
        t.map(crate::clock::fmt_time).unwrap_or_else(|| "—".into())
    }
    fn password_state(&self, changed_at: &i64) -> String {
        match self.policy.days_left(*changed_at, self.now) {
            None => "长期有效".into(),
            Some(_) if self.policy.expired(*changed_at, self.now) => "已过期".into(),
            Some(d) => format!("{d} 天后到期"),
        }
    }
}

async fn accounts_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AccountFilter>,
    flash: FlashIn,
) -> AppResult<Response> {
    user.require(user.is_security_admin())?;
    let (rows, total, paging) = accounts(&state, &f).await?;
    let q = f.q.clone().unwrap_or_default();
    let (locks, address_locks) = lock_overview(&state).await?;
    web::render(&AccountsPage {
        ctx: PageCtx::new(&user, "账号安全", "/system/security/accounts", flash)
            .crumb("账号安全", "/system/security/accounts"),
        locks,
        address_locks,
        pager: Pager::new(
            &paging,
            total,
            "/system/security/accounts",
            &web::query_string(&[("q", q.clone())]),
        ),
        rows,
        q,
        policy: policy::current(&state).await?,
        now: now(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct UnlockInput {
    pub username: String,
}

async fn unlock_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<UnlockInput>,
) -> AppResult<Response> {
    match unlock(&state, &user, &f.username).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/system/security/accounts",
            &format!("已解除 {} 的锁定", f.username.trim()),
        )),
        Err(AppError::NotFound) => Ok(web::redirect_with_flash(
            "/system/security/accounts",
            "该用户名没有登录失败记录，无需解锁",
        )),
        Err(e) => Err(e),
    }
}

async fn totp_reset_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    totp_reset(&state, &user, id).await?;
    Ok(web::redirect_with_flash(
        "/system/security/accounts",
        "已重置双因素认证，该用户下次登录时须重新绑定",
    ))
}

async fn end_sessions_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (n, tokens) = end_sessions(&state, &user, id).await?;
    Ok(web::redirect_with_flash(
        "/system/security/accounts",
        &format!("已结束 {n} 个会话，作废 {tokens} 个 API 令牌"),
    ))
}

#[derive(Template)]
#[template(path = "system/security_grants.html")]
struct GrantsPage {
    ctx: PageCtx,
    rows: Vec<GrantRow>,
    pager: Pager,
    q: String,
    role: String,
    roles: Vec<(&'static str, &'static str)>,
    export_query: String,
}

impl GrantsPage {
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn label(&self, code: &str) -> String {
        role_label(code)
    }
}

async fn grants_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<GrantFilter>,
    flash: FlashIn,
) -> AppResult<Response> {
    user.require(user.is_security_admin())?;
    let (rows, total, paging) = grants(&state, &f, false).await?;
    let q = f.q.clone().unwrap_or_default();
    let role = f.role.clone().unwrap_or_default();
    let qs = web::query_string(&[("q", q.clone()), ("role", role.clone())]);
    web::render(&GrantsPage {
        ctx: PageCtx::new(&user, "授权审查", "/system/security/grants", flash)
            .crumb("授权审查", "/system/security/grants"),
        pager: Pager::new(&paging, total, "/system/security/grants", &qs),
        rows,
        q,
        role,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        export_query: qs,
    })
}

async fn grants_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<GrantFilter>,
) -> AppResult<Response> {
    user.require(user.is_security_admin())?;
    let (rows, _, _) = grants(&state, &f, true).await?;
    use crate::xlsx::Cell;
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|g| {
            vec![
                g.username,
                g.display_name,
                if g.disabled == 1 {
                    "已停用"
                } else {
                    "正常"
                }
                .into(),
                role_label(&g.role),
                g.scope_name.unwrap_or_else(|| "全市".into()),
            ]
            .into_iter()
            .map(Cell::Text)
            .chain([Cell::Time(g.created_at)])
            .collect()
        })
        .collect();
    let bytes = crate::xlsx::write_table(
        "角色授权",
        &["用户名", "姓名", "账号状态", "角色", "范围", "授予时间"],
        &data,
    )?;
    Ok(crate::xlsx::download("角色授权.xlsx", bytes))
}

// ---- API ----

/// The security policy in force (security admin).
#[utoipa::path(get, path = "/security/policy", tag = "system", responses((status = 200, body = Policy), (status = 403, body = crate::error::ErrorBody)))]
async fn api_policy(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<Policy>> {
    user.require(user.is_security_admin())?;
    Ok(Json(policy::current(&state).await?))
}

/// Replace the security policy (security admin); audited with before and after.
#[utoipa::path(put, path = "/security/policy", tag = "system", request_body = Policy,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_set_policy(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(p): Json<Policy>,
) -> AppResult<StatusCode> {
    user.require(user.is_security_admin())?;
    policy::save(&state, &user.actor(), p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// User names with recent failed logins and their locks (security admin).
#[utoipa::path(get, path = "/security/locks", tag = "system", responses((status = 200, body = Vec<LockRow>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_locks(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<LockRow>>> {
    user.require(user.is_security_admin())?;
    Ok(Json(locks(&state).await?))
}

/// Lift the lock of a user name (security admin); audited.
#[utoipa::path(post, path = "/security/unlock", tag = "system", request_body = UnlockInput,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn api_unlock(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(f): Json<UnlockInput>,
) -> AppResult<StatusCode> {
    unlock(&state, &user, &f.username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every role grant, for review (security admin).
#[utoipa::path(get, path = "/security/grants", tag = "system", params(GrantFilter),
    responses((status = 200, body = crate::web::ListPage<GrantRow>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_grants(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<GrantFilter>,
) -> AppResult<Json<crate::web::ListPage<GrantRow>>> {
    user.require(user.is_security_admin())?;
    let (items, total, _) = grants(&state, &f, false).await?;
    Ok(Json(crate::web::ListPage { items, total }))
}

/// Clear a user's second factor (lost phone); they set it up again at next login.
#[utoipa::path(delete, path = "/security/users/{id}/totp", tag = "system", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn api_totp_reset(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    totp_reset(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
