//! Page plumbing shared by every feature: the layout context, navigation by role,
//! flash messages, error pages, pagination and embedded static assets.

pub mod home;
pub mod nul;
pub mod rejection;

pub use rejection::rejection_error;

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorInfo};
use crate::state::AppState;

pub const FLASH_COOKIE: &str = "yaoshi_flash";

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

pub async fn static_file(Path(path): Path<String>) -> Response {
    match Assets::get(&path) {
        Some(f) => {
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    (header::CACHE_CONTROL, "public, max-age=86400".to_string()),
                ],
                Body::from(f.data.into_owned()),
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub icon: &'static str,
    pub active: bool,
}

pub struct NavGroup {
    pub label: &'static str,
    pub items: Vec<NavItem>,
}

pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

/// What the layout needs on every page.
pub struct PageCtx {
    pub title: String,
    pub user_name: String,
    pub role_label: String,
    pub scope_name: String,
    pub nav: Vec<NavGroup>,
    pub crumbs: Vec<Crumb>,
    /// Menu links this user may not open: a crumb under one of them is shown as text.
    closed: Vec<&'static str>,
    pub flash: Option<Flash>,
    pub unread: i64,
    /// Days before the password expires, within the policy's warning period.
    pub password_days_left: Option<i64>,
}

impl PageCtx {
    pub fn new(user: &CurrentUser, title: &str, path: &str, flash: FlashIn) -> PageCtx {
        let primary = user.primary_role();
        let scope_name = primary
            .and_then(|r| user.grants.iter().find(|g| g.role == r))
            .map(|g| g.scope_name.clone())
            .unwrap_or_default();
        PageCtx {
            title: title.to_string(),
            user_name: user.display_name.clone(),
            role_label: primary
                .map(|r| r.label().to_string())
                .unwrap_or_else(|| "未分配角色".into()),
            scope_name,
            nav: nav_for(user, path),
            crumbs: Vec::new(),
            closed: closed_for(user),
            flash: flash.0,
            unread: user.unread,
            password_days_left: user.password_days_left,
        }
    }

    /// A step of the breadcrumb. It links to `href` unless the page is one the user may not
    /// open (a menu page not in their menu, or a page under one), or `href` is empty.
    pub fn crumb(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        let href: String = href.into();
        let open = !href.is_empty() && !self.closed.iter().any(|c| under(&href, c));
        self.crumbs.push(Crumb {
            label: label.into(),
            href: open.then_some(href),
        });
        self
    }
}

/// One step of the breadcrumb; text only when the user may not open its page.
pub struct Crumb {
    pub label: String,
    pub href: Option<String>,
}

/// Whether `href` is the menu page `entry` or a page under it (`/org/units/3` under
/// `/org/units`), its query aside.
fn under(href: &str, entry: &str) -> bool {
    let path = href.split('?').next().unwrap_or_default();
    path == entry || path.strip_prefix(entry).is_some_and(|r| r.starts_with('/'))
}

/// The menu pages `user` may not open, less those another entry they see covers too.
fn closed_for(user: &CurrentUser) -> Vec<&'static str> {
    let entries = NAV.get().map(Vec::as_slice).unwrap_or_default();
    let (open, closed): (Vec<&NavEntry>, Vec<&NavEntry>) =
        entries.iter().copied().partition(|e| (e.show)(user));
    closed
        .into_iter()
        .map(|e| e.href)
        .filter(|h| !open.iter().any(|o| o.href == *h))
        .collect()
}

/// A menu entry a feature offers (see `feature::Feature::nav`): shown to whoever `show`
/// lets see it, under its group, groups and entries in their order.
pub struct NavEntry {
    pub group: &'static str,
    pub group_order: u16,
    pub order: u16,
    pub label: &'static str,
    pub href: &'static str,
    pub icon: &'static str,
    /// The feature's own permission rule for the page behind the entry.
    pub show: fn(&CurrentUser) -> bool,
}

/// A group of the menu, as a feature names it: its label and where it goes.
pub struct MenuGroup {
    pub label: &'static str,
    pub order: u16,
}

