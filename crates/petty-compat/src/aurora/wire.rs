//! Reading the contract's bodies and query strings as FastAPI (pydantic v2) would: the body as a
//! JSON object (`json_invalid` with the byte offset of the error, `dict_type`, `missing`), each
//! field by its JSON type (`string_type`, `int_parsing`, `dict_type`, `list_type`, ...), and
//! Petty's own rules' refusals (`petty_core`'s `FieldError`s) as FastAPI's items, with the
//! contract's bounds in their messages. Every problem is an [`Item`] `{type, loc, msg, input}`.

use axum::http::Uri;
use petty_app::lifelog::EventInput;
use petty_core::lifelog::{EventContent, RawLifeEvent, Subject};
use petty_core::{FieldError, Invalid};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::Fail;

/// One problem, as FastAPI reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(super) struct Item {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub loc: Vec<Value>,
    pub msg: String,
    pub input: Value,
}

impl Item {
    pub(super) fn new(kind: &'static str, loc: Vec<Value>, msg: impl Into<String>, input: Value) -> Item {
        Item { kind, loc, msg: msg.into(), input }
    }
}

/// A location: `["body", "events", 2, "title"]`.
fn loc(prefix: &[Value], rest: &[Value]) -> Vec<Value> {
    prefix.iter().chain(rest).cloned().collect()
}

/// The request body as a JSON object; FastAPI's 422 otherwise.
pub(super) fn body_object(bytes: &[u8]) -> Result<Map<String, Value>, Fail> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Fail::invalid(vec![Item::new("missing", vec!["body".into()], "Field required", Value::Null)]));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Fail::invalid(vec![json_invalid(bytes, &e)]))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Fail::invalid(vec![Item::new(
            "dict_type",
            vec!["body".into()],
            "Input should be a valid dictionary",
            other,
        )])),
    }
}

/// `json_invalid` at the byte offset where the JSON went wrong (at the end for a body that
/// stops early), as FastAPI's `loc: ["body", offset]`.
fn json_invalid(bytes: &[u8], e: &serde_json::Error) -> Item {
    let offset = if e.classify() == serde_json::error::Category::Eof {
        bytes.len()
    } else {
        // serde_json counts lines from 1 and columns (bytes) from 1, at the byte it stopped on.
        let before: usize = bytes.split(|b| *b == b'\n').take(e.line().saturating_sub(1)).map(|l| l.len() + 1).sum();
        (before + e.column().saturating_sub(1)).min(bytes.len())
    };
    Item::new("json_invalid", vec!["body".into(), offset.into()], "JSON decode error", Value::Object(Map::new()))
}

