//! Strategies for property tests of the request parsers: JSON bodies and
//! query strings that are almost what a route expects (its own field names,
//! wrong types, hostile strings), which reach deeper than random bytes.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Field names the REST parsers look for, and a few they do not.
const KEYS: &[&str] = &[
    "auth",
    "identity",
    "methods",
    "password",
    "user",
    "name",
    "domain",
    "id",
    "scope",
    "project",
    "system",
    "all",
    "token",
    "application_credential",
    "secret",
    "op",
    "path",
    "value",
    "add",
    "replace",
    "remove",
    "move",
    "from",
    "tags",
    "visibility",
    "status",
    "protected",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "os_hidden",
    "expires_at",
    "roles",
    "x",
    "",
];

/// Strings a client might send: ids, paths, numbers as text, control
/// characters, long runs, non-ASCII.
pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYS).prop_map(str::to_string),
        prop::sample::select(
            &[
                "/name",
                "/tags/0",
                "/tags/-",
                "/",
                "//",
                "/~1",
                "/~0x",
                "/locations/0",
                "-",
                "password",
                "token",
                "application_credential",
                "default",
                "Default",
                "2026-12-01T00:00:00Z",
                "2026-13-45T99:99:99Z",
                "9223372036854775808",
                "-1",
                "1e400",
                "NaN",
                "\u{0}",
                "\u{1b}[31m",
                "우분투",
                "bytes=0-",
                "asc",
                "desc",
                "name:asc",
                "size_min",
                "in:a,b",
                "gte:0",
            ][..]
        )
        .prop_map(str::to_string),
        "\\PC{0,40}",
        ".{0,12}",
        (0usize..5000).prop_map(|n| "a".repeat(n)),
    ]
}

/// A JSON value up to a few levels deep, made of [`KEYS`] and
/// [`hostile_string`]s.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// Query parameters: known names with hostile values, repeated or not.
pub fn query_params(
    names: &'static [&'static str],
) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(names).prop_map(str::to_string),
            hostile_string(),
        ),
        0..8,
    )
}
