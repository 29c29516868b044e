//! 督导践诺: the public's feedback on an accepted pledge — the form's challenge (a signed
//! token with a question, no third-party service), the throttles per client and per pledge,
//! the submission held for moderation; the unit admin's moderation (publish, hide with a
//! reason), audited; the pledger's public reply. Held and hidden feedback never leaves the
//! staff pages.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, FeedbackStatus, PledgeStatus, Problems};
use super::store::{line, refused, scope_condition};
use super::{may_moderate, may_pledge, may_read};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{ListPage, Paging};

/// Refusal of a flood, shown to the public.
pub const TOO_MANY: &str = "提交过于频繁，请稍后再试";
pub const TOO_MANY_PLEDGE: &str = "该承诺短时间内收到的评价过多，请稍后再试";

/// Per client: at most this many tries (anything posted) and this many feedbacks taken in
/// the window.
pub const CLIENT_TRIES: usize = 20;
pub const CLIENT_LIMIT: usize = 5;
pub const CLIENT_WINDOW: i64 = 600;
/// Per pledge: at most this many in the window, whoever sends them.
pub const PLEDGE_LIMIT: usize = 30;
pub const PLEDGE_WINDOW: i64 = 3600;

/// Recent attempts by key, in this process. Behind several instances each counts its own
/// share; the limits are for floods, which one instance sees as well as all.
#[derive(Default)]
pub struct Throttle {
    hits: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl Throttle {
    /// Counts an attempt under `key`; false when `limit` were already made in `window`.
    pub fn allow(&self, key: &str, limit: usize, window: i64, at: i64) -> bool {
        let Ok(mut map) = self.hits.lock() else {
            return true;
        };
        if map.len() > 100_000 {
            map.retain(|_, q| q.back().is_some_and(|t| at - t < window));
        }
        let q = map.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| at - t >= window) {
            q.pop_front();
        }
        if q.len() >= limit {
            return false;
        }
        q.push_back(at);
        true
    }
}

/// The public form's challenge: the token to send back and the question to answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Challenge {
    pub token: String,
    pub question: String,
}

fn mac(state: &AppState, payload: &str) -> String {
    state
        .keys
        .snapshot()
        .seal(format!("pledge-challenge\0{payload}").as_bytes())
}

/// A fresh challenge for the pledge with public key `key`.
pub fn issue(state: &AppState, key: &str) -> Challenge {
    use rand::RngCore;
    let mut nonce = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let payload = rules::token_payload(key, now(), &hex::encode(nonce));
    Challenge {
        token: format!("{payload}.{}", mac(state, &payload)),
        question: rules::challenge_question(&nonce),
    }
}

