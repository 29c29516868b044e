//! The hotline's writes and lists: sources and their saved column mappings, unit aliases,
//! reading an uploaded export (xlsx through `crate::xlsx`, csv checked first), the preview
//! of a mapping, and the import — every row checked, then all written or none, idempotent by
//! order number, set-wise in one transaction with the monthly aggregates moved by what each
//! order adds and takes away — and the imports made.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{self, Callback, Counts, Field, Mapping, OrderRow};
use crate::audit::{Actor, Entry};
use crate::clock::{beijing, now};
use crate::db::{Backend, Sql, WriteTx};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::xlsx::Cell;

/// Rows a csv file may hold (a city's month is about 170,000 orders).
pub const MAX_CSV_ROWS: usize = 200_000;
/// Columns a csv row may hold.
pub const MAX_CSV_COLUMNS: usize = 100;
/// Characters in one csv cell.
pub const MAX_CSV_CELL: usize = 2_000;
/// Row errors kept (the report lists them); past this the file is clearly the wrong one.
pub const MAX_ERRORS: usize = 10_000;
/// Rows written by one insert statement.
const BATCH: usize = 1_000;

// ---------------------------------------------------------------- sources and aliases

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Source {
    pub hotline_source_id: i64,
    pub name: String,
    /// Field key → the column's header, as JSON.
    pub mapping: String,
    pub updated_at: i64,
}

impl Source {
    pub fn mapping(&self) -> Mapping {
        Mapping::parse(&self.mapping).unwrap_or_default()
    }
}

pub async fn sources(state: &AppState) -> AppResult<Vec<Source>> {
    Ok(sqlx::query_as(
        "select hotline_source_id, name, mapping, updated_at from hotline_source order by name",
    )
    .fetch_all(&state.db.pool)
    .await?)
}

async fn source_by_name(state: &AppState, name: &str) -> AppResult<Option<Source>> {
    Ok(sqlx::query_as(
        "select hotline_source_id, name, mapping, updated_at from hotline_source where name = $1",
    )
    .bind(name)
    .fetch_optional(&state.db.pool)
    .await?)
}

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Alias {
    pub alias: String,
    pub unit_id: i64,
    pub unit_name: String,
}

