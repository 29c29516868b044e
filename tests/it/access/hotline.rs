//! Access rows of 12345热线: the rates, the orders behind them and their exports (the
//! committee and unit admins, each in scope); the import, its preview and records, sources and
//! unit aliases (the committee). An alias is made and removed by the committee within its own
//! rows, API and page alike.

use serde_json::json;

use super::{r, Body, Ctx, Route, C, CU};

pub(super) fn rows(c: &Ctx) -> Vec<Route> {
    let form = |pairs: &[(&'static str, String)]| Body::Form(pairs.to_vec());
    vec![
        r("GET", "/api/v1/hotline/rates?period=q1", Body::None, CU),
        r(
            "GET",
            format!("/api/v1/hotline/orders?unit_id={}&outcome=late", c.a),
            Body::None,
            CU,
        ),
        r("GET", "/api/v1/hotline/imports", Body::None, C),
        r("POST", "/api/v1/hotline/imports", Body::Xlsx, C),
        r("POST", "/api/v1/hotline/imports/preview", Body::Xlsx, C),
        r("GET", "/api/v1/hotline/sources", Body::None, C),
        r("GET", "/api/v1/hotline/aliases", Body::None, C),
        r(
            "POST",
            "/api/v1/hotline/aliases",
            Body::Json(json!({"alias": "别名@ROLE@", "unit_id": c.a})),
            C,
        ),
        // The committee's own alias of the row above.
        r(
            "DELETE",
            "/api/v1/hotline/aliases/别名Committee",
            Body::None,
            C,
        ),
        // Pages.
        r("GET", "/hotline?year=2026&period=h1", Body::None, CU),
        r("GET", "/hotline/export", Body::None, CU),
        r(
            "GET",
            format!("/hotline/orders?unit_id={}", c.a),
            Body::None,
            CU,
        ),
        r("GET", "/hotline/orders/export", Body::None, CU),
        r("GET", "/hotline/import", Body::None, C),
        r("POST", "/hotline/import", Body::Xlsx, C),
        r("POST", "/hotline/import/preview", Body::Xlsx, C),
        r("GET", "/hotline/import/template", Body::None, C),
        r("GET", "/hotline/import/export", Body::None, C),
        r("GET", "/hotline/aliases", Body::None, C),
        r("GET", "/hotline/aliases/export", Body::None, C),
        r(
            "POST",
            "/hotline/aliases",
            form(&[
                ("alias", "页面别名@ROLE@".into()),
                ("unit_id", c.a.to_string()),
            ]),
            C,
        ),
        r(
            "POST",
            "/hotline/aliases/delete",
            form(&[("alias", "页面别名@ROLE@".into())]),
            C,
        ),
    ]
}
