//! The hours ledger: immutable double-entry bookkeeping in integer minutes. An account per
//! member, per community and one reward pool (the committee's); a transfer (confirmation,
//! reversal, redemption) carries a unique idempotency key and two movements summing to zero;
//! balances and the served-hours aggregates move in the same transaction as the movements.
//! Corrections are reversing transfers (each transfer reversed at most once), never edits:
//! the tables refuse updates and deletes by trigger. `verify` recomputes everything.

use serde::Serialize;
use sqlx::AnyConnection;

use super::rules;
use crate::error::{AppError, AppResult};

pub const CONFIRMATION: &str = "confirmation";
pub const REVERSAL: &str = "reversal";
pub const REDEMPTION: &str = "redemption";

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        CONFIRMATION => "服务时长确认",
        REVERSAL => "冲正",
        REDEMPTION => "兑换",
        _ => "其他",
    }
}

/// The account of `owner` (`member_id` or `community_id`, its kind `member` or
/// `community`), made on first use: looked up first, inserted only when missing.
async fn owned_account(
    conn: &mut AnyConnection,
    kind: &'static str,
    owner: i64,
    at: i64,
) -> AppResult<i64> {
    let column = match kind {
        "member" => "member_id",
        _ => "community_id",
    };
    let find = format!("select ledger_account_id from ledger_account where {column} = $1");
    let found: Option<i64> = sqlx::query_scalar(&find)
        .bind(owner)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    sqlx::query(&format!(
        "insert into ledger_account (kind, {column}, balance, created_at) values ($1, $2, 0, $3) on conflict ({column}) do nothing"
    ))
    .bind(kind)
    .bind(owner)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar(&find)
        .bind(owner)
        .fetch_one(&mut *conn)
        .await?)
}

/// The member's account, made on first use.
pub async fn member_account(conn: &mut AnyConnection, member_id: i64, at: i64) -> AppResult<i64> {
    owned_account(conn, "member", member_id, at).await
}

/// The member's unit, branch and account (made on first use): the places a posting is
/// counted in and where its minutes go, read in one statement on the hot path.
pub async fn member_place_account(
    conn: &mut AnyConnection,
    member_id: i64,
    at: i64,
) -> AppResult<(i64, i64, i64)> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "select m.unit_id, m.branch_id, a.ledger_account_id from member m \
         left join ledger_account a on a.member_id = m.member_id where m.member_id = $1",
    )
    .bind(member_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (unit_id, branch_id, account) = row.ok_or(AppError::NotFound)?;
    let account = match account {
        Some(a) => a,
        None => member_account(conn, member_id, at).await?,
    };
    Ok((unit_id, branch_id, account))
}

/// The community's account, made on first use.
pub async fn community_account(
    conn: &mut AnyConnection,
    community_id: i64,
    at: i64,
) -> AppResult<i64> {
    owned_account(conn, "community", community_id, at).await
}

/// The committee's reward pool, made on first use.
pub async fn pool_account(conn: &mut AnyConnection, at: i64) -> AppResult<i64> {
    let found: Option<i64> =
        sqlx::query_scalar("select ledger_account_id from ledger_account where kind = 'pool'")
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    Ok(sqlx::query_scalar(
        "insert into ledger_account (kind, balance, created_at) values ('pool', 0, $1) returning ledger_account_id",
    )
    .bind(at)
    .fetch_one(&mut *conn)
    .await?)
}

/// One transfer as posted.
#[derive(Clone, Debug)]
pub struct Posting {
    pub kind: &'static str,
    pub key: String,
    pub reverses: Option<i64>,
    pub member_id: i64,
    pub community_id: Option<i64>,
    pub unit_id: i64,
    pub branch_id: i64,
    pub claim_id: Option<i64>,
    pub reward_id: Option<i64>,
    /// The amount moved (positive).
    pub minutes: i64,
    /// Added to served hours (see the migration).
    pub served: i64,
    pub month: String,
    pub reason: String,
    pub created_by: Option<i64>,
    pub at: i64,
    /// (from account, to account): `minutes` leave the first and reach the second.
    pub from: i64,
    pub to: i64,
}

