//! Audit retention: records past the retention period move to sealed archive files, the
//! chain continues across them, tampering with a file or an anchor is found, and the audit
//! admin reads the archives (file and workbook), each read audited.

use reqwest::StatusCode;
use serde_json::json;
use yaoshi::audit::archive;
use yaoshi::audit::{Actor, Verdict};

use crate::common::TestApp;

const DAY: i64 = 86_400;

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql_scalar(sql).await
}

#[tokio::test]
async fn old_records_move_to_sealed_archives_and_the_chain_continues() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let sec = app
        .user_with(&admin, "sec", json!({"role": "security_admin"}))
        .await;
    let aud = app
        .user_with(&admin, "aud", json!({"role": "audit_admin"}))
        .await;
    for name in ["甲社区", "乙社区"] {
        let (s, v) = app
            .post(&admin, "/api/v1/communities", json!({"name": name}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    // Retention below six months is refused, in words.
    let (_, mut policy) = app.get(&sec, "/api/v1/security/policy").await;
    assert_eq!(policy["audit_retention_days"], 365, "the default is a year");
    policy["audit_retention_days"] = json!(100);
    let (s, v) = app
        .send(&sec, "PUT", "/api/v1/security/policy", policy.clone())
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["audit_retention_days"]
            .as_str()
            .is_some_and(|m| m.contains("183")),
        "{v}"
    );
    policy["audit_retention_days"] = json!(200);
    let (s, v) = app
        .send(&sec, "PUT", "/api/v1/security/policy", policy)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Nothing is old enough yet.
    let now = yaoshi::clock::now();
    let made = yaoshi::system::audit::archive_due(&app.state, now, &Actor::cli())
        .await
        .expect("run");
    assert!(made.is_empty());

    // 201 days on, everything so far is past the 200-day retention.
    let live = count(&app, "select count(*) from audit_log").await;
    let made = yaoshi::system::audit::archive_due(&app.state, now + 201 * DAY, &Actor::cli())
        .await
        .expect("archive");
    assert_eq!(made.len(), 1);
    let a = &made[0];
    assert_eq!(a.rows, live);
    assert_eq!(a.prev_hash, yaoshi::audit::GENESIS);
    assert_eq!(
        count(&app, "select count(*) from audit_log").await,
        1,
        "only the archiving itself is left in the live log"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_log where action = 'audit.archive'"
        )
        .await,
        1
    );
    assert_eq!(
        yaoshi::audit::verify(&app.state.db).await.expect("verify"),
        Verdict::Intact {
            rows: 1,
            archived: live
        }
    );
    assert!(archive::check_files(&app.state)
        .await
        .expect("files")
        .is_empty());

    // Live records past the anchor still cannot be removed; archive rows cannot be touched.
    let pool = &app.state.db.pool;
    let last = count(&app, "select max(audit_id) from audit_log").await;
    for sql in [
        format!("delete from audit_log where audit_id = {last}"),
        format!("update audit_log set summary = 'x' where audit_id = {last}"),
        "delete from audit_archive".to_string(),
        "update audit_archive set rows = 1".to_string(),
    ] {
        assert!(sqlx::query(&sql).execute(pool).await.is_err(), "{sql}");
    }

    // The audit admin sees the archive, downloads the sealed file and a workbook of it.
    let (s, list) = app.get(&aud, "/api/v1/audit/archives").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let (s, _) = app.get(&admin, "/api/v1/audit/archives").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the system admin cannot read archives"
    );
    let id = a.archive_id;
    let r = aud
        .get(app.url(&format!("/api/v1/audit/archives/{id}/file")))
        .send()
        .await
        .expect("file");
    assert_eq!(r.status(), StatusCode::OK);
    let file = r.bytes().await.expect("bytes");
    let (header, _, rows) =
        archive::decode(&file, &app.state.keys.snapshot()).expect("a sealed file");
    assert_eq!((header.rows, rows.len() as i64), (live, live));
    assert!(rows.iter().any(|r| r.summary.contains("甲社区")));
    let r = aud
        .get(app.url(&format!("/system/audit/archives/{id}/export")))
        .send()
        .await
        .expect("xlsx");
    assert_eq!(r.status(), StatusCode::OK);
    let sheet = yaoshi::xlsx::read_first_sheet(&r.bytes().await.expect("b")).expect("xlsx");
    assert_eq!(sheet.len() as i64, live + 1, "a header and every record");
    assert!(sheet.iter().any(|r| r[7].contains("乙社区")));
    let page = aud
        .get(app.url("/system/audit"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("data-testid=\"archives\""), "{page}");
    assert!(page.contains("保留期 200 天"));
    let r = aud
        .get(app.url("/system/audit/archives/999/file"))
        .send()
        .await
        .expect("404");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_log where action = 'audit.export' and object_type = 'audit_archive'"
        )
        .await,
        2,
        "both reads of the archive are audited"
    );

    // A second pass later takes what has aged since, linking onto the first archive.
    let made = yaoshi::system::audit::archive_due(&app.state, now + 401 * DAY, &Actor::system())
        .await
        .expect("second");
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].prev_hash, a.last_hash);
    assert_eq!(made[0].first_id, a.last_id + 1);
    let (_, v) = app.get(&aud, "/api/v1/audit/verify").await;
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["archived"].as_i64().is_some_and(|n| n > live), "{v}");

    // A file replaced in the store (sealed with another key) is found.
    let path = app
        .dir()
        .join("files")
        .join(&a.file_hash[..2])
        .join(&a.file_hash);
    let other = yaoshi::crypto::Keys::new(&yaoshi::crypto::KeyFile::generate());
    let (forged, _) = archive::encode(&header, &rows, &other).expect("forge");
    std::fs::write(&path, forged).expect("overwrite");
    let (_, v) = app.get(&aud, "/api/v1/audit/verify").await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_archives"], json!([id]), "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("归档")),
        "{v}"
    );
    let r = aud
        .get(app.url(&format!("/system/audit/archives/{id}/export")))
        .send()
        .await
        .expect("refused");
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a forged archive is not exported"
    );
}

