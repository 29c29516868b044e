//! ID numbers and phones encrypted at rest: what the database holds, lookups through the
//! blind index, start-up refusals, and key rotation interrupted and resumed.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::json;
use yaoshi::audit::Actor;
use yaoshi::auth::Scope;
use yaoshi::config::Config;
use yaoshi::crypto::{Field, KeyFile, KeyRing};
use yaoshi::org::members::{list_in, MemberFilter};
use yaoshi::state::AppState;
use yaoshi::system::keys::{self as store, PassOptions};

use crate::common::{city, nth_id, TestApp};

/// (member_id, id_number, phone, id_hash, id_suffix) as stored.
async fn raw_rows(state: &AppState) -> Vec<(i64, String, String, Option<String>, String)> {
    sqlx::query_as(
        "select member_id, id_number, phone, id_hash, id_suffix from member order by member_id",
    )
    .fetch_all(&state.db.pool)
    .await
    .expect("raw rows")
}

/// (member_id, id_number, phone) decrypted with `keys`.
async fn opened(state: &AppState, keys: &KeyRing) -> Vec<(i64, String, String)> {
    raw_rows(state)
        .await
        .into_iter()
        .map(|(id, n, p, _, _)| {
            (
                id,
                keys.decrypt(Field::IdNumber, &n).expect("id number"),
                keys.decrypt(Field::Phone, &p).expect("phone"),
            )
        })
        .collect()
}

