//! What a feature contributes, declared once in its `mod.rs` as a `FEATURE` constant and
//! listed in `app::FEATURES`: its routes, its menu entries, the labels of its audit
//! actions, its daily work and its home cards. `install` hands each part to the base
//! module that uses it, so no base module names a feature.

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::indicators::Indicator;
use crate::jobs::{Job, Step};
use crate::state::AppState;
use crate::web::home::CardsFn;
use crate::web::NavEntry;

pub struct Feature {
    pub name: &'static str,
    pub pages: fn() -> Router<AppState>,
    pub api: fn() -> OpenApiRouter<AppState>,
    pub nav: &'static [NavEntry],
    pub audit_labels: &'static [(&'static str, &'static str)],
    /// Steps of the daily pass, run in the order of `app::FEATURES`.
    pub daily: &'static [Step],
    /// Jobs with a time of day of their own.
    pub jobs: &'static [Job],
    pub home: Option<CardsFn>,
    /// Figures the feature publishes for grading, competitions and dashboards.
    pub indicators: &'static [Indicator],
    /// What its organisers sign people in to by QR code (扫码签到).
    pub checkin: &'static [crate::checkin::Kind],
}

impl Feature {
    /// A feature with routes only; the rest added with struct update syntax.
    pub const fn new(
        name: &'static str,
        pages: fn() -> Router<AppState>,
        api: fn() -> OpenApiRouter<AppState>,
    ) -> Feature {
        Feature {
            name,
            pages,
            api,
            nav: &[],
            audit_labels: &[],
            daily: &[],
            jobs: &[],
            home: None,
            indicators: &[],
            checkin: &[],
        }
    }
}

/// The labels of actions that base modules record themselves.
const BASE_AUDIT_LABELS: &[&[(&str, &str)]] = &[
    crate::audit::AUDIT_LABELS,
    crate::auth::AUDIT_LABELS,
    crate::checkin::AUDIT_LABELS,
];

/// Hands every feature's parts to the modules that use them. The same list for every app of
/// the process, so the first call sets them and later calls change nothing.
pub fn install(features: &'static [Feature]) {
    crate::web::install_nav(features.iter().flat_map(|f| f.nav.iter()).collect());
    crate::web::home::install_cards(features.iter().filter_map(|f| f.home).collect());
    let mut labels: Vec<&'static [(&'static str, &'static str)]> = BASE_AUDIT_LABELS.to_vec();
    labels.extend(features.iter().map(|f| f.audit_labels));
    crate::audit::install_labels(&labels);
    crate::indicators::install(features.iter().flat_map(|f| f.indicators.iter()).collect());
    crate::checkin::install(features.iter().flat_map(|f| f.checkin.iter()).collect());
    crate::jobs::install(crate::jobs::Jobs {
        steps: features.iter().flat_map(|f| f.daily.iter()).collect(),
        jobs: features.iter().flat_map(|f| f.jobs.iter()).collect(),
    });
}
