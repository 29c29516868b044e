//! Meeting record pages: the list with its filters and export, the form with the register
//! of the date, the detail with attachments and the review trail, the review steps.

use super::*;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::org::pickers;
use crate::orglife::rules::{self, MeetingKind, MeetingStatus, Quorum};
use crate::orglife::store::{
    self, Attendance, Meeting, MeetingFilter, MeetingInput, RegisterMember, ReviewStep, Step,
};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager};

#[derive(Template)]
#[template(path = "orglife/meetings.html")]
pub(in crate::orglife) struct MeetingsPage {
    ctx: PageCtx,
    rows: Vec<Meeting>,
    pager: Pager,
    f: MeetingFilter,
    units: Vec<(i64, String)>,
    branches: Vec<(i64, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
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

pub(in crate::orglife) async fn list_page(
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
        units: pickers::units(&state, &user).await?,
        branches: pickers::branches_labelled(&state, &user, unit).await?,
        kinds: kinds(),
        statuses: MeetingStatus::options(),
        years: years_around(store::year_or_now(f.year.as_deref())),
        can_write: store::may_write(&user),
        export_query: qs,
        f,
    })
}

pub(in crate::orglife) const EXPORT_HEADERS: [&str; 13] = [
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

/// The records matching the filter, read a batch at a time and written as they come (a
/// city's year is tens of thousands of records, each with its minutes).
pub async fn export(state: &AppState, user: &CurrentUser, f: &MeetingFilter) -> AppResult<Vec<u8>> {
    use crate::xlsx::Cell;
    let mut sheet = crate::xlsx::TableWriter::new("组织生活记录", &EXPORT_HEADERS)?;
    let mut after: Option<(String, i64)> = None;
    loop {
        let batch = store::export_batch(state, user, f, after.as_ref(), 1_000).await?;
        let Some(last) = batch.last() else { break };
        after = Some((last.held_on.clone(), last.meeting_id));
        let n = batch.len();
        for m in batch {
            sheet.push(&[
                Cell::date_or_text(&m.held_on),
                Cell::Text(m.kind_label().to_string()),
                Cell::Text(m.unit_name),
                Cell::Text(m.branch_name),
                Cell::Text(m.group_name.unwrap_or_default()),
                Cell::Text(m.topic),
                Cell::Text(m.place),
                Cell::Text(m.presenter),
                Cell::Text(m.recorder),
                Cell::Int(m.eligible_count),
                Cell::Int(m.present_count),
                Cell::Text(if m.quorum_met == 1 { "是" } else { "否" }.to_string()),
                Cell::Text(m.status.label().to_string()),
            ])?;
        }
        if n < 1_000 {
            break;
        }
    }
    sheet.finish()
}

pub(in crate::orglife) async fn export_page(
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
pub(in crate::orglife) struct MeetingForm {
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
    /// Why the unit returned the record, while it is returned.
    return_reason: Option<String>,
    /// Said above the form when its attendance was pre-filled from 扫码签到.
    checkin_note: Option<String>,
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
pub(in crate::orglife) struct RegisterView {
    rows: Vec<RegisterLine>,
    /// Why there is no list yet.
    hint: Option<String>,
    quorum: String,
    /// Marks given before the kind or date changed for members not on this list, as
    /// "name（出席）": said, so nobody thinks they were kept.
    dropped: Vec<String>,
}

pub(in crate::orglife) struct RegisterLine {
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
pub(in crate::orglife) async fn register_view(
    state: &AppState,
    user: &CurrentUser,
    v: &MeetingInput,
) -> AppResult<RegisterView> {
    let empty = |hint: &str| RegisterView {
        rows: Vec::new(),
        hint: Some(hint.into()),
        quorum: String::new(),
        dropped: Vec::new(),
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
        dropped: Vec::new(),
    })
}

#[allow(clippy::too_many_arguments)]
pub(in crate::orglife) async fn render_form(
    state: &AppState,
    user: &CurrentUser,
    title: &str,
    action: String,
    meeting_id: Option<i64>,
    v: MeetingInput,
    errors: FieldErrors,
    reopens: bool,
) -> AppResult<Response> {
    render_form_noted(
        state, user, title, action, meeting_id, v, errors, reopens, None,
    )
    .await
}

/// The form, with a note above it (the attendance pre-filled from 扫码签到).
#[allow(clippy::too_many_arguments)]
async fn render_form_noted(
    state: &AppState,
    user: &CurrentUser,
    title: &str,
    action: String,
    meeting_id: Option<i64>,
    v: MeetingInput,
    errors: FieldErrors,
    reopens: bool,
    checkin_note: Option<String>,
) -> AppResult<Response> {
    let branches = pickers::branches_labelled(state, user, None).await?;
    let groups = if v.branch_id > 0 {
        pickers::groups(state, &user.scope(), v.branch_id).await?
    } else {
        Vec::new()
    };
    let register = register_view(state, user, &v).await?;
    let return_reason = match meeting_id {
        Some(id) => Some(store::get(state, user, id).await?)
            .filter(|m| m.status == MeetingStatus::Returned)
            .map(|m| m.review_comment),
        None => None,
    };
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
        return_reason,
        checkin_note,
    })?;
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Deserialize)]
pub(in crate::orglife) struct NewQuery {
    branch_id: Option<String>,
    kind: Option<String>,
}

