//! The member register's SQL: lists and pages in scope, one member, writes with their
//! audit entries, transfers, exports.

use super::rules::{validate, MemberInput, MemberKind, MemberStatus, ValidMember};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::{self, Entry};
use crate::auth::{CurrentUser, Role, Scope};
use crate::clock::now;
use crate::crypto::{Field, KeyRing};
use crate::db::{Backend, Sql};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::org::idnumber::{mask_id_number, mask_phone};
use crate::state::AppState;
use crate::text::{clean_text, format_date};
use crate::web::{self, Paging};
use crate::xlsx::Cell;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Member {
    pub member_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub name: String,
    pub gender: String,
    pub ethnicity: String,
    pub birth_date: Option<String>,
    /// Masked (`3201**********1234`) unless explicitly unmasked.
    pub id_number: String,
    pub phone: String,
    pub education: String,
    pub joined_on: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: MemberKind,
    pub converted_on: Option<String>,
    pub position: String,
    pub is_division_head: i64,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    /// The day the status took effect (none while active).
    pub status_on: Option<String>,
    /// 1 when the org the member sits in is a 党委/党总支, not a branch: 待编入.
    pub awaiting: i64,
}

impl Member {
    /// The row as read holds ciphertexts; this decrypts them.
    pub fn opened(mut self, keys: &KeyRing) -> AppResult<Member> {
        self.id_number = keys.decrypt(Field::IdNumber, &self.id_number)?;
        self.phone = keys.decrypt(Field::Phone, &self.phone)?;
        Ok(self)
    }

    /// For the list page, which shows the masked ID number and no phone: the phone is not
    /// decrypted (left empty), halving the page's decryption.
    pub(super) fn opened_for_list(mut self, keys: &KeyRing) -> AppResult<Member> {
        self.id_number = keys.decrypt(Field::IdNumber, &self.id_number)?;
        self.phone = String::new();
        Ok(self)
    }

    pub fn masked(mut self) -> Member {
        self.id_number = mask_id_number(&self.id_number);
        self.phone = mask_phone(&self.phone);
        self
    }
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

macro_rules! member_columns {
    () => {
        "select m.member_id, m.unit_id, u.name as unit_name, m.branch_id, b.name as branch_name, m.group_id, \
         g.name as group_name, m.name, m.gender, m.ethnicity, m.birth_date, m.id_number, m.phone, m.education, m.joined_on, m.kind, \
         m.converted_on, m.position, m.is_division_head, m.status, m.status_on, case when b.kind = 'branch' then 0 else 1 end as awaiting"
    };
}
macro_rules! member_from {
    () => {
        " from member m join unit u on u.unit_id = m.unit_id join org b on b.org_id = m.branch_id \
         left join org g on g.org_id = m.group_id where "
    };
}
pub(super) const MEMBER_SELECT: &str = concat!(member_columns!(), member_from!());

/// The columns of `member_columns!`, in order: the SQLite fast path reads them by position
/// (`Member::from_sqlite`), and a unit test holds the select list to this order.
#[cfg(test)]
pub(super) const MEMBER_COLUMN_NAMES: [&str; 22] = [
    "member_id",
    "unit_id",
    "unit_name",
    "branch_id",
    "branch_name",
    "group_id",
    "group_name",
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "id_number",
    "phone",
    "education",
    "joined_on",
    "kind",
    "converted_on",
    "position",
    "is_division_head",
    "status",
    "status_on",
    "awaiting",
];

impl crate::db::FromSqlite for Member {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Member {
            member_id: r.get(0)?,
            unit_id: r.get(1)?,
            unit_name: r.get(2)?,
            branch_id: r.get(3)?,
            branch_name: r.get(4)?,
            group_id: r.get(5)?,
            group_name: r.get(6)?,
            name: r.get(7)?,
            gender: r.get(8)?,
            ethnicity: r.get(9)?,
            birth_date: r.get(10)?,
            id_number: r.get(11)?,
            phone: r.get(12)?,
            education: r.get(13)?,
            joined_on: r.get(14)?,
            kind: crate::db::choice_at(r, 15, MemberKind::from_key)?,
            converted_on: r.get(16)?,
            position: r.get(17)?,
            is_division_head: r.get(18)?,
            status: crate::db::choice_at(r, 19, MemberStatus::from_key)?,
            status_on: r.get(20)?,
            awaiting: r.get(21)?,
        })
    }
}

