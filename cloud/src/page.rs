//! Paging shared by every list call: the portal shows a page and a total.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortDir {
    #[default]
    Asc,
    Desc,
}

impl SortDir {
    pub fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }
    pub fn parse(s: &str) -> SortDir {
        if s.eq_ignore_ascii_case("desc") {
            SortDir::Desc
        } else {
            SortDir::Asc
        }
    }
}

/// One page of a list, with the number of rows matching the filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Escapes `%`, `_` and `!` so user text is matched literally by
/// `LIKE ? ESCAPE '!'` (not backslash: MariaDB treats it as a string escape).
pub fn like_contains(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Upper bound on a page so a request cannot ask for the whole table at once.
pub const MAX_PAGE: i64 = 1000;

pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE)
}
