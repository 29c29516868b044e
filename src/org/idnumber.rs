//! PRC resident identity card numbers (GB 11643-1999), plus masking helpers
//! for showing ID and phone numbers on screen.

use std::fmt;

use time::macros::date;
use time::{Date, Month};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";
const EARLIEST_BIRTH: Date = date!(1900 - 01 - 01);

/// A validated 18-character resident ID number, stored upper-case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdNumberError {
    Empty,
    Length(usize),
    Characters,
    Region,
    BirthDate,
    Checksum,
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("请填写身份证号"),
            Self::Length(n) => write!(f, "身份证号应为18位，实际为{n}位"),
            Self::Characters => f.write_str("身份证号只能包含数字，最后一位可以是X"),
            Self::Region => f.write_str("身份证号的地区码无效"),
            Self::BirthDate => f.write_str("身份证号中的出生日期无效"),
            Self::Checksum => f.write_str("身份证号校验位不正确"),
        }
    }
}

impl std::error::Error for IdNumberError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Male => "男",
            Self::Female => "女",
        }
    }
}

impl IdNumber {
    pub fn parse(raw: &str) -> Result<IdNumber, IdNumberError> {
        // ID numbers are issued in China, so "today" is Beijing time, not UTC.
        Self::parse_at(raw, crate::clock::today())
    }

    /// `parse` with an explicit "today", so tests do not depend on the clock.
    fn parse_at(raw: &str, today: Date) -> Result<IdNumber, IdNumberError> {
        let s = normalize(raw);
        if s.is_empty() {
            return Err(IdNumberError::Empty);
        }
        let len = s.chars().count();
        if len != 18 {
            return Err(IdNumberError::Length(len));
        }
        let bytes = s.as_bytes();
        // 18 chars but not 18 bytes means non-ASCII, which is caught here too.
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdNumberError::Characters);
        }
        if !valid_region(bytes) {
            return Err(IdNumberError::Region);
        }
        match birth_date_of(bytes) {
            Some(d) if d >= EARLIEST_BIRTH && d <= today => {}
            _ => return Err(IdNumberError::BirthDate),
        }
        if check_char(bytes) != bytes[17] {
            return Err(IdNumberError::Checksum);
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Date {
        // `parse` already proved the date valid; the fallback is unreachable.
        birth_date_of(self.0.as_bytes()).unwrap_or(EARLIEST_BIRTH)
    }

    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// Last 4 characters, as commonly used to confirm identity over the phone.
    pub fn suffix(&self) -> &str {
        &self.0[14..]
    }
}

// Masked so a stray `{:?}` in a log line never leaks a full ID number.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber")
            .field(&mask_id_number(&self.0))
            .finish()
    }
}

/// Ledgers and phone keyboards produce full-width digits, lower-case x and
/// stray (often ideographic) spaces; none of them change the number.
fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            'x' | 'Ｘ' | 'ｘ' => 'X',
            other => other,
        })
        .collect()
}

fn valid_region(bytes: &[u8]) -> bool {
    let code = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
    matches!(
        code,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82 | 83 | 91
    )
}

