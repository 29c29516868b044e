//! Members (党员): the register, one branch at a time with transfer history;
//! ID numbers and phones masked unless a registry admin asks, which is audited.
//!
//! ID numbers and phones are stored encrypted (`crate::crypto`): every row read here is
//! opened (`Member::opened`) right after the query — only the rows of the page asked for;
//! the list page, which shows no phone, decrypts only the ID numbers — and every write
//! seals them with `KeyRing::seal_member`. The full ID number is found by its
//! blind index `id_hash`, the last four by the keyed `id_suffix`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::idnumber::{mask_id_number, mask_phone, IdNumber};
use crate::audit::{self, Entry};
use crate::auth::{CurrentUser, Role, Scope};
use crate::clock::now;
use crate::crypto::{Field, KeyRing};
use crate::db::{Backend, Sql};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::messages::{member_kind_label, member_status_label};
use crate::state::AppState;
use crate::text::{clean_text, format_date, name_initials, normalize_phone, parse_date};
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

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
    /// full | probationary
    pub kind: String,
    pub converted_on: Option<String>,
    pub position: String,
    pub is_division_head: i64,
    /// active | transferred_out | deceased | left
    pub status: String,
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
    fn opened_for_list(mut self, keys: &KeyRing) -> AppResult<Member> {
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
        member_kind_label(&self.kind)
    }
    pub fn status_label(&self) -> &'static str {
        member_status_label(&self.status)
    }
}

macro_rules! member_columns {
    () => {
        "select m.member_id, m.unit_id, u.name as unit_name, m.branch_id, b.name as branch_name, m.group_id, \
         g.name as group_name, m.name, m.gender, m.ethnicity, m.birth_date, m.id_number, m.phone, m.education, m.joined_on, m.kind, \
         m.converted_on, m.position, m.is_division_head, m.status"
    };
}
macro_rules! member_from {
    () => {
        " from member m join unit u on u.unit_id = m.unit_id join org b on b.org_id = m.branch_id \
         left join org g on g.org_id = m.group_id where "
    };
}
const MEMBER_SELECT: &str = concat!(member_columns!(), member_from!());

/// The columns of `member_columns!`, in order: the SQLite fast path reads them by position.
const MEMBER_COLUMN_NAMES: [&str; 20] = [
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
            kind: r.get(15)?,
            converted_on: r.get(16)?,
            position: r.get(17)?,
            is_division_head: r.get(18)?,
            status: r.get(19)?,
        })
    }
}

#[derive(Debug, Deserialize, Default, Clone, IntoParams)]
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
    /// name | joined_on | birth_date | branch (default)
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn num(v: &Option<String>) -> Option<i64> {
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
        if let Some(k) = self
            .kind
            .as_deref()
            .filter(|k| matches!(*k, "full" | "probationary"))
        {
            sql.push(" and m.kind = ").bind(k);
        }
        match self.status.as_deref().unwrap_or("active") {
            "all" => {}
            s if crate::messages::MEMBER_STATUSES
                .iter()
                .any(|(k, _)| *k == s) =>
            {
                sql.push(" and m.status = ").bind(s);
            }
            _ => {
                sql.push(" and m.status = 'active'");
            }
        }
        if self.division_head.as_deref() == Some("1") {
            sql.push(" and m.is_division_head = 1");
        }
    }
}