/// Posts a transfer: the row, its two movements, both balances and the aggregates. A key
/// used before is refused (the caller answers a repeated request before calling).
pub async fn post(conn: &mut AnyConnection, p: &Posting) -> AppResult<i64> {
    if !rules::balanced(&[-p.minutes, p.minutes]) || p.from == p.to {
        return Err(AppError::invalid("记账金额应大于0，且转出与转入账户不同"));
    }
    let id: i64 = sqlx::query_scalar(
        "insert into ledger_transfer (kind, idempotency_key, reverses_id, member_id, community_id, unit_id, branch_id, volunteer_claim_id, volunteer_reward_id, minutes, served, month, reason, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) returning ledger_transfer_id",
    )
    .bind(p.kind)
    .bind(p.key.clone())
    .bind(p.reverses)
    .bind(p.member_id)
    .bind(p.community_id)
    .bind(p.unit_id)
    .bind(p.branch_id)
    .bind(p.claim_id)
    .bind(p.reward_id)
    .bind(p.minutes)
    .bind(p.served)
    .bind(p.month.clone())
    .bind(p.reason.clone())
    .bind(p.created_by)
    .bind(p.at)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        let text = e.to_string();
        if text.contains("reverses_id") {
            AppError::Conflict("该笔记录已冲正过，不能重复冲正".into())
        } else {
            crate::error::on_unique(e, "idempotency_key", "该请求已处理过（重复提交），未重复记账")
        }
    })?;
    // Both movements in one statement, both balances in another: fewer round trips inside
    // the writer's lock, the same rows.
    sqlx::query(
        "insert into ledger_movement (ledger_transfer_id, ledger_account_id, amount) values ($1, $2, $3), ($1, $4, $5)",
    )
    .bind(id)
    .bind(p.from)
    .bind(-p.minutes)
    .bind(p.to)
    .bind(p.minutes)
    .execute(&mut *conn)
    .await?;
    let moved = sqlx::query(
        "update ledger_account set balance = balance + case when ledger_account_id = $1 then $2 else $3 end \
         where ledger_account_id in ($1, $4)",
    )
    .bind(p.from)
    .bind(-p.minutes)
    .bind(p.minutes)
    .bind(p.to)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved != 2 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "ledger transfer {id}: {moved} balances moved, 2 expected"
        )));
    }
    if p.served != 0 {
        add_served(
            conn,
            p.branch_id,
            p.unit_id,
            p.community_id,
            &p.month,
            p.served,
        )
        .await?;
    }
    Ok(id)
}

