//! OpenAPI value lists of the grading standard's fixed-choice fields (see `apidoc`).

use utoipa::openapi::schema::Object;

use super::rules::{Method, StandardStatus, Tier, VetoKind};
use crate::apidoc::one_of;

pub fn status() -> Object {
    one_of(StandardStatus::keys(), "draft 草稿 | published 已发布")
}

pub fn method() -> Object {
    one_of(Method::keys(), "manual 人工评分 | auto 自动计算")
}

pub fn tier() -> Object {
    one_of(
        Tier::keys(),
        "first 一档 | second 二档 | third 三档 | fourth 四档",
    )
}

pub fn stage() -> Object {
    one_of(
        super::scoring::Stage::keys(),
        "self_check 对标自查 | unit_review 单位审核 | committee_review 考核验收 | accepted 已定档",
    )
}

pub fn veto_kind() -> Object {
    one_of(VetoKind::keys(), "hard 定为四档 | soft 最高二档")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apidoc::values;

    #[test]
    fn the_listed_values_are_the_ones_the_parsers_take() {
        for v in values(status()) {
            assert!(StandardStatus::parse(&v).is_some(), "{v}");
        }
        for v in values(method()) {
            assert!(Method::parse(&v).is_some(), "{v}");
        }
        for v in values(tier()) {
            assert!(Tier::parse(&v).is_some(), "{v}");
        }
        for v in values(veto_kind()) {
            assert!(VetoKind::parse(&v).is_some(), "{v}");
        }
    }
}
