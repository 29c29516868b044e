//! Login throttling (身份鉴别 b) and the aggregation of failed logins in the audit log.
//!
//! Failures are counted three ways within the policy's window (`lock_window_minutes`):
//! - **per account and address**: `lock_threshold` failures against a user name from one
//!   address lock that address out of that name for `lock_minutes` — even the right
//!   password is refused from there; another address is not barred;
//! - **per address**: `address_threshold` failures from one address against any names lock
//!   the address out of every name, so one address cannot spray;
//! - **per account**: `account_ceiling` failures against a name from all addresses together
//!   guard it: from an address the account has not signed in from within
//!   `KNOWN_ADDRESS_DAYS`, a password is only tried behind a second-factor code checked
//!   first, in the same request. The owner, with their phone or at a usual address, still
//!   gets in; a guesser spread over many addresses gets at most the ceiling, plus
//!   `lock_threshold` per usual address, guesses of the password per window.
//!
//! Each attempt is recorded as a failure before its secret is checked and taken back when
//! the secret is right, and only an attempt the failures recorded before its own leave open
//! is checked, so attempts sent all at once get no more tries than attempts one by one.
//!
//! The audit log (append-only and hash-chained) gets one row for the first failed or refused
//! attempt of a **burst** — one account and address (or, for a locked address, the address)
//! for at most one window — and one summary row with the counts when the burst closes; the
//! counts in between go to `login_burst`, a table of its own, so no audit row is ever changed.

use crate::audit::{Actor, Entry};
use crate::auth::policy::Policy;
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Days an address a user signed in from (both factors passed) stays one of theirs.
pub const KNOWN_ADDRESS_DAYS: i64 = 90;
/// Days closed bursts are kept for the figures (the audit log keeps their rows).
const BURST_DAYS: i64 = 90;

/// What an attempt tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// A login's password.
    Password,
    /// A login's second-factor code (after the password passed).
    Code,
    /// A signed-in user's own secret: the current password, or a code in the settings. The
    /// session already got in, so the account's ceiling does not gate it (it still counts).
    Own,
}

/// The limits in force, in seconds and counts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub pair: i64,
    pub address: i64,
    pub account: i64,
    pub window: i64,
    pub lock: i64,
}

impl Limits {
    pub fn of(p: &Policy) -> Limits {
        Limits {
            pair: p.lock_threshold,
            address: p.address_threshold,
            account: p.account_ceiling,
            window: p.lock_window_minutes * 60,
            lock: p.lock_minutes * 60,
        }
    }

    /// How far back failures can matter.
    pub fn horizon(&self) -> i64 {
        self.window + self.lock
    }

    fn rule(&self, failures_desc: &[i64], now: i64, threshold: i64) -> Option<i64> {
        lock_rule(failures_desc, now, threshold, self.window, self.lock)
    }
}

/// Failure instants before an attempt (newest first): of its account from its address,
/// of its address against any account, of its account from any address.
#[derive(Clone, Debug, Default)]
pub struct Failures {
    pub pair: Vec<i64>,
    pub address: Vec<i64>,
    pub account: Vec<i64>,
}

/// Why an attempt is refused unchecked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// This address failed too often against this account.
    Pair,
    /// This address failed too often against any accounts.
    Address,
}

/// What the failures before an attempt allow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// The account is guarded and the address is not one of its own: the password is tried
    /// only after a second-factor code passes first.
    CodeFirst {
        until: i64,
    },
    Locked {
        until: i64,
        by: Lock,
    },
}

/// Pure rule: given failure instants (newest first), when does the lock end, if locked now?
/// A lock starts at the failure that brought the count within the window to the threshold.
pub fn lock_rule(
    failures_desc: &[i64],
    now: i64,
    threshold: i64,
    window: i64,
    lock: i64,
) -> Option<i64> {
    let n = usize::try_from(threshold).ok()?;
    if n == 0 || failures_desc.len() < n {
        return None;
    }
    for i in 0..=(failures_desc.len() - n) {
        let newest = failures_desc[i];
        let oldest = failures_desc[i + n - 1];
        if newest - oldest <= window && newest + lock > now {
            return Some(newest + lock);
        }
    }
    None
}

/// Pure rule: what an attempt at `secret` from an address (`known`: one the account signed
/// in from lately) may do, given the failures recorded before it.
pub fn gate(f: &Failures, now: i64, l: Limits, secret: Secret, known: bool) -> Gate {
    if let Some(until) = l.rule(&f.address, now, l.address) {
        return Gate::Locked {
            until,
            by: Lock::Address,
        };
    }
    if let Some(until) = l.rule(&f.pair, now, l.pair) {
        return Gate::Locked {
            until,
            by: Lock::Pair,
        };
    }
    if secret == Secret::Password && !known {
        if let Some(until) = l.rule(&f.account, now, l.account) {
            return Gate::CodeFirst { until };
        }
    }
    Gate::Open
}

