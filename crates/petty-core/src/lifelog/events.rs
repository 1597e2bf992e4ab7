//! Life events: their types, their subject, their checked content and derived impact scores.
//!
//! The content follows the AURORA contract's field rules exactly (`compat/aurora.md`, "Life
//! events"). `event_data` arrives as JSON; the edge passes its top-level entries as an
//! [`EventData`] (numbers, texts, booleans; anything nested is only known to be there) with the
//! serialised size, and keeps the JSON text itself to echo it back exactly. The core reads only
//! the scalar entries the predictions need (`duration_hours`, `energy_level`, `mood_score`, ...).

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{LifeEventId, PetId, UserId};
use crate::validation::{Collector, FieldError, Invalid};

use super::round;

/// What kind of thing happened. The first fifteen are the contract's known types; `Medication`
/// and `Grooming` are Petty's (events of a pet); any other word matching
/// `^[a-z][a-z0-9_]{0,49}$` is kept as [`EventType::Custom`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Sleep,
    Exercise,
    Activity,
    Work,
    Social,
    Emotion,
    Mood,
    Health,
    Meal,
    Walk,
    Rest,
    Stress,
    Travel,
    Learning,
    Entertainment,
    Medication,
    Grooming,
    /// Another word, already checked against the pattern.
    Custom(String),
}

impl EventType {
    /// Every named type, the contract's fifteen first.
    pub const KNOWN: [EventType; 17] = [
        EventType::Sleep,
        EventType::Exercise,
        EventType::Activity,
        EventType::Work,
        EventType::Social,
        EventType::Emotion,
        EventType::Mood,
        EventType::Health,
        EventType::Meal,
        EventType::Walk,
        EventType::Rest,
        EventType::Stress,
        EventType::Travel,
        EventType::Learning,
        EventType::Entertainment,
        EventType::Medication,
        EventType::Grooming,
    ];

    /// The types a pet's events may have.
    pub const FOR_PETS: [EventType; 4] = [EventType::Meal, EventType::Walk, EventType::Medication, EventType::Grooming];

    pub const MAX_LEN: usize = 50;

    pub fn as_str(&self) -> &str {
        match self {
            EventType::Sleep => "sleep",
            EventType::Exercise => "exercise",
            EventType::Activity => "activity",
            EventType::Work => "work",
            EventType::Social => "social",
            EventType::Emotion => "emotion",
            EventType::Mood => "mood",
            EventType::Health => "health",
            EventType::Meal => "meal",
            EventType::Walk => "walk",
            EventType::Rest => "rest",
            EventType::Stress => "stress",
            EventType::Travel => "travel",
            EventType::Learning => "learning",
            EventType::Entertainment => "entertainment",
            EventType::Medication => "medication",
            EventType::Grooming => "grooming",
            EventType::Custom(word) => word,
        }
    }

    /// Trims and lower-cases `raw`, then checks it: empty is `too_short`, anything but
    /// `^[a-z][a-z0-9_]{0,49}$` is `format`.
    pub fn parse(field: &str, raw: &str) -> Result<EventType, Invalid> {
        let word = raw.trim().to_lowercase();
        if word.is_empty() {
            return Err(Invalid::one(field, "too_short", format!("{field} must have at least 1 character")));
        }
        let mut chars = word.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !first_ok || !rest_ok || word.len() > Self::MAX_LEN {
            return Err(Invalid::one(
                field,
                "format",
                format!("{field} must match ^[a-z][a-z0-9_]{{0,49}}$ (a lower-case word of at most 50 characters)"),
            ));
        }
        Ok(Self::KNOWN.iter().find(|t| t.as_str() == word).cloned().unwrap_or(EventType::Custom(word)))
    }

    /// Workouts, as the predictions count them.
    pub fn is_workout(&self) -> bool {
        matches!(self, EventType::Exercise | EventType::Activity)
    }

