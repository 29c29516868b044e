//! Text and date helpers shared by every feature: normalising the messy cell values
//! found in hand-kept Excel ledgers (台账) before they are validated, and the one date
//! format (`YYYY-MM-DD`) the system stores and shows.

use std::fmt;

use pinyin::ToPinyin;
use time::macros::date;
use time::{Date, Duration, Month};

/// Largest serial Excel accepts (9999-12-31).
const MAX_EXCEL_SERIAL: f64 = 2_958_465.0;

/// A bidirectional control: the embeddings and overrides (U+202A–U+202E), the isolates
/// (U+2066–U+2069) and the marks (U+200E, U+200F, U+061C). Invisible, they reorder what
/// follows: "张三\u{202E}gpj.exe" shows as "张三exe.jpg".
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

pub fn has_bidi_control(s: &str) -> bool {
    s.chars().any(is_bidi_control)
}

/// Trims, collapses whitespace runs to one ASCII space and folds full-width
/// ASCII (U+FF01–U+FF5E) to half-width: for names and codes that are matched and compared
/// (a unit's name typed with full-width digits is the same unit).
pub fn clean_text(s: &str) -> String {
    clean(s, true)
}

/// Like `clean_text` but keeps full-width punctuation and letters as typed: for the words of
/// a record (a meeting's topic and place, an absence reason, a review comment), which an
/// official record keeps exactly — "研究党费，安排工作（第1次）" stays so.
pub fn clean_prose(s: &str) -> String {
    clean(s, false)
}

