//! 12345热线 pages: the rates of a period (city, categories, units, the trend, the units at
//! the bottom; a unit admin's own figures and its category's distribution), the orders behind
//! any figure, the import with its column mapping and preview, and the unit aliases. Every
//! list is searched, sorted, paged and exported.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use serde::Deserialize;

use super::rules::{Field, Mapping};
use super::store::{
    self, Alias, AliasInput, ImportLine, Outcome as ImportOutcome, Preview, RowError, Source,
    Upload,
};
use super::views::{
    self, Basis, OrderFilter, Orders, Outcome, Rates, RatesFilter, UnitInfo, DIRS, ORDER_SORTS,
    UNIT_SORTS,
};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx, Pager, Paging};
use crate::xlsx::{self, Cell};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/hotline", get(rates_page))
        .route("/hotline/export", get(rates_export))
        .route("/hotline/orders", get(orders_page))
        .route("/hotline/orders/export", get(orders_export))
        .route("/hotline/import", get(import_page).post(import_post))
        .route("/hotline/import/preview", post(preview_post))
        .route("/hotline/import/template", get(template_get))
        .route("/hotline/import/export", get(imports_export))
        .route("/hotline/aliases", get(aliases_page).post(alias_create))
        .route("/hotline/aliases/delete", post(alias_delete))
        .route("/hotline/aliases/export", get(aliases_export))
}

fn ctx(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
    PageCtx::new(user, title, path, flash)
        .crumb("作风与监督", "")
        .crumb("12345热线", "/hotline")
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    web::query_string(
        &pairs
            .iter()
            .filter_map(|(k, v)| v.clone().filter(|s| !s.is_empty()).map(|v| (*k, v)))
            .collect::<Vec<_>>(),
    )
}

fn years() -> Vec<i32> {
    let this = crate::clock::today().year();
    (this - 5..=this).rev().collect()
}

const PERIODS: &[(&str, &str)] = &[
    ("", "全年"),
    ("h1", "上半年"),
    ("h2", "下半年"),
    ("q1", "第一季度"),
    ("q2", "第二季度"),
    ("q3", "第三季度"),
    ("q4", "第四季度"),
    ("m1", "1月"),
    ("m2", "2月"),
    ("m3", "3月"),
    ("m4", "4月"),
    ("m5", "5月"),
    ("m6", "6月"),
    ("m7", "7月"),
    ("m8", "8月"),
    ("m9", "9月"),
    ("m10", "10月"),
    ("m11", "11月"),
    ("m12", "12月"),
];

// ---------------------------------------------------------------- rates

/// The rates' filter and the page of units.
struct RatesQuery {
    f: RatesFilter,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Deserialize)]