    /// The contract's impact score of the type.
    pub fn impact_score(&self) -> f64 {
        match self {
            EventType::Sleep => 0.8,
            EventType::Exercise | EventType::Health => 0.7,
            EventType::Activity => 0.6,
            EventType::Emotion | EventType::Social => 0.5,
            EventType::Work => 0.4,
            _ => 0.3,
        }
    }

    /// The contract's energy impact of the type.
    pub fn energy_impact(&self) -> f64 {
        match self {
            EventType::Sleep | EventType::Exercise | EventType::Rest => 0.5,
            EventType::Work | EventType::Stress => -0.3,
            _ => 0.0,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose life an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Person(UserId),
    /// A pet's meal, walk, medication given or grooming ([`EventType::FOR_PETS`]).
    Pet(PetId),
}

impl Subject {
    /// `person` or `pet`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Person(_) => "person",
            Subject::Pet(_) => "pet",
        }
    }
}

/// One top-level value of `event_data`.
#[derive(Debug, Clone, PartialEq)]
pub enum DataValue {
    Number(f64),
    Text(String),
    Bool(bool),
    Null,
    /// An object or a list: kept by the edge, not read here.
    Nested,
}

/// The top-level entries of an event's `event_data`, in the order they came.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventData(Vec<(String, DataValue)>);

impl EventData {
    pub fn new() -> EventData {
        EventData::default()
    }

    /// Sets `key` (replacing an earlier value of it).
    pub fn insert(&mut self, key: impl Into<String>, value: DataValue) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key, value)),
        }
    }

    /// With `key` set to a number (a builder for tests and the simulator).
    pub fn with_number(mut self, key: &str, value: f64) -> EventData {
        self.insert(key, DataValue::Number(value));
        self
    }

    /// With `key` set to a text.
    pub fn with_text(mut self, key: &str, value: &str) -> EventData {
        self.insert(key, DataValue::Text(value.to_owned()));
        self
    }

    pub fn get(&self, key: &str) -> Option<&DataValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A finite number at `key`; texts, booleans and the rest are not numbers.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(DataValue::Number(n)) if n.is_finite() => Some(*n),
            _ => None,
        }
    }

    /// A number at `key` within `lo..=hi`.
    pub fn number_in(&self, key: &str, lo: f64, hi: f64) -> Option<f64> {
        self.number(key).filter(|n| (lo..=hi).contains(n))
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(DataValue::Text(t)) => Some(t),
            _ => None,
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &DataValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Emotions whose `event_data.type` counts as positive.
pub const POSITIVE_EMOTIONS: [&str; 10] =
    ["happy", "joy", "joyful", "excited", "grateful", "content", "calm", "relaxed", "proud", "hopeful"];
/// Emotions whose `event_data.type` counts as negative.
pub const NEGATIVE_EMOTIONS: [&str; 10] =
    ["sad", "angry", "stressed", "anxious", "frustrated", "lonely", "tired", "afraid", "upset", "depressed"];

/// An event's derived scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impact {
    pub impact_score: f64,
    pub energy_impact: f64,
    pub mood_impact: f64,
}

pub const TITLE_MAX: usize = 200;
pub const CATEGORY_MAX: usize = 50;
pub const DESCRIPTION_MAX: usize = 5000;
/// `event_data`, serialised.
pub const DATA_MAX_BYTES: usize = 16 * 1024;
/// `context`, serialised.
pub const CONTEXT_MAX_BYTES: usize = 4 * 1024;
pub const DURATION_MAX_MINUTES: i64 = 10_080;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX: usize = 50;
pub const SOURCE_MAX: usize = 30;
pub const BATCH_MAX: usize = 100;

/// An event as it arrives from outside, before any check. `None` means the field was absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawLifeEvent {
    pub event_type: Option<String>,
    pub title: Option<String>,
    /// ISO 8601; without an offset it is UTC.
    pub event_time: Option<String>,
    pub event_category: Option<String>,
    pub description: Option<String>,
    pub event_data: EventData,
    /// The serialised size of `event_data` as the client sent it, in bytes.
    pub event_data_bytes: usize,
    /// The serialised size of `context`, in bytes (the core does not read `context`).
    pub context_bytes: usize,
    pub duration_minutes: Option<i64>,
    pub tags: Vec<String>,
    pub source: Option<String>,
}

