//! The launch dialog (being built).
