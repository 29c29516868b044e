//! 组织生活 pages and API: meeting records, the review flow, the year grid, compliance
//! tables, the rules, and a member's own meetings.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::rules::{self, MeetingKind, Period, Quorum};
use super::store::{
    self, Attendance, ComplianceLine, GridRow, Meeting, MeetingFilter, MeetingInput, MyMeeting,
    RegisterMember, ReviewStep, RuleInput, Step,
};
use crate::auth::{CurrentUser, Role};
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/orglife/meetings", get(list_page).post(create_page))
        .route("/orglife/meetings/export", get(export_page))
        .route("/orglife/meetings/new", get(new_page))
        .route("/orglife/register", get(register_fragment))
        .route("/orglife/meetings/{id}", get(detail_page).post(update_page))
        .route("/orglife/meetings/{id}/edit", get(edit_page))
        .route("/orglife/meetings/{id}/submit", post(submit_page))
        .route("/orglife/meetings/{id}/accept", post(accept_page))
        .route("/orglife/meetings/{id}/return", post(return_page))
        .route("/orglife/meetings/{id}/delete", post(delete_page))
        .route("/orglife/meetings/{id}/attachments", post(attach_page))
        .route(
            "/orglife/meetings/{id}/attachments/{aid}",
            get(attachment_file),
        )
        .route(
            "/orglife/meetings/{id}/attachments/{aid}/delete",
            post(detach_page),
        )
        .route("/orglife/calendar", get(calendar_page))
        .route("/orglife/compliance", get(compliance_page))
        .route("/orglife/compliance/export", get(compliance_export))
        .route("/orglife/rules", get(rules_page).post(rules_save))
        .route("/orglife/mine", get(mine_page))
}

// ---- shared bits ----

