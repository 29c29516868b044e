//! User accounts and role grants, managed by the system admin (系统管理员).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::Entry;
use crate::auth::store::{self, NewGrant, NewUser, UserSummary};
use crate::auth::{CurrentUser, Grant, Role};
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

use super::approvals::{self, Outcome, Requested};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UserFilter {
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct UserInput {
    pub username: String,
    pub display_name: String,
    pub grant: NewGrant,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    pub user_id: i64,
    /// One-time password; the user must change it at first login.
    pub password: String,
}

pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    input: UserInput,
) -> AppResult<Outcome<CreatedUser>> {
    user.require(user.is_system_admin())?;
    if let Some(role) =
        Role::parse(&input.grant.role).filter(|r| approvals::needs_second_person(*r))
    {
        return approvals::request_create(
            state,
            user,
            input.username.trim(),
            &input.display_name,
            role,
        )
        .await
        .map(Outcome::Pending);
    }
    let password = crate::auth::password::generate();
    let id = store::create_user(
        state,
        &user.actor(),
        NewUser {
            username: input.username.trim().to_string(),
            display_name: input.display_name,
            password: password.clone(),
            must_change_password: true,
        },
        &[input.grant],
    )
    .await?;
    Ok(Outcome::Done(CreatedUser {
        user_id: id,
        password,
    }))
}

