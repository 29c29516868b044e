//! Hours into the ledger: the community's bulk confirmation of a need's claimants (one form,
//! one idempotency key, all or nothing), reversals, the committee's rewards and members'
//! redemptions, and the daily step expiring claims left unconfirmed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ledger::{self, Posting};
use super::rules;
use super::store::{self, own_member};
use crate::audit::Entry;
use crate::auth::{CurrentUser, Role};
use crate::clock::now;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;

/// One claimant's line of the confirmation form.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ConfirmLine {
    pub claim_id: i64,
    /// Present at the service; absent lines post nothing and mark the claim 未到场.
    pub attended: bool,
    /// Hours served (`2.5`).
    #[serde(default)]
    pub hours: String,
    /// Required when the hours differ from the pre-filled ones.
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConfirmOutcome {
    pub confirmed: i64,
    pub absent: i64,
    /// The same key was submitted before: nothing was posted this time.
    pub repeated: bool,
}

pub const KEY_MAX: usize = 100;

fn check_key(key: &str) -> AppResult<String> {
    let k = key.trim();
    if k.is_empty() || k.len() > KEY_MAX || !k.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::field(
            "idempotency_key",
            "缺少有效的幂等键（Idempotency-Key，1至100个可见ASCII字符），请刷新页面后重新提交",
        ));
    }
    Ok(k.to_string())
}

