//! 党组织树 pages: the tree, an org's detail and form, officers.

use super::rules::*;
use super::store::*;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/tree", get(tree_page))
        .route("/org/tree/export", get(tree_export))
        .route("/org/orgs", post(create_page))
        .route("/org/orgs/new", get(new_page))
        .route("/org/orgs/{id}", get(detail_page).post(update_page))
        .route("/org/orgs/{id}/delete", post(delete_page))
        .route("/org/orgs/{id}/officers", post(officers_page))
}

#[derive(Deserialize, IntoParams)]
pub struct TreeQuery {
    pub unit_id: Option<String>,
}

impl TreeQuery {
    pub(super) fn unit(&self) -> Option<i64> {
        self.unit_id.as_deref().and_then(|v| v.trim().parse().ok())
    }
}

#[derive(Template)]
#[template(path = "org/tree.html")]
pub(super) struct TreePage {
    ctx: PageCtx,
    tree: Vec<TreeNode>,
    units: Vec<(i64, String)>,
    unit_id: Option<i64>,
    can_edit: bool,
}

pub(super) async fn units_in_scope(
    state: &AppState,
    user: &CurrentUser,
) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new("select u.unit_id, u.name from unit u where ");
    if user.is_committee() || user.has(crate::auth::Role::Unit) {
        user.scope().unit_condition(&mut sql);
    } else {
        sql.push("u.unit_id in (select o.unit_id from org o where o.org_id in ")
            .bind_list(&user.branch_ids())
            .push(")");
    }
    sql.push(" order by u.sort_order, u.unit_id");
    crate::org::pickers::cached_pairs(state, &sql).await
}

pub(super) async fn tree_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<TreeQuery>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin() || user.has(crate::auth::Role::Branch))?;
    let units = units_in_scope(&state, &user).await?;
    // The committee sees one unit at a time: the whole city is thousands of rows.
    let unit_id = q.unit().or_else(|| {
        if user.is_committee() {
            units.first().map(|u| u.0)
        } else {
            None
        }
    });
    web::render(&TreePage {
        ctx: PageCtx::new(&user, "党组织树", "/org/tree", flash)
            .crumb("组织体系", "/org/units")
            .crumb("党组织树", "/org/tree"),
        tree: tree(&state, &user, unit_id).await?,
        units,
        unit_id,
        can_edit: user.is_registry_admin(),
    })
}

pub(super) async fn tree_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<TreeQuery>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin() || user.has(crate::auth::Role::Branch))?;
    Ok(crate::xlsx::download(
        "党组织.xlsx",
        export_scoped(&state, &user, q.unit()).await?,
    ))
}

#[derive(Template)]
#[template(path = "org/org_form.html")]
pub(super) struct OrgForm {
    ctx: PageCtx,
    action: String,
    org_id: Option<i64>,
    unit_id: i64,
    unit_name: String,
    parent_id: Option<i64>,
    kind: String,
    name: String,
    founded_on: String,
    term_start: String,
    term_end: String,
    sort_order: i64,
    parents: Vec<TreeNode>,
    errors: FieldErrors,
}

impl OrgForm {
    fn err(&self, f: &str) -> String {
        self.errors.get(f).cloned().unwrap_or_default()
    }
    fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        OrgKind::options()
    }
    fn indent(&self, depth: &usize) -> String {
        "　".repeat(*depth)
    }
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    unit_id: Option<i64>,
    parent_id: Option<i64>,
}

pub(super) async fn unit_name(
    state: &AppState,
    user: &CurrentUser,
    unit_id: i64,
) -> AppResult<String> {
    Ok(crate::org::units::get_unit(state, user, unit_id)
        .await?
        .name)
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let unit_id = match q.unit_id.or_else(|| user.unit_ids().first().copied()) {
        Some(u) => u,
        None => {
            return Ok(web::redirect_with_flash(
                "/org/units",
                "请先选择要在哪个机关党组织下新建党组织",
            ))
        }
    };
    let unit_name = unit_name(&state, &user, unit_id).await?;
    let parent_kind = match q.parent_id {
        Some(p) => Some(get_org(&state, &user, p).await?.kind),
        None => None,
    };
    let kind = match parent_kind {
        Some(OrgKind::Branch) => OrgKind::Group,
        Some(_) | None => OrgKind::Branch,
    };
    web::render(&OrgForm {
        ctx: PageCtx::new(&user, "新建党组织", "/org/tree", flash)
            .crumb(unit_name.clone(), format!("/org/units/{unit_id}"))
            .crumb("新建党组织", ""),
        action: "/org/orgs".into(),
        org_id: None,
        unit_id,
        unit_name,
        parent_id: q.parent_id,
        kind: kind.as_str().into(),
        name: String::new(),
        founded_on: String::new(),
        term_start: String::new(),
        term_end: String::new(),
        sort_order: 0,
        parents: tree_for_unit(&state, unit_id).await?,
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize)]
pub(super) struct OrgFormData {
    unit_id: String,
    #[serde(default)]
    parent_id: String,
    kind: String,
    name: String,
    #[serde(default)]
    founded_on: String,
    #[serde(default)]
    term_start: String,
    #[serde(default)]
    term_end: String,
    #[serde(default)]
    sort_order: String,
}

impl OrgFormData {
    fn input(&self) -> OrgInput {
        let s = |v: &str| Some(v.to_string()).filter(|v| !v.trim().is_empty());
        OrgInput {
            unit_id: self.unit_id.trim().parse().unwrap_or(0),
            parent_id: self.parent_id.trim().parse().ok(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            founded_on: s(&self.founded_on),
            term_start: s(&self.term_start),
            term_end: s(&self.term_end),
            sort_order: self.sort_order.trim().parse().ok(),
        }
    }
}

pub(super) async fn form_error(
    state: &AppState,
    user: &CurrentUser,
    f: &OrgFormData,
    org_id: Option<i64>,
    e: AppError,
) -> AppResult<Response> {
    let errors = match e {
        AppError::Invalid { fields, .. } => fields,
        other => return Err(other),
    };
    let input = f.input();
    let unit_name = unit_name(state, user, input.unit_id).await?;
    web::render_invalid(&OrgForm {
        ctx: PageCtx::new(
            user,
            if org_id.is_some() {
                "编辑党组织"
            } else {
                "新建党组织"
            },
            "/org/tree",
            FlashIn(None),
        )
        .crumb(unit_name.clone(), format!("/org/units/{}", input.unit_id)),
        action: org_id.map_or("/org/orgs".into(), |id| format!("/org/orgs/{id}")),
        org_id,
        unit_id: input.unit_id,
        unit_name,
        parent_id: input.parent_id,
        kind: f.kind.clone(),
        name: f.name.clone(),
        founded_on: f.founded_on.clone(),
        term_start: f.term_start.clone(),
        term_end: f.term_end.clone(),
        sort_order: input.sort_order.unwrap_or(0),
        parents: tree_for_unit(state, input.unit_id).await?,
        errors,
    })
}

pub(super) async fn create_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<OrgFormData>,
) -> AppResult<Response> {
    match create(&state, &user, f.input()).await {
        Ok(id) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}"),
            "党组织已新建",
        )),
        Err(e) => form_error(&state, &user, &f, None, e).await,
    }
}