struct RatesParams {
    year: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    category_id: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

impl From<RatesParams> for RatesQuery {
    fn from(p: RatesParams) -> Self {
        RatesQuery {
            f: RatesFilter {
                year: p.year,
                period: p.period,
                from: p.from,
                to: p.to,
                category_id: p.category_id,
                q: p.q,
                sort: p.sort,
                dir: p.dir,
            },
            page: p.page,
            per_page: p.per_page,
        }
    }
}

#[derive(Template)]
#[template(path = "hotline/rates.html")]
struct RatesPage {
    ctx: PageCtx,
    r: Rates,
    f: RatesFilter,
    units: Vec<views::UnitRate>,
    pager: Pager,
    committee: bool,
    categories: Vec<(i64, String)>,
    years: Vec<i32>,
    periods: &'static [(&'static str, &'static str)],
    sorts: &'static [(&'static str, &'static str)],
    dirs: &'static [(&'static str, &'static str)],
    /// The period as a query string, for the links to orders.
    period_q: String,
    /// The filter as a query string (export, pager).
    query: String,
}

impl RatesPage {
    /// A link to the orders behind a figure of the total (category or city as filtered).
    fn orders(&self, extra: &str) -> String {
        let mut q = self.period_q.clone();
        if let Some(c) = self
            .f
            .category_id
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            q.push_str(&format!("&category_id={c}"));
        }
        format!("/hotline/orders?{q}&{extra}")
    }
    fn unit_orders(&self, unit: &i64, extra: &str) -> String {
        format!("/hotline/orders?{}&unit_id={unit}&{extra}", self.period_q)
    }
    fn category_orders(&self, category: &i64, extra: &str) -> String {
        format!(
            "/hotline/orders?{}&category_id={category}&{extra}",
            self.period_q
        )
    }
    fn chart_width(&self) -> usize {
        self.r.trend.len().max(1) * 24
    }
    fn period_sel(&self, k: &str) -> bool {
        self.f.period.as_deref().unwrap_or("") == k
    }
    fn year_sel(&self, y: &i32) -> bool {
        self.f.year.as_deref().map(str::trim).unwrap_or("") == y.to_string()
            || (self.f.year.as_deref().unwrap_or("").trim().is_empty()
                && *y == crate::clock::today().year())
    }
    fn cat_sel(&self, id: &i64) -> bool {
        self.f.category_id.as_deref().map(str::trim) == Some(id.to_string().as_str())
    }
    fn sort_sel(&self, k: &str) -> bool {
        self.f.sort.as_deref().unwrap_or("name") == k
    }
    fn dir_sel(&self, k: &str) -> bool {
        self.f.dir.as_deref().unwrap_or("asc") == k
    }
}

fn category_options(units: &[UnitInfo]) -> Vec<(i64, String)> {
    let mut v: Vec<(i64, String)> = units
        .iter()
        .map(|u| (u.category_id, u.category_name.clone()))
        .collect();
    v.dedup();
    v
}

async fn rates_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<RatesParams>,
) -> AppResult<Response> {
    let q = RatesQuery::from(q);
    let r = views::rates(&state, &user, &q.f).await?;
    let paging = Paging {
        page: q.page,
        per_page: q.per_page,
    };
    let mut pairs = q.f.period().pairs();
    let period_q = query(&[
        ("from", Some(r.range.from.clone())),
        ("to", Some(r.range.to.clone())),
    ]);
    pairs.extend([
        ("category_id", q.f.category_id.clone()),
        ("q", q.f.q.clone()),
        ("sort", q.f.sort.clone()),
        ("dir", q.f.dir.clone()),
    ]);
    let qs = query(&pairs);
    let all = views::units(&state).await?;
    let page = web::ListPage::paged(r.units.clone(), &paging);
    web::render(&RatesPage {
        ctx: ctx(
            &user,
            &format!("{}热线办理质量", r.label),
            "/hotline",
            flash,
        ),
        pager: Pager::new(&paging, page.total, "/hotline", &qs),
        units: page.items,
        committee: user.is_committee(),
        categories: category_options(&all),
        years: years(),
        periods: PERIODS,
        sorts: UNIT_SORTS,
        dirs: DIRS,
        period_q,
        query: qs,
        f: q.f,
        r,
    })
}

async fn rates_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RatesParams>,
) -> AppResult<Response> {
    let q = RatesQuery::from(q);
    let r = views::rates(&state, &user, &q.f).await?;
    let data: Vec<Vec<Cell>> = r
        .units
        .iter()
        .map(|u| {
            let c = &u.counts;
            vec![
                Cell::text(u.category_name.clone()),
                Cell::text(u.unit_name.clone()),
                Cell::Int(c.received),
                Cell::Int(c.due),
                Cell::Int(c.on_time),
                Cell::percent(c.on_time_rate()),
                Cell::Int(c.closed),
                Cell::Int(c.reached),
                Cell::Int(c.satisfied),
                Cell::percent(c.satisfaction_rate()),
                Cell::Int(c.resolved_known),
                Cell::Int(c.resolved),
                Cell::percent(c.resolution_rate()),
                Cell::Int(c.reopened),
            ]
        })
        .collect();
    Ok(xlsx::download(
        &format!("热线办理质量{}.xlsx", r.label),
        xlsx::write_table(
            "单位",
            &[
                "类别",
                "承办单位",
                "受理工单",
                "到期工单",
                "按时办结",
                "按时办结率",
                "办结工单",
                "回访成功",
                "满意和基本满意",
                "回访满意率",
                "回访答复是否解决",
                "已解决",
                "问题解决率",
                "重办工单",
            ],
            &data,
        )?,
    ))
}