/// A keyed hash of the client's address: enough to count, not the address.
fn client_hash(state: &AppState, ip: &str) -> String {
    state
        .keys
        .snapshot()
        .seal(format!("pledge-client\0{ip}").as_bytes())[..32]
        .to_string()
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct FeedbackInput {
    /// The challenge's token, as issued.
    pub token: String,
    /// The answer to the challenge's question.
    pub answer: String,
    /// 1..5
    pub rating: String,
    /// The comment (required, up to 300 characters).
    pub body: String,
    /// Optional contact, seen only by the unit admin.
    #[serde(default)]
    pub contact: String,
    /// Left empty by people (a field hidden from them); a script that fills every field is
    /// refused.
    #[serde(default)]
    pub website: String,
}

/// An accepted pledge's id and unit by its public key.
pub async fn accepted_by_key(state: &AppState, key: &str) -> AppResult<(i64, i64)> {
    if !rules::public_key_ok(key) {
        return Err(AppError::NotFound);
    }
    let mut sql = Sql::new(
        "select pledge_id, unit_id from pledge where status = 'accepted' and public_key = ",
    );
    sql.bind(key);
    let rows: Vec<(i64, i64)> = sql.fetch_page(&state.db).await?;
    rows.first().copied().ok_or(AppError::NotFound)
}

/// Takes a member of the public's feedback on the pledge `key`, held for moderation.
pub async fn submit(
    state: &AppState,
    key: &str,
    ip: &str,
    input: &FeedbackInput,
) -> AppResult<i64> {
    let t = now();
    let client = client_hash(state, ip);
    let throttle = state.ext::<Throttle>();
    if !throttle.allow(&format!("t:{client}"), CLIENT_TRIES, CLIENT_WINDOW, t) {
        return Err(AppError::TooManyRequests(TOO_MANY.into()));
    }
    let (pledge_id, _) = accepted_by_key(state, key).await?;
    let mut p = Problems::new();
    match rules::split_token(&input.token) {
        Some((k, at, nonce_hex, tag)) if k == key => {
            let payload = rules::token_payload(k, at, nonce_hex);
            if !state
                .keys
                .snapshot()
                .seal_matches(format!("pledge-challenge\0{payload}").as_bytes(), tag)
            {
                p.insert("token".into(), "验证信息无效，请刷新页面后重新填写".into());
            } else if let Err(m) = rules::challenge_age(at, t) {
                p.insert("token".into(), m.into());
            } else {
                let nonce = hex::decode(nonce_hex).unwrap_or_default();
                if !rules::answer_ok(&nonce, &input.answer) {
                    p.insert("answer".into(), "验证问题回答错误，请重新计算".into());
                }
            }
        }
        _ => {
            p.insert("token".into(), "验证信息无效，请刷新页面后重新填写".into());
        }
    }
    if !input.website.trim().is_empty() {
        p.insert("website".into(), "提交未通过验证".into());
    }
    let rating = rules::parse_rating(&mut p, &input.rating);
    let body = crate::text::clean_prose(&input.body);
    rules::required_text(&mut p, "body", "评价内容", &body, rules::FEEDBACK_MAX);
    let contact = crate::text::clean_text(&input.contact);
    rules::optional_text(&mut p, "contact", "联系方式", &contact, rules::CONTACT_MAX);
    if !p.is_empty() {
        return Err(refused(p));
    }
    if !throttle.allow(&format!("c:{client}"), CLIENT_LIMIT, CLIENT_WINDOW, t) {
        return Err(AppError::TooManyRequests(TOO_MANY.into()));
    }
    if !throttle.allow(&format!("p:{pledge_id}"), PLEDGE_LIMIT, PLEDGE_WINDOW, t) {
        return Err(AppError::TooManyRequests(TOO_MANY_PLEDGE.into()));
    }
    let token_hash = hex::encode(sha2::Sha256::digest(input.token.trim().as_bytes()));
    let mut tx = state.db.begin_write().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into pledge_feedback (pledge_id, rating, body, contact, status, client_hash, \
         token_hash, created_at) values ($1, $2, $3, $4, 'held', $5, $6, $7) \
         on conflict (token_hash) do nothing returning pledge_feedback_id",
    )
    .bind(pledge_id)
    .bind(rating)
    .bind(&body)
    .bind(&contact)
    .bind(&client)
    .bind(&token_hash)
    .bind(t)
    .fetch_optional(tx.conn())
    .await?;
    let id = id.ok_or_else(|| {
        AppError::Conflict("这份评价已经提交过了；如需再次评价，请刷新页面".into())
    })?;
    tx.commit().await?;
    Ok(id)
}

/// Published feedback as the public sees it: no contact, nothing held or hidden.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PublicFeedback {
    pub rating: i64,
    pub body: String,
    pub reply: String,
    pub created_at: i64,
    pub replied_at: Option<i64>,
}

impl PublicFeedback {
    pub fn stars(&self) -> String {
        rules::stars(self.rating)
    }
    pub fn date(&self) -> String {
        super::rules::date_text(self.created_at)
    }
}

pub async fn published_of(
    state: &AppState,
    pledge_ids: &[i64],
) -> AppResult<Vec<(i64, PublicFeedback)>> {
    if pledge_ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        pledge_id: i64,
        #[sqlx(flatten)]
        f: PublicFeedback,
    }
    let mut sql = Sql::new(
        "select pledge_id, rating, body, reply, created_at, replied_at from pledge_feedback \
         where status = 'published' and pledge_id in ",
    );
    sql.bind_list(pledge_ids)
        .push(" order by created_at desc, pledge_feedback_id desc");
    let rows: Vec<Row> = sql.fetch_all(&state.db.pool).await?;
    Ok(rows.into_iter().map(|r| (r.pledge_id, r.f)).collect())
}

