//! 公开亮诺, no login: the board of a year by category and by unit, one pledge with its
//! milestones, progress, published feedback and fulfilment ratings, the A4 poster of a unit
//! with a QR code per pledge, and the feedback form. Every board page is rendered once per
//! version of the pledges and the register and answered from memory with an ETag and
//! `Cache-Control: public`; the form (a fresh challenge each time) is never cached.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};

use super::field;
use crate::auth::client::ClientInfo;
use crate::error::{AppError, AppResult};
use crate::pledges::feedback::{self, Challenge, FeedbackInput, PublicFeedback};
use crate::pledges::public::{self, Board, BoardCategory, BoardPledge, BoardUnit};
use crate::pledges::rules;
use crate::pledges::store;
use crate::state::AppState;

/// A browser or proxy may keep a board page but asks again each time with its ETag (a 304
/// costs next to nothing), so a feedback published shows at the next visit, not a minute on.
const CACHE_CONTROL: &str = "public, no-cache";

#[derive(serde::Deserialize)]
pub(super) struct YearQuery {
    year: Option<String>,
    /// The category board's page (40 pledges each).
    page: Option<String>,
}

/// Pledges on one page of a category's board: a busy category's 500 would be half a
/// megabyte on a phone.
pub(super) const CATEGORY_PAGE: usize = 40;

fn page_of(q: &YearQuery) -> AppResult<usize> {
    let mut errors = crate::error::FieldErrors::new();
    let page = match q.page.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 1,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => {
                errors.insert("page".into(), format!("页码应为正整数，收到“{v}”"));
                1
            }
        },
    };
    crate::web::filter_checked(errors)?;
    Ok(page)
}

fn year_of(q: &YearQuery) -> AppResult<i64> {
    let mut errors = crate::error::FieldErrors::new();
    let y = store::year_param(&mut errors, q.year.as_deref());
    crate::web::filter_checked(errors)?;
    Ok(y)
}

/// The board's ETag: the versions its pages are rendered under.
async fn etag(state: &AppState) -> AppResult<String> {
    Ok(format!("W/\"{}\"", public::versions(state).await?))
}

fn with_cache_headers(mut r: Response, etag: &str) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    r
}

/// 304 when the browser holds the pages of these versions already: answered before any
/// lookup. (Its ETag came with a 200 of the same address at the same versions.)
async fn not_modified(state: &AppState, headers: &HeaderMap) -> AppResult<Option<Response>> {
    let etag = etag(state).await?;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    Ok(fresh.then(|| with_cache_headers(StatusCode::NOT_MODIFIED.into_response(), &etag)))
}

/// A cached page as an answer, rendered by `make` when its versions moved.
async fn answer<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    make: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<String>>,
{
    let etag = etag(state).await?;
    let page = public::page(state, key, make).await?;
    let mut r = if takes_gzip(headers) {
        let mut r = Html(page.gzip.clone()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Html(page.html.clone()).into_response()
    };
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(with_cache_headers(r, &etag))
}

/// Whether the client takes gzip (`Accept-Encoding: gzip, deflate, br`), not refusing it
/// with `q=0`.
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

fn render(t: &impl Template) -> AppResult<String> {
    t.render().map_err(|e| AppError::Internal(e.into()))
}

// ---- the board ----

#[derive(Template)]
#[template(path = "pledges/public_index.html")]
struct IndexPage<'a> {
    board: &'a Board,
    years: Vec<i64>,
}

pub(super) async fn index_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_modified(&state, &headers).await? {
        return Ok(r);
    }
    let year = year_of(&q)?;
    let st = state.clone();
    answer(&state, &headers, &format!("index {year}"), || async move {
        let board = public::board(&st, year).await?;
        render(&IndexPage {
            board: &board,
            years: super::years_around(year),
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "pledges/public_category.html")]
struct CategoryPage<'a> {
    board: &'a Board,
    c: &'a BoardCategory,
    /// This page's pledges under their units, in the board's order.
    sections: Vec<(&'a BoardUnit, Vec<&'a BoardPledge>)>,
    page: usize,
    pages: usize,
}

/// Page `page` of a category's pledges, grouped under their units (a unit split by the
/// page's edge shows on both); the page number is clamped to the last.
fn category_sections(
    c: &BoardCategory,
    page: usize,
) -> (Vec<(&BoardUnit, Vec<&BoardPledge>)>, usize, usize) {
    let total = c.pledge_count();
    let pages = total.div_ceil(CATEGORY_PAGE).max(1);
    let page = page.clamp(1, pages);
    let (from, to) = ((page - 1) * CATEGORY_PAGE, page * CATEGORY_PAGE);
    let mut sections: Vec<(&BoardUnit, Vec<&BoardPledge>)> = Vec::new();
    let mut at = 0;
    for u in &c.units {
        let n = u.pledges.len();
        if total == 0 || (n == 0 && at >= from && (at < to || page == pages)) {
            // Units with nothing public yet show on the page their place falls on.
            sections.push((u, Vec::new()));
        } else if at + n > from && at < to {
            let lo = from.saturating_sub(at);
            let hi = (to - at).min(n);
            sections.push((u, u.pledges[lo..hi].iter().collect()));
        }
        at += n;
    }
    (sections, page, pages)
}

pub(super) async fn category_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_modified(&state, &headers).await? {
        return Ok(r);
    }
    let year = year_of(&q)?;
    let page = page_of(&q)?;
    let board = public::board(&state, year).await?;
    let Some(c) = board.category(id) else {
        return Err(AppError::NotFound);
    };
    let page = category_sections(c, page).1;
    answer(
        &state,
        &headers,
        &format!("category {id} {year} {page}"),
        || async move {
            let c = board.category(id).ok_or(AppError::NotFound)?;
            let (sections, page, pages) = category_sections(c, page);
            render(&CategoryPage {
                board: &board,
                c,
                sections,
                page,
                pages,
            })
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "pledges/public_unit.html")]
struct UnitPage<'a> {
    board: &'a Board,
    u: &'a BoardUnit,
}

