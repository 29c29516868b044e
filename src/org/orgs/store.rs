//! The org tree's SQL: reading the tree in scope, writes with their audit entries,
//! officers, exports.

use super::rules::{flatten, parent_allowed, OrgKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Org {
    pub org_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub category_name: String,
    pub parent_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub kind: OrgKind,
    pub name: String,
    pub founded_on: Option<String>,
    pub term_start: Option<String>,
    pub term_end: Option<String>,
    pub sort_order: i64,
}

impl Org {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}

/// One line of a flattened tree, indented by depth.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TreeNode {
    pub org_id: i64,
    pub unit_id: i64,
    pub parent_id: Option<i64>,
    pub kind: OrgKind,
    pub kind_label: String,
    pub name: String,
    pub depth: usize,
    /// Active members in this org and everything under it.
    pub members: i64,
    pub full_members: i64,
    pub term_end: Option<String>,
    pub term_overdue: bool,
}

pub(super) const ORG_SELECT: &str =
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
    Ok(tree_shared(state, scope, unit_id).await?.as_ref().clone())
}

/// The tree as `tree_in` gives it, shared: flattened once per registry version, scope, unit
/// and day (overdue terms are judged against today), so a page of the committee's 3,000 orgs
/// copies its page only.
pub async fn tree_shared(
    state: &AppState,
    scope: &crate::auth::Scope,
    unit_id: Option<i64>,
) -> AppResult<std::sync::Arc<Vec<TreeNode>>> {
    let key = format!("tree {scope:?} {unit_id:?} {}", crate::clock::today());
    Ok(state
        .ext::<crate::db::QueryCache>()
        .derived(&state.db, "registry", &key, || async {
            flattened(state, scope, unit_id)
                .await
                .map_err(anyhow::Error::from)
        })
        .await?)
}

async fn flattened(
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
    // Both reads are remembered per registry version: the city's tree and its member counts
    // feed 三个百分百, the committee's tree API and every unit page.
    let cache = state.ext::<crate::db::QueryCache>();
    let orgs = cache.rows::<Org>(&state.db, "registry", &sql).await?;
    let mut counts = Sql::new(
        "select m.branch_id, m.group_id, count(*) as n, sum(case when m.kind = 'full' then 1 else 0 end) as full_n \
         from member m where m.status = 'active'",
    );
    if let Some(u) = unit_id {
        counts.push(" and m.unit_id = ").bind(u);
    }
    // Only the members of the orgs in sight: a branch admin's tree counted the whole city's
    // register on every request (the sweep: /org/tree p99 0.8 s for a branch).
    counts.push(" and ");
    scope.member_condition(&mut counts);
    counts.push(" group by m.branch_id, m.group_id");
    let counts = cache
        .rows::<(i64, Option<i64>, i64, i64)>(&state.db, "registry", &counts)
        .await?;
    Ok(flatten(&orgs, &counts))
}

