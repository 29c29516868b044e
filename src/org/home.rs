//! 组织体系's cards on the home page: the figures of the caller's scope, units per
//! category (committee), terms falling due, the caller's community and member profile.

use askama::Template;

use crate::auth::{CurrentUser, Role, Scope};
use crate::db::Sql;
use crate::error::AppResult;
use crate::state::AppState;
use crate::text::format_date;
use crate::web::home::{CardsFuture, HomeCard};

pub struct Figures {
    pub units: i64,
    pub branches: i64,
    pub members: i64,
    pub probationary: i64,
    pub terms_due: i64,
    pub terms_overdue: i64,
}

#[derive(Clone, sqlx::FromRow)]
pub struct CategoryCount {
    pub category_id: i64,
    pub name: String,
    pub units: i64,
    pub members: i64,
}

#[derive(Clone, sqlx::FromRow)]
pub struct TermDue {
    pub org_id: i64,
    pub name: String,
    pub unit_name: String,
    pub term_end: String,
}

/// Counts within a scope: units, branches, active and probationary members, terms.
pub async fn figures(state: &AppState, scope: &Scope) -> AppResult<Figures> {
    let today = format_date(crate::clock::today());
    let in6 = format_date(crate::clock::today().saturating_add(time::Duration::days(183)));
    let mut m = Sql::new("select count(*) from member m where m.status = 'active' and ");
    scope.member_condition(&mut m);
    let mut p = Sql::new(
        "select count(*) from member m where m.status = 'active' and m.kind = 'probationary' and ",
    );
    scope.member_condition(&mut p);
    let mut b = Sql::new("select count(*) from org o where o.kind = 'branch' and ");
    scope.org_condition(&mut b);
    let mut due = Sql::new("select count(*) from org o where o.kind <> 'group' and o.term_end >= ");
    due.bind(today.clone())
        .push(" and o.term_end <= ")
        .bind(in6)
        .push(" and ");
    scope.org_condition(&mut due);
    let mut over = Sql::new("select count(*) from org o where o.kind <> 'group' and o.term_end < ");
    over.bind(today).push(" and ");
    scope.org_condition(&mut over);
    let mut u = Sql::new("select count(*) from unit u where ");
    scope.unit_condition(&mut u);
    // Counted once per registry version (and day, which the term queries bind): the
    // committee's counts read the whole city's register on every visit to the home page.
    let cache = state.ext::<crate::db::QueryCache>();
    let count = |sql: Sql| {
        let cache = cache.clone();
        async move { cache.count(&state.db, "registry", &sql).await }
    };
    Ok(Figures {
        units: count(u).await?,
        branches: count(b).await?,
        members: count(m).await?,
        probationary: count(p).await?,
        terms_due: count(due).await?,
        terms_overdue: count(over).await?,
    })
}

#[derive(Template)]
#[template(path = "org/home_figures.html")]
struct FiguresCard<'a> {
    f: &'a Figures,
    is_committee: bool,
}

#[derive(Template)]
#[template(path = "org/home_categories.html")]
struct CategoriesCard {
    categories: Vec<CategoryCount>,
    no_units: bool,
}

#[derive(Template)]
#[template(path = "org/home_terms.html")]
struct TermsCard {
    terms: Vec<TermDue>,
}

#[derive(Template)]
#[template(path = "org/home_community.html")]
struct CommunityCard {
    c: super::communities::Community,
}

#[derive(Template)]
#[template(path = "org/home_member.html")]
struct MemberCard {
    id: i64,
}

pub fn cards<'a>(state: &'a AppState, user: &'a CurrentUser) -> CardsFuture<'a> {
    Box::pin(cards_of(state, user))
}

async fn cards_of(state: &AppState, user: &CurrentUser) -> AppResult<Vec<HomeCard>> {
    let mut out = Vec::new();
    let scope = user.scope();
    let registry = user.is_registry_admin() || user.has(Role::Branch);
    let figures = if registry {
        Some(figures(state, &scope).await?)
    } else {
        None
    };
    if let Some(f) = &figures {
        out.push(HomeCard::render(
            20,
            true,
            &FiguresCard {
                f,
                is_committee: user.is_committee(),
            },
        )?);
    }
    if user.is_committee() {
        let sql = Sql::new(
            "select c.category_id, c.name, (select count(*) from unit u where u.category_id = c.category_id) as units, \
             (select count(*) from member m join unit u on u.unit_id = m.unit_id where u.category_id = c.category_id and m.status = 'active') as members \
             from category c where c.retired = 0 order by c.sort_order",
        );
        let categories = state
            .ext::<crate::db::QueryCache>()
            .rows::<CategoryCount>(&state.db, "registry", &sql)
            .await?
            .as_ref()
            .clone();
        out.push(HomeCard::render(
            40,
            false,
            &CategoriesCard {
                categories,
                no_units: figures.as_ref().is_some_and(|f| f.units == 0),
            },
        )?);
    }
    if registry {
        let in6 = format_date(crate::clock::today().saturating_add(time::Duration::days(183)));
        let mut sql = Sql::new("select o.org_id, o.name, u.name as unit_name, o.term_end from org o join unit u on u.unit_id = o.unit_id where o.kind <> 'group' and o.term_end <= ");
        sql.bind(in6).push(" and ");
        scope.org_condition(&mut sql);
        sql.push(" order by o.term_end, o.org_id limit 10");
        let terms = state
            .ext::<crate::db::QueryCache>()
            .rows::<TermDue>(&state.db, "registry", &sql)
            .await?
            .as_ref()
            .clone();
        out.push(HomeCard::render(50, false, &TermsCard { terms })?);
    }
    let communities: Vec<super::communities::Community> = if user.community_ids().is_empty() {
        Vec::new()
    } else {
        let mut sql = Sql::new(&format!(
            "select {} from community where community_id in ",
            super::communities::COLUMNS
        ));
        sql.bind_list(&user.community_ids()).push(" order by name");
        sql.fetch_all(&state.db.pool).await?
    };
    for c in communities {
        out.push(HomeCard::render(60, false, &CommunityCard { c })?);
    }
    if let Some(id) = user.member_ids().first().copied() {
        out.push(HomeCard::render(70, false, &MemberCard { id })?);
    }
    Ok(out)
}
