//! Who is calling, what they hold, and the scope their queries run under.

pub mod cache;
pub mod client;
pub mod login;
pub mod password;
pub mod policy;
pub mod session;
pub mod store;
pub mod throttle;
pub mod totp;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;

use crate::db::Sql;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Committee,
    Unit,
    Branch,
    Member,
    Community,
    /// 系统管理员: accounts, role grants, settings; cannot read the audit log.
    SystemAdmin,
    /// 安全管理员: password, lock, session and two-factor policy; unlocks; reviews grants.
    SecurityAdmin,
    /// 审计管理员: reads, exports and verifies the audit log; nothing else.
    AuditAdmin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Committee,
        Role::Unit,
        Role::Branch,
        Role::Member,
        Role::Community,
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::AuditAdmin,
    ];

    /// The three administrators who check each other (三员): no account holds two.
    pub const ADMINS: [Role; 3] = [Role::SystemAdmin, Role::SecurityAdmin, Role::AuditAdmin];

    pub fn is_admin(self) -> bool {
        Role::ADMINS.contains(&self)
    }

    /// Roles whose holders must use a second factor (the committee and the three admins).
    pub fn needs_second_factor(self) -> bool {
        matches!(self, Role::Committee) || self.is_admin()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Committee => "committee",
            Role::Unit => "unit",
            Role::Branch => "branch",
            Role::Member => "member",
            Role::Community => "community",
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::AuditAdmin => "audit_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        crate::messages::role_label(self.as_str())
    }
}

/// Labels of the actions this module records (sessions, the second factor, locks, the
/// security policy).
pub const AUDIT_LABELS: &[(&str, &str)] = &[
    ("login", "登录"),
    ("login.failed", "登录失败"),
    ("user", "用户与角色"),
    ("session", "会话"),
    ("session.evicted", "新登录结束旧会话"),
    ("security", "安全策略"),
    ("security.policy", "修改安全策略"),
    ("login.failed.summary", "登录失败汇总"),
    ("user.lock", "账号锁定"),
    ("user.guard", "账号防护（新地址须先验证动态验证码）"),
    ("address", "来源地址"),
    ("address.lock", "来源地址限制"),
    ("totp.enable", "启用双因素认证"),
    ("totp.disable", "关闭双因素认证"),
    ("totp.recovery_used", "使用恢复码登录"),
    ("totp.recovery_renew", "重新生成恢复码"),
];

/// The OpenAPI value list of a role field.
pub fn role_schema() -> utoipa::openapi::schema::Object {
    crate::apidoc::one_of(Role::ALL.iter().map(|r| r.as_str()), "角色")
}

/// One role held over one scope.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub role_grant_id: i64,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub org_id: Option<i64>,
    pub member_id: Option<i64>,
    pub community_id: Option<i64>,
    /// The name of the scope's object, for display.
    pub scope_name: String,
}

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub must_change_password: bool,
    pub grants: Vec<Grant>,
    pub session_hash: Option<String>,
    pub ip: String,
    /// Unread notifications, as of loading (cached with the user for a few seconds).
    pub unread: i64,
    /// The password is older than the policy allows: only a change is possible.
    pub password_expired: bool,
    /// Days until the password expires, when within the warning period.
    pub password_days_left: Option<i64>,
    /// The policy requires a second factor this user has not set up yet.
    pub totp_enrolment_required: bool,
}

/// The rows a caller may see, applied inside queries.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub all: bool,
    pub units: Vec<i64>,
    pub branches: Vec<i64>,
    pub members: Vec<i64>,
}

impl Scope {
    /// The whole city: the committee's scope, and the command line's.
    pub fn everything() -> Scope {
        Scope {
            all: true,
            ..Default::default()
        }
    }