pub async fn reset_password(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> AppResult<Outcome<String>> {
    user.require(user.is_system_admin())?;
    if let Some(role) = approvals::guarded_role(state, id).await? {
        return approvals::request_reset(state, user, id, role)
            .await
            .map(Outcome::Pending);
    }
    let password = crate::auth::password::generate();
    store::set_password(state, &user.actor(), id, password.clone(), true).await?;
    crate::auth::session::sign_out_everywhere(state, id).await?;
    let username: String = sqlx::query_scalar("select username from app_user where user_id = $1")
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?;
    crate::auth::throttle::clear_account(state, &username).await?;
    Ok(Outcome::Done(password))
}

pub async fn set_disabled(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    disabled: bool,
) -> AppResult<()> {
    user.require(user.is_system_admin())?;
    if id == user.user_id && disabled {
        return Err(AppError::invalid("不能停用自己的账号"));
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("update app_user set disabled = $1, updated_at = $2 where user_id = $3")
        .bind(i64::from(disabled))
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    if disabled {
        crate::auth::session::sign_out_everywhere_in(tx.conn(), id).await?;
    }
    let (action, summary) = if disabled {
        ("user.disable", "停用用户")
    } else {
        ("user.enable", "启用用户")
    };
    tx.audit(&user.actor(), Entry::new(action, "user", id, summary))
        .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

pub async fn add_grant(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    g: NewGrant,
) -> AppResult<Outcome<i64>> {
    user.require(user.is_system_admin())?;
    // Granting oneself a role (a business role, say, to read unmasked personal data) would
    // let the system admin step outside the duties it checks others in.
    if id == user.user_id {
        return Err(AppError::invalid(
            "不能给自己授予角色，请由其他系统管理员办理",
        ));
    }
    if let Some(role) = Role::parse(&g.role).filter(|r| approvals::needs_second_person(*r)) {
        return approvals::request_grant(state, user, id, role)
            .await
            .map(Outcome::Pending);
    }
    let mut tx = state.db.begin_write().await?;
    let exists: Option<i64> = sqlx::query_scalar("select user_id from app_user where user_id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_none() {
        return Err(AppError::NotFound);
    }
    let gid = store::insert_grant(tx.conn(), id, &g).await?;
    // A change of privilege ends the user's sessions: the next login gets a fresh id.
    sqlx::query("delete from session where user_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "user.grant",
            "user",
            id,
            format!("授予角色 {}", g.describe()),
        )
        .after(&g),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(Outcome::Done(gid))
}

pub async fn revoke_grant(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    grant_id: i64,
) -> AppResult<()> {
    user.require(user.is_system_admin())?;
    if id == user.user_id {
        return Err(AppError::invalid(
            "不能撤销自己的角色，请由其他系统管理员办理",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("delete from role_grant where role_grant_id = $1 and user_id = $2")
        .bind(grant_id)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    sqlx::query("delete from session where user_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "user.revoke",
            "user",
            id,
            format!("撤销角色授权 #{grant_id}"),
        ),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

/// Renames an account (the first-start `admin`, above all, once the three admins exist);
/// its sessions end so the new name shows everywhere at once. Audited.
pub async fn rename(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    new_name: &str,
) -> AppResult<()> {
    user.require(user.is_system_admin())?;
    let new_name = new_name.trim().to_string();
    store::validate_username(&new_name).map_err(|m| AppError::field("username", m))?;
    let mut tx = state.db.begin_write().await?;
    let old: Option<String> =
        sqlx::query_scalar("select username from app_user where user_id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let old = old.ok_or(AppError::NotFound)?;
    if old == new_name {
        return Err(AppError::field("username", "新用户名与原用户名相同"));
    }
    sqlx::query("update app_user set username = $1, updated_at = $2 where user_id = $3")
        .bind(new_name.clone())
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(|e| crate::error::on_unique(e, "username", "该用户名已被使用"))?;
    sqlx::query("delete from session where user_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "user.rename",
            "user",
            id,
            format!("用户名 {old} 改为 {new_name}"),
        )
        .before(&serde_json::json!({ "username": old }))
        .after(&serde_json::json!({ "username": new_name })),
    )
    .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

// ---- pages ----

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/system/users", get(list_page).post(create_page))
        .route("/system/users/export", get(export_page))
        .route("/system/scope-options", get(scope_options_page))
        .route("/system/users/{id}", get(detail_page))
        .route("/system/users/{id}/reset", post(reset_page))
        .route("/system/users/{id}/rename", post(rename_page))
        .route("/system/users/{id}/disable", post(disable_page))
        .route("/system/users/{id}/enable", post(enable_page))
        .route("/system/users/{id}/grants", post(grant_page))
        .route("/system/users/{id}/grants/{gid}/revoke", post(revoke_page))
}

#[derive(Template)]
#[template(path = "system/users.html")]
struct UsersPage {
    ctx: PageCtx,
    rows: Vec<UserSummary>,
    pager: Pager,
    q: String,
    created: Option<(String, String)>,
    error: Option<String>,
    units: Vec<(i64, String)>,
    pending: Option<Requested>,
}

impl UsersPage {
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
}

#[derive(Deserialize)]
struct ScopeQuery {
    #[serde(default)]
    role: String,
    /// What the admin has typed into the scope box so far: a name or a number.
    #[serde(default)]
    scope_id: String,
}

#[derive(Template)]
#[template(path = "system/scope_options.html")]
struct ScopeOptions {
    options: Vec<(i64, String)>,
}

/// The objects a grant of `role` can be scoped to, matching what was typed (a name part
/// or an id): the options of the scope box's list, so nobody has to know an id.
pub async fn scope_options(
    state: &AppState,
    role: &str,
    typed: &str,
) -> AppResult<Vec<(i64, String)>> {
    let typed = typed.trim();
    let backend = state.db.backend;
    let (mut sql, name_col, id_col, order) = match role {
        "unit" => (
            Sql::new("select u.unit_id, u.name from unit u where "),
            "u.name",
            "u.unit_id",
            " order by u.sort_order, u.unit_id",
        ),
        "branch" => (
            Sql::new(
                "select o.org_id, u.name || ' · ' || o.name from org o \
                 join unit u on u.unit_id = o.unit_id where o.kind = 'branch' and ",
            ),
            "(u.name || o.name)",
            "o.org_id",
            " order by u.sort_order, o.sort_order, o.org_id",
        ),
        "member" => (
            Sql::new(
                "select m.member_id, m.name || ' · ' || u.name || ' ' || b.name from member m \
                 join unit u on u.unit_id = m.unit_id join org b on b.org_id = m.branch_id \
                 where m.status = 'active' and ",
            ),
            "m.name",
            "m.member_id",
            " order by m.name_initials, m.member_id",
        ),
        "community" => (
            Sql::new("select c.community_id, c.name from community c where "),
            "c.name",
            "c.community_id",
            " order by c.name, c.community_id",
        ),
        _ => return Ok(Vec::new()),
    };
    match typed.parse::<i64>() {
        Ok(id) => {
            sql.push(id_col).push(" = ").bind(id);
        }
        Err(_) if typed.is_empty() => {
            sql.push("1 = 1");
        }
        Err(_) => {
            sql.contains(backend, name_col, typed);
        }
    }
    sql.push(order).push(" limit 30");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

async fn scope_options_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ScopeQuery>,
) -> AppResult<Response> {
    user.require(user.is_system_admin())?;
    web::render(&ScopeOptions {
        options: scope_options(&state, &q.role, &q.scope_id).await?,
    })
}

async fn units(state: &AppState) -> AppResult<Vec<(i64, String)>> {
    Ok(
        sqlx::query_as("select unit_id, name from unit order by sort_order, unit_id")
            .fetch_all(&state.db.pool)
            .await?,
    )
}

async fn list_render(
    state: &AppState,
    user: &CurrentUser,
    f: UserFilter,
    flash: FlashIn,
    created: Option<(String, String)>,
    error: Option<String>,
    pending: Option<Requested>,
) -> AppResult<Response> {
    user.require(user.is_system_admin())?;
    let p = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let q = f.q.unwrap_or_default();
    let (rows, total) = store::list_users(state, &q, p.per_page(), p.offset()).await?;
    web::render(&UsersPage {
        ctx: PageCtx::new(user, "用户与角色", "/system/users", flash)
            .crumb("系统", "/system/users")
            .crumb("用户与角色", "/system/users"),
        pager: Pager::new(
            &p,
            total,
            "/system/users",
            &web::query_string(&[("q", q.clone())]),
        ),
        rows,
        q,
        created,
        error,
        units: units(state).await?,
        pending,
    })
}

async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<UserFilter>,
) -> AppResult<Response> {
    list_render(&state, &user, f, flash, None, None, None).await
}

#[derive(Deserialize)]
struct UserForm {
    username: String,
    display_name: String,
    role: String,
    #[serde(default)]
    scope_id: String,
}

fn grant_from(role: &str, scope_id: &str) -> NewGrant {
    let id = scope_id.trim().parse().ok();
    NewGrant {
        role: role.to_string(),
        unit_id: if role == "unit" { id } else { None },
        org_id: if role == "branch" { id } else { None },
        member_id: if role == "member" { id } else { None },
        community_id: if role == "community" { id } else { None },
    }
}

async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<UserForm>,
) -> AppResult<Response> {
    let input = UserInput {
        username: f.username.clone(),
        display_name: f.display_name,
        grant: grant_from(&f.role, &f.scope_id),
    };
    let empty = UserFilter {
        q: None,
        page: None,
        per_page: None,
    };
    match create(&state, &user, input).await {
        Ok(Outcome::Done(c)) => {
            list_render(
                &state,
                &user,
                empty,
                FlashIn(None),
                Some((f.username.trim().to_string(), c.password)),
                None,
                None,
            )
            .await
        }
        Ok(Outcome::Pending(r)) => {
            list_render(&state, &user, empty, FlashIn(None), None, None, Some(r)).await
        }
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            Ok(web::invalid(
                list_render(&state, &user, empty, FlashIn(None), None, Some(msg), None).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<UserFilter>,
) -> AppResult<Response> {
    user.require(user.is_system_admin())?;
    let (rows, _) = store::list_users(&state, f.q.as_deref().unwrap_or(""), 100_000, 0).await?;
    use crate::xlsx::Cell;
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|u| {
            vec![
                Cell::Text(u.username),
                Cell::Text(u.display_name),
                Cell::text(if u.disabled != 0 { "停用" } else { "正常" }),
                Cell::Time(u.created_at),
            ]
        })
        .collect();
    Ok(crate::xlsx::download(
        "用户.xlsx",
        crate::xlsx::write_table("用户", &["用户名", "姓名", "状态", "创建时间"], &data)?,
    ))
}

#[derive(Template)]
#[template(path = "system/user_detail.html")]
struct UserDetail {
    ctx: PageCtx,
    u: UserSummary,
    grants: Vec<Grant>,
    password: Option<String>,
    error: Option<String>,
    units: Vec<(i64, String)>,
    pending: Option<Requested>,
}

async fn detail(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    password: Option<String>,
    error: Option<String>,
    pending: Option<Requested>,
) -> AppResult<Response> {
    user.require(user.is_system_admin())?;
    let u: UserSummary = sqlx::query_as("select user_id, username, display_name, must_change_password, disabled, created_at from app_user where user_id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    web::render(&UserDetail {
        ctx: PageCtx::new(user, &u.display_name, "/system/users", flash)
            .crumb("用户与角色", "/system/users")
            .crumb(u.username.clone(), format!("/system/users/{id}")),
        grants: store::grants(state, id).await?,
        u,
        password,
        error,
        units: units(state).await?,
        pending,
    })
}

async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&state, &user, id, flash, None, None, None).await
}

async fn reset_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    match reset_password(&state, &user, id).await {
        Ok(Outcome::Done(p)) => detail(&state, &user, id, FlashIn(None), Some(p), None, None).await,
        Ok(Outcome::Pending(r)) => {
            detail(&state, &user, id, FlashIn(None), None, None, Some(r)).await
        }
        Err(AppError::Conflict(message)) => Ok(web::invalid(
            detail(&state, &user, id, FlashIn(None), None, Some(message), None).await?,
        )),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RenameInput {
    pub username: String,
}

async fn rename_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<RenameInput>,
) -> AppResult<Response> {
    match rename(&state, &user, id, &f.username).await {
        Ok(()) if id == user.user_id => Ok(web::redirect_with_flash(
            "/login",
            "用户名已修改，请用新用户名重新登录",
        )),
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/system/users/{id}"),
            "用户名已修改",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            Ok(web::invalid(
                detail(&state, &user, id, FlashIn(None), None, Some(msg), None).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn disable_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    match set_disabled(&state, &user, id, true).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/system/users/{id}"),
            "用户已停用",
        )),
        Err(AppError::Invalid { message, .. }) => {
            detail(&state, &user, id, FlashIn(None), None, Some(message), None).await
        }
        Err(e) => Err(e),
    }
}

async fn enable_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_disabled(&state, &user, id, false).await?;
    Ok(web::redirect_with_flash(
        &format!("/system/users/{id}"),
        "用户已启用",
    ))
}

#[derive(Deserialize)]
struct GrantForm {
    role: String,
    #[serde(default)]
    scope_id: String,
}

async fn grant_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<GrantForm>,
) -> AppResult<Response> {
    match add_grant(&state, &user, id, grant_from(&f.role, &f.scope_id)).await {
        Ok(Outcome::Done(_)) => Ok(web::redirect_with_flash(
            &format!("/system/users/{id}"),
            "已授予角色",
        )),
        Ok(Outcome::Pending(r)) => {
            detail(&state, &user, id, FlashIn(None), None, None, Some(r)).await
        }
        Err(AppError::Conflict(message)) => Ok(web::invalid(
            detail(&state, &user, id, FlashIn(None), None, Some(message), None).await?,
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            Ok(web::invalid(
                detail(&state, &user, id, FlashIn(None), None, Some(msg), None).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn revoke_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, gid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    match revoke_grant(&state, &user, id, gid).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/system/users/{id}"),
            "已撤销角色",
        )),
        Err(AppError::Invalid { message, .. }) => {
            detail(&state, &user, id, FlashIn(None), None, Some(message), None).await
        }
        Err(e) => Err(e),
    }
}

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_reset))
        .routes(routes!(api_grants, api_add_grant))
        .routes(routes!(api_revoke))
        .routes(routes!(api_disable))
        .routes(routes!(api_rename))
}

/// Rename an account (system admin); its sessions end. Audited.
#[utoipa::path(post, path = "/users/{id}/rename", tag = "system", params(("id" = i64, Path)), request_body = RenameInput,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_rename(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(f): Json<RenameInput>,
) -> AppResult<StatusCode> {
    rename(&state, &user, id, &f.username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Users (system admin only).
#[utoipa::path(get, path = "/users", tag = "system", params(UserFilter), responses((status = 200, body = crate::web::ListPage<UserSummary>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<UserFilter>,
) -> AppResult<Json<crate::web::ListPage<UserSummary>>> {
    user.require(user.is_system_admin())?;
    let p = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let (items, total) = store::list_users(
        &state,
        f.q.as_deref().unwrap_or(""),
        p.per_page(),
        p.offset(),
    )
    .await?;
    Ok(Json(crate::web::ListPage { items, total }))
}

/// Create a user with one role grant; returns a one-time password. With the security-admin
/// or audit-admin role the answer is 202: a request a second admin must confirm, carrying
/// the password's first half.
#[utoipa::path(post, path = "/users", tag = "system", request_body = UserInput, responses((status = 201, body = CreatedUser), (status = 202, body = Requested), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<UserInput>,
) -> AppResult<Response> {
    Ok(match create(&state, &user, input).await? {
        Outcome::Done(c) => (StatusCode::CREATED, Json(c)).into_response(),
        Outcome::Pending(r) => approvals::accepted(r),
    })
}