fn kinds() -> Vec<(&'static str, &'static str)> {
    MeetingKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

/// Branches the caller may pick, labelled with their unit.
async fn branch_options(
    state: &AppState,
    user: &CurrentUser,
    unit_id: Option<i64>,
) -> AppResult<Vec<(i64, String)>> {
    if user.is_committee() && unit_id.is_none() {
        // 1,500 branches make no menu: the committee picks a unit first.
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "select o.org_id, u.name || ' · ' || o.name from org o join unit u on u.unit_id = o.unit_id \
         where o.kind = 'branch' and ",
    );
    user.scope().org_condition(&mut sql);
    if let Some(u) = unit_id {
        sql.push(" and o.unit_id = ").bind(u);
    }
    sql.push(" order by u.sort_order, u.unit_id, o.sort_order, o.org_id");
    Ok(sql.fetch_page(&state.db).await?)
}

async fn unit_options(state: &AppState, user: &CurrentUser) -> AppResult<Vec<(i64, String)>> {
    if !user.is_registry_admin() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("select u.unit_id, u.name from unit u where ");
    user.scope().unit_condition(&mut sql);
    sql.push(" order by u.sort_order, u.unit_id");
    Ok(sql.fetch_page(&state.db).await?)
}

fn parse_id(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

fn token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn years_around(y: i32) -> Vec<i32> {
    let now = crate::clock::today().year();
    let mut v: Vec<i32> = (now - 5..=now).rev().collect();
    if !v.contains(&y) {
        v.push(y);
    }
    v
}

// ---- list ----

#[derive(Template)]
#[template(path = "orglife/meetings.html")]
struct MeetingsPage {
    ctx: PageCtx,
    rows: Vec<Meeting>,
    pager: Pager,
    f: MeetingFilter,
    units: Vec<(i64, String)>,
    branches: Vec<(i64, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: [(&'static str, &'static str); 4],
    years: Vec<i32>,
    can_write: bool,
    export_query: String,
}

impl MeetingsPage {
    fn sel(&self, v: &Option<String>, k: &str) -> bool {
        v.as_deref() == Some(k)
    }
    fn is(&self, v: &Option<String>, id: &i64) -> bool {
        parse_id(v) == Some(*id)
    }
    fn year_is(&self, y: &i32) -> bool {
        parse_id(&self.f.year) == Some(i64::from(*y))
    }
    fn q(&self) -> String {
        self.f.q.clone().unwrap_or_default()
    }
}

async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<MeetingFilter>,
) -> AppResult<Response> {
    let (rows, total) = store::list(&state, &user, &f, false).await?;
    let qs = f.query_string();
    let unit = parse_id(&f.unit_id);
    web::render(&MeetingsPage {
        ctx: PageCtx::new(&user, "三会一课", "/orglife/meetings", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("三会一课", "/orglife/meetings"),
        pager: Pager::new(&f.paging(), total, "/orglife/meetings", &qs),
        rows,
        units: unit_options(&state, &user).await?,
        branches: branch_options(&state, &user, unit).await?,
        kinds: kinds(),
        statuses: store::STATUSES,
        years: years_around(store::year_or_now(f.year.as_deref())),
        can_write: store::may_write(&user),
        export_query: qs,
        f,
    })
}

const EXPORT_HEADERS: [&str; 13] = [
    "会议日期",
    "会议类型",
    "机关党组织",
    "党支部",
    "党小组",
    "主题",
    "地点",
    "主持人",
    "记录人",
    "应到",
    "实到",
    "是否达到法定人数",
    "状态",
];

pub async fn export(state: &AppState, user: &CurrentUser, f: &MeetingFilter) -> AppResult<Vec<u8>> {
    let (rows, _) = store::list(state, user, f, true).await?;
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|m| {
            vec![
                m.held_on.clone(),
                m.kind_label().to_string(),
                m.unit_name.clone(),
                m.branch_name.clone(),
                m.group_name.clone().unwrap_or_default(),
                m.topic.clone(),
                m.place.clone(),
                m.presenter.clone(),
                m.recorder.clone(),
                m.eligible_count.to_string(),
                m.present_count.to_string(),
                if m.quorum_met == 1 { "是" } else { "否" }.to_string(),
                m.status_label().to_string(),
            ]
        })
        .collect();
    crate::xlsx::write_sheet("组织生活记录", &EXPORT_HEADERS, &rows)
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MeetingFilter>,
) -> AppResult<Response> {
    Ok(crate::xlsx::download(
        "组织生活记录.xlsx",
        export(&state, &user, &f).await?,
    ))
}

// ---- the form ----

#[derive(Template)]
#[template(path = "orglife/meeting_form.html")]
struct MeetingForm {
    ctx: PageCtx,
    action: String,
    meeting_id: Option<i64>,
    v: MeetingInput,
    branches: Vec<(i64, String)>,
    groups: Vec<(i64, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    register: RegisterView,
    errors: FieldErrors,
    /// Editing an accepted record sends it back to review.
    reopens: bool,
}

impl MeetingForm {
    fn err(&self, f: &str) -> String {
        self.errors.get(f).cloned().unwrap_or_default()
    }
    fn invalid(&self, f: &str) -> &'static str {
        if self.errors.contains_key(f) {
            " is-invalid"
        } else {
            ""
        }
    }
    fn duration(&self) -> String {
        self.v
            .duration_minutes
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
    fn group_is(&self, id: &i64) -> bool {
        self.v.group_id == Some(*id)
    }
}

/// The attendance part of the form: the register on the meeting's date.
#[derive(Template)]
#[template(path = "orglife/register.html")]
struct RegisterView {
    rows: Vec<RegisterLine>,
    /// Why there is no list yet.
    hint: Option<String>,
    quorum: String,
}

struct RegisterLine {
    m: RegisterMember,
    state: String,
    reason: String,
}

impl RegisterLine {
    fn is(&self, s: &str) -> bool {
        self.state == s
    }
}

/// The register for a branch, date and kind, with what was already marked.
async fn register_view(
    state: &AppState,
    user: &CurrentUser,
    v: &MeetingInput,
) -> AppResult<RegisterView> {
    let empty = |hint: &str| RegisterView {
        rows: Vec::new(),
        hint: Some(hint.into()),
        quorum: String::new(),
    };
    if v.branch_id == 0 {
        return Ok(empty("请先选择党支部。"));
    }
    let Ok(held) = crate::text::parse_date(v.held_on.trim()) else {
        return Ok(empty(
            "填写会议日期后，这里列出当日的支部党员名册用于签到。",
        ));
    };
    store::branch_in_scope(state, user, v.branch_id).await?;
    let kind = MeetingKind::parse(&v.kind);
    let register = store::register_on(state, v.branch_id, held).await?;
    let rows: Vec<RegisterLine> = register
        .into_iter()
        .filter(|m| match kind {
            Some(MeetingKind::GroupMeeting) => v.group_id.is_some() && m.group_id == v.group_id,
            Some(MeetingKind::CommitteeMeeting) => m.officer,
            _ => true,
        })
        .map(|m| {
            let given = v.attendance.iter().find(|a| a.member_id == m.member_id);
            RegisterLine {
                state: given.map_or("present".into(), |a| a.state.clone()),
                reason: given.map(|a| a.reason.clone()).unwrap_or_default(),
                m,
            }
        })
        .collect();
    let rules_all = store::load_rules(state).await?;
    let quorum = kind
        .and_then(|k| rules::rule_for(&rules_all, k, held.year()))
        .map(|r| r.quorum)
        .unwrap_or(Quorum::None);
    let hint = if rows.is_empty() {
        Some(match kind {
            Some(MeetingKind::GroupMeeting) if v.group_id.is_none() => "请选择党小组。".to_string(),
            Some(MeetingKind::CommitteeMeeting) => {
                "本支部尚未登记支委会委员，请先在党组织页面登记委员。".to_string()
            }
            _ => "会议当日本支部名册中没有党员。".to_string(),
        })
    } else {
        None
    };
    Ok(RegisterView {
        rows,
        hint,
        quorum: match quorum {
            Quorum::None => String::new(),
            q => format!("法定人数：{}", q.label()),
        },
    })
}

async fn groups_of(state: &AppState, branch_id: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "select org_id, name from org where parent_id = $1 and kind = 'group' order by sort_order, org_id",
    )
    .bind(branch_id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    user: &CurrentUser,
    title: &str,
    action: String,
    meeting_id: Option<i64>,
    v: MeetingInput,
    errors: FieldErrors,
    reopens: bool,
) -> AppResult<Response> {
    let branches = branch_options(state, user, None).await?;
    let groups = if v.branch_id > 0 {
        groups_of(state, v.branch_id).await?
    } else {
        Vec::new()
    };
    let register = register_view(state, user, &v).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut r = web::render(&MeetingForm {
        ctx: PageCtx::new(user, title, "/orglife/meetings", FlashIn(None))
            .crumb("组织生活", "/orglife/meetings")
            .crumb("三会一课", "/orglife/meetings")
            .crumb(title, ""),
        action,
        meeting_id,
        v,
        branches,
        groups,
        kinds: kinds(),
        register,
        errors,
        reopens,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Deserialize)]
struct NewQuery {
    branch_id: Option<String>,
    kind: Option<String>,
}

async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    user.require(store::may_write(&user))?;
    let branches = branch_options(&state, &user, None).await?;
    let branch_id = parse_id(&q.branch_id)
        .or_else(|| (branches.len() == 1).then(|| branches[0].0))
        .unwrap_or(0);
    let v = MeetingInput {
        branch_id,
        kind: q
            .kind
            .filter(|k| MeetingKind::parse(k).is_some())
            .unwrap_or_else(|| "theme_day".into()),
        held_on: crate::text::format_date(crate::clock::today()),
        duration_minutes: Some(90),
        client_token: Some(token()),
        ..Default::default()
    };
    render_form(
        &state,
        &user,
        "登记会议",
        "/orglife/meetings".into(),
        None,
        v,
        FieldErrors::new(),
        false,
    )
    .await
}

/// Reads the form: the fields, then `att_<member>` and `reason_<member>` pairs.
fn input_from_form(pairs: Vec<(String, String)>) -> MeetingInput {
    let mut v = MeetingInput::default();
    let mut reasons = std::collections::HashMap::new();
    for (k, val) in pairs {
        match k.as_str() {
            "branch_id" => v.branch_id = val.trim().parse().unwrap_or(0),
            "group_id" => v.group_id = val.trim().parse().ok(),
            "kind" => v.kind = val,
            "held_on" => v.held_on = val,
            "start_time" => v.start_time = val,
            "duration_minutes" => {
                v.duration_minutes = if val.trim().is_empty() {
                    None
                } else {
                    Some(val.trim().parse().unwrap_or(-1))
                }
            }
            "place" => v.place = val,
            "topic" => v.topic = val,
            "presenter" => v.presenter = val,
            "recorder" => v.recorder = val,
            "minutes" => v.minutes = val,
            "client_token" => v.client_token = Some(val),
            _ => {
                if let Some(id) = k.strip_prefix("att_").and_then(|s| s.parse::<i64>().ok()) {
                    v.attendance.push(store::AttendanceInput {
                        member_id: id,
                        state: val,
                        reason: String::new(),
                    });
                } else if let Some(id) = k
                    .strip_prefix("reason_")
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    reasons.insert(id, val);
                }
            }
        }
    }
    for a in &mut v.attendance {
        if let Some(r) = reasons.remove(&a.member_id) {
            a.reason = r;
        }
    }
    v
}

async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let v = input_from_form(pairs);
    match store::create(&state, &user, v.clone()).await {
        Ok(saved) => Ok(web::redirect_with_flash(
            &format!("/orglife/meetings/{}", saved.meeting_id),
            if saved.duplicate {
                "该表单已经提交过，这是已保存的记录（未重复登记）"
            } else {
                "已保存为草稿，核对无误后请提交审核"
            },
        )),
        Err(AppError::Invalid {
            message,
            mut fields,
        }) => {
            if fields.is_empty() {
                fields.insert("form".into(), message);
            }
            render_form(
                &state,
                &user,
                "登记会议",
                "/orglife/meetings".into(),
                None,
                v,
                fields,
                false,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct RegisterQuery {
    branch_id: Option<String>,
    held_on: Option<String>,
    kind: Option<String>,
    group_id: Option<String>,
}

/// The attendance table for the form, reloaded by htmx as branch, kind or date change.
async fn register_fragment(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RegisterQuery>,
) -> AppResult<Response> {
    user.require(store::may_write(&user))?;
    let v = MeetingInput {
        branch_id: parse_id(&q.branch_id).unwrap_or(0),
        held_on: q.held_on.unwrap_or_default(),
        kind: q.kind.unwrap_or_default(),
        group_id: parse_id(&q.group_id),
        ..Default::default()
    };
    web::render(&register_view(&state, &user, &v).await?)
}

// ---- one record ----

#[derive(Template)]
#[template(path = "orglife/meeting_detail.html")]
struct DetailPage {
    ctx: PageCtx,
    m: Meeting,
    attendance: Vec<Attendance>,
    trail: Vec<ReviewStep>,
    attachments: Vec<super::attachments::Attachment>,
    can_attach: bool,
    can_edit: bool,
    can_submit: bool,
    can_review: bool,
    can_delete: bool,
    quorum_rule: String,
    error: Option<String>,
}

impl DetailPage {
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn count(&self, s: &str) -> usize {
        self.attendance.iter().filter(|a| a.state == s).count()
    }
}

async fn detail(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    let m = store::get(state, user, id).await?;
    let attendance = store::attendance(state, id).await?;
    let trail = store::review_trail(state, id).await?;
    let writer = store::may_write(user);
    let rules_all = store::load_rules(state).await?;
    let year =
        crate::text::parse_date(&m.held_on).map_or(crate::clock::today().year(), |d| d.year());
    let quorum = MeetingKind::parse(&m.kind)
        .and_then(|k| rules::rule_for(&rules_all, k, year))
        .map_or(Quorum::None, |r| r.quorum);
    let title = format!("{} · {}", m.kind_label(), m.held_on);
    let mut r = web::render(&DetailPage {
        ctx: PageCtx::new(user, &title, "/orglife/meetings", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("三会一课", "/orglife/meetings")
            .crumb(title.clone(), ""),
        attachments: super::attachments::list(state, id).await?,
        can_attach: writer && matches!(m.status.as_str(), "draft" | "returned"),
        can_edit: writer && m.status != "submitted",
        can_submit: writer && matches!(m.status.as_str(), "draft" | "returned"),
        can_review: store::may_review(user) && m.status == "submitted",
        can_delete: writer && matches!(m.status.as_str(), "draft" | "returned"),
        quorum_rule: if quorum == Quorum::None {
            String::new()
        } else {
            quorum.label().to_string()
        },
        m,
        attendance,
        trail,
        error: error.clone(),
    })?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&state, &user, id, flash, None).await
}

async fn edit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    user.require(store::may_write(&user))?;
    let m = store::get(&state, &user, id).await?;
    if m.status == "submitted" {
        return Ok(web::redirect_with_flash(
            &format!("/orglife/meetings/{id}"),
            "该记录正在审核中，审核完成前不能修改",
        ));
    }
    let attendance = store::attendance(&state, id).await?;
    let v = MeetingInput {
        branch_id: m.branch_id,
        group_id: m.group_id,
        kind: m.kind.clone(),
        held_on: m.held_on.clone(),
        start_time: m.start_time.clone(),
        duration_minutes: Some(m.duration_minutes),
        place: m.place.clone(),
        topic: m.topic.clone(),
        presenter: m.presenter.clone(),
        recorder: m.recorder.clone(),
        minutes: m.minutes.clone(),
        attendance: attendance
            .into_iter()
            .map(|a| store::AttendanceInput {
                member_id: a.member_id,
                state: a.state,
                reason: a.reason,
            })
            .collect(),
        client_token: None,
    };
    render_form(
        &state,
        &user,
        "修改会议记录",
        format!("/orglife/meetings/{id}"),
        Some(id),
        v,
        FieldErrors::new(),
        m.status == "accepted",
    )
    .await
}

async fn update_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let v = input_from_form(pairs);
    let before = store::get(&state, &user, id).await?;
    match store::update(&state, &user, id, v.clone()).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/orglife/meetings/{id}"),
            if before.status == "accepted" {
                "已修改，记录已重新提交审核"
            } else {
                "已保存修改"
            },
        )),
        Err(AppError::Invalid {
            message,
            mut fields,
        }) => {
            if fields.is_empty() {
                fields.insert("form".into(), message);
            }
            render_form(
                &state,
                &user,
                "修改会议记录",
                format!("/orglife/meetings/{id}"),
                Some(id),
                v,
                fields,
                before.status == "accepted",
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default, ToSchema)]
pub struct CommentForm {
    /// Required when returning a record: what to change.
    #[serde(default)]
    pub comment: String,
}

async fn step_page(
    state: AppState,
    user: CurrentUser,
    id: i64,
    step: Step,
    comment: &str,
    done: &str,
) -> AppResult<Response> {
    match store::step(&state, &user, id, step, comment).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/orglife/meetings/{id}"),
            done,
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            detail(&state, &user, id, FlashIn(None), Some(msg)).await
        }
        Err(AppError::Conflict(msg)) => {
            let mut r = detail(&state, &user, id, FlashIn(None), Some(msg)).await?;
            *r.status_mut() = StatusCode::CONFLICT;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn submit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    step_page(
        state,
        user,
        id,
        Step::Submit,
        "",
        "已提交，等待机关党组织审核",
    )
    .await
}

async fn accept_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<CommentForm>,
) -> AppResult<Response> {
    step_page(
        state,
        user,
        id,
        Step::Accept,
        &f.comment,
        "已审核通过，计入合规统计",
    )
    .await
}

async fn return_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<CommentForm>,
) -> AppResult<Response> {
    step_page(state, user, id, Step::Return, &f.comment, "已退回支部修改").await
}

