//! Builds the application: state, the router of every feature, and the layers around it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::feature::Feature;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Yaoshi 钥匙 API", description = "机关党建分类指导系统接口。登录：POST /api/v1/session，或 Authorization: Bearer <API令牌>。"),
    servers((url = "/api/v1")),
    tags((name = "auth", description = "登录与令牌"), (name = "org", description = "组织体系"), (name = "orglife", description = "组织生活"), (name = "guidance", description = "分类指导：共性目标、个性要求、年度计划与进展"), (name = "grading", description = "分级定档：评分标准"), (name = "pledges", description = "一句话承诺：公开亮诺、督导践诺、践诺评价；/public/… 无需登录"), (name = "checkin", description = "扫码签到：会议与志愿服务活动共用"), (name = "system", description = "系统"), (name = "indicators", description = "指标：各功能发布的统计口径、数值及其依据记录"))
)]
struct ApiDoc;

/// Every feature, in the order of their menus' groups, daily steps and home cards. Adding a
/// feature is one line here.
pub const FEATURES: &[Feature] = &[
    crate::account::FEATURE,
    crate::org::FEATURE,
    crate::orglife::FEATURE,
    crate::guidance::FEATURE,
    crate::grading::FEATURE,
    crate::pledges::FEATURE,
    crate::volunteer::FEATURE,
    crate::hotline::FEATURE,
    crate::notify::FEATURE,
    crate::system::FEATURE,
];

pub async fn state(config: Config) -> anyhow::Result<AppState> {
    crate::files::prepare(&config.data_dir)?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    if !db.has_statistics().await? {
        // A database that never had planner statistics (an upgrade, an import by hand):
        // gather them in the background rather than delay the start.
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = db.analyze().await {
                tracing::warn!("collecting planner statistics failed: {e:#}");
            }
        });
    }
    let keys = crate::system::keys::startup(&db, &config).await?;
    // Audit entries a crash left between their commit and their seal (PostgreSQL).
    let sealed = crate::audit::seal_pending(&db).await?;
    if sealed > 0 {
        tracing::info!(sealed, "chained audit entries left waiting by the last run");
    }
    crate::feature::install(FEATURES);
    Ok(AppState::new(db, config, crate::ops::prometheus(), keys))
}

/// The API routes and their OpenAPI document, built together so they cannot drift apart.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::indicators::api())
        .merge(crate::checkin::api());
    for f in FEATURES {
        api = api.merge((f.api)());
    }
    api.split_for_parts()
}

pub fn router(state: AppState) -> Router {
    let (api_router, doc) = api();
    let doc = Arc::new(doc);
    let mut pages = Router::new()
        .merge(crate::web::home::routes())
        .merge(crate::checkin::pages());
    for f in FEATURES {
        pages = pages.merge((f.pages)());
    }
    let pages = pages
        .fallback(crate::web::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::web::nul::refuse,
        ))
        // Inside the page layer, so a refusal is a page in the layout.
        .layer(middleware::from_fn(same_origin))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::web::page_layer,
        ));
    Router::new()
        .nest(
            "/api/v1",
            api_router
                .fallback(api_not_found)
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    crate::web::nul::refuse,
                ))
                .layer(middleware::from_fn(same_origin))
                .layer(middleware::from_fn(api_rejections)),
        )
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(crate::ops::healthz))
        .route("/favicon.ico", get(|| async { axum::response::Redirect::permanent("/static/favicon.svg") }))
        .route("/readyz", get(crate::ops::readyz))
        .route(
            "/metrics",
            get(crate::ops::metrics).route_layer(middleware::from_fn_with_state(
                state.clone(),
                crate::auth::client::metrics_gate,
            )),
        )
        .route("/static/{*path}", get(crate::web::static_file))
        .merge(pages)
        .route_layer(middleware::from_fn(crate::ops::track))
        .layer(DefaultBodyLimit::max(state.config.max_upload_bytes + 64 * 1024))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::client::layer,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
            ),
        ))
        .layer(middleware::from_fn(no_store))
        .layer(middleware::from_fn(version_snapshot))
        .layer(middleware::from_fn(run_to_completion))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Pages and API answers carry personal data (ID numbers unmasked, sign-in scans, exports):
