//! The Car-Bon profile's query parameters, decoded without the web framework: every route's
//! inputs arrive as `?name=value` pairs from an ESP32 or a script, so these are decoders of
//! outside input like any other (and a fuzz target, `fuzz/fuzz_targets/carbon_query.rs`, runs
//! them). A problem names its parameter and where it was (`query` or `path`), in FastAPI's words,
//! which the profile turns into the seed's 422.

use std::collections::HashMap;

use petty_core::chart::ChartKind;
use petty_core::phone::{Phone, PhoneError};
use petty_core::readings::{METRIC_COUNT, Metric, RawReading, RawTime, Reading};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The query string, as the framework hands it over.
pub type Params = HashMap<String, String>;

/// One parameter that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// `query` or `path`.
    pub location: &'static str,
    pub param: String,
    pub msg: String,
    /// FastAPI's error type (`value_error.missing`, `type_error.float`, ...).
    pub kind: &'static str,
}

impl ParamError {
    fn query(param: &str, msg: impl Into<String>, kind: &'static str) -> Self {
        ParamError { location: "query", param: param.to_owned(), msg: msg.into(), kind }
    }
}

/// Every problem with a request's parameters, as FastAPI lists them: all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub Vec<ParamError>);

impl From<ParamError> for Refusal {
    fn from(e: ParamError) -> Self {
        Refusal(vec![e])
    }
}

impl Refusal {
    /// The problems of the parameters decoded independently, or nothing when there are none.
    fn of(problems: impl IntoIterator<Item = Option<ParamError>>) -> Result<(), Refusal> {
        let all: Vec<ParamError> = problems.into_iter().flatten().collect();
        if all.is_empty() { Ok(()) } else { Err(Refusal(all)) }
    }

    /// The parameters named, in order.
    pub fn params(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.param.as_str()).collect()
    }
}

pub fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, ParamError> {
    p.get(name).map(String::as_str).ok_or_else(|| ParamError::query(name, "field required", "value_error.missing"))
}

pub fn number(p: &Params, name: &str) -> Result<f64, ParamError> {
    required(p, name)?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ParamError::query(name, "value is not a valid number", "type_error.float"))
}

pub fn integer(p: &Params, name: &str) -> Result<i64, ParamError> {
    required(p, name)?
        .trim()
        .parse()
        .map_err(|_| ParamError::query(name, "value is not a valid integer", "type_error.integer"))
}

/// An RFC 3339 time, or ISO 8601 without an offset (read as UTC, as FastAPI's datetime does),
/// or a bare date (its midnight); in milliseconds.
pub fn date(p: &Params, name: &str) -> Result<i64, ParamError> {
    let raw = required(p, name)?.trim();
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(petty_store::to_ms(t));
    }
    let with_time = if raw.len() == 10 { format!("{raw}T00:00:00Z") } else { format!("{raw}Z") };
    OffsetDateTime::parse(&with_time, &Rfc3339)
        .map(petty_store::to_ms)
        .map_err(|_| ParamError::query(name, "invalid datetime format", "value_error.datetime"))
}

/// What the ESP32 sends with each reading: `item_id`, `Temp`, `Hum`, `CO`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingParams<'a> {
    pub item_id: &'a str,
    pub temp: f64,
    pub hum: f64,
    pub co: f64,
}

/// The reading's parameters; every missing or malformed one is named.
pub fn reading(p: &Params) -> Result<ReadingParams<'_>, Refusal> {
    let item_id = required(p, "item_id");
    let (temp, hum, co) = (number(p, "Temp"), number(p, "Hum"), number(p, "CO"));
    Refusal::of([item_id.clone().err(), temp.clone().err(), hum.clone().err(), co.clone().err()])?;
    Ok(ReadingParams { item_id: item_id?, temp: temp?, hum: hum?, co: co? })
}