/// A JSON object's fields read by type; each wrong one is an [`Item`] under `prefix`.
pub(super) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: Vec<Value>,
    pub items: Vec<Item>,
    /// The fields refused for their type (their other problems are not told again).
    pub wrong: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    pub(super) fn new(obj: &'a Map<String, Value>, prefix: Vec<Value>) -> Fields<'a> {
        Fields { obj, prefix, items: Vec::new(), wrong: Vec::new() }
    }

    fn refuse(&mut self, name: &'static str, kind: &'static str, msg: &str, input: &Value) {
        self.items.push(Item::new(kind, loc(&self.prefix, &[name.into()]), msg, input.clone()));
        self.wrong.push(name);
    }

    /// A field that must be there.
    pub(super) fn missing(&mut self, name: &'static str) {
        let whole = Value::Object(self.obj.clone());
        self.items.push(Item::new("missing", loc(&self.prefix, &[name.into()]), "Field required", whole));
        self.wrong.push(name);
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    /// A string; `None` when absent (or null where `nullable`).
    pub(super) fn text(&mut self, name: &'static str, nullable: bool) -> Option<String> {
        match self.obj.get(name) {
            None => None,
            Some(Value::Null) if nullable => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.refuse(name, "string_type", "Input should be a valid string", &other.clone());
                None
            }
        }
    }

    /// A whole number, from a JSON integer, a float without a fraction or a string of digits
    /// (FastAPI's lax mode); `None` when absent or null.
    pub(super) fn integer(&mut self, name: &'static str) -> Option<i64> {
        let value = self.obj.get(name)?.clone();
        match &value {
            Value::Null => None,
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Some(i),
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
                (None, Some(f)) if f.is_finite() && f.fract() != 0.0 => {
                    let msg = "Input should be a valid integer, got a number with a fractional part";
                    self.refuse(name, "int_from_float", msg, &value);
                    None
                }
                _ => {
                    self.refuse(name, "int_parsing", "Input should be a valid integer", &value);
                    None
                }
            },
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i),
                Err(_) => {
                    let msg = "Input should be a valid integer, unable to parse string as an integer";
                    self.refuse(name, "int_parsing", msg, &value);
                    None
                }
            },
            _ => {
                self.refuse(name, "int_type", "Input should be a valid integer", &value);
                None
            }
        }
    }

    /// A JSON object; `None` when absent or null.
    pub(super) fn object(&mut self, name: &'static str) -> Option<Map<String, Value>> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(other) => {
                self.refuse(name, "dict_type", "Input should be a valid dictionary", &other.clone());
                None
            }
        }
    }

    /// A list of strings; `None` when absent or null. A wrong item is refused at its index.
    pub(super) fn strings(&mut self, name: &'static str) -> Option<Vec<String>> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => {
                let mut out = Vec::with_capacity(list.len());
                let mut bad = false;
                for (i, item) in list.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            bad = true;
                            let at = loc(&self.prefix, &[name.into(), i.into()]);
                            self.items.push(Item::new(
                                "string_type",
                                at,
                                "Input should be a valid string",
                                other.clone(),
                            ));
                        }
                    }
                }
                if bad {
                    self.wrong.push(name);
                    None
                } else {
                    Some(out)
                }
            }
            Some(other) => {
                self.refuse(name, "list_type", "Input should be a valid list", &other.clone());
                None
            }
        }
    }

    /// A list of anything; `None` when absent (refused as `missing` by the caller) or not a list.
    pub(super) fn list(&mut self, name: &'static str) -> Option<Vec<Value>> {
        match self.obj.get(name) {
            None => None,
            Some(Value::Array(list)) => Some(list.clone()),
            Some(other) => {
                self.refuse(name, "list_type", "Input should be a valid list", &other.clone());
                None
            }
        }
    }
}

/// The fields of a life event, in the order FastAPI reports them.
pub(super) const EVENT_FIELDS: [&str; 10] = [
    "event_type",
    "title",
    "event_time",
    "event_category",
    "description",
    "event_data",
    "context",
    "duration_minutes",
    "tags",
    "source",
];

/// The JSON text of an object (`{}` when absent).
fn object_text(map: Option<&Map<String, Value>>) -> String {
    map.and_then(|m| serde_json::to_string(m).ok()).unwrap_or_else(|| "{}".to_owned())
}

/// A new event's fields read by type (problems in `f`), as the life log's input.
fn new_event(f: &mut Fields) -> EventInput {
    let raw = RawLifeEvent {
        event_type: f.text("event_type", false),
        title: f.text("title", false),
        event_time: f.text("event_time", false),
        event_category: f.text("event_category", true),
        description: f.text("description", true),
        duration_minutes: f.integer("duration_minutes"),
        tags: f.strings("tags").unwrap_or_default(),
        source: f.text("source", true),
        ..RawLifeEvent::default()
    };
    let data = f.object("event_data");
    let context = f.object("context");
    EventInput::new(raw, object_text(data.as_ref()), object_text(context.as_ref()))
}

/// A new event's body (`obj`, located at `prefix`) checked as FastAPI would, then by the
/// contract's rules for `subject` at `now`: the input, or every problem in field order.
pub(super) fn checked_event(
    obj: &Map<String, Value>,
    prefix: Vec<Value>,
    subject: &Subject,
    now: OffsetDateTime,
) -> Result<EventInput, Vec<Item>> {
    let mut f = Fields::new(obj, prefix.clone());
    let input = new_event(&mut f);
    let petty = EventContent::parse(&input.raw, subject, now).err();
    let items = merge(f, petty.as_ref(), &prefix, &Value::Object(obj.clone()));
    if items.is_empty() { Ok(input) } else { Err(items) }
}

