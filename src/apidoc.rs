//! Helpers for the OpenAPI document: schemas of text fields that take one of a fixed set of
//! values, built by each module from the same lists its validation uses, so the document
//! says what is expected and cannot drift from it (and the API fuzzing in CI reaches past
//! the validation into the handlers). Fields of dates carry `#[schema(format = Date)]`
//! where they are declared.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// A string schema listing `values`.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// The values a schema lists (for tests that hold each list to its parser).
pub fn values(o: Object) -> Vec<String> {
    o.enum_values
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}