pub(super) async fn unit_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_modified(&state, &headers).await? {
        return Ok(r);
    }
    let year = year_of(&q)?;
    let board = public::board(&state, year).await?;
    if board.unit(id).is_none() {
        return Err(AppError::NotFound);
    }
    answer(
        &state,
        &headers,
        &format!("unit {id} {year}"),
        || async move {
            let u = board.unit(id).ok_or(AppError::NotFound)?;
            render(&UnitPage { board: &board, u })
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "pledges/public_poster.html")]
struct PosterPage<'a> {
    board: &'a Board,
    u: &'a BoardUnit,
    /// The unit's board and each pledge's page, as QR codes (SVG).
    unit_qr: String,
    unit_url: String,
    /// Each pledge with its page's address and QR code.
    items: Vec<(&'a BoardPledge, String, String)>,
}

pub(super) async fn poster_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<i64>,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_modified(&state, &headers).await? {
        return Ok(r);
    }
    let year = year_of(&q)?;
    let board = public::board(&state, year).await?;
    if board.unit(id).is_none() {
        return Err(AppError::NotFound);
    }
    let origin = crate::web::origin(&headers, &client);
    let key = format!("poster {id} {year} {origin}");
    answer(&state, &headers, &key, || async move {
        let u = board.unit(id).ok_or(AppError::NotFound)?;
        let unit_url = format!("{origin}/public/pledges/units/{id}?year={year}");
        let items = u
            .pledges
            .iter()
            .map(|p| {
                let url = format!("{origin}/public/pledges/p/{}", p.key);
                crate::auth::totp::qr_svg(&url).map(|q| (p, url, q))
            })
            .collect::<AppResult<Vec<_>>>()?;
        render(&PosterPage {
            board: &board,
            u,
            unit_qr: crate::auth::totp::qr_svg(&unit_url)?,
            unit_url,
            items,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "pledges/public_pledge.html")]
struct PledgePage<'a> {
    board: &'a Board,
    p: &'a BoardPledge,
    feedback: Vec<PublicFeedback>,
    /// (milestone title or empty for the whole, percent, what was done, when).
    progress: Vec<(String, i64, String, i64)>,
}

impl PledgePage<'_> {
    fn date(&self, t: &i64) -> String {
        rules::date_text(*t)
    }
}

/// The year an accepted pledge belongs to, found by its key.
async fn pledge_year(state: &AppState, key: &str) -> AppResult<i64> {
    if !rules::public_key_ok(key) {
        return Err(AppError::NotFound);
    }
    let mut sql =
        crate::db::Sql::new("select year from pledge where status = 'accepted' and public_key = ");
    sql.bind(key);
    let rows: Vec<(i64,)> = sql.fetch_page(&state.db).await?;
    rows.first().map(|r| r.0).ok_or(AppError::NotFound)
}

pub(super) async fn pledge_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> AppResult<Response> {
    if let Some(r) = not_modified(&state, &headers).await? {
        return Ok(r);
    }
    let year = pledge_year(&state, &key).await?;
    let board = public::board(&state, year).await?;
    let Some(pledge_id) = board.pledge(&key).map(|p| p.pledge_id) else {
        return Err(AppError::NotFound);
    };
    let st = state.clone();
    answer(&state, &headers, &format!("pledge {key}"), || async move {
        let p = board.pledge(&key).ok_or(AppError::NotFound)?;
        let (feedback, progress) = public::pledge_extras(&st, pledge_id).await?;
        render(&PledgePage {
            board: &board,
            p,
            feedback,
            progress,
        })
    })
    .await
}

// ---- the feedback form ----

#[derive(Template)]
#[template(path = "pledges/public_feedback.html")]
struct FeedbackPage<'a> {
    p: &'a BoardPledge,
    challenge: Challenge,
    rating: String,
    body: String,
    contact: String,
    error: Option<String>,
    done: bool,
    feedback_max: usize,
}