#[tokio::test]
async fn a_broken_chain_is_not_archived() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.post(&admin, "/api/v1/communities", json!({"name": "甲社区"}))
        .await;
    let pool = &app.state.db.pool;
    let target = count(
        &app,
        "select min(audit_id) from audit_log where action = 'community.create'",
    )
    .await;
    let drop = match app.state.db.backend {
        yaoshi::db::Backend::Sqlite => "drop trigger audit_log_no_update",
        yaoshi::db::Backend::Postgres => "drop trigger audit_log_no_update on audit_log",
    };
    sqlx::query(drop).execute(pool).await.expect("drop");
    sqlx::query(&format!(
        "update audit_log set summary = '篡改' where audit_id = {target}"
    ))
    .execute(pool)
    .await
    .expect("tamper");
    let before = count(&app, "select count(*) from audit_log").await;
    let e = yaoshi::system::audit::archive_due(
        &app.state,
        yaoshi::clock::now() + 400 * DAY,
        &Actor::cli(),
    )
    .await
    .expect_err("refused");
    assert!(
        format!("{e:#}").contains(&format!("第 {target} 条")),
        "{e:#}"
    );
    assert_eq!(count(&app, "select count(*) from audit_log").await, before);
    assert_eq!(count(&app, "select count(*) from audit_archive").await, 0);
}

/// Audited writes committing at the same time (on PostgreSQL they chain after their commits,
/// many in one seal) all land in one unbroken chain, none left waiting, the checkpoint on the
/// newest; an entry a crash left waiting is chained at the next start or verify.
#[tokio::test]
async fn concurrent_audited_writes_chain_whole() {
    let app = TestApp::spawn().await;
    let before = count(&app, "select count(*) from audit_log").await;
    let mut tasks = Vec::new();
    for i in 0..48 {
        let db = app.state.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin_write().await.expect("begin");
            tx.audit(
                &Actor::system(),
                yaoshi::audit::Entry::new("audit", "test", i, format!("并发写入 {i}")),
            )
            .await
            .expect("audit");
            tx.commit().await.expect("commit");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        count(&app, "select count(*) from audit_log").await,
        before + 48
    );
    assert_eq!(count(&app, "select count(*) from audit_pending").await, 0);
    assert!(matches!(
        yaoshi::audit::verify(&app.state.db).await.expect("verify"),
        Verdict::Intact { .. }
    ));
    let newest = count(&app, "select max(audit_id) from audit_log").await;
    let seal = app.state.db.chain().expect("seal");
    let c = yaoshi::audit::checkpoint::read(&seal)
        .expect("readable")
        .expect("a checkpoint");
    assert_eq!(c.audit_id, newest);
    // A rolled-back write leaves nothing, waiting or chained.
    {
        let mut tx = app.state.db.begin_write().await.expect("begin");
        tx.audit(
            &Actor::system(),
            yaoshi::audit::Entry::new("audit", "test", 0, "回滚的写入"),
        )
        .await
        .expect("audit");
    }
    assert_eq!(
        count(&app, "select count(*) from audit_log").await,
        before + 48
    );
    assert_eq!(count(&app, "select count(*) from audit_pending").await, 0);
    // PostgreSQL: an entry left waiting (the process gone between commit and seal) is
    // chained by verify.
    if crate::common::is_postgres() {
        sqlx::query(
            "insert into audit_pending (at, actor_name, action, object_type, object_id, summary) \
             values (1, 'system', 'audit', 'test', '99', '崩溃前提交')",
        )
        .execute(&app.state.db.pool)
        .await
        .expect("pending");
        assert!(matches!(
            yaoshi::audit::verify(&app.state.db).await.expect("verify"),
            Verdict::Intact { .. }
        ));
        assert_eq!(
            count(&app, "select count(*) from audit_log").await,
            before + 49
        );
        assert_eq!(count(&app, "select count(*) from audit_pending").await, 0);
    }
}
