//! 一句话承诺's JSON API: pledges (own, list, one), submission, review, progress, ratings,
//! feedback moderation and replies, who has not pledged, the figures — with the same store
//! calls and permissions as the pages — and the public board's read and feedback, which
//! need no login and show only what the board shows.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::feedback::{
    self, Challenge, FeedbackFilter, FeedbackInput, FeedbackLine, HideInput, PublicFeedback,
    ReplyInput,
};
use super::store::{
    self, Pledge, PledgeFilter, PledgeInput, PledgeLine, ProgressInput, RateInput, ReturnInput,
};
use super::views::{self, MissingFilter, MissingLine, Stats};
use crate::auth::client::ClientInfo;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use crate::web::ListPage;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pledges))
        .routes(routes!(get_own, save_own))
        .routes(routes!(get_pledge))
        .routes(routes!(submit_pledge))
        .routes(routes!(accept_pledge))
        .routes(routes!(return_pledge))
        .routes(routes!(report_progress))
        .routes(routes!(rate_pledge))
        .routes(routes!(list_feedback))
        .routes(routes!(publish_feedback))
        .routes(routes!(hide_feedback))
        .routes(routes!(reply_feedback))
        .routes(routes!(list_missing))
        .routes(routes!(get_stats))
        .routes(routes!(public_pledge))
        .routes(routes!(public_challenge))
        // Anyone may post here: a body is read only up to what a feedback can hold.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(public_feedback))
                .layer(axum::extract::DefaultBodyLimit::max(PUBLIC_BODY_MAX)),
        )
}

/// The most a public feedback's body may be, in bytes (300 characters and a token fit well).
pub const PUBLIC_BODY_MAX: usize = 16 * 1024;

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Pledges in the caller's scope, filtered, sorted and paged.
#[utoipa::path(get, path = "/pledges", tag = "pledges", params(PledgeFilter), responses((status = 200, body = ListPage<PledgeLine>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_pledges(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<PledgeFilter>,
) -> AppResult<Json<ListPage<PledgeLine>>> {
    Ok(Json(store::list_pledges(&state, &user, &f).await?))
}

/// The caller's own pledge of this year (a member); 404 when not yet made.
#[utoipa::path(get, path = "/pledges/mine", tag = "pledges", responses((status = 200, body = Pledge), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_own(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<Pledge>> {
    store::own(&state, &user, store::this_year())
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}

/// Write the caller's pledge of this year: a new draft, or the draft or returned one
/// changed. A submitted or accepted pledge refuses (409).
#[utoipa::path(put, path = "/pledges/mine", tag = "pledges", request_body = PledgeInput, responses((status = 200, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_own(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<PledgeInput>,
) -> AppResult<Json<Created>> {
    Ok(Json(Created {
        id: store::save_own(&state, &user, &input).await?,
    }))
}

/// One pledge with its milestones, progress and ratings, in scope.
#[utoipa::path(get, path = "/pledges/{id}", tag = "pledges", params(("id" = i64, Path)), responses((status = 200, body = Pledge), (status = 404, body = ErrorBody)))]
async fn get_pledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Pledge>> {
    Ok(Json(store::get(&state, &user, id).await?))
}

