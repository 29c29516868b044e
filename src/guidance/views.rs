//! The committee's views across units: each category's requirements of a year with every
//! unit's tasks and latest progress under them and the gaps (items no task of a unit covers),
//! and the count of gaps per category.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::may_view_categories;
use super::plans::{all_plans, items_for, tasks_of_plans, year_param, PlanFilter, Progress};
use super::rules::{self, PlanStatus};
use super::store::Item;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::Paging;

/// A category's figures for a year.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategorySummary {
    pub category_id: i64,
    pub name: String,
    pub requirement_title: String,
    pub units: i64,
    pub submitted: i64,
    pub drafts: i64,
    /// Units without a plan.
    pub missing: i64,
    /// Units leaving at least one item uncovered.
    pub units_with_gaps: i64,
    /// Items uncovered, summed over the units.
    pub gaps: i64,
}

/// Every category's figures for `year` (the committee).
pub async fn overview(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
) -> AppResult<Vec<CategorySummary>> {
    user.require(may_view_categories(user))?;
    let lines = all_plans(
        state,
        user,
        &PlanFilter {
            year: Some(year.to_string()),
            ..Default::default()
        },
    )
    .await?;
    let cats: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "select category_id, name, requirement_title, retired from category \
         order by sort_order, category_id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    Ok(cats
        .into_iter()
        .filter_map(|(id, name, title, retired)| {
            let ls: Vec<_> = lines.iter().filter(|l| l.category_id == id).collect();
            if retired != 0 && ls.is_empty() {
                return None;
            }
            Some(CategorySummary {
                category_id: id,
                name,
                requirement_title: title,
                units: ls.len() as i64,
                submitted: ls
                    .iter()
                    .filter(|l| l.status.as_deref() == Some("submitted"))
                    .count() as i64,
                drafts: ls
                    .iter()
                    .filter(|l| l.status.as_deref() == Some("draft"))
                    .count() as i64,
                missing: ls.iter().filter(|l| l.plan_id.is_none()).count() as i64,
                units_with_gaps: ls.iter().filter(|l| l.gaps() > 0).count() as i64,
                gaps: ls.iter().map(|l| l.gaps()).sum(),
            })
        })
        .collect())
}

/// A task as it shows under an item: what, who, by when, and its latest progress.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaskBrief {
    pub task_id: i64,
    pub position: i64,
    pub title: String,
    pub owner: String,
    pub deadline: String,
    pub latest: Option<Progress>,
}

/// A unit under an item: its tasks linked to the item; none is a gap.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitEntry {
    pub unit_id: i64,
    pub unit_name: String,
    pub plan_id: Option<i64>,
    pub tasks: Vec<TaskBrief>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemRow {
    pub item: Item,
    /// The units of the page, each with its tasks for the item.
    pub units: Vec<UnitEntry>,
    /// Units of the page no task of which covers it.
    pub gap_units: i64,
}

/// A unit's plan in the category: status and the items it leaves uncovered.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitCoverage {
    pub unit_id: i64,
    pub unit_name: String,
    pub plan_id: Option<i64>,
    pub status: Option<PlanStatus>,
    pub task_count: i64,
    pub covered: i64,
    pub total: i64,
    /// Items no task covers, as their tags (个性要求2, 共性目标5).
    pub gaps: Vec<String>,
}

