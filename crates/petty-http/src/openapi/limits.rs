//! Every limit the validators enforce, written into the OpenAPI document from the constants the
//! validators themselves use, so that the two cannot drift apart.
//!
//! The rule this follows: **the document never refuses what the server accepts.** A value the
//! schema rules out is a value the server answers with a 4xx (Schemathesis checks exactly that,
//! `.ci/schemathesis.sh`). So where a validator is lenient the schema says so too: text is
//! trimmed before it is counted (a pattern, not `maxLength`, states the length), enumerations
//! that ignore case or surrounding spaces carry a pattern beside the canonical values, and a
//! blank optional field means "absent". Where a rule cannot be written in JSON Schema (a
//! breached-password list, a field needed only for one `kind`, a byte count) the schema states
//! the nearest looser rule and the field's description the rest.
//!
//! Targets are `Schema.property` (through nested properties, `IngestIn.location.lat`: a
//! property that refers to another schema gets the limit beside the reference, so the shared
//! schema stays as it is for its other users), `?name` for a query parameter of every
//! operation, and `METHOD /path?name` for one operation's parameter.

use petty_core::accounts::{ApiKeyScope, Email, NewPassword, Role};
use petty_core::alarm::{ConditionKind, Escalation, HOLD_MAX_SECS, RULE_NAME_MAX, Severity};
use petty_core::behaviour::Behaviour;
use petty_core::behaviour::features::{ACCEL_MAX_G, ACCEL_MAX_LEN, ACCEL_MIN_LEN};
use petty_core::devices::{self, DeviceKind};
use petty_core::geofence;
use petty_core::paging::PageRequest;
use petty_core::pets::{self, Sex, Species};
use petty_core::readings::{self, Metric, RetentionPolicy};
use serde_json::{Map, Value, json};

use crate::api;

/// Characters `str::trim` removes (Unicode `White_Space`), as the inside of a regex class.
const SPACE: &str = r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// The control characters `validation::bounded_text` refuses: all but tab, LF and CR.
const CONTROL: &str = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F";

/// What a validator requires of one value.
enum Limit {
    /// `validation::required_text`: trimmed, then 1 to `max` characters, none of them a
    /// control character other than tab, LF or CR.
    Text {
        max: usize,
    },
    /// `validation::optional_text`: the same, or blank (which means absent).
    OptionalText {
        max: usize,
    },
    /// Trimmed, then 1 to `max` characters of anything (`blank` allows none at all).
    Trimmed {
        max: usize,
        blank: bool,
    },
    /// Characters as sent, untrimmed.
    Chars {
        min: usize,
        max: usize,
    },
    /// One of `values`, spelled as the validator takes it (a pattern beside the canonical values
    /// allows what a lenient one allows); `blank` when a blank value means absent.
    OneOf {
        values: Vec<&'static str>,
        spelling: Spelling,
        blank: Blank,
    },
    /// A comma-separated list of `values`, each trimmed; empty items are skipped.
    ListOf(Vec<&'static str>),
    Integer {
        min: i64,
        max: i64,
    },
    /// A number in `min..=max` (`min` excluded when `above`); `whole` for whole numbers only.
    Number {
        min: f64,
        max: f64,
        above: bool,
        whole: bool,
    },
    Items {
        min: usize,
        max: usize,
    },
    /// A map of named numbers (`validation::parse_named_numbers`): at most `max` entries named
    /// like `readings::is_key_name`, none of them one of `reserved`.
    Names {
        max: usize,
        reserved: Vec<&'static str>,
    },
    /// The property must be there and not null.
    Required,
    /// Keywords merged in as they are.
    Merge(Value),
}

/// How a validator reads an enumerated value.
#[derive(Clone, Copy, PartialEq)]
enum Spelling {
    /// Exactly as listed.
    Exact,
    /// Spaces around it are trimmed.
    Trimmed,
    /// Trimmed, and ASCII letters in either case.
    AnyCase,
}

#[derive(Clone, Copy, PartialEq)]
enum Blank {
    /// A blank value is refused.
    No,
    /// The empty string means absent (only exactly empty).
    Empty,
    /// Empty or only spaces means absent.
    Spaces,
}

fn space() -> String {
    format!("[{SPACE}]")
}

/// `^W*(core)W*$`, `core` optional when `blank`.
fn trimmed_pattern(core: &str, blank: bool) -> String {
    let w = space();
    if core.is_empty() {
        return format!("^{w}*$");
    }
    let optional = if blank { "?" } else { "" };
    format!("^{w}*(?:{core}){optional}{w}*$")
}

/// 1 to `max` characters that neither begin nor end with a space; `inner` and `edge` are
/// regex classes for the characters inside and at the ends.
fn counted(inner: &str, edge: &str, max: usize) -> String {
    format!("{edge}(?:{inner}{{0,{}}}{edge})?", max.saturating_sub(2))
}

/// A word matched whatever the case of its ASCII letters.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                regex_escape(c)
            }
        })
        .collect()
}

