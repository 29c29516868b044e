use reqwest::StatusCode;
use serde_json::json;

use crate::common::enrol_through_pages;
use crate::common::{city, column, xlsx_range, TestApp, ADMIN_PASSWORD, PASSWORD};

#[tokio::test]
async fn login_through_the_page_and_forced_change() {
    let app = TestApp::spawn().await;
    let c = TestApp::client();
    let r = c
        .get(app.url("/org/members?q=张"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Forg%2Fmembers%3Fq%3D%25E5%25BC%25A0"
    );
    let html = c
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("text");
    assert!(html.contains("用户名") && html.contains("密码"));
    let r = c
        .post(app.url("/login"))
        .form(&[("username", "admin"), ("password", "bad"), ("next", "/")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.expect("text").contains("用户名或密码错误"));
    // An off-site next is ignored, however it is spelled (browsers drop tabs and newlines
    // from a URL and read a backslash as a slash).
    for next in [
        "//evil.example/",
        "/\t/evil.example",
        "/\\evil.example",
        "/\n/x",
    ] {
        let r = c
            .post(app.url("/login"))
            .form(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers()["location"], "/", "{next:?}");
    }
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("text");
    // The committee admin must first set up the second factor.
    assert!(home.is_empty(), "home before enrolment: {home}");
    let r = c.get(app.url("/")).send().await.expect("home");
    assert_eq!(r.headers()["location"], "/account/totp");
    let (secret, _) = enrol_through_pages(&app, &c, ADMIN_PASSWORD).await;
    app.remember_totp("admin", &secret);
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("text");
    assert!(home.contains("各类别机关党组织") && home.contains("党政综合类"));
    // Three admins are not all in place yet: the system admin is told so.
    assert!(home.contains("three-admins-missing"), "{home}");

    let admin = app.admin().await;
    let (_, v) = app
        .post(
            &admin,
            "/api/v1/users",
            json!({"username": "zhao", "display_name": "赵", "grant": {"role": "committee"}}),
        )
        .await;
    let otp = v["password"].as_str().expect("otp");
    let u = TestApp::client();
    let r = u
        .post(app.url("/login"))
        .form(&[("username", "zhao"), ("password", otp)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.headers()["location"], "/password");
    let r = u.get(app.url("/org/units")).send().await.expect("units");
    assert_eq!(r.headers()["location"], "/password");
    let r = u
        .post(app.url("/password"))
        .form(&[
            ("current", otp),
            ("new_password", PASSWORD),
            ("confirm", "different"),
        ])
        .send()
        .await
        .expect("pw");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .expect("t")
        .contains("两次输入的新密码不一致"));
    let r = u
        .post(app.url("/password"))
        .form(&[
            ("current", otp),
            ("new_password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .expect("pw");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = u.get(app.url("/org/units")).send().await.expect("units");
    assert_eq!(r.headers()["location"], "/account/totp");
    let (secret, recovery) = enrol_through_pages(&app, &u, PASSWORD).await;
    let r = u.get(app.url("/org/units")).send().await.expect("units");
    assert_eq!(r.status(), StatusCode::OK);

    // Next login: the password, then the code on a second step.
    let u = TestApp::client();
    let r = u
        .post(app.url("/login"))
        .form(&[
            ("username", "zhao"),
            ("password", PASSWORD),
            ("next", "/org/units"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .starts_with("yaoshi_mfa="));
    let html = r.text().await.expect("text");
    assert!(html.contains("双因素认证") && html.contains("/login/totp"));
    // Not logged in yet.
    let r = u.get(app.url("/org/units")).send().await.expect("units");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"]
        .to_str()
        .expect("loc")
        .starts_with("/login"));
    let r = u
        .post(app.url("/login/totp"))
        .form(&[("code", "123456"), ("next", "/org/units")])
        .send()
        .await
        .expect("totp");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.expect("t").contains("动态验证码错误"));
    // The code just used at enrolment is spent; a recovery code works once.
    let r = u
        .post(app.url("/login/totp"))
        .form(&[("code", recovery[0].as_str()), ("next", "/org/units")])
        .send()
        .await
        .expect("totp");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    let _ = secret;
    let r = u.get(app.url("/org/units")).send().await.expect("units");
    assert_eq!(r.status(), StatusCode::OK);
    // Without a pending password step, /login/totp only sends back to the login page.
    let r = TestApp::client()
        .post(app.url("/login/totp"))
        .form(&[("code", recovery[1].as_str())])
        .send()
        .await
        .expect("totp");
    assert_eq!(r.headers()["location"], "/login");
}

#[tokio::test]
async fn registry_pages_render_escape_and_export() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    app.post(&c, "/api/v1/communities", json!({"name": "<b>社区</b>"}))
        .await;
    for path in [
        "/".to_string(),
        "/org/categories".into(),
        "/org/units".into(),
        "/org/units/new".into(),
        format!("/org/units/{}", city.unit_a),
        format!("/org/tree?unit_id={}", city.unit_a),
        format!("/org/orgs/{}", city.branch_a),
        format!(
            "/org/orgs/new?unit_id={}&parent_id={}",
            city.unit_a, city.branch_a
        ),
        "/org/members".into(),
        "/org/members?q=zs&kind=full&sort=name".into(),
        "/org/members/new".into(),
        format!("/org/members/{}", city.member_a),
        "/org/import".into(),
        "/org/communities".into(),
        "/system/users".into(),
        "/account/tokens".into(),
    ] {
        let r = c.get(app.url(&path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.expect("text");
        assert!(html.contains("</html>"), "{path}");
        assert!(!html.contains("<b>社区</b>"), "{path} must escape");
    }
    let html = c
        .get(app.url("/org/communities"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(html.contains("&#60;b&#62;社区&#60;/b&#62;"), "escaped");
    // Granting a role: the scope box lists objects by name, with their ids as values.
    for (query, want, not) in [
        (
            "role=branch&scope_id=办公室".to_string(),
            format!(
                "<option value=\"{}\">市测试局 · 办公室党支部</option>",
                city.branch_a
            ),
            "机关党支部",
        ),
        (
            "role=member&scope_id=张".to_string(),
            format!(
                "<option value=\"{}\">张三 · 市测试局 办公室党支部</option>",
                city.member_a
            ),
            "李四",
        ),
        (
            format!("role=unit&scope_id={}", city.unit_b),
            format!("<option value=\"{}\">市对照局</option>", city.unit_b),
            "市测试局",
        ),
        (
            "role=community&scope_id=".to_string(),
            format!("<option value=\"{}\">", city.community),
            "<html",
        ),
        (
            "role=committee&scope_id=x".to_string(),
            String::new(),
            "<option",
        ),
    ] {
        let html = c
            .get(app.url(&format!("/system/scope-options?{query}")))
            .header("hx-request", "true")
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("t");
        assert!(html.contains(&want), "{query}: {html}");
        assert!(!html.contains(not), "{query}: {html}");
    }
    // The member list masks ID numbers; an htmx request gets only the table.
    let html = c
        .get(app.url("/org/members?q=张"))
        .header("hx-request", "true")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("t");
    assert!(!html.contains("<html") && html.contains("张三") && html.contains("3201**********"));
    // Exports are real xlsx files, masked by default.
    let bytes = c
        .get(app.url("/org/members/export"))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let rows = yaoshi::xlsx::read_first_sheet(&bytes).expect("xlsx");
    assert_eq!(rows[0][0], "姓名");
    assert_eq!(rows.len(), 3);
    assert!(rows[1][4].contains('*'));
    // Typed cells: dates sort as dates and the number as a number in Excel; ID numbers
    // and phones stay text.
    let range = xlsx_range(&bytes);
    let first = range.rows().nth(1).expect("a member");
    assert!(
        matches!(
            first[column(&range, "入党日期")],
            calamine::Data::DateTime(_)
        ),
        "{first:?}"
    );
    assert!(matches!(
        first[column(&range, "编号")],
        calamine::Data::Float(_)
    ));
    assert!(matches!(
        first[column(&range, "身份证号")],
        calamine::Data::String(_)
    ));
    assert!(matches!(
        first[column(&range, "手机号")],
        calamine::Data::String(_)
    ));
    // The unit list's counts are numbers.
    let bytes = c
        .get(app.url("/org/units/export"))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let range = xlsx_range(&bytes);
    let first = range.rows().nth(1).expect("a unit");
    assert!(
        matches!(
            first[column(&range, "在册党员数")],
            calamine::Data::Float(_)
        ),
        "{first:?}"
    );
    let bytes = c
        .get(app.url("/org/members/export?unmasked=1"))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes");
    let rows = yaoshi::xlsx::read_first_sheet(&bytes).expect("xlsx");
    assert!(!rows[1][4].contains('*'));
    assert!(app.sql_scalar("select count(*) from audit_log where action = 'member.export' and summary like '%含完整%'").await >= 1);
    // Form errors come back in Chinese on the same page.
    let r = c
        .post(app.url("/org/members"))
        .form(&[
            ("name", ""),
            ("id_number", "123"),
            ("kind", "full"),
            ("branch_id", &city.branch_a.to_string()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("t");
    assert!(html.contains("身份证号应为18位") && html.contains("请填写姓名"));
    // A community account's home shows its community.
    let community = app
        .user_with(
            &c,
            "shequ",
            json!({"role": "community", "community_id": city.community}),
        )
        .await;
    let home = community
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("t");
    assert!(home.contains("我的社区：梅园社区"), "community home");
    let r = c
        .get(app.url("/org/members/999999"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.expect("t").contains("找不到该记录"));
}
