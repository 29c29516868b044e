//! 首页: the cards each feature shows the caller for their role and scope (see
//! `feature::Feature::home`), in the order the cards ask for.

use std::future::Future;
use std::pin::Pin;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{self, FlashIn, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// One card of the home page, rendered by its feature.
pub struct HomeCard {
    /// Where it goes: cards are laid out by this, smallest first.
    pub order: u16,
    /// A block of its own (a row of figures); otherwise a column among the others.
    pub wide: bool,
    pub html: String,
}

impl HomeCard {
    pub fn render(order: u16, wide: bool, t: &impl Template) -> AppResult<HomeCard> {
        Ok(HomeCard {
            order,
            wide,
            html: t
                .render()
                .map_err(|e| crate::error::AppError::Internal(e.into()))?,
        })
    }
}

pub type CardsFuture<'a> = Pin<Box<dyn Future<Output = AppResult<Vec<HomeCard>>> + Send + 'a>>;
/// A feature's cards for the caller (none when the caller has nothing to see there).
pub type CardsFn = for<'a> fn(&'a AppState, &'a CurrentUser) -> CardsFuture<'a>;

static CARDS: std::sync::OnceLock<Vec<CardsFn>> = std::sync::OnceLock::new();

/// Sets the card providers, once at start.
pub fn install_cards(cards: Vec<CardsFn>) {
    let _ = CARDS.set(cards);
}

/// A run of cards laid out together: one wide card, or columns in one row.
pub struct Block {
    pub wide: bool,
    pub cards: Vec<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    blocks: Vec<Block>,
    has_role: bool,
}

/// Wide cards stand alone; the others between them share a row.
fn blocks(mut cards: Vec<HomeCard>) -> Vec<Block> {
    cards.sort_by_key(|c| c.order);
    let mut out: Vec<Block> = Vec::new();
    for c in cards {
        match out.last_mut() {
            Some(b) if !b.wide && !c.wide => b.cards.push(c.html),
            _ => out.push(Block {
                wide: c.wide,
                cards: vec![c.html],
            }),
        }
    }
    out
}

async fn home(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: FlashIn,
) -> AppResult<Response> {
    let mut cards = Vec::new();
    for provider in CARDS.get().map(Vec::as_slice).unwrap_or_default() {
        cards.extend(provider(&state, &user).await?);
    }
    web::render(&HomePage {
        ctx: PageCtx::new(&user, "首页", "/", flash),
        blocks: blocks(cards),
        has_role: !user.grants.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(order: u16, wide: bool) -> HomeCard {
        HomeCard {
            order,
            wide,
            html: order.to_string(),
        }
    }

    #[test]
    fn wide_cards_stand_alone_and_the_rest_share_rows() {
        let b = blocks(vec![
            card(30, false),
            card(10, true),
            card(40, false),
            card(20, true),
        ]);
        let shape: Vec<(bool, Vec<String>)> = b.into_iter().map(|b| (b.wide, b.cards)).collect();
        assert_eq!(
            shape,
            vec![
                (true, vec!["10".to_string()]),
                (true, vec!["20".to_string()]),
                (false, vec!["30".to_string(), "40".to_string()]),
            ]
        );
    }
}
