//! Excel import of members and of units/orgs: every row validated before anything is
//! written, all or nothing, row-level errors in Chinese, and a re-import of the same
//! file changes nothing.

pub mod api;
pub mod pages;
pub mod rules;
pub mod store;

pub use api::api;
pub use pages::pages;
pub use rules::*;
pub use store::*;
