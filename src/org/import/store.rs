//! The imports' writes: members and orgs planned against what is registered, then written
//! all or nothing; the error report and the templates.

use super::rules::*;
use std::collections::HashMap;

use axum::extract::Multipart;
use axum::http::StatusCode;

use crate::audit::{Actor, Entry};
use crate::auth::Scope;
use crate::clock::now;
use crate::crypto::Field;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::org::members::{validate, MemberInput, ValidMember};
use crate::org::orgs::OrgKind;
use crate::state::AppState;
use crate::text::{clean_text, format_date, parse_bool_zh};
use crate::xlsx::Cell;

#[derive(sqlx::FromRow)]
pub(super) struct ExistingMember {
    member_id: i64,
    unit_id: i64,
    branch_id: i64,
    group_id: Option<i64>,
    name: String,
    gender: String,
    ethnicity: String,
    birth_date: Option<String>,
    /// The blind index of the ID number (matched on), and the phone as stored (encrypted).
    id_hash: Option<String>,
    phone: String,
    education: String,
    joined_on: Option<String>,
    kind: String,
    converted_on: Option<String>,
    position: String,
    is_division_head: i64,
    status: String,
    status_on: Option<String>,
}

impl ExistingMember {
    /// `phone` is this member's stored phone, decrypted.
    fn same_as(&self, v: &ValidMember, phone: &str, branch_id: i64, group_id: Option<i64>) -> bool {
        self.branch_id == branch_id
            && self.group_id == group_id
            && self.name == v.name
            && self.gender == v.gender
            && self.ethnicity == v.ethnicity
            && self.birth_date.as_deref() == Some(format_date(v.birth_date).as_str())
            && phone == v.phone
            && self.education == v.education
            && self.joined_on == v.joined_on.map(format_date)
            && self.kind == v.kind.as_str()
            && self.converted_on == v.converted_on.map(format_date)
            && self.position == v.position
            && (self.is_division_head != 0) == v.is_division_head
            && self.status == v.status.as_str()
            && self.status_on == v.status_on.map(format_date)
    }
}

pub(super) struct Planned {
    v: ValidMember,
    unit_id: i64,
    branch_id: i64,
    group_id: Option<i64>,
    existing: Option<i64>,
    /// The existing member's branch, when there is one.
    from_branch: Option<i64>,
}