/// Adds `minutes` (may be negative) to the served-hours aggregates.
pub async fn add_served(
    conn: &mut AnyConnection,
    branch_id: i64,
    unit_id: i64,
    community_id: Option<i64>,
    month: &str,
    minutes: i64,
) -> AppResult<()> {
    sqlx::query(
        "insert into volunteer_hours_branch (branch_id, unit_id, month, minutes) values ($1, $2, $3, $4) \
         on conflict (branch_id, month) do update set minutes = volunteer_hours_branch.minutes + excluded.minutes",
    )
    .bind(branch_id)
    .bind(unit_id)
    .bind(month.to_string())
    .bind(minutes)
    .execute(&mut *conn)
    .await?;
    if let Some(c) = community_id {
        sqlx::query(
            "insert into volunteer_hours_community (community_id, month, minutes) values ($1, $2, $3) \
             on conflict (community_id, month) do update set minutes = volunteer_hours_community.minutes + excluded.minutes",
        )
        .bind(c)
        .bind(month.to_string())
        .bind(minutes)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A transfer as stored.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Transfer {
    pub ledger_transfer_id: i64,
    pub kind: String,
    pub reverses_id: Option<i64>,
    pub member_id: i64,
    pub community_id: Option<i64>,
    pub unit_id: i64,
    pub branch_id: i64,
    pub volunteer_claim_id: Option<i64>,
    pub volunteer_reward_id: Option<i64>,
    pub minutes: i64,
    pub served: i64,
    pub month: String,
    pub reason: String,
    pub created_at: i64,
}

pub const TRANSFER_COLUMNS: &str = "ledger_transfer_id, kind, reverses_id, member_id, community_id, unit_id, branch_id, volunteer_claim_id, volunteer_reward_id, minutes, served, month, reason, created_at";

pub async fn transfer(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Transfer>> {
    Ok(sqlx::query_as(&format!(
        "select {TRANSFER_COLUMNS} from ledger_transfer where ledger_transfer_id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The movements of a transfer: (account, amount).
async fn movements(conn: &mut AnyConnection, id: i64) -> AppResult<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(
        "select ledger_account_id, amount from ledger_movement where ledger_transfer_id = $1 order by ledger_movement_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Reverses transfer `t` once: the same movements with their signs turned, and the served
/// hours taken back. A reversal is not reversed; a member's balance never goes below zero.
pub async fn reverse(
    conn: &mut AnyConnection,
    t: &Transfer,
    key: String,
    reason: String,
    by: Option<i64>,
    at: i64,
) -> AppResult<i64> {
    if t.kind == REVERSAL {
        return Err(AppError::Conflict("冲正记录不能再冲正".into()));
    }
    let done: Option<i64> =
        sqlx::query_scalar("select ledger_transfer_id from ledger_transfer where reverses_id = $1")
            .bind(t.ledger_transfer_id)
            .fetch_optional(&mut *conn)
            .await?;
    if done.is_some() {
        return Err(AppError::Conflict("该笔记录已冲正过，不能重复冲正".into()));
    }
    let legs = movements(conn, t.ledger_transfer_id).await?;
    let (Some(&(from, _)), Some(&(to, _))) =
        (legs.iter().find(|l| l.1 < 0), legs.iter().find(|l| l.1 > 0))
    else {
        return Err(AppError::invalid("该笔记录没有可冲正的分录"));
    };
    if t.kind == CONFIRMATION {
        let balance: i64 =
            sqlx::query_scalar("select balance from ledger_account where ledger_account_id = $1")
                .bind(to)
                .fetch_one(&mut *conn)
                .await?;
        if balance < t.minutes {
            return Err(AppError::Conflict(format!(
                "冲正后该党员的时长余额将为负数（余额 {} 小时，已兑换部分时长），请先冲正其兑换记录",
                rules::hours_text(balance)
            )));
        }
    }
    post(
        conn,
        &Posting {
            kind: REVERSAL,
            key,
            reverses: Some(t.ledger_transfer_id),
            member_id: t.member_id,
            community_id: t.community_id,
            unit_id: t.unit_id,
            branch_id: t.branch_id,
            claim_id: t.volunteer_claim_id,
            reward_id: t.volunteer_reward_id,
            minutes: t.minutes,
            served: -t.served,
            month: t.month.clone(),
            reason,
            created_by: by,
            at,
            // Back the way it came.
            from: to,
            to: from,
        },
    )
    .await
}

/// What `yaoshi ledger verify` found.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub accounts: i64,
    pub transfers: i64,
    pub movements: i64,
    pub problems: Vec<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Recomputes every balance from the movements, checks every transfer sums to zero with
/// two movements, the whole ledger sums to zero, and the served-hours aggregates equal a
/// recomputation from the transfers.
pub async fn verify(pool: &sqlx::AnyPool) -> AppResult<Verification> {
    let mut v = Verification::default();
    let cap = 50;
    v.accounts = sqlx::query_scalar("select count(*) from ledger_account")
        .fetch_one(pool)
        .await?;
    v.transfers = sqlx::query_scalar("select count(*) from ledger_transfer")
        .fetch_one(pool)
        .await?;
    v.movements = sqlx::query_scalar("select count(*) from ledger_movement")
        .fetch_one(pool)
        .await?;
    let accounts: Vec<(i64, i64, i64)> = sqlx::query_as(
        "select a.ledger_account_id, a.balance, cast(coalesce(s.total, 0) as bigint) from ledger_account a \
         left join (select ledger_account_id, sum(amount) as total from ledger_movement group by ledger_account_id) s \
         on s.ledger_account_id = a.ledger_account_id \
         where a.balance <> coalesce(s.total, 0) order by a.ledger_account_id",
    )
    .fetch_all(pool)
    .await?;
    for (id, balance, sum) in accounts.iter().take(cap) {
        v.problems.push(format!(
            "account {id}: balance {balance} but its movements sum to {sum}"
        ));
    }
    if accounts.len() > cap {
        v.problems
            .push(format!("… {} accounts in all mismatch", accounts.len()));
    }
    let orphans: i64 = sqlx::query_scalar(
        "select count(*) from ledger_movement m where not exists (select 1 from ledger_account a where a.ledger_account_id = m.ledger_account_id)",
    )
    .fetch_one(pool)
    .await?;
    if orphans > 0 {
        v.problems
            .push(format!("{orphans} movements name no account"));
    }
    let unbalanced: Vec<(i64, i64, i64)> = sqlx::query_as(
        "select ledger_transfer_id, cast(sum(amount) as bigint), count(*) from ledger_movement \
         group by ledger_transfer_id having sum(amount) <> 0 or count(*) < 2 order by ledger_transfer_id",
    )
    .fetch_all(pool)
    .await?;
    let bare: i64 = sqlx::query_scalar(
        "select count(*) from ledger_transfer t where not exists (select 1 from ledger_movement m where m.ledger_transfer_id = t.ledger_transfer_id)",
    )
    .fetch_one(pool)
    .await?;
    if bare > 0 {
        v.problems
            .push(format!("{bare} transfers have no movements"));
    }
    for (id, sum, n) in unbalanced.iter().take(cap) {
        v.problems.push(format!(
            "transfer {id}: {n} movements summing to {sum} (must be 2 or more summing to 0)"
        ));
    }
    if unbalanced.len() > cap {
        v.problems.push(format!(
            "… {} transfers in all are unbalanced",
            unbalanced.len()
        ));
    }
    let total: i64 =
        sqlx::query_scalar("select cast(coalesce(sum(amount), 0) as bigint) from ledger_movement")
            .fetch_one(pool)
            .await?;
    if total != 0 {
        v.problems
            .push(format!("the movements sum to {total}, not 0"));
    }
    let balances: i64 =
        sqlx::query_scalar("select cast(coalesce(sum(balance), 0) as bigint) from ledger_account")
            .fetch_one(pool)
            .await?;
    if balances != 0 {
        v.problems
            .push(format!("the balances sum to {balances}, not 0"));
    }
    let branch_diff: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "select coalesce(a.branch_id, r.branch_id), coalesce(a.month, r.month), cast(coalesce(a.minutes, 0) as bigint), cast(coalesce(r.minutes, 0) as bigint) \
         from volunteer_hours_branch a full outer join \
         (select branch_id, month, sum(served) as minutes from ledger_transfer group by branch_id, month) r \
         on r.branch_id = a.branch_id and r.month = a.month \
         where coalesce(a.minutes, 0) <> coalesce(r.minutes, 0)",
    )
    .fetch_all(pool)
    .await?;
    for (b, m, kept, real) in branch_diff.iter().take(cap) {
        v.problems.push(format!(
            "served hours of branch {b} in {m}: kept {kept} minutes, transfers say {real}"
        ));
    }
    let community_diff: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "select coalesce(a.community_id, r.community_id), coalesce(a.month, r.month), cast(coalesce(a.minutes, 0) as bigint), cast(coalesce(r.minutes, 0) as bigint) \
         from volunteer_hours_community a full outer join \
         (select community_id, month, sum(served) as minutes from ledger_transfer where community_id is not null group by community_id, month) r \
         on r.community_id = a.community_id and r.month = a.month \
         where coalesce(a.minutes, 0) <> coalesce(r.minutes, 0)",
    )
    .fetch_all(pool)
    .await?;
    for (c, m, kept, real) in community_diff.iter().take(cap) {
        v.problems.push(format!(
            "served hours of community {c} in {m}: kept {kept} minutes, transfers say {real}"
        ));
    }
    Ok(v)
}
