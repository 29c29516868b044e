//! 分类指导: each year's common goal (共性目标) and category requirements (个性要求) as
//! items the committee drafts and publishes (a published year is frozen); every unit's
//! annual party-building plan (年度党建工作计划) of tasks linked to those items, with
//! quarterly progress; the committee's comments; and the views across units that show which
//! requirements each unit's plan leaves uncovered.

pub mod api;
pub mod demo;
pub mod indicators;
pub mod pages;
pub mod plans;
pub mod rules;
pub mod schema;
pub mod store;
pub mod views;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

/// May read a year's published items: the committee (drafts too) and unit admins (the
/// common goal and their own category's requirements).
pub fn may_read_items(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit)
}

/// May draft, edit, publish and delete a year's items: the committee only.
pub fn may_edit_items(user: &CurrentUser) -> bool {
    user.is_committee()
}

/// May read plans: the committee (all), unit admins (their units'), branch admins (their
/// unit's).
pub fn may_read_plans(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit) || user.has(Role::Branch)
}

/// May write plans, tasks and progress: unit admins, for their own units.
pub fn may_write_plans(user: &CurrentUser) -> bool {
    user.has(Role::Unit)
}

/// May comment on plans, tasks and progress: the committee.
pub fn may_comment(user: &CurrentUser) -> bool {
    user.is_committee()
}

/// May see the views across units (every unit's tasks and gaps in a category): the
/// committee only, since nobody else sees another unit's plan.
pub fn may_view_categories(user: &CurrentUser) -> bool {
    user.is_committee()
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "分类指导",
    order: 22,
};

const NAV: &[NavEntry] = &[
    GROUP.entry(
        10,
        "共性目标与个性要求",
        "/guidance/years",
        "flag",
        may_read_items,
    ),
    GROUP.entry(
        20,
        "年度计划与进展",
        "/guidance/plans",
        "clipboard-check",
        may_read_plans,
    ),
    GROUP.entry(
        30,
        "类别落实情况",
        "/guidance/categories",
        "chart-bar",
        may_view_categories,
    ),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("guidance_year", "年度目标要求"),
    ("guidance_plan", "党建工作计划"),
    ("guidance_task", "计划任务"),
    ("guidance_year.create", "新建年度目标要求草稿"),
    ("guidance_year.update", "修改年度目标要求草稿"),
    ("guidance_year.publish", "发布年度目标要求"),
    ("guidance_year.delete", "删除年度目标要求草稿"),
    ("guidance_plan.create", "新建党建工作计划"),
    ("guidance_plan.submit", "提交党建工作计划"),
    ("guidance_task.create", "新增计划任务"),
    ("guidance_task.update", "修改计划任务"),
    ("guidance_task.delete", "删除计划任务"),
    ("guidance_progress.save", "填报季度进展"),
    ("guidance_comment.create", "提出指导意见"),
];

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    indicators: indicators::INDICATORS,
    ..Feature::new("guidance", pages, api)
};

pub fn pages() -> Router<AppState> {
    pages::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    api::api()
}