pub async fn aliases(state: &AppState, q: Option<&str>) -> AppResult<Vec<Alias>> {
    let mut sql = Sql::new(
        "select a.alias, a.unit_id, u.name as unit_name from hotline_alias a join unit u on u.unit_id = a.unit_id",
    );
    if let Some(q) = q.map(str::trim).filter(|s| !s.is_empty()) {
        sql.push(" where (");
        sql.contains(state.db.backend, "a.alias", q);
        sql.push(" or ");
        sql.contains(state.db.backend, "u.name", q);
        sql.push(")");
    }
    sql.push(" order by u.name, a.alias");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AliasInput {
    /// The name as the hotline centre writes it.
    pub alias: String,
    /// The unit it stands for.
    #[serde(deserialize_with = "id_text")]
    #[schema(value_type = String)]
    pub unit_id: String,
}

/// An id sent as a number (JSON) or as text (a form).
fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

pub async fn add_alias(state: &AppState, actor: &Actor, input: &AliasInput) -> AppResult<()> {
    let alias = crate::text::clean_text(&input.alias);
    let mut errors = crate::error::FieldErrors::new();
    if alias.is_empty() {
        errors.insert("alias".into(), "请填写热线工单中的单位名称".into());
    } else if alias.chars().count() > 60 {
        errors.insert("alias".into(), "单位名称不能超过 60 个字".into());
    }
    let unit_id: Option<i64> = input.unit_id.trim().parse().ok();
    let unit: Option<(i64, String)> = match unit_id {
        Some(u) => {
            sqlx::query_as("select unit_id, name from unit where unit_id = $1")
                .bind(u)
                .fetch_optional(&state.db.pool)
                .await?
        }
        None => None,
    };
    if unit.is_none() {
        errors.insert("unit_id".into(), "请选择单位名册中的单位".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let Some((unit_id, unit_name)) = unit else {
        return Err(AppError::NotFound);
    };
    let taken: Option<String> = sqlx::query_scalar(
        "select u.name from hotline_alias a join unit u on u.unit_id = a.unit_id where a.alias = $1",
    )
    .bind(&alias)
    .fetch_optional(&state.db.pool)
    .await?;
    if let Some(u) = taken {
        return Err(AppError::field(
            "alias",
            format!("“{alias}”已对应到{u}，请先删除原对应关系"),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("insert into hotline_alias (alias, unit_id, created_at) values ($1, $2, $3)")
        .bind(&alias)
        .bind(unit_id)
        .bind(now())
        .execute(tx.conn())
        .await?;
    tx.audit(
        actor,
        Entry::new(
            "hotline_alias.create",
            "hotline_alias",
            unit_id,
            format!("热线单位别名“{alias}”对应到{unit_name}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_alias(state: &AppState, actor: &Actor, alias: &str) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let unit: Option<i64> =
        sqlx::query_scalar("delete from hotline_alias where alias = $1 returning unit_id")
            .bind(alias)
            .fetch_optional(tx.conn())
            .await?;
    let Some(unit) = unit else {
        return Err(AppError::NotFound);
    };
    tx.audit(
        actor,
        Entry::new(
            "hotline_alias.delete",
            "hotline_alias",
            unit,
            format!("删除热线单位别名“{alias}”"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every name a unit goes by in an export: its registered name, its short name, its aliases.
async fn unit_names(state: &AppState) -> AppResult<HashMap<String, i64>> {
    let units: Vec<(i64, String, String)> =
        sqlx::query_as("select unit_id, name, short_name from unit")
            .fetch_all(&state.db.pool)
            .await?;
    let mut map = HashMap::new();
    for (id, name, short) in units {
        map.insert(unit_key(&name), id);
        if !short.trim().is_empty() {
            map.entry(unit_key(&short)).or_insert(id);
        }
    }
    let aliases: Vec<(String, i64)> = sqlx::query_as("select alias, unit_id from hotline_alias")
        .fetch_all(&state.db.pool)
        .await?;
    for (a, id) in aliases {
        map.insert(unit_key(&a), id);
    }
    Ok(map)
}

/// A unit's name as compared: without spaces.
fn unit_key(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

// ---------------------------------------------------------------- reading a file

/// The rows of an uploaded export: an .xlsx through the checked reader, otherwise csv (UTF-8,
/// with or without a byte-order mark, or GB18030 as Excel saves it on Chinese systems).
pub fn read_table(file_name: &str, bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let name = file_name.to_lowercase();
    if bytes.starts_with(b"PK\x03\x04") || name.ends_with(".xlsx") {
        return crate::xlsx::read_first_sheet(bytes);
    }
    if name.ends_with(".xls") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(AppError::invalid(
            "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv 后上传",
        ));
    }
    read_csv(bytes)
}

/// A csv file, its row count checked before it is parsed and each cell as it is read.
pub fn read_csv(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    if lines > MAX_CSV_ROWS + 10 {
        return Err(AppError::invalid(format!(
            "文件有约 {lines} 行，超过一次导入的上限 {MAX_CSV_ROWS} 行，请按月拆分后分批导入"
        )));
    }
    if bytes.contains(&0) {
        return Err(AppError::invalid(
            "文件不是文本格式的 CSV，请上传 .xlsx 或 .csv 文件",
        ));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(body) {
        Ok(s) => s.into(),
        Err(_) => {
            let (s, _, bad) = encoding_rs::GB18030.decode(body);
            if bad {
                return Err(AppError::invalid(
                    "无法识别文件的文字编码，请以 UTF-8 或 GBK 编码保存 CSV 后上传",
                ));
            }
            s
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(i as u64 + 1, |p| p.line());
            AppError::invalid(format!(
                "CSV 第 {line} 行格式错误（引号不配对或内容不完整）"
            ))
        })?;
        if rows.len() >= MAX_CSV_ROWS + 10 {
            return Err(AppError::invalid(format!(
                "文件超过一次导入的上限 {MAX_CSV_ROWS} 行，请按月拆分后分批导入"
            )));
        }
        if rec.len() > MAX_CSV_COLUMNS {
            return Err(AppError::invalid(format!(
                "CSV 第 {} 行有 {} 列，超过上限 {MAX_CSV_COLUMNS} 列",
                i + 1,
                rec.len()
            )));
        }
        let mut row = Vec::with_capacity(rec.len());
        for (j, cell) in rec.iter().enumerate() {
            if cell.len() > MAX_CSV_CELL && cell.chars().count() > MAX_CSV_CELL {
                return Err(AppError::invalid(format!(
                    "CSV 第 {} 行第 {} 列的内容超过 {MAX_CSV_CELL} 字",
                    i + 1,
                    j + 1
                )));
            }
            row.push(cell.to_string());
        }
        while row.last().is_some_and(|c| c.trim().is_empty()) {
            row.pop();
        }
        rows.push(row);
    }
    while rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    Ok(rows)
}

// ---------------------------------------------------------------- the import

/// A row's problem: the row as the file numbers it, the column's header, what is wrong.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Imported {
        hotline_import_id: i64,
        rows: usize,
        created: usize,
        updated: usize,
        unchanged: usize,
    },
    Rejected {
        errors: Vec<RowError>,
        /// Errors found in all (`errors` holds at most `MAX_ERRORS`).
        total_errors: usize,
        rows: usize,
    },
}

/// What an upload asks for: the file, the source it comes from (by name; a new name makes
/// a new source) and, optionally, the mapping to use and save.
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub source: String,
    pub mapping: Option<Mapping>,
}

/// A file read against a mapping: the header row, the headers, and the mapping used.
pub struct Sheet {
    pub rows: Vec<Vec<String>>,
    pub header_row: usize,
    pub mapping: Mapping,
}

impl Sheet {
    pub fn headers(&self) -> &[String] {
        self.rows
            .get(self.header_row)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The data rows with their row number as the file shows it; empty rows skipped.
    pub fn data(&self) -> impl Iterator<Item = (usize, &Vec<String>)> {
        self.rows
            .iter()
            .enumerate()
            .skip(self.header_row + 1)
            .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
            .map(|(i, r)| (i + 1, r))
    }
}

fn source_name(s: &str) -> AppResult<String> {
    let name = crate::text::clean_text(s);
    if name.is_empty() {
        return Err(AppError::field("source", "请选择或填写热线来源"));
    }
    if name.chars().count() > 40 {
        return Err(AppError::field("source", "热线来源名称不能超过 40 个字"));
    }
    Ok(name)
}

/// Reads the upload and settles the mapping: the one given, else the source's saved one,
/// else one guessed from the headers.
pub async fn read_sheet(state: &AppState, up: &Upload) -> AppResult<Sheet> {
    let name = source_name(&up.source)?;
    let saved = source_by_name(state, &name).await?.map(|s| s.mapping());
    let (file_name, bytes) = (up.file_name.clone(), up.bytes.clone());
    let rows = tokio::task::spawn_blocking(move || read_table(&file_name, &bytes))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    if rows.is_empty() {
        return Err(AppError::invalid("文件中没有内容"));
    }
    let mut mapping = match (&up.mapping, saved) {
        (Some(m), _) if !m.is_empty() => m.clone(),
        (_, Some(m)) if !m.is_empty() => m,
        _ => Mapping::default(),
    };
    // The row holding the mapped order number's header, else a known one; else the first
    // row with text, so the preview offers its columns to map and the import names what is
    // missing.
    let header_row = rules::header_row(&rows, &mapping)
        .or_else(|| rules::header_row(&rows, &Mapping::default()))
        .or_else(|| {
            rows.iter()
                .position(|r| r.iter().any(|c| !c.trim().is_empty()))
        })
        .ok_or_else(|| AppError::invalid("文件中没有内容"))?;
    if mapping.is_empty() {
        mapping = Mapping::guess(rows.get(header_row).map(Vec::as_slice).unwrap_or_default());
    }
    Ok(Sheet {
        rows,
        header_row,
        mapping,
    })
}

/// The mapping proposed for a file and its first rows read through it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub source: String,
    /// The file's headers.
    pub headers: Vec<String>,
    /// Field key → header.
    pub mapping: std::collections::BTreeMap<&'static str, String>,
    /// Problems of the mapping itself (a required field without a column).
    pub problems: Vec<String>,
    /// The first rows, each field's text in the order of `fields`.
    pub rows: Vec<Vec<String>>,
    pub fields: Vec<&'static str>,
    /// Data rows in the file.
    pub total_rows: usize,
}

pub async fn preview(state: &AppState, up: &Upload) -> AppResult<Preview> {
    let sheet = read_sheet(state, up).await?;
    let headers = sheet.headers().to_vec();
    let (problems, rows) = match sheet.mapping.resolve(&headers) {
        Err(p) => (p, Vec::new()),
        Ok(cols) => (
            Vec::new(),
            sheet
                .data()
                .take(5)
                .map(|(_, r)| {
                    Field::ALL
                        .iter()
                        .map(|f| {
                            cols.of(*f)
                                .and_then(|i| r.get(i))
                                .map_or(String::new(), |s| s.trim().to_string())
                        })
                        .collect()
                })
                .collect(),
        ),
    };
    Ok(Preview {
        source: source_name(&up.source)?,
        headers,
        mapping: sheet.mapping.columns.clone(),
        problems,
        rows,
        fields: Field::ALL.iter().map(|f| f.as_str()).collect(),
        total_rows: sheet.data().count(),
    })
}

/// An order ready to write: its row and unit.
struct Planned {
    o: OrderRow,
    unit_id: i64,
}

/// An order as stored, for comparing and for the aggregates it already counts in.
#[derive(sqlx::FromRow)]
struct Stored {
    order_no: String,
    unit_id: i64,
    unit_text: String,
    title: String,
    received_at: i64,
    deadline: i64,
    closed_at: Option<i64>,
    reopened: i64,
    callback: String,
    resolved: Option<i64>,
}

impl Stored {
    fn row(&self) -> OrderRow {
        OrderRow {
            order_no: self.order_no.clone(),
            unit_text: self.unit_text.clone(),
            title: self.title.clone(),
            received_at: self.received_at,
            deadline: self.deadline,
            closed_at: self.closed_at,
            reopened: self.reopened,
            callback: Callback::from_key(&self.callback),
            resolved: self.resolved.map(|r| r != 0),
        }
    }
}

/// Imports an export: every row checked first; any problem and nothing is written.
pub async fn import(state: &AppState, actor: &Actor, up: Upload) -> AppResult<Outcome> {
    let sheet = read_sheet(state, &up).await?;
    let headers = sheet.headers().to_vec();
    let cols = sheet
        .mapping
        .resolve(&headers)
        .map_err(|p| AppError::invalid(p.join("；")))?;
    let units = unit_names(state).await?;
    let offset = beijing();
    let mut errors: Vec<RowError> = Vec::new();
    let mut total_errors = 0usize;
    let mut planned: Vec<Planned> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = 0usize;
    let unit_header = cols
        .of(Field::Unit)
        .and_then(|i| headers.get(i))
        .cloned()
        .unwrap_or_else(|| Field::Unit.label().to_string());
    let no_header = cols
        .of(Field::OrderNo)
        .and_then(|i| headers.get(i))
        .cloned()
        .unwrap_or_else(|| Field::OrderNo.label().to_string());
    let mut push = |errors: &mut Vec<RowError>, e: RowError| {
        total_errors += 1;
        if errors.len() < MAX_ERRORS {
            errors.push(e);
        }
    };
    for (n, r) in sheet.data() {
        rows += 1;
        // A number seen before is named even when either row has other problems.
        let no = cols
            .of(Field::OrderNo)
            .and_then(|i| r.get(i))
            .map_or("", |s| s.trim());
        if !no.is_empty() {
            if let Some(first) = seen.get(no) {
                push(
                    &mut errors,
                    RowError {
                        row: n,
                        column: no_header.clone(),
                        message: format!(
                            "工单编号“{no}”与第 {first} 行重复，同一文件中每个工单只能出现一次"
                        ),
                    },
                );
            } else {
                seen.insert(no.to_string(), n);
            }
        }
        match rules::read_row(r, &cols, &headers, offset) {
            Err(problems) => {
                for p in problems {
                    push(
                        &mut errors,
                        RowError {
                            row: n,
                            column: p.column,
                            message: p.message,
                        },
                    );
                }
            }
            Ok(o) => {
                let unit = units.get(&unit_key(&o.unit_text)).copied();
                if unit.is_none() {
                    push(
                        &mut errors,
                        RowError {
                            row: n,
                            column: unit_header.clone(),
                            message: format!(
                                "承办单位“{}”不在单位名册中，请核对名称，或在“单位别名”中把它对应到单位",
                                o.unit_text
                            ),
                        },
                    );
                }
                if let Some(unit_id) = unit {
                    planned.push(Planned { o, unit_id });
                }
            }
        }
    }
    if rows == 0 {
        return Err(AppError::invalid("表头行以下没有工单数据"));
    }
    if total_errors > 0 {
        return Ok(Outcome::Rejected {
            errors,
            total_errors,
            rows,
        });
    }
    let source = source_name(&up.source)?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let source_id = save_source(&mut tx, &source, &sheet.mapping, t).await?;
    let import_id: i64 = sqlx::query_scalar(
        "insert into hotline_import (hotline_source_id, file_name, row_count, created, updated, unchanged, created_by, created_at) \
         values ($1, $2, $3, 0, 0, 0, $4, $5) returning hotline_import_id",
    )
    .bind(source_id)
    .bind(crate::text::clean_text(&up.file_name).chars().take(200).collect::<String>())
    .bind(rows as i64)
    .bind(actor.user_id)
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    let (created, updated, unchanged) =
        write_orders(&mut tx, &planned, source_id, import_id, t).await?;
    sqlx::query(
        "update hotline_import set created = $1, updated = $2, unchanged = $3 where hotline_import_id = $4",
    )
    .bind(created as i64)
    .bind(updated as i64)
    .bind(unchanged as i64)
    .bind(import_id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        actor,
        Entry::new(
            "hotline_import.create",
            "hotline_import",
            import_id,
            format!(
                "导入热线工单（{source}）：{rows} 行，新增 {created}，更新 {updated}，未变化 {unchanged}"
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Imported {
        hotline_import_id: import_id,
        rows,
        created,
        updated,
        unchanged,
    })
}

async fn save_source(tx: &mut WriteTx, name: &str, mapping: &Mapping, t: i64) -> AppResult<i64> {
    let existing: Option<i64> =
        sqlx::query_scalar("select hotline_source_id from hotline_source where name = $1")
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
    Ok(match existing {
        Some(id) => {
            sqlx::query("update hotline_source set mapping = $1, updated_at = $2 where hotline_source_id = $3")
                .bind(mapping.to_json())
                .bind(t)
                .bind(id)
                .execute(tx.conn())
                .await?;
            id
        }
        None => sqlx::query_scalar(
            "insert into hotline_source (name, mapping, created_at, updated_at) values ($1, $2, $3, $3) returning hotline_source_id",
        )
        .bind(name)
        .bind(mapping.to_json())
        .bind(t)
        .fetch_one(tx.conn())
        .await?,
    })
}

const ORDER_COLUMNS: &str = "order_no, hotline_source_id, hotline_import_id, unit_id, unit_text, title, received_at, deadline, closed_at, reopened, callback, resolved, received_month, due_month, closed_month, created_at, updated_at";
const ORDER_ARITY: usize = 17;

/// Writes the planned orders (new ones inserted, changed ones updated, the same ones left)
/// and moves the aggregates by the difference; returns (created, updated, unchanged).
async fn write_orders(
    tx: &mut WriteTx,
    planned: &[Planned],
    source_id: i64,
    import_id: i64,
    t: i64,
) -> AppResult<(usize, usize, usize)> {
    let offset = beijing();
    // What is stored under these numbers already.
    let mut stored: HashMap<String, Stored> = HashMap::new();
    for chunk in planned.chunks(BATCH) {
        let mut sql = Sql::new(
            "select order_no, unit_id, unit_text, title, received_at, deadline, closed_at, reopened, callback, resolved from hotline_order where order_no in (",
        );
        for (i, p) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(p.o.order_no.clone());
        }
        sql.push(")");
        let rows: Vec<Stored> =
            sqlx::query_as_with(&bulk_text(tx.backend(), &sql.text), sql.arguments())
                .fetch_all(tx.conn())
                .await?;
        for r in rows {
            stored.insert(r.order_no.clone(), r);
        }
    }
    let mut delta: HashMap<(i64, String), Counts> = HashMap::new();
    let mut writes: Vec<&Planned> = Vec::new();
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    for p in planned {
        match stored.get(&p.o.order_no) {
            Some(s) if s.unit_id == p.unit_id && s.row() == p.o => {
                unchanged += 1;
                continue;
            }
            Some(s) => {
                updated += 1;
                for (m, c) in rules::contributions(&s.row(), offset) {
                    delta.entry((s.unit_id, m)).or_default().sub(&c);
                }
            }
            None => created += 1,
        }
        for (m, c) in rules::contributions(&p.o, offset) {
            delta.entry((p.unit_id, m)).or_default().add(&c);
        }
        writes.push(p);
    }
    let head = format!("insert into hotline_order ({ORDER_COLUMNS}) values ");
    for chunk in writes.chunks(BATCH) {
        let mut sql = Sql::new(&head);
        for (i, p) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let o = &p.o;
            sql.push("(")
                .bind(o.order_no.clone())
                .push(", ")
                .bind(source_id)
                .push(", ")
                .bind(import_id)
                .push(", ")
                .bind(p.unit_id)
                .push(", ")
                .bind(o.unit_text.clone())
                .push(", ")
                .bind(o.title.clone())
                .push(", ")
                .bind(o.received_at)
                .push(", ")
                .bind(o.deadline)
                .push(", ")
                .bind(o.closed_at)
                .push(", ")
                .bind(o.reopened)
                .push(", ")
                .bind(o.callback.map_or("", |c| c.as_str()))
                .push(", ")
                .bind(o.resolved.map(i64::from))
                .push(", ")
                .bind(rules::month_of(o.received_at, offset))
                .push(", ")
                .bind(rules::month_of(o.deadline, offset))
                .push(", ")
                .bind(o.closed_at.map(|c| rules::month_of(c, offset)))
                .push(", ")
                .bind(t)
                .push(", ")
                .bind(t)
                .push(")");
        }
        debug_assert_eq!(sql.args.len(), chunk.len() * ORDER_ARITY);
        sql.push(
            " on conflict (order_no) do update set hotline_source_id = excluded.hotline_source_id, \
             hotline_import_id = excluded.hotline_import_id, unit_id = excluded.unit_id, unit_text = excluded.unit_text, \
             title = excluded.title, received_at = excluded.received_at, deadline = excluded.deadline, \
             closed_at = excluded.closed_at, reopened = excluded.reopened, callback = excluded.callback, \
             resolved = excluded.resolved, received_month = excluded.received_month, due_month = excluded.due_month, \
             closed_month = excluded.closed_month, updated_at = excluded.updated_at",
        );
        sqlx::query_with(&bulk_text(tx.backend(), &sql.text), sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    let delta: Vec<((i64, String), Counts)> =
        delta.into_iter().filter(|(_, c)| !c.is_zero()).collect();
    add_months(tx, &delta).await?;
    Ok((created, updated, unchanged))
}

/// A statement of thousands of values as the backend parses it fastest. SQLite looks each
/// `$n` up among the names seen before (quadratic: a 1,000-order insert with 17,000 of them
/// took half a second to parse); a plain `?` is the next value, as `Sql` binds them in order.
pub fn bulk_text(backend: Backend, text: &str) -> String {
    if backend == Backend::Postgres {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Adds `delta` to the unit months (made when missing).
pub(super) async fn add_months(
    tx: &mut WriteTx,
    delta: &[((i64, String), Counts)],
) -> AppResult<()> {
    for chunk in delta.chunks(BATCH) {
        let mut sql = Sql::new(
            "insert into hotline_month (unit_id, month, received, due, on_time, closed, reached, satisfied, resolved_known, resolved, reopened) values ",
        );
        for (i, ((unit, month), c)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(*unit).push(", ").bind(month.clone());
            for v in [
                c.received,
                c.due,
                c.on_time,
                c.closed,
                c.reached,
                c.satisfied,
                c.resolved_known,
                c.resolved,
                c.reopened,
            ] {
                sql.push(", ").bind(v);
            }
            sql.push(")");
        }
        sql.push(
            " on conflict (unit_id, month) do update set received = hotline_month.received + excluded.received, \
             due = hotline_month.due + excluded.due, on_time = hotline_month.on_time + excluded.on_time, \
             closed = hotline_month.closed + excluded.closed, reached = hotline_month.reached + excluded.reached, \
             satisfied = hotline_month.satisfied + excluded.satisfied, resolved_known = hotline_month.resolved_known + excluded.resolved_known, \
             resolved = hotline_month.resolved + excluded.resolved, reopened = hotline_month.reopened + excluded.reopened",
        );
        sqlx::query_with(&bulk_text(tx.backend(), &sql.text), sql.arguments())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// The aggregates recomputed from every order (for checking the kept ones, and the demo).
pub const RECOMPUTE_SQL: &str = "select unit_id, month, \
     cast(sum(received) as bigint) as received, cast(sum(due) as bigint) as due, cast(sum(on_time) as bigint) as on_time, \
     cast(sum(closed) as bigint) as closed, cast(sum(reached) as bigint) as reached, cast(sum(satisfied) as bigint) as satisfied, \
     cast(sum(resolved_known) as bigint) as resolved_known, cast(sum(resolved) as bigint) as resolved, cast(sum(reopened) as bigint) as reopened \
     from ( \
       select unit_id, received_month as month, 1 as received, 0 as due, 0 as on_time, 0 as closed, 0 as reached, 0 as satisfied, 0 as resolved_known, 0 as resolved, 0 as reopened from hotline_order \
       union all \
       select unit_id, due_month, 0, 1, case when closed_at is not null and closed_at <= deadline then 1 else 0 end, 0, 0, 0, 0, 0, 0 from hotline_order \
       union all \
       select unit_id, closed_month, 0, 0, 0, 1, \
         case when callback in ('satisfied', 'basic', 'dissatisfied') then 1 else 0 end, \
         case when callback in ('satisfied', 'basic') then 1 else 0 end, \
         case when resolved is not null then 1 else 0 end, \
         case when resolved = 1 then 1 else 0 end, \
         case when reopened > 0 then 1 else 0 end from hotline_order where closed_at is not null \
     ) x group by unit_id, month";

/// A unit month as kept or recomputed.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthRow {
    pub unit_id: i64,
    pub month: String,
    pub received: i64,
    pub due: i64,
    pub on_time: i64,
    pub closed: i64,
    pub reached: i64,
    pub satisfied: i64,
    pub resolved_known: i64,
    pub resolved: i64,
    pub reopened: i64,
}

impl MonthRow {
    pub fn counts(&self) -> Counts {
        Counts {
            received: self.received,
            due: self.due,
            on_time: self.on_time,
            closed: self.closed,
            reached: self.reached,
            satisfied: self.satisfied,
            resolved_known: self.resolved_known,
            resolved: self.resolved,
            reopened: self.reopened,
        }
    }
}

/// The kept aggregates and a full recomputation, both without empty months, ordered alike.
pub async fn kept_and_recomputed(state: &AppState) -> AppResult<(Vec<MonthRow>, Vec<MonthRow>)> {
    let kept: Vec<MonthRow> = sqlx::query_as(
        "select unit_id, month, received, due, on_time, closed, reached, satisfied, resolved_known, resolved, reopened \
         from hotline_month where received + due + on_time + closed + reached + satisfied + resolved_known + resolved + reopened > 0 \
         order by unit_id, month",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let full: Vec<MonthRow> = sqlx::query_as(&format!("{RECOMPUTE_SQL} order by unit_id, month"))
        .fetch_all(&state.db.pool)
        .await?;
    Ok((kept, full))
}

// ---------------------------------------------------------------- imports made

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ImportLine {
    pub hotline_import_id: i64,
    pub source_name: String,
    pub file_name: String,
    pub row_count: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub created_by_name: String,
    pub created_at: i64,
}

impl ImportLine {
    pub fn at(&self) -> String {
        crate::clock::fmt_time(self.created_at)
    }
}

pub async fn imports(
    state: &AppState,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<ImportLine>, i64)> {
    let rows = sqlx::query_as(
        "select i.hotline_import_id, s.name as source_name, i.file_name, i.row_count, i.created, i.updated, i.unchanged, \
         coalesce(u.display_name, '') as created_by_name, i.created_at \
         from hotline_import i join hotline_source s on s.hotline_source_id = i.hotline_source_id \
         left join app_user u on u.user_id = i.created_by order by i.hotline_import_id desc limit $1 offset $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("select count(*) from hotline_import")
        .fetch_one(&state.db.pool)
        .await?;
    Ok((rows, total))
}

/// The row errors as a workbook to download.
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

/// The template a centre's export can be copied into.
pub fn template() -> AppResult<Vec<u8>> {
    let headers: Vec<&str> = Field::ALL.iter().map(|f| f.label()).collect();
    crate::xlsx::write_sheet(
        "工单",
        &headers,
        &[vec![
            "GD20220301001".into(),
            "2022-03-01 09:30".into(),
            "市示例局".into(),
            "2022-03-08 09:30".into(),
            "2022-03-04 16:00".into(),
            "满意".into(),
            "已解决".into(),
            "0".into(),
            "小区路灯不亮".into(),
        ]],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_statements_number_their_values_as_each_backend_reads_fastest() {
        let mut sql = Sql::new("insert into t (a, b) values (");
        sql.bind(1)
            .push(", ")
            .bind("x$1")
            .push("), (")
            .bind(2)
            .push(", ")
            .bind(3)
            .push(")");
        assert_eq!(
            bulk_text(Backend::Sqlite, &sql.text),
            "insert into t (a, b) values (?, ?), (?, ?)"
        );
        assert_eq!(bulk_text(Backend::Postgres, &sql.text), sql.text);
        // A dollar sign not before a digit is kept.
        assert_eq!(
            bulk_text(Backend::Sqlite, "select '$x', $12"),
            "select '$x', ?"
        );
    }
}