/// The limits one more failure at `now` reaches for the first time: (pair, address,
/// account), each with when its lock or guard ends.
pub fn reached(f: &Failures, now: i64, l: Limits) -> [Option<i64>; 3] {
    let onset = |before: &[i64], threshold: i64| {
        if l.rule(before, now, threshold).is_some() {
            return None;
        }
        let mut after = Vec::with_capacity(before.len() + 1);
        after.push(now);
        after.extend_from_slice(before);
        l.rule(&after, now, threshold)
    };
    [
        onset(&f.pair, l.pair),
        onset(&f.address, l.address),
        onset(&f.account, l.account),
    ]
}

/// One attempt, recorded as a failure until its secret proves right.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub id: i64,
    pub username: String,
    pub ip: String,
    pub before: Failures,
}

/// Records a failure ahead of the check it stands for, with the failures recorded before it.
pub async fn record(state: &AppState, username: &str, ip: &str, l: Limits) -> AppResult<Attempt> {
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "insert into login_failure (username, ip, at) values ($1, $2, $3) returning login_failure_id",
    )
    .bind(username.to_string())
    .bind(ip.to_string())
    .bind(t)
    .fetch_one(&state.db.pool)
    .await?;
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "select username, ip, at from login_failure \
         where (username = $1 or ip = $2) and at > $3 and login_failure_id < $4 order by at desc",
    )
    .bind(username.to_string())
    .bind(ip.to_string())
    .bind(t - l.horizon())
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut before = Failures::default();
    for (name, from, at) in rows {
        let same_name = name == username;
        // Without an address (no peer known) nothing is counted per address.
        let same_ip = !ip.is_empty() && from == ip;
        if same_name && from == ip {
            before.pair.push(at);
        }
        if same_ip {
            before.address.push(at);
        }
        if same_name {
            before.account.push(at);
        }
    }
    Ok(Attempt {
        id,
        username: username.to_string(),
        ip: ip.to_string(),
        before,
    })
}

