//! Access rows of 组织体系: categories, units, the tree, members, import, communities, 三个百分百.

use crate::common::nth_id;
use serde_json::json;

use super::{r, Body, Ctx, Route, C, CU, CUB, CUBM, R::*};

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let &Ctx {
        a,
        ba,
        ba2,
        ma,
        member_t,
        community,
        ..
    } = c;
    let member_body = c.member_body.clone();
    vec![
        r("GET", "/api/v1/categories", Body::None, CU),
        r(
            "POST",
            "/api/v1/categories",
            Body::Json(json!({"name": "类别@ROLE@"})),
            C,
        ),
        r(
            "PUT",
            "/api/v1/categories/6",
            Body::Json(
                json!({"name": "国有企业类", "requirement_title": "三个全面", "requirements": ["甲"]}),
            ),
            C,
        ),
        r("GET", "/api/v1/common-goal", Body::None, CU),
        r("GET", "/api/v1/units", Body::None, CU),
        r(
            "POST",
            "/api/v1/units",
            Body::Json(json!({"name": "局@ROLE@", "category_id": 1})),
            C,
        ),
        r("GET", format!("/api/v1/units/{a}"), Body::None, CU),
        r(
            "PUT",
            format!("/api/v1/units/{a}"),
            Body::Json(json!({"name": "市测试局", "category_id": 1})),
            C,
        ),
        r(
            "POST",
            format!("/api/v1/units/{a}/category"),
            Body::Json(json!({"category_id": 2})),
            C,
        ),
        r("GET", "/api/v1/orgs", Body::None, CUB),
        r(
            "POST",
            "/api/v1/orgs",
            Body::Json(json!({"unit_id": a, "kind": "branch", "name": "支部@ROLE@"})),
            CU,
        ),
        r("GET", format!("/api/v1/orgs/{ba}"), Body::None, CUB),
        r(
            "PUT",
            format!("/api/v1/orgs/{ba2}"),
            Body::Json(json!({"unit_id": a, "kind": "branch", "name": "业务处党支部"})),
            CU,
        ),
        r(
            "GET",
            format!("/api/v1/orgs/{ba}/officers"),
            Body::None,
            CUB,
        ),
        r(
            "PUT",
            format!("/api/v1/orgs/{ba}/officers"),
            Body::Json(json!([])),
            CU,
        ),
        r("GET", "/api/v1/members", Body::None, CUB),
        r("POST", "/api/v1/members", Body::Json(member_body), CU),
        r("GET", format!("/api/v1/members/{ma}"), Body::None, CUBM),
        r(
            "PUT",
            format!("/api/v1/members/{ma}"),
            Body::Json(
                json!({"name": "张三", "id_number": nth_id(1), "kind": "full", "joined_on": "2010-07-01", "converted_on": "2011-07-01", "branch_id": ba, "phone": "13800138000"}),
            ),
            CU,
        ),
        r(
            "GET",
            format!("/api/v1/members/{ma}/transfers"),
            Body::None,
            CUBM,
        ),
        r(
            "POST",
            format!("/api/v1/members/{member_t}/transfer"),
            Body::Json(json!({"to_branch_id": ba2})),
            CU,
        ),
        r("POST", "/api/v1/import/members", Body::Xlsx, CU),
        r("GET", "/api/v1/members/export", Body::None, CUB),
        r("GET", "/api/v1/import/template/members", Body::None, CU),
        r("POST", "/api/v1/import/orgs", Body::Xlsx, CU),
        r("GET", "/api/v1/communities", Body::None, C),
        r(
            "GET",
            format!("/api/v1/communities/{community}"),
            Body::None,
            C,
        ),
        r(
            "PUT",
            format!("/api/v1/communities/{community}"),
            Body::Json(json!({"name": "梅园社区", "address": "梅园路1号"})),
            C,
        ),
        // Deleting a community granted to an account is refused (409) for the committee.
        r(
            "DELETE",
            format!("/api/v1/communities/{community}"),
            Body::None,
            C,
        ),
        r(
            "POST",
            "/api/v1/communities",
            Body::Json(json!({"name": "社区@ROLE@"})),
            C,
        ),
        // Deleting a branch with members is refused (409) for those who may delete.
        r("DELETE", format!("/api/v1/orgs/{ba}"), Body::None, CU),
        r("GET", "/api/v1/establishment", Body::None, CU),
        r("GET", format!("/api/v1/orgs/{ba}/terms"), Body::None, CUB),
        r(
            "POST",
            format!("/api/v1/orgs/{ba2}/extension"),
            Body::Json(json!({"until": "2026-06-01", "document": "工委〔2026〕1号"})),
            CU,
        ),
        r(
            "POST",
            format!("/api/v1/orgs/{ba2}/elections"),
            Body::Json(json!({"elected_on": "2026-01-05", "officers": []})),
            CU,
        ),
        r("GET", "/me", Body::None, &[Member]),
        r("GET", "/org/categories", Body::None, CU),
        r(
            "POST",
            "/org/categories",
            Body::Form(vec![("name", "页面类别@ROLE@".into())]),
            C,
        ),
        r("GET", "/org/units", Body::None, CU),
        r("GET", "/org/units/export", Body::None, CU),
        r("GET", "/org/units/new", Body::None, C),
        r(
            "POST",
            "/org/units",
            Body::Form(vec![
                ("name", "页面局@ROLE@".into()),
                ("category_id", "1".into()),
            ]),
            C,
        ),
        r("GET", format!("/org/units/{a}"), Body::None, CU),
        r("GET", "/org/tree", Body::None, CUB),
        r("GET", "/org/tree/export", Body::None, CUB),
        r("GET", format!("/org/orgs/new?unit_id={a}"), Body::None, CU),
        r(
            "POST",
            "/org/orgs",
            Body::Form(vec![
                ("unit_id", a.to_string()),
                ("kind", "branch".into()),
                ("name", "页面支部@ROLE@".into()),
            ]),
            CU,
        ),
        r("GET", format!("/org/orgs/{ba}"), Body::None, CUB),
        r("GET", "/org/members", Body::None, CUB),
        r("GET", "/org/members/export", Body::None, CUB),
        r("GET", "/org/members/new", Body::None, CU),
        r("GET", format!("/org/members/{ma}"), Body::None, CUBM),
        r("POST", format!("/org/members/{ma}/unmask"), Body::None, CU),
        r("GET", "/org/import", Body::None, CU),
        r("GET", "/org/import/template/members", Body::None, CU),
        r("GET", "/org/communities", Body::None, C),
        r("GET", "/org/communities/export", Body::None, C),
        r(
            "GET",
            format!("/org/communities/{community}"),
            Body::None,
            C,
        ),
        r(
            "GET",
            format!("/org/communities/{community}/delete"),
            Body::None,
            C,
        ),
        r(
            "GET",
            format!("/org/members/branch-options?unit_id={a}"),
            Body::None,
            CU,
        ),
        r("GET", "/org/establishment", Body::None, CU),
        r("GET", "/org/establishment/export", Body::None, CU),
        r("GET", format!("/org/orgs/{ba2}/election"), Body::None, CU),
        r(
            "POST",
            format!("/org/orgs/{ba2}/election"),
            Body::Form(vec![("elected_on", "2026-01-06".into())]),
            CU,
        ),
        r(
            "POST",
            format!("/org/orgs/{ba2}/extension"),
            Body::Form(vec![
                ("until", "2026-06-01".into()),
                ("document", "工委〔2026〕2号".into()),
            ]),
            CU,
        ),
    ]
}
