//! Communities (社区) where in-service members report; the committee keeps the list: name,
//! district (区) and street (街道), address, contact person and phone; imports it from
//! Excel (all rows or none, errors per row), and gives a community its account (a user with
//! the community role and a one-time password).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Community {
    pub community_id: i64,
    pub name: String,
    pub district: String,
    pub street: String,
    pub address: String,
    /// The contact person (联系人).
    pub contact: String,
    pub contact_phone: String,
}

pub const COLUMNS: &str = "community_id, name, district, street, address, contact, contact_phone";

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CommunityInput {
    pub name: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub contact_phone: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CommunityFilter {
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    f: &CommunityFilter,
    all: bool,
) -> AppResult<(Vec<Community>, i64)> {
    user.require(user.is_committee())?;
    let q = format!("%{}%", f.q.as_deref().unwrap_or("").trim());
    let mut sql = Sql::new(&format!(
        "select {COLUMNS} from community where (name like "
    ));
    sql.bind(q.clone())
        .push(" or street like ")
        .bind(q.clone())
        .push(" or district like ")
        .bind(q.clone())
        .push(") order by name");
    if !all {
        let p = Paging {
            page: f.page,
            per_page: f.per_page,
        };
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new("select count(*) from community where (name like ");
    count
        .bind(q.clone())
        .push(" or street like ")
        .bind(q.clone())
        .push(" or district like ")
        .bind(q)
        .push(")");
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}

/// A community's fields, cleaned and checked (the id left 0).
pub fn checked(input: &CommunityInput) -> AppResult<Community> {
    let name = crate::text::clean_text(&input.name);
    let address = crate::text::clean_text(&input.address);
    let contact = crate::text::clean_text(&input.contact);
    let district = crate::text::clean_text(&input.district);
    let street = crate::text::clean_text(&input.street);
    let phone = crate::text::clean_text(&input.contact_phone);
    let mut errors = FieldErrors::new();
    if district.chars().count() > 30 {
        errors.insert("district".into(), "区不超过30字".into());
    }
    if street.chars().count() > 30 {
        errors.insert("street".into(), "街道不超过30字".into());
    }
    let phone_ok = phone.is_empty()
        || (phone.len() <= 20
            && phone.chars().filter(|c| c.is_ascii_digit()).count() >= 7
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')')));
    if !phone_ok {
        errors.insert(
            "contact_phone".into(),
            format!("联系电话格式不正确：“{phone}”（如 0571-87654321 或 13800001111）"),
        );
    }
    if name.is_empty() || name.chars().count() > 60 {
        errors.insert("name".into(), "请填写社区名称（不超过60字）".into());
    }
    if address.chars().count() > 120 {
        errors.insert("address".into(), "地址不超过120字".into());
    }
    if contact.chars().count() > 60 {
        errors.insert("contact".into(), "联系人不超过60字".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    Ok(Community {
        community_id: 0,
        name,
        district,
        street,
        address,
        contact,
        contact_phone: phone,
    })
}

pub async fn create(state: &AppState, user: &CurrentUser, input: CommunityInput) -> AppResult<i64> {
    user.require(user.is_committee())?;
    let c = checked(&input)?;
    let name = c.name.clone();
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar("insert into community (name, district, street, address, contact, contact_phone, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7) returning community_id")
        .bind(name.clone())
        .bind(c.district)
        .bind(c.street)
        .bind(c.address)
        .bind(c.contact)
        .bind(c.contact_phone)
        .bind(t)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| crate::error::on_unique(e, "name", "该社区已登记"))?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "community.create",
            "community",
            id,
            format!("新建社区 {name}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn get_community(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Community> {
    user.require(user.is_committee())?;
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from community where community_id = $1"
    ))
    .bind(id)
    .fetch_one(&state.db.pool)
    .await?)
}

pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: CommunityInput,
) -> AppResult<()> {
    let before = get_community(state, user, id).await?;
    let mut after = checked(&input)?;
    after.community_id = id;
    let name = after.name.clone();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update community set name = $1, district = $2, street = $3, address = $4, contact = $5, contact_phone = $6, updated_at = $7 where community_id = $8",
    )
    .bind(name.clone())
    .bind(after.district.clone())
    .bind(after.street.clone())
    .bind(after.address.clone())
    .bind(after.contact.clone())
    .bind(after.contact_phone.clone())
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "该社区已登记"))?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "community.update",
            "community",
            id,
            format!("修改社区 {name}"),
        )
        .before(&before)
        .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Accounts granted the community role for it: while any exists it cannot be deleted.
async fn grants_of(state: &AppState, id: i64) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("select count(*) from role_grant where community_id = $1")
            .bind(id)
            .fetch_one(&state.db.pool)
            .await?,
    )
}

fn still_used(grants: i64) -> String {
    format!("该社区还有 {grants} 个社区账号的授权，不能删除。请先在“系统 → 用户与角色”中撤销这些授权，或改为修改社区信息。")
}

/// Deletes a community nothing refers to.
pub async fn delete(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let before = get_community(state, user, id).await?;
    let mut tx = state.db.begin_write().await?;
    let grants: i64 = sqlx::query_scalar("select count(*) from role_grant where community_id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    if grants > 0 {
        return Err(AppError::Conflict(still_used(grants)));
    }
    sqlx::query("delete from community where community_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "community.delete",
            "community",
            id,
            format!("删除社区 {}", before.name),
        )
        .before(&before),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/communities", get(page).post(create_page))
        .route("/org/communities/export", get(export_page))
        .route("/org/communities/import", post(import_page))
        .route("/org/communities/template", get(template_page))
        .route("/org/communities/{id}/account", post(account_page))
        .route("/org/communities/{id}", get(edit_page).post(update_page))
        .route(
            "/org/communities/{id}/delete",
            get(delete_confirm_page).post(delete_page),
        )
}

#[derive(Template)]
#[template(path = "org/community_edit.html")]
struct CommunityEditPage {
    ctx: PageCtx,
    c: Community,
    errors: FieldErrors,
    /// The community's accounts (usernames).
    accounts: Vec<String>,
    /// The account just made and its one-time password.
    username: String,
    password: Option<String>,
}

async fn accounts_of(state: &AppState, id: i64) -> AppResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select u.username from role_grant g join app_user u on u.user_id = g.user_id where g.role = 'community' and g.community_id = $1 order by u.username",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?)
}

fn edit_ctx(user: &CurrentUser, c: &Community, title: &str) -> PageCtx {
    PageCtx::new(user, title, "/org/communities", FlashIn(None))
        .crumb("组织体系", "/org/units")
        .crumb("社区", "/org/communities")
        .crumb(
            c.name.clone(),
            format!("/org/communities/{}", c.community_id),
        )
}

async fn edit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = get_community(&state, &user, id).await?;
    web::render(&CommunityEditPage {
        ctx: edit_ctx(&user, &c, "修改社区"),
        c,
        errors: FieldErrors::new(),
        accounts: accounts_of(&state, id).await?,
        username: String::new(),
        password: None,
    })
}

async fn update_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<CommunityInput>,
) -> AppResult<Response> {
    let c = get_community(&state, &user, id).await?;
    match update(&state, &user, id, input.clone()).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/communities",
            "社区信息已修改",
        )),
        Err(AppError::Invalid { fields, .. }) => web::render_invalid(&CommunityEditPage {
            ctx: edit_ctx(&user, &c, "修改社区"),
            c: Community {
                community_id: id,
                name: input.name,
                district: input.district,
                street: input.street,
                address: input.address,
                contact: input.contact,
                contact_phone: input.contact_phone,
            },
            errors: fields,
            accounts: accounts_of(&state, id).await?,
            username: String::new(),
            password: None,
        }),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "org/community_delete.html")]
struct CommunityDeletePage {
    ctx: PageCtx,
    c: Community,
    refused: Option<String>,
}

/// The confirmation step: what will be deleted, or why it cannot be.
async fn delete_confirm_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = get_community(&state, &user, id).await?;
    let grants = grants_of(&state, id).await?;
    web::render(&CommunityDeletePage {
        ctx: edit_ctx(&user, &c, "删除社区"),
        c,
        refused: (grants > 0).then(|| still_used(grants)),
    })
}

