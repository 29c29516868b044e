//! 公开亮诺: what the public board shows — every accepted pledge of a year with its name,
//! post and division (nothing more of the person), milestones and progress, the public's
//! published feedback in figures, and the fulfilment ratings — read once per version of the
//! pledges and the register, and the rendered pages remembered the same way, so a board is
//! served from memory until a pledge or published feedback changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;

use super::rules::{self, Fulfilment};
use super::store::{PledgeLine, LINE_COLUMNS};
use crate::db::{data_version, QueryCache, Sql};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Clone, Debug)]
pub struct BoardMilestone {
    pub position: i64,
    pub title: String,
    pub progress: i64,
}

#[derive(Clone, Debug)]
pub struct BoardPledge {
    pub pledge_id: i64,
    pub key: String,
    pub name: String,
    pub post: String,
    pub division: String,
    pub body: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub milestones: Vec<BoardMilestone>,
    pub feedback_n: i64,
    pub rating_sum: i64,
    pub unit_result: Option<Fulfilment>,
    pub committee_result: Option<Fulfilment>,
}

impl BoardPledge {
    pub fn average(&self) -> String {
        rules::average_text(self.rating_sum, self.feedback_n)
    }
    pub fn stars(&self) -> String {
        if self.feedback_n == 0 {
            return String::new();
        }
        rules::stars((self.rating_sum as f64 / self.feedback_n as f64).round() as i64)
    }
    /// Milestones' average progress, or None without milestones.
    pub fn progress(&self) -> Option<i64> {
        if self.milestones.is_empty() {
            return None;
        }
        Some(self.milestones.iter().map(|m| m.progress).sum::<i64>() / self.milestones.len() as i64)
    }
    pub fn final_label(&self) -> &'static str {
        rules::final_fulfilment(self.unit_result, self.committee_result).map_or("", |f| f.label())
    }
    pub fn who(&self) -> String {
        [self.division.as_str(), self.post.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

#[derive(Clone, Debug)]
pub struct BoardUnit {
    pub unit_id: i64,
    pub name: String,
    pub category_id: i64,
    pub category_name: String,
    pub pledges: Vec<BoardPledge>,
}

impl BoardUnit {
    pub fn feedback_n(&self) -> i64 {
        self.pledges.iter().map(|p| p.feedback_n).sum()
    }
    pub fn average(&self) -> String {
        rules::average_text(
            self.pledges.iter().map(|p| p.rating_sum).sum(),
            self.feedback_n(),
        )
    }
}

#[derive(Clone, Debug)]
pub struct BoardCategory {
    pub category_id: i64,
    pub name: String,
    pub units: Vec<BoardUnit>,
}

impl BoardCategory {
    pub fn pledge_count(&self) -> usize {
        self.units.iter().map(|u| u.pledges.len()).sum()
    }
    pub fn feedback_n(&self) -> i64 {
        self.units.iter().map(|u| u.feedback_n()).sum()
    }
    pub fn average(&self) -> String {
        rules::average_text(
            self.units
                .iter()
                .flat_map(|u| &u.pledges)
                .map(|p| p.rating_sum)
                .sum(),
            self.feedback_n(),
        )
    }
}

/// A year's board.
#[derive(Clone, Debug)]
pub struct Board {
    pub year: i64,
    pub categories: Vec<BoardCategory>,
}

impl Board {
    pub fn category(&self, id: i64) -> Option<&BoardCategory> {
        self.categories.iter().find(|c| c.category_id == id)
    }
    pub fn unit(&self, id: i64) -> Option<&BoardUnit> {
        self.categories
            .iter()
            .flat_map(|c| &c.units)
            .find(|u| u.unit_id == id)
    }
    pub fn pledge(&self, key: &str) -> Option<&BoardPledge> {
        self.categories
            .iter()
            .flat_map(|c| &c.units)
            .flat_map(|u| &u.pledges)
            .find(|p| p.key == key)
    }
    pub fn pledge_count(&self) -> usize {
        self.categories.iter().map(|c| c.pledge_count()).sum()
    }
}

/// The versions a public page depends on, as a cache key part and an ETag: the pledges', the
/// register's (names, units, categories) and the year shown by default.
pub async fn versions(state: &AppState) -> AppResult<String> {
    let p = data_version(&state.db, "pledge").await?;
    let r = data_version(&state.db, "registry").await?;
    Ok(format!("p{p}r{r}y{}", super::store::this_year()))
}

/// The year's board, from memory until a pledge or the register changes.
pub async fn board(state: &AppState, year: i64) -> AppResult<Arc<Board>> {
    let key = format!("board {year} {}", versions(state).await?);
    Ok(state
        .ext::<QueryCache>()
        .derived(&state.db, "pledge", &key, || async move {
            load(state, year).await
        })
        .await?)
}

async fn load(state: &AppState, year: i64) -> anyhow::Result<Board> {
    let units: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "select u.unit_id, u.name, c.category_id, c.name from unit u \
         join category c on c.category_id = u.category_id order by c.sort_order, c.category_id, u.name",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut sql = Sql::new(&format!(
        "select {LINE_COLUMNS} where p.status = 'accepted' and p.year = "
    ));
    sql.bind(year)
        .push(" order by p.unit_id, p.division, m.name, p.pledge_id");
    let lines: Vec<PledgeLine> = sql.fetch_all(&state.db.pool).await?;
    let milestones: Vec<(i64, i64, String, i64)> = sqlx::query_as(
        "select s.pledge_id, s.position, s.title, s.progress from pledge_milestone s \
         join pledge p on p.pledge_id = s.pledge_id where p.status = 'accepted' and p.year = $1 \
         order by s.pledge_id, s.position",
    )
    .bind(year)
    .fetch_all(&state.db.pool)
    .await?;
    let mut ms: BTreeMap<i64, Vec<BoardMilestone>> = BTreeMap::new();
    for (p, position, title, progress) in milestones {
        ms.entry(p).or_default().push(BoardMilestone {
            position,
            title,
            progress,
        });
    }
    let mut by_unit: BTreeMap<i64, Vec<BoardPledge>> = BTreeMap::new();
    for l in lines {
        let unit_result = l.unit_result.as_deref().and_then(Fulfilment::from_key);
        let committee_result = l.committee_result.as_deref().and_then(Fulfilment::from_key);
        by_unit.entry(l.unit_id).or_default().push(BoardPledge {
            milestones: ms.remove(&l.pledge_id).unwrap_or_default(),
            pledge_id: l.pledge_id,
            key: l.public_key,
            name: l.member_name,
            post: l.post,
            division: l.division,
            body: l.body,
            unit_id: l.unit_id,
            unit_name: l.unit_name,
            feedback_n: l.feedback_n,
            rating_sum: l.rating_sum,
            unit_result,
            committee_result,
        });
    }
    let mut categories: Vec<BoardCategory> = Vec::new();
    for (unit_id, name, category_id, category_name) in units {
        let pledges = by_unit.remove(&unit_id).unwrap_or_default();
        let unit = BoardUnit {
            unit_id,
            name,
            category_id,
            category_name: category_name.clone(),
            pledges,
        };
        match categories.iter_mut().find(|c| c.category_id == category_id) {
            Some(c) => c.units.push(unit),
            None => categories.push(BoardCategory {
                category_id,
                name: category_name,
                units: vec![unit],
            }),
        }
    }
    Ok(Board { year, categories })
}

/// A rendered page as served: the HTML, and the same gzipped once for the browsers that
/// take it (every phone's does) — compressed per version, not per request.
pub struct Rendered {
    pub html: Bytes,
    pub gzip: Bytes,
}

/// A rendered page remembered under `key` (the path and what else it depends on) until the
/// versions move; `make` renders it. Kept as shared bytes, so serving it copies nothing.
pub async fn page<F, Fut>(state: &AppState, key: &str, make: F) -> AppResult<Arc<Rendered>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<String>>,
{
    let key = format!("page {key} {}", versions(state).await?);
    state
        .ext::<QueryCache>()
        .derived(&state.db, "pledge", &key, || async move {
            let html = make().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let gzip = gzip(html.as_bytes())?;
            Ok(Rendered {
                html: Bytes::from(html),
                gzip: Bytes::from(gzip),
            })
        })
        .await
        .map_err(AppError::Internal)
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::best(),
    );
    e.write_all(bytes)?;
    Ok(e.finish()?)
}

/// Published feedback and progress reports of one accepted pledge, for its public page.
pub async fn pledge_extras(
    state: &AppState,
    pledge_id: i64,
) -> AppResult<(
    Vec<super::feedback::PublicFeedback>,
    Vec<(String, i64, String, i64)>,
)> {
    let feedback = super::feedback::published_of(state, &[pledge_id])
        .await?
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    // (what it is on, percent, what was done, when): evidence stays with the staff.
    let progress: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "select coalesce(s.title, ''), g.progress, g.body, g.created_at from pledge_progress g \
         left join pledge_milestone s on s.pledge_milestone_id = g.pledge_milestone_id \
         where g.pledge_id = $1 order by g.created_at desc, g.pledge_progress_id desc",
    )
    .bind(pledge_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok((feedback, progress))
}
