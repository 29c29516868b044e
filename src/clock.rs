//! The one clock: instants as unix seconds, days and times of day in Beijing time, which
//! is what every user of the system means by "today".

use std::time::Duration;

use time::{Date, OffsetDateTime, UtcOffset};

/// UTC+8, China's only time zone.
pub fn beijing() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Now, as unix seconds (how instants are stored on both backends).
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, in Beijing time.
pub fn beijing_now() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(beijing())
}

/// Today's date in Beijing.
pub fn today() -> Date {
    beijing_now().date()
}

/// The unix second at which the Beijing day holding `t` began.
pub fn day_start(t: i64) -> i64 {
    t - (t + 8 * 3600).rem_euclid(86_400)
}

/// Unix seconds as Beijing time, `YYYY-MM-DD HH:MM`.
pub fn fmt_time(t: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(t) {
        Ok(dt) => {
            let dt = dt.to_offset(beijing());
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute()
            )
        }
        Err(_) => String::new(),
    }
}

/// Time from `now` until the next `hour`:`minute` in `now`'s offset (tomorrow's if it has
/// passed or is now).
pub fn until_next(now: OffsetDateTime, hour: u8, minute: u8) -> Duration {
    let secs =
        i64::from(now.hour()) * 3600 + i64::from(now.minute()) * 60 + i64::from(now.second());
    let target = i64::from(hour) * 3600 + i64::from(minute) * 60;
    let wait = if target > secs {
        target - secs
    } else {
        target + 24 * 3600 - secs
    };
    Duration::from_secs(wait.clamp(1, 24 * 3600) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn waits_for_the_next_time_of_day() {
        assert_eq!(
            until_next(datetime!(2026-01-01 01:00:00 +08:00), 2, 0),
            Duration::from_secs(3600)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 02:00:00 +08:00), 2, 0),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 23:30:00 +08:00), 2, 0),
            Duration::from_secs(2 * 3600 + 30 * 60)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 01:59:59 +08:00), 2, 0),
            Duration::from_secs(1)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 05:00:00 +08:00), 0, 0),
            Duration::from_secs(19 * 3600)
        );
        assert_eq!(
            until_next(datetime!(2026-01-01 23:00:00 +08:00), 0, 5),
            Duration::from_secs(3600 + 5 * 60)
        );
    }

    #[test]
    fn beijing_day_and_time() {
        // 2026-01-01 00:00 Beijing is 2025-12-31 16:00 UTC.
        let t = datetime!(2025-12-31 16:00:00 UTC).unix_timestamp();
        assert_eq!(fmt_time(t), "2026-01-01 00:00");
        assert_eq!(day_start(t), t);
        assert_eq!(day_start(t + 86_399), t);
        assert_eq!(day_start(t - 1), t - 86_400);
    }
}
