//! OpenAPI value lists of 组织生活's fixed-choice fields (see `apidoc`).

use utoipa::openapi::schema::Object;

use super::rules::{MeetingKind, Period, Quorum};
use crate::apidoc::one_of;

pub fn meeting_kind() -> Object {
    one_of(MeetingKind::ALL.iter().map(|k| k.as_str()), "会议类型")
}

pub fn attendance_state() -> Object {
    one_of(
        super::store::ATTENDANCE_STATES.iter().map(|(k, _)| *k),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apidoc::values;

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
        assert_eq!(values(attendance_state()), ["present", "leave", "absent"]);
    }
}