impl FeedbackPage<'_> {
    fn choices(&self) -> [u8; 5] {
        [5, 4, 3, 2, 1]
    }
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(super) async fn feedback_form(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<Response> {
    let year = pledge_year(&state, &key).await?;
    let board = public::board(&state, year).await?;
    let p = board.pledge(&key).ok_or(AppError::NotFound)?;
    let html = render(&FeedbackPage {
        p,
        challenge: feedback::issue(&state, &key),
        rating: String::new(),
        body: String::new(),
        contact: String::new(),
        error: None,
        done: false,
        feedback_max: rules::FEEDBACK_MAX,
    })?;
    Ok(no_store(Html(html).into_response()))
}

pub(super) async fn feedback_post(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(key): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = FeedbackInput {
        token: field(&pairs, "token"),
        answer: field(&pairs, "answer"),
        rating: field(&pairs, "rating"),
        body: field(&pairs, "body"),
        contact: field(&pairs, "contact"),
        website: field(&pairs, "website"),
    };
    let result = feedback::submit(&state, &key, &client.ip, &input).await;
    let (status, error, done) = match result {
        Ok(_) => (StatusCode::OK, None, true),
        Err(AppError::NotFound) => return Err(AppError::NotFound),
        Err(e) => {
            let (s, m) = super::refusal(e)?;
            (s, Some(m), false)
        }
    };
    let year = pledge_year(&state, &key).await?;
    let board = public::board(&state, year).await?;
    let p = board.pledge(&key).ok_or(AppError::NotFound)?;
    let html = render(&FeedbackPage {
        p,
        challenge: feedback::issue(&state, &key),
        rating: if done { String::new() } else { input.rating },
        body: if done { String::new() } else { input.body },
        contact: if done { String::new() } else { input.contact },
        error,
        done,
        feedback_max: rules::FEEDBACK_MAX,
    })?;
    let mut r = no_store(Html(html).into_response());
    *r.status_mut() = status;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_served_to_whoever_takes_it() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(v).expect("value"),
            );
            m
        };
        assert!(takes_gzip(&h("gzip, deflate, br")));
        assert!(takes_gzip(&h("br;q=1.0, GZIP;q=0.5")));
        assert!(takes_gzip(&h("*")));
        assert!(!takes_gzip(&h("gzip;q=0")));
        assert!(!takes_gzip(&h("br, deflate")));
        assert!(!takes_gzip(&h("identity")));
        assert!(!takes_gzip(&HeaderMap::new()));
    }

    fn unit(id: i64, n: usize) -> BoardUnit {
        BoardUnit {
            unit_id: id,
            name: String::new(),
            category_id: 1,
            category_name: String::new(),
            pledges: (0..n)
                .map(|i| BoardPledge {
                    pledge_id: i as i64,
                    key: format!("{id}-{i}"),
                    name: String::new(),
                    post: String::new(),
                    division: String::new(),
                    body: String::new(),
                    unit_id: id,
                    unit_name: String::new(),
                    milestones: Vec::new(),
                    feedback_n: 0,
                    rating_sum: 0,
                    unit_result: None,
                    committee_result: None,
                })
                .collect(),
        }
    }

    fn shape(c: &BoardCategory, page: usize) -> (Vec<(i64, Vec<String>)>, usize, usize) {
        let (s, page, pages) = category_sections(c, page);
        let s = s
            .into_iter()
            .map(|(u, l)| (u.unit_id, l.iter().map(|p| p.key.clone()).collect()))
            .collect();
        (s, page, pages)
    }

    #[test]
    fn a_category_board_pages_its_pledges_under_their_units() {
        let c = BoardCategory {
            category_id: 1,
            name: String::new(),
            units: vec![unit(1, 30), unit(2, 0), unit(3, 25), unit(4, 0)],
        };
        let (s, page, pages) = shape(&c, 1);
        assert_eq!((page, pages), (1, 2));
        assert_eq!(s.len(), 3, "unit 1, the empty unit 2, the head of unit 3");
        assert_eq!(s[0].1.len(), 30);
        assert!(s[1].1.is_empty());
        assert_eq!(s[2].1.len(), 10);
        assert_eq!(s[2].1[0], "3-0");
        let (s, page, _) = shape(&c, 2);
        assert_eq!(page, 2);
        assert_eq!(
            s.len(),
            2,
            "the rest of unit 3 and the empty unit 4 at the end"
        );
        assert_eq!(s[0].1.first().map(String::as_str), Some("3-10"));
        assert_eq!(s[0].1.len(), 15);
        // Past the last page: the last page.
        assert_eq!(shape(&c, 9).1, 2);
        // Nothing public yet: every unit, one page.
        let empty = BoardCategory {
            category_id: 1,
            name: String::new(),
            units: vec![unit(1, 0), unit(2, 0)],
        };
        let (s, page, pages) = shape(&empty, 3);
        assert_eq!((s.len(), page, pages), (2, 1, 1));
    }
}
