//! 党员 pages: the list with filters and export, the form, the detail, unmasking, transfers,
//! and a member's own profile (/me).

use super::rules::*;
use super::store::*;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::org::idnumber::{mask_id_number, mask_phone};
use crate::org::pickers;
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/members", get(list_page).post(create_page))
        .route("/org/members/export", get(export_page))
        .route("/org/members/new", get(new_page))
        .route("/org/members/branch-options", get(branch_options_page))
        .route("/org/members/{id}", get(detail_page).post(update_page))
        .route("/org/members/{id}/unmask", post(unmask_page))
        .route("/org/members/{id}/transfer", post(transfer_page))
        .route("/me", get(me_page))
}

#[derive(Template)]
#[template(path = "org/members.html")]
pub(super) struct MembersPage {
    ctx: PageCtx,
    rows: Vec<Member>,
    pager: Pager,
    f: MemberFilter,
    units: Vec<(i64, String)>,
    branches: Vec<(i64, String)>,
    can_edit: bool,
    can_unmask: bool,
    export_query: String,
}

impl MembersPage {
    fn sel(&self, v: &Option<String>, want: &str) -> bool {
        v.as_deref().unwrap_or("") == want
    }
    fn q(&self) -> String {
        self.f.q.clone().unwrap_or_default()
    }
    fn is(&self, v: &Option<String>, id: &i64) -> bool {
        num(v) == Some(*id)
    }
}

#[derive(Template)]
#[template(path = "org/members_table.html")]
pub(super) struct MembersTable<'a> {
    page: &'a MembersPage,
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    headers: axum::http::HeaderMap,
    Query(f): Query<MemberFilter>,
) -> AppResult<Response> {
    user.require(may_list(&user))?;
    // Only the page's rows are decrypted, and only what the table shows.
    let (rows, total) = list_stored(&state, &user.scope(), &f, false).await?;
    let rows = rows
        .into_iter()
        .map(|m| Ok(m.opened_for_list(&state.keys)?.masked()))
        .collect::<AppResult<Vec<_>>>()?;
    let qs = f.query_string();
    let fragment = web::is_htmx(&headers) && !headers.contains_key("hx-boosted");
    let page = MembersPage {
        ctx: PageCtx::new(&user, "党员", "/org/members", flash)
            .crumb("组织体系", "/org/units")
            .crumb("党员", "/org/members"),
        pager: Pager::new(&f.paging(), total, "/org/members", &qs),
        rows,
        // The filter menus are outside the fragment htmx swaps in.
        units: if fragment {
            Vec::new()
        } else {
            pickers::units(&state, &user).await?
        },
        branches: if fragment {
            Vec::new()
        } else {
            pickers::branches(&state, &user, num(&f.unit_id)).await?
        },
        can_edit: user.is_registry_admin(),
        can_unmask: user.may_unmask(),
        export_query: qs,
        f,
    };
    if fragment {
        web::render(&MembersTable { page: &page })
    } else {
        web::render(&page)
    }
}

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    #[serde(flatten)]
    f: MemberFilter,
    unmasked: Option<String>,
}

pub(super) async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let bytes = export(&state, &user, &q.f, q.unmasked.as_deref() == Some("1")).await?;
    Ok(crate::xlsx::download("党员名册.xlsx", bytes))
}

#[derive(Template)]
#[template(path = "org/member_form.html")]
pub(super) struct MemberForm {
    ctx: PageCtx,
    action: String,
    member_id: Option<i64>,
    v: MemberInput,
    picker: pickers::BranchPicker,
    groups: Vec<(i64, String)>,
    errors: FieldErrors,
}

