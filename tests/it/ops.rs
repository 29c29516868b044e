use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn health_metrics_and_headers() {
    let app = TestApp::spawn().await;
    let c = TestApp::client();
    let r = c.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap_or("")
        .contains("script-src 'self'"));
    let r = c.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status(), StatusCode::OK);
    let text = c
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains("yaoshi_http_requests_total"), "{text}");
    let r = c
        .get(app.url("/static/vendor/htmx/htmx.min.js"))
        .send()
        .await
        .expect("static");
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(app.url("/static/nope.js"))
        .send()
        .await
        .expect("static");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Every documented path and method is routed: none falls through to the router's 404 or 405.
#[tokio::test]
async fn openapi_documents_every_route() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let (s, doc) = app.get(&c, "/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    // The document is built with the router (utoipa_axum), so its paths are the router's;
    // the access matrix (tests/it/access.rs) holds a row for every one of them.
    assert!(paths.len() > 60, "{} paths", paths.len());
    // Each documented method is routed: never 404/405 from the router itself.
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let concrete = path
                .replace("{id}", "999999")
                .replace("{kind}", "nothing")
                .replace("{grant_id}", "999999");
            let url = format!("/api/v1{concrete}");
            let (s, v) = app.send(&c, &method.to_uppercase(), &url, json!({})).await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
            if s == StatusCode::NOT_FOUND {
                assert_eq!(
                    v["error"]["message"], "找不到该记录，或您无权查看",
                    "{method} {url} fell through the router"
                );
            }
        }
    }
}