fn may_list(user: &CurrentUser) -> bool {
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
async fn list_stored(
    state: &AppState,
    scope: &Scope,
    f: &MemberFilter,
    all: bool,
) -> AppResult<(Vec<Member>, i64)> {
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
    // The total rides along as an uncorrelated subquery (evaluated once): one round
    // trip to the database instead of two.
    let mut sql = Sql::new(concat!(
        member_columns!(),
        ", (select count(*) from member m where "
    ));
    scope.member_condition(&mut sql);
    f.apply(&mut sql, state.db.backend, &state.keys);
    sql.push(") as total_count").push(member_from!());
    scope.member_condition(&mut sql);
    f.apply(&mut sql, state.db.backend, &state.keys);
    sql.push(order);
    let p = f.paging();
    sql.push(" limit ")
        .bind(p.per_page())
        .push(" offset ")
        .bind(p.offset());
    let rows: Vec<Counted> = sql.fetch_page(&state.db).await?;
    let total = match rows.first() {
        Some(r) => r.total_count,
        // Past the last page no row carries the total.
        None if p.page() > 1 => {
            let mut count = Sql::new("select count(*) from member m where ");
            scope.member_condition(&mut count);
            f.apply(&mut count, state.db.backend, &state.keys);
            count.fetch_scalar(&state.db.pool).await?
        }
        None => 0,
    };
    Ok((rows.into_iter().map(|r| r.member).collect(), total))
}

#[derive(sqlx::FromRow)]
struct Counted {
    #[sqlx(flatten)]
    member: Member,
    total_count: i64,
}

impl crate::db::FromSqlite for Counted {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Counted {
            member: Member::from_sqlite(r)?,
            total_count: r.get(MEMBER_COLUMN_NAMES.len())?,
        })
    }
}

/// One member in the caller's scope (members see themselves), masked.
pub async fn get_member(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Member> {
    get_member_in(state, &user.scope(), id).await
}

async fn get_member_in(state: &AppState, scope: &Scope, id: i64) -> AppResult<Member> {
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

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone, Default)]
pub struct MemberInput {
    pub name: String,
    /// 男 | 女; derived from the ID number when empty.
    #[serde(default)]
    #[schema(schema_with = crate::org::schema::gender)]
    pub gender: String,
    #[serde(default)]
    pub ethnicity: String,
    /// Derived from the ID number when empty.
    #[serde(default)]
    #[schema(format = Date)]
    pub birth_date: Option<String>,
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub education: String,
    #[schema(format = Date)]
    pub joined_on: Option<String>,
    /// full | probationary (正式/预备 accepted)
    #[schema(schema_with = crate::org::schema::member_kind)]
    pub kind: String,
    #[serde(default)]
    #[schema(format = Date)]
    pub converted_on: Option<String>,
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub is_division_head: bool,
    /// active | transferred_out | deceased | left (defaults to active)
    #[serde(default)]
    #[schema(schema_with = crate::org::schema::member_status)]
    pub status: String,
    pub branch_id: i64,
    #[serde(default)]
    pub group_id: Option<i64>,
}

/// A member record that passed every check that needs no database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidMember {
    pub name: String,
    pub name_initials: String,
    pub gender: String,
    pub ethnicity: String,
    pub birth_date: String,
    pub id_number: String,
    pub id_suffix: String,
    pub phone: String,
    pub education: String,
    pub joined_on: Option<String>,
    pub kind: String,
    pub converted_on: Option<String>,
    pub position: String,
    pub is_division_head: bool,
    pub status: String,
}

