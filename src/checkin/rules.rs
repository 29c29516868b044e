//! The rotating code: which time windows a scanned code may belong to, and the code's shape.
//! Pure; the keyed hash itself is the caller's (`crypto::Keys::seal`).

use serde::{Deserialize, Serialize};

/// A code is drawn for one window of this many seconds. The organiser's page redraws it
/// every [`REDRAW_SECONDS`].
pub const WINDOW_SECONDS: i64 = 10;
pub const REDRAW_SECONDS: i64 = 4;
/// Windows before the current one whose code is still taken: the phone's camera, the page
/// load and a slow network take a few seconds. A code lives 10–20 s.
pub const GRACE_WINDOWS: i64 = 1;
/// A sign-in opened and left open is closed by itself after this long.
pub const SESSION_SECONDS: i64 = 4 * 3600;
/// Characters of the keyed hash (hex) the code keeps: 48 bits, against a 20-second life.
pub const CODE_LEN: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn key(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Direction::In => "签到",
            Direction::Out => "签退",
        }
    }
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim() {
            "in" | "签到" => Some(Direction::In),
            "out" | "签退" => Some(Direction::Out),
            _ => None,
        }
    }
}

/// The window an instant falls in.
pub fn window(at: i64) -> i64 {
    at.div_euclid(WINDOW_SECONDS)
}

/// The windows a code scanned at `at` may have been drawn for, newest first.
pub fn accepted_windows(at: i64) -> impl Iterator<Item = i64> {
    let w = window(at);
    (0..=GRACE_WINDOWS).map(move |i| w - i)
}

/// What is hashed for the code of `session` in `window`.
pub fn payload(session: i64, window: i64) -> String {
    format!("checkin\0{session}\0{window}")
}

/// The code from a keyed hash in hex.
pub fn code_of(hash_hex: &str) -> String {
    hash_hex.chars().take(CODE_LEN).collect()
}

/// Whether a scanned code has the code's shape at all (checked before any hashing).
pub fn code_shape_ok(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a sign-in opened until `expires_at` and closed at `closed_at` still takes scans.
pub fn session_open(at: i64, expires_at: i64, closed_at: Option<i64>) -> bool {
    closed_at.is_none() && at < expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_taken_in_its_window_and_the_next_only() {
        let drawn = 1_000_000; // a window's first second
        let w = window(drawn);
        // Scanned in the same window, at its last second, and in the next window.
        for at in [drawn, drawn + WINDOW_SECONDS - 1, drawn + WINDOW_SECONDS] {
            assert!(accepted_windows(at).any(|x| x == w), "at +{}", at - drawn);
        }
        // Two windows on: a forwarded photo.
        assert!(!accepted_windows(drawn + 2 * WINDOW_SECONDS).any(|x| x == w));
        // Never a code of the future.
        assert!(!accepted_windows(drawn - 1).any(|x| x == w));
        // The organiser's page redraws well within one window.
        const _: () = assert!(REDRAW_SECONDS < WINDOW_SECONDS);
    }

    #[test]
    fn windows_of_instants_before_the_epoch_are_floored() {
        assert_eq!(window(-1), -1);
        assert_eq!(window(0), 0);
        assert_eq!(window(WINDOW_SECONDS - 1), 0);
    }

    #[test]
    fn codes_have_one_shape() {
        assert_eq!(code_of("0123456789abcdef0123"), "0123456789ab");
        assert!(code_shape_ok("0123456789ab"));
        assert!(!code_shape_ok("0123456789a"));
        assert!(!code_shape_ok("0123456789abc"));
        assert!(!code_shape_ok("0123456789aX"));
        assert!(!code_shape_ok("<script>1234"));
    }

    #[test]
    fn sessions_close_by_hand_or_by_time() {
        assert!(session_open(10, 11, None));
        assert!(!session_open(11, 11, None));
        assert!(!session_open(10, 11, Some(5)));
    }

    #[test]
    fn payloads_differ_by_session_and_window() {
        assert_ne!(payload(1, 2), payload(12, 2));
        assert_ne!(payload(1, 22), payload(12, 2));
        assert_eq!(Direction::parse("签退"), Some(Direction::Out));
        assert_eq!(Direction::parse("x"), None);
    }
}