impl UnitCoverage {
    pub fn status_label(&self) -> &'static str {
        self.status.map_or("未编制", PlanStatus::label)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub category_id: i64,
    pub name: String,
    pub requirement_title: String,
    pub year: i64,
    /// Whether the year's items are published (else nothing to plan against).
    pub published: bool,
    /// The category's requirements, then the common goal, each with the page's units.
    pub requirements: Vec<ItemRow>,
    pub common: Vec<ItemRow>,
    /// The units of the page.
    pub units: Vec<UnitCoverage>,
    /// Units matching the filter in all.
    pub total: i64,
    /// Over every unit of the category (not only the page).
    pub units_with_gaps: i64,
    pub gaps: i64,
}

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CategoryFilter {
    /// This year without it.
    pub year: Option<String>,
    /// Part of a unit's name.
    pub q: Option<String>,
    /// `1`: only units with gaps.
    pub gaps: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A category's requirements and the common goal of a year, with the tasks and latest
/// progress of a page of its units under each, and their gaps (the committee).
pub async fn category_view(
    state: &AppState,
    user: &CurrentUser,
    category_id: i64,
    f: &CategoryFilter,
) -> AppResult<CategoryView> {
    user.require(may_view_categories(user))?;
    let mut errors = FieldErrors::new();
    let year = year_param(&mut errors, f.year.as_deref());
    crate::web::check_choice(
        &mut errors,
        "gaps",
        "筛选",
        f.gaps.as_deref(),
        &[("1", "只看有缺项的单位"), ("0", "全部单位")],
    );
    crate::web::filter_checked(errors)?;
    let cat: Option<(String, String)> =
        sqlx::query_as("select name, requirement_title from category where category_id = $1")
            .bind(category_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let (name, requirement_title) = cat.ok_or(AppError::NotFound)?;
    let items = items_for(state, year, category_id).await?;
    let published = super::store::published(state, year).await?.is_some();
    let lines = all_plans(
        state,
        user,
        &PlanFilter {
            year: Some(year.to_string()),
            category_id: Some(category_id.to_string()),
            q: f.q.clone(),
            ..Default::default()
        },
    )
    .await?;
    let units_with_gaps = lines.iter().filter(|l| l.gaps() > 0).count() as i64;
    let gaps: i64 = lines.iter().map(|l| l.gaps()).sum();
    let lines: Vec<_> = lines
        .into_iter()
        .filter(|l| f.gaps.as_deref() != Some("1") || l.gaps() > 0)
        .collect();
    let total = lines.len() as i64;
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let page: Vec<_> = lines
        .into_iter()
        .skip(paging.offset() as usize)
        .take(paging.per_page() as usize)
        .collect();
    let plan_ids: Vec<i64> = page.iter().filter_map(|l| l.plan_id).collect();
    let tasks = tasks_of_plans(state, &plan_ids).await?;
    let item_ids: Vec<i64> = items.iter().map(|i| i.item_id).collect();
    let units: Vec<UnitCoverage> = page
        .iter()
        .map(|l| {
            let covered: BTreeSet<i64> = tasks
                .iter()
                .filter(|t| Some(t.plan_id) == l.plan_id)
                .flat_map(|t| t.item_ids.clone())
                .collect();
            let (_, gap_ids) = rules::coverage(&item_ids, &covered);
            UnitCoverage {
                unit_id: l.unit_id,
                unit_name: l.unit_name.clone(),
                plan_id: l.plan_id,
                status: l.status.as_deref().and_then(PlanStatus::from_key),
                task_count: l.task_count,
                covered: l.covered,
                total: l.total,
                gaps: gap_ids
                    .iter()
                    .filter_map(|g| items.iter().find(|i| i.item_id == *g))
                    .map(Item::tag)
                    .collect(),
            }
        })
        .collect();
    let row = |item: &Item| {
        let entries: Vec<UnitEntry> = page
            .iter()
            .map(|l| UnitEntry {
                unit_id: l.unit_id,
                unit_name: l.unit_name.clone(),
                plan_id: l.plan_id,
                tasks: tasks
                    .iter()
                    .filter(|t| Some(t.plan_id) == l.plan_id && t.item_ids.contains(&item.item_id))
                    .map(|t| TaskBrief {
                        task_id: t.task_id,
                        position: t.position,
                        title: t.title.clone(),
                        owner: t.owner.clone(),
                        deadline: t.deadline.clone(),
                        latest: t.latest().cloned(),
                    })
                    .collect(),
            })
            .collect();
        ItemRow {
            item: item.clone(),
            gap_units: entries.iter().filter(|e| e.tasks.is_empty()).count() as i64,
            units: entries,
        }
    };
    Ok(CategoryView {
        category_id,
        name,
        requirement_title,
        year,
        published,
        requirements: items
            .iter()
            .filter(|i| i.category_id.is_some())
            .map(row)
            .collect(),
        common: items
            .iter()
            .filter(|i| i.category_id.is_none())
            .map(row)
            .collect(),
        units,
        total,
        units_with_gaps,
        gaps,
    })
}

/// The items a unit is held to in `year` and those its submitted plan covers (for the
/// indicator): (item, covered).
pub async fn unit_coverage(
    state: &AppState,
    unit_id: i64,
    year: i64,
) -> AppResult<Option<(Option<i64>, Vec<(Item, bool)>)>> {
    let cat: Option<i64> = sqlx::query_scalar("select category_id from unit where unit_id = $1")
        .bind(unit_id)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(cat) = cat else { return Ok(None) };
    let items = items_for(state, year, cat).await?;
    let plan: Option<i64> = sqlx::query_scalar(
        "select guidance_plan_id from guidance_plan where unit_id = $1 and year = $2 \
         and status = 'submitted'",
    )
    .bind(unit_id)
    .bind(year)
    .fetch_optional(&state.db.pool)
    .await?;
    let covered: BTreeSet<i64> = match plan {
        Some(p) => tasks_of_plans(state, &[p])
            .await?
            .into_iter()
            .flat_map(|t| t.item_ids)
            .collect(),
        None => BTreeSet::new(),
    };
    Ok(Some((
        plan,
        items
            .into_iter()
            .map(|i| {
                let c = covered.contains(&i.item_id);
                (i, c)
            })
            .collect(),
    )))
}