/// The profile's decoder of a new event's body on outside bytes (for the fuzz target
/// `aurora_body` and tests): the event's title, or the types of the 422's items.
pub fn decode_event_body(bytes: &[u8], now: OffsetDateTime) -> Result<String, Vec<String>> {
    let types = |items: &[Item]| items.iter().map(|i| i.kind.to_owned()).collect::<Vec<_>>();
    let body = body_object(bytes).map_err(|fail| {
        let items = fail.detail.as_array().cloned().unwrap_or_default();
        items.iter().filter_map(|i| i["type"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    })?;
    let subject = Subject::Person(petty_core::ids::UserId(uuid::Uuid::nil()));
    let input = checked_event(&body, vec!["body".into()], &subject, now).map_err(|items| types(&items))?;
    Ok(input.raw.title.unwrap_or_default())
}

/// What a change of an event names (the contract's changeable fields; each replaces the old
/// value whole; `null` clears an optional one).
#[derive(Debug, Default, Clone)]
pub(super) struct EventChange {
    title: Option<String>,
    event_time: Option<String>,
    event_category: Option<Option<String>>,
    description: Option<Option<String>>,
    duration_minutes: Option<Option<i64>>,
    tags: Option<Vec<String>>,
    event_data: Option<String>,
    context: Option<String>,
}

/// A change's fields read by type (problems in `f`).
pub(super) fn event_change(f: &mut Fields) -> EventChange {
    let optional_text = |f: &mut Fields, name| if f.has(name) { Some(f.text(name, true)) } else { None };
    EventChange {
        title: f.text("title", false),
        event_time: f.text("event_time", false),
        event_category: optional_text(f, "event_category"),
        description: optional_text(f, "description"),
        duration_minutes: if f.has("duration_minutes") { Some(f.integer("duration_minutes")) } else { None },
        tags: f.strings("tags"),
        event_data: f.object("event_data").map(|m| object_text(Some(&m))),
        context: f.object("context").map(|m| object_text(Some(&m))),
    }
}

impl EventChange {
    /// Writes the change over the event's fields as they were written.
    pub(super) fn apply(self, input: &mut EventInput) {
        let raw = &mut input.raw;
        if let Some(v) = self.title {
            raw.title = Some(v);
        }
        if let Some(v) = self.event_time {
            raw.event_time = Some(v);
        }
        if let Some(v) = self.event_category {
            raw.event_category = v;
        }
        if let Some(v) = self.description {
            raw.description = v;
        }
        if let Some(v) = self.duration_minutes {
            raw.duration_minutes = v;
        }
        if let Some(v) = self.tags {
            raw.tags = v;
        }
        let data = self.event_data.unwrap_or_else(|| input.event_data_json.clone());
        let context = self.context.unwrap_or_else(|| input.context_json.clone());
        *input = EventInput::new(input.raw.clone(), data, context);
    }
}

/// The contract's bounds of a field (characters of a text, items of a list, a number's range),
/// for the messages FastAPI writes.
fn bounds(path: &[Value]) -> (i64, i64) {
    let name = path.iter().rev().find_map(Value::as_str).unwrap_or("");
    let item = path.last().is_some_and(Value::is_number);
    match (name, item) {
        ("tags", true) => (1, 50),
        ("tags", false) => (0, 20),
        ("events", false) => (1, 100),
        ("event_type", _) => (1, 50),
        ("title", _) => (1, 200),
        ("event_category", _) | ("context", _) => (0, 50),
        ("description", _) => (0, 5000),
        ("duration_minutes", _) => (0, 10_080),
        ("source", _) => (1, 30),
        ("username", _) => (3, 50),
        ("password" | "new_password", _) => (8, 128),
        ("email", _) => (0, 254),
        ("full_name", _) => (0, 100),
        _ => (0, 0),
    }
}

/// The contract's pattern of a field, if it has one.
fn pattern(name: &str) -> Option<&'static str> {
    match name {
        "event_type" => Some("^[a-z][a-z0-9_]{0,49}$"),
        "source" => Some("^[a-z_]{1,30}$"),
        "username" => Some("^[A-Za-z0-9_.-]{3,50}$"),
        _ => None,
    }
}

/// `at least 1 character`, `at most 200 characters`.
fn characters(n: i64) -> String {
    if n == 1 { "1 character".to_owned() } else { format!("{n} characters") }
}

/// The value at `path` in `body`, `null` when there is none.
fn lookup(body: &Value, path: &[Value]) -> Value {
    let mut at = body;
    for step in path {
        let next = match step {
            Value::String(key) => at.get(key.as_str()),
            Value::Number(i) => i.as_u64().and_then(|i| at.get(usize::try_from(i).ok()?)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return Value::Null,
        }
    }
    at.clone()
}

/// FastAPI's item for one of Petty's refusals of a field of `body` (the object the field names
/// are relative to), located under `prefix`.
pub(super) fn item_of(e: &FieldError, prefix: &[Value], body: &Value) -> Item {
    let path: Vec<Value> =
        e.field.split('.').map(|part| part.parse::<u64>().map_or_else(|_| Value::from(part), Value::from)).collect();
    let name = path.iter().rev().find_map(Value::as_str).unwrap_or("");
    let list = matches!(name, "tags" | "events") && !path.last().is_some_and(Value::is_number);
    let blob = matches!(name, "event_data" | "context") && path.len() == 1 && e.rule == "too_long";
    let (lo, hi) = bounds(&path);
    let input = if e.rule == "required" { body.clone() } else { lookup(body, &path) };
    let n = input.as_array().map_or(0, Vec::len);
    let (kind, msg) = match e.rule {
        "required" => ("missing", "Field required".to_owned()),
        "too_short" if list => ("too_short", format!("List should have at least {lo} item after validation, not {n}")),
        "too_short" => ("string_too_short", format!("String should have at least {}", characters(lo.max(1)))),
        "too_long" if blob => ("value_error", format!("Value error, {}", e.message)),
        "too_long" if list => ("too_long", format!("List should have at most {hi} items after validation, not {n}")),
        "too_long" if hi > 0 => ("string_too_long", format!("String should have at most {}", characters(hi))),
        "format" if pattern(name).is_some() => {
            ("string_pattern_mismatch", format!("String should match pattern '{}'", pattern(name).unwrap_or("")))
        }
        "datetime" => ("datetime_parsing", "Input should be a valid datetime, invalid datetime format".to_owned()),
        "min" => ("greater_than_equal", format!("Input should be greater than or equal to {lo}")),
        "max" => ("less_than_equal", format!("Input should be less than or equal to {hi}")),
        _ => ("value_error", format!("Value error, {}", e.message)),
    };
    Item::new(kind, loc(prefix, &path), msg, input)
}

/// FastAPI's items for Petty's refusals.
pub(super) fn items_of(invalid: &Invalid, prefix: &[&str], body: &Value) -> Vec<Item> {
    let prefix: Vec<Value> = prefix.iter().map(|p| Value::from(*p)).collect();
    invalid.0.iter().map(|e| item_of(e, &prefix, body)).collect()
}

/// The problems of one event (or change): `f`'s type errors, then Petty's refusals of the fields
/// whose type was right, all in the contract's field order.
pub(super) fn merge(f: Fields, petty: Option<&Invalid>, prefix: &[Value], body: &Value) -> Vec<Item> {
    let order = |item: &Item| {
        let name = item.loc.get(prefix.len()).and_then(Value::as_str).unwrap_or("");
        EVENT_FIELDS.iter().position(|f| *f == name).unwrap_or(EVENT_FIELDS.len())
    };
    let wrong = f.wrong;
    let mut items = f.items;
    if let Some(invalid) = petty {
        for e in &invalid.0 {
            let top = e.field.split('.').next().unwrap_or("");
            if !wrong.contains(&top) {
                items.push(item_of(e, prefix, body));
            }
        }
    }
    // Stable: within a field, type errors first, then the rules in Petty's order.
    items.sort_by_key(order);
    items
}

/// A query string's parameters, read as FastAPI reads them (`loc: ["query", name]`).
pub(super) struct Params {
    pairs: Vec<(String, String)>,
    pub items: Vec<Item>,
}

impl Params {
    pub(super) fn of(uri: &Uri) -> Params {
        let pairs = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default();
        Params { pairs, items: Vec::new() }
    }

    pub(super) fn text(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn refuse(&mut self, name: &str, kind: &'static str, msg: String, input: &str) {
        self.items.push(Item::new(kind, vec!["query".into(), name.into()], msg, Value::from(input)));
    }

    /// A whole number within `lo..=hi`.
    pub(super) fn int(&mut self, name: &str, lo: i64, hi: i64) -> Option<i64> {
        let text = self.text(name)?.to_owned();
        let Ok(n) = text.trim().parse::<i64>() else {
            let msg = "Input should be a valid integer, unable to parse string as an integer".to_owned();
            self.refuse(name, "int_parsing", msg, &text);
            return None;
        };
        if n < lo {
            self.refuse(name, "greater_than_equal", format!("Input should be greater than or equal to {lo}"), &text);
            None
        } else if n > hi {
            self.refuse(name, "less_than_equal", format!("Input should be less than or equal to {hi}"), &text);
            None
        } else {
            Some(n)
        }
    }

    /// An instant: RFC 3339, or without an offset (UTC), or a date alone (midnight UTC).
    pub(super) fn time(&mut self, name: &str) -> Option<OffsetDateTime> {
        let text = self.text(name)?.to_owned();
        match parse_instant(&text) {
            Some(t) => Some(t),
            None => {
                let msg = "Input should be a valid datetime, invalid datetime format".to_owned();
                self.refuse(name, "datetime_parsing", msg, &text);
                None
            }
        }
    }

    /// `true`/`false` and the other spellings FastAPI takes.
    pub(super) fn boolean(&mut self, name: &str) -> Option<bool> {
        let text = self.text(name)?.to_owned();
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => {
                let msg = "Input should be a valid boolean, unable to interpret input".to_owned();
                self.refuse(name, "bool_parsing", msg, &text);
                None
            }
        }
    }

    /// `page` (≥ 1, default 1) and `page_size` (or its synonym `limit`; 1–1000, default 20).
    pub(super) fn page(&mut self) -> petty_core::paging::PageRequest {
        let page = self.int("page", 1, i64::from(u32::MAX));
        let size =
            if self.text("page_size").is_some() { self.int("page_size", 1, 1000) } else { self.int("limit", 1, 1000) };
        petty_core::paging::PageRequest {
            page: page.and_then(|p| u32::try_from(p).ok()).unwrap_or(1),
            page_size: size.and_then(|s| u32::try_from(s).ok()).unwrap_or(20),
        }
    }

    /// One more problem with a parameter (a rule of Petty's).
    pub(super) fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    /// 422 with every problem found, if any.
    pub(super) fn finish(&mut self) -> Result<(), Fail> {
        if self.items.is_empty() { Ok(()) } else { Err(Fail::invalid(std::mem::take(&mut self.items))) }
    }
}

/// An instant a client wrote: RFC 3339, ISO 8601 without an offset (UTC), or a date alone. A
/// `+` of an offset that arrived as a space (an unencoded query string) is read as `+`.
pub(super) fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let mended: String = text.char_indices().map(|(i, c)| if c == ' ' && i > 10 { '+' } else { c }).collect();
    let text = mended.replacen(' ', "T", 1);
    if let Ok(t) = OffsetDateTime::parse(&text, &Rfc3339) {
        return Some(t);
    }
    let full = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
    );
    if let Ok(t) = time::PrimitiveDateTime::parse(&text, &full) {
        return Some(t.assume_utc());
    }
    let date = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(&text, &date).ok().map(|d| d.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item_json(item: &Item) -> Value {
        serde_json::to_value(item).unwrap_or(Value::Null)
    }

    #[test]
    fn bad_json_is_located_by_byte_offset() {
        let e = body_object(b"{\"title\": }").unwrap_err();
        assert_eq!(e.detail[0]["type"], "json_invalid");
        assert_eq!(e.detail[0]["loc"], json!(["body", 10]));
        let e = body_object(b"{\n  \"a\": 1,\n  x}").unwrap_err();
        assert_eq!(e.detail[0]["loc"], json!(["body", 14]));
        let e = body_object(b"{\"a\": ").unwrap_err();
        assert_eq!(e.detail[0]["loc"], json!(["body", 6]), "at the end");
        assert_eq!(body_object(b"").unwrap_err().detail[0]["type"], "missing");
        assert_eq!(body_object(b"[1]").unwrap_err().detail[0]["type"], "dict_type");
    }

    #[test]
    fn pettys_rules_become_fastapis_types_with_the_contracts_bounds() {
        let body = json!({"event_type": "", "title": "x".repeat(201), "tags": ["ok", ""], "duration_minutes": -1});
        let cases = [
            (
                FieldError::new("event_type", "too_short", "-"),
                "string_too_short",
                "String should have at least 1 character",
            ),
            (FieldError::new("title", "too_long", "-"), "string_too_long", "String should have at most 200 characters"),
            (
                FieldError::new("tags.1", "too_short", "-"),
                "string_too_short",
                "String should have at least 1 character",
            ),
            (
                FieldError::new("duration_minutes", "min", "-"),
                "greater_than_equal",
                "Input should be greater than or equal to 0",
            ),
            (
                FieldError::new("event_type", "format", "-"),
                "string_pattern_mismatch",
                "String should match pattern '^[a-z][a-z0-9_]{0,49}$'",
            ),
            (
                FieldError::new("event_time", "out_of_range", "event_time must not be before 2000-01-01"),
                "value_error",
                "Value error, event_time must not be before 2000-01-01",
            ),
            (FieldError::new("event_time", "required", "-"), "missing", "Field required"),
        ];
        for (e, kind, msg) in cases {
            let item = item_of(&e, &["body".into()], &body);
            assert_eq!((item.kind, item.msg.as_str()), (kind, msg), "{}", e.field);
        }
        let tag = item_json(&item_of(&FieldError::new("tags.1", "too_short", "-"), &["body".into()], &body));
        assert_eq!(tag["loc"], json!(["body", "tags", 1]));
        assert_eq!(tag["input"], "");
        let missing = item_of(&FieldError::new("event_time", "required", "-"), &["body".into()], &body);
        assert_eq!(missing.input, body, "the object the field is missing from");
    }

    #[test]
    fn fields_are_read_by_type_as_fastapi_does() {
        let obj = json!({"title": 5, "duration_minutes": "30", "tags": ["a", 1], "event_data": [], "source": null})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut f = Fields::new(&obj, vec!["body".into()]);
        assert_eq!(f.text("title", false), None);
        assert_eq!(f.integer("duration_minutes"), Some(30));
        assert_eq!(f.strings("tags"), None);
        assert_eq!(f.object("event_data"), None);
        assert_eq!(f.text("source", true), None);
        let kinds: Vec<(&str, Value)> = f.items.iter().map(|i| (i.kind, json!(i.loc))).collect();
        assert_eq!(
            kinds,
            [
                ("string_type", json!(["body", "title"])),
                ("string_type", json!(["body", "tags", 1])),
                ("dict_type", json!(["body", "event_data"])),
            ]
        );
    }

    #[test]
    fn an_event_body_decodes_or_is_refused_with_fastapis_types() {
        let now = time::macros::datetime!(2026-12-05 12:00 UTC);
        let good = br#"{"event_type": "Sleep", "title": "Night", "event_time": "2026-12-04T23:00:00", "extra": 1}"#;
        assert_eq!(decode_event_body(good, now), Ok("Night".to_owned()));
        assert_eq!(decode_event_body(b"{", now), Err(vec!["json_invalid".to_owned()]));
        let bad = br#"{"event_type": "", "title": 1, "event_data": [], "event_time": "2026-12-07T00:00:00Z"}"#;
        let types = ["string_too_short", "string_type", "value_error", "dict_type"].map(str::to_owned);
        assert_eq!(decode_event_body(bad, now), Err(types.to_vec()));
    }

    #[test]
    fn instants_are_read_with_or_without_an_offset() {
        let at = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        assert_eq!(parse_instant("2026-01-02T03:04:05Z"), Some(at));
        assert_eq!(parse_instant("2026-01-02T04:04:05+01:00"), Some(at));
        assert_eq!(parse_instant("2026-01-02T04:04:05 01:00"), Some(at), "a + that became a space");
        assert_eq!(parse_instant("2026-01-02T03:04:05"), Some(at));
        assert_eq!(parse_instant("2026-01-02"), Some(time::macros::datetime!(2026-01-02 00:00 UTC)));
        assert_eq!(parse_instant("yesterday"), None);
    }
}
