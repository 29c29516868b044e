//! 分级定档: the branch grading standard (六化22条) as versioned data — its dimensions,
//! criteria, tier thresholds and vetoes, edited by the committee as a draft and frozen once
//! published; the rules that place a score in a tier and find the road to the next one.

pub mod api;
pub mod assess;
pub mod board;
pub mod default;
pub mod demo;
pub mod home;
pub mod pages;
pub mod rules;
pub mod schema;
pub mod scoring;
pub mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{CurrentUser, Role};
use crate::feature::Feature;
use crate::state::AppState;
use crate::web::{MenuGroup, NavEntry};

/// May read the published standard: everyone who grades or is graded (committee, unit and
/// branch admins).
pub fn may_read(user: &CurrentUser) -> bool {
    user.is_committee() || user.has(Role::Unit) || user.has(Role::Branch)
}

/// May draft, edit, publish and delete versions of the standard: the committee only.
pub fn may_edit(user: &CurrentUser) -> bool {
    user.is_committee()
}

pub const GROUP: MenuGroup = MenuGroup {
    label: "分级定档",
    order: 25,
};

const NAV: &[NavEntry] = &[
    GROUP.entry(10, "分档管理", "/grading/assessments", "flag", may_read),
    GROUP.entry(20, "类别分析", "/grading/categories", "chart-bar", may_read),
    GROUP.entry(
        30,
        "评分标准",
        "/grading/standards",
        "list-details",
        may_read,
    ),
];

const AUDIT_LABELS: &[(&str, &str)] = &[
    ("grading_standard", "评分标准"),
    ("grading_standard.seed", "预置默认评分标准"),
    ("grading_standard.create", "新建评分标准草稿"),
    ("grading_standard.update", "修改评分标准草稿"),
    ("grading_standard.publish", "发布评分标准"),
    ("grading_standard.delete", "删除评分标准草稿"),
    ("assessment", "支部考核"),
    ("assessment.open", "开启年度考核"),
    ("assessment.save", "保存对标自查"),
    ("assessment.submit", "提交对标自查"),
    ("assessment.adjust", "单位审核调整得分"),
    ("assessment.forward", "单位审核报送"),
    ("assessment.return", "退回考核"),
    ("assessment.accept", "考核验收定档"),
    ("assessment.accept_category", "按类别批量考核验收"),
    ("assessment.veto", "标记否决项"),
    ("assessment.veto_clear", "撤销否决项"),
    ("assessment.rectify", "制定整改事项"),
    ("assessment.rectified", "完成整改事项"),
    ("assessment.apply", "申请晋档"),
    ("assessment.decide", "复核晋档申请"),
];

pub const FEATURE: Feature = Feature {
    nav: NAV,
    audit_labels: AUDIT_LABELS,
    home: Some(home::cards),
    ..Feature::new("grading", pages, api)
};

pub fn pages() -> Router<AppState> {
    pages::pages()
}

pub fn api() -> OpenApiRouter<AppState> {
    api::api()
}