fn digits_value(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

/// Expects at least 14 leading ASCII digits.
fn birth_date_of(bytes: &[u8]) -> Option<Date> {
    let year = i32::try_from(digits_value(&bytes[6..10])).ok()?;
    let month = Month::try_from(u8::try_from(digits_value(&bytes[10..12])).ok()?).ok()?;
    let day = u8::try_from(digits_value(&bytes[12..14])).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// ISO 7064 MOD 11-2 check character over the first 17 ASCII digits.
fn check_char(bytes: &[u8]) -> u8 {
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Keeps the first and last 4 characters; short input is masked entirely so
/// nothing meaningful leaks.
pub fn mask_id_number(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= 8 {
        return "*".repeat(n);
    }
    let mut out: String = chars[..4].iter().collect();
    out.push_str(&"*".repeat(n - 8));
    out.extend(&chars[n - 4..]);
    out
}

/// `138****5678` for mobiles; otherwise only the last 4 characters stay
/// visible (and nothing when there are no more than 4).
pub fn mask_phone(s: &str) -> String {
    let s = s.trim();
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n == 11 && chars.iter().all(char::is_ascii_digit) {
        let mut out: String = chars[..3].iter().collect();
        out.push_str("****");
        out.extend(&chars[7..]);
        return out;
    }
    if n <= 4 {
        return "*".repeat(n);
    }
    let mut out = "*".repeat(n - 4);
    out.extend(&chars[n - 4..]);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TODAY: Date = date!(2024 - 06 - 15);

    /// Appends the correct check character to 17 digits.
    fn with_check(first17: &str) -> String {
        assert_eq!(first17.len(), 17);
        let c = check_char(first17.as_bytes());
        format!("{first17}{}", char::from(c))
    }

    /// Same 17 digits with a deliberately wrong check character.
    fn with_wrong_check(first17: &str) -> String {
        let good = check_char(first17.as_bytes());
        let bad = CHECK_CHARS.iter().find(|&&c| c != good).unwrap();
        format!("{first17}{}", char::from(*bad))
    }

    fn parse(raw: &str) -> Result<IdNumber, IdNumberError> {
        IdNumber::parse_at(raw, TODAY)
    }

    #[test]
    fn known_valid_numbers() {
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.suffix(), "002X");

        let id = parse("110101199003074477").unwrap();
        assert_eq!(id.birth_date(), date!(1990 - 03 - 07));
        assert_eq!(id.gender(), Gender::Male);
        assert_eq!(id.suffix(), "4477");
    }

    #[test]
    fn public_parse_uses_real_clock() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            IdNumber::parse(&with_check("11010121000101001")),
            Err(IdNumberError::BirthDate)
        );
    }

    #[test]
    fn helper_matches_known_check_chars() {
        assert_eq!(with_check("11010519491231002"), "11010519491231002X");
        assert_eq!(with_check("11010119900307447"), "110101199003074477");
    }

    #[test]
    fn every_check_char_is_reachable() {
        // Vary the sequence digits until all 11 check characters have appeared.
        let mut seen = std::collections::HashSet::new();
        for seq in 0..200 {
            let id = with_check(&format!("32010219800101{seq:03}"));
            assert!(parse(&id).is_ok(), "{id}");
            seen.insert(id.as_bytes()[17]);
        }
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn lower_case_x_is_upper_cased() {
        let id = parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn full_width_characters_are_accepted() {
        let id = parse("１１０１０５１９４９１２３１００２Ｘ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        let id = parse("１１０１０５１９４９１２３１００２ｘ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        let id = parse("110101１９９００３０７4477").unwrap();
        assert_eq!(id.as_str(), "110101199003074477");
    }

    #[test]
    fn whitespace_anywhere_is_removed() {
        for raw in [
            "  11010519491231002X  ",
            "110105 19491231 002X",
            "\u{3000}110105\u{3000}19491231002X\u{3000}",
            "\t110105\u{a0}19491231002x\r\n",
        ] {
            assert_eq!(
                parse(raw).unwrap().as_str(),
                "11010519491231002X",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn empty_input() {
        assert_eq!(parse(""), Err(IdNumberError::Empty));
        assert_eq!(parse("   \u{3000} "), Err(IdNumberError::Empty));
    }

    #[test]
    fn wrong_length() {
        // Old 15-digit cards are no longer valid.
        assert_eq!(parse("110105491231002"), Err(IdNumberError::Length(15)));
        assert_eq!(parse("11010519491231002X1"), Err(IdNumberError::Length(19)));
        assert_eq!(parse("1"), Err(IdNumberError::Length(1)));
        // Counted in characters, not bytes.
        assert_eq!(parse("一二三"), Err(IdNumberError::Length(3)));
    }

    #[test]
    fn bad_characters() {
        assert_eq!(parse("1101051949123100XX"), Err(IdNumberError::Characters));
        assert_eq!(parse("11010519491231002A"), Err(IdNumberError::Characters));
        assert_eq!(parse("X10105194912310021"), Err(IdNumberError::Characters));
        assert_eq!(parse("110105-19491231002"), Err(IdNumberError::Characters));
        assert_eq!(parse("11010519491231002中"), Err(IdNumberError::Characters));
        assert_eq!(parse("一1010519491231002X"), Err(IdNumberError::Characters));
    }

    #[test]
    fn region_codes() {
        for region in [
            "11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81",
            "82", "83", "91",
        ] {
            let id = with_check(&format!("{region}010119900101001"));
            assert!(parse(&id).is_ok(), "{region} should be valid");
        }
        for region in [
            "00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60", "66", "70",
            "72", "80", "84", "90", "92", "99",
        ] {
            let id = with_check(&format!("{region}010119900101001"));
            assert_eq!(parse(&id), Err(IdNumberError::Region), "{region}");
        }
    }

    #[test]
    fn birth_dates() {
        let ok = |d: &str| parse(&with_check(&format!("110101{d}001")));
        assert!(ok("20000229").is_ok());
        assert_eq!(ok("20000229").unwrap().birth_date(), date!(2000 - 02 - 29));
        assert_eq!(ok("19000229"), Err(IdNumberError::BirthDate));
        assert_eq!(ok("20230229"), Err(IdNumberError::BirthDate));
        assert_eq!(ok("19901301"), Err(IdNumberError::BirthDate));
        assert_eq!(ok("19900001"), Err(IdNumberError::BirthDate));
        assert_eq!(ok("19900100"), Err(IdNumberError::BirthDate));
        assert_eq!(ok("19900431"), Err(IdNumberError::BirthDate));
        assert_eq!(ok("00000000"), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn birth_date_bounds() {
        let ok = |d: &str| parse(&with_check(&format!("110101{d}001")));
        assert!(ok("19000101").is_ok());
        assert_eq!(ok("18991231"), Err(IdNumberError::BirthDate));
        assert!(ok("20240615").is_ok(), "born today");
        assert_eq!(
            ok("20240616"),
            Err(IdNumberError::BirthDate),
            "born tomorrow"
        );
    }

    #[test]
    fn checksum() {
        assert_eq!(parse("110105194912310021"), Err(IdNumberError::Checksum));
        assert_eq!(parse("110101199003074478"), Err(IdNumberError::Checksum));
        let id = with_wrong_check("32010219800101123");
        assert_eq!(parse(&id), Err(IdNumberError::Checksum));
        // A single transposed digit is caught.
        assert_eq!(parse("110101199003074747"), Err(IdNumberError::Checksum));
    }

    #[test]
    fn gender_from_17th_digit() {
        for (d, g) in [
            ('0', Gender::Female),
            ('1', Gender::Male),
            ('8', Gender::Female),
            ('9', Gender::Male),
        ] {
            let id = parse(&with_check(&format!("3201021980010112{d}"))).unwrap();
            assert_eq!(id.gender(), g);
        }
        assert_eq!(Gender::Male.label(), "男");
        assert_eq!(Gender::Female.label(), "女");
    }

    #[test]
    fn error_messages() {
        assert_eq!(IdNumberError::Empty.to_string(), "请填写身份证号");
        assert_eq!(
            IdNumberError::Length(17).to_string(),
            "身份证号应为18位，实际为17位"
        );
        assert_eq!(
            IdNumberError::Characters.to_string(),
            "身份证号只能包含数字，最后一位可以是X"
        );
        assert_eq!(IdNumberError::Region.to_string(), "身份证号的地区码无效");
        assert_eq!(
            IdNumberError::BirthDate.to_string(),
            "身份证号中的出生日期无效"
        );
        assert_eq!(IdNumberError::Checksum.to_string(), "身份证号校验位不正确");
        let boxed: Box<dyn std::error::Error> = Box::new(IdNumberError::Checksum);
        assert_eq!(boxed.to_string(), "身份证号校验位不正确");
    }

    #[test]
    fn debug_output_is_masked() {
        let id = parse("110101199003074477").unwrap();
        assert_eq!(format!("{id:?}"), "IdNumber(\"1101**********4477\")");
    }

    #[test]
    fn masking_id_numbers() {
        assert_eq!(mask_id_number("320102198001011234"), "3201**********1234");
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
        assert_eq!(mask_id_number("123456789"), "1234*6789");
        assert_eq!(mask_id_number("12345678"), "********");
        assert_eq!(mask_id_number("1234"), "****");
        assert_eq!(mask_id_number(""), "");
        assert_eq!(mask_id_number("一二三四五六七八九"), "一二三四*六七八九");
    }

    #[test]
    fn masking_phones() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone(" 13812345678 "), "138****5678");
        assert_eq!(mask_phone("05511234567"), "055****4567");
        assert_eq!(mask_phone("0551-1234567"), "********4567");
        assert_eq!(mask_phone("87654321"), "****4321");
        assert_eq!(mask_phone("12345"), "*2345");
        assert_eq!(mask_phone("1234"), "****");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("   "), "");
    }
}
