//! The org tree under a unit: 党委 (committee_org) / 党总支 (general_branch) /
//! 党支部 (branch) / 党小组 (group), with founding date, term and officers.

pub mod api;
pub mod pages;
pub mod rules;
pub mod store;

pub use api::api;
pub use pages::pages;
pub use rules::*;
pub use store::*;
