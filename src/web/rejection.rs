//! Framework rejections told in Chinese. axum refuses a bad path, query, form or JSON body
//! with English plain text ("Invalid URL: Cannot parse `abc` to a `i64`"); the page layer
//! and the API layer both pass every such answer through `rejection_error`, so no route
//! can show the English and each gets the same error shape as the handlers' own errors.

use axum::http::StatusCode;

use crate::error::{AppError, FieldErrors};

/// A framework rejection (its status and plain-text body) as one of our errors.
pub fn rejection_error(status: StatusCode, detail: &str) -> AppError {
    let detail = detail.trim();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge("上传内容超过大小限制（20MB）".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE if detail.contains("x-www-form-urlencoded") => {
            AppError::invalid("请求的内容类型不正确：表单请使用 application/x-www-form-urlencoded")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE if detail.contains("multipart") => {
            AppError::invalid("请求的内容类型不正确：上传文件请使用 multipart/form-data")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::invalid(
            "请求的内容类型不正确：JSON 接口请使用 Content-Type: application/json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => AppError::invalid("不支持该请求方法"),
        StatusCode::NOT_FOUND => AppError::NotFound,
        _ => translate(detail),
    }
}

/// Where the bad value was, as axum's rejection names it.
const SOURCES: &[(&str, &str)] = &[
    ("Invalid URL:", "网址"),
    ("Failed to deserialize query string:", "网址参数"),
    ("Failed to deserialize form body:", "表单"),
    ("Failed to deserialize form:", "表单"),
    (
        "Failed to deserialize the JSON body into the target type:",
        "JSON 请求体",
    ),
];

fn translate(detail: &str) -> AppError {
    if let Some(rest) = detail.strip_prefix("Failed to parse the request body as JSON") {
        return AppError::invalid(format!("JSON 请求体格式错误{}", position(rest)));
    }
    if detail.starts_with("Failed to buffer the request body") {
        return AppError::invalid("请求内容读取失败，请重试");
    }
    if detail.starts_with("Request body didn't contain valid UTF-8") {
        return AppError::invalid("请求内容不是有效的 UTF-8 文本");
    }
    if detail.contains("multipart") || detail.contains("boundary") {
        return AppError::invalid("上传的表单格式错误，请重新选择文件后提交");
    }
    let Some((source, rest)) = SOURCES
        .iter()
        .find_map(|(p, s)| detail.strip_prefix(p).map(|r| (*s, r.trim())))
    else {
        return AppError::invalid("请求格式错误");
    };
    let (field, problem) = if source == "网址" {
        path_problem(rest)
    } else {
        value_problem(rest)
    };
    match field {
        Some(field) => {
            let mut fields = FieldErrors::new();
            fields.insert(field.clone(), problem.clone());
            AppError::Invalid {
                message: format!("{source}有误：“{field}”{problem}"),
                fields,
            }
        }
        None => AppError::invalid(format!("{source}有误：{problem}")),
    }
}

/// The text between the first pair of backticks after `from`, and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some((&s[start..start + len], &s[start + len + 1..]))
}

/// A path segment axum could not read: `Cannot parse `id` with value `abc` to a `i64``.
fn path_problem(rest: &str) -> (Option<String>, String) {
    if let Some(r) = rest.strip_prefix("Cannot parse value at index") {
        if let Some((value, r)) = quoted(r) {
            let expected = quoted(r).map(|(t, _)| t).unwrap_or_default();
            return (None, bad_value(value, expected));
        }
    }
    if let Some(r) = rest.strip_prefix("Cannot parse") {
        if let Some((first, r)) = quoted(r) {
            if r.trim_start().starts_with("with value") {
                if let Some((value, r)) = quoted(r) {
                    let expected = quoted(r).map(|(t, _)| t).unwrap_or_default();
                    return (Some(first.to_string()), bad_value(value, expected));
                }
            }
            let expected = quoted(r).map(|(t, _)| t).unwrap_or_default();
            return (None, bad_value(first, expected));
        }
    }
    if let Some(r) = rest.strip_prefix("Invalid UTF-8 in") {
        return (
            quoted(r).map(|(k, _)| k.to_string()),
            "含有无法识别的字符".into(),
        );
    }
    (None, "地址格式不正确，请检查链接是否完整".into())
}

fn bad_value(value: &str, expected: &str) -> String {
    let value = short(value);
    format!("应为{}（收到“{value}”）", kind(expected))
}

/// Long values are cut so a message stays readable.
fn short(value: &str) -> String {
    let mut s: String = value.chars().take(40).collect();
    if value.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// A serde message, after the field path serde_path_to_error puts before it.
fn value_problem(rest: &str) -> (Option<String>, String) {
    let rest = strip_position(rest);
    let (mut field, msg) = match rest.split_once(": ") {
        Some((l, r)) if !l.is_empty() && !l.contains(' ') => (Some(l.to_string()), r),
        _ => (None, rest),
    };
    let problem = if let Some(r) = msg.strip_prefix("missing field") {
        field = Some(quoted(r).map(|(f, _)| f.to_string()).unwrap_or_default());
        "必须填写".to_string()
    } else if let Some(r) = msg.strip_prefix("unknown field") {
        field = Some(quoted(r).map(|(f, _)| f.to_string()).unwrap_or_default());
        "不是可用的参数".to_string()
    } else if let Some(r) = msg.strip_prefix("duplicate field") {
        field = Some(quoted(r).map(|(f, _)| f.to_string()).unwrap_or_default());
        "重复填写".to_string()
    } else if let Some(r) = msg.strip_prefix("unknown variant") {
        match quoted(r) {
            Some((v, tail)) => {
                let options = backticked(tail);
                if options.is_empty() {
                    format!("不能取“{}”", short(v))
                } else {
                    format!("不能取“{}”，可选：{}", short(v), options.join("、"))
                }
            }
            None => "取值不在可选范围内".into(),
        }
    } else if let Some(r) = msg.strip_prefix("invalid type:") {
        let expected = r.rsplit_once(", expected ").map(|(_, e)| e).unwrap_or("");
        format!("应为{}", kind(expected))
    } else if let Some(r) = msg.strip_prefix("invalid value:") {
        let expected = r.rsplit_once(", expected ").map(|(_, e)| e).unwrap_or("");
        format!("取值无效，应为{}", kind(expected))
    } else if msg.starts_with("invalid length") {
        "数量不对".into()
    } else if msg.starts_with("invalid digit") {
        "应为整数".into()
    } else if msg.starts_with("cannot parse integer from empty string") {
        "应为整数，不能为空".into()
    } else if msg.starts_with("number too large") || msg.starts_with("number too small") {
        "数字超出范围".into()
    } else if msg.starts_with("invalid float literal") {
        "应为数字".into()
    } else if msg.contains("`true` or `false`") {
        "应为 true 或 false".into()
    } else {
        "格式不正确".into()
    };
    (field.filter(|f| !f.is_empty() && f != "."), problem)
}

/// Every backticked word of a text: the options serde lists.
fn backticked(mut s: &str) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((w, r)) = quoted(s) {
        out.push(w.to_string());
        s = r;
    }
    out
}

/// serde_json ends its messages with " at line 1 column 9".
fn strip_position(s: &str) -> &str {
    match s.rfind(" at line ") {
        Some(i) if s[i..].contains(" column ") => &s[..i],
        _ => s,
    }
}

fn position(s: &str) -> String {
    let Some(i) = s.rfind(" at line ") else {
        return String::new();
    };
    let nums: Vec<&str> = s[i..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    match nums.as_slice() {
        [line, column] => format!("（第 {line} 行第 {column} 列附近）"),
        _ => String::new(),
    }
}

/// What serde or axum expected, in words.
fn kind(expected: &str) -> &'static str {
    let e = expected.trim();
    match e {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => "整数",
        "f32" | "f64" => "数字",
        "bool" | "a boolean" => "true 或 false",
        "char" | "a character" | "a string" | "a borrowed string" | "String" => "文本",
        "a sequence" | "a tuple" => "列表",
        "a map" => "对象",
        _ if e.contains("integer") => "整数",
        _ if e.contains("number") || e.contains("float") => "数字",
        _ if e.starts_with("struct ") || e.starts_with("a map") => "对象",
        _ if e.starts_with("a sequence") || e.starts_with("tuple") => "列表",
        _ if e.contains("string") => "文本",
        _ => "正确的格式",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(status: StatusCode, detail: &str) -> (String, FieldErrors) {
        match rejection_error(status, detail) {
            AppError::Invalid { message, fields } => (message, fields),
            e => (e.to_string(), FieldErrors::new()),
        }
    }

    /// No English words outside the quoted names and values (“per_page”, “abc”).
    fn no_english(s: &str) {
        let mut bare = String::new();
        let mut quoted = false;
        for c in s.chars() {
            match c {
                '“' => quoted = true,
                '”' => quoted = false,
                c if !quoted => bare.push(c),
                _ => {}
            }
        }
        let ascii_words = bare
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() > 3)
            .filter(|w| {
                !matches!(
                    *w,
                    "true"
                        | "false"
                        | "JSON"
                        | "json"
                        | "application"
                        | "form"
                        | "urlencoded"
                        | "multipart"
                        | "data"
                        | "Content"
                        | "Type"
                )
            })
            .collect::<Vec<_>>();
        assert!(ascii_words.is_empty(), "{s}: {ascii_words:?}");
    }

    #[test]
    fn path_values_name_the_segment_and_the_value() {
        let bad = StatusCode::BAD_REQUEST;
        let (m, f) = said(bad, "Invalid URL: Cannot parse `abc` to a `i64`");
        assert_eq!(m, "网址有误：应为整数（收到“abc”）");
        assert!(f.is_empty());
        let (m, f) = said(
            bad,
            "Invalid URL: Cannot parse `id` with value `x7` to a `i64`",
        );
        assert_eq!(m, "网址有误：“id”应为整数（收到“x7”）");
        assert_eq!(f["id"], "应为整数（收到“x7”）");
        let (m, _) = said(
            bad,
            "Invalid URL: Cannot parse value at index 1 with value `q` to a `u32`",
        );
        assert_eq!(m, "网址有误：应为整数（收到“q”）");
        let (m, _) = said(
            bad,
            "Invalid URL: Wrong number of path arguments for `Path`. Expected 1 but got 2",
        );
        no_english(&m);
    }

    #[test]
    fn query_form_and_json_values_name_the_field() {
        let bad = StatusCode::BAD_REQUEST;
        let (m, f) = said(
            bad,
            "Failed to deserialize query string: page: invalid digit found in string",
        );
        assert_eq!(m, "网址参数有误：“page”应为整数");
        assert_eq!(f["page"], "应为整数");
        let (m, f) = said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Failed to deserialize form body: missing field `name`",
        );
        assert_eq!(m, "表单有误：“name”必须填写");
        assert!(f.contains_key("name"));
        let (m, f) = said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Failed to deserialize the JSON body into the target type: unit_id: invalid type: string \"a\", expected i64 at line 1 column 14",
        );
        assert_eq!(m, "JSON 请求体有误：“unit_id”应为整数");
        assert_eq!(f["unit_id"], "应为整数");
        let (m, _) = said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Failed to deserialize the JSON body into the target type: role: unknown variant `boss`, expected one of `unit`, `branch`",
        );
        assert_eq!(m, "JSON 请求体有误：“role”不能取“boss”，可选：unit、branch");
        let (m, f) = said(
            bad,
            "Failed to deserialize query string: unknown field `sort_by`, expected one of `q`, `page`",
        );
        assert_eq!(m, "网址参数有误：“sort_by”不是可用的参数");
        assert!(f.contains_key("sort_by"));
    }

    #[test]
    fn syntax_and_everything_else_is_chinese_too() {
        let (m, _) = said(
            StatusCode::BAD_REQUEST,
            "Failed to parse the request body as JSON: expected value at line 1 column 1",
        );
        assert_eq!(m, "JSON 请求体格式错误（第 1 行第 1 列附近）");
        for (status, detail) in [
            (StatusCode::BAD_REQUEST, "Failed to deserialize query string: per_page: number too large to fit in target type"),
            (StatusCode::BAD_REQUEST, "Failed to deserialize form: x: something entirely new"),
            (StatusCode::BAD_REQUEST, "A rejection nobody has seen before"),
            (StatusCode::BAD_REQUEST, "Invalid `boundary` for `multipart/form-data` request"),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Form requests must have `Content-Type: application/x-www-form-urlencoded`"),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Expected request with `Content-Type: application/json`"),
            (StatusCode::BAD_REQUEST, ""),
        ] {
            let (m, _) = said(status, detail);
            no_english(&m);
            assert!(!m.is_empty());
        }
    }
}
