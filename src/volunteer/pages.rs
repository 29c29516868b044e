//! 志愿者银行 pages: the member's account, reporting and claims; the needs and one need with
//! its confirmation form; the community's reports and served hours; the offers; the missing
//! list, the figures and the committee's rewards and ledger; the community's QR poster.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;

use super::confirm::{self, ConfirmLine, Reward};
use super::ledger;
use super::rules;
use super::store::{
    self, Claim, CommunityLine, Need, NeedFilter, NeedInput, Offer, OfferInput, ReportFilter,
    ReportLine, SearchFilter,
};
use super::views::{self, Account, Missing, MissingFilter, MonthFigure, Stats, StatsFilter};
use crate::auth::client::ClientInfo;
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};
use crate::xlsx::{self, Cell};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/volunteer/mine", get(mine_page))
        .route("/volunteer/mine/export", get(mine_export))
        .route("/volunteer/report", get(report_page).post(report_post))
        .route("/volunteer/r/{id}", get(qr_page).post(qr_post))
        .route("/volunteer/needs", get(needs_page).post(need_create))
        .route("/volunteer/needs/export", get(needs_export))
        .route("/volunteer/needs/{id}", get(need_page))
        .route("/volunteer/needs/{id}/claim", post(claim_post))
        .route("/volunteer/needs/{id}/cancel", post(need_cancel))
        .route("/volunteer/needs/{id}/confirm", post(confirm_post))
        .route("/volunteer/claims/{id}/cancel", post(claim_cancel))
        .route("/volunteer/reports", get(reports_page))
        .route("/volunteer/reports/export", get(reports_export))
        .route("/volunteer/settings/period", post(period_post))
        .route("/volunteer/reports/{id}/confirm", post(report_confirm))
        .route("/volunteer/reports/{id}/decline", post(report_decline))
        .route("/volunteer/offers", get(offers_page).post(offer_create))
        .route("/volunteer/offers/export", get(offers_export))
        .route("/volunteer/offers/{id}/toggle", post(offer_toggle))
        .route("/volunteer/community", get(community_page))
        .route("/volunteer/community/export", get(community_export))
        .route("/volunteer/communities/{id}/poster", get(poster_page))
        .route("/volunteer/missing", get(missing_page))
        .route("/volunteer/missing/export", get(missing_export))
        .route("/volunteer/stats", get(stats_page))
        .route("/volunteer/stats/export", get(stats_export))
        .route("/volunteer/ledger", get(ledger_page))
        .route("/volunteer/ledger/export", get(ledger_export))
        .route("/volunteer/rewards", post(reward_create))
        .route("/volunteer/rewards/{id}/toggle", post(reward_toggle))
        .route("/volunteer/rewards/{id}/redeem", post(redeem_post))
        .route("/volunteer/transfers/{id}/reverse", post(reverse_post))
}

fn ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    PageCtx::new(user, title, path, flash).crumb("志愿者银行", "")
}

/// A fresh idempotency key for a form that posts to the ledger.
pub fn new_key() -> String {
    use rand::Rng;
    let b: [u8; 16] = rand::thread_rng().gen();
    hex::encode(b)
}

fn time(t: i64) -> String {
    crate::clock::fmt_time(t)
}

use crate::web::refusal;

#[derive(Template)]
#[template(path = "volunteer/refused.html")]
struct RefusedPage {
    ctx: PageCtx,
    message: String,
    back: String,
}

/// Answers a write: the flash and redirect when done, the refusal in Chinese when refused.
fn answer<T>(
    user: &CurrentUser,
    r: AppResult<T>,
    back: &str,
    done: impl FnOnce(T) -> String,
) -> AppResult<Response> {
    match r {
        Ok(v) => Ok(web::redirect_with_flash(back, &done(v))),
        Err(e) => {
            let (status, message) = refusal(e)?;
            let mut page = web::render(&RefusedPage {
                ctx: ctx(user, "未能办理", back, FlashIn(None)),
                message,
                back: back.to_string(),
            })?;
            *page.status_mut() = status;
            Ok(page)
        }
    }
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    web::query_string(
        &pairs
            .iter()
            .filter_map(|(k, v)| v.clone().filter(|s| !s.is_empty()).map(|v| (*k, v)))
            .collect::<Vec<_>>(),
    )
}