    /// Appends `(col in (…) or …)` over the non-empty lists only, so each part can use
    /// its index; with nothing granted it matches nothing.
    pub fn any_of(sql: &mut Sql, parts: &[(&str, &[i64])]) {
        let parts: Vec<_> = parts.iter().filter(|(_, ids)| !ids.is_empty()).collect();
        if parts.is_empty() {
            sql.push("1 = 0");
            return;
        }
        sql.push("(");
        for (i, (col, ids)) in parts.iter().enumerate() {
            if i > 0 {
                sql.push(" or ");
            }
            sql.push(col).push(" in ").bind_list(ids);
        }
        sql.push(")");
    }

    /// Appends a condition on a member row aliased `m`.
    pub fn member_condition(&self, sql: &mut Sql) {
        if self.all {
            sql.push("1 = 1");
            return;
        }
        Self::any_of(
            sql,
            &[
                ("m.unit_id", &self.units),
                ("m.branch_id", &self.branches),
                ("m.member_id", &self.members),
            ],
        );
    }

    /// Appends a condition on an org row aliased `o`: a branch admin sees their branch and its groups.
    pub fn org_condition(&self, sql: &mut Sql) {
        if self.all {
            sql.push("1 = 1");
            return;
        }
        Self::any_of(
            sql,
            &[
                ("o.unit_id", &self.units),
                ("o.org_id", &self.branches),
                ("o.parent_id", &self.branches),
            ],
        );
    }

    pub fn unit_condition(&self, sql: &mut Sql) {
        if self.all {
            sql.push("1 = 1");
            return;
        }
        sql.push("u.unit_id in ").bind_list(&self.units);
    }

    pub fn sees_unit(&self, unit_id: i64) -> bool {
        self.all || self.units.contains(&unit_id)
    }
}

impl CurrentUser {
    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    pub fn is_committee(&self) -> bool {
        self.has(Role::Committee)
    }

    pub fn is_system_admin(&self) -> bool {
        self.has(Role::SystemAdmin)
    }

    pub fn is_security_admin(&self) -> bool {
        self.has(Role::SecurityAdmin)
    }

    pub fn is_audit_admin(&self) -> bool {
        self.has(Role::AuditAdmin)
    }

    /// The highest role held, for the home page and navigation.
    pub fn primary_role(&self) -> Option<Role> {
        Role::ALL.into_iter().find(|r| self.has(*r))
    }

    pub fn unit_ids(&self) -> Vec<i64> {
        self.ids(Role::Unit, |g| g.unit_id)
    }

    pub fn branch_ids(&self) -> Vec<i64> {
        self.ids(Role::Branch, |g| g.org_id)
    }

    pub fn member_ids(&self) -> Vec<i64> {
        self.ids(Role::Member, |g| g.member_id)
    }

    pub fn community_ids(&self) -> Vec<i64> {
        self.ids(Role::Community, |g| g.community_id)
    }

    fn ids(&self, role: Role, f: impl Fn(&Grant) -> Option<i64>) -> Vec<i64> {
        self.grants
            .iter()
            .filter(|g| g.role == role)
            .filter_map(f)
            .collect()
    }

    /// The registry scope: everything for the committee, else the union of the grants.
    pub fn scope(&self) -> Scope {
        Scope {
            all: self.is_committee(),
            units: self.unit_ids(),
            branches: self.branch_ids(),
            members: self.member_ids(),
        }
    }

    /// Where the registry admin's powers apply: the city for the committee, the units of the
    /// unit grants — not the branches or members of the user's other grants. An account
    /// holding a unit grant and a branch grant elsewhere is a branch admin there, no more.
    pub fn registry_scope(&self) -> Scope {
        Scope {
            all: self.is_committee(),
            units: self.unit_ids(),
            branches: Vec::new(),
            members: Vec::new(),
        }
    }

    /// Committee or unit admin: may manage the registry (within scope).
    pub fn is_registry_admin(&self) -> bool {
        self.is_committee() || self.has(Role::Unit)
    }

    /// May see unmasked ID numbers and phones on request.
    pub fn may_unmask(&self) -> bool {
        self.is_registry_admin()
    }

