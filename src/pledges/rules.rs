//! 一句话承诺's pure rules: the states of a pledge, a feedback and a fulfilment rating; the
//! limits of every text a pledger, a unit admin or the public types; the bot challenge of the
//! public form (its question from a nonce, its token's layout and age); public keys; and the
//! figures of a list of pledges. No I/O.

use std::collections::BTreeMap;

crate::choice! {
    /// A pledge: a 草稿 its pledger edits, 待审核 once submitted, then 已公开亮诺 (accepted,
    /// on the public board) or 已退回 (returned with a comment, edited and submitted again).
    pub enum PledgeStatus {
        Draft = "draft", "草稿", [];
        Submitted = "submitted", "待审核", [];
        Accepted = "accepted", "已公开亮诺", ["已通过"];
        Returned = "returned", "已退回", [];
    }
}

crate::choice! {
    /// The public's feedback: 待审核 (held) until the unit admin publishes or hides it.
    pub enum FeedbackStatus {
        Held = "held", "待审核", [];
        Published = "published", "已公开", [];
        Hidden = "hidden", "已隐藏", [];
    }
}

crate::choice! {
    /// Year-end fulfilment (践诺) as the unit or the committee rates it.
    pub enum Fulfilment {
        Fulfilled = "fulfilled", "已践诺", ["践诺"];
        Partly = "partly", "部分践诺", [];
        Not = "not", "未践诺", [];
    }
}

crate::choice! {
    /// Who rates fulfilment.
    pub enum ReviewLevel {
        Unit = "unit", "单位评价", [];
        Committee = "committee", "工委评价", [];
    }
}

/// Field name → Chinese message.
pub type Problems = BTreeMap<String, String>;

/// The one sentence, in characters: one sentence, not an essay.
pub const BODY_MIN: usize = 8;
pub const BODY_MAX: usize = 120;
pub const POST_MAX: usize = 30;
pub const DIVISION_MAX: usize = 30;
pub const MILESTONE_MAX: usize = 60;
pub const MILESTONES_MAX: usize = 3;
pub const COMMENT_MAX: usize = 300;
pub const REPORT_MAX: usize = 500;
pub const EVIDENCE_MAX: usize = 500;
pub const FEEDBACK_MAX: usize = 300;
pub const CONTACT_MAX: usize = 50;
pub const REPLY_MAX: usize = 300;
pub const REASON_MAX: usize = 300;

/// The public form's challenge: answered no sooner than this after it was shown (a person
/// reads the pledge first; a script posts at once) and no later than this.
pub const CHALLENGE_MIN_SECS: i64 = 2;
pub const CHALLENGE_MAX_SECS: i64 = 2 * 3600;

/// Checks a required text against its limit, by characters.
pub fn required_text(p: &mut Problems, field: &str, what: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n == 0 {
        p.insert(field.into(), format!("请填写{what}"));
    } else if n > max {
        p.insert(field.into(), format!("{what}不超过{max}字，现为{n}字"));
    }
}

/// Checks an optional text against its limit.
pub fn optional_text(p: &mut Problems, field: &str, what: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n > max {
        p.insert(field.into(), format!("{what}不超过{max}字，现为{n}字"));
    }
}

/// The pledge's sentence: between `BODY_MIN` and `BODY_MAX` characters, one line.
pub fn check_body(p: &mut Problems, body: &str) {
    let n = body.chars().count();
    if n == 0 {
        p.insert("body".into(), "请填写承诺内容（一句话）".into());
    } else if n < BODY_MIN {
        p.insert(
            "body".into(),
            format!("承诺内容至少{BODY_MIN}字，写明做什么、做到什么程度，现为{n}字"),
        );
    } else if n > BODY_MAX {
        p.insert(
            "body".into(),
            format!("一句话承诺不超过{BODY_MAX}字，现为{n}字"),
        );
    } else if body.contains('\n') {
        p.insert("body".into(), "一句话承诺请写成一句，不要换行".into());
    }
}

/// Milestones as typed: blank ones dropped, at most `MILESTONES_MAX`, each within its limit.
pub fn check_milestones(p: &mut Problems, typed: &[String]) -> Vec<String> {
    let kept: Vec<String> = typed
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if kept.len() > MILESTONES_MAX {
        p.insert(
            "milestones".into(),
            format!("可量化节点最多{MILESTONES_MAX}个，现为{}个", kept.len()),
        );
    }
    for (i, m) in kept.iter().enumerate() {
        let n = m.chars().count();
        if n > MILESTONE_MAX {
            p.insert(
                format!("milestones.{i}"),
                format!("第{}个节点不超过{MILESTONE_MAX}字，现为{n}字", i + 1),
            );
        }
    }
    kept
}

