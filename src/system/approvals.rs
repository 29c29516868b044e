//! 三权分立 dual control (双人确认). The system admin may ask for three things that would
//! let one person reach the other admins' powers — an account made with the security-admin
//! or audit-admin role, that role granted to an account, and a new password for an account
//! that holds one — but a second person of another admin role (a security or audit admin
//! who is neither the requester nor the account concerned) must confirm before anything
//! changes. The one-time password of a new account or a reset is split in two halves: the
//! requester is shown the first, the confirmer the second, and only the account's owner is
//! given both, so neither admin can sign in as the account.
//!
//! Before any security or audit admin exists (a new installation) nobody could confirm: then,
//! and only then, the operator confirms on the server's command line (`yaoshi admin
//! confirm ID`), which prints the second half. Requests lapse after seven days.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{Actor, Entry};
use crate::auth::store::{self, NewGrant};
use crate::auth::{CurrentUser, Role};
use crate::clock::now;
use crate::crypto::Field;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

/// How long a request waits for its confirmation.
pub const LAPSE_SECONDS: i64 = 7 * 86_400;

crate::choice! {
    /// What a request asks for.
    pub enum Action {
        Create = "create", "新建管理员账号", [];
        Grant = "grant", "授予管理员角色", [];
        Reset = "reset", "重置管理员密码", [];
    }
}

crate::choice! {
    /// Where a request stands.
    pub enum Status {
        Pending = "pending", "待确认", [];
        Confirmed = "confirmed", "已确认", [];
        Refused = "refused", "已拒绝", [];
        Cancelled = "cancelled", "已撤回", [];
        Lapsed = "lapsed", "已过期", [];
    }
}

/// The roles whose granting, and whose holders' password resets, need a second person.
pub fn needs_second_person(role: Role) -> bool {
    matches!(role, Role::SecurityAdmin | Role::AuditAdmin)
}

/// Pure: who may confirm or refuse a request. A security or audit admin who is neither the
/// requester nor the account concerned.
pub fn may_decide(
    decider_id: i64,
    decider_roles: &[Role],
    requested_by: i64,
    target: Option<i64>,
) -> Result<(), &'static str> {
    if !decider_roles
        .iter()
        .any(|r| matches!(r, Role::SecurityAdmin | Role::AuditAdmin))
    {
        return Err("只有安全管理员或审计管理员可以确认");
    }
    if decider_id == requested_by {
        return Err("申请人不能确认自己的申请，须由另一位管理员确认");
    }
    if target == Some(decider_id) {
        return Err("涉及本人账号的申请须由另一位管理员确认");
    }
    Ok(())
}

/// Pure: splits a one-time password into the requester's and the confirmer's halves.
pub fn split(password: &str) -> (String, String) {
    let mid = password.chars().count() / 2;
    let first: String = password.chars().take(mid).collect();
    let second: String = password.chars().skip(mid).collect();
    (first, second)
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Approval {
    pub approval_id: i64,
    #[sqlx(try_from = "String")]
    pub action: Action,
    pub target_user_id: Option<i64>,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub requested_by: i64,
    pub requested_by_name: String,
    pub requested_at: i64,
    #[sqlx(try_from = "String")]
    pub status: Status,
    pub decided_by_name: String,
    pub decided_at: Option<i64>,
    pub note: String,
}

impl Approval {
    pub fn role_label(&self) -> &'static str {
        Role::parse(&self.role).map_or("未知角色", Role::label)
    }
    pub fn requested(&self) -> String {
        crate::clock::fmt_time(self.requested_at)
    }
    pub fn decided(&self) -> String {
        self.decided_at
            .map(crate::clock::fmt_time)
            .unwrap_or_default()
    }
    fn lapsed(&self, t: i64) -> bool {
        self.status == Status::Pending && t - self.requested_at > LAPSE_SECONDS
    }
    fn describe(&self) -> String {
        format!(
            "{} {}（{}）",
            self.action.label(),
            self.username,
            self.role_label()
        )
    }
}