// ---------------------------------------------------------------- the member

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Template)]
#[template(path = "volunteer/mine.html")]
struct MinePage {
    ctx: PageCtx,
    acct: Account,
    claims: Vec<Claim>,
    rewards: Vec<Reward>,
    period: String,
    reported: Option<ReportLine>,
    key: String,
    pager: Pager,
}

async fn mine_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let paging = Paging {
        page: q.page,
        per_page: q.per_page,
    };
    let acct = views::account(&state, &user, &paging).await?;
    let reports = store::my_reports(&state, &user).await?;
    let period = store::current_period(&state).await?;
    let reported = reports
        .iter()
        .find(|r| r.period == period.key() && r.status != "declined")
        .cloned();
    web::render(&MinePage {
        ctx: ctx(&user, "我的时长账户", "/volunteer/mine", flash),
        pager: Pager::new(&paging, acct.total, "/volunteer/mine", ""),
        claims: store::my_claims(&state, &user).await?,
        rewards: confirm::rewards(&state, &user, true).await?,
        acct,
        period: period.label(),
        reported,
        key: new_key(),
    })
}

async fn mine_export(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    let rows = views::my_history(&state, &user).await?;
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|h| {
            Cell::texts(vec![
                h.at(),
                h.kind_label().to_string(),
                h.hours(),
                h.community_name.clone(),
                h.reason.clone(),
            ])
        })
        .collect();
    Ok(xlsx::download(
        "我的志愿服务时长.xlsx",
        xlsx::write_table(
            "时长明细",
            &["时间", "类型", "时长（小时）", "社区", "说明"],
            &data,
        )?,
    ))
}

#[derive(Template)]
#[template(path = "volunteer/report.html")]
struct ReportPage {
    ctx: PageCtx,
    rows: Vec<CommunityLine>,
    pager: Pager,
    q: String,
    period: String,
    reported: Option<ReportLine>,
}

async fn report_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<SearchFilter>,
) -> AppResult<Response> {
    store::own_member(&user)?;
    let (rows, total) = store::communities(&state, &user, &f).await?;
    let period = store::current_period(&state).await?;
    let reported = store::my_reports(&state, &user)
        .await?
        .into_iter()
        .find(|r| r.period == period.key() && r.status != "declined");
    let q = f.q.clone().unwrap_or_default();
    web::render(&ReportPage {
        ctx: ctx(&user, "到社区报到", "/volunteer/report", flash),
        pager: Pager::new(
            &f.paging(),
            total,
            "/volunteer/report",
            &query(&[("q", f.q.clone())]),
        ),
        rows,
        q,
        period: period.label(),
        reported,
    })
}

#[derive(Deserialize)]
struct ReportForm {
    community_id: String,
}

async fn report_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ReportForm>,
) -> AppResult<Response> {
    let r = match f.community_id.trim().parse::<i64>() {
        Ok(id) => store::report(&state, &user, id).await,
        Err(_) => Err(AppError::field("community_id", "请选择要报到的社区")),
    };
    answer(&user, r, "/volunteer/mine", |_| {
        "已提交报到，请等待社区确认".into()
    })
}

#[derive(Template)]
#[template(path = "volunteer/qr.html")]
struct QrPage {
    ctx: PageCtx,
    c: CommunityLine,
    period: String,
    reported: Option<ReportLine>,
}

/// The poster's QR code opens this: the community, and one button to report to it.
async fn qr_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    store::own_member(&user)?;
    let c = store::community(&state, id).await?;
    let period = store::current_period(&state).await?;
    let reported = store::my_reports(&state, &user)
        .await?
        .into_iter()
        .find(|r| r.period == period.key() && r.status != "declined");
    web::render(&QrPage {
        ctx: ctx(&user, "扫码报到", "/volunteer/report", flash),
        c,
        period: period.label(),
        reported,
    })
}

async fn qr_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = store::report(&state, &user, id).await;
    answer(&user, r, "/volunteer/mine", |_| {
        "已提交报到，请等待社区确认".into()
    })
}

// ---------------------------------------------------------------- needs

#[derive(Template)]
#[template(path = "volunteer/needs.html")]
struct NeedsPage {
    ctx: PageCtx,
    rows: Vec<Need>,
    pager: Pager,
    f: NeedFilter,
    community: bool,
    form: NeedInput,
    error: Option<String>,
    query: String,
}

