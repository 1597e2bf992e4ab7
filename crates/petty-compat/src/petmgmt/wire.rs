//! Reading the contract's JSON: a body's fields in the order they came, the contract's rules
//! and messages for each field, and the query parameters of its lists.

use std::fmt;

use axum::http::Uri;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{Detail, Fail};

/// A JSON object's fields in body order (a repeated name: the last one counts, as in
/// JavaScript).
#[derive(Debug, Default)]
pub(super) struct Body {
    fields: Vec<(String, Value)>,
}

struct Fields(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl Body {
    /// The body as an object: not JSON → 400 INVALID_JSON; JSON but not an object → 400
    /// VALIDATION_ERROR. An empty body is an empty object (for the routes whose fields are all
    /// optional).
    pub(super) fn parse(bytes: &[u8]) -> Result<Body, Fail> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|_| Fail::invalid_json())?;
        if !value.is_object() {
            return Err(Fail::field("body", "Request body must be a JSON object"));
        }
        // Read again for the fields' order (a `Value` keeps its keys sorted).
        let Fields(fields) = serde_json::from_slice(bytes).map_err(|_| Fail::invalid_json())?;
        Ok(Body { fields })
    }

    /// The field's value; `None` when absent (a `null` is `Some(Value::Null)`).
    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Where the field first came in the body.
    fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(k, _)| k == name)
    }
}

/// Collects the refusals of one body: each field's first, ordered as the body wrote them, the
/// missing ones after.
pub(super) struct Check<'a> {
    body: &'a Body,
    failed: Vec<(usize, Detail)>,
}

impl<'a> Check<'a> {
    pub(super) fn new(body: &'a Body) -> Self {
        Self { body, failed: Vec::new() }
    }

    pub(super) fn fail(&mut self, field: &str, message: impl Into<String>) {
        if self.failed.iter().any(|(_, d)| d.field == field) {
            return;
        }
        let at = self.body.position(field).unwrap_or(usize::MAX - 1000 + self.failed.len());
        self.failed.push((at, Detail { field: field.to_owned(), message: message.into() }));
    }

    pub(super) fn failed(&self) -> bool {
        !self.failed.is_empty()
    }

    /// 400 VALIDATION_ERROR with every refusal, or nothing.
    pub(super) fn finish(mut self) -> Result<(), Fail> {
        if self.failed.is_empty() {
            return Ok(());
        }
        self.failed.sort_by_key(|(at, _)| *at);
        Err(Fail::validation(self.failed.into_iter().map(|(_, d)| d).collect()))
    }

    /// Text, trimmed; `required` refuses absence, null and blank with `"<field> is required"`;
    /// more than `max` characters with `"<field> must be at most <max> characters"` (or
    /// `message`, when the contract has one for every failure of the field).
    pub(super) fn text(
        &mut self,
        field: &str,
        max: usize,
        required: bool,
        message: Option<&str>,
    ) -> Option<Option<String>> {
        let required_message = || message.map_or_else(|| format!("{field} is required"), str::to_owned);
        let long_message =
            || message.map_or_else(|| format!("{field} must be at most {max} characters"), str::to_owned);
        match self.body.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, required_message());
                    None
                } else {
                    Some(None)
                }
            }
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    if required {
                        self.fail(field, required_message());
                        return None;
                    }
                    return Some(None);
                }
                if s.chars().count() > max {
                    self.fail(field, long_message());
                    return None;
                }
                Some(Some(s.to_owned()))
            }
            Some(_) => {
                self.fail(field, message.map_or_else(|| format!("{field} must be a string"), str::to_owned));
                None
            }
        }
    }

    /// A number (or absent/null).
    pub(super) fn number(&mut self, field: &str, message: &str) -> Option<Option<f64>> {
        match self.body.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Number(n)) => match n.as_f64().filter(|f| f.is_finite()) {
                Some(f) => Some(Some(f)),
                None => {
                    self.fail(field, message);
                    None
                }
            },
            Some(_) => {
                self.fail(field, message);
                None
            }
        }
    }

    /// `true` or `false` (or absent/null).
    pub(super) fn boolean(&mut self, field: &str) -> Option<Option<bool>> {
        match self.body.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(_) => {
                self.fail(field, format!("{field} must be true or false"));
                None
            }
        }
    }
}

/// Petty's field names as the contract names them (for Petty's own refusals).
pub(super) fn contract_field(field: &str) -> &str {
    match field {
        "kind" => "recordType",
        "date" => "dateAdministered",
        "vet" => "veterinarian",
        "valid_until" => "validUntil",
        "at" => "reminderDate",
        "ends_at" => "endsAt",
        "methods" => "notificationMethods",
        "repeat" => "repeatInterval",
        "date_of_birth" => "dateOfBirth",
        "weight_kg" => "weightKg",
        "microchip_id" => "microchipId",
        "photo_url" => "profilePhotoUrl",
        "display_name" => "firstName",
        "new_password" => "newPassword",
        "pet_id" => "petId",
        "billing_period" => "billingPeriod",
        "payment_method_id" => "paymentMethodId",
        other => other,
    }
}