    pub fn require(&self, ok: bool) -> Result<(), AppError> {
        if ok {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether the request came with an API token rather than a signed-in session.
    pub fn by_token(&self) -> bool {
        self.session_hash.is_none()
    }

    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            user_id: Some(self.user_id),
            name: self.username.clone(),
            ip: self.ip.clone(),
        }
    }
}

/// Paths a user who must change their password may still reach.
fn allowed_before_password_change(path: &str) -> bool {
    matches!(
        path,
        "/password" | "/logout" | "/api/v1/session" | "/api/v1/me" | "/api/v1/me/password"
    )
}

/// Paths a user who must set up the second factor may still reach.
fn allowed_before_totp_enrolment(path: &str) -> bool {
    allowed_before_password_change(path)
        || path == "/account/totp"
        || path.starts_with("/account/totp/")
        || path == "/api/v1/me/totp"
        || path.starts_with("/api/v1/me/totp/")
}

pub fn client_ip(parts: &Parts) -> String {
    client::of(parts).ip
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(u) = parts.extensions.get::<CurrentUser>() {
            return Ok(u.clone());
        }
        let ip = client_ip(parts);
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let user = if let Some(token) = bearer {
            session::user_for_token(state, token, ip).await?
        } else {
            let cookie = session::cookie_value(&parts.headers, session::COOKIE);
            match cookie {
                Some(c) => session::user_for_session(state, &c, ip).await?,
                None => None,
            }
        };
        let user = user.ok_or(AppError::Unauthorized)?;
        // Nested routers see a stripped path; the original one is what the rule names.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|u| u.0.path().to_string())
            .unwrap_or_else(|| parts.uri.path().to_string());
        if user.must_change_password && !allowed_before_password_change(&path) {
            return Err(AppError::PasswordChangeRequired);
        }
        if user.password_expired && !allowed_before_password_change(&path) {
            return Err(AppError::PasswordExpired);
        }
        if user.totp_enrolment_required && !allowed_before_totp_enrolment(&path) {
            return Err(AppError::TotpEnrolmentRequired);
        }
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// The caller, signed in with a session: what only the person may do — manage API tokens,
/// the second factor, the password, the digest email — refuses an API token (`403
/// session_required`) before the body is read. A token is for scripts; with the account's
/// own credentials it could outlive itself, lock the owner's login or hide their mail.
pub struct SignedIn(pub CurrentUser);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.by_token() {
            return Err(AppError::SessionRequired);
        }
        Ok(SignedIn(user))
    }
}

/// The caller if logged in, without rejecting anonymous requests.
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(u) => Ok(MaybeUser(Some(u))),
            Err(
                AppError::Unauthorized
                | AppError::PasswordChangeRequired
                | AppError::PasswordExpired
                | AppError::TotpEnrolmentRequired,
            ) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listed_roles_are_the_ones_the_parser_takes() {
        let listed = crate::apidoc::values(role_schema());
        for v in &listed {
            assert!(Role::parse(v).is_some(), "{v}");
        }
        assert_eq!(listed.len(), Role::ALL.len());
    }

    #[test]
    fn scope_conditions_use_only_granted_parts() {
        let unit = Scope {
            units: vec![3],
            ..Default::default()
        };
        let mut sql = Sql::new("");
        unit.member_condition(&mut sql);
        assert_eq!(sql.text, "(m.unit_id in ($1))");
        let mixed = Scope {
            branches: vec![7],
            members: vec![9],
            ..Default::default()
        };
        let mut sql = Sql::new("");
        mixed.org_condition(&mut sql);
        assert_eq!(sql.text, "(o.org_id in ($1) or o.parent_id in ($2))");
        let none = Scope::default();
        let mut sql = Sql::new("");
        none.member_condition(&mut sql);
        assert_eq!(sql.text, "1 = 0");
        let all = Scope {
            all: true,
            ..Default::default()
        };
        let mut sql = Sql::new("");
        all.member_condition(&mut sql);
        assert_eq!(sql.text, "1 = 1");
    }
}
