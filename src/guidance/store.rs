//! A year's goal and requirement items: list and read years, make a draft (from the
//! categories' current requirements or by copying a year), edit a draft, publish it (then it
//! is frozen), delete a draft. Every write runs in one transaction with its audit entry and
//! carries the row version it was made from: a write from a stale copy is refused.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{self, Problems, YearStatus};
use super::{may_edit_items, may_read_items};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::{Sql, WriteTx};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub use super::plans::*;
pub use super::views::*;

/// Refused edits of a published year.
pub const FROZEN: &str =
    "该年度的共性目标和个性要求已发布，不能再修改或删除；如需调整，请复制到下一年度后修改发布";
/// Refused writes made from a stale copy.
pub const STALE: &str = "该年度的目标要求已被他人修改，请刷新后再改";

/// A year's set of items, without them.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct YearInfo {
    pub guidance_year_id: i64,
    pub year: i64,
    #[sqlx(try_from = "String")]
    pub status: YearStatus,
    /// Moves on every write; a write must carry the one it was made from.
    pub row_version: i64,
    /// The year it was copied from; none when made from the categories' current requirements.
    pub copied_from: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_by_name: Option<String>,
    pub published_at: Option<i64>,
    /// Items in all (common goal and every category).
    pub item_count: i64,
}

impl YearInfo {
    pub fn is_draft(&self) -> bool {
        self.status == YearStatus::Draft
    }
}

/// One line of the common goal or of a category's requirements.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Item {
    pub item_id: i64,
    /// None: the common goal (共性目标).
    pub category_id: Option<i64>,
    pub position: i64,
    pub body: String,
}

impl Item {
    /// `共性目标1`, `个性要求2`: how a task's list names the item.
    pub fn tag(&self) -> String {
        match self.category_id {
            None => format!("共性目标{}", self.position),
            Some(_) => format!("个性要求{}", self.position),
        }
    }
}

/// A category's requirements in a year.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryItems {
    pub category_id: i64,
    pub name: String,
    /// Its heading, e.g. 三个坚决.
    pub requirement_title: String,
    pub items: Vec<Item>,
}

/// A year with its items: the common goal and the categories the caller may read.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Year {
    #[serde(flatten)]
    pub info: YearInfo,
    pub common: Vec<Item>,
    pub categories: Vec<CategoryItems>,
}

const INFO_COLUMNS: &str = "y.guidance_year_id, y.year, y.status, y.row_version, \
     cy.year as copied_from, y.created_at, y.updated_at, pu.display_name as published_by_name, \
     y.published_at, \
     (select count(*) from guidance_item i where i.guidance_year_id = y.guidance_year_id) as item_count \
     from guidance_year y \
     left join guidance_year cy on cy.guidance_year_id = y.copied_from \
     left join app_user pu on pu.user_id = y.published_by";

