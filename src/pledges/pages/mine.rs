//! 我的承诺: the pledger's own pledge of this year — written, saved, submitted; once accepted,
//! its public address, progress reports on its milestones, and replies to published feedback.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

use super::{ctx, field, refusal};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::pledges::feedback::{self, FeedbackFilter, FeedbackLine, ReplyInput};
use crate::pledges::rules::{self, PledgeStatus};
use crate::pledges::store::{self, Pledge, PledgeInput, ProgressInput};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

const MINE: &str = "/pledges/mine";

#[derive(Template)]
#[template(path = "pledges/mine.html")]
struct MinePage {
    ctx: PageCtx,
    year: i64,
    p: Option<Pledge>,
    feedback: Vec<FeedbackLine>,
    /// The form's values: as saved, or as typed when refused.
    body: String,
    post: String,
    division: String,
    milestones: [String; 3],
    body_max: usize,
    error: Option<String>,
}

impl MinePage {
    fn editable(&self) -> bool {
        self.p.as_ref().is_none_or(|p| p.editable())
    }
    fn accepted(&self) -> bool {
        self.p
            .as_ref()
            .is_some_and(|p| p.line.status == PledgeStatus::Accepted)
    }
    fn at(&self, t: &i64) -> String {
        crate::clock::fmt_time(*t)
    }
}

async fn render_mine(
    state: &AppState,
    user: &CurrentUser,
    flash: FlashIn,
    typed: Option<PledgeInput>,
    error: Option<(StatusCode, String)>,
) -> AppResult<Response> {
    let year = store::this_year();
    let p = store::own(state, user, year).await?;
    let (_, position) = store::own_defaults(state, user).await?;
    let feedback = match &p {
        Some(p) => {
            feedback::all_feedback(
                state,
                user,
                &FeedbackFilter {
                    pledge_id: Some(p.line.pledge_id.to_string()),
                    status: Some("published".into()),
                    ..Default::default()
                },
            )
            .await?
        }
        None => Vec::new(),
    };
    let (body, post, division, ms) = match (&typed, &p) {
        (Some(t), _) => (
            t.body.clone(),
            t.post.clone(),
            t.division.clone(),
            t.milestones.clone(),
        ),
        (None, Some(p)) => (
            p.line.body.clone(),
            p.line.post.clone(),
            p.line.division.clone(),
            p.milestones.iter().map(|m| m.title.clone()).collect(),
        ),
        (None, None) => (String::new(), position, String::new(), Vec::new()),
    };
    let mut milestones: [String; 3] = Default::default();
    for (i, m) in ms.into_iter().take(3).enumerate() {
        milestones[i] = m;
    }
    let mut r = web::render(&MinePage {
        ctx: ctx(user, &format!("我的承诺（{year}年度）"), MINE, flash).crumb("我的承诺", MINE),
        year,
        p,
        feedback,
        body,
        post,
        division,
        milestones,
        body_max: rules::BODY_MAX,
        error: error.as_ref().map(|e| e.1.clone()),
    })?;
    if let Some((s, _)) = error {
        *r.status_mut() = s;
    }
    Ok(r)
}

pub(super) async fn mine_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    render_mine(&state, &user, flash, None, None).await
}

pub(super) async fn save_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = PledgeInput {
        body: field(&pairs, "body"),
        post: field(&pairs, "post"),
        division: field(&pairs, "division"),
        milestones: (1..=3)
            .map(|i| field(&pairs, &format!("milestone_{i}")))
            .collect(),
    };
    let submit = field(&pairs, "then") == "submit";
    let saved = match store::save_own(&state, &user, &input).await {
        Ok(id) => id,
        Err(e) => {
            let r = refusal(e)?;
            return render_mine(&state, &user, FlashIn(None), Some(input), Some(r)).await;
        }
    };
    if submit {
        if let Err(e) = store::submit(&state, &user, saved).await {
            let r = refusal(e)?;
            return render_mine(&state, &user, FlashIn(None), None, Some(r)).await;
        }
        return Ok(web::redirect_with_flash(
            MINE,
            "承诺已提交，等待单位审核；审核通过后将公开亮诺",
        ));
    }
    Ok(web::redirect_with_flash(
        MINE,
        "已保存草稿；确认无误后请提交单位审核",
    ))
}

pub(super) async fn submit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    match store::submit(&state, &user, id).await {
        Ok(()) => Ok(web::redirect_with_flash(
            MINE,
            "承诺已提交，等待单位审核；审核通过后将公开亮诺",
        )),
        Err(e) => {
            let r = refusal(e)?;
            render_mine(&state, &user, FlashIn(None), None, Some(r)).await
        }
    }
}

pub(super) async fn progress_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut p = rules::Problems::new();
    let progress = rules::parse_percent(&mut p, &field(&pairs, "progress"));
    let milestone = match field(&pairs, "milestone").trim() {
        "" => None,
        m => match m.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                p.insert("milestone".into(), "请选择承诺节点".into());
                None
            }
        },
    };
    let done = if p.is_empty() {
        store::report(
            &state,
            &user,
            id,
            &ProgressInput {
                milestone,
                progress,
                body: field(&pairs, "body"),
                evidence: field(&pairs, "evidence"),
            },
        )
        .await
        .map(|_| ())
    } else {
        Err(store::refused(p))
    };
    match done {
        Ok(()) => Ok(web::redirect_with_flash(MINE, "践诺进展已报告")),
        Err(e) => {
            let r = refusal(e)?;
            render_mine(&state, &user, FlashIn(None), None, Some(r)).await
        }
    }
}

pub(super) async fn reply_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let input = ReplyInput {
        reply: field(&pairs, "reply"),
    };
    match feedback::reply(&state, &user, id, &input).await {
        Ok(()) => Ok(web::redirect_with_flash(MINE, "回复已公开")),
        Err(AppError::Forbidden) => Err(AppError::Forbidden),
        Err(e) => {
            let r = refusal(e)?;
            render_mine(&state, &user, FlashIn(None), None, Some(r)).await
        }
    }
}
