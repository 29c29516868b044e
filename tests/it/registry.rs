use reqwest::StatusCode;
use serde_json::json;

use crate::common::{city, nth_id, TestApp};

#[tokio::test]
async fn categories_are_preloaded_and_editable_by_the_committee() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let (s, cats) = app.get(&c, "/api/v1/categories").await;
    assert_eq!(s, StatusCode::OK);
    let cats = cats.as_array().expect("array");
    assert_eq!(cats.len(), 6);
    assert_eq!(cats[0]["name"], "党政综合类");
    assert_eq!(cats[0]["requirement_title"], "三个强化");
    assert_eq!(cats[5]["requirements"][2], "全面落实党管人才原则");
    let (_, goal) = app.get(&c, "/api/v1/common-goal").await;
    assert_eq!(goal.as_array().expect("goal").len(), 7);
    let (s, id) = app.post(&c, "/api/v1/categories", json!({"name": "驻市单位类", "requirement_title": "三个结合", "requirements": ["结合一", "结合二"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{id}");
    let id = id.as_i64().expect("id");
    let (s, v) = app
        .post(&c, "/api/v1/categories", json!({"name": "驻市单位类"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["name"], "该类别名称或标识已存在");
    let (s, _) = app
        .send(
            &c,
            "PUT",
            &format!("/api/v1/categories/{id}"),
            json!({"name": "驻市单位类", "requirements": ["新要求"], "retired": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, cats) = app.get(&c, "/api/v1/categories").await;
    let mine = cats
        .as_array()
        .expect("a")
        .iter()
        .find(|c| c["category_id"] == id)
        .expect("found")
        .clone();
    assert_eq!(mine["retired"], true);
    assert_eq!(mine["requirements"], json!(["新要求"]));
    let (s, v) = app
        .post(&c, "/api/v1/categories", json!({"name": ""}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["name"]
        .as_str()
        .unwrap_or("")
        .contains("类别名称"));
}

#[tokio::test]
async fn units_and_category_history() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    let (s, v) = app
        .post(
            &c,
            "/api/v1/units",
            json!({"name": "市测试局", "category_id": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["name"], "该机关党组织名称已存在");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/units",
            json!({"name": "新局", "category_id": 9999}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["category_id"], "请选择有效的类别");
    let (s, _) = app
        .post(
            &c,
            &format!("/api/v1/units/{}/category", city.unit_a),
            json!({"category_id": 3, "effective_on": "2026-01-01", "reason": "职能调整"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, u) = app.get(&c, &format!("/api/v1/units/{}", city.unit_a)).await;
    assert_eq!(u["category_id"], 3);
    assert_eq!(u["member_count"], 1);
    assert_eq!(u["branch_count"], 2);
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from unit_category_history where unit_id = {}",
            city.unit_a
        ))
        .await,
        2
    );
    let (s, v) = app
        .post(
            &c,
            &format!("/api/v1/units/{}/category", city.unit_a),
            json!({"category_id": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["category_id"], "新类别与当前类别相同");
    let (_, list) = app.get(&c, "/api/v1/units?q=测试").await;
    assert_eq!(list["total"], 1);
    let (_, list) = app.get(&c, "/api/v1/units?category_id=3").await;
    assert_eq!(list["items"][0]["name"], "市测试局");
}

#[tokio::test]
async fn org_tree_rules() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    // A group cannot sit at the top; a branch cannot sit under a group.
    let (s, v) = app
        .post(
            &c,
            "/api/v1/orgs",
            json!({"unit_id": city.unit_a, "kind": "group", "name": "孤立小组"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["parent_id"],
        "党小组不能设在单位顶层之下"
    );
    let (s, v) = app.post(&c, "/api/v1/orgs", json!({"unit_id": city.unit_a, "kind": "branch", "name": "错挂支部", "parent_id": city.group_a})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The parent must be in the same unit.
    let (s, v) = app.post(&c, "/api/v1/orgs", json!({"unit_id": city.unit_a, "kind": "group", "name": "跨单位小组", "parent_id": city.branch_b})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["parent_id"],
        "上级组织须是本单位的另一个党组织"
    );
    let (s, v) = app.post(&c, "/api/v1/orgs", json!({"unit_id": city.unit_a, "kind": "branch", "name": "日期支部", "term_start": "2024-01-01", "term_end": "2023-01-01", "founded_on": "2099-01-01"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["term_end"],
        "任期届满日期应晚于任期开始日期"
    );
    assert_eq!(v["error"]["fields"]["founded_on"], "成立日期不能晚于今天");
    let (s, v) = app
        .post(
            &c,
            "/api/v1/orgs",
            json!({"unit_id": city.unit_a, "kind": "branch", "name": "办公室党支部"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["name"], "本单位已有同名党组织");
    let (_, tree) = app
        .get(&c, &format!("/api/v1/orgs?unit_id={}", city.unit_a))
        .await;
    assert_eq!(tree["total"], 3);
    let tree = tree["items"].as_array().expect("tree");
    assert_eq!(tree.len(), 3);
    assert_eq!(tree[0]["name"], "办公室党支部");
    assert_eq!(tree[1]["depth"], 1);
    assert_eq!(tree[0]["members"], 1);
    assert_eq!(tree[0]["term_overdue"], true);
    // Deleting a branch with members is refused; an empty one goes.
    let (s, v) = app
        .send(
            &c,
            "DELETE",
            &format!("/api/v1/orgs/{}", city.branch_a),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = app
        .send(
            &c,
            "DELETE",
            &format!("/api/v1/orgs/{}", city.branch_a2),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Officers.
    let (s, _) = app
        .send(
            &c,
            "PUT",
            &format!("/api/v1/orgs/{}/officers", city.branch_a),
            json!([{"member_id": city.member_a, "post": "书记"}]),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .send(
            &c,
            "PUT",
            &format!("/api/v1/orgs/{}/officers", city.branch_a),
            json!([{"member_id": city.member_b, "post": "书记"}]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["officers[0].member_id"],
        "班子成员须是办公室党支部的在册党员"
    );
    let (_, o) = app
        .get(&c, &format!("/api/v1/orgs/{}/officers", city.branch_a))
        .await;
    assert_eq!(o[0]["name"], "张三");
}

#[tokio::test]
async fn members_validate_mask_unmask_and_transfer() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    let bad = json!({"name": "", "id_number": "110105194912310021", "kind": "其他", "branch_id": city.branch_a, "joined_on": "明天", "phone": "123"});
    let (s, v) = app.post(&c, "/api/v1/members", bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let f = &v["error"]["fields"];
    assert_eq!(f["name"], "请填写姓名");
    assert_eq!(f["id_number"], "身份证号校验位不正确");
    assert_eq!(f["kind"], "党员类别应为“正式党员”或“预备党员”");
    assert!(f["joined_on"]
        .as_str()
        .unwrap_or("")
        .contains("无法识别的日期"));
    assert!(f["phone"]
        .as_str()
        .unwrap_or("")
        .contains("手机号格式不正确"));
    // Duplicate ID number, even typed with a lower-case x or full-width digits.
    let (s, v) = app.post(&c, "/api/v1/members", json!({"name": "重复", "id_number": nth_id(1), "kind": "full", "branch_id": city.branch_a})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["id_number"], "该身份证号已登记");
    // Members go into branches only.
    let (s, v) = app.post(&c, "/api/v1/members", json!({"name": "王五", "id_number": nth_id(3), "kind": "probationary", "branch_id": city.group_a})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["branch_id"]
        .as_str()
        .unwrap_or("")
        .contains("党员须编入党支部"));
    let (s, id) = app.post(&c, "/api/v1/members", json!({"name": "<script>alert(1)</script>王五", "id_number": nth_id(3), "kind": "probationary", "branch_id": city.branch_a, "group_id": city.group_a, "is_division_head": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{id}");
    let id = id.as_i64().expect("id");
    let (_, m) = app.get(&c, &format!("/api/v1/members/{id}")).await;
    assert_eq!(
        m["id_number"],
        format!("3201**********{}", &nth_id(3)[14..])
    );
    assert_eq!(m["gender"], "男");
    assert_eq!(m["birth_date"], "1980-03-15");
    assert_eq!(m["group_name"], "第一党小组");
    let before = app
        .sql_scalar("select count(*) from audit_log where action = 'member.unmask'")
        .await;
    let (_, m) = app
        .get(&c, &format!("/api/v1/members/{id}?unmask=true"))
        .await;
    assert_eq!(m["id_number"], nth_id(3));
    assert_eq!(
        app.sql_scalar("select count(*) from audit_log where action = 'member.unmask'")
            .await,
        before + 1
    );
    // The audit log keeps personal data masked as well.
    assert_eq!(
        app.sql_scalar(&format!(
            "select count(*) from audit_log where after_json like '%{}%'",
            nth_id(3)
        ))
        .await,
        0
    );
    // Search by name, initials, ID suffix.
    let (_, l) = app.get(&c, "/api/v1/members?q=张").await;
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["name"], "张三");
    assert_eq!(
        l["items"][0]["branch_name"].as_str().map(str::is_empty),
        Some(false)
    );
    // A part of a name in the middle; wildcards typed by a user are plain characters.
    let (_, l) = app.get(&c, "/api/v1/members?q=三").await;
    assert_eq!(l["total"], 1);
    for wild in ["%25", "_", "张%25"] {
        let (_, l) = app.get(&c, &format!("/api/v1/members?q={wild}")).await;
        assert_eq!(l["total"], 0, "q={wild}");
    }
    let (_, l) = app.get(&c, "/api/v1/members?q=zs").await;
    assert_eq!(l["items"][0]["name"], "张三");
    let suffix = &nth_id(2)[14..];
    let (_, l) = app.get(&c, &format!("/api/v1/members?q={suffix}")).await;
    assert_eq!(l["items"][0]["name"], "李四");
    let (_, l) = app
        .get(&c, "/api/v1/members?kind=probationary&division_head=1")
        .await;
    assert_eq!(l["total"], 1);
    let (_, l) = app
        .get(
            &c,
            &format!("/api/v1/members?org_id={}&per_page=1&page=2", city.branch_a),
        )
        .await;
    assert_eq!(l["total"], 2);
    assert_eq!(l["items"].as_array().map(Vec::len), Some(1));
    // Past the last page: no rows, the total still right.
    let (_, l) = app
        .get(
            &c,
            &format!("/api/v1/members?org_id={}&per_page=1&page=9", city.branch_a),
        )
        .await;
    assert_eq!(l["total"], 2);
    assert_eq!(l["items"].as_array().map(Vec::len), Some(0));
    // Transfer keeps history and moves the unit.
    let (s, v) = app
        .post(
            &c,
            &format!("/api/v1/members/{id}/transfer"),
            json!({"to_branch_id": city.branch_a}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["to_branch_id"],
        "转入党支部与当前所在党支部相同"
    );
    let (s, _) = app
        .post(
            &c,
            &format!("/api/v1/members/{id}/transfer"),
            json!({"to_branch_id": city.branch_b, "reason": "工作调动"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, m) = app.get(&c, &format!("/api/v1/members/{id}")).await;
    assert_eq!(m["unit_id"], city.unit_b);
    assert!(m["group_id"].is_null());
    let (_, t) = app
        .get(&c, &format!("/api/v1/members/{id}/transfers"))
        .await;
    assert_eq!(t[0]["to_branch"], "机关党支部");
    // Updating a member keeps the branch (transfers are separate).
    let mut upd = json!({"name": "王五", "id_number": nth_id(3), "kind": "full", "joined_on": "2010-01-01", "converted_on": "2011-01-01", "branch_id": city.branch_b});
    let (s, v) = app
        .send(&c, "PUT", &format!("/api/v1/members/{id}"), upd.clone())
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    upd["branch_id"] = json!(city.branch_a);
    let (s, v) = app
        .send(&c, "PUT", &format!("/api/v1/members/{id}"), upd)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["error"]["fields"]["branch_id"],
        "调整所在党支部请使用“组织关系转接”"
    );
}

#[tokio::test]
async fn scope_is_enforced_in_queries() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = city(&app, &admin).await;
    let unit = app
        .user_with(
            &admin,
            "unit_a",
            json!({"role": "unit", "unit_id": city.unit_a}),
        )
        .await;
    let (_, l) = app.get(&unit, "/api/v1/members").await;
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["name"], "张三");
    let (_, l) = app
        .get(&unit, &format!("/api/v1/members?unit_id={}", city.unit_b))
        .await;
    assert_eq!(l["total"], 0);
    let (s, _) = app
        .get(&unit, &format!("/api/v1/members/{}", city.member_b))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(&unit, &format!("/api/v1/units/{}", city.unit_b))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .get(&unit, &format!("/api/v1/orgs/{}", city.branch_b))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.post(&unit, "/api/v1/members", json!({"name": "越权", "id_number": nth_id(9), "kind": "full", "branch_id": city.branch_b})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            &unit,
            &format!("/api/v1/members/{}/transfer", city.member_a),
            json!({"to_branch_id": city.branch_b}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            &unit,
            "/api/v1/orgs",
            json!({"unit_id": city.unit_b, "kind": "branch", "name": "越权支部"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A member sees only themself; a branch admin only their branch.
    let member = app
        .user_with(
            &admin,
            "member_a",
            json!({"role": "member", "member_id": city.member_a}),
        )
        .await;
    let (s, m) = app
        .get(&member, &format!("/api/v1/members/{}", city.member_a))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(m["id_number"].as_str().unwrap_or("").contains('*'));
    let (s, _) = app
        .get(
            &member,
            &format!("/api/v1/members/{}?unmask=true", city.member_a),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let branch = app
        .user_with(
            &admin,
            "branch_a",
            json!({"role": "branch", "org_id": city.branch_a}),
        )
        .await;
    let (_, l) = app.get(&branch, "/api/v1/members").await;
    assert_eq!(l["total"], 1);
    let (s, _) = app
        .get(&branch, &format!("/api/v1/members/{}", city.member_b))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A day the calendar lacks is named as such through the API and the page, not reported as
/// an unreadable format (before: "无法识别的日期“1990-02-30”").
#[tokio::test]
async fn a_missing_calendar_day_is_named() {
    let app = TestApp::spawn().await;
    let c = app.admin().await;
    let city = city(&app, &c).await;
    let body = json!({"name": "张三", "id_number": crate::common::nth_id(7), "kind": "full", "branch_id": city.branch_a, "joined_on": "1990-02-30"});
    let (s, v) = app.post(&c, "/api/v1/members", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["fields"]["joined_on"],
        "日期“1990-02-30”不存在：1990年2月没有30日，请核对"
    );
}
