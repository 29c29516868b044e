//! A member's own meetings (我的组织生活).

use super::meeting_rules::*;
use super::*;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use crate::auth::{CurrentUser, Role};
use crate::error::AppResult;
use crate::orglife::store::{self, MyMeeting};
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

#[derive(Template)]
#[template(path = "orglife/mine.html")]
pub(in crate::orglife) struct MinePage {
    ctx: PageCtx,
    year: i32,
    years: Vec<i32>,
    rows: Vec<MyMeeting>,
    rate: Option<f64>,
}

impl MinePage {
    fn rate_text(&self) -> String {
        self.rate.map_or("—".into(), |r| format!("{r:.1}%"))
    }
    fn count(&self, s: &str) -> usize {
        self.rows.iter().filter(|r| r.state == s).count()
    }
}

pub(in crate::orglife) async fn mine_page(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
    Query(q): Query<YearQuery>,
) -> AppResult<Response> {
    user.require(user.has(Role::Member))?;
    let year = store::year_or_now(q.year.as_deref());
    let (rows, rate) = store::my_meetings(&state, &user, year).await?;
    web::render(&MinePage {
        ctx: PageCtx::new(&user, "我的组织生活", "/orglife/mine", flash)
            .crumb("组织生活", "/orglife/mine")
            .crumb("我的组织生活", "/orglife/mine"),
        year,
        years: years_around(year),
        rows,
        rate,
    })
}

// ---- API ----