#[derive(Debug, Deserialize, Default, Clone, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MemberFilter {
    /// Name, pinyin initials, last 4 of the ID number, or the whole ID number.
    pub q: Option<String>,
    pub unit_id: Option<String>,
    /// A branch, or a committee/general branch meaning everything under it.
    pub org_id: Option<String>,
    pub group_id: Option<String>,
    /// full | probationary
    pub kind: Option<String>,
    /// active (default) | transferred_out | deceased | left | all
    pub status: Option<String>,
    /// 1: division heads only
    pub division_head: Option<String>,
    /// 1: only members awaiting a branch (待编入, registered under a 党委/党总支)
    pub awaiting: Option<String>,
    /// name | joined_on | birth_date | branch (default)
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub(super) fn num(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

impl MemberFilter {
    pub fn paging(&self) -> Paging {
        Paging {
            page: self.page,
            per_page: self.per_page,
        }
    }

    /// The filter as the audit log keeps it: a search by ID number or phone (seven digits
    /// or more) is masked like the numbers themselves, since audit rows are kept for good.
    pub fn audit_query_string(&self) -> String {
        let q = self.q.as_deref().unwrap_or_default();
        if q.chars().filter(char::is_ascii_digit).count() < 7 {
            return self.query_string();
        }
        MemberFilter {
            q: Some(crate::org::idnumber::mask_id_number(q.trim())),
            ..self.clone()
        }
        .query_string()
    }

    pub fn query_string(&self) -> String {
        web::query_string(&[
            ("q", self.q.clone().unwrap_or_default()),
            (
                "unit_id",
                num(&self.unit_id)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            ),
            (
                "org_id",
                num(&self.org_id).map(|v| v.to_string()).unwrap_or_default(),
            ),
            (
                "group_id",
                num(&self.group_id)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            ),
            ("kind", self.kind.clone().unwrap_or_default()),
            ("status", self.status.clone().unwrap_or_default()),
            (
                "division_head",
                self.division_head.clone().unwrap_or_default(),
            ),
            ("awaiting", self.awaiting.clone().unwrap_or_default()),
            ("sort", self.sort.clone().unwrap_or_default()),
        ])
    }

    /// Appends the filter's conditions (after the scope condition). ID numbers are
    /// matched through their keyed hashes, never as text.
    fn apply(&self, sql: &mut Sql, backend: Backend, keys: &KeyRing) {
        if let Some(q) = self.q.as_deref().map(clean_text).filter(|q| !q.is_empty()) {
            let upper = q.to_uppercase();
            if upper.len() == 18 {
                sql.push(" and m.id_hash = ").bind(keys.id_hash(&upper));
            } else if upper.len() == 4 && upper.chars().all(|c| c.is_ascii_digit() || c == 'X') {
                sql.push(" and m.id_suffix = ")
                    .bind(keys.suffix_hash(&upper));
            } else if q.chars().all(|c| c.is_ascii_alphabetic()) {
                sql.push(" and m.name_initials like ")
                    .bind(format!("{}%", q.to_lowercase()));
            } else {
                // A plain substring test: faster than LIKE and blind to `%` and `_`.
                sql.push(" and ").contains(backend, "m.name", &q);
            }
        }
        if let Some(u) = num(&self.unit_id) {
            sql.push(" and m.unit_id = ").bind(u);
        }
        if let Some(o) = num(&self.org_id) {
            // Up to three levels: 党委 → 党总支 → 党支部.
            sql.push(" and (m.branch_id = ")
                .bind(o)
                .push(" or m.branch_id in (select org_id from org where parent_id = ")
                .bind(o)
                .push(" or parent_id in (select org_id from org where parent_id = ")
                .bind(o)
                .push(")))");
        }
        if let Some(g) = num(&self.group_id) {
            sql.push(" and m.group_id = ").bind(g);
        }
        if let Some(k) = self.kind.as_deref().and_then(MemberKind::from_key) {
            sql.push(" and m.kind = ").bind(k.as_str());
        }
        match self.status.as_deref().unwrap_or("active") {
            "all" => {}
            s => {
                let s = MemberStatus::from_key(s).unwrap_or(MemberStatus::Active);
                sql.push(" and m.status = ").bind(s.as_str());
            }
        }
        if self.division_head.as_deref() == Some("1") {
            sql.push(" and m.is_division_head = 1");
        }
        if self.awaiting.as_deref() == Some("1") {
            sql.push(" and m.branch_id in (select org_id from org where kind in ('committee_org', 'general_branch'))");
        }
    }
}

pub(super) fn may_list(user: &CurrentUser) -> bool {
    user.is_registry_admin() || user.has(Role::Branch)
}

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    f: &MemberFilter,
    all: bool,
) -> AppResult<(Vec<Member>, i64)> {
    user.require(may_list(user))?;
    list_in(state, &user.scope(), f, all).await
}

