//! 三个百分百 pages: findings with filters and export, elections and extensions.

use super::rules::*;
use super::store::*;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use std::collections::HashMap;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::org::orgs::{self};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/establishment", get(page))
        .route("/org/establishment/export", get(export_page))
        .route(
            "/org/orgs/{id}/election",
            get(election_page).post(election_save),
        )
        .route(
            "/org/orgs/{id}/extension",
            axum::routing::post(extension_save),
        )
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct FindingFilter {
    /// establish | adjust | renew
    pub area: Option<String>,
    /// issue (counts against the rate) | warning (a term due soon)
    pub nature: Option<String>,
    /// Only the findings of this category's units.
    pub category_id: Option<i64>,
    /// Words in the unit's or the org's name.
    pub q: Option<String>,
    pub page: Option<i64>,
    /// Findings per page (1–200, default 50).
    pub per_page: Option<i64>,
}

impl FindingFilter {
    pub(super) fn paging(&self) -> web::Paging {
        web::Paging {
            page: self.page,
            per_page: Some(self.per_page.unwrap_or(50)),
        }
    }

    /// The filter as a query string without `page`, for the pager and the export link.
    pub(super) fn query_string(&self) -> String {
        web::query_string(&[
            ("area", self.area.clone().unwrap_or_default()),
            ("nature", self.nature.clone().unwrap_or_default()),
            (
                "category_id",
                self.category_id.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("q", self.q.clone().unwrap_or_default()),
            (
                "per_page",
                self.per_page.map(|c| c.to_string()).unwrap_or_default(),
            ),
        ])
    }

    /// Keeps the findings that match; an unknown area or nature is a field error, not a
    /// silently widened list.
    pub(super) fn apply<'a>(
        &self,
        findings: &'a [Finding],
        category_of: &HashMap<i64, i64>,
    ) -> AppResult<Vec<&'a Finding>> {
        let area = match self.area.as_deref().map(str::trim).unwrap_or("") {
            "" => None,
            "establish" => Some(Area::Establish),
            "adjust" => Some(Area::Adjust),
            "renew" => Some(Area::Renew),
            _ => {
                return Err(AppError::field(
                    "area",
                    "方面只能是 establish（应建尽建）、adjust（应调尽调）或 renew（应换尽换）",
                ))
            }
        };
        let warning = match self.nature.as_deref().map(str::trim).unwrap_or("") {
            "" => None,
            "issue" => Some(false),
            "warning" => Some(true),
            _ => {
                return Err(AppError::field(
                    "nature",
                    "性质只能是 issue（问题）或 warning（提示）",
                ))
            }
        };
        let q = crate::text::clean_text(self.q.as_deref().unwrap_or(""));
        Ok(findings
            .iter()
            .filter(|f| area.is_none_or(|a| f.area == a))
            .filter(|f| warning.is_none_or(|w| f.warning == w))
            .filter(|f| {
                self.category_id
                    .is_none_or(|c| category_of.get(&f.unit_id) == Some(&c))
            })
            .filter(|f| q.is_empty() || f.unit_name.contains(&q) || f.object.contains(&q))
            .collect())
    }
}

/// The findings of an overview the filter keeps, and how many there are before paging.
pub(super) async fn filtered<'a>(
    state: &AppState,
    findings: &'a [Finding],
    f: &FindingFilter,
) -> AppResult<Vec<&'a Finding>> {
    let category_of = if f.category_id.is_some() {
        unit_categories(state).await?
    } else {
        HashMap::new()
    };
    f.apply(findings, &category_of)
}

/// One page of findings, copied out of the shared overview (the rest are not copied).
pub(super) fn page_of(findings: Vec<&Finding>, paging: &web::Paging) -> Vec<Finding> {
    findings
        .into_iter()
        .skip(usize::try_from(paging.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.per_page()).unwrap_or(0))
        .cloned()
        .collect()
}

#[derive(Template)]
#[template(path = "org/establishment.html")]
pub(super) struct EstablishmentPage {
    ctx: PageCtx,
    o: Overview,
    f: FindingFilter,
    area: String,
    nature: String,
    q: String,
    query: String,
    counts: [(&'static str, &'static str, usize); 3],
    categories: Vec<(i64, String)>,
    pager: web::Pager,
}

impl EstablishmentPage {
    fn area_link(&self, area: &str) -> String {
        let f = FindingFilter {
            area: Some(area.to_string()),
            nature: self.f.nature.clone(),
            category_id: self.f.category_id,
            q: self.f.q.clone(),
            page: None,
            per_page: self.f.per_page,
        };
        let q = f.query_string();
        if q.is_empty() {
            "/org/establishment".into()
        } else {
            format!("/org/establishment?{q}")
        }
    }