fn clean(s: &str, fold_width: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' if fold_width => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        };
        // Zero-width characters come along when text is pasted from web pages
        // and would otherwise make equal-looking values differ.
        if matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod prose_tests {
    use super::*;

    #[test]
    fn a_day_the_calendar_lacks_is_told_apart_from_an_unreadable_date() {
        for (text, msg) in [
            (
                "1990-02-30",
                "日期“1990-02-30”不存在：1990年2月没有30日，请核对",
            ),
            (
                "2023年2月29日",
                "日期“2023年2月29日”不存在：2023年2月没有29日，请核对",
            ),
            (
                "2021/4/31",
                "日期“2021/4/31”不存在：2021年4月没有31日，请核对",
            ),
        ] {
            assert_eq!(parse_date(text).expect_err(text).to_string(), msg);
        }
        // 2024 is a leap year; a month 13 or day 32 is not a day that is missing.
        assert!(parse_date("2024-02-29").is_ok());
        for text in ["2021-13-01", "2021-01-32", "去年春天"] {
            assert!(
                matches!(parse_date(text), Err(DateError::Invalid(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn prose_keeps_full_width_punctuation_names_fold_it() {
        let typed = "  研究党费，安排工作（第１次）；\u{200B}地点：三楼  会议室 ";
        assert_eq!(
            clean_prose(typed),
            "研究党费，安排工作（第１次）；地点：三楼 会议室"
        );
        assert_eq!(
            clean_text(typed),
            "研究党费,安排工作(第1次);地点:三楼 会议室"
        );
        // The ideographic space is whitespace to both.
        assert_eq!(clean_prose("党课\u{3000}\u{3000}第二讲"), "党课 第二讲");
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    Empty,
    Invalid(String),
    /// Read as year, month and day, but the calendar has no such day ("1990-02-30").
    NoSuchDay {
        text: String,
        year: i32,
        month: u8,
        day: u8,
    },
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("日期不能为空"),
            Self::Invalid(s) => write!(f, "无法识别的日期“{s}”，请使用 2021-03-05 这样的格式"),
            Self::NoSuchDay {
                text,
                year,
                month,
                day,
            } => write!(
                f,
                "日期“{text}”不存在：{year}年{month}月没有{day}日，请核对"
            ),
        }
    }
}

impl std::error::Error for DateError {}

/// Parses the date spellings seen in ledgers; see the tests for the full list.
/// Only years 1900..=2100 are accepted.
pub fn parse_date(s: &str) -> Result<Date, DateError> {
    let cleaned = clean_text(s);
    if cleaned.is_empty() {
        return Err(DateError::Empty);
    }
    match parse_cleaned_date(&cleaned) {
        Some(d) if (1900..=2100).contains(&d.year()) => Ok(d),
        Some(_) => Err(DateError::Invalid(cleaned)),
        None => Err(match no_such_day(&cleaned) {
            Some((year, month, day)) => DateError::NoSuchDay {
                text: cleaned,
                year,
                month,
                day,
            },
            None => DateError::Invalid(cleaned),
        }),
    }
}

/// A year, month (1–12) and day (1–31) written in one of the separated spellings that make
/// no calendar day (30 February, 31 April): told apart from a spelling not understood.
fn no_such_day(s: &str) -> Option<(i32, u8, u8)> {
    let parts: Vec<&str> = s
        .trim_end_matches(['日', '号'])
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 || !is_digits(y) || !short_number(m) || !short_number(d) {
        return None;
    }
    let (year, month, day): (i32, u8, u8) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let month_ok = Month::try_from(month).ok()?;
    ((1..=31).contains(&day) && Date::from_calendar_date(year, month_ok, day).is_err())
        .then_some((year, month, day))
}

fn parse_cleaned_date(s: &str) -> Option<Date> {
    let date_part: String = strip_time(s)?.chars().filter(|c| *c != ' ').collect();
    let s = date_part.as_str();
    if s.contains('年') {
        return parse_chinese_date(s);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.len() {
            8 => ymd(&s[..4], &s[4..6], &s[6..8]),
            // A bare "2021" is far more likely a year than serial 2021 (1905-07-13).
            4 if looks_like_year(s) => None,
            _ => serial_text(s),
        };
    }
    if let Some((int, frac)) = s.split_once('.') {
        // "44260.0" is a serial; "2021.03" is year.month.
        if int.len() != 4 && is_digits(int) && is_digits(frac) {
            return serial_text(s);
        }
    }
    parse_separated_date(s)
}

/// Drops a trailing time of day ("2021-03-05 00:00:00", "2021-03-05T08:30").
/// Returns `None` if what follows the date is not a plausible time.
fn strip_time(s: &str) -> Option<&str> {
    let Some(colon) = s.find(':') else {
        return Some(s);
    };
    let split = s[..colon].rfind([' ', 'T'])?;
    let time = &s[split + 1..];
    let colons = time.matches(':').count();
    let time_ok = (1..=2).contains(&colons)
        && time
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
        && time.split(':').all(|p| !p.is_empty());
    time_ok.then(|| s[..split].trim_end())
}

/// `2021年3月5日`, `2021年03月05日`, `2021年3月5号`, `2021年3月` (day 1).
fn parse_chinese_date(s: &str) -> Option<Date> {
    let (y, rest) = s.split_once('年')?;
    let (m, rest) = rest.split_once('月')?;
    if rest.is_empty() {
        return ymd(y, m, "1");
    }
    let d = rest
        .strip_suffix('日')
        .or_else(|| rest.strip_suffix('号'))
        .unwrap_or(rest);
    ymd(y, m, d)
}

/// `2021-3-5`, `2021/3/5`, `2021.3.5`, and year-month forms (day 1).
fn parse_separated_date(s: &str) -> Option<Date> {
    let sep = s.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let parts: Vec<&str> = s.split(sep).collect();
    match parts.as_slice() {
        [y, m] => ymd(y, m, "1"),
        [y, m, d] => ymd(y, m, d),
        _ => None,
    }
}

/// Year first, 4 digits; month and day 1–2 digits.
fn ymd(y: &str, m: &str, d: &str) -> Option<Date> {
    if y.len() != 4 || !is_digits(y) || !short_number(m) || !short_number(d) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn short_number(s: &str) -> bool {
    (1..=2).contains(&s.len()) && is_digits(s)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn looks_like_year(s: &str) -> bool {
    s.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y))
}

fn serial_text(s: &str) -> Option<Date> {
    excel_serial_to_date(s.parse().ok()?).ok()
}

/// Converts an Excel 1900-system serial (fraction = time of day, ignored).
/// Excel inherited Lotus 1-2-3's phantom 1900-02-29 (serial 60), so serials
/// from 61 on are one day ahead of a plain count; 60 itself is rejected.
pub fn excel_serial_to_date(serial: f64) -> Result<Date, DateError> {
    let invalid = || DateError::Invalid(serial.to_string());
    if !serial.is_finite() {
        return Err(invalid());
    }
    let day = serial.floor();
    if !(1.0..=MAX_EXCEL_SERIAL).contains(&day) || day == 60.0 {
        return Err(invalid());
    }
    // Exact: `day` is a whole number within 1..=2958465.
    let day = day as i64;
    let epoch = if day < 60 {
        date!(1899 - 12 - 31)
    } else {
        date!(1899 - 12 - 30)
    };
    epoch.checked_add(Duration::days(day)).ok_or_else(invalid)
}

/// met / judged, as a percentage with one decimal; `None` when nothing was due yet.
pub fn rate(met: i64, judged: i64) -> Option<f64> {
    (judged > 0).then(|| (met as f64 * 1000.0 / judged as f64).round() / 10.0)
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Yes/no cells: 是/否, Y/N, yes/no, true/false, 1/0, √/×, 有/无.
/// Empty means "not filled in", which is not the same as "否".
pub fn parse_bool_zh(s: &str) -> Result<Option<bool>, String> {
    let cleaned = clean_text(s);
    if cleaned.is_empty() {
        return Ok(None);
    }
    match cleaned.to_lowercase().as_str() {
        "是" | "y" | "yes" | "true" | "1" | "√" | "✓" | "✔" | "有" => Ok(Some(true)),
        "否" | "n" | "no" | "false" | "0" | "×" | "✗" | "✘" | "无" => Ok(Some(false)),
        _ => Err(format!("无法识别“{cleaned}”，请填写“是”或“否”")),
    }
}

/// Lower-case pinyin initials for searching by name ("张三丰" → "zsf").
/// ASCII letters are kept; digits, punctuation and unknown characters skipped.
pub fn name_initials(name: &str) -> String {
    let cleaned = clean_text(name);
    let mut out = String::new();
    for (i, (c, py)) in cleaned
        .chars()
        .zip(cleaned.as_str().to_pinyin())
        .enumerate()
    {
        if c.is_ascii_alphabetic() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(letter) = (i == 0).then(|| surname_initial(c)).flatten() {
            out.push(letter);
        } else if let Some(py) = py {
            out.push_str(py.first_letter());
        }
    }
    out
}

/// Surnames whose reading differs from the character's everyday reading,
/// which is what the pinyin crate returns (曾 céng vs. the surname zēng).
fn surname_initial(c: char) -> Option<char> {
    Some(match c {
        '曾' | '查' | '翟' => 'z',
        '单' | '召' => 's',
        '解' => 'x',
        '仇' | '覃' => 'q',
        '区' => 'o',
        '种' => 'c',
        '隗' => 'w',
        _ => return None,
    })
}

/// Returns the bare digits of a mobile or landline number; empty stays empty.
pub fn normalize_phone(s: &str) -> Result<String, String> {
    let cleaned = clean_text(s);
    if cleaned.is_empty() {
        return Ok(String::new());
    }
    let err = || format!("手机号格式不正确：{cleaned}");
    let compact: String = cleaned
        .chars()
        .filter(|c| {
            !matches!(
                c,
                ' ' | '-' | '(' | ')' | '（' | '）' | '‐' | '–' | '—' | '−'
            )
        })
        .collect();
    let stripped = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .or_else(|| {
            compact
                .strip_prefix("86")
                .filter(|rest| rest.len() == 11 && rest.starts_with('1'))
        });
    let digits = match stripped {
        Some(rest) if is_mobile(rest) || rest.starts_with('0') => rest.to_string(),
        // International landline format drops the area code's leading 0.
        Some(rest) => format!("0{rest}"),
        None => compact.clone(),
    };
    if !is_digits(&digits) {
        return Err(err());
    }
    let ok = match digits.as_bytes()[0] {
        b'1' => digits.len() == 11,
        b'0' => (10..=12).contains(&digits.len()),
        _ => (7..=8).contains(&digits.len()),
    };
    if ok {
        Ok(digits)
    } else {
        Err(err())
    }
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && is_digits(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    #[test]
    fn bidi_controls_are_known_and_nothing_else() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert!(is_bidi_control(c), "U+{:04X}", c as u32);
        }
        for c in [
            '\u{2029}', '\u{202F}', '\u{2065}', '\u{206A}', '\u{200D}', '\u{061B}', 'ب', '张',
        ] {
            assert!(!is_bidi_control(c), "U+{:04X}", c as u32);
        }
        assert!(has_bidi_control("张三\u{202E}gpj.exe"));
        assert!(!has_bidi_control("سلام 张三"));
    }

    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn invalid(s: &str) -> bool {
        matches!(parse_date(s), Err(DateError::Invalid(_)))
    }

    // --- clean_text ---

    #[test]
    fn clean_text_trims_all_kinds_of_space() {
        assert_eq!(clean_text("  abc  "), "abc");
        assert_eq!(clean_text("\u{3000}张三\u{3000}"), "张三");
        assert_eq!(clean_text("\u{a0}张三\u{a0}"), "张三");
        assert_eq!(clean_text("\t\r\n张三\n"), "张三");
        assert_eq!(clean_text(""), "");
        assert_eq!(clean_text(" \u{3000}\u{a0} "), "");
    }

    #[test]
    fn clean_text_collapses_inner_whitespace() {
        assert_eq!(
            clean_text("中共  某某\u{3000}\u{3000}支部"),
            "中共 某某 支部"
        );
        assert_eq!(clean_text("a\t\nb"), "a b");
        assert_eq!(clean_text("a \u{a0} b"), "a b");
    }

    #[test]
    fn clean_text_folds_full_width() {
        assert_eq!(clean_text("１２３ＡＢＣａｂｃ"), "123ABCabc");
        assert_eq!(clean_text("（第一支部）"), "(第一支部)");
        assert_eq!(clean_text("！～"), "!~");
        // Chinese punctuation outside the full-width ASCII block is kept.
        assert_eq!(clean_text("张三，李四。"), "张三,李四。");
        assert_eq!(clean_text("“引号”、"), "“引号”、");
    }

    #[test]
    fn clean_text_drops_zero_width_chars() {
        assert_eq!(clean_text("\u{feff}张\u{200b}三"), "张三");
        assert_eq!(clean_text("\u{200b} 张三 \u{2060}"), "张三");
    }

    // --- parse_date ---

    #[test]
    fn dash_slash_dot_dates() {
        let want = date!(2021 - 03 - 05);
        for s in [
            "2021-03-05",
            "2021-3-5",
            "2021/3/5",
            "2021/03/05",
            "2021.3.5",
            "2021.03.05",
            " 2021-03-05 ",
            "２０２１－０３－０５",
            "2021 - 3 - 5",
        ] {
            assert_eq!(d(s), want, "{s}");
        }
    }

    #[test]
    fn compact_dates() {
        assert_eq!(d("20210305"), date!(2021 - 03 - 05));
        assert_eq!(d("19491001"), date!(1949 - 10 - 01));
        assert!(invalid("20211305"));
        assert!(invalid("20210230"));
    }

    #[test]
    fn chinese_dates() {
        let want = date!(2021 - 03 - 05);
        for s in [
            "2021年3月5日",
            "2021年03月05日",
            "2021年3月5号",
            "2021年3月5",
            "2021 年 3 月 5 日",
            "２０２１年３月５日",
        ] {
            assert_eq!(d(s), want, "{s}");
        }
        assert_eq!(d("2021年3月"), date!(2021 - 03 - 01));
        assert_eq!(d("2021年12月"), date!(2021 - 12 - 01));
        assert!(invalid("2021年"));
        assert!(invalid("3月5日"));
        assert!(invalid("2021年13月"));
        assert!(matches!(
            parse_date("2021年2月30日"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(invalid("2021年3月5日上午"));
        assert!(invalid("二〇二一年三月五日"));
    }

    #[test]
    fn year_month_dates() {
        let want = date!(2021 - 03 - 01);
        for s in [
            "2021-03", "2021-3", "2021.03", "2021.3", "2021/3", "2021/03",
        ] {
            assert_eq!(d(s), want, "{s}");
        }
        assert_eq!(d("2021.12"), date!(2021 - 12 - 01));
        assert!(invalid("2021.13"));
        assert!(invalid("2021-00"));
    }

    #[test]
    fn datetime_strings_ignore_time() {
        let want = date!(2021 - 03 - 05);
        for s in [
            "2021-03-05 00:00:00",
            "2021-03-05 23:59:59",
            "2021/3/5 8:30",
            "2021-03-05T08:30:00",
            "2021-03-05 00:00:00.000",
            "2021-03-05  00:00:00",
            "2021年3月5日 10:00",
        ] {
            assert_eq!(d(s), want, "{s}");
        }
        assert!(invalid("2021-03-05 abc"));
        assert!(invalid("2021-03-05 00:00:00 PM"));
        assert!(invalid("2021-03-05 1:2:3:4"));
        assert!(invalid("00:00:00"));
    }

    #[test]
    fn excel_serials_as_text() {
        assert_eq!(d("44260"), date!(2021 - 03 - 05));
        assert_eq!(d("44260.0"), date!(2021 - 03 - 05));
        assert_eq!(d("44260.75"), date!(2021 - 03 - 05));
        assert_eq!(d("1"), date!(1900 - 01 - 01));
        assert_eq!(d("61"), date!(1900 - 03 - 01));
        assert_eq!(d("73051"), date!(2100 - 01 - 01));
        assert!(invalid("0"));
        assert!(invalid("60"));
        // Valid serial but outside 1900..=2100.
        assert!(invalid("2958465"));
        assert!(invalid("2958466"));
    }

    #[test]
    fn bare_year_is_not_a_serial() {
        assert!(invalid("2021"));
        assert!(invalid("1949"));
        // Not year-like, so still a serial.
        assert_eq!(d("1000"), date!(1902 - 09 - 26));
    }

    #[test]
    fn year_range() {
        assert_eq!(d("1900-01-01"), date!(1900 - 01 - 01));
        assert_eq!(d("2100-12-31"), date!(2100 - 12 - 31));
        assert!(invalid("1899-12-31"));
        assert!(invalid("2101-01-01"));
        assert!(invalid("0021-03-05"));
    }

    #[test]
    fn leap_days() {
        assert_eq!(d("2000-02-29"), date!(2000 - 02 - 29));
        assert_eq!(d("2024/2/29"), date!(2024 - 02 - 29));
        assert!(matches!(
            parse_date("1900-02-29"),
            Err(DateError::NoSuchDay { .. })
        ));
        assert!(matches!(
            parse_date("2023-02-29"),
            Err(DateError::NoSuchDay { .. })
        ));
    }

    #[test]
    fn rejected_dates() {
        for s in [
            "abc",
            "2021",
            "21-3-5",
            "3/5/2021",
            "05.03.2021",
            "2021-3-5-1",
            "2021-3/5",
            "2021--3",
            "2021-3-",
            "2021-03-5x",
            "2021-003-05",
            "202103",
            "-44260",
            "44260.5.1",
            "1e5",
            "NaN",
            "inf",
            "待定",
        ] {
            assert!(invalid(s), "{s} should be rejected");
        }
    }

    #[test]
    fn empty_date() {
        assert_eq!(parse_date(""), Err(DateError::Empty));
        assert_eq!(parse_date(" \u{3000} "), Err(DateError::Empty));
    }

    #[test]
    fn date_error_messages() {
        assert_eq!(DateError::Empty.to_string(), "日期不能为空");
        assert_eq!(
            parse_date(" 2021-13-01 ").unwrap_err().to_string(),
            "无法识别的日期“2021-13-01”，请使用 2021-03-05 这样的格式"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(DateError::Empty);
        assert_eq!(boxed.to_string(), "日期不能为空");
    }

    #[test]
    fn excel_serial_conversion() {
        assert_eq!(excel_serial_to_date(1.0), Ok(date!(1900 - 01 - 01)));
        assert_eq!(excel_serial_to_date(59.0), Ok(date!(1900 - 02 - 28)));
        assert_eq!(excel_serial_to_date(61.0), Ok(date!(1900 - 03 - 01)));
        assert_eq!(excel_serial_to_date(36526.0), Ok(date!(2000 - 01 - 01)));
        assert_eq!(excel_serial_to_date(44197.0), Ok(date!(2021 - 01 - 01)));
        assert_eq!(excel_serial_to_date(44260.0), Ok(date!(2021 - 03 - 05)));
        assert_eq!(excel_serial_to_date(44260.999), Ok(date!(2021 - 03 - 05)));
        assert_eq!(excel_serial_to_date(2_958_465.0), Ok(date!(9999 - 12 - 31)));
        for bad in [
            0.0,
            0.5,
            -1.0,
            60.0,
            60.5,
            2_958_466.0,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert!(excel_serial_to_date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            excel_serial_to_date(60.0),
            Err(DateError::Invalid("60".to_string()))
        );
    }

    #[test]
    fn format_dates() {
        assert_eq!(format_date(date!(2021 - 03 - 05)), "2021-03-05");
        assert_eq!(format_date(date!(1900 - 01 - 01)), "1900-01-01");
        assert_eq!(format_date(date!(2100 - 12 - 31)), "2100-12-31");
        for s in ["2021年3月5日", "44260", "2021/3/5 0:00"] {
            assert_eq!(format_date(d(s)), "2021-03-05");
        }
    }

    // --- parse_bool_zh ---

    #[test]
    fn bool_true_spellings() {
        for s in [
            "是", "Y", "y", "yes", "YES", "Yes", "true", "TRUE", "1", "√", "✓", "有", " 是 ", "Ｙ",
        ] {
            assert_eq!(parse_bool_zh(s), Ok(Some(true)), "{s}");
        }
    }

    #[test]
    fn bool_false_spellings() {
        for s in [
            "否",
            "N",
            "n",
            "no",
            "NO",
            "false",
            "False",
            "0",
            "×",
            "✗",
            "无",
            "\u{3000}否",
            "ＮＯ",
        ] {
            assert_eq!(parse_bool_zh(s), Ok(Some(false)), "{s}");
        }
    }

    #[test]
    fn bool_empty_and_unknown() {
        assert_eq!(parse_bool_zh(""), Ok(None));
        assert_eq!(parse_bool_zh("  \u{3000}"), Ok(None));
        assert_eq!(
            parse_bool_zh("也许"),
            Err("无法识别“也许”，请填写“是”或“否”".to_string())
        );
        for s in ["是否", "2", "ok", "x", "不是"] {
            assert!(parse_bool_zh(s).is_err(), "{s}");
        }
    }

    // --- name_initials ---

    #[test]
    fn initials_of_chinese_names() {
        assert_eq!(name_initials("张三丰"), "zsf");
        assert_eq!(name_initials("李四"), "ls");
        assert_eq!(name_initials("欧阳修"), "oyx");
        assert_eq!(name_initials("吕布"), "lb");
        assert_eq!(name_initials(" 王\u{3000}五 "), "ww");
    }

    #[test]
    fn initials_keep_ascii_letters() {
        assert_eq!(name_initials("Tom"), "tom");
        assert_eq!(name_initials("张A"), "za");
        assert_eq!(name_initials("ＡＢ张"), "abz");
    }

    #[test]
    fn initials_skip_other_chars() {
        assert_eq!(name_initials("买买提·艾力"), "mmtal");
        assert_eq!(name_initials("张三2"), "zs");
        assert_eq!(name_initials("张-三"), "zs");
        assert_eq!(name_initials(""), "");
        assert_eq!(name_initials("123"), "");
    }

    #[test]
    fn initials_use_surname_readings() {
        assert_eq!(name_initials("曾国藩"), "zgf");
        assert_eq!(name_initials("单田芳"), "stf");
        assert_eq!(name_initials("解缙"), "xj");
        assert_eq!(name_initials("区丽"), "ol");
        // Only the first character is read as a surname.
        assert_eq!(name_initials("张曾"), "zc");
    }

    // --- normalize_phone ---

    #[test]
    fn mobile_spellings() {
        for s in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "１３８１２３４５６７８",
            "+8613812345678",
            "+86 138 1234 5678",
            "+86-138-1234-5678",
            "8613812345678",
            "008613812345678",
            "\u{3000}13812345678\u{a0}",
        ] {
            assert_eq!(normalize_phone(s), Ok("13812345678".to_string()), "{s}");
        }
    }

    #[test]
    fn landline_spellings() {
        for (s, want) in [
            ("0551-12345678", "055112345678"),
            ("(0551)12345678", "055112345678"),
            ("（0551）1234567", "05511234567"),
            ("010-12345678", "01012345678"),
            ("010 1234 5678", "01012345678"),
            ("0551－1234567", "05511234567"),
            ("0551—1234567", "05511234567"),
            ("22345678", "22345678"),
            ("8765432", "8765432"),
            ("86123456", "86123456"),
            ("+86 10 12345678", "01012345678"),
            ("+86 551 1234567", "05511234567"),
            ("+86 0551 1234567", "05511234567"),
        ] {
            assert_eq!(normalize_phone(s), Ok(want.to_string()), "{s}");
        }
    }

    #[test]
    fn empty_phone() {
        assert_eq!(normalize_phone(""), Ok(String::new()));
        assert_eq!(normalize_phone(" \u{3000} "), Ok(String::new()));
    }

    #[test]
    fn rejected_phones() {
        for s in [
            "1381234567",
            "138123456789",
            "123456",
            "123456789",
            "012345678",
            "0551123456789",
            "2345678901",
            "1380013800a",
            "138.1234.5678",
            "无",
            "+86",
            "86",
            "0551-1234567-801",
        ] {
            assert!(normalize_phone(s).is_err(), "{s} should be rejected");
        }
        assert_eq!(
            normalize_phone(" 12345 "),
            Err("手机号格式不正确：12345".to_string())
        );
    }
}
