//! 分级定档's JSON API: the standard's versions, with the same store calls and permissions
//! as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::store::{self, ContentInput, CopyInput, Standard, StandardFilter, StandardInfo};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::ListPage;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_copy))
        .routes(routes!(api_get, api_save, api_delete))
        .routes(routes!(api_publish))
        .routes(routes!(api_cycles, api_open))
        .routes(routes!(api_accept_category))
        .routes(routes!(api_assessments))
        .routes(routes!(api_assessment))
        .routes(routes!(api_roadmap))
        .routes(routes!(api_self_check))
        .routes(routes!(api_submit))
        .routes(routes!(api_review))
        .routes(routes!(api_forward))
        .routes(routes!(api_return))
        .routes(routes!(api_accept))
        .routes(routes!(api_mark_veto))
        .routes(routes!(api_clear_veto))
        .routes(routes!(api_rectify))
        .routes(routes!(api_rectified))
        .routes(routes!(api_apply))
        .routes(routes!(api_decide))
        .routes(routes!(api_categories))
}

/// Versions of the grading standard, newest first (drafts for the committee only).
#[utoipa::path(get, path = "/grading/standards", tag = "grading", params(StandardFilter), responses((status = 200, body = ListPage<StandardInfo>), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<StandardFilter>,
) -> AppResult<Json<ListPage<StandardInfo>>> {
    let items = store::list(&state, &user, &f).await?;
    let total = items.len() as i64;
    Ok(Json(ListPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub standard_id: i64,
}

/// Copy a version into a new draft for a year (the committee).
#[utoipa::path(post, path = "/grading/standards", tag = "grading", request_body = CopyInput, responses((status = 201, body = Created), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_copy(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<CopyInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let standard_id = store::copy(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { standard_id })))
}

/// A version with its dimensions, criteria, tier thresholds and vetoes.
#[utoipa::path(get, path = "/grading/standards/{id}", tag = "grading", params(("id" = i64, Path)), responses((status = 200, body = Standard), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Standard>> {
    Ok(Json(store::get(&state, &user, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Saved {
    /// The row version to send with the next write.
    pub row_version: i64,
}

/// Replace a draft's content (the committee). A published version is frozen (409); a
/// `row_version` other than the draft's own means someone changed it since (409).
#[utoipa::path(put, path = "/grading/standards/{id}", tag = "grading", params(("id" = i64, Path)), request_body = ContentInput, responses((status = 200, body = Saved), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ContentInput>,
) -> AppResult<Json<Saved>> {
    let row_version = store::save(&state, &user, id, &input).await?;
    Ok(Json(Saved { row_version }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The row version the caller saw; without it, the draft as it is now.
    pub row_version: Option<i64>,
}

/// Delete a draft (the committee).
#[utoipa::path(delete, path = "/grading/standards/{id}", tag = "grading", params(("id" = i64, Path), DeleteParams), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DeleteParams>,
) -> AppResult<StatusCode> {
    store::delete(&state, &user, id, q.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct PublishInput {
    pub row_version: i64,
}

/// Check a draft and publish it; from then on it cannot change (the committee).
#[utoipa::path(post, path = "/grading/standards/{id}/publish", tag = "grading", params(("id" = i64, Path)), request_body = PublishInput, responses((status = 204), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<PublishInput>,
) -> AppResult<StatusCode> {
    store::publish(&state, &user, id, input.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- assessments ----

use super::assess::{
    self, ApplyInput, CategoryLine, Cycle, DecideInput, Detail, ListFilter, OpenInput,
    RectificationInput, ReviewEdit, SelfEdit, SelfItem, UnitItem, VetoInput,
};
use super::rules::{Score, Tier};
use super::scoring::Stage;

/// Assessment cycles, newest year first.
#[utoipa::path(get, path = "/grading/cycles", tag = "grading", responses((status = 200, body = ListPage<Cycle>), (status = 403, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_cycles(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<ListPage<Cycle>>> {
    let items = assess::cycles(&state, &user).await?;
    let total = items.len() as i64;
    Ok(Json(ListPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct Opened {
    pub cycle_id: i64,
    /// Assessments added (every branch on opening; branches set up since, on opening again).
    pub added: u64,
}

/// Open a year's assessment cycle (the committee): every branch gets an assessment under
/// the year's standard in force. Again for an open year: adds branches set up since.
#[utoipa::path(post, path = "/grading/cycles", tag = "grading", request_body = OpenInput, responses((status = 201, body = Opened), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_open(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<OpenInput>,
) -> AppResult<(StatusCode, Json<Opened>)> {
    let (cycle_id, added) = assess::open(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(Opened { cycle_id, added })))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct CategoryInput {
    pub category_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub accepted: usize,
}

/// Accept every assessment of a category awaiting 考核验收 in a year (the committee).
#[utoipa::path(post, path = "/grading/cycles/{year}/accept", tag = "grading", params(("year" = i64, Path)), request_body = CategoryInput, responses((status = 200, body = Accepted), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_accept_category(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<i64>,
    Json(input): Json<CategoryInput>,
) -> AppResult<Json<Accepted>> {
    let accepted = assess::accept_category(&state, &user, year, input.category_id).await?;
    Ok(Json(Accepted { accepted }))
}

/// An assessment in the tier list.
#[derive(Serialize, ToSchema)]
pub struct AssessmentItem {
    pub assessment_id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_id: i64,
    pub category_name: String,
    pub stage: Stage,
    pub score: Score,
    /// The accepted tier, or the one the score gives now (`accepted` false).
    pub tier: Tier,
    pub accepted: bool,
    /// Points short of the next tier (none in 一档).
    pub up: Option<Score>,
    /// Points above the current tier's minimum (none in 四档).
    pub down: Option<Score>,
    pub vetoes: usize,
}

impl From<&super::board::Entry> for AssessmentItem {
    fn from(e: &super::board::Entry) -> Self {
        AssessmentItem {
            assessment_id: e.assessment_id,
            branch_id: e.branch_id,
            branch_name: e.branch_name.clone(),
            unit_id: e.unit_id,
            unit_name: e.unit_name.clone(),
            category_id: e.category_id,
            category_name: e.category_name.clone(),
            stage: e.stage,
            score: e.score,
            tier: e.tier,
            accepted: e.accepted,
            up: e.up,
            down: e.down,
            vetoes: e.vetoes,
        }
    }
}

/// The tier list: a cycle's assessments the caller sees, filtered, sorted and paged.
#[utoipa::path(get, path = "/grading/assessments", tag = "grading", params(ListFilter), responses((status = 200, body = ListPage<AssessmentItem>), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_assessments(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<ListFilter>,
) -> AppResult<Json<ListPage<AssessmentItem>>> {
    let c = assess::check(&f)?;
    let Some((_, b)) = assess::board_of(&state, &user, c.year).await? else {
        return Ok(Json(ListPage {
            items: Vec::new(),
            total: 0,
        }));
    };
    let all = assess::filtered(&user, &b, &c);
    let paging = crate::web::Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let items = all
        .iter()
        .skip(usize::try_from(paging.offset()).unwrap_or(0))
        .take(usize::try_from(paging.per_page()).unwrap_or(20))
        .map(|e| AssessmentItem::from(*e))
        .collect();
    Ok(Json(ListPage {
        items,
        total: all.len() as i64,
    }))
}

/// One assessment: every criterion scored (automatic ones live until submission), the
/// tier and why, the roadmap, vetoes, timeline, rectification plan and applications.
#[utoipa::path(get, path = "/grading/assessments/{id}", tag = "grading", params(("id" = i64, Path)), responses((status = 200, body = Detail), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_assessment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Detail>> {
    Ok(Json(assess::detail(&state, &user, id).await?))
}

/// The road to the next tier: the points short, the vetoes to clear, the fewest criteria
/// to win back and the actions, each with the page where it is done.
#[utoipa::path(get, path = "/grading/assessments/{id}/roadmap", tag = "grading", params(("id" = i64, Path)), responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_roadmap(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<super::scoring::Roadmap>> {
    Ok(Json(assess::detail(&state, &user, id).await?.roadmap))
}

#[derive(Deserialize, ToSchema)]
pub struct SelfItemJson {
    pub number: i64,
    pub score: Option<f64>,
    pub note: Option<String>,
    pub evidence: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct SelfCheckJson {
    pub row_version: i64,
    /// Manual criteria only; an automatic one is refused.
    pub items: Vec<SelfItemJson>,
    /// 加分, up to the standard's cap.
    pub extra: Option<f64>,
    pub extra_note: Option<String>,
}

/// Save the branch's self-check (对标自查). 409 when someone changed it since, or it was
/// submitted.
#[utoipa::path(put, path = "/grading/assessments/{id}/self-check", tag = "grading", params(("id" = i64, Path)), request_body = SelfCheckJson, responses((status = 200, body = Saved), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_self_check(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<SelfCheckJson>,
) -> AppResult<Json<Saved>> {
    let edit = SelfEdit {
        row_version: input.row_version,
        items: input
            .items
            .into_iter()
            .map(|i| SelfItem {
                number: i.number,
                score: assess::number_text(i.score),
                note: i.note,
                evidence: i.evidence,
            })
            .collect(),
        extra: assess::number_text(input.extra),
        extra_note: input.extra_note,
    };
    let row_version = assess::save_self(&state, &user, id, &edit).await?;
    Ok(Json(Saved { row_version }))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct RowVersion {
    pub row_version: i64,
}

/// The branch submits its self-check to the unit; automatic criteria are frozen.
#[utoipa::path(post, path = "/grading/assessments/{id}/submit", tag = "grading", params(("id" = i64, Path)), request_body = RowVersion, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<RowVersion>,
) -> AppResult<StatusCode> {
    assess::submit(&state, &user, id, input.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct UnitItemJson {
    pub number: i64,
    /// The adjusted score; absent to remove an adjustment.
    pub score: Option<f64>,
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ReviewJson {
    pub row_version: i64,
    pub items: Vec<UnitItemJson>,
}

/// The unit adjusts manual scores, each with a reason (单位审核).
#[utoipa::path(put, path = "/grading/assessments/{id}/review", tag = "grading", params(("id" = i64, Path)), request_body = ReviewJson, responses((status = 200, body = Saved), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_review(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ReviewJson>,
) -> AppResult<Json<Saved>> {
    let edit = ReviewEdit {
        row_version: input.row_version,
        items: input
            .items
            .into_iter()
            .map(|i| UnitItem {
                number: i.number,
                score: assess::number_text(i.score),
                reason: i.reason,
            })
            .collect(),
    };
    let row_version = assess::save_review(&state, &user, id, &edit).await?;
    Ok(Json(Saved { row_version }))
}

/// The unit forwards the reviewed assessment to the committee.
#[utoipa::path(post, path = "/grading/assessments/{id}/forward", tag = "grading", params(("id" = i64, Path)), request_body = RowVersion, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_forward(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<RowVersion>,
) -> AppResult<StatusCode> {
    assess::forward(&state, &user, id, input.row_version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct ReturnInput {
    pub row_version: i64,
    pub comment: String,
}

/// Return the assessment to the branch with a comment: the unit from 单位审核, the
/// committee from 考核验收.
#[utoipa::path(post, path = "/grading/assessments/{id}/return", tag = "grading", params(("id" = i64, Path)), request_body = ReturnInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_return(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ReturnInput>,
) -> AppResult<StatusCode> {
    assess::send_back(&state, &user, id, input.row_version, &input.comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Placed {
    pub tier: Tier,
}

/// The committee accepts (考核验收): the tier is set from the score and vetoes.
#[utoipa::path(post, path = "/grading/assessments/{id}/accept", tag = "grading", params(("id" = i64, Path)), request_body = RowVersion, responses((status = 200, body = Placed), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<RowVersion>,
) -> AppResult<Json<Placed>> {
    let tier = assess::accept(&state, &user, id, input.row_version).await?;
    Ok(Json(Placed { tier }))
}

/// Mark a veto of the standard (the unit or the committee); once accepted, the tier moves
/// down if the veto demands it.
#[utoipa::path(post, path = "/grading/assessments/{id}/vetoes", tag = "grading", params(("id" = i64, Path)), request_body = VetoInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_mark_veto(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<VetoInput>,
) -> AppResult<StatusCode> {
    assess::mark_veto(&state, &user, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clear a veto marked by mistake, before acceptance.
#[utoipa::path(delete, path = "/grading/assessments/{id}/vetoes/{code}", tag = "grading", params(("id" = i64, Path), ("code" = String, Path)), responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_clear_veto(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
) -> AppResult<StatusCode> {
    assess::clear_veto(&state, &user, id, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct ItemCreated {
    pub id: i64,
}

/// Add a rectification item (a 三档/四档 branch or its unit).
#[utoipa::path(post, path = "/grading/assessments/{id}/rectification", tag = "grading", params(("id" = i64, Path)), request_body = RectificationInput, responses((status = 201, body = ItemCreated), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_rectify(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<RectificationInput>,
) -> AppResult<(StatusCode, Json<ItemCreated>)> {
    let id = assess::add_rectification(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(ItemCreated { id })))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct NoteInput {
    pub note: String,
}

/// Close a rectification item with what was done.
#[utoipa::path(post, path = "/grading/assessments/{id}/rectification/{item}/done", tag = "grading", params(("id" = i64, Path), ("item" = i64, Path)), request_body = NoteInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_rectified(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, item)): Path<(i64, i64)>,
    Json(input): Json<NoteInput>,
) -> AppResult<StatusCode> {
    assess::finish_rectification(&state, &user, id, item, &input.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Apply to move up one tier (the branch).
#[utoipa::path(post, path = "/grading/assessments/{id}/applications", tag = "grading", params(("id" = i64, Path)), request_body = ApplyInput, responses((status = 201, body = ItemCreated), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_apply(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ApplyInput>,
) -> AppResult<(StatusCode, Json<ItemCreated>)> {
    let id = assess::apply(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(ItemCreated { id })))
}

/// Decide an application to move up (the committee).
#[utoipa::path(post, path = "/grading/assessments/{id}/applications/{application}/decide", tag = "grading", params(("id" = i64, Path), ("application" = i64, Path)), request_body = DecideInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_decide(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, application)): Path<(i64, i64)>,
    Json(input): Json<DecideInput>,
) -> AppResult<StatusCode> {
    assess::decide(&state, &user, id, application, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearParam {
    /// The cycle's year; the newest by default.
    pub year: Option<i64>,
}

/// Per category: branches, average score, counts by tier, and the criteria that cost most
/// points — where guidance should aim next.
#[utoipa::path(get, path = "/grading/categories", tag = "grading", params(YearParam), responses((status = 200, body = Vec<CategoryLine>), (status = 403, body = crate::error::ErrorBody)))]
pub(in crate::grading) async fn api_categories(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<YearParam>,
) -> AppResult<Json<Vec<CategoryLine>>> {
    let Some((c, b)) = assess::board_of(&state, &user, q.year).await? else {
        return Ok(Json(Vec::new()));
    };
    Ok(Json(
        assess::categories_of(&state, &user, &c, &b).await?.to_vec(),
    ))
}
