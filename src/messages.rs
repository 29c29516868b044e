//! Chinese text shown to users that is not in a template: the glossary's terms and
//! the messages logic returns. Kept in one place so wording stays consistent.

use crate::auth::Role;

pub const FORM_HAS_ERRORS: &str = "提交的内容有误，请按提示修改";
pub const LOGIN_FAILED: &str = "用户名或密码错误";
pub const SAVED: &str = "已保存";
/// Text with a NUL character (U+0000), which PostgreSQL cannot store.
pub const NUL_IN_TEXT: &str = "提交的内容含有不可见的空字符（U+0000），请删除后重试";

pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::Committee => "市直机关工委",
        Role::Unit => "机关党组织管理员",
        Role::Branch => "党支部管理员",
        Role::Member => "党员",
        Role::Community => "社区",
        Role::SystemAdmin => "系统管理员",
        Role::SecurityAdmin => "安全管理员",
        Role::AuditAdmin => "审计管理员",
    }
}

/// 党委 / 党总支 / 党支部 / 党小组.
pub fn org_kind_label(kind: &str) -> &'static str {
    match kind {
        "committee_org" => "党委",
        "general_branch" => "党总支",
        "branch" => "党支部",
        "group" => "党小组",
        _ => "未知",
    }
}

pub fn org_kind_parse(label: &str) -> Option<&'static str> {
    match label.trim() {
        "党委" | "基层党委" | "committee_org" => Some("committee_org"),
        "党总支" | "总支" | "general_branch" => Some("general_branch"),
        "党支部" | "支部" | "联合党支部" | "branch" => Some("branch"),
        "党小组" | "小组" | "group" => Some("group"),
        _ => None,
    }
}

pub fn member_kind_label(kind: &str) -> &'static str {
    match kind {
        "full" => "正式党员",
        "probationary" => "预备党员",
        _ => "未知",
    }
}

pub fn member_kind_parse(label: &str) -> Option<&'static str> {
    match label.trim() {
        "正式" | "正式党员" | "full" => Some("full"),
        "预备" | "预备党员" | "probationary" => Some("probationary"),
        _ => None,
    }
}

pub const MEMBER_STATUSES: [(&str, &str); 4] = [
    ("active", "在册"),
    ("transferred_out", "已转出"),
    ("deceased", "已去世"),
    ("left", "已出党"),
];

pub fn member_status_label(s: &str) -> &'static str {
    MEMBER_STATUSES
        .iter()
        .find(|(k, _)| *k == s)
        .map_or("未知", |(_, v)| v)
}

pub fn member_status_parse(label: &str) -> Option<&'static str> {
    let l = label.trim();
    if l.is_empty() {
        return Some("active");
    }
    MEMBER_STATUSES
        .iter()
        .find(|(k, v)| *k == l || *v == l)
        .map(|(k, _)| *k)
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

/// Labels of audit actions, for the audit browser.
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

pub fn audit_action_label(action: &str) -> &str {
    match action {
        "login" => "登录",
        "user" => "用户与角色",
        "token" => "API令牌",
        "category" => "类别",
        "unit" => "机关党组织",
        "org" => "党组织",
        "member" => "党员",
        "community" => "社区",
        "org.import" => "导入党组织",
        "demo.generate" => "生成演示数据",
        "login.failed" => "登录失败",
        "logout" => "退出登录",
        "user.create" => "新建用户",
        "user.password_change" => "修改密码",
        "user.password_reset" => "重置密码",
        "user.grant" => "授予角色",
        "user.revoke" => "撤销角色",
        "user.disable" => "停用用户",
        "user.enable" => "启用用户",
        "token.create" => "创建API令牌",
        "token.revoke" => "吊销API令牌",
        "category.create" => "新建类别",
        "category.update" => "修改类别",
        "unit.create" => "新建机关党组织",
        "unit.update" => "修改机关党组织",
        "unit.category_change" => "调整类别",
        "org.create" => "新建党组织",
        "org.update" => "修改党组织",
        "org.delete" => "删除党组织",
        "org.officer_set" => "调整班子成员",
        "member.create" => "新增党员",
        "member.update" => "修改党员信息",
        "member.transfer" => "党员转接",
        "member.unmask" => "查看完整个人信息",
        "member.import" => "导入党员",
        "member.export" => "导出党员",
        "member.encrypt" => "加密个人信息",
        "community.create" => "新建社区",
        "system.bootstrap" => "系统初始化",
        "audit" => "审计",
        "audit.export" => "导出审计日志",
        "audit.archive" => "审计日志归档",
        "meeting" => "组织生活",
        "meeting.create" => "登记组织生活",
        "meeting.delete" => "删除组织生活记录",
        "meeting.attach" => "上传会议附件",
        "meeting.detach" => "删除会议附件",
        "meeting_rule.set" => "设置组织生活频次",
        "org.election" => "登记换届选举",
        "org.term_extension" => "批准延期换届",
        "user.email" => "修改邮箱",
        "backup" => "备份",
        "backup.create" => "备份",
        "backup.restore" => "恢复备份",
        "backup.prune" => "删除过期备份",
        "security" => "安全策略",
        "security.policy" => "修改安全策略",
        "user.lock" => "账号锁定",
        "user.unlock" => "解除锁定",
        "user.rename" => "重命名用户",
        "session" => "会话",
        "session.evicted" => "新登录结束旧会话",
        "session.end" => "强制结束会话",
        "totp.enable" => "启用双因素认证",
        "totp.disable" => "关闭双因素认证",
        "totp.recovery_used" => "使用恢复码登录",
        "totp.recovery_renew" => "重新生成恢复码",
        "totp.reset" => "重置双因素认证",
        "totp.encrypt" => "加密双因素认证密钥",
        other => other,
    }
}
