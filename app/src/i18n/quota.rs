//! The quota panels' strings (see `crate::i18n`).

pub(super) static TABLE: &[(&str, &str, &str)] = &[
];
