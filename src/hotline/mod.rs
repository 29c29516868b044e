//! 12345便民热线 (the citizen hotline): the hotline centre's work orders imported from its
//! exports (xlsx or csv, columns mapped per source and the mapping saved), each assigned to a
//! unit; the on-time completion rate (按时办结率) and the callback satisfaction rate (回访满意率)
//! per unit, category and city over any period, with the resolution rate and the reopened
//! orders beside them — completion counted as closure and satisfaction far below
//! self-assessment are the known criticisms of these rates, so both sides are shown — the
//! monthly trend, the units at the bottom, and every figure opened down to its orders.
//! The figures read monthly aggregates kept on import; the indicators feed the category
//! competition's 服务优.

pub mod api;
pub mod demo;
pub mod indicators;
pub mod pages;
pub mod rules;
pub mod store;
pub mod views;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

/// Reads rates and orders: the committee (the city), unit admins (their own units' orders
/// and rates, their category's distribution without other units' names).
pub fn may_read(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit)
}

/// Imports work orders and keeps sources and unit aliases: the committee.
pub fn may_import(user: &CurrentUser) -> bool {
    user.is_committee()
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "作风与监督",
    order: 48,
};

const NAV: &[NavEntry] = &[
    GROUP.entry(10, "12345热线", "/hotline", "chart-bar", may_read),
    GROUP.entry(20, "热线工单", "/hotline/orders", "list-details", may_read),
    GROUP.entry(30, "工单导入", "/hotline/import", "upload", may_import),
    GROUP.entry(
        40,
        "承办单位别名",
        "/hotline/aliases",
        "building-community",
        may_import,
    ),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("hotline_import", "热线工单导入"),
    ("hotline_alias", "热线单位别名"),
    ("hotline_import.create", "导入热线工单"),
    ("hotline_alias.create", "添加热线单位别名"),
    ("hotline_alias.delete", "删除热线单位别名"),
];

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    indicators: indicators::INDICATORS,
    ..Feature::new("hotline", pages, api)
};

pub fn pages() -> Router<AppState> {
    pages::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    api::api()
}