fn regex_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() || c == '_' { c.to_string() } else { format!("\\{c}") }
}

fn words(values: &[&str], any_case_letters: bool) -> String {
    let each: Vec<String> = values
        .iter()
        .map(|v| if any_case_letters { any_case(v) } else { v.chars().map(regex_escape).collect() })
        .collect();
    each.join("|")
}

/// A query time: RFC 3339 or epoch milliseconds (`devices::query_time`).
fn time_or_epoch_ms() -> Value {
    json!({"anyOf": [{"format": "date-time"}, {"pattern": "^[+-]?[0-9]+$"}],
           "examples": ["2026-11-22T06:15:35Z", "1795328135000"]})
}

fn numbers(metric: Metric) -> Limit {
    let (min, max) = metric.range();
    Limit::Number { min, max, above: false, whole: metric.is_integer() }
}

fn metric_names() -> Vec<&'static str> {
    Metric::ALL.iter().map(|m| m.name()).collect()
}

fn severities() -> Vec<&'static str> {
    Severity::ALL.iter().map(|s| s.as_str()).collect()
}

/// Every limit, by target.
fn limits() -> Vec<(String, Limit)> {
    use Limit::*;
    let mut out: Vec<(String, Limit)> = Vec::new();
    let mut add = |target: &str, limit: Limit| out.push((target.to_owned(), limit));
    // `Email::parse` trims, then counts bytes: at most as many characters.
    let email_length = trimmed_pattern(&counted(r"[\s\S]", &format!("[^{SPACE}]"), Email::MAX_LEN), false);
    let email = || Merge(json!({"format": "email", "pattern": email_length.clone()}));
    let optional_email = || {
        Merge(json!({"anyOf": [{"format": "email", "pattern": email_length.clone()},
                               {"pattern": trimmed_pattern("", true)}]}))
    };
    let new_password = || Chars { min: NewPassword::MIN_LEN, max: NewPassword::MAX_LEN };
    let roles = || OneOf {
        values: Role::ALL.iter().map(|r| r.as_str()).collect(),
        spelling: Spelling::Exact,
        blank: Blank::No,
    };

    // Paging, wherever it is asked for.
    add("?page", Integer { min: 1, max: i64::from(u32::MAX) });
    add("?page_size", Integer { min: 1, max: PageRequest::MAX_SIZE.into() });

    // Accounts.
    add("RegisterIn.email", email());
    add("RegisterIn.password", new_password());
    add("RegisterIn.display_name", Text { max: petty_core::accounts::DISPLAY_NAME_MAX });
    add("RegisterIn.household_name", OptionalText { max: petty_core::accounts::HOUSEHOLD_NAME_MAX });
    add("LoginIn.email", email());
    add("ChangePasswordIn.new_password", new_password());
    add("ApiKeyIn.name", Text { max: petty_core::accounts::API_KEY_NAME_MAX });
    add(
        "ApiKeyIn.scope",
        OneOf {
            values: ApiKeyScope::ALL.iter().map(|s| s.as_str()).collect(),
            spelling: Spelling::Exact,
            blank: Blank::No,
        },
    );
    add("MemberChangeIn.role", roles());
    add("InvitationIn.role", roles());
    add("InvitationIn.email", optional_email());
    add("RetentionIo.readings_days", Integer { min: 1, max: RetentionPolicy::MAX_READINGS_DAYS.into() });
    add("RetentionIo.rollups_days", Integer { min: 1, max: RetentionPolicy::MAX_ROLLUPS_DAYS.into() });

    // Pets.
    let species = || OneOf {
        values: Species::ALL.iter().map(|s| s.as_str()).collect(),
        spelling: Spelling::AnyCase,
        blank: Blank::No,
    };
    let sex = || OneOf {
        values: Sex::ALL.iter().map(|s| s.as_str()).collect(),
        spelling: Spelling::AnyCase,
        blank: Blank::Spaces,
    };
    for schema in ["PetIn", "PetPatch"] {
        add(&format!("{schema}.name"), Text { max: pets::NAME_MAX });
        add(&format!("{schema}.species"), species());
        add(&format!("{schema}.breed"), OptionalText { max: pets::BREED_MAX });
        add(
            &format!("{schema}.date_of_birth"),
            Merge(json!({"pattern": trimmed_pattern("[0-9]{4}-[0-9]{2}-[0-9]{2}", true), "examples": ["2021-04-30"]})),
        );
        add(&format!("{schema}.sex"), sex());
        add(&format!("{schema}.weight_kg"), Number { min: 0.0, max: pets::WEIGHT_MAX_KG, above: true, whole: false });
        add(
            &format!("{schema}.microchip_id"),
            Merge(json!({"pattern": trimmed_pattern(r"[ .\-]*(?:[A-Za-z0-9][ .\-]*){9,15}", true)})),
        );
        add(
            &format!("{schema}.photo_url"),
            Merge(json!({"pattern": trimmed_pattern(
                &format!(r#"(?:https?://|/)[^{SPACE}{CONTROL}"<>]{{0,{}}}"#, pets::PHOTO_URL_MAX - 1),
                true,
            )})),
        );
        add(&format!("{schema}.notes"), OptionalText { max: pets::NOTES_MAX });
    }
    add(
        "?species",
        OneOf {
            values: Species::ALL.iter().map(|s| s.as_str()).collect(),
            spelling: Spelling::AnyCase,
            blank: Blank::Empty,
        },
    );

    // Devices.
    for schema in ["DeviceIn", "DevicePatch"] {
        add(&format!("{schema}.name"), Text { max: devices::NAME_MAX });
        add(
            &format!("{schema}.kind"),
            OneOf {
                values: DeviceKind::ALL.iter().map(|k| k.as_str()).collect(),
                spelling: Spelling::AnyCase,
                blank: Blank::No,
            },
        );
        add(&format!("{schema}.model"), OptionalText { max: devices::MODEL_MAX });
        add(&format!("{schema}.firmware"), OptionalText { max: devices::FIRMWARE_MAX });
        add(&format!("{schema}.expected_interval_secs"), Integer { min: 1, max: devices::INTERVAL_MAX_SECS.into() });
        add(&format!("{schema}.calibration"), Names { max: devices::CALIBRATION_MAX, reserved: Vec::new() });
        add(
            &format!("{schema}.serial"),
            Merge(
                json!({"pattern": trimmed_pattern(&format!("[A-Za-z0-9_.:\\-]{{1,{}}}", devices::SERIAL_MAX), true)}),
            ),
        );
    }
    add("GET /api/v1/devices/{id}/readings?from", Merge(time_or_epoch_ms()));
    add("GET /api/v1/devices/{id}/readings?to", Merge(time_or_epoch_ms()));
    add("GET /api/v1/devices/{id}/readings?cursor", Merge(json!({"pattern": "^[+-]?[0-9]+\\.[+-]?[0-9]+$"})));
    add("GET /api/v1/devices/{id}/readings?limit", Integer { min: 1, max: api::devices::READINGS_LIMIT_MAX.into() });
    add(
        "GET /api/v1/devices/{id}/rollups?metric",
        OneOf { values: metric_names(), spelling: Spelling::Exact, blank: Blank::No },
    );
    add(
        "GET /api/v1/devices/{id}/rollups?resolution",
        OneOf {
            values: api::devices::RESOLUTIONS.iter().map(|(name, _)| *name).collect(),
            spelling: Spelling::Exact,
            blank: Blank::No,
        },
    );
    add("GET /api/v1/devices/{id}/rollups?from", Merge(time_or_epoch_ms()));
    add("GET /api/v1/devices/{id}/rollups?to", Merge(time_or_epoch_ms()));
    add("GET /api/v1/devices/{id}/rollups?limit", Integer { min: 1, max: api::devices::ROLLUPS_LIMIT_MAX.into() });
    add(
        "GET /api/v1/devices/{id}/export?format",
        OneOf { values: vec!["csv", "jsonl"], spelling: Spelling::Exact, blank: Blank::No },
    );
    add("GET /api/v1/devices/{id}/export?from", Merge(time_or_epoch_ms()));
    add("GET /api/v1/devices/{id}/export?to", Merge(time_or_epoch_ms()));
    add(
        "GET /api/v1/devices/{id}/chart.svg?metric",
        OneOf { values: metric_names(), spelling: Spelling::Exact, blank: Blank::No },
    );
    add(
        "GET /api/v1/devices/{id}/chart.svg?kind",
        OneOf { values: vec!["line", "bar"], spelling: Spelling::Exact, blank: Blank::No },
    );
    add("GET /api/v1/devices/{id}/chart.svg?from", Merge(json!({"format": "date-time"})));
    add("GET /api/v1/devices/{id}/chart.svg?to", Merge(json!({"format": "date-time"})));

    // Readings: one reading's fields in the body of `POST /api/v1/ingest`. A batch's readings
    // follow the same rules, but one that breaks them is answered `rejected` in the results
    // (a 200), so `ReadingIn` states them in words rather than as limits.
    add(
        "IngestIn.ts",
        Merge(json!({"allOf": [{"anyOf": [
            {"type": "integer", "minimum": readings::EARLIEST.unix_timestamp() * 1000},
            {"type": "string", "format": "date-time"},
            {"type": "null"},
        ]}]})),
    );
    add("IngestIn.seq", Integer { min: 0, max: i64::MAX });
    for metric in Metric::ALL {
        add(&format!("IngestIn.{}", metric.name()), numbers(metric));
    }
    add("IngestIn.location.lat", Required);
    add("IngestIn.location.lat", Number { min: -90.0, max: 90.0, above: false, whole: false });
    add("IngestIn.location.lon", Required);
    add("IngestIn.location.lon", Number { min: -180.0, max: 180.0, above: false, whole: false });
    add("IngestIn.location.accuracy_m", Number { min: 0.0, max: readings::ACCURACY_MAX_M, above: false, whole: false });
    add("IngestIn.extra", Names { max: readings::MAX_EXTRA, reserved: metric_names() });
    add("IngestIn.accel.hz", Required);
    add("IngestIn.accel.hz", Number { min: 1.0, max: 400.0, above: false, whole: false });
    for axis in ["x", "y", "z"] {
        add(&format!("IngestIn.accel.{axis}"), Required);
        add(&format!("IngestIn.accel.{axis}"), Items { min: ACCEL_MIN_LEN, max: ACCEL_MAX_LEN });
        add(
            &format!("IngestIn.accel.{axis}"),
            Merge(json!({"items": {"minimum": -ACCEL_MAX_G, "maximum": ACCEL_MAX_G}})),
        );
    }
    add("IngestIn.readings", Items { min: 0, max: api::ingest::MAX_BATCH });

    // Behaviour.
    add("GET /api/v1/pets/{id}/timeline?from", Merge(time_or_epoch_ms()));
    add("GET /api/v1/pets/{id}/timeline?to", Merge(time_or_epoch_ms()));
    add(
        "GET /api/v1/pets/{id}/timeline?kinds",
        ListOf(vec!["episode", "episodes", "anomaly", "anomalies", "geofence", "geofences"]),
    );
    add("GET /api/v1/pets/{id}/wellness?days", Integer { min: 1, max: api::wellness::MAX_DAYS.into() });
    add(
        "FeedbackIn.verdict",
        OneOf {
            values: vec!["confirmed", "confirm", "wrong", "relabelled", "relabeled", "relabel"],
            spelling: Spelling::Trimmed,
            blank: Blank::No,
        },
    );
    add(
        "FeedbackIn.label",
        OneOf {
            values: Behaviour::ALL.iter().map(|b| b.as_str()).collect(),
            spelling: Spelling::AnyCase,
            blank: Blank::Spaces,
        },
    );
    add("FeedbackIn.note", Trimmed { max: petty_app::feedback::NOTE_MAX, blank: true });

    // Geofences.
    add("GeofenceIn.name", Text { max: geofence::NAME_MAX });
    add("GeofenceIn.kind", OneOf { values: vec!["circle", "polygon"], spelling: Spelling::AnyCase, blank: Blank::No });
    add("GeofenceIn.dwell_secs", Integer { min: 0, max: geofence::DWELL_MAX_SECS });
    add(
        "GeofenceIn.max_accuracy_m",
        Number { min: geofence::ACCURACY_MIN_M, max: geofence::ACCURACY_MAX_M, above: false, whole: false },
    );
    // The shape's own limits (a circle's centre and radius, a polygon's 3 to 100 points) hold
    // only for its `kind`; the other shape's fields are not looked at. That is an `anyOf` of two
    // objects, which Schemathesis 4.32 cannot generate from on CPython 3.11.7 (an AST recursion
    // bug while Hypothesis describes a strategy), so the fields' descriptions state them.

    // Alarms and who hears about them.
    add("?severity", OneOf { values: severities(), spelling: Spelling::Exact, blank: Blank::No });
    add("GET /api/v1/alarms?state", ListOf(petty_core::alarm::AlarmState::ALL.iter().map(|s| s.as_str()).collect()));
    add("GET /api/v1/alarms?from", Merge(json!({"format": "date-time"})));
    add("GET /api/v1/alarms?to", Merge(json!({"format": "date-time"})));
    add("NoteIn.note", Trimmed { max: api::alarms::NOTE_MAX, blank: true });
    add("CommentIn.text", Trimmed { max: api::alarms::NOTE_MAX, blank: false });
    add("RuleIn.name", Trimmed { max: RULE_NAME_MAX, blank: false });
    add(
        "RuleIn.device_kind",
        OneOf { values: vec!["collar", "air_monitor", "any"], spelling: Spelling::Exact, blank: Blank::No },
    );
    add(
        "RuleIn.kind",
        OneOf {
            values: ConditionKind::ALL.iter().map(|k| k.as_str()).collect(),
            spelling: Spelling::Exact,
            blank: Blank::No,
        },
    );
    add("RuleIn.metric", OneOf { values: metric_names(), spelling: Spelling::Exact, blank: Blank::No });
    add("RuleIn.for_secs", Integer { min: 0, max: HOLD_MAX_SECS });
    add("RuleIn.clear_secs", Integer { min: 0, max: HOLD_MAX_SECS });
    add("RuleIn.severity", OneOf { values: severities(), spelling: Spelling::Exact, blank: Blank::No });
    add("ContactIn.name", Trimmed { max: api::alarms::CONTACT_NAME_MAX, blank: false });
    add(
        "ContactIn.phone",
        Merge(json!({"pattern": trimmed_pattern("(?:\\+|00)[0-9 .()\\xA0\\-]*", true),
                                         "examples": ["+14155552671"]})),
    );
    add("ContactIn.email", optional_email());
    add(
        "ContactIn.role",
        OneOf { values: vec!["member", "secondary", "emergency"], spelling: Spelling::Exact, blank: Blank::No },
    );
    for channel in ["email", "sms", "voice"] {
        add(
            &format!("PolicyIn.{channel}"),
            OneOf { values: severities(), spelling: Spelling::Exact, blank: Blank::No },
        );
    }
    let hhmm = || Merge(json!({"pattern": "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["22:00"]}));
    add("QuietIn.start", hhmm());
    add("QuietIn.end", hhmm());
    add(
        "QuietIn.utc_offset_min",
        Integer { min: api::alarms::UTC_OFFSET_MIN_MIN.into(), max: api::alarms::UTC_OFFSET_MAX_MIN.into() },
    );
    add("EscalationIn.min_severity", OneOf { values: severities(), spelling: Spelling::Exact, blank: Blank::No });
    add("EscalationIn.message_after_secs", Integer { min: 0, max: Escalation::MAX_DELAY_SECS });
    add("EscalationIn.call_after_secs", Integer { min: 0, max: Escalation::MAX_DELAY_SECS });
    add(
        "EscalationIn.next_contact_after_secs",
        Integer { min: Escalation::MIN_NEXT_CONTACT_SECS, max: Escalation::MAX_DELAY_SECS },
    );
    add(
        "EscalationIn.repeat_after_secs",
        Integer { min: Escalation::MIN_REPEAT_SECS, max: Escalation::MAX_DELAY_SECS },
    );
    add("EscalationIn.max_rounds", Integer { min: 1, max: Escalation::MAX_ROUNDS.into() });
    add("WebhookIn.min_severity", OneOf { values: severities(), spelling: Spelling::Exact, blank: Blank::No });
    out
}

/// The JSON Schema keywords for `limit`, for a schema whose type may include null (`nullable`).
fn keywords(limit: &Limit, nullable: bool) -> Map<String, Value> {
    let mut k = Map::new();
    let non_space = format!("[^{SPACE}{CONTROL}]");
    let mut put = |key: &str, value: Value| {
        k.insert(key.to_owned(), value);
    };
    match limit {
        Limit::Text { max } => {
            put("minLength", json!(1));
            put("pattern", json!(trimmed_pattern(&counted(&format!("[^{CONTROL}]"), &non_space, *max), false)));
        }
        Limit::OptionalText { max } => {
            put("pattern", json!(trimmed_pattern(&counted(&format!("[^{CONTROL}]"), &non_space, *max), true)));
        }
        Limit::Trimmed { max, blank } => {
            if !blank {
                put("minLength", json!(1));
            }
            put("pattern", json!(trimmed_pattern(&counted(r"[\s\S]", &format!("[^{SPACE}]"), *max), *blank)));
        }
        Limit::Chars { min, max } => {
            put("minLength", json!(min));
            put("maxLength", json!(max));
        }
        Limit::OneOf { values, spelling, blank } => {
            let mut canonical: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            if nullable {
                canonical.push(Value::Null);
            }
            if *spelling == Spelling::Exact && *blank == Blank::No {
                put("enum", Value::Array(canonical));
            } else {
                let core = words(values, *spelling == Spelling::AnyCase);
                let alternatives = if *spelling == Spelling::Exact {
                    format!("^(?:{core})$")
                } else {
                    trimmed_pattern(&core, *blank == Blank::Spaces)
                };
                let mut any_of = vec![json!({"enum": canonical}), json!({"pattern": alternatives})];
                if *blank == Blank::Empty {
                    any_of.push(json!({"maxLength": 0}));
                }
                put("anyOf", Value::Array(any_of));
            }
        }
        Limit::ListOf(values) => {
            let w = space();
            let item = format!("{w}*(?:{})?{w}*", words(values, false));
            put("pattern", json!(format!("^{item}(?:,{item})*$")));
        }
        Limit::Integer { min, max } => {
            put("minimum", json!(min));
            put("maximum", json!(max));
        }
        Limit::Number { min, max, above, whole } => {
            put(if *above { "exclusiveMinimum" } else { "minimum" }, json!(min));
            put("maximum", json!(max));
            if *whole {
                put("multipleOf", json!(1));
            }
        }
        Limit::Items { min, max } => {
            if *min > 0 {
                put("minItems", json!(min));
            }
            put("maxItems", json!(max));
        }
        Limit::Names { max, reserved } => {
            put("maxProperties", json!(max));
            let mut names = json!({"pattern": format!("^[a-z][a-z0-9_]{{0,{}}}$", readings::KEY_MAX - 1)});
            if !reserved.is_empty() {
                names["not"] = json!({"enum": reserved});
            }
            put("propertyNames", names);
        }
        Limit::Required => {}
        Limit::Merge(value) => {
            if let Some(map) = value.as_object() {
                for (key, v) in map {
                    put(key, v.clone());
                }
            }
        }
    }
    k
}

/// Writes every limit into `doc`; answers the targets that named nothing.
pub(super) fn apply(doc: &mut Value) -> Vec<String> {
    let mut missed = Vec::new();
    for (target, limit) in limits() {
        let found = if let Some(name) = target.strip_prefix('?') {
            apply_to_parameters(doc, None, name, &limit)
        } else if let Some((operation, name)) = target.split_once('?') {
            apply_to_parameters(doc, Some(operation), name, &limit)
        } else {
            apply_to_schema(doc, &target, &limit)
        };
        if !found {
            missed.push(target);
        }
    }
    missed
}

fn apply_to_parameters(doc: &mut Value, operation: Option<&str>, name: &str, limit: &Limit) -> bool {
    let wanted = operation.map(|o| o.split_once(' ').unwrap_or(("", o)));
    let mut found = false;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return false };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if wanted.is_some_and(|(m, p)| !m.eq_ignore_ascii_case(method) || p != path) {
                continue;
            }
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
            for param in params {
                if param["in"] != "query" || param["name"] != name {
                    continue;
                }
                let Some(schema) = param.get_mut("schema") else { continue };
                constrain(schema, limit);
                found = true;
            }
        }
    }
    found
}

fn apply_to_schema(doc: &mut Value, target: &str, limit: &Limit) -> bool {
    let segments: Vec<&str> = target.split('.').collect();
    if !exists(doc, &segments) {
        return false;
    }
    let Some(mut schema) = doc.pointer_mut(&format!("/components/schemas/{}", segments[0])) else { return false };
    let properties = &segments[1..];
    let Some((last, through)) = properties.split_last() else {
        constrain(schema, limit);
        return true;
    };
    for (i, segment) in through.iter().enumerate() {
        if i > 0 {
            schema = beside_reference(schema);
        }
        let Some(next) = schema.get_mut("properties").and_then(|p| p.get_mut(*segment)) else { return false };
        schema = next;
    }
    if !through.is_empty() {
        // The last property belongs to a schema the one before refers to: constrain it beside
        // the reference, so the shared schema stays as it is for its other users.
        schema = beside_reference(schema);
    }
    let Some(object) = schema.as_object_mut() else { return false };
    if matches!(limit, Limit::Required) {
        let required = object.entry("required").or_insert_with(|| json!([]));
        if let Some(list) = required.as_array_mut()
            && !list.iter().any(|v| v == *last)
        {
            list.push(json!(last));
        }
    }
    let properties = object.entry("properties").or_insert_with(|| json!({}));
    let Some(slot) = properties.as_object_mut().map(|p| p.entry(*last).or_insert_with(|| json!({}))) else {
        return false;
    };
    constrain(slot, limit);
    true
}

/// Whether `Schema.property.property...` names something, following references.
fn exists(doc: &Value, segments: &[&str]) -> bool {
    let schemas = &doc["components"]["schemas"];
    let mut schema = &schemas[segments[0]];
    if schema.is_null() {
        return false;
    }
    for segment in &segments[1..] {
        let resolved = referenced(schemas, schema);
        match resolved.get("properties").and_then(|p| p.get(*segment)) {
            Some(next) => schema = next,
            None => return false,
        }
    }
    true
}

/// The schema a property refers to (directly, as nullable, or already with limits beside it).
fn referenced<'a>(schemas: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.pointer("/oneOf/0/$ref"))
        .or_else(|| schema.pointer("/allOf/0/$ref"))
        .or_else(|| schema.pointer("/oneOf/0/allOf/0/$ref"))
        .and_then(Value::as_str);
    match reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &schemas[name],
        None => schema,
    }
}

