//! The org tree under a unit: 党委 (committee_org) / 党总支 (general_branch) /
//! 党支部 (branch) / 党小组 (group), with founding date, term and officers.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::messages::org_kind_label;
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub const KINDS: [&str; 4] = ["committee_org", "general_branch", "branch", "group"];

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Org {
    pub org_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_name: String,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub name: String,
    pub founded_on: Option<String>,
    pub term_start: Option<String>,
    pub term_end: Option<String>,
    pub sort_order: i64,
}

impl Org {
    pub fn kind_label(&self) -> &'static str {
        org_kind_label(&self.kind)
    }
}

/// One line of a flattened tree, indented by depth.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TreeNode {
    pub org_id: i64,
    pub unit_id: i64,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub depth: usize,
    /// Active members in this org and everything under it.
    pub members: i64,
    pub full_members: i64,
    pub term_end: Option<String>,
    pub term_overdue: bool,
}

const ORG_SELECT: &str =
    "select o.org_id, o.unit_id, u.name as unit_name, c.name as category_name, o.parent_id, o.kind, \
    o.name, o.founded_on, o.term_start, o.term_end, o.sort_order from org o join unit u on u.unit_id = o.unit_id \
    join category c on c.category_id = u.category_id where ";

pub async fn get_org(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Org> {
    let mut sql = Sql::new(ORG_SELECT);
    sql.push("o.org_id = ").bind(id).push(" and ");
    user.scope().org_condition(&mut sql);
    sql.fetch_all::<Org>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// Orgs of one unit (or all in scope) as a flattened, depth-first tree.
pub async fn tree(
    state: &AppState,
    user: &CurrentUser,
    unit_id: Option<i64>,
) -> AppResult<Vec<TreeNode>> {
    tree_in(state, &user.scope(), unit_id).await
}

pub async fn tree_in(
    state: &AppState,
    scope: &crate::auth::Scope,
    unit_id: Option<i64>,
) -> AppResult<Vec<TreeNode>> {
    let mut sql = Sql::new(ORG_SELECT);
    scope.org_condition(&mut sql);
    if let Some(u) = unit_id {
        sql.push(" and o.unit_id = ").bind(u);
    }
    sql.push(" order by o.unit_id, o.sort_order, o.org_id");
    let orgs: Vec<Org> = sql.fetch_all(&state.db.pool).await?;
    let mut counts = Sql::new(
        "select m.branch_id, m.group_id, count(*) as n, sum(case when m.kind = 'full' then 1 else 0 end) as full_n \
         from member m where m.status = 'active'",
    );
    if let Some(u) = unit_id {
        counts.push(" and m.unit_id = ").bind(u);
    }
    counts.push(" group by m.branch_id, m.group_id");
    let counts: Vec<(i64, Option<i64>, i64, i64)> = counts.fetch_all(&state.db.pool).await?;
    Ok(flatten(&orgs, &counts))
}

/// A unit's whole tree, for callers already allowed to see the unit.
pub async fn tree_for_unit(state: &AppState, unit_id: i64) -> AppResult<Vec<TreeNode>> {
    tree_in(state, &crate::auth::Scope::everything(), Some(unit_id)).await
}

/// Pure: depth-first order with subtree member counts.
pub fn flatten(orgs: &[Org], counts: &[(i64, Option<i64>, i64, i64)]) -> Vec<TreeNode> {
    use std::collections::{HashMap, HashSet};
    let ids: HashSet<i64> = orgs.iter().map(|o| o.org_id).collect();
    let mut children: HashMap<Option<i64>, Vec<&Org>> = HashMap::new();
    for o in orgs {
        // A parent outside the visible set makes the org a root here.
        let p = o.parent_id.filter(|p| ids.contains(p));
        children.entry(p).or_default().push(o);
    }
    let mut own: HashMap<i64, (i64, i64)> = HashMap::new();
    for (branch, group, n, full) in counts {
        let e = own.entry(*branch).or_default();
        e.0 += n;
        e.1 += full;
        if let Some(g) = group {
            let e = own.entry(*g).or_default();
            e.0 += n;
            e.1 += full;
        }
    }
    let today = crate::text::format_date(crate::clock::today());
    let mut out = Vec::new();
    fn walk(
        o: &Org,
        depth: usize,
        children: &HashMap<Option<i64>, Vec<&Org>>,
        own: &HashMap<i64, (i64, i64)>,
        today: &str,
        out: &mut Vec<TreeNode>,
    ) -> (i64, i64) {
        let idx = out.len();
        out.push(TreeNode {
            org_id: o.org_id,
            unit_id: o.unit_id,
            parent_id: o.parent_id,
            kind: o.kind.clone(),
            kind_label: org_kind_label(&o.kind).to_string(),
            name: o.name.clone(),
            depth,
            members: 0,
            full_members: 0,
            term_end: o.term_end.clone(),
            term_overdue: o.term_end.as_deref().is_some_and(|e| e < today),
        });
        // Groups are inside a branch whose count already includes their members.
        let (mut n, mut f) = own.get(&o.org_id).copied().unwrap_or_default();
        for c in children
            .get(&Some(o.org_id))
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (cn, cf) = walk(c, depth + 1, children, own, today, out);
            if c.kind != "group" {
                n += cn;
                f += cf;
            }
        }
        out[idx].members = n;
        out[idx].full_members = f;
        (n, f)
    }
    for root in children.get(&None).map(Vec::as_slice).unwrap_or_default() {
        walk(root, 0, &children, &own, &today, &mut out);
    }
    out
}

/// Pure: may an org of `kind` sit under a parent of `parent_kind`?
pub fn parent_allowed(kind: &str, parent_kind: Option<&str>) -> bool {
    matches!(
        (kind, parent_kind),
        ("committee_org", None)
            | ("general_branch", None | Some("committee_org"))
            | (
                "branch",
                None | Some("committee_org") | Some("general_branch")
            )
            | ("group", Some("branch"))
    )
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
pub struct OrgInput {
    pub unit_id: i64,
    pub parent_id: Option<i64>,
    /// committee_org | general_branch | branch | group
    #[schema(schema_with = crate::org::schema::org_kind)]
    pub kind: String,
    pub name: String,
    #[schema(format = Date)]
    pub founded_on: Option<String>,
    #[schema(format = Date)]
    pub term_start: Option<String>,
    #[schema(format = Date)]
    pub term_end: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

struct Checked {
    name: String,
    founded_on: Option<String>,
    term_start: Option<String>,
    term_end: Option<String>,
}

async fn check(
    state: &AppState,
    user: &CurrentUser,
    input: &OrgInput,
    self_id: Option<i64>,
) -> AppResult<Checked> {
    user.require(user.is_registry_admin())?;
    if !user.scope().sees_unit(input.unit_id) {
        return Err(AppError::NotFound);
    }
    let mut errors = FieldErrors::new();
    // The committee sees every unit, existing or not: one that is not there is a field
    // error, not a failed foreign key.
    let unit: Option<i64> = sqlx::query_scalar("select unit_id from unit where unit_id = $1")
        .bind(input.unit_id)
        .fetch_optional(&state.db.pool)
        .await?;
    if unit.is_none() {
        errors.insert("unit_id".into(), "所选机关党组织不存在".into());
    }
    let name = crate::text::clean_text(&input.name);
    if name.is_empty() || name.chars().count() > 60 {
        errors.insert("name".into(), "请填写党组织名称（不超过60字）".into());
    }
    if !KINDS.contains(&input.kind.as_str()) {
        errors.insert(
            "kind".into(),
            "请选择组织类型（党委、党总支、党支部或党小组）".into(),
        );
    }
    let parent_kind = match input.parent_id {
        Some(p) => {
            let row: Option<(i64, String)> =
                sqlx::query_as("select unit_id, kind from org where org_id = $1")
                    .bind(p)
                    .fetch_optional(&state.db.pool)
                    .await?;
            match row {
                Some((u, k)) if u == input.unit_id && Some(p) != self_id => Some(k),
                _ => {
                    errors.insert(
                        "parent_id".into(),
                        "上级组织须是本单位的另一个党组织".into(),
                    );
                    None
                }
            }
        }
        None => None,
    };
    if KINDS.contains(&input.kind.as_str())
        && !errors.contains_key("parent_id")
        && !parent_allowed(&input.kind, parent_kind.as_deref())
    {
        errors.insert(
            "parent_id".into(),
            format!(
                "{}不能设在{}之下",
                org_kind_label(&input.kind),
                parent_kind.as_deref().map_or("单位顶层", org_kind_label)
            ),
        );
    }
    let founded_on = super::opt_date(&input.founded_on, "founded_on", &mut errors);
    let term_start = super::opt_date(&input.term_start, "term_start", &mut errors);
    let term_end = super::opt_date(&input.term_end, "term_end", &mut errors);
    let today = crate::text::format_date(crate::clock::today());
    if founded_on.as_deref().is_some_and(|f| f > today.as_str()) {
        errors.insert("founded_on".into(), "成立日期不能晚于今天".into());
    }
    if let (Some(s), Some(e)) = (&term_start, &term_end) {
        if e <= s {
            errors.insert("term_end".into(), "任期届满日期应晚于任期开始日期".into());
        }
    }
    if let (Some(f), Some(s)) = (&founded_on, &term_start) {
        if s < f {
            errors.insert("term_start".into(), "任期开始不能早于成立日期".into());
        }
    }
    if errors.is_empty() {
        Ok(Checked {
            name,
            founded_on,
            term_start,
            term_end,
        })
    } else {
        Err(AppError::fields(errors))
    }
}

pub async fn create(state: &AppState, user: &CurrentUser, input: OrgInput) -> AppResult<i64> {
    let c = check(state, user, &input, None).await?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into org (unit_id, parent_id, kind, name, founded_on, term_start, term_end, sort_order, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning org_id",
    )
    .bind(input.unit_id)
    .bind(input.parent_id)
    .bind(input.kind.clone())
    .bind(c.name.clone())
    .bind(c.founded_on)
    .bind(c.term_start)
    .bind(c.term_end)
    .bind(input.sort_order.unwrap_or(0))
    .bind(t)
    .bind(t)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "本单位已有同名党组织"))?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "org.create",
            "org",
            id,
            format!("新建{} {}", org_kind_label(&input.kind), c.name),
        )
        .after(&input),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: OrgInput,
) -> AppResult<()> {
    let before = get_org(state, user, id).await?;
    // An org stays in its unit; moving units is a transfer of its members, not an edit.
    if input.unit_id != before.unit_id {
        return Err(AppError::field(
            "unit_id",
            "党组织不能改属其他机关党组织；请在该机关党组织下新建组织，再把党员转接过去",
        ));
    }
    let c = check(state, user, &input, Some(id)).await?;
    if input.kind != before.kind {
        let children: i64 = sqlx::query_scalar("select count(*) from org where parent_id = $1")
            .bind(id)
            .fetch_one(&state.db.pool)
            .await?;
        let members: i64 =
            sqlx::query_scalar("select count(*) from member where branch_id = $1 or group_id = $1")
                .bind(id)
                .fetch_one(&state.db.pool)
                .await?;
        if children > 0 || members > 0 {
            return Err(AppError::field(
                "kind",
                "该组织下已有下级组织或党员，不能直接改变组织类型",
            ));
        }
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update org set parent_id = $1, kind = $2, name = $3, founded_on = $4, term_start = $5, term_end = $6, sort_order = $7, updated_at = $8 where org_id = $9",
    )
    .bind(input.parent_id)
    .bind(input.kind.clone())
    .bind(c.name.clone())
    .bind(c.founded_on)
    .bind(c.term_start)
    .bind(c.term_end)
    .bind(input.sort_order.unwrap_or(before.sort_order))
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "本单位已有同名党组织"))?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new("org.update", "org", id, format!("修改党组织 {}", c.name))
            .before(&before)
            .after(&input),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an org that has no sub-orgs and no members (ever): nothing is lost.
