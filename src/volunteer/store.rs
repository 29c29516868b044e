//! The volunteer bank's records as their users work them: reports (报到) of members to
//! communities and the community's decision; service needs (需求清单) a community posts and
//! members claim (认领) or cancel; services members offer (结合自身职责). Reads take the
//! caller's scope; every write runs in one transaction with its audit entry. Confirmation,
//! the ledger's writes and rewards are in `confirm.rs`; the figures in `views.rs`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, ReportPeriod};
use crate::audit::Entry;
use crate::auth::{CurrentUser, Role};
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::web::Paging;

/// Problems as one refusal, every field named.
pub fn refused(p: rules::Problems) -> AppError {
    AppError::Invalid {
        message: p.values().cloned().collect::<Vec<_>>().join("；"),
        fields: p.into_iter().collect(),
    }
}

/// The member the caller acts as (a member grant).
pub fn own_member(user: &CurrentUser) -> AppResult<i64> {
    if !user.has(Role::Member) {
        return Err(AppError::Forbidden);
    }
    user.member_ids()
        .first()
        .copied()
        .ok_or(AppError::Forbidden)
}

/// The member's unit and branch now, and whether they are on the register.
pub async fn member_place(
    conn: &mut sqlx::AnyConnection,
    member_id: i64,
) -> AppResult<(i64, i64, String)> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("select unit_id, branch_id, status from member where member_id = $1")
            .bind(member_id)
            .fetch_optional(&mut *conn)
            .await?;
    row.ok_or(AppError::NotFound)
}

const PERIOD_SETTING: &str = "volunteer.period_months";

/// The report period's length in months the committee set (half-years until it does).
pub async fn period_months(state: &AppState) -> AppResult<u8> {
    let mut sql = Sql::new("select value from setting where key = ");
    sql.bind(PERIOD_SETTING);
    let raw: Vec<(String,)> = sql.fetch_page(&state.db).await?;
    Ok(raw
        .into_iter()
        .next()
        .and_then(|(v,)| v.trim().parse::<u8>().ok())
        .filter(|m| rules::period_length_valid(*m))
        .unwrap_or(rules::DEFAULT_PERIOD_MONTHS))
}