impl MemberForm {
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
    fn opt(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn educations(&self) -> [&'static str; 8] {
        crate::messages::EDUCATIONS
    }
    fn statuses(&self) -> Vec<(&'static str, &'static str)> {
        MemberStatus::options()
    }
}

#[derive(Template)]
#[template(path = "org/branch_options.html")]
struct BranchOptions {
    picker: pickers::BranchPicker,
}

#[derive(Deserialize)]
pub(super) struct BranchOptionsQuery {
    unit_id: Option<String>,
}

/// The branches of the unit picked in a form (htmx): the options of its branch picker.
pub(super) async fn branch_options_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<BranchOptionsQuery>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let mut errors = FieldErrors::new();
    web::check_id(&mut errors, "unit_id", "机关党组织", q.unit_id.as_deref());
    web::filter_checked(errors)?;
    let unit_id = q.unit_id.as_deref().and_then(|v| v.trim().parse().ok());
    let branches = match unit_id {
        Some(u) => pickers::placements(&state, &user, u).await?,
        None => Vec::new(),
    };
    web::render(&BranchOptions {
        picker: pickers::BranchPicker {
            by_unit: user.is_committee(),
            units: Vec::new(),
            unit_id,
            branches,
            branch_id: 0,
        },
    })
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    org_id: Option<i64>,
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let branch_id = q.org_id.unwrap_or(0);
    web::render(&MemberForm {
        ctx: PageCtx::new(&user, "登记党员", "/org/members", flash)
            .crumb("党员", "/org/members")
            .crumb("登记党员", "/org/members/new"),
        action: "/org/members".into(),
        member_id: None,
        v: MemberInput {
            branch_id,
            kind: "full".into(),
            ..Default::default()
        },
        picker: pickers::branch_picker(&state, &user, branch_id).await?,
        groups: if branch_id > 0 {
            pickers::groups(&state, &user.registry_scope(), branch_id).await?
        } else {
            Vec::new()
        },
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize)]
pub(super) struct MemberFormData {
    name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    education: String,
    #[serde(default)]
    joined_on: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    converted_on: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    is_division_head: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    status_on: String,
    #[serde(default)]
    branch_id: String,
    #[serde(default)]
    group_id: String,
}

impl MemberFormData {
    fn input(self) -> MemberInput {
        let s = |v: String| Some(v).filter(|v| !v.trim().is_empty());
        MemberInput {
            name: self.name,
            gender: self.gender,
            ethnicity: self.ethnicity,
            birth_date: s(self.birth_date),
            id_number: self.id_number,
            phone: self.phone,
            education: self.education,
            joined_on: s(self.joined_on),
            kind: self.kind,
            converted_on: s(self.converted_on),
            position: self.position,
            is_division_head: self.is_division_head.is_some(),
            status: self.status,
            status_on: s(self.status_on),
            branch_id: self.branch_id.trim().parse().unwrap_or(0),
            group_id: self.group_id.trim().parse().ok(),
        }
    }
}

pub(super) async fn form_error(
    state: &AppState,
    user: &CurrentUser,
    v: MemberInput,
    member_id: Option<i64>,
    e: AppError,
) -> AppResult<Response> {
    let errors = match e {
        AppError::Invalid { fields, .. } => fields,
        other => return Err(other),
    };
    let groups = if v.branch_id > 0 {
        pickers::groups(state, &user.registry_scope(), v.branch_id).await?
    } else {
        Vec::new()
    };
    web::render_invalid(&MemberForm {
        ctx: PageCtx::new(
            user,
            if member_id.is_some() {
                "编辑党员信息"
            } else {
                "登记党员"
            },
            "/org/members",
            FlashIn(None),
        )
        .crumb("党员", "/org/members"),
        action: member_id.map_or("/org/members".into(), |id| format!("/org/members/{id}")),
        member_id,
        picker: pickers::branch_picker(state, user, v.branch_id).await?,
        groups,
        v,
        errors,
    })
}

pub(super) async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<MemberFormData>,
) -> AppResult<Response> {
    let input = f.input();
    match create(&state, &user, input.clone()).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/org/members/{id}"),
            "党员已登记",
        )),
        Err(e) => form_error(&state, &user, input, None, e).await,
    }
}

pub(super) async fn update_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<MemberFormData>,
) -> AppResult<Response> {
    let mut input = f.input();
    let current = get_member(&state, &user, id).await?;
    input.branch_id = current.branch_id;
    // The edit form shows the ID masked; an unchanged masked value keeps the stored one
    // (`current` is decrypted).
    if input.id_number.contains('*') {
        input.id_number = current.id_number.clone();
    }
    if input.phone.contains('*') {
        input.phone = current.phone.clone();
    }
    match update(&state, &user, id, input.clone()).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/members/{id}"),
            crate::messages::SAVED,
        )),
        Err(e) => {
            let mut shown = input;
            shown.id_number = mask_id_number(&shown.id_number);
            shown.phone = mask_phone(&shown.phone);
            form_error(&state, &user, shown, Some(id), e).await
        }
    }
}

