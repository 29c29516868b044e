//! 志愿者银行's JSON API: communities to report to, reports and the community's decision,
//! needs, claims, the bulk confirmation (with its `Idempotency-Key` header), reversals,
//! offers, rewards and redemptions, the member's account, the missing list and the figures —
//! the same store calls and permissions as the pages.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::confirm::{self, ConfirmLine, ConfirmOutcome, Reward, RewardInput};
use super::store::{
    self, Claim, CommunityLine, Need, NeedFilter, NeedInput, Offer, OfferInput, ReportFilter,
    ReportLine, SearchFilter,
};
use super::views::{self, Account, Missing, MissingFilter, Stats, StatsFilter};
use crate::auth::CurrentUser;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use crate::web::{ListPage, Paging};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_communities))
        .routes(routes!(list_reports, create_report))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(decide_report))
        .routes(routes!(list_needs, create_need))
        .routes(routes!(get_need))
        .routes(routes!(claim_need))
        .routes(routes!(cancel_need))
        .routes(routes!(need_claims))
        .routes(routes!(confirm_need))
        .routes(routes!(cancel_claim))
        .routes(routes!(get_account))
        .routes(routes!(list_offers, create_offer))
        .routes(routes!(list_rewards, create_reward))
        .routes(routes!(redeem_reward))
        .routes(routes!(reverse_transfer))
        .routes(routes!(list_missing))
        .routes(routes!(get_stats))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

fn key_of(headers: &HeaderMap) -> String {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Communities a member may report to, searched and paged.
#[utoipa::path(get, path = "/volunteer/communities", tag = "volunteer", params(SearchFilter), responses((status = 200, body = ListPage<CommunityLine>), (status = 403, body = ErrorBody)))]
async fn list_communities(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<SearchFilter>,
) -> AppResult<Json<ListPage<CommunityLine>>> {
    let (items, total) = store::communities(&state, &user, &f).await?;
    Ok(Json(ListPage { items, total }))
}

#[derive(Deserialize, ToSchema)]
pub struct ReportInput {
    pub community_id: i64,
}

/// Reports in the caller's scope (a community's own, a unit's or branch's members', all).
#[utoipa::path(get, path = "/volunteer/reports", tag = "volunteer", params(ReportFilter), responses((status = 200, body = ListPage<ReportLine>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_reports(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<ReportFilter>,
) -> AppResult<Json<ListPage<ReportLine>>> {
    let (items, total) = store::reports(&state, &user, &f, false).await?;
    Ok(Json(ListPage { items, total }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VolunteerSettings {
    /// The report period's length in months: 1, 3, 6 (the default) or 12.
    pub period_months: u8,
    /// The current period's key (`2026H2`, `2026Q4`, `2026M12`, `2026`); ignored on write.
    #[serde(default)]
    pub current_period: String,
    /// Its name (`2026年下半年`); ignored on write.
    #[serde(default)]
    pub current_period_label: String,
}

async fn settings_now(state: &AppState) -> AppResult<VolunteerSettings> {
    let p = store::current_period(state).await?;
    Ok(VolunteerSettings {
        period_months: p.months,
        current_period: p.key(),
        current_period_label: p.label(),
    })
}

/// The volunteer bank's settings: the report period's length (whoever uses the bank).
#[utoipa::path(get, path = "/volunteer/settings", tag = "volunteer", responses((status = 200, body = VolunteerSettings), (status = 403, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<VolunteerSettings>> {
    user.require(super::may_use(&user))?;
    Ok(Json(settings_now(&state).await?))
}

/// Sets the report period's length (committee). Reports already made keep their periods.
#[utoipa::path(put, path = "/volunteer/settings", tag = "volunteer", request_body = VolunteerSettings, responses((status = 200, body = VolunteerSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<VolunteerSettings>,
) -> AppResult<Json<VolunteerSettings>> {
    store::set_period_months(&state, &user, &input.period_months.to_string()).await?;
    Ok(Json(settings_now(&state).await?))
}

/// Report to a community for the current period (a member); a second report in the
/// same period is refused (409).
#[utoipa::path(post, path = "/volunteer/reports", tag = "volunteer", request_body = ReportInput, responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<ReportInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = store::report(&state, &user, input.community_id).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, ToSchema)]
pub struct DecisionInput {
    /// true confirms, false declines.
    pub confirm: bool,
    #[serde(default)]
    pub note: String,
}

/// The community confirms or declines a report made to it.
#[utoipa::path(post, path = "/volunteer/reports/{id}/decision", tag = "volunteer", request_body = DecisionInput, responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decide_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<DecisionInput>,
) -> AppResult<StatusCode> {
    store::decide_report(&state, &user, id, input.confirm, &input.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Service needs: a community's own; for others the open ones not yet started (`show=all`
/// for every one).
#[utoipa::path(get, path = "/volunteer/needs", tag = "volunteer", params(NeedFilter), responses((status = 200, body = ListPage<Need>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_needs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<NeedFilter>,
) -> AppResult<Json<ListPage<Need>>> {
    let (items, total) = store::needs(&state, &user, &f, false).await?;
    Ok(Json(ListPage { items, total }))
}

/// Post a service need (a community).
#[utoipa::path(post, path = "/volunteer/needs", tag = "volunteer", request_body = NeedInput, responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_need(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<NeedInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = store::create_need(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// One need.
#[utoipa::path(get, path = "/volunteer/needs/{id}", tag = "volunteer", responses((status = 200, body = Need), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_need(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Need>> {
    Ok(Json(store::need(&state, &user, id).await?))
}

