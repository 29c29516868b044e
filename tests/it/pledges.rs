//! 一句话承诺: a division head pledges, the unit returns and accepts; the public board shows
//! only accepted pledges, escaped, cacheable (ETag, 304) and refreshed when a pledge or
//! published feedback changes; the public's feedback passes a challenge, is held, published or
//! hidden (audited) and never leaks while held; floods are throttled per client while another
//! client gets through; progress, fulfilment ratings, the figures, the missing list, exports
//! and the indicators criterion 18 is scored by — over the API and the pages.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::common::{city, xlsx_range, City, TestApp};

struct Setup {
    app: TestApp,
    admin: Client,
    /// member_a's own account (a division head), unit A's admin, unit B's admin, branch A's.
    member: Client,
    unit: Client,
    unit_b: Client,
    branch: Client,
    city: City,
}

async fn setup_with(tweak: impl FnOnce(&mut yaoshi::config::Config)) -> Setup {
    let app = TestApp::spawn_with(tweak).await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    sqlx::query("update member set is_division_head = 1, position = '处长' where member_id = $1")
        .bind(city.member_a)
        .execute(&app.state.db.pool)
        .await
        .expect("division head");
    let member = app
        .user_with(
            &admin,
            "pl_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    let unit = app
        .user_with(
            &admin,
            "pl_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let unit_b = app
        .user_with(
            &admin,
            "pl_unit_b",
            json!({"role": "unit", "unit_id": city.unit_b}),
        )
        .await;
    let branch = app
        .user_with(
            &admin,
            "pl_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    Setup {
        app,
        admin,
        member,
        unit,
        unit_b,
        branch,
        city,
    }
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v["error"]["fields"][name].as_str().unwrap_or_default()
}

/// The answer to a challenge's question: "八加三等于几？…" → 11.
pub fn solve(question: &str) -> String {
    let digit = |c: char| "零一二三四五六七八九".chars().position(|d| d == c);
    let mut it = question.chars();
    let a = it.next().and_then(digit).expect("first number");
    assert_eq!(it.next(), Some('加'), "{question}");
    let b = it.next().and_then(digit).expect("second number");
    (a + b).to_string()
}

impl Setup {
    async fn pledge(&self, body: &str, milestones: &[&str]) -> (StatusCode, Value) {
        self.app
            .send(
                &self.member,
                "PUT",
                "/api/v1/pledges/mine",
                json!({"body": body, "division": "办公室", "post": "主任", "milestones": milestones}),
            )
            .await
    }

    /// The member's pledge made, submitted and accepted by unit A; its id and public key.
    async fn accepted(&self, body: &str) -> (i64, String) {
        let (s, v) = self.pledge(body, &["上半年完成50%", "年底全部完成"]).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let id = v["id"].as_i64().expect("id");
        let (s, v) = self
            .app
            .post(
                &self.member,
                &format!("/api/v1/pledges/{id}/submit"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (s, v) = self
            .app
            .post(
                &self.unit,
                &format!("/api/v1/pledges/{id}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (_, p) = self
            .app
            .get(&self.unit, &format!("/api/v1/pledges/{id}"))
            .await;
        (id, p["public_key"].as_str().expect("key").to_string())
    }

    /// Feedback sent as the public would, after the challenge's minimum wait.
    async fn feedback(
        &self,
        c: &Client,
        key: &str,
        rating: i64,
        body: &str,
    ) -> (StatusCode, Value) {
        let (s, ch) = self
            .app
            .get(c, &format!("/api/v1/public/pledges/{key}/challenge"))
            .await;
        assert_eq!(s, StatusCode::OK, "{ch}");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        self.app
            .post(
                c,
                &format!("/api/v1/public/pledges/{key}/feedback"),
                json!({"token": ch["token"], "answer": solve(ch["question"].as_str().expect("q")), "rating": rating.to_string(), "body": body}),
            )
            .await
    }

    async fn html(&self, c: &Client, path: &str) -> (StatusCode, String) {
        let r = c.get(self.app.url(path)).send().await.expect("get");
        let s = r.status();
        (s, r.text().await.expect("text"))
    }
}

#[tokio::test]
async fn pledge_reviewed_and_shown_on_the_board() {
    let t = setup().await;
    // Bad input, named in Chinese, nothing saved.
    let (s, v) = t.pledge("", &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "body").contains("请填写"), "{v}");
    let (s, v) = t.pledge(&"长".repeat(121), &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "body").contains("不超过120字"), "{v}");
    let (s, v) = t
        .pledge(
            "全年办结群众来信来访，件件有回音",
            &["一", "二", "三", "四"],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "milestones").contains("最多3个"), "{v}");
    assert_eq!(t.app.sql_scalar("select count(*) from pledge").await, 0);
    // Only members pledge; another role is refused.
    let (s, _) = t
        .app
        .send(
            &t.unit,
            "PUT",
            "/api/v1/pledges/mine",
            json!({"body": "一二三四五六七八九十", "division": "处"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Missing before pledging.
    let (_, m) = t.app.get(&t.unit, "/api/v1/pledges/missing").await;
    assert_eq!(m["total"], json!(1), "{m}");

    let body = "群众来信<b>件件有回音</b><script>alert(1)</script>，当日受理";
    let (s, v) = t.pledge(body, &["上半年完成50%"]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["id"].as_i64().expect("id");
    let (_, p) = t.app.get(&t.member, &format!("/api/v1/pledges/{id}")).await;
    let key = p["public_key"].as_str().expect("key").to_string();
    assert_eq!(key.len(), 20);
    // A draft is on no board: its key answers 404 like any other.
    for path in [
        format!("/public/pledges/p/{key}"),
        format!("/public/pledges/p/{key}/feedback"),
        format!("/api/v1/public/pledges/{key}"),
        format!("/api/v1/public/pledges/{key}/challenge"),
        "/public/pledges/p/aaaaaaaaaaaaaaaaaaaa".into(),
        "/public/pledges/p/..%2F..%2Fetc".into(),
        format!("/api/v1/public/pledges/{}", key.to_uppercase()),
    ] {
        let s = TestApp::client()
            .get(t.app.url(&path))
            .send()
            .await
            .expect("get")
            .status();
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    // Submitted: the other unit cannot see or accept it; the unit returns it with a comment.
    let (s, _) = t
        .app
        .post(
            &t.member,
            &format!("/api/v1/pledges/{id}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t.app.get(&t.unit_b, &format!("/api/v1/pledges/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t
        .app
        .post(
            &t.unit_b,
            &format!("/api/v1/pledges/{id}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/{id}/return"),
            json!({"comment": " "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "comment").contains("退回意见"), "{v}");
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/{id}/return"),
            json!({"comment": "请写得更具体"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, p) = t.app.get(&t.member, "/api/v1/pledges/mine").await;
    assert_eq!(p["status"], json!("returned"));
    assert_eq!(p["review_comment"], json!("请写得更具体"));
    // Edited and submitted again through the page; accepted.
    let r = t
        .member
        .post(t.app.url("/pledges/mine"))
        .form(&[
            ("body", body),
            ("division", "办公室"),
            ("post", "主任"),
            ("milestone_1", "上半年完成50%"),
            ("then", "submit"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, _) = t
        .app
        .post(&t.unit, &format!("/api/v1/pledges/{id}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .app
        .post(&t.unit, &format!("/api/v1/pledges/{id}/accept"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, m) = t.app.get(&t.unit, "/api/v1/pledges/missing").await;
    assert_eq!(m["total"], json!(0), "{m}");

    // The board, anonymous: escaped, cacheable, no personal data beyond name, post, division.
    let anon = TestApp::client();
    let cat = t.city_category().await;
    // A category board's page number: past the last is the last; not a number is named.
    let r = anon
        .get(
            t.app
                .url(&format!("/public/pledges/categories/{cat}?page=7")),
        )
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("text").contains("张三"));
    let r = anon
        .get(
            t.app
                .url(&format!("/public/pledges/categories/{cat}?page=x")),
        )
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("text").contains("页码应为正整数"));
    for path in [
        "/public/pledges".to_string(),
        format!("/public/pledges/categories/{cat}"),
        format!("/public/pledges/units/{}", t.city.unit_a),
        format!("/public/pledges/p/{key}"),
        format!("/public/pledges/units/{}/poster", t.city.unit_a),
    ] {
        let r = anon.get(t.app.url(&path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let cc = r.headers()[reqwest::header::CACHE_CONTROL]
            .to_str()
            .expect("cc")
            .to_string();
        assert!(cc.starts_with("public"), "{path}: {cc}");
        let etag = r.headers()[reqwest::header::ETAG].clone();
        let html = r.text().await.expect("text");
        if path == "/public/pledges" {
            assert!(html.contains("市测试局"), "{path}");
        } else {
            assert!(html.contains("张三"), "{path}");
            assert!(
                html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"),
                "{path}"
            );
            assert!(!html.contains("<script>alert"), "{path}");
            assert!(!html.contains("13800138000"), "{path}");
        }
        let again = anon
            .get(t.app.url(&path))
            .header(reqwest::header::IF_NONE_MATCH, etag)
            .send()
            .await
            .expect("get");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        // A phone's browser takes gzip: the same page, compressed once per version.
        let r = anon
            .get(t.app.url(&path))
            .header(reqwest::header::ACCEPT_ENCODING, "gzip, deflate, br")
            .send()
            .await
            .expect("get");
        assert_eq!(
            r.headers()[reqwest::header::CONTENT_ENCODING],
            "gzip",
            "{path}"
        );
        assert_eq!(
            r.headers()[reqwest::header::VARY],
            "accept-encoding",
            "{path}"
        );
        let packed = r.bytes().await.expect("bytes");
        let mut unpacked = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&packed[..]),
            &mut unpacked,
        )
        .expect("gunzip");
        assert_eq!(unpacked, html, "{path}");
        assert!(packed.len() < html.len(), "{path}");
    }
    let (_, poster) = t
        .html(
            &anon,
            &format!("/public/pledges/units/{}/poster", t.city.unit_a),
        )
        .await;
    assert_eq!(
        poster.matches("<svg").count(),
        2,
        "a QR code for the unit and one per pledge"
    );
    // The form is never cached.
    let r = anon
        .get(t.app.url(&format!("/public/pledges/p/{key}/feedback")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()[reqwest::header::CACHE_CONTROL], "no-store");
    // Unknown ids and bad years are refused.
    let (s, _) = t.html(&anon, "/public/pledges/units/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t.html(&anon, "/public/pledges?year=abc").await;
    assert!(s.is_client_error(), "{s}");
    // The staff's pages and the export.
    for path in [
        "/pledges",
        &format!("/pledges/{id}"),
        "/pledges/missing",
        "/pledges/stats",
        "/pledges/feedback",
    ] {
        let (s, _) = t.html(&t.unit, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
    }
    let bytes = t
        .admin
        .get(t.app.url("/pledges/export"))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let range = xlsx_range(&bytes);
    assert_eq!(range.height(), 2, "a header and the pledge");
    let (s, _) = t.html(&t.branch, &format!("/pledges/{id}")).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the branch admin reads its member's pledge"
    );
}

impl Setup {
    async fn city_category(&self) -> i64 {
        let (_, u) = self
            .app
            .get(&self.admin, &format!("/api/v1/units/{}", self.city.unit_a))
            .await;
        u["category_id"].as_i64().expect("category")
    }
}

#[tokio::test]
async fn feedback_is_held_moderated_and_replied() {
    let t = setup().await;
    let (id, key) = t
        .accepted("全年为企业上门服务不少于20次，问题限时解决")
        .await;
    let anon = TestApp::client();
    // Too fast, a wrong answer, a forged token, a filled trap: refused, nothing saved.
    let (_, ch) = t
        .app
        .get(&anon, &format!("/api/v1/public/pledges/{key}/challenge"))
        .await;
    let answer = solve(ch["question"].as_str().expect("q"));
    let send = |token: Value, answer: String, extra: Value| {
        let mut body = json!({"token": token, "answer": answer, "rating": "5", "body": "很好"});
        if let Some(o) = extra.as_object() {
            for (k, v) in o {
                body[k] = v.clone();
            }
        }
        body
    };
    let url = format!("/api/v1/public/pledges/{key}/feedback");
    let (s, v) = t
        .app
        .post(
            &anon,
            &url,
            send(ch["token"].clone(), answer.clone(), json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "token").contains("提交过快"), "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let wrong = (answer.parse::<i64>().expect("n") + 1).to_string();
    let (s, v) = t
        .app
        .post(&anon, &url, send(ch["token"].clone(), wrong, json!({})))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "answer").contains("回答错误"), "{v}");
    let tok = ch["token"].as_str().expect("t");
    let forged = format!("{}00", &tok[..tok.rfind('.').expect("dot") + 1]);
    let (s, v) = t
        .app
        .post(&anon, &url, send(json!(forged), answer.clone(), json!({})))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "token").contains("无效"), "{v}");
    let (s, _) = t
        .app
        .post(
            &anon,
            &url,
            send(
                ch["token"].clone(),
                answer.clone(),
                json!({"website": "http://spam"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = t
        .app
        .post(
            &anon,
            &url,
            send(
                ch["token"].clone(),
                answer.clone(),
                json!({"body": "长".repeat(301)}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "body").contains("不超过300字"), "{v}");
    assert_eq!(
        t.app
            .sql_scalar("select count(*) from pledge_feedback")
            .await,
        0
    );
    // Accepted once, held; the same token again is refused.
    let body = json!({"token": ch["token"], "answer": answer, "rating": "4", "body": "<img src=x onerror=alert(1)>窗口服务很好", "contact": "13900001111"});
    let (s, v) = t.app.post(&anon, &url, body.clone()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (s, _) = t.app.post(&anon, &url, body).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = t.feedback(&anon, &key, 2, "电话有时打不通").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // Held feedback leaks nowhere public, and the pledger does not see it yet.
    let (_, pubv) = t
        .app
        .get(&anon, &format!("/api/v1/public/pledges/{key}"))
        .await;
    assert_eq!(pubv["feedback"], json!([]), "{pubv}");
    assert_eq!(pubv["feedback_count"], json!(0));
    let (_, page) = t.html(&anon, &format!("/public/pledges/p/{key}")).await;
    assert!(!page.contains("窗口服务很好") && !page.contains("打不通"));
    let (_, mine) = t.app.get(&t.member, "/api/v1/pledges/feedback").await;
    assert_eq!(mine["total"], json!(0), "{mine}");
    // The unit sees both with the contact; the committee without it.
    let (_, list) = t
        .app
        .get(
            &t.unit,
            &format!("/api/v1/pledges/feedback?pledge_id={id}&status=held"),
        )
        .await;
    assert_eq!(list["total"], json!(2), "{list}");
    let items = list["items"].as_array().expect("items");
    let good = items
        .iter()
        .find(|f| f["rating"] == json!(4))
        .expect("good");
    let bad = items.iter().find(|f| f["rating"] == json!(2)).expect("bad");
    assert_eq!(good["contact"], json!("13900001111"));
    let (_, c) = t.app.get(&t.admin, "/api/v1/pledges/feedback").await;
    assert!(
        c["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|f| f["contact"] == json!("")),
        "{c}"
    );
    // Moderation: only the pledge's unit; hiding needs a reason; both audited.
    let (good, bad) = (
        good["feedback_id"].as_i64().expect("id"),
        bad["feedback_id"].as_i64().expect("id"),
    );
    let (s, _) = t
        .app
        .post(
            &t.unit_b,
            &format!("/api/v1/pledges/feedback/{good}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t
        .app
        .post(
            &t.admin,
            &format!("/api/v1/pledges/feedback/{good}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, before) = t.html(&anon, &format!("/public/pledges/p/{key}")).await;
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/feedback/{good}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/feedback/{bad}/hide"),
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "reason").contains("隐藏理由"), "{v}");
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/feedback/{bad}/hide"),
            json!({"reason": "与承诺无关"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        t.app.sql_scalar("select count(*) from audit_log where action in ('pledge_feedback.publish', 'pledge_feedback.hide')").await,
        2
    );
    // The board changed with the publication (the cached page moved), escaped.
    let (_, after) = t.html(&anon, &format!("/public/pledges/p/{key}")).await;
    assert_ne!(before, after);
    assert!(after.contains("窗口服务很好"));
    assert!(
        after.contains("&lt;img src=x") || after.contains("&#60;img src=x"),
        "escaped"
    );
    assert!(!after.contains("<img src=x"));
    assert!(!after.contains("打不通"), "hidden stays hidden");
    assert!(
        !after.contains("13900001111"),
        "the contact is never public"
    );
    let (_, pubv) = t
        .app
        .get(&anon, &format!("/api/v1/public/pledges/{key}"))
        .await;
    assert_eq!(pubv["feedback_count"], json!(1));
    assert_eq!(pubv["average"], json!("4.0"));
    assert!(pubv.to_string().find("打不通").is_none());
    assert!(pubv.to_string().find("13900001111").is_none());
    // The pledger replies publicly; not to hidden feedback, not as someone else.
    let (s, _) = t
        .app
        .post(
            &t.member,
            &format!("/api/v1/pledges/feedback/{bad}/reply"),
            json!({"reply": "谢谢"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/feedback/{good}/reply"),
            json!({"reply": "谢谢"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .app
        .post(
            &t.member,
            &format!("/api/v1/pledges/feedback/{good}/reply"),
            json!({"reply": "感谢监督，继续保持"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, page) = t.html(&anon, &format!("/public/pledges/p/{key}")).await;
    assert!(page.contains("感谢监督，继续保持"));

    // The page form: a challenge in the page, the answer posted as a form.
    let (s, form) = t
        .html(&anon, &format!("/public/pledges/p/{key}/feedback"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = between(&form, "name=\"token\" value=\"", "\"");
    let question = between(&form, "data-question=\"", "\"");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = anon
        .post(t.app.url(&format!("/public/pledges/p/{key}/feedback")))
        .form(&[
            ("token", token.as_str()),
            ("answer", &solve(&question)),
            ("rating", "5"),
            ("body", "扫码评价很方便"),
            ("website", ""),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("text").contains("感谢您的监督"));
    // A cross-site post of the form is refused before anything is read.
    let r = anon
        .post(t.app.url(&format!("/public/pledges/p/{key}/feedback")))
        .header("origin", "http://evil.example")
        .form(&[
            ("token", token.as_str()),
            ("answer", "1"),
            ("rating", "5"),
            ("body", "x"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

fn between(s: &str, start: &str, end: &str) -> String {
    let a = s.find(start).expect("start") + start.len();
    let b = s[a..].find(end).expect("end") + a;
    s[a..b].replace("&#43;", "+")
}

#[tokio::test]
async fn a_flood_from_one_client_is_throttled_while_another_gets_through() {
    let t = setup_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let (_, key) = t
        .accepted("审批事项压缩办理时限30%以上，做到最多跑一次")
        .await;
    let anon = TestApp::client();
    let mut tokens = Vec::new();
    for _ in 0..8 {
        let (_, ch) = t
            .app
            .get(&anon, &format!("/api/v1/public/pledges/{key}/challenge"))
            .await;
        tokens.push(ch);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let post = |ip: &'static str, ch: &Value| {
        anon.post(t.app.url(&format!("/api/v1/public/pledges/{key}/feedback")))
            .header("x-forwarded-for", ip)
            .json(&json!({"token": ch["token"], "answer": solve(ch["question"].as_str().expect("q")), "rating": "3", "body": "刷屏"}))
            .send()
    };
    let mut statuses = Vec::new();
    for ch in &tokens[..7] {
        let r = post("203.0.113.7", ch).await.expect("post");
        let s = r.status();
        if s == StatusCode::TOO_MANY_REQUESTS {
            let v: Value = r.json().await.expect("json");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .expect("m")
                    .contains("提交过于频繁"),
                "{v}"
            );
        }
        statuses.push(s);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        2,
        "{statuses:?}"
    );
    let r = post("198.51.100.9", &tokens[7]).await.expect("post");
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "another client still gets through"
    );
    assert_eq!(
        t.app
            .sql_scalar("select count(*) from pledge_feedback")
            .await,
        6
    );
}

#[tokio::test]
async fn progress_ratings_figures_and_indicators() {
    let t = setup().await;
    let (id, key) = t
        .accepted("带头讲党课2次，处室党员学习全覆盖、零缺勤")
        .await;
    // Progress on a milestone, bad input refused.
    let url = format!("/api/v1/pledges/{id}/progress");
    let (s, v) = t
        .app
        .post(
            &t.member,
            &url,
            json!({"milestone": 9, "progress": 50, "body": "完成一半"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&v, "milestone").contains("第9个节点"), "{v}");
    let (s, _) = t
        .app
        .post(
            &t.member,
            &url,
            json!({"milestone": 1, "progress": 101, "body": "完成"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = t.app.post(&t.member, &url, json!({"milestone": 1, "progress": 60, "body": "已讲党课1次", "evidence": "/orglife/meetings/1"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, pubv) = t
        .app
        .get(&TestApp::client(), &format!("/api/v1/public/pledges/{key}"))
        .await;
    assert_eq!(pubv["milestones"][0]["progress"], json!(60), "{pubv}");
    assert!(
        !pubv.to_string().contains("/orglife/meetings/1"),
        "evidence stays with the staff"
    );
    // Ratings: the unit as the unit, the committee as the committee; the branch may not.
    let rate = |result: &str| json!({"result": result, "reason": "按期完成"});
    let (s, _) = t
        .app
        .post(
            &t.branch,
            &format!("/api/v1/pledges/{id}/rating"),
            rate("fulfilled"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/{id}/rating"),
            json!({"result": "great", "reason": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field(&v, "result").contains("践诺评价") && field(&v, "reason").contains("评价理由"),
        "{v}"
    );
    let (s, _) = t
        .app
        .post(
            &t.unit,
            &format!("/api/v1/pledges/{id}/rating"),
            rate("fulfilled"),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .app
        .post(
            &t.admin,
            &format!("/api/v1/pledges/{id}/rating"),
            rate("not"),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, p) = t.app.get(&t.unit, &format!("/api/v1/pledges/{id}")).await;
    assert_eq!(p["unit_result"], json!("fulfilled"));
    assert_eq!(p["committee_result"], json!("not"));
    // The figures: the committee's rating counts over the unit's.
    let (_, st) = t.app.get(&t.admin, "/api/v1/pledges/stats").await;
    let unit = st["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["id"] == json!(t.city.unit_a))
        .expect("unit a")
        .clone();
    assert_eq!(unit["heads"], json!(1));
    assert_eq!(unit["heads_pledged"], json!(1));
    assert_eq!(unit["not"], json!(1), "{unit}");
    let (_, mine) = t.app.get(&t.unit, "/api/v1/pledges/stats").await;
    assert_eq!(
        mine["units"].as_array().expect("units").len(),
        1,
        "the unit admin's own unit only"
    );
    // Indicators: the rate counts the accepted pledge; fulfilment does not (rated 未践诺).
    let year = yaoshi::clock::today().year();
    let (s, r) = t
        .app
        .get(
            &t.admin,
            &format!(
                "/api/v1/indicators/pledges.rate?subject=unit:{}&year={year}",
                t.city.unit_a
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["reading"]["value"].clone(), r["reading"]["of"].clone()),
        (json!(1), json!(1)),
        "{r}"
    );
    let (_, r) = t
        .app
        .get(
            &t.admin,
            &format!(
                "/api/v1/indicators/pledges.fulfilment?subject=branch:{}&year={year}",
                t.city.branch_a
            ),
        )
        .await;
    assert_eq!(
        (r["reading"]["value"].clone(), r["reading"]["of"].clone()),
        (json!(0), json!(1)),
        "{r}"
    );
    let (s, _) = t
        .app
        .get(
            &t.unit_b,
            &format!(
                "/api/v1/indicators/pledges.rate?subject=unit:{}&year={year}",
                t.city.unit_a
            ),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // What the grading engine reads, every branch at once: criterion 18's key.
    assert!(yaoshi::indicators::scores_branches("pledges.fulfilment"));
    let figures = yaoshi::indicators::read_branches(
        &t.app.state,
        "pledges.fulfilment",
        yaoshi::indicators::Period::year(year),
    )
    .await
    .expect("read")
    .expect("published for branches");
    let a = &figures[&t.city.branch_a];
    assert_eq!((a.value, a.of), (0, Some(1)));
    assert!(a.gaps[0].label.contains("未践诺"), "{:?}", a.gaps);
    assert_eq!(
        figures[&t.city.branch_b].of,
        Some(0),
        "no division heads in branch B"
    );
    // The committee changes its mind: the figure follows at once (cached against versions).
    let (s, _) = t
        .app
        .post(
            &t.admin,
            &format!("/api/v1/pledges/{id}/rating"),
            rate("partly"),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let figures = yaoshi::indicators::read_branches(
        &t.app.state,
        "pledges.fulfilment",
        yaoshi::indicators::Period::year(year),
    )
    .await
    .expect("read")
    .expect("published");
    assert_eq!(figures[&t.city.branch_a].value, 1);
    let (_, board) = t
        .html(&TestApp::client(), &format!("/public/pledges/p/{key}"))
        .await;
    assert!(
        board.contains("部分践诺"),
        "the review beside the public rating"
    );
    // Exports of every list.
    for path in [
        "/pledges/stats/export",
        "/pledges/missing/export",
        "/pledges/feedback/export",
        "/pledges/export?sort=rating",
    ] {
        let r = t.admin.get(t.app.url(path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let bytes = r.bytes().await.expect("bytes");
        assert!(xlsx_range(&bytes).height() >= 1, "{path}");
    }
    // A bad filter value is a field error, not a silent default.
    let (s, v) = t.app.get(&t.admin, "/api/v1/pledges?status=nonsense").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn the_demo_seeds_pledges_on_either_backend() {
    let app = TestApp::spawn().await;
    yaoshi::demo::run(&app.state, yaoshi::demo::Scale::Small)
        .await
        .expect("demo");
    let accepted = app
        .sql_scalar("select count(*) from pledge where status = 'accepted'")
        .await;
    let other = app
        .sql_scalar("select count(*) from pledge where status <> 'accepted'")
        .await;
    assert!(accepted > 0 && other > 0, "{accepted} {other}");
    assert!(app.sql_scalar("select count(*) from pledge_review").await > 0);
    assert!(
        app.sql_scalar("select count(*) from pledge_feedback where status = 'held'")
            .await
            > 0
    );
    assert!(
        app.sql_scalar("select count(*) from pledge_feedback where status = 'published'")
            .await
            > 0
    );
    let (s, html) = {
        let r = TestApp::client()
            .get(app.url("/public/pledges"))
            .send()
            .await
            .expect("get");
        (r.status(), r.text().await.expect("text"))
    };
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("board-unit"));
}