/// For a property `{"$ref": X}` or `{"oneOf": [{"$ref": X}, {"type": "null"}]}`: the object
/// beside the reference (`allOf: [{"$ref": X}, {...}]`) where further limits go. Made once;
/// later calls find it.
fn beside_reference(schema: &mut Value) -> &mut Value {
    let nullable = schema.get("oneOf").is_some();
    let wrapped = if nullable { schema.pointer("/oneOf/0/allOf/1") } else { schema.pointer("/allOf/1") };
    if wrapped.is_none() {
        let reference = schema.get("$ref").or_else(|| schema.pointer("/oneOf/0/$ref")).cloned();
        let Some(reference) = reference else { return schema };
        let description = schema.get("description").cloned();
        let mut replacement = json!({"allOf": [{"$ref": reference}, {"type": "object"}]});
        if nullable {
            replacement = json!({"oneOf": [replacement, {"type": "null"}]});
        }
        if let Some(description) = description {
            replacement["description"] = description;
        }
        *schema = replacement;
    }
    if nullable { &mut schema["oneOf"][0]["allOf"][1] } else { &mut schema["allOf"][1] }
}

/// `limit` written into one schema.
fn constrain(schema: &mut Value, limit: &Limit) {
    let nullable = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => schema.get("oneOf").is_some_and(|o| o.as_array().is_some_and(|a| a.iter().any(|s| s["type"] == "null"))),
    };
    if matches!(limit, Limit::Required) {
        // Present and not null.
        if let Some(Value::Array(types)) = schema.get_mut("type") {
            types.retain(|t| t != "null");
        } else if schema.get("type").is_none() && schema.get("oneOf").is_none() && schema.get("$ref").is_none() {
            schema["not"] = json!({"type": "null"});
        }
        return;
    }
    let Some(object) = schema.as_object_mut() else { return };
    for (key, value) in keywords(limit, nullable) {
        object.insert(key, value);
    }
    // A u32 is written `int32` by utoipa, which would rule out 2^31..2^32; the range says it.
    if matches!(limit, Limit::Integer { .. }) && object.get("format").is_some_and(|f| f == "int32") {
        object.remove("format");
    }
}