/// A life event's content, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct EventContent {
    pub event_type: EventType,
    pub title: String,
    pub event_time: OffsetDateTime,
    pub event_category: Option<String>,
    pub description: Option<String>,
    pub event_data: EventData,
    pub duration_minutes: Option<u32>,
    pub tags: Vec<String>,
    /// `manual` unless the client said otherwise.
    pub source: String,
}

/// A kept life event.
#[derive(Debug, Clone, PartialEq)]
pub struct LifeEvent {
    pub id: LifeEventId,
    pub subject: Subject,
    pub content: EventContent,
    pub created_at: OffsetDateTime,
    /// `None` until the event is changed.
    pub updated_at: Option<OffsetDateTime>,
}

impl AsRef<EventContent> for LifeEvent {
    fn as_ref(&self) -> &EventContent {
        &self.content
    }
}

impl AsRef<EventContent> for EventContent {
    fn as_ref(&self) -> &EventContent {
        self
    }
}

impl EventContent {
    /// A minimal event (no category, description, tags; source `manual`), for tests and the
    /// simulator; nothing is checked.
    pub fn new(event_type: EventType, title: &str, event_time: OffsetDateTime) -> EventContent {
        EventContent {
            event_type,
            title: title.to_owned(),
            event_time,
            event_category: None,
            description: None,
            event_data: EventData::new(),
            duration_minutes: None,
            tags: Vec::new(),
            source: "manual".to_owned(),
        }
    }

    pub fn with_duration(mut self, minutes: u32) -> EventContent {
        self.duration_minutes = Some(minutes);
        self
    }

    pub fn with_data(mut self, data: EventData) -> EventContent {
        self.event_data = data;
        self
    }

    /// Checks every field by the contract's rules, naming each that is wrong, in field order.
    /// `now` bounds `event_time` (at most 24 hours ahead). A pet's events must be of a type in
    /// [`EventType::FOR_PETS`].
    pub fn parse(raw: &RawLifeEvent, subject: &Subject, now: OffsetDateTime) -> Result<EventContent, Invalid> {
        let mut c = Collector::new();
        let event_type = match &raw.event_type {
            None => missing(&mut c, "event_type"),
            Some(t) => c.take(EventType::parse("event_type", t)),
        };
        if let (Some(t), Subject::Pet(_)) = (&event_type, subject)
            && !EventType::FOR_PETS.contains(t)
        {
            c.push(FieldError::new(
                "event_type",
                "one_of",
                "a pet's event_type must be one of: meal, walk, medication, grooming",
            ));
        }
        let title = match &raw.title {
            None => missing(&mut c, "title"),
            Some(t) => c.take(text("title", t, 1, TITLE_MAX)),
        };
        let event_time = match &raw.event_time {
            None => missing(&mut c, "event_time"),
            Some(t) => c.take(parse_event_time("event_time", t, now)),
        };
        let event_category = c.take(optional("event_category", raw.event_category.as_deref(), CATEGORY_MAX));
        let description = c.take(optional("description", raw.description.as_deref(), DESCRIPTION_MAX));
        if raw.event_data_bytes > DATA_MAX_BYTES {
            c.push(FieldError::new(
                "event_data",
                "too_long",
                format!("event_data must be at most {DATA_MAX_BYTES} bytes serialised (got {})", raw.event_data_bytes),
            ));
        }
        if raw.context_bytes > CONTEXT_MAX_BYTES {
            c.push(FieldError::new(
                "context",
                "too_long",
                format!("context must be at most {CONTEXT_MAX_BYTES} bytes serialised (got {})", raw.context_bytes),
            ));
        }
        let duration_minutes = match raw.duration_minutes {
            None => Some(None),
            Some(d) if d < 0 => {
                c.push(FieldError::new("duration_minutes", "min", "duration_minutes must be at least 0"));
                None
            }
            Some(d) if d > DURATION_MAX_MINUTES => {
                c.push(FieldError::new(
                    "duration_minutes",
                    "max",
                    format!("duration_minutes must be at most {DURATION_MAX_MINUTES}"),
                ));
                None
            }
            Some(d) => Some(u32::try_from(d).ok()),
        };
        if raw.tags.len() > TAGS_MAX {
            c.push(FieldError::new(
                "tags",
                "too_long",
                format!("tags must have at most {TAGS_MAX} items (got {})", raw.tags.len()),
            ));
        }
        let mut tags = Vec::with_capacity(raw.tags.len());
        for (i, tag) in raw.tags.iter().enumerate() {
            if let Some(t) = c.take(text(&format!("tags.{i}"), tag, 1, TAG_MAX)) {
                tags.push(t);
            }
        }
        let source = match raw.source.as_deref() {
            None => Some("manual".to_owned()),
            Some(s) => c.take(parse_source(s)),
        };
        c.finish()?;
        match (event_type, title, event_time, event_category, description, duration_minutes, source) {
            (
                Some(event_type),
                Some(title),
                Some(event_time),
                Some(event_category),
                Some(description),
                Some(duration_minutes),
                Some(source),
            ) => Ok(EventContent {
                event_type,
                title,
                event_time,
                event_category,
                description,
                event_data: raw.event_data.clone(),
                duration_minutes,
                tags,
                source,
            }),
            // Every `None` above pushed an error, so `finish` returned it.
            _ => Err(Invalid::one("event", "required", "the event is incomplete")),
        }
    }

