//! Refuses text containing NUL (U+0000) or a bidirectional control before any handler
//! sees it.
//!
//! PostgreSQL cannot store NUL and SQLite can; refusing it at the door answers the same
//! on both backends (422 with one message) instead of storing it on one and failing the
//! statement on the other. A bidi control (U+202E…, `text::is_bidi_control`) has no place in
//! a name or a record and makes one display as another, so it is refused the same way.
//! Looked at: the query string, and bodies sent as a form or as JSON. Multipart uploads
//! carry files, where such bytes are ordinary, and are left alone (their file names and an
//! imported workbook's cells are checked where they are read).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;
use crate::text::{has_bidi_control, is_bidi_control};

/// Whether a URL-encoded text (a query string or a form body) decodes to a NUL.
pub fn urlencoded_has_nul(text: &[u8]) -> bool {
    text.contains(&0) || text.windows(3).any(|w| w == b"%00")
}

/// Whether a URL-encoded text decodes to a bidi control, in a name or a value.
pub fn urlencoded_has_bidi(text: &[u8]) -> bool {
    url::form_urlencoded::parse(text).any(|(k, v)| has_bidi_control(&k) || has_bidi_control(&v))
}

/// The code units of a JSON text's `\uXXXX` escapes that are not themselves escaped.
fn json_escapes(text: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i + 6 <= text.len() {
            if text[i] != b'\\' {
                i += 1;
                continue;
            }
            // An escape: `\uXXXX` is read; anything else is skipped whole, so `\\u0000`
            // (an escaped backslash, then the text "u0000") is not one.
            let at = i;
            i += 2;
            let hex = &text[at + 2..at + 6];
            if text[at + 1] == b'u' && hex.iter().all(u8::is_ascii_hexdigit) {
                i = at + 6;
                let unit = hex.iter().fold(0, |n, &b| {
                    n * 16 + char::from(b).to_digit(16).unwrap_or_default()
                });
                return Some(unit);
            }
        }
        None
    })
}

/// Whether a JSON text holds a string with NUL: the escape `\u0000` (any case), not
/// itself escaped. A raw NUL byte is not valid JSON and is left to the JSON parser.
pub fn json_has_nul(text: &[u8]) -> bool {
    json_escapes(text).any(|u| u == 0)
}

/// Whether a JSON text holds a bidi control, written as itself (only strings hold text
/// beyond ASCII) or as an escape. Text that is not UTF-8 is left to the JSON parser.
pub fn json_has_bidi(text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok_and(has_bidi_control)
        || json_escapes(text).any(|u| char::from_u32(u).is_some_and(is_bidi_control))
}

enum Kind {
    Form,
    Json,
    Other,
}

fn body_kind(req: &Request) -> Kind {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Kind::Other;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        Kind::Form
    } else if essence == "application/json" || essence.ends_with("+json") {
        Kind::Json
    } else {
        Kind::Other
    }
}

pub async fn refuse(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let nul = || AppError::invalid(crate::messages::NUL_IN_TEXT).into_response();
    let bidi = || AppError::invalid(crate::messages::BIDI_IN_TEXT).into_response();
    if let Some(q) = req.uri().query() {
        if urlencoded_has_nul(q.as_bytes()) {
            return nul();
        }
        if urlencoded_has_bidi(q.as_bytes()) {
            return bidi();
        }
    }
    let kind = body_kind(&req);
    if matches!(kind, Kind::Other) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let limit = state.config.max_upload_bytes + 64 * 1024;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return crate::web::rejection_error(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "")
                .into_response()
        }
    };
    let (has_nul, has_bidi) = match kind {
        Kind::Form => (urlencoded_has_nul(&bytes), urlencoded_has_bidi(&bytes)),
        _ => (json_has_nul(&bytes), json_has_bidi(&bytes)),
    };
    if has_nul {
        return nul();
    }
    if has_bidi {
        return bidi();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_in_urlencoded_text() {
        assert!(urlencoded_has_nul(b"q=%00"));
        assert!(urlencoded_has_nul(b"name=a%00b&x=1"));
        assert!(urlencoded_has_nul(b"name=a\0b"));
        assert!(!urlencoded_has_nul(b"q=%E7%8E%8B&page=100"));
        assert!(
            !urlencoded_has_nul(b"q=%2500"),
            "an encoded \"%00\" is text"
        );
        assert!(!urlencoded_has_nul(b""));
    }

    #[test]
    fn finds_nul_escapes_in_json_strings() {
        assert!(json_has_nul(br#"{"name":"a\u0000b"}"#));
        assert!(json_has_nul(br#"{"name":"\u0000"}"#));
        assert!(
            json_has_nul(br#"["x\\\u0000"]"#),
            "escaped backslash, then a NUL"
        );
        assert!(
            !json_has_nul(br#"{"name":"a\\u0000b"}"#),
            "the text \\u0000"
        );
        assert!(!json_has_nul(br#"{"name":"\u4e2d\u0001"}"#));
        assert!(!json_has_nul(br#"{"n":0,"m":"u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\\"}"#));
        assert!(!json_has_nul(b""));
    }

    #[test]
    fn finds_bidi_controls_however_encoded() {
        assert!(urlencoded_has_bidi(b"name=%E2%80%AE"));
        assert!(urlencoded_has_bidi("name=a\u{2067}b".as_bytes()));
        assert!(urlencoded_has_bidi(b"%E2%80%8F=x"), "in a name too");
        assert!(urlencoded_has_bidi(b"q=%D8%9C"));
        assert!(!urlencoded_has_bidi(b"q=%E7%8E%8B&page=1"));
        assert!(
            !urlencoded_has_bidi(b"q=%25E2%2580%25AE"),
            "the text \"%E2%80%AE\""
        );
        assert!(json_has_bidi("{\"name\":\"\u{202E}gpj.exe\"}".as_bytes()));
        assert!(json_has_bidi(br#"{"name":"a\u202Eb"}"#));
        assert!(json_has_bidi(br#"{"name":"a\u2066b"}"#));
        assert!(json_has_bidi(br#"{"name":"a\u061cb"}"#));
        assert!(
            !json_has_bidi(br#"{"name":"a\\u202eb"}"#),
            "the text \\u202e"
        );
        assert!(!json_has_bidi("{\"name\":\"سلام\"}".as_bytes()));
        assert!(!json_has_bidi(br#"{"name":"\u4e2d\u6587"}"#));
        assert!(!json_has_bidi(b"\xff\xfe"));
        assert!(!json_has_nul(br#"{"a":"\u+000"}"#), "not an escape");
    }
}