#[cfg(test)]
mod tests {
    use petty_core::validation::{optional_text, required_text};
    use regex::Regex;

    use super::*;

    /// Whether a string schema (the keywords this module writes) accepts `s`. Rust's `regex`
    /// reads these patterns as Python's `re` (what Schemathesis uses) and JavaScript do.
    fn accepts(schema: &Value, s: &str) -> bool {
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array)
            && !branches.iter().any(|b| accepts(b, s))
        {
            return false;
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array)
            && !values.iter().any(|v| v == s)
        {
            return false;
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && !compiled(pattern).is_match(s)
        {
            return false;
        }
        let chars = s.chars().count() as u64;
        if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| chars < min) {
            return false;
        }
        if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| chars > max) {
            return false;
        }
        true
    }

    /// Compiling a pattern costs far more than matching it: once per pattern.
    fn compiled(pattern: &str) -> Regex {
        thread_local! {
            static CACHE: std::cell::RefCell<std::collections::HashMap<String, Regex>> = Default::default();
        }
        CACHE.with(|cache| {
            cache
                .borrow_mut()
                .entry(pattern.to_owned())
                .or_insert_with(|| Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")))
                .clone()
        })
    }

    fn schema(limit: &Limit) -> Value {
        Value::Object(keywords(limit, false))
    }

    /// Every string of up to three characters from the characters validators treat specially
    /// (spaces of several kinds, controls that are spaces and controls that are not, letters of
    /// both cases, separators), and longer ones from a wider alphabet.
    fn corpus(extra: &[char]) -> Vec<String> {
        let mut core: Vec<char> =
            vec!['a', 'Z', 'é', '0', ' ', '\t', '\n', '\u{0B}', '\u{85}', '\u{3000}', '\0', '\u{7F}', '-', '😀'];
        core.extend_from_slice(extra);
        let mut wide = core.clone();
        wide.extend(['7', '\r', '\u{0C}', '\u{A0}', '\u{2003}', '\u{FEFF}', '\u{1F}', '\u{9F}', '.', ':']);
        let mut out = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for prefix in &frontier {
                for c in &core {
                    next.push(format!("{prefix}{c}"));
                }
            }
            out.extend(next.iter().cloned());
            frontier = next;
        }
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let len = (next() % 9) as usize;
            out.push((0..len).map(|_| wide[(next() % wide.len() as u64) as usize]).collect());
        }
        out
    }

    #[test]
    fn text_patterns_accept_exactly_what_the_text_validators_accept() {
        for max in [2, 4] {
            let required = schema(&Limit::Text { max });
            let optional = schema(&Limit::OptionalText { max });
            let trimmed = schema(&Limit::Trimmed { max, blank: false });
            let trimmed_blank = schema(&Limit::Trimmed { max, blank: true });
            for s in corpus(&[]) {
                assert_eq!(accepts(&required, &s), required_text("f", &s, max).is_ok(), "required {max}: {s:?}");
                assert_eq!(accepts(&optional, &s), optional_text("f", Some(&s), max).is_ok(), "optional {max}: {s:?}");
                let core = s.trim().chars().count();
                assert_eq!(accepts(&trimmed, &s), core >= 1 && core <= max, "trimmed {max}: {s:?}");
                assert_eq!(accepts(&trimmed_blank, &s), core <= max, "trimmed, blank {max}: {s:?}");
            }
        }
    }

    #[test]
    fn lenient_enumerations_accept_what_their_parsers_accept() {
        let species = schema(&Limit::OneOf {
            values: Species::ALL.iter().map(|s| s.as_str()).collect(),
            spelling: Spelling::AnyCase,
            blank: Blank::No,
        });
        assert_eq!(species["anyOf"][0]["enum"][0], "dog", "the canonical values come first");
        let mut tries: Vec<String> = corpus(&[]).into_iter().take(3000).collect();
        for word in ["dog", "cat", "Dog", " CAT ", "\tHorse\n", "dogs", "d og", "other", "OTHER\u{85}", "\u{0}dog"] {
            tries.push(word.to_owned());
        }
        for s in &tries {
            assert_eq!(accepts(&species, s), s.parse::<Species>().is_ok(), "species {s:?}");
        }
        let verdict =
            schema(&Limit::OneOf { values: vec!["confirmed", "wrong"], spelling: Spelling::Trimmed, blank: Blank::No });
        for (s, ok) in [("wrong", true), (" wrong\n", true), ("Wrong", false), ("", false), ("wrongly", false)] {
            assert_eq!(accepts(&verdict, s), ok, "verdict {s:?}");
        }
        let sex = schema(&Limit::OneOf {
            values: Sex::ALL.iter().map(|s| s.as_str()).collect(),
            spelling: Spelling::AnyCase,
            blank: Blank::Spaces,
        });
        for s in tries.iter().map(String::as_str).chain(["Male", " female ", "", "  ", "unknown", "x"]) {
            let parsed = match s.trim() {
                "" => true,
                other => other.parse::<Sex>().is_ok(),
            };
            assert_eq!(accepts(&sex, s), parsed, "sex {s:?}");
        }
    }

    #[test]
    fn formats_refuse_only_what_the_validators_refuse() {
        let today = time::macros::date!(2026 - 11 - 22);
        let pet = |f: &dyn Fn(&mut petty_core::pets::RawPetProfile)| {
            let mut raw =
                petty_core::pets::RawPetProfile { name: "Bella".into(), species: "dog".into(), ..Default::default() };
            f(&mut raw);
            petty_core::pets::PetProfile::parse(&raw, today).is_ok()
        };
        let doc = limit_schemas();
        let field = |target: &str| doc.iter().find(|(t, _)| t == target).map(|(_, s)| s.clone()).unwrap();
        let (dob, chip, photo) = (field("PetIn.date_of_birth"), field("PetIn.microchip_id"), field("PetIn.photo_url"));
        let mut tries = corpus(&['1', '2', '/', 'h', '"']);
        for s in [
            "2021-04-30",
            " 2021-04-30 ",
            "2021-+4-30",
            "21-04-30",
            "2021-04-30x",
            "985112003456789",
            "985 112-003.456 789",
            "a1b2c3d4e",
            "a1b2c3d4e5f",
            "a1b2c3d4",
            "a1b2c3d4e5f6a7b8",
            "https://x.org/a.png",
            "/p.png",
            "ftp://x",
            "https://x.org/a b",
            "http://x/\"",
            " /a ",
        ] {
            tries.push(s.to_owned());
        }
        for s in &tries {
            if !accepts(&dob, s) {
                assert!(
                    !pet(&|r| r.date_of_birth = Some(s.clone())),
                    "date_of_birth {s:?} is refused by the schema only"
                );
            }
            if !accepts(&chip, s) {
                assert!(
                    !pet(&|r| r.microchip_id = Some(s.clone())),
                    "microchip_id {s:?} is refused by the schema only"
                );
            }
            if !accepts(&photo, s) {
                assert!(!pet(&|r| r.photo_url = Some(s.clone())), "photo_url {s:?} is refused by the schema only");
            }
        }
        let device = |serial: &str| {
            petty_core::devices::DeviceProfile::parse(&petty_core::devices::RawDeviceProfile {
                name: "collar".into(),
                kind: "collar".into(),
                serial: Some(serial.to_owned()),
                ..Default::default()
            })
            .is_ok()
        };
        let serial = field("DeviceIn.serial");
        for s in tries.iter().map(String::as_str).chain(["SN-123456", " SN:1.2_3 ", "SN 1", "ÄB"]) {
            assert_eq!(accepts(&serial, s), device(s), "serial {s:?}");
        }
        let phone = field("ContactIn.phone");
        for s in tries.iter().map(String::as_str).chain(["+14155552671", "0044 20 7946 0958", "4155552671", "+1 (415)"])
        {
            if !accepts(&phone, s) {
                assert!(
                    !s.trim().is_empty() && petty_core::phone::Phone::parse(s).is_err(),
                    "phone {s:?} is refused by the schema only"
                );
            }
        }
        let hhmm = field("QuietIn.start");
        for s in tries.iter().map(String::as_str).chain(["22:00", "07:30", "24:00", "7:30", "+1:30", "0:005", "23:59"])
        {
            assert_eq!(accepts(&hhmm, s), crate::api::alarms::parse_hhmm("start", s).is_ok(), "quiet hours {s:?}");
        }
    }

    #[test]
    fn names_of_numbers_follow_the_key_rule() {
        let names = schema(&Limit::Names { max: 3, reserved: Vec::new() });
        let pattern = names["propertyNames"]["pattern"].as_str().unwrap();
        let regex = Regex::new(pattern).unwrap();
        let long = "a".repeat(readings::KEY_MAX);
        for s in corpus(&['_', 'b', 'Q']).iter().map(String::as_str).chain([long.as_str(), &format!("{long}b")]) {
            assert_eq!(regex.is_match(s), readings::is_key_name(s), "{s:?}");
        }
    }

    /// Each schema-property target's keywords, as written into a document.
    fn limit_schemas() -> Vec<(String, Value)> {
        let mut doc = serde_json::to_value(crate::routes::built_openapi()).unwrap();
        assert!(apply(&mut doc).is_empty());
        limits()
            .into_iter()
            .filter(|(target, _)| !target.contains('?') && target.matches('.').count() == 1)
            .map(|(target, _)| {
                let (schema, property) = target.split_once('.').unwrap();
                let value = doc["components"]["schemas"][schema]["properties"][property].clone();
                (target, value)
            })
            .collect()
    }
}
