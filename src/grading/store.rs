//! The grading standard's data: list and read versions, copy one into a new draft, edit a
//! draft, publish it (then it is frozen), delete a draft, and load the default on first
//! start. Every write runs in one transaction with its audit entry, and carries the row
//! version it was made from: a write made from a stale copy is refused, not lost.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::default;
use super::rules::{
    self, Content, Criterion, Dimension, Method, Problems, Score, StandardStatus, Threshold, Tier,
    Veto, VetoKind,
};
use super::{may_edit, may_read};
use crate::audit::{Actor, Entry};
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::{Sql, WriteTx};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Refused edits of a published version.
pub const FROZEN: &str = "该标准已发布，不能再修改或删除；如需调整，请复制为新的草稿后修改发布";
/// Refused writes made from a stale copy.
pub const STALE: &str = "该标准已被他人修改，请刷新后再改";

/// A version of the standard, without its items.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct StandardInfo {
    pub standard_id: i64,
    pub year: i64,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub status: StandardStatus,
    pub title: String,
    /// Moves on every write; a write must carry the one it was made from.
    pub row_version: i64,
    /// The standard it was copied from.
    pub copied_from: Option<i64>,
    pub created_by_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_by_name: Option<String>,
    pub published_at: Option<i64>,
    /// The newest published version of its year: the one new assessments are scored under.
    #[sqlx(skip)]
    pub in_force: bool,
}

impl StandardInfo {
    pub fn is_draft(&self) -> bool {
        self.status == StandardStatus::Draft
    }
}

/// A version with everything it holds.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Standard {
    #[serde(flatten)]
    pub info: StandardInfo,
    #[serde(flatten)]
    pub content: Content,
}

const INFO_COLUMNS: &str = "s.grading_standard_id as standard_id, s.year, s.version, s.status, \
     s.title, s.row_version, s.copied_from, cu.display_name as created_by_name, s.created_at, \
     s.updated_at, pu.display_name as published_by_name, s.published_at \
     from grading_standard s \
     left join app_user cu on cu.user_id = s.created_by \
     left join app_user pu on pu.user_id = s.published_by";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StandardFilter {
    /// Only this year's versions.
    pub year: Option<String>,
    /// draft | published
    #[param(schema_with = super::schema::status)]
    pub status: Option<String>,
}

/// Checks a list filter: every bad value named.
fn checked(f: &StandardFilter) -> AppResult<(Option<i64>, Option<StandardStatus>)> {
    let mut errors = crate::error::FieldErrors::new();
    let year = f.year.as_deref().map(str::trim).filter(|y| !y.is_empty());
    let year = match year {
        None => None,
        Some(y) => match y.parse::<i64>() {
            Ok(v) if (2000..=2100).contains(&v) => Some(v),
            _ => {
                errors.insert(
                    "year".into(),
                    format!("年度应为2000至2100之间的年份，收到“{y}”"),
                );
                None
            }
        },
    };
    crate::web::check_choice(
        &mut errors,
        "status",
        "状态",
        f.status.as_deref(),
        &StandardStatus::options(),
    );
    crate::web::filter_checked(errors)?;
    Ok((year, f.status.as_deref().and_then(StandardStatus::parse)))
}

/// Versions the caller may read, newest year and version first: the committee sees drafts
/// too, the units and branches the published versions.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    f: &StandardFilter,
) -> AppResult<Vec<StandardInfo>> {
    user.require(may_read(user))?;
    let (year, status) = checked(f)?;
    let mut sql = Sql::new(&format!("select {INFO_COLUMNS} where 1 = 1"));
    if !may_edit(user) {
        sql.push(" and s.status = ").bind("published");
    }
    if let Some(y) = year {
        sql.push(" and s.year = ").bind(y);
    }
    if let Some(st) = status {
        sql.push(" and s.status = ").bind(st.as_str());
    }
    sql.push(" order by s.year desc, s.version desc");
    let mut rows: Vec<StandardInfo> = sql.fetch_all(&state.db.pool).await?;
    mark_in_force(state, &mut rows).await?;
    Ok(rows)
}