/// Claim a need (a member): refused when full, started, withdrawn or overlapping another
/// claim of the member (409).
#[utoipa::path(post, path = "/volunteer/needs/{id}/claim", tag = "volunteer", responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn claim_need(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = store::claim(&state, &user, id).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Withdraw a need before it starts (its community).
#[utoipa::path(post, path = "/volunteer/needs/{id}/cancel", tag = "volunteer", responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_need(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::cancel_need(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A need's claims (its community, the committee).
#[utoipa::path(get, path = "/volunteer/needs/{id}/claims", tag = "volunteer", responses((status = 200, body = Vec<Claim>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn need_claims(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Claim>>> {
    let n = store::need(&state, &user, id).await?;
    if !(user.is_committee() || user.community_ids().contains(&n.community_id)) {
        return Err(crate::error::AppError::NotFound);
    }
    Ok(Json(store::claims_of(&state, &user, &n).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmInput {
    pub lines: Vec<ConfirmLine>,
}

/// Confirm attendance and hours of a need's claimants (its community), all or nothing. The
/// `Idempotency-Key` header is required: the same key again posts nothing and answers the
/// first result with `repeated: true`.
#[utoipa::path(post, path = "/volunteer/needs/{id}/confirmations", tag = "volunteer", request_body = ConfirmInput, params(("Idempotency-Key" = String, Header, description = "unique per confirmation")), responses((status = 200, body = ConfirmOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn confirm_need(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(input): Json<ConfirmInput>,
) -> AppResult<Json<ConfirmOutcome>> {
    Ok(Json(
        confirm::confirm(&state, &user, id, &key_of(&headers), &input.lines).await?,
    ))
}

/// Cancel one's own claim before the service starts (a member).
#[utoipa::path(post, path = "/volunteer/claims/{id}/cancel", tag = "volunteer", responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_claim(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::cancel_claim(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The caller's hours account: balance, hours served and a page of history (a member).
#[utoipa::path(get, path = "/volunteer/me", tag = "volunteer", params(PageParams), responses((status = 200, body = Account), (status = 403, body = ErrorBody)))]
async fn get_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<PageParams>,
) -> AppResult<Json<Account>> {
    Ok(Json(
        views::account(
            &state,
            &user,
            &Paging {
                page: p.page,
                per_page: p.per_page,
            },
        )
        .await?,
    ))
}

/// Services offered tied to members' jobs: a member's own; the active ones for others.
#[utoipa::path(get, path = "/volunteer/offers", tag = "volunteer", params(SearchFilter), responses((status = 200, body = ListPage<Offer>), (status = 403, body = ErrorBody)))]
async fn list_offers(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<SearchFilter>,
) -> AppResult<Json<ListPage<Offer>>> {
    let (items, total) = store::offers(&state, &user, &f, false).await?;
    Ok(Json(ListPage { items, total }))
}

/// Offer a service tied to one's job (a member).
#[utoipa::path(post, path = "/volunteer/offers", tag = "volunteer", request_body = OfferInput, responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_offer(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<OfferInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = store::create_offer(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Rewards (active ones; all for the committee).
#[utoipa::path(get, path = "/volunteer/rewards", tag = "volunteer", responses((status = 200, body = Vec<Reward>), (status = 403, body = ErrorBody)))]
async fn list_rewards(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<Reward>>> {
    Ok(Json(
        confirm::rewards(&state, &user, !user.is_committee()).await?,
    ))
}

/// Define a reward (the committee).
#[utoipa::path(post, path = "/volunteer/rewards", tag = "volunteer", request_body = RewardInput, responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_reward(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<RewardInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = confirm::create_reward(&state, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Redeem a reward with hours (a member; `Idempotency-Key` header required); refused when
/// the balance is short (409).
#[utoipa::path(post, path = "/volunteer/rewards/{id}/redeem", tag = "volunteer", params(("Idempotency-Key" = String, Header, description = "unique per redemption")), responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn redeem_reward(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = confirm::redeem(&state, &user, id, &key_of(&headers)).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, ToSchema)]
pub struct ReverseInput {
    pub reason: String,
}

/// Reverse a ledger transfer once (the committee; a community its own confirmations;
/// `Idempotency-Key` header required).
#[utoipa::path(post, path = "/volunteer/transfers/{id}/reverse", tag = "volunteer", request_body = ReverseInput, params(("Idempotency-Key" = String, Header, description = "unique per reversal")), responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reverse_transfer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(input): Json<ReverseInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = confirm::reverse(&state, &user, id, &key_of(&headers), &input.reason).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Members on the register in scope with no confirmed report in the period.
#[utoipa::path(get, path = "/volunteer/missing", tag = "volunteer", params(MissingFilter), responses((status = 200, body = ListPage<Missing>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_missing(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MissingFilter>,
) -> AppResult<Json<ListPage<Missing>>> {
    let (items, total, _) = views::missing(&state, &user, &f, false).await?;
    Ok(Json(ListPage { items, total }))
}

/// Figures of a year: units (ranked in their category by hours per member), categories,
/// the total and the monthly trend (the committee, unit admins).
#[utoipa::path(get, path = "/volunteer/stats", tag = "volunteer", params(StatsFilter), responses((status = 200, body = Stats), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<StatsFilter>,
) -> AppResult<Json<Stats>> {
    Ok(Json(views::stats(&state, &user, &f).await?))
}