/// Sets the report period's length (committee admin), audited with before and after. Reports
/// already made keep their periods; the next report falls in a period of the new length.
pub async fn set_period_months(
    state: &AppState,
    user: &CurrentUser,
    months: &str,
) -> AppResult<u8> {
    user.require(user.is_committee())?;
    let m: u8 = months
        .trim()
        .parse()
        .ok()
        .filter(|m| rules::period_length_valid(*m))
        .ok_or_else(|| {
            AppError::field(
                "period_months",
                format!(
                    "报到周期应为{}之一，收到“{}”",
                    rules::PERIOD_LENGTHS
                        .iter()
                        .map(|(m, l)| format!("{l}（{m}）"))
                        .collect::<Vec<_>>()
                        .join("、"),
                    months.trim()
                ),
            )
        })?;
    let before = period_months(state).await?;
    if before == m {
        return Ok(m);
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    crate::db::put_setting(tx.conn(), PERIOD_SETTING, &m.to_string(), t, &user.username).await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer.period",
            "setting",
            PERIOD_SETTING,
            format!(
                "报到周期由{}改为{}",
                rules::period_length_label(before),
                rules::period_length_label(m)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

pub async fn current_period(state: &AppState) -> AppResult<ReportPeriod> {
    Ok(ReportPeriod::of(
        crate::clock::today(),
        period_months(state).await?,
    ))
}

/// A period given as text (`2026H1`, `2026Q3`, `2026M07`, `2026`), or the current one.
pub async fn period_param(
    state: &AppState,
    errors: &mut FieldErrors,
    v: Option<&str>,
) -> AppResult<ReportPeriod> {
    let current = current_period(state).await?;
    Ok(match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => current,
        Some(s) => ReportPeriod::parse(s).unwrap_or_else(|| {
            errors.insert(
                "period".into(),
                format!(
                    "报到期次应写作“2026H1”（上半年）、“2026Q3”（第三季度）、“2026M07”（7月）或“2026”（全年），收到“{s}”"
                ),
            );
            current
        }),
    })
}

// ---------------------------------------------------------------- communities to choose

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct CommunityLine {
    pub community_id: i64,
    pub name: String,
    pub street: String,
    pub district: String,
    pub address: String,
    pub contact: String,
    pub contact_phone: String,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchFilter {
    /// Part of a name, street, district or title.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl SearchFilter {
    pub fn paging(&self) -> Paging {
        Paging {
            page: self.page,
            per_page: self.per_page,
        }
    }
    pub fn like(&self) -> String {
        format!("%{}%", self.q.as_deref().unwrap_or("").trim())
    }
}

/// Communities a member may report to: every registered one, searched and paged.
pub async fn communities(
    state: &AppState,
    user: &CurrentUser,
    f: &SearchFilter,
) -> AppResult<(Vec<CommunityLine>, i64)> {
    user.require(super::may_use(user))?;
    let like = f.like();
    let p = f.paging();
    let mut sql = Sql::new("select community_id, name, street, district, address, contact, contact_phone from community where (name like ");
    sql.bind(like.clone())
        .push(" or street like ")
        .bind(like.clone())
        .push(" or district like ")
        .bind(like.clone())
        .push(") order by district, street, name limit ")
        .bind(p.per_page())
        .push(" offset ")
        .bind(p.offset());
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new("select count(*) from community where (name like ");
    count
        .bind(like.clone())
        .push(" or street like ")
        .bind(like.clone())
        .push(" or district like ")
        .bind(like)
        .push(")");
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}

pub async fn community(state: &AppState, id: i64) -> AppResult<CommunityLine> {
    let row: Option<CommunityLine> = sqlx::query_as("select community_id, name, street, district, address, contact, contact_phone from community where community_id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    row.ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------- reports (报到)

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ReportLine {
    pub volunteer_report_id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub unit_name: String,
    pub community_id: i64,
    pub community_name: String,
    /// `2026H1` / `2026H2`.
    pub period: String,
    /// pending | confirmed | declined
    pub status: String,
    pub note: String,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

impl crate::db::FromSqlite for ReportLine {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ReportLine {
            volunteer_report_id: r.get(0)?,
            member_id: r.get(1)?,
            member_name: r.get(2)?,
            unit_name: r.get(3)?,
            community_id: r.get(4)?,
            community_name: r.get(5)?,
            period: r.get(6)?,
            status: r.get(7)?,
            note: r.get(8)?,
            created_at: r.get(9)?,
            decided_at: r.get(10)?,
        })
    }
}

impl ReportLine {
    pub fn status_label(&self) -> &'static str {
        report_status_label(&self.status)
    }
    pub fn period_label(&self) -> String {
        ReportPeriod::parse(&self.period).map_or(self.period.clone(), |p| p.label())
    }
}

pub fn report_status_label(s: &str) -> &'static str {
    match s {
        "pending" => "待社区确认",
        "confirmed" => "已报到",
        "declined" => "社区未接收",
        _ => "",
    }
}

const REPORT_COLUMNS: &str = "r.volunteer_report_id, r.member_id, m.name as member_name, u.name as unit_name, r.community_id, c.name as community_name, r.period, r.status, r.note, r.created_at, r.decided_at \
     from volunteer_report r join member m on m.member_id = r.member_id join unit u on u.unit_id = r.unit_id join community c on c.community_id = r.community_id";

/// Reports to community `community_id` in the current period by the caller (a member).
pub async fn report(state: &AppState, user: &CurrentUser, community_id: i64) -> AppResult<i64> {
    let member = own_member(user)?;
    let c = community(state, community_id).await?;
    let period = current_period(state).await?;
    let mut tx = state.db.begin_write().await?;
    let (unit_id, branch_id, status) = member_place(tx.conn(), member).await?;
    if status != "active" {
        return Err(AppError::invalid("您不在册，不能报到"));
    }
    let existing: Option<(String, String)> = sqlx::query_as(
        "select c.name, r.status from volunteer_report r join community c on c.community_id = r.community_id \
         where r.member_id = $1 and r.period = $2 and r.status <> 'declined'",
    )
    .bind(member)
    .bind(period.key())
    .fetch_optional(tx.conn())
    .await?;
    if let Some((name, _)) = existing {
        return Err(AppError::Conflict(format!(
            "{}您已向“{name}”报到，同一期只能向一个社区报到",
            period.label()
        )));
    }
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "insert into volunteer_report (member_id, community_id, period, unit_id, branch_id, status, created_at) \
         values ($1, $2, $3, $4, $5, 'pending', $6) returning volunteer_report_id",
    )
    .bind(member)
    .bind(community_id)
    .bind(period.key())
    .bind(unit_id)
    .bind(branch_id)
    .bind(t)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| {
        crate::error::on_unique(
            e,
            "community_id",
            "本期您已向一个社区报到，同一期只能向一个社区报到",
        )
    })?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_report.create",
            "volunteer_report",
            id,
            format!("{}向{}报到", period.label(), c.name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The community confirms or declines a pending report made to it.
pub async fn decide_report(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    confirm: bool,
    note: &str,
) -> AppResult<()> {
    user.require(user.has(Role::Community))?;
    let note = crate::text::clean_text(note);
    if note.chars().count() > rules::REASON_MAX {
        return Err(AppError::field(
            "note",
            format!("说明不超过{}字", rules::REASON_MAX),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let row: Option<(i64, String)> = sqlx::query_as(
        "select community_id, status from volunteer_report where volunteer_report_id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let (community_id, status) = row.ok_or(AppError::NotFound)?;
    if !user.community_ids().contains(&community_id) {
        return Err(AppError::NotFound);
    }
    if status != "pending" {
        return Err(AppError::Conflict(format!(
            "该报到已处理（{}），不能重复处理",
            report_status_label(&status)
        )));
    }
    let to = if confirm { "confirmed" } else { "declined" };
    sqlx::query("update volunteer_report set status = $1, note = $2, decided_by = $3, decided_at = $4 where volunteer_report_id = $5")
        .bind(to)
        .bind(note.clone())
        .bind(user.user_id)
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            if confirm {
                "volunteer_report.confirm"
            } else {
                "volunteer_report.decline"
            },
            "volunteer_report",
            id,
            format!(
                "{}党员报到{}",
                if confirm { "确认" } else { "不接收" },
                if note.is_empty() {
                    String::new()
                } else {
                    format!("：{note}")
                }
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFilter {
    /// `2026H1`; the current period without it.
    pub period: Option<String>,
    /// pending | confirmed | declined
    pub status: Option<String>,
    /// Part of the member's or unit's name.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Reports the caller may see: a community its own; a unit admin its units' members'; a
/// branch admin its branches'; the committee all.
pub async fn reports(
    state: &AppState,
    user: &CurrentUser,
    f: &ReportFilter,
    all: bool,
) -> AppResult<(Vec<ReportLine>, i64)> {
    user.require(super::may_see_reports(user))?;
    let mut errors = FieldErrors::new();
    let period = period_param(state, &mut errors, f.period.as_deref()).await?;
    let statuses = [
        ("pending", "待社区确认"),
        ("confirmed", "已报到"),
        ("declined", "社区未接收"),
    ];
    crate::web::check_choice(
        &mut errors,
        "status",
        "状态",
        f.status.as_deref(),
        &statuses,
    );
    crate::web::filter_checked(errors)?;
    let build = |sql: &mut Sql| {
        sql.push(" where r.period = ")
            .bind(period.key())
            .push(" and (");
        if user.is_committee() {
            sql.push("1 = 1");
        } else {
            crate::auth::Scope::any_of(
                sql,
                &[
                    ("r.community_id", &user.community_ids()),
                    ("r.unit_id", &user.unit_ids()),
                    ("r.branch_id", &user.branch_ids()),
                ],
            );
        }
        sql.push(")");
        if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" and r.status = ").bind(s.to_string());
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let like = format!("%{q}%");
            sql.push(" and (m.name like ")
                .bind(like.clone())
                .push(" or u.name like ")
                .bind(like)
                .push(")");
        }
    };
    let mut sql = Sql::new(&format!("select {REPORT_COLUMNS}"));
    build(&mut sql);
    sql.push(" order by case r.status when 'pending' then 0 else 1 end, r.created_at desc, r.volunteer_report_id desc");
    if !all {
        let p = Paging {
            page: f.page,
            per_page: f.per_page,
        };
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new(
        "select count(*) from volunteer_report r join member m on m.member_id = r.member_id join unit u on u.unit_id = r.unit_id",
    );
    build(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}

/// The caller's own reports, newest first.
pub async fn my_reports(state: &AppState, user: &CurrentUser) -> AppResult<Vec<ReportLine>> {
    let member = own_member(user)?;
    let mut sql = Sql::new(&format!("select {REPORT_COLUMNS} where r.member_id = "));
    sql.bind(member)
        .push(" order by r.period desc, r.created_at desc");
    Ok(sql.fetch_page(&state.db).await?)
}

// ---------------------------------------------------------------- needs (需求清单)

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Need {
    pub volunteer_need_id: i64,
    pub community_id: i64,
    pub community_name: String,
    pub title: String,
    pub skills: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub slots: i64,
    /// Minutes credited to each claimant.
    pub minutes: i64,
    /// open | cancelled
    pub status: String,
    /// Active claims (claimed or confirmed).
    pub taken: i64,
}

impl Need {
    pub fn hours(&self) -> String {
        rules::hours_text(self.minutes)
    }
    pub fn when(&self) -> String {
        format!(
            "{} 至 {}",
            crate::clock::fmt_time(self.starts_at),
            crate::clock::fmt_time(self.ends_at)
        )
    }
    pub fn span_minutes(&self) -> i64 {
        (self.ends_at - self.starts_at) / 60
    }
    pub fn full(&self) -> bool {
        self.taken >= self.slots
    }
    pub fn started(&self) -> bool {
        self.starts_at <= now()
    }
    pub fn state_label(&self) -> &'static str {
        if self.status == "cancelled" {
            "已撤销"
        } else if self.ends_at <= now() {
            "已结束"
        } else if self.started() {
            "进行中"
        } else if self.full() {
            "名额已满"
        } else {
            "可认领"
        }
    }
}

const NEED_COLUMNS: &str = "n.volunteer_need_id, n.community_id, c.name as community_name, n.title, n.skills, n.place, n.starts_at, n.ends_at, n.slots, n.minutes, n.status, \
     (select count(*) from volunteer_claim k where k.volunteer_need_id = n.volunteer_need_id and k.status in ('claimed', 'confirmed')) as taken \
     from volunteer_need n join community c on c.community_id = n.community_id";

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct NeedInput {
    pub title: String,
    #[serde(default)]
    pub skills: String,
    #[serde(default)]
    pub place: String,
    /// `2026-05-01T09:00`, Beijing time.
    pub starts_at: String,
    pub ends_at: String,
    /// Places (名额).
    pub slots: String,
    /// Hours credited to each claimant (`2.5`).
    pub hours: String,
    /// The community posting (for an account holding several); its only one without it.
    #[serde(default)]
    pub community_id: Option<i64>,
}

/// The community the caller posts or confirms for.
pub fn acting_community(user: &CurrentUser, asked: Option<i64>) -> AppResult<i64> {
    user.require(user.has(Role::Community))?;
    let own = user.community_ids();
    match asked {
        Some(id) if own.contains(&id) => Ok(id),
        Some(_) => Err(AppError::NotFound),
        None => own.first().copied().ok_or(AppError::Forbidden),
    }
}

pub async fn create_need(
    state: &AppState,
    user: &CurrentUser,
    input: &NeedInput,
) -> AppResult<i64> {
    let community_id = acting_community(user, input.community_id)?;
    let (title, skills, place) = (
        crate::text::clean_text(&input.title),
        crate::text::clean_prose(&input.skills),
        crate::text::clean_text(&input.place),
    );
    let t = now();
    let (starts_at, ends_at) = (
        rules::parse_local_time(&input.starts_at),
        rules::parse_local_time(&input.ends_at),
    );
    let mut problems = match rules::check_need(
        &rules::NeedFields {
            title: &title,
            skills: &skills,
            place: &place,
            starts_at,
            ends_at,
            slots: &input.slots,
            hours: &input.hours,
        },
        t,
    ) {
        Ok(_) => rules::Problems::new(),
        Err(p) => p,
    };
    if starts_at.is_none() && !input.starts_at.trim().is_empty() {
        problems.insert(
            "starts_at".into(),
            format!(
                "开始时间应写作“2026-05-01T09:00”，收到“{}”",
                input.starts_at.trim()
            ),
        );
    }
    if ends_at.is_none() && !input.ends_at.trim().is_empty() {
        problems.insert(
            "ends_at".into(),
            format!(
                "结束时间应写作“2026-05-01T12:00”，收到“{}”",
                input.ends_at.trim()
            ),
        );
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let (slots, minutes) = rules::check_need(
        &rules::NeedFields {
            title: &title,
            skills: &skills,
            place: &place,
            starts_at,
            ends_at,
            slots: &input.slots,
            hours: &input.hours,
        },
        t,
    )
    .map_err(refused)?;
    let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) else {
        return Err(AppError::field("starts_at", "请填写开始和结束时间"));
    };
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into volunteer_need (community_id, title, skills, place, starts_at, ends_at, slots, minutes, status, created_by, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $10) returning volunteer_need_id",
    )
    .bind(community_id)
    .bind(title.clone())
    .bind(skills)
    .bind(place)
    .bind(starts_at)
    .bind(ends_at)
    .bind(slots)
    .bind(minutes)
    .bind(user.user_id)
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_need.create",
            "volunteer_need",
            id,
            format!("发布服务需求 {title}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The community withdraws a need before it starts; its claims are cancelled.
pub async fn cancel_need(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let n = need(state, user, id).await?;
    acting_community(user, Some(n.community_id))?;
    if n.status == "cancelled" {
        return Err(AppError::Conflict("该需求已撤销".into()));
    }
    if n.started() {
        return Err(AppError::Conflict(
            "服务已开始，不能撤销；请在服务结束后确认时长".into(),
        ));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("update volunteer_need set status = 'cancelled', updated_at = $1 where volunteer_need_id = $2")
        .bind(t)
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("update volunteer_claim set status = 'cancelled', updated_at = $1 where volunteer_need_id = $2 and status = 'claimed'")
        .bind(t)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_need.cancel",
            "volunteer_need",
            id,
            format!("撤销服务需求 {}", n.title),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NeedFilter {
    /// Part of the title, skills, place or community.
    pub q: Option<String>,
    /// `upcoming` (default for members: open and not started) | `all`
    pub show: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Needs the caller may browse: a community its own (all of them); everyone else who uses
/// the bank the open ones not yet started, or all with `show=all`.
pub async fn needs(
    state: &AppState,
    user: &CurrentUser,
    f: &NeedFilter,
    all_rows: bool,
) -> AppResult<(Vec<Need>, i64)> {
    user.require(super::may_use(user))?;
    let mut errors = FieldErrors::new();
    crate::web::check_choice(
        &mut errors,
        "show",
        "范围",
        f.show.as_deref(),
        &[("upcoming", "可认领"), ("all", "全部")],
    );
    crate::web::filter_checked(errors)?;
    let upcoming = f.show.as_deref() != Some("all") && !user.has(Role::Community);
    let t = now();
    let build = |sql: &mut Sql| {
        sql.push(" where 1 = 1");
        if user.has(Role::Community) && !user.is_committee() {
            sql.push(" and n.community_id in ")
                .bind_list(&user.community_ids());
        }
        if upcoming {
            sql.push(" and n.status = 'open' and n.starts_at > ")
                .bind(t);
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let like = format!("%{q}%");
            sql.push(" and (n.title like ")
                .bind(like.clone())
                .push(" or n.skills like ")
                .bind(like.clone())
                .push(" or n.place like ")
                .bind(like.clone())
                .push(" or c.name like ")
                .bind(like)
                .push(")");
        }
    };
    let mut sql = Sql::new(&format!("select {NEED_COLUMNS}"));
    build(&mut sql);
    if upcoming {
        sql.push(" order by n.starts_at, n.volunteer_need_id");
    } else {
        sql.push(" order by n.starts_at desc, n.volunteer_need_id desc");
    }
    if !all_rows {
        let p = Paging {
            page: f.page,
            per_page: f.per_page,
        };
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new(
        "select count(*) from volunteer_need n join community c on c.community_id = n.community_id",
    );
    build(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}

/// One need; a community sees only its own.
pub async fn need(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Need> {
    user.require(super::may_use(user))?;
    let row: Option<Need> = sqlx::query_as(&format!(
        "select {NEED_COLUMNS} where n.volunteer_need_id = $1"
    ))
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    let n = row.ok_or(AppError::NotFound)?;
    if user.has(Role::Community)
        && !user.is_committee()
        && !user.has(Role::Member)
        && !user.community_ids().contains(&n.community_id)
    {
        return Err(AppError::NotFound);
    }
    Ok(n)
}

// ---------------------------------------------------------------- claims (认领)

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Claim {
    pub volunteer_claim_id: i64,
    pub volunteer_need_id: i64,
    pub need_title: String,
    pub community_name: String,
    pub member_id: i64,
    pub member_name: String,
    pub unit_name: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// claimed | cancelled | confirmed | absent | expired
    pub status: String,
    pub signed_in_at: Option<i64>,
    pub signed_out_at: Option<i64>,
    /// Confirmed minutes.
    pub minutes: Option<i64>,
    pub adjust_reason: String,
    pub ledger_transfer_id: Option<i64>,
    /// The need's credited minutes.
    pub need_minutes: i64,
}

impl crate::db::FromSqlite for Claim {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Claim {
            volunteer_claim_id: r.get(0)?,
            volunteer_need_id: r.get(1)?,
            need_title: r.get(2)?,
            community_name: r.get(3)?,
            member_id: r.get(4)?,
            member_name: r.get(5)?,
            unit_name: r.get(6)?,
            starts_at: r.get(7)?,
            ends_at: r.get(8)?,
            status: r.get(9)?,
            signed_in_at: r.get(10)?,
            signed_out_at: r.get(11)?,
            minutes: r.get(12)?,
            adjust_reason: r.get(13)?,
            ledger_transfer_id: r.get(14)?,
            need_minutes: r.get(15)?,
        })
    }
}

impl Claim {
    pub fn status_label(&self) -> &'static str {
        claim_status_label(&self.status)
    }
    pub fn when(&self) -> String {
        crate::clock::fmt_time(self.starts_at)
    }
    pub fn hours(&self) -> String {
        self.minutes.map(rules::hours_text).unwrap_or_default()
    }
    pub fn cancellable(&self) -> bool {
        rules::check_cancel(&self.status, self.starts_at, now()).is_ok()
    }
    /// The hours the confirmation form starts from.
    pub fn prefill(&self) -> String {
        rules::hours_text(rules::prefill_minutes(
            self.need_minutes,
            self.signed_in_at,
            self.signed_out_at,
            (self.ends_at - self.starts_at) / 60,
        ))
    }
    pub fn signed_in(&self) -> String {
        self.signed_in_at
            .map(crate::clock::fmt_time)
            .unwrap_or_default()
    }
    pub fn signed_out(&self) -> String {
        self.signed_out_at
            .map(crate::clock::fmt_time)
            .unwrap_or_default()
    }
}

pub fn claim_status_label(s: &str) -> &'static str {
    match s {
        "claimed" => "已认领",
        "cancelled" => "已取消",
        "confirmed" => "已确认",
        "absent" => "未到场",
        "expired" => "超期未确认",
        _ => "",
    }
}

pub const CLAIM_COLUMNS: &str = "k.volunteer_claim_id, k.volunteer_need_id, n.title as need_title, c.name as community_name, k.member_id, m.name as member_name, u.name as unit_name, \
     k.starts_at, k.ends_at, k.status, k.signed_in_at, k.signed_out_at, k.minutes, k.adjust_reason, k.ledger_transfer_id, n.minutes as need_minutes \
     from volunteer_claim k join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id join community c on c.community_id = n.community_id \
     join member m on m.member_id = k.member_id join unit u on u.unit_id = m.unit_id";

/// The caller (a member) claims need `need_id`.
pub async fn claim(state: &AppState, user: &CurrentUser, need_id: i64) -> AppResult<i64> {
    let member = own_member(user)?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let row: Option<(String, i64, i64, i64, String)> = sqlx::query_as(
        "select status, starts_at, ends_at, slots, title from volunteer_need where volunteer_need_id = $1",
    )
    .bind(need_id)
    .fetch_optional(tx.conn())
    .await?;
    let (status, starts_at, ends_at, slots, title) = row.ok_or(AppError::NotFound)?;
    let mine: Option<(i64, String)> = sqlx::query_as(
        "select volunteer_claim_id, status from volunteer_claim where volunteer_need_id = $1 and member_id = $2",
    )
    .bind(need_id)
    .bind(member)
    .fetch_optional(tx.conn())
    .await?;
    if let Some((_, s)) = &mine {
        if s != "cancelled" {
            return Err(AppError::Conflict(format!(
                "您已认领过该需求（{}）",
                claim_status_label(s)
            )));
        }
    }
    let taken: i64 = sqlx::query_scalar(
        "select count(*) from volunteer_claim where volunteer_need_id = $1 and status in ('claimed', 'confirmed')",
    )
    .bind(need_id)
    .fetch_one(tx.conn())
    .await?;
    let others: Vec<(i64, i64)> = sqlx::query_as(
        "select starts_at, ends_at from volunteer_claim where member_id = $1 and status in ('claimed', 'confirmed') and volunteer_need_id <> $2 and ends_at > $3 and starts_at < $4",
    )
    .bind(member)
    .bind(need_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_all(tx.conn())
    .await?;
    rules::check_claim(
        status == "open",
        starts_at,
        ends_at,
        slots,
        taken,
        &others,
        t,
    )
    .map_err(AppError::Conflict)?;
    let id = match mine {
        Some((id, _)) => {
            sqlx::query("update volunteer_claim set status = 'claimed', updated_at = $1 where volunteer_claim_id = $2")
                .bind(t)
                .bind(id)
                .execute(tx.conn())
                .await?;
            id
        }
        None => sqlx::query_scalar(
            "insert into volunteer_claim (volunteer_need_id, member_id, starts_at, ends_at, status, created_at, updated_at) \
             values ($1, $2, $3, $4, 'claimed', $5, $5) returning volunteer_claim_id",
        )
        .bind(need_id)
        .bind(member)
        .bind(starts_at)
        .bind(ends_at)
        .bind(t)
        .fetch_one(tx.conn())
        .await?,
    };
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_claim.create",
            "volunteer_claim",
            id,
            format!("认领服务需求 {title}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The member cancels their claim before the service starts.
pub async fn cancel_claim(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    let member = own_member(user)?;
    let mut tx = state.db.begin_write().await?;
    let row: Option<(i64, String, i64)> = sqlx::query_as(
        "select member_id, status, starts_at from volunteer_claim where volunteer_claim_id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let (owner, status, starts_at) = row.ok_or(AppError::NotFound)?;
    if owner != member {
        return Err(AppError::NotFound);
    }
    rules::check_cancel(&status, starts_at, now()).map_err(AppError::Conflict)?;
    sqlx::query("update volunteer_claim set status = 'cancelled', updated_at = $1 where volunteer_claim_id = $2")
        .bind(now())
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        &user.actor(),
        Entry::new("volunteer_claim.cancel", "volunteer_claim", id, "取消认领"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The caller's own claims, newest first.
pub async fn my_claims(state: &AppState, user: &CurrentUser) -> AppResult<Vec<Claim>> {
    let member = own_member(user)?;
    // What asks for attention: every claim not yet settled, and those settled in the last
    // 30 days (confirmed hours stay in the account's history for good).
    let mut sql = Sql::new(&format!("select {CLAIM_COLUMNS} where k.member_id = "));
    sql.bind(member)
        .push(" and (k.status = 'claimed' or k.updated_at >= ")
        .bind(now() - 30 * 86_400)
        .push(") order by k.starts_at desc limit 50");
    Ok(sql.fetch_page(&state.db).await?)
}

/// The caller's latest claim of need `need_id`, if a member made one.
pub async fn my_claim_of(
    state: &AppState,
    user: &CurrentUser,
    need_id: i64,
) -> AppResult<Option<Claim>> {
    let Ok(member) = own_member(user) else {
        return Ok(None);
    };
    let mut sql = Sql::new(&format!("select {CLAIM_COLUMNS} where k.member_id = "));
    sql.bind(member)
        .push(" and k.volunteer_need_id = ")
        .bind(need_id)
        .push(" order by k.volunteer_claim_id desc limit 1");
    Ok(sql.fetch_page(&state.db).await?.into_iter().next())
}

/// A need's claims (its community, the committee), the active ones first.
pub async fn claims_of(state: &AppState, user: &CurrentUser, n: &Need) -> AppResult<Vec<Claim>> {
    if !(user.is_committee() || user.community_ids().contains(&n.community_id)) {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!(
        "select {CLAIM_COLUMNS} where k.volunteer_need_id = $1 and k.status <> 'cancelled' order by m.name, k.volunteer_claim_id"
    ))
    .bind(n.volunteer_need_id)
    .fetch_all(&state.db.pool)
    .await?)
}

// ---------------------------------------------------------------- offers (结合自身职责)

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Offer {
    pub volunteer_offer_id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub unit_name: String,
    pub title: String,
    pub description: String,
    pub active: i64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct OfferInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

pub async fn create_offer(
    state: &AppState,
    user: &CurrentUser,
    input: &OfferInput,
) -> AppResult<i64> {
    let member = own_member(user)?;
    let title = crate::text::clean_text(&input.title);
    let description = crate::text::clean_prose(&input.description);
    let mut p = rules::Problems::new();
    if title.is_empty() || title.chars().count() > rules::TITLE_MAX {
        p.insert(
            "title".into(),
            format!(
                "请填写服务名称（不超过{}字），如“法律咨询”",
                rules::TITLE_MAX
            ),
        );
    }
    if description.chars().count() > rules::TEXT_MAX {
        p.insert(
            "description".into(),
            format!("服务说明不超过{}字", rules::TEXT_MAX),
        );
    }
    if !p.is_empty() {
        return Err(refused(p));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into volunteer_offer (member_id, title, description, active, created_at, updated_at) values ($1, $2, $3, 1, $4, $4) returning volunteer_offer_id",
    )
    .bind(member)
    .bind(title.clone())
    .bind(description)
    .bind(t)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_offer.create",
            "volunteer_offer",
            id,
            format!("提供岗位服务 {title}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The member withdraws or renews their offer.
pub async fn toggle_offer(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<bool> {
    let member = own_member(user)?;
    let mut tx = state.db.begin_write().await?;
    let row: Option<(i64, i64)> = sqlx::query_as(
        "select member_id, active from volunteer_offer where volunteer_offer_id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let (owner, active) = row.ok_or(AppError::NotFound)?;
    if owner != member {
        return Err(AppError::NotFound);
    }
    let now_active = active == 0;
    sqlx::query(
        "update volunteer_offer set active = $1, updated_at = $2 where volunteer_offer_id = $3",
    )
    .bind(i64::from(now_active))
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_offer.toggle",
            "volunteer_offer",
            id,
            if now_active {
                "恢复岗位服务"
            } else {
                "停止岗位服务"
            },
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(now_active)
}

/// Offers: a member sees their own; communities, admins and the committee the active ones.
pub async fn offers(
    state: &AppState,
    user: &CurrentUser,
    f: &SearchFilter,
    all_rows: bool,
) -> AppResult<(Vec<Offer>, i64)> {
    user.require(super::may_use(user))?;
    let staff = user.has(Role::Community)
        || user.is_committee()
        || user.has(Role::Unit)
        || user.has(Role::Branch);
    let like = f.like();
    let build = |sql: &mut Sql| {
        sql.push(" where (o.title like ")
            .bind(like.clone())
            .push(" or o.description like ")
            .bind(like.clone())
            .push(" or u.name like ")
            .bind(like.clone())
            .push(")");
        if staff {
            sql.push(" and o.active = 1");
        } else {
            sql.push(" and o.member_id in ")
                .bind_list(&user.member_ids());
        }
    };
    let mut sql = Sql::new("select o.volunteer_offer_id, o.member_id, m.name as member_name, u.name as unit_name, o.title, o.description, o.active \
        from volunteer_offer o join member m on m.member_id = o.member_id join unit u on u.unit_id = m.unit_id");
    build(&mut sql);
    sql.push(" order by o.volunteer_offer_id desc");
    if !all_rows {
        let p = f.paging();
        sql.push(" limit ")
            .bind(p.per_page())
            .push(" offset ")
            .bind(p.offset());
    }
    let rows = sql.fetch_all(&state.db.pool).await?;
    let mut count = Sql::new("select count(*) from volunteer_offer o join member m on m.member_id = o.member_id join unit u on u.unit_id = m.unit_id");
    build(&mut count);
    Ok((rows, count.fetch_scalar(&state.db.pool).await?))
}
