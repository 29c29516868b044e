//! 组织生活's data layer, one file per sub-entity; this module names them all so handlers
//! reach the store through one path (`store::list`, `store::compliance`).

pub use super::grid::*;
pub use super::meeting_rules::*;
pub use super::meetings::*;
pub use super::mine::*;
pub use super::register::*;
pub use super::review::*;
pub use super::stats::*;
pub use super::{may_read, may_review, may_write};