pub async fn delete(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    user.require(user.is_registry_admin())?;
    let before = get_org(state, user, id).await?;
    if !user.scope().sees_unit(before.unit_id) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin_write().await?;
    let refs: i64 = sqlx::query_scalar(
        "select (select count(*) from org where parent_id = $1) + (select count(*) from member where branch_id = $1 or group_id = $1) \
         + (select count(*) from member_transfer where from_branch_id = $1 or to_branch_id = $1) + (select count(*) from role_grant where org_id = $1)",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    if refs > 0 {
        return Err(AppError::Conflict(
            "该组织下还有下级组织、党员、转接记录或账号授权，不能删除".into(),
        ));
    }
    sqlx::query("delete from org_officer where org_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("delete from org where org_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "org.delete",
            "org",
            id,
            format!("删除党组织 {}", before.name),
        )
        .before(&before),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Officer {
    pub member_id: i64,
    pub name: String,
    pub post: String,
}

pub async fn officers(state: &AppState, org_id: i64) -> AppResult<Vec<Officer>> {
    Ok(sqlx::query_as(
        "select f.member_id, m.name, f.post from org_officer f join member m on m.member_id = f.member_id where f.org_id = $1 \
         order by case f.post when '书记' then 0 when '副书记' then 1 else 2 end, f.org_officer_id",
    )
    .bind(org_id)
    .fetch_all(&state.db.pool)
    .await?)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct OfficerInput {
    pub member_id: i64,
    /// 书记 | 副书记 | 组织委员 | 宣传委员 | 纪检委员 | 委员
    #[schema(schema_with = crate::org::schema::officer_post)]
    pub post: String,
}

/// Replaces the officers of an org's current term.
pub async fn set_officers(
    state: &AppState,
    user: &CurrentUser,
    org_id: i64,
    list: Vec<OfficerInput>,
) -> AppResult<()> {
    user.require(user.is_registry_admin())?;
    let org = get_org(state, user, org_id).await?;
    if !user.scope().sees_unit(org.unit_id) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let mut seen = std::collections::HashSet::new();
    for (i, o) in list.iter().enumerate() {
        if !crate::messages::OFFICER_POSTS.contains(&o.post.as_str()) {
            errors.insert(
                format!("officers[{i}].post"),
                "请选择职务（书记、副书记、组织委员、宣传委员、纪检委员、委员）".into(),
            );
        }
        if !seen.insert(o.member_id) {
            errors.insert(
                format!("officers[{i}].member_id"),
                "同一名党员只能担任一个职务".into(),
            );
        }
        let unit: Option<i64> = sqlx::query_scalar(
            "select unit_id from member where member_id = $1 and status = 'active'",
        )
        .bind(o.member_id)
        .fetch_optional(&state.db.pool)
        .await?;
        if unit != Some(org.unit_id) {
            errors.insert(
                format!("officers[{i}].member_id"),
                "班子成员须是本单位在册党员".into(),
            );
        }
    }
    if list.iter().filter(|o| o.post == "书记").count() > 1 {
        errors.insert("officers".into(), "书记只能有一名".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let before = officers(state, org_id).await?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from org_officer where org_id = $1")
        .bind(org_id)
        .execute(tx.conn())
        .await?;
    for o in &list {
        sqlx::query(
            "insert into org_officer (org_id, member_id, post, created_at) values ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(o.member_id)
        .bind(o.post.clone())
        .bind(now())
        .execute(tx.conn())
        .await?;
    }
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "org.officer_set",
            "org",
            org_id,
            format!("调整 {} 班子成员", org.name),
        )
        .before(&before)
        .after(&list),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every org, for `yaoshi export orgs`.
pub async fn export_all(state: &AppState) -> AppResult<Vec<u8>> {
    let mut sql = Sql::new(ORG_SELECT);
    sql.push("1 = 1 order by o.unit_id, o.sort_order, o.org_id");
    let orgs: Vec<Org> = sql.fetch_all(&state.db.pool).await?;
    write_orgs(&orgs)
}

fn write_orgs(orgs: &[Org]) -> AppResult<Vec<u8>> {
    let names: std::collections::HashMap<i64, &str> =
        orgs.iter().map(|o| (o.org_id, o.name.as_str())).collect();
    let rows: Vec<Vec<String>> = orgs
        .iter()
        .map(|o| {
            vec![
                o.unit_name.clone(),
                o.category_name.clone(),
                o.name.clone(),
                o.kind_label().to_string(),
                o.parent_id
                    .and_then(|p| names.get(&p))
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                o.founded_on.clone().unwrap_or_default(),
                o.term_start.clone().unwrap_or_default(),
                o.term_end.clone().unwrap_or_default(),
            ]
        })
        .collect();
    crate::xlsx::write_sheet(
        "党组织",
        &[
            "机关党组织",
            "类别",
            "组织名称",
            "组织类型",
            "上级组织",
            "成立日期",
            "任期开始",
            "任期届满",
        ],
        &rows,
    )
}

pub async fn export_scoped(
    state: &AppState,
    user: &CurrentUser,
    unit_id: Option<i64>,
) -> AppResult<Vec<u8>> {
    let mut sql = Sql::new(ORG_SELECT);
    user.scope().org_condition(&mut sql);
    if let Some(u) = unit_id {
        sql.push(" and o.unit_id = ").bind(u);
    }
    sql.push(" order by o.unit_id, o.sort_order, o.org_id");
    let orgs: Vec<Org> = sql.fetch_all(&state.db.pool).await?;
    write_orgs(&orgs)
}

// ---- pages ----

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
    fn unit(&self) -> Option<i64> {
        self.unit_id.as_deref().and_then(|v| v.trim().parse().ok())
    }
}

#[derive(Template)]
#[template(path = "org/tree.html")]
struct TreePage {
    ctx: PageCtx,
    tree: Vec<TreeNode>,
    units: Vec<(i64, String)>,
    unit_id: Option<i64>,
    can_edit: bool,
}

async fn units_in_scope(state: &AppState, user: &CurrentUser) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new("select u.unit_id, u.name from unit u where ");
    if user.is_committee() || user.has(crate::auth::Role::Unit) {
        user.scope().unit_condition(&mut sql);
    } else {
        sql.push("u.unit_id in (select o.unit_id from org o where o.org_id in ")
            .bind_list(&user.branch_ids())
            .push(")");
    }
    sql.push(" order by u.sort_order, u.unit_id");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

async fn tree_page(
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

async fn tree_export(
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
struct OrgForm {
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
        KINDS.iter().map(|k| (*k, org_kind_label(k))).collect()
    }
    fn indent(&self, depth: &usize) -> String {
        "　".repeat(*depth)
    }
}

#[derive(Deserialize)]
struct NewQuery {
    unit_id: Option<i64>,
    parent_id: Option<i64>,
}

async fn unit_name(state: &AppState, user: &CurrentUser, unit_id: i64) -> AppResult<String> {
    Ok(super::units::get_unit(state, user, unit_id).await?.name)
}

async fn new_page(
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
    let kind = match parent_kind.as_deref() {
        Some("branch") => "group",
        Some(_) | None => "branch",
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
        kind: kind.into(),
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
struct OrgFormData {
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

async fn form_error(
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
    let mut r = web::render(&OrgForm {
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
    })?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

async fn create_page(
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

async fn update_page(
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

async fn delete_page(
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
struct OrgDetail {
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
        KINDS.iter().map(|k| (*k, org_kind_label(k))).collect()
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
}

async fn detail(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    flash: FlashIn,
    errors: FieldErrors,
) -> AppResult<Response> {
    let org = get_org(state, user, id).await?;
    let unit_tree = tree_for_unit(state, org.unit_id).await?;
    let subtree = subtree_of(&unit_tree, id);
    let candidates: Vec<(i64, String)> = sqlx::query_as(
        "select member_id, name from member where status = 'active' and (branch_id = $1 or unit_id = $2 and $3 = 1) order by name limit 500",
    )
    .bind(id)
    .bind(org.unit_id)
    .bind(i64::from(org.kind != "branch" && org.kind != "group"))
    .fetch_all(&state.db.pool)
    .await?;
    web::render(&OrgDetail {
        ctx: PageCtx::new(user, &org.name, "/org/tree", flash)
            .crumb(org.unit_name.clone(), format!("/org/units/{}", org.unit_id))
            .crumb(org.name.clone(), format!("/org/orgs/{id}")),
        officers: officers(state, id).await?,
        can_edit: user.is_registry_admin() && user.scope().sees_unit(org.unit_id),
        parents: unit_tree
            .into_iter()
            .filter(|n| n.org_id != id && n.kind != "group")
            .collect(),
        subtree,
        candidates,
        org,
        errors,
    })
}

/// Pure: the node and everything under it in a flattened tree.
pub fn subtree_of(tree: &[TreeNode], id: i64) -> Vec<TreeNode> {
    let Some(start) = tree.iter().position(|n| n.org_id == id) else {
        return Vec::new();
    };
    let depth = tree[start].depth;
    let mut out = vec![tree[start].clone()];
    out.extend(
        tree[start + 1..]
            .iter()
            .take_while(|n| n.depth > depth)
            .cloned(),
    );
    out
}

async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    detail(&state, &user, id, flash, FieldErrors::new()).await
}

async fn officers_page(
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
        Err(AppError::Invalid { fields, .. }) => {
            let mut r = detail(&state, &user, id, FlashIn(None), fields).await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_tree, api_create))
        .routes(routes!(api_get, api_update, api_delete))
        .routes(routes!(api_officers, api_set_officers))
}

/// The org tree in the caller's scope, depth-first (optionally one unit).
#[utoipa::path(get, path = "/orgs", tag = "org", params(TreeQuery), responses((status = 200, body = Vec<TreeNode>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_tree(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<TreeQuery>,
) -> AppResult<Json<Vec<TreeNode>>> {
    user.require(user.is_registry_admin() || user.has(crate::auth::Role::Branch))?;
    Ok(Json(tree(&state, &user, q.unit()).await?))
}

/// Create an org under a unit (committee, or the unit's admin).
#[utoipa::path(post, path = "/orgs", tag = "org", request_body = OrgInput, responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<OrgInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

/// One org.
#[utoipa::path(get, path = "/orgs/{id}", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Org), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Org>> {
    Ok(Json(get_org(&state, &user, id).await?))
}

/// Update an org.
#[utoipa::path(put, path = "/orgs/{id}", tag = "org", params(("id" = i64, Path)), request_body = OrgInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<OrgInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete an empty org.
#[utoipa::path(delete, path = "/orgs/{id}", tag = "org", params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn api_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The officers of an org's current term.
#[utoipa::path(get, path = "/orgs/{id}/officers", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Vec<Officer>)))]
async fn api_officers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Officer>>> {
    get_org(&state, &user, id).await?;
    Ok(Json(officers(&state, id).await?))
}

/// Replace the officers of an org's current term.
#[utoipa::path(put, path = "/orgs/{id}/officers", tag = "org", params(("id" = i64, Path)), request_body = Vec<OfficerInput>, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_set_officers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(list): Json<Vec<OfficerInput>>,
) -> AppResult<StatusCode> {
    set_officers(&state, &user, id, list).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: i64, parent: Option<i64>, kind: &str) -> Org {
        Org {
            org_id: id,
            unit_id: 1,
            unit_name: "u".into(),
            category_name: "c".into(),
            parent_id: parent,
            kind: kind.into(),
            name: format!("o{id}"),
            founded_on: None,
            term_start: None,
            term_end: Some("2000-01-01".into()),
            sort_order: 0,
        }
    }

    #[test]
    fn flatten_counts_subtrees_without_double_counting_groups() {
        let orgs = vec![
            org(1, None, "committee_org"),
            org(2, Some(1), "branch"),
            org(3, Some(2), "group"),
            org(4, Some(1), "branch"),
        ];
        // branch 2: 10 members (4 in group 3), 8 full; branch 4: 5 members.
        let counts = vec![(2, None, 6, 5), (2, Some(3), 4, 3), (4, None, 5, 5)];
        let t = flatten(&orgs, &counts);
        let ids: Vec<i64> = t.iter().map(|n| n.org_id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        assert_eq!(t[0].members, 15);
        assert_eq!(t[1].members, 10);
        assert_eq!(t[1].full_members, 8);
        assert_eq!(t[2].members, 4);
        assert_eq!(t[2].depth, 2);
        assert!(t[0].term_overdue);
        assert_eq!(subtree_of(&t, 2).len(), 2);
    }

    #[test]
    fn hierarchy_rules() {
        assert!(parent_allowed("branch", None));
        assert!(parent_allowed("branch", Some("general_branch")));
        assert!(parent_allowed("group", Some("branch")));
        assert!(!parent_allowed("group", None));
        assert!(!parent_allowed("committee_org", Some("branch")));
        assert!(!parent_allowed("branch", Some("group")));
    }
}