const SELECT: &str = "select approval_id, action, target_user_id, username, display_name, role, requested_by, \
     requested_by_name, requested_at, status, decided_by_name, decided_at, note from admin_approval";

/// A request made: its number and, for a new account or a reset, the first half of the
/// one-time password (for the account's owner).
#[derive(Debug, Serialize, ToSchema)]
pub struct Requested {
    pub approval_id: i64,
    pub first_half: Option<String>,
    pub message: String,
}

impl Requested {
    fn new(approval_id: i64, first_half: Option<String>) -> Requested {
        let message = match first_half {
            Some(_) => "已提交，待另一位管理员（安全管理员或审计管理员）确认。请把密码前半段当面交给账号本人；后半段由确认人交给本人。",
            None => "已提交，待另一位管理员（安全管理员或审计管理员）确认后生效。",
        };
        Requested {
            approval_id,
            first_half,
            message: message.into(),
        }
    }
}

/// What an admin act that may need a second person came to: done at once, or a request
/// waiting for confirmation (creating, granting or resetting a security or audit admin).
pub enum Outcome<T> {
    Done(T),
    Pending(Requested),
}

/// What the confirmer receives: the account and, where there is one, the password's
/// second half.
#[derive(Debug, Serialize, ToSchema)]
pub struct Confirmed {
    pub approval_id: i64,
    pub username: String,
    pub second_half: Option<String>,
}

struct NewRequest<'a> {
    action: Action,
    target: Option<i64>,
    username: &'a str,
    display_name: &'a str,
    role: Role,
    password: bool,
}