/// A rating of 1 to 5 stars, as typed.
pub fn parse_rating(p: &mut Problems, s: &str) -> i64 {
    match s.trim().parse::<i64>() {
        Ok(v @ 1..=5) => v,
        _ => {
            p.insert("rating".into(), "请选择1至5星的评价".into());
            0
        }
    }
}

/// A percentage of 0 to 100, as typed.
pub fn parse_percent(p: &mut Problems, s: &str) -> i64 {
    match s.trim().trim_end_matches('%').trim().parse::<i64>() {
        Ok(v @ 0..=100) => v,
        _ => {
            p.insert("progress".into(), "完成进度应为0至100之间的整数".into());
            0
        }
    }
}

/// The two numbers the challenge asks to add, from the token's nonce (any bytes): 1..=9 each.
pub fn challenge_numbers(nonce: &[u8]) -> (i64, i64) {
    let a = nonce.first().copied().unwrap_or(0);
    let b = nonce.get(1).copied().unwrap_or(0);
    (i64::from(a % 9) + 1, i64::from(b % 9) + 1)
}

/// The question shown, in words a person reads and a naive script does not parse.
pub fn challenge_question(nonce: &[u8]) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let (a, b) = challenge_numbers(nonce);
    format!(
        "{}加{}等于几？（请填阿拉伯数字）",
        DIGITS[a as usize], DIGITS[b as usize]
    )
}

/// The answer typed: digits, full-width digits folded.
pub fn answer_ok(nonce: &[u8], typed: &str) -> bool {
    let folded: String = typed
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect();
    let (a, b) = challenge_numbers(nonce);
    folded.parse::<i64>().ok() == Some(a + b)
}

/// The token's signed part: `v1.<pledge key>.<issued at>.<nonce hex>`.
pub fn token_payload(key: &str, issued_at: i64, nonce_hex: &str) -> String {
    format!("v1.{key}.{issued_at}.{nonce_hex}")
}

/// A token's parts: (pledge key, issued at, nonce hex, mac hex); None when malformed.
pub fn split_token(token: &str) -> Option<(&str, i64, &str, &str)> {
    let mut it = token.trim().split('.');
    let (v, key, at, nonce, mac) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if v != "v1" || it.next().is_some() || !public_key_ok(key) {
        return None;
    }
    if nonce.len() != 16 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((key, at.parse().ok()?, nonce, mac))
}

/// Whether a challenge issued at `issued_at` may be answered at `now`; the message if not.
pub fn challenge_age(issued_at: i64, now: i64) -> Result<(), &'static str> {
    let age = now - issued_at;
    if age < CHALLENGE_MIN_SECS {
        Err("提交过快：请阅读承诺内容后再提交评价")
    } else if age > CHALLENGE_MAX_SECS {
        Err("页面已打开太久，请刷新后重新填写")
    } else {
        Ok(())
    }
}

/// A public key: 20 lowercase letters and digits (about 103 bits), nothing else.
pub const PUBLIC_KEY_LEN: usize = 20;