    /// `duration_minutes`, else `event_data.duration_hours` × 60, else
    /// `event_data.duration_minutes`; `None` when the event has none (it is then left out of
    /// duration averages, never counted as zero).
    pub fn duration(&self) -> Option<f64> {
        self.duration_minutes
            .map(f64::from)
            .or_else(|| self.event_data.number("duration_hours").map(|h| h * 60.0))
            .or_else(|| self.event_data.number("duration_minutes"))
            .filter(|m| *m >= 0.0)
    }

    /// `event_time + duration_minutes` (the field only), else `None`.
    pub fn end_time(&self) -> Option<OffsetDateTime> {
        self.duration_minutes.map(|m| self.event_time + time::Duration::minutes(i64::from(m)))
    }

    /// The contract's derived scores.
    pub fn impact(&self) -> Impact {
        Impact {
            impact_score: self.event_type.impact_score(),
            energy_impact: self.event_type.energy_impact(),
            mood_impact: self.mood_impact(),
        }
    }

    /// An emotion event's positive (0.7) or negative (−0.5) type, else 0; a numeric
    /// `mood_score` s in 0–10 on any event decides instead: round((s − 5) / 5, 2).
    pub fn mood_impact(&self) -> f64 {
        if let Some(s) = self.event_data.number_in("mood_score", 0.0, 10.0) {
            return round((s - 5.0) / 5.0, 2);
        }
        match self.emotion_valence() {
            Some(true) => 0.7,
            Some(false) => -0.5,
            None => 0.0,
        }
    }

    /// For an emotion event: whether its `event_data.type` is a positive (`true`) or negative
    /// (`false`) emotion; `None` for other events and unknown emotions.
    pub fn emotion_valence(&self) -> Option<bool> {
        if self.event_type != EventType::Emotion {
            return None;
        }
        let kind = self.event_data.text("type")?.trim().to_lowercase();
        if POSITIVE_EMOTIONS.contains(&kind.as_str()) {
            Some(true)
        } else if NEGATIVE_EMOTIONS.contains(&kind.as_str()) {
            Some(false)
        } else {
            None
        }
    }
}