// ---- staff ----

/// Feedback as staff see it: the unit admin with the contact, others without.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct FeedbackLine {
    pub feedback_id: i64,
    pub pledge_id: i64,
    pub member_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub pledge_body: String,
    pub rating: i64,
    pub body: String,
    /// Only for the unit admin of the pledge's unit; empty otherwise.
    pub contact: String,
    #[sqlx(try_from = "String")]
    pub status: FeedbackStatus,
    pub hide_reason: String,
    pub reply: String,
    pub created_at: i64,
    pub moderated_at: Option<i64>,
    pub moderator: Option<String>,
}

impl FeedbackLine {
    pub fn stars(&self) -> String {
        rules::stars(self.rating)
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackFilter {
    /// held | published | hidden
    pub status: Option<String>,
    /// Only this pledge's.
    pub pledge_id: Option<String>,
    /// Part of the comment, the pledger's or the unit's name.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Feedback on the pledges in the caller's scope, newest first. The pledger sees only the
/// published feedback on their own pledges.
pub async fn all_feedback(
    state: &AppState,
    user: &CurrentUser,
    f: &FeedbackFilter,
) -> AppResult<Vec<FeedbackLine>> {
    user.require(may_read(user))?;
    let mut errors = crate::error::FieldErrors::new();
    let statuses = FeedbackStatus::options();
    crate::web::check_choice(
        &mut errors,
        "status",
        "状态",
        f.status.as_deref(),
        &statuses,
    );
    crate::web::check_id(&mut errors, "pledge_id", "承诺", f.pledge_id.as_deref());
    crate::web::filter_checked(errors)?;
    let staff = user.is_committee() || !user.unit_ids().is_empty() || !user.branch_ids().is_empty();
    let mut sql = Sql::new(
        "select f.pledge_feedback_id as feedback_id, f.pledge_id, m.name as member_name, p.unit_id, \
         u.name as unit_name, p.body as pledge_body, f.rating, f.body, f.contact, f.status, \
         f.hide_reason, f.reply, f.created_at, f.moderated_at, a.display_name as moderator \
         from pledge_feedback f join pledge p on p.pledge_id = f.pledge_id \
         join member m on m.member_id = p.member_id join unit u on u.unit_id = p.unit_id \
         left join app_user a on a.user_id = f.moderated_by where ",
    );
    scope_condition(user, &mut sql);
    if !staff {
        sql.push(" and f.status = 'published'");
    }
    if let Some(s) = f.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        sql.push(" and f.status = ").bind(s);
    }
    if let Some(id) = f
        .pledge_id
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        sql.push(" and f.pledge_id = ").bind(id);
    }
    let q = crate::text::clean_text(f.q.as_deref().unwrap_or(""));
    if !q.is_empty() {
        sql.push(" and (");
        sql.contains(state.db.backend, "f.body", &q);
        sql.push(" or ");
        sql.contains(state.db.backend, "m.name", &q);
        sql.push(" or ");
        sql.contains(state.db.backend, "u.name", &q);
        sql.push(")");
    }
    sql.push(" order by f.created_at desc, f.pledge_feedback_id desc");
    let mut rows: Vec<FeedbackLine> = sql.fetch_all(&state.db.pool).await?;
    let own_units = user.unit_ids();
    for r in &mut rows {
        if !(may_moderate(user) && own_units.contains(&r.unit_id)) {
            r.contact.clear();
        }
    }
    Ok(rows)
}

pub async fn list_feedback(
    state: &AppState,
    user: &CurrentUser,
    f: &FeedbackFilter,
) -> AppResult<ListPage<FeedbackLine>> {
    let rows = all_feedback(state, user, f).await?;
    let paging = Paging {
        page: f.page,
        per_page: f.per_page,
    };
    Ok(ListPage::paged(rows, &paging))
}

/// A feedback's pledge, unit and status, under the caller's scope.
async fn feedback_of(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> AppResult<(i64, i64, String, String)> {
    let mut sql = Sql::new(
        "select f.pledge_id, p.unit_id, f.status, m.name from pledge_feedback f \
         join pledge p on p.pledge_id = f.pledge_id join member m on m.member_id = p.member_id \
         where f.pledge_feedback_id = ",
    );
    sql.bind(id).push(" and ");
    scope_condition(user, &mut sql);
    let rows: Vec<(i64, i64, String, String)> = sql.fetch_all(&state.db.pool).await?;
    rows.into_iter().next().ok_or(AppError::NotFound)
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct HideInput {
    /// Why it is hidden (required).
    pub reason: String,
}

/// Publishes feedback (the unit admin of the pledge's unit).
pub async fn publish(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    moderate(state, user, id, FeedbackStatus::Published, "").await
}

/// Hides feedback with a reason (the unit admin of the pledge's unit).
pub async fn hide(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &HideInput,
) -> AppResult<()> {
    let reason = crate::text::clean_prose(&input.reason);
    let mut p = Problems::new();
    rules::required_text(&mut p, "reason", "隐藏理由", &reason, rules::REASON_MAX);
    if !p.is_empty() {
        return Err(refused(p));
    }
    moderate(state, user, id, FeedbackStatus::Hidden, &reason).await
}

async fn moderate(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    to: FeedbackStatus,
    reason: &str,
) -> AppResult<()> {
    user.require(may_moderate(user))?;
    let (_, unit, status, name) = feedback_of(state, user, id).await?;
    if !user.unit_ids().contains(&unit) {
        return Err(AppError::Forbidden);
    }
    if status == to.as_str() {
        return Err(AppError::Conflict(format!(
            "该反馈已是“{}”状态",
            to.label()
        )));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update pledge_feedback set status = $1, hide_reason = $2, moderated_by = $3, \
         moderated_at = $4 where pledge_feedback_id = $5",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(user.user_id)
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await?;
    let (action, summary) = match to {
        FeedbackStatus::Published => (
            "pledge_feedback.publish",
            format!("公开群众对{name}承诺的督导反馈"),
        ),
        _ => (
            "pledge_feedback.hide",
            format!("隐藏群众对{name}承诺的督导反馈：{reason}"),
        ),
    };
    tx.audit(
        &user.actor(),
        Entry::new(action, "pledge_feedback", id, summary),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ReplyInput {
    /// The public reply (required, up to 300 characters).
    pub reply: String,
}

/// The pledger replies publicly to published feedback on their own pledge.
pub async fn reply(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &ReplyInput,
) -> AppResult<()> {
    user.require(may_pledge(user))?;
    let (pledge_id, _, status, _) = feedback_of(state, user, id).await?;
    let l = line(state, user, pledge_id).await?;
    if !user.member_ids().contains(&l.member_id) {
        return Err(AppError::Forbidden);
    }
    if l.status != PledgeStatus::Accepted || status != "published" {
        return Err(AppError::Conflict("只能回复已公开的督导反馈".into()));
    }
    let text = crate::text::clean_prose(&input.reply);
    let mut p = Problems::new();
    rules::required_text(&mut p, "reply", "回复内容", &text, rules::REPLY_MAX);
    if !p.is_empty() {
        return Err(refused(p));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "update pledge_feedback set reply = $1, replied_at = $2 where pledge_feedback_id = $3",
    )
    .bind(&text)
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "pledge_feedback.reply",
            "pledge_feedback",
            id,
            format!("{}公开回复督导反馈：{text}", l.member_name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_windows() {
        let t = Throttle::default();
        for i in 0..3 {
            assert!(t.allow("a", 3, 10, 100 + i));
        }
        assert!(!t.allow("a", 3, 10, 105));
        assert!(t.allow("b", 3, 10, 105), "another key is not held back");
        assert!(t.allow("a", 3, 10, 110), "the window moved past the first");
    }
}
