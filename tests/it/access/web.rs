//! Access rows of The home page.

use super::{r, Body, Ctx, Route, ALL};

pub(super) fn rows(_: &Ctx) -> Vec<Route> {
    vec![
        // Pages
        r("GET", "/", Body::None, ALL),
    ]
}