impl NeedsPage {
    fn show_all(&self) -> bool {
        self.f.show.as_deref() == Some("all")
    }
}

async fn render_needs(
    state: &AppState,
    user: &CurrentUser,
    f: NeedFilter,
    flash: FlashIn,
    form: NeedInput,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let (rows, total) = store::needs(state, user, &f, false).await?;
    let q = query(&[("q", f.q.clone()), ("show", f.show.clone())]);
    let mut r = web::render(&NeedsPage {
        ctx: ctx(user, "需求清单", "/volunteer/needs", flash),
        pager: Pager::new(
            &Paging {
                page: f.page,
                per_page: f.per_page,
            },
            total,
            "/volunteer/needs",
            &q,
        ),
        rows,
        community: super::may_community(user),
        f,
        form,
        error: error.as_ref().map(|e| e.1.clone()),
        query: q,
    })?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

async fn needs_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<NeedFilter>,
) -> AppResult<Response> {
    render_needs(&state, &user, f, flash, NeedInput::default(), None).await
}

async fn need_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<NeedInput>,
) -> AppResult<Response> {
    match store::create_need(&state, &user, &input).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/volunteer/needs/{id}"),
            "需求已发布",
        )),
        Err(e) => {
            let err = refusal(e)?;
            render_needs(
                &state,
                &user,
                NeedFilter::default(),
                FlashIn(None),
                input,
                Some(err),
            )
            .await
        }
    }
}

async fn needs_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<NeedFilter>,
) -> AppResult<Response> {
    let (rows, _) = store::needs(&state, &user, &f, true).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|n| {
            vec![
                Cell::text(n.community_name.clone()),
                Cell::text(n.title.clone()),
                Cell::text(n.skills.clone()),
                Cell::text(time(n.starts_at)),
                Cell::text(time(n.ends_at)),
                Cell::text(n.place.clone()),
                Cell::Int(n.slots),
                Cell::Int(n.taken),
                Cell::text(n.hours()),
                Cell::text(n.state_label()),
            ]
        })
        .collect();
    Ok(xlsx::download(
        "服务需求清单.xlsx",
        xlsx::write_table(
            "需求清单",
            &[
                "社区",
                "需求",
                "所需技能",
                "开始",
                "结束",
                "地点",
                "名额",
                "已认领",
                "计入时长（小时）",
                "状态",
            ],
            &data,
        )?,
    ))
}

/// A claimant's line in the confirmation form, as typed when refused.
struct FormLine {
    attended: bool,
    hours: String,
    reason: String,
    error: String,
}

#[derive(Template)]
#[template(path = "volunteer/need.html")]
struct NeedPage {
    ctx: PageCtx,
    n: Need,
    claims: Vec<(Claim, FormLine)>,
    mine: Option<Claim>,
    own: bool,
    member: bool,
    key: String,
    error: Option<String>,
}

impl NeedPage {
    fn may_claim(&self) -> bool {
        self.mine.as_ref().is_none_or(|c| c.status == "cancelled")
            && self.n.state_label() == "可认领"
    }
    fn open_claims(&self) -> bool {
        self.claims.iter().any(|(c, _)| c.status == "claimed")
    }
    /// The community may show a sign-in or sign-out code: around the activity's time.
    fn may_checkin(&self) -> bool {
        self.own
            && self.n.status == "open"
            && crate::volunteer::checkin::near(&self.n, crate::clock::now())
    }
    fn confirmable(&self) -> bool {
        self.own && self.n.started() && self.n.status == "open" && self.open_claims()
    }
}

