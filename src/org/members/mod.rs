//! Members (党员): the register, one branch at a time with transfer history;
//! ID numbers and phones masked unless a registry admin asks, which is audited.
//!
//! ID numbers and phones are stored encrypted (`crate::crypto`): every row read here is
//! opened (`Member::opened`) right after the query — only the rows of the page asked for;
//! the list page, which shows no phone, decrypts only the ID numbers — and every write
//! seals them with `KeyRing::seal_member`. The full ID number is found by its
//! blind index `id_hash`, the last four by the keyed `id_suffix`.

pub mod api;
pub mod filter;
pub mod pages;
pub mod rules;
pub mod store;

pub use api::api;
pub use pages::pages;
pub use rules::*;
pub use store::*;
