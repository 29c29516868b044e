//! 组织生活's JSON API: the same operations as the pages, with the same permissions.

use super::pages::*;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rules::{self};
use super::store::{
    self, Attendance, ComplianceLine, GridRow, Meeting, MeetingFilter, MeetingInput, MyMeeting,
    RegisterMember, ReviewStep, RuleInput, Step,
};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_export))
        .routes(routes!(api_get, api_update, api_delete))
        .routes(routes!(api_submit))
        .routes(routes!(api_accept))
        .routes(routes!(api_return))
        .routes(routes!(api_register))
        .routes(routes!(api_calendar))
        .routes(routes!(api_compliance))
        .routes(routes!(api_compliance_export))
        .routes(routes!(api_rules, api_set_rule))
        .routes(routes!(api_mine))
        .routes(routes!(api_attachments, api_attach))
        .routes(routes!(api_attachment, api_detach))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(in crate::orglife) struct AttachmentUpload {
    /// A photo (JPG, PNG, WebP) or a PDF scan, at most 10 MB; the type is read from the content.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// A record's attachments.
#[utoipa::path(get, path = "/meetings/{id}/attachments", tag = "orglife", params(("id" = i64, Path)), responses((status = 200, body = Vec<super::attachments::Attachment>), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_attachments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<super::attachments::Attachment>>> {
    store::get(&state, &user, id).await?;
    Ok(Json(super::attachments::list(&state, id).await?))
}

/// Attach a photo or scan to a draft or returned record (multipart field `file`).
#[utoipa::path(post, path = "/meetings/{id}/attachments", tag = "orglife", params(("id" = i64, Path)), request_body(content = AttachmentUpload, content_type = "multipart/form-data"), responses((status = 201, body = i64), (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_attach(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    mp: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<i64>)> {
    let (name, bytes) = super::attachments::read_file(mp).await?;
    let aid = super::attachments::add(&state, &user, id, &name, &bytes).await?;
    Ok((StatusCode::CREATED, Json(aid)))
}

/// The attached file.
#[utoipa::path(get, path = "/meetings/{id}/attachments/{aid}", tag = "orglife", params(("id" = i64, Path), ("aid" = i64, Path)), responses((status = 200, description = "the file"), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_attachment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    super::attachments::download(&state, &user, id, aid).await
}

