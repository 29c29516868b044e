//! Pure rules of the volunteer bank: report periods (half-years), hours as integer minutes
//! and their limits, claims (slots, the past, overlaps, cancelling), the need's fields, and
//! the ledger's invariants. No I/O; every refusal is the Chinese sentence the user sees.

use time::{Date, Month, OffsetDateTime};

/// A day has 1,440 minutes: no member serves more in one day.
pub const DAY_MINUTES: i64 = 24 * 60;
/// Claims unconfirmed this many days after the need's end expire.
pub const EXPIRE_DAYS: i64 = 14;
pub const TITLE_MAX: usize = 60;
pub const TEXT_MAX: usize = 500;
pub const REASON_MAX: usize = 200;
pub const SLOTS_MAX: i64 = 1000;

/// The lengths a report period may have, in months, with their names: the committee picks
/// one (默认每半年, the source's practice); a member reports once in each period.
pub const PERIOD_LENGTHS: [(u8, &str); 4] =
    [(1, "每月"), (3, "每季度"), (6, "每半年"), (12, "每年")];
pub const DEFAULT_PERIOD_MONTHS: u8 = 6;

pub fn period_length_valid(months: u8) -> bool {
    PERIOD_LENGTHS.iter().any(|(m, _)| *m == months)
}

pub fn period_length_label(months: u8) -> &'static str {
    PERIOD_LENGTHS
        .iter()
        .find(|(m, _)| *m == months)
        .map_or("每半年", |(_, l)| l)
}

/// Report period: `months` long (1, 3, 6 or 12), the `index`-th of its year (from 1). Keys
/// sort by time within a year and all start with the year: `2026` (the year), `2026H1`
/// (January–June), `2026Q3`, `2026M07`. Reports keep the key they were made under, so
/// changing the length starts the new kind of period without touching the old reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportPeriod {
    pub year: i32,
    pub months: u8,
    pub index: u8,
}

impl ReportPeriod {
    /// The period of `months` containing day `d` (`months` not one of the lengths: half-years).
    pub fn of(d: Date, months: u8) -> ReportPeriod {
        let months = if period_length_valid(months) {
            months
        } else {
            DEFAULT_PERIOD_MONTHS
        };
        ReportPeriod {
            year: d.year(),
            months,
            index: (u8::from(d.month()) - 1) / months + 1,
        }
    }

    pub fn key(self) -> String {
        match self.months {
            12 => format!("{}", self.year),
            6 => format!("{}H{}", self.year, self.index),
            3 => format!("{}Q{}", self.year, self.index),
            _ => format!("{}M{:02}", self.year, self.index),
        }
    }

    pub fn parse(s: &str) -> Option<ReportPeriod> {
        let s = s.trim().to_ascii_uppercase();
        let y = s.get(..4)?;
        let year: i32 = y.parse().ok().filter(|y| (2000..=2100).contains(y))?;
        let rest = &s[4..];
        let (months, n) = match rest.chars().next() {
            None => {
                return Some(ReportPeriod {
                    year,
                    months: 12,
                    index: 1,
                })
            }
            Some('H') => (6, &rest[1..]),
            Some('Q') => (3, &rest[1..]),
            Some('M') => (1, &rest[1..]),
            Some(_) => return None,
        };
        if n.is_empty() || n.len() > 2 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let index: u8 = n.parse().ok()?;
        (index >= 1 && index <= 12 / months).then_some(ReportPeriod {
            year,
            months,
            index,
        })
    }

    /// `2026年上半年`, `2026年第三季度`, `2026年7月`, `2026年`.
    pub fn label(self) -> String {
        const QUARTERS: [&str; 4] = ["一", "二", "三", "四"];
        match self.months {
            12 => format!("{}年", self.year),
            6 => format!(
                "{}年{}",
                self.year,
                if self.index == 1 {
                    "上半年"
                } else {
                    "下半年"
                }
            ),
            3 => format!(
                "{}年第{}季度",
                self.year,
                QUARTERS[usize::from(self.index.clamp(1, 4)) - 1]
            ),
            _ => format!("{}年{}月", self.year, self.index),
        }
    }

