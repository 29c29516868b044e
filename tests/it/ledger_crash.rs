//! The ledger through a crash: the real server (this package's binary, in its own process) is
//! killed with SIGKILL in the middle of a burst of confirmations. After a restart no
//! confirmation it answered is lost, none is half-made (a claim confirmed without its
//! transfer, a transfer without both movements, a form's key without its claims or the other
//! way round), `yaoshi ledger verify` passes, and the same forms sent again — the clients
//! never heard back — post each one exactly once. On SQLite, and on PostgreSQL when
//! YAOSHI_TEST_DATABASE_URL is set.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::{random_suffix, scratch_database};

const BIN: &str = env!("CARGO_BIN_EXE_yaoshi");
const ADMIN: &str = "Crash@12345pass";
const DEMO: &str = "Demo@2026pass";
/// Confirmation forms in the burst, and how many answered before the kill.
const FORMS: usize = 240;
const KILL_AFTER: usize = 60;

fn command(dir: &Path, db: &Option<String>, port: u16) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("YAOSHI_DATA_DIR", dir)
        .env("YAOSHI_CONFIG", dir.join("yaoshi.toml"))
        .env("YAOSHI_INITIAL_ADMIN_PASSWORD", ADMIN)
        .env("YAOSHI_DEMO_PASSWORD", DEMO)
        .env("YAOSHI_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = db {
        c.env("DATABASE_URL", url);
    }
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn serve(dir: &Path, db: &Option<String>) -> (Child, String) {
    let port = free_port();
    let mut child = command(dir, db, port)
        .arg("serve")
        .spawn()
        .expect("start the server");
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status() == StatusCode::OK {
                return (child, base);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

async fn pool(dir: &Path, db: &Option<String>) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = match db {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", dir.join("yaoshi.db").display()),
    };
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect")
}

async fn login(base: &str) -> Client {
    let c = Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = c
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "demo_community", "password": DEMO}))
        .send()
        .await
        .expect("login");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    c
}

/// Past needs of the demo community, each claimed by one member: what the burst confirms. Returns (need, claim) pairs.
async fn seed(db: &sqlx::AnyPool) -> Vec<(i64, i64)> {
    let community: i64 = sqlx::query_scalar(
        "select g.community_id from role_grant g join app_user u on u.user_id = g.user_id \
         where u.username = 'demo_community'",
    )
    .fetch_one(db)
    .await
    .expect("community");
    let members: Vec<i64> = sqlx::query_scalar(
        "select member_id from member where status = 'active' order by member_id limit 40",
    )
    .fetch_all(db)
    .await
    .expect("members");
    assert!(!members.is_empty());
    let today = yaoshi::clock::day_start(yaoshi::clock::now());
    let mut out = Vec::new();
    for i in 0..FORMS {
        // The last twelve days (older claims expire unconfirmed), an hour each, a member
        // at most once a day.
        let start = today - (1 + (i % 12) as i64) * 86_400 + (8 + (i / 12 % 10) as i64) * 3600;
        let need: i64 = sqlx::query_scalar(
            "insert into volunteer_need (community_id, title, starts_at, ends_at, slots, minutes, \
             status, created_at, updated_at) values ($1, $2, $3, $4, 1, 60, 'open', $3, $3) \
             returning volunteer_need_id",
        )
        .bind(community)
        .bind(format!("崩溃测试服务{i}"))
        .bind(start)
        .bind(start + 3600)
        .fetch_one(db)
        .await
        .expect("need");
        let claim: i64 = sqlx::query_scalar(
            "insert into volunteer_claim (volunteer_need_id, member_id, starts_at, ends_at, status, \
             created_at, updated_at) values ($1, $2, $3, $4, 'claimed', $3, $3) \
             returning volunteer_claim_id",
        )
        .bind(need)
        .bind(members[i % members.len()])
        .bind(start)
        .bind(start + 3600)
        .fetch_one(db)
        .await
        .expect("claim");
        out.push((need, claim));
    }
    out
}

