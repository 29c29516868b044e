//! The volunteer bank's home cards: a member's balance and this period's report; a
//! community's reports and claims awaiting it.

use askama::Template;

use super::rules;
use super::store;
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::home::{CardsFuture, HomeCard};

#[derive(Template)]
#[template(path = "volunteer/home_member.html")]
struct MemberCard {
    balance: String,
    period: String,
    report: Option<store::ReportLine>,
    open_claims: i64,
}

#[derive(Template)]
#[template(path = "volunteer/home_community.html")]
struct CommunityCard {
    pending_reports: i64,
    to_confirm: i64,
    upcoming: i64,
}

pub fn cards<'a>(state: &'a AppState, user: &'a CurrentUser) -> CardsFuture<'a> {
    Box::pin(async move {
        let mut out = Vec::new();
        if super::may_serve(user) {
            out.push(member_card(state, user).await?);
        }
        if super::may_community(user) {
            out.push(community_card(state, user).await?);
        }
        Ok(out)
    })
}

async fn member_card(state: &AppState, user: &CurrentUser) -> AppResult<HomeCard> {
    let member = store::own_member(user)?;
    let balance: Option<i64> =
        sqlx::query_scalar("select balance from ledger_account where member_id = $1")
            .bind(member)
            .fetch_optional(&state.db.pool)
            .await?;
    let period = store::current_period(state).await?;
    let report = store::my_reports(state, user)
        .await?
        .into_iter()
        .find(|r| r.period == period.key() && r.status != "declined");
    let open_claims: i64 = sqlx::query_scalar(
        "select count(*) from volunteer_claim where member_id = $1 and status = 'claimed'",
    )
    .bind(member)
    .fetch_one(&state.db.pool)
    .await?;
    HomeCard::render(
        35,
        false,
        &MemberCard {
            balance: rules::hours_text(balance.unwrap_or(0)),
            period: period.label(),
            report,
            open_claims,
        },
    )
}

async fn community_card(state: &AppState, user: &CurrentUser) -> AppResult<HomeCard> {
    let ids = user.community_ids();
    let mut pending = crate::db::Sql::new(
        "select count(*) from volunteer_report where status = 'pending' and community_id in ",
    );
    pending.bind_list(&ids);
    let t = crate::clock::now();
    let mut to_confirm = crate::db::Sql::new(
        "select count(distinct k.volunteer_need_id) from volunteer_claim k join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id \
         where k.status = 'claimed' and n.starts_at <= ",
    );
    to_confirm
        .bind(t)
        .push(" and n.community_id in ")
        .bind_list(&ids);
    let mut upcoming = crate::db::Sql::new(
        "select count(*) from volunteer_need where status = 'open' and starts_at > ",
    );
    upcoming
        .bind(t)
        .push(" and community_id in ")
        .bind_list(&ids);
    HomeCard::render(
        35,
        false,
        &CommunityCard {
            pending_reports: pending.fetch_scalar(&state.db.pool).await?,
            to_confirm: to_confirm.fetch_scalar(&state.db.pool).await?,
            upcoming: upcoming.fetch_scalar(&state.db.pool).await?,
        },
    )
}