/// Pure: validates and normalises a member's fields against `today`.
pub fn validate(input: &MemberInput, today: time::Date) -> Result<ValidMember, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = clean_text(&input.name);
    if name.is_empty() {
        e.insert("name".into(), "请填写姓名".into());
    } else if name.chars().count() > 30 {
        e.insert("name".into(), "姓名不超过30字".into());
    }
    let id = match IdNumber::parse(&input.id_number) {
        Ok(id) => Some(id),
        Err(err) => {
            e.insert("id_number".into(), err.to_string());
            None
        }
    };
    let gender = match clean_text(&input.gender).as_str() {
        "" => id
            .as_ref()
            .map(|i| i.gender().label().to_string())
            .unwrap_or_default(),
        g => match crate::messages::gender_parse(g) {
            Some(g) => g.to_string(),
            None => {
                e.insert("gender".into(), "性别应为“男”或“女”".into());
                String::new()
            }
        },
    };
    if let Some(id) = &id {
        if !gender.is_empty() && gender != id.gender().label() {
            e.insert("gender".into(), "性别与身份证号不符".into());
        }
    }
    let birth = match input
        .birth_date
        .as_deref()
        .map(clean_text)
        .filter(|s| !s.is_empty())
    {
        Some(s) => match parse_date(&s) {
            Ok(d) => {
                if let Some(id) = &id {
                    if id.birth_date() != d {
                        e.insert("birth_date".into(), "出生日期与身份证号不符".into());
                    }
                }
                Some(d)
            }
            Err(err) => {
                e.insert("birth_date".into(), err.to_string());
                None
            }
        },
        None => id.as_ref().map(IdNumber::birth_date),
    };
    let date_field =
        |raw: &Option<String>, field: &str, e: &mut FieldErrors| -> Option<time::Date> {
            let s = raw.as_deref().map(clean_text).filter(|s| !s.is_empty())?;
            match parse_date(&s) {
                Ok(d) if d > today => {
                    e.insert(field.into(), "日期不能晚于今天".into());
                    None
                }
                Ok(d) => Some(d),
                Err(err) => {
                    e.insert(field.into(), err.to_string());
                    None
                }
            }
        };
    let joined = date_field(&input.joined_on, "joined_on", &mut e);
    let converted = date_field(&input.converted_on, "converted_on", &mut e);
    if let (Some(b), Some(j)) = (birth, joined) {
        let adult = b
            .replace_year(b.year() + 18)
            .unwrap_or_else(|_| b.saturating_add(time::Duration::days(18 * 365 + 5)));
        if j < adult {
            e.insert(
                "joined_on".into(),
                "入党时应年满18周岁，请核对入党日期".into(),
            );
        }
    }
    let kind = match crate::messages::member_kind_parse(&input.kind) {
        Some(k) => k.to_string(),
        None => {
            e.insert("kind".into(), "党员类别应为“正式党员”或“预备党员”".into());
            String::new()
        }
    };
    if kind == "probationary" && converted.is_some() {
        e.insert(
            "converted_on".into(),
            "预备党员没有转正日期；已转正的请选择“正式党员”".into(),
        );
    }
    if let (Some(j), Some(c)) = (joined, converted) {
        if c <= j {
            e.insert("converted_on".into(), "转正日期应晚于入党日期".into());
        }
    }
    let phone = match normalize_phone(&input.phone) {
        Ok(p) => p,
        Err(m) => {
            e.insert("phone".into(), m);
            String::new()
        }
    };
    let status = match crate::messages::member_status_parse(&input.status) {
        Some(s) => s.to_string(),
        None => {
            e.insert(
                "status".into(),
                "状态应为在册、已转出、已去世或已出党".into(),
            );
            String::new()
        }
    };
    let ethnicity = match clean_text(&input.ethnicity) {
        s if s.is_empty() => "汉族".to_string(),
        s if s.chars().count() > 10 => {
            e.insert("ethnicity".into(), "民族不超过10字".into());
            s
        }
        s if !s.ends_with('族') => format!("{s}族"),
        s => s,
    };
    let education = clean_text(&input.education);
    if education.chars().count() > 20 {
        e.insert("education".into(), "学历不超过20字".into());
    }
    let position = clean_text(&input.position);
    if position.chars().count() > 40 {
        e.insert("position".into(), "职务不超过40字".into());
    }
    if !e.is_empty() {
        return Err(e);
    }
    let id = id.ok_or_else(FieldErrors::new)?;
    Ok(ValidMember {
        name_initials: name_initials(&name),
        name,
        gender,
        ethnicity,
        birth_date: birth.map(format_date).unwrap_or_default(),
        id_suffix: id.suffix().to_string(),
        id_number: id.as_str().to_string(),
        phone,
        education,
        joined_on: joined.map(format_date),
        kind,
        converted_on: converted.map(format_date),
        position,
        is_division_head: input.is_division_head,
        status,
    })
}

