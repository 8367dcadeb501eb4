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

/// `Err(message)` naming `what` and the character when `s` holds a control
/// character that a name may not.
pub fn check_name(what: &str, s: &str) -> Result<(), String> {
    match control_char_in_name(s) {
        Some(c) => Err(format!(
            "The {what} must not contain control characters (found U+{:04X}).",
            c as u32
        )),
        None => Ok(()),
    }
}

/// As [`check_name`], for free text.
pub fn check_text(what: &str, s: &str) -> Result<(), String> {
    match control_char_in_text(s) {
        Some(c) => Err(format!(
            "The {what} must not contain control characters (found U+{:04X}).",
            c as u32
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_control_character_text_keeps_line_breaks() {
        assert!(check_name("name", "우분투 22.04 (LTS)").is_ok());
        for bad in [
            "a\0b",
            "\u{1b}[31mred",
            "tab\there",
            "line\nbreak",
            "\u{7f}",
            "\u{9b}x",
        ] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
        let e = check_name("project name", "x\0").expect_err("NUL");
        assert!(e.contains("U+0000") && e.contains("project name"), "{e}");
        assert!(check_text("description", "two\nlines\twith tab\r\n").is_ok());
        assert!(check_text("description", "bell\u{7}").is_err());
    }
}
