//! The sheets' shape (pure): headers found by synonym, required columns, row errors.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::text::clean_text;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// The row number as Excel shows it (the header is row 1).
    pub row: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Imported {
        created: usize,
        updated: usize,
        unchanged: usize,
    },
    Rejected {
        errors: Vec<RowError>,
        rows: usize,
    },
}

pub const MEMBER_HEADERS: [&str; 17] = [
    "姓名",
    "身份证号",
    "性别",
    "民族",
    "出生日期",
    "手机号",
    "学历",
    "入党日期",
    "党员类别",
    "转正日期",
    "职务",
    "是否处室负责人",
    "状态",
    "状态变更日期",
    "机关党组织",
    "党支部",
    "党小组",
];
pub(super) const MEMBER_REQUIRED: [&str; 5] =
    ["姓名", "身份证号", "党员类别", "机关党组织", "党支部"];

pub const ORG_HEADERS: [&str; 8] = [
    "机关党组织",
    "类别",
    "组织名称",
    "组织类型",
    "上级组织",
    "成立日期",
    "任期开始",
    "任期届满",
];
pub(super) const ORG_REQUIRED: [&str; 4] = ["机关党组织", "组织名称", "组织类型", "类别"];

/// Real ledgers name columns in several ways; each maps to one canonical header.
pub(super) fn canonical(header: &str) -> Option<&'static str> {
    let h: String = clean_text(header)
        .chars()
        .filter(|c| !matches!(c, '*' | ' ' | '（' | '）' | '(' | ')'))
        .collect();
    let table: &[(&str, &[&str])] = &[
        ("姓名", &["姓名"]),
        (
            "身份证号",
            &["身份证号", "公民身份号码", "身份证号码", "身份证"],
        ),
        ("性别", &["性别"]),
        ("民族", &["民族"]),
        ("出生日期", &["出生日期", "出生年月", "出生年月日"]),
        (
            "手机号",
            &["手机号", "手机", "手机号码", "联系电话", "电话"],
        ),
        ("学历", &["学历", "文化程度"]),
        ("入党日期", &["入党日期", "入党时间"]),
        (
            "党员类别",
            &["党员类别", "人员类别", "党员类型", "正式/预备"],
        ),
        ("转正日期", &["转正日期", "转正时间"]),
        ("职务", &["职务", "职务职级", "职位"]),
        ("是否处室负责人", &["是否处室负责人", "处室负责人"]),
        ("状态", &["状态", "党籍状态"]),
        (
            "状态变更日期",
            &["状态变更日期", "变更日期", "转出日期", "离开日期"],
        ),
        (
            "机关党组织",
            &["机关党组织", "单位", "所在单位", "单位名称"],
        ),
        ("党支部", &["党支部", "所在党支部", "支部"]),
        ("党小组", &["党小组", "所在党小组"]),
        ("类别", &["类别", "单位类别"]),
        ("组织名称", &["组织名称", "党组织名称"]),
        ("组织类型", &["组织类型", "党组织类型"]),
        ("上级组织", &["上级组织", "上级党组织"]),
        ("成立日期", &["成立日期", "成立时间"]),
        ("任期开始", &["任期开始", "本届任期开始", "换届日期"]),
        ("任期届满", &["任期届满", "任期届满日期", "届满日期"]),
    ];
    table
        .iter()
        .find(|(_, names)| names.contains(&h.as_str()))
        .map(|(c, _)| *c)
}

/// Locates the header row (within the first 5 rows) and maps canonical names to columns.
pub(super) fn header_map(
    rows: &[Vec<String>],
    required: &[&str],
) -> Result<(usize, HashMap<&'static str, usize>), String> {
    for (i, row) in rows.iter().take(5).enumerate() {
        let map: HashMap<&'static str, usize> = row
            .iter()
            .enumerate()
            .filter_map(|(c, h)| Some((canonical(h)?, c)))
            .collect();
        if required.iter().all(|r| map.contains_key(r)) {
            return Ok((i, map));
        }
        if map.len() >= 2 {
            let missing: Vec<&str> = required
                .iter()
                .filter(|r| !map.contains_key(*r))
                .copied()
                .collect();
            return Err(format!(
                "表头缺少必填列：{}。请使用下载的模板",
                missing.join("、")
            ));
        }
    }
    Err(format!(
        "找不到表头行（应包含：{}）。请使用下载的模板",
        required.join("、")
    ))
}

pub(super) struct Sheet<'a> {
    pub(super) row: &'a [String],
    pub(super) map: &'a HashMap<&'static str, usize>,
}

impl Sheet<'_> {
    pub(super) fn get(&self, col: &str) -> String {
        self.map
            .get(col)
            .and_then(|c| self.row.get(*c))
            .map(|v| clean_text(v))
            .unwrap_or_default()
    }
    pub(super) fn opt(&self, col: &str) -> Option<String> {
        Some(self.get(col)).filter(|v| !v.is_empty())
    }
}

/// The columns of a row whose cell holds a bidi control, in the sheet's order: such a
/// name would display as another, so the row is refused rather than stored.
pub(super) fn bidi_columns(
    row: &[String],
    map: &HashMap<&'static str, usize>,
) -> Vec<&'static str> {
    let mut found: Vec<(usize, &'static str)> = map
        .iter()
        .filter(|(_, c)| {
            row.get(**c)
                .is_some_and(|v| crate::text::has_bidi_control(v))
        })
        .map(|(name, c)| (*c, *name))
        .collect();
    found.sort();
    found.into_iter().map(|(_, name)| name).collect()
}

/// Which column a field error belongs to.
pub(super) fn column_of(field: &str) -> &'static str {
    match field {
        "name" => "姓名",
        "id_number" => "身份证号",
        "gender" => "性别",
        "ethnicity" => "民族",
        "birth_date" => "出生日期",
        "phone" => "手机号",
        "education" => "学历",
        "joined_on" => "入党日期",
        "kind" => "党员类别",
        "converted_on" => "转正日期",
        "position" => "职务",
        "status" => "状态",
        "status_on" => "状态变更日期",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_headers_by_synonym_and_reports_missing() {
        let rows = vec![
            vec!["党员名册".to_string()],
            vec![
                "姓名*".into(),
                "公民身份号码".into(),
                "人员类别".into(),
                "所在单位".into(),
                "支部".into(),
            ],
        ];
        let (row, map) = header_map(&rows, &MEMBER_REQUIRED).expect("headers");
        assert_eq!(row, 1);
        assert_eq!(map["身份证号"], 1);
        let bad = vec![vec!["姓名".to_string(), "身份证号".into()]];
        let e = header_map(&bad, &MEMBER_REQUIRED).expect_err("missing");
        assert!(e.contains("党员类别"));
    }

    #[test]
    fn cells_with_bidi_controls_are_named_by_column() {
        let map: HashMap<&'static str, usize> = [("姓名", 0), ("党支部", 2), ("身份证号", 1)]
            .into_iter()
            .collect();
        let row = |cells: [&str; 4]| cells.map(String::from).to_vec();
        assert_eq!(
            bidi_columns(
                &row(["\u{202E}三张", "x", "办公室\u{2066}党支部", "\u{202E}"]),
                &map
            ),
            ["姓名", "党支部"],
            "in the sheet's order; an unmapped column is not read"
        );
        assert!(bidi_columns(&row(["张三", "x", "办公室党支部", ""]), &map).is_empty());
        assert!(
            bidi_columns(&["\u{200F}".to_string()], &map) == ["姓名"],
            "a short row"
        );
    }
}