impl MenuGroup {
    /// An entry of this group.
    pub const fn entry(
        &self,
        order: u16,
        label: &'static str,
        href: &'static str,
        icon: &'static str,
        show: fn(&CurrentUser) -> bool,
    ) -> NavEntry {
        NavEntry {
            group: self.label,
            group_order: self.order,
            order,
            label,
            href,
            icon,
            show,
        }
    }
}

static NAV: std::sync::OnceLock<Vec<&'static NavEntry>> = std::sync::OnceLock::new();

/// Sets the menu entries, once at start (every app of the process has the same features).
pub fn install_nav(mut entries: Vec<&'static NavEntry>) {
    entries.sort_by_key(|e| (e.group_order, e.order));
    let _ = NAV.set(entries);
}

fn nav_for(user: &CurrentUser, path: &str) -> Vec<NavGroup> {
    let active = |href: &str| {
        if href == "/" {
            path == "/"
        } else {
            path == href || path.starts_with(&format!("{href}/"))
        }
    };
    let mut groups = vec![NavGroup {
        label: "",
        items: vec![NavItem {
            label: "首页",
            href: "/",
            icon: "home",
            active: active("/"),
        }],
    }];
    for e in NAV.get().map(Vec::as_slice).unwrap_or_default() {
        if !(e.show)(user) {
            continue;
        }
        let item = NavItem {
            label: e.label,
            href: e.href,
            icon: e.icon,
            active: active(e.href),
        };
        match groups.last_mut() {
            Some(g) if g.label == e.group => g.items.push(item),
            _ => groups.push(NavGroup {
                label: e.group,
                items: vec![item],
            }),
        }
    }
    groups
}

/// The flash message carried over a redirect, read from its cookie.
pub struct FlashIn(pub Option<Flash>);

impl<S: Send + Sync> FromRequestParts<S> for FlashIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = crate::auth::session::cookie_value(&parts.headers, FLASH_COOKIE);
        Ok(FlashIn(raw.and_then(|v| {
            let (kind, text) = v.split_once(':')?;
            let text: String = url::form_urlencoded::parse(format!("t={text}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())?;
            let kind = if kind == "error" { "danger" } else { "success" };
            Some(Flash { kind, text })
        })))
    }
}

/// A 303 redirect that shows `text` on the next page.
pub fn redirect_with_flash(to: &str, text: &str) -> Response {
    let enc: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}=ok:{enc}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Renders a template into an HTML response.
pub fn render(t: &impl Template) -> AppResult<Response> {
    let html = t.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(Html(html).into_response())
}

/// A form page shown again with its errors: the same page, answered 422 so that scripts and
/// tests can tell a refusal from a success.
pub fn invalid(mut page: Response) -> Response {
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    page
}

/// Renders a form page with its errors, answered 422 (see `invalid`).
pub fn render_invalid(t: &impl Template) -> AppResult<Response> {
    Ok(invalid(render(t)?))
}