    fn is_category(&self, id: &i64) -> bool {
        self.f.category_id == Some(*id)
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<FindingFilter>,
) -> AppResult<Response> {
    let (mut o, all) = overview(&state, &user).await?;
    let count = |a: Area| {
        all.findings
            .iter()
            .filter(|x| x.area == a && !x.warning)
            .count()
    };
    let counts = [
        ("establish", "应建尽建", count(Area::Establish)),
        ("adjust", "应调尽调", count(Area::Adjust)),
        ("renew", "应换尽换", count(Area::Renew)),
    ];
    let findings = filtered(&state, &all.findings, &f).await?;
    let paging = f.paging();
    let query = f.query_string();
    let pager = web::Pager::new(&paging, findings.len() as i64, "/org/establishment", &query);
    o.findings_total = findings.len() as i64;
    o.findings = page_of(findings, &paging);
    let categories = o
        .categories
        .iter()
        .map(|l| (l.category_id, l.name.clone()))
        .collect();
    web::render(&EstablishmentPage {
        ctx: PageCtx::new(&user, "三个百分百", "/org/establishment", flash)
            .crumb("组织体系", "/org/units")
            .crumb("三个百分百", "/org/establishment"),
        o,
        area: f.area.clone().unwrap_or_default(),
        nature: f.nature.clone().unwrap_or_default(),
        q: f.q.clone().unwrap_or_default(),
        query,
        f,
        counts,
        categories,
        pager,
    })
}

pub(super) async fn export_xlsx(
    state: &AppState,
    user: &CurrentUser,
    f: &FindingFilter,
) -> AppResult<Vec<u8>> {
    let (_, all) = overview(state, user).await?;
    use crate::xlsx::Cell;
    let rows: Vec<Vec<Cell>> = filtered(state, &all.findings, f)
        .await?
        .into_iter()
        .map(|f| {
            vec![
                Cell::text(f.area_label()),
                Cell::text(if f.warning { "提示" } else { "问题" }),
                Cell::text(&f.unit_name),
                Cell::text(&f.object),
                Cell::text(&f.figures),
                Cell::text(&f.advice),
                Cell::date_or_text(f.deadline.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    crate::xlsx::write_table(
        "三个百分百",
        &[
            "方面",
            "性质",
            "机关党组织",
            "对象",
            "情况",
            "依据与建议",
            "期限",
        ],
        &rows,
    )
}

pub(super) async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<FindingFilter>,
) -> AppResult<Response> {
    Ok(crate::xlsx::download(
        "三个百分百问题清单.xlsx",
        export_xlsx(&state, &user, &f).await?,
    ))
}

#[derive(Template)]
#[template(path = "org/election.html")]
pub(super) struct ElectionPage {
    ctx: PageCtx,
    org: orgs::Org,
    extended_to: Option<String>,
    extension_doc: String,
    early_doc: String,
    members: Vec<(i64, String)>,
    officers: Vec<orgs::Officer>,
    past: Vec<PastTerm>,
    posts: [&'static str; 6],
    years: i64,
    error: Option<String>,
}

impl ElectionPage {
    fn post_of(&self, member: &i64) -> String {
        self.officers
            .iter()
            .find(|o| o.member_id == *member)
            .map(|o| o.post.clone())
            .unwrap_or_default()
    }
}

pub(super) async fn election_render(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    user.require(user.is_registry_admin())?;
    let org = orgs::get_org(state, user, id).await?;
    let subtree: Vec<i64> = orgs::subtree_of(&orgs::tree_for_unit(state, org.unit_id).await?, id)
        .iter()
        .map(|n| n.org_id)
        .collect();
    let mut ms = Sql::new(
        "select m.member_id, m.name from member m where m.status = 'active' and m.branch_id in ",
    );
    ms.bind_list(&subtree)
        .push(" order by m.name_initials, m.member_id");
    let members = ms.fetch_all(&state.db.pool).await?;
    let ext: (Option<String>, String, String) = sqlx::query_as(
        "select term_extended_to, term_extension_doc, term_early_doc from org where org_id = $1",
    )
    .bind(id)
    .fetch_one(&state.db.pool)
    .await?;
    let years = term_years(state)
        .await?
        .get(&org.kind)
        .copied()
        .unwrap_or(3);
    let title = format!("{} · 换届", org.name);
    let r = web::render(&ElectionPage {
        ctx: PageCtx::new(user, &title, "/org/establishment", flash)
            .crumb("组织体系", "/org/units")
            .crumb(org.name.clone(), format!("/org/orgs/{id}"))
            .crumb("换届", ""),
        officers: orgs::officers(state, id).await?,
        past: past_terms(state, user, id).await?,
        org,
        extended_to: ext.0,
        extension_doc: ext.1,
        early_doc: ext.2,
        members,
        posts: crate::messages::OFFICER_POSTS,
        years,
        error: error.clone(),
    })?;
    Ok(if error.is_some() { web::invalid(r) } else { r })
}

pub(super) async fn election_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    election_render(&state, &user, id, flash, None).await
}

/// The election form: `elected_on` and `post_<member>` for each member given a post.
pub(super) async fn election_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut input = ElectionInput {
        elected_on: String::new(),
        officers: Vec::new(),
        approval_doc: String::new(),
    };
    for (k, v) in pairs {
        if k == "elected_on" {
            input.elected_on = v;
        } else if k == "approval_doc" {
            input.approval_doc = v;
        } else if let Some(m) = k.strip_prefix("post_").and_then(|s| s.parse::<i64>().ok()) {
            if !v.trim().is_empty() {
                input.officers.push(orgs::OfficerInput {
                    member_id: m,
                    post: v.trim().to_string(),
                });
            }
        }
    }
    match record_election(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}/election"),
            "已记录换届选举：上一届已存档，新一届任期开始",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            election_render(&state, &user, id, FlashIn(None), Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn extension_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(input): Form<ExtensionInput>,
) -> AppResult<Response> {
    match extend_term(&state, &user, id, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/org/orgs/{id}/election"),
            "已登记经批准的延期换届",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            election_render(&state, &user, id, FlashIn(None), Some(msg)).await
        }
        Err(e) => Err(e),
    }
}
