//! The audit admin's (审计管理员) audit log browser (filter, page, export, verify) and its API.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AuditRow;
use crate::auth::CurrentUser;
use crate::db::Sql;
use crate::error::AppResult;
use crate::messages::audit_action_label;
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
    let d = crate::org::normalize::parse_date(s).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp() - 8 * 3600)
}

impl AuditFilter {
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
}

impl AuditPage {
    fn time(&self, t: &i64) -> String {
        web::fmt_time(*t)
    }
    fn label<'a>(&self, a: &'a str) -> &'a str {
        audit_action_label(a)
    }
    fn v(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_default()
    }
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    f: AuditFilter,
    flash: FlashIn,
    verdict: Option<String>,
) -> AppResult<Response> {
    let (rows, total) = list(state, user, &f, None).await?;
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
        verdict,
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

fn describe(v: super::Verdict) -> String {
    match v {
        super::Verdict::Intact { rows } => format!("哈希链完整：共 {rows} 条记录，未发现篡改"),
        super::Verdict::Broken { audit_id, .. } => {
            format!("发现篡改：第一处断裂在第 {audit_id} 条记录")
        }
    }
}

async fn verify_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Response> {
    user.require(user.is_audit_admin())?;
    let v = super::verify(&state.db).await?;
    render(&state, &user, f, FlashIn(None), Some(describe(v))).await
}

async fn export_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Response> {
    let (rows, total) = list(&state, &user, &f, Some(100_000)).await?;
    super::record_alone(
        &state.db,
        &user.actor(),
        super::Entry::new(
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
    let data: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.audit_id.to_string(),
                web::fmt_time(r.at),
                r.actor_name,
                r.ip,
                audit_action_label(&r.action).to_string(),
                r.object_type,
                r.object_id,
                r.summary,
                r.result,
                r.before_json,
                r.after_json,
                r.hash,
            ]
        })
        .collect();
    let bytes = crate::xlsx::write_sheet(
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
    )?;
    Ok(crate::xlsx::download("审计日志.xlsx", bytes))
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_verify))
}

#[derive(Serialize, ToSchema)]
pub struct AuditPageJson {
    pub items: Vec<AuditRow>,
    pub total: i64,
}

/// The audit log, newest first (audit admin only).
#[utoipa::path(get, path = "/audit", tag = "system", params(AuditFilter), responses((status = 200, body = AuditPageJson), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<AuditFilter>,
) -> AppResult<Json<AuditPageJson>> {
    let (items, total) = list(&state, &user, &f, None).await?;
    Ok(Json(AuditPageJson { items, total }))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResult {
    pub intact: bool,
    pub rows: i64,
    /// The first row whose link or content does not match.
    pub broken_at: Option<i64>,
    pub message: String,
}

/// Check the audit hash chain.
#[utoipa::path(get, path = "/audit/verify", tag = "system", responses((status = 200, body = VerifyResult)))]
async fn api_verify(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<VerifyResult>> {
    user.require(user.is_audit_admin())?;
    let v = super::verify(&state.db).await?;
    Ok(Json(match v {
        super::Verdict::Intact { rows } => VerifyResult {
            intact: true,
            rows,
            broken_at: None,
            message: describe(v),
        },
        super::Verdict::Broken { audit_id, .. } => VerifyResult {
            intact: false,
            rows: 0,
            broken_at: Some(audit_id),
            message: describe(v),
        },
    }))
}