/// The secret was right: the failure recorded ahead is taken back.
pub async fn forget(state: &AppState, a: &Attempt) -> AppResult<()> {
    sqlx::query("delete from login_failure where login_failure_id = $1")
        .bind(a.id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Whether the user of `username` signed in from `ip` lately (both factors passed).
pub async fn known_address(state: &AppState, username: &str, ip: &str) -> AppResult<bool> {
    if ip.is_empty() {
        return Ok(false);
    }
    let n: i64 = sqlx::query_scalar(
        "select count(*) from login_address a join app_user u on u.user_id = a.user_id \
         where u.username = $1 and a.ip = $2 and a.last_at > $3",
    )
    .bind(username.to_string())
    .bind(ip.to_string())
    .bind(now() - KNOWN_ADDRESS_DAYS * 86_400)
    .fetch_one(&state.db.pool)
    .await?;
    Ok(n > 0)
}

/// A login passed from `ip`: the failures of that account from that address end (not those
/// from elsewhere: the owner's login does not lift a guesser's lock), its burst closes, and
/// the address becomes one of the account's own.
pub async fn signed_in(state: &AppState, user_id: i64, username: &str, ip: &str) -> AppResult<()> {
    let t = now();
    sqlx::query("delete from login_failure where username = $1 and ip = $2")
        .bind(username.to_string())
        .bind(ip.to_string())
        .execute(&state.db.pool)
        .await?;
    if !ip.is_empty() {
        sqlx::query(
            "insert into login_address (user_id, ip, last_at) values ($1, $2, $3) \
             on conflict (user_id, ip) do update set last_at = excluded.last_at",
        )
        .bind(user_id)
        .bind(ip.to_string())
        .bind(t)
        .execute(&state.db.pool)
        .await?;
    }
    for b in open_bursts(state, Some((ACCOUNT, username, Some(ip))), None).await? {
        close(state, &b).await?;
    }
    Ok(())
}

/// Clears every failure of a user name (from all addresses) and closes its bursts; returns
/// how many failures there were. For an unlock and a password reset.
pub async fn clear_account(state: &AppState, username: &str) -> AppResult<u64> {
    let n = sqlx::query("delete from login_failure where username = $1")
        .bind(username.to_string())
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    for b in open_bursts(state, Some((ACCOUNT, username, None)), None).await? {
        close(state, &b).await?;
    }
    Ok(n)
}

/// Lifts the locks and the guard of a user name — the security admin's unlock and
/// `yaoshi admin unlock` — audited as `user.unlock`. `NotFound` when it had no failures.
pub async fn unlock(state: &AppState, actor: &Actor, username: &str) -> AppResult<u64> {
    let username = username.trim();
    if username.is_empty() {
        return Err(AppError::field("username", "请填写要解锁的用户名"));
    }
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query("delete from login_failure where username = $1")
        .bind(username.to_string())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    tx.audit(
        actor,
        Entry::new(
            "user.unlock",
            "user",
            username,
            format!("解除 {username} 的登录锁定（清除 {n} 次失败记录）"),
        ),
    )
    .await?;
    tx.commit().await?;
    clear_account(state, username).await?;
    Ok(n)
}

// ---- bursts ----

const ACCOUNT: &str = "account";
const ADDRESS: &str = "address";

/// What a burst counts of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Checked and wrong.
    Failed,
    /// Refused unchecked (locked, or a password without the code first while guarded).
    Refused,
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct Burst {
    login_burst_id: i64,
    kind: String,
    username: String,
    ip: String,
    started_at: i64,
    last_at: i64,
}

const BURST_COLUMNS: &str = "login_burst_id, kind, username, ip, started_at, last_at";

/// Open bursts: of one account (at one address, or at any), or those begun before
/// `started_before`.
async fn open_bursts(
    state: &AppState,
    of: Option<(&str, &str, Option<&str>)>,
    started_before: Option<i64>,
) -> AppResult<Vec<Burst>> {
    let mut sql = crate::db::Sql::new(&format!(
        "select {BURST_COLUMNS} from login_burst where closed_at is null"
    ));
    if let Some((kind, username, ip)) = of {
        sql.push(" and kind = ")
            .bind(kind.to_string())
            .push(" and username = ")
            .bind(username.to_string());
        if let Some(ip) = ip {
            sql.push(" and ip = ").bind(ip.to_string());
        }
    }
    if let Some(t) = started_before {
        sql.push(" and started_at <= ").bind(t);
    }
    sql.push(" order by login_burst_id limit 500");
    Ok(sql.fetch_all(&state.db.pool).await?)
}

/// Closes a burst; the first to close it writes its summary (when it held more than the
/// attempt its first row already tells of).
async fn close(state: &AppState, b: &Burst) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "update login_burst set closed_at = $1 where login_burst_id = $2 and closed_at is null",
    )
    .bind(now())
    .bind(b.login_burst_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 1 {
        // The counts as they stand when closed (a late increment may have landed).
        let (failures, refused): (i64, i64) =
            sqlx::query_as("select failures, refused from login_burst where login_burst_id = $1")
                .bind(b.login_burst_id)
                .fetch_one(tx.conn())
                .await?;
        if failures + refused > 1 {
            let (object_type, object_id, actor_name) = if b.kind == ADDRESS {
                ("address", b.ip.clone(), String::new())
            } else {
                ("user", b.username.clone(), b.username.clone())
            };
            tx.audit(
                &Actor {
                    user_id: None,
                    name: actor_name,
                    ip: b.ip.clone(),
                },
                Entry::new(
                    "login.failed.summary",
                    object_type,
                    object_id,
                    format!(
                        "{} 至 {}，来自 {}：{}失败 {failures} 次，锁定期间被拒 {refused} 次",
                        crate::clock::fmt_time(b.started_at),
                        crate::clock::fmt_time(b.last_at),
                        b.ip,
                        if b.kind == ADDRESS {
                            "（该地址受限期间，所有账号合计）"
                        } else {
                            ""
                        },
                    ),
                )
                .after(&serde_json::json!({
                    "failures": failures,
                    "refused": refused,
                    "started_at": b.started_at,
                    "last_at": b.last_at,
                }))
                .result(if failures > 0 { "denied" } else { "locked" }),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Closes the bursts older than a window (with their summaries); returns how many.
pub async fn sweep(state: &AppState, l: Limits) -> AppResult<u64> {
    let stale = open_bursts(state, None, Some(now() - l.window)).await?;
    for b in &stale {
        close(state, b).await?;
    }
    Ok(stale.len() as u64)
}

/// Counts one attempt into the burst of its account and address (`by_address`: of its
/// address alone, for an attempt refused because the address is locked). The first of a
/// burst is written to the audit log, with `entry`; the rest only count.
pub async fn note(
    state: &AppState,
    actor: &Actor,
    username: &str,
    by_address: bool,
    event: Event,
    entry: Entry<'_>,
    l: Limits,
) -> AppResult<()> {
    let (kind, name) = if by_address {
        (ADDRESS, "")
    } else {
        (ACCOUNT, username)
    };
    let ip = actor.ip.as_str();
    let t = now();
    let (failed, refused) = match event {
        Event::Failed => (1i64, 0i64),
        Event::Refused => (0, 1),
    };
    // A burst lasts a window at most: an older one closes and this attempt begins the next.
    for b in open_bursts(state, Some((kind, name, Some(ip))), Some(t - l.window)).await? {
        close(state, &b).await?;
    }
    let mut tx = state.db.begin_write().await?;
    let opened = sqlx::query(
        "insert into login_burst (kind, username, ip, started_at, last_at, failures, refused) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (kind, username, ip) where closed_at is null do nothing",
    )
    .bind(kind)
    .bind(name.to_string())
    .bind(ip.to_string())
    .bind(t)
    .bind(t)
    .bind(failed)
    .bind(refused)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if opened == 1 {
        tx.audit(actor, entry).await?;
    } else {
        sqlx::query(
            "update login_burst set failures = failures + $1, refused = refused + $2, last_at = $3 \
             where kind = $4 and username = $5 and ip = $6 and closed_at is null",
        )
        .bind(failed)
        .bind(refused)
        .bind(t)
        .bind(kind)
        .bind(name.to_string())
        .bind(ip.to_string())
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Failed logins since `since` (checked and wrong), from the bursts' counts.
pub async fn failures_since(state: &AppState, since: i64) -> AppResult<i64> {
    // A sum of bigints is numeric on PostgreSQL, which the Any driver does not decode.
    let sql =
        "select cast(coalesce(sum(failures), 0) as bigint) from login_burst where last_at >= $1";
    Ok(sqlx::query_scalar(sql)
        .bind(since)
        .fetch_one(&state.db.pool)
        .await?)
}

/// The daily pass's housekeeping: idle bursts close with their summaries; failures too old
/// to matter, closed bursts and addresses not used for long are forgotten.
pub async fn daily(state: &AppState) -> AppResult<u64> {
    let l = Limits::of(&crate::auth::policy::current(state).await?);
    let closed = sweep(state, l).await?;
    let t = now();
    sqlx::query("delete from login_failure where at <= $1")
        .bind(t - l.horizon())
        .execute(&state.db.pool)
        .await?;
    sqlx::query("delete from login_burst where closed_at is not null and closed_at < $1")
        .bind(t - BURST_DAYS * 86_400)
        .execute(&state.db.pool)
        .await?;
    sqlx::query("delete from login_address where last_at < $1")
        .bind(t - KNOWN_ADDRESS_DAYS * 86_400)
        .execute(&state.db.pool)
        .await?;
    Ok(closed)
}

/// How an account stands, for the security admin.
#[derive(Clone, Debug)]
pub struct AccountState {
    pub username: String,
    pub failures: i64,
    pub last_failure_at: i64,
    pub last_ip: String,
    /// Addresses locked out of this account, and until when (the latest).
    pub locked_addresses: Vec<String>,
    pub locked_until: Option<i64>,
    /// The account is guarded (new addresses need the code first) until then.
    pub guarded_until: Option<i64>,
    pub addresses: i64,
}

/// An address locked out of every account.
#[derive(Clone, Debug)]
pub struct AddressState {
    pub ip: String,
    pub failures: i64,
    pub locked_until: i64,
}

/// Every name with recent failures, and every address locked for all names.
pub async fn overview(state: &AppState) -> AppResult<(Vec<AccountState>, Vec<AddressState>)> {
    use std::collections::BTreeMap;
    let l = Limits::of(&crate::auth::policy::current(state).await?);
    let t = now();
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("select username, ip, at from login_failure where at > $1 order by at desc")
            .bind(t - l.horizon())
            .fetch_all(&state.db.pool)
            .await?;
    let mut by_name: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    let mut by_ip: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (name, ip, at) in rows {
        if !ip.is_empty() {
            by_ip.entry(ip.clone()).or_default().push(at);
        }
        by_name.entry(name).or_default().push((ip, at));
    }
    let accounts = by_name
        .into_iter()
        .map(|(username, fails)| {
            let mut pairs: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for (ip, at) in &fails {
                pairs.entry(ip.as_str()).or_default().push(*at);
            }
            let mut locked_addresses = Vec::new();
            let mut locked_until: Option<i64> = None;
            for (ip, ats) in &pairs {
                if let Some(u) = l.rule(ats, t, l.pair) {
                    locked_addresses.push(ip.to_string());
                    locked_until = Some(locked_until.map_or(u, |x| x.max(u)));
                }
            }
            let ats: Vec<i64> = fails.iter().map(|f| f.1).collect();
            AccountState {
                guarded_until: l.rule(&ats, t, l.account),
                failures: ats.len() as i64,
                last_failure_at: ats.first().copied().unwrap_or_default(),
                last_ip: fails.first().map(|f| f.0.clone()).unwrap_or_default(),
                addresses: pairs.len() as i64,
                locked_addresses,
                locked_until,
                username,
            }
        })
        .collect();
    let addresses = by_ip
        .into_iter()
        .filter_map(|(ip, ats)| {
            Some(AddressState {
                locked_until: l.rule(&ats, t, l.address)?,
                failures: ats.len() as i64,
                ip,
            })
        })
        .collect();
    Ok((accounts, addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        pair: 5,
        address: 30,
        account: 20,
        window: 900,
        lock: 1800,
    };

    #[test]
    fn locks_after_threshold_within_window() {
        // 5 failures within 15 min → locked 30 min from the last.
        let f = [1000, 900, 800, 700, 600];
        assert_eq!(lock_rule(&f, 1001, 5, 900, 1800), Some(2800));
        // Lock expired.
        assert_eq!(lock_rule(&f, 2800, 5, 900, 1800), None);
        // Four failures: not locked.
        assert_eq!(lock_rule(&f[..4], 1001, 5, 900, 1800), None);
        // Five failures spread beyond the window: not locked.
        let spread = [5000, 4000, 3000, 2000, 1000];
        assert_eq!(lock_rule(&spread, 5001, 5, 900, 1800), None);
    }

    fn times(n: usize, newest: i64) -> Vec<i64> {
        (0..n as i64).map(|i| newest - i).collect()
    }

    #[test]
    fn the_gate_per_pair_address_and_account() {
        let now = 10_000;
        let open = Failures::default();
        assert_eq!(gate(&open, now, L, Secret::Password, false), Gate::Open);
        // Five from this address against this account: this address is locked out of it,
        // for the password, a code and the user's own secrets alike.
        let pair = Failures {
            pair: times(5, now - 10),
            address: times(5, now - 10),
            account: times(5, now - 10),
        };
        for s in [Secret::Password, Secret::Code, Secret::Own] {
            assert_eq!(
                gate(&pair, now, L, s, true),
                Gate::Locked {
                    until: now - 10 + 1800,
                    by: Lock::Pair
                }
            );
        }
        // The same five failures seen from another address: the account's count only.
        let elsewhere = Failures {
            account: times(5, now - 10),
            ..Failures::default()
        };
        assert_eq!(
            gate(&elsewhere, now, L, Secret::Password, false),
            Gate::Open
        );
        // Thirty from this address against any names: locked out of all.
        let sprayer = Failures {
            address: times(30, now - 10),
            ..Failures::default()
        };
        assert!(matches!(
            gate(&sprayer, now, L, Secret::Password, true),
            Gate::Locked {
                by: Lock::Address,
                ..
            }
        ));
        // Twenty against this account from many addresses: a new address's password only
        // after the code; a known address, a code step and the user's own secrets go on.
        let spread = Failures {
            account: times(20, now - 10),
            ..Failures::default()
        };
        assert_eq!(
            gate(&spread, now, L, Secret::Password, false),
            Gate::CodeFirst {
                until: now - 10 + 1800
            }
        );
        assert_eq!(gate(&spread, now, L, Secret::Password, true), Gate::Open);
        assert_eq!(gate(&spread, now, L, Secret::Code, false), Gate::Open);
        assert_eq!(gate(&spread, now, L, Secret::Own, false), Gate::Open);
        // Nineteen: not yet.
        let fewer = Failures {
            account: times(19, now - 10),
            ..Failures::default()
        };
        assert_eq!(gate(&fewer, now, L, Secret::Password, false), Gate::Open);
    }

    #[test]
    fn each_limit_is_reached_once() {
        let now = 10_000;
        let four = Failures {
            pair: times(4, now - 10),
            address: times(29, now - 10),
            account: times(19, now - 10),
        };
        let [pair, address, account] = reached(&four, now, L);
        assert_eq!(pair, Some(now + 1800));
        assert_eq!(address, Some(now + 1800));
        assert_eq!(account, Some(now + 1800));
        // Past the thresholds already: nothing new is reached.
        let more = Failures {
            pair: times(5, now - 10),
            address: times(30, now - 10),
            account: times(20, now - 10),
        };
        assert_eq!(reached(&more, now, L), [None, None, None]);
        assert_eq!(reached(&Failures::default(), now, L), [None, None, None]);
    }
}