#[tokio::test]
async fn malformed_requests_get_chinese_errors_never_500() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let r = c
        .post(app.url("/api/v1/units"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = r.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("JSON 请求体格式错误"),
        "{v}"
    );
    let (s, v) = app.get(&c, "/api/v1/units/abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["message"], "网址有误：应为整数（收到“abc”）");
    let (s, v) = app.post(&c, "/api/v1/units", json!({"name": 5})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["message"], "JSON 请求体有误：“name”应为文本");
    assert_eq!(v["error"]["fields"]["name"], "应为文本");
    let (s, _) = app.get(&c, "/api/v1/nothing-here").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A cross-site form post with the session cookie is refused.
    let r = c
        .post(app.url("/api/v1/tokens"))
        .header("origin", "http://evil.example")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: serde_json::Value = r.json().await.expect("the API's error shape");
    assert_eq!(
        v["error"]["message"],
        "跨站请求被拒绝：请从本系统的页面提交"
    );
    // A page's form posted from another site gets the refusal as a page, in Chinese.
    let r = c
        .post(app.url("/org/communities"))
        .header("origin", "http://evil.example")
        .form(&[("name", "x")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.expect("page");
    assert!(
        html.contains("跨站请求被拒绝") && html.contains("<html"),
        "{html}"
    );
    // So it is with an Authorization header that is not a bearer token (the cookie is
    // what would be used), whatever its scheme or spelling.
    for auth in ["Basic dXNlcjpwYXNz", "bearer abc", "Negotiate abc"] {
        let r = c
            .post(app.url("/api/v1/tokens"))
            .header("origin", "http://evil.example")
            .header("authorization", auth)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{auth}");
    }
}

#[tokio::test]
async fn audit_chain_verifies_and_detects_tampering() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    app.post(&c, "/api/v1/communities", json!({"name": "甲社区"}))
        .await;
    app.post(&c, "/api/v1/communities", json!({"name": "乙社区"}))
        .await;
    let auditor = app
        .user_with(&c, "auditor", json!({"role": "audit_admin"}))
        .await;
    let (s, _) = app.get(&c, "/api/v1/audit/verify").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the system admin cannot read the audit log"
    );
    let (s, v) = app.get(&auditor, "/api/v1/audit/verify").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["intact"], true, "{v}");
    let (_, list) = app.get(&auditor, "/api/v1/audit?action=community").await;
    assert_eq!(list["total"], 2);
    // The application cannot change audit rows; a DBA removing the guard can, and is caught.
    let pool = &app.state.db.pool;
    assert!(
        sqlx::query("update audit_log set summary = 'x' where audit_id = 2")
            .execute(pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("delete from audit_log where audit_id = 2")
        .execute(pool)
        .await
        .is_err());
    let target = app
        .sql_scalar("select min(audit_id) from audit_log where action = 'community.create'")
        .await;
    match app.state.db.backend {
        yaoshi::db::Backend::Sqlite => {
            sqlx::query("drop trigger audit_log_no_update")
                .execute(pool)
                .await
                .expect("drop");
        }
        yaoshi::db::Backend::Postgres => {
            sqlx::query("drop trigger audit_log_no_update on audit_log")
                .execute(pool)
                .await
                .expect("drop");
        }
    }
    sqlx::query(&format!(
        "update audit_log set summary = '新建社区 丙社区' where audit_id = {target}"
    ))
    .execute(pool)
    .await
    .expect("tamper");
    let (_, v) = app.get(&auditor, "/api/v1/audit/verify").await;
    assert_eq!(v["intact"], false);
    assert_eq!(v["broken_at"], target);
}

/// The hostile review's two attacks with the database alone: drop the guards, edit a row and
/// recompute every later hash (the unkeyed chain then verified "intact"), or delete the
/// newest rows (a clean cut also verified). The keyed MACs and the checkpoint outside the
/// database catch both; a forged checkpoint is reported too.
#[tokio::test]
async fn a_recomputed_chain_and_a_cut_tail_are_caught() {
    use yaoshi::audit::{row_hash, verify, AuditRow, Verdict};

    async fn drop_guards(app: &TestApp) {
        let pool = &app.state.db.pool;
        for t in ["audit_log_no_update", "audit_log_no_delete"] {
            let sql = match app.state.db.backend {
                yaoshi::db::Backend::Sqlite => format!("drop trigger {t}"),
                yaoshi::db::Backend::Postgres => format!("drop trigger if exists {t} on audit_log"),
            };
            sqlx::query(&sql).execute(pool).await.expect("drop");
        }
    }
    async fn writes(app: &TestApp, c: &reqwest::Client, n: usize) {
        for i in 0..n {
            let (s, v) = app
                .post(
                    c,
                    "/api/v1/communities",
                    json!({"name": format!("社区{i}")}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
    }

    // 1. Edit one row and recompute the chain from there on, as the attacker can.
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    writes(&app, &c, 5).await;
    assert!(matches!(
        verify(&app.state.db).await.expect("verify"),
        Verdict::Intact { .. }
    ));
    drop_guards(&app).await;
    let pool = &app.state.db.pool;
    let target = app
        .sql_scalar("select min(audit_id) from audit_log where action = 'community.create'")
        .await;
    let mut rows: Vec<AuditRow> = sqlx::query_as("select * from audit_log order by audit_id")
        .fetch_all(pool)
        .await
        .expect("rows");
    let mut prev = String::new();
    for r in rows.iter_mut() {
        if r.audit_id < target {
            prev = r.hash.clone();
            continue;
        }
        if r.audit_id == target {
            r.summary = "新建社区 伪造社区".into();
        }
        r.prev_hash = prev.clone();
        r.hash = row_hash(r);
        prev = r.hash.clone();
        sqlx::query(
            "update audit_log set summary = $1, prev_hash = $2, hash = $3 where audit_id = $4",
        )
        .bind(r.summary.clone())
        .bind(r.prev_hash.clone())
        .bind(r.hash.clone())
        .bind(r.audit_id)
        .execute(pool)
        .await
        .expect("tamper");
    }
    assert_eq!(
        verify(&app.state.db).await.expect("verify"),
        Verdict::Broken {
            audit_id: target,
            reason: "mac"
        }
    );
    // Stripping every MAC does not pass for an old, unkeyed log: the checkpoint says from
    // where rows are keyed.
    sqlx::query("update audit_log set mac = ''")
        .execute(pool)
        .await
        .expect("strip");
    assert!(matches!(
        verify(&app.state.db).await.expect("verify"),
        Verdict::Broken { reason: "mac", .. }
    ));
    // The audit admin's page and the command line say so in words.
    let auditor = app
        .user_with(&c, "auditor", json!({"role": "audit_admin"}))
        .await;
    let (_, v) = app.get(&auditor, "/api/v1/audit/verify").await;
    assert_eq!(v["intact"], false, "{v}");

    // 2. Delete the newest rows: the chain that is left is consistent, the cut is not.
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    writes(&app, &c, 4).await;
    let newest = app.sql_scalar("select max(audit_id) from audit_log").await;
    drop_guards(&app).await;
    sqlx::query("delete from audit_log where audit_id > $1")
        .bind(newest - 3)
        .execute(&app.state.db.pool)
        .await
        .expect("cut");
    assert_eq!(
        verify(&app.state.db).await.expect("verify"),
        Verdict::Broken {
            audit_id: newest,
            reason: "cut"
        }
    );

    // 3. A checkpoint edited to agree with the cut does not verify.
    let path = app.dir().join(yaoshi::audit::checkpoint::FILE);
    let mut cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("checkpoint")).expect("json");
    cp["audit_id"] = json!(newest - 3);
    std::fs::write(&path, cp.to_string()).expect("write");
    assert_eq!(
        verify(&app.state.db).await.expect("verify"),
        Verdict::Broken {
            audit_id: 0,
            reason: "anchor"
        }
    );
}

/// The mode bits of a path (permissions only).
#[cfg(unix)]
fn mode_of(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Other local users can read neither the database (password hashes) nor the file store
/// (sign-in scans): a new data dir is created owner-only, and an old one is tightened.
#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_database_and_file_store_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    // A data dir the app creates itself (the harness's own temp dir holds it).
    let app = TestApp::spawn_with(|c| {
        c.data_dir = c.data_dir.join("data");
        if c.database_url.starts_with("sqlite:") {
            c.database_url = format!(
                "sqlite://{}?mode=rwc",
                c.data_dir.join("yaoshi.db").display()
            );
        }
    })
    .await;
    let data = app.state.config.data_dir.clone();
    let admin = app.admin().await;
    let city = crate::common::city(&app, &admin).await;
    let branch = app
        .user_with(
            &admin,
            "perm_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let (s, m) = app
        .post(
            &branch,
            "/api/v1/meetings",
            json!({"branch_id": city.branch_a, "kind": "general_assembly",
                   "held_on": "2026-03-10", "topic": "权限检查",
                   "attendance": [{"member_id": city.member_a, "state": "present"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let id = m["meeting_id"].as_i64().expect("meeting");
    let scan = b"%PDF-1.7\n a sign-in sheet".to_vec();
    let r = branch
        .post(app.url(&format!("/api/v1/meetings/{id}/attachments")))
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(scan.clone()).file_name("签到表.pdf"),
        ))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::CREATED);
    let hash = yaoshi::files::sha256_hex(&scan);
    let stored = data.join("files").join(&hash[..2]).join(&hash);
    let mut dirs = vec![
        data.clone(),
        data.join("files"),
        data.join("files").join(&hash[..2]),
    ];
    let mut files = vec![stored.clone(), data.join("yaoshi.key")];
    if !crate::common::is_postgres() {
        for suffix in ["", "-wal", "-shm"] {
            files.push(data.join(format!("yaoshi.db{suffix}")));
        }
    }
    for d in &dirs {
        assert_eq!(mode_of(d), 0o700, "{}", d.display());
    }
    for f in &files {
        assert_eq!(mode_of(f), 0o600, "{}", f.display());
    }

    // An installation made before: everything readable by others. The next start
    // tightens what holds the data.
    for d in &dirs {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    files.retain(|f| !f.ends_with("yaoshi.key"));
    for f in &files {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let mut config = yaoshi::config::Config::for_database(&app.db_url, data.clone());
    config.initial_admin_password = Some(crate::common::ADMIN_PASSWORD.into());
    let again = TestApp::serve(config, app.dir.join("unused"), None).await;
    // The file store's subfolders and files are behind `files/`, owner-only again.
    dirs.truncate(2);
    files.retain(|f| f != &stored);
    for d in &dirs {
        assert_eq!(mode_of(d), 0o700, "{} after a restart", d.display());
    }
    for f in &files {
        assert_eq!(mode_of(f), 0o600, "{} after a restart", f.display());
    }
    let c = again.login("perm_branch", crate::common::PASSWORD).await;
    let r = c
        .get(again.url(&format!("/api/v1/meetings/{id}/attachments")))
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), StatusCode::OK);
}

/// `/metrics` answers this machine (the default list), a configured address list, or the
/// bearer token; never an outsider, whether straight or through a proxy.
#[tokio::test]
async fn metrics_are_served_only_to_allowed_addresses_or_the_token() {
    const TOKEN: &str = "metrics-token-for-the-test-0123456789";
    let get = |app: &TestApp, xff: Option<&'static str>, bearer: Option<&str>| {
        let mut r = TestApp::client().get(app.url("/metrics"));
        if let Some(x) = xff {
            r = r.header("x-forwarded-for", x);
        }
        if let Some(t) = bearer {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.expect("metrics");
            let s = r.status();
            (s, r.text().await.unwrap_or_default())
        }
    };
    // Defaults: the loopback scraper is served.
    let app = TestApp::spawn().await;
    let (s, text) = get(&app, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("yaoshi_http_requests_total"), "{text}");
    // A reverse proxy on this machine forwarding an outsider: the peer is loopback, but
    // the request is not this machine's own.
    let (s, text) = get(&app, Some("203.0.113.9"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{text}");
    assert!(!text.contains("yaoshi_"), "{text}");
    assert!(text.contains("YAOSHI_METRICS_ALLOW"), "{text}");
    drop(app);

    // Behind a trusted proxy, the client it names decides; the token opens it anywhere.
    let app = TestApp::spawn_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.metrics_allow = vec!["10.1.2.0/24".into()];
        c.metrics_token = Some(TOKEN.into());
    })
    .await;
    let (s, _) = get(&app, Some("203.0.113.9"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(&app, Some("203.0.113.9"), Some("wrong-token")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, text) = get(&app, Some("10.1.2.7"), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (s, text) = get(&app, Some("203.0.113.9"), Some(TOKEN)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(text.contains("yaoshi_http_requests_total"), "{text}");
    // Loopback is no longer in the list.
    let (s, _) = get(&app, None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    drop(app);

    // An empty list: only the token.
    let app = TestApp::spawn_with(|c| c.metrics_allow = Vec::new()).await;
    let (s, _) = get(&app, None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The planner's statistics: the nightly job gathers them, once a day however often it is
/// asked (on several instances too).
#[tokio::test]
async fn planner_statistics_are_gathered_once_a_day() {
    let app = TestApp::spawn().await;
    let now = time::OffsetDateTime::now_utc();
    let first = (yaoshi::system::STATISTICS.run)(&app.state, now)
        .await
        .expect("statistics");
    assert_eq!(first, Some(1));
    assert!(app.state.db.has_statistics().await.expect("stats"));
    let again = (yaoshi::system::STATISTICS.run)(&app.state, now)
        .await
        .expect("statistics");
    assert_eq!(again, None, "once a day");
}

/// An area's data version moves with every committed write, however many commit at once
/// (PostgreSQL spreads them over shards), and not with a rolled-back one.
#[tokio::test]
async fn data_versions_count_concurrent_writes() {
    let app = crate::common::TestApp::spawn().await;
    let db = app.state.db.clone();
    let v0 = yaoshi::db::data_version(&db, "registry")
        .await
        .expect("version");
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin_write().await.expect("begin");
            sqlx::query("update category set name = name where category_id = (select min(category_id) from category)")
                .execute(tx.conn())
                .await
                .expect("update");
            tx.commit().await.expect("commit");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        yaoshi::db::data_version(&db, "registry")
            .await
            .expect("version"),
        v0 + 32
    );
    {
        let mut tx = db.begin_write().await.expect("begin");
        sqlx::query("update category set name = name where category_id = (select min(category_id) from category)")
            .execute(tx.conn())
            .await
            .expect("update");
    }
    assert_eq!(
        yaoshi::db::data_version(&db, "registry")
            .await
            .expect("version"),
        v0 + 32
    );
}