/// The community confirms attendance and hours of need `need_id`'s claimants.
pub async fn confirm(
    state: &AppState,
    user: &CurrentUser,
    need_id: i64,
    key: &str,
    lines: &[ConfirmLine],
) -> AppResult<ConfirmOutcome> {
    user.require(user.has(Role::Community))?;
    let key = check_key(key)?;
    let n = store::need(state, user, need_id).await?;
    if !user.community_ids().contains(&n.community_id) {
        return Err(AppError::NotFound);
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let seen: Option<(i64, i64)> = sqlx::query_as(
        "select volunteer_need_id, confirmed from volunteer_confirmation where idempotency_key = $1",
    )
    .bind(key.clone())
    .fetch_optional(tx.conn())
    .await?;
    if let Some((need, confirmed)) = seen {
        if need != need_id {
            return Err(AppError::field(
                "idempotency_key",
                "该幂等键已用于另一项需求的确认，请刷新页面后重新提交",
            ));
        }
        return Ok(ConfirmOutcome {
            confirmed,
            absent: 0,
            repeated: true,
        });
    }
    if n.status == "cancelled" {
        return Err(AppError::Conflict("该需求已撤销，不能确认时长".into()));
    }
    if n.starts_at > t {
        return Err(AppError::Conflict("服务尚未开始，不能确认时长".into()));
    }
    if lines.is_empty() {
        return Err(AppError::invalid("请至少确认一名认领人"));
    }
    let claims = store::claims_of(state, user, &n).await?;
    let community_account = ledger::community_account(tx.conn(), n.community_id, t).await?;
    let month = rules::month_of(n.starts_at);
    let day = crate::clock::day_start(n.starts_at);
    let mut errors = FieldErrors::new();
    let mut seen_ids = std::collections::HashSet::new();
    let (mut confirmed, mut absent) = (0i64, 0i64);
    let mut summary = Vec::new();
    for line in lines {
        let field = format!("claim_{}", line.claim_id);
        if !seen_ids.insert(line.claim_id) {
            errors.insert(field, "同一认领人在表中出现了两次".into());
            continue;
        }
        let Some(c) = claims
            .iter()
            .find(|c| c.volunteer_claim_id == line.claim_id)
        else {
            errors.insert(field, "该党员未认领此需求，不能为其确认时长".into());
            continue;
        };
        match c.status.as_str() {
            "claimed" => {}
            "confirmed" | "absent" => {
                errors.insert(
                    field,
                    format!("{}的服务已确认过，不能重复确认", c.member_name),
                );
                continue;
            }
            s => {
                errors.insert(
                    field,
                    format!(
                        "{}的认领{}，不能确认",
                        c.member_name,
                        store::claim_status_label(s)
                    ),
                );
                continue;
            }
        }
        if !line.attended {
            sqlx::query("update volunteer_claim set status = 'absent', confirmed_by = $1, confirmed_at = $2, updated_at = $2 where volunteer_claim_id = $3")
                .bind(user.user_id)
                .bind(t)
                .bind(c.volunteer_claim_id)
                .execute(tx.conn())
                .await?;
            absent += 1;
            continue;
        }
        let minutes = match rules::parse_hours(&line.hours) {
            Ok(m) => m,
            Err(e) => {
                errors.insert(field, format!("{}：{e}", c.member_name));
                continue;
            }
        };
        let same_day: i64 = sqlx::query_scalar(
            "select cast(coalesce(sum(minutes), 0) as bigint) from volunteer_claim where member_id = $1 and status = 'confirmed' and starts_at >= $2 and starts_at < $3",
        )
        .bind(c.member_id)
        .bind(day)
        .bind(day + 86_400)
        .fetch_one(tx.conn())
        .await?;
        if let Err(e) = rules::check_minutes(minutes, n.span_minutes(), same_day) {
            errors.insert(field, format!("{}：{e}", c.member_name));
            continue;
        }
        let prefill =
            rules::prefill_minutes(n.minutes, c.signed_in_at, c.signed_out_at, n.span_minutes());
        let reason = crate::text::clean_text(&line.reason);
        if minutes != prefill && reason.is_empty() {
            errors.insert(
                field,
                format!(
                    "{}的时长由 {} 小时调整为 {} 小时，请填写调整原因",
                    c.member_name,
                    rules::hours_text(prefill),
                    rules::hours_text(minutes)
                ),
            );
            continue;
        }
        if reason.chars().count() > rules::REASON_MAX {
            errors.insert(field, format!("调整原因不超过{}字", rules::REASON_MAX));
            continue;
        }
        if minutes == 0 {
            errors.insert(
                field,
                format!("{}的服务时长为0，请改为“未到场”", c.member_name),
            );
            continue;
        }
        if !errors.is_empty() {
            // Nothing will be kept; go on only to name every problem.
            continue;
        }
        let (unit_id, branch_id, member_account) =
            ledger::member_place_account(tx.conn(), c.member_id, t).await?;
        let transfer = ledger::post(
            tx.conn(),
            &Posting {
                kind: ledger::CONFIRMATION,
                key: format!("{key}:{}", c.volunteer_claim_id),
                reverses: None,
                member_id: c.member_id,
                community_id: Some(n.community_id),
                unit_id,
                branch_id,
                claim_id: Some(c.volunteer_claim_id),
                reward_id: None,
                minutes,
                served: minutes,
                month: month.clone(),
                reason: reason.clone(),
                created_by: Some(user.user_id),
                at: t,
                from: community_account,
                to: member_account,
            },
        )
        .await?;
        // Conditional, so a concurrent confirmation of the same claim (another key) waits
        // on the row and then finds it taken: its transaction, posting and all, rolls back.
        // Never two postings for one claim.
        let taken = sqlx::query("update volunteer_claim set status = 'confirmed', minutes = $1, adjust_reason = $2, confirmed_by = $3, confirmed_at = $4, updated_at = $4, ledger_transfer_id = $5 where volunteer_claim_id = $6 and status = 'claimed'")
            .bind(minutes)
            .bind(reason.clone())
            .bind(user.user_id)
            .bind(t)
            .bind(transfer)
            .bind(c.volunteer_claim_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if taken != 1 {
            return Err(AppError::Conflict(format!(
                "{}的服务已确认过，不能重复确认",
                c.member_name
            )));
        }
        summary.push(format!(
            "{} {}小时",
            c.member_name,
            rules::hours_text(minutes)
        ));
        confirmed += 1;
    }
    if !errors.is_empty() {
        // Dropping the transaction rolls back every line: all or nothing.
        return Err(AppError::Invalid {
            message: errors.values().cloned().collect::<Vec<_>>().join("；"),
            fields: errors,
        });
    }
    sqlx::query("insert into volunteer_confirmation (idempotency_key, volunteer_need_id, confirmed, created_by, created_at) values ($1, $2, $3, $4, $5)")
        .bind(key)
        .bind(need_id)
        .bind(confirmed)
        .bind(user.user_id)
        .bind(t)
        .execute(tx.conn())
        .await
        .map_err(|e| crate::error::on_unique(e, "idempotency_key", "该确认已提交过，未重复记账"))?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_need.confirm",
            "volunteer_need",
            need_id,
            format!(
                "确认服务时长（{}）：{}{}",
                n.title,
                summary.join("、"),
                if absent > 0 {
                    format!("；未到场 {absent} 人")
                } else {
                    String::new()
                }
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ConfirmOutcome {
        confirmed,
        absent,
        repeated: false,
    })
}

/// Reverses a transfer: the committee any; a community its own confirmations. A reversed
/// confirmation puts the claim back to 已认领 so the right hours can be confirmed.
pub async fn reverse(
    state: &AppState,
    user: &CurrentUser,
    transfer_id: i64,
    key: &str,
    reason: &str,
) -> AppResult<i64> {
    user.require(user.is_committee() || user.has(Role::Community))?;
    let key = check_key(key)?;
    let reason = crate::text::clean_text(reason);
    if reason.is_empty() || reason.chars().count() > rules::REASON_MAX {
        return Err(AppError::field(
            "reason",
            format!("请填写冲正原因（不超过{}字）", rules::REASON_MAX),
        ));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let tr = ledger::transfer(tx.conn(), transfer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.is_committee() {
        let own = tr.kind == ledger::CONFIRMATION
            && tr
                .community_id
                .is_some_and(|c| user.community_ids().contains(&c));
        if !own {
            return Err(AppError::NotFound);
        }
    }
    let rkey = format!("reverse:{key}");
    let again: Option<i64> = sqlx::query_scalar(
        "select ledger_transfer_id from ledger_transfer where idempotency_key = $1",
    )
    .bind(rkey.clone())
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = again {
        return Ok(id);
    }
    let id = ledger::reverse(tx.conn(), &tr, rkey, reason.clone(), Some(user.user_id), t).await?;
    if let (ledger::CONFIRMATION, Some(claim)) = (tr.kind.as_str(), tr.volunteer_claim_id) {
        sqlx::query("update volunteer_claim set status = 'claimed', minutes = null, ledger_transfer_id = null, updated_at = $1 where volunteer_claim_id = $2")
            .bind(t)
            .bind(claim)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        &user.actor(),
        Entry::new(
            "ledger.reverse",
            "ledger_transfer",
            transfer_id,
            format!(
                "冲正{} {} 小时：{reason}",
                ledger::kind_label(&tr.kind),
                rules::hours_text(tr.minutes)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

// ---------------------------------------------------------------- rewards and redemption

#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Reward {
    pub volunteer_reward_id: i64,
    pub name: String,
    pub cost_minutes: i64,
    pub active: i64,
}

impl crate::db::FromSqlite for Reward {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Reward {
            volunteer_reward_id: r.get(0)?,
            name: r.get(1)?,
            cost_minutes: r.get(2)?,
            active: r.get(3)?,
        })
    }
}

impl Reward {
    pub fn cost(&self) -> String {
        rules::hours_text(self.cost_minutes)
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct RewardInput {
    pub name: String,
    /// Hours it costs (`10`).
    pub hours: String,
}

pub async fn rewards(
    state: &AppState,
    user: &CurrentUser,
    active_only: bool,
) -> AppResult<Vec<Reward>> {
    user.require(super::may_use(user))?;
    let sql = if active_only {
        "select volunteer_reward_id, name, cost_minutes, active from volunteer_reward where active = 1 order by cost_minutes, name"
    } else {
        "select volunteer_reward_id, name, cost_minutes, active from volunteer_reward order by active desc, cost_minutes, name"
    };
    Ok(crate::db::Sql::new(sql).fetch_page(&state.db).await?)
}

pub async fn create_reward(
    state: &AppState,
    user: &CurrentUser,
    input: &RewardInput,
) -> AppResult<i64> {
    user.require(user.is_committee())?;
    let name = crate::text::clean_text(&input.name);
    let mut p = rules::Problems::new();
    if name.is_empty() || name.chars().count() > rules::TITLE_MAX {
        p.insert(
            "name".into(),
            format!("请填写奖励名称（不超过{}字）", rules::TITLE_MAX),
        );
    }
    let cost = match rules::parse_hours(&input.hours) {
        Ok(0) => {
            p.insert("hours".into(), "兑换所需时长应大于0".into());
            0
        }
        Ok(m) => m,
        Err(e) => {
            p.insert("hours".into(), e.replace("服务时长", "兑换所需时长"));
            0
        }
    };
    if !p.is_empty() {
        return Err(store::refused(p));
    }
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar("insert into volunteer_reward (name, cost_minutes, active, created_at, updated_at) values ($1, $2, 1, $3, $3) returning volunteer_reward_id")
        .bind(name.clone())
        .bind(cost)
        .bind(t)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| crate::error::on_unique(e, "name", "已有同名奖励"))?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_reward.create",
            "volunteer_reward",
            id,
            format!("设立奖励 {name}（{} 小时）", rules::hours_text(cost)),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn toggle_reward(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<bool> {
    user.require(user.is_committee())?;
    let mut tx = state.db.begin_write().await?;
    let active: Option<i64> =
        sqlx::query_scalar("select active from volunteer_reward where volunteer_reward_id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let active = active.ok_or(AppError::NotFound)? == 0;
    sqlx::query(
        "update volunteer_reward set active = $1, updated_at = $2 where volunteer_reward_id = $3",
    )
    .bind(i64::from(active))
    .bind(now())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "volunteer_reward.toggle",
            "volunteer_reward",
            id,
            if active {
                "启用奖励"
            } else {
                "停用奖励"
            },
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(active)
}

/// The member redeems a reward: its cost moves from their account to the pool.
pub async fn redeem(
    state: &AppState,
    user: &CurrentUser,
    reward_id: i64,
    key: &str,
) -> AppResult<i64> {
    let member = own_member(user)?;
    let key = check_key(key)?;
    let t = now();
    let mut tx = state.db.begin_write().await?;
    let rkey = format!("redeem:{member}:{key}");
    let again: Option<i64> = sqlx::query_scalar(
        "select ledger_transfer_id from ledger_transfer where idempotency_key = $1",
    )
    .bind(rkey.clone())
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = again {
        return Ok(id);
    }
    let reward: Option<(String, i64, i64)> = sqlx::query_as(
        "select name, cost_minutes, active from volunteer_reward where volunteer_reward_id = $1",
    )
    .bind(reward_id)
    .fetch_optional(tx.conn())
    .await?;
    let (name, cost, active) = reward.ok_or(AppError::NotFound)?;
    if active == 0 {
        return Err(AppError::Conflict("该奖励已停用，不能兑换".into()));
    }
    let account = ledger::member_account(tx.conn(), member, t).await?;
    let balance: i64 =
        sqlx::query_scalar("select balance from ledger_account where ledger_account_id = $1")
            .bind(account)
            .fetch_one(tx.conn())
            .await?;
    rules::check_redeem(balance, cost).map_err(AppError::Conflict)?;
    let pool = ledger::pool_account(tx.conn(), t).await?;
    let (unit_id, branch_id, _) = store::member_place(tx.conn(), member).await?;
    let id = ledger::post(
        tx.conn(),
        &Posting {
            kind: ledger::REDEMPTION,
            key: rkey,
            reverses: None,
            member_id: member,
            community_id: None,
            unit_id,
            branch_id,
            claim_id: None,
            reward_id: Some(reward_id),
            minutes: cost,
            served: 0,
            month: rules::month_of(t),
            reason: format!("兑换 {name}"),
            created_by: Some(user.user_id),
            at: t,
            from: account,
            to: pool,
        },
    )
    .await?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "ledger.redeem",
            "ledger_transfer",
            id,
            format!("以 {} 小时兑换 {name}", rules::hours_text(cost)),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

// ---------------------------------------------------------------- the daily step

/// Claims still unconfirmed `EXPIRE_DAYS` after their need ended expire; the member and the
/// community's accounts hear of it once.
pub async fn expire_claims(state: &AppState, at: i64) -> AppResult<u64> {
    let cutoff = at - rules::EXPIRE_DAYS * 86_400;
    let due: Vec<(i64, i64, i64, String, String, i64)> = sqlx::query_as(
        "select k.volunteer_claim_id, k.member_id, n.community_id, n.title, m.name, n.volunteer_need_id from volunteer_claim k \
         join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id join member m on m.member_id = k.member_id \
         where k.status = 'claimed' and k.ends_at < $1 order by k.volunteer_claim_id limit 5000",
    )
    .bind(cutoff)
    .fetch_all(&state.db.pool)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut notices = Vec::new();
    let mut tx = state.db.begin_write().await?;
    for (claim, member, community, title, name, need) in &due {
        sqlx::query("update volunteer_claim set status = 'expired', updated_at = $1 where volunteer_claim_id = $2 and status = 'claimed'")
            .bind(at)
            .bind(*claim)
            .execute(tx.conn())
            .await?;
        let members: Vec<i64> = sqlx::query_scalar(
            "select user_id from role_grant where role = 'member' and member_id = $1",
        )
        .bind(*member)
        .fetch_all(tx.conn())
        .await?;
        let communities: Vec<i64> = sqlx::query_scalar(
            "select user_id from role_grant where role = 'community' and community_id = $1",
        )
        .bind(*community)
        .fetch_all(tx.conn())
        .await?;
        for (users, href, body) in [
            (
                members,
                "/volunteer/mine".to_string(),
                format!("您认领的“{title}”结束{}天仍未经社区确认，已过期，不计服务时长。如确已参加，请联系社区。", rules::EXPIRE_DAYS),
            ),
            (
                communities,
                format!("/volunteer/needs/{need}"),
                format!("{name}认领的“{title}”结束{}天未确认，已过期。", rules::EXPIRE_DAYS),
            ),
        ] {
            for u in users {
                notices.push(crate::notify::Notice {
                    user_id: u,
                    cause: format!("volunteer_claim:{claim}"),
                    stage: "expired".into(),
                    title: format!("服务认领已过期：{title}"),
                    body: body.clone(),
                    href: href.clone(),
                });
            }
        }
    }
    tx.audit(
        &crate::audit::Actor::cli(),
        Entry::new(
            "volunteer_claim.expire",
            "volunteer_claim",
            due.len(),
            format!("{} 项认领超期未确认，已过期", due.len()),
        ),
    )
    .await?;
    tx.commit().await?;
    crate::notify::deliver(state, &notices).await?;
    Ok(due.len() as u64)
}
