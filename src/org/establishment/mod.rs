//! 应建尽建、应调尽调、应换尽换: the establishment findings computed from the registry,
//! the three rates per category and for the city, elections and term extensions.
//!
//! Sources (RULES.md): 《中国共产党支部工作条例（试行）》第四条、第六章; 中共中央办公厅
//! 《关于党的基层组织任期的意见》(2018). 以上 includes the number: "3名以上" is `>= 3`.

pub mod api;
pub mod pages;
pub mod rules;
pub mod store;

pub use api::api;
pub use pages::pages;
pub use rules::*;
pub use store::*;