async fn render_need(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    typed: Option<(&[ConfirmLine], crate::error::FieldErrors)>,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let n = store::need(state, user, id).await?;
    let claims = store::claims_of(state, user, &n).await?;
    let mine = store::my_claim_of(state, user, id).await?;
    let claims = claims
        .into_iter()
        .map(|c| {
            let line = match &typed {
                Some((lines, errors)) => {
                    let t = lines.iter().find(|l| l.claim_id == c.volunteer_claim_id);
                    FormLine {
                        attended: t.is_none_or(|l| l.attended),
                        hours: t.map_or(c.prefill(), |l| l.hours.clone()),
                        reason: t.map(|l| l.reason.clone()).unwrap_or_default(),
                        error: errors
                            .get(&format!("claim_{}", c.volunteer_claim_id))
                            .cloned()
                            .unwrap_or_default(),
                    }
                }
                None => FormLine {
                    attended: true,
                    hours: c.prefill(),
                    reason: String::new(),
                    error: String::new(),
                },
            };
            (c, line)
        })
        .collect();
    let own = user.community_ids().contains(&n.community_id) && user.has(Role::Community);
    let title = n.title.clone();
    let mut r = web::render(&NeedPage {
        ctx: ctx(user, &title, "/volunteer/needs", flash).crumb("需求清单", "/volunteer/needs"),
        claims,
        mine,
        own,
        member: super::may_serve(user),
        n,
        key: new_key(),
        error: error.as_ref().map(|e| e.1.clone()),
    })?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

async fn need_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    render_need(&state, &user, id, flash, None, None).await
}

async fn claim_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = store::claim(&state, &user, id).await;
    answer(&user, r, &format!("/volunteer/needs/{id}"), |_| {
        "认领成功，请按时参加服务".into()
    })
}

async fn need_cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = store::cancel_need(&state, &user, id).await;
    answer(&user, r, &format!("/volunteer/needs/{id}"), |_| {
        "需求已撤销，认领人的认领随之取消".into()
    })
}

async fn claim_cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = store::cancel_claim(&state, &user, id).await;
    answer(&user, r, "/volunteer/mine", |_| "已取消认领".into())
}

/// The bulk form: `idempotency_key`, then per claimant `claim_id`, `attended_{id}`,
/// `hours_{id}`, `reason_{id}`.
fn confirm_lines(pairs: &[(String, String)]) -> (String, Vec<ConfirmLine>) {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let lines = pairs
        .iter()
        .filter(|(k, _)| k == "claim_id")
        .filter_map(|(_, v)| v.trim().parse::<i64>().ok())
        .map(|id| ConfirmLine {
            claim_id: id,
            attended: !get(&format!("attended_{id}")).is_empty(),
            hours: get(&format!("hours_{id}")),
            reason: get(&format!("reason_{id}")),
        })
        .collect();
    (get("idempotency_key"), lines)
}

