//! 三权分立 dual control (双人确认): the walk-around of the hostile review — the system admin
//! makes an audit-admin account, receives its one-time password, signs in as it and reads
//! the audit log — no longer works. Granting the security-admin or audit-admin role and
//! resetting the password of an account that holds one wait for a second person of another
//! admin role; the one-time password is split between the requester and the confirmer.

use reqwest::StatusCode;
use serde_json::json;
use yaoshi::system::approvals::{confirm, Decider};

use crate::common::{TestApp, PASSWORD};

async fn login_status(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.post(
        &TestApp::client(),
        "/api/v1/session",
        json!({"username": username, "password": password}),
    )
    .await
    .0
}

#[tokio::test]
async fn the_system_admin_alone_cannot_make_or_enter_an_audit_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The attack: ask for an audit admin and sign in with what comes back.
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "aud1", "display_name": "审计员", "grant": {"role": "audit_admin"}}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert!(v.get("password").is_none(), "no whole password: {v}");
    let first = v["first_half"].as_str().expect("first half").to_string();
    let id = v["approval_id"].as_i64().expect("id");
    assert!(v["message"]
        .as_str()
        .expect("message")
        .contains("待另一位管理员"));
    // Nothing exists yet: the half is no password, the name no account.
    assert_eq!(
        app.sql_scalar("select count(*) from app_user where username = 'aud1'")
            .await,
        0
    );
    assert_eq!(
        login_status(&app, "aud1", &first).await,
        StatusCode::UNAUTHORIZED
    );
    // The requester cannot confirm (not a security or audit admin), nor can a second
    // system admin.
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/v1/approvals/{id}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let other = app
        .user_with(&admin, "sys2", json!({"role": "system_admin"}))
        .await;
    let (s, _) = app
        .post(
            &other,
            &format!("/api/v1/approvals/{id}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A second request for the same name waits for the first.
    let (s, v) = app
        .post(
            &other,
            "/api/v1/users",
            json!({"username": "aud1", "display_name": "x", "grant": {"role": "audit_admin"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("待确认"),
        "{v}"
    );

    // A new installation has no security or audit admin: the operator confirms on the
    // server's command line and receives the second half.
    let c = confirm(&app.state, Decider::CommandLine, id)
        .await
        .expect("confirmed");
    let second = c.second_half.expect("second half");
    assert_ne!(first, second);
    assert_eq!(
        login_status(&app, "aud1", &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&app, "aud1", &second).await,
        StatusCode::UNAUTHORIZED
    );
    let whole = format!("{first}{second}");
    assert_eq!(login_status(&app, "aud1", &whole).await, StatusCode::OK);
    // Done once: a second confirmation finds nothing pending.
    let again = confirm(&app.state, Decider::CommandLine, id).await;
    assert!(again.is_err());

    // From now on an audit admin exists: the command line may not stand in for them.
    let aud = app.login("aud1", &whole).await;
    let (s, _) = app
        .post(
            &aud,
            "/api/v1/me/password",
            json!({"current": whole, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    app.enrol_totp(&aud, "aud1", PASSWORD).await;
    let (s, v) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "sec1", "display_name": "安全员", "grant": {"role": "security_admin"}}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let sec_req = v["approval_id"].as_i64().expect("id");
    let sec_first = v["first_half"].as_str().expect("half").to_string();
    assert!(confirm(&app.state, Decider::CommandLine, sec_req)
        .await
        .is_err());

    // The audit log tells the whole story, with both persons.
    let (s, log) = app.get(&aud, "/api/v1/audit?action=approval").await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(actions.contains(&"approval.request"), "{actions:?}");
    assert!(actions.contains(&"approval.confirm"), "{actions:?}");
    assert!(
        app.sql_scalar("select count(*) from audit_log where action = 'user.create' and summary like '%申请%确认%'")
            .await
            >= 1
    );
    // Nothing of the halves is kept once confirmed.
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from admin_approval where approval_id = {id} and (second_half is not null or password_hash is not null)"
        ))
        .await,
        0
    );
    let _ = sec_first;
}

#[tokio::test]
async fn grants_and_resets_of_watchers_wait_for_another_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The first watcher through the command line (the harness does it), the second
    // confirmed by the first.
    let sec = app
        .user_with(&admin, "sec", json!({"role": "security_admin"}))
        .await;
    let aud = app
        .user_with(&admin, "aud", json!({"role": "audit_admin"}))
        .await;
    let aud_id = app
        .sql_scalar("select user_id from app_user where username = 'aud'")
        .await;

    // A password reset of the audit admin: their password stays until confirmed.
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{aud_id}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["approval_id"].as_i64().expect("id");
    let first = v["first_half"].as_str().expect("half").to_string();
    let (s, _) = app.get(&aud, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK, "still signed in before confirmation");
    // The account concerned cannot confirm its own reset.
    let (s, v) = app
        .post(&aud, &format!("/api/v1/approvals/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("本人"),
        "{v}"
    );
    // The security admin sees it and confirms: the second half, sessions ended.
    let (s, list) = app.get(&sec, "/api/v1/approvals").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list
        .as_array()
        .expect("list")
        .iter()
        .any(|a| a["approval_id"] == json!(id) && a["status"] == json!("pending")));
    let (s, v) = app
        .post(&sec, &format!("/api/v1/approvals/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second = v["second_half"].as_str().expect("half");
    let (s, _) = app.get(&aud, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the reset ended the sessions");
    assert_eq!(
        login_status(&app, "aud", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    let whole = format!("{first}{second}");
    let aud = app.login("aud", &whole).await;
    let (s, v) = app
        .post(
            &aud,
            "/api/v1/me/password",
            json!({"current": whole, "new_password": "Another#Pass2026x"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Granting the security-admin role to an ordinary account waits too; a refusal leaves
    // it as it was, and a refused request cannot be confirmed afterwards.
    let (_, u) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "plain", "display_name": "普通", "grant": {"role": "committee"}}),
        )
        .await;
    let plain = u["user_id"].as_i64().expect("user");
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{plain}/grants"),
            json!({"role": "security_admin"}),
        )
        .await;
    // The separation rules are checked at the request already (committee + security admin).
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("不能兼任"), "{v}");
    let grant = app
        .sql_scalar(&format!(
            "select role_grant_id from role_grant where user_id = {plain}"
        ))
        .await;
    let (s, _) = app
        .send(
            &admin,
            "DELETE",
            &format!("/api/v1/users/{plain}/grants/{grant}"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{plain}/grants"),
            json!({"role": "security_admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert!(
        v["first_half"].is_null(),
        "a grant changes no password: {v}"
    );
    let id = v["approval_id"].as_i64().expect("id");
    let held = "select count(*) from role_grant where role = 'security_admin'";
    assert_eq!(app.sql_scalar(held).await, 1, "only sec until confirmed");
    let (s, v) = app
        .post(&aud, &format!("/api/v1/approvals/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(app.sql_scalar(held).await, 2);
}

#[tokio::test]
async fn refusals_withdrawals_and_the_page() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let sec = app
        .user_with(&admin, "sec", json!({"role": "security_admin"}))
        .await;
    let ask = |name: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let (s, v) = app
                .post(
                    admin,
                    "/api/v1/users",
                    json!({"username": name, "display_name": name, "grant": {"role": "audit_admin"}}),
                )
                .await;
            assert_eq!(s, StatusCode::ACCEPTED, "{v}");
            v["approval_id"].as_i64().expect("id")
        }
    };
    // Refused by the security admin: no account; confirming afterwards is a conflict.
    let refused = ask("rq1").await;
    let (s, _) = app
        .post(
            &sec,
            &format!("/api/v1/approvals/{refused}/refuse"),
            json!({"note": "未经审批"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .post(
            &sec,
            &format!("/api/v1/approvals/{refused}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("已拒绝"),
        "{v}"
    );
    assert_eq!(
        app.sql_scalar("select count(*) from app_user where username = 'rq1'")
            .await,
        0
    );
    // Withdrawn by its requester.
    let withdrawn = ask("rq2").await;
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/v1/approvals/{withdrawn}/refuse"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let status: String =
        sqlx::query_scalar("select status from admin_approval where approval_id = $1")
            .bind(withdrawn)
            .fetch_one(&app.state.db.pool)
            .await
            .expect("status");
    assert_eq!(status, "cancelled");
    // Through the pages: the request shows its first half, the list offers the confirmer
    // the buttons, and confirming shows the second half.
    let r = admin
        .post(app.url("/system/users"))
        .form(&[
            ("username", "rq3"),
            ("display_name", "审计三"),
            ("role", "audit_admin"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("data-testid=\"approval-pending\""), "{html}");
    let first = crate::common::testid_text(&html, "first-half").expect("first half");
    let page = sec
        .get(app.url("/system/approvals"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("html");
    assert!(page.contains("rq3") && page.contains("确认"), "{page}");
    let id = app
        .sql_scalar("select approval_id from admin_approval where username = 'rq3'")
        .await;
    let r = sec
        .post(app.url(&format!("/system/approvals/{id}/confirm")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    let second = crate::common::testid_text(&html, "second-half").expect("second half");
    assert_eq!(
        login_status(&app, "rq3", &format!("{first}{second}")).await,
        StatusCode::OK
    );
    // The page of a request the confirmer may not decide answers with the reason.
    let own = ask("rq4").await;
    let r = admin
        .post(app.url(&format!("/system/approvals/{own}/confirm")))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