#[derive(Serialize, ToSchema)]
pub struct ResetPassword {
    pub password: String,
}

/// Reset a user's password to a one-time password; their sessions end. For an account
/// holding the security-admin or audit-admin role the answer is 202: a request a second
/// admin must confirm, carrying the password's first half.
#[utoipa::path(post, path = "/users/{id}/password-reset", tag = "system", params(("id" = i64, Path)), responses((status = 200, body = ResetPassword), (status = 202, body = Requested), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn api_reset(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(match reset_password(&state, &user, id).await? {
        Outcome::Done(password) => Json(ResetPassword { password }).into_response(),
        Outcome::Pending(r) => approvals::accepted(r),
    })
}

/// A user's role grants.
#[utoipa::path(get, path = "/users/{id}/grants", tag = "system", params(("id" = i64, Path)), responses((status = 200, body = Vec<Grant>)))]
async fn api_grants(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Grant>>> {
    user.require(user.is_system_admin())?;
    Ok(Json(store::grants(&state, id).await?))
}

/// Grant a role over a scope. The security-admin and audit-admin roles answer 202: a
/// request a second admin must confirm.
#[utoipa::path(post, path = "/users/{id}/grants", tag = "system", params(("id" = i64, Path)), request_body = NewGrant, responses((status = 201, body = i64), (status = 202, body = Requested), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_add_grant(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(g): Json<NewGrant>,
) -> AppResult<Response> {
    Ok(match add_grant(&state, &user, id, g).await? {
        Outcome::Done(gid) => (StatusCode::CREATED, Json(gid)).into_response(),
        Outcome::Pending(r) => approvals::accepted(r),
    })
}

/// Revoke a role grant.
#[utoipa::path(delete, path = "/users/{id}/grants/{grant_id}", tag = "system", params(("id" = i64, Path), ("grant_id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn api_revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, gid)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    revoke_grant(&state, &user, id, gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct DisableInput {
    pub disabled: bool,
}

/// Disable or enable a user; disabling ends their sessions.
#[utoipa::path(put, path = "/users/{id}/disabled", tag = "system", params(("id" = i64, Path)), request_body = DisableInput, responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn api_disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(d): Json<DisableInput>,
) -> AppResult<StatusCode> {
    set_disabled(&state, &user, id, d.disabled).await?;
    Ok(StatusCode::NO_CONTENT)
}
