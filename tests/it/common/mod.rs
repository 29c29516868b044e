//! Test harness: the real app on a random port with a fresh database — a SQLite file
//! in a temp dir, or a fresh PostgreSQL database when YAOSHI_TEST_DATABASE_URL is set.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use yaoshi::config::Config;
use yaoshi::state::AppState;

pub const ADMIN_PASSWORD: &str = "Admin@12345";
pub const PASSWORD: &str = "Passw0rd!xyz";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    /// The database URL, to open a second state over the same data.
    pub db_url: String,
    /// The data directory (the SQLite file and the generated key file live here).
    pub dir: PathBuf,
    pg: Option<(String, String)>,
    /// Second-factor secrets of the users the harness enrolled, and the last step used.
    totp: std::sync::Mutex<std::collections::HashMap<String, (String, i64)>>,
    /// The security and audit admins `user_with` made, signed in: they confirm 双人确认.
    watchers: std::sync::Mutex<Vec<Client>>,
}

pub fn random_suffix() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..12)
        .map(|_| (b'a' + r.gen_range(0..26)) as char)
        .collect()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = std::env::temp_dir().join(format!("yaoshi-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (url, pg) = match scratch_database().await {
            Some((url, pg)) => (url, Some(pg)),
            None => (
                format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
                None,
            ),
        };
        // No key file configured: the first start generates a fresh random one in `dir`.
        let mut config = Config::for_database(&url, dir.clone());
        config.initial_admin_password = Some(ADMIN_PASSWORD.into());
        tweak(&mut config);
        Self::serve(config, dir, pg).await
    }

    /// The app over an existing database and data dir; dropping it removes `dir` and, when
    /// given, the PostgreSQL database `pg` = (server URL, name).
    pub async fn serve(config: Config, dir: PathBuf, pg: Option<(String, String)>) -> TestApp {
        let url = config.database_url.clone();
        let state = yaoshi::app::state(config).await.expect("state");
        yaoshi::bootstrap::ensure_initial_data(&state)
            .await
            .expect("bootstrap");
        let app = yaoshi::app::router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            state,
            db_url: url,
            dir,
            pg,
            totp: Default::default(),
            watchers: Default::default(),
        }
    }

    /// The data dir (also holding the SQLite database).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn client() -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// A logged-in client (through the API login). Users with a second factor get their
    /// code computed from the secret the harness enrolled them with; users whose role needs
    /// one and have none are enrolled on the spot, as the app asks.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let c = Self::client();
        let mut body = json!({"username": username, "password": password});
        if let Some(code) = self.next_code(username).await {
            body["totp"] = json!(code);
        }
        let r = c
            .post(self.url("/api/v1/session"))
            .json(&body)
            .send()
            .await
            .expect("login");
        let status = r.status();
        let me: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "login of {username} failed: {me}");
        if me["must_change_password"] == json!(false)
            && me["totp_enrolment_required"] == json!(true)
        {
            self.enrol_totp(&c, username, password).await;
        }
        c
    }

    /// Sets up the second factor for a logged-in client (confirmed with the code and the
    /// current password), remembering the secret.
    pub async fn enrol_totp(&self, c: &Client, username: &str, password: &str) -> String {
        let (s, v) = self.post(c, "/api/v1/me/totp", json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "totp start for {username}: {v}");
        let secret = v["secret"].as_str().expect("secret").to_string();
        self.totp
            .lock()
            .expect("lock")
            .insert(username.to_string(), (secret.clone(), 0));
        let code = self.next_code(username).await.expect("code");
        let (s, v) = self
            .post(
                c,
                "/api/v1/me/totp/confirm",
                json!({"code": code, "current_password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "totp confirm for {username}: {v}");
        secret
    }

    /// The code for the next unused step of a user's secret (waiting for the clock when the
    /// steps within reach are spent: each step is accepted once).
    pub async fn next_code(&self, username: &str) -> Option<String> {
        loop {
            let now = yaoshi::clock::now();
            let current = now.div_euclid(yaoshi::auth::totp::STEP);
            let wait = {
                let mut m = self.totp.lock().expect("lock");
                let (secret, last) = m.get_mut(username)?;
                let step = current.max(*last + 1);
                if step <= current + 1 {
                    *last = step;
                    return yaoshi::auth::totp::code_at(secret, step * yaoshi::auth::totp::STEP);
                }
                (current + 1) * yaoshi::auth::totp::STEP - now
            };
            tokio::time::sleep(std::time::Duration::from_secs(wait.max(1) as u64)).await;
        }
    }

    /// Remembers a secret the test enrolled by itself (the current step counts as used).
    pub fn remember_totp(&self, username: &str, secret: &str) {
        let step = yaoshi::clock::now().div_euclid(yaoshi::auth::totp::STEP);
        self.totp
            .lock()
            .expect("lock")
            .insert(username.to_string(), (secret.to_string(), step));
    }

    /// The second-factor secret the harness enrolled a user with.
    pub fn totp_secret(&self, username: &str) -> Option<String> {
        self.totp
            .lock()
            .expect("lock")
            .get(username)
            .map(|(s, _)| s.clone())
    }

    /// Forgets a user's secret (after the app cleared it).
    pub fn forget_totp(&self, username: &str) {
        self.totp.lock().expect("lock").remove(username);
    }

    pub async fn admin(&self) -> Client {
        self.login("admin", ADMIN_PASSWORD).await
    }

    pub async fn get(&self, c: &Client, path: &str) -> (StatusCode, Value) {
        let r = c.get(self.url(path)).send().await.expect("get");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        c: &Client,
        method: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = c
            .request(m, self.url(path))
            .json(&body)
            .send()
            .await
            .expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, c: &Client, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(c, "POST", path, body).await
    }

    /// Creates a user with one grant through the API and returns a logged-in client
    /// after the forced password change.
    pub async fn user_with(&self, admin: &Client, username: &str, grant: Value) -> Client {
        let watcher = matches!(
            grant["role"].as_str(),
            Some("security_admin" | "audit_admin")
        );
        let (s, v) = self
            .post(
                admin,
                "/api/v1/users",
                json!({"username": username, "display_name": username, "grant": grant}),
            )
            .await;
        let otp = if watcher {
            // 三权分立: a second admin confirms; the owner gets both halves.
            assert_eq!(s, StatusCode::ACCEPTED, "request user {username}: {v}");
            let first = v["first_half"].as_str().expect("first half").to_string();
            let id = v["approval_id"].as_i64().expect("approval");
            format!("{first}{}", self.confirm_approval(id).await)
        } else {
            assert_eq!(s, StatusCode::CREATED, "create user {username}: {v}");
            v["password"].as_str().expect("password").to_string()
        };
        let c = self.login(username, &otp).await;
        let (s, v) = self
            .post(
                &c,
                "/api/v1/me/password",
                json!({"current": otp, "new_password": PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (_, me) = self.get(&c, "/api/v1/me").await;
        if me["totp_enrolment_required"] == json!(true) {
            self.enrol_totp(&c, username, PASSWORD).await;
        }
        if watcher {
            self.watchers.lock().expect("lock").push(c.clone());
        }
        c
    }

    /// Confirms a pending 双人确认 request as the first security or audit admin this app made,
    /// or — before there is one — as the operator on the command line; the second half of the
    /// one-time password, if any.
    pub async fn confirm_approval(&self, id: i64) -> String {
        let watcher = self.watchers.lock().expect("lock").first().cloned();
        let v = match watcher {
            Some(w) => {
                let (s, v) = self
                    .post(&w, &format!("/api/v1/approvals/{id}/confirm"), json!({}))
                    .await;
                assert_eq!(s, StatusCode::OK, "confirm {id}: {v}");
                v
            }
            None => serde_json::to_value(
                yaoshi::system::approvals::confirm(
                    &self.state,
                    yaoshi::system::approvals::Decider::CommandLine,
                    id,
                )
                .await
                .expect("confirm on the command line"),
            )
            .expect("json"),
        };
        v["second_half"].as_str().unwrap_or_default().to_string()
    }

    pub async fn sql_scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("scalar")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((base, name)) = self.pg.take() {
            // Drop the per-test database from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async move {
                        if let Ok(mut c) =
                            <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await
                        {
                            let _ = sqlx::Executor::execute(
                                &mut c,
                                format!("drop database if exists {name} with (force)").as_str(),
                            )
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A fresh empty PostgreSQL database when YAOSHI_TEST_DATABASE_URL is set: its URL and
/// (server URL, name) to drop it by.
pub async fn scratch_database() -> Option<(String, (String, String))> {
    let base = std::env::var("YAOSHI_TEST_DATABASE_URL")
        .ok()
        .filter(|b| !b.is_empty())?;
    let name = format!("yt_{}", random_suffix());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .expect("connect postgres");
    sqlx::Executor::execute(&mut conn, format!("create database {name}").as_str())
        .await
        .expect("create database");
    let mut u = url::Url::parse(&base).expect("url");
    u.set_path(&format!("/{name}"));
    Some((u.to_string(), (base, name)))
}

pub fn is_postgres() -> bool {
    std::env::var("YAOSHI_TEST_DATABASE_URL").is_ok_and(|b| !b.is_empty())
}

/// A valid resident ID number from 17 digits, with its GB 11643 check character.
pub fn id_number(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8] = b"10X98765432";
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    format!("{first17}{}", C[(sum % 11) as usize] as char)
}

/// The n-th distinct valid ID number (born 1980-1990, Nanjing region).
pub fn nth_id(n: u32) -> String {
    let year = 1980 + (n / 1000) % 10;
    let seq = n % 1000;
    id_number(&format!("320102{year}0315{seq:03}"))
}

/// A small city: units A and B, each with a branch (A has a group), members, and
/// the ids tests need.
pub struct City {
    pub unit_a: i64,
    pub unit_b: i64,
    pub branch_a: i64,
    pub branch_a2: i64,
    pub group_a: i64,
    pub branch_b: i64,
    pub member_a: i64,
    pub member_b: i64,
    pub community: i64,
}

pub async fn city(app: &TestApp, admin: &Client) -> City {
    let (_, cats) = app.get(admin, "/api/v1/categories").await;
    let cat = cats[0]["category_id"].as_i64().expect("category");
    let mk_unit = |name: &str| json!({"name": name, "category_id": cat});
    let (s, a) = app.post(admin, "/api/v1/units", mk_unit("市测试局")).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (_, b) = app.post(admin, "/api/v1/units", mk_unit("市对照局")).await;
    let (unit_a, unit_b) = (a.as_i64().expect("a"), b.as_i64().expect("b"));
    let org = |unit: i64, kind: &str, name: &str, parent: Option<i64>| json!({"unit_id": unit, "kind": kind, "name": name, "parent_id": parent, "founded_on": "2015-07-01", "term_start": "2023-01-01", "term_end": "2026-01-01"});
    let (s, ba) = app
        .post(
            admin,
            "/api/v1/orgs",
            org(unit_a, "branch", "办公室党支部", None),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ba}");
    let branch_a = ba.as_i64().expect("branch");
    let (_, ba2) = app
        .post(
            admin,
            "/api/v1/orgs",
            org(unit_a, "branch", "业务处党支部", None),
        )
        .await;
    let (_, ga) = app
        .post(
            admin,
            "/api/v1/orgs",
            org(unit_a, "group", "第一党小组", Some(branch_a)),
        )
        .await;
    let (_, bb) = app
        .post(
            admin,
            "/api/v1/orgs",
            org(unit_b, "branch", "机关党支部", None),
        )
        .await;
    let member = |n: u32, name: &str, branch: i64| json!({"name": name, "id_number": nth_id(n), "kind": "full", "joined_on": "2010-07-01", "converted_on": "2011-07-01", "branch_id": branch, "phone": "13800138000"});
    let (s, ma) = app
        .post(admin, "/api/v1/members", member(1, "张三", branch_a))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ma}");
    let (_, mb) = app
        .post(
            admin,
            "/api/v1/members",
            member(2, "李四", bb.as_i64().expect("bb")),
        )
        .await;
    let (_, c) = app
        .post(admin, "/api/v1/communities", json!({"name": "梅园社区"}))
        .await;
    City {
        unit_a,
        unit_b,
        branch_a,
        branch_a2: ba2.as_i64().expect("ba2"),
        group_a: ga.as_i64().expect("group"),
        branch_b: bb.as_i64().expect("bb"),
        member_a: ma.as_i64().expect("ma"),
        member_b: mb.as_i64().expect("mb"),
        community: c.as_i64().expect("community"),
    }
}

/// The text of the first element carrying `data-testid="{id}"` in a page.
pub fn testid_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("data-testid=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].trim().to_string())
}

/// Sets up the second factor through the pages for a logged-in browser-like client whose
/// password is `password`; returns the secret and the recovery codes shown once.
pub async fn enrol_through_pages(
    app: &TestApp,
    c: &Client,
    password: &str,
) -> (String, Vec<String>) {
    let r = c
        .post(app.url("/account/totp/start"))
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = c
        .get(app.url("/account/totp"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(html.contains("data-testid=\"totp-qr\""), "{html}");
    let secret = testid_text(&html, "totp-secret").expect("secret");
    let bad = c
        .post(app.url("/account/totp/confirm"))
        .form(&[("code", "000000"), ("current_password", password)])
        .send()
        .await
        .expect("confirm");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.expect("t").contains("验证码不正确"));
    let code = yaoshi::auth::totp::code_at(&secret, yaoshi::clock::now()).expect("code");
    let r = c
        .post(app.url("/account/totp/confirm"))
        .form(&[("code", code.as_str()), ("current_password", password)])
        .send()
        .await
        .expect("confirm");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("text");
    let at = html.find("data-testid=\"recovery-codes\"").expect("codes");
    let block = &html[at..];
    let block = &block[block.find('>').expect(">") + 1..block.find("</pre>").expect("pre")];
    let codes: Vec<String> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "{block}");
    (secret, codes)
}

/// The first sheet of an .xlsx answer, cells typed as Excel stores them.
pub fn xlsx_range(bytes: &[u8]) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let name = book.sheet_names()[0].clone();
    book.worksheet_range(&name).expect("sheet")
}

/// The index of the column headed `header`.
pub fn column(range: &calamine::Range<calamine::Data>, header: &str) -> usize {
    range
        .rows()
        .next()
        .and_then(|h| {
            h.iter()
                .position(|c| matches!(c, calamine::Data::String(s) if s == header))
        })
        .unwrap_or_else(|| panic!("no column {header}"))
}
