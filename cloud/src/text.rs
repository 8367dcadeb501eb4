//! Rules for the text a client may store, shared by every service: names,
//! tags and keys hold no control characters (NUL, escape sequences and the
//! like would reach terminals, logs and other clients as given); free text
//! such as descriptions may hold line breaks and tabs, nothing else.

/// The first control character in a name, tag or key, if any.
pub fn control_char_in_name(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

/// The first control character in free text other than `\n`, `\r`, `\t`.
pub fn control_char_in_text(s: &str) -> Option<char> {
    s.chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// A control character found where it may not be; displays as `U+001B`.
/// The caller words the refusal (its own message key names what was
/// checked: `The tag must not contain control characters (found U+0000).`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlChar(pub char);

impl std::fmt::Display for ControlChar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "U+{:04X}", self.0 as u32)
    }
}

/// `Err` with the first control character when `s` holds one that a name
/// may not.
pub fn check_name(s: &str) -> Result<(), ControlChar> {
    control_char_in_name(s).map_or(Ok(()), |c| Err(ControlChar(c)))
}

/// As [`check_name`], for free text.
pub fn check_text(s: &str) -> Result<(), ControlChar> {
    control_char_in_text(s).map_or(Ok(()), |c| Err(ControlChar(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_control_character_text_keeps_line_breaks() {
        assert!(check_name("우분투 22.04 (LTS)").is_ok());
        for bad in [
            "a\0b",
            "\u{1b}[31mred",
            "tab\there",
            "line\nbreak",
            "\u{7f}",
            "\u{9b}x",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let e = check_name("x\0").expect_err("NUL");
        assert_eq!(e.to_string(), "U+0000");
        assert_eq!(
            check_name("\u{9b}x").map_err(|c| c.to_string()),
            Err("U+009B".into())
        );
        assert!(check_text("two\nlines\twith tab\r\n").is_ok());
        assert_eq!(check_text("bell\u{7}"), Err(ControlChar('\u{7}')));
    }
}