/// The branch (and group) a member is placed in must exist, be in the caller's reach,
/// and the group must belong to the branch. Returns the branch's unit.
async fn check_placement(
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
    let unit_id = match row {
        Some((u, k)) if k == "branch" && (scope.all || scope.units.contains(&u)) => u,
        Some((_, k)) if k != "branch" => {
            e.insert(
                "branch_id".into(),
                "党员须编入党支部（不能直接编入党委、党总支或党小组）".into(),
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
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "member.create",
            "member",
            id,
            format!("新增党员 {}", v.name),
        )
        .after(&masked_json(&v)),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The audit log keeps personal data masked too.
fn masked_json(v: &ValidMember) -> serde_json::Value {
    let mut m = v.clone();
    m.id_number = mask_id_number(&m.id_number);
    m.phone = mask_phone(&m.phone);
    serde_json::to_value(m).unwrap_or_default()
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
    let sealed = keys.seal_member(&v.id_number, &v.phone)?;
    sqlx::query_scalar(
        "insert into member (unit_id, branch_id, group_id, name, name_initials, gender, ethnicity, birth_date, id_number, id_suffix, \
         phone, education, joined_on, kind, converted_on, position, is_division_head, status, created_at, updated_at, id_hash) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) returning member_id",
    )
    .bind(unit_id)
    .bind(branch_id)
    .bind(group_id)
    .bind(v.name.clone())
    .bind(v.name_initials.clone())
    .bind(v.gender.clone())
    .bind(v.ethnicity.clone())
    .bind(Some(v.birth_date.clone()).filter(|s| !s.is_empty()))
    .bind(sealed.id_number)
    .bind(sealed.id_suffix)
    .bind(sealed.phone)
    .bind(v.education.clone())
    .bind(v.joined_on.clone())
    .bind(v.kind.clone())
    .bind(v.converted_on.clone())
    .bind(v.position.clone())
    .bind(i64::from(v.is_division_head))
    .bind(v.status.clone())
    .bind(t)
    .bind(t)
    .bind(sealed.id_hash)
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
    let sealed = state.keys.seal_member(&v.id_number, &v.phone)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update member set group_id = $1, name = $2, name_initials = $3, gender = $4, ethnicity = $5, birth_date = $6, id_number = $7, \
         id_suffix = $8, phone = $9, education = $10, joined_on = $11, kind = $12, converted_on = $13, position = $14, is_division_head = $15, \
         status = $16, updated_at = $17, id_hash = $18 where member_id = $19",
    )
    .bind(input.group_id)
    .bind(v.name.clone())
    .bind(v.name_initials.clone())
    .bind(v.gender.clone())
    .bind(v.ethnicity.clone())
    .bind(Some(v.birth_date.clone()).filter(|s| !s.is_empty()))
    .bind(sealed.id_number)
    .bind(sealed.id_suffix)
    .bind(sealed.phone)
    .bind(v.education.clone())
    .bind(v.joined_on.clone())
    .bind(v.kind.clone())
    .bind(v.converted_on.clone())
    .bind(v.position.clone())
    .bind(i64::from(v.is_division_head))
    .bind(v.status.clone())
    .bind(now())
    .bind(sealed.id_hash)
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(|e| crate::error::on_unique(e, "id_number", "该身份证号已登记"))?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new(
            "member.update",
            "member",
            id,
            format!("修改党员 {} 的信息", v.name),
        )
        .before(&before.masked())
        .after(&masked_json(&v)),
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
    if m.status != "active" {
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
    let on = super::opt_date(&input.transferred_on, "transferred_on", &mut errors)
        .unwrap_or_else(|| format_date(crate::clock::today()));
    if on > format_date(crate::clock::today()) {
        errors.insert("transferred_on".into(), "转接日期不能晚于今天".into());
    }
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
    // Officer posts belong to the old branch's committee.
    sqlx::query("delete from org_officer where member_id = $1 and org_id = $2")
        .bind(id)
        .bind(m.branch_id)
        .execute(tx.conn())
        .await?;
    audit::record(
        tx.conn(),
        state.db.backend,
        &user.actor(),
        Entry::new("member.transfer", "member", id, format!("{} 转接组织关系", m.name))
            .before(&serde_json::json!({"branch_id": m.branch_id, "branch": m.branch_name}))
            .after(&serde_json::json!({"branch_id": input.to_branch_id, "transferred_on": on, "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub const EXPORT_HEADERS: [&str; 17] = [
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
    "机关党组织",
    "党支部",
    "党小组",
    "编号",
];

fn export_rows(rows: Vec<Member>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|m| {
            vec![
                m.name.clone(),
                m.gender.clone(),
                m.ethnicity.clone(),
                m.birth_date.clone().unwrap_or_default(),
                m.id_number.clone(),
                m.phone.clone(),
                m.education.clone(),
                m.joined_on.clone().unwrap_or_default(),
                m.kind_label().to_string(),
                m.converted_on.clone().unwrap_or_default(),
                m.position.clone(),
                if m.is_division_head != 0 {
                    "是"
                } else {
                    "否"
                }
                .to_string(),
                m.status_label().to_string(),
                m.unit_name.clone(),
                m.branch_name.clone(),
                m.group_name.clone().unwrap_or_default(),
                m.member_id.to_string(),
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
    crate::xlsx::write_sheet("党员", &EXPORT_HEADERS, &export_rows(rows))
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
    crate::xlsx::write_sheet("党员", &EXPORT_HEADERS, &export_rows(rows))
}

// ---- pages ----

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/org/members", get(list_page).post(create_page))
        .route("/org/members/export", get(export_page))
        .route("/org/members/new", get(new_page))
        .route("/org/members/{id}", get(detail_page).post(update_page))
        .route("/org/members/{id}/unmask", post(unmask_page))
        .route("/org/members/{id}/transfer", post(transfer_page))
        .route("/me", get(me_page))
}

#[derive(Template)]
#[template(path = "org/members.html")]
struct MembersPage {
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
struct MembersTable<'a> {
    page: &'a MembersPage,
}

async fn branch_options(
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

async fn unit_options(state: &AppState, user: &CurrentUser) -> AppResult<Vec<(i64, String)>> {
    if !user.is_registry_admin() {
        return Ok(Vec::new());
    }
    if !user.is_committee() {
        // A unit admin's units and their names come with the grants.
        return Ok(user
            .grants
            .iter()
            .filter(|g| g.role == Role::Unit)
            .filter_map(|g| Some((g.unit_id?, g.scope_name.clone())))
            .collect());
    }
    let mut sql = Sql::new("select u.unit_id, u.name from unit u where ");
    user.scope().unit_condition(&mut sql);
    sql.push(" order by u.sort_order, u.unit_id");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

async fn list_page(
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
            unit_options(&state, &user).await?
        },
        branches: if fragment {
            Vec::new()
        } else {
            branch_options(&state, &user, num(&f.unit_id)).await?
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
struct ExportQuery {
    #[serde(flatten)]
    f: MemberFilter,
    unmasked: Option<String>,
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let bytes = export(&state, &user, &q.f, q.unmasked.as_deref() == Some("1")).await?;
    Ok(crate::xlsx::download("党员名册.xlsx", bytes))
}

#[derive(Template)]
#[template(path = "org/member_form.html")]
struct MemberForm {
    ctx: PageCtx,
    action: String,
    member_id: Option<i64>,
    v: MemberInput,
    branches: Vec<(i64, String)>,
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
    fn statuses(&self) -> [(&'static str, &'static str); 4] {
        crate::messages::MEMBER_STATUSES
    }
}

#[derive(Deserialize)]
struct NewQuery {
    org_id: Option<i64>,
}

/// The groups of a branch in `scope` (none for a branch outside it).
async fn groups_of(
    state: &AppState,
    scope: &Scope,
    branch_id: i64,
) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new("select o.org_id, o.name from org o where o.parent_id = ");
    sql.bind(branch_id).push(" and o.kind = 'group' and ");
    scope.org_condition(&mut sql);
    sql.push(" order by o.sort_order, o.org_id");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

async fn all_branch_options(state: &AppState, user: &CurrentUser) -> AppResult<Vec<(i64, String)>> {
    let mut sql = Sql::new("select o.org_id, u.name || ' · ' || o.name from org o join unit u on u.unit_id = o.unit_id where o.kind = 'branch' and ");
    user.scope().org_condition(&mut sql);
    sql.push(" order by u.sort_order, o.unit_id, o.sort_order, o.org_id limit 3000");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

async fn new_page(
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
        branches: all_branch_options(&state, &user).await?,
        groups: if branch_id > 0 {
            groups_of(&state, &user.registry_scope(), branch_id).await?
        } else {
            Vec::new()
        },
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize)]
struct MemberFormData {
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
            branch_id: self.branch_id.trim().parse().unwrap_or(0),
            group_id: self.group_id.trim().parse().ok(),
        }
    }
}

async fn form_error(
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
        groups_of(state, &user.registry_scope(), v.branch_id).await?
    } else {
        Vec::new()
    };
    let mut r = web::render(&MemberForm {
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
        branches: all_branch_options(state, user).await?,
        groups,
        v,
        errors,
    })?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

async fn create_page(
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

async fn update_page(
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
struct MemberDetail {
    ctx: PageCtx,
    m: Member,
    unmasked: bool,
    can_edit: bool,
    can_unmask: bool,
    transfers: Vec<Transfer>,
    branches: Vec<(i64, String)>,
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
    fn statuses(&self) -> [(&'static str, &'static str); 4] {
        crate::messages::MEMBER_STATUSES
    }
}

fn input_of(m: &Member) -> MemberInput {
    MemberInput {
        name: m.name.clone(),
        gender: m.gender.clone(),
        ethnicity: m.ethnicity.clone(),
        birth_date: m.birth_date.clone(),
        id_number: m.id_number.clone(),
        phone: m.phone.clone(),
        education: m.education.clone(),
        joined_on: m.joined_on.clone(),
        kind: m.kind.clone(),
        converted_on: m.converted_on.clone(),
        position: m.position.clone(),
        is_division_head: m.is_division_head != 0,
        status: m.status.clone(),
        branch_id: m.branch_id,
        group_id: m.group_id,
    }
}

async fn detail(
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
        branches: if can_edit {
            all_branch_options(state, user).await?
        } else {
            Vec::new()
        },
        groups: groups_of(state, &user.scope(), m.branch_id).await?,
        can_unmask: user.may_unmask(),
        can_edit,
        unmasked,
        errors,
        form: input_of(&m),
        m,
    })
}

async fn detail_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = get_member(&state, &user, id).await?;
    detail(&state, &user, m, false, flash, FieldErrors::new()).await
}

async fn unmask_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = unmask(&state, &user, id).await?;
    let mut r = detail(&state, &user, m, true, FlashIn(None), FieldErrors::new()).await?;
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

#[derive(Deserialize)]
struct TransferForm {
    to_branch_id: String,
    #[serde(default)]
    transferred_on: String,
    #[serde(default)]
    reason: String,
}

async fn transfer_page(
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
            let mut r = detail(&state, &user, m, false, FlashIn(None), fields).await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn me_page(
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

// ---- API ----

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_update))
        .routes(routes!(api_transfer))
        .routes(routes!(api_transfers))
        .routes(routes!(api_export))
}

/// The filtered member list as .xlsx; `unmasked=1` (registry admins, audited) for full ID numbers.
#[utoipa::path(get, path = "/members/export", tag = "org", params(MemberFilter, ("unmasked" = Option<String>, Query)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 403, body = crate::error::ErrorBody)))]
async fn api_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    export_page(State(state), user, Query(q)).await
}

#[derive(Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<Member>,
    pub total: i64,
}

/// Members in the caller's scope, masked.
#[utoipa::path(get, path = "/members", tag = "org", params(MemberFilter), responses((status = 200, body = MemberPage), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<MemberFilter>,
) -> AppResult<Json<MemberPage>> {
    let (items, total) = list(&state, &user, &f, false).await?;
    Ok(Json(MemberPage {
        items: items.into_iter().map(Member::masked).collect(),
        total,
    }))
}

/// Register a member.
#[utoipa::path(post, path = "/members", tag = "org", request_body = MemberInput, responses((status = 201, body = i64), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(input): Json<MemberInput>,
) -> AppResult<(StatusCode, Json<i64>)> {
    Ok((
        StatusCode::CREATED,
        Json(create(&state, &user, input).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct GetQuery {
    /// true: full ID number and phone (registry admins only; audited).
    pub unmask: Option<bool>,
}

/// One member; masked unless `unmask=true`.
#[utoipa::path(get, path = "/members/{id}", tag = "org", params(("id" = i64, Path), GetQuery), responses((status = 200, body = Member), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<GetQuery>,
) -> AppResult<Json<Member>> {
    if q.unmask == Some(true) {
        return Ok(Json(unmask(&state, &user, id).await?));
    }
    Ok(Json(get_member(&state, &user, id).await?.masked()))
}

/// Update a member's fields (not the branch: see transfer).
#[utoipa::path(put, path = "/members/{id}", tag = "org", params(("id" = i64, Path)), request_body = MemberInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<MemberInput>,
) -> AppResult<StatusCode> {
    update(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Transfer a member to another branch.
#[utoipa::path(post, path = "/members/{id}/transfer", tag = "org", params(("id" = i64, Path)), request_body = TransferInput, responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn api_transfer(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(input): Json<TransferInput>,
) -> AppResult<StatusCode> {
    transfer(&state, &user, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's transfer history.
#[utoipa::path(get, path = "/members/{id}/transfers", tag = "org", params(("id" = i64, Path)), responses((status = 200, body = Vec<Transfer>)))]
async fn api_transfers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Transfer>>> {
    get_member(&state, &user, id).await?;
    Ok(Json(transfers(&state, id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn fast_path_reads_the_select_list_in_order() {
        let names: Vec<&str> = member_columns!()
            .trim_start_matches("select ")
            .split(',')
            .map(|c| c.trim().rsplit([' ', '.']).next().unwrap_or(""))
            .collect();
        assert_eq!(names, MEMBER_COLUMN_NAMES);
    }

    fn input() -> MemberInput {
        MemberInput {
            name: " 张 三 ".into(),
            id_number: "11010519491231002x".into(),
            joined_on: Some("1975年7月1日".into()),
            kind: "正式".into(),
            converted_on: Some("1976-07-01".into()),
            branch_id: 1,
            ..Default::default()
        }
    }

    #[test]
    fn every_value_the_api_document_lists_validates() {
        use crate::apidoc::values;
        use crate::org::schema;
        let today = date!(2026 - 11 - 26);
        for kind in values(schema::member_kind()) {
            let mut i = input();
            if kind == "probationary" {
                i.joined_on = Some("2026-01-01".into());
                i.converted_on = None;
            }
            i.kind = kind.clone();
            assert_eq!(validate(&i, today).expect("valid").kind, kind);
        }
        for status in values(schema::member_status()) {
            let mut i = input();
            i.status = status.clone();
            assert_eq!(validate(&i, today).expect("valid").status, status);
        }
        for gender in values(schema::gender()) {
            let mut i = input();
            i.gender = gender;
            // The ID number is a woman's: "女" or empty (derived) are both valid.
            if i.gender != "男" {
                assert_eq!(validate(&i, today).expect("valid").gender, "女");
            }
        }
    }

    #[test]
    fn derives_gender_and_birth_from_id() {
        let v = validate(&input(), date!(2026 - 11 - 26)).expect("valid");
        assert_eq!(v.gender, "女");
        assert_eq!(v.birth_date, "1949-12-31");
        assert_eq!(v.id_number, "11010519491231002X");
        assert_eq!(v.id_suffix, "002X");
        assert_eq!(v.kind, "full");
        assert_eq!(v.status, "active");
        assert_eq!(v.ethnicity, "汉族");
        assert_eq!(v.name, "张 三");
    }

    #[test]
    fn rejects_inconsistent_records() {
        let today = date!(2026 - 11 - 26);
        let mut i = input();
        i.gender = "男".into();
        i.joined_on = Some("1960-01-01".into());
        i.kind = "预备".into();
        i.phone = "12345".into();
        let e = validate(&i, today).expect_err("invalid");
        assert!(e.contains_key("gender"));
        assert!(e.contains_key("joined_on"));
        assert!(e.contains_key("converted_on"));
        assert!(e.contains_key("phone"));
        let mut i = input();
        i.joined_on = Some("2030-01-01".into());
        i.converted_on = None;
        assert!(validate(&i, today)
            .expect_err("future")
            .contains_key("joined_on"));
        let mut i = input();
        i.id_number = "110105194912310021".into();
        assert_eq!(
            validate(&i, today).expect_err("checksum")["id_number"],
            "身份证号校验位不正确"
        );
    }
}
