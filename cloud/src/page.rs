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

/// The longest search text a list accepts. Longer text is refused with a
/// clear message (SQLite refuses LIKE patterns over 50,000 bytes, and no
/// name or id is this long).
pub const MAX_SEARCH_CHARS: usize = 255;

/// `Err(message)` when a search text is too long to be a real search.
pub fn check_search(s: &str) -> Result<(), crate::PublicMessage> {
    let n = s.chars().count();
    if n > MAX_SEARCH_CHARS {
        Err(crate::msg!(
            "error.search.too_long",
            "The search text is {length} characters long; at most {max} are allowed.",
            length = n,
            max = MAX_SEARCH_CHARS,
        ))
    } else {
        Ok(())
    }
}

/// The offset of 1-based page `page` of `size` rows: pages below 1 are the
/// first, and a huge page number saturates instead of overflowing (it
/// simply finds no rows).
pub fn page_offset(page: i64, size: i64) -> i64 {
    page.max(1).saturating_sub(1).saturating_mul(size.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_offsets_never_overflow() {
        assert_eq!(page_offset(1, 50), 0);
        assert_eq!(page_offset(3, 50), 100);
        assert_eq!(page_offset(0, 50), 0);
        assert_eq!(page_offset(i64::MIN, 50), 0);
        assert_eq!(page_offset(i64::MAX, 50), i64::MAX);
    }

    #[test]
    fn search_text_is_bounded() {
        assert!(check_search(&"가".repeat(MAX_SEARCH_CHARS)).is_ok());
        let long = "x".repeat(60_000);
        let e = check_search(&long).expect_err("too long");
        assert_eq!(
            e.text,
            "The search text is 60000 characters long; at most 255 are allowed."
        );
        assert_eq!(e.key, "error.search.too_long");
        assert_eq!(e.get("length"), Some("60000"));
    }
}
