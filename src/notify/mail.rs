//! The daily digest: one email per user with the notifications not yet mailed, instead of
//! a message per reminder. Sent only when `smtp_url` is configured and the user gave an
//! address.

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::now;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Checks an address the way the mailer will use it.
pub fn valid_address(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok()
}

/// The digest's text for a list of (title, body).
pub fn digest_body(name: &str, items: &[(String, String)]) -> String {
    let mut out = format!(
        "{name}，您好：\n\n钥匙系统今日有 {} 条提醒：\n\n",
        items.len()
    );
    for (i, (title, body)) in items.iter().enumerate() {
        out.push_str(&format!("{}. {title}\n   {body}\n\n", i + 1));
    }
    out.push_str("请登录系统查看和处理。此邮件由系统自动发送，请勿回复。\n");
    out
}

/// Sends every pending digest; returns how many emails went out. A user whose email
/// fails keeps their notifications pending for the next day.
pub async fn send_digests(state: &AppState) -> AppResult<u64> {
    let Some(url) = state.config.smtp_url.clone() else {
        return Ok(0);
    };
    let from = state
        .config
        .smtp_from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("发件人地址无效：{e}")))?;
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("SMTP 地址无效：{e}")))?
        .build();
    let users: Vec<(i64, String, String)> = sqlx::query_as(
        "select u.user_id, u.display_name, u.email from app_user u where u.disabled = 0 and u.email <> '' \
         and exists (select 1 from notification n where n.user_id = u.user_id and n.emailed_at is null and n.read_at is null)",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let mut sent = 0;
    for (user_id, name, email) in users {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "select notification_id, title, body from notification where user_id = $1 and emailed_at is null \
             and read_at is null order by created_at, notification_id",
        )
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?;
        let Ok(to) = email.parse::<lettre::message::Mailbox>() else {
            tracing::warn!(user_id, "skipping a digest to an invalid address");
            continue;
        };
        let items: Vec<(String, String)> =
            rows.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(format!("钥匙 · 今日提醒（{} 条）", items.len()))
            .header(ContentType::TEXT_PLAIN)
            .body(
                lettre::message::Body::new_with_encoding(
                    digest_body(&name, &items),
                    lettre::message::header::ContentTransferEncoding::Base64,
                )
                .map_err(|_| AppError::Internal(anyhow::anyhow!("邮件编码失败")))?,
            )
            .map_err(|e| AppError::Internal(anyhow::anyhow!("邮件生成失败：{e}")))?;
        if let Err(e) = mailer.send(message).await {
            tracing::warn!(user_id, error = %e, "digest not sent; will retry tomorrow");
            continue;
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let mut tx = state.db.begin_write().await?;
        let mut sql = Sql::new("update notification set emailed_at = ");
        sql.bind(now())
            .push(" where notification_id in ")
            .bind_list(&ids);
        sqlx::query_with(&sql.text, sql.arguments())
            .execute(tx.conn())
            .await
            .map_err(anyhow::Error::from)?;
        tx.commit().await?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_the_digest_text() {
        assert!(valid_address("zhang.san@example.gov.cn"));
        assert!(!valid_address("zhang san@"));
        assert!(!valid_address(""));
        let body = digest_body("张三", &[("待审核：某支部支委会".into(), "请审核".into())]);
        assert!(
            body.starts_with("张三，您好")
                && body.contains("1 条提醒")
                && body.contains("1. 待审核")
        );
    }
}
