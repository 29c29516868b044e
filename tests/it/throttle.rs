//! Issue #13 (B): anyone could lock any named account. Five wrong passwords from any
//! client locked the security admin (or any admin) for 30 minutes, and 64 clients guessing
//! wrote thousands of failed-login audit rows a minute. Now failures count per account and
//! address, per address, and per account across addresses (docs/SECURITY.md, 身份鉴别 b);
//! the audit log gets one row per burst and a summary; `yaoshi admin unlock` lifts a lock.
//! Clients are given addresses through a trusted proxy's `X-Forwarded-For`.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{TestApp, PASSWORD};

/// The app behind a trusted proxy (the test client's own address), so each request can
/// say which client it comes from.
async fn behind_proxy() -> TestApp {
    TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await
}

/// An API login from `ip` (a new client each time: nothing carried between attempts; an
/// empty `ip`: the test client's own address).
async fn login_from(
    app: &TestApp,
    ip: &str,
    username: &str,
    password: &str,
    totp: Option<String>,
) -> (StatusCode, Value) {
    let mut body = json!({"username": username, "password": password});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    let mut req = TestApp::client()
        .post(app.url("/api/v1/session"))
        .json(&body);
    if !ip.is_empty() {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.expect("login");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The security admin, with a second factor the harness knows.
async fn security_admin(app: &TestApp) -> Client {
    let admin = app.admin().await;
    app.user_with(&admin, "sec", json!({"role": "security_admin"}))
        .await
}

/// An account with no second factor (a community's).
async fn plain(app: &TestApp, username: &str) {
    let admin = app.admin().await;
    let (s, v) = app
        .post(&admin, "/api/v1/communities", json!({"name": "测试社区"}))
        .await;
    assert!(
        s == StatusCode::CREATED || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{v}"
    );
    let id = app
        .sql_scalar("select max(community_id) from community")
        .await;
    app.user_with(
        &admin,
        username,
        json!({"role": "community", "community_id": id}),
    )
    .await;
}

async fn verify_intact(app: &TestApp) {
    assert!(
        matches!(
            yaoshi::audit::verify(&app.state.db).await.expect("verify"),
            yaoshi::audit::Verdict::Intact { .. }
        ),
        "the audit chain is intact"
    );
}

#[tokio::test]
async fn the_owner_gets_in_from_their_own_address_while_a_guesser_is_locked_out() {
    let app = behind_proxy().await;
    let _sec = security_admin(&app).await;
    let guesser = "203.0.113.66";
    for i in 0..5 {
        let (s, v) = login_from(&app, guesser, "sec", &format!("Wrong#Guess{i}x"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"]["message"], "用户名或密码错误");
    }
    // From the guesser's address even the right password and code are refused now.
    let code = app.next_code("sec").await;
    let (s, v) = login_from(&app, guesser, "sec", PASSWORD, code).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("登录失败次数过多")),
        "{v}"
    );
    // The owner, from their own address, is let in: the lock bars the address that failed,
    // not the account (it used to lock the security admin out for 30 minutes).
    let code = app.next_code("sec").await;
    let (s, v) = login_from(&app, "198.51.100.7", "sec", PASSWORD, code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Another account from the guesser's address is not barred by five failures either.
    let (s, v) = login_from(
        &app,
        guesser,
        "admin",
        crate::common::ADMIN_PASSWORD,
        app.next_code("admin").await,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // One lock, of that address; the security admin sees which address is locked.
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where action = 'user.lock' and object_id = 'sec' and summary like '%{guesser}%'"
        ))
        .await,
        1
    );
    let sec = app.login("sec", PASSWORD).await;
    let (s, locks) = app.get(&sec, "/api/v1/security/locks").await;
    assert_eq!(s, StatusCode::OK, "{locks}");
    let row = locks
        .as_array()
        .expect("list")
        .iter()
        .find(|l| l["username"] == "sec")
        .expect("sec listed")
        .clone();
    assert!(row["locked_until"].as_i64().is_some(), "{row}");
    assert_eq!(row["locked_addresses"], json!([guesser]), "{row}");
    verify_intact(&app).await;
}

#[tokio::test]
async fn a_guesser_spread_over_many_addresses_gets_a_bounded_number_of_guesses() {
    let app = behind_proxy().await;
    let _sec = security_admin(&app).await;
    plain(&app, "wu_plain").await;
    // The plain account's owner signs in from the office, which makes it one of theirs.
    let office = "198.51.100.20";
    let (s, v) = login_from(&app, office, "wu_plain", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // 64 clients, three guesses each, at the security admin.
    let (mut checked, mut refused) = (0, 0);
    for round in 0..3 {
        for n in 1..=64 {
            let ip = format!("10.77.0.{n}");
            let (s, v) = login_from(&app, &ip, "sec", &format!("Wrong#{round}x{n}"), None).await;
            match s {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(v["error"]["code"], "code_first", "{v}");
                    refused += 1
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
    }
    // The password was tried no more than the account's ceiling (policy default 20).
    assert_eq!((checked, refused), (20, 172));
    // The audit log: one row per account and address, not one per attempt (192 attempts
    // at the security admin from 64 addresses), each burst's counts in login_burst.
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'login.failed' and object_id = 'sec'"
        )
        .await,
        64
    );
    assert_eq!(
        app.sql_scalar("select cast(coalesce(sum(failures), 0) as bigint) from login_burst where username = 'sec'")
            .await,
        20
    );
    assert_eq!(
        app.sql_scalar("select cast(coalesce(sum(refused), 0) as bigint) from login_burst where username = 'sec'")
            .await,
        172
    );
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'user.guard' and object_id = 'sec'"
        )
        .await,
        1,
        "the guard is audited once, when the ceiling is reached"
    );
    // The owner still gets in from a new address: the code is checked first, then the
    // password — the API takes both in one request.
    let code = app.next_code("sec").await;
    let (s, v) = login_from(&app, "198.51.100.50", "sec", PASSWORD, code).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The login page asks a guarded account's password for the code in the same step, and
    // lets the owner in with both.
    let page = TestApp::client();
    let r = page
        .post(app.url("/login"))
        .header("x-forwarded-for", "198.51.100.51")
        .form(&[("username", "sec"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login page");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = r.text().await.expect("t");
    assert!(html.contains(r#"data-testid="code-first""#), "{html}");
    let code = app.next_code("sec").await.expect("code");
    let r = page
        .post(app.url("/login"))
        .header("x-forwarded-for", "198.51.100.51")
        .form(&[("username", "sec"), ("password", PASSWORD), ("code", &code)])
        .send()
        .await
        .expect("login page");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");

    // The account without a second factor: guessed from 25 addresses, it is guarded after
    // 20; its owner's office address still takes the password, a new address does not.
    let (mut checked, mut refused) = (0, 0);
    for n in 1..=25 {
        let (s, _) = login_from(
            &app,
            &format!("10.78.0.{n}"),
            "wu_plain",
            "Wrong#Guess1x",
            None,
        )
        .await;
        match s {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((checked, refused), (20, 5));
    let (s, v) = login_from(&app, office, "wu_plain", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = login_from(&app, "198.51.100.21", "wu_plain", PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "code_first");
    // A code it cannot have counts as a failure, like a wrong one.
    let (s, v) = login_from(
        &app,
        "198.51.100.21",
        "wu_plain",
        PASSWORD,
        Some("123456".into()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // A window later the bursts close (at the next attempt, or the daily pass) with one
    // summary each carrying its counts; the chain stays intact.
    sqlx::query("update login_burst set started_at = started_at - 16 * 60")
        .execute(&app.state.db.pool)
        .await
        .expect("age");
    login_from(&app, "10.79.0.1", "nobody-at-all", "Wrong#Guess1x", None).await;
    let summaries: Vec<String> = sqlx::query_scalar(
        "select after_json from audit_log where action = 'login.failed.summary' and object_id = 'sec'",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .expect("summaries");
    assert_eq!(summaries.len(), 64, "one per burst");
    let (mut f, mut r) = (0, 0);
    for s in &summaries {
        let v: Value = serde_json::from_str(s).expect("json");
        f += v["failures"].as_i64().expect("failures");
        r += v["refused"].as_i64().expect("refused");
    }
    assert_eq!((f, r), (20, 172));
    verify_intact(&app).await;
}

#[tokio::test]
async fn one_address_guessing_many_names_is_stopped_for_all_of_them() {
    let app = behind_proxy().await;
    plain(&app, "wu_one").await;
    let sprayer = "203.0.113.99";
    let (mut checked, mut refused) = (0, 0);
    for n in 0..40 {
        let (s, v) = login_from(&app, sprayer, &format!("name{n}"), "Wrong#Guess1x", None).await;
        match s {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("该地址登录失败次数过多")),
                    "{v}"
                );
                refused += 1
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    // At most the policy's per-address limit (default 30) across all names.
    assert_eq!((checked, refused), (30, 10));
    let (s, _) = login_from(&app, sprayer, "wu_one", PASSWORD, None).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is stopped for every name"
    );
    let (s, v) = login_from(&app, "198.51.100.8", "wu_one", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK, "other addresses are not: {v}");
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where action = 'address.lock' and object_id = '{sprayer}'"
        ))
        .await,
        1
    );
    // The audit admin's home counts the failures, not the rows that stand for them.
    let admin = app.admin().await;
    let aud = app
        .user_with(&admin, "aud", json!({"role": "audit_admin"}))
        .await;
    let home = aud
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("t");
    assert!(
        home.contains(r#"今日登录失败</div><div class="h1 m-0 text-danger">30</div>"#),
        "{home}"
    );
    // The refusals of the locked address are one burst of the address: one row.
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where action = 'login.failed' and object_type = 'address' and object_id = '{sprayer}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.sql_scalar(&format!(
            "select refused from login_burst where kind = 'address' and ip = '{sprayer}'"
        ))
        .await,
        11
    );
    verify_intact(&app).await;
}

#[tokio::test]
async fn yaoshi_admin_unlock_lifts_a_lock_from_the_command_line() {
    let app = TestApp::spawn().await;
    plain(&app, "wu_cli").await;
    for _ in 0..5 {
        let (s, _) = login_from(&app, "", "wu_cli", "Wrong#Guess1x", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = login_from(&app, "", "wu_cli", PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let run = |user: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_yaoshi"))
            .args(["admin", "unlock", user])
            .env("DATABASE_URL", &app.db_url)
            .env("YAOSHI_DATA_DIR", app.dir())
            .env("YAOSHI_CONFIG", app.dir().join("none.toml"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run yaoshi")
    };
    let out = run("wu_cli");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("已解除 wu_cli 的登录锁定"), "{stdout}");
    yaoshi::auth::cache::clear(&app.state);
    let (s, v) = login_from(&app, "", "wu_cli", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        app.sql_scalar(
            "select count(*) from audit_log where action = 'user.unlock' and actor_name = 'cli' and object_id = 'wu_cli'"
        )
        .await,
        1
    );
    // A name without failures: said so, nothing audited.
    let out = run("nobody-here");
    assert!(String::from_utf8_lossy(&out.stdout).contains("没有登录失败记录"));
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'user.unlock'")
            .await,
        1
    );
    verify_intact(&app).await;
}