async fn confirm_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (key, lines) = confirm_lines(&pairs);
    match confirm::confirm(&state, &user, id, &key, &lines).await {
        Ok(o) => Ok(web::redirect_with_flash(
            &format!("/volunteer/needs/{id}"),
            &if o.repeated {
                "该确认已提交过，未重复记账".to_string()
            } else {
                format!(
                    "已确认 {} 人的服务时长，未到场 {} 人",
                    o.confirmed, o.absent
                )
            },
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = if fields.is_empty() {
                message.clone()
            } else {
                fields.values().cloned().collect::<Vec<_>>().join("；")
            };
            render_need(
                &state,
                &user,
                id,
                FlashIn(None),
                Some((&lines, fields)),
                Some((StatusCode::UNPROCESSABLE_ENTITY, msg)),
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            render_need(
                &state,
                &user,
                id,
                FlashIn(None),
                Some((&lines, Default::default())),
                Some((StatusCode::CONFLICT, m)),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- reports

#[derive(Template)]
#[template(path = "volunteer/reports.html")]
struct ReportsPage {
    ctx: PageCtx,
    rows: Vec<ReportLine>,
    pager: Pager,
    f: ReportFilter,
    periods: Vec<(String, String)>,
    community: bool,
    query: String,
    /// The committee's form setting the period's length: (months, name) and the current.
    lengths: Vec<(u8, &'static str)>,
    months: u8,
    committee: bool,
    error: String,
}

/// The periods of the current length, last year's and this year's up to now, newest first.
async fn period_options(state: &AppState) -> AppResult<Vec<(String, String)>> {
    let this = store::current_period(state).await?;
    let mut out = Vec::new();
    for y in (this.year - 1..=this.year).rev() {
        for p in rules::ReportPeriod::of_year(y, this.months).iter().rev() {
            if *p <= this {
                out.push((p.key(), p.label()));
            }
        }
    }
    Ok(out)
}

async fn reports_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<ReportFilter>,
) -> AppResult<Response> {
    render_reports(&state, &user, flash, f, String::new()).await
}

async fn render_reports(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    f: ReportFilter,
    error: String,
) -> AppResult<Response> {
    let (rows, total) = store::reports(state, user, &f, false).await?;
    let q = query(&[
        ("period", f.period.clone()),
        ("status", f.status.clone()),
        ("q", f.q.clone()),
    ]);
    let mut page = web::render(&ReportsPage {
        ctx: ctx(user, "报到确认", "/volunteer/reports", flash),
        pager: Pager::new(
            &Paging {
                page: f.page,
                per_page: f.per_page,
            },
            total,
            "/volunteer/reports",
            &q,
        ),
        rows,
        f,
        periods: period_options(state).await?,
        community: super::may_community(user),
        query: q,
        lengths: rules::PERIOD_LENGTHS.to_vec(),
        months: store::period_months(state).await?,
        committee: user.is_committee(),
        error: error.clone(),
    })?;
    if !error.is_empty() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(page)
}

#[derive(Deserialize)]
struct PeriodForm {
    #[serde(default)]
    period_months: String,
}

async fn period_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<PeriodForm>,
) -> AppResult<Response> {
    match store::set_period_months(&state, &user, &input.period_months).await {
        Ok(m) => Ok(web::redirect_with_flash(
            "/volunteer/reports",
            &format!("报到周期已设为{}", rules::period_length_label(m)),
        )),
        Err(e) => {
            let (_, msg) = refusal(e)?;
            render_reports(&state, &user, FlashIn(None), ReportFilter::default(), msg).await
        }
    }
}

async fn reports_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<ReportFilter>,
) -> AppResult<Response> {
    let (rows, _) = store::reports(&state, &user, &f, true).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            Cell::texts(vec![
                r.period_label(),
                r.member_name.clone(),
                r.unit_name.clone(),
                r.community_name.clone(),
                r.status_label().to_string(),
                time(r.created_at),
                r.note.clone(),
            ])
        })
        .collect();
    Ok(xlsx::download(
        "社区报到.xlsx",
        xlsx::write_table(
            "报到",
            &["期次", "姓名", "单位", "社区", "状态", "报到时间", "说明"],
            &data,
        )?,
    ))
}

#[derive(Deserialize, Default)]
struct NoteForm {
    #[serde(default)]
    note: String,
}

async fn report_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    let r = store::decide_report(&state, &user, id, true, &f.note).await;
    answer(&user, r, "/volunteer/reports", |_| "已确认报到".into())
}

async fn report_decline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    let r = store::decide_report(&state, &user, id, false, &f.note).await;
    answer(&user, r, "/volunteer/reports", |_| {
        "已不接收该报到，党员可改向其他社区报到".into()
    })
}

// ---------------------------------------------------------------- offers

#[derive(Template)]
#[template(path = "volunteer/offers.html")]
struct OffersPage {
    ctx: PageCtx,
    rows: Vec<Offer>,
    pager: Pager,
    q: String,
    member: bool,
    form: OfferInput,
    error: Option<String>,
}

async fn render_offers(
    state: &AppState,
    user: &CurrentUser,
    f: SearchFilter,
    flash: FlashIn,
    form: OfferInput,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let (rows, total) = store::offers(state, user, &f, false).await?;
    let mut r = web::render(&OffersPage {
        ctx: ctx(user, "岗位服务", "/volunteer/offers", flash),
        pager: Pager::new(
            &f.paging(),
            total,
            "/volunteer/offers",
            &query(&[("q", f.q.clone())]),
        ),
        rows,
        q: f.q.clone().unwrap_or_default(),
        member: super::may_serve(user),
        form,
        error: error.as_ref().map(|e| e.1.clone()),
    })?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

async fn offers_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<SearchFilter>,
) -> AppResult<Response> {
    render_offers(&state, &user, f, flash, OfferInput::default(), None).await
}

async fn offer_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<OfferInput>,
) -> AppResult<Response> {
    match store::create_offer(&state, &user, &input).await {
        Ok(_) => Ok(web::redirect_with_flash(
            "/volunteer/offers",
            "岗位服务已发布，社区可以看到",
        )),
        Err(e) => {
            let err = refusal(e)?;
            render_offers(
                &state,
                &user,
                SearchFilter::default(),
                FlashIn(None),
                input,
                Some(err),
            )
            .await
        }
    }
}

