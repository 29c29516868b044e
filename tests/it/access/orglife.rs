//! Access rows of 组织生活: records and their review, the register, grid, compliance, rules, attachments.

use super::{meeting_form, r, Body, Ctx, Route, C, CU, CUB, M, UB};
use serde_json::json;

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let &Ctx {
        ba,
        mt,
        sub,
        acc,
        ret,
        del,
        ..
    } = c;
    let meeting = &c.meeting;
    vec![
        r("GET", "/api/v1/meetings", Body::None, CUB),
        r("POST", "/api/v1/meetings", Body::Json(meeting.clone()), UB),
        r("GET", "/api/v1/meetings/export", Body::None, CUB),
        r("GET", format!("/api/v1/meetings/{mt}"), Body::None, CUB),
        r(
            "PUT",
            format!("/api/v1/meetings/{mt}"),
            Body::Json(meeting.clone()),
            UB,
        ),
        r("DELETE", format!("/api/v1/meetings/{del}"), Body::None, UB),
        r(
            "POST",
            format!("/api/v1/meetings/{sub}/submit"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/api/v1/meetings/{acc}/accept"),
            Body::Json(json!({})),
            CU,
        ),
        r(
            "POST",
            format!("/api/v1/meetings/{ret}/return"),
            Body::Json(json!({"comment": "请补充"})),
            CU,
        ),
        r(
            "GET",
            format!("/api/v1/orglife/register?branch_id={ba}&held_on=2026-03-10"),
            Body::None,
            CUB,
        ),
        r(
            "GET",
            format!("/api/v1/orglife/calendar?branch_id={ba}&year=2026"),
            Body::None,
            CUB,
        ),
        r("GET", "/api/v1/orglife/compliance", Body::None, CUB),
        r("GET", "/api/v1/orglife/compliance/export", Body::None, CUB),
        r("GET", "/api/v1/meeting-rules", Body::None, CUB),
        r(
            "PUT",
            "/api/v1/meeting-rules",
            Body::Json(
                json!({"kind": "party_lecture", "from_year": 2030, "period": "quarter", "times": 1, "quorum": "none"}),
            ),
            C,
        ),
        r("GET", "/api/v1/me/meetings", Body::None, M),
        r(
            "GET",
            format!("/api/v1/meetings/{mt}/attachments"),
            Body::None,
            CUB,
        ),
        r(
            "POST",
            format!("/api/v1/meetings/{mt}/attachments"),
            Body::Xlsx,
            UB,
        ),
        r("GET", "/orglife/meetings", Body::None, CUB),
        r("POST", "/orglife/meetings", meeting_form(ba), UB),
        r("GET", "/orglife/meetings/export", Body::None, CUB),
        r(
            "GET",
            format!("/orglife/meetings/new?branch_id={ba}"),
            Body::None,
            UB,
        ),
        r(
            "GET",
            format!("/orglife/register?branch_id={ba}&held_on=2026-03-10&kind=theme_day"),
            Body::None,
            UB,
        ),
        r("GET", format!("/orglife/meetings/{mt}"), Body::None, CUB),
        r(
            "GET",
            format!("/orglife/meetings/{mt}/edit"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{mt}"),
            meeting_form(ba),
            UB,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{sub}/submit"),
            Body::None,
            UB,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{acc}/accept"),
            Body::Form(vec![]),
            CU,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{ret}/return"),
            Body::Form(vec![("comment", "请补充".into())]),
            CU,
        ),
        r(
            "POST",
            format!("/orglife/meetings/{del}/delete"),
            Body::None,
            UB,
        ),
        r("GET", "/orglife/calendar", Body::None, CUB),
        r(
            "GET",
            format!("/orglife/calendar?branch_id={ba}&year=2026"),
            Body::None,
            CUB,
        ),
        r("GET", "/orglife/compliance", Body::None, CUB),
        r("GET", "/orglife/compliance/export", Body::None, CUB),
        r("GET", "/orglife/rules", Body::None, CUB),
        r(
            "POST",
            "/orglife/rules",
            Body::Form(vec![
                ("kind", "party_lecture".into()),
                ("from_year", "2030".into()),
                ("period", "quarter".into()),
                ("times", "1".into()),
                ("quorum", "none".into()),
            ]),
            C,
        ),
        r("GET", "/orglife/mine", Body::None, M),
        r(
            "POST",
            format!("/orglife/meetings/{mt}/attachments"),
            Body::Xlsx,
            UB,
        ),
    ]
}
