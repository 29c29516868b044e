//! The audit admin's (审计管理员) audit log browser (filter, page, export, verify) and its API.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::action_label as audit_action_label;
use crate::audit::archive::{self, ArchiveRow};
use crate::audit::AuditRow;
use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::messages::audit_result_label;
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};

#[derive(Debug, Deserialize, Default, IntoParams)]
pub struct AuditFilter {
    /// Actor user name.
    pub actor: Option<String>,
    /// Action prefix, e.g. `member` or `login`.
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// From date (YYYY-MM-DD, Beijing time).
    pub from: Option<String>,
    /// To date inclusive.
    pub to: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Beijing midnight of a date as unix seconds.
fn day_start(s: &str) -> Option<i64> {
    let d = crate::text::parse_date(s).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp() - 8 * 3600)
}

impl AuditFilter {
    /// A date range that cannot be read is refused in words rather than ignored (an export
    /// of "2026-13-01 to …" would otherwise hold the whole log).
    fn check(&self) -> AppResult<()> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (v.to_string(), day_start(v)))
        };
        let mut errors = crate::error::FieldErrors::new();
        let from = given(&self.from);
        let to = given(&self.to);
        for (field, label, v) in [("from", "起始日期", &from), ("to", "截止日期", &to)] {
            if let Some((text, None)) = v {
                errors.insert(
                    field.into(),
                    format!("{label}“{text}”无法识别，请使用 2026-03-05 这样的格式"),
                );
            }
        }
        if let (Some((_, Some(a))), Some((_, Some(b)))) = (&from, &to) {
            if a > b {
                errors.insert("to".into(), "截止日期不能早于起始日期".into());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::fields(errors))
        }
    }

    fn apply(&self, sql: &mut Sql) {
        let val = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(a) = val(&self.actor) {
            sql.push(" and actor_name = ").bind(a);
        }
        if let Some(a) = val(&self.action) {
            sql.push(" and action like ").bind(format!("{a}%"));
        }
        if let Some(a) = val(&self.object_type) {
            sql.push(" and object_type = ").bind(a);
        }
        if let Some(a) = val(&self.object_id) {
            sql.push(" and object_id = ").bind(a);
        }
        if let Some(t) = val(&self.from).as_deref().and_then(day_start) {
            sql.push(" and at >= ").bind(t);
        }
        if let Some(t) = val(&self.to).as_deref().and_then(day_start) {
            sql.push(" and at < ").bind(t + 86400);
        }
    }

    fn query_string(&self) -> String {
        web::query_string(&[
            ("actor", self.actor.clone().unwrap_or_default()),
            ("action", self.action.clone().unwrap_or_default()),
            ("object_type", self.object_type.clone().unwrap_or_default()),
            ("object_id", self.object_id.clone().unwrap_or_default()),
            ("from", self.from.clone().unwrap_or_default()),
            ("to", self.to.clone().unwrap_or_default()),
        ])
    }
}

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    f: &AuditFilter,
    limit: Option<i64>,
) -> AppResult<(Vec<AuditRow>, i64)> {
    user.require(user.is_audit_admin())?;
    f.check()?;
    let p = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    let mut sql = Sql::new("select * from audit_log where 1 = 1");
    f.apply(&mut sql);
    sql.push(" order by audit_id desc limit ")
        .bind(limit.unwrap_or(p.per_page()));
    if limit.is_none() {
        sql.push(" offset ").bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new("select count(*) from audit_log where 1 = 1");
    f.apply(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/system/audit", get(page))
        .route("/system/audit/export", get(export_page))
        .route("/system/audit/verify", get(verify_page))
        .route("/system/audit/archives/{id}/file", get(archive_file_page))
        .route(
            "/system/audit/archives/{id}/export",
            get(archive_export_page),
        )
}

#[derive(Template)]
#[template(path = "system/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    rows: Vec<AuditRow>,
    pager: Pager,
    f: AuditFilter,
    export_query: String,
    verdict: Option<String>,
    verdict_ok: bool,
    archives: Vec<ArchiveRow>,
    retention_days: i64,
}

impl AuditPage {
    fn time(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
    fn label<'a>(&self, a: &'a str) -> &'a str {
        audit_action_label(a)
    }
    fn result<'a>(&self, r: &'a str) -> &'a str {
        audit_result_label(r)
    }
    fn v(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_default()
    }
    fn size(&self, bytes: &i64) -> String {
        web::fmt_bytes(*bytes)
    }
    fn archived(&self) -> i64 {
        self.archives.iter().map(|a| a.rows).sum()
    }
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    f: AuditFilter,
    flash: FlashIn,
    verdict: Option<(bool, String)>,
) -> AppResult<Response> {
    let (rows, total) = list(state, user, &f, None).await?;
    let archives = archive::list(&state.db).await?;
    let retention_days = crate::auth::policy::current(state)
        .await?
        .audit_retention_days;
    let qs = f.query_string();
    web::render(&AuditPage {
        ctx: PageCtx::new(user, "审计日志", "/system/audit", flash)
            .crumb("系统", "/system/users")
            .crumb("审计日志", "/system/audit"),
        pager: Pager::new(
            &Paging {
                page: f.page,
                per_page: f.per_page,
            },
            total,
            "/system/audit",
            &qs,
        ),
        rows,
        f,
        export_query: qs,
        verdict_ok: verdict.as_ref().is_some_and(|v| v.0),
        verdict: verdict.map(|v| v.1),
        archives,
        retention_days,
    })
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<AuditFilter>,
) -> AppResult<Response> {
    render(&state, &user, f, flash, None).await
}