async fn offer_toggle(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = store::toggle_offer(&state, &user, id).await;
    answer(&user, r, "/volunteer/offers", |on| {
        if on {
            "已恢复该岗位服务".into()
        } else {
            "已停止该岗位服务".into()
        }
    })
}

async fn offers_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<SearchFilter>,
) -> AppResult<Response> {
    let (rows, _) = store::offers(&state, &user, &f, true).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|o| {
            Cell::texts(vec![
                o.member_name.clone(),
                o.unit_name.clone(),
                o.title.clone(),
                o.description.clone(),
                if o.active == 1 {
                    "提供中"
                } else {
                    "已停止"
                }
                .to_string(),
            ])
        })
        .collect();
    Ok(xlsx::download(
        "岗位服务.xlsx",
        xlsx::write_table("岗位服务", &["姓名", "单位", "服务", "说明", "状态"], &data)?,
    ))
}

// ---------------------------------------------------------------- the community

#[derive(Deserialize)]
struct CommunityQuery {
    community_id: Option<i64>,
    year: Option<String>,
}

#[derive(Template)]
#[template(path = "volunteer/community.html")]
struct CommunityPage {
    ctx: PageCtx,
    c: CommunityLine,
    year: i32,
    months: Vec<MonthFigure>,
    total: String,
    peak: i64,
}

impl CommunityPage {
    fn bar(&self, m: &MonthFigure) -> i64 {
        m.minutes * 100 / self.peak.max(1)
    }
}

async fn community_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<CommunityQuery>,
) -> AppResult<Response> {
    let id = match q.community_id {
        Some(id) => id,
        None => *user.community_ids().first().ok_or(AppError::Forbidden)?,
    };
    let mut errors = Default::default();
    let year = views::year_param(&mut errors, q.year.as_deref());
    crate::web::filter_checked(errors)?;
    let months = views::community_months(&state, &user, id, year).await?;
    let c = store::community(&state, id).await?;
    let total: i64 = months.iter().map(|m| m.minutes).sum();
    web::render(&CommunityPage {
        ctx: ctx(
            &user,
            &format!("{}服务时长", c.name),
            "/volunteer/community",
            flash,
        ),
        peak: months.iter().map(|m| m.minutes).max().unwrap_or(0),
        c,
        year,
        months,
        total: rules::hours_text(total),
    })
}

/// The community's months as a workbook.
async fn community_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<CommunityQuery>,
) -> AppResult<Response> {
    let id = match q.community_id {
        Some(id) => id,
        None => *user.community_ids().first().ok_or(AppError::Forbidden)?,
    };
    let mut errors = Default::default();
    let year = views::year_param(&mut errors, q.year.as_deref());
    crate::web::filter_checked(errors)?;
    let months = views::community_months(&state, &user, id, year).await?;
    let c = store::community(&state, id).await?;
    let data: Vec<Vec<Cell>> = months
        .iter()
        .map(|m| vec![Cell::text(m.month.clone()), Cell::text(m.hours())])
        .collect();
    Ok(xlsx::download(
        &format!("{}服务时长{year}.xlsx", c.name),
        xlsx::write_table("按月服务时长", &["月份", "服务时长（小时）"], &data)?,
    ))
}

#[derive(Template)]
#[template(path = "volunteer/poster.html")]
struct PosterPage {
    c: CommunityLine,
    url: String,
    qr: String,
}

fn origin(headers: &HeaderMap, client: &ClientInfo) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 100
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let scheme = if client.https { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// The A4 poster: the community and the QR code members scan to report to it.
async fn poster_page(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    user.require(user.is_committee() || user.community_ids().contains(&id))?;
    let c = store::community(&state, id).await?;
    let url = format!("{}/volunteer/r/{id}", origin(&headers, &client));
    web::render(&PosterPage {
        qr: crate::auth::totp::qr_svg(&url)?,
        c,
        url,
    })
}

// ---------------------------------------------------------------- staff views

#[derive(Template)]
#[template(path = "volunteer/missing.html")]
struct MissingPage {
    ctx: PageCtx,
    rows: Vec<Missing>,
    pager: Pager,
    f: MissingFilter,
    period: String,
    periods: Vec<(String, String)>,
    query: String,
}

async fn missing_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<MissingFilter>,
) -> AppResult<Response> {
    let (rows, total, period) = views::missing(&state, &user, &f, false).await?;
    let q = query(&[
        ("period", Some(period.key())),
        ("unit_id", f.unit_id.clone()),
        ("q", f.q.clone()),
    ]);
    web::render(&MissingPage {
        ctx: ctx(&user, "未报到名单", "/volunteer/missing", flash),
        pager: Pager::new(
            &Paging {
                page: f.page,
                per_page: f.per_page,
            },
            total,
            "/volunteer/missing",
            &q,
        ),
        rows,
        f,
        period: period.key(),
        periods: period_options(&state).await?,
        query: q,
    })
}

