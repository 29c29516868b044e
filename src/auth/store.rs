//! Accounts and role grants (login failures: `throttle`).

use serde::Serialize;

use super::{CurrentUser, Grant, Role};
use crate::audit::{Actor, Entry};
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: i64,
    pub disabled: i64,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    role_grant_id: i64,
    role: String,
    unit_id: Option<i64>,
    org_id: Option<i64>,
    member_id: Option<i64>,
    community_id: Option<i64>,
    scope_name: Option<String>,
}

pub async fn find_by_username(state: &AppState, username: &str) -> AppResult<Option<UserRow>> {
    Ok(sqlx::query_as(
        "select user_id, username, display_name, password_hash, must_change_password, disabled \
         from app_user where username = $1",
    )
    .bind(username.to_string())
    .fetch_optional(&state.db.pool)
    .await?)
}

pub async fn find_by_id(state: &AppState, user_id: i64) -> AppResult<Option<UserRow>> {
    Ok(sqlx::query_as(
        "select user_id, username, display_name, password_hash, must_change_password, disabled \
         from app_user where user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?)
}

pub async fn grants(state: &AppState, user_id: i64) -> AppResult<Vec<Grant>> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "select g.role_grant_id, g.role, g.unit_id, g.org_id, g.member_id, g.community_id, \
         coalesce(u.name, o.name, m.name, c.name) as scope_name \
         from role_grant g \
         left join unit u on u.unit_id = g.unit_id \
         left join org o on o.org_id = g.org_id \
         left join member m on m.member_id = g.member_id \
         left join community c on c.community_id = g.community_id \
         where g.user_id = $1 order by g.role_grant_id",
    )
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Grant {
                role_grant_id: r.role_grant_id,
                role: Role::parse(&r.role)?,
                unit_id: r.unit_id,
                org_id: r.org_id,
                member_id: r.member_id,
                community_id: r.community_id,
                scope_name: r.scope_name.unwrap_or_else(|| "全市".into()),
            })
        })
        .collect())
}

pub async fn load_current_user(
    state: &AppState,
    user_id: i64,
    session_hash: Option<String>,
    ip: String,
) -> AppResult<Option<CurrentUser>> {
    type Row = (String, String, i64, i64, i64, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "select username, display_name, must_change_password, disabled, password_changed_at, totp_enabled_at \
         from app_user where user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((username, display_name, must_change, disabled, changed_at, totp_at)) = row else {
        return Ok(None);
    };
    if disabled != 0 {
        return Ok(None);
    }
    let policy = super::policy::current(state).await?;
    let grants = grants(state, user_id).await?;
    let roles: Vec<Role> = grants.iter().map(|g| g.role).collect();
    let t = now();
    let days_left = policy.days_left(changed_at, t);
    Ok(Some(CurrentUser {
        user_id,
        username,
        display_name,
        must_change_password: must_change != 0,
        password_expired: policy.expired(changed_at, t),
        password_days_left: days_left.filter(|d| *d < policy.password_warn_days),
        totp_enrolment_required: totp_at.is_none()
            && super::totp::required(policy.totp_required_all, &roles),
        grants,
        session_hash,
        ip,
        // The bell's count; the notification table belongs to `notify`, which sits above.
        unread: sqlx::query_scalar(
            "select count(*) from notification where user_id = $1 and read_at is null",
        )
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await?,
    }))
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UserSummary {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub must_change_password: i64,
    pub disabled: i64,
    pub created_at: i64,
}

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub must_change_password: bool,
}

pub fn validate_username(username: &str) -> Result<(), String> {
    let ok = (3..=32).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err("用户名应为3到32位字母、数字、下划线、点或短横线".into())
    }
}