/// Years the caller may read, newest first: the committee sees drafts too.
pub async fn list_years(state: &AppState, user: &CurrentUser) -> AppResult<Vec<YearInfo>> {
    user.require(may_read_items(user))?;
    let mut sql = Sql::new(&format!("select {INFO_COLUMNS} where 1 = 1"));
    if !may_edit_items(user) {
        sql.push(" and y.status = ").bind("published");
    }
    sql.push(" order by y.year desc");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

async fn info(state: &AppState, year: i64) -> AppResult<Option<YearInfo>> {
    let mut sql = Sql::new(&format!("select {INFO_COLUMNS} where y.year = "));
    sql.bind(year);
    let mut rows: Vec<YearInfo> = sql.fetch_all(&state.db.pool).await?;
    Ok(rows.pop())
}

/// The categories whose requirements `user` may read: every one for the committee, the
/// categories of a unit admin's units otherwise.
pub async fn readable_categories(
    state: &AppState,
    user: &CurrentUser,
) -> AppResult<Option<BTreeSet<i64>>> {
    if user.is_committee() {
        return Ok(None);
    }
    let mut sql = Sql::new("select distinct u.category_id from unit u where u.unit_id in ");
    sql.bind_list(&user.unit_ids());
    let rows: Vec<(i64,)> = sql.fetch_all(&state.db.pool).await?;
    Ok(Some(rows.into_iter().map(|r| r.0).collect()))
}

/// Every item of a year, common goal first, then by category and position.
pub async fn items_of(state: &AppState, guidance_year_id: i64) -> AppResult<Vec<Item>> {
    Ok(sqlx::query_as(
        "select guidance_item_id as item_id, category_id, position, body from guidance_item \
         where guidance_year_id = $1 order by category_id is not null, category_id, position",
    )
    .bind(guidance_year_id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    category_id: i64,
    name: String,
    requirement_title: String,
    retired: i64,
}

async fn categories(state: &AppState) -> AppResult<Vec<CategoryRow>> {
    Ok(sqlx::query_as(
        "select category_id, name, requirement_title, retired from category \
         order by sort_order, category_id",
    )
    .fetch_all(&state.db.pool)
    .await?)
}

/// A year with its items. A draft only for the committee; a unit admin reads the common
/// goal and its own category's requirements.
pub async fn get_year(state: &AppState, user: &CurrentUser, year: i64) -> AppResult<Year> {
    user.require(may_read_items(user))?;
    let info = info(state, year).await?.ok_or(AppError::NotFound)?;
    if info.is_draft() && !may_edit_items(user) {
        return Err(AppError::NotFound);
    }
    let readable = readable_categories(state, user).await?;
    let items = items_of(state, info.guidance_year_id).await?;
    let common = items
        .iter()
        .filter(|i| i.category_id.is_none())
        .cloned()
        .collect();
    let cats = categories(state)
        .await?
        .into_iter()
        .filter(|c| readable.as_ref().is_none_or(|r| r.contains(&c.category_id)))
        .filter_map(|c| {
            let its: Vec<Item> = items
                .iter()
                .filter(|i| i.category_id == Some(c.category_id))
                .cloned()
                .collect();
            // A retired category shows only where the year holds its items.
            (c.retired == 0 || !its.is_empty()).then_some(CategoryItems {
                category_id: c.category_id,
                name: c.name,
                requirement_title: c.requirement_title,
                items: its,
            })
        })
        .collect();
    Ok(Year {
        info,
        common,
        categories: cats,
    })
}

/// The published year `year`, if there is one: what plans of that year link to.
pub async fn published(state: &AppState, year: i64) -> AppResult<Option<YearInfo>> {
    Ok(info(state, year).await?.filter(|y| !y.is_draft()))
}

// ---- writes ----

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct NewYear {
    /// The year the new draft is for.
    pub year: i64,
    /// Copy this year's items; without it, the categories' current requirements and the
    /// common goal as they stand under 组织体系 › 类别与要求.
    #[serde(default)]
    pub from_year: Option<i64>,
}

/// The lists of a year as the committee saves them.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ItemsInput {
    /// The row version the edit was made from.
    pub row_version: i64,
    /// The common goal's items, in order.
    pub common: Vec<String>,
    /// Each category's requirements, in order.
    pub categories: Vec<CategoryItemsInput>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct CategoryItemsInput {
    pub category_id: i64,
    pub items: Vec<String>,
}

/// Field errors as one refusal: the message lists them (at most five).
pub fn refused(p: Problems) -> AppError {
    let mut list: Vec<String> = p.values().take(5).cloned().collect();
    if p.len() > 5 {
        list.push(format!("等{}处问题", p.len()));
    }
    AppError::Invalid {
        message: list.join("；"),
        fields: p,
    }
}

async fn insert_items(
    tx: &mut WriteTx,
    year_id: i64,
    category: Option<i64>,
    items: &[String],
) -> anyhow::Result<()> {
    for (i, body) in items.iter().enumerate() {
        sqlx::query(
            "insert into guidance_item (guidance_year_id, category_id, position, body) \
             values ($1, $2, $3, $4)",
        )
        .bind(year_id)
        .bind(category)
        .bind(i as i64 + 1)
        .bind(body)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Makes a draft for a year: copied from another year, or from the categories' current
/// requirements. Returns the year.
pub async fn create_year(state: &AppState, user: &CurrentUser, input: &NewYear) -> AppResult<i64> {
    user.require(may_edit_items(user))?;
    if !rules::year_ok(input.year) {
        return Err(AppError::field(
            "year",
            format!("年度应在2000至2100之间，收到{}", input.year),
        ));
    }
    if info(state, input.year).await?.is_some() {
        return Err(AppError::field(
            "year",
            format!("{}年度的目标要求已存在，请直接打开修改", input.year),
        ));
    }
    let cats = categories(state).await?;
    // (category, items) in order; None is the common goal.
    let mut lists: Vec<(Option<i64>, Vec<String>)> = Vec::new();
    let source_id = match input.from_year {
        Some(from) => {
            let source = info(state, from).await?.ok_or_else(|| {
                AppError::field("from_year", format!("{from}年度的目标要求不存在"))
            })?;
            let items = items_of(state, source.guidance_year_id).await?;
            let mut keys: Vec<Option<i64>> = vec![None];
            keys.extend(
                cats.iter()
                    .filter(|c| c.retired == 0)
                    .map(|c| Some(c.category_id)),
            );
            for k in keys {
                let its: Vec<String> = items
                    .iter()
                    .filter(|i| i.category_id == k)
                    .map(|i| i.body.clone())
                    .collect();
                lists.push((k, its));
            }
            Some(source.guidance_year_id)
        }
        None => {
            let goal: Vec<String> =
                sqlx::query_scalar("select body from common_goal order by sort_order")
                    .fetch_all(&state.db.pool)
                    .await?;
            lists.push((None, goal));
            let reqs: Vec<(i64, String)> = sqlx::query_as(
                "select category_id, body from category_requirement order by category_id, sort_order",
            )
            .fetch_all(&state.db.pool)
            .await?;
            for c in cats.iter().filter(|c| c.retired == 0) {
                lists.push((
                    Some(c.category_id),
                    reqs.iter()
                        .filter(|r| r.0 == c.category_id)
                        .map(|r| r.1.clone())
                        .collect(),
                ));
            }
            None
        }
    };
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into guidance_year (year, status, copied_from, created_by, created_at, updated_by, \
         updated_at) values ($1, 'draft', $2, $3, $4, $3, $4) \
         on conflict (year) do nothing returning guidance_year_id",
    )
    .bind(input.year)
    .bind(source_id)
    .bind(user.user_id)
    .bind(t)
    .fetch_optional(tx.conn())
    .await?;
    let id = id.ok_or_else(|| {
        AppError::field(
            "year",
            format!("{}年度的目标要求已存在，请直接打开修改", input.year),
        )
    })?;
    for (k, items) in &lists {
        insert_items(&mut tx, id, *k, items).await?;
    }
    let summary = match input.from_year {
        Some(from) => format!(
            "由{from}年度复制新建{}年度共性目标和个性要求草稿",
            input.year
        ),
        None => format!("按类别现行要求新建{}年度共性目标和个性要求草稿", input.year),
    };
    tx.audit(
        &user.actor(),
        Entry::new("guidance_year.create", "guidance_year", id, summary).after(&lists),
    )
    .await?;
    tx.commit().await?;
    Ok(input.year)
}

/// Why a guarded write changed no row: gone, published, or changed since it was read.
async fn why_not(tx: &mut WriteTx, year: i64) -> AppResult<AppError> {
    let status: Option<String> =
        sqlx::query_scalar("select status from guidance_year where year = $1")
            .bind(year)
            .fetch_optional(tx.conn())
            .await?;
    Ok(match status.as_deref() {
        None => AppError::NotFound,
        Some("published") => AppError::Conflict(FROZEN.into()),
        Some(_) => AppError::Conflict(STALE.into()),
    })
}

async fn draft_for_write(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
    row_version: Option<i64>,
) -> AppResult<Year> {
    user.require(may_edit_items(user))?;
    let y = get_year(state, user, year).await?;
    if !y.info.is_draft() {
        return Err(AppError::Conflict(FROZEN.into()));
    }
    if row_version.is_some_and(|v| v != y.info.row_version) {
        return Err(AppError::Conflict(STALE.into()));
    }
    Ok(y)
}

fn cleaned(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| crate::text::clean_prose(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Replaces a draft's items. Returns the new row version.
pub async fn save_year(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
    input: &ItemsInput,
) -> AppResult<i64> {
    let before = draft_for_write(state, user, year, Some(input.row_version)).await?;
    let mut p = Problems::new();
    let common = cleaned(&input.common);
    rules::check_items(&mut p, "common", "共性目标", &common);
    let cats = categories(state).await?;
    let mut lists: Vec<(i64, Vec<String>)> = Vec::new();
    for (i, c) in input.categories.iter().enumerate() {
        let Some(cat) = cats.iter().find(|k| k.category_id == c.category_id) else {
            p.insert(
                format!("categories[{i}].category_id"),
                format!("类别（编号{}）不存在", c.category_id),
            );
            continue;
        };
        if lists.iter().any(|(k, _)| *k == c.category_id) {
            p.insert(
                format!("categories[{i}].category_id"),
                format!("“{}”重复出现", cat.name),
            );
            continue;
        }
        let its = cleaned(&c.items);
        rules::check_items(
            &mut p,
            &format!("categories[{i}].items"),
            &format!("“{}”的个性要求", cat.name),
            &its,
        );
        lists.push((c.category_id, its));
    }
    if !p.is_empty() {
        return Err(refused(p));
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update guidance_year set row_version = row_version + 1, updated_by = $1, updated_at = $2 \
         where year = $3 and row_version = $4 and status = 'draft'",
    )
    .bind(user.user_id)
    .bind(now())
    .bind(year)
    .bind(input.row_version)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(why_not(&mut tx, year).await?);
    }
    let id = before.info.guidance_year_id;
    sqlx::query("delete from guidance_item where guidance_year_id = $1 and category_id is null")
        .bind(id)
        .execute(tx.conn())
        .await?;
    insert_items(&mut tx, id, None, &common).await?;
    for (k, its) in &lists {
        sqlx::query("delete from guidance_item where guidance_year_id = $1 and category_id = $2")
            .bind(id)
            .bind(*k)
            .execute(tx.conn())
            .await?;
        insert_items(&mut tx, id, Some(*k), its).await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_year.update",
            "guidance_year",
            id,
            format!("修改{year}年度共性目标和个性要求草稿"),
        )
        .before(&(&before.common, &before.categories))
        .after(&(&common, &lists)),
    )
    .await?;
    tx.commit().await?;
    Ok(input.row_version + 1)
}

/// Checks a draft and publishes it: from then on it is frozen, and units plan against it.
pub async fn publish_year(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
    row_version: i64,
) -> AppResult<()> {
    let y = draft_for_write(state, user, year, Some(row_version)).await?;
    let active: Vec<(String, usize)> = categories(state)
        .await?
        .into_iter()
        .filter(|c| c.retired == 0)
        .map(|c| {
            let n = y
                .categories
                .iter()
                .find(|k| k.category_id == c.category_id)
                .map_or(0, |k| k.items.len());
            (c.name, n)
        })
        .collect();
    let p = rules::check_publishable(y.common.len(), &active);
    if !p.is_empty() {
        return Err(refused(p));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update guidance_year set status = 'published', row_version = row_version + 1, \
         published_by = $1, published_at = $2, updated_by = $1, updated_at = $2 \
         where year = $3 and row_version = $4 and status = 'draft'",
    )
    .bind(user.user_id)
    .bind(t)
    .bind(year)
    .bind(row_version)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(why_not(&mut tx, year).await?);
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_year.publish",
            "guidance_year",
            y.info.guidance_year_id,
            format!("发布{year}年度共性目标和个性要求，此后不可修改"),
        )
        .after(&(&y.common, &y.categories)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a draft year. Without a row version, whatever the draft holds now.
pub async fn delete_year(
    state: &AppState,
    user: &CurrentUser,
    year: i64,
    row_version: Option<i64>,
) -> AppResult<()> {
    let y = draft_for_write(state, user, year, row_version).await?;
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update guidance_year set row_version = row_version + 1 \
         where year = $1 and row_version = $2 and status = 'draft'",
    )
    .bind(year)
    .bind(y.info.row_version)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(why_not(&mut tx, year).await?);
    }
    let id = y.info.guidance_year_id;
    sqlx::query("delete from guidance_item where guidance_year_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("update guidance_year set copied_from = null where copied_from = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("delete from guidance_year where guidance_year_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "guidance_year.delete",
            "guidance_year",
            id,
            format!("删除{year}年度共性目标和个性要求草稿"),
        )
        .before(&(&y.common, &y.categories)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Years offered for a new draft: from last year to two years ahead, those not made yet.
pub async fn years_open(state: &AppState) -> AppResult<Vec<i64>> {
    let taken: Vec<i64> = sqlx::query_scalar("select year from guidance_year")
        .fetch_all(&state.db.pool)
        .await?;
    let y = i64::from(crate::clock::today().year());
    Ok((y - 1..=y + 2).filter(|v| !taken.contains(v)).collect())
}
