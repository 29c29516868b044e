//! 等保 application controls, one test each: locks and unlocks, the second factor with
//! clock skew, concurrent sessions, session rotation and timeouts, separation of duties,
//! password history and expiry, the policy, proxies and HTTPS, the default admin prompt.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use yaoshi::auth::totp::{code_at, STEP};

use crate::common::{TestApp, ADMIN_PASSWORD, PASSWORD};

/// The three admins beside the first-start admin (committee + system admin).
async fn three(app: &TestApp) -> (Client, Client, Client) {
    let admin = app.admin().await;
    let sec = app
        .user_with(&admin, "sec", json!({"role": "security_admin"}))
        .await;
    let aud = app
        .user_with(&admin, "aud", json!({"role": "audit_admin"}))
        .await;
    (admin, sec, aud)
}

/// An ordinary account (a community's), with no second factor required.
async fn plain_user(app: &TestApp, admin: &Client, username: &str) -> Client {
    let mut id = app
        .sql_scalar("select coalesce(max(community_id), 0) from community")
        .await;
    if id == 0 {
        let (s, v) = app
            .post(admin, "/api/v1/communities", json!({"name": "测试社区"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        id = app
            .sql_scalar("select max(community_id) from community")
            .await;
    }
    app.user_with(
        admin,
        username,
        json!({"role": "community", "community_id": id}),
    )
    .await
}

async fn api_login(
    app: &TestApp,
    c: &Client,
    username: &str,
    password: &str,
    totp: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"username": username, "password": password});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    app.post(c, "/api/v1/session", body).await
}

#[tokio::test]
async fn lock_after_failures_is_audited_seen_and_lifted_by_the_security_admin() {
    let app = TestApp::spawn().await;
    let (admin, sec, aud) = three(&app).await;
    let _unit = plain_user(&app, &admin, "wuxi").await;
    let c = TestApp::client();
    for _ in 0..5 {
        let (s, v) = api_login(&app, &c, "wuxi", "wrong-password", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["message"], "用户名或密码错误");
    }
    // Locked: even the right password is refused, and says for how long.
    let (s, v) = api_login(&app, &c, "wuxi", PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("分钟后再试"),
        "{v}"
    );
    // A name that does not exist locks the same way: nothing tells them apart.
    for _ in 0..5 {
        api_login(&app, &c, "ghost", "wrong-password", None).await;
    }
    let (s, _) = api_login(&app, &c, "ghost", "wrong-password", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'user.lock' and object_id = 'wuxi'"
        )
        .await,
        1
    );
    // The security admin sees the lock; nobody else may.
    let (s, locks) = app.get(&sec, "/api/v1/security/locks").await;
    assert_eq!(s, StatusCode::OK);
    let wu = locks
        .as_array()
        .expect("list")
        .iter()
        .find(|l| l["username"] == "wuxi")
        .expect("wuxi listed")
        .clone();
    assert!(wu["locked_until"].as_i64().is_some(), "{wu}");
    for other in [&admin, &aud] {
        let (s, _) = app.get(other, "/api/v1/security/locks").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app
            .post(
                other,
                "/api/v1/security/unlock",
                json!({"username": "wuxi"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let page = sec
        .get(app.url("/system/security/accounts"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("解除锁定") && page.contains("wuxi"), "{page}");
    let (s, _) = app
        .post(&sec, "/api/v1/security/unlock", json!({"username": "wuxi"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api_login(&app, &c, "wuxi", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'user.unlock' and actor_name = 'sec'"
        )
        .await,
        1
    );
    // Unlocking a name without failures says so.
    let (s, v) = app
        .post(
            &sec,
            "/api/v1/security/unlock",
            json!({"username": "nobody-here"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

/// Waits until the clock is well inside a 30-second step, so a test's steps are stable.
async fn mid_step() -> i64 {
    loop {
        let now = yaoshi::clock::now();
        let into = now.rem_euclid(STEP);
        if (3..=STEP - 8).contains(&into) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn totp_accepts_one_step_of_skew_each_way_once_and_recovery_codes_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, v) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "lisi", "display_name": "李", "grant": {"role": "committee"}}),
        )
        .await;
    let otp = v["password"].as_str().expect("otp").to_string();
    let c = TestApp::client();
    api_login(&app, &c, "lisi", &otp, None).await;
    app.post(
        &c,
        "/api/v1/me/password",
        json!({"current": otp, "new_password": PASSWORD}),
    )
    .await;
    // Enrol by hand to control the steps.
    let (s, e) = app.post(&c, "/api/v1/me/totp", json!({})).await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = e["secret"].as_str().expect("secret").to_string();
    assert!(e["otpauth_url"]
        .as_str()
        .expect("url")
        .starts_with("otpauth://totp/Yaoshi:lisi?"));
    let now = mid_step();
    let now = now.await;
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/totp/confirm",
            json!({"code": "999999", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Confirm with the code one step back: the current and next steps stay unused.
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/totp/confirm",
            json!({"code": code_at(&secret, now - STEP).expect("code"), "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let recovery: Vec<String> = serde_json::from_value(v["recovery_codes"].clone()).expect("codes");
    assert_eq!(recovery.len(), 10);
    // Stored hashed: no code appears in the database.
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from recovery_code where code_hash = '{}'",
            recovery[0]
        ))
        .await,
        0
    );
    let fresh = TestApp::client();
    // Without a code: asked for one.
    let (s, v) = api_login(&app, &fresh, "lisi", PASSWORD, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "totp_required");
    // Two steps away either way: refused.
    for offset in [-2, 2] {
        let code = code_at(&secret, now + offset * STEP).expect("code");
        let (s, v) = api_login(&app, &fresh, "lisi", PASSWORD, Some(&code)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "offset {offset}: {v}");
    }
    // The current step, then one ahead: accepted; each once.
    let current = code_at(&secret, now).expect("code");
    let (s, v) = api_login(&app, &fresh, "lisi", PASSWORD, Some(&current)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = api_login(&app, &TestApp::client(), "lisi", PASSWORD, Some(&current)).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a used code is refused"
    );
    let ahead = code_at(&secret, now + STEP).expect("code");
    let (s, v) = api_login(&app, &TestApp::client(), "lisi", PASSWORD, Some(&ahead)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A step behind the last used one is refused even though within skew.
    let behind = code_at(&secret, now - STEP).expect("code");
    let (s, _) = api_login(&app, &TestApp::client(), "lisi", PASSWORD, Some(&behind)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A recovery code: once.
    let rc = TestApp::client();
    let (s, v) = api_login(
        &app,
        &rc,
        "lisi",
        PASSWORD,
        Some(&recovery[3].to_uppercase()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The committee cannot turn it off for itself.
    let (s, v) = app
        .send(
            &rc,
            "DELETE",
            "/api/v1/me/totp",
            json!({"code": recovery[6]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = api_login(
        &app,
        &TestApp::client(),
        "lisi",
        PASSWORD,
        Some(&recovery[3]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'totp.recovery_used'")
            .await,
        1
    );
    // Wrong codes count towards the lock like wrong passwords: one failure so far, four more
    // lock the name, and then even a right code is refused.
    for _ in 0..4 {
        let (s, _) = api_login(&app, &TestApp::client(), "lisi", PASSWORD, Some("000000")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, _) = api_login(
        &app,
        &TestApp::client(),
        "lisi",
        PASSWORD,
        Some(&recovery[5]),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn admins_have_one_session_a_new_login_ends_the_old() {
    let app = TestApp::spawn().await;
    let first = app.admin().await;
    let second = app.admin().await;
    let (s, _) = app.get(&first, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the older session ended");
    let (s, _) = app.get(&second, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        app.sql_scalar("select count(*) from audit_log where action = 'session.evicted' and actor_name = 'admin'")
            .await
            >= 1
    );
    // Other users: no limit by default; the security admin can set one.
    let a = plain_user(&app, &second, "zhou").await;
    let b = app.login("zhou", PASSWORD).await;
    assert_eq!(app.get(&a, "/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(app.get(&b, "/api/v1/me").await.0, StatusCode::OK);
    let sec = app
        .user_with(&second, "sec", json!({"role": "security_admin"}))
        .await;
    let (_, mut p) = app.get(&sec, "/api/v1/security/policy").await;
    p["user_max_sessions"] = json!(1);
    let (s, v) = app.send(&sec, "PUT", "/api/v1/security/policy", p).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let c = app.login("zhou", PASSWORD).await;
    assert_eq!(app.get(&a, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&b, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&c, "/api/v1/me").await.0, StatusCode::OK);
}

#[tokio::test]
async fn session_ids_rotate_and_time_out_and_logout_ends_them_on_the_server() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = plain_user(&app, &admin, "qian").await;
    // A login from a client that already has a session replaces it.
    let before = app
        .sql_scalar("select count(*) from session s join app_user u on u.user_id = s.user_id where u.username = 'qian'")
        .await;
    let (s, _) = api_login(&app, &c, "qian", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK);
    let after = app
        .sql_scalar("select count(*) from session s join app_user u on u.user_id = s.user_id where u.username = 'qian'")
        .await;
    assert_eq!(before, after, "the old id did not survive the login");
    // Idle for longer than the policy allows: gone.
    sqlx::query("update session set last_seen_at = last_seen_at - 31 * 60")
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    yaoshi::auth::cache::clear(&app.state);
    assert_eq!(app.get(&c, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    // Active but older than the absolute limit: gone too.
    let c = app.login("qian", PASSWORD).await;
    sqlx::query("update session set created_at = created_at - 12 * 3600 - 1")
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    yaoshi::auth::cache::clear(&app.state);
    assert_eq!(app.get(&c, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    // Logout ends the session on the server: replaying the cookie gets nothing.
    let c = TestApp::client();
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "qian", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    let pair = cookie.split(';').next().expect("pair").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP without a trusted proxy"
    );
    app.send(&c, "DELETE", "/api/v1/session", json!({})).await;
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .header("cookie", pair)
        .send()
        .await
        .expect("replay");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.sql_scalar("select count(*) from session s join app_user u on u.user_id = s.user_id where u.username = 'qian'")
            .await,
        0
    );
}

#[tokio::test]
async fn three_admins_stay_apart_and_each_keeps_to_their_own_pages() {
    let app = TestApp::spawn().await;
    let (admin, sec, aud) = three(&app).await;
    let id = |name: &'static str| {
        let app = &app;
        async move {
            app.sql_scalar(&format!(
                "select user_id from app_user where username = '{name}'"
            ))
            .await
        }
    };
    let (sec_id, aud_id, admin_id) = (id("sec").await, id("aud").await, id("admin").await);
    for (user, role, want) in [
        (sec_id, "audit_admin", "三员分立"),
        (aud_id, "system_admin", "三员分立"),
        (admin_id, "security_admin", "不能给自己授予角色"),
        (aud_id, "unit", "不能再授予其他角色"),
        (sec_id, "committee", "不能再授予其他角色"),
    ] {
        let (s, v) = app
            .post(
                &admin,
                &format!("/api/v1/users/{user}/grants"),
                json!({"role": role, "unit_id": 1}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{role}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap_or("").contains(want),
            "{v}"
        );
    }
    // A business user cannot become the audit or security admin either.
    let (_, u) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "biz", "display_name": "业务", "grant": {"role": "committee"}}),
        )
        .await;
    let _ = u;
    // Each admin's pages are theirs alone.
    let pages: [(&str, &Client); 6] = [
        ("/system/users", &admin),
        ("/system/security", &sec),
        ("/system/security/accounts", &sec),
        ("/system/security/grants", &sec),
        ("/system/audit", &aud),
        ("/system/audit/export", &aud),
    ];
    for (path, owner) in pages {
        for (who, c) in [("system", &admin), ("security", &sec), ("audit", &aud)] {
            let r = c.get(app.url(path)).send().await.expect("get");
            let mine = std::ptr::eq(c, owner);
            if mine {
                assert_eq!(r.status(), StatusCode::OK, "{who} on {path}");
            } else {
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} on {path}");
            }
        }
    }
    // The security and audit admins change no business data.
    for c in [&sec, &aud] {
        let (s, _) = app
            .post(c, "/api/v1/communities", json!({"name": "不该建的社区"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.get(c, "/api/v1/members").await;
        assert!(s == StatusCode::FORBIDDEN || s == StatusCode::OK);
    }
    // Once the three exist, the first-start admin is asked to step aside, until renamed.
    let home = admin
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("t");
    assert!(home.contains("default-admin-prompt"), "{home}");
    // The security admin's home figures lead to the grants behind them.
    let sec_home = sec
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("t");
    assert!(
        sec_home.contains(r#"href="/system/security/grants?role=audit_admin""#),
        "{sec_home}"
    );
    let grants = sec
        .get(app.url("/system/security/grants?role=audit_admin"))
        .send()
        .await
        .expect("grants")
        .text()
        .await
        .expect("t");
    assert!(
        grants.contains(r#"<span data-testid="total">1</span>"#),
        "one audit admin: {grants}"
    );
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{admin_id}/rename"),
            json!({"username": "sys_wang"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(
        app.get(&admin, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "renaming ends sessions"
    );
    let (s, v) = app
        .post(
            &sec,
            &format!("/api/v1/users/{admin_id}/rename"),
            json!({"username": "x_y_z"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let _ = ADMIN_PASSWORD;
}

#[tokio::test]
async fn password_history_expiry_and_policy() {
    let app = TestApp::spawn().await;
    let (admin, sec, _aud) = three(&app).await;
    let c = plain_user(&app, &admin, "sun").await;
    let mut current = PASSWORD.to_string();
    let used: Vec<String> = (1..=5).map(|i| format!("Pw-hist-{i}x")).collect();
    for p in &used {
        let (s, v) = app
            .post(
                &c,
                "/api/v1/me/password",
                json!({"current": current, "new_password": p}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        current = p.clone();
    }
    // The last five (the current one included) are refused; the sixth back is allowed.
    for old in &used[1..4] {
        let (s, v) = app
            .post(
                &c,
                "/api/v1/me/password",
                json!({"current": current, "new_password": old}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            v["error"]["fields"]["new_password"],
            "不能使用最近5次用过的密码"
        );
    }
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": current, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // Close to expiry: warned; past it: only a change is possible.
    sqlx::query("update app_user set password_changed_at = password_changed_at - 80 * 86400 where username = 'sun'")
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    yaoshi::auth::cache::clear(&app.state);
    let (_, me) = app.get(&c, "/api/v1/me").await;
    assert_eq!(me["password_days_left"], 10, "{me}");
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("t");
    assert!(
        home.contains("password-expiry") && home.contains("10 天后"),
        "{home}"
    );
    sqlx::query("update app_user set password_changed_at = password_changed_at - 11 * 86400 where username = 'sun'")
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    yaoshi::auth::cache::clear(&app.state);
    let (s, v) = app.get(&c, "/api/v1/notifications").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "password_expired");
    let r = c.get(app.url("/")).send().await.expect("home");
    assert_eq!(r.headers()["location"], "/password");
    let (s, _) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": PASSWORD, "new_password": "Pw-hist-new9"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&c, "/api/v1/notifications").await.0, StatusCode::OK);

    // The policy: only the security admin edits it; bad values are named; changes audited.
    let (s, _) = app.get(&admin, "/api/v1/security/policy").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, mut p) = app.get(&sec, "/api/v1/security/policy").await;
    assert_eq!(p["password_min_length"], 10);
    p["password_min_length"] = json!(4);
    p["lock_threshold"] = json!(99);
    let (s, v) = app
        .send(&sec, "PUT", "/api/v1/security/policy", p.clone())
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["password_min_length"],
        "密码最小长度应在8到64之间"
    );
    assert!(v["error"]["fields"]["lock_threshold"].is_string());
    p["password_min_length"] = json!(14);
    p["lock_threshold"] = json!(5);
    let (s, _) = app.send(&sec, "PUT", "/api/v1/security/policy", p).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": "Pw-hist-new9", "new_password": "Pw-hist-12ab"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["new_password"], "密码至少需要14位");
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'security.policy' and actor_name = 'sec'")
            .await,
        1
    );
    // The form answers bad input in Chinese, keeping what was typed.
    let r = sec
        .post(app.url("/system/security"))
        .form(&[("password_min_length", "abc"), ("password_classes", "3")])
        .send()
        .await
        .expect("form");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("t");
    assert!(
        html.contains("应为整数") && html.contains("请填写"),
        "{html}"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_https_means_secure_cookies_and_hsts() {
    let app = TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let _ = app.admin().await;
    let admin = app.admin().await;
    let _ = plain_user(&app, &admin, "zheng").await;
    let login = |proto: Option<&'static str>, xff: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req = TestApp::client()
                .post(app.url("/api/v1/session"))
                .json(&json!({"username": "zheng", "password": PASSWORD}));
            if let Some(p) = proto {
                req = req.header("x-forwarded-proto", p);
            }
            if let Some(x) = xff {
                req = req.header("x-forwarded-for", x);
            }
            req.send().await.expect("login")
        }
    };
    let r = login(Some("https"), Some("198.51.100.23")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .expect("c")
        .contains("; Secure"));
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .expect("hsts")
        .contains("max-age="));
    // The client's address (from the trusted proxy's header) is what the audit records.
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'login' and actor_name = 'zheng' and ip = '198.51.100.23'")
            .await,
        1
    );
    let r = login(Some("http"), None).await;
    assert!(!r.headers()["set-cookie"]
        .to_str()
        .expect("c")
        .contains("Secure"));
    assert!(r.headers().get("strict-transport-security").is_none());

    // Without trusted proxies, the same headers are ignored.
    let plain = TestApp::spawn().await;
    let r = TestApp::client()
        .post(plain.url("/api/v1/session"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-for", "203.0.113.1")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert!(!r.headers()["set-cookie"]
        .to_str()
        .expect("c")
        .contains("Secure"));
    assert!(r.headers().get("strict-transport-security").is_none());
    assert_eq!(
        plain
            .sql_scalar("select count(*) from audit_log where ip = '203.0.113.1'")
            .await,
        0
    );
    // Security headers on every page.
    let r = TestApp::client()
        .get(plain.url("/login"))
        .send()
        .await
        .expect("login page");
    let h = r.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .expect("csp")
        .contains("script-src 'self'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("referrer-policy"));
}

#[tokio::test]
async fn the_audit_admin_exports_a_date_range_and_the_export_is_audited() {
    let app = TestApp::spawn().await;
    let (_admin, _sec, aud) = three(&app).await;
    let today = yaoshi::clock::today();
    let d = yaoshi::text::format_date(today);
    let r = aud
        .get(app.url(&format!("/system/audit/export?from={d}&to={d}")))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.expect("bytes");
    let rows = yaoshi::xlsx::read_first_sheet(&bytes).expect("xlsx");
    assert!(rows.len() > 5, "{rows:?}");
    assert_eq!(rows[0][3], "来源地址");
    assert!(rows.iter().any(|r| r[4] == "新建用户"));
    // The number is a number and the time a date-time in Excel.
    let range = crate::common::xlsx_range(&bytes);
    let first = range.rows().nth(1).expect("an entry");
    assert!(matches!(first[0], calamine::Data::Float(_)), "{first:?}");
    assert!(matches!(first[1], calamine::Data::DateTime(_)), "{first:?}");
    // A range before anything happened: just the header.
    let r = aud
        .get(app.url("/system/audit/export?from=2001-01-01&to=2001-01-31"))
        .send()
        .await
        .expect("export");
    let rows = yaoshi::xlsx::read_first_sheet(&r.bytes().await.expect("b")).expect("xlsx");
    assert_eq!(rows.len(), 1);
    // The same through the API.
    let r = aud
        .get(app.url(&format!("/api/v1/audit/export?from={d}&to={d}")))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let rows = yaoshi::xlsx::read_first_sheet(&r.bytes().await.expect("b")).expect("xlsx");
    assert!(rows.iter().any(|r| r[4] == "新建用户"));
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'audit.export' and actor_name = 'aud'"
        )
        .await,
        3
    );
    // A date that cannot be read, or a range backwards, is refused in words (it used to be
    // ignored: the whole log exported).
    let (s, v) = app.get(&aud, "/api/v1/audit/export?from=2026-13-01").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["from"]
            .as_str()
            .is_some_and(|m| m.contains("无法识别")),
        "{v}"
    );
    let (s, v) = app
        .get(&aud, "/api/v1/audit?from=2026-03-02&to=2026-03-01")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["to"], "截止日期不能早于起始日期");
    let r = aud
        .get(app.url("/system/audit/export?to=someday"))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("无法识别"));
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'audit.export' and actor_name = 'aud'"
        )
        .await,
        3,
        "nothing exported"
    );
}

#[tokio::test]
async fn recovery_codes_are_renewed_with_a_code_and_wrong_codes_lock() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = plain_user(&app, &admin, "zhao").await;
    let (s, e) = app.post(&c, "/api/v1/me/totp", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let secret = e["secret"].as_str().expect("secret").to_string();
    let now = mid_step().await;
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/totp/confirm",
            json!({"code": code_at(&secret, now).expect("code"), "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let old: Vec<String> = serde_json::from_value(v["recovery_codes"].clone()).expect("codes");
    let renew = "/api/v1/me/totp/recovery-codes";

    // A wrong code is a field error (and counts towards the lock).
    let wrong = code_at(&secret, now + 10 * STEP).expect("code");
    let (s, v) = app
        .post(
            &c,
            renew,
            json!({"code": wrong, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["code"], "验证码不正确");

    // Through the API, with one of the old recovery codes: a new set of ten.
    let (s, v) = app
        .post(
            &c,
            renew,
            json!({"code": old[0], "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first: Vec<String> = serde_json::from_value(v["recovery_codes"].clone()).expect("codes");
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|c| !old.contains(c)));

    // Through the page, with one of those: shown once, the set before it void.
    let page = c
        .get(app.url("/account/totp"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("t");
    assert!(page.contains("renew-recovery"), "{page}");
    let r = c
        .post(app.url("/account/totp/recovery-codes"))
        .form(&[("code", first[0].as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .expect("renew page");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("t");
    assert!(html.contains("已生成新的恢复码"), "{html}");
    let shown = html
        .split(r#"data-testid="recovery-codes">"#)
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("codes on the page");
    let second: Vec<String> = shown.split_whitespace().map(str::to_string).collect();
    assert_eq!(second.len(), 10, "{shown}");
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'totp.recovery_renew' and result = 'ok'"
        )
        .await,
        2
    );

    // At login: a code of the replaced set is refused, one of the new set passes.
    let fresh = TestApp::client();
    let (s, _) = api_login(&app, &fresh, "zhao", PASSWORD, Some(&first[1])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = api_login(&app, &fresh, "zhao", PASSWORD, Some(&second[0])).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Wrong codes from a signed-in session lock the name like wrong logins do (the login
    // above cleared the count: the fifth locks, the sixth is refused); then even a right
    // code is refused, and so is the login.
    let mut locked_after = None;
    for i in 0..6 {
        let (s, v) = app
            .post(
                &c,
                renew,
                json!({"code": wrong, "current_password": PASSWORD}),
            )
            .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("输入错误次数过多")),
                "{v}"
            );
            locked_after = Some(i);
            break;
        }
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    assert_eq!(locked_after, Some(5), "five failures lock");
    let (s, _) = app
        .post(
            &c,
            renew,
            json!({"code": second[1], "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = api_login(&app, &TestApp::client(), "zhao", PASSWORD, Some(&second[2])).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_search_by_id_number_is_masked_in_the_audit_of_an_export() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    crate::common::city(&app, &admin).await;
    let id = crate::common::nth_id(1);
    let r = admin
        .get(app.url(&format!("/api/v1/members/export?q={id}")))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let (s, v) = app.get(&admin, "/api/v1/members?q=13800138000").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = admin
        .get(app.url("/api/v1/members/export?q=13800138000"))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let summaries: Vec<String> = sqlx::query_scalar(
        "select summary from audit_log where action = 'member.export' order by audit_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .expect("audit");
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    for s in &summaries {
        assert!(!s.contains(&id) && !s.contains(&id[6..14]), "{s}");
        assert!(!s.contains("13800138000"), "{s}");
    }
    assert!(
        summaries[0].contains(&id[14..]),
        "the last four stay: {:?}",
        summaries[0]
    );
}

#[tokio::test]
async fn no_one_grants_themselves_a_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, me) = app.get(&admin, "/api/v1/me").await;
    let admin_id = me["user_id"].as_i64().expect("id");
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{admin_id}/grants"),
            json!({"role": "audit_admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["message"],
        "不能给自己授予角色，请由其他系统管理员办理"
    );
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{admin_id}/grants"),
            json!({"role": "member", "member_id": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Through the page too; nothing was granted.
    let r = admin
        .post(app.url(&format!("/system/users/{admin_id}/grants")))
        .form(&[("role", "committee")])
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from role_grant where user_id = {admin_id}"
        ))
        .await,
        2,
        "committee and system admin, as at first start"
    );
    // Another system admin may.
    let other = app
        .user_with(&admin, "sys2", json!({"role": "system_admin"}))
        .await;
    let (s, v) = app
        .post(
            &other,
            &format!("/api/v1/users/{admin_id}/grants"),
            json!({"role": "member", "member_id": 1}),
        )
        .await;
    assert!(
        s == StatusCode::CREATED || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{v}"
    );
    assert_ne!(
        v["error"]["message"],
        "不能给自己授予角色，请由其他系统管理员办理"
    );
}

#[tokio::test]
async fn wrong_current_passwords_lock_like_wrong_logins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = plain_user(&app, &admin, "qian").await;
    let mut refused_at = None;
    for i in 0..7 {
        let (s, v) = app
            .post(
                &c,
                "/api/v1/me/password",
                json!({"current": format!("Wrong#Guess{i}x"), "new_password": "Another#Pass2026"}),
            )
            .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("输入错误次数过多")),
                "{v}"
            );
            refused_at = Some(i);
            break;
        }
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["fields"]["current"], "当前密码不正确");
    }
    assert_eq!(refused_at, Some(5), "the fifth wrong password locks");
    // The right one is refused now too, and so is a login.
    let (s, _) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": PASSWORD, "new_password": "Another#Pass2026"}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = api_login(&app, &TestApp::client(), "qian", PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'user.lock'")
            .await,
        1
    );
}

/// An API token of a user made for the occasion, and that user's id.
async fn token_of(app: &TestApp, c: &Client) -> (String, i64) {
    let (s, v) = app.post(c, "/api/v1/tokens", json!({"name": "脚本"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, me) = app.get(c, "/api/v1/me").await;
    (
        v["token"].as_str().expect("token").to_string(),
        me["user_id"].as_i64().expect("id"),
    )
}

async fn with_token(app: &TestApp, token: &str) -> StatusCode {
    TestApp::client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("me")
        .status()
}

#[tokio::test]
async fn api_tokens_end_with_every_remedy_for_a_stolen_session() {
    let app = TestApp::spawn().await;
    let (admin, sec, _aud) = three(&app).await;

    // Changing one's own password.
    let c = plain_user(&app, &admin, "u_own").await;
    let (t, _) = token_of(&app, &c).await;
    assert_eq!(with_token(&app, &t).await, StatusCode::OK);
    let (s, v) = app
        .post(
            &c,
            "/api/v1/me/password",
            json!({"current": PASSWORD, "new_password": "Own#Second2026"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(with_token(&app, &t).await, StatusCode::UNAUTHORIZED);

    // The system admin's password reset.
    let c = plain_user(&app, &admin, "u_reset").await;
    let (t, id) = token_of(&app, &c).await;
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{id}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(with_token(&app, &t).await, StatusCode::UNAUTHORIZED);

    // The security admin's "end sessions", which says what it ended.
    let c = plain_user(&app, &admin, "u_end").await;
    let (t, id) = token_of(&app, &c).await;
    let r = sec
        .post(app.url(&format!("/system/security/accounts/{id}/end-sessions")))
        .send()
        .await
        .expect("end");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(with_token(&app, &t).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'session.end' and summary like '%作废 1 个 API 令牌%'"
        )
        .await,
        1
    );

    // The security admin's reset of a lost phone.
    let c = plain_user(&app, &admin, "u_phone").await;
    app.enrol_totp(&c, "u_phone", PASSWORD).await;
    let (t, id) = token_of(&app, &c).await;
    let (s, v) = app
        .send(
            &sec,
            "DELETE",
            &format!("/api/v1/security/users/{id}/totp"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(with_token(&app, &t).await, StatusCode::UNAUTHORIZED);

    // Disabling: the token does not come back with the account.
    let c = plain_user(&app, &admin, "u_off").await;
    let (t, id) = token_of(&app, &c).await;
    for disabled in [true, false] {
        let (s, v) = app
            .send(
                &admin,
                "PUT",
                &format!("/api/v1/users/{id}/disabled"),
                json!({"disabled": disabled}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    assert_eq!(with_token(&app, &t).await, StatusCode::UNAUTHORIZED);

    // A new grant does not revoke (the token acts with the grants of the moment).
    let c = plain_user(&app, &admin, "u_keep").await;
    let (t, _) = token_of(&app, &c).await;
    assert_eq!(with_token(&app, &t).await, StatusCode::OK);
    assert_eq!(
        app.sql_scalar("select count(*) from api_token where revoked_at is null")
            .await,
        1
    );
}

#[tokio::test]
async fn guesses_sent_all_at_once_get_no_more_tries_than_one_by_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    plain_user(&app, &admin, "sun_burst").await;
    // Twenty wrong passwords at once: the lock used to be checked before the (slow)
    // password hash and the failure written after it, so all twenty were tried.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let url = app.url("/api/v1/session");
        set.spawn(async move {
            TestApp::client()
                .post(url)
                .json(&json!({"username": "sun_burst", "password": format!("Wrong#Burst{i}x")}))
                .send()
                .await
                .expect("login")
                .status()
        });
    }
    let mut tried = 0;
    let mut refused = 0;
    while let Some(s) = set.join_next().await {
        match s.expect("task") {
            StatusCode::UNAUTHORIZED => tried += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((tried, refused), (5, 15), "only the first five are checked");
    let (s, _) = api_login(&app, &TestApp::client(), "sun_burst", PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the right one too, now");
    assert_eq!(
        app.sql_scalar("select count(*) from login_failure where username = 'sun_burst'")
            .await,
        5,
        "refused attempts leave no failure behind"
    );
}

#[tokio::test]
async fn a_unit_grant_gives_no_unit_powers_over_a_branch_held_elsewhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = crate::common::city(&app, &admin).await;
    let c = app
        .user_with(
            &admin,
            "dual",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let (_, me) = app.get(&c, "/api/v1/me").await;
    let id = me["user_id"].as_i64().expect("id");
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/v1/users/{id}/grants"),
            json!({"role": "branch", "org_id": city.branch_b}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let c = app.login("dual", PASSWORD).await;

    // As the branch admin of unit B's branch: its members are seen, masked.
    let (s, v) = app
        .get(&c, &format!("/api/v1/members/{}", city.member_b))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["id_number"].as_str().is_some_and(|n| n.contains('*')),
        "{v}"
    );
    // Not unmasked, edited or transferred as if by unit B's admin.
    let (s, _) = app
        .get(
            &c,
            &format!("/api/v1/members/{}?unmask=true", city.member_b),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(
            &c,
            &format!("/api/v1/members/{}?unmask=true", city.member_a),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "in unit A the unit powers hold");
    let (s, _) = app
        .post(
            &c,
            &format!("/api/v1/members/{}/transfer", city.member_b),
            json!({"to_branch_id": city.branch_a, "reason": "调动"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An unmasked export holds unit A's members only.
    let r = c
        .get(app.url("/api/v1/members/export?unmasked=1"))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let audit: String = sqlx::query_scalar(
        "select summary from audit_log where action = 'member.export' order by audit_id desc limit 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("audit");
    let in_a = app
        .sql_scalar(&format!(
            "select count(*) from member where unit_id = {} and status = 'active'",
            city.unit_a
        ))
        .await;
    assert!(
        audit.contains(&format!("导出党员名册 {in_a} 人")),
        "{audit}"
    );
    // A record of B's branch: written and submitted as its branch admin, not accepted.
    let (s, v) = app
        .post(
            &c,
            "/api/v1/meetings",
            json!({"branch_id": city.branch_b, "kind": "theme_day",
                   "held_on": "2026-03-10", "topic": "主题党日"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let meeting = v["meeting_id"]
        .as_i64()
        .or_else(|| v.as_i64())
        .expect("meeting");
    let (s, v) = app
        .post(&c, &format!("/api/v1/meetings/{meeting}/submit"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _) = app
        .post(&c, &format!("/api/v1/meetings/{meeting}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The member form lists a branch's groups only to those whose scope holds it.
    let page = |c: Client| {
        let url = app.url(&format!("/org/members/new?org_id={}", city.branch_a));
        async move {
            c.get(url)
                .send()
                .await
                .expect("form")
                .text()
                .await
                .expect("t")
        }
    };
    assert!(page(c.clone()).await.contains("第一党小组"));
    let b_admin = app
        .user_with(
            &admin,
            "b_admin",
            json!({"role": "unit", "unit_id": city.unit_b}),
        )
        .await;
    assert!(!page(b_admin).await.contains("第一党小组"));
    // Nor is B's branch election recorded by this account.
    let (s, _) = app
        .post(
            &c,
            &format!("/api/v1/orgs/{}/elections", city.branch_b),
            json!({"elected_on": "2026-01-06", "officers": []}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn api_tokens_expire() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = plain_user(&app, &admin, "u_exp").await;
    for days in [0, -1, 366] {
        let (s, v) = app
            .post(
                &c,
                "/api/v1/tokens",
                json!({"name": "脚本", "expires_in_days": days}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{days}: {v}");
        assert_eq!(v["error"]["fields"]["expires_in_days"], "有效期为1至365天");
    }
    // Ninety days unless said otherwise; one day when asked.
    let now = yaoshi::clock::now();
    let (s, v) = app
        .post(&c, "/api/v1/tokens", json!({"name": "默认"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let default_end = v["expires_at"].as_i64().expect("expires");
    assert!((default_end - (now + 90 * 86_400)).abs() < 60, "{v}");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/tokens",
            json!({"name": "一天", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let id = v["api_token_id"].as_i64().expect("id");
    assert_eq!(with_token(&app, &token).await, StatusCode::OK);
    // A day later (the clock moved by hand): refused, and shown as expired.
    sqlx::query("update api_token set expires_at = $1 where api_token_id = $2")
        .bind(yaoshi::clock::now() - 1)
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    yaoshi::auth::cache::clear(&app.state);
    assert_eq!(with_token(&app, &token).await, StatusCode::UNAUTHORIZED);
    let html = c
        .get(app.url("/account/tokens"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("t");
    assert!(html.contains("已过期"), "{html}");
    // Through the page, with the chosen term.
    let r = c
        .post(app.url("/account/tokens"))
        .form(&[("name", "同步"), ("expires_in_days", "30")])
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("t").contains("new-token"));
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from api_token where name = '同步' and expires_at between {} and {}",
            now + 30 * 86_400 - 60,
            now + 30 * 86_400 + 600
        ))
        .await,
        1
    );
}

/// Pages and API answers carry personal data (an unmasked ID number, a sign-in scan, an
/// export): none may be kept by a browser or a proxy. Only the static assets are cached.
#[tokio::test]
async fn nothing_but_static_assets_may_be_cached() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = crate::common::city(&app, &c).await;
    let branch = app
        .user_with(
            &c,
            "cache_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let (s, m) = app
        .post(
            &branch,
            "/api/v1/meetings",
            json!({"branch_id": city.branch_a, "kind": "general_assembly",
                   "held_on": "2026-03-10", "topic": "缓存检查",
                   "attendance": [{"member_id": city.member_a, "state": "present"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let id = m["meeting_id"].as_i64().expect("meeting");
    let r = branch
        .post(app.url(&format!("/api/v1/meetings/{id}/attachments")))
        .multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(
                    [vec![0xFF, 0xD8, 0xFF, 0xE0], vec![7u8; 500]].concat(),
                )
                .file_name("签到表.jpg"),
            ),
        )
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let aid: i64 = r.json().await.expect("id");
    let member = city.member_a;
    let anonymous = TestApp::client();
    let answers = vec![
        (
            "the member page",
            c.get(app.url(&format!("/org/members/{member}"))),
        ),
        (
            "the unmasked member page",
            c.post(app.url(&format!("/org/members/{member}/unmask"))),
        ),
        (
            "the unmasked member JSON",
            c.get(app.url(&format!("/api/v1/members/{member}?unmask=true"))),
        ),
        ("the member list JSON", c.get(app.url("/api/v1/members"))),
        (
            "the member export",
            c.get(app.url("/org/members/export?unmasked=1")),
        ),
        (
            "the member export through the API",
            c.get(app.url("/api/v1/members/export")),
        ),
        (
            "an attachment",
            c.get(app.url(&format!("/api/v1/meetings/{id}/attachments/{aid}"))),
        ),
        (
            "an attachment from the page",
            c.get(app.url(&format!("/orglife/meetings/{id}/attachments/{aid}"))),
        ),
        (
            "the meeting export",
            c.get(app.url("/orglife/meetings/export")),
        ),
        ("the home page", c.get(app.url("/"))),
        (
            "an htmx fragment",
            c.get(app.url("/org/members")).header("hx-request", "true"),
        ),
        ("a missing page", c.get(app.url("/org/nothing-here"))),
        ("an API error", c.get(app.url("/api/v1/members/999999"))),
        ("the login page", anonymous.get(app.url("/login"))),
        (
            "a login answer",
            anonymous
                .post(app.url("/api/v1/session"))
                .json(&json!({"username": "admin", "password": "wrong"})),
        ),
        (
            "the OpenAPI document",
            anonymous.get(app.url("/api/openapi.json")),
        ),
    ];
    for (what, req) in answers {
        let r = req.send().await.expect("send");
        let status = r.status();
        assert!(status.as_u16() < 500, "{what}: {status}");
        let cache = r
            .headers()
            .get_all("cache-control")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(cache, "no-store", "{what} ({status})");
    }
    // Static assets stay cacheable (they hold nothing of anyone's).
    for path in ["/static/app.css", "/static/vendor/htmx/htmx.min.js"] {
        let r = anonymous.get(app.url(path)).send().await.expect("static");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=86400",
            "{path}"
        );
    }
}

/// What a token's bearer gets for a call: the status and, for the API, the JSON body (a
/// page's body is kept as `{"html": …}`).
async fn as_bearer(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Body>,
) -> (StatusCode, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = TestApp::client()
        .request(m, app.url(path))
        .bearer_auth(token);
    req = match body {
        None => req,
        Some(Body::Json(v)) => req.json(&v),
        Some(Body::Form(pairs)) => req.form(&pairs),
    };
    let r = req.send().await.expect("send");
    let s = r.status();
    let text = r.text().await.expect("text");
    (
        s,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "html": text })),
    )
}

enum Body {
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

const SESSION_REQUIRED: &str = "API 令牌不能管理令牌、第二因素、密码或邮箱，请登录后操作";

/// Issue #13 (A): an API token had the account's full powers. A 1-day token made a 365-day
/// one that outlived revoking its parent; a token could enrol the second factor (locking
/// the owner's password-only login out), renew recovery codes and change the digest email.
/// Now each of those answers a token 403 and changes nothing; the token still does what
/// scripts do.
#[tokio::test]
async fn api_tokens_cannot_manage_tokens_the_second_factor_the_password_or_the_email() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = plain_user(&app, &admin, "u_script").await;
    let (s, v) = app
        .post(
            &c,
            "/api/v1/tokens",
            json!({"name": "一天", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let id = v["api_token_id"].as_i64().expect("id");
    // The token works for a script's business.
    for path in ["/api/v1/me", "/api/v1/notifications", "/api/v1/me/totp"] {
        let (s, v) = as_bearer(&app, &token, "GET", path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    let code = json!({"code": "123456", "current_password": PASSWORD});
    let api: Vec<(&str, String, Option<Body>)> = vec![
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(Body::Json(json!({"name": "一年", "expires_in_days": 365}))),
        ),
        ("GET", "/api/v1/tokens".into(), None),
        ("DELETE", format!("/api/v1/tokens/{id}"), None),
        (
            "POST",
            "/api/v1/me/totp".into(),
            Some(Body::Json(json!({}))),
        ),
        (
            "POST",
            "/api/v1/me/totp/confirm".into(),
            Some(Body::Json(code.clone())),
        ),
        (
            "DELETE",
            "/api/v1/me/totp".into(),
            Some(Body::Json(code.clone())),
        ),
        (
            "POST",
            "/api/v1/me/totp/recovery-codes".into(),
            Some(Body::Json(code.clone())),
        ),
        (
            "POST",
            "/api/v1/me/password".into(),
            Some(Body::Json(
                json!({"current": PASSWORD, "new_password": "Script#Owned2026"}),
            )),
        ),
        (
            "PUT",
            "/api/v1/me/email".into(),
            Some(Body::Json(
                json!({"email": "thief@example.org", "current_password": PASSWORD}),
            )),
        ),
    ];
    for (method, path, body) in api {
        let (s, v) = as_bearer(&app, &token, method, &path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "session_required", "{method} {path}");
        assert_eq!(v["error"]["message"], SESSION_REQUIRED, "{method} {path}");
    }
    // The pages behind the same acts refuse a token too, in the same words.
    let form = |pairs: &[(&'static str, &str)]| {
        Some(Body::Form(
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ))
    };
    let pages: Vec<(&str, String, Option<Body>)> = vec![
        ("GET", "/account/tokens".into(), None),
        (
            "POST",
            "/account/tokens".into(),
            form(&[("name", "一年"), ("expires_in_days", "365")]),
        ),
        ("POST", format!("/account/tokens/{id}/revoke"), form(&[])),
        ("GET", "/account/totp".into(), None),
        ("POST", "/account/totp/start".into(), form(&[])),
        (
            "POST",
            "/account/totp/confirm".into(),
            form(&[("code", "123456"), ("current_password", PASSWORD)]),
        ),
        (
            "POST",
            "/account/totp/recovery-codes".into(),
            form(&[("code", "123456"), ("current_password", PASSWORD)]),
        ),
        (
            "POST",
            "/account/totp/disable".into(),
            form(&[("code", "123456"), ("current_password", PASSWORD)]),
        ),
        ("GET", "/password".into(), None),
        (
            "POST",
            "/password".into(),
            form(&[
                ("current", PASSWORD),
                ("new_password", "Script#Owned2026"),
                ("confirm", "Script#Owned2026"),
            ]),
        ),
        (
            "POST",
            "/notifications/email".into(),
            form(&[
                ("email", "thief@example.org"),
                ("current_password", PASSWORD),
            ]),
        ),
    ];
    for (method, path, body) in pages {
        let (s, v) = as_bearer(&app, &token, method, &path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert!(
            v["html"]
                .as_str()
                .is_some_and(|h| h.contains(SESSION_REQUIRED)),
            "{method} {path}: {v}"
        );
    }
    // Nothing changed: one token, still live; no second factor begun; no email; the same
    // password.
    assert_eq!(
        app.sql_scalar("select count(*) from api_token t join app_user u on u.user_id = t.user_id where u.username = 'u_script' and t.revoked_at is null")
            .await,
        1
    );
    assert_eq!(
        app.sql_scalar("select count(*) from app_user where username = 'u_script' and (totp_pending is not null or totp_enabled_at is not null or email <> '')")
            .await,
        0
    );
    assert_eq!(
        api_login(&app, &TestApp::client(), "u_script", PASSWORD, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(with_token(&app, &token).await, StatusCode::OK);
    // The signed-in session still manages its tokens.
    let (s, v) = app.get(&c, "/api/v1/tokens").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app
        .send(&c, "DELETE", &format!("/api/v1/tokens/{id}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(with_token(&app, &token).await, StatusCode::UNAUTHORIZED);
}

/// Issue #13 (A): from a signed-in session, the second factor and the digest email need the
/// current password again in the same request (`current_password`); a wrong one counts
/// towards the login lock like a wrong current password at a password change.
#[tokio::test]
async fn the_second_factor_and_the_email_need_the_current_password_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = plain_user(&app, &admin, "u_reauth").await;
    let email = "/api/v1/me/email";
    let address = "reauth@example.gov.cn";
    let (s, v) = app.send(&c, "PUT", email, json!({"email": address})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["current_password"], "请输入当前密码");
    let (s, v) = app
        .send(
            &c,
            "PUT",
            email,
            json!({"email": address, "current_password": "Wrong#Guess1x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["current_password"], "当前密码不正确");
    let (s, v) = app
        .send(
            &c,
            "PUT",
            email,
            json!({"email": address, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // The page asks for it too.
    let r = c
        .post(app.url("/notifications/email"))
        .form(&[("email", ""), ("current_password", "Wrong#Guess2x")])
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("当前密码不正确"));
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from app_user where username = 'u_reauth' and email = '{address}'"
        ))
        .await,
        1
    );

    // Enrolment: the secret is shown, but binding it needs the password.
    let (s, e) = app.post(&c, "/api/v1/me/totp", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let secret = e["secret"].as_str().expect("secret").to_string();
    let now = mid_step().await;
    let confirm = "/api/v1/me/totp/confirm";
    let code = code_at(&secret, now).expect("code");
    let (s, v) = app.post(&c, confirm, json!({"code": code})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["current_password"], "请输入当前密码");
    let (s, v) = app
        .post(
            &c,
            confirm,
            json!({"code": code, "current_password": "Wrong#Guess3x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["current_password"], "当前密码不正确");
    assert_eq!(
        app.sql_scalar("select count(*) from app_user where username = 'u_reauth' and totp_enabled_at is not null")
            .await,
        0,
        "not bound without the password"
    );
    let (s, v) = app
        .post(
            &c,
            confirm,
            json!({"code": code, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let recovery: Vec<String> = serde_json::from_value(v["recovery_codes"].clone()).expect("codes");
    // Renewing the recovery codes and turning the factor off: the code alone is not enough.
    let renew = "/api/v1/me/totp/recovery-codes";
    let (s, v) = app.post(&c, renew, json!({"code": recovery[0]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["current_password"], "请输入当前密码");
    let (s, v) = app
        .post(
            &c,
            renew,
            json!({"code": recovery[0], "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let renewed: Vec<String> = serde_json::from_value(v["recovery_codes"].clone()).expect("codes");
    let (s, v) = app
        .send(
            &c,
            "DELETE",
            "/api/v1/me/totp",
            json!({"code": renewed[0], "current_password": "Wrong#Guess4x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["current_password"], "当前密码不正确");
    assert_eq!(
        app.sql_scalar("select count(*) from recovery_code r join app_user u on u.user_id = r.user_id where u.username = 'u_reauth' and r.used_at is null")
            .await,
        10,
        "a wrong password spends no code"
    );

    // Four wrong passwords so far; the fifth locks, like wrong current passwords at a
    // password change, and then even the right one is refused, and so is a login.
    let (s, v) = app
        .send(
            &c,
            "PUT",
            email,
            json!({"email": "", "current_password": "Wrong#Guess5x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .send(
            &c,
            "DELETE",
            "/api/v1/me/totp",
            json!({"code": renewed[1], "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("输入错误次数过多")),
        "{v}"
    );
    let (s, _) = api_login(&app, &TestApp::client(), "u_reauth", PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'user.lock' and object_id = 'u_reauth'"
        )
        .await,
        1
    );
}
