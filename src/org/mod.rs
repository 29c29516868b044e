//! 组织体系: categories and their requirements, units, the org tree, members,
//! communities, and Excel import/export of the registry.

pub mod categories;
pub mod communities;
pub mod establishment;
pub mod home;
pub mod idnumber;
pub mod import;
pub mod indicators;
pub mod members;
pub mod orgs;
pub mod pickers;
pub mod schema;
pub mod units;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

pub use indicators::subject_in_scope;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::jobs::{Step, StepFuture};
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

pub const GROUP: MenuGroup = MenuGroup {
    label: "组织体系",
    order: 10,
};

/// The committee and unit admins: categories, units, 三个百分百.
pub fn may_administer(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit)
}

/// Who reads the org tree and the members in their scope.
pub fn may_read(user: &CurrentUser) -> bool {
    may_administer(user) || user.has(Role::Branch)
}

fn committee(user: &CurrentUser) -> bool {
    user.is_committee()
}

fn member(user: &CurrentUser) -> bool {
    user.has(Role::Member)
}

const NAV: &[NavEntry] = &[
    GROUP.entry(
        10,
        "类别与要求",
        "/org/categories",
        "category",
        may_administer,
    ),
    GROUP.entry(20, "机关党组织", "/org/units", "building", may_administer),
    GROUP.entry(30, "党组织树", "/org/tree", "sitemap", may_read),
    GROUP.entry(40, "党员", "/org/members", "users", may_read),
    GROUP.entry(
        50,
        "三个百分百",
        "/org/establishment",
        "checkbox",
        may_administer,
    ),
    GROUP.entry(
        60,
        "社区",
        "/org/communities",
        "building-community",
        committee,
    ),
    crate::account::GROUP.entry(10, "我的档案", "/me", "user", member),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("category", "类别"),
    ("unit", "机关党组织"),
    ("org", "党组织"),
    ("member", "党员"),
    ("community", "社区"),
    ("org.import", "导入党组织"),
    ("category.create", "新建类别"),
    ("category.update", "修改类别"),
    ("unit.create", "新建机关党组织"),
    ("unit.update", "修改机关党组织"),
    ("unit.category_change", "调整类别"),
    ("org.create", "新建党组织"),
    ("org.update", "修改党组织"),
    ("org.delete", "删除党组织"),
    ("org.officer_set", "调整班子成员"),
    ("org.officer_end", "班子成员职务终止"),
    ("member.create", "新增党员"),
    ("member.update", "修改党员信息"),
    ("member.transfer", "党员转接"),
    ("member.unmask", "查看完整个人信息"),
    ("member.import", "导入党员"),
    ("member.export", "导出党员"),
    ("community.create", "新建社区"),
    ("community.update", "修改社区"),
    ("community.delete", "删除社区"),
    ("community.import", "导入社区"),
    ("org.election", "登记换届选举"),
    ("org.term_extension", "批准延期换届"),
];

/// The daily snapshot of the 三个百分百 rates, for their trend.
fn establishment_snapshot(state: &AppState, now: time::OffsetDateTime) -> StepFuture<'_> {
    Box::pin(async move {
        establishment::snapshot(state, now.date()).await?;
        Ok(0)
    })
}

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    daily: &[Step {
        name: "establishment_snapshot",
        run: establishment_snapshot,
    }],
    home: Some(home::cards),
    indicators: indicators::INDICATORS,
    ..Feature::new("org", pages, api)
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .merge(categories::pages())
        .merge(units::pages())
        .merge(orgs::pages())
        .merge(members::pages())
        .merge(import::pages())
        .merge(communities::pages())
        .merge(establishment::pages())
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(categories::api())
        .merge(units::api())
        .merge(orgs::api())
        .merge(members::api())
        .merge(import::api())
        .merge(communities::api())
        .merge(establishment::api())
}

/// Trims a form field; empty becomes None.
pub fn opt(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| crate::text::clean_text(v))
        .filter(|v| !v.is_empty())
}

/// Parses an optional date field, recording a field error.
pub fn opt_date(
    raw: &Option<String>,
    field: &str,
    errors: &mut crate::error::FieldErrors,
) -> Option<time::Date> {
    let v = opt(raw)?;
    match crate::text::parse_date(&v) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.insert(field.to_string(), e.to_string());
            None
        }
    }
}