async fn delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    match store::delete(&state, &user, id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/orglife/meetings",
            "已删除该记录",
        )),
        Err(AppError::Conflict(msg)) => {
            let mut r = detail(&state, &user, id, FlashIn(None), Some(msg)).await?;
            *r.status_mut() = StatusCode::CONFLICT;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn attach_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    mp: axum::extract::Multipart,
) -> AppResult<Response> {
    let added = match super::attachments::read_file(mp).await {
        Ok((name, bytes)) => super::attachments::add(&state, &user, id, &name, &bytes).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => Ok(web::redirect_with_flash(
            &format!("/orglife/meetings/{id}"),
            "附件已上传",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            detail(&state, &user, id, FlashIn(None), Some(msg)).await
        }
        Err(e @ (AppError::Conflict(_) | AppError::TooLarge(_))) => {
            let status = e.status();
            let mut r = detail(&state, &user, id, FlashIn(None), Some(e.to_string())).await?;
            *r.status_mut() = status;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn attachment_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    super::attachments::download(&state, &user, id, aid).await
}

async fn detach_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    match super::attachments::remove(&state, &user, id, aid).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/orglife/meetings/{id}"),
            "已删除附件",
        )),
        Err(AppError::Conflict(msg)) => {
            let mut r = detail(&state, &user, id, FlashIn(None), Some(msg)).await?;
            *r.status_mut() = StatusCode::CONFLICT;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

// ---- the year at a glance ----

#[derive(Deserialize, IntoParams)]
pub struct CalendarQuery {
    pub branch_id: Option<String>,
    pub unit_id: Option<String>,
    pub year: Option<String>,
}

#[derive(Template)]
#[template(path = "orglife/calendar.html")]
struct CalendarPage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    branch_id: i64,
    branch_name: String,
    units: Vec<(i64, String)>,
    unit_id: Option<i64>,
    branches: Vec<(i64, String)>,
    grid: Vec<GridRow>,
    months: Vec<String>,
    met: i64,
    judged: i64,
    /// Present and expected over the accepted meetings of the year.
    attendance: (i64, i64),
    can_write: bool,
}

impl CalendarPage {
    fn rate(&self) -> String {
        rules::rate(self.met, self.judged).map_or("—".into(), |r| format!("{r:.1}%"))
    }
    fn attendance_rate(&self) -> String {
        rules::rate(self.attendance.0, self.attendance.1)
            .map_or("—".into(), |r| format!("{r:.1}%"))
    }
    fn unit_is(&self, id: &i64) -> bool {
        self.unit_id == Some(*id)
    }
}

async fn calendar_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<CalendarQuery>,
) -> AppResult<Response> {
    user.require(store::may_read(&user))?;
    let year = store::year_or_now(q.year.as_deref());
    let mut unit_id = parse_id(&q.unit_id);
    let mut branch_id = parse_id(&q.branch_id);
    let mut branch_name = String::new();
    if let Some(b) = branch_id {
        let facts = store::branch_in_scope(&state, &user, b).await?;
        unit_id = Some(facts.unit_id);
        branch_name = facts.name;
    }
    let branches = branch_options(&state, &user, unit_id).await?;
    if branch_id.is_none() && branches.len() == 1 {
        branch_id = Some(branches[0].0);
        branch_name = branches[0].1.clone();
    }
    let (grid, attendance) = match branch_id {
        Some(b) => store::branch_grid(&state, &user, b, year).await?,
        None => (Vec::new(), (0, 0)),
    };
    let (met, judged) = grid
        .iter()
        .fold((0, 0), |a, r| (a.0 + r.met, a.1 + r.judged));
    web::render(&CalendarPage {
        ctx: PageCtx::new(&user, "合规日历", "/orglife/calendar", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("合规日历", "/orglife/calendar"),
        year,
        years: years_around(year),
        branch_id: branch_id.unwrap_or(0),
        branch_name,
        units: if user.is_committee() {
            unit_options(&state, &user).await?
        } else {
            Vec::new()
        },
        unit_id,
        branches,
        grid,
        months: store::month_labels(),
        met,
        judged,
        attendance,
        can_write: store::may_write(&user),
    })
}

// ---- compliance ----

#[derive(Deserialize, IntoParams)]
pub struct ComplianceQuery {
    pub year: Option<String>,
    /// category | unit | branch
    pub by: Option<String>,
    pub unit_id: Option<String>,
    /// Within the year: q1–q4, h1–h2, m1–m12; the whole year by default.
    pub period: Option<String>,
}

impl ComplianceQuery {
    fn by(&self, user: &CurrentUser) -> &'static str {
        match self.by.as_deref() {
            Some("category") if user.is_committee() => "category",
            Some("branch") => "branch",
            Some("unit") => "unit",
            _ if user.is_committee() && parse_id(&self.unit_id).is_none() => "category",
            _ => "branch",
        }
    }
}