#[derive(Template)]
#[template(path = "org/member_detail.html")]
pub(super) struct MemberDetail {
    ctx: PageCtx,
    m: Member,
    unmasked: bool,
    can_edit: bool,
    can_unmask: bool,
    transfers: Vec<Transfer>,
    picker: pickers::BranchPicker,
    groups: Vec<(i64, String)>,
    errors: FieldErrors,
    form: MemberInput,
}

impl MemberDetail {
    fn opt(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn err(&self, f: &str) -> String {
        self.errors.get(f).cloned().unwrap_or_default()
    }
    fn educations(&self) -> [&'static str; 8] {
        crate::messages::EDUCATIONS
    }
    fn statuses(&self) -> Vec<(&'static str, &'static str)> {
        MemberStatus::options()
    }
}

pub(super) fn input_of(m: &Member) -> MemberInput {
    MemberInput {
        name: m.name.clone(),
        gender: m.gender.clone(),
        ethnicity: m.ethnicity.clone(),
        birth_date: m.birth_date.clone(),
        id_number: m.id_number.clone(),
        phone: m.phone.clone(),
        education: m.education.clone(),
        joined_on: m.joined_on.clone(),
        kind: m.kind.as_str().to_string(),
        converted_on: m.converted_on.clone(),
        position: m.position.clone(),
        is_division_head: m.is_division_head != 0,
        status: m.status.as_str().to_string(),
        status_on: m.status_on.clone(),
        branch_id: m.branch_id,
        group_id: m.group_id,
    }
}

pub(super) async fn detail(
    state: &AppState,
    user: &CurrentUser,
    m: Member,
    unmasked: bool,
    flash: FlashIn,
    errors: FieldErrors,
) -> AppResult<Response> {
    let m = if unmasked { m } else { m.masked() };
    let can_edit = user.is_registry_admin();
    web::render(&MemberDetail {
        ctx: if may_list(user) {
            PageCtx::new(user, &m.name, "/org/members", flash)
                .crumb("党员", "/org/members")
                .crumb(
                    m.branch_name.clone(),
                    format!("/org/members?org_id={}", m.branch_id),
                )
                .crumb(m.name.clone(), format!("/org/members/{}", m.member_id))
        } else {
            PageCtx::new(user, &m.name, "/me", flash).crumb("我的档案", "/me")
        },
        transfers: transfers(state, m.member_id).await?,
        picker: if can_edit {
            pickers::branch_picker(state, user, m.branch_id).await?
        } else {
            pickers::BranchPicker {
                by_unit: false,
                units: Vec::new(),
                unit_id: None,
                branches: Vec::new(),
                branch_id: 0,
            }
        },
        groups: pickers::groups(state, &user.scope(), m.branch_id).await?,
        can_unmask: user.may_unmask(),
        can_edit,
        unmasked,
        errors,
        form: input_of(&m),
        m,
    })
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = get_member(&state, &user, id).await?;
    detail(&state, &user, m, false, flash, FieldErrors::new()).await
}

pub(super) async fn unmask_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = unmask(&state, &user, id).await?;
    // Not cached, like every answer (`app::no_store`).
    detail(&state, &user, m, true, FlashIn(None), FieldErrors::new()).await
}

#[derive(Deserialize)]
pub(super) struct TransferForm {
    to_branch_id: String,
    #[serde(default)]
    transferred_on: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn transfer_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<TransferForm>,
) -> AppResult<Response> {
    let input = TransferInput {
        to_branch_id: f.to_branch_id.trim().parse().unwrap_or(0),
        transferred_on: Some(f.transferred_on).filter(|s| !s.trim().is_empty()),
        reason: f.reason,
    };
    match transfer(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/members/{id}"),
            "组织关系已转接",
        )),
        Err(AppError::Invalid { fields, .. }) => {
            let m = get_member(&state, &user, id).await?;
            Ok(web::invalid(
                detail(&state, &user, m, false, FlashIn(None), fields).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn me_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    let Some(id) = user.member_ids().first().copied() else {
        return Err(AppError::Forbidden);
    };
    let m = get_member(&state, &user, id).await?;
    detail(&state, &user, m, false, flash, FieldErrors::new()).await
}
