//! Page plumbing shared by every feature: the layout context, navigation by role,
//! flash messages, error pages, pagination and embedded static assets.

pub mod home;
pub mod nul;

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ErrorInfo};

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
    pub crumbs: Vec<(String, String)>,
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
            flash: flash.0,
            unread: user.unread,
            password_days_left: user.password_days_left,
        }
    }

    pub fn crumb(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        self.crumbs.push((label.into(), href.into()));
        self
    }
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
/// into pages: a login redirect, the password-change redirect, or a Chinese error page.
pub async fn page_layer(req: Request, next: Next) -> Response {
    let had_flash = crate::auth::session::cookie_value(req.headers(), FLASH_COOKIE).is_some();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let is_htmx = req.headers().contains_key("hx-request");
    let mut resp = next.run(req).await;
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
            status => {
                let page = ErrorPage {
                    status: status.as_u16(),
                    message: info.message,
                    fields: info.fields.into_values().collect(),
                };
                match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(_) => status.into_response(),
                }
            }
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

/// Framework rejections answer in plain text; ours are JSON or HTML.
pub fn is_plain_text(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"))
}

/// A framework rejection (bad JSON, form, path or query) as one of our errors.
pub fn rejection_error(status: StatusCode, detail: &str) -> AppError {
    let detail = detail.trim();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge("上传内容超过大小限制（20MB）".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::invalid(
            "请求的内容类型不正确：JSON 接口请使用 Content-Type: application/json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => AppError::invalid("不支持该请求方法"),
        StatusCode::NOT_FOUND => AppError::NotFound,
        _ if detail.is_empty() => AppError::invalid("请求格式错误"),
        _ => AppError::invalid(format!("请求格式错误：{detail}")),
    }
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
pub fn is_htmx(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key("hx-request")
}