/// The newest published version of each year shown is the one in force.
async fn mark_in_force(state: &AppState, rows: &mut [StandardInfo]) -> AppResult<()> {
    let newest: Vec<(i64, i64)> = sqlx::query_as(
        "select year, max(version) from grading_standard where status = 'published' group by year",
    )
    .fetch_all(&state.db.pool)
    .await
    .map_err(anyhow::Error::from)?;
    for r in rows {
        r.in_force = r.status == StandardStatus::Published && newest.contains(&(r.year, r.version));
    }
    Ok(())
}

async fn info(state: &AppState, id: i64) -> AppResult<Option<StandardInfo>> {
    let mut sql = Sql::new(&format!(
        "select {INFO_COLUMNS} where s.grading_standard_id = "
    ));
    sql.bind(id);
    let mut rows: Vec<StandardInfo> = sql.fetch_all(&state.db.pool).await?;
    mark_in_force(state, &mut rows).await?;
    Ok(rows.pop())
}

/// A version with its items; a draft only for the committee (to others it is not found).
pub async fn get(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Standard> {
    user.require(may_read(user))?;
    let info = info(state, id).await?.ok_or(AppError::NotFound)?;
    if info.is_draft() && !may_edit(user) {
        return Err(AppError::NotFound);
    }
    let content = content(state, &info).await?;
    Ok(Standard { info, content })
}

/// The version new assessments of `year` are scored under: its newest published one.
pub async fn in_force(state: &AppState, year: i64) -> AppResult<Option<Standard>> {
    let id: Option<i64> = sqlx::query_scalar(
        "select grading_standard_id from grading_standard where year = $1 and status = 'published' \
         order by version desc limit 1",
    )
    .bind(year)
    .fetch_optional(&state.db.pool)
    .await
    .map_err(anyhow::Error::from)?;
    let Some(id) = id else { return Ok(None) };
    let Some(info) = info(state, id).await? else {
        return Ok(None);
    };
    let content = content(state, &info).await?;
    Ok(Some(Standard { info, content }))
}

/// Published versions, remembered once read: they never change.
#[derive(Default)]
struct PublishedCache(std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<Standard>>>);

/// A published version by id, for the assessments scored under it (no permission check:
/// the caller has checked the assessment's). A draft is not found.
pub async fn published(state: &AppState, id: i64) -> AppResult<std::sync::Arc<Standard>> {
    let cache = state.ext::<PublishedCache>();
    if let Some(s) = cache.0.lock().ok().and_then(|m| m.get(&id).cloned()) {
        return Ok(s);
    }
    let info = info(state, id).await?.ok_or(AppError::NotFound)?;
    if info.is_draft() {
        return Err(AppError::NotFound);
    }
    let content = content(state, &info).await?;
    let s = std::sync::Arc::new(Standard { info, content });
    if let Ok(mut m) = cache.0.lock() {
        m.insert(id, s.clone());
    }
    Ok(s)
}

#[derive(sqlx::FromRow)]
struct CriterionRow {
    number: i64,
    dimension: i64,
    body: String,
    points: i64,
    #[sqlx(try_from = "String")]
    method: Method,
    indicator_key: Option<String>,
    evidence_required: i64,
}

#[derive(sqlx::FromRow)]
struct ThresholdRow {
    #[sqlx(try_from = "String")]
    tier: Tier,
    name: String,
    min_score: i64,
}

#[derive(sqlx::FromRow)]
struct VetoRow {
    code: String,
    body: String,
    #[sqlx(try_from = "String")]
    kind: VetoKind,
}

async fn content(state: &AppState, info: &StandardInfo) -> AppResult<Content> {
    let pool = &state.db.pool;
    let id = info.standard_id;
    let extra_cap: i64 =
        sqlx::query_scalar("select extra_cap from grading_standard where grading_standard_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .map_err(anyhow::Error::from)?;
    let dimensions: Vec<(i64, String)> = sqlx::query_as(
        "select position, name from grading_dimension where grading_standard_id = $1 order by position",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(anyhow::Error::from)?;
    let criteria: Vec<CriterionRow> = sqlx::query_as(
        "select number, dimension, body, points, method, indicator_key, evidence_required \
         from grading_criterion where grading_standard_id = $1 order by number",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(anyhow::Error::from)?;
    let thresholds: Vec<ThresholdRow> = sqlx::query_as(
        "select tier, name, min_score from grading_threshold where grading_standard_id = $1",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(anyhow::Error::from)?;
    let vetoes: Vec<VetoRow> = sqlx::query_as(
        "select code, body, kind from grading_veto where grading_standard_id = $1 order by position",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(anyhow::Error::from)?;
    let mut thresholds: Vec<Threshold> = thresholds
        .into_iter()
        .map(|t| Threshold {
            tier: t.tier,
            name: t.name,
            min_score: Score(t.min_score),
        })
        .collect();
    thresholds.sort_by_key(|t| rules::tier_rank(t.tier));
    Ok(Content {
        title: info.title.clone(),
        extra_cap: Score(extra_cap),
        dimensions: dimensions
            .into_iter()
            .map(|(position, name)| Dimension { position, name })
            .collect(),
        criteria: criteria
            .into_iter()
            .map(|k| Criterion {
                number: k.number,
                dimension: k.dimension,
                body: k.body,
                points: Score(k.points),
                method: k.method,
                indicator_key: k.indicator_key,
                evidence_required: k.evidence_required != 0,
            })
            .collect(),
        thresholds,
        vetoes: vetoes
            .into_iter()
            .map(|v| Veto {
                code: v.code,
                body: v.body,
                kind: v.kind,
            })
            .collect(),
    })
}

// ---- input ----

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct CriterionInput {
    /// 1..n, unique and consecutive.
    pub number: i64,
    /// The position (1, 2, …) of its dimension in `dimensions`.
    pub dimension: i64,
    pub body: String,
    /// Points, at most one decimal, more than 0.
    pub points: f64,
    #[schema(schema_with = super::schema::method)]
    pub method: String,
    /// The indicator an automatic criterion reads (`orglife.general_assembly.held`).
    #[serde(default)]
    pub indicator_key: Option<String>,
    #[serde(default)]
    pub evidence_required: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ThresholdInput {
    #[schema(schema_with = super::schema::tier)]
    pub tier: String,
    pub name: String,
    /// The tier's lowest score.
    pub min_score: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct VetoInput {
    /// Lowercase letters, digits and `_`, unique in the standard.
    pub code: String,
    pub body: String,
    #[schema(schema_with = super::schema::veto_kind)]
    pub kind: String,
}

/// A draft's whole content, as the editor saves it.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ContentInput {
    /// The row version the edit was made from.
    pub row_version: i64,
    pub title: String,
    /// 加分项上限, points.
    pub extra_cap: f64,
    /// The dimensions' names in order; criteria name them by position (1, 2, …).
    pub dimensions: Vec<String>,
    pub criteria: Vec<CriterionInput>,
    pub thresholds: Vec<ThresholdInput>,
    #[serde(default)]
    pub vetoes: Vec<VetoInput>,
}

/// The input as content, with the values that could not be read named.
pub fn parse_input(input: &ContentInput) -> (Content, Problems) {
    let mut p = Problems::new();
    let extra_cap = Score::from_f64(input.extra_cap).unwrap_or_else(|| {
        p.insert(
            "extra_cap".into(),
            "加分项上限应为数字，最多保留一位小数".into(),
        );
        Score::ZERO
    });
    let mut criteria = Vec::new();
    for (i, k) in input.criteria.iter().enumerate() {
        let n = k.number;
        let points = Score::from_f64(k.points).unwrap_or_else(|| {
            p.insert(
                format!("criteria[{i}].points"),
                format!("第{n}条的分值应为数字，最多保留一位小数"),
            );
            Score(1)
        });
        let method = Method::parse(&k.method).unwrap_or_else(|| {
            p.insert(
                format!("criteria[{i}].method"),
                format!("第{n}条的评分方式只能是人工评分（manual）或自动计算（auto）"),
            );
            Method::Manual
        });
        let key = k
            .indicator_key
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        criteria.push(Criterion {
            number: n,
            dimension: k.dimension,
            body: k.body.trim().to_string(),
            points,
            method,
            indicator_key: key,
            evidence_required: k.evidence_required,
        });
    }
    let mut thresholds = Vec::new();
    for (i, t) in input.thresholds.iter().enumerate() {
        let Some(tier) = Tier::parse(&t.tier) else {
            p.insert(
                format!("thresholds[{i}].tier"),
                format!("档次“{}”不可用，只能是一档至四档", t.tier.trim()),
            );
            continue;
        };
        let min_score = Score::from_f64(t.min_score).unwrap_or_else(|| {
            p.insert(
                format!("thresholds[{i}].min_score"),
                format!("{}的最低分应为数字，最多保留一位小数", tier.label()),
            );
            Score::ZERO
        });
        thresholds.push(Threshold {
            tier,
            name: t.name.trim().to_string(),
            min_score,
        });
    }
    let mut vetoes = Vec::new();
    for (i, v) in input.vetoes.iter().enumerate() {
        let kind = VetoKind::parse(&v.kind).unwrap_or_else(|| {
            p.insert(
                format!("vetoes[{i}].kind"),
                format!(
                    "第{}条否决项的类型只能是定为四档（hard）或最高二档（soft）",
                    i + 1
                ),
            );
            VetoKind::Hard
        });
        vetoes.push(Veto {
            code: v.code.trim().to_string(),
            body: v.body.trim().to_string(),
            kind,
        });
    }
    let content = Content {
        title: input.title.trim().to_string(),
        extra_cap,
        dimensions: input
            .dimensions
            .iter()
            .enumerate()
            .map(|(i, name)| Dimension {
                position: i as i64 + 1,
                name: name.trim().to_string(),
            })
            .collect(),
        criteria,
        thresholds,
        vetoes,
    };
    (content, p)
}

/// Field errors as one refusal: the message lists them (at most five).
fn refused(p: Problems) -> AppError {
    let mut list: Vec<String> = p.values().take(5).cloned().collect();
    if p.len() > 5 {
        list.push(format!("等{}处问题", p.len()));
    }
    AppError::Invalid {
        message: list.join("；"),
        fields: p,
    }
}

// ---- writes ----

async fn insert_content(tx: &mut WriteTx, id: i64, c: &Content) -> anyhow::Result<()> {
    for d in &c.dimensions {
        sqlx::query(
            "insert into grading_dimension (grading_standard_id, position, name) values ($1, $2, $3)",
        )
        .bind(id)
        .bind(d.position)
        .bind(&d.name)
        .execute(tx.conn())
        .await?;
    }
    for k in &c.criteria {
        sqlx::query(
            "insert into grading_criterion (grading_standard_id, number, dimension, body, points, \
             method, indicator_key, evidence_required) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(k.number)
        .bind(k.dimension)
        .bind(&k.body)
        .bind(k.points.0)
        .bind(k.method.as_str())
        .bind(k.indicator_key.clone())
        .bind(i64::from(k.evidence_required))
        .execute(tx.conn())
        .await?;
    }
    for t in &c.thresholds {
        sqlx::query(
            "insert into grading_threshold (grading_standard_id, tier, name, min_score) values ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(t.tier.as_str())
        .bind(&t.name)
        .bind(t.min_score.0)
        .execute(tx.conn())
        .await?;
    }
    for (i, v) in c.vetoes.iter().enumerate() {
        sqlx::query(
            "insert into grading_veto (grading_standard_id, code, position, body, kind) values ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&v.code)
        .bind(i as i64 + 1)
        .bind(&v.body)
        .bind(v.kind.as_str())
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

async fn delete_content(tx: &mut WriteTx, id: i64) -> anyhow::Result<()> {
    // Criteria first: they point at the dimensions.
    for table in [
        "grading_criterion",
        "grading_dimension",
        "grading_threshold",
        "grading_veto",
    ] {
        sqlx::query(&format!(
            "delete from {table} where grading_standard_id = $1"
        ))
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Why a guarded write changed no row, read inside its transaction: gone, published, or
/// changed since the writer read it.
async fn why_not(tx: &mut WriteTx, id: i64) -> AppResult<AppError> {
    let status: Option<String> =
        sqlx::query_scalar("select status from grading_standard where grading_standard_id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await
            .map_err(anyhow::Error::from)?;
    Ok(match status.as_deref() {
        None => AppError::NotFound,
        Some("published") => AppError::Conflict(FROZEN.into()),
        Some(_) => AppError::Conflict(STALE.into()),
    })
}

/// The draft a write is aimed at, as the writer saw it: refuses a published version and a
/// stale row version before any work.
async fn draft_for_write(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: Option<i64>,
) -> AppResult<Standard> {
    user.require(may_edit(user))?;
    let s = get(state, user, id).await?;
    if !s.info.is_draft() {
        return Err(AppError::Conflict(FROZEN.into()));
    }
    if row_version.is_some_and(|v| v != s.info.row_version) {
        return Err(AppError::Conflict(STALE.into()));
    }
    Ok(s)
}

/// Saves a draft's whole content. Returns the new row version.
pub async fn save(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &ContentInput,
) -> AppResult<i64> {
    let before = draft_for_write(state, user, id, Some(input.row_version)).await?;
    let (content, mut p) = parse_input(input);
    for (k, v) in rules::check_draft(&content) {
        p.entry(k).or_insert(v);
    }
    if !p.is_empty() {
        return Err(refused(p));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update grading_standard set title = $1, extra_cap = $2, row_version = row_version + 1, \
         updated_by = $3, updated_at = $4 \
         where grading_standard_id = $5 and row_version = $6 and status = 'draft'",
    )
    .bind(&content.title)
    .bind(content.extra_cap.0)
    .bind(user.user_id)
    .bind(t)
    .bind(id)
    .bind(input.row_version)
    .execute(tx.conn())
    .await
    .map_err(anyhow::Error::from)?
    .rows_affected();
    if n == 0 {
        return Err(why_not(&mut tx, id).await?);
    }
    delete_content(&mut tx, id).await?;
    insert_content(&mut tx, id, &content).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "grading_standard.update",
            "grading_standard",
            id,
            format!(
                "修改评分标准草稿“{}”（{}年第{}版）",
                content.title, before.info.year, before.info.version
            ),
        )
        .before(&before.content)
        .after(&content),
    )
    .await?;
    tx.commit().await?;
    Ok(input.row_version + 1)
}

/// Checks a draft and publishes it: from then on it is frozen.
pub async fn publish(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: i64,
) -> AppResult<()> {
    let s = draft_for_write(state, user, id, Some(row_version)).await?;
    let p = rules::validate(&s.content);
    if !p.is_empty() {
        return Err(refused(p));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update grading_standard set status = 'published', row_version = row_version + 1, \
         published_by = $1, published_at = $2, updated_by = $1, updated_at = $2 \
         where grading_standard_id = $3 and row_version = $4 and status = 'draft'",
    )
    .bind(user.user_id)
    .bind(t)
    .bind(id)
    .bind(row_version)
    .execute(tx.conn())
    .await
    .map_err(anyhow::Error::from)?
    .rows_affected();
    if n == 0 {
        return Err(why_not(&mut tx, id).await?);
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "grading_standard.publish",
            "grading_standard",
            id,
            format!(
                "发布评分标准“{}”（{}年第{}版），此后不可修改",
                s.content.title, s.info.year, s.info.version
            ),
        )
        .after(&s.content),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a draft. Without a row version the caller deletes whatever the draft holds now.
pub async fn delete(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    row_version: Option<i64>,
) -> AppResult<()> {
    let s = draft_for_write(state, user, id, row_version).await?;
    let mut tx = state.db.begin_write().await?;
    // Claim the row first, so a concurrent edit or publish is either before (and refused
    // here) or after (and finds nothing).
    let n = sqlx::query(
        "update grading_standard set row_version = row_version + 1 \
         where grading_standard_id = $1 and row_version = $2 and status = 'draft'",
    )
    .bind(id)
    .bind(s.info.row_version)
    .execute(tx.conn())
    .await
    .map_err(anyhow::Error::from)?
    .rows_affected();
    if n == 0 {
        return Err(why_not(&mut tx, id).await?);
    }
    delete_content(&mut tx, id).await?;
    sqlx::query("update grading_standard set copied_from = null where copied_from = $1")
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    sqlx::query("delete from grading_standard where grading_standard_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "grading_standard.delete",
            "grading_standard",
            id,
            format!(
                "删除评分标准草稿“{}”（{}年第{}版）",
                s.content.title, s.info.year, s.info.version
            ),
        )
        .before(&s.content),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct CopyInput {
    /// The version to start from (usually the one in force).
    pub from_id: i64,
    /// The year the new draft is for.
    pub year: i64,
}

/// The title of a copy for `year`: the source's year in its title moved along.
fn title_for(source: &StandardInfo, year: i64) -> String {
    let old = format!("{}年", source.year);
    if source.title.starts_with(&old) {
        format!("{year}年{}", &source.title[old.len()..])
    } else {
        source.title.clone()
    }
}

/// Copies a version into a new draft for `year` (its next version number). Returns its id.
pub async fn copy(state: &AppState, user: &CurrentUser, input: &CopyInput) -> AppResult<i64> {
    user.require(may_edit(user))?;
    if !(2000..=2100).contains(&input.year) {
        return Err(AppError::field(
            "year",
            format!("年度应在2000至2100之间，收到{}", input.year),
        ));
    }
    let source = match get(state, user, input.from_id).await {
        Ok(s) => s,
        Err(AppError::NotFound) => {
            return Err(AppError::field("from_id", "要复制的标准不存在"));
        }
        Err(e) => return Err(e),
    };
    let title = title_for(&source.info, input.year);
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let version: i64 = sqlx::query_scalar(
        "select coalesce(max(version), 0) + 1 from grading_standard where year = $1",
    )
    .bind(input.year)
    .fetch_one(tx.conn())
    .await
    .map_err(anyhow::Error::from)?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into grading_standard (year, version, status, title, extra_cap, copied_from, \
         created_by, created_at, updated_by, updated_at) \
         values ($1, $2, 'draft', $3, $4, $5, $6, $7, $6, $7) \
         on conflict (year, version) do nothing returning grading_standard_id",
    )
    .bind(input.year)
    .bind(version)
    .bind(&title)
    .bind(source.content.extra_cap.0)
    .bind(input.from_id)
    .bind(user.user_id)
    .bind(t)
    .fetch_optional(tx.conn())
    .await
    .map_err(anyhow::Error::from)?;
    // Another instance numbered a version of the year at the same moment.
    let id =
        id.ok_or_else(|| AppError::Conflict("同一年度的标准正被他人新建，请稍后重试".into()))?;
    let content = Content {
        title: title.clone(),
        ..source.content.clone()
    };
    insert_content(&mut tx, id, &content).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "grading_standard.create",
            "grading_standard",
            id,
            format!(
                "由{}年第{}版复制新建{}年第{version}版评分标准草稿“{title}”",
                source.info.year, source.info.version, input.year
            ),
        )
        .after(&content),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// First start: with no standard at all, the default of STANDARD.md becomes the published
/// standard of the current year. Safe to run at every start and on several instances at
/// once: the version's unique key lets one insert win and the others do nothing.
pub async fn seed_default(state: &AppState) -> anyhow::Result<()> {
    let n: i64 = sqlx::query_scalar("select count(*) from grading_standard")
        .fetch_one(&state.db.pool)
        .await?;
    if n > 0 {
        return Ok(());
    }
    publish_default(state, crate::clock::today().year()).await?;
    Ok(())
}

/// Publishes the default standard for `year` as its first version, unless the year has one
/// (the demo's finished year). Returns the new version's id.
pub async fn publish_default(state: &AppState, year: i32) -> anyhow::Result<Option<i64>> {
    let content = default::content(year);
    let t = now();
    let mut tx = state.db.begin_write().await?;
    // Written as a draft and then published: the database refuses items of a published one.
    let id: Option<i64> = sqlx::query_scalar(
        "insert into grading_standard (year, version, status, title, extra_cap, created_at, \
         updated_at) values ($1, 1, 'draft', $2, $3, $4, $4) \
         on conflict (year, version) do nothing returning grading_standard_id",
    )
    .bind(i64::from(year))
    .bind(&content.title)
    .bind(content.extra_cap.0)
    .bind(t)
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    insert_content(&mut tx, id, &content).await?;
    sqlx::query(
        "update grading_standard set status = 'published', published_at = $1 \
         where grading_standard_id = $2",
    )
    .bind(t)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &Actor::system(),
        Entry::new(
            "grading_standard.seed",
            "grading_standard",
            id,
            format!("预置{year}年度默认评分标准（六化22条）并发布"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Years offered for a new draft: this year and the next two.
pub fn years_ahead() -> Vec<i64> {
    let y = i64::from(crate::clock::today().year());
    (y..=y + 2).collect()
}
