//! 分级定档's home card: a branch admin's road to the next tier; a unit admin's branches
//! closest to a tier boundary, up and down; the committee's counts by tier.

use askama::Template;

use super::assess;
use super::board::Entry;
use super::rules::{Score, Tier};
use super::scoring::Roadmap;
use crate::auth::{CurrentUser, Role};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::home::{CardsFuture, HomeCard};

#[derive(Template)]
#[template(path = "grading/home_road.html")]
struct RoadCard {
    year: i64,
    assessment_id: i64,
    branch_name: String,
    road: Roadmap,
}

#[derive(Template)]
#[template(path = "grading/home_tiers.html")]
struct TiersCard {
    year: i64,
    counts: [usize; 4],
    total: usize,
    /// Closest to the next tier, and closest to falling (units).
    near_up: Vec<(i64, String, Score, Tier)>,
    near_down: Vec<(i64, String, Score, Tier)>,
}

impl TiersCard {
    fn label(&self, i: &usize) -> &'static str {
        Tier::ALL.get(*i).map_or("", |t| t.label())
    }
    fn key(&self, i: &usize) -> &'static str {
        Tier::ALL.get(*i).map_or("", |t| t.as_str())
    }
    fn class(&self, i: &usize) -> &'static str {
        Tier::ALL
            .get(*i)
            .map_or("", super::pages::assessments::tier_class)
    }
}

/// How close a branch stands to a boundary: within this many points it is listed.
const NEAR: Score = Score(50);

fn near(entries: &[&Entry], up: bool) -> Vec<(i64, String, Score, Tier)> {
    let mut v: Vec<(i64, String, Score, Tier)> = entries
        .iter()
        .filter_map(|e| {
            let m = if up { e.up } else { e.down }?;
            (m <= NEAR).then(|| (e.assessment_id, e.branch_name.clone(), m, e.tier))
        })
        .collect();
    v.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
    v.truncate(5);
    v
}

pub fn cards<'a>(state: &'a AppState, user: &'a CurrentUser) -> CardsFuture<'a> {
    Box::pin(async move {
        if !super::may_read(user) {
            return Ok(Vec::new());
        }
        if !user.is_committee() && !user.has(Role::Unit) {
            return branch_cards(state, user).await;
        }
        let Some((c, b)) = assess::board_of(state, user, None).await? else {
            return Ok(Vec::new());
        };
        let v = assess::visible(user, &b);
        let unit = !user.is_committee();
        Ok(vec![HomeCard::render(
            35,
            false,
            &TiersCard {
                year: c.year,
                counts: assess::tier_counts(&v),
                total: v.len(),
                near_up: if unit { near(&v, true) } else { Vec::new() },
                near_down: if unit { near(&v, false) } else { Vec::new() },
            },
        )?])
    })
}

async fn branch_cards(state: &AppState, user: &CurrentUser) -> AppResult<Vec<HomeCard>> {
    let mut cards = Vec::new();
    for branch in user.branch_ids().into_iter().take(3) {
        let Some((id, road, name)) = assess::roadmap_of_branch(state, user, branch).await? else {
            continue;
        };
        let year = assess::cycle(state, None).await?.map_or(0, |c| c.year);
        cards.push(HomeCard::render(
            15,
            false,
            &RoadCard {
                year,
                assessment_id: id,
                branch_name: name,
                road,
            },
        )?);
    }
    Ok(cards)
}
