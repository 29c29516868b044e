//! The member list's filter, checked: an unknown sort, kind or status, or a record number
//! that is not one, is refused with its field named (pages, API and exports alike).

use super::{MemberFilter, MemberKind, MemberStatus};
use crate::error::{AppResult, FieldErrors};
use crate::web::{check_choice, check_id, filter_checked};

/// The member list's orders: `(key, label)`.
pub const SORTS: &[(&str, &str)] = &[
    ("branch", "按支部"),
    ("name", "按姓名"),
    ("joined_on", "按党龄"),
    ("birth_date", "按年龄"),
];

impl MemberFilter {
    pub fn check(&self) -> AppResult<()> {
        let mut errors = FieldErrors::new();
        check_choice(&mut errors, "sort", "排序方式", self.sort.as_deref(), SORTS);
        check_choice(
            &mut errors,
            "kind",
            "党员类别",
            self.kind.as_deref(),
            &MemberKind::options(),
        );
        let mut statuses = MemberStatus::options();
        statuses.push(("all", "全部"));
        check_choice(
            &mut errors,
            "status",
            "状态",
            self.status.as_deref(),
            &statuses,
        );
        check_choice(
            &mut errors,
            "division_head",
            "处室负责人筛选",
            self.division_head.as_deref(),
            &[("1", "只看处室负责人")],
        );
        check_id(
            &mut errors,
            "unit_id",
            "机关党组织",
            self.unit_id.as_deref(),
        );
        check_id(&mut errors, "org_id", "党组织", self.org_id.as_deref());
        check_id(&mut errors, "group_id", "党小组", self.group_id.as_deref());
        filter_checked(errors)
    }
}
