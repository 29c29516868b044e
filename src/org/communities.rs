//! Communities (社区) where in-service members report; the committee keeps the list.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
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
    pub address: String,
    pub contact: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CommunityInput {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact: String,
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
    let mut sql =
        Sql::new("select community_id, name, address, contact from community where name like ");
    sql.bind(q.clone()).push(" order by name");
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
    let mut count = Sql::new("select count(*) from community where name like ");
    count.bind(q);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}

/// A community's fields, cleaned and checked.
fn checked(input: &CommunityInput) -> AppResult<(String, String, String)> {
    let name = crate::text::clean_text(&input.name);
    let address = crate::text::clean_text(&input.address);
    let contact = crate::text::clean_text(&input.contact);
    let mut errors = FieldErrors::new();
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
    Ok((name, address, contact))
}

pub async fn create(state: &AppState, user: &CurrentUser, input: CommunityInput) -> AppResult<i64> {
    user.require(user.is_committee())?;
    let (name, address, contact) = checked(&input)?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar("insert into community (name, address, contact, created_at, updated_at) values ($1, $2, $3, $4, $5) returning community_id")
        .bind(name.clone())
        .bind(address)
        .bind(contact)
        .bind(t)
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
    Ok(sqlx::query_as(
        "select community_id, name, address, contact from community where community_id = $1",
    )
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
    let (name, address, contact) = checked(&input)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update community set name = $1, address = $2, contact = $3, updated_at = $4 where community_id = $5",
    )
    .bind(name.clone())
    .bind(address.clone())
    .bind(contact.clone())
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "该社区已登记"))?;
    let after = Community {
        community_id: id,
        name: name.clone(),
        address,
        contact,
    };
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
                address: input.address,
                contact: input.contact,
            },
            errors: fields,
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
        .map(|c| crate::xlsx::Cell::texts(vec![c.name, c.address, c.contact]))
        .collect();
    Ok(crate::xlsx::download(
        "社区.xlsx",
        crate::xlsx::write_table("社区", &["名称", "地址", "联系人"], &data)?,
    ))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_update, api_delete))
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
