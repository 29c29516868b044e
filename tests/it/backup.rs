//! Backup and restore: every table and every stored file comes back; damaged files, busy
//! targets and failures leave nothing behind; the daily run keeps the newest few.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::json;
use yaoshi::audit::Actor;
use yaoshi::config::Config;
use yaoshi::system::backup::{self, RestoreTo};

use crate::common::{city, is_postgres, random_suffix, scratch_database, TestApp, ADMIN_PASSWORD};

/// Builds a little of everything through the app: units, orgs, members, a branch user,
/// a meeting with two attachments in the file store.
async fn populate(app: &TestApp) {
    let admin = app.admin().await;
    let c = city(app, &admin).await;
    let branch = app
        .user_with(
            &admin,
            "bk_branch",
            json!({"role": "branch", "org_id": c.branch_a}),
        )
        .await;
    let (s, m) = app
        .post(
            &branch,
            "/api/v1/meetings",
            json!({
                "branch_id": c.branch_a, "kind": "general_assembly", "held_on": "2026-03-10",
                "start_time": "14:30", "duration_minutes": 90, "place": "三楼会议室",
                "topic": "备份恢复演练", "presenter": "张三", "recorder": "张三",
                "minutes": "一、传达学习……", "attendance": [{"member_id": c.member_a, "state": "present"}]
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let id = m["meeting_id"].as_i64().expect("meeting");
    for (name, bytes) in [
        (
            "签到表.jpg",
            [vec![0xFF, 0xD8, 0xFF, 0xE0], vec![7u8; 3000]].concat(),
        ),
        ("纪要.pdf", b"%PDF-1.7\n\xe4\xb8\xad backup test".to_vec()),
    ] {
        let r = branch
            .post(app.url(&format!("/api/v1/meetings/{id}/attachments")))
            .multipart(reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            ))
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
}

async fn tables(pool: &sqlx::AnyPool) -> Vec<String> {
    let sql = if is_postgres() {
        "select table_name::text from information_schema.tables \
         where table_schema = 'public' and table_type = 'BASE TABLE' order by 1"
    } else {
        "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by 1"
    };
    sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .expect("tables")
}

/// Every table's row count and a digest of all its rows (rendered as text, sorted), leaving
/// out the audit rows that backing up and restoring add themselves.
async fn contents(pool: &sqlx::AnyPool) -> BTreeMap<String, (usize, String)> {
    let mut out = BTreeMap::new();
    for t in tables(pool).await {
        let filter = if t == "audit_log" {
            " where action not like 'backup.%'"
        } else {
            ""
        };
        let sql = if is_postgres() {
            format!("select r::text from \"{t}\" r{filter}")
        } else {
            let cols: Vec<String> = sqlx::query_scalar(&format!(
                "select name from pragma_table_info('{t}') order by cid"
            ))
            .fetch_all(pool)
            .await
            .expect("columns");
            assert!(!cols.is_empty(), "{t}");
            let row = cols
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            format!("select {row} from \"{t}\"{filter}")
        };
        let mut rows: Vec<String> = sqlx::query_scalar(&sql)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        rows.sort();
        let digest = yaoshi::files::sha256_hex(rows.join("\n").as_bytes());
        out.insert(t, (rows.len(), digest));
    }
    out
}

/// Relative path → bytes of every file under `dir`.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under").display().to_string();
                // A dangling link reads as nothing.
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Any temporary of ours (or anyone's `.tmp`) anywhere under `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_keys()
        .chain(
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        )
        .filter(|n| n.contains(".yaoshi-") || n.contains(".tmp"))
        .collect()
}

/// A fresh parent folder for restores, so nothing else writes beside them.
fn scratch_parent() -> PathBuf {
    let p = std::env::temp_dir().join(format!("yaoshi-restore-{}", random_suffix()));
    std::fs::create_dir_all(&p).expect("parent");
    p
}

/// Where to restore to: a data dir under `parent`, and on PostgreSQL a fresh database.
async fn restore_target(parent: &Path) -> (RestoreTo, Option<(String, String)>) {
    let (url, pg) = match scratch_database().await {
        Some((url, pg)) => (Some(url), Some(pg)),
        None => (None, None),
    };
    (
        RestoreTo {
            data_dir: parent.join("data"),
            database_url: url,
        },
        pg,
    )
}

async fn audit_count(pool: &sqlx::AnyPool, action: &str, result: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log where action = $1 and result = $2")
        .bind(action)
        .bind(result)
        .fetch_one(pool)
        .await
        .expect("audit")
}

#[tokio::test]
async fn backup_and_restore_give_back_every_row_and_file() {
    let app = TestApp::spawn().await;
    populate(&app).await;
    let before = contents(&app.state.db.pool).await;
    assert!(before.len() > 20, "{before:?}");
    assert!(before["meeting_attachment"].0 == 2);
    let store_before = files_under(&app.dir().join("files"));
    assert_eq!(store_before.len(), 2);

    let file = app.dir().join("bk").join("one.tar.zst");
    let c = backup::create(&app.state, Some(file.clone()), &Actor::cli())
        .await
        .expect("backup");
    assert_eq!(c.path, file);
    assert_eq!(c.size, std::fs::metadata(&file).expect("meta").len());
    assert!(!c.manifest.keys_included);
    assert!(c.manifest.keys_note.contains("密钥"));
    assert_eq!(c.manifest.store_totals().0, 2);
    assert_eq!(
        c.manifest.backend,
        if is_postgres() { "postgres" } else { "sqlite" }
    );
    // The manifest counted the same rows the tables hold.
    for (t, (n, _)) in &before {
        assert_eq!(c.manifest.tables.get(t), Some(&(*n as i64)), "{t}");
    }
    assert_eq!(
        audit_count(&app.state.db.pool, "backup.create", "ok").await,
        1
    );
    let v = backup::verify(&file).await.expect("verify");
    assert_eq!(v.digest, c.digest);
    assert_eq!(v.manifest, c.manifest);
    assert!(
        temporaries(app.dir()).is_empty(),
        "{:?}",
        temporaries(app.dir())
    );
    assert_eq!(
        std::fs::read_dir(app.dir().join("bk")).expect("bk").count(),
        1
    );

    let parent = scratch_parent();
    let (to, pg) = restore_target(&parent).await;
    let r = backup::restore(&app.state.config, &file, &to, &Actor::cli())
        .await
        .expect("restore");
    assert_eq!(r.verified.digest, c.digest);
    assert!(
        temporaries(&parent).is_empty(),
        "{:?}",
        temporaries(&parent)
    );
    let restored_db = yaoshi::db::Db::connect(&r.database_url)
        .await
        .expect("restored db");
    let after = contents(&restored_db.pool).await;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (t, b) in &before {
        assert_eq!(Some(b), after.get(t), "table {t} differs after restore");
    }
    assert_eq!(
        audit_count(&restored_db.pool, "backup.restore", "ok").await,
        1
    );
    assert_eq!(
        yaoshi::audit::verify(&restored_db).await.expect("chain"),
        yaoshi::audit::Verdict::Intact {
            rows: before["audit_log"].0 as i64 + 1,
            archived: 0
        }
    );
    restored_db.pool.close().await;
    assert_eq!(files_under(&to.data_dir.join("files")), store_before);
    if pg.is_some() {
        // PostgreSQL's data dir holds the file store and the audit checkpoint only.
        let mut names: Vec<String> = std::fs::read_dir(&to.data_dir)
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        assert_eq!(names, ["audit-checkpoint.json", "files"]);
    }

    // The restored installation runs: the admin logs in and adds a unit.
    let mut config = Config::for_database(&r.database_url, to.data_dir.clone());
    config.initial_admin_password = Some("unused-after-restore".into());
    // Keys are not in backups: the operator puts the key file back, as the README says.
    std::fs::copy(app.dir().join("yaoshi.key"), to.data_dir.join("yaoshi.key")).expect("key");
    let restored = TestApp::serve(config, to.data_dir.clone(), pg).await;
    // The second factor came back with the data: the same phone still works.
    let secret = app.totp_secret("admin").expect("admin enrolled");
    restored.remember_totp("admin", &secret);
    let admin = restored.login("admin", ADMIN_PASSWORD).await;
    let (_, cats) = restored.get(&admin, "/api/v1/categories").await;
    let (s, v) = restored
        .post(
            &admin,
            "/api/v1/units",
            json!({"name": "恢复后新建局", "category_id": cats[0]["category_id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The restored chain is keyed and anchored in its new data dir: it verifies with the
    // key, the restore's own record and the writes after it included.
    assert!(matches!(
        yaoshi::audit::verify(&restored.state.db)
            .await
            .expect("verify"),
        yaoshi::audit::Verdict::Intact { .. }
    ));
    // The manifest carried where the chain stood and its seal.
    let cp = c
        .manifest
        .audit_checkpoint
        .clone()
        .expect("checkpoint in manifest");
    assert!(cp.audit_id > 0 && !c.manifest.seal.is_empty());
    drop(restored);
    let _ = std::fs::remove_dir_all(&parent);
}

/// A backup assembled without the key — entries and digests all consistent, as anyone can
/// make them — is refused: before the manifest was sealed it restored.
#[tokio::test]
async fn a_forged_backup_is_refused() {
    use yaoshi::system::backup::archive;
    let app = TestApp::spawn().await;
    populate(&app).await;
    let genuine = app.dir().join("bk").join("genuine.tar.zst");
    let c = backup::create(&app.state, Some(genuine.clone()), &Actor::cli())
        .await
        .expect("backup");
    let parent = scratch_parent();
    let unpacked = parent.join("unpacked");
    std::fs::create_dir_all(&unpacked).expect("dir");
    archive::extract(&genuine, &unpacked).expect("extract");
    let forge = |name: &str, manifest: archive::Manifest| {
        let path = app.dir().join("bk").join(name);
        let f = archive::create_private_file(&path).expect("file");
        let mut w = archive::Writer::new(f, 0).expect("writer");
        for e in &c.manifest.entries {
            w.add_file(
                &e.path,
                &unpacked.join(&e.path),
                e.path.starts_with("files/"),
            )
            .expect("add");
        }
        w.finish(manifest, None).expect("finish");
        path
    };
    let mut unsigned = c.manifest.clone();
    unsigned.seal = String::new();
    let mut edited = c.manifest.clone();
    edited.created_at = "2020-01-01T00:00:00+08:00".into();
    for (file, words) in [
        (forge("unsigned.tar.zst", unsigned), "没有签名"),
        (forge("edited.tar.zst", edited), "签名与本系统的密钥不符"),
    ] {
        // Whole and consistent: the digests check out.
        backup::verify(&file).await.expect("consistent");
        let (to, _pg) = restore_target(&parent).await;
        let e = backup::restore(&app.state.config, &file, &to, &Actor::cli())
            .await
            .expect_err("forged backup restored");
        assert!(format!("{e:#}").contains(words), "{e:#}");
        assert!(!to.data_dir.exists(), "nothing written");
    }
    // The genuine one still restores.
    let (to, _pg) = restore_target(&parent).await;
    backup::restore(&app.state.config, &genuine, &to, &Actor::cli())
        .await
        .expect("genuine restores");
    let _ = std::fs::remove_dir_all(&parent);
}

#[tokio::test]
async fn damaged_backups_and_busy_targets_are_refused_without_writing() {
    let app = TestApp::spawn().await;
    populate(&app).await;
    let file = app.dir().join("bk").join("good.tar.zst");
    backup::create(&app.state, Some(file.clone()), &Actor::cli())
        .await
        .expect("backup");
    let good = std::fs::read(&file).expect("read");
    let parent = scratch_parent();

    // One flipped byte anywhere, or a cut-off file: refused, in Chinese, nothing written.
    let bad = app.dir().join("bk").join("bad.tar.zst");
    for (i, damaged) in [
        {
            let mut b = good.clone();
            b[good.len() / 2] ^= 0x40;
            b
        },
        {
            let mut b = good.clone();
            b[3] ^= 0x01;
            b
        },
        good[..good.len() * 2 / 3].to_vec(),
        good[..good.len() - 1].to_vec(),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(&bad, &damaged).expect("write");
        let e = backup::verify(&bad).await.expect_err("damaged accepted");
        let msg = format!("{e:#}");
        assert!(msg.contains("损坏") || msg.contains("不完整"), "{i}: {msg}");
        let (to, pg) = restore_target(&parent).await;
        let e = backup::restore(&app.state.config, &bad, &to, &Actor::cli())
            .await
            .expect_err("damaged restored");
        assert!(format!("{e:#}").contains("未做任何恢复"), "{i}: {e:#}");
        assert!(!to.data_dir.exists(), "{i}: the data dir was created");
        assert_eq!(
            std::fs::read_dir(&parent).expect("parent").count(),
            0,
            "{i}: something was written beside it"
        );
        if let Some((base, name)) = pg {
            drop_database(&base, &name).await;
        }
    }
    // Each refusal is in the audit log of the installation that was asked.
    assert_eq!(
        audit_count(&app.state.db.pool, "backup.restore", "failed").await,
        4
    );

    // A data dir with anything in it is refused and left alone.
    let (to, pg) = restore_target(&parent).await;
    std::fs::create_dir_all(&to.data_dir).expect("dir");
    std::fs::write(to.data_dir.join("keep.txt"), b"mine").expect("file");
    let e = backup::restore(&app.state.config, &file, &to, &Actor::cli())
        .await
        .expect_err("non-empty dir");
    assert!(format!("{e:#}").contains("不是空的"), "{e:#}");
    assert_eq!(
        files_under(&to.data_dir).into_keys().collect::<Vec<_>>(),
        vec!["keep.txt".to_string()]
    );
    assert_eq!(std::fs::read_dir(&parent).expect("parent").count(), 1);
    std::fs::remove_dir_all(&to.data_dir).expect("clean");

    if let Some((base, name)) = pg {
        // A database with tables in it is refused too: here, the app's own.
        let own = RestoreTo {
            data_dir: to.data_dir.clone(),
            database_url: Some(app.state.config.database_url.clone()),
        };
        let e = backup::restore(&app.state.config, &file, &own, &Actor::cli())
            .await
            .expect_err("non-empty database");
        assert!(format!("{e:#}").contains("不是空的"), "{e:#}");
        // And a PostgreSQL backup needs a database to go to.
        let none = RestoreTo {
            data_dir: to.data_dir.clone(),
            database_url: None,
        };
        let e = backup::restore(&app.state.config, &file, &none, &Actor::cli())
            .await
            .expect_err("no database");
        assert!(format!("{e:#}").contains("--database-url"), "{e:#}");
        drop_database(&base, &name).await;
    } else {
        let e = backup::restore(
            &app.state.config,
            &file,
            &RestoreTo {
                data_dir: to.data_dir.clone(),
                database_url: Some("postgres://postgres@127.0.0.1/none".into()),
            },
            &Actor::cli(),
        )
        .await
        .expect_err("sqlite into postgres");
        assert!(format!("{e:#}").contains("SQLite"), "{e:#}");
    }
    assert_eq!(std::fs::read_dir(&parent).expect("parent").count(), 0);
    assert!(temporaries(app.dir()).is_empty());
    let _ = std::fs::remove_dir_all(&parent);
}

async fn drop_database(base: &str, name: &str) {
    if let Ok(mut c) = <sqlx::AnyConnection as sqlx::Connection>::connect(base).await {
        let _ = sqlx::Executor::execute(
            &mut c,
            format!("drop database if exists {name} with (force)").as_str(),
        )
        .await;
    }
}

#[tokio::test]
async fn the_daily_backup_runs_once_and_keeps_the_newest() {
    let app = TestApp::spawn_with(|c| c.backup_keep = 3).await;
    let dir = app.state.config.backup_dir.clone();
    assert_eq!(dir, app.dir().join("backups"));
    std::fs::create_dir_all(&dir).expect("dir");
    let fakes = [
        "yaoshi-20200101-020000.tar.zst",
        "yaoshi-20200102-020000.tar.zst",
        "yaoshi-20200103-020000.tar.zst",
        "yaoshi-20200104-020000.tar.zst",
        "yaoshi-20200105-020000.tar.zst",
    ];
    for f in fakes
        .iter()
        .chain(&["notes.txt", "yaoshi-before-upgrade.tar.zst"])
    {
        std::fs::write(dir.join(f), b"old").expect("fake");
    }
    let now = time::macros::datetime!(2030-01-02 02:00:00 +08:00);
    let c = backup::schedule::daily(&app.state, now)
        .await
        .expect("daily")
        .expect("ran");
    assert_eq!(c.path, dir.join("yaoshi-20300102-020000.tar.zst"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "notes.txt",
            "yaoshi-20200104-020000.tar.zst",
            "yaoshi-20200105-020000.tar.zst",
            "yaoshi-20300102-020000.tar.zst",
            "yaoshi-before-upgrade.tar.zst",
        ]
    );
    // Another instance (or a restart) the same day finds the day claimed.
    assert!(backup::schedule::daily(&app.state, now)
        .await
        .expect("again")
        .is_none());
    assert_eq!(
        app.sql_scalar(
            "select count(*) from job_run where job = 'backup' and day = '2030-01-02' and finished_at is not null"
        )
        .await,
        1
    );
    assert_eq!(
        audit_count(&app.state.db.pool, "backup.create", "ok").await,
        1
    );
    assert_eq!(
        audit_count(&app.state.db.pool, "backup.prune", "ok").await,
        1
    );
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'backup.create' and actor_name = 'system'")
            .await,
        1
    );
    backup::verify(&c.path).await.expect("verify");
    assert!(temporaries(app.dir()).is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn a_failed_backup_leaves_nothing_behind_and_is_audited() {
    let app = TestApp::spawn().await;
    populate(&app).await;
    // A file the store lists but cannot read (a dangling link): the backup fails late,
    // after the database copy and part of the archive were written.
    let missing = format!("ab{}", "0".repeat(62));
    let link = app.dir().join("files").join("ab").join(&missing);
    std::fs::create_dir_all(link.parent().expect("parent")).expect("dir");
    std::os::unix::fs::symlink(app.dir().join("nowhere"), &link).expect("link");

    let file = app.dir().join("bk").join("x.tar.zst");
    let e = backup::create(&app.state, Some(file.clone()), &Actor::cli())
        .await
        .expect_err("backup of an unreadable store");
    assert!(format!("{e:#}").contains(&missing), "{e:#}");
    assert!(!file.exists());
    assert_eq!(
        std::fs::read_dir(app.dir().join("bk")).expect("bk").count(),
        0
    );
    assert!(
        temporaries(app.dir()).is_empty(),
        "{:?}",
        temporaries(app.dir())
    );
    assert_eq!(
        audit_count(&app.state.db.pool, "backup.create", "failed").await,
        1
    );

    // The daily run fails the same way and gives its claim back, so it is tried again.
    let now = time::macros::datetime!(2030-01-02 02:00:00 +08:00);
    assert!(backup::schedule::daily(&app.state, now).await.is_err());
    assert_eq!(
        app.sql_scalar("select count(*) from job_run where job = 'backup'")
            .await,
        0
    );
    assert_eq!(
        audit_count(&app.state.db.pool, "backup.create", "failed").await,
        2
    );
    assert!(
        temporaries(app.dir()).is_empty(),
        "{:?}",
        temporaries(app.dir())
    );

    std::fs::remove_file(&link).expect("unlink");
    assert!(backup::schedule::daily(&app.state, now)
        .await
        .expect("retry")
        .is_some());
    backup::create(&app.state, Some(file.clone()), &Actor::cli())
        .await
        .expect("backup");
    // Never over an existing file.
    let e = backup::create(&app.state, Some(file.clone()), &Actor::cli())
        .await
        .expect_err("overwrite");
    assert!(format!("{e:#}").contains("已存在"), "{e:#}");
    assert!(
        temporaries(app.dir()).is_empty(),
        "{:?}",
        temporaries(app.dir())
    );
}