/// Remove an attachment from a draft or returned record.
#[utoipa::path(delete, path = "/meetings/{id}/attachments/{aid}", tag = "orglife", params(("id" = i64, Path), ("aid" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_detach(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    super::attachments::remove(&state, &user, id, aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Meeting records in the caller's scope.
#[utoipa::path(get, path = "/meetings", tag = "orglife", params(MeetingFilter), responses((status = 200, body = crate::web::ListPage<Meeting>), (status = 403, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MeetingFilter>,
) -> AppResult<Json<crate::web::ListPage<Meeting>>> {
    let (items, total) = store::list(&state, &user, &f, false).await?;
    Ok(Json(crate::web::ListPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub meeting_id: i64,
    /// True when the same client_token was already saved: nothing new was written.
    pub duplicate: bool,
}

/// Record a meeting (saved as a draft). A repeated client_token answers 409 with the saved id.
#[utoipa::path(post, path = "/meetings", tag = "orglife", request_body = MeetingInput, responses((status = 201, body = Created), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<MeetingInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let saved = store::create(&state, &user, input).await?;
    if saved.duplicate {
        return Err(AppError::Conflict(format!(
            "该记录已经提交过（编号 {}），未重复登记",
            saved.meeting_id
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(Created {
            meeting_id: saved.meeting_id,
            duplicate: false,
        }),
    ))
}

/// The records matching the filter as .xlsx.
#[utoipa::path(get, path = "/meetings/export", tag = "orglife", params(MeetingFilter), responses((status = 200, description = "xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub(in crate::orglife) async fn api_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MeetingFilter>,
) -> AppResult<Response> {
    Ok(crate::xlsx::download(
        "组织生活记录.xlsx",
        export(&state, &user, &f).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MeetingDetail {
    pub meeting: Meeting,
    pub attendance: Vec<Attendance>,
    pub trail: Vec<ReviewStep>,
}

/// One record with its attendance and review trail.
#[utoipa::path(get, path = "/meetings/{id}", tag = "orglife", params(("id" = i64, Path)), responses((status = 200, body = MeetingDetail), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<MeetingDetail>> {
    let meeting = store::get(&state, &user, id).await?;
    Ok(Json(MeetingDetail {
        attendance: store::attendance(&state, id).await?,
        trail: store::review_trail(&state, id).await?,
        meeting,
    }))
}

/// Edit a record (not while under review; an accepted one goes back to review).
#[utoipa::path(put, path = "/meetings/{id}", tag = "orglife", params(("id" = i64, Path)), request_body = MeetingInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<MeetingInput>,
) -> AppResult<StatusCode> {
    store::update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a draft or returned record.
#[utoipa::path(delete, path = "/meetings/{id}", tag = "orglife", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Submit a draft or returned record for review.
#[utoipa::path(post, path = "/meetings/{id}/submit", tag = "orglife", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::step(&state, &user, id, Step::Submit, "").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept a submitted record (unit admin or committee).
#[utoipa::path(post, path = "/meetings/{id}/accept", tag = "orglife", params(("id" = i64, Path)), request_body = CommentForm, responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: Option<Json<CommentForm>>,
) -> AppResult<StatusCode> {
    let c = body.map(|b| b.0.comment).unwrap_or_default();
    store::step(&state, &user, id, Step::Accept, &c).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Return a submitted record with the reason (unit admin or committee).
#[utoipa::path(post, path = "/meetings/{id}/return", tag = "orglife", params(("id" = i64, Path)), request_body = CommentForm, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_return(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<CommentForm>,
) -> AppResult<StatusCode> {
    store::step(&state, &user, id, Step::Return, &body.comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct RegisterParams {
    pub branch_id: i64,
    /// YYYY-MM-DD
    pub held_on: String,
}

/// The branch's members on a date, with who votes and who sits on the committee.
#[utoipa::path(get, path = "/orglife/register", tag = "orglife", params(RegisterParams), responses((status = 200, body = Vec<RegisterMember>), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_register(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RegisterParams>,
) -> AppResult<Json<Vec<RegisterMember>>> {
    user.require(store::may_read(&user))?;
    store::branch_in_scope(&state, &user, q.branch_id).await?;
    let d = crate::text::parse_date(q.held_on.trim())
        .map_err(|e| AppError::field("held_on", format!("日期：{e}")))?;
    Ok(Json(store::register_on(&state, q.branch_id, d).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct GridParams {
    pub branch_id: i64,
    pub year: Option<String>,
}

/// A branch's year, kind by kind and period by period.
#[utoipa::path(get, path = "/orglife/calendar", tag = "orglife", params(GridParams), responses((status = 200, body = Vec<GridRow>), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<GridParams>,
) -> AppResult<Json<Vec<GridRow>>> {
    let year = store::year_or_now(q.year.as_deref());
    Ok(Json(
        store::branch_grid(&state, &user, q.branch_id, year)
            .await?
            .0,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ComplianceTable {
    /// One page of the matching lines, in the order asked for.
    pub lines: Vec<ComplianceLine>,
    /// How many lines match the filter in all.
    pub matched: i64,
    /// Everything in scope (under the unit or category filter).
    pub total: ComplianceLine,
}

/// Compliance rates for a year by category, unit or branch, and in total: filtered
/// (`only`, `q`, `unit_id`, `category_id`), sorted (`sort`) and paged (50 lines a page
/// unless `per_page` says otherwise). An unknown `sort` or `only` answers 422.
#[utoipa::path(get, path = "/orglife/compliance", tag = "orglife", params(ComplianceQuery), responses((status = 200, body = ComplianceTable), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_compliance(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ComplianceQuery>,
) -> AppResult<Json<ComplianceTable>> {
    let t = compliance_table(&state, &user, &q, true).await?;
    Ok(Json(ComplianceTable {
        lines: t.lines,
        matched: t.matched,
        total: t.total,
    }))
}

/// The compliance table as .xlsx.
#[utoipa::path(get, path = "/orglife/compliance/export", tag = "orglife", params(ComplianceQuery), responses((status = 200, description = "xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub(in crate::orglife) async fn api_compliance_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ComplianceQuery>,
) -> AppResult<Response> {
    user.require(store::may_read(&user))?;
    Ok(crate::xlsx::download(
        "组织生活合规统计.xlsx",
        compliance_xlsx(&state, &user, &q).await?,
    ))
}

/// Every meeting rule, each from its first year on.
#[utoipa::path(get, path = "/meeting-rules", tag = "orglife", responses((status = 200, body = Vec<rules::Rule>)))]
pub(in crate::orglife) async fn api_rules(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<rules::Rule>>> {
    user.require(store::may_read(&user))?;
    Ok(Json(store::load_rules(&state).await?))
}

/// Set the rule of a kind from a year on (committee only).
#[utoipa::path(put, path = "/meeting-rules", tag = "orglife", request_body = RuleInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_set_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<RuleInput>,
) -> AppResult<StatusCode> {
    store::set_rule(&state, &user, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MyYear {
    pub items: Vec<MyMeeting>,
    /// Percent present over the accepted meetings listed.
    pub rate: Option<f64>,
}

#[derive(Deserialize, IntoParams)]
pub struct MyParams {
    pub year: Option<String>,
}

/// The caller's own meetings and attendance rate (members).
#[utoipa::path(get, path = "/me/meetings", tag = "orglife", params(MyParams), responses((status = 200, body = MyYear), (status = 403, body = crate::error::ErrorBody)))]
pub(in crate::orglife) async fn api_mine(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MyParams>,
) -> AppResult<Json<MyYear>> {
    let year = store::year_or_now(q.year.as_deref());
    let (items, rate) = store::my_meetings(&state, &user, year).await?;
    Ok(Json(MyYear { items, rate }))
}
