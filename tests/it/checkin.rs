//! 扫码签到 at a meeting: the branch admin opens it on the day, members of the branch sign in
//! with the current code, anyone else — another branch's member, a stale or forged code, a
//! closed sign-in, a record already submitted — is refused with a Chinese reason; scanning
//! twice changes nothing; the record's attendance form is pre-filled from the sign-ins.
//! Over the API and the pages.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, testid_text, City, TestApp};

struct Setup {
    app: TestApp,
    city: City,
    branch: Client,
    branch_b: Client,
    member: Client,
    member_b: Client,
    unit: Client,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let branch = app
        .user_with(
            &admin,
            "ck_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let branch_b = app
        .user_with(
            &admin,
            "ck_branch_b",
            json!({"role": "branch", "org_id": city.branch_b}),
        )
        .await;
    let member = app
        .user_with(
            &admin,
            "ck_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    let member_b = app
        .user_with(
            &admin,
            "ck_member_b",
            json!({"role": "member", "member_id": city.member_b}),
        )
        .await;
    let unit = app
        .user_with(
            &admin,
            "ck_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    Setup {
        app,
        city,
        branch,
        branch_b,
        member,
        member_b,
        unit,
    }
}

/// A draft general assembly of branch A held on `day`, everyone marked absent.
async fn meeting(s: &Setup, day: &str) -> i64 {
    let (st, m) = s
        .app
        .post(
            &s.branch,
            "/api/v1/meetings",
            json!({"branch_id": s.city.branch_a, "kind": "general_assembly", "held_on": day,
                   "topic": "学习党章", "attendance": [{"member_id": s.city.member_a, "state": "absent"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    m["meeting_id"].as_i64().expect("meeting")
}

async fn open(s: &Setup, c: &Client, body: Value) -> (StatusCode, Value) {
    s.app.post(c, "/api/v1/checkin/sessions", body).await
}

async fn current_code(s: &Setup, session: i64) -> String {
    let (st, v) = s
        .app
        .get(&s.branch, &format!("/api/v1/checkin/sessions/{session}"))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["code"].as_str().expect("code").to_string()
}

async fn scan(s: &Setup, c: &Client, session: i64, code: &str) -> (StatusCode, Value) {
    s.app
        .post(
            c,
            "/api/v1/checkin/scan",
            json!({"checkin_session_id": session, "code": code}),
        )
        .await
}

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap_or("").to_string()
}

async fn page(s: &Setup, c: &Client, path: &str) -> (StatusCode, String) {
    let r = c.get(s.app.url(path)).send().await.expect("get");
    let st = r.status();
    (st, r.text().await.expect("text"))
}

#[tokio::test]
async fn members_of_the_branch_sign_in_with_the_current_code_and_no_one_else() {
    let s = setup().await;
    let today = yaoshi::clock::today().to_string();
    let mid = meeting(&s, &today).await;

    // Opened twice: the same sign-in. A meeting takes no sign-out; an unknown kind is none.
    let (st, v) = open(&s, &s.branch, json!({"kind": "meeting", "target_id": mid})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let sid = v["checkin_session_id"].as_i64().expect("session");
    let (_, again) = open(&s, &s.unit, json!({"kind": "meeting", "target_id": mid})).await;
    assert_eq!(again["checkin_session_id"].as_i64(), Some(sid));
    let (st, v) = open(
        &s,
        &s.branch,
        json!({"kind": "meeting", "target_id": mid, "direction": "out"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("只需签到"), "{v}");
    let (st, _) = open(&s, &s.branch, json!({"kind": "party", "target_id": mid})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = open(
        &s,
        &s.branch,
        json!({"kind": "meeting", "target_id": mid, "direction": "sideways"}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["direction"].is_string(), "{v}");
    // Another branch's admin cannot see the record, so cannot open or watch its sign-in.
    let (st, _) = open(
        &s,
        &s.branch_b,
        json!({"kind": "meeting", "target_id": mid}),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .app
        .get(&s.branch_b, &format!("/api/v1/checkin/sessions/{sid}"))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A member cannot run it.
    let (st, _) = s
        .app
        .get(&s.member, &format!("/api/v1/checkin/sessions/{sid}"))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let code = current_code(&s, sid).await;
    // A member of another unit's branch: refused, and told why.
    let (st, v) = scan(&s, &s.member_b, sid, &code).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(message(&v).contains("不在本次会议的应到人员中"), "{v}");
    // An account with no member: refused.
    let (st, v) = scan(&s, &s.branch, sid, &code).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(message(&v).contains("只有党员"), "{v}");
    // Forged, malformed and stale codes: refused as expired.
    let stale = yaoshi::checkin::store::code(&s.app.state, sid, yaoshi::clock::now() - 30);
    for bad in ["000000000000", "<script>1234", "", stale.as_str()] {
        let (st, v) = scan(&s, &s.member, sid, bad).await;
        assert_eq!(st, StatusCode::CONFLICT, "{bad}: {v}");
        assert!(message(&v).contains("二维码已过期"), "{bad}: {v}");
    }
    // An unknown sign-in.
    let (st, v) = scan(&s, &s.member, sid + 100, &code).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The branch's member signs in; a second scan changes nothing.
    let (st, v) = scan(&s, &s.member, sid, &code.to_uppercase()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["already"], false);
    assert!(
        v["title"].as_str().unwrap_or("").contains("党员大会"),
        "{v}"
    );
    let (st, v2) = scan(&s, &s.member, sid, &code).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v2["already"], true);
    assert_eq!(v2["at"], v["at"]);
    let n = s
        .app
        .sql_scalar(&format!(
            "select count(*) from checkin where kind = 'meeting' and target_id = {mid}"
        ))
        .await;
    assert_eq!(n, 1);

    // The organiser sees who signed and who not.
    let (_, v) = s
        .app
        .get(&s.branch, &format!("/api/v1/checkin/sessions/{sid}"))
        .await;
    assert_eq!(v["signed"][0]["name"], "张三", "{v}");
    assert_eq!(v["open"], true);
    assert!(v["scan_path"]
        .as_str()
        .unwrap_or("")
        .starts_with(&format!("/checkin/s/{sid}?c=")));

    // The attendance form pre-filled from the sign-ins; the record itself unchanged until
    // the admin saves it.
    let (st, html) = page(
        &s,
        &s.branch,
        &format!("/orglife/meetings/{mid}/edit?checkin=1"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let note = testid_text(&html, "checkin-note").unwrap_or_default();
    assert!(note.contains("1人签到记为出席"), "{note}");
    let (_, d) = s
        .app
        .get(&s.branch, &format!("/api/v1/meetings/{mid}"))
        .await;
    assert_eq!(d["meeting"]["present_count"], 0, "{d}");

    // Closed: no more scans; closing twice is refused.
    let (st, _) = s
        .app
        .post(
            &s.branch,
            &format!("/api/v1/checkin/sessions/{sid}/close"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s
        .app
        .post(
            &s.branch,
            &format!("/api/v1/checkin/sessions/{sid}/close"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let code = yaoshi::checkin::store::code(&s.app.state, sid, yaoshi::clock::now());
    let (st, v) = scan(&s, &s.member, sid, &code).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(message(&v).contains("已经结束"), "{v}");
    // Opening again starts a new sign-in.
    let (_, v) = open(&s, &s.branch, json!({"kind": "meeting", "target_id": mid})).await;
    assert_ne!(v["checkin_session_id"].as_i64(), Some(sid));
}

#[tokio::test]
async fn only_on_the_day_and_while_the_record_is_open() {
    let s = setup().await;
    let earlier = (yaoshi::clock::today() - time::Duration::days(3)).to_string();
    let old = meeting(&s, &earlier).await;
    let (st, v) = open(&s, &s.branch, json!({"kind": "meeting", "target_id": old})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(message(&v).contains("只能在会议当天"), "{v}");

    let today = yaoshi::clock::today().to_string();
    let mid = meeting(&s, &today).await;
    let (_, v) = open(&s, &s.branch, json!({"kind": "meeting", "target_id": mid})).await;
    let sid = v["checkin_session_id"].as_i64().expect("session");
    let code = current_code(&s, sid).await;
    // Submitted for review: the sign-in no longer takes scans.
    let (st, v) = s
        .app
        .post(
            &s.branch,
            &format!("/api/v1/meetings/{mid}/submit"),
            json!({}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let (st, v) = scan(&s, &s.member, sid, &code).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(message(&v).contains("不能再扫码签到"), "{v}");
}

#[tokio::test]
async fn the_pages_show_the_code_and_sign_in_by_opening_its_address() {
    let s = setup().await;
    let today = yaoshi::clock::today().to_string();
    let mid = meeting(&s, &today).await;
    // The record's page offers 扫码签到 today; the button opens the organiser's screen.
    let (st, html) = page(&s, &s.branch, &format!("/orglife/meetings/{mid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("data-testid=\"open-checkin\""));
    let r = s
        .branch
        .post(s.app.url(&format!("/checkin/meeting/{mid}/open")))
        .form(&[("direction", "in")])
        .send()
        .await
        .expect("open");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let sid: i64 = to
        .rsplit('/')
        .next()
        .and_then(|x| x.parse().ok())
        .expect("session id");
    let (st, html) = page(&s, &s.branch, &to).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("<svg"), "a QR code");
    assert!(html.contains("hx-trigger=\"every 4s\""));
    assert_eq!(testid_text(&html, "signed-count").as_deref(), Some("0"));

    // The address the QR code holds, opened by the member: signed in.
    let (_, v) = s
        .app
        .get(&s.branch, &format!("/api/v1/checkin/sessions/{sid}"))
        .await;
    let path = v["scan_path"].as_str().expect("path").to_string();
    let (st, html) = page(&s, &s.member, &path).await;
    assert_eq!(st, StatusCode::OK);
    assert!(testid_text(&html, "scan-ok")
        .unwrap_or_default()
        .contains("签到成功"));
    let (_, html) = page(&s, &s.member, &path).await;
    assert!(testid_text(&html, "scan-ok")
        .unwrap_or_default()
        .contains("您已签到"));
    // Someone else's member: a page saying why, 403.
    let (st, html) = page(&s, &s.member_b, &path).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(testid_text(&html, "scan-refused")
        .unwrap_or_default()
        .contains("不在本次会议的应到人员中"));
    // Not logged in: to the login page, coming back here.
    let r = TestApp::client()
        .get(s.app.url(&path))
        .send()
        .await
        .expect("anon");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap_or("")
        .starts_with("/login?next=%2Fcheckin%2Fs%2F"));

    // The organiser's redrawn part lists the member; the record offers the pre-fill.
    let (st, html) = page(&s, &s.branch, &format!("/checkin/sessions/{sid}/live")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(testid_text(&html, "signed-count").as_deref(), Some("1"));
    assert!(html.contains("<span>张三</span>"));
    let (_, html) = page(&s, &s.branch, &format!("/orglife/meetings/{mid}")).await;
    assert!(html.contains("按签到填写出席（1人已签到）"));
    // Closed from the page.
    let r = s
        .branch
        .post(s.app.url(&format!("/checkin/sessions/{sid}/close")))
        .form(&[("x", "")])
        .send()
        .await
        .expect("close");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&s, &s.branch, &format!("/checkin/sessions/{sid}")).await;
    assert!(html.contains("data-testid=\"checkin-closed\""));
}

/// A need of the test city's community from `from` to `to` (unix seconds), five places.
fn need_at(from: i64, to: i64) -> Value {
    use yaoshi::volunteer::rules::local_input;
    json!({"title": "社区义诊", "place": "社区党群服务中心", "starts_at": local_input(from),
           "ends_at": local_input(to), "slots": "5", "hours": "2"})
}

#[tokio::test]
async fn claimants_sign_in_and_out_of_an_activity_and_the_claim_keeps_the_times() {
    let s = setup().await;
    let admin = s.app.admin().await;
    let community = s
        .app
        .user_with(
            &admin,
            "ck_community",
            json!({"role": "community", "community_id": s.city.community}),
        )
        .await;
    let (_, other) = s
        .app
        .post(&admin, "/api/v1/communities", json!({"name": "桃园社区"}))
        .await;
    let other = s
        .app
        .user_with(
            &admin,
            "ck_community_b",
            json!({"role": "community", "community_id": other.as_i64().expect("other")}),
        )
        .await;
    let t = yaoshi::clock::now();
    let (st, v) = s
        .app
        .post(
            &community,
            "/api/v1/volunteer/needs",
            need_at(t + 3600, t + 3 * 3600),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let need = v["id"].as_i64().expect("need");
    let (st, v) = s
        .app
        .post(
            &s.member,
            &format!("/api/v1/volunteer/needs/{need}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // Another community cannot run it; a branch admin is no organiser of activities.
    let (st, _) = open(&s, &other, json!({"kind": "need", "target_id": need})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = open(&s, &s.branch, json!({"kind": "need", "target_id": need})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A need days away: not yet.
    let (_, v) = s
        .app
        .post(
            &community,
            "/api/v1/volunteer/needs",
            need_at(t + 3 * 86_400, t + 3 * 86_400 + 3 * 3600),
        )
        .await;
    let later = v["id"].as_i64().unwrap_or_else(|| panic!("{v}"));
    let (st, v) = open(&s, &community, json!({"kind": "need", "target_id": later})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(message(&v).contains("只能在活动前后扫码签到"), "{v}");

    let (st, v) = open(&s, &community, json!({"kind": "need", "target_id": need})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let sign_in = v["checkin_session_id"].as_i64().expect("in");
    let (st, v) = open(
        &s,
        &community,
        json!({"kind": "need", "target_id": need, "direction": "out"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let sign_out = v["checkin_session_id"].as_i64().expect("out");
    assert_ne!(sign_in, sign_out);
    let code = |id: i64| yaoshi::checkin::store::code(&s.app.state, id, yaoshi::clock::now());

    // Who did not claim it is refused; signing out before signing in is refused.
    let (st, v) = scan(&s, &s.member_b, sign_in, &code(sign_in)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(message(&v).contains("您没有认领这项服务"), "{v}");
    let (st, v) = scan(&s, &s.member, sign_out, &code(sign_out)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(message(&v).contains("还没有签到"), "{v}");

    let (st, v) = scan(&s, &s.member, sign_in, &code(sign_in)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["title"].as_str().unwrap_or("").contains("社区义诊"),
        "{v}"
    );
    let (st, v) = scan(&s, &s.member, sign_out, &code(sign_out)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["direction"], "out");
    let (signed_in, signed_out): (Option<i64>, Option<i64>) = sqlx::query_as(
        "select signed_in_at, signed_out_at from volunteer_claim where volunteer_need_id = $1",
    )
    .bind(need)
    .fetch_one(&s.app.state.db.pool)
    .await
    .expect("claim");
    assert!(signed_in.is_some() && signed_out.is_some());
    // The organiser's view of each screen.
    let (_, v) = s
        .app
        .get(&community, &format!("/api/v1/checkin/sessions/{sign_out}"))
        .await;
    assert_eq!(v["signed"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["direction"], "out");
    // The need's page offers both screens to its community.
    let (_, html) = page(&s, &community, &format!("/volunteer/needs/{need}")).await;
    assert!(html.contains("data-testid=\"open-checkin\""));
    assert!(html.contains("data-testid=\"open-checkout\""));
}
