//! Access rows of The indicators seam.

use super::{r, Body, Ctx, Route, CUB};

pub(super) fn rows(_: &Ctx) -> Vec<Route> {
    vec![
        r("GET", "/api/v1/indicators", Body::None, CUB),
        r(
            "GET",
            "/api/v1/indicators/orglife.compliance?year=2026",
            Body::None,
            CUB,
        ),
    ]
}