// ---------------------------------------------------------------- orders

#[derive(Template)]
#[template(path = "hotline/orders.html")]
struct OrdersPage {
    ctx: PageCtx,
    o: Orders,
    f: OrderFilter,
    pager: Pager,
    units: Vec<(i64, String)>,
    categories: Vec<(i64, String)>,
    bases: Vec<(&'static str, &'static str)>,
    outcomes: Vec<(&'static str, &'static str)>,
    sorts: &'static [(&'static str, &'static str)],
    query: String,
    heading: String,
}

impl OrdersPage {
    fn sel(v: &Option<String>, k: &str) -> bool {
        v.as_deref().map(str::trim).unwrap_or("") == k
    }
    fn unit_sel(&self, id: &i64) -> bool {
        Self::sel(&self.f.unit_id, &id.to_string())
    }
    fn cat_sel(&self, id: &i64) -> bool {
        Self::sel(&self.f.category_id, &id.to_string())
    }
    fn basis_sel(&self, k: &str) -> bool {
        self.o.basis.as_str() == k
    }
    fn outcome_sel(&self, k: &str) -> bool {
        self.o.outcome.is_some_and(|o| o.as_str() == k)
    }
    fn sort_sel(&self, k: &str) -> bool {
        views::sort_key(&self.f, self.o.basis) == k
    }
    fn asc(&self) -> bool {
        self.f.dir.as_deref() == Some("asc")
    }
}

fn order_pairs(f: &OrderFilter, o: &Orders) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("from", Some(o.range.from.clone())),
        ("to", Some(o.range.to.clone())),
        ("unit_id", f.unit_id.clone()),
        ("category_id", f.category_id.clone()),
        ("basis", Some(o.basis.as_str().to_string())),
        ("outcome", o.outcome.map(|x| x.as_str().to_string())),
        ("q", f.q.clone()),
        ("sort", f.sort.clone()),
        ("dir", f.dir.clone()),
    ]
}

async fn orders_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(f): Query<OrderFilter>,
) -> AppResult<Response> {
    let o = views::orders(&state, &user, &f, false).await?;
    let qs = query(&order_pairs(&f, &o));
    let all = views::units(&state).await?;
    let own = views::scope_units(&user);
    let units: Vec<(i64, String)> = all
        .iter()
        .filter(|u| own.as_ref().is_none_or(|o| o.contains(&u.unit_id)))
        .map(|u| (u.unit_id, u.name.clone()))
        .collect();
    let unit_name = f
        .unit_id
        .as_deref()
        .and_then(|u| u.trim().parse::<i64>().ok())
        .and_then(|u| all.iter().find(|x| x.unit_id == u))
        .map(|u| u.name.clone());
    let heading = format!(
        "{}{}（按{}）{}",
        unit_name.map_or(String::new(), |n| format!("{n} · ")),
        o.range.label(),
        o.basis.label(),
        o.outcome
            .map_or(String::new(), |x| format!(" · {}", x.label()))
    );
    web::render(&OrdersPage {
        ctx: ctx(&user, "热线工单", "/hotline/orders", flash).crumb("热线工单", "/hotline/orders"),
        pager: Pager::new(
            &Paging {
                page: f.page,
                per_page: f.per_page,
            },
            o.total,
            "/hotline/orders",
            &qs,
        ),
        units,
        categories: if own.is_none() {
            category_options(&all)
        } else {
            Vec::new()
        },
        bases: Basis::options(),
        outcomes: Outcome::options(),
        sorts: ORDER_SORTS,
        query: qs,
        heading,
        o,
        f,
    })
}