pub(super) async fn update_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<OrgFormData>,
) -> AppResult<Response> {
    match update(&state, &user, id, f.input()).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}"),
            crate::messages::SAVED,
        )),
        Err(e) => form_error(&state, &user, &f, Some(id), e).await,
    }
}

pub(super) async fn delete_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let org = get_org(&state, &user, id).await?;
    match delete(&state, &user, id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/units/{}", org.unit_id),
            "党组织已删除",
        )),
        Err(AppError::Conflict(m)) => Ok(web::redirect_with_flash(&format!("/org/orgs/{id}"), &m)),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "org/org_detail.html")]
pub(super) struct OrgDetail {
    ctx: PageCtx,
    org: Org,
    subtree: Vec<TreeNode>,
    officers: Vec<Officer>,
    candidates: Vec<(i64, String)>,
    parents: Vec<TreeNode>,
    can_edit: bool,
    errors: FieldErrors,
}

impl OrgDetail {
    fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        OrgKind::options()
    }
    fn indent(&self, depth: &usize) -> String {
        "　".repeat(*depth)
    }
    fn posts(&self) -> [&'static str; 6] {
        crate::messages::OFFICER_POSTS
    }
    fn post_of(&self, member_id: &i64) -> String {
        self.officers
            .iter()
            .find(|o| o.member_id == *member_id)
            .map(|o| o.post.clone())
            .unwrap_or_default()
    }
    /// Posts whose holder no longer counts (see `Officer::valid`), as 姓名（职务）.
    fn stale_posts(&self) -> String {
        self.officers
            .iter()
            .filter(|o| o.valid == 0)
            .map(|o| format!("{}（{}）", o.name, o.post))
            .collect::<Vec<_>>()
            .join("、")
    }
}

pub(super) async fn detail(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    errors: FieldErrors,
) -> AppResult<Response> {
    let org = get_org(state, user, id).await?;
    let unit_tree = tree_for_unit(state, org.unit_id).await?;
    let subtree = subtree_of(&unit_tree, id);
    // Who may hold a post: the active members of this org and the orgs under it.
    let ids: Vec<i64> = subtree
        .iter()
        .filter(|n| n.kind != OrgKind::Group)
        .map(|n| n.org_id)
        .collect();
    let mut cs = crate::db::Sql::new(
        "select member_id, name from member where status = 'active' and branch_id in ",
    );
    cs.bind_list(&ids).push(" order by name limit 500");
    let candidates: Vec<(i64, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        cs.fetch_all(&state.db.pool).await?
    };
    web::render(&OrgDetail {
        ctx: PageCtx::new(user, &org.name, "/org/tree", flash)
            .crumb(org.unit_name.clone(), format!("/org/units/{}", org.unit_id))
            .crumb(org.name.clone(), format!("/org/orgs/{id}")),
        officers: officers(state, id).await?,
        can_edit: user.is_registry_admin() && user.scope().sees_unit(org.unit_id),
        parents: unit_tree
            .into_iter()
            .filter(|n| n.org_id != id && n.kind != OrgKind::Group)
            .collect(),
        subtree,
        candidates,
        org,
        errors,
    })
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&state, &user, id, flash, FieldErrors::new()).await
}

pub(super) async fn officers_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    // Fields arrive as post_<member_id>=<post>; an empty post means not on the committee.
    let list: Vec<OfficerInput> = pairs
        .into_iter()
        .filter_map(|(k, v)| {
            let member_id = k.strip_prefix("post_")?.parse().ok()?;
            (!v.trim().is_empty()).then(|| OfficerInput {
                member_id,
                post: v.trim().to_string(),
            })
        })
        .collect();
    match set_officers(&state, &user, id, list).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}"),
            "班子成员已更新",
        )),
        Err(AppError::Invalid { fields, .. }) => Ok(web::invalid(
            detail(&state, &user, id, FlashIn(None), fields).await?,
        )),
        Err(e) => Err(e),
    }
}