/// Submit the caller's draft or returned pledge for the unit's review.
#[utoipa::path(post, path = "/pledges/{id}/submit", tag = "pledges", params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn submit_pledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::submit(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept a submitted pledge (the unit admin): it goes on the public board.
#[utoipa::path(post, path = "/pledges/{id}/accept", tag = "pledges", params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn accept_pledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::accept(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Return a submitted pledge with a comment (the unit admin).
#[utoipa::path(post, path = "/pledges/{id}/return", tag = "pledges", params(("id" = i64, Path)), request_body = ReturnInput, responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn return_pledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ReturnInput>,
) -> AppResult<StatusCode> {
    store::send_back(&state, &user, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Report progress on an accepted pledge (its pledger), on a milestone or the whole.
#[utoipa::path(post, path = "/pledges/{id}/progress", tag = "pledges", params(("id" = i64, Path)), request_body = ProgressInput, responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ProgressInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = store::report(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Rate an accepted pledge's fulfilment at year end: the unit admin as the unit, the
/// committee as the committee; a second rating replaces the first at its level.
#[utoipa::path(post, path = "/pledges/{id}/rating", tag = "pledges", params(("id" = i64, Path)), request_body = RateInput, responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rate_pledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<RateInput>,
) -> AppResult<StatusCode> {
    store::rate(&state, &user, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Feedback on the pledges in scope, newest first (a pledger: the published feedback on
/// their own). The contact only for the unit admin of the pledge's unit.
#[utoipa::path(get, path = "/pledges/feedback", tag = "pledges", params(FeedbackFilter), responses((status = 200, body = ListPage<FeedbackLine>), (status = 403, body = ErrorBody)))]
async fn list_feedback(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<FeedbackFilter>,
) -> AppResult<Json<ListPage<FeedbackLine>>> {
    Ok(Json(feedback::list_feedback(&state, &user, &f).await?))
}

/// Publish feedback (the unit admin of the pledge's unit).
#[utoipa::path(post, path = "/pledges/feedback/{id}/publish", tag = "pledges", params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn publish_feedback(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    feedback::publish(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hide feedback with a reason (the unit admin of the pledge's unit).
#[utoipa::path(post, path = "/pledges/feedback/{id}/hide", tag = "pledges", params(("id" = i64, Path)), request_body = HideInput, responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hide_feedback(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<HideInput>,
) -> AppResult<StatusCode> {
    feedback::hide(&state, &user, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reply publicly to published feedback on one's own pledge.
#[utoipa::path(post, path = "/pledges/feedback/{id}/reply", tag = "pledges", params(("id" = i64, Path)), request_body = ReplyInput, responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reply_feedback(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<ReplyInput>,
) -> AppResult<StatusCode> {
    feedback::reply(&state, &user, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Division heads in scope without an accepted pledge in the year.
#[utoipa::path(get, path = "/pledges/missing", tag = "pledges", params(MissingFilter), responses((status = 200, body = ListPage<MissingLine>), (status = 403, body = ErrorBody)))]
async fn list_missing(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MissingFilter>,
) -> AppResult<Json<ListPage<MissingLine>>> {
    Ok(Json(views::list_missing(&state, &user, &f).await?.1))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearParam {
    /// This year without it.
    pub year: Option<String>,
}

/// Pledge rate, average public rating and fulfilment rates per unit and category.
#[utoipa::path(get, path = "/pledges/stats", tag = "pledges", params(YearParam), responses((status = 200, body = Stats), (status = 403, body = ErrorBody)))]
async fn get_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<YearParam>,
) -> AppResult<Json<Stats>> {
    let mut errors = crate::error::FieldErrors::new();
    let year = store::year_param(&mut errors, q.year.as_deref());
    crate::web::filter_checked(errors)?;
    Ok(Json(views::stats(&state, &user, year).await?))
}

// ---- public, no login ----

#[derive(Serialize, ToSchema)]
pub struct PublicMilestone {
    pub position: i64,
    pub title: String,
    /// Percent done as last reported.
    pub progress: i64,
}

/// An accepted pledge as the public board shows it.
#[derive(Serialize, ToSchema)]
pub struct PublicPledge {
    pub name: String,
    pub post: String,
    pub division: String,
    pub unit_name: String,
    pub year: i64,
    pub body: String,
    pub milestones: Vec<PublicMilestone>,
    pub feedback_count: i64,
    /// Average public rating, one decimal, or "—".
    pub average: String,
    /// Fulfilment as rated at year end: 已践诺 / 部分践诺 / 未践诺, or empty.
    pub fulfilment: String,
    pub feedback: Vec<PublicFeedback>,
}

/// An accepted pledge by its public key, with its published feedback (no login).
#[utoipa::path(get, path = "/public/pledges/{key}", tag = "pledges", params(("key" = String, Path)), responses((status = 200, body = PublicPledge), (status = 404, body = ErrorBody)))]
async fn public_pledge(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<Json<PublicPledge>> {
    let (pledge_id, _) = feedback::accepted_by_key(&state, &key).await?;
    let year: i64 = sqlx::query_scalar("select year from pledge where pledge_id = $1")
        .bind(pledge_id)
        .fetch_one(&state.db.pool)
        .await?;
    let board = super::public::board(&state, year).await?;
    let p = board.pledge(&key).ok_or(AppError::NotFound)?;
    let (feedback, _) = super::public::pledge_extras(&state, pledge_id).await?;
    Ok(Json(PublicPledge {
        name: p.name.clone(),
        post: p.post.clone(),
        division: p.division.clone(),
        unit_name: p.unit_name.clone(),
        year,
        body: p.body.clone(),
        milestones: p
            .milestones
            .iter()
            .map(|m| PublicMilestone {
                position: m.position,
                title: m.title.clone(),
                progress: m.progress,
            })
            .collect(),
        feedback_count: p.feedback_n,
        average: p.average(),
        fulfilment: p.final_label().to_string(),
        feedback,
    }))
}

/// A challenge for the feedback form of an accepted pledge (no login): answer its question
/// no sooner than 2 seconds and within 2 hours, once.
#[utoipa::path(get, path = "/public/pledges/{key}/challenge", tag = "pledges", params(("key" = String, Path)), responses((status = 200, body = Challenge), (status = 404, body = ErrorBody)))]
async fn public_challenge(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<Json<Challenge>> {
    feedback::accepted_by_key(&state, &key).await?;
    Ok(Json(feedback::issue(&state, &key)))
}

/// Leave feedback on an accepted pledge (no login): held until the unit admin publishes it.
/// Floods are refused with 429, per client and per pledge.
#[utoipa::path(post, path = "/public/pledges/{key}/feedback", tag = "pledges", params(("key" = String, Path)), request_body = FeedbackInput, responses((status = 202), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn public_feedback(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(key): Path<String>,
    Json(input): Json<FeedbackInput>,
) -> AppResult<StatusCode> {
    feedback::submit(&state, &key, &client.ip, &input).await?;
    Ok(StatusCode::ACCEPTED)
}