pub fn public_key_ok(key: &str) -> bool {
    key.len() == PUBLIC_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A public key from random bytes (one letter or digit per byte).
pub fn public_key_from(bytes: &[u8; PUBLIC_KEY_LEN]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect()
}

/// A contact as stored for the unit admin, masked when shown in lists: `138****8000`.
pub fn mask_contact(contact: &str) -> String {
    let chars: Vec<char> = contact.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep = (chars.len() / 4).clamp(1, 3);
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{head}****{tail}")
}

/// The fulfilment that counts for a pledge: the committee's rating over the unit's.
pub fn final_fulfilment(
    unit: Option<Fulfilment>,
    committee: Option<Fulfilment>,
) -> Option<Fulfilment> {
    committee.or(unit)
}

/// Average of ratings as shown: one decimal, or "—" with none.
pub fn average_text(sum: i64, n: i64) -> String {
    if n <= 0 {
        "—".into()
    } else {
        format!("{:.1}", sum as f64 / n as f64)
    }
}

/// A day as people read it (Beijing), `YYYY-MM-DD`.
pub fn date_text(t: i64) -> String {
    crate::clock::fmt_time(t).chars().take(10).collect()
}

/// Stars as text, for the board: ★★★★☆.
pub fn stars(rating: i64) -> String {
    let r = rating.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limits() {
        for (text, ok) in [
            ("", false),
            ("做好工作", false),
            ("全年办结群众来信来访100%，当日受理", true),
            (&"好".repeat(BODY_MAX), true),
            (&"好".repeat(BODY_MAX + 1), false),
            ("第一行承诺内容很长\n第二行", false),
        ] {
            let mut p = Problems::new();
            check_body(&mut p, text);
            assert_eq!(p.is_empty(), ok, "{text:?}: {p:?}");
        }
    }

    #[test]
    fn milestones_drop_blanks_and_cap() {
        let mut p = Problems::new();
        let kept = check_milestones(&mut p, &["a".into(), " ".into(), "b".into()]);
        assert_eq!(kept, vec!["a", "b"]);
        assert!(p.is_empty());
        let mut p = Problems::new();
        check_milestones(&mut p, &vec!["x".to_string(); 4]);
        assert!(p.contains_key("milestones"));
        let mut p = Problems::new();
        check_milestones(&mut p, &["长".repeat(MILESTONE_MAX + 1)]);
        assert!(p.contains_key("milestones.0"));
    }

    #[test]
    fn ratings_and_percent() {
        for (s, v, ok) in [
            ("1", 1, true),
            ("5", 5, true),
            ("0", 0, false),
            ("6", 0, false),
            ("x", 0, false),
        ] {
            let mut p = Problems::new();
            assert_eq!(parse_rating(&mut p, s), v);
            assert_eq!(p.is_empty(), ok);
        }
        for (s, v, ok) in [
            ("0", 0, true),
            ("100", 100, true),
            ("50%", 50, true),
            ("101", 0, false),
            ("-1", 0, false),
        ] {
            let mut p = Problems::new();
            assert_eq!(parse_percent(&mut p, s), v);
            assert_eq!(p.is_empty(), ok);
        }
    }

    #[test]
    fn challenge_answers() {
        let nonce = [7u8, 200];
        let (a, b) = challenge_numbers(&nonce);
        assert_eq!((a, b), (8, 3));
        assert!(answer_ok(&nonce, "11"));
        assert!(answer_ok(&nonce, " １１ "));
        assert!(!answer_ok(&nonce, "12"));
        assert!(!answer_ok(&nonce, ""));
        assert!(challenge_question(&nonce).starts_with("八加三"));
        for n in 0..=255u8 {
            let (a, b) = challenge_numbers(&[n, n]);
            assert!((1..=9).contains(&a) && (1..=9).contains(&b));
        }
    }

    #[test]
    fn challenge_age_bounds() {
        assert!(challenge_age(100, 100 + CHALLENGE_MIN_SECS - 1).is_err());
        assert!(challenge_age(100, 100 + CHALLENGE_MIN_SECS).is_ok());
        assert!(challenge_age(100, 100 + CHALLENGE_MAX_SECS).is_ok());
        assert!(challenge_age(100, 100 + CHALLENGE_MAX_SECS + 1).is_err());
    }

    #[test]
    fn tokens_split() {
        let key = "abcdefghijkmnpqrst23";
        let t = format!("{}.{}", token_payload(key, 42, "00112233445566ff"), "ab");
        assert_eq!(split_token(&t), Some((key, 42, "00112233445566ff", "ab")));
        assert!(split_token("v1.x.1.00112233445566ff.ab").is_none());
        assert!(split_token(&format!("v2.{key}.1.00112233445566ff.ab")).is_none());
        assert!(split_token(&format!("v1.{key}.1.0011.ab")).is_none());
        assert!(split_token(&format!("{t}.extra")).is_none());
    }

    #[test]
    fn public_keys() {
        let k = public_key_from(&[255u8; PUBLIC_KEY_LEN]);
        assert!(public_key_ok(&k), "{k}");
        assert!(!public_key_ok("ABCDEFGHIJKLMNOPQRST"));
        assert!(!public_key_ok("short"));
        assert!(!public_key_ok("abcdefghijkmnpqrst2<"));
    }

    #[test]
    fn masks_and_figures() {
        assert_eq!(mask_contact("13800138000"), "13****00");
        assert_eq!(mask_contact("abc"), "***");
        assert_eq!(average_text(9, 2), "4.5");
        assert_eq!(average_text(0, 0), "—");
        assert_eq!(stars(3), "★★★☆☆");
        assert_eq!(
            final_fulfilment(Some(Fulfilment::Fulfilled), Some(Fulfilment::Partly)),
            Some(Fulfilment::Partly)
        );
        assert_eq!(
            final_fulfilment(Some(Fulfilment::Not), None),
            Some(Fulfilment::Not)
        );
    }
}