    /// The periods of `months` in a year, in order.
    pub fn of_year(year: i32, months: u8) -> Vec<ReportPeriod> {
        let months = if period_length_valid(months) {
            months
        } else {
            DEFAULT_PERIOD_MONTHS
        };
        (1..=12 / months)
            .map(|index| ReportPeriod {
                year,
                months,
                index,
            })
            .collect()
    }

    /// The keys of every period of `year`, whatever its length, lie in `[low, high)`: the
    /// year's reports, when the length changed within it too.
    pub fn year_range(year: i32) -> (String, String) {
        (format!("{year:04}"), format!("{:04}", year + 1))
    }
}

/// Hours as people type them (`2`, `2.5`, `1.25`, `0.75小时`) into minutes, rounded to the
/// minute. Negative, empty or not a number is refused.
pub fn parse_hours(s: &str) -> Result<i64, String> {
    let t = s
        .trim()
        .trim_end_matches("小时")
        .trim_end_matches('h')
        .trim();
    if t.is_empty() {
        return Err("请填写服务时长（小时）".into());
    }
    if t.starts_with('-') {
        return Err(format!("服务时长不能为负数，收到“{s}”"));
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("服务时长应为数字（小时，可带小数），收到“{s}”"))?;
    if !v.is_finite() || v > 10_000.0 {
        return Err(format!("服务时长“{s}”不合理"));
    }
    Ok((v * 60.0).round() as i64)
}

/// Minutes as hours, at most two decimals: `150` → `2.5`.
pub fn hours_text(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.abs();
    let (h, r) = (m / 60, m % 60);
    if r == 0 {
        return format!("{sign}{h}");
    }
    let frac = format!("{:.2}", r as f64 / 60.0);
    let frac = frac.trim_start_matches('0').trim_end_matches('0');
    format!("{sign}{h}{frac}")
}

/// Checks the minutes confirmed for one claimant: not negative, within the need's span,
/// and with what the member already has confirmed that day, not over 24 hours.
pub fn check_minutes(minutes: i64, span_minutes: i64, same_day: i64) -> Result<(), String> {
    if minutes < 0 {
        return Err("服务时长不能为负数".into());
    }
    if minutes > span_minutes {
        return Err(format!(
            "服务时长 {} 小时超过了该需求的起止时间（共 {} 小时）",
            hours_text(minutes),
            hours_text(span_minutes)
        ));
    }
    if minutes + same_day > DAY_MINUTES {
        return Err(format!(
            "同一天的服务时长不能超过24小时（当天已确认 {} 小时）",
            hours_text(same_day)
        ));
    }
    Ok(())
}

/// The hours to pre-fill for a claimant: from the sign-in and sign-out when both exist
/// (within the need's span), else the need's credited hours.
pub fn prefill_minutes(
    need_minutes: i64,
    signed_in: Option<i64>,
    signed_out: Option<i64>,
    span_minutes: i64,
) -> i64 {
    match (signed_in, signed_out) {
        (Some(a), Some(b)) if b > a => ((b - a) / 60).min(span_minutes).max(0),
        _ => need_minutes,
    }
}

/// A need's fields, checked.
pub struct NeedFields<'a> {
    pub title: &'a str,
    pub skills: &'a str,
    pub place: &'a str,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub slots: &'a str,
    pub hours: &'a str,
}

pub type Problems = std::collections::BTreeMap<String, String>;

