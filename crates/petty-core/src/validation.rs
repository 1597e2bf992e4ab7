//! Field-level validation errors: which field broke which rule, in words a person can act on.
//!
//! Every parser in the core returns [`Invalid`] rather than a bare string, so the HTTP edge can
//! answer with the field and the rule without guessing.

use std::fmt;

/// One field that broke one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (`email`, `weight_kg`, `location.lat`).
    pub field: String,
    /// A short stable rule name (`required`, `too_long`, `out_of_range`, `format`).
    pub rule: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), rule, message: message.into() }
    }
}

/// One or more fields that broke their rules. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, rule, message)])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// Collects errors from several fields so a client hears about all of them at once.
#[derive(Debug, Default)]
pub struct Collector(Vec<FieldError>);

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value if it parsed, remembers the errors if not.
    pub fn take<T>(&mut self, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(Invalid(errors)) => {
                self.0.extend(errors);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(Invalid(self.0)) }
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::one(field, "required", format!("{field} must not be empty")));
    }
    bounded_text(field, trimmed, max)
}

/// An optional text: empty or whitespace means "none"; otherwise at most `max` characters.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded_text(field, v, max).map(Some),
    }
}

fn bounded_text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let len = value.chars().count();
    if len > max {
        return Err(Invalid::one(field, "too_long", format!("{field} must be at most {max} characters (got {len})")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(Invalid::one(field, "format", format!("{field} must not contain control characters")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_trims_and_bounds() {
        assert_eq!(required_text("name", "  Bella ", 10).unwrap(), "Bella");
        assert_eq!(required_text("name", "   ", 10).unwrap_err().0[0].rule, "required");
        let err = required_text("name", "abcdefghijk", 10).unwrap_err();
        assert_eq!(err.0[0].field, "name");
        assert_eq!(err.0[0].rule, "too_long");
    }

    #[test]
    fn optional_text_treats_blank_as_none() {
        assert_eq!(optional_text("notes", Some("  "), 5).unwrap(), None);
        assert_eq!(optional_text("notes", None, 5).unwrap(), None);
        assert!(optional_text("notes", Some("\u{0}x"), 5).is_err());
    }

    #[test]
    fn collector_reports_every_field() {
        let mut c = Collector::new();
        c.take(required_text("a", "", 3));
        c.take(required_text("b", "toolong", 3));
        let err = c.finish().unwrap_err();
        assert_eq!(err.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