async fn delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = get_community(&state, &user, id).await?;
    match delete(&state, &user, id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/org/communities",
            &format!("已删除社区“{}”", c.name),
        )),
        Err(AppError::Conflict(msg)) => {
            let mut page = web::render(&CommunityDeletePage {
                ctx: edit_ctx(&user, &c, "删除社区"),
                c,
                refused: Some(msg),
            })?;
            *page.status_mut() = StatusCode::CONFLICT;
            Ok(page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "org/communities.html")]
struct CommunitiesPage {
    ctx: PageCtx,
    rows: Vec<Community>,
    pager: Pager,
    q: String,
    error: Option<String>,
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    f: CommunityFilter,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    let (rows, total) = list(state, user, &f, false).await?;
    let q = f.q.clone().unwrap_or_default();
    web::render(&CommunitiesPage {
        ctx: PageCtx::new(user, "社区", "/org/communities", flash)
            .crumb("组织体系", "/org/units")
            .crumb("社区", "/org/communities"),
        pager: Pager::new(
            &Paging {
                page: f.page,
                per_page: f.per_page,
            },
            total,
            "/org/communities",
            &web::query_string(&[("q", q.clone())]),
        ),
        rows,
        q,
        error,
    })
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<CommunityFilter>,
) -> AppResult<Response> {
    render(&state, &user, f, flash, None).await
}

async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<CommunityInput>,
) -> AppResult<Response> {
    match create(&state, &user, input).await {
        Ok(_) => Ok(web::redirect_with_flash("/org/communities", "社区已登记")),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            Ok(web::invalid(
                render(
                    &state,
                    &user,
                    CommunityFilter {
                        q: None,
                        page: None,
                        per_page: None,
                    },
                    FlashIn(None),
                    Some(msg),
                )
                .await?,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<CommunityFilter>,
) -> AppResult<Response> {
    let (rows, _) = list(&state, &user, &f, true).await?;
    let data: Vec<Vec<crate::xlsx::Cell>> = rows
        .into_iter()
        .map(|c| {
            crate::xlsx::Cell::texts(vec![
                c.name,
                c.district,
                c.street,
                c.address,
                c.contact,
                c.contact_phone,
            ])
        })
        .collect();
    Ok(crate::xlsx::download(
        "社区.xlsx",
        crate::xlsx::write_table("社区", &IMPORT_HEADERS, &data)?,
    ))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_update, api_delete))
        .routes(routes!(api_account))
}

/// Communities (committee only).
#[utoipa::path(get, path = "/communities", tag = "org", params(CommunityFilter), responses((status = 200, body = crate::web::ListPage<Community>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<CommunityFilter>,
) -> AppResult<Json<crate::web::ListPage<Community>>> {
    let (items, total) = list(&state, &user, &f, false).await?;
    Ok(Json(crate::web::ListPage { items, total }))
}

/// Register a community (committee only).
#[utoipa::path(post, path = "/communities", tag = "org", request_body = CommunityInput, responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<CommunityInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

/// One community (committee only).
#[utoipa::path(get, path = "/communities/{id}", tag = "org", responses((status = 200, body = Community), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Community>> {
    Ok(Json(get_community(&state, &user, id).await?))
}

/// Change a community's name, address or contact (committee only).
#[utoipa::path(put, path = "/communities/{id}", tag = "org", request_body = CommunityInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<CommunityInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a community (committee only); refused (409) while community accounts are granted
/// for it.
#[utoipa::path(delete, path = "/communities/{id}", tag = "org", responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountInput {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    pub user_id: i64,
    pub username: String,
    /// One-time: the community must change it at first login.
    pub password: String,
}

