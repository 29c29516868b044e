//! A member's input and its validation (pure): names, ID numbers, dates, kinds, statuses.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::org::idnumber::{mask_id_number, mask_phone, IdNumber};
use crate::text::{clean_text, format_date, name_initials, normalize_phone, parse_date};

crate::choice! {
    /// 党员类别.
    pub enum MemberKind {
        Full = "full", "正式党员", ["正式"];
        Probationary = "probationary", "预备党员", ["预备"];
    }
}

crate::choice! {
    /// A member's standing in the register (在册 unless transferred out, deceased or left).
    pub enum MemberStatus {
        Active = "active", "在册", [];
        TransferredOut = "transferred_out", "已转出", [];
        Deceased = "deceased", "已去世", [];
        Left = "left", "已出党", [];
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone, Default)]
pub struct MemberInput {
    pub name: String,
    /// 男 | 女; derived from the ID number when empty.
    #[serde(default)]
    #[schema(schema_with = crate::org::schema::gender)]
    pub gender: String,
    #[serde(default)]
    pub ethnicity: String,
    /// Derived from the ID number when empty.
    #[serde(default)]
    #[schema(format = Date)]
    pub birth_date: Option<String>,
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub education: String,
    #[schema(format = Date)]
    pub joined_on: Option<String>,
    /// full | probationary (正式/预备 accepted)
    #[schema(schema_with = crate::org::schema::member_kind)]
    pub kind: String,
    #[serde(default)]
    #[schema(format = Date)]
    pub converted_on: Option<String>,
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub is_division_head: bool,
    /// active | transferred_out | deceased | left (defaults to active)
    #[serde(default)]
    #[schema(schema_with = crate::org::schema::member_status)]
    pub status: String,
    /// The day the status took effect (转出、去世、出党的日期); required unless active.
    #[serde(default)]
    #[schema(format = Date)]
    pub status_on: Option<String>,
    /// A branch, or the unit's 党委/党总支 for a member awaiting a branch (待编入).
    pub branch_id: i64,
    #[serde(default)]
    pub group_id: Option<i64>,
}

/// A member record that passed every check that needs no database.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidMember {
    pub name: String,
    pub name_initials: String,
    pub gender: String,
    pub ethnicity: String,
    pub birth_date: Date,
    pub id_number: IdNumber,
    pub phone: String,
    pub education: String,
    pub joined_on: Option<Date>,
    pub kind: MemberKind,
    pub converted_on: Option<Date>,
    pub position: String,
    pub is_division_head: bool,
    pub status: MemberStatus,
    /// When the status took effect; `None` exactly when active.
    pub status_on: Option<Date>,
}

impl ValidMember {
    /// The record as the audit log keeps it: ID number and phone masked.
    pub fn masked_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "name_initials": self.name_initials,
            "gender": self.gender,
            "ethnicity": self.ethnicity,
            "birth_date": format_date(self.birth_date),
            "id_number": mask_id_number(self.id_number.as_str()),
            "id_suffix": self.id_number.suffix(),
            "phone": mask_phone(&self.phone),
            "education": self.education,
            "joined_on": self.joined_on.map(format_date),
            "kind": self.kind,
            "converted_on": self.converted_on.map(format_date),
            "position": self.position,
            "is_division_head": self.is_division_head,
            "status": self.status,
            "status_on": self.status_on.map(format_date),
        })
    }
}

