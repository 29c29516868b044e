//! Photos and sign-in sheet scans of a meeting record. The type is sniffed from the
//! content (a renamed .exe is refused), sizes and counts are limited, and the bytes go to
//! the file store; the record's scope decides who may see them.

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::store;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::clock::now;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PER_MEETING: i64 = 20;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Attachment {
    pub attachment_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
}

impl Attachment {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    pub fn size_text(&self) -> String {
        crate::web::fmt_bytes(self.size)
    }
}

pub async fn list(state: &AppState, meeting_id: i64) -> AppResult<Vec<Attachment>> {
    Ok(sqlx::query_as(
        "select attachment_id, filename, content_type, size, created_at from meeting_attachment \
         where meeting_id = $1 order by attachment_id",
    )
    .bind(meeting_id)
    .fetch_all(&state.db.pool)
    .await?)
}

/// Reads the `file` field: its name and bytes, refusing oversize files as they stream in.
pub async fn read_file(mut mp: Multipart) -> AppResult<(String, Vec<u8>)> {
    let too_large = || AppError::TooLarge(format!("单个附件不超过{}MB", MAX_BYTES / 1024 / 1024));
    let broken = || AppError::invalid("上传的内容不完整，请重新选择文件上传");
    while let Some(mut field) = mp.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            broken()
        }
    })? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("附件").to_string();
        if crate::text::has_bidi_control(&name) {
            return Err(AppError::field("file", crate::messages::BIDI_IN_TEXT));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                broken()
            }
        })? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_BYTES {
                return Err(too_large());
            }
        }
        if bytes.is_empty() {
            return Err(AppError::field("file", "请选择要上传的照片或扫描件"));
        }
        return Ok((name, bytes));
    }
    Err(AppError::field("file", "请选择要上传的照片或扫描件"))
}

/// Adds an attachment to a draft or returned record the caller may edit.
pub async fn add(
    state: &AppState,
    user: &CurrentUser,
    meeting_id: i64,
    filename: &str,
    bytes: &[u8],
) -> AppResult<i64> {
    user.require(store::may_write(user))?;
    let m = store::get(state, user, meeting_id).await?;
    if !m.status.is_open() {
        return Err(AppError::Conflict(format!(
            "记录为“{}”时不能增删附件；如需补充，请先修改记录",
            m.status_label()
        )));
    }
    let Some((content_type, ext)) = crate::files::sniff(bytes) else {
        return Err(AppError::field(
            "file",
            "只能上传照片（JPG、PNG、WebP）或 PDF 扫描件；文件内容与这些格式不符",
        ));
    };
    let count: i64 =
        sqlx::query_scalar("select count(*) from meeting_attachment where meeting_id = $1")
            .bind(meeting_id)
            .fetch_one(&state.db.pool)
            .await?;
    if count >= MAX_PER_MEETING {
        return Err(AppError::field(
            "file",
            format!("每条记录最多{MAX_PER_MEETING}个附件"),
        ));
    }
    // Keep the user's name for the download, with the extension the content has.
    let stem: String = std::path::Path::new(filename)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("附件")
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(60)
        .collect();
    let stem = if stem.trim().is_empty() {
        "附件".to_string()
    } else {
        stem
    };
    let name = format!("{stem}.{ext}");
    let hash = crate::files::put(&state.config.data_dir, bytes).await?;
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into meeting_attachment (meeting_id, filename, content_type, size, sha256, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning attachment_id",
    )
    .bind(meeting_id)
    .bind(name.clone())
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(hash)
    .bind(user.user_id)
    .bind(now())
    .fetch_one(tx.conn())
    .await
    .map_err(anyhow::Error::from)?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "meeting.attach",
            "meeting",
            meeting_id,
            format!("上传附件 {name}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn row(state: &AppState, meeting_id: i64, id: i64) -> AppResult<(Attachment, String)> {
    let r: Option<(i64, String, String, i64, i64, String)> = sqlx::query_as(
        "select attachment_id, filename, content_type, size, created_at, sha256 from meeting_attachment \
         where attachment_id = $1 and meeting_id = $2",
    )
    .bind(id)
    .bind(meeting_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let (attachment_id, filename, content_type, size, created_at, hash) =
        r.ok_or(AppError::NotFound)?;
    Ok((
        Attachment {
            attachment_id,
            filename,
            content_type,
            size,
            created_at,
        },
        hash,
    ))
}

pub async fn remove(
    state: &AppState,
    user: &CurrentUser,
    meeting_id: i64,
    id: i64,
) -> AppResult<()> {
    user.require(store::may_write(user))?;
    let m = store::get(state, user, meeting_id).await?;
    let (a, _) = row(state, meeting_id, id).await?;
    if !m.status.is_open() {
        return Err(AppError::Conflict(format!(
            "记录为“{}”时不能增删附件",
            m.status_label()
        )));
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("delete from meeting_attachment where attachment_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(anyhow::Error::from)?;
    tx.audit(
        &user.actor(),
        Entry::new(
            "meeting.detach",
            "meeting",
            meeting_id,
            format!("删除附件 {}", a.filename),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The file itself, for a caller who may see the record.
pub async fn download(
    state: &AppState,
    user: &CurrentUser,
    meeting_id: i64,
    id: i64,
) -> AppResult<Response> {
    store::get(state, user, meeting_id).await?;
    let (a, hash) = row(state, meeting_id, id).await?;
    let bytes = crate::files::get(&state.config.data_dir, &hash).await?;
    let disposition = if a.is_image() { "inline" } else { "attachment" };
    let encoded = url::form_urlencoded::byte_serialize(a.filename.as_bytes()).collect::<String>();
    let mut r = Body::from(bytes).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Not cached (a scan shows who attended): `app::no_store` says so for every answer.
    Ok(r)
}