/// Creates an account with its grants in one transaction.
pub async fn create_user(
    state: &AppState,
    actor: &Actor,
    u: NewUser,
    grants: &[NewGrant],
) -> AppResult<i64> {
    validate_username(&u.username).map_err(|m| AppError::field("username", m))?;
    if u.display_name.trim().is_empty() {
        return Err(AppError::field("display_name", "请填写姓名"));
    }
    let hash = super::password::hash(u.password).await?;
    let mut tx = state.db.begin_write().await?;
    let id = insert_user(
        tx.conn(),
        &u.username,
        &u.display_name,
        &hash,
        u.must_change_password,
    )
    .await?;
    for g in grants {
        insert_grant(tx.conn(), id, g).await?;
    }
    tx.audit(
        actor,
        Entry::new(
            "user.create",
            "user",
            id,
            format!("新建用户 {}", u.username),
        )
        .after(&serde_json::json!({
            "username": u.username, "display_name": u.display_name,
            "grants": grants.iter().map(|g| g.describe()).collect::<Vec<_>>(),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts an account row with a password hash made already (the caller audits).
pub async fn insert_user(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    display_name: &str,
    password_hash: &str,
    must_change_password: bool,
) -> AppResult<i64> {
    let t = now();
    sqlx::query_scalar(
        "insert into app_user (username, display_name, password_hash, must_change_password, password_changed_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning user_id",
    )
    .bind(username.to_string())
    .bind(display_name.trim().to_string())
    .bind(password_hash.to_string())
    .bind(i64::from(must_change_password))
    .bind(t)
    .bind(t)
    .bind(t)
    .fetch_one(conn)
    .await
    .map_err(|e| crate::error::on_unique(e, "username", "该用户名已被使用"))
}

#[derive(Clone, Debug, serde::Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewGrant {
    /// committee | unit | branch | member | community
    #[schema(schema_with = crate::auth::role_schema)]
    pub role: String,
    pub unit_id: Option<i64>,
    pub org_id: Option<i64>,
    pub member_id: Option<i64>,
    pub community_id: Option<i64>,
}

impl NewGrant {
    pub fn describe(&self) -> String {
        format!(
            "{}:{}",
            self.role,
            self.unit_id
                .or(self.org_id)
                .or(self.member_id)
                .or(self.community_id)
                .map(|v| v.to_string())
                .unwrap_or_default()
        )
    }

    /// The role with exactly the scope it needs.
    pub fn checked(&self) -> AppResult<NewGrant> {
        let role = Role::parse(&self.role).ok_or_else(|| AppError::field("role", "未知的角色"))?;
        let mut g = NewGrant {
            role: role.as_str().into(),
            unit_id: None,
            org_id: None,
            member_id: None,
            community_id: None,
        };
        let need =
            |v: Option<i64>, field: &str, msg: &str| v.ok_or_else(|| AppError::field(field, msg));
        match role {
            Role::Committee => {}
            Role::Unit => g.unit_id = Some(need(self.unit_id, "unit_id", "请选择机关党组织")?),
            Role::Branch => g.org_id = Some(need(self.org_id, "org_id", "请选择党支部")?),
            Role::Member => g.member_id = Some(need(self.member_id, "member_id", "请选择党员")?),
            Role::Community => {
                g.community_id = Some(need(self.community_id, "community_id", "请选择社区")?)
            }
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin => {}
        }
        Ok(g)
    }
}

/// Separation of duties (三员分立): no account holds two of the three admin roles, and the
/// security and audit admins hold nothing else, so neither can change business data.
pub fn separation_conflict(held: &[Role], new: Role) -> Option<&'static str> {
    let others: Vec<Role> = held.iter().copied().filter(|r| *r != new).collect();
    if new.is_admin() && others.iter().any(|r| r.is_admin()) {
        return Some("三员分立：同一账号不能同时担任系统管理员、安全管理员、审计管理员中的两个");
    }
    let watchers = [Role::SecurityAdmin, Role::AuditAdmin];
    if watchers.contains(&new) && !others.is_empty() {
        return Some("安全管理员、审计管理员不能兼任其他角色，请为其单独建立账号");
    }
    if others.iter().any(|r| watchers.contains(r)) {
        return Some("该账号是安全管理员或审计管理员，不能再授予其他角色");
    }
    None
}

pub async fn insert_grant(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    g: &NewGrant,
) -> AppResult<i64> {
    let g = g.checked()?;
    let held: Vec<String> = sqlx::query_scalar("select role from role_grant where user_id = $1")
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    let held: Vec<Role> = held.iter().filter_map(|r| Role::parse(r)).collect();
    if let Some(new) = Role::parse(&g.role) {
        if new.is_admin() && held.contains(&new) {
            return Err(AppError::field("role", "该账号已担任此角色"));
        }
        if let Some(msg) = separation_conflict(&held, new) {
            return Err(AppError::field("role", msg));
        }
    }
    let checks: [(&str, Option<i64>, &str, &str); 4] = [
        (
            "select unit_id from unit where unit_id = $1",
            g.unit_id,
            "unit_id",
            "机关党组织不存在",
        ),
        (
            "select org_id from org where org_id = $1 and kind = 'branch'",
            g.org_id,
            "org_id",
            "党支部不存在",
        ),
        (
            "select member_id from member where member_id = $1",
            g.member_id,
            "member_id",
            "党员不存在",
        ),
        (
            "select community_id from community where community_id = $1",
            g.community_id,
            "community_id",
            "社区不存在",
        ),
    ];
    for (sql, id, field, msg) in checks {
        if let Some(id) = id {
            let found: Option<i64> = sqlx::query_scalar(sql)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            if found.is_none() {
                return Err(AppError::field(field, msg));
            }
        }
    }
    let id: i64 = sqlx::query_scalar(
        "insert into role_grant (user_id, role, unit_id, org_id, member_id, community_id, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning role_grant_id",
    )
    .bind(user_id)
    .bind(g.role.clone())
    .bind(g.unit_id)
    .bind(g.org_id)
    .bind(g.member_id)
    .bind(g.community_id)
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Sets a new password; `must_change` marks an admin reset.
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    password: String,
    must_change: bool,
) -> AppResult<()> {
    let hash = super::password::hash(password).await?;
    let mut tx = state.db.begin_write().await?;
    replace_password_hash(tx.conn(), user_id, &hash, must_change).await?;
    let (action, summary) = if must_change {
        ("user.password_reset", "管理员重置密码")
    } else {
        ("user.password_change", "修改密码")
    };
    tx.audit(actor, Entry::new(action, "user", user_id, summary))
        .await?;
    tx.commit().await?;
    crate::auth::cache::clear(state);
    Ok(())
}

/// Puts a new password hash in place in the caller's transaction (the caller audits); the
/// hash being replaced joins the history, so the last N stay unusable.
pub async fn replace_password_hash(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    hash: &str,
    must_change: bool,
) -> AppResult<()> {
    let t = now();
    sqlx::query(
        "insert into password_history (user_id, password_hash, created_at) \
         select user_id, password_hash, $1 from app_user where user_id = $2",
    )
    .bind(t)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    let n = sqlx::query(
        "update app_user set password_hash = $1, must_change_password = $2, password_changed_at = $3, updated_at = $4 where user_id = $5",
    )
    .bind(hash.to_string())
    .bind(i64::from(must_change))
    .bind(t)
    .bind(t)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Whether `password` is the current one or one of the user's recent ones: the policy's
/// history length counts the current password.
pub async fn reuses_recent(
    state: &AppState,
    user_id: i64,
    password: &str,
    history: i64,
) -> AppResult<bool> {
    if history <= 0 {
        return Ok(false);
    }
    let current: Option<String> =
        sqlx::query_scalar("select password_hash from app_user where user_id = $1")
            .bind(user_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let older: Vec<String> = sqlx::query_scalar(
        "select password_hash from password_history where user_id = $1 \
         order by created_at desc, password_history_id desc limit $2",
    )
    .bind(user_id)
    .bind(history - 1)
    .fetch_all(&state.db.pool)
    .await?;
    for h in current.into_iter().chain(older) {
        if super::password::verify(password.to_string(), h).await {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn list_users(
    state: &AppState,
    q: &str,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<UserSummary>, i64)> {
    let like = format!("%{}%", q.trim());
    let rows = sqlx::query_as(
        "select user_id, username, display_name, must_change_password, disabled, created_at from app_user \
         where username like $1 or display_name like $1 order by user_id limit $2 offset $3",
    )
    .bind(like.clone())
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "select count(*) from app_user where username like $1 or display_name like $1",
    )
    .bind(like)
    .fetch_one(&state.db.pool)
    .await?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::separation_conflict;
    use crate::auth::Role;

    #[test]
    fn three_admins_stay_apart() {
        use Role::*;
        assert!(separation_conflict(&[], SystemAdmin).is_none());
        assert!(separation_conflict(&[Committee], SystemAdmin).is_none());
        assert!(separation_conflict(&[SystemAdmin], SecurityAdmin).is_some());
        assert!(separation_conflict(&[SystemAdmin], AuditAdmin).is_some());
        assert!(separation_conflict(&[SecurityAdmin], AuditAdmin).is_some());
        assert!(separation_conflict(&[AuditAdmin], SystemAdmin).is_some());
        // The watchers hold nothing else, either way round.
        assert!(separation_conflict(&[Unit], AuditAdmin).is_some());
        assert!(separation_conflict(&[SecurityAdmin], Committee).is_some());
        assert!(separation_conflict(&[AuditAdmin], Member).is_some());
        // Business roles combine as before.
        assert!(separation_conflict(&[Unit, Branch], Member).is_none());
    }
}
