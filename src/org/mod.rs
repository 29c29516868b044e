//! 组织体系: categories and their requirements, units, the org tree, members,
//! communities, and Excel import/export of the registry.

pub mod categories;
pub mod communities;
pub mod establishment;
pub mod idnumber;
pub mod import;
pub mod members;
pub mod normalize;
pub mod orgs;
pub mod units;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn pages() -> Router<AppState> {
    Router::new()
        .merge(categories::pages())
        .merge(units::pages())
        .merge(orgs::pages())
        .merge(members::pages())
        .merge(import::pages())
        .merge(communities::pages())
        .merge(establishment::pages())
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(categories::api())
        .merge(units::api())
        .merge(orgs::api())
        .merge(members::api())
        .merge(import::api())
        .merge(communities::api())
        .merge(establishment::api())
}

/// Trims a form field; empty becomes None.
pub fn opt(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| normalize::clean_text(v))
        .filter(|v| !v.is_empty())
}

/// Parses an optional date field into 'YYYY-MM-DD', recording a field error.
pub fn opt_date(
    raw: &Option<String>,
    field: &str,
    errors: &mut crate::error::FieldErrors,
) -> Option<String> {
    let v = opt(raw)?;
    match normalize::parse_date(&v) {
        Ok(d) => Some(normalize::format_date(d)),
        Err(e) => {
            errors.insert(field.to_string(), e.to_string());
            None
        }
    }
}