/// Sends every form (16 at a time); `answered` counts the confirmations answered 200.
/// Returns, per form, whether it was answered 200 as a new posting.
async fn burst(
    base: &str,
    c: &Client,
    forms: &[(i64, i64)],
    answered: Arc<AtomicUsize>,
) -> Vec<bool> {
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for (i, (need, claim)) in forms.iter().copied().enumerate() {
        let (c, base, sem, answered) = (c.clone(), base.to_string(), sem.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let r = c
                .post(format!(
                    "{base}/api/v1/volunteer/needs/{need}/confirmations"
                ))
                .header("Idempotency-Key", format!("crash-{i}"))
                .json(&json!({"lines": [{"claim_id": claim, "attended": true, "hours": "1"}]}))
                .timeout(Duration::from_secs(20))
                .send()
                .await
                .ok()?;
            if r.status() != StatusCode::OK {
                eprintln!(
                    "form crash-{i}: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
                return None;
            }
            let v: serde_json::Value = r.json().await.ok()?;
            answered.fetch_add(1, Ordering::SeqCst);
            Some(v["repeated"] == false)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(matches!(t.await, Ok(Some(true))));
    }
    out
}

async fn count(db: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.expect(sql)
}

/// Nothing half-made: each crash-test form's key has its claim confirmed with a transfer of
/// two movements summing to zero, and each confirmed claim has its form's key.
async fn whole(db: &sqlx::AnyPool) -> i64 {
    let keys = count(
        db,
        "select count(*) from volunteer_confirmation where idempotency_key like 'crash-%'",
    )
    .await;
    let confirmed = count(
        db,
        "select count(*) from volunteer_claim k join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id \
         where n.title like '崩溃测试服务%' and k.status = 'confirmed'",
    )
    .await;
    assert_eq!(
        keys, confirmed,
        "a form's key without its claims, or the other way round"
    );
    let bad = count(
        db,
        "select count(*) from volunteer_claim k join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id \
         where n.title like '崩溃测试服务%' and k.status = 'confirmed' and (k.ledger_transfer_id is null \
         or (select count(*) from ledger_movement m where m.ledger_transfer_id = k.ledger_transfer_id) <> 2 \
         or (select coalesce(sum(amount), 0) from ledger_movement m where m.ledger_transfer_id = k.ledger_transfer_id) <> 0)",
    )
    .await;
    assert_eq!(bad, 0, "a confirmed claim without a whole transfer");
    confirmed
}

fn ledger_verify(dir: &Path, db: &Option<String>) {
    let out = command(dir, db, free_port())
        .args(["ledger", "verify"])
        .stdout(Stdio::piped())
        .output()
        .expect("ledger verify");
    assert!(
        out.status.success(),
        "ledger verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn sigkill_during_a_burst_of_confirmations_loses_and_splits_nothing() {
    let dir = std::env::temp_dir().join(format!("yaoshi-crash-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pg = scratch_database().await;
    let db_url = pg.as_ref().map(|(u, _)| u.clone());
    let demo = command(&dir, &db_url, free_port())
        .args(["demo", "--scale", "small"])
        .status()
        .expect("demo");
    assert!(demo.success(), "demo data");
    let db = pool(&dir, &db_url).await;
    let forms = seed(&db).await;
    let movements_before = count(&db, "select count(*) from ledger_movement").await;

    let (mut server, base) = serve(&dir, &db_url).await;
    let c = login(&base).await;
    let answered = Arc::new(AtomicUsize::new(0));
    let sending = {
        let (base, c, forms, answered) = (base.clone(), c.clone(), forms.clone(), answered.clone());
        tokio::spawn(async move { burst(&base, &c, &forms, answered).await })
    };
    // SIGKILL once enough confirmations were answered: the others are in flight or unsent.
    for _ in 0..2000 {
        if answered.load(Ordering::SeqCst) >= KILL_AFTER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    let posted = sending.await.expect("burst");
    let acknowledged: Vec<usize> = (0..FORMS).filter(|i| posted[*i]).collect();
    assert!(
        acknowledged.len() >= KILL_AFTER && acknowledged.len() < FORMS,
        "the kill fell inside the burst: {} of {FORMS} answered",
        acknowledged.len()
    );

    // After the crash: every acknowledged confirmation is there, nothing is half-made.
    let confirmed = whole(&db).await;
    assert!(confirmed as usize >= acknowledged.len());
    for i in &acknowledged {
        let n = count(
            &db,
            &format!(
                "select count(*) from volunteer_confirmation where idempotency_key = 'crash-{i}'"
            ),
        )
        .await;
        assert_eq!(n, 1, "acknowledged form crash-{i} lost");
    }
    assert_eq!(
        count(&db, "select count(*) from ledger_movement").await,
        movements_before + 2 * confirmed
    );
    ledger_verify(&dir, &db_url);

    // The clients send every form again with its key: each posts exactly once in all.
    let (mut server, base) = serve(&dir, &db_url).await;
    let c = login(&base).await;
    let again = burst(&base, &c, &forms, Arc::new(AtomicUsize::new(0))).await;
    let new_now = again.iter().filter(|x| **x).count() as i64;
    assert_eq!(new_now, FORMS as i64 - confirmed, "repeats posted nothing");
    assert_eq!(whole(&db).await, FORMS as i64);
    assert_eq!(
        count(&db, "select count(*) from ledger_movement").await,
        movements_before + 2 * FORMS as i64
    );
    server.kill().expect("stop");
    server.wait().expect("reaped");
    ledger_verify(&dir, &db_url);
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