async fn orders_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<OrderFilter>,
) -> AppResult<Response> {
    let o = views::orders(&state, &user, &f, true).await?;
    let mut w = xlsx::TableWriter::new(
        "工单",
        &[
            "工单编号",
            "承办单位",
            "诉求标题",
            "受理时间",
            "办理时限",
            "办结时间",
            "办理状态",
            "回访结果",
            "是否解决",
            "重办次数",
        ],
    )?;
    for r in &o.rows {
        w.push(&[
            Cell::text(r.order_no.clone()),
            Cell::text(r.unit_name.clone()),
            Cell::text(r.title.clone()),
            Cell::Time(r.received_at),
            Cell::Time(r.deadline),
            r.closed_at.map_or_else(|| Cell::text(""), Cell::Time),
            Cell::text(r.status()),
            Cell::text(r.callback_label()),
            Cell::text(r.resolved_label()),
            Cell::Int(r.reopened),
        ])?;
    }
    Ok(xlsx::download(
        &format!("热线工单{}.xlsx", o.range.label()),
        w.finish()?,
    ))
}

// ---------------------------------------------------------------- import

#[derive(Template)]
#[template(path = "hotline/import.html")]
struct ImportPage {
    ctx: PageCtx,
    sources: Vec<Source>,
    source: String,
    imports: Vec<ImportLine>,
    pager: Pager,
    result: Option<ImportResult>,
}

struct ImportResult {
    ok: Option<(i64, usize, usize, usize, usize)>,
    message: Option<String>,
    errors: Vec<RowError>,
    total_errors: usize,
    rows: usize,
    report: Option<String>,
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn render_import(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    paging: Paging,
    source: String,
    result: Option<ImportResult>,
) -> AppResult<Response> {
    let (imports, total) = store::imports(state, paging.per_page(), paging.offset()).await?;
    web::render(&ImportPage {
        ctx: ctx(user, "热线工单导入", "/hotline/import", flash)
            .crumb("工单导入", "/hotline/import"),
        sources: store::sources(state).await?,
        source,
        imports,
        pager: Pager::new(&paging, total, "/hotline/import", ""),
        result,
    })
}

async fn import_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    render_import(
        &state,
        &user,
        flash,
        Paging {
            page: q.page,
            per_page: q.per_page,
        },
        String::new(),
        None,
    )
    .await
}

/// The upload's parts: the file, the source's name, a mapping (JSON, or one `map_<field>`
/// per field as the page's selects send it).
pub async fn read_upload(mut mp: Multipart, max: usize) -> AppResult<Upload> {
    let too_large = || AppError::TooLarge(format!("文件超过{}MB，请拆分后上传", max / 1024 / 1024));
    let incomplete = || AppError::invalid("上传的内容不完整，请重新选择文件上传");
    let mut up = Upload {
        file_name: String::new(),
        bytes: Vec::new(),
        source: String::new(),
        mapping: None,
    };
    let mut selects = Mapping::default();
    let mut any_select = false;
    while let Some(field) = mp.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            incomplete()
        }
    })? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            up.file_name = field.file_name().unwrap_or_default().to_string();
            let lower = up.file_name.to_lowercase();
            if !(lower.is_empty() || lower.ends_with(".xlsx") || lower.ends_with(".csv")) {
                return Err(AppError::field(
                    "file",
                    "只支持 .xlsx 或 .csv 文件（旧版 .xls 请另存为 .xlsx）",
                ));
            }
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    incomplete()
                }
            })?;
            if bytes.len() > max {
                return Err(too_large());
            }
            up.bytes = bytes.to_vec();
            continue;
        }
        let text = field.text().await.map_err(|_| incomplete())?;
        if text.len() > 64 * 1024 {
            return Err(AppError::invalid("表单内容过长"));
        }
        match name.as_str() {
            "source" => up.source = text,
            "mapping" if !text.trim().is_empty() => {
                up.mapping =
                    Some(Mapping::parse(&text).map_err(|e| AppError::field("mapping", e))?);
            }
            n => {
                if let Some(f) = n.strip_prefix("map_").and_then(Field::from_key) {
                    any_select = true;
                    selects.set(f, &text);
                }
            }
        }
    }
    if up.bytes.is_empty() {
        return Err(AppError::field("file", "请选择要上传的工单文件"));
    }
    if any_select && up.mapping.is_none() {
        up.mapping = Some(selects);
    }
    Ok(up)
}

