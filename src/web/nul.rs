//! Refuses text containing NUL (U+0000) before any handler sees it.
//!
//! PostgreSQL cannot store NUL and SQLite can; refusing it at the door answers the same
//! on both backends (422 with one message) instead of storing it on one and failing the
//! statement on the other. Looked at: the query string, and bodies sent as a form or as
//! JSON. Multipart uploads carry files, where NUL bytes are ordinary, and are left alone.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Whether a URL-encoded text (a query string or a form body) decodes to a NUL.
pub fn urlencoded_has_nul(text: &[u8]) -> bool {
    text.contains(&0) || text.windows(3).any(|w| w == b"%00")
}

/// Whether a JSON text holds a string with NUL: the escape `\u0000` (any case), not
/// itself escaped. A raw NUL byte is not valid JSON and is left to the JSON parser.
pub fn json_has_nul(text: &[u8]) -> bool {
    let mut i = 0;
    while i + 6 <= text.len() {
        if text[i] == b'\\' {
            // An escape: `\u0000` is a NUL; anything else is skipped whole, so `\\u0000`
            // (an escaped backslash, then the text "u0000") is not one.
            if text[i + 1] == b'u' && text[i + 2..i + 6].iter().all(|&b| b == b'0') {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
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
    if req
        .uri()
        .query()
        .is_some_and(|q| urlencoded_has_nul(q.as_bytes()))
    {
        return nul();
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
    let has_nul = match kind {
        Kind::Form => urlencoded_has_nul(&bytes),
        _ => json_has_nul(&bytes),
    };
    if has_nul {
        return nul();
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
}
