//! 系统: users and their role grants, the audit log browser, backups.

pub mod approvals;
pub mod audit;
pub mod backup;
pub mod home;
pub mod keys;
pub mod security;
pub mod users;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::CurrentUser;
use crate::feature::Feature;
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

pub const GROUP: MenuGroup = MenuGroup {
    label: "系统",
    order: 40,
};

fn system_admin(user: &CurrentUser) -> bool {
    user.is_system_admin()
}

fn security_admin(user: &CurrentUser) -> bool {
    user.is_security_admin()
}

fn audit_admin(user: &CurrentUser) -> bool {
    user.is_audit_admin()
}

const NAV: &[NavEntry] = &[
    GROUP.entry(10, "用户与角色", "/system/users", "users", system_admin),
    GROUP.entry(
        20,
        "安全策略",
        "/system/security",
        "shield-lock",
        security_admin,
    ),
    GROUP.entry(
        30,
        "账号安全",
        "/system/security/accounts",
        "lock-open",
        security_admin,
    ),
    GROUP.entry(
        40,
        "授权审查",
        "/system/security/grants",
        "clipboard-check",
        security_admin,
    ),
    GROUP.entry(50, "审计日志", "/system/audit", "history", audit_admin),
    GROUP.entry(60, "双人确认", "/system/approvals", "user-check", any_admin),
];

fn any_admin(user: &CurrentUser) -> bool {
    user.is_system_admin() || user.is_security_admin() || user.is_audit_admin()
}

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("user.create", "新建用户"),
    ("user.password_reset", "重置密码"),
    ("user.grant", "授予角色"),
    ("user.revoke", "撤销角色"),
    ("user.disable", "停用用户"),
    ("user.enable", "启用用户"),
    ("user.unlock", "解除锁定"),
    ("user.rename", "重命名用户"),
    ("approval", "双人确认"),
    ("approval.request", "申请双人确认"),
    ("approval.confirm", "确认申请"),
    ("approval.refuse", "拒绝或撤回申请"),
    ("session.end", "强制结束会话"),
    ("totp.reset", "重置双因素认证"),
    ("totp.encrypt", "加密双因素认证密钥"),
    ("member.encrypt", "加密个人信息"),
    ("backup", "备份"),
    ("backup.create", "备份"),
    ("backup.restore", "恢复备份"),
    ("backup.prune", "删除过期备份"),
    ("system.bootstrap", "系统初始化"),
    ("demo.generate", "生成演示数据"),
];

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    jobs: &[audit::SCHEDULE, backup::schedule::SCHEDULE, STATISTICS],
    home: Some(home::cards),
    ..Feature::new("system", pages, api)
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .merge(users::pages())
        .merge(approvals::pages())
        .merge(security::pages())
        .merge(audit::pages())
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(users::api())
        .merge(approvals::api())
        .merge(security::api())
        .merge(audit::api())
}

/// The query planner's statistics refreshed nightly at 04:30 Beijing time, once a day
/// across instances, and at the first start on a database without any (`app::state`).
pub const STATISTICS: crate::jobs::Job = crate::jobs::Job {
    name: "statistics",
    at: |_| Some((4, 30)),
    run: statistics_daily,
};

fn statistics_daily(state: &AppState, now: time::OffsetDateTime) -> crate::jobs::JobFuture<'_> {
    Box::pin(async move {
        let done = crate::jobs::once(
            state,
            "statistics",
            now.date(),
            || state.db.analyze(),
            |_: &()| 1,
        )
        .await?;
        Ok(done.map(|_| 1))
    })
}
