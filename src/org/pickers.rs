//! The pickers of forms and filters — units, branches, groups — each under the caller's
//! scope, for every feature's pages (a picker never lists what the caller may not see).

use crate::auth::{CurrentUser, Scope};
use crate::db::Sql;
use crate::error::AppResult;
use crate::state::AppState;

/// A picker's (id, name) pairs, remembered per registry version (units and orgs bump it):
/// the province's 1,200 units were read afresh for every filter bar.
pub async fn cached_pairs(state: &AppState, sql: &Sql) -> AppResult<Vec<(i64, String)>> {
    Ok(state
        .ext::<crate::db::QueryCache>()
        .rows::<(i64, String)>(&state.db, "registry", sql)
        .await?
        .as_ref()
        .clone())
}

/// The units a registry admin may pick: the committee's all, a unit admin's own.
pub async fn units(state: &AppState, user: &CurrentUser) -> AppResult<Vec<(i64, String)>> {
    if !user.is_registry_admin() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("select u.unit_id, u.name from unit u where ");
    user.scope().unit_condition(&mut sql);
    sql.push(" order by u.sort_order, u.unit_id");
    cached_pairs(state, &sql).await
}

/// The branches of one unit by name; without a unit, the first unit of a unit admin (the
/// committee picks a unit first).
pub async fn branches(
    state: &AppState,
    user: &CurrentUser,
    unit_id: Option<i64>,
) -> AppResult<Vec<(i64, String)>> {
    let Some(unit_id) = unit_id.or_else(|| {
        if user.is_committee() {
            None
        } else {
            user.unit_ids().first().copied()
        }
    }) else {
        return Ok(Vec::new());
    };
    let mut sql =
        Sql::new("select o.org_id, o.name from org o where o.kind = 'branch' and o.unit_id = ");
    sql.bind(unit_id).push(" and ");
    user.scope().org_condition(&mut sql);
    sql.push(" order by o.sort_order, o.org_id");
    Ok(sql.fetch_page(&state.db).await?)
}

/// Branches labelled `单位 · 支部`, of one unit or of every unit in scope; the committee's
/// 1,500 branches make no menu, so without a unit it gets none and picks a unit first.
pub async fn branches_labelled(
    state: &AppState,
    user: &CurrentUser,
    unit_id: Option<i64>,
) -> AppResult<Vec<(i64, String)>> {
    if user.is_committee() && unit_id.is_none() {
        return Ok(Vec::new());
    }
    labelled(state, &user.scope(), unit_id, None).await
}

/// Where a member of one unit may be placed: its branches, and its 党委/党总支 marked
/// （待编入） for members awaiting a branch.
pub async fn placements(
    state: &AppState,
    user: &CurrentUser,
    unit_id: i64,
) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new(
        "select o.org_id, o.name || case when o.kind = 'branch' then '' else '（待编入）' end \
         from org o where o.kind in ('branch', 'committee_org', 'general_branch') and o.unit_id = ",
    );
    sql.bind(unit_id).push(" and ");
    user.scope().org_condition(&mut sql);
    sql.push(" order by case when o.kind = 'branch' then 0 else 1 end, o.sort_order, o.org_id");
    Ok(sql.fetch_page(&state.db).await?)
}

/// Where a member may be placed: every branch in scope, and every 党委/党总支 marked
/// （待编入） for members awaiting a branch (at most 3,000).
pub async fn all_placements_labelled(
    state: &AppState,
    user: &CurrentUser,
) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new(
        "select o.org_id, u.name || ' · ' || o.name || case when o.kind = 'branch' then '' else '（待编入）' end \
         from org o join unit u on u.unit_id = o.unit_id where o.kind in ('branch', 'committee_org', 'general_branch') and ",
    );
    user.scope().org_condition(&mut sql);
    sql.push(" order by u.sort_order, u.unit_id, o.sort_order, o.org_id limit 3000");
    Ok(sql.fetch_page(&state.db).await?)
}

async fn labelled(
    state: &AppState,
    scope: &Scope,
    unit_id: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new(
        "select o.org_id, u.name || ' · ' || o.name from org o join unit u on u.unit_id = o.unit_id \
         where o.kind = 'branch' and ",
    );
    scope.org_condition(&mut sql);
    if let Some(u) = unit_id {
        sql.push(" and o.unit_id = ").bind(u);
    }
    sql.push(" order by u.sort_order, u.unit_id, o.sort_order, o.org_id");
    if let Some(n) = limit {
        sql.push(" limit ").bind(n);
    }
    Ok(sql.fetch_page(&state.db).await?)
}

/// The groups (党小组) of a branch, within `scope`.
pub async fn groups(
    state: &AppState,
    scope: &Scope,
    branch_id: i64,
) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new("select o.org_id, o.name from org o where o.parent_id = ");
    sql.bind(branch_id).push(" and o.kind = 'group' and ");
    scope.org_condition(&mut sql);
    sql.push(" order by o.sort_order, o.org_id");
    Ok(sql.fetch_page(&state.db).await?)
}

/// A branch picker that scales: the committee picks a unit, then that unit's branches load
/// (`/org/members/branch-options?unit_id=`); anyone else, with one unit or a few, gets the
/// branches of their scope at once. The page never embeds every branch of the city.
pub struct BranchPicker {
    /// Whether a unit is picked first (the committee), or branches are listed at once.
    pub by_unit: bool,
    /// The units to pick from.
    pub units: Vec<(i64, String)>,
    pub unit_id: Option<i64>,
    pub branches: Vec<(i64, String)>,
    /// The branch chosen (0 for none).
    pub branch_id: i64,
}

impl BranchPicker {
    pub fn by_unit(&self) -> bool {
        self.by_unit
    }

    pub fn unit_is(&self, id: &i64) -> bool {
        self.unit_id == Some(*id)
    }
}

/// The picker with `branch_id` (0 for none) chosen: for the committee, its unit's branches.
pub async fn branch_picker(
    state: &AppState,
    user: &CurrentUser,
    branch_id: i64,
) -> AppResult<BranchPicker> {
    if !user.is_committee() {
        return Ok(BranchPicker {
            by_unit: false,
            units: Vec::new(),
            unit_id: None,
            branches: all_placements_labelled(state, user).await?,
            branch_id,
        });
    }
    let unit_id: Option<i64> = if branch_id > 0 {
        sqlx::query_scalar("select unit_id from org where org_id = $1")
            .bind(branch_id)
            .fetch_optional(&state.db.pool)
            .await?
    } else {
        None
    };
    Ok(BranchPicker {
        by_unit: true,
        units: units(state, user).await?,
        unit_id,
        branches: match unit_id {
            Some(u) => placements(state, user, u).await?,
            None => Vec::new(),
        },
        branch_id,
    })
}
