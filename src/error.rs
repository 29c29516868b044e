//! One error type at the HTTP boundary. It answers the API with
//! `{"error":{"code","message","fields"}}`; page routes turn the same error into a
//! Chinese page (see `web::render_error_pages`). Internal details go to the log only.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("请先登录")]
    Unauthorized,
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("没有权限执行此操作")]
    Forbidden,
    /// Forbidden for a reason the caller should be told ("您不是本支部党员，不能签到此会议").
    #[error("{0}")]
    Refused(String),
    #[error("请先修改初始密码")]
    PasswordChangeRequired,
    #[error("密码已过期，请先修改密码")]
    PasswordExpired,
    #[error("您的角色须启用双因素认证，请先绑定动态验证码")]
    TotpEnrolmentRequired,
    #[error("请输入动态验证码")]
    TotpRequired,
    /// An API token asked for what only a signed-in person may do: manage tokens, the
    /// second factor, the password or the digest email.
    #[error("API 令牌不能管理令牌、第二因素、密码或邮箱，请登录后操作")]
    SessionRequired,
    /// A form or API write sent with the session cookie from another site's page.
    #[error("跨站请求被拒绝：请从本系统的页面提交")]
    CrossSite,
    #[error("找不到该记录，或您无权查看")]
    NotFound,
    #[error("{message}")]
    Invalid {
        message: String,
        fields: FieldErrors,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A password alone, at an account guarded against guessing from many addresses, from
    /// an address not its own: the second-factor code must come with it.
    #[error("{0}")]
    CodeFirst(String),
    #[error("服务器内部错误，请稍后再试")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::Invalid {
            message: message.into(),
            fields: FieldErrors::new(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        let message = message.into();
        let mut fields = FieldErrors::new();
        fields.insert(field.to_string(), message.clone());
        AppError::Invalid { message, fields }
    }

    pub fn fields(fields: FieldErrors) -> AppError {
        AppError::Invalid {
            message: crate::messages::FORM_HAS_ERRORS.to_string(),
            fields,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden
            | AppError::Refused(_)
            | AppError::PasswordChangeRequired
            | AppError::PasswordExpired
            | AppError::TotpEnrolmentRequired
            | AppError::SessionRequired
            | AppError::CrossSite => StatusCode::FORBIDDEN,
            AppError::TotpRequired => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests(_) | AppError::CodeFirst(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::BadCredentials => "bad_credentials",
            AppError::Forbidden | AppError::Refused(_) => "forbidden",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::PasswordExpired => "password_expired",
            AppError::TotpEnrolmentRequired => "totp_enrolment_required",
            AppError::TotpRequired => "totp_required",
            AppError::SessionRequired => "session_required",
            AppError::CrossSite => "cross_site",
            AppError::NotFound => "not_found",
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "too_large",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::CodeFirst(_) => "code_first",
            AppError::Internal(_) => "internal",
        }
    }
}

/// PostgreSQL's SQLSTATE for a character the encoding cannot hold: in UTF-8, only NUL.
const PG_CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";

/// A NUL in any text sent (a field, a search word, a user name at login) fails the
/// statement on PostgreSQL (SQLite stores it): the input's fault, not the server's.
fn nul_in_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.code().as_deref() == Some(PG_CHARACTER_NOT_IN_REPERTOIRE))
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = e {
            return AppError::NotFound;
        }
        if nul_in_text(&e) {
            return AppError::invalid(crate::messages::NUL_IN_TEXT);
        }
        AppError::Internal(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    /// Database errors also arrive through helpers that return `anyhow` (the query
    /// builder, transactions), with or without context.
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<sqlx::Error>().is_some_and(nul_in_text) {
            return AppError::invalid(crate::messages::NUL_IN_TEXT);
        }
        AppError::Internal(e)
    }
}

/// Placed on error responses so page routes can render them as HTML.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub message: String,
    pub fields: FieldErrors,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub fields: FieldErrors,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let status = self.status();
        let message = self.to_string();
        let fields = match &self {
            AppError::Invalid { fields, .. } => fields.clone(),
            _ => FieldErrors::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: message.clone(),
                fields: fields.clone(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        resp.extensions_mut().insert(ErrorInfo {
            status,
            message,
            fields,
        });
        resp
    }
}

/// Maps a unique-constraint violation to a field error; anything else stays internal.
pub fn on_unique(e: sqlx::Error, field: &str, message: &str) -> AppError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return AppError::field(field, message);
        }
    }
    AppError::from(e)
}
