//! The frequencies and quorums page (会议规则).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::orglife::rules::{self, MeetingKind, Period, Quorum};
use crate::orglife::store::{self, RuleInput};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

#[derive(Template)]
#[template(path = "orglife/rules.html")]
pub(in crate::orglife) struct RulesPage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    rows: Vec<RuleLine>,
    history: Vec<rules::Rule>,
    can_edit: bool,
    error: Option<String>,
}

pub(in crate::orglife) struct RuleLine {
    kind: MeetingKind,
    rule: Option<rules::Rule>,
}

impl RuleLine {
    fn period_is(&self, p: &str) -> bool {
        self.rule.as_ref().is_some_and(|r| r.period.as_str() == p)
    }
    fn quorum_is(&self, q: &str) -> bool {
        self.rule.as_ref().is_some_and(|r| r.quorum.as_str() == q)
    }
    fn times(&self) -> i64 {
        self.rule.as_ref().map_or(1, |r| r.times)
    }
}

impl RulesPage {
    fn periods(&self) -> Vec<(&'static str, &'static str)> {
        [Period::Month, Period::Quarter, Period::Year]
            .iter()
            .map(|p| (p.as_str(), p.label()))
            .collect()
    }
    fn quorums(&self) -> Vec<(&'static str, &'static str)> {
        [
            Quorum::None,
            Quorum::HalfOfFullMembers,
            Quorum::HalfOfCommittee,
        ]
        .iter()
        .map(|q| (q.as_str(), q.label()))
        .collect()
    }
}

#[derive(Deserialize)]
pub(in crate::orglife) struct YearQuery {
    pub year: Option<String>,
}

pub(in crate::orglife) async fn rules_render(
    state: &AppState,
    user: &CurrentUser,
    year: i32,
    flash: FlashIn,
    error: Option<String>,
) -> AppResult<Response> {
    user.require(store::may_read(user))?;
    let all = store::load_rules(state).await?;
    let rows = MeetingKind::ALL
        .iter()
        .map(|k| RuleLine {
            kind: *k,
            rule: rules::rule_for(&all, *k, year).cloned(),
        })
        .collect();
    let r = web::render(&RulesPage {
        ctx: PageCtx::new(user, "会议规则", "/orglife/rules", flash)
            .crumb("组织生活", "/orglife/meetings")
            .crumb("会议规则", "/orglife/rules"),
        year,
        years: (2018..=crate::clock::today().year() + 1).rev().collect(),
        rows,
        history: all,
        can_edit: user.is_committee(),
        error: error.clone(),
    })?;
    Ok(if error.is_some() { web::invalid(r) } else { r })
}

pub(in crate::orglife) async fn rules_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    let year = store::year_or_now(q.year.as_deref());
    rules_render(&state, &user, year, flash, None).await
}

#[derive(Deserialize)]
pub(in crate::orglife) struct RuleForm {
    kind: String,
    from_year: String,
    period: String,
    times: String,
    quorum: String,
}

pub(in crate::orglife) async fn rules_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<RuleForm>,
) -> AppResult<Response> {
    let input = RuleInput {
        kind: f.kind,
        from_year: f.from_year.trim().parse().unwrap_or(0),
        period: f.period,
        times: f.times.trim().parse().unwrap_or(0),
        quorum: f.quorum,
    };
    let year = i32::try_from(input.from_year).unwrap_or(crate::clock::today().year());
    match store::set_rule(&state, &user, input).await {
        Ok(()) => Ok(web::redirect_with_flash(
            &format!("/orglife/rules?year={year}"),
            "规则已保存，自该年起生效；此前各年仍按原规则计算",
        )),
        Err(AppError::Invalid { message, fields }) => {
            let msg = fields.into_values().next().unwrap_or(message);
            rules_render(
                &state,
                &user,
                store::year_or_now(None),
                FlashIn(None),
                Some(msg),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---- a member's own ----