/// Checks a batch (1–[`BATCH_MAX`] events, all or nothing). Errors name `events` (too few or
/// too many) or `events.{i}.{field}`.
pub fn parse_batch(
    raws: &[RawLifeEvent],
    subject: &Subject,
    now: OffsetDateTime,
) -> Result<Vec<EventContent>, Invalid> {
    if raws.is_empty() {
        return Err(Invalid::one("events", "too_short", "events must have at least 1 item"));
    }
    if raws.len() > BATCH_MAX {
        return Err(Invalid::one(
            "events",
            "too_long",
            format!("events must have at most {BATCH_MAX} items (got {})", raws.len()),
        ));
    }
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        match EventContent::parse(raw, subject, now) {
            Ok(content) => out.push(content),
            Err(Invalid(errs)) => errors.extend(errs.into_iter().map(|mut e| {
                e.field = format!("events.{i}.{}", e.field);
                e
            })),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(Invalid(errors)) }
}

fn missing<T>(c: &mut Collector, field: &str) -> Option<T> {
    c.push(FieldError::new(field, "required", format!("{field} is required")));
    None
}

/// A text of `min..=max` characters, kept as given (no control characters but tab and newlines).
fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let len = value.chars().count();
    if len < min || value.trim().is_empty() {
        return Err(Invalid::one(field, "too_short", format!("{field} must have at least {min} character")));
    }
    if len > max {
        return Err(Invalid::one(field, "too_long", format!("{field} must have at most {max} characters (got {len})")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(Invalid::one(field, "format", format!("{field} must not contain control characters")));
    }
    Ok(value.to_owned())
}

/// An optional text; absent or empty means none.
fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, 0, max).map(Some),
    }
}

fn parse_source(raw: &str) -> Result<String, Invalid> {
    let len = raw.chars().count();
    if len == 0 {
        return Err(Invalid::one("source", "too_short", "source must have at least 1 character"));
    }
    if len > SOURCE_MAX {
        return Err(Invalid::one("source", "too_long", format!("source must have at most {SOURCE_MAX} characters")));
    }
    if !raw.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Err(Invalid::one("source", "format", "source must match ^[a-z_]{1,30}$"));
    }
    Ok(raw.to_owned())
}

/// The earliest `event_time` accepted: 2000-01-01T00:00:00Z.
pub const EARLIEST_UNIX: i64 = 946_684_800;