impl ReadingParams<'_> {
    /// The reading as Petty keeps it, taken at `now`; out-of-range values name their parameter.
    pub fn to_reading(&self, now: OffsetDateTime) -> Result<Reading, ParamError> {
        let mut values = [None; METRIC_COUNT];
        values[Metric::AmbientTempC.index()] = Some(self.temp);
        values[Metric::HumidityPct.index()] = Some(self.hum);
        values[Metric::CoRaw.index()] = Some(self.co);
        let raw = RawReading {
            ts: Some(RawTime::EpochMs(petty_store::to_ms(now))),
            // Two readings in the same millisecond are two readings, not one overwriting the other.
            seq: Some(i64::from(now.nanosecond() % 1_000_000)),
            values,
            location: None,
            extra: Vec::new(),
            accel: None,
        };
        Reading::parse(&raw, now).map_err(|e| {
            let first = e.0.first();
            let param = match first.map(|f| f.field.as_str()) {
                Some("ambient_temp_c") => "Temp",
                Some("humidity_pct") => "Hum",
                _ => "CO",
            };
            let msg = first.map_or_else(|| "invalid value".to_owned(), |f| f.message.clone());
            ParamError::query(param, msg, "value_error.number.not_in_range")
        })
    }
}

/// A device's readings between two Unix times (seconds, both included): `item_id`,
/// `from_timestamp`, `to_timestamp`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRange<'a> {
    pub item_id: &'a str,
    pub from: OffsetDateTime,
    /// One second past `to_timestamp`, so the range is half open.
    pub until: OffsetDateTime,
}

pub fn item_range(p: &Params) -> Result<ItemRange<'_>, Refusal> {
    let item_id = required(p, "item_id");
    let (from, to) = (integer(p, "from_timestamp"), integer(p, "to_timestamp"));
    Refusal::of([item_id.clone().err(), from.clone().err(), to.clone().err()])?;
    let (item_id, from, to) = (item_id?, from?, to?);
    let (Ok(from), Ok(until)) =
        (OffsetDateTime::from_unix_timestamp(from), OffsetDateTime::from_unix_timestamp(to.saturating_add(1)))
    else {
        return Err(ParamError::query("from_timestamp", "timestamp out of range", "value_error").into());
    };
    Ok(ItemRange { item_id, from, until })
}

/// The `{timestamp}` of `/Dynamo/items/{item_id}/{timestamp}`: one second, half open.
pub fn path_second(raw: &str) -> Result<Option<(OffsetDateTime, OffsetDateTime)>, ParamError> {
    let ts = raw.parse::<i64>().map_err(|_| ParamError {
        location: "path",
        param: "timestamp".to_owned(),
        msg: "value is not a valid integer".to_owned(),
        kind: "type_error.integer",
    })?;
    Ok(match (OffsetDateTime::from_unix_timestamp(ts), OffsetDateTime::from_unix_timestamp(ts.saturating_add(1))) {
        (Ok(from), Ok(until)) => Some((from, until)),
        // A second no calendar holds has no reading: not found rather than malformed.
        _ => None,
    })
}

/// The CO chart's parameters: `start_date`, `end_date`, `graph_type` (`Line` or `Bar`) and
/// `device` (default `ESP32`).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphParams<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    pub kind: ChartKind,
    pub serial: &'a str,
}

pub fn graph(p: &Params) -> Result<GraphParams<'_>, Refusal> {
    let (from, to) = (date(p, "start_date"), date(p, "end_date"));
    let kind = match p.get("graph_type").map(String::as_str) {
        None | Some("Line") => Ok(ChartKind::Line),
        Some("Bar") => Ok(ChartKind::Bar),
        Some(_) => Err(ParamError::query(
            "graph_type",
            "value is not a valid enumeration member; permitted: 'Line', 'Bar'",
            "type_error.enum",
        )),
    };
    Refusal::of([from.clone().err(), to.clone().err(), kind.clone().err()])?;
    let (from_ms, to_ms, kind) = (from?, to?, kind?);
    if from_ms >= to_ms {
        return Err(ParamError::query("end_date", "end_date must be after start_date", "value_error").into());
    }
    Ok(GraphParams { from_ms, to_ms, kind, serial: p.get("device").map_or("ESP32", String::as_str) })
}

/// A new user of `/user/new`: `name`, `registered_device_id`, `personal_contact` (a national
/// number) and `country`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUserParams<'a> {
    pub name: &'a str,
    pub device_serial: &'a str,
    pub phone: Phone,
}

pub fn new_user(p: &Params) -> Result<NewUserParams<'_>, Refusal> {
    let fields = (
        required(p, "name"),
        required(p, "registered_device_id"),
        required(p, "personal_contact"),
        required(p, "country"),
    );
    Refusal::of([fields.0.clone().err(), fields.1.clone().err(), fields.2.clone().err(), fields.3.clone().err()])?;
    let (name, device_serial, contact, country) = (fields.0?, fields.1?, fields.2?, fields.3?);
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ParamError::query("name", "name must be 1 to 80 characters", "value_error").into());
    }
    let phone = Phone::from_national(contact, country).map_err(|e| match e {
        PhoneError::UnknownCountry(_) => ParamError::query(
            "country",
            "unknown country: give its name (India, United States) or its ISO code",
            "value_error",
        ),
        e => ParamError::query("personal_contact", format!("personal_contact {e}"), "value_error"),
    })?;
    Ok(NewUserParams { name, device_serial, phone })
}