#[derive(Template)]
#[template(path = "orglife/compliance.html")]
struct CompliancePage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    by: &'static str,
    unit_id: Option<i64>,
    units: Vec<(i64, String)>,
    lines: Vec<ComplianceLine>,
    total: ComplianceLine,
    kinds: Vec<(&'static str, &'static str)>,
    kind_idx: Vec<usize>,
    committee: bool,
    period: String,
    period_label: String,
    periods: Vec<(String, String)>,
}

impl CompliancePage {
    fn unit_is(&self, id: &i64) -> bool {
        self.unit_id == Some(*id)
    }
    fn link(&self, l: &ComplianceLine) -> String {
        match l.level.as_str() {
            "branch" => format!("/orglife/calendar?branch_id={}&year={}", l.id, self.year),
            "unit" => format!(
                "/orglife/compliance?by=branch&unit_id={}&year={}&period={}",
                l.id, self.year, self.period
            ),
            _ => format!(
                "/orglife/compliance?by=unit&year={}&period={}",
                self.year, self.period
            ),
        }
    }
    fn bar(&self, l: &ComplianceLine) -> String {
        format!("{:.0}", l.rate.unwrap_or(0.0))
    }
    fn tone(&self, l: &ComplianceLine) -> &'static str {
        match l.rate {
            Some(r) if r >= 95.0 => "bg-green",
            Some(r) if r >= 80.0 => "bg-yellow",
            Some(_) => "bg-red",
            None => "bg-secondary",
        }
    }
}