async fn insert(state: &AppState, user: &CurrentUser, r: NewRequest<'_>) -> AppResult<Requested> {
    let pending: Option<i64> = sqlx::query_scalar(
        "select approval_id from admin_approval where status = 'pending' and username = $1 and requested_at > $2",
    )
    .bind(r.username.to_string())
    .bind(now() - LAPSE_SECONDS)
    .fetch_optional(&state.db.pool)
    .await?;
    if let Some(p) = pending {
        return Err(AppError::Conflict(format!(
            "账号 {} 已有待确认的申请（编号 {p}），请等待确认或先撤回",
            r.username
        )));
    }
    let (first, hash, sealed) = if r.password {
        let password = crate::auth::password::generate();
        let (first, second) = split(&password);
        let hash = crate::auth::password::hash(password).await?;
        let sealed = state.keys.encrypt(Field::ApprovalSecret, &second)?;
        (Some(first), Some(hash), Some(sealed))
    } else {
        (None, None, None)
    };
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into admin_approval (action, target_user_id, username, display_name, role, password_hash, second_half, \
         requested_by, requested_by_name, requested_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning approval_id",
    )
    .bind(r.action.as_str())
    .bind(r.target)
    .bind(r.username.to_string())
    .bind(r.display_name.trim().to_string())
    .bind(r.role.as_str())
    .bind(hash)
    .bind(sealed)
    .bind(user.user_id)
    .bind(user.display_name.clone())
    .bind(now())
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "approval.request",
            "admin_approval",
            id,
            format!(
                "申请{} {}（{}），待另一位管理员确认",
                r.action.label(),
                r.username,
                r.role.label()
            ),
        )
        .after(&serde_json::json!({
            "action": r.action, "username": r.username, "role": r.role.as_str(), "target_user_id": r.target,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(Requested::new(id, first))
}

/// An account made with an admin role that needs a second person.
pub async fn request_create(
    state: &AppState,
    user: &CurrentUser,
    username: &str,
    display_name: &str,
    role: Role,
) -> AppResult<Requested> {
    user.require(user.is_system_admin())?;
    store::validate_username(username).map_err(|m| AppError::field("username", m))?;
    if display_name.trim().is_empty() {
        return Err(AppError::field("display_name", "请填写姓名"));
    }
    let taken: Option<i64> = sqlx::query_scalar("select user_id from app_user where username = $1")
        .bind(username.to_string())
        .fetch_optional(&state.db.pool)
        .await?;
    if taken.is_some() {
        return Err(AppError::field("username", "该用户名已被使用"));
    }
    insert(
        state,
        user,
        NewRequest {
            action: Action::Create,
            target: None,
            username,
            display_name,
            role,
            password: true,
        },
    )
    .await
}

/// The grant of an admin role that needs a second person, to an existing account.
pub async fn request_grant(
    state: &AppState,
    user: &CurrentUser,
    target: i64,
    role: Role,
) -> AppResult<Requested> {
    user.require(user.is_system_admin())?;
    let (username, display_name) = account(state, target).await?;
    let held: Vec<String> = sqlx::query_scalar("select role from role_grant where user_id = $1")
        .bind(target)
        .fetch_all(&state.db.pool)
        .await?;
    let held: Vec<Role> = held.iter().filter_map(|r| Role::parse(r)).collect();
    if held.contains(&role) {
        return Err(AppError::field("role", "该账号已担任此角色"));
    }
    if let Some(msg) = store::separation_conflict(&held, role) {
        return Err(AppError::field("role", msg));
    }
    insert(
        state,
        user,
        NewRequest {
            action: Action::Grant,
            target: Some(target),
            username: &username,
            display_name: &display_name,
            role,
            password: false,
        },
    )
    .await
}

/// The admin role of `user_id` that makes a password reset need a second person, if any.
pub async fn guarded_role(state: &AppState, user_id: i64) -> AppResult<Option<Role>> {
    let held: Vec<String> = sqlx::query_scalar("select role from role_grant where user_id = $1")
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(held
        .iter()
        .filter_map(|r| Role::parse(r))
        .find(|r| needs_second_person(*r)))
}

/// A new one-time password for an account holding `role`.
pub async fn request_reset(
    state: &AppState,
    user: &CurrentUser,
    target: i64,
    role: Role,
) -> AppResult<Requested> {
    user.require(user.is_system_admin())?;
    let (username, display_name) = account(state, target).await?;
    insert(
        state,
        user,
        NewRequest {
            action: Action::Reset,
            target: Some(target),
            username: &username,
            display_name: &display_name,
            role,
            password: true,
        },
    )
    .await
}

async fn account(state: &AppState, id: i64) -> AppResult<(String, String)> {
    sqlx::query_as("select username, display_name from app_user where user_id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// Requests, pending first then newest. The system admin sees the ones they made; the
/// security and audit admins see all.
pub async fn list(state: &AppState, user: &CurrentUser) -> AppResult<Vec<Approval>> {
    user.require(user.is_system_admin() || user.is_security_admin() || user.is_audit_admin())?;
    let watcher = user.is_security_admin() || user.is_audit_admin();
    let sql = format!(
        "{SELECT} where ($1 = 1 or requested_by = $2) order by case when status = 'pending' then 0 else 1 end, approval_id desc limit 200"
    );
    let t = now();
    let rows: Vec<Approval> = sqlx::query_as(&sql)
        .bind(i64::from(watcher))
        .bind(user.user_id)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|mut a| {
            if a.lapsed(t) {
                a.status = Status::Lapsed;
            }
            a
        })
        .collect())
}

async fn fetch(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<Approval> {
    sqlx::query_as(&format!("{SELECT} where approval_id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Who confirms: a signed-in admin, or the operator on the server's command line while no
/// security or audit admin exists.
pub enum Decider<'a> {
    User(&'a CurrentUser),
    CommandLine,
}

impl Decider<'_> {
    fn actor(&self) -> Actor {
        match self {
            Decider::User(u) => u.actor(),
            Decider::CommandLine => Actor::cli(),
        }
    }
    fn id(&self) -> Option<i64> {
        match self {
            Decider::User(u) => Some(u.user_id),
            Decider::CommandLine => None,
        }
    }
    fn name(&self) -> String {
        match self {
            Decider::User(u) => u.display_name.clone(),
            Decider::CommandLine => "命令行".into(),
        }
    }
}

/// Whether any enabled account holds the security-admin or audit-admin role.
async fn watchers_exist(conn: &mut sqlx::AnyConnection) -> AppResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "select count(*) from role_grant g join app_user u on u.user_id = g.user_id \
         where g.role in ('security_admin', 'audit_admin') and u.disabled = 0",
    )
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

async fn check_decider(
    conn: &mut sqlx::AnyConnection,
    decider: &Decider<'_>,
    a: &Approval,
) -> AppResult<()> {
    match decider {
        Decider::User(u) => {
            let roles: Vec<Role> = u.grants.iter().map(|g| g.role).collect();
            may_decide(u.user_id, &roles, a.requested_by, a.target_user_id).map_err(|m| {
                if roles.iter().any(|r| needs_second_person(*r)) {
                    AppError::invalid(m)
                } else {
                    AppError::Forbidden
                }
            })
        }
        Decider::CommandLine => {
            if watchers_exist(conn).await? {
                Err(AppError::invalid(
                    "已有安全管理员或审计管理员，须由其在系统中确认，命令行不能代为确认",
                ))
            } else {
                Ok(())
            }
        }
    }
}

fn still_pending(a: &Approval, t: i64) -> AppResult<()> {
    if a.status != Status::Pending {
        return Err(AppError::Conflict(format!(
            "该申请{}，不能再处理",
            a.status.label()
        )));
    }
    if a.lapsed(t) {
        return Err(AppError::Conflict(
            "该申请已超过7天未确认，已过期；如仍需要，请系统管理员重新申请".into(),
        ));
    }
    Ok(())
}

/// Confirms a request: the change it asks for is made, in one transaction with its audit
/// entries, and the confirmer receives the password's second half.
pub async fn confirm(state: &AppState, decider: Decider<'_>, id: i64) -> AppResult<Confirmed> {
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let a = fetch(tx.conn(), id).await?;
    check_decider(tx.conn(), &decider, &a).await?;
    still_pending(&a, t)?;
    let (hash, sealed): (Option<String>, Option<String>) = sqlx::query_as(
        "select password_hash, second_half from admin_approval where approval_id = $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let role = Role::parse(&a.role).ok_or_else(|| AppError::invalid("未知的角色"))?;
    let grant = NewGrant {
        role: role.as_str().into(),
        unit_id: None,
        org_id: None,
        member_id: None,
        community_id: None,
    };
    let requester = format!("（{} 申请，{} 确认）", a.requested_by_name, decider.name());
    let (target, action, summary) = match a.action {
        Action::Create => {
            let hash = hash.ok_or_else(|| AppError::invalid("申请缺少初始密码"))?;
            let uid =
                store::insert_user(tx.conn(), &a.username, &a.display_name, &hash, true).await?;
            store::insert_grant(tx.conn(), uid, &grant).await?;
            (
                uid,
                "user.create",
                format!("新建用户 {}{requester}", a.username),
            )
        }
        Action::Grant => {
            let uid = a.target_user_id.ok_or(AppError::NotFound)?;
            store::insert_grant(tx.conn(), uid, &grant).await?;
            crate::auth::session::sign_out_everywhere_in(tx.conn(), uid).await?;
            (
                uid,
                "user.grant",
                format!("授予角色 {}{requester}", grant.describe()),
            )
        }
        Action::Reset => {
            let uid = a.target_user_id.ok_or(AppError::NotFound)?;
            let hash = hash.ok_or_else(|| AppError::invalid("申请缺少初始密码"))?;
            store::replace_password_hash(tx.conn(), uid, &hash, true).await?;
            crate::auth::session::sign_out_everywhere_in(tx.conn(), uid).await?;
            (
                uid,
                "user.password_reset",
                format!("管理员重置密码{requester}"),
            )
        }
    };
    let done = sqlx::query(
        "update admin_approval set status = 'confirmed', decided_by = $1, decided_by_name = $2, decided_at = $3, \
         target_user_id = $4, password_hash = null, second_half = null where approval_id = $5 and status = 'pending'",
    )
    .bind(decider.id())
    .bind(decider.name())
    .bind(t)
    .bind(target)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict(
            "该申请刚被他人处理，请刷新后再看".into(),
        ));
    }
    let actor = decider.actor();
    tx.audit(
        &actor,
        Entry::new(action, "user", target, summary).after(&serde_json::json!({
            "approval_id": id, "username": a.username, "role": a.role,
        })),
    )
    .await?;
    tx.audit(
        &actor,
        Entry::new(
            "approval.confirm",
            "admin_approval",
            id,
            format!("确认 {} 的申请：{}", a.requested_by_name, a.describe()),
        ),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    if a.action == Action::Reset {
        crate::auth::throttle::clear_account(state, &a.username).await?;
    }
    let second_half = match sealed {
        Some(s) => Some(state.keys.decrypt(Field::ApprovalSecret, &s)?),
        None => None,
    };
    Ok(Confirmed {
        approval_id: id,
        username: a.username,
        second_half,
    })
}

/// Refuses a request (a confirmer) or withdraws it (its requester); nothing changes.
pub async fn refuse(state: &AppState, user: &CurrentUser, id: i64, note: &str) -> AppResult<()> {
    let t = now();
    let note = crate::text::clean_text(note);
    if note.chars().count() > 200 {
        return Err(AppError::field("note", "说明不超过200字"));
    }
    let mut tx = state.db.begin_write().await?;
    let a = fetch(tx.conn(), id).await?;
    let withdraw = a.requested_by == user.user_id && user.is_system_admin();
    if !withdraw {
        check_decider(tx.conn(), &Decider::User(user), &a).await?;
    }
    still_pending(&a, t)?;
    let status = if withdraw {
        Status::Cancelled
    } else {
        Status::Refused
    };
    sqlx::query(
        "update admin_approval set status = $1, decided_by = $2, decided_by_name = $3, decided_at = $4, note = $5, \
         password_hash = null, second_half = null where approval_id = $6 and status = 'pending'",
    )
    .bind(status.as_str())
    .bind(user.user_id)
    .bind(user.display_name.clone())
    .bind(t)
    .bind(note.clone())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "approval.refuse",
            "admin_approval",
            id,
            format!(
                "{} {} 的申请：{}{}",
                if withdraw { "撤回" } else { "拒绝" },
                a.requested_by_name,
                a.describe(),
                if note.is_empty() {
                    String::new()
                } else {
                    format!("（{note}）")
                }
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Pending requests, for the command line (`yaoshi admin pending`).
pub async fn pending(state: &AppState) -> AppResult<Vec<Approval>> {
    let t = now();
    let rows: Vec<Approval> = sqlx::query_as(&format!(
        "{SELECT} where status = 'pending' order by approval_id"
    ))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows.into_iter().filter(|a| !a.lapsed(t)).collect())
}

// ---- pages ----

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/system/approvals", get(list_page))
        .route("/system/approvals/{id}/confirm", post(confirm_page))
        .route("/system/approvals/{id}/refuse", post(refuse_page))
}

#[derive(Template)]
#[template(path = "system/approvals.html")]
struct ApprovalsPage {
    ctx: PageCtx,
    rows: Vec<Approval>,
    can_decide: bool,
    user_id: i64,
    confirmed: Option<Confirmed>,
    error: Option<String>,
}

async fn render_list(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    confirmed: Option<Confirmed>,
    error: Option<String>,
) -> AppResult<Response> {
    let rows = list(state, user).await?;
    web::render(&ApprovalsPage {
        ctx: PageCtx::new(user, "双人确认", "/system/approvals", flash)
            .crumb("双人确认", "/system/approvals"),
        rows,
        can_decide: user.is_security_admin() || user.is_audit_admin(),
        user_id: user.user_id,
        confirmed,
        error,
    })
}

async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    render_list(&state, &user, flash, None, None).await
}

async fn confirm_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    match confirm(&state, Decider::User(&user), id).await {
        Ok(c) => render_list(&state, &user, FlashIn(None), Some(c), None).await,
        Err(AppError::Invalid { message, .. }) | Err(AppError::Conflict(message)) => Ok(
            web::invalid(render_list(&state, &user, FlashIn(None), None, Some(message)).await?),
        ),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RefuseInput {
    /// Why (up to 200 characters; may be empty).
    #[serde(default)]
    pub note: String,
}

async fn refuse_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<RefuseInput>,
) -> AppResult<Response> {
    let message = match refuse(&state, &user, id, &f.note).await {
        Ok(()) => {
            return Ok(web::redirect_with_flash(
                "/system/approvals",
                "已处理该申请",
            ))
        }
        Err(AppError::Invalid { message, fields }) => {
            fields.into_values().next().unwrap_or(message)
        }
        Err(AppError::Conflict(message)) => message,
        Err(e) => return Err(e),
    };
    Ok(web::invalid(
        render_list(&state, &user, FlashIn(None), None, Some(message)).await?,
    ))
}

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_confirm))
        .routes(routes!(api_refuse))
}

