//! 一句话承诺 (处室负责人一句话承诺): each year every division head — and any member who
//! wishes — makes one sentence of pledge tied to their category's requirements and their own
//! duties, with up to three measurable milestones; the unit admin accepts or returns it; the
//! accepted ones are shown on the public board (公开亮诺, `/public/pledges`, no login) and on a
//! printable poster with QR codes; the public leaves feedback the unit admin moderates (督导
//! 践诺); the pledger reports progress and replies; at year end the unit and the committee
//! rate fulfilment (践诺). Figures per unit and category, and the indicators the grading
//! engine scores criterion 18 by.

pub mod api;
pub mod demo;
pub mod feedback;
pub mod indicators;
pub mod pages;
pub mod public;
pub mod rules;
pub mod store;
pub mod views;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

/// May make a pledge: a member (through their member grant).
pub fn may_pledge(user: &CurrentUser) -> bool {
    user.has(Role::Member) && !user.member_ids().is_empty()
}

/// May read pledges in scope: the committee (all), unit admins (their units'), branch admins
/// (their branches' members'), members (their own).
pub fn may_read(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit) || user.has(Role::Branch) || may_pledge(user)
}

/// May accept or return pledges and moderate feedback: unit admins, for their units.
pub fn may_review(user: &CurrentUser) -> bool {
    user.has(Role::Unit)
}

pub fn may_moderate(user: &CurrentUser) -> bool {
    user.has(Role::Unit)
}

/// May rate fulfilment at year end: the unit admin (as the unit) and the committee.
pub fn may_rate(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit)
}

/// May see who has not pledged: the committee, unit and branch admins, in scope.
pub fn may_read_views(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit) || user.has(Role::Branch)
}

/// May see the figures per unit and category: the committee and unit admins.
pub fn may_stats(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit)
}

fn may_list(user: &CurrentUser) -> bool {
    may_read_views(user)
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "一句话承诺",
    order: 45,
};

const NAV: &[NavEntry] = &[
    GROUP.entry(10, "我的承诺", "/pledges/mine", "pencil", may_pledge),
    GROUP.entry(
        20,
        "承诺审核与督导",
        "/pledges",
        "clipboard-check",
        may_list,
    ),
    GROUP.entry(
        30,
        "督导反馈",
        "/pledges/feedback",
        "list-details",
        may_list,
    ),
    GROUP.entry(
        40,
        "未承诺名单",
        "/pledges/missing",
        "alert-triangle",
        may_read_views,
    ),
    GROUP.entry(50, "亮诺践诺统计", "/pledges/stats", "chart-bar", may_stats),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("pledge", "一句话承诺"),
    ("pledge_feedback", "督导反馈"),
    ("pledge.create", "作出一句话承诺"),
    ("pledge.update", "修改一句话承诺"),
    ("pledge.submit", "提交一句话承诺"),
    ("pledge.accept", "审核通过承诺（公开亮诺）"),
    ("pledge.return", "退回一句话承诺"),
    ("pledge.progress", "报告践诺进展"),
    ("pledge.rate", "践诺评价"),
    ("pledge_feedback.publish", "公开督导反馈"),
    ("pledge_feedback.hide", "隐藏督导反馈"),
    ("pledge_feedback.reply", "回复督导反馈"),
];

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    indicators: indicators::INDICATORS,
    ..Feature::new("pledges", pages, api)
};

pub fn pages() -> Router<AppState> {
    pages::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    api::api()
}