/// A unit's whole tree, for callers already allowed to see the unit.
pub async fn tree_for_unit(state: &AppState, unit_id: i64) -> AppResult<Vec<TreeNode>> {
    tree_in(state, &crate::auth::Scope::everything(), Some(unit_id)).await
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

/// An org's input that passed every check.
pub(super) struct Checked {
    kind: OrgKind,
    name: String,
    founded_on: Option<time::Date>,
    term_start: Option<time::Date>,
    term_end: Option<time::Date>,
}

pub(super) async fn check(
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
    let kind = OrgKind::from_key(input.kind.trim());
    if kind.is_none() {
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
                Some((u, k)) if u == input.unit_id && Some(p) != self_id => OrgKind::from_key(&k),
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
    if let Some(k) = kind {
        if !errors.contains_key("parent_id") && !parent_allowed(k, parent_kind) {
            errors.insert(
                "parent_id".into(),
                format!(
                    "{}不能设在{}之下",
                    k.label(),
                    parent_kind.map_or("单位顶层", OrgKind::label)
                ),
            );
        }
    }
    let founded_on = crate::org::opt_date(&input.founded_on, "founded_on", &mut errors);
    let term_start = crate::org::opt_date(&input.term_start, "term_start", &mut errors);
    let term_end = crate::org::opt_date(&input.term_end, "term_end", &mut errors);
    if founded_on.is_some_and(|f| f > crate::clock::today()) {
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
    match kind {
        Some(kind) if errors.is_empty() => Ok(Checked {
            kind,
            name,
            founded_on,
            term_start,
            term_end,
        }),
        _ => Err(AppError::fields(errors)),
    }
}

impl Checked {
    fn dates(&self) -> [Option<String>; 3] {
        [self.founded_on, self.term_start, self.term_end].map(|d| d.map(crate::text::format_date))
    }
}

pub async fn create(state: &AppState, user: &CurrentUser, input: OrgInput) -> AppResult<i64> {
    let c = check(state, user, &input, None).await?;
    let [founded_on, term_start, term_end] = c.dates();
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into org (unit_id, parent_id, kind, name, founded_on, term_start, term_end, sort_order, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning org_id",
    )
    .bind(input.unit_id)
    .bind(input.parent_id)
    .bind(c.kind.as_str())
    .bind(c.name.clone())
    .bind(founded_on)
    .bind(term_start)
    .bind(term_end)
    .bind(input.sort_order.unwrap_or(0))
    .bind(t)
    .bind(t)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "本单位已有同名党组织"))?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "org.create",
            "org",
            id,
            format!("新建{} {}", c.kind.label(), c.name),
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
    let [founded_on, term_start, term_end] = c.dates();
    if c.kind != before.kind {
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
    .bind(c.kind.as_str())
    .bind(c.name.clone())
    .bind(founded_on)
    .bind(term_start)
    .bind(term_end)
    .bind(input.sort_order.unwrap_or(before.sort_order))
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "name", "本单位已有同名党组织"))?;
    tx.audit(
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
    tx.audit(
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
    /// 0 when the holder is no longer an active member of the org (of the branch itself
    /// for a branch): a post set before that rule, or kept by someone who left, is listed
    /// but counts for no committee.
    pub valid: i64,
}

/// The condition a post `f` of org `o`, held by member `m`, counts under: its holder is an
/// active member of the org's unit and, for a branch, of the branch itself. Every count of
/// a committee uses it (三个百分百, the year grid's 支委会 requirement, the org page).
pub const OFFICER_COUNTS: &str = "m.status = 'active' and m.unit_id = o.unit_id \
     and (o.kind <> 'branch' or m.branch_id = o.org_id)";

pub async fn officers(state: &AppState, org_id: i64) -> AppResult<Vec<Officer>> {
    Ok(sqlx::query_as(&format!(
        "select f.member_id, m.name, f.post, case when {OFFICER_COUNTS} then 1 else 0 end as valid \
         from org_officer f join member m on m.member_id = f.member_id join org o on o.org_id = f.org_id \
         where f.org_id = $1 \
         order by case f.post when '书记' then 0 when '副书记' then 1 else 2 end, f.org_officer_id"
    ))
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
    // Officers are active members of this org, or of the orgs under it for a 党委/党总支
    // (members awaiting a branch there included).
    let subtree: Vec<i64> =
        super::rules::subtree_of(&tree_for_unit(state, org.unit_id).await?, org_id)
            .iter()
            .filter(|n| n.kind != OrgKind::Group)
            .map(|n| n.org_id)
            .collect();
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
        let branch: Option<i64> = sqlx::query_scalar(
            "select branch_id from member where member_id = $1 and status = 'active'",
        )
        .bind(o.member_id)
        .fetch_optional(&state.db.pool)
        .await?;
        if !branch.is_some_and(|b| subtree.contains(&b)) {
            errors.insert(
                format!("officers[{i}].member_id"),
                format!("班子成员须是{}的在册党员", org.name),
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
    tx.audit(
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

pub(super) fn write_orgs(orgs: &[Org]) -> AppResult<Vec<u8>> {
    let names: std::collections::HashMap<i64, &str> =
        orgs.iter().map(|o| (o.org_id, o.name.as_str())).collect();
    use crate::xlsx::Cell;
    let date = |d: &Option<String>| Cell::date_or_text(d.as_deref().unwrap_or(""));
    let rows: Vec<Vec<Cell>> = orgs
        .iter()
        .map(|o| {
            vec![
                Cell::text(&o.unit_name),
                Cell::text(&o.category_name),
                Cell::text(&o.name),
                Cell::text(o.kind_label()),
                Cell::text(
                    o.parent_id
                        .and_then(|p| names.get(&p).copied())
                        .unwrap_or(""),
                ),
                date(&o.founded_on),
                date(&o.term_start),
                date(&o.term_end),
            ]
        })
        .collect();
    crate::xlsx::write_table(
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
    // Both reads are remembered per registry version: the city's tree and its member counts
    // feed 三个百分百, the committee's tree API and every unit page.
    let cache = state.ext::<crate::db::QueryCache>();
    let orgs = cache.rows::<Org>(&state.db, "registry", &sql).await?;
    write_orgs(&orgs)
}