/// ISO 8601 with or without an offset (none means UTC), `T` or a space between date and time,
/// or a date alone (midnight UTC); from 2000-01-01 to `now` + 24 h.
pub fn parse_event_time(field: &str, raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, Invalid> {
    let bad = || Invalid::one(field, "datetime", format!("{field} must be an ISO 8601 date and time"));
    let raw = raw.trim();
    let at = if let Ok(ts) = raw.parse::<jiff::Timestamp>() {
        // jiff allows offsets up to ±25:59; ISO 8601 (and Python) stop below 24 hours.
        let sign = raw.get(10..).and_then(|tail| tail.rfind(['+', '-']).map(|i| i + 10));
        if sign.and_then(|i| raw.get(i + 1..i + 3)).and_then(|h| h.parse::<u8>().ok()).is_some_and(|h| h >= 24) {
            return Err(bad());
        }
        ts
    } else {
        // An offset that did not parse must not be dropped silently.
        let tail = raw.get(10..).unwrap_or("");
        if tail.contains(['Z', 'z', '+', '-', '[']) || raw.len() < 10 {
            return Err(bad());
        }
        let civil: jiff::civil::DateTime = raw.parse().map_err(|_| bad())?;
        civil.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| bad())?.timestamp()
    };
    let at = OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond()).map_err(|_| bad())?;
    if at.unix_timestamp() < EARLIEST_UNIX {
        return Err(Invalid::one(field, "out_of_range", format!("{field} must not be before 2000-01-01")));
    }
    if at > now + time::Duration::hours(24) {
        return Err(Invalid::one(
            field,
            "out_of_range",
            format!("{field} must not be more than 24 hours in the future"),
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

    fn person() -> Subject {
        Subject::Person(UserId::new())
    }

    fn raw(event_type: &str, title: &str, time: &str) -> RawLifeEvent {
        RawLifeEvent {
            event_type: Some(event_type.to_owned()),
            title: Some(title.to_owned()),
            event_time: Some(time.to_owned()),
            ..RawLifeEvent::default()
        }
    }

    fn rules(err: &Invalid) -> Vec<(String, &'static str)> {
        err.0.iter().map(|e| (e.field.clone(), e.rule)).collect()
    }

    #[test]
    fn a_good_event_is_trimmed_lower_cased_and_defaults_its_source() {
        let mut r = raw("  Sleep ", "Slept", "2026-11-21T23:00:00Z");
        r.duration_minutes = Some(450);
        r.event_data = EventData::new().with_number("quality", 7.0);
        r.tags = vec!["night".to_owned()];
        let e = EventContent::parse(&r, &person(), NOW).unwrap();
        assert_eq!(e.event_type, EventType::Sleep);
        assert_eq!(e.source, "manual");
        assert_eq!(e.event_time, datetime!(2026-11-21 23:00 UTC));
        assert_eq!(e.end_time(), Some(datetime!(2026-11-22 06:30 UTC)));
        assert_eq!(e.duration(), Some(450.0));
        let custom = EventContent::parse(&raw("test", "t", "2026-11-21T10:00:00"), &person(), NOW).unwrap();
        assert_eq!(custom.event_type, EventType::Custom("test".to_owned()));
    }

    #[test]
    fn every_broken_field_is_named_in_field_order() {
        let r = RawLifeEvent {
            event_type: Some(String::new()),
            title: None,
            event_time: Some("yesterday".to_owned()),
            event_category: Some("x".repeat(51)),
            description: Some("d".repeat(5001)),
            event_data_bytes: 16 * 1024 + 1,
            context_bytes: 4097,
            duration_minutes: Some(-1),
            tags: vec![String::new(), "t".repeat(51)],
            source: Some("Web".to_owned()),
            ..RawLifeEvent::default()
        };
        let err = EventContent::parse(&r, &person(), NOW).unwrap_err();
        let expected: Vec<(String, &str)> = [
            ("event_type", "too_short"),
            ("title", "required"),
            ("event_time", "datetime"),
            ("event_category", "too_long"),
            ("description", "too_long"),
            ("event_data", "too_long"),
            ("context", "too_long"),
            ("duration_minutes", "min"),
            ("tags.0", "too_short"),
            ("tags.1", "too_long"),
            ("source", "format"),
        ]
        .into_iter()
        .map(|(f, r)| (f.to_owned(), r))
        .collect();
        assert_eq!(rules(&err), expected);
    }

    #[test]
    fn types_times_and_bounds_follow_the_contract() {
        let check = |t: &str, time: &str| EventContent::parse(&raw(t, "x", time), &person(), NOW);
        assert_eq!(rules(&check("1abc", "2026-01-01T00:00:00Z").unwrap_err()), [("event_type".to_owned(), "format")]);
        assert!(check(&"a".repeat(50), "2026-01-01T00:00:00Z").is_ok());
        assert!(check(&"a".repeat(51), "2026-01-01T00:00:00Z").is_err());
        assert!(check("walk", "2026-11-23T12:00:00Z").is_ok());
        let future = check("walk", "2026-11-23T12:00:01Z").unwrap_err();
        assert_eq!(future.0[0].rule, "out_of_range");
        assert_eq!(future.0[0].message, "event_time must not be more than 24 hours in the future");
        let past = check("walk", "1999-12-31T23:59:59Z").unwrap_err();
        assert_eq!(past.0[0].message, "event_time must not be before 2000-01-01");
        // No offset means UTC; an offset is honoured; a date alone is midnight.
        assert_eq!(check("walk", "2026-11-20T10:30:00").unwrap().event_time, datetime!(2026-11-20 10:30 UTC));
        assert_eq!(check("walk", "2026-11-20 10:30").unwrap().event_time, datetime!(2026-11-20 10:30 UTC));
        assert_eq!(check("walk", "2026-11-20T10:30:00+02:00").unwrap().event_time, datetime!(2026-11-20 08:30 UTC));
        assert_eq!(check("walk", "2026-11-20").unwrap().event_time, datetime!(2026-11-20 00:00 UTC));
        assert!(check("walk", "2026-11-20T10:30:00+24:00").is_err());
        assert!(check("walk", "2026-11-20T10:30:00+23:59").is_ok());
        let mut long = raw("work", "w", "2026-11-20T09:00:00Z");
        long.duration_minutes = Some(10_081);
        assert_eq!(
            rules(&EventContent::parse(&long, &person(), NOW).unwrap_err()),
            [("duration_minutes".to_owned(), "max")]
        );
        long.duration_minutes = Some(10_080);
        assert!(EventContent::parse(&long, &person(), NOW).is_ok());
        let mut many = raw("work", "w", "2026-11-20T09:00:00Z");
        many.tags = vec!["a".to_owned(); 21];
        assert_eq!(rules(&EventContent::parse(&many, &person(), NOW).unwrap_err()), [("tags".to_owned(), "too_long")]);
    }

    #[test]
    fn a_pets_events_are_meals_walks_medication_and_grooming() {
        let pet = Subject::Pet(PetId::new());
        for t in ["meal", "walk", "medication", "grooming"] {
            assert!(EventContent::parse(&raw(t, "Bella", "2026-11-20T09:00:00Z"), &pet, NOW).is_ok(), "{t}");
        }
        let err = EventContent::parse(&raw("work", "Bella", "2026-11-20T09:00:00Z"), &pet, NOW).unwrap_err();
        assert_eq!(rules(&err), [("event_type".to_owned(), "one_of")]);
    }

    #[test]
    fn derived_scores_follow_the_contract() {
        let at = datetime!(2026-11-20 09:00 UTC);
        let score = |t: EventType| EventContent::new(t, "x", at).impact();
        assert_eq!(score(EventType::Sleep), Impact { impact_score: 0.8, energy_impact: 0.5, mood_impact: 0.0 });
        assert_eq!(score(EventType::Work).energy_impact, -0.3);
        assert_eq!(score(EventType::Stress).energy_impact, -0.3);
        assert_eq!(score(EventType::Custom("test".to_owned())).impact_score, 0.3);
        let emotion = |kind: &str| {
            EventContent::new(EventType::Emotion, "felt", at)
                .with_data(EventData::new().with_text("type", kind))
                .impact()
        };
        assert_eq!(emotion("Happy").mood_impact, 0.7);
        assert_eq!(emotion("lonely").mood_impact, -0.5);
        assert_eq!(emotion("bored").mood_impact, 0.0);
        let scored =
            EventContent::new(EventType::Mood, "m", at).with_data(EventData::new().with_number("mood_score", 8.0));
        assert_eq!(scored.impact().mood_impact, 0.6);
        // A duration from the data when the field is absent; none is none, never zero.
        let hours =
            EventContent::new(EventType::Sleep, "s", at).with_data(EventData::new().with_number("duration_hours", 7.5));
        assert_eq!(hours.duration(), Some(450.0));
        assert_eq!(hours.end_time(), None);
        assert_eq!(EventContent::new(EventType::Sleep, "s", at).duration(), None);
    }

    #[test]
    fn a_batch_is_all_or_nothing_and_names_the_item() {
        let good = raw("walk", "w", "2026-11-20T09:00:00Z");
        let bad = raw("", "w", "2026-11-20T09:00:00Z");
        assert_eq!(parse_batch(&[good.clone(), good.clone()], &person(), NOW).unwrap().len(), 2);
        let err = parse_batch(&[good.clone(), bad], &person(), NOW).unwrap_err();
        assert_eq!(rules(&err), [("events.1.event_type".to_owned(), "too_short")]);
        assert_eq!(parse_batch(&[], &person(), NOW).unwrap_err().0[0].rule, "too_short");
        assert_eq!(parse_batch(&vec![good; 101], &person(), NOW).unwrap_err().0[0].rule, "too_long");
    }
}
