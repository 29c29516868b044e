//! Chinese text shown to users that is not in a template: the glossary's terms and
//! the messages logic returns. Kept in one place so wording stays consistent.

pub const FORM_HAS_ERRORS: &str = "提交的内容有误，请按提示修改";
pub const LOGIN_FAILED: &str = "用户名或密码错误";
pub const SAVED: &str = "已保存";
/// Text with a NUL character (U+0000), which PostgreSQL cannot store.
pub const NUL_IN_TEXT: &str = "提交的内容含有不可见的空字符（U+0000），请删除后重试";
/// Text with a bidirectional control character (U+202E and the like), which can make a
/// name display reversed or disguised.
pub const BIDI_IN_TEXT: &str =
    "提交的内容含有不可见的文字方向控制字符（如 U+202E），会使名称显示颠倒或被伪装，请删除后重试";
/// The same in a cell of an imported workbook (a row error).
pub const BIDI_IN_CELL: &str =
    "含有不可见的文字方向控制字符（如 U+202E），会使名称显示颠倒或被伪装，请删除后重新导入";
/// A new password found among the common ones, after its decorations are taken off.
pub const PASSWORD_TOO_COMMON: &str = "密码过于常见，容易被猜中，请换一个";
/// `/metrics` asked for from an address not allowed, without the token.
pub const METRICS_REFUSED: &str =
    "指标接口只对配置的地址（YAOSHI_METRICS_ALLOW）或持有令牌（YAOSHI_METRICS_TOKEN）的抓取程序开放";

/// A role's name, by its key (`auth::Role::as_str`).
pub fn role_label(key: &str) -> &'static str {
    match key {
        "committee" => "市直机关工委",
        "unit" => "机关党组织管理员",
        "branch" => "党支部管理员",
        "member" => "党员",
        "community" => "社区",
        "system_admin" => "系统管理员",
        "security_admin" => "安全管理员",
        "audit_admin" => "审计管理员",
        _ => "未知角色",
    }
}

pub fn gender_parse(label: &str) -> Option<&'static str> {
    match label.trim() {
        "男" | "male" | "M" | "m" => Some("男"),
        "女" | "female" | "F" | "f" => Some("女"),
        _ => None,
    }
}

pub const EDUCATIONS: [&str; 8] = [
    "研究生",
    "大学本科",
    "大学专科",
    "中专",
    "高中",
    "初中及以下",
    "博士研究生",
    "硕士研究生",
];

pub const OFFICER_POSTS: [&str; 6] = ["书记", "副书记", "组织委员", "宣传委员", "纪检委员", "委员"];

/// The result of an audited event, as the audit page and its exports show it.
pub fn audit_result_label(result: &str) -> &str {
    match result {
        "ok" => "成功",
        "denied" => "拒绝",
        "failed" => "失败",
        "locked" => "已锁定",
        other => other,
    }
}