/// The filtered members in `scope`, decrypted: a page of them, or `all` (exports).
pub async fn list_in(
    state: &AppState,
    scope: &Scope,
    f: &MemberFilter,
    all: bool,
) -> AppResult<(Vec<Member>, i64)> {
    let (rows, total) = list_stored(state, scope, f, all).await?;
    let rows = rows
        .into_iter()
        .map(|m| m.opened(&state.keys))
        .collect::<AppResult<Vec<_>>>()?;
    Ok((rows, total))
}

/// As `list_in`, but the rows as stored: ID numbers and phones still encrypted.
pub(super) async fn list_stored(
    state: &AppState,
    scope: &Scope,
    f: &MemberFilter,
    all: bool,
) -> AppResult<(Vec<Member>, i64)> {
    f.check()?;
    let order = match f.sort.as_deref() {
        Some("name") => " order by m.name_initials, m.member_id",
        Some("joined_on") => " order by m.joined_on desc, m.member_id",
        Some("birth_date") => " order by m.birth_date, m.member_id",
        _ => " order by m.unit_id, m.branch_id, m.member_id",
    };
    if all {
        let mut sql = Sql::new(MEMBER_SELECT);
        scope.member_condition(&mut sql);
        f.apply(&mut sql, state.db.backend, &state.keys);
        sql.push(order);
        let rows: Vec<Member> = sql.fetch_all(&state.db.pool).await?;
        let total = rows.len() as i64;
        return Ok((rows, total));
    }
    let mut sql = Sql::new(MEMBER_SELECT);
    scope.member_condition(&mut sql);
    f.apply(&mut sql, state.db.backend, &state.keys);
    sql.push(order);
    let p = f.paging();
    sql.push(" limit ")
        .bind(p.per_page())
        .push(" offset ")
        .bind(p.offset());
    let rows: Vec<Member> = sql.fetch_page(&state.db).await?;
    // The total is counted once per registry version: the committee's count read the
    // whole city's register on every page (PostgreSQL: p99 1.2 s at 32 clients).
    let mut count = Sql::new("select count(*) from member m where ");
    scope.member_condition(&mut count);
    f.apply(&mut count, state.db.backend, &state.keys);
    let total = state
        .ext::<crate::db::QueryCache>()
        .count(&state.db, "registry", &count)
        .await?;
    Ok((rows, total))
}