/// The contract's messages, one per field rule.
pub(super) mod messages {
    pub(in super::super) const EMAIL: &str = "Valid email address is required";
    pub(in super::super) const PASSWORD: &str = "Password must be 8-128 characters and contain a letter and a digit";
    pub(in super::super) const TIMEZONE: &str = "timezone must be an IANA time zone such as Europe/Paris";
    pub(in super::super) const PHONE: &str = "phone must be in E.164 format, e.g. +14155550123";
    pub(in super::super) const DATE_OF_BIRTH: &str = "dateOfBirth must be a date (YYYY-MM-DD) not in the future";
    pub(in super::super) const WEIGHT: &str = "weightKg must be greater than 0 and at most 999.99";
    pub(in super::super) const MICROCHIP: &str = "microchipId must be 9 to 15 letters or digits";
    pub(in super::super) const RECORD_TYPE: &str =
        "recordType must be one of: vaccination, medication, visit, surgery, lab, dental, allergy, other";
    pub(in super::super) const DATE_ADMINISTERED: &str =
        "dateAdministered must be a date (YYYY-MM-DD) not in the future";
    pub(in super::super) const COST: &str = "cost must be between 0 and 99999999.99";
    pub(in super::super) const REMINDER_DATE: &str = "reminderDate must be an ISO 8601 date-time";
    pub(in super::super) const REPEAT: &str = "repeatInterval must be one of: daily, weekly, monthly, yearly";
    pub(in super::super) const METHODS: &str = "notificationMethods items must be one of: email, push, sms";
    pub(in super::super) const PAGE: &str = "page must be a positive integer";
    pub(in super::super) const LIMIT: &str = "limit must be between 1 and 100";
    pub(in super::super) const ATTACHMENTS: &str = "attachments must reference files uploaded to this server";
}

/// The contract's password rule: 8–128 characters with a letter and a digit, not the email.
pub(super) fn password_ok(password: &str, email: Option<&str>) -> bool {
    let n = password.chars().count();
    (8..=128).contains(&n)
        && password.chars().any(char::is_alphabetic)
        && password.chars().any(|c| c.is_ascii_digit())
        && email.is_none_or(|e| !password.eq_ignore_ascii_case(e))
}

/// The contract's email rule (Petty's parser decides the rest).
pub(super) fn email_ok(email: &str) -> bool {
    email.chars().count() <= 254 && petty_core::accounts::Email::parse("email", email).is_ok()
}

/// E.164: `+`, then 8 to 15 digits, the first not 0.
pub(super) fn phone_ok(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// A query string's parameters in order; `None` when it does not decode.
pub(super) fn query(uri: &Uri) -> Result<Vec<(String, String)>, Fail> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|_| Fail::field("query", "The query string could not be read"))
}

/// The last value of a parameter, trimmed; blank is absent.
pub(super) fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

/// `page` (≥ 1, default 1) and `limit` (1–100, default 20).
pub(super) fn paging(query: &[(String, String)], check: &mut Vec<Detail>) -> (u32, u32) {
    let page = match param(query, "page") {
        None => 1,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                check.push(Detail { field: "page".into(), message: messages::PAGE.into() });
                1
            }
        },
    };
    let limit = match param(query, "limit") {
        None => 20,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                check.push(Detail { field: "limit".into(), message: messages::LIMIT.into() });
                20
            }
        },
    };
    (page, limit)
}

/// Petty's page request for a page of the contract's.
pub(super) fn page_request(page: u32, limit: u32) -> petty_core::paging::PageRequest {
    petty_core::paging::PageRequest { page, page_size: limit }
}

/// A path id that is a UUID; anything else names nothing (404 with `missing`).
pub(super) fn path_id(raw: &str, missing: &str) -> Result<uuid::Uuid, Fail> {
    raw.trim().parse::<uuid::Uuid>().map_err(|_| Fail::not_found(missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_body_order_and_missing_ones_follow() {
        let body = Body::parse(br#"{"weightKg": -1, "name": "", "species": "x"}"#).unwrap();
        let mut c = Check::new(&body);
        c.text("title", 200, true, None);
        c.text("name", 100, true, None);
        c.number("weightKg", messages::WEIGHT).map(|w| w.filter(|w| *w > 0.0));
        c.fail("weightKg", messages::WEIGHT);
        let fields: Vec<String> = c.finish().unwrap_err().details.into_iter().map(|d| d.field).collect();
        assert_eq!(fields, ["weightKg", "name", "title"]);
    }

    #[test]
    fn bodies_that_are_not_objects() {
        assert_eq!(Body::parse(b"{nope").unwrap_err().code, "INVALID_JSON");
        assert_eq!(Body::parse(b"[1]").unwrap_err().code, "VALIDATION_ERROR");
        assert!(Body::parse(b"  ").is_ok());
    }

    #[test]
    fn passwords_phones_and_emails() {
        assert!(password_ok("abcdefg1", None));
        assert!(!password_ok("abcdefgh", None));
        assert!(!password_ok("1234567a".repeat(17).as_str(), None));
        assert!(!password_ok("a1", None));
        assert!(!password_ok("Ana1@example.org", Some("ana1@example.org")));
        assert!(phone_ok("+14155550123"));
        assert!(!phone_ok("14155550123") && !phone_ok("+0123456789") && !phone_ok("+1415-555"));
        assert!(email_ok("ana@example.org") && !email_ok("ana@") && !email_ok(""));
    }
}
