//! OpenAPI value lists of 组织体系's fixed-choice fields (see `apidoc`).

use utoipa::openapi::schema::Object;

use crate::apidoc::one_of;

pub fn org_kind() -> Object {
    one_of(
        super::orgs::OrgKind::keys(),
        "committee_org 机关党委 | general_branch 党总支 | branch 党支部 | group 党小组",
    )
}

pub fn member_kind() -> Object {
    one_of(
        super::members::MemberKind::keys(),
        "full 正式党员 | probationary 预备党员（也接受“正式”“预备”）",
    )
}

pub fn member_status() -> Object {
    one_of(
        super::members::MemberStatus::keys(),
        "党员状态，空则为 active",
    )
}

pub fn gender() -> Object {
    one_of(["男", "女", ""], "空则按身份证号推定")
}

pub fn officer_post() -> Object {
    one_of(crate::messages::OFFICER_POSTS, "支部委员会职务")
}