/// One member in the caller's scope (members see themselves), masked.
pub async fn get_member(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Member> {
    get_member_in(state, &user.scope(), id).await
}

pub(super) async fn get_member_in(state: &AppState, scope: &Scope, id: i64) -> AppResult<Member> {
    let mut sql = Sql::new(MEMBER_SELECT);
    sql.push("m.member_id = ").bind(id).push(" and ");
    scope.member_condition(&mut sql);
    sql.fetch_all::<Member>(&state.db.pool)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?
        .opened(&state.keys)
}

/// The full ID number and phone, for roles that need them; the view is audited.
pub async fn unmask(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Member> {
    user.require(user.may_unmask())?;
    // Only where the registry powers apply: not a member seen through another grant.
    let m = get_member_in(state, &user.registry_scope(), id).await?;
    audit::record_alone(
        &state.db,
        &user.actor(),
        Entry::new(
            "member.unmask",
            "member",
            id,
            format!("查看 {} 的完整身份证号和手机号", m.name),
        ),
    )
    .await?;
    Ok(m)
}

/// The branch (and group) a member is placed in must exist, be in the caller's reach,
/// and the group must belong to the branch. A 党委/党总支 holds members awaiting a branch
/// (待编入), without a group. Returns the org's unit.
pub(super) async fn check_placement(
    state: &AppState,
    scope: &Scope,
    branch_id: i64,
    group_id: Option<i64>,
    e: &mut FieldErrors,
) -> AppResult<i64> {
    let row: Option<(i64, String)> =
        sqlx::query_as("select unit_id, kind from org where org_id = $1")
            .bind(branch_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let in_reach = |u: i64| scope.all || scope.units.contains(&u);
    let unit_id = match row {
        Some((u, k)) if in_reach(u) && k == "branch" => u,
        Some((u, k)) if in_reach(u) && (k == "committee_org" || k == "general_branch") => {
            if group_id.is_some() {
                e.insert(
                    "group_id".into(),
                    "待编入党员尚未编入党支部，不能编入党小组".into(),
                );
            }
            return Ok(u);
        }
        Some((u, _)) if in_reach(u) => {
            e.insert(
                "branch_id".into(),
                "党员须编入党支部（待编入的可暂列党委、党总支之下；不能直接编入党小组）".into(),
            );
            0
        }
        _ => {
            e.insert(
                "branch_id".into(),
                "所选党支部不存在或不在您的管理范围内".into(),
            );
            0
        }
    };
    if let Some(g) = group_id {
        let parent: Option<(Option<i64>, String)> =
            sqlx::query_as("select parent_id, kind from org where org_id = $1")
                .bind(g)
                .fetch_optional(&state.db.pool)
                .await?;
        if !matches!(parent, Some((Some(p), k)) if p == branch_id && k == "group") {
            e.insert("group_id".into(), "党小组须属于所选党支部".into());
        }
    }
    Ok(unit_id)
}

/// Ends the officer posts a member no longer may hold: all of them when `staying_in` is
/// `None` (the member left the register), else those of orgs that are not `staying_in` or
/// above it. Returns the ended posts for the audit entry.
pub(crate) async fn end_posts(
    conn: &mut sqlx::AnyConnection,
    member_id: i64,
    staying_in: Option<i64>,
) -> AppResult<Vec<serde_json::Value>> {
    let posts: Vec<(i64, String, String)> = sqlx::query_as(
        "select f.org_id, o.name, f.post from org_officer f join org o on o.org_id = f.org_id where f.member_id = $1",
    )
    .bind(member_id)
    .fetch_all(&mut *conn)
    .await?;
    // The org the member stays in and its ancestors (at most three levels).
    let mut keep = Vec::new();
    let mut at = staying_in;
    while let Some(o) = at.filter(|_| keep.len() < 4) {
        keep.push(o);
        at = sqlx::query_scalar::<_, Option<i64>>("select parent_id from org where org_id = $1")
            .bind(o)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    }
    let mut ended = Vec::new();
    for (org_id, org, post) in posts.into_iter().filter(|p| !keep.contains(&p.0)) {
        sqlx::query("delete from org_officer where member_id = $1 and org_id = $2")
            .bind(member_id)
            .bind(org_id)
            .execute(&mut *conn)
            .await?;
        ended.push(serde_json::json!({"org_id": org_id, "org": org, "post": post}));
    }
    Ok(ended)
}

pub async fn create(state: &AppState, user: &CurrentUser, input: MemberInput) -> AppResult<i64> {
    user.require(user.is_registry_admin())?;
    let mut errors = match validate(&input, crate::clock::today()) {
        Ok(_) => FieldErrors::new(),
        Err(e) => e,
    };
    let unit_id = check_placement(
        state,
        &user.scope(),
        input.branch_id,
        input.group_id,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let v = validate(&input, crate::clock::today()).map_err(AppError::fields)?;
    let mut tx = state.db.begin_write().await?;
    let id = insert(
        tx.conn(),
        &state.keys,
        &v,
        unit_id,
        input.branch_id,
        input.group_id,
    )
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "member.create",
            "member",
            id,
            format!("新增党员 {}", v.name),
        )
        .after(&v.masked_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The columns insert and update write from a validated member, in the order
/// `bind_fields!` binds them.
const FIELD_COLUMNS: [&str; 17] = [
    "name",
    "name_initials",
    "gender",
    "ethnicity",
    "birth_date",
    "id_number",
    "id_suffix",
    "phone",
    "education",
    "joined_on",
    "kind",
    "converted_on",
    "position",
    "is_division_head",
    "status",
    "id_hash",
    "status_on",
];

/// Binds a validated member's fields (ID number and phone sealed) in `FIELD_COLUMNS` order.
macro_rules! bind_fields {
    ($q:expr, $v:expr, $sealed:expr) => {
        $q.bind($v.name.clone())
            .bind($v.name_initials.clone())
            .bind($v.gender.clone())
            .bind($v.ethnicity.clone())
            .bind(format_date($v.birth_date))
            .bind($sealed.id_number)
            .bind($sealed.id_suffix)
            .bind($sealed.phone)
            .bind($v.education.clone())
            .bind($v.joined_on.map(format_date))
            .bind($v.kind.as_str())
            .bind($v.converted_on.map(format_date))
            .bind($v.position.clone())
            .bind(i64::from($v.is_division_head))
            .bind($v.status.as_str())
            .bind($sealed.id_hash)
            .bind($v.status_on.map(format_date))
    };
}

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    keys: &KeyRing,
    v: &ValidMember,
    unit_id: i64,
    branch_id: i64,
    group_id: Option<i64>,
) -> AppResult<i64> {
    let t = now();
    let sealed = keys.seal_member(v.id_number.as_str(), &v.phone)?;
    let sql = format!(
        "insert into member (unit_id, branch_id, group_id, created_at, updated_at, {}) values ({}) returning member_id",
        FIELD_COLUMNS.join(", "),
        crate::db::placeholders(1, 5 + FIELD_COLUMNS.len())
    );
    let q = sqlx::query_scalar(&sql)
        .bind(unit_id)
        .bind(branch_id)
        .bind(group_id)
        .bind(t)
        .bind(t);
    bind_fields!(q, v, sealed)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| crate::error::on_unique(e, "id_number", "该身份证号已登记"))
}

/// Updates a member's own fields; moving to another branch is a transfer, not an edit.
pub async fn update(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: MemberInput,
) -> AppResult<()> {
    user.require(user.is_registry_admin())?;
    let before = get_member_in(state, &user.registry_scope(), id).await?;
    let mut errors = match validate(&input, crate::clock::today()) {
        Ok(_) => FieldErrors::new(),
        Err(e) => e,
    };
    check_placement(
        state,
        &user.registry_scope(),
        before.branch_id,
        input.group_id,
        &mut errors,
    )
    .await?;
    if input.branch_id != before.branch_id {
        errors.insert(
            "branch_id".into(),
            "调整所在党支部请使用“组织关系转接”".into(),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let v = validate(&input, crate::clock::today()).map_err(AppError::fields)?;
    let sealed = state.keys.seal_member(v.id_number.as_str(), &v.phone)?;
    let mut tx = state.db.begin_write().await?;
    let sets: Vec<String> = FIELD_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 3))
        .collect();
    let sql = format!(
        "update member set group_id = $1, updated_at = $2, {} where member_id = ${}",
        sets.join(", "),
        FIELD_COLUMNS.len() + 3
    );
    let q = sqlx::query(&sql).bind(input.group_id).bind(now());
    bind_fields!(q, v, sealed)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(|e| crate::error::on_unique(e, "id_number", "该身份证号已登记"))?;
    // Leaving the register (转出, 去世, 出党) ends every post the member held.
    let ended = if v.status != MemberStatus::Active {
        end_posts(tx.conn(), id, None).await?
    } else {
        Vec::new()
    };
    if !ended.is_empty() {
        tx.audit(
            &user.actor(),
            Entry::new(
                "org.officer_end",
                "member",
                id,
                format!("{}{}，所任职务随之终止", v.name, v.status.label()),
            )
            .after(&ended),
        )
        .await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "member.update",
            "member",
            id,
            format!("修改党员 {} 的信息", v.name),
        )
        .before(&before.masked())
        .after(&v.masked_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TransferInput {
    pub to_branch_id: i64,
    #[schema(format = Date)]
    pub transferred_on: Option<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Transfer {
    pub from_branch: String,
    pub to_branch: String,
    pub transferred_on: String,
    pub reason: String,
}

pub async fn transfers(state: &AppState, member_id: i64) -> AppResult<Vec<Transfer>> {
    Ok(sqlx::query_as(
        "select f.name as from_branch, t.name as to_branch, x.transferred_on, x.reason from member_transfer x \
         join org f on f.org_id = x.from_branch_id join org t on t.org_id = x.to_branch_id where x.member_id = $1 \
         order by x.transferred_on desc, x.member_transfer_id desc",
    )
    .bind(member_id)
    .fetch_all(&state.db.pool)
    .await?)
}

/// Moves a member to another branch, keeping the history.
pub async fn transfer(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: TransferInput,
) -> AppResult<()> {
    user.require(user.is_registry_admin())?;
    let m = get_member_in(state, &user.registry_scope(), id).await?;
    let mut errors = FieldErrors::new();
    if m.status != MemberStatus::Active {
        errors.insert("member".into(), "只有在册党员可以转接组织关系".into());
    }
    let unit_id = check_placement(
        state,
        &user.registry_scope(),
        input.to_branch_id,
        None,
        &mut errors,
    )
    .await?;
    if input.to_branch_id == m.branch_id {
        errors.insert(
            "to_branch_id".into(),
            "转入党支部与当前所在党支部相同".into(),
        );
    }
    let on = crate::org::opt_date(&input.transferred_on, "transferred_on", &mut errors)
        .unwrap_or_else(crate::clock::today);
    if on > crate::clock::today() {
        errors.insert("transferred_on".into(), "转接日期不能晚于今天".into());
    }
    let on = format_date(on);
    let reason = clean_text(&input.reason);
    if reason.chars().count() > 200 {
        errors.insert("reason".into(), "转接原因不超过200字".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update member set branch_id = $1, unit_id = $2, group_id = null, updated_at = $3 where member_id = $4")
        .bind(input.to_branch_id)
        .bind(unit_id)
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "insert into member_transfer (member_id, from_branch_id, to_branch_id, transferred_on, reason, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(m.branch_id)
    .bind(input.to_branch_id)
    .bind(on.clone())
    .bind(reason.clone())
    .bind(user.user_id)
    .bind(now())
    .execute(tx.conn())
    .await?;
    // Posts belong to the committees of the orgs the member leaves; one above the new
    // branch (the unit's 党委 within the same unit) stays.
    let ended = end_posts(tx.conn(), id, Some(input.to_branch_id)).await?;
    tx.audit(&user.actor(),
        Entry::new("member.transfer", "member", id, format!("{} 转接组织关系", m.name))
            .before(&serde_json::json!({"branch_id": m.branch_id, "branch": m.branch_name}))
            .after(&serde_json::json!({"branch_id": input.to_branch_id, "transferred_on": on, "reason": reason, "ended_posts": ended})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub const EXPORT_HEADERS: [&str; 18] = [
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "身份证号",
    "手机号",
    "学历",
    "入党日期",
    "党员类别",
    "转正日期",
    "职务",
    "是否处室负责人",
    "状态",
    "状态变更日期",
    "机关党组织",
    "党支部",
    "党小组",
    "编号",
];

/// Dates as date cells (a masked birth date stays text), ID numbers and phones as text,
/// the member's number as a number.
pub(super) fn export_rows(rows: Vec<Member>) -> Vec<Vec<Cell>> {
    let date = |d: &Option<String>| Cell::date_or_text(d.as_deref().unwrap_or(""));
    rows.into_iter()
        .map(|m| {
            vec![
                Cell::text(&m.name),
                Cell::text(&m.gender),
                Cell::text(&m.ethnicity),
                date(&m.birth_date),
                Cell::text(&m.id_number),
                Cell::text(&m.phone),
                Cell::text(&m.education),
                date(&m.joined_on),
                Cell::text(m.kind_label()),
                date(&m.converted_on),
                Cell::text(&m.position),
                Cell::text(if m.is_division_head != 0 {
                    "是"
                } else {
                    "否"
                }),
                Cell::text(m.status_label()),
                date(&m.status_on),
                Cell::text(&m.unit_name),
                Cell::text(&m.branch_name),
                Cell::text(m.group_name.as_deref().unwrap_or("")),
                Cell::Int(m.member_id),
            ]
        })
        .collect()
}

/// The filtered list as .xlsx; masked unless `unmasked` and the role may, which is audited.
pub async fn export(
    state: &AppState,
    user: &CurrentUser,
    f: &MemberFilter,
    unmasked: bool,
) -> AppResult<Vec<u8>> {
    let unmasked = unmasked && user.may_unmask();
    let (rows, total) = if unmasked {
        // Unmasked, only the members where the registry powers apply.
        user.require(may_list(user))?;
        list_in(state, &user.registry_scope(), f, true).await?
    } else {
        let (rows, total) = list(state, user, f, true).await?;
        (rows.into_iter().map(Member::masked).collect(), total)
    };
    audit::record_alone(
        &state.db,
        &user.actor(),
        Entry::new(
            "member.export",
            "member",
            "",
            format!(
                "导出党员名册 {total} 人{}（条件：{}）",
                if unmasked {
                    "，含完整身份证号和手机号"
                } else {
                    ""
                },
                f.audit_query_string()
            ),
        ),
    )
    .await?;
    crate::xlsx::write_table("党员", &EXPORT_HEADERS, &export_rows(rows))
}

/// Every member for `yaoshi export members`: masked unless `unmasked`, which is audited.
pub async fn export_all(state: &AppState, unmasked: bool) -> AppResult<Vec<u8>> {
    let f = MemberFilter {
        status: Some("all".into()),
        ..Default::default()
    };
    let (rows, total) = list_in(state, &Scope::everything(), &f, true).await?;
    let rows = if unmasked {
        rows
    } else {
        rows.into_iter().map(Member::masked).collect()
    };
    let actor = audit::Actor::cli();
    let summary = format!(
        "命令行导出全部党员 {total} 人{}",
        if unmasked {
            "，含完整身份证号和手机号"
        } else {
            ""
        }
    );
    audit::record_alone(
        &state.db,
        &actor,
        Entry::new("member.export", "member", "", summary),
    )
    .await?;
    crate::xlsx::write_table("党员", &EXPORT_HEADERS, &export_rows(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_reads_the_select_list_in_order() {
        let names: Vec<&str> = member_columns!()
            .trim_start_matches("select ")
            .split(',')
            .map(|c| c.trim().rsplit([' ', '.']).next().unwrap_or(""))
            .collect();
        assert_eq!(names, MEMBER_COLUMN_NAMES);
    }
}
