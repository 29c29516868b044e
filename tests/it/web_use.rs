//! Using it as its users do (issue #12 §3): errors inside the layout, breadcrumbs that only
//! link where the user may go, Chinese answers to malformed requests, unknown sort and
//! filter values refused, communities edited and deleted, the member form's date pickers and
//! its branch picker at city scale, plain words, reminders that link through.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use time::macros::date;

use crate::common::{city, TestApp};

async fn page(app: &TestApp, c: &Client, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).send().await.expect("get");
    let s = r.status();
    (s, r.text().await.expect("text"))
}

/// The breadcrumb's part of a page.
fn crumbs(html: &str) -> &str {
    let start = html.find("aria-label=\"面包屑\"").unwrap_or(0);
    let end = html[start..]
        .find("</ol>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// The sidebar's part of a page.
fn sidebar(html: &str) -> &str {
    let start = html.find("id=\"sidebar-menu\"").unwrap_or(0);
    let end = html[start..]
        .find("</aside>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[tokio::test]
async fn a_branch_admin_meets_errors_in_the_layout_and_crumbs_only_where_they_may_go() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let branch = app
        .user_with(
            &admin,
            "w_branch",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let unit = app
        .user_with(
            &admin,
            "w_unit",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;

    // The branch's own page: 组织体系 and the unit are text, not links to a 403.
    let (s, html) = page(&app, &branch, &format!("/org/orgs/{}", city.branch_a)).await;
    assert_eq!(s, StatusCode::OK);
    let trail = crumbs(&html);
    assert!(trail.contains("市测试局"), "{trail}");
    assert!(!trail.contains("href=\"/org/units"), "{trail}");
    assert!(trail.contains("data-testid=\"crumb-text\""), "{trail}");
    // Every link the breadcrumb still carries opens.
    for href in trail.split("href=\"").skip(1) {
        let href = &href[..href.find('"').expect("quote")];
        let (s, _) = page(&app, &branch, href).await;
        assert_eq!(s, StatusCode::OK, "{href}");
    }
    // The unit admin may open the unit: the crumb links there.
    let (_, html) = page(&app, &unit, &format!("/org/orgs/{}", city.branch_a)).await;
    assert!(
        crumbs(&html).contains(&format!("href=\"/org/units/{}\"", city.unit_a)),
        "{}",
        crumbs(&html)
    );

    // A page they may not open: 403 inside the layout, with a Chinese word and a way back.
    let r = branch
        .get(app.url("/org/units"))
        .header("referer", app.url(&format!("/org/orgs/{}", city.branch_a)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.expect("text");
    assert!(html.contains("data-testid=\"error-page\""), "{html}");
    assert!(html.contains("id=\"sidebar-menu\""), "the menu is there");
    assert!(html.contains("没有权限"));
    assert!(
        html.contains("data-testid=\"error-back\">返回上一页</a>")
            && html.contains(&format!("href=\"/org/orgs/{}\"", city.branch_a)),
        "a way back"
    );
    // 404 too, with no way back to another site.
    let r = branch
        .get(app.url("/org/no-such-page"))
        .header("referer", "https://elsewhere.example/x")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.expect("text");
    assert!(html.contains("data-testid=\"error-page\"") && html.contains("找不到"));
    assert!(!html.contains("elsewhere.example"));
    // Someone not signed in still goes to the login page.
    let (s, _) = page(&app, &TestApp::client(), "/org/units").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "redirected to the login page");
}

fn no_english(s: &str) {
    for w in [
        "Invalid URL",
        "Cannot parse",
        "Failed to",
        "deserialize",
        "invalid digit",
        "missing field",
        "expected",
    ] {
        assert!(!s.contains(w), "{w} in {s}");
    }
}

#[tokio::test]
async fn malformed_requests_answer_in_chinese_on_pages_and_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;

    // Pages: a bad path, a bad query value, a form missing its field — each a page in the
    // layout saying what is wrong.
    for (path, says) in [
        ("/org/members/abc", "网址有误：应为整数（收到“abc”）"),
        ("/org/members?page=x", "网址参数有误：“page”应为整数"),
        ("/orglife/meetings/zz", "网址有误"),
        ("/notifications?per_page=lots", "“per_page”应为整数"),
    ] {
        let (s, html) = page(&app, &admin, path).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        assert!(html.contains(says), "{path}: {html}");
        assert!(html.contains("data-testid=\"error-page\""), "{path}");
        no_english(&html);
    }
    let r = admin
        .post(app.url(&format!("/org/communities/{}", city.community)))
        .form(&[("address", "无名")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("text");
    assert!(html.contains("表单有误：“name”必须填写"), "{html}");
    no_english(&html);

    // The API: the JSON error body, with the field named where there is one.
    let (s, v) = app.get(&admin, "/api/v1/members/abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "invalid");
    assert_eq!(v["error"]["message"], "网址有误：应为整数（收到“abc”）");
    let (s, v) = app.get(&admin, "/api/v1/members?per_page=x").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["fields"]["per_page"], "应为整数", "{v}");
    let (s, v) = app
        .post(&admin, "/api/v1/communities", json!({"name": 5}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["name"], "应为文本", "{v}");
    no_english(&v.to_string());
    let r = admin
        .post(app.url("/api/v1/communities"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("JSON 请求体格式错误")),
        "{v}"
    );
    let r = admin
        .post(app.url("/api/v1/communities"))
        .body("name=x")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let v: Value = r.json().await.expect("json");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("内容类型")));
}

#[tokio::test]
async fn unknown_sort_and_filter_values_are_refused_not_ignored() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    city(&app, &admin).await;

    for (path, field, says) in [
        ("/api/v1/members?sort=age", "sort", "排序方式“age”不可用"),
        ("/api/v1/members?status=gone", "status", "状态“gone”不可用"),
        ("/api/v1/members?kind=x", "kind", "党员类别“x”不可用"),
        ("/api/v1/members?unit_id=abc", "unit_id", "应为编号"),
        (
            "/api/v1/members/export?sort=age",
            "sort",
            "排序方式“age”不可用",
        ),
        ("/api/v1/units?sort=size", "sort", "排序方式“size”不可用"),
        ("/api/v1/units?category_id=x", "category_id", "应为编号"),
    ] {
        let (s, v) = app.get(&admin, path).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        let said = v["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(said.contains(says), "{path}: {v}");
    }
    // A parameter the list does not have at all.
    for path in [
        "/api/v1/communities?sort=name",
        "/api/v1/units?order=name",
        "/api/v1/members?sortby=name",
    ] {
        let (s, v) = app.get(&admin, path).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("不是可用的参数")),
            "{path}: {v}"
        );
    }
    // The known ones still work.
    for path in [
        "/api/v1/members?sort=name&status=all&kind=full",
        "/api/v1/members?sort=branch",
        "/api/v1/units?sort=members",
        "/api/v1/communities?q=梅",
    ] {
        let (s, v) = app.get(&admin, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    // The pages say it too.
    for (path, says) in [
        ("/org/members?sort=age", "排序方式“age”不可用"),
        ("/org/units?sort=size", "排序方式“size”不可用"),
        ("/org/communities?sort=name", "“sort”不是可用的参数"),
    ] {
        let (s, html) = page(&app, &admin, path).await;
        assert!(s.is_client_error(), "{path}: {s}");
        assert!(html.contains(says), "{path}");
        assert!(html.contains("data-testid=\"error-page\""), "{path}");
    }
}

#[tokio::test]
async fn communities_are_edited_and_deleted_through_pages_and_api() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let (_, id) = app
        .post(&admin, "/api/v1/communities", json!({"name": "桃园社区"}))
        .await;
    let id = id.as_i64().expect("id");

    // API: edit, with its field errors.
    let (s, _) = app
        .send(
            &admin,
            "PUT",
            &format!("/api/v1/communities/{id}"),
            json!({"name": "桃源社区", "address": "桃源路 8 号", "contact": "王五"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, c) = app.get(&admin, &format!("/api/v1/communities/{id}")).await;
    assert_eq!(c["name"], "桃源社区");
    assert_eq!(c["address"], "桃源路 8 号");
    let (s, v) = app
        .send(
            &admin,
            "PUT",
            &format!("/api/v1/communities/{id}"),
            json!({"name": "梅园社区"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["name"], "该社区已登记");
    let (s, v) = app
        .send(
            &admin,
            "PUT",
            &format!("/api/v1/communities/{id}"),
            json!({"name": " "}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["name"].is_string());
    // Pages: the list links to editing; the edit form saves.
    let (_, html) = page(&app, &admin, "/org/communities").await;
    assert!(html.contains(&format!("href=\"/org/communities/{id}\"")));
    assert!(html.contains(&format!("href=\"/org/communities/{id}/delete\"")));
    let r = admin
        .post(app.url(&format!("/org/communities/{id}")))
        .form(&[
            ("name", "桃源社区"),
            ("address", "桃源路 9 号"),
            ("contact", ""),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, c) = app.get(&admin, &format!("/api/v1/communities/{id}")).await;
    assert_eq!(c["address"], "桃源路 9 号");
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where action = 'community.update' and object_id = '{id}'"
        ))
        .await,
        2
    );

    // Deleting a community an account is granted for: refused, saying why, nothing lost.
    app.user_with(
        &admin,
        "w_community",
        json!({"role": "community", "community_id": city.community}),
    )
    .await;
    let (s, v) = app
        .send(
            &admin,
            "DELETE",
            &format!("/api/v1/communities/{}", city.community),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("社区账号")),
        "{v}"
    );
    let (_, html) = page(
        &app,
        &admin,
        &format!("/org/communities/{}/delete", city.community),
    )
    .await;
    assert!(html.contains("data-testid=\"delete-refused\""));
    assert!(!html.contains("确认删除"));
    let r = admin
        .post(app.url(&format!("/org/communities/{}/delete", city.community)))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (s, _) = app
        .get(&admin, &format!("/api/v1/communities/{}", city.community))
        .await;
    assert_eq!(s, StatusCode::OK, "still there");

    // A free one: a confirmation step, then gone, audited.
    let (s, html) = page(&app, &admin, &format!("/org/communities/{id}/delete")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("确认删除") && html.contains("桃源社区"));
    let (s, _) = app.get(&admin, &format!("/api/v1/communities/{id}")).await;
    assert_eq!(s, StatusCode::OK, "asking is not deleting");
    let r = admin
        .post(app.url(&format!("/org/communities/{id}/delete")))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, _) = app.get(&admin, &format!("/api/v1/communities/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where action = 'community.delete' and object_id = '{id}'"
        ))
        .await,
        1
    );
    let (_, id2) = app
        .post(&admin, "/api/v1/communities", json!({"name": "竹园社区"}))
        .await;
    let (s, _) = app
        .send(
            &admin,
            "DELETE",
            &format!("/api/v1/communities/{}", id2.as_i64().expect("id")),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_member_form_has_date_pickers_and_loads_branches_by_unit() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    // Many branches elsewhere in the city.
    for i in 0..30 {
        let (s, v) = app
            .post(
                &admin,
                "/api/v1/orgs",
                json!({"unit_id": city.unit_b, "kind": "branch", "name": format!("远处第{i}党支部"), "founded_on": "2015-07-01"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, html) = page(&app, &admin, "/org/members/new").await;
    assert_eq!(s, StatusCode::OK);
    for f in ["birth_date", "joined_on", "converted_on"] {
        let at = html.find(&format!("name=\"{f}\"")).expect(f);
        let tag =
            &html[html[..at].rfind('<').expect("tag")..at + html[at..].find('>').expect("end")];
        assert!(tag.contains("type=\"date\""), "{tag}");
    }
    // No branch of the city in the page: a unit is picked, then its branches load.
    assert!(!html.contains("远处第"), "branches of every unit embedded");
    assert!(!html.contains("办公室党支部"));
    assert!(html.contains("市测试局") && html.contains("hx-get=\"/org/members/branch-options\""));
    let (s, opts) = page(
        &app,
        &admin,
        &format!("/org/members/branch-options?unit_id={}", city.unit_a),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(opts.contains(&format!("value=\"{}\"", city.branch_a)));
    assert!(opts.contains("业务处党支部") && !opts.contains("远处第"));
    // Coming from a branch, its unit and branches are there already.
    let (_, html) = page(
        &app,
        &admin,
        &format!("/org/members/new?org_id={}", city.branch_a),
    )
    .await;
    assert!(html.contains(&format!("value=\"{}\" selected", city.branch_a)));
    assert!(!html.contains("远处第"));
    // The member page's transfer picker is the same.
    let (_, html) = page(&app, &admin, &format!("/org/members/{}", city.member_a)).await;
    assert!(!html.contains("远处第"), "transfer picker embeds the city");
    // A unit admin sees their branches at once, and no other unit's.
    let unit = app
        .user_with(
            &admin,
            "w_unit2",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let (_, html) = page(&app, &unit, "/org/members/new").await;
    assert!(html.contains("办公室党支部") && !html.contains("远处第"));
    let (_, opts) = page(
        &app,
        &unit,
        &format!("/org/members/branch-options?unit_id={}", city.unit_b),
    )
    .await;
    assert!(!opts.contains("远处第"), "another unit's branches");
    // The server still names a bad date.
    let r = admin
        .post(app.url("/org/members"))
        .form(&[
            ("name", "赵六"),
            ("id_number", crate::common::nth_id(77).as_str()),
            ("kind", "full"),
            ("joined_on", "2010-02-30"),
            ("branch_id", city.branch_a.to_string().as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("text");
    assert!(html.contains("2010年2月没有30日"), "{html}");
}

#[tokio::test]
async fn plain_words_for_members_and_branch_admins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let member = app
        .user_with(
            &admin,
            "w_member",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    let branch = app
        .user_with(
            &admin,
            "w_branch3",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    for c in [&member, &branch] {
        let (_, html) = page(&app, c, "/").await;
        let menu = sidebar(&html);
        assert!(!menu.contains("/account/tokens"), "{menu}");
        assert!(!menu.contains("API") && !menu.contains("令牌"), "{menu}");
        // The page is still there for who needs it, reached from the personal settings.
        let (_, html) = page(&app, c, "/password").await;
        assert!(html.contains("data-testid=\"tokens-link\""));
        let (s, html) = page(&app, c, "/account/tokens").await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("接口令牌（供系统对接）"));
        // No environment variable names on the notifications page.
        let (_, html) = page(&app, c, "/notifications").await;
        assert!(!html.contains("YAOSHI_SMTP_URL"));
        assert!(html.contains("暂未开通邮件发送"));
    }
    let (_, html) = page(&app, &admin, "/").await;
    assert!(
        sidebar(&html).contains("/account/tokens"),
        "committee keeps it"
    );
}

#[tokio::test]
async fn each_reminder_links_to_what_it_is_about() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let branch = app
        .user_with(
            &admin,
            "w_branch4",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    yaoshi::orglife::reminders::run(&app.state, date!(2026 - 11 - 26))
        .await
        .expect("run");
    let (_, inbox) = app.get(&branch, "/api/v1/notifications").await;
    let items = inbox["items"].as_array().expect("items").clone();
    assert!(!items.is_empty());
    let (_, html) = page(&app, &branch, "/notifications").await;
    for n in &items {
        let id = n["notification_id"].as_i64().expect("id");
        let href = n["href"].as_str().expect("href");
        assert!(href.starts_with('/'), "{n}");
        assert!(
            html.contains(&format!("<a href=\"/notifications/{id}/open\"")),
            "notification {id} is not a link"
        );
        // Following the link marks it read and arrives at the record or list.
        let r = branch
            .get(app.url(&format!("/notifications/{id}/open")))
            .send()
            .await
            .expect("open");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{href}");
        assert_eq!(r.headers()["location"], href);
        let (s, _) = page(&app, &branch, href).await;
        assert_eq!(s, StatusCode::OK, "{href} opens for the one reminded");
    }
    let (_, inbox) = app.get(&branch, "/api/v1/notifications").await;
    assert_eq!(inbox["unread"], 0);
    // Someone else's reminder is not theirs to open.
    let other = items[0]["notification_id"].as_i64().expect("id");
    let (s, _) = page(&app, &admin, &format!("/notifications/{other}/open")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