/// Slots and minutes of a need, or every problem with its field.
pub fn check_need(n: &NeedFields, now: i64) -> Result<(i64, i64), Problems> {
    let mut p = Problems::new();
    let title = n.title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        p.insert(
            "title".into(),
            format!("请填写需求名称（不超过{TITLE_MAX}字）"),
        );
    }
    if n.skills.chars().count() > TEXT_MAX {
        p.insert("skills".into(), format!("所需技能不超过{TEXT_MAX}字"));
    }
    if n.place.chars().count() > 120 {
        p.insert("place".into(), "地点不超过120字".into());
    }
    match (n.starts_at, n.ends_at) {
        (None, _) => {
            p.insert("starts_at".into(), "请填写开始时间".into());
        }
        (_, None) => {
            p.insert("ends_at".into(), "请填写结束时间".into());
        }
        (Some(a), Some(b)) => {
            if b <= a {
                p.insert("ends_at".into(), "结束时间应晚于开始时间".into());
            } else if a < now {
                p.insert(
                    "starts_at".into(),
                    "开始时间已过，不能发布过去的需求".into(),
                );
            }
        }
    }
    let slots = match n.slots.trim().parse::<i64>() {
        Ok(s) if (1..=SLOTS_MAX).contains(&s) => s,
        _ => {
            p.insert(
                "slots".into(),
                format!("名额应为1至{SLOTS_MAX}的整数，收到“{}”", n.slots.trim()),
            );
            0
        }
    };
    let minutes = match parse_hours(n.hours) {
        Ok(0) => {
            p.insert("hours".into(), "计入时长应大于0".into());
            0
        }
        Ok(m) => {
            if let (Some(a), Some(b)) = (n.starts_at, n.ends_at) {
                if b > a {
                    if let Err(e) = check_minutes(m, (b - a) / 60, 0) {
                        p.insert("hours".into(), e.replace("服务时长", "计入时长"));
                    }
                }
            }
            m
        }
        Err(e) => {
            p.insert("hours".into(), e.replace("服务时长", "计入时长"));
            0
        }
    };
    if p.is_empty() {
        Ok((slots, minutes))
    } else {
        Err(p)
    }
}

/// A claim's check: the need is open, not started, not full, and no other active claim of
/// the member overlaps it in time (`others`: their spans).
pub fn check_claim(
    need_open: bool,
    starts_at: i64,
    ends_at: i64,
    slots: i64,
    taken: i64,
    others: &[(i64, i64)],
    now: i64,
) -> Result<(), String> {
    if !need_open {
        return Err("该需求已撤销，不能认领".into());
    }
    if starts_at <= now {
        return Err("该需求已开始或已结束，不能再认领".into());
    }
    if taken >= slots {
        return Err(format!("该需求的{slots}个名额已满，请选择其他需求"));
    }
    if others.iter().any(|&(a, b)| a < ends_at && starts_at < b) {
        return Err("与您已认领的另一项服务时间重叠，不能同时认领".into());
    }
    Ok(())
}

/// A claim may be cancelled by the member until the need starts.
pub fn check_cancel(status: &str, starts_at: i64, now: i64) -> Result<(), String> {
    if status != "claimed" {
        return Err("只有已认领、未确认的服务可以取消".into());
    }
    if starts_at <= now {
        return Err("服务已开始，不能取消认领".into());
    }
    Ok(())
}

/// `YYYY-MM` of an instant, Beijing time.
pub fn month_of(t: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(t) {
        Ok(dt) => {
            let d =
                dt.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
            format!("{:04}-{:02}", d.year(), u8::from(d.month()))
        }
        Err(_) => "1970-01".into(),
    }
}

/// The twelve months of a year as `YYYY-MM`.
pub fn months_of(year: i32) -> Vec<String> {
    (1..=12u8)
        .filter_map(|m| Month::try_from(m).ok())
        .map(|m| format!("{year:04}-{:02}", u8::from(m)))
        .collect()
}

/// A ledger transfer's movements sum to zero and move something.
pub fn balanced(amounts: &[i64]) -> bool {
    amounts.len() >= 2 && amounts.iter().sum::<i64>() == 0 && amounts.iter().all(|a| *a != 0)
}

/// A redemption is refused when the balance is short.
pub fn check_redeem(balance: i64, cost: i64) -> Result<(), String> {
    if cost <= 0 {
        return Err("兑换所需时长应大于0".into());
    }
    if balance < cost {
        return Err(format!(
            "时长余额不足：兑换需要 {} 小时，当前余额 {} 小时",
            hours_text(cost),
            hours_text(balance)
        ));
    }
    Ok(())
}

/// A per-member figure: minutes over members, as hours with one decimal.
pub fn per_member(minutes: i64, members: i64) -> Option<f64> {
    (members > 0).then(|| (minutes as f64 / 60.0 / members as f64 * 10.0).round() / 10.0)
}