async fn compliance_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<ComplianceQuery>,
) -> AppResult<Response> {
    user.require(store::may_read(&user))?;
    let year = store::year_or_now(q.year.as_deref());
    let by = q.by(&user);
    let unit_id = parse_id(&q.unit_id);
    let months = store::Months::parse(q.period.as_deref());
    let (lines, total) = store::compliance(&state, &user, year, by, unit_id, months).await?;
    web::render(&CompliancePage {
        period: months.code(),
        period_label: months.label(),
        periods: store::month_ranges(),
        ctx: PageCtx::new(&user, "合规统计", "/orglife/compliance", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("合规统计", "/orglife/compliance"),
        year,
        years: years_around(year),
        by,
        unit_id,
        units: unit_options(&state, &user).await?,
        lines,
        total,
        kinds: kinds(),
        kind_idx: (0..MeetingKind::ALL.len()).collect(),
        committee: user.is_committee(),
    })
}

pub async fn compliance_xlsx(
    state: &AppState,
    user: &CurrentUser,
    q: &ComplianceQuery,
) -> AppResult<Vec<u8>> {
    let year = store::year_or_now(q.year.as_deref());
    let by = q.by(user);
    let months = store::Months::parse(q.period.as_deref());
    let (lines, total) =
        store::compliance(state, user, year, by, parse_id(&q.unit_id), months).await?;
    let mut headers: Vec<&str> = vec![
        match by {
            "category" => "类别",
            "unit" => "机关党组织",
            _ => "党支部",
        },
        "上级",
        "支部数",
    ];
    headers.extend(MeetingKind::ALL.iter().map(|k| k.label()));
    headers.extend(["完成期数", "应完成期数", "合规率", "参学率"]);
    let line = |l: &ComplianceLine| {
        let mut row = vec![l.name.clone(), l.parent.clone(), l.branches.to_string()];
        row.extend((0..MeetingKind::ALL.len()).map(|i| l.kind_text(&i)));
        row.extend([
            l.met.to_string(),
            l.judged.to_string(),
            l.rate_text(),
            l.attendance_text(),
        ]);
        row
    };
    let mut rows: Vec<Vec<String>> = lines.iter().map(line).collect();
    rows.push(line(&total));
    crate::xlsx::write_sheet(
        &format!("{year}年{}组织生活合规", months.label()),
        &headers,
        &rows,
    )
}

async fn compliance_export(
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

// ---- rules ----

#[derive(Template)]
#[template(path = "orglife/rules.html")]
struct RulesPage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    rows: Vec<RuleLine>,
    history: Vec<rules::Rule>,
    can_edit: bool,
    error: Option<String>,
}

struct RuleLine {
    kind: MeetingKind,
    rule: Option<rules::Rule>,
}

impl RuleLine {
    fn period_is(&self, p: &str) -> bool {
        self.rule.as_ref().is_some_and(|r| r.period.as_str() == p)
    }
    fn quorum_is(&self, q: &str) -> bool {
        self.rule.as_ref().is_some_and(|r| r.quorum.as_str() == q)
    }
    fn times(&self) -> i64 {
        self.rule.as_ref().map_or(1, |r| r.times)
    }
}

impl RulesPage {
    fn periods(&self) -> Vec<(&'static str, &'static str)> {
        [Period::Month, Period::Quarter, Period::Year]
            .iter()
            .map(|p| (p.as_str(), p.label()))
            .collect()
    }
    fn quorums(&self) -> Vec<(&'static str, &'static str)> {
        [
            Quorum::None,
            Quorum::HalfOfFullMembers,
            Quorum::HalfOfCommittee,
        ]
        .iter()
        .map(|q| (q.as_str(), q.label()))
        .collect()
    }
}

#[derive(Deserialize)]
struct YearQuery {
    year: Option<String>,
}

async fn rules_render(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    user.require(store::may_read(user))?;
    let all = store::load_rules(state).await?;
    let rows = MeetingKind::ALL
        .iter()
        .map(|k| RuleLine {
            kind: *k,
            rule: rules::rule_for(&all, *k, year).cloned(),
        })
        .collect();
    let mut r = web::render(&RulesPage {
        ctx: PageCtx::new(user, "会议规则", "/orglife/rules", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("会议规则", "/orglife/rules"),
        year,
        years: (2018..=crate::clock::today().year() + 1).rev().collect(),
        rows,
        history: all,
        can_edit: user.is_committee(),
        error: error.clone(),
    })?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn rules_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let year = store::year_or_now(q.year.as_deref());
    rules_render(&state, &user, year, flash, None).await
}

#[derive(Deserialize)]
struct RuleForm {
    kind: String,
    from_year: String,
    period: String,
    times: String,
    quorum: String,
}

async fn rules_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<RuleForm>,
) -> AppResult<Response> {
    let input = RuleInput {
        kind: f.kind,
        from_year: f.from_year.trim().parse().unwrap_or(0),
        period: f.period,
        times: f.times.trim().parse().unwrap_or(0),
        quorum: f.quorum,
    };
    let year = i32::try_from(input.from_year).unwrap_or(crate::clock::today().year());
    match store::set_rule(&state, &user, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/orglife/rules?year={year}"),
            "规则已保存，自该年起生效；此前各年仍按原规则计算",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            rules_render(
                &state,
                &user,
                store::year_or_now(None),
                FlashIn(None),
                Some(msg),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---- a member's own ----

#[derive(Template)]
#[template(path = "orglife/mine.html")]
struct MinePage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    rows: Vec<MyMeeting>,
    rate: Option<f64>,
}

impl MinePage {
    fn rate_text(&self) -> String {
        self.rate.map_or("—".into(), |r| format!("{r:.1}%"))
    }
    fn count(&self, s: &str) -> usize {
        self.rows.iter().filter(|r| r.state == s).count()
    }
}

async fn mine_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    user.require(user.has(Role::Member))?;
    let year = store::year_or_now(q.year.as_deref());
    let (rows, rate) = store::my_meetings(&state, &user, year).await?;
    web::render(&MinePage {
        ctx: PageCtx::new(&user, "我的组织生活", "/orglife/mine", flash)
            .crumb("组织生活", "/orglife/mine")
            .crumb("我的组织生活", "/orglife/mine"),
        year,
        years: years_around(year),
        rows,
        rate,
    })
}

// ---- API ----

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
struct AttachmentUpload {
    /// A photo (JPG, PNG, WebP) or a PDF scan, at most 10 MB; the type is read from the content.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// A record's attachments.
#[utoipa::path(get, path = "/meetings/{id}/attachments", tag = "orglife", params(("id" = i64, Path)), responses((status = 200, body = Vec<super::attachments::Attachment>), (status = 404, body = crate::error::ErrorBody)))]
async fn api_attachments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<super::attachments::Attachment>>> {
    store::get(&state, &user, id).await?;
    Ok(Json(super::attachments::list(&state, id).await?))
}

/// Attach a photo or scan to a draft or returned record (multipart field `file`).
#[utoipa::path(post, path = "/meetings/{id}/attachments", tag = "orglife", params(("id" = i64, Path)), request_body(content = AttachmentUpload, content_type = "multipart/form-data"), responses((status = 201, body = i64), (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_attach(
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
async fn api_attachment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    super::attachments::download(&state, &user, id, aid).await
}

/// Remove an attachment from a draft or returned record.
#[utoipa::path(delete, path = "/meetings/{id}/attachments/{aid}", tag = "orglife", params(("id" = i64, Path), ("aid" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn api_detach(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    super::attachments::remove(&state, &user, id, aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MeetingPage {
    pub items: Vec<Meeting>,
    pub total: i64,
}

/// Meeting records in the caller's scope.
#[utoipa::path(get, path = "/meetings", tag = "orglife", params(MeetingFilter), responses((status = 200, body = MeetingPage), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MeetingFilter>,
) -> AppResult<Json<MeetingPage>> {
    let (items, total) = store::list(&state, &user, &f, false).await?;
    Ok(Json(MeetingPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub meeting_id: i64,
    /// True when the same client_token was already saved: nothing new was written.
    pub duplicate: bool,
}

/// Record a meeting (saved as a draft). A repeated client_token answers 409 with the saved id.
#[utoipa::path(post, path = "/meetings", tag = "orglife", request_body = MeetingInput, responses((status = 201, body = Created), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
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
async fn api_export(
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
async fn api_get(
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
async fn api_update(
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
async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Submit a draft or returned record for review.
#[utoipa::path(post, path = "/meetings/{id}/submit", tag = "orglife", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn api_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    store::step(&state, &user, id, Step::Submit, "").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept a submitted record (unit admin or committee).
#[utoipa::path(post, path = "/meetings/{id}/accept", tag = "orglife", params(("id" = i64, Path)), request_body = CommentForm, responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn api_accept(
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
async fn api_return(
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
async fn api_register(
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
async fn api_calendar(
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
    pub lines: Vec<ComplianceLine>,
    pub total: ComplianceLine,
}

/// Compliance rates for a year by category, unit or branch, and in total.
#[utoipa::path(get, path = "/orglife/compliance", tag = "orglife", params(ComplianceQuery), responses((status = 200, body = ComplianceTable), (status = 403, body = crate::error::ErrorBody)))]
async fn api_compliance(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ComplianceQuery>,
) -> AppResult<Json<ComplianceTable>> {
    let year = store::year_or_now(q.year.as_deref());
    let (lines, total) = store::compliance(
        &state,
        &user,
        year,
        q.by(&user),
        parse_id(&q.unit_id),
        store::Months::parse(q.period.as_deref()),
    )
    .await?;
    Ok(Json(ComplianceTable { lines, total }))
}

/// The compliance table as .xlsx.
#[utoipa::path(get, path = "/orglife/compliance/export", tag = "orglife", params(ComplianceQuery), responses((status = 200, description = "xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
async fn api_compliance_export(
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
async fn api_rules(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<rules::Rule>>> {
    user.require(store::may_read(&user))?;
    Ok(Json(store::load_rules(&state).await?))
}

/// Set the rule of a kind from a year on (committee only).
#[utoipa::path(put, path = "/meeting-rules", tag = "orglife", request_body = RuleInput, responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_set_rule(
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
async fn api_mine(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MyParams>,
) -> AppResult<Json<MyYear>> {
    let year = store::year_or_now(q.year.as_deref());
    let (items, rate) = store::my_meetings(&state, &user, year).await?;
    Ok(Json(MyYear { items, rate }))
}
