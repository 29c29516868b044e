//! OpenAPI schemas for text fields that take one of a fixed set of values, built from the
//! same lists the validation uses, so the API document says what is expected and cannot
//! drift from it (and the API fuzzing in CI reaches past the validation into the handlers).
//! Fields of dates carry `#[schema(format = Date)]` where they are declared.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::auth::Role;
use crate::orglife::rules::{MeetingKind, Period, Quorum};

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

pub fn org_kind() -> Object {
    one_of(
        crate::org::orgs::KINDS,
        "committee_org 机关党委 | general_branch 党总支 | branch 党支部 | group 党小组",
    )
}

pub fn member_kind() -> Object {
    one_of(
        ["full", "probationary"],
        "full 正式党员 | probationary 预备党员（也接受“正式”“预备”）",
    )
}

pub fn member_status() -> Object {
    one_of(
        crate::messages::MEMBER_STATUSES.iter().map(|(k, _)| *k),
        "党员状态，空则为 active",
    )
}

pub fn gender() -> Object {
    one_of(["男", "女", ""], "空则按身份证号推定")
}

pub fn meeting_kind() -> Object {
    one_of(MeetingKind::ALL.iter().map(|k| k.as_str()), "会议类型")
}

pub fn attendance_state() -> Object {
    one_of(
        crate::orglife::store::ATTENDANCE_STATES
            .iter()
            .map(|(k, _)| *k),
        "present 出席 | leave 请假 | absent 缺席",
    )
}

pub fn period() -> Object {
    one_of(
        Period::ALL.iter().map(|p| p.as_str()),
        "month | quarter | year",
    )
}

pub fn quorum() -> Object {
    one_of(
        Quorum::ALL.iter().map(|q| q.as_str()),
        "none | half_of_full_members | half_of_committee",
    )
}

pub fn officer_post() -> Object {
    one_of(crate::messages::OFFICER_POSTS, "支部委员会职务")
}

pub fn role() -> Object {
    one_of(Role::ALL.iter().map(|r| r.as_str()), "角色")
}

/// The values a schema lists (for tests that hold each list to its parser).
#[cfg(test)]
pub(crate) fn values(o: Object) -> Vec<String> {
    o.enum_values
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listed_values_are_the_ones_the_parsers_take() {
        for v in values(meeting_kind()) {
            assert!(MeetingKind::parse(&v).is_some(), "{v}");
        }
        for v in values(period()) {
            assert!(Period::parse(&v).is_some(), "{v}");
        }
        for v in values(quorum()) {
            assert!(Quorum::parse(&v).is_some(), "{v}");
        }
        for v in values(role()) {
            assert!(Role::parse(&v).is_some(), "{v}");
        }
        assert_eq!(values(role()).len(), Role::ALL.len());
        assert_eq!(values(attendance_state()), ["present", "leave", "absent"]);
    }
}
