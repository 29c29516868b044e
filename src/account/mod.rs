//! 个人: signing in and out, the second factor, the password, API tokens — what every
//! account does for itself.

pub mod login;
pub mod totp;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

pub fn pages() -> Router<AppState> {
    Router::new().merge(login::pages()).merge(totp::pages())
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(login::api()).merge(totp::api())
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "个人设置",
    order: 30,
};

fn anyone(_: &CurrentUser) -> bool {
    true
}

/// Who sets up other systems to talk to this one: the committee, unit admins and the system
/// admin see 接口令牌 in their menu. Everyone else may still open the page, from 修改密码.
pub fn may_see_tokens_in_menu(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit) || user.is_system_admin()
}

const NAV: &[NavEntry] = &[
    GROUP.entry(
        20,
        "接口令牌",
        "/account/tokens",
        "key",
        may_see_tokens_in_menu,
    ),
    GROUP.entry(30, "双因素认证", "/account/totp", "device-mobile", anyone),
    GROUP.entry(40, "修改密码", "/password", "shield-lock", anyone),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("token", "API令牌"),
    ("logout", "退出登录"),
    ("user.password_change", "修改密码"),
    ("token.create", "创建API令牌"),
    ("token.revoke", "吊销API令牌"),
];

/// The daily pass's housekeeping of failed logins: idle bursts close with their audit
/// summaries; old failures, bursts and known addresses are forgotten.
fn login_throttle_step<'a>(
    state: &'a AppState,
    _now: time::OffsetDateTime,
) -> crate::jobs::StepFuture<'a> {
    Box::pin(async move { Ok(crate::auth::throttle::daily(state).await?) })
}

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    daily: &[crate::jobs::Step {
        name: "login_throttle",
        run: login_throttle_step,
    }],
    ..Feature::new("account", pages, api)
};
