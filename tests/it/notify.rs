//! Reminders: the daily pass finds what each admin should hear of, once per cause and stage;
//! the notification centre shows, opens and clears them.

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::macros::date;

use crate::common::{city, TestApp, PASSWORD};

fn titles(inbox: &Value) -> Vec<String> {
    inbox["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| n["title"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_daily_pass_reminds_once_per_cause_and_stage() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let branch = app
        .user_with(
            &admin,
            "n_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let unit = app
        .user_with(
            &admin,
            "n_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let (s, m) = app
        .post(
            &branch,
            "/api/v1/meetings",
            json!({"branch_id": city.branch_a, "kind": "general_assembly", "held_on": "2026-10-20", "topic": "季度党员大会",
                   "attendance": [{"member_id": city.member_a, "state": "present"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let id = m["meeting_id"].as_i64().expect("id");
    app.post(&branch, &format!("/api/v1/meetings/{id}/submit"), json!({}))
        .await;

    // 26 November: five days of the month left.
    let first = yaoshi::orglife::reminders::run(&app.state, date!(2026 - 11 - 26))
        .await
        .expect("run");
    assert!(first > 0);
    let again = yaoshi::orglife::reminders::run(&app.state, date!(2026 - 11 - 26))
        .await
        .expect("run");
    assert_eq!(again, 0, "the same day again sends nothing new");

    let (_, inbox) = app.get(&unit, "/api/v1/notifications").await;
    let t = titles(&inbox);
    assert!(
        t.iter()
            .any(|x| x.starts_with("待审核：办公室党支部支部党员大会")),
        "{t:?}"
    );
    assert!(
        t.iter().any(|x| x == "应换尽换：办公室党支部"),
        "term ended 2026-01-01: {t:?}"
    );
    assert!(
        t.iter().any(|x| x == "应调尽调：办公室党支部"),
        "one full member: {t:?}"
    );
    assert!(
        !t.iter().any(|x| x.contains("机关党支部")),
        "another unit's branch: {t:?}"
    );
    assert_eq!(inbox["unread"], inbox["total"]);
    let (_, binbox) = app.get(&branch, "/api/v1/notifications").await;
    let bt = titles(&binbox);
    assert!(
        bt.iter().any(|x| x == "办公室党支部：本期主题党日尚未召开"),
        "{bt:?}"
    );
    // It leads to the form that records the meeting, branch and kind filled in.
    let due = binbox["items"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|n| n["title"] == "办公室党支部：本期主题党日尚未召开")
        })
        .expect("the reminder");
    let href = due["href"].as_str().expect("href");
    assert!(
        href.starts_with("/orglife/meetings/new?branch_id=") && href.ends_with("&kind=theme_day"),
        "{href}"
    );
    let form = branch.get(app.url(href)).send().await.expect("form");
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.expect("t").contains("登记会议"));
    assert!(bt.iter().any(|x| x == "应换尽换：办公室党支部"), "{bt:?}");
    assert!(
        !bt.iter().any(|x| x.starts_with("待审核")),
        "reviews go to the unit: {bt:?}"
    );

    // Early in a month nothing is near its end yet; the overdue term is news again next month.
    let quiet = yaoshi::orglife::reminders::run(&app.state, date!(2026 - 11 - 10))
        .await
        .expect("run");
    assert_eq!(quiet, 0);
    let december = yaoshi::orglife::reminders::run(&app.state, date!(2026 - 12 - 05))
        .await
        .expect("run");
    assert!(december > 0);
    assert_eq!(
        app.sql_scalar("select count(*) from notification where cause like 'term:%' and stage = 'overdue:2026-12'").await,
        app.sql_scalar("select count(*) from notification where cause like 'term:%' and stage = 'overdue:2026-11'").await,
    );
    // A resubmission after a return is a new stage of the same cause.
    app.post(
        &unit,
        &format!("/api/v1/meetings/{id}/return"),
        json!({"comment": "请补充"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.post(&branch, &format!("/api/v1/meetings/{id}/submit"), json!({}))
        .await;
    yaoshi::orglife::reminders::run(&app.state, date!(2026 - 12 - 05))
        .await
        .expect("run");
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from notification where cause = 'review:{id}'"
        ))
        .await,
        2
    );

    // The day's pass is claimed once, however many instances try.
    assert!(
        yaoshi::jobs::daily_pass_on(&app.state, date!(2027 - 01 - 04))
            .await
            .expect("daily")
            .is_some()
    );
    assert!(
        yaoshi::jobs::daily_pass_on(&app.state, date!(2027 - 01 - 04))
            .await
            .expect("daily")
            .is_none()
    );
    assert_eq!(
        app.sql_scalar(
            "select count(*) from job_run where day = '2027-01-04' and finished_at is not null"
        )
        .await,
        1
    );

    // Reading: one, someone else's, all.
    let (_, inbox) = app.get(&unit, "/api/v1/notifications").await;
    let total = inbox["unread"].as_i64().expect("unread");
    let first_id = inbox["items"][0]["notification_id"].as_i64().expect("id");
    let (s, _) = app
        .post(
            &unit,
            &format!("/api/v1/notifications/{first_id}/read"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, inbox) = app.get(&unit, "/api/v1/notifications?unread=1").await;
    assert_eq!(inbox["unread"].as_i64(), Some(total - 1));
    assert_eq!(inbox["total"].as_i64(), Some(total - 1));
    let (s, _) = app
        .post(
            &branch,
            &format!("/api/v1/notifications/{first_id}/read"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The bell shows the count; opening a notification goes where it points.
    let html = branch
        .get(app.url("/orglife/meetings"))
        .send()
        .await
        .expect("p")
        .text()
        .await
        .expect("t");
    assert!(html.contains("data-testid=\"unread\""), "bell with a count");
    let page = branch
        .get(app.url("/notifications"))
        .send()
        .await
        .expect("p")
        .text()
        .await
        .expect("t");
    assert!(page.contains("本期主题党日尚未召开"));
    let (_, b) = app.get(&branch, "/api/v1/notifications").await;
    let nid = b["items"][0]["notification_id"].as_i64().expect("id");
    let href = b["items"][0]["href"].as_str().unwrap_or("").to_string();
    let r = branch
        .post(app.url(&format!("/notifications/{nid}/open")))
        .send()
        .await
        .expect("open");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(href.as_str())
    );
    let r = branch
        .post(app.url("/notifications/read-all"))
        .send()
        .await
        .expect("all");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, b) = app.get(&branch, "/api/v1/notifications").await;
    assert_eq!(b["unread"], 0);
}

/// An SMTP server on loopback (Python's aiosmtpd) storing what it receives in a Maildir.
struct Smtp {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Smtp {
    /// None when aiosmtpd is not installed outside CI (CI installs it: the test must run there).
    fn start() -> Option<Smtp> {
        let have = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !have {
            assert!(
                std::env::var("CI").is_err(),
                "CI must install aiosmtpd (python3 -m pip install aiosmtpd)"
            );
            eprintln!("skipping the SMTP test: python3 -m pip install aiosmtpd to run it");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = std::env::temp_dir().join(format!("yaoshi-mail-{port}-{}", std::process::id()));
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        // Dropping the server kills and reaps it, on every path.
        let smtp = Smtp { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(smtp);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        drop(smtp);
        panic!("aiosmtpd did not start");
    }

    /// Each message: (headers, decoded body).
    fn messages(&self) -> Vec<(String, String)> {
        use base64::Engine;
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let raw = std::fs::read_to_string(e.path())
                .expect("message")
                .replace("\r\n", "\n");
            let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
            let b64: String = body.lines().map(str::trim).collect();
            let text = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            out.push((head.to_string(), text));
        }
        out
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_daily_digest_by_email_not_a_flood() {
    let Some(smtp) = Smtp::start() else { return };
    let port = smtp.port;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let unit = app
        .user_with(
            &admin,
            "mail_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let (s, e) = app
        .send(
            &unit,
            "PUT",
            "/api/v1/me/email",
            json!({"email": "not an address"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["fields"]["email"]
            .as_str()
            .unwrap_or("")
            .contains("邮箱"),
        "{e}"
    );
    let (s, _) = app
        .send(
            &unit,
            "PUT",
            "/api/v1/me/email",
            json!({"email": "unit.admin@example.gov.cn", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let sent = yaoshi::jobs::daily_pass_on(&app.state, date!(2026 - 11 - 26))
        .await
        .expect("daily");
    assert!(
        sent.is_some_and(|n| n >= 2),
        "several notifications: {sent:?}"
    );
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1, "one digest, not one email per notification");
    let (head, body) = &msgs[0];
    assert!(head.contains("unit.admin@example.gov.cn"), "{head}");
    assert!(
        body.contains("应换尽换：办公室党支部") && body.contains("条提醒"),
        "{body}"
    );
    let pending = app.sql_scalar("select count(*) from notification n join app_user u on u.user_id = n.user_id where u.username = 'mail_unit' and n.emailed_at is null").await;
    assert_eq!(pending, 0);
    // Nothing new, nothing sent; the next month's overdue reminder is a new digest.
    yaoshi::notify::mail::send_digests(&app.state)
        .await
        .expect("again");
    assert_eq!(smtp.messages().len(), 1);
    yaoshi::jobs::daily_pass_on(&app.state, date!(2026 - 12 - 05))
        .await
        .expect("daily");
    assert_eq!(smtp.messages().len(), 2);
    // The page shows the address; clearing it stops the digest.
    let html = unit
        .get(app.url("/notifications"))
        .send()
        .await
        .expect("p")
        .text()
        .await
        .expect("t");
    assert!(html.contains("unit.admin@example.gov.cn"));
    let r = unit
        .post(app.url("/notifications/email"))
        .form(&[("email", ""), ("current_password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