/// Clears a flash cookie once a page has shown it, and turns errors on page routes
/// into pages: a login redirect, the password-change redirect, or a Chinese error page —
/// inside the layout (menu, explanation, a way back) for a signed-in user.
pub async fn page_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let had_flash = crate::auth::session::cookie_value(req.headers(), FLASH_COOKIE).is_some();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let is_htmx = req.headers().contains_key("hx-request");
    let (parts, body) = req.into_parts();
    // Kept to find who is asking should the answer be an error page.
    let asked = parts.clone();
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    let status = resp.status();
    if status.is_client_error()
        && resp.extensions().get::<ErrorInfo>().is_none()
        && is_plain_text(&resp)
    {
        let detail = match axum::body::to_bytes(std::mem::take(resp.body_mut()), 16 * 1024).await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => String::new(),
        };
        resp = rejection_error(status, &detail).into_response();
        // The framework's status stands (400 for a bad path or query, 415, 422…).
        *resp.status_mut() = status;
        if let Some(info) = resp.extensions_mut().get_mut::<ErrorInfo>() {
            info.status = status;
        }
    }
    if let Some(info) = resp.extensions().get::<ErrorInfo>().cloned() {
        resp = match info.status {
            StatusCode::UNAUTHORIZED => {
                let next: String =
                    url::form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
                let to = format!("/login?next={next}");
                if is_htmx {
                    ([("HX-Redirect", to)], StatusCode::UNAUTHORIZED).into_response()
                } else {
                    Redirect::to(&to).into_response()
                }
            }
            StatusCode::FORBIDDEN
                if info.message == AppError::PasswordChangeRequired.to_string()
                    || info.message == AppError::PasswordExpired.to_string() =>
            {
                Redirect::to("/password").into_response()
            }
            StatusCode::FORBIDDEN
                if info.message == AppError::TotpEnrolmentRequired.to_string() =>
            {
                Redirect::to("/account/totp").into_response()
            }
            status => error_page(&state, asked, status, info, is_htmx).await,
        };
    }
    if had_flash && !resp.status().is_redirection() {
        resp.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("yaoshi_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    resp
}

/// An error as a page: in the layout for a signed-in user (not for an htmx fragment, which
/// lands inside a page that has it), bare otherwise.
async fn error_page(
    state: &AppState,
    mut asked: Parts,
    status: StatusCode,
    info: ErrorInfo,
    is_htmx: bool,
) -> Response {
    let fields: Vec<String> = info
        .fields
        .into_values()
        .filter(|f| !info.message.contains(f.as_str()))
        .collect();
    let user = if is_htmx {
        None
    } else {
        CurrentUser::from_request_parts(&mut asked, state)
            .await
            .ok()
    };
    let html = match user {
        Some(user) => {
            let (title, explanation) = error_words(status);
            let path = asked.uri.path().to_string();
            LayoutErrorPage {
                ctx: PageCtx::new(&user, title, &path, FlashIn(None)),
                status: status.as_u16(),
                explanation,
                message: info.message,
                fields,
                back: back_link(&asked),
            }
            .render()
        }
        None => ErrorPage {
            status: status.as_u16(),
            message: info.message,
            fields,
        }
        .render(),
    };
    match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

/// The title and a plain explanation of an error page.
fn error_words(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::FORBIDDEN => (
            "没有权限",
            "这个页面或操作不在您的权限范围内。如确需办理，请联系上级党组织的管理员。",
        ),
        StatusCode::NOT_FOUND => (
            "找不到页面",
            "网址可能有误，或者该记录已被删除、不在您的管理范围内。",
        ),
        StatusCode::CONFLICT => ("操作未完成", "操作与现有记录冲突，未作任何修改。"),
        StatusCode::PAYLOAD_TOO_LARGE => ("内容过大", "提交的内容超过了限制，未作任何修改。"),
        StatusCode::TOO_MANY_REQUESTS => ("操作过于频繁", "请稍等片刻再试。"),
        s if s.is_server_error() => (
            "服务器出错了",
            "请稍后再试；如果一再出现，请联系系统管理员。",
        ),
        _ => (
            "请求有误",
            "提交的内容或网址有误，未作任何修改。请按下面的提示更正后重试。",
        ),
    }
}

/// The page the user came from, when it is one of ours: the way back from an error.
fn back_link(asked: &Parts) -> Option<String> {
    let referer = asked.headers.get(header::REFERER)?.to_str().ok()?;
    let host = asked.headers.get(header::HOST)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    let authority = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str()?),
        None => url.host_str()?.to_string(),
    };
    if authority != host {
        return None;
    }
    let back = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    (back
        != asked
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_default())
    .then_some(back)
}

#[derive(Template)]
#[template(path = "error_page.html")]
struct LayoutErrorPage {
    ctx: PageCtx,
    status: u16,
    explanation: &'static str,
    message: String,
    fields: Vec<String>,
    back: Option<String>,
}