/// Imports members within `scope`: all rows or none.
pub async fn import_members(
    state: &AppState,
    actor: &Actor,
    scope: &Scope,
    bytes: &[u8],
) -> AppResult<Outcome> {
    let rows = crate::xlsx::read_first_sheet(bytes)?;
    let (header_row, map) = header_map(&rows, &MEMBER_REQUIRED).map_err(AppError::invalid)?;
    // (unit name, branch name) → (unit_id, branch_id); (branch_id, group name) → group_id.
    let mut sql = Sql::new("select u.name, o.name, o.unit_id, o.org_id, o.kind, o.parent_id from org o join unit u on u.unit_id = o.unit_id where ");
    if scope.all {
        sql.push("1 = 1");
    } else {
        sql.push("o.unit_id in ").bind_list(&scope.units);
    }
    let orgs: Vec<(String, String, i64, i64, String, Option<i64>)> =
        sql.fetch_all(&state.db.pool).await?;
    let mut branches: HashMap<(String, String), (i64, i64)> = HashMap::new();
    let mut groups: HashMap<(i64, String), i64> = HashMap::new();
    // A 党委/党总支 named as the branch holds members awaiting a branch (待编入).
    let mut non_branch: HashMap<(String, String), (i64, i64)> = HashMap::new();
    for (unit, name, unit_id, org_id, kind, parent) in &orgs {
        match kind.as_str() {
            "branch" => {
                branches.insert((unit.clone(), name.clone()), (*unit_id, *org_id));
            }
            "group" => {
                if let Some(p) = parent {
                    groups.insert((*p, name.clone()), *org_id);
                }
            }
            _ => {
                non_branch.insert((unit.clone(), name.clone()), (*unit_id, *org_id));
            }
        }
    }
    let existing: Vec<ExistingMember> = sqlx::query_as(
        "select member_id, unit_id, branch_id, group_id, name, gender, ethnicity, birth_date, id_hash, phone, education, joined_on, kind, \
         converted_on, position, is_division_head, status, status_on from member",
    )
    .fetch_all(&state.db.pool)
    .await?;
    // Matched by the blind index: no ID number is decrypted, and a phone only for a match.
    let existing: HashMap<String, ExistingMember> = existing
        .into_iter()
        .filter_map(|m| Some((m.id_hash.clone()?, m)))
        .collect();
    let today = crate::clock::today();
    let mut errors = Vec::new();
    let mut planned = Vec::new();
    let mut seen: HashMap<crate::org::idnumber::IdNumber, usize> = HashMap::new();
    let mut data_rows = 0;
    for (i, row) in rows.iter().enumerate().skip(header_row + 1) {
        let excel_row = i + 1;
        if row.iter().all(|c| clean_text(c).is_empty()) {
            continue;
        }
        data_rows += 1;
        let s = Sheet { row, map: &map };
        let mut err = |column: &str, message: String| {
            errors.push(RowError {
                row: excel_row,
                column: column.to_string(),
                message,
            })
        };
        for column in bidi_columns(row, &map) {
            err(column, crate::messages::BIDI_IN_CELL.into());
        }
        let unit = s.get("机关党组织");
        let branch = s.get("党支部");
        let placement = if unit.is_empty() || branch.is_empty() {
            err(
                if unit.is_empty() {
                    "机关党组织"
                } else {
                    "党支部"
                },
                "请填写所在机关党组织和党支部".into(),
            );
            None
        } else if let Some(p) = branches.get(&(unit.clone(), branch.clone())) {
            Some(*p)
        } else if let Some(p) = non_branch.get(&(unit.clone(), branch.clone())) {
            // Registered under the 党委/党总支 itself: awaiting a branch (待编入).
            Some(*p)
        } else {
            err(
                "党支部",
                format!(
                    "找不到“{unit}”下的党支部“{branch}”（或不在您的管理范围内），请先建立该党支部"
                ),
            );
            None
        };
        let group_id = match (placement, s.opt("党小组")) {
            (Some((_, b)), Some(g)) => match groups.get(&(b, g.clone())) {
                Some(id) => Some(*id),
                None => {
                    err("党小组", format!("党支部“{branch}”下没有党小组“{g}”"));
                    None
                }
            },
            _ => None,
        };
        let is_division_head = match parse_bool_zh(&s.get("是否处室负责人")) {
            Ok(v) => v.unwrap_or(false),
            Err(m) => {
                err("是否处室负责人", m);
                false
            }
        };
        let input = MemberInput {
            name: s.get("姓名"),
            gender: s.get("性别"),
            ethnicity: s.get("民族"),
            birth_date: s.opt("出生日期"),
            id_number: s.get("身份证号"),
            phone: s.get("手机号"),
            education: s.get("学历"),
            joined_on: s.opt("入党日期"),
            kind: s.get("党员类别"),
            converted_on: s.opt("转正日期"),
            position: s.get("职务"),
            is_division_head,
            status: s.get("状态"),
            status_on: s.opt("状态变更日期"),
            branch_id: placement.map(|p| p.1).unwrap_or(0),
            group_id,
        };
        match validate(&input, today) {
            Err(fields) => {
                for (f, m) in fields {
                    err(column_of(&f), m);
                }
            }
            Ok(v) => {
                if let Some(first) = seen.insert(v.id_number.clone(), excel_row) {
                    err("身份证号", format!("与第{first}行的身份证号重复"));
                    continue;
                }
                let ex = existing.get(&state.keys.id_hash(v.id_number.as_str()));
                if let Some(ex) = ex {
                    if !scope.all && !scope.units.contains(&ex.unit_id) {
                        err(
                            "身份证号",
                            "该身份证号已在其他单位登记，请通过组织关系转接办理".into(),
                        );
                        continue;
                    }
                }
                if let Some((unit_id, branch_id)) = placement {
                    let existing = match ex {
                        Some(ex) => {
                            let phone = state.keys.decrypt(Field::Phone, &ex.phone)?;
                            Some(if ex.same_as(&v, &phone, branch_id, group_id) {
                                -ex.member_id
                            } else {
                                ex.member_id
                            })
                        }
                        None => None,
                    };
                    planned.push(Planned {
                        v,
                        unit_id,
                        branch_id,
                        group_id,
                        existing,
                        from_branch: ex.map(|ex| ex.branch_id),
                    });
                }
            }
        }
    }
    if data_rows == 0 {
        return Err(AppError::invalid("文件中没有数据行"));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Ok(Outcome::Rejected {
            errors,
            rows: data_rows,
        });
    }
    write_members(state, actor, &planned).await
}