pub(in crate::orglife) async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    user.require(store::may_write(&user))?;
    let branches = pickers::branches_labelled(&state, &user, None).await?;
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
pub(in crate::orglife) fn input_from_form(pairs: Vec<(String, String)>) -> MeetingInput {
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

pub(in crate::orglife) async fn create_page(
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

/// The attendance table for the form, reloaded by htmx as branch, kind or date change. The
/// marks already given come along (`att_`, `reason_`, and `who_` for the name): members on
/// the new list keep them, and the others are named as dropped.
pub(in crate::orglife) async fn register_fragment(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    user.require(store::may_write(&user))?;
    let names: std::collections::HashMap<i64, String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("who_")?.parse::<i64>().ok()?;
            Some((id, crate::text::clean_text(v)))
        })
        .collect();
    let v = input_from_form(pairs);
    let mut view = register_view(&state, &user, &v).await?;
    if view.hint.is_none() {
        view.dropped = v
            .attendance
            .iter()
            .filter(|a| !view.rows.iter().any(|r| r.m.member_id == a.member_id))
            .map(|a| {
                let name = names
                    .get(&a.member_id)
                    .filter(|n| !n.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("编号{}", a.member_id));
                format!("{name}（{}）", store::attendance_label(&a.state))
            })
            .collect();
    }
    web::render(&view)
}

// ---- one record ----

#[derive(Template)]
#[template(path = "orglife/meeting_detail.html")]
pub(in crate::orglife) struct DetailPage {
    ctx: PageCtx,
    m: Meeting,
    attendance: Vec<Attendance>,
    trail: Vec<ReviewStep>,
    attachments: Vec<crate::orglife::attachments::Attachment>,
    can_attach: bool,
    can_edit: bool,
    can_submit: bool,
    can_review: bool,
    can_delete: bool,
    /// 扫码签到 may be opened: an open record, held today, by its branch's admin.
    can_checkin: bool,
    /// How many have signed in by scanning.
    checked_in: usize,
    quorum_rule: String,
    /// Whom 应到/实到 count: the full (voting) members, the committee, or everyone expected.
    counted: &'static str,
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

pub(in crate::orglife) async fn detail(
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
    let r = web::render(&DetailPage {
        ctx: PageCtx::new(user, &title, "/orglife/meetings", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("三会一课", "/orglife/meetings")
            .crumb(title.clone(), ""),
        attachments: crate::orglife::attachments::list(state, id).await?,
        can_attach: writer && m.status.is_open(),
        can_edit: writer && m.status != MeetingStatus::Submitted,
        can_submit: writer && m.status.is_open(),
        can_review: store::may_review(user)
            && m.status == MeetingStatus::Submitted
            && crate::orglife::review::submitted_by(state, id).await? != Some(user.user_id),
        can_delete: writer && m.status.is_open(),
        can_checkin: writer && m.status.is_open() && m.held_on == crate::clock::today().to_string(),
        checked_in: crate::checkin::store::times(state, crate::orglife::checkin::KIND.key, id)
            .await?
            .len(),
        counted: match quorum {
            Quorum::HalfOfFullMembers => "正式党员（有表决权，不含预备党员）",
            Quorum::HalfOfCommittee => "支委会委员",
            Quorum::None => "",
        },
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
    Ok(if error.is_some() { web::invalid(r) } else { r })
}

pub(in crate::orglife) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&state, &user, id, flash, None).await
}

#[derive(Deserialize)]
pub(in crate::orglife) struct EditQuery {
    /// `1`: pre-fill the attendance from 扫码签到.
    checkin: Option<String>,
}

pub(in crate::orglife) async fn edit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<EditQuery>,
) -> AppResult<Response> {
    user.require(store::may_write(&user))?;
    let m = store::get(&state, &user, id).await?;
    if m.status == MeetingStatus::Submitted {
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
    let mut v = v;
    let checkin_note = if q.checkin.as_deref() == Some("1") {
        Some(match crate::orglife::checkin::prefill(&state, id, &mut v).await? {
            Some(n) => format!(
                "已按扫码签到预填出席情况：{n}人签到记为出席，其余记为缺席（已请假的保留）。请核对、补填请假原因后保存。"
            ),
            None => "还没有人扫码签到，出席情况未改动。".to_string(),
        })
    } else {
        None
    };
    render_form_noted(
        &state,
        &user,
        "修改会议记录",
        format!("/orglife/meetings/{id}"),
        Some(id),
        v,
        FieldErrors::new(),
        m.status == MeetingStatus::Accepted,
        checkin_note,
    )
    .await
}

pub(in crate::orglife) async fn update_page(
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
            if before.status == MeetingStatus::Accepted {
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
                before.status == MeetingStatus::Accepted,
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

pub(in crate::orglife) async fn step_page(
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

pub(in crate::orglife) async fn submit_page(
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

pub(in crate::orglife) async fn accept_page(
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

pub(in crate::orglife) async fn return_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<CommentForm>,
) -> AppResult<Response> {
    step_page(state, user, id, Step::Return, &f.comment, "已退回支部修改").await
}

pub(in crate::orglife) async fn delete_page(
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

pub(in crate::orglife) async fn attach_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    mp: axum::extract::Multipart,
) -> AppResult<Response> {
    let added = match crate::orglife::attachments::read_file(mp).await {
        Ok((name, bytes)) => {
            crate::orglife::attachments::add(&state, &user, id, &name, &bytes).await
        }
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

pub(in crate::orglife) async fn attachment_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    crate::orglife::attachments::download(&state, &user, id, aid).await
}

pub(in crate::orglife) async fn detach_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    match crate::orglife::attachments::remove(&state, &user, id, aid).await {
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