async fn missing_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MissingFilter>,
) -> AppResult<Response> {
    let (rows, _, period) = views::missing(&state, &user, &f, true).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|m| {
            Cell::texts(vec![
                m.unit_name.clone(),
                m.branch_name.clone(),
                m.member_name.clone(),
                m.status_label().to_string(),
                m.community_name.clone().unwrap_or_default(),
            ])
        })
        .collect();
    Ok(xlsx::download(
        &format!("未报到名单{}.xlsx", period.key()),
        xlsx::write_table(
            "未报到",
            &["单位", "所在党组织", "姓名", "状态", "社区"],
            &data,
        )?,
    ))
}

#[derive(Template)]
#[template(path = "volunteer/stats.html")]
struct StatsPage {
    ctx: PageCtx,
    s: Stats,
    query: String,
}

async fn stats_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<StatsFilter>,
) -> AppResult<Response> {
    let s = views::stats(&state, &user, &f).await?;
    web::render(&StatsPage {
        ctx: ctx(
            &user,
            &format!("{}年志愿服务统计", s.year),
            "/volunteer/stats",
            flash,
        ),
        query: query(&[
            ("year", Some(s.year.to_string())),
            ("category_id", f.category_id.clone()),
        ]),
        s,
    })
}

async fn stats_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<StatsFilter>,
) -> AppResult<Response> {
    let s = views::stats(&state, &user, &f).await?;
    let data: Vec<Vec<Cell>> = s
        .units
        .iter()
        .map(|u| {
            vec![
                Cell::text(u.category_name.clone()),
                Cell::text(u.unit_name.clone()),
                Cell::Int(u.members),
                Cell::Int(u.reported),
                Cell::text(u.rate()),
                Cell::text(u.hours()),
                Cell::text(u.per_member()),
                Cell::text(format!("{}/{}", u.rank, u.of)),
            ]
        })
        .collect();
    Ok(xlsx::download(
        &format!("志愿服务统计{}.xlsx", s.year),
        xlsx::write_table(
            "单位",
            &[
                "类别",
                "单位",
                "在册党员",
                "已报到",
                "报到率",
                "服务时长（小时）",
                "人均时长（小时）",
                "类别内排名",
            ],
            &data,
        )?,
    ))
}

#[derive(Deserialize)]
struct LedgerQuery {
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Template)]
#[template(path = "volunteer/ledger.html")]
struct LedgerPage {
    ctx: PageCtx,
    rewards: Vec<Reward>,
    rows: Vec<TransferLine>,
    pager: Pager,
    q: String,
    key: String,
    error: Option<String>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct TransferLine {
    ledger_transfer_id: i64,
    kind: String,
    member_name: String,
    community_name: String,
    minutes: i64,
    reason: String,
    created_at: i64,
    reverses_id: Option<i64>,
    reversed: i64,
}

impl TransferLine {
    fn kind_label(&self) -> &'static str {
        ledger::kind_label(&self.kind)
    }
    fn hours(&self) -> String {
        rules::hours_text(self.minutes)
    }
    fn at(&self) -> String {
        time(self.created_at)
    }
}

