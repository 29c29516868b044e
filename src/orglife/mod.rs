//! 组织生活: 三会一课, 主题党日, 组织生活会 and 民主评议 — the records a branch keeps, their
//! review by the unit, and the compliance computed from them.

pub mod api;
pub mod attachments;
pub mod checkin;
pub mod grid;
pub mod home;
pub mod indicators;
pub mod meeting_rules;
pub mod meetings;
pub mod mine;
pub mod pages;
pub mod register;
pub mod reminders;
pub mod review;
pub mod rules;
pub mod schema;
pub mod stats;
pub mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::jobs::{Step, StepFuture};
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

/// May read meeting records at all (members use their own page).
pub fn may_read(user: &CurrentUser) -> bool {
    user.is_registry_admin() || user.has(Role::Branch)
}

/// May draft, edit and submit records (for branches in scope).
pub fn may_write(user: &CurrentUser) -> bool {
    user.has(Role::Unit) || user.has(Role::Branch)
}

/// May accept or return submitted records: the unit (and the committee above it).
pub fn may_review(user: &CurrentUser) -> bool {
    user.is_registry_admin()
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "组织生活",
    order: 20,
};

fn member(user: &CurrentUser) -> bool {
    user.has(Role::Member)
}

const NAV: &[NavEntry] = &[
    GROUP.entry(
        10,
        "三会一课",
        "/orglife/meetings",
        "presentation",
        may_read,
    ),
    GROUP.entry(
        20,
        "合规日历",
        "/orglife/calendar",
        "calendar-event",
        may_read,
    ),
    GROUP.entry(30, "合规统计", "/orglife/compliance", "chart-bar", may_read),
    GROUP.entry(40, "会议规则", "/orglife/rules", "settings", may_read),
    GROUP.entry(50, "我的组织生活", "/orglife/mine", "user-check", member),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("meeting", "组织生活"),
    ("meeting.create", "登记组织生活"),
    ("meeting.update", "修改组织生活记录"),
    ("meeting.submit", "提交组织生活记录"),
    ("meeting.accept", "通过组织生活记录"),
    ("meeting.return", "退回组织生活记录"),
    ("meeting.update_accepted", "修改已通过的组织生活记录"),
    ("meeting.delete", "删除组织生活记录"),
    ("meeting.attach", "上传会议附件"),
    ("meeting.detach", "删除会议附件"),
    ("meeting_rule.set", "设置组织生活频次"),
];

/// The daily reminders of meetings due, records awaiting review and terms falling due.
fn reminders_step(state: &AppState, now: time::OffsetDateTime) -> StepFuture<'_> {
    Box::pin(async move { Ok(reminders::run(state, now.date()).await?) })
}

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    daily: &[Step {
        name: "reminders",
        run: reminders_step,
    }],
    home: Some(home::cards),
    indicators: indicators::INDICATORS,
    checkin: &[checkin::KIND],
    ..Feature::new("orglife", pages, api)
};

pub fn pages() -> Router<AppState> {
    pages::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    api::api()
}
