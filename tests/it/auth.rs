use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestApp, ADMIN_PASSWORD, PASSWORD};

#[tokio::test]
async fn login_logout_and_me() {
    let app = TestApp::spawn().await;
    let c = TestApp::client();
    let (s, v) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "unauthorized");
    assert_eq!(v["error"]["message"], "请先登录");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/session",
            json!({"username": "admin", "password": "wrong"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["message"], "用户名或密码错误");
    // An unknown user gets the very same answer.
    let (s2, v2) = app
        .post(
            &c,
            "/api/v1/session",
            json!({"username": "nobody", "password": "wrong"}),
        )
        .await;
    assert_eq!((s2, &v2), (s, &v));
    let c = app.admin().await;
    let (s, v) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["username"], "admin");
    assert_eq!(v["grants"][0]["role"], "committee");
    assert_eq!(v["must_change_password"], false);
    let (s, _) = app.send(&c, "DELETE", "/api/v1/session", json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Both outcomes are in the audit log.
    assert!(
        app.sql_scalar("select count(*) from audit_log where action = 'login.failed'")
            .await
            >= 2
    );
    assert!(
        app.sql_scalar("select count(*) from audit_log where action = 'logout'")
            .await
            >= 1
    );
}

#[tokio::test]
async fn locks_after_repeated_failures_even_with_right_password() {
    let app = TestApp::spawn().await;
    let c = TestApp::client();
    for _ in 0..5 {
        let (s, _) = app
            .post(
                &c,
                "/api/v1/session",
                json!({"username": "admin", "password": "nope"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = app
        .post(
            &c,
            "/api/v1/session",
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("登录失败次数过多"),
        "{v}"
    );
}

#[tokio::test]
async fn forced_password_change_and_policy() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "wang", "display_name": "王五", "grant": {"role": "committee"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let otp = v["password"].as_str().expect("otp").to_string();
    let c = app.login("wang", &otp).await;
    // Everything but the password change is refused until it is done.
    let (s, v) = app.get(&c, "/api/v1/units").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "password_change_required");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": otp, "new_password": "short"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["new_password"], "密码至少需要10位");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": otp, "new_password": "wang123456AB"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["new_password"], "密码不能包含用户名");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": "bad", "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["current"], "当前密码不正确");
    let (s, _) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": otp, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // A committee admin must then set up the second factor before anything else.
    let (s, v) = app.get(&c, "/api/v1/units").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "totp_enrolment_required");
    let (s, me) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["totp_enrolment_required"], true);
    app.enrol_totp(&c, "wang", PASSWORD).await;
    let (s, _) = app.get(&c, "/api/v1/units").await;
    assert_eq!(s, StatusCode::OK);
    // Admin reset: a new one-time password, old sessions end.
    let id = app
        .sql_scalar("select user_id from app_user where username = 'wang'")
        .await;
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{id}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["password"].as_str().is_some());
    let (s, _) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_tokens_work_and_revoke() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, v) = app
        .post(&admin, "/api/v1/tokens", json!({"name": "同步"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = v["token"].as_str().expect("token").to_string();
    let id = v["api_token_id"].as_i64().expect("id");
    let bare = reqwest::Client::new();
    let r = bare
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), StatusCode::OK);
    // Only the hash is stored.
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from api_token where token_hash = '{token}'"
        ))
        .await,
        0
    );
    let (s, _) = app
        .send(&admin, "DELETE", &format!("/api/v1/tokens/{id}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = bare
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = bare
        .get(app.url("/api/v1/me"))
        .bearer_auth("yst_garbage")
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, v) = app
        .post(&admin, "/api/v1/tokens", json!({"name": "  "}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["name"].is_string());
}

#[tokio::test]
async fn idle_sessions_expire() {
    // One minute (zero made the login's own enrolment race the clock).
    let app = TestApp::spawn_with(|c| c.session_idle_minutes = 1).await;
    let c = app.admin().await;
    let (s, _) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK, "not idle yet");
    // Make the session look idle for two minutes.
    sqlx::query("update session set last_seen_at = last_seen_at - 120")
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    // (The few-seconds cache of authenticated sessions would still know it.)
    yaoshi::auth::cache::clear(&app.state);
    let (s, _) = app.get(&c, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// A password that meets length and classes but is a common one in disguise (a capital,
/// digits or a year, a symbol at the end) is refused, through the API and the page.
#[tokio::test]
async fn common_passwords_are_refused_however_decorated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "liu", "display_name": "刘一", "grant": {"role": "committee"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let otp = v["password"].as_str().expect("otp").to_string();
    let c = app.login("liu", &otp).await;
    for weak in [
        "Abc123456!",
        "Password2024!",
        "P@ssw0rd2026",
        "Qwerty123456#",
        "1qaz@WSX2024",
        "Woaini1314!",
        "Iloveyou520.",
        "Admin@12345",
    ] {
        let (s, v) = app
            .post(
                &c,
                "/api/v1/me/password",
                json!({"current": otp, "new_password": weak}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{weak}: {v}");
        assert_eq!(
            v["error"]["fields"]["new_password"],
            yaoshi::messages::PASSWORD_TOO_COMMON,
            "{weak}"
        );
    }
    // The page says the same.
    let r = c
        .post(app.url("/password"))
        .form(&[
            ("current", otp.as_str()),
            ("new_password", "Abc123456!"),
            ("confirm", "Abc123456!"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("page");
    assert!(
        html.contains(yaoshi::messages::PASSWORD_TOO_COMMON),
        "{html}"
    );
    // A password of its own is accepted.
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": otp, "new_password": "Harbour7-Kite-Mist"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}