async fn transfers(
    state: &AppState,
    user: &CurrentUser,
    q: &LedgerQuery,
    all: bool,
) -> AppResult<(Vec<TransferLine>, i64)> {
    user.require(super::may_manage(user))?;
    let like = format!("%{}%", q.q.as_deref().unwrap_or("").trim());
    let mut sql = crate::db::Sql::new(
        "select t.ledger_transfer_id, t.kind, m.name as member_name, coalesce(c.name, '') as community_name, t.minutes, t.reason, t.created_at, t.reverses_id, \
         (select count(*) from ledger_transfer r where r.reverses_id = t.ledger_transfer_id) as reversed \
         from ledger_transfer t join member m on m.member_id = t.member_id left join community c on c.community_id = t.community_id where m.name like ",
    );
    sql.bind(like.clone())
        .push(" order by t.ledger_transfer_id desc");
    if !all {
        let p = Paging {
            page: q.page,
            per_page: q.per_page,
        };
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let total = if like == "%%" {
        sqlx::query_scalar("select count(*) from ledger_transfer")
            .fetch_one(&state.db.pool)
            .await?
    } else {
        let mut c = crate::db::Sql::new("select count(*) from ledger_transfer t join member m on m.member_id = t.member_id where m.name like ");
        c.bind(like);
        c.fetch_scalar(&state.db.pool).await?
    };
    Ok((rows, total))
}

async fn render_ledger(
    state: &AppState,
    user: &CurrentUser,
    q: LedgerQuery,
    flash: FlashIn,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let (rows, total) = transfers(state, user, &q, false).await?;
    let mut r = web::render(&LedgerPage {
        ctx: ctx(user, "奖励与台账", "/volunteer/ledger", flash),
        rewards: confirm::rewards(state, user, false).await?,
        pager: Pager::new(
            &Paging {
                page: q.page,
                per_page: q.per_page,
            },
            total,
            "/volunteer/ledger",
            &query(&[("q", q.q.clone())]),
        ),
        rows,
        q: q.q.unwrap_or_default(),
        key: new_key(),
        error: error.as_ref().map(|e| e.1.clone()),
    })?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

async fn ledger_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<LedgerQuery>,
) -> AppResult<Response> {
    render_ledger(&state, &user, q, flash, None).await
}

async fn ledger_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<LedgerQuery>,
) -> AppResult<Response> {
    let (rows, _) = transfers(&state, &user, &q, true).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|t| {
            vec![
                Cell::Int(t.ledger_transfer_id),
                Cell::text(t.at()),
                Cell::text(t.kind_label()),
                Cell::text(t.member_name.clone()),
                Cell::text(t.community_name.clone()),
                Cell::text(t.hours()),
                Cell::text(t.reason.clone()),
                Cell::text(t.reverses_id.map(|r| r.to_string()).unwrap_or_default()),
            ]
        })
        .collect();
    Ok(xlsx::download(
        "时长台账.xlsx",
        xlsx::write_table(
            "台账",
            &[
                "编号",
                "时间",
                "类型",
                "党员",
                "社区",
                "时长（小时）",
                "说明",
                "冲正的编号",
            ],
            &data,
        )?,
    ))
}

async fn reward_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<confirm::RewardInput>,
) -> AppResult<Response> {
    match confirm::create_reward(&state, &user, &input).await {
        Ok(_) => Ok(web::redirect_with_flash("/volunteer/ledger", "奖励已设立")),
        Err(e) => {
            let err = refusal(e)?;
            render_ledger(
                &state,
                &user,
                LedgerQuery {
                    q: None,
                    page: None,
                    per_page: None,
                },
                FlashIn(None),
                Some(err),
            )
            .await
        }
    }
}

async fn reward_toggle(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = confirm::toggle_reward(&state, &user, id).await;
    answer(&user, r, "/volunteer/ledger", |on| {
        if on {
            "奖励已启用".into()
        } else {
            "奖励已停用".into()
        }
    })
}

#[derive(Deserialize, Default)]
struct KeyForm {
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    reason: String,
}

async fn redeem_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<KeyForm>,
) -> AppResult<Response> {
    let r = confirm::redeem(&state, &user, id, &f.idempotency_key).await;
    answer(&user, r, "/volunteer/mine", |_| "兑换成功".into())
}

async fn reverse_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<KeyForm>,
) -> AppResult<Response> {
    let back = if user.is_committee() {
        "/volunteer/ledger"
    } else {
        "/volunteer/needs"
    };
    let r = confirm::reverse(&state, &user, id, &f.idempotency_key, &f.reason).await;
    answer(&user, r, back, |_| {
        "已冲正，原记录保留，另记一笔相反的记录".into()
    })
}
