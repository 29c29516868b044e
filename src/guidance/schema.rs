//! OpenAPI value lists of 分类指导's fixed-choice fields (see `apidoc`).

use utoipa::openapi::schema::Object;

use super::rules::{PlanStatus, ProgressStatus, YearStatus};
use crate::apidoc::one_of;

pub fn year_status() -> Object {
    one_of(YearStatus::keys(), "draft 草稿 | published 已发布")
}

pub fn plan_status() -> Object {
    one_of(PlanStatus::keys(), "draft 草稿 | submitted 已提交")
}

pub fn progress_status() -> Object {
    one_of(
        ProgressStatus::keys(),
        "not_started 未开始 | in_progress 推进中 | done 已完成",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apidoc::values;

    #[test]
    fn the_listed_values_are_the_ones_the_parsers_take() {
        for v in values(year_status()) {
            assert!(YearStatus::parse(&v).is_some(), "{v}");
        }
        for v in values(plan_status()) {
            assert!(PlanStatus::parse(&v).is_some(), "{v}");
        }
        for v in values(progress_status()) {
            assert!(ProgressStatus::parse(&v).is_some(), "{v}");
        }
    }
}