/// The chain's verdict and the archive files' problems, in words; whether all is well.
fn describe(v: &crate::audit::Verdict, problems: &[(i64, String)]) -> (bool, String) {
    let mut text = match v {
        crate::audit::Verdict::Intact { rows, archived: 0 } => {
            format!("哈希链完整：共 {rows} 条记录，未发现篡改")
        }
        crate::audit::Verdict::Intact { rows, archived } => format!(
            "哈希链完整：日志中 {rows} 条记录，另有 {archived} 条已归档，首尾相接，未发现篡改"
        ),
        crate::audit::Verdict::Broken {
            audit_id,
            reason: "archive",
        } => format!("发现篡改：归档登记在第 {audit_id} 条记录处与上一归档不相接"),
        crate::audit::Verdict::Broken {
            audit_id: 0,
            reason,
        } => format!("发现篡改：{}", crate::audit::reason_label(reason)),
        crate::audit::Verdict::Broken { audit_id, reason } => format!(
            "发现篡改：第一处断裂在第 {audit_id} 条记录，{}",
            crate::audit::reason_label(reason)
        ),
    };
    for (id, p) in problems {
        text.push_str(&format!("；归档 #{id} 校验失败：{p}"));
    }
    let ok = matches!(v, crate::audit::Verdict::Intact { .. }) && problems.is_empty();
    (ok, text)
}

async fn check(state: &AppState) -> AppResult<(bool, String)> {
    let v = crate::audit::verify(&state.db).await?;
    let problems = archive::check_files(state).await?;
    Ok(describe(&v, &problems))
}

async fn verify_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Response> {
    user.require(user.is_audit_admin())?;
    let verdict = check(&state).await?;
    render(&state, &user, f, FlashIn(None), Some(verdict)).await
}

/// An archive the audit admin may read, its retrieval audited.
async fn archive_for(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    how: &str,
) -> AppResult<ArchiveRow> {
    user.require(user.is_audit_admin())?;
    let a = archive::get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::audit::record_alone(
        &state.db,
        &user.actor(),
        crate::audit::Entry::new(
            "audit.export",
            "audit_archive",
            id,
            format!(
                "{how}审计归档 #{id}（第 {} 至 {} 条，共 {} 条）",
                a.first_id, a.last_id, a.rows
            ),
        ),
    )
    .await?;
    Ok(a)
}

/// The sealed file as stored: what an assessor checks with `yaoshi audit verify`.
async fn archive_file(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Response> {
    let a = archive_for(state, user, id, "下载").await?;
    let bytes = crate::files::get(&state.config.data_dir, &a.file_hash).await?;
    let name = format!("yaoshi-audit-{}-{}.jsonl.zst", a.first_id, a.last_id);
    let mut r = Body::from(bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zstd"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn archive_file_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    archive_file(&state, &user, id).await
}

/// An archive's records as a workbook, after its seal and chain are checked.
async fn archive_export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let a = archive_for(&state, &user, id, "导出").await?;
    let rows = archive::open(&state, &a)
        .await
        .map_err(|e| AppError::invalid(format!("归档校验失败，不予导出：{e:#}")))?;
    let bytes = workbook(rows)?;
    Ok(crate::xlsx::download(
        &format!("审计归档-{}-{}.xlsx", a.first_id, a.last_id),
        bytes,
    ))
}

fn workbook(rows: Vec<AuditRow>) -> AppResult<Vec<u8>> {
    use crate::xlsx::Cell;
    let data: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|r| {
            vec![
                Cell::Int(r.audit_id),
                Cell::Time(r.at),
                Cell::Text(r.actor_name),
                Cell::Text(r.ip),
                Cell::text(audit_action_label(&r.action)),
                Cell::Text(r.object_type),
                Cell::Text(r.object_id),
                Cell::Text(r.summary),
                Cell::text(audit_result_label(&r.result)),
                Cell::Text(r.before_json),
                Cell::Text(r.after_json),
                Cell::Text(r.hash),
            ]
        })
        .collect();
    crate::xlsx::write_table(
        "审计日志",
        &[
            "序号",
            "时间",
            "操作人",
            "来源地址",
            "事件",
            "对象类型",
            "对象",
            "描述",
            "结果",
            "变更前",
            "变更后",
            "哈希",
        ],
        &data,
    )
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Response> {
    let (rows, total) = list(&state, &user, &f, Some(100_000)).await?;
    crate::audit::record_alone(
        &state.db,
        &user.actor(),
        crate::audit::Entry::new(
            "audit.export",
            "audit_log",
            "",
            format!(
                "导出审计日志 {} 条（{} 至 {}）",
                rows.len().min(total as usize),
                f.from.as_deref().unwrap_or("最早"),
                f.to.as_deref().unwrap_or("今天")
            ),
        ),
    )
    .await?;
    Ok(crate::xlsx::download("审计日志.xlsx", workbook(rows)?))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_export))
        .routes(routes!(api_verify))
        .routes(routes!(api_archives))
        .routes(routes!(api_archive_file))
}