/// The text of `/notify/send_sms`: 1 to 1,600 characters (ten SMS segments).
pub fn sms_message(p: &Params) -> Result<&str, ParamError> {
    let message = required(p, "message")?;
    if message.trim().is_empty() || message.chars().count() > 1600 {
        return Err(ParamError::query("message", "message must be 1 to 1600 characters", "value_error"));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_reading_names_every_bad_parameter_at_once() {
        let ok = params(&[("item_id", "ESP32"), ("Temp", "21.5"), ("Hum", "40"), ("CO", "512")]);
        let r = reading(&ok).unwrap();
        assert_eq!((r.item_id, r.temp, r.hum, r.co), ("ESP32", 21.5, 40.0, 512.0));
        assert!(r.to_reading(OffsetDateTime::now_utc()).is_ok());

        let missing = params(&[("Temp", "21.5"), ("Hum", "40"), ("CO", "512")]);
        assert_eq!(reading(&missing).unwrap_err().params(), ["item_id"]);
        let nan = params(&[("item_id", "ESP32"), ("Temp", "21.5"), ("Hum", "NaN"), ("CO", "512")]);
        let e = reading(&nan).unwrap_err();
        assert_eq!((e.0[0].param.as_str(), e.0[0].kind), ("Hum", "type_error.float"));
        let bare = params(&[("Hum", "damp")]);
        assert_eq!(reading(&bare).unwrap_err().params(), ["item_id", "Temp", "Hum", "CO"]);
        let hot = params(&[("item_id", "ESP32"), ("Temp", "900"), ("Hum", "40"), ("CO", "512")]);
        let e = reading(&hot).unwrap().to_reading(OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(e.param, "Temp");
    }

    #[test]
    fn ranges_dates_and_charts_are_checked() {
        let far = params(&[("item_id", "x"), ("from_timestamp", "-999999999999999"), ("to_timestamp", "1")]);
        assert_eq!(item_range(&far).unwrap_err().params(), ["from_timestamp"]);
        assert_eq!(item_range(&params(&[])).unwrap_err().params(), ["item_id", "from_timestamp", "to_timestamp"]);
        assert_eq!(path_second("12a").unwrap_err().location, "path");
        assert_eq!(path_second(&i64::MAX.to_string()).unwrap(), None);
        let backwards = params(&[("start_date", "2026-02-02"), ("end_date", "2026-02-01")]);
        assert_eq!(graph(&backwards).unwrap_err().params(), ["end_date"]);
        let bar = params(&[("start_date", "2026-02-01T10:00:00"), ("end_date", "2026-02-02"), ("graph_type", "Bar")]);
        let g = graph(&bar).unwrap();
        assert_eq!((g.kind, g.serial), (ChartKind::Bar, "ESP32"));
        let wrong = params(&[("start_date", "soon"), ("end_date", "later"), ("graph_type", "Pie")]);
        assert_eq!(graph(&wrong).unwrap_err().params(), ["start_date", "end_date", "graph_type"]);
    }

    #[test]
    fn users_and_messages_are_checked() {
        let user = params(&[
            ("name", " Ravi "),
            ("registered_device_id", "ESP32"),
            ("personal_contact", "9876543210"),
            ("country", "India"),
        ]);
        let u = new_user(&user).unwrap();
        assert_eq!((u.name, u.phone.as_str()), ("Ravi", "+919876543210"));
        let mut nowhere = user.clone();
        nowhere.insert("country".into(), "Atlantis".into());
        assert_eq!(new_user(&nowhere).unwrap_err().params(), ["country"]);
        assert_eq!(
            new_user(&params(&[("name", "Ravi")])).unwrap_err().params(),
            ["registered_device_id", "personal_contact", "country"]
        );
        assert_eq!(sms_message(&params(&[("message", "  ")])).unwrap_err().param, "message");
        assert_eq!(sms_message(&params(&[("message", &"x".repeat(1601))])).unwrap_err().param, "message");
    }
}
