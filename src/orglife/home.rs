//! 组织生活's card on the home page: this year's rates in scope and the records waiting
//! on someone.

use askama::Template;

use super::store::{self, MeetingFilter, Months};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::home::{CardsFuture, HomeCard};

pub struct LifeCard {
    pub year: i32,
    pub rate: String,
    pub attendance: String,
    pub submitted: i64,
    pub returned: i64,
    pub drafts: i64,
}

#[derive(Template)]
#[template(path = "orglife/home_life.html")]
struct LifeTemplate {
    l: LifeCard,
}

pub fn cards<'a>(state: &'a AppState, user: &'a CurrentUser) -> CardsFuture<'a> {
    Box::pin(async move {
        if !store::may_read(user) {
            return Ok(Vec::new());
        }
        Ok(vec![HomeCard::render(
            30,
            false,
            &LifeTemplate {
                l: life_card(state, user).await?,
            },
        )?])
    })
}

async fn life_card(state: &AppState, user: &CurrentUser) -> AppResult<LifeCard> {
    let year = crate::clock::today().year();
    // The total only: the table is shared with the cache, not copied.
    let table = store::compliance(state, user, year, "branch", None, None, Months::YEAR).await?;
    let total = &table.1;
    let count = |status: &str| {
        let f = MeetingFilter {
            status: Some(status.to_string()),
            ..Default::default()
        };
        async move { store::count(state, user, &f).await }
    };
    Ok(LifeCard {
        year,
        rate: total.rate_text(),
        attendance: total.attendance_text(),
        submitted: count("submitted").await?,
        returned: count("returned").await?,
        drafts: count("draft").await?,
    })
}
