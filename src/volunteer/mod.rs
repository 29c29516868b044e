//! 志愿者银行 (volunteer bank): in-service members report (报到) to a community each
//! period (a half-year unless the committee sets another), by choosing it or by scanning its poster's QR code, and the community confirms;
//! communities post service needs (需求清单) that members claim (认领) within limits; members
//! offer services tied to their jobs (结合自身职责); after the service the community confirms
//! attendance and hours in bulk into an immutable double-entry ledger of minutes
//! (`ledger.rs`), from which members redeem the committee's rewards. Figures per unit,
//! category and city, the members not yet reported, and the indicators criterion 17 is
//! scored by.

pub mod api;
pub mod checkin;
pub mod confirm;
pub mod demo;
pub mod home;
pub mod indicators;
pub mod ledger;
pub mod pages;
pub mod rules;
pub mod store;
pub mod views;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::jobs::{Step, StepFuture};
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

/// A member (through their member grant).
pub fn may_serve(user: &CurrentUser) -> bool {
    user.has(Role::Member) && !user.member_ids().is_empty()
}

/// A community account.
pub fn may_community(user: &CurrentUser) -> bool {
    user.has(Role::Community) && !user.community_ids().is_empty()
}

/// Uses the bank at all: members, communities, the committee, unit and branch admins.
pub fn may_use(user: &CurrentUser) -> bool {
    may_serve(user)
        || may_community(user)
        || user.is_committee()
        || user.has(Role::Unit)
        || user.has(Role::Branch)
}

/// Sees reports: the community (made to it), unit and branch admins (their members'), the
/// committee.
pub fn may_see_reports(user: &CurrentUser) -> bool {
    may_community(user) || user.is_committee() || user.has(Role::Unit) || user.has(Role::Branch)
}

/// Sees who has not reported: the committee, unit and branch admins, in scope.
pub fn may_see_missing(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit) || user.has(Role::Branch)
}

/// Sees the figures per unit and category: the committee and unit admins.
pub fn may_stats(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit)
}

/// Manages rewards and the ledger: the committee.
pub fn may_manage(user: &CurrentUser) -> bool {
    user.is_committee()
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "志愿者银行",
    order: 42,
};

fn may_needs(user: &CurrentUser) -> bool {
    may_serve(user) || may_community(user) || user.is_committee()
}

const NAV: &[NavEntry] = &[
    GROUP.entry(10, "我的时长账户", "/volunteer/mine", "history", may_serve),
    GROUP.entry(
        20,
        "到社区报到",
        "/volunteer/report",
        "building-community",
        may_serve,
    ),
    GROUP.entry(
        30,
        "需求清单",
        "/volunteer/needs",
        "list-details",
        may_needs,
    ),
    GROUP.entry(
        40,
        "报到确认",
        "/volunteer/reports",
        "user-check",
        may_see_reports,
    ),
    GROUP.entry(50, "岗位服务", "/volunteer/offers", "users", may_use),
    GROUP.entry(
        60,
        "服务时长",
        "/volunteer/community",
        "chart-bar",
        may_community,
    ),
    GROUP.entry(
        70,
        "未报到名单",
        "/volunteer/missing",
        "alert-triangle",
        may_see_missing,
    ),
    GROUP.entry(
        80,
        "志愿服务统计",
        "/volunteer/stats",
        "chart-bar",
        may_stats,
    ),
    GROUP.entry(90, "奖励与台账", "/volunteer/ledger", "key", may_manage),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("volunteer_report", "社区报到"),
    ("volunteer_need", "服务需求"),
    ("volunteer_claim", "服务认领"),
    ("volunteer_offer", "岗位服务"),
    ("volunteer_reward", "志愿服务奖励"),
    ("ledger_transfer", "时长记账"),
    ("volunteer_report.create", "到社区报到"),
    ("volunteer_report.confirm", "确认党员报到"),
    ("volunteer_report.decline", "不接收党员报到"),
    ("volunteer_need.create", "发布服务需求"),
    ("volunteer_need.cancel", "撤销服务需求"),
    ("volunteer_need.confirm", "确认服务时长"),
    ("volunteer_claim.create", "认领服务需求"),
    ("volunteer_claim.cancel", "取消认领"),
    ("volunteer_claim.expire", "认领超期未确认"),
    ("volunteer_offer.create", "提供岗位服务"),
    ("volunteer_offer.toggle", "停止或恢复岗位服务"),
    ("volunteer_reward.create", "设立奖励"),
    ("volunteer_reward.toggle", "启用或停用奖励"),
    ("ledger.reverse", "冲正时长记录"),
    ("ledger.redeem", "兑换奖励"),
];

fn expire_step(state: &AppState, now: time::OffsetDateTime) -> StepFuture<'_> {
    Box::pin(async move { Ok(confirm::expire_claims(state, now.unix_timestamp()).await?) })
}

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    daily: &[Step {
        name: "volunteer_expiry",
        run: expire_step,
    }],
    home: Some(home::cards),
    indicators: indicators::INDICATORS,
    checkin: &[checkin::KIND],
    ..Feature::new("volunteer", pages, api)
};

pub fn pages() -> Router<AppState> {
    pages::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    api::api()
}