/// Pure: validates and normalises a member's fields against `today`.
pub fn validate(input: &MemberInput, today: time::Date) -> Result<ValidMember, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = clean_text(&input.name);
    if name.is_empty() {
        e.insert("name".into(), "请填写姓名".into());
    } else if name.chars().count() > 30 {
        e.insert("name".into(), "姓名不超过30字".into());
    }
    let id = match IdNumber::parse(&input.id_number) {
        Ok(id) => Some(id),
        Err(err) => {
            e.insert("id_number".into(), err.to_string());
            None
        }
    };
    let gender = match clean_text(&input.gender).as_str() {
        "" => id
            .as_ref()
            .map(|i| i.gender().label().to_string())
            .unwrap_or_default(),
        g => match crate::messages::gender_parse(g) {
            Some(g) => g.to_string(),
            None => {
                e.insert("gender".into(), "性别应为“男”或“女”".into());
                String::new()
            }
        },
    };
    if let Some(id) = &id {
        if !gender.is_empty() && gender != id.gender().label() {
            e.insert("gender".into(), "性别与身份证号不符".into());
        }
    }
    let birth = match input
        .birth_date
        .as_deref()
        .map(clean_text)
        .filter(|s| !s.is_empty())
    {
        Some(s) => match parse_date(&s) {
            Ok(d) => {
                if let Some(id) = &id {
                    if id.birth_date() != d {
                        e.insert("birth_date".into(), "出生日期与身份证号不符".into());
                    }
                }
                Some(d)
            }
            Err(err) => {
                e.insert("birth_date".into(), err.to_string());
                None
            }
        },
        None => id.as_ref().map(IdNumber::birth_date),
    };
    let date_field =
        |raw: &Option<String>, field: &str, e: &mut FieldErrors| -> Option<time::Date> {
            let s = raw.as_deref().map(clean_text).filter(|s| !s.is_empty())?;
            match parse_date(&s) {
                Ok(d) if d > today => {
                    e.insert(field.into(), "日期不能晚于今天".into());
                    None
                }
                Ok(d) => Some(d),
                Err(err) => {
                    e.insert(field.into(), err.to_string());
                    None
                }
            }
        };
    let joined = date_field(&input.joined_on, "joined_on", &mut e);
    let converted = date_field(&input.converted_on, "converted_on", &mut e);
    if let (Some(b), Some(j)) = (birth, joined) {
        let adult = b
            .replace_year(b.year() + 18)
            .unwrap_or_else(|_| b.saturating_add(time::Duration::days(18 * 365 + 5)));
        if j < adult {
            e.insert(
                "joined_on".into(),
                "入党时应年满18周岁，请核对入党日期".into(),
            );
        }
    }
    let kind = MemberKind::parse(&input.kind);
    if kind.is_none() {
        e.insert("kind".into(), "党员类别应为“正式党员”或“预备党员”".into());
    }
    if kind == Some(MemberKind::Probationary) && converted.is_some() {
        e.insert(
            "converted_on".into(),
            "预备党员没有转正日期；已转正的请选择“正式党员”".into(),
        );
    }
    if let (Some(j), Some(c)) = (joined, converted) {
        if c <= j {
            e.insert("converted_on".into(), "转正日期应晚于入党日期".into());
        }
    }
    let phone = match normalize_phone(&input.phone) {
        Ok(p) => p,
        Err(m) => {
            e.insert("phone".into(), m);
            String::new()
        }
    };
    let status = match input.status.trim() {
        "" => Some(MemberStatus::Active),
        s => MemberStatus::parse(s),
    };
    if status.is_none() {
        e.insert(
            "status".into(),
            "状态应为在册、已转出、已去世或已出党".into(),
        );
    }
    let status_on = date_field(&input.status_on, "status_on", &mut e);
    let status_on = match status {
        Some(MemberStatus::Active) | None => None,
        Some(s) => {
            match status_on {
                None if !e.contains_key("status_on") => {
                    e.insert(
                        "status_on".into(),
                        format!("请填写{}的日期（状态变更日期）", s.label()),
                    );
                }
                Some(on) if joined.is_some_and(|j| on < j) => {
                    e.insert("status_on".into(), "状态变更日期不能早于入党日期".into());
                }
                _ => {}
            }
            status_on
        }
    };
    let ethnicity = match clean_text(&input.ethnicity) {
        s if s.is_empty() => "汉族".to_string(),
        s if s.chars().count() > 10 => {
            e.insert("ethnicity".into(), "民族不超过10字".into());
            s
        }
        s if !s.ends_with('族') => format!("{s}族"),
        s => s,
    };
    let education = clean_text(&input.education);
    if education.chars().count() > 20 {
        e.insert("education".into(), "学历不超过20字".into());
    }
    let position = clean_text(&input.position);
    if position.chars().count() > 40 {
        e.insert("position".into(), "职务不超过40字".into());
    }
    let (Some(id_number), Some(birth_date), Some(kind), Some(status)) = (id, birth, kind, status)
    else {
        return Err(e);
    };
    if !e.is_empty() {
        return Err(e);
    }
    Ok(ValidMember {
        name_initials: name_initials(&name),
        name,
        gender,
        ethnicity,
        birth_date,
        id_number,
        phone,
        education,
        joined_on: joined,
        kind,
        converted_on: converted,
        position,
        is_division_head: input.is_division_head,
        status,
        status_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> MemberInput {
        MemberInput {
            name: " 张 三 ".into(),
            id_number: "11010519491231002x".into(),
            joined_on: Some("1975年7月1日".into()),
            kind: "正式".into(),
            converted_on: Some("1976-07-01".into()),
            branch_id: 1,
            ..Default::default()
        }
    }

    #[test]
    fn every_value_the_api_document_lists_validates() {
        use crate::apidoc::values;
        use crate::org::schema;
        let today = date!(2026 - 11 - 26);
        for kind in values(schema::member_kind()) {
            let mut i = input();
            if kind == "probationary" {
                i.joined_on = Some("2026-01-01".into());
                i.converted_on = None;
            }
            i.kind = kind.clone();
            assert_eq!(validate(&i, today).expect("valid").kind.as_str(), kind);
        }
        for status in values(schema::member_status()) {
            let mut i = input();
            i.status = status.clone();
            i.status_on = Some("2026-03-01".into());
            assert_eq!(validate(&i, today).expect("valid").status.as_str(), status);
        }
        for gender in values(schema::gender()) {
            let mut i = input();
            i.gender = gender;
            // The ID number is a woman's: "女" or empty (derived) are both valid.
            if i.gender != "男" {
                assert_eq!(validate(&i, today).expect("valid").gender, "女");
            }
        }
    }

    #[test]
    fn a_status_change_carries_its_date() {
        let today = date!(2026 - 11 - 26);
        let mut i = input();
        i.status = "transferred_out".into();
        assert_eq!(
            validate(&i, today).expect_err("no date")["status_on"],
            "请填写已转出的日期（状态变更日期）"
        );
        i.status_on = Some("2026-11-27".into());
        assert_eq!(
            validate(&i, today).expect_err("future")["status_on"],
            "日期不能晚于今天"
        );
        i.status_on = Some("1975-06-30".into());
        assert!(validate(&i, today)
            .expect_err("before joining")
            .contains_key("status_on"));
        // On the day of joining and today are both accepted.
        for on in ["1975-07-01", "2026-11-26"] {
            i.status_on = Some(on.into());
            assert_eq!(
                validate(&i, today)
                    .expect("valid")
                    .status_on
                    .map(format_date),
                Some(on.to_string())
            );
        }
        // An active member has no status date, whatever was sent.
        i.status = "active".into();
        assert_eq!(validate(&i, today).expect("valid").status_on, None);
    }

    #[test]
    fn derives_gender_and_birth_from_id() {
        let v = validate(&input(), date!(2026 - 11 - 26)).expect("valid");
        assert_eq!(v.gender, "女");
        assert_eq!(v.birth_date, date!(1949 - 12 - 31));
        assert_eq!(v.id_number.as_str(), "11010519491231002X");
        assert_eq!(v.id_number.suffix(), "002X");
        assert_eq!(v.kind, MemberKind::Full);
        assert_eq!(v.status, MemberStatus::Active);
        assert_eq!(v.ethnicity, "汉族");
        assert_eq!(v.name, "张 三");
    }

    #[test]
    fn rejects_inconsistent_records() {
        let today = date!(2026 - 11 - 26);
        let mut i = input();
        i.gender = "男".into();
        i.joined_on = Some("1960-01-01".into());
        i.kind = "预备".into();
        i.phone = "12345".into();
        let e = validate(&i, today).expect_err("invalid");
        assert!(e.contains_key("gender"));
        assert!(e.contains_key("joined_on"));
        assert!(e.contains_key("converted_on"));
        assert!(e.contains_key("phone"));
        let mut i = input();
        i.joined_on = Some("2030-01-01".into());
        i.converted_on = None;
        assert!(validate(&i, today)
            .expect_err("future")
            .contains_key("joined_on"));
        let mut i = input();
        i.id_number = "110105194912310021".into();
        assert_eq!(
            validate(&i, today).expect_err("checksum")["id_number"],
            "身份证号校验位不正确"
        );
    }
}
