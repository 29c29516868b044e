//! Fixed-choice values: an enum whose variants each have the key the database and the API
//! use, the glossary's Chinese label, and the other spellings a form or a spreadsheet may
//! use for it. `choice!` writes the enum, its serde names and its OpenAPI schema (utoipa
//! lists the same keys), so the stored values, the document and the parser are one list.
//!
//! ```ignore
//! choice! {
//!     /// 党员类别.
//!     pub enum MemberKind {
//!         Full = "full", "正式党员", ["正式"];
//!         Probationary = "probationary", "预备党员", ["预备"];
//!     }
//! }
//! ```

/// Declares a fixed-choice enum (see the module documentation).
#[macro_export]
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $key:literal, $label:literal, [$($alias:literal),* $(,)?] );+ $(;)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $key)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            /// The key stored in the database and used by the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $key,)+ }
            }

            /// The glossary's Chinese term.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label,)+ }
            }

            /// By key only (a stored value).
            pub fn from_key(key: &str) -> Option<Self> {
                match key { $($key => Some(Self::$variant),)+ _ => None }
            }

            /// By key, label or any accepted spelling, ignoring surrounding spaces (a form
            /// field or a spreadsheet cell).
            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() {
                    $($key | $label $(| $alias)* => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The label of a stored key; "未知" for a key that is none of them.
            pub fn label_of(key: &str) -> &'static str {
                Self::from_key(key).map_or("未知", Self::label)
            }

            /// Every key, in declaration order.
            pub fn keys() -> impl Iterator<Item = &'static str> {
                Self::ALL.iter().map(|v| v.as_str())
            }

            /// `(key, label)` of every value, for a form's choices.
            pub fn options() -> Vec<(&'static str, &'static str)> {
                Self::ALL.iter().map(|v| (v.as_str(), v.label())).collect()
            }
        }

        /// The OpenAPI schema: a string, one of the keys. (Written out rather than derived:
        /// the derive does not read a `serde(rename)` that a macro passes on.)
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($key),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        /// A stored key read from a row (`#[sqlx(try_from = "String")]`).
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(key: String) -> Result<Self, String> {
                Self::from_key(&key).ok_or_else(|| {
                    format!("{} is not a {}", key, stringify!($name))
                })
            }
        }

        /// Templates compare a value with a key (`{% if m.kind == "full" %}`).
        impl PartialEq<&str> for $name {
            fn eq(&self, key: &&str) -> bool {
                self.as_str() == *key
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::choice! {
        /// A test choice.
        pub enum Colour {
            Red = "red", "红色", ["红"];
            Blue = "blue", "蓝色", [];
        }
    }

    #[test]
    fn keys_labels_and_aliases_round_trip() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::Blue]);
        for c in Colour::ALL {
            assert_eq!(Colour::from_key(c.as_str()), Some(c));
            assert_eq!(Colour::parse(c.label()), Some(c));
            assert_eq!(Colour::parse(&format!(" {} ", c.as_str())), Some(c));
        }
        assert_eq!(Colour::parse("红"), Some(Colour::Red));
        assert_eq!(Colour::parse("绿"), None);
        assert_eq!(Colour::from_key("红色"), None);
        assert_eq!(Colour::label_of("green"), "未知");
        assert_eq!(
            serde_json::to_string(&Colour::Blue).expect("json"),
            "\"blue\""
        );
        assert_eq!(Colour::keys().collect::<Vec<_>>(), ["red", "blue"]);
        assert_eq!(Colour::options(), [("red", "红色"), ("blue", "蓝色")]);
        assert_eq!(Colour::try_from("blue".to_string()), Ok(Colour::Blue));
        assert!(Colour::try_from("蓝色".to_string()).is_err());
        assert!(Colour::Red == "red" && Colour::Red != "blue");
    }

    #[test]
    fn the_openapi_schema_lists_the_keys() {
        use utoipa::PartialSchema;
        let json = serde_json::to_value(Colour::schema()).expect("json");
        assert_eq!(json["enum"], serde_json::json!(["red", "blue"]));
    }
}