/// No stored value contains the plaintext, in any form a search could find.
async fn assert_no_plaintext(app: &TestApp, ids: &[String], phones: &[&str]) {
    for id in ids {
        let n = app
            .sql_scalar(&format!(
                "select count(*) from member where id_number like '%{id}%' or phone like '%{id}%' \
                 or id_hash like '%{id}%' or id_number like '%{}%' or id_suffix = '{}'",
                &id[..14],
                &id[14..]
            ))
            .await;
        assert_eq!(n, 0, "ID number {id} stored in plaintext");
    }
    for p in phones {
        let n = app
            .sql_scalar(&format!(
                "select count(*) from member where phone like '%{p}%' or id_number like '%{p}%' \
                 or phone like '%{}%'",
                &p[3..]
            ))
            .await;
        assert_eq!(n, 0, "phone {p} stored in plaintext");
    }
    assert_eq!(
        app.sql_scalar(
            "select count(*) from member where substr(id_number, 1, 6) <> 'v1.k1.' \
             or (phone <> '' and substr(phone, 1, 6) <> 'v1.k1.') or id_hash is null"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn database_holds_no_plaintext_after_create_update_and_import() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    assert!(app.dir.join("yaoshi.key").exists(), "key file generated");
    assert_no_plaintext(&app, &[nth_id(1), nth_id(2)], &["13800138000"]).await;

    // An update writes ciphertext too.
    let (s, v) = app
        .send(
            &c,
            "PUT",
            &format!("/api/v1/members/{}", city.member_a),
            json!({"name": "张三", "id_number": nth_id(1), "kind": "full", "joined_on": "2010-07-01",
                   "converted_on": "2011-07-01", "branch_id": city.branch_a, "phone": "13912345678"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_no_plaintext(&app, &[nth_id(1)], &["13912345678", "13800138000"]).await;
    let (_, m) = app
        .get(
            &c,
            &format!("/api/v1/members/{}?unmask=true", city.member_a),
        )
        .await;
    assert_eq!(m["id_number"], nth_id(1));
    assert_eq!(m["phone"], "13912345678");

    // Import: new rows and a changed existing row.
    let headers = [
        "姓名",
        "身份证号",
        "党员类别",
        "入党日期",
        "转正日期",
        "手机号",
        "机关党组织",
        "党支部",
    ];
    let row = |name: &str, id: &str, phone: &str| -> Vec<String> {
        [
            name,
            id,
            "正式党员",
            "2012-07-01",
            "2013-07-01",
            phone,
            "市测试局",
            "办公室党支部",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let rows = vec![
        row("导入甲", &nth_id(301), "13700001111"),
        row("导入乙", &nth_id(302), ""),
        row("张三", &nth_id(1), "13600002222"),
    ];
    let bytes = yaoshi::xlsx::write_sheet("Sheet1", &headers, &rows).expect("xlsx");
    let form = Form::new().part("file", Part::bytes(bytes).file_name("党员.xlsx"));
    let r = c
        .post(app.url("/api/v1/import/members"))
        .multipart(form)
        .send()
        .await
        .expect("import");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    assert_no_plaintext(
        &app,
        &[nth_id(1), nth_id(301), nth_id(302)],
        &["13700001111", "13600002222"],
    )
    .await;
    // The empty phone stays empty; everything decrypts to what was imported.
    assert_eq!(
        app.sql_scalar("select count(*) from member where phone = ''")
            .await,
        1
    );
    let plain = opened(&app.state, &app.state.keys).await;
    assert!(plain
        .iter()
        .any(|(_, n, p)| *n == nth_id(1) && p == "13600002222"));
    assert!(plain
        .iter()
        .any(|(_, n, p)| *n == nth_id(301) && p == "13700001111"));
    // Re-importing the same file matches every row by the blind index: nothing changes.
    let bytes = yaoshi::xlsx::write_sheet("Sheet1", &headers, &rows).expect("xlsx");
    let form = Form::new().part("file", Part::bytes(bytes).file_name("党员.xlsx"));
    let r = c
        .post(app.url("/api/v1/import/members"))
        .multipart(form)
        .send()
        .await
        .expect("import");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["unchanged"], 3, "{v}");
    assert_eq!(v["created"], 0, "{v}");
}

#[tokio::test]
async fn full_id_number_and_last_four_still_find_the_member() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    city(&app, &c).await;
    let id = nth_id(1);
    let (s, v) = app.get(&c, &format!("/api/v1/members?q={id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["items"][0]["name"], "张三");
    // The list shows masked values, decrypted then masked.
    let masked = format!("{}**********{}", &id[..4], &id[14..]);
    assert_eq!(v["items"][0]["id_number"], masked);
    assert_eq!(v["items"][0]["phone"], "138****8000");
    // Lower-case x and spaces are normalised before hashing, as before.
    let (_, v) = app
        .get(&c, &format!("/api/v1/members?q={}", id.to_lowercase()))
        .await;
    assert_eq!(v["total"], 1, "{v}");
    let (_, v) = app
        .get(&c, &format!("/api/v1/members?q={}", &id[14..]))
        .await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["items"][0]["name"], "张三");
    // An unknown full ID finds nothing.
    let (_, v) = app
        .get(&c, &format!("/api/v1/members?q={}", nth_id(999)))
        .await;
    assert_eq!(v["total"], 0);
    // The page search too.
    let r = c
        .get(app.url(&format!("/org/members?q={id}")))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("张三") && html.contains(&masked), "{html}");
    assert!(!html.contains("李四"));
}

#[tokio::test]
async fn duplicate_id_number_is_refused_through_the_blind_index() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    let (s, v) = app
        .post(
            &c,
            "/api/v1/members",
            json!({"name": "重复", "id_number": nth_id(1).to_lowercase(), "kind": "full", "branch_id": city.branch_b}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["id_number"], "该身份证号已登记");
    // Changing a member's ID number to another member's is refused the same way.
    let (s, v) = app
        .send(
            &c,
            "PUT",
            &format!("/api/v1/members/{}", city.member_b),
            json!({"name": "李四", "id_number": nth_id(1), "kind": "full", "joined_on": "2010-07-01",
                   "converted_on": "2011-07-01", "branch_id": city.branch_b}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["fields"]["id_number"], "该身份证号已登记");
    assert_eq!(app.sql_scalar("select count(*) from member").await, 2);
}

#[tokio::test]
async fn rotation_interrupted_and_resumed_keeps_every_value() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    for n in 10..16u32 {
        let phone = if n % 3 == 0 {
            String::new()
        } else {
            format!("1390000{n:04}")
        };
        let (s, v) = app
            .post(
                &c,
                "/api/v1/members",
                json!({"name": format!("党员{n}"), "id_number": nth_id(n), "kind": "full", "branch_id": city.branch_a, "phone": phone}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let before = opened(&app.state, &app.state.keys).await;
    let hashes: Vec<Option<String>> = raw_rows(&app.state)
        .await
        .into_iter()
        .map(|r| r.3)
        .collect();
    let total = before.len();
    assert_eq!(total, 8);

    // `yaoshi keys new`, then a restart: the new state has k1 and k2, k2 current.
    let path = app.dir.join("yaoshi.key");
    let mut file = KeyFile::read(&path).expect("key file");
    assert_eq!(file.add_key(), "k2");
    file.write(&path).expect("write key file");
    let state = yaoshi::app::state(Config::for_database(&app.db_url, app.dir.clone()))
        .await
        .expect("restart with the new key");
    assert_eq!(state.keys.current_id(), "k2");
    // New writes go under k2 at once.
    let sealed = state.keys.seal_member(&nth_id(77), "").expect("seal");
    assert!(sealed.id_number.starts_with("v1.k2."));

    // Interrupted: three rows, in batches of two.
    let opts = PassOptions {
        only_plaintext: false,
        batch: 2,
        stop_after: Some(3),
    };
    let mut seen = Vec::new();
    let r = store::pass(&state.db, &state.keys, &Actor::cli(), &opts, |done, all| {
        seen.push((done, all))
    })
    .await
    .expect("partial pass");
    assert_eq!(r.rewritten, 3);
    assert_eq!(r.remaining, total as i64 - 3);
    assert_eq!(seen, vec![(2, total as i64), (3, total as i64)]);
    let s = store::status(&state.db, Some(&state.keys))
        .await
        .expect("status");
    let count = |id: &str| {
        s.per_key
            .iter()
            .find(|k| k.0 == id)
            .map(|k| k.1)
            .unwrap_or(-1)
    };
    assert_eq!(count("k1"), total as i64 - 3);
    assert_eq!(count("k2"), 3);
    assert_eq!(s.plaintext_ids, 0);
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'member.encrypt'")
            .await,
        2,
        "one audit entry per batch"
    );

    // The server started before `keys new` meets k2 values and re-reads its key file.
    let (s, v) = app.get(&c, "/api/v1/members?per_page=50").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], total);
    assert_eq!(app.state.keys.current_id(), "k2");

    // Mid-rotation every lookup still works: the blind index does not depend on the data key.
    for (_, id, _) in [&before[0], &before[total - 1]] {
        let f = MemberFilter {
            q: Some(id.clone()),
            ..Default::default()
        };
        let (rows, n) = list_in(&state, &Scope::everything(), &f, false)
            .await
            .expect("search");
        assert_eq!(n, 1, "{id}");
        assert_eq!(rows[0].id_number, *id);
    }

    // Resumed: everything ends on k2, every value and every blind index unchanged.
    let r = store::pass(
        &state.db,
        &state.keys,
        &Actor::cli(),
        &PassOptions {
            batch: 2,
            ..PassOptions::default()
        },
        |_, _| {},
    )
    .await
    .expect("resumed pass");
    assert_eq!(r.rewritten, total - 3);
    assert_eq!(r.remaining, 0);
    let s = store::status(&state.db, Some(&state.keys))
        .await
        .expect("status");
    assert_eq!(
        s.per_key
            .iter()
            .map(|(id, n, _, present)| (id.as_str(), *n, *present))
            .collect::<Vec<_>>(),
        vec![("k1", 0, true), ("k2", total as i64, true)]
    );
    let phones_on_k2 = s.per_key.iter().find(|k| k.0 == "k2").map(|k| k.2);
    assert_eq!(phones_on_k2, Some(total as i64 - s.empty_phones));
    assert_eq!(opened(&state, &state.keys).await, before);
    let after: Vec<Option<String>> = raw_rows(&state).await.into_iter().map(|r| r.3).collect();
    assert_eq!(after, hashes);
    // A third run has nothing to do and writes no audit entry.
    let audits = app
        .sql_scalar("select count(*) from audit_log where action = 'member.encrypt'")
        .await;
    let r = store::pass(
        &state.db,
        &state.keys,
        &Actor::cli(),
        &PassOptions::default(),
        |_, _| {},
    )
    .await
    .expect("idempotent");
    assert_eq!((r.rewritten, r.remaining), (0, 0));
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'member.encrypt'")
            .await,
        audits
    );
    assert!(matches!(
        yaoshi::audit::verify(&state.db).await.expect("verify"),
        yaoshi::audit::Verdict::Intact { .. }
    ));
    // `yaoshi keys rotate`, the members done, moves the TOTP secrets too.
    let secrets = store::totp_pass(&state.db, &state.keys, &Actor::cli(), false)
        .await
        .expect("secrets");
    assert!(secrets >= 1, "the admin's secret was under k1");
    // Without k1 the data is still readable now; the old key may be retired.
    let mut file = KeyFile::read(&path).expect("key file");
    file.keys.retain(|(id, _)| id != "k1");
    file.write(&path).expect("write key file");
    let state = yaoshi::app::state(Config::for_database(&app.db_url, app.dir.clone()))
        .await
        .expect("start without the retired key");
    assert_eq!(opened(&state, &state.keys).await, before);
}

#[tokio::test]
async fn plaintext_rows_from_before_are_encrypted_at_start() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    // As a database from before encryption holds them.
    sqlx::query(
        "update member set id_number = $1, phone = '13800138000', id_hash = null, id_suffix = $2 where member_id = $3",
    )
    .bind(nth_id(1))
    .bind(nth_id(1)[14..].to_string())
    .bind(city.member_a)
    .execute(&app.state.db.pool)
    .await
    .expect("legacy row");
    let state = yaoshi::app::state(Config::for_database(&app.db_url, app.dir.clone()))
        .await
        .expect("restart");
    assert_no_plaintext(&app, &[nth_id(1)], &["13800138000"]).await;
    let plain = opened(&state, &state.keys).await;
    assert!(plain
        .iter()
        .any(|(id, n, p)| *id == city.member_a && *n == nth_id(1) && p == "13800138000"));
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'member.encrypt' and actor_name = 'system'")
            .await,
        1
    );
    // The restarted state finds the member by the full ID number and by the last four.
    for q in [nth_id(1), nth_id(1)[14..].to_string()] {
        let f = MemberFilter {
            q: Some(q.clone()),
            ..Default::default()
        };
        let (rows, n) = list_in(&state, &Scope::everything(), &f, false)
            .await
            .expect("search");
        assert_eq!(n, 1, "{q}");
        assert_eq!(rows[0].name, "张三");
    }
}

#[tokio::test]
async fn start_refuses_without_the_key_that_encrypted_the_data() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    city(&app, &c).await;
    let elsewhere = app.dir.join("elsewhere");
    let start = |key_dir: std::path::PathBuf, key_file: Option<std::path::PathBuf>| {
        let mut config = Config::for_database(&app.db_url, key_dir);
        config.key_file = key_file;
        yaoshi::app::state(config)
    };

    // No key file where the default says: refused, and no new key is generated over the data.
    let err = format!(
        "{:#}",
        start(elsewhere.clone(), None).await.err().expect("refused")
    );
    assert!(err.contains("找不到密钥文件"), "{err}");
    assert!(err.contains("无法解密"), "{err}");
    assert!(!elsewhere.join("yaoshi.key").exists());

    // A configured key file that is missing: refused.
    let configured = elsewhere.join("conf.key");
    let err = format!(
        "{:#}",
        start(app.dir.clone(), Some(configured.clone()))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("找不到密钥文件"), "{err}");
    assert!(err.contains("conf.key"), "{err}");

    // A key file without k1.
    let mut other = KeyFile::generate();
    other.keys[0].0 = "k7".into();
    other.current = "k7".into();
    assert!(other.create_new(&configured).expect("write"));
    let err = format!(
        "{:#}",
        start(app.dir.clone(), Some(configured.clone()))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("k1") && err.contains("没有该密钥"), "{err}");

    // A different key under the same id.
    let _ = std::fs::remove_file(&configured);
    assert!(KeyFile::generate().create_new(&configured).expect("write"));
    let err = format!(
        "{:#}",
        start(app.dir.clone(), Some(configured.clone()))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("无法解密"), "{err}");

    // The right data keys but another blind-index key.
    let mut right = KeyFile::read(&app.dir.join("yaoshi.key")).expect("key file");
    right.index = KeyFile::generate().index;
    right.write(&configured).expect("write");
    let err = format!(
        "{:#}",
        start(app.dir.clone(), Some(configured.clone()))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("盲索引"), "{err}");

    // The real key file still starts.
    start(app.dir.clone(), None)
        .await
        .expect("starts with its key");
}

#[tokio::test]
async fn totp_secrets_are_encrypted_at_rest_and_follow_rotation() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let secret = app.totp_secret("admin").expect("the admin enrolled");
    let stored = |app: &TestApp| {
        let pool = app.state.db.pool.clone();
        async move {
            let v: String =
                sqlx::query_scalar("select totp_secret from app_user where username = 'admin'")
                    .fetch_one(&pool)
                    .await
                    .expect("secret");
            v
        }
    };
    let raw = stored(&app).await;
    assert!(raw.starts_with("v1.k1."), "{raw}");
    assert!(!raw.contains(&secret));
    assert_eq!(
        app.state
            .keys
            .decrypt(Field::TotpSecret, &raw)
            .expect("opens"),
        secret
    );
    // A pending secret (enrolment begun, not confirmed) is sealed too.
    let (s, v) = app
        .post(&c, "/api/v1/communities", json!({"name": "测试社区"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let community = app
        .sql_scalar("select max(community_id) from community")
        .await;
    let plain = app
        .user_with(
            &c,
            "plain",
            json!({"role": "community", "community_id": community}),
        )
        .await;
    let (s, v) = app.post(&plain, "/api/v1/me/totp", json!({})).await;
    assert!(s.is_success(), "{s} {v}");
    let pending: Vec<String> = sqlx::query_scalar(
        "select totp_pending from app_user where username = 'plain' and totp_pending is not null",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .expect("pending");
    assert_eq!(pending.len(), 1);
    assert!(pending[0].starts_with("v1.k1."), "{pending:?}");
    if let Some(shown) = v["secret"].as_str() {
        assert!(!pending[0].contains(shown));
    }

    // A plaintext secret from before still logs in, and the next start seals it.
    sqlx::query("update app_user set totp_secret = $1 where username = 'admin'")
        .bind(secret.clone())
        .execute(&app.state.db.pool)
        .await
        .expect("legacy");
    let again = app.login("admin", crate::common::ADMIN_PASSWORD).await;
    let (s, _) = app.get(&again, "/api/v1/me").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a plaintext secret from before still works"
    );
    let state = yaoshi::app::state(Config::for_database(&app.db_url, app.dir.clone()))
        .await
        .expect("restart");
    let raw = stored(&app).await;
    assert!(raw.starts_with("v1.k1."), "sealed at start: {raw}");
    assert_eq!(
        state.keys.decrypt(Field::TotpSecret, &raw).expect("opens"),
        secret
    );

    // After `keys new`, the rotation pass moves it under the new key.
    let path = app.dir.join("yaoshi.key");
    let mut file = KeyFile::read(&path).expect("key file");
    assert_eq!(file.add_key(), "k2");
    file.write(&path).expect("write key file");
    let state = yaoshi::app::state(Config::for_database(&app.db_url, app.dir.clone()))
        .await
        .expect("restart with k2");
    let n = store::totp_pass(&state.db, &state.keys, &Actor::cli(), false)
        .await
        .expect("rotate");
    assert!(n >= 1);
    let raw = stored(&app).await;
    assert!(raw.starts_with("v1.k2."), "{raw}");
    assert_eq!(
        state.keys.decrypt(Field::TotpSecret, &raw).expect("opens"),
        secret
    );
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'totp.encrypt'")
            .await,
        2,
        "sealing at start and the rotation are audited"
    );

    // Without k2, the start is refused rather than locking every admin out.
    let mut only_k1 = KeyFile::read(&path).expect("key file");
    only_k1.keys.retain(|(id, _)| id == "k1");
    only_k1.current = "k1".into();
    only_k1.write(&path).expect("write");
    let Err(e) = yaoshi::app::state(Config::for_database(&app.db_url, app.dir.clone())).await
    else {
        panic!("started without the key that sealed the secrets");
    };
    assert!(format!("{e:#}").contains("k2"), "{e:#}");
}