/// `datetime-local` input (`2026-05-01T09:00`, or with a space) as unix seconds, Beijing.
pub fn parse_local_time(s: &str) -> Option<i64> {
    let s = s.trim().replace(' ', "T");
    let (d, t) = s.split_once('T')?;
    let mut dp = d.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (dp.next()??, dp.next()??, dp.next()??);
    let mut tp = t.split(':').map(|x| x.parse::<i64>().ok());
    let (hh, mm) = (tp.next()??, tp.next()??);
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(day).ok()?).ok()?;
    if !(0..24).contains(&hh) || !(0..60).contains(&mm) {
        return None;
    }
    let midnight = date.midnight().assume_utc().unix_timestamp() - 8 * 3600;
    Some(midnight + hh * 3600 + mm * 60)
}

/// Unix seconds as a `datetime-local` value, Beijing.
pub fn local_input(t: i64) -> String {
    crate_fmt(t).replace(' ', "T")
}

fn crate_fmt(t: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(t) {
        Ok(dt) => {
            let d =
                dt.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                d.year(),
                u8::from(d.month()),
                d.day(),
                d.hour(),
                d.minute()
            )
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn periods_of_every_length() {
        assert_eq!(ReportPeriod::of(date!(2026 - 06 - 30), 6).key(), "2026H1");
        assert_eq!(ReportPeriod::of(date!(2026 - 07 - 01), 6).key(), "2026H2");
        assert_eq!(ReportPeriod::of(date!(2026 - 07 - 01), 3).key(), "2026Q3");
        assert_eq!(ReportPeriod::of(date!(2026 - 12 - 31), 1).key(), "2026M12");
        assert_eq!(ReportPeriod::of(date!(2026 - 03 - 01), 12).key(), "2026");
        // Not a length: half-years.
        assert_eq!(ReportPeriod::of(date!(2026 - 03 - 01), 5).key(), "2026H1");
        assert_eq!(
            ReportPeriod::parse("2026h2"),
            Some(ReportPeriod {
                year: 2026,
                months: 6,
                index: 2
            })
        );
        for bad in [
            "2026H3",
            "H1",
            "2026Q5",
            "2026M13",
            "2026M0",
            "2026X1",
            "1999",
            "2026Q",
            "二〇二六",
        ] {
            assert_eq!(ReportPeriod::parse(bad), None, "{bad}");
        }
        for months in [1, 3, 6, 12] {
            let all = ReportPeriod::of_year(2026, months);
            assert_eq!(all.len(), usize::from(12 / months));
            for (i, p) in all.iter().enumerate() {
                assert_eq!(ReportPeriod::parse(&p.key()), Some(*p));
                // Keys sort as the periods do, and lie in the year's range.
                if i > 0 {
                    assert!(all[i - 1].key() < p.key());
                }
                let (low, high) = ReportPeriod::year_range(2026);
                assert!(low <= p.key() && p.key() < high);
            }
        }
        assert_eq!(
            ReportPeriod::parse("2026H1").map(|p| p.label()),
            Some("2026年上半年".into())
        );
        assert_eq!(
            ReportPeriod::parse("2026Q3").map(|p| p.label()),
            Some("2026年第三季度".into())
        );
        assert_eq!(
            ReportPeriod::parse("2026M07").map(|p| p.label()),
            Some("2026年7月".into())
        );
        assert_eq!(
            ReportPeriod::parse("2026").map(|p| p.label()),
            Some("2026年".into())
        );
    }

    #[test]
    fn hours_parse_into_minutes() {
        assert_eq!(parse_hours("2"), Ok(120));
        assert_eq!(parse_hours("2.5"), Ok(150));
        assert_eq!(parse_hours("0.75小时"), Ok(45));
        assert_eq!(parse_hours(" 1.25 "), Ok(75));
        assert!(parse_hours("-1")
            .expect_err("refused")
            .contains("不能为负数"));
        assert!(parse_hours("两小时")
            .expect_err("refused")
            .contains("应为数字"));
        assert!(parse_hours("").expect_err("refused").contains("请填写"));
        assert!(parse_hours("NaN").is_err());
        assert_eq!(hours_text(150), "2.5");
        assert_eq!(hours_text(120), "2");
        assert_eq!(hours_text(75), "1.25");
        assert_eq!(hours_text(-90), "-1.5");
    }

    #[test]
    fn minutes_limits() {
        assert!(check_minutes(120, 180, 0).is_ok());
        assert!(check_minutes(180, 180, 0).is_ok());
        assert!(check_minutes(-1, 180, 0)
            .expect_err("refused")
            .contains("负数"));
        assert!(check_minutes(181, 180, 0)
            .expect_err("refused")
            .contains("超过了该需求"));
        assert!(check_minutes(600, 2000, 900)
            .expect_err("refused")
            .contains("24小时"));
        assert!(check_minutes(540, 2000, 900).is_ok());
        assert!(check_minutes(1441, 3000, 0)
            .expect_err("refused")
            .contains("24小时"));
    }

    #[test]
    fn prefill_from_sign_in() {
        assert_eq!(prefill_minutes(120, None, None, 180), 120);
        assert_eq!(prefill_minutes(120, Some(0), None, 180), 120);
        assert_eq!(prefill_minutes(120, Some(0), Some(5400), 180), 90);
        assert_eq!(prefill_minutes(120, Some(0), Some(50_000), 180), 180);
        assert_eq!(prefill_minutes(120, Some(100), Some(50), 180), 120);
    }

    #[test]
    fn claims_within_limits() {
        let now = 1000;
        assert!(check_claim(true, 2000, 3000, 2, 1, &[], now).is_ok());
        assert!(check_claim(true, 2000, 3000, 2, 2, &[], now)
            .expect_err("refused")
            .contains("名额已满"));
        assert!(check_claim(true, 900, 3000, 2, 0, &[], now)
            .expect_err("refused")
            .contains("已开始"));
        assert!(check_claim(false, 2000, 3000, 2, 0, &[], now)
            .expect_err("refused")
            .contains("已撤销"));
        assert!(check_claim(true, 2000, 3000, 2, 0, &[(2500, 3500)], now)
            .expect_err("refused")
            .contains("时间重叠"));
        // Touching ends do not overlap.
        assert!(check_claim(true, 2000, 3000, 2, 0, &[(3000, 3500), (1000, 2000)], now).is_ok());
        assert!(check_cancel("claimed", 2000, now).is_ok());
        assert!(check_cancel("claimed", 900, now)
            .expect_err("refused")
            .contains("已开始"));
        assert!(check_cancel("confirmed", 2000, now).is_err());
    }

    #[test]
    fn need_fields() {
        let start = parse_local_time("2030-05-01T09:00").expect("time");
        let end = parse_local_time("2030-05-01 12:00").expect("time");
        assert_eq!(end - start, 3 * 3600);
        let ok = NeedFields {
            title: "敬老院义诊",
            skills: "医疗",
            place: "社区服务站",
            starts_at: Some(start),
            ends_at: Some(end),
            slots: "5",
            hours: "3",
        };
        assert_eq!(check_need(&ok, 0), Ok((5, 180)));
        let too_long = NeedFields { hours: "4", ..ok };
        assert!(check_need(&too_long, 0).expect_err("refused")["hours"].contains("超过"));
        let bad = NeedFields {
            title: "",
            starts_at: Some(end),
            ends_at: Some(start),
            slots: "0",
            hours: "-2",
            ..ok
        };
        let p = check_need(&bad, 0).expect_err("refused");
        assert_eq!(p.len(), 4, "{p:?}");
        let past = NeedFields { ..ok };
        assert!(check_need(&past, start + 1).expect_err("refused")["starts_at"].contains("已过"));
        assert_eq!(parse_local_time("2030-13-01T09:00"), None);
        assert_eq!(parse_local_time("nonsense"), None);
        assert_eq!(local_input(start), "2030-05-01T09:00");
        assert_eq!(month_of(start), "2030-05");
        assert_eq!(months_of(2026).len(), 12);
    }

    #[test]
    fn ledger_rules() {
        assert!(balanced(&[-120, 120]));
        assert!(!balanced(&[-120, 100]));
        assert!(!balanced(&[0, 0]));
        assert!(!balanced(&[5]));
        assert!(check_redeem(100, 60).is_ok());
        assert!(check_redeem(59, 60)
            .expect_err("refused")
            .contains("余额不足"));
        assert!(check_redeem(59, 0).is_err());
        assert_eq!(per_member(600, 4), Some(2.5));
        assert_eq!(per_member(600, 0), None);
    }
}