/// Requests awaiting (or past) a second admin's confirmation.
#[utoipa::path(get, path = "/approvals", tag = "system", responses((status = 200, body = Vec<Approval>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<Approval>>> {
    Ok(Json(list(&state, &user).await?))
}

/// Confirm a request (a security or audit admin other than the requester and the account).
#[utoipa::path(post, path = "/approvals/{id}/confirm", tag = "system", params(("id" = i64, Path)), responses((status = 200, body = Confirmed), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Confirmed>> {
    Ok(Json(confirm(&state, Decider::User(&user), id).await?))
}

/// Refuse a request, or withdraw one's own.
#[utoipa::path(post, path = "/approvals/{id}/refuse", tag = "system", params(("id" = i64, Path)), request_body = RefuseInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn api_refuse(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(f): Json<RefuseInput>,
) -> AppResult<StatusCode> {
    refuse(&state, &user, id, &f.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A request answered 202 Accepted (API).
pub fn accepted(r: Requested) -> Response {
    (StatusCode::ACCEPTED, Json(r)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_watcher_decides() {
        let sec = [Role::SecurityAdmin];
        assert!(may_decide(3, &sec, 1, Some(2)).is_ok());
        assert!(may_decide(3, &[Role::AuditAdmin], 1, None).is_ok());
        // Not the requester, not the account concerned, not a system admin or anyone else.
        assert!(may_decide(1, &sec, 1, Some(2)).is_err());
        assert!(may_decide(2, &sec, 1, Some(2)).is_err());
        assert!(may_decide(3, &[Role::SystemAdmin], 1, Some(2)).is_err());
        assert!(may_decide(3, &[Role::Committee], 1, Some(2)).is_err());
    }

    #[test]
    fn halves_make_the_password() {
        let p = crate::auth::password::generate();
        let (a, b) = split(&p);
        assert_eq!(format!("{a}{b}"), p);
        assert!(a.len() >= 7 && b.len() >= 7);
        assert!(!p.starts_with(&b) || a == b);
    }

    #[test]
    fn only_the_watcher_roles_need_a_second_person() {
        assert!(needs_second_person(Role::SecurityAdmin));
        assert!(needs_second_person(Role::AuditAdmin));
        assert!(!needs_second_person(Role::SystemAdmin));
        assert!(!needs_second_person(Role::Committee));
    }
}