/// Framework rejections answer in plain text; ours are JSON or HTML.
pub fn is_plain_text(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    message: String,
    fields: Vec<String>,
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// `?page=&per_page=` with sane bounds.
#[derive(Debug, Deserialize, Clone, Copy, utoipa::IntoParams)]
pub struct Paging {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Paging {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn per_page(&self) -> i64 {
        self.per_page.unwrap_or(20).clamp(1, 200)
    }
    pub fn offset(&self) -> i64 {
        (self.page() - 1).saturating_mul(self.per_page())
    }
}

/// One page of a list as the API answers it: the rows asked for (`Paging`) and how many
/// match the filter in all.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<T> ListPage<T> {
    /// The page `paging` asks for out of every matching row, already filtered and sorted.
    pub fn paged(rows: Vec<T>, paging: &Paging) -> ListPage<T> {
        let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let items = rows
            .into_iter()
            .skip(usize::try_from(paging.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(paging.per_page()).unwrap_or(0))
            .collect();
        ListPage { items, total }
    }
}

/// A page's links, for the pager under a table.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub from: i64,
    pub to: i64,
}

impl Pager {
    /// `query` is the current filter query string without `page`.
    pub fn new(paging: &Paging, total: i64, base: &str, query: &str) -> Pager {
        let per = paging.per_page();
        let pages = ((total + per - 1) / per).max(1);
        let page = paging.page().min(pages);
        let link = |p: i64| {
            if query.is_empty() {
                format!("{base}?page={p}")
            } else {
                format!("{base}?{query}&page={p}")
            }
        };
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            from: if total == 0 { 0 } else { (page - 1) * per + 1 },
            to: (page * per).min(total),
        }
    }
}

/// Builds a query string from non-empty pairs.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// A file size as people read it: `812 KB`, `3.4 MB`.
pub fn fmt_bytes(size: i64) -> String {
    if size >= 1024 * 1024 {
        format!("{:.1} MB", size as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} KB", (size + 1023) / 1024)
    }
}

/// Whether a request came from htmx (it then gets a fragment rather than a page).
/// The address QR codes point at (the pledge poster, 扫码签到): the scheme and host the visitor used, when the host is a
/// plain host name (a forged one only ever lands in its own cache entry).
pub fn origin(headers: &axum::http::HeaderMap, client: &crate::auth::client::ClientInfo) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 100
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let scheme = if client.https { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// A refusal a page shows above its form instead of an error page: its status and the
/// message (every field named). Any other error stays an error.
pub fn refusal(e: AppError) -> AppResult<(StatusCode, String)> {
    match e {
        AppError::Invalid { message, fields } => {
            let msg = if fields.is_empty() {
                message
            } else {
                fields.into_values().collect::<Vec<_>>().join("；")
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, msg))
        }
        AppError::Conflict(m) => Ok((StatusCode::CONFLICT, m)),
        AppError::TooManyRequests(m) => Ok((StatusCode::TOO_MANY_REQUESTS, m)),
        e => Err(e),
    }
}

pub fn is_htmx(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A list's filter or sort value checked against its choices (`(key, label)`): an unknown
/// one is named with what may be chosen, rather than silently read as "all" or as the
/// default order. An empty value is the default and passes.
pub fn check_choice(
    errors: &mut crate::error::FieldErrors,
    field: &str,
    what: &str,
    value: Option<&str>,
    choices: &[(&str, &str)],
) {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return;
    };
    if choices.iter().any(|(k, _)| *k == v) {
        return;
    }
    let list: Vec<String> = choices.iter().map(|(k, l)| format!("{l}（{k}）")).collect();
    errors.insert(
        field.into(),
        format!("{what}“{v}”不可用，可选：{}", list.join("、")),
    );
}

/// A filter's record number (`unit_id=3`): anything but a whole number is named.
pub fn check_id(
    errors: &mut crate::error::FieldErrors,
    field: &str,
    what: &str,
    value: Option<&str>,
) {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return;
    };
    if v.parse::<i64>().is_err() {
        errors.insert(field.into(), format!("{what}应为编号（整数），收到“{v}”"));
    }
}

/// The checks of a list's filter as one answer: every bad value, each under its field.
pub fn filter_checked(errors: crate::error::FieldErrors) -> AppResult<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let message = errors.values().cloned().collect::<Vec<_>>().join("；");
    Err(AppError::Invalid {
        message,
        fields: errors,
    })
}