/// no browser or proxy may keep any of them. Only the static assets, the same for everyone,
/// keep the caching their handler gives them, and so do the public pages (`/public/…`, the
/// same for everyone and holding nothing personal) whose handler set one.
async fn no_store(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let static_asset = path.starts_with("/static/");
    let public = path.starts_with("/public/");
    let mut resp = next.run(req).await;
    if public && resp.headers().contains_key(header::CACHE_CONTROL) {
        return resp;
    }
    if !static_asset {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A request is served to its end even when its client goes away. hyper drops a request's
/// future when the connection closes; a write cancelled between its BEGIN and its COMMIT left
/// the transaction open on a pooled connection, its locks held until that connection was next
/// used. Under load (the sweep's 32 clients on the GET that marks a notification read) every
/// later write on SQLite waited out the 10 s busy timeout, and on PostgreSQL a login waited
/// on the audit chain's lock. So the request runs in a task of its own, which the closed
/// connection does not cancel.
async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    match tokio::spawn(next.run(req).instrument(tracing::Span::current())).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            AppError::Internal(anyhow::anyhow!("request task failed: {e}")).into_response()
        }
    }
}

/// A GET or HEAD request reads the data versions behind its cached summaries once, in one
/// round trip, however many summaries it shows (`db::with_version_snapshot`). Requests
/// that write read them afresh each time, so they see their own writes.
async fn version_snapshot(req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD {
        crate::db::with_version_snapshot(next.run(req)).await
    } else {
        next.run(req).await
    }
}

async fn api_not_found() -> AppError {
    AppError::NotFound
}

/// Extractor rejections (malformed JSON, a bad path or query value) answer in the
/// API's error shape with a Chinese message, like every other error.
async fn api_rejections(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !status.is_client_error() || !crate::web::is_plain_text(&resp) {
        return resp;
    }
    let detail = match axum::body::to_bytes(resp.into_body(), 16 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    let err = crate::web::rejection_error(status, &detail);
    let mut r = err.into_response();
    *r.status_mut() = status;
    r
}

/// Refuses cross-site unsafe requests made with the session cookie. Requests that
/// carry a bearer token send no cookie, so they are not exposed to CSRF. Layered on the
/// pages and on the API (every route that takes a write); the other routes only read.
async fn same_origin(req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Only a bearer token stands instead of the cookie; any other scheme (Basic from a
    // proxy, say) leaves the browser sending the cookie as well.
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // Exactly as `CurrentUser` reads it: with any other spelling it uses the cookie.
        .is_some_and(|v| v.starts_with("Bearer "));
    if unsafe_method && !bearer && !same_origin_ok(req.headers()) {
        return AppError::CrossSite.into_response();
    }
    next.run(req).await
}

fn same_origin_ok(h: &axum::http::HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (
        h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        h.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => url::Url::parse(origin)
            .ok()
            .map(|u| {
                let o = match u.port() {
                    Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                    None => u.host_str().unwrap_or_default().to_string(),
                };
                o == host
            })
            .unwrap_or(false),
        // No Origin and no Sec-Fetch-Site: not a browser's cross-site form post.
        _ => true,
    }
}

/// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.addr.clone();
    let state = state(config).await?;
    crate::bootstrap::ensure_initial_data(&state).await?;
    crate::jobs::spawn(state.clone());
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("无法监听 {addr}：{e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, backend = ?state.db.backend, "yaoshi serving");
    println!("钥匙 Yaoshi 已启动：http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    state.db.pool.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin_ok(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin_ok(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin_ok(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin_ok(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin_ok(&h));
    }

    /// A request whose client goes away mid-way is still served to its end (its writes
    /// commit and release their locks), and without the layer it is not.
    #[tokio::test]
    async fn a_request_outlives_its_client() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tower::Service;
        for (layered, expect) in [(true, true), (false, false)] {
            let done = Arc::new(AtomicBool::new(false));
            let flag = done.clone();
            let slow = move || {
                let flag = flag.clone();
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    flag.store(true, Ordering::SeqCst);
                    "done"
                }
            };
            let mut router: Router = Router::new().route("/slow", get(slow));
            if layered {
                router = router.layer(middleware::from_fn(run_to_completion));
            }
            let req = Request::builder()
                .uri("/slow")
                .body(axum::body::Body::empty())
                .expect("request");
            // The client gives up after 20 ms: its future is dropped, as hyper drops it.
            let call = router.call(req);
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(20), call)
                    .await
                    .is_err()
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert_eq!(done.load(Ordering::SeqCst), expect, "layered: {layered}");
        }
    }
}