pub(super) async fn write_members(
    state: &AppState,
    actor: &Actor,
    planned: &[Planned],
) -> AppResult<Outcome> {
    let creates: Vec<&Planned> = planned.iter().filter(|p| p.existing.is_none()).collect();
    let updates: Vec<&Planned> = planned
        .iter()
        .filter(|p| p.existing.is_some_and(|id| id > 0))
        .collect();
    let unchanged = planned.len() - creates.len() - updates.len();
    let t = now();
    // Encrypted before the write transaction (SQLite has one writer at a time).
    let sealed_creates = creates
        .iter()
        .map(|p| state.keys.seal_member(p.v.id_number.as_str(), &p.v.phone))
        .collect::<Result<Vec<_>, _>>()?;
    let sealed_updates = updates
        .iter()
        .map(|p| state.keys.seal_member(p.v.id_number.as_str(), &p.v.phone))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = state.db.begin_write().await?;
    // Multi-row inserts. SQLite binds slow down sharply on long statements: each `$n` is
    // looked up by name with a linear search, so a statement costs the square of its
    // parameters (measured: 50 rows a statement is several times faster than 400, and 20
    // rows 10% faster than 50 for 30,000 members; 10 is slower again, each statement being
    // a round trip to sqlx's worker thread). PostgreSQL likes them long.
    let rows_per_statement = match state.db.backend {
        crate::db::Backend::Sqlite => 20,
        crate::db::Backend::Postgres => 400,
    };
    for (chunk, sealed) in creates
        .chunks(rows_per_statement)
        .zip(sealed_creates.chunks(rows_per_statement))
    {
        let mut sql = Sql::new(
            "insert into member (unit_id, branch_id, group_id, name, name_initials, gender, ethnicity, birth_date, id_number, id_suffix, \
             phone, education, joined_on, kind, converted_on, position, is_division_head, status, created_at, updated_at, id_hash, status_on) values ",
        );
        for (i, (p, s)) in chunk.iter().zip(sealed).enumerate() {
            let v = &p.v;
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(p.unit_id)
                .push(", ")
                .bind(p.branch_id)
                .push(", ")
                .bind(p.group_id)
                .push(", ");
            sql.bind(v.name.clone())
                .push(", ")
                .bind(v.name_initials.clone())
                .push(", ")
                .bind(v.gender.clone())
                .push(", ");
            sql.bind(v.ethnicity.clone())
                .push(", ")
                .bind(format_date(v.birth_date))
                .push(", ");
            sql.bind(s.id_number.clone())
                .push(", ")
                .bind(s.id_suffix.clone())
                .push(", ")
                .bind(s.phone.clone())
                .push(", ");
            sql.bind(v.education.clone())
                .push(", ")
                .bind(v.joined_on.map(format_date))
                .push(", ")
                .bind(v.kind.as_str())
                .push(", ");
            sql.bind(v.converted_on.map(format_date))
                .push(", ")
                .bind(v.position.clone())
                .push(", ")
                .bind(i64::from(v.is_division_head))
                .push(", ");
            sql.bind(v.status.as_str())
                .push(", ")
                .bind(t)
                .push(", ")
                .bind(t)
                .push(", ")
                .bind(s.id_hash.clone())
                .push(", ")
                .bind(v.status_on.map(format_date))
                .push(")");
        }
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await
            .map_err(|e| {
                crate::error::on_unique(
                    e,
                    "file",
                    "导入期间有其他人登记了相同身份证号的党员，请重新导入",
                )
            })?;
    }
    let mut moved = Vec::new();
    for (p, s) in updates.iter().zip(&sealed_updates) {
        let v = &p.v;
        let id = p.existing.unwrap_or_default();
        if let Some(from) = p.from_branch.filter(|b| *b != p.branch_id) {
            moved.push((id, from, p.branch_id));
        }
        // The ID number is rewritten too, so the whole row is under the current key.
        sqlx::query(
            "update member set unit_id = $1, branch_id = $2, group_id = $3, name = $4, name_initials = $5, gender = $6, ethnicity = $7, \
             birth_date = $8, phone = $9, education = $10, joined_on = $11, kind = $12, converted_on = $13, position = $14, \
             is_division_head = $15, status = $16, updated_at = $17, id_number = $18, id_suffix = $19, id_hash = $20, status_on = $22 where member_id = $21",
        )
        .bind(p.unit_id)
        .bind(p.branch_id)
        .bind(p.group_id)
        .bind(v.name.clone())
        .bind(v.name_initials.clone())
        .bind(v.gender.clone())
        .bind(v.ethnicity.clone())
        .bind(format_date(v.birth_date))
        .bind(s.phone.clone())
        .bind(v.education.clone())
        .bind(v.joined_on.map(format_date))
        .bind(v.kind.as_str())
        .bind(v.converted_on.map(format_date))
        .bind(v.position.clone())
        .bind(i64::from(v.is_division_head))
        .bind(v.status.as_str())
        .bind(t)
        .bind(s.id_number.clone())
        .bind(s.id_suffix.clone())
        .bind(s.id_hash.clone())
        .bind(id)
        .bind(v.status_on.map(format_date))
        .execute(tx.conn())
        .await?;
    }
    // A branch changed by import is a transfer and keeps its history like one.
    let today = crate::text::format_date(crate::clock::today());
    for (id, from, to) in &moved {
        sqlx::query(
            "insert into member_transfer (member_id, from_branch_id, to_branch_id, transferred_on, reason, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(*id)
        .bind(*from)
        .bind(*to)
        .bind(today.clone())
        .bind("Excel 导入")
        .bind(actor.user_id)
        .bind(t)
        .execute(tx.conn())
        .await?;
    }
    // Leaving the register ends every post; a move ends the posts of the orgs left.
    let mut ended = Vec::new();
    for p in &updates {
        let id = p.existing.unwrap_or_default();
        let staying =
            (p.v.status == crate::org::members::MemberStatus::Active).then_some(p.branch_id);
        for post in crate::org::members::end_posts(tx.conn(), id, staying).await? {
            ended.push(serde_json::json!({"member_id": id, "post": post}));
        }
    }
    tx.audit(
        actor,
        Entry::new(
            "member.import",
            "member",
            "",
            format!(
                "导入党员：新增 {} 人，更新 {} 人（其中转接 {} 人），未变化 {} 人",
                creates.len(),
                updates.len(),
                moved.len(),
                unchanged
            ),
        )
        .after(&serde_json::json!({
            "created": creates.len(), "updated": updates.len(), "unchanged": unchanged,
            "updated_ids": updates.iter().map(|p| p.existing).collect::<Vec<_>>(),
            "ended_posts": ended,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Imported {
        created: creates.len(),
        updated: updates.len(),
        unchanged,
    })
}

pub(super) struct OrgRow {
    excel_row: usize,
    unit: String,
    category: String,
    name: String,
    kind: OrgKind,
    parent: Option<String>,
    founded_on: Option<String>,
    term_start: Option<String>,
    term_end: Option<String>,
}

/// Parents before children: the order of `OrgKind::ALL`.
pub(super) fn kind_rank(kind: OrgKind) -> usize {
    OrgKind::ALL.iter().position(|k| *k == kind).unwrap_or(9)
}

/// Imports units and their orgs (committee: any unit, creating missing ones; a unit
/// admin: orgs of their own units). All rows or none.
pub async fn import_orgs(
    state: &AppState,
    actor: &Actor,
    scope: &Scope,
    bytes: &[u8],
) -> AppResult<Outcome> {
    let rows = crate::xlsx::read_first_sheet(bytes)?;
    let (header_row, map) = header_map(&rows, &ORG_REQUIRED[..3]).map_err(AppError::invalid)?;
    let categories: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "select name, category_id from category where retired = 0",
    )
    .fetch_all(&state.db.pool)
    .await?
    .into_iter()
    .collect();
    let units: HashMap<String, (i64, i64)> =
        sqlx::query_as::<_, (String, i64, i64)>("select name, unit_id, category_id from unit")
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .map(|(n, u, c)| (n, (u, c)))
            .collect();
    #[derive(sqlx::FromRow)]
    struct Ex {
        unit_id: i64,
        org_id: i64,
        name: String,
        #[sqlx(try_from = "String")]
        kind: OrgKind,
        parent_id: Option<i64>,
        founded_on: Option<String>,
        term_start: Option<String>,
        term_end: Option<String>,
    }
    let existing: Vec<Ex> = sqlx::query_as(
        "select unit_id, org_id, name, kind, parent_id, founded_on, term_start, term_end from org",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let ex_by_name: HashMap<(i64, String), &Ex> = existing
        .iter()
        .map(|e| ((e.unit_id, e.name.clone()), e))
        .collect();
    let today = crate::clock::today();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate().skip(header_row + 1) {
        let excel_row = i + 1;
        if row.iter().all(|c| clean_text(c).is_empty()) {
            continue;
        }
        let s = Sheet { row, map: &map };
        let mut err = |column: &str, message: String| {
            errors.push(RowError {
                row: excel_row,
                column: column.to_string(),
                message,
            })
        };
        for column in bidi_columns(row, &map) {
            err(column, crate::messages::BIDI_IN_CELL.into());
        }
        let unit = s.get("机关党组织");
        let name = s.get("组织名称");
        let category = s.get("类别");
        if unit.is_empty() {
            err("机关党组织", "请填写机关党组织名称".into());
        } else if unit.chars().count() > 60 {
            err("机关党组织", "名称不超过60字".into());
        }
        if name.is_empty() {
            err("组织名称", "请填写组织名称".into());
        } else if name.chars().count() > 60 {
            err("组织名称", "名称不超过60字".into());
        }
        let kind = OrgKind::parse(&s.get("组织类型"));
        if kind.is_none() {
            err(
                "组织类型",
                format!(
                    "无法识别的组织类型“{}”，应为党委、党总支、党支部或党小组",
                    s.get("组织类型")
                ),
            );
        }
        match units.get(&unit) {
            Some((u, _)) if !scope.all && !scope.units.contains(u) => {
                err("机关党组织", format!("“{unit}”不在您的管理范围内"))
            }
            Some(_) => {}
            None if !scope.all => err(
                "机关党组织",
                format!("找不到机关党组织“{unit}”；新建单位须由工委办理"),
            ),
            None if category.is_empty() => err("类别", format!("新单位“{unit}”须填写类别")),
            None => {}
        }
        if !category.is_empty() && !categories.contains_key(&category) {
            err("类别", format!("找不到类别“{category}”"));
        }
        let mut date = |col: &str| -> Option<String> {
            let v = s.opt(col)?;
            match crate::text::parse_date(&v) {
                Ok(d) if col == "成立日期" && d > today => {
                    err(col, "成立日期不能晚于今天".into());
                    None
                }
                Ok(d) => Some(crate::text::format_date(d)),
                Err(e) => {
                    err(col, e.to_string());
                    None
                }
            }
        };
        let founded_on = date("成立日期");
        let term_start = date("任期开始");
        let term_end = date("任期届满");
        if let (Some(a), Some(b)) = (&term_start, &term_end) {
            if b <= a {
                err("任期届满", "任期届满日期应晚于任期开始日期".into());
            }
        }
        if let Some(first) = seen.insert((unit.clone(), name.clone()), excel_row) {
            err("组织名称", format!("与第{first}行重复"));
        }
        if let Some(kind) = kind {
            parsed.push(OrgRow {
                excel_row,
                unit,
                category,
                name,
                kind,
                parent: s.opt("上级组织"),
                founded_on,
                term_start,
                term_end,
            });
        }
    }
    if parsed.is_empty() && errors.is_empty() {
        return Err(AppError::invalid("文件中没有数据行"));
    }
    // Parents must be known: in the file or already registered, and of a fitting kind.
    let in_file: HashMap<(String, String), OrgKind> = parsed
        .iter()
        .map(|r| ((r.unit.clone(), r.name.clone()), r.kind))
        .collect();
    for r in &parsed {
        let parent_kind = match &r.parent {
            None => None,
            Some(p) => {
                let from_db = units
                    .get(&r.unit)
                    .and_then(|(u, _)| ex_by_name.get(&(*u, p.clone())))
                    .map(|e| e.kind);
                match in_file
                    .get(&(r.unit.clone(), p.clone()))
                    .copied()
                    .or(from_db)
                {
                    Some(k) => Some(k),
                    None => {
                        errors.push(RowError {
                            row: r.excel_row,
                            column: "上级组织".into(),
                            message: format!("找不到上级组织“{p}”"),
                        });
                        continue;
                    }
                }
            }
        };
        if !crate::org::orgs::parent_allowed(r.kind, parent_kind) {
            errors.push(RowError {
                row: r.excel_row,
                column: "上级组织".into(),
                message: format!(
                    "{}不能设在{}之下",
                    r.kind.label(),
                    parent_kind.map_or("单位顶层", OrgKind::label)
                ),
            });
        }
        if let Some((u, _)) = units.get(&r.unit) {
            if let Some(e) = ex_by_name.get(&(*u, r.name.clone())) {
                if e.kind != r.kind {
                    errors.push(RowError {
                        row: r.excel_row,
                        column: "组织类型".into(),
                        message: format!("“{}”已登记为{}", r.name, e.kind.label()),
                    });
                }
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Ok(Outcome::Rejected {
            errors,
            rows: parsed.len(),
        });
    }
    parsed.sort_by_key(|r| (kind_rank(r.kind), r.excel_row));
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let mut unit_ids: HashMap<String, i64> =
        units.iter().map(|(n, (u, _))| (n.clone(), *u)).collect();
    let mut org_ids: HashMap<(i64, String), i64> = existing
        .iter()
        .map(|e| ((e.unit_id, e.name.clone()), e.org_id))
        .collect();
    for r in &parsed {
        let unit_id = match unit_ids.get(&r.unit) {
            Some(u) => *u,
            None => {
                let category_id = categories.get(&r.category).copied().unwrap_or_default();
                let u: i64 = sqlx::query_scalar(
                    "insert into unit (name, short_name, category_id, sort_order, created_at, updated_at) values ($1, '', $2, 0, $3, $4) returning unit_id",
                )
                .bind(r.unit.clone())
                .bind(category_id)
                .bind(t)
                .bind(t)
                .fetch_one(tx.conn())
                .await?;
                sqlx::query("insert into unit_category_history (unit_id, category_id, effective_on, reason, created_by, created_at) values ($1, $2, $3, $4, $5, $6)")
                    .bind(u)
                    .bind(category_id)
                    .bind(crate::text::format_date(today))
                    .bind("Excel 导入新建")
                    .bind(actor.user_id)
                    .bind(t)
                    .execute(tx.conn())
                    .await?;
                unit_ids.insert(r.unit.clone(), u);
                created += 1;
                u
            }
        };
        let parent_id = r
            .parent
            .as_ref()
            .and_then(|p| org_ids.get(&(unit_id, p.clone())).copied());
        match ex_by_name.get(&(unit_id, r.name.clone())) {
            Some(e) => {
                if e.parent_id == parent_id
                    && e.founded_on == r.founded_on
                    && e.term_start == r.term_start
                    && e.term_end == r.term_end
                {
                    unchanged += 1;
                } else {
                    sqlx::query("update org set parent_id = $1, founded_on = $2, term_start = $3, term_end = $4, updated_at = $5 where org_id = $6")
                        .bind(parent_id)
                        .bind(r.founded_on.clone())
                        .bind(r.term_start.clone())
                        .bind(r.term_end.clone())
                        .bind(t)
                        .bind(e.org_id)
                        .execute(tx.conn())
                        .await?;
                    updated += 1;
                }
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "insert into org (unit_id, parent_id, kind, name, founded_on, term_start, term_end, sort_order, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning org_id",
                )
                .bind(unit_id)
                .bind(parent_id)
                .bind(r.kind.as_str())
                .bind(r.name.clone())
                .bind(r.founded_on.clone())
                .bind(r.term_start.clone())
                .bind(r.term_end.clone())
                .bind(r.excel_row as i64)
                .bind(t)
                .bind(t)
                .fetch_one(tx.conn())
                .await?;
                org_ids.insert((unit_id, r.name.clone()), id);
                created += 1;
            }
        }
    }
    tx.audit(
        actor,
        Entry::new(
            "org.import",
            "org",
            "",
            format!("导入机关党组织与党组织：新增 {created}，更新 {updated}，未变化 {unchanged}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Imported {
        created,
        updated,
        unchanged,
    })
}

/// The rejected rows' report: one line per error.
pub fn error_report(errors: &[RowError]) -> AppResult<Vec<u8>> {
    let rows: Vec<Vec<Cell>> = errors
        .iter()
        .map(|e| {
            vec![
                Cell::Int(e.row as i64),
                Cell::text(&e.column),
                Cell::text(&e.message),
            ]
        })
        .collect();
    crate::xlsx::write_table("错误报告", &["行号", "列", "问题"], &rows)
}

pub fn template(kind: &str) -> AppResult<Vec<u8>> {
    if kind == "orgs" {
        let sample = vec![
            vec![
                "市示例局".into(),
                "公共事务类".into(),
                "市示例局机关党委".into(),
                "党委".into(),
                String::new(),
                "2010-07-01".into(),
                "2022-06-30".into(),
                "2027-06-29".into(),
            ],
            vec![
                "市示例局".into(),
                "公共事务类".into(),
                "办公室党支部".into(),
                "党支部".into(),
                "市示例局机关党委".into(),
                "2010-07-01".into(),
                "2024-03-15".into(),
                "2027-03-14".into(),
            ],
            vec![
                "市示例局".into(),
                "公共事务类".into(),
                "第一党小组".into(),
                "党小组".into(),
                "办公室党支部".into(),
                String::new(),
                String::new(),
                String::new(),
            ],
        ];
        crate::xlsx::write_table(
            "党组织",
            &ORG_HEADERS,
            &sample.into_iter().map(Cell::texts).collect::<Vec<_>>(),
        )
    } else {
        let sample = vec![vec![
            "张三".into(),
            "11010519491231002X".into(),
            "女".into(),
            "汉族".into(),
            "1949-12-31".into(),
            "13800138000".into(),
            "大学本科".into(),
            "1975-07-01".into(),
            "正式党员".into(),
            "1976-07-01".into(),
            "处长".into(),
            "是".into(),
            "在册".into(),
            String::new(),
            "市示例局".into(),
            "办公室党支部".into(),
            String::new(),
        ]];
        crate::xlsx::write_table(
            "党员",
            &MEMBER_HEADERS,
            &sample.into_iter().map(Cell::texts).collect::<Vec<_>>(),
        )
    }
}

/// Reads the `file` field of an upload, refusing oversize files before parsing.
pub async fn read_upload(mut mp: Multipart, max: usize) -> AppResult<Vec<u8>> {
    let too_large = || AppError::TooLarge(format!("文件超过{}MB，请拆分后上传", max / 1024 / 1024));
    while let Some(field) = mp.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::invalid("上传的内容不完整，请重新选择文件上传")
        }
    })? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_lowercase();
        if !name.is_empty() && !name.ends_with(".xlsx") {
            return Err(AppError::field(
                "file",
                "只支持 .xlsx 格式的 Excel 文件（不支持 .xls、.csv 等）",
            ));
        }
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                AppError::invalid("上传的内容不完整，请重新选择文件上传")
            }
        })?;
        if bytes.len() > max {
            return Err(too_large());
        }
        if bytes.is_empty() {
            return Err(AppError::field("file", "请选择要上传的文件"));
        }
        return Ok(bytes.to_vec());
    }
    Err(AppError::field("file", "请选择要上传的文件"))
}