/// The audit log as .xlsx, with the same filters (a date range: `from`, `to`); the export
/// is itself audited (audit admin only).
#[utoipa::path(get, path = "/audit/export", tag = "system", params(AuditFilter),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 403, body = crate::error::ErrorBody)))]
async fn api_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Response> {
    export_page(State(state), user, Query(f)).await
}

/// The audit log, newest first (audit admin only).
#[utoipa::path(get, path = "/audit", tag = "system", params(AuditFilter), responses((status = 200, body = crate::web::ListPage<AuditRow>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Json<crate::web::ListPage<AuditRow>>> {
    let (items, total) = list(&state, &user, &f, None).await?;
    Ok(Json(crate::web::ListPage { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResult {
    /// The chain and every archive file check out.
    pub intact: bool,
    /// Records in the live log.
    pub rows: i64,
    /// Records in archive files.
    pub archived: i64,
    /// The first row whose link or content does not match.
    pub broken_at: Option<i64>,
    /// Archives whose file fails its checks.
    pub broken_archives: Vec<i64>,
    pub message: String,
}

/// Check the audit hash chain.
#[utoipa::path(get, path = "/audit/verify", tag = "system", responses((status = 200, body = VerifyResult)))]
async fn api_verify(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<VerifyResult>> {
    user.require(user.is_audit_admin())?;
    let v = crate::audit::verify(&state.db).await?;
    let problems = archive::check_files(&state).await?;
    let (intact, message) = describe(&v, &problems);
    Ok(Json(match v {
        crate::audit::Verdict::Intact { rows, archived } => VerifyResult {
            intact,
            rows,
            archived,
            broken_at: None,
            broken_archives: problems.iter().map(|p| p.0).collect(),
            message,
        },
        crate::audit::Verdict::Broken { audit_id, .. } => VerifyResult {
            intact,
            rows: 0,
            archived: 0,
            broken_at: Some(audit_id),
            broken_archives: problems.iter().map(|p| p.0).collect(),
            message,
        },
    }))
}

/// Archives of records past the retention period, oldest first (audit admin only).
#[utoipa::path(get, path = "/audit/archives", tag = "system", responses((status = 200, body = Vec<ArchiveRow>), (status = 403, body = crate::error::ErrorBody)))]
async fn api_archives(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<Vec<ArchiveRow>>> {
    user.require(user.is_audit_admin())?;
    Ok(Json(archive::list(&state.db).await?))
}

/// One archive's sealed file (zstd-compressed JSON lines; audit admin only; audited).
#[utoipa::path(get, path = "/audit/archives/{id}/file", tag = "system", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/zstd", body = Vec<u8>), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn api_archive_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    archive_file(&state, &user, id).await
}

/// Archives what is older than the security policy's retention, as of `now`.
pub async fn archive_due(
    state: &AppState,
    now: i64,
    actor: &crate::audit::Actor,
) -> anyhow::Result<Vec<ArchiveRow>> {
    let days = crate::auth::policy::current(state)
        .await?
        .audit_retention_days;
    archive::run(state, now, days, actor).await
}

/// The daily retention pass, at `archive::HOUR` Beijing time.
pub const SCHEDULE: crate::jobs::Job = crate::jobs::Job {
    name: archive::JOB,
    at: |_| Some((archive::HOUR, 0)),
    run: archive_daily,
};

fn archive_daily(state: &AppState, now: time::OffsetDateTime) -> crate::jobs::JobFuture<'_> {
    Box::pin(async move {
        let actor = crate::audit::Actor::system();
        let made = crate::jobs::once(
            state,
            archive::JOB,
            now.date(),
            || archive_due(state, now.unix_timestamp(), &actor),
            |made: &Vec<ArchiveRow>| made.iter().map(|a| a.rows).sum::<i64>() as u64,
        )
        .await?;
        Ok(made.map(|m| m.len() as u64))
    })
}