fn result_of(r: AppResult<ImportOutcome>) -> AppResult<(StatusCode, ImportResult)> {
    let empty = ImportResult {
        ok: None,
        message: None,
        errors: Vec::new(),
        total_errors: 0,
        rows: 0,
        report: None,
    };
    Ok(match r {
        Ok(ImportOutcome::Imported {
            hotline_import_id,
            rows,
            created,
            updated,
            unchanged,
        }) => (
            StatusCode::OK,
            ImportResult {
                ok: Some((hotline_import_id, rows, created, updated, unchanged)),
                rows,
                ..empty
            },
        ),
        Ok(ImportOutcome::Rejected {
            errors,
            total_errors,
            rows,
        }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportResult {
                report: Some(
                    base64::engine::general_purpose::STANDARD.encode(store::error_report(&errors)?),
                ),
                errors: errors.into_iter().take(200).collect(),
                total_errors,
                rows,
                ..empty
            },
        ),
        Err(e) => {
            let (status, message) = web::refusal(e).or_else(|e| match e {
                AppError::TooLarge(m) => Ok((StatusCode::PAYLOAD_TOO_LARGE, m)),
                e => Err(e),
            })?;
            (
                status,
                ImportResult {
                    message: Some(message),
                    ..empty
                },
            )
        }
    })
}

async fn import_post(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    let mut source = String::new();
    let r = match read_upload(mp, state.config.max_upload_bytes).await {
        Ok(up) => {
            source = up.source.clone();
            store::import(&state, &user.actor(), up).await
        }
        Err(e) => Err(e),
    };
    let (status, result) = result_of(r)?;
    let page = render_import(
        &state,
        &user,
        FlashIn(None),
        Paging {
            page: None,
            per_page: None,
        },
        source,
        Some(result),
    )
    .await?;
    Ok((status, page).into_response())
}

#[derive(Template)]
#[template(path = "hotline/preview.html")]
struct PreviewPart {
    p: Option<Preview>,
    error: Option<String>,
    fields: Vec<(&'static str, &'static str, bool)>,
}

impl PreviewPart {
    fn chosen(&self, field: &str, header: &str) -> bool {
        self.p
            .as_ref()
            .and_then(|p| p.mapping.get(field))
            .is_some_and(|h| h == header)
    }
}

async fn preview_post(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    let r = match read_upload(mp, state.config.max_upload_bytes).await {
        Ok(up) => store::preview(&state, &up).await,
        Err(e) => Err(e),
    };
    let fields = Field::ALL
        .iter()
        .map(|f| (f.as_str(), f.label(), f.required()))
        .collect();
    let (status, part) = match r {
        Ok(p) => (
            StatusCode::OK,
            PreviewPart {
                p: Some(p),
                error: None,
                fields,
            },
        ),
        Err(e) => {
            let (status, message) = web::refusal(e).or_else(|e| match e {
                AppError::TooLarge(m) => Ok((StatusCode::PAYLOAD_TOO_LARGE, m)),
                e => Err(e),
            })?;
            (
                status,
                PreviewPart {
                    p: None,
                    error: Some(message),
                    fields,
                },
            )
        }
    };
    // htmx swaps only a 2xx answer by default: the refusal is shown as the fragment too.
    let html = part
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    let _ = status;
    Ok(axum::response::Html(html).into_response())
}