/// Gives community `id` an account (the committee): a user with the community role for it
/// and a one-time password, audited with the user's creation.
pub async fn create_account(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &AccountInput,
) -> AppResult<AccountCreated> {
    let c = get_community(state, user, id).await?;
    let username = input.username.trim().to_string();
    let display = crate::text::clean_text(&input.display_name);
    let password = crate::auth::password::generate();
    let user_id = crate::auth::store::create_user(
        state,
        &user.actor(),
        crate::auth::store::NewUser {
            username: username.clone(),
            display_name: if display.is_empty() {
                c.name.clone()
            } else {
                display
            },
            password: password.clone(),
            must_change_password: true,
        },
        &[crate::auth::store::NewGrant {
            role: "community".into(),
            unit_id: None,
            org_id: None,
            member_id: None,
            community_id: Some(id),
        }],
    )
    .await?;
    Ok(AccountCreated {
        user_id,
        username,
        password,
    })
}

async fn account_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<AccountInput>,
) -> AppResult<Response> {
    let c = get_community(&state, &user, id).await?;
    let (errors, username, password, status) = match create_account(&state, &user, id, &input).await
    {
        Ok(a) => (
            FieldErrors::new(),
            a.username,
            Some(a.password),
            StatusCode::OK,
        ),
        Err(AppError::Invalid {
            message,
            mut fields,
        }) => {
            if fields.is_empty() {
                fields.insert("username".into(), message);
            }
            if !fields.contains_key("username") {
                let all = fields.values().cloned().collect::<Vec<_>>().join("；");
                fields.insert("username".into(), all);
            }
            (
                fields,
                input.username.clone(),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => return Err(e),
    };
    let mut page = web::render(&CommunityEditPage {
        ctx: edit_ctx(&user, &c, "修改社区"),
        c,
        errors,
        accounts: accounts_of(&state, id).await?,
        username,
        password,
    })?;
    *page.status_mut() = status;
    Ok(page)
}

/// The columns of the import and the export.
pub const IMPORT_HEADERS: [&str; 6] = ["名称", "区", "街道", "地址", "联系人", "联系电话"];

/// One problem of an import, by the row Excel shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    pub row: usize,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOutcome {
    pub created: usize,
    pub updated: usize,
    /// When any: nothing was written.
    pub errors: Vec<ImportProblem>,
}

/// Imports communities from a workbook (the committee): a row whose name is registered
/// updates it, another adds one; any row in error and nothing is written.
pub async fn import(
    state: &AppState,
    user: &CurrentUser,
    bytes: &[u8],
) -> AppResult<ImportOutcome> {
    user.require(user.is_committee())?;
    let rows = crate::xlsx::read_first_sheet(bytes)?;
    let header = rows.first().ok_or_else(|| {
        AppError::invalid("表格是空的：第一行应为表头“名称、区、街道、地址、联系人、联系电话”")
    })?;
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let Some(name_col) = col("名称") else {
        return Err(AppError::invalid(
            "第一行缺少“名称”列：请使用“下载模板”得到的表格填写",
        ));
    };
    let cols: Vec<Option<usize>> = IMPORT_HEADERS.iter().map(|h| col(h)).collect();
    let cell = |row: &Vec<String>, i: usize| -> String {
        cols[i]
            .and_then(|c| row.get(c))
            .cloned()
            .unwrap_or_default()
    };
    let existing: std::collections::HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("select name, community_id from community")
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .collect();
    let mut errors = Vec::new();
    let mut planned: Vec<(Option<i64>, Community)> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        let excel_row = i + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let input = CommunityInput {
            name: row.get(name_col).cloned().unwrap_or_default(),
            district: cell(row, 1),
            street: cell(row, 2),
            address: cell(row, 3),
            contact: cell(row, 4),
            contact_phone: cell(row, 5),
        };
        match checked(&input) {
            Ok(c) => {
                if let Some(first) = seen.insert(c.name.clone(), excel_row) {
                    errors.push(ImportProblem {
                        row: excel_row,
                        message: format!("社区“{}”与第{first}行重复", c.name),
                    });
                    continue;
                }
                planned.push((existing.get(&c.name).copied(), c));
            }
            Err(AppError::Invalid { message, fields }) => {
                let msg = if fields.is_empty() {
                    message
                } else {
                    fields.into_values().collect::<Vec<_>>().join("；")
                };
                errors.push(ImportProblem {
                    row: excel_row,
                    message: msg,
                });
            }
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() && planned.is_empty() {
        return Err(AppError::invalid(
            "表格中没有社区数据：请从第二行起逐行填写",
        ));
    }
    if !errors.is_empty() {
        return Ok(ImportOutcome {
            created: 0,
            updated: 0,
            errors,
        });
    }
    let t = now();
    let (mut created, mut updated) = (0, 0);
    let mut tx = state.db.begin_write().await?;
    for (id, c) in &planned {
        match id {
            Some(id) => {
                sqlx::query("update community set district = $1, street = $2, address = $3, contact = $4, contact_phone = $5, updated_at = $6 where community_id = $7")
                    .bind(c.district.clone())
                    .bind(c.street.clone())
                    .bind(c.address.clone())
                    .bind(c.contact.clone())
                    .bind(c.contact_phone.clone())
                    .bind(t)
                    .bind(*id)
                    .execute(tx.conn())
                    .await?;
                updated += 1;
            }
            None => {
                sqlx::query("insert into community (name, district, street, address, contact, contact_phone, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7)")
                    .bind(c.name.clone())
                    .bind(c.district.clone())
                    .bind(c.street.clone())
                    .bind(c.address.clone())
                    .bind(c.contact.clone())
                    .bind(c.contact_phone.clone())
                    .bind(t)
                    .execute(tx.conn())
                    .await?;
                created += 1;
            }
        }
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "community.import",
            "community",
            0,
            format!("导入社区：新增 {created} 个，更新 {updated} 个"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ImportOutcome {
        created,
        updated,
        errors: Vec::new(),
    })
}

async fn import_page(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: axum::extract::Multipart,
) -> AppResult<Response> {
    user.require(user.is_committee())?;
    let r = match crate::org::import::store::read_upload(mp, state.config.max_upload_bytes).await {
        Ok(bytes) => import(&state, &user, &bytes).await,
        Err(e) => Err(e),
    };
    let f = CommunityFilter {
        q: None,
        page: None,
        per_page: None,
    };
    match r {
        Ok(o) if o.errors.is_empty() => Ok(web::redirect_with_flash(
            "/org/communities",
            &format!("导入完成：新增 {} 个社区，更新 {} 个", o.created, o.updated),
        )),
        Ok(o) => {
            let msg = format!(
                "导入未执行（全部未写入），请修改后重新上传：{}",
                o.errors
                    .iter()
                    .take(20)
                    .map(|e| format!("第{}行：{}", e.row, e.message))
                    .collect::<Vec<_>>()
                    .join("；")
            );
            Ok(web::invalid(
                render(&state, &user, f, FlashIn(None), Some(msg)).await?,
            ))
        }
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            Ok(web::invalid(
                render(&state, &user, f, FlashIn(None), Some(msg)).await?,
            ))
        }
        Err(AppError::TooLarge(m)) => {
            let mut page = render(&state, &user, f, FlashIn(None), Some(m)).await?;
            *page.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            Ok(page)
        }
        Err(e) => Err(e),
    }
}

async fn template_page(user: CurrentUser) -> AppResult<Response> {
    user.require(user.is_committee())?;
    let sample = vec![crate::xlsx::Cell::texts(vec![
        "新华社区".into(),
        "东城区".into(),
        "新华街道".into(),
        "新华路12号".into(),
        "张敏".into(),
        "0571-87654321".into(),
    ])];
    Ok(crate::xlsx::download(
        "社区导入模板.xlsx",
        crate::xlsx::write_table("社区", &IMPORT_HEADERS, &sample)?,
    ))
}

/// Give a community its account (committee only): a user with the community role and a
/// one-time password, shown once.
#[utoipa::path(post, path = "/communities/{id}/account", tag = "org", request_body = AccountInput, responses((status = 201, body = AccountCreated), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<AccountInput>,
) -> AppResult<(StatusCode, Json<AccountCreated>)> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&state, &user, id, &input).await?),
    ))
}