async fn template_get(user: CurrentUser) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    Ok(xlsx::download("热线工单导入模板.xlsx", store::template()?))
}

async fn imports_export(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    let (rows, _) = store::imports(&state, i64::from(xlsx::MAX_ROWS) - 1, 0).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|i| {
            vec![
                Cell::Time(i.created_at),
                Cell::text(i.source_name.clone()),
                Cell::text(i.file_name.clone()),
                Cell::Int(i.row_count),
                Cell::Int(i.created),
                Cell::Int(i.updated),
                Cell::Int(i.unchanged),
                Cell::text(i.created_by_name.clone()),
            ]
        })
        .collect();
    Ok(xlsx::download(
        "热线工单导入记录.xlsx",
        xlsx::write_table(
            "导入记录",
            &[
                "导入时间",
                "热线来源",
                "文件",
                "行数",
                "新增",
                "更新",
                "未变化",
                "导入人",
            ],
            &data,
        )?,
    ))
}

// ---------------------------------------------------------------- aliases

#[derive(Deserialize)]
struct AliasQuery {
    q: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Template)]
#[template(path = "hotline/aliases.html")]
struct AliasesPage {
    ctx: PageCtx,
    rows: Vec<Alias>,
    pager: Pager,
    q: String,
    units: Vec<(i64, String)>,
    error: Option<String>,
    alias: String,
}

async fn render_aliases(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    q: &AliasQuery,
    error: Option<String>,
    alias: String,
) -> AppResult<Response> {
    let all = store::aliases(state, q.q.as_deref()).await?;
    let paging = Paging {
        page: q.page,
        per_page: q.per_page,
    };
    let qs = query(&[("q", q.q.clone())]);
    let page = web::ListPage::paged(all, &paging);
    let units = views::units(state)
        .await?
        .iter()
        .map(|u| (u.unit_id, u.name.clone()))
        .collect();
    let t = AliasesPage {
        ctx: ctx(user, "承办单位别名", "/hotline/aliases", flash)
            .crumb("承办单位别名", "/hotline/aliases"),
        pager: Pager::new(&paging, page.total, "/hotline/aliases", &qs),
        rows: page.items,
        q: q.q.clone().unwrap_or_default(),
        units,
        error,
        alias,
    };
    if t.error.is_some() {
        web::render_invalid(&t)
    } else {
        web::render(&t)
    }
}

async fn aliases_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<AliasQuery>,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    render_aliases(&state, &user, flash, &q, None, String::new()).await
}

async fn alias_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<AliasInput>,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    match store::add_alias(&state, &user.actor(), &input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            "/hotline/aliases",
            &format!("已添加别名“{}”", input.alias.trim()),
        )),
        Err(e) => {
            let (_, msg) = web::refusal(e)?;
            let q = AliasQuery {
                q: None,
                page: None,
                per_page: None,
            };
            render_aliases(&state, &user, FlashIn(None), &q, Some(msg), input.alias).await
        }
    }
}

#[derive(Deserialize)]
struct AliasDelete {
    alias: String,
}

async fn alias_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<AliasDelete>,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    store::delete_alias(&state, &user.actor(), &input.alias).await?;
    Ok(web::redirect_with_flash(
        "/hotline/aliases",
        &format!("已删除别名“{}”", input.alias),
    ))
}

async fn aliases_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AliasQuery>,
) -> AppResult<Response> {
    user.require(super::may_import(&user))?;
    let rows = store::aliases(&state, q.q.as_deref()).await?;
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|a| Cell::texts(vec![a.alias.clone(), a.unit_name.clone()]))
        .collect();
    Ok(xlsx::download(
        "热线承办单位别名.xlsx",
        xlsx::write_table("别名", &["工单中的单位名称", "单位"], &data)?,
    ))
}
