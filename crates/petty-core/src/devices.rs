//! Devices: collars, air monitors and other sensors that send readings.
//!
//! A device's profile is what its people can edit (name, kind, the pet it is worn by, how often it
//! should report, calibration constants). Its liveness is not stored: it is worked out from the last
//! time a reading arrived and the interval the device promised, by [`device_status`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use crate::ids::PetId;
use crate::readings::parse_named_numbers;
use crate::validation::{Collector, Invalid, optional_text, required_text};

/// What sort of sensor a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// Worn by a pet: heart rate, activity, temperature, location.
    Collar,
    /// Sits in a room: carbon monoxide, humidity, temperature.
    AirMonitor,
    /// Anything else that speaks the readings API.
    Other,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 3] = [DeviceKind::Collar, DeviceKind::AirMonitor, DeviceKind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Collar => "collar",
            DeviceKind::AirMonitor => "air_monitor",
            DeviceKind::Other => "other",
        }
    }
}

impl FromStr for DeviceKind {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_lowercase();
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| Invalid::one("kind", "one_of", "kind must be one of collar, air_monitor, other"))
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device profile as it arrives from outside, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct RawDeviceProfile {
    pub name: String,
    pub kind: String,
    pub pet_id: Option<uuid::Uuid>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub expected_interval_secs: Option<i64>,
    pub calibration: Vec<(String, f64)>,
    pub serial: Option<String>,
}

/// Everything about a device that its people can edit, already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceProfile {
    /// 1 to [`NAME_MAX`] characters, trimmed.
    pub name: String,
    pub kind: DeviceKind,
    /// The pet wearing or watched by the device, if any.
    pub pet_id: Option<PetId>,
    /// At most [`MODEL_MAX`] characters.
    pub model: Option<String>,
    /// At most [`FIRMWARE_MAX`] characters.
    pub firmware: Option<String>,
    /// How often the device promises to report, in seconds: 1 to [`INTERVAL_MAX_SECS`].
    pub expected_interval_secs: u32,
    /// Named constants the device's readings are corrected with (at most [`CALIBRATION_MAX`]).
    pub calibration: BTreeMap<String, f64>,
    /// The serial printed on the device (a Petty collar's `SN-123456`), unique across the
    /// installation: [`SERIAL_MAX`] characters at most, letters, digits and `-_.:`.
    pub serial: Option<String>,
}

pub const SERIAL_MAX: usize = 64;
pub const NAME_MAX: usize = 80;
pub const MODEL_MAX: usize = 80;
pub const FIRMWARE_MAX: usize = 40;
/// The reporting interval a device gets when it does not say.
pub const DEFAULT_INTERVAL_SECS: u32 = 60;
/// One day: a device that reports less often than daily cannot be told apart from a dead one.
pub const INTERVAL_MAX_SECS: u32 = 86_400;
pub const CALIBRATION_MAX: usize = 32;

impl DeviceProfile {
    /// Checks every field and reports every problem at once.
    pub fn parse(raw: &RawDeviceProfile) -> Result<DeviceProfile, Invalid> {
        let mut c = Collector::new();
        let name = c.take(required_text("name", &raw.name, NAME_MAX));
        let kind = c.take(raw.kind.parse::<DeviceKind>());
        let model = c.take(optional_text("model", raw.model.as_deref(), MODEL_MAX));
        let firmware = c.take(optional_text("firmware", raw.firmware.as_deref(), FIRMWARE_MAX));
        let interval = c.take(parse_interval(raw.expected_interval_secs));
        let calibration = c.take(parse_calibration(&raw.calibration));
        let serial = c.take(parse_serial(raw.serial.as_deref()));
        c.finish()?;
        match (name, kind, model, firmware, interval, calibration, serial) {
            (
                Some(name),
                Some(kind),
                Some(model),
                Some(firmware),
                Some(expected_interval_secs),
                Some(calibration),
                Some(serial),
            ) => Ok(DeviceProfile {
                name,
                kind,
                pet_id: raw.pet_id.map(PetId),
                model,
                firmware,
                expected_interval_secs,
                calibration,
                serial,
            }),
            _ => Err(Invalid::one("body", "invalid", "the device could not be read")),
        }
    }

    /// The profile in its outside form again, for forms that edit it.
    pub fn to_raw(&self) -> RawDeviceProfile {
        RawDeviceProfile {
            name: self.name.clone(),
            kind: self.kind.as_str().to_owned(),
            pet_id: self.pet_id.map(|p| p.0),
            model: self.model.clone(),
            firmware: self.firmware.clone(),
            expected_interval_secs: Some(i64::from(self.expected_interval_secs)),
            calibration: self.calibration.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            serial: self.serial.clone(),
        }
    }
}

/// A serial is optional; when given it is 1 to [`SERIAL_MAX`] of `A-Z a-z 0-9 - _ . :`, trimmed.
fn parse_serial(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(serial) = raw.map(str::trim) else { return Ok(None) };
    if serial.is_empty() {
        return Ok(None);
    }
    if serial.len() > SERIAL_MAX || !serial.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
        return Err(Invalid::one(
            "serial",
            "format",
            format!("serial must be at most {SERIAL_MAX} letters, digits, '-', '_', '.' or ':'"),
        ));
    }
    Ok(Some(serial.to_owned()))
}

fn parse_interval(raw: Option<i64>) -> Result<u32, Invalid> {
    let Some(secs) = raw else {
        return Ok(DEFAULT_INTERVAL_SECS);
    };
    match u32::try_from(secs) {
        Ok(secs) if (1..=INTERVAL_MAX_SECS).contains(&secs) => Ok(secs),
        _ => Err(Invalid::one(
            "expected_interval_secs",
            "out_of_range",
            format!("expected_interval_secs must be between 1 and {INTERVAL_MAX_SECS} seconds"),
        )),
    }
}

fn parse_calibration(raw: &[(String, f64)]) -> Result<BTreeMap<String, f64>, Invalid> {
    parse_named_numbers("calibration", raw, CALIBRATION_MAX, |_| None)
}

/// How recently a device has been heard from, measured in its own expected intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Heard from within [`STALE_AFTER_INTERVALS`] intervals.
    Online,
    /// Quiet for longer than that, but not beyond [`OFFLINE_AFTER_INTERVALS`] intervals.
    Stale,
    /// Quiet for longer than [`OFFLINE_AFTER_INTERVALS`] intervals.
    Offline,
    /// Nothing has ever arrived from it.
    NeverSeen,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Online => "online",
            DeviceStatus::Stale => "stale",
            DeviceStatus::Offline => "offline",
            DeviceStatus::NeverSeen => "never_seen",
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Missed intervals after which a device stops being online.
pub const STALE_AFTER_INTERVALS: u32 = 3;
/// Missed intervals after which a device counts as offline.
pub const OFFLINE_AFTER_INTERVALS: u32 = 10;
/// Battery percentage below which people are told to charge the device.
pub const LOW_BATTERY_PCT: f64 = 20.0;

/// Liveness from the last arrival: online while at most 3 expected intervals have passed, stale up to 10, offline after.
///
/// A last arrival later than `now` (clocks disagree) counts as online; an interval of 0 is read as 1 second.
pub fn device_status(
    last_seen: Option<OffsetDateTime>,
    expected_interval_secs: u32,
    now: OffsetDateTime,
) -> DeviceStatus {
    let Some(last_seen) = last_seen else {
        return DeviceStatus::NeverSeen;
    };
    let interval = i64::from(expected_interval_secs.max(1));
    let quiet = now - last_seen;
    if quiet <= Duration::seconds(interval * i64::from(STALE_AFTER_INTERVALS)) {
        DeviceStatus::Online
    } else if quiet <= Duration::seconds(interval * i64::from(OFFLINE_AFTER_INTERVALS)) {
        DeviceStatus::Stale
    } else {
        DeviceStatus::Offline
    }
}

/// Whether a reported battery level is low enough to warn about. An unknown level is not low.
pub fn battery_low(battery_pct: Option<f64>) -> bool {
    battery_pct.is_some_and(|p| p < LOW_BATTERY_PCT)
}

/// A change in a device's liveness or battery worth telling people about (later turned into
/// alarms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceEventKind {
    /// Heard from again after being stale or offline.
    BackOnline,
    Stale,
    Offline,
    BatteryLow,
    /// The battery is above the low mark again (charged or replaced).
    BatteryOk,
}

impl DeviceEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceEventKind::BackOnline => "back_online",
            DeviceEventKind::Stale => "stale",
            DeviceEventKind::Offline => "offline",
            DeviceEventKind::BatteryLow => "battery_low",
            DeviceEventKind::BatteryOk => "battery_ok",
        }
    }
}

impl FromStr for DeviceEventKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [Self::BackOnline, Self::Stale, Self::Offline, Self::BatteryLow, Self::BatteryOk]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// What changed between the liveness and battery state last noted and the state now. A device
/// that has never reported says nothing; one that goes from online straight to offline is
/// reported offline (not stale, then offline).
pub fn liveness_changes(
    noted: DeviceStatus,
    now: DeviceStatus,
    battery_low_noted: bool,
    battery_low_now: bool,
) -> Vec<DeviceEventKind> {
    let mut events = Vec::new();
    match (noted, now) {
        (a, b) if a == b => {}
        (_, DeviceStatus::Stale) => events.push(DeviceEventKind::Stale),
        (_, DeviceStatus::Offline) => events.push(DeviceEventKind::Offline),
        (DeviceStatus::Stale | DeviceStatus::Offline, DeviceStatus::Online) => events.push(DeviceEventKind::BackOnline),
        _ => {}
    }
    match (battery_low_noted, battery_low_now) {
        (false, true) => events.push(DeviceEventKind::BatteryLow),
        (true, false) => events.push(DeviceEventKind::BatteryOk),
        _ => {}
    }
    events
}

impl FromStr for DeviceStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [DeviceStatus::Online, DeviceStatus::Stale, DeviceStatus::Offline, DeviceStatus::NeverSeen]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readings::KEY_MAX;
    use time::macros::datetime;

    fn raw() -> RawDeviceProfile {
        RawDeviceProfile { name: "Bella's collar".into(), kind: "collar".into(), ..Default::default() }
    }

    fn fields(err: &Invalid) -> Vec<(&str, &str)> {
        err.0.iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    #[test]
    fn serials_are_optional_trimmed_and_plain() {
        let with = |s: &str| DeviceProfile::parse(&RawDeviceProfile { serial: Some(s.into()), ..raw() });
        assert_eq!(with(" SN-123456 ").unwrap().serial.as_deref(), Some("SN-123456"));
        assert_eq!(with("").unwrap().serial, None);
        assert_eq!(fields(&with("SN 1").unwrap_err()), [("serial", "format")]);
        assert_eq!(fields(&with(&"A".repeat(65)).unwrap_err()), [("serial", "format")]);
    }

    #[test]
    fn kinds_read_their_own_names_loosely() {
        for kind in DeviceKind::ALL {
            assert_eq!(kind.as_str().parse::<DeviceKind>().unwrap(), kind);
        }
        assert_eq!(" Air_Monitor\n".parse::<DeviceKind>().unwrap(), DeviceKind::AirMonitor);
        assert_eq!("COLLAR".parse::<DeviceKind>().unwrap(), DeviceKind::Collar);
        let err = "toaster".parse::<DeviceKind>().unwrap_err();
        assert_eq!(fields(&err), [("kind", "one_of")]);
        assert!(err.0[0].message.contains("air_monitor"));
    }

    #[test]
    fn a_minimal_device_gets_defaults() {
        let p = DeviceProfile::parse(&RawDeviceProfile { name: "  Hall  ".into(), ..raw() }).unwrap();
        assert_eq!(p.name, "Hall");
        assert_eq!(p.kind, DeviceKind::Collar);
        assert_eq!(p.pet_id, None);
        assert_eq!(p.model, None);
        assert_eq!(p.firmware, None);
        assert_eq!(p.expected_interval_secs, DEFAULT_INTERVAL_SECS);
        assert_eq!(p.expected_interval_secs, 60);
        assert!(p.calibration.is_empty());
    }

    #[test]
    fn blank_model_and_firmware_mean_none() {
        let p = DeviceProfile::parse(&RawDeviceProfile {
            model: Some("  ".into()),
            firmware: Some(String::new()),
            ..raw()
        })
        .unwrap();
        assert_eq!((p.model, p.firmware), (None, None));
    }

    #[test]
    fn text_limits() {
        let ok = RawDeviceProfile {
            name: "n".repeat(NAME_MAX),
            model: Some("m".repeat(MODEL_MAX)),
            firmware: Some("f".repeat(FIRMWARE_MAX)),
            ..raw()
        };
        assert!(DeviceProfile::parse(&ok).is_ok());
        let long = RawDeviceProfile {
            name: "n".repeat(NAME_MAX + 1),
            model: Some("m".repeat(MODEL_MAX + 1)),
            firmware: Some("f".repeat(FIRMWARE_MAX + 1)),
            ..raw()
        };
        let err = DeviceProfile::parse(&long).unwrap_err();
        assert_eq!(fields(&err), [("name", "too_long"), ("model", "too_long"), ("firmware", "too_long")]);
        let empty = DeviceProfile::parse(&RawDeviceProfile { name: " ".into(), ..raw() }).unwrap_err();
        assert_eq!(fields(&empty), [("name", "required")]);
    }

    #[test]
    fn interval_limits() {
        let with = |secs| DeviceProfile::parse(&RawDeviceProfile { expected_interval_secs: Some(secs), ..raw() });
        assert_eq!(with(1).unwrap().expected_interval_secs, 1);
        assert_eq!(with(86_400).unwrap().expected_interval_secs, 86_400);
        for bad in [0, -1, 86_401, i64::MAX, i64::MIN] {
            let err = with(bad).unwrap_err();
            assert_eq!(fields(&err), [("expected_interval_secs", "out_of_range")], "{bad}");
            assert!(err.0[0].message.contains("between 1 and 86400"));
        }
    }

    #[test]
    fn calibration_entries_are_checked() {
        let with = |entries: Vec<(&str, f64)>| {
            DeviceProfile::parse(&RawDeviceProfile {
                calibration: entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                ..raw()
            })
        };
        let p = with(vec![("co_offset", -1.5), ("gain2", 1.02)]).unwrap();
        assert_eq!(p.calibration.get("co_offset"), Some(&-1.5));
        assert_eq!(p.calibration.get("gain2"), Some(&1.02));

        let longest = "k".repeat(KEY_MAX);
        assert!(with(vec![(longest.as_str(), 1.0)]).is_ok());
        let too_long = "k".repeat(KEY_MAX + 1);
        let err = with(vec![
            ("Gain", 1.0),
            ("2gain", 1.0),
            ("", 1.0),
            ("co-offset", 1.0),
            (too_long.as_str(), 1.0),
            ("offset", f64::NAN),
            ("scale", f64::INFINITY),
            ("ok", 1.0),
            ("ok", 2.0),
        ])
        .unwrap_err();
        let long_field = format!("calibration.{too_long}");
        assert_eq!(
            fields(&err),
            [
                ("calibration.Gain", "format"),
                ("calibration.2gain", "format"),
                ("calibration.", "format"),
                ("calibration.co-offset", "format"),
                (long_field.as_str(), "format"),
                ("calibration.offset", "out_of_range"),
                ("calibration.scale", "out_of_range"),
                ("calibration.ok", "format"),
            ]
        );
    }

    #[test]
    fn calibration_holds_at_most_32_entries() {
        let entries = |n: usize| (0..n).map(|i| (format!("k{i}"), 1.0)).collect::<Vec<_>>();
        let p = DeviceProfile::parse(&RawDeviceProfile { calibration: entries(CALIBRATION_MAX), ..raw() }).unwrap();
        assert_eq!(p.calibration.len(), 32);
        let err =
            DeviceProfile::parse(&RawDeviceProfile { calibration: entries(CALIBRATION_MAX + 1), ..raw() }).unwrap_err();
        assert_eq!(fields(&err), [("calibration", "too_many")]);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = RawDeviceProfile {
            name: String::new(),
            kind: "drone".into(),
            pet_id: None,
            model: Some("m".repeat(81)),
            firmware: Some("f".repeat(41)),
            expected_interval_secs: Some(0),
            calibration: vec![("Bad Key".into(), 1.0)],
            serial: None,
        };
        let err = DeviceProfile::parse(&bad).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                ("name", "required"),
                ("kind", "one_of"),
                ("model", "too_long"),
                ("firmware", "too_long"),
                ("expected_interval_secs", "out_of_range"),
                ("calibration.Bad Key", "format"),
            ]
        );
    }

    #[test]
    fn raw_round_trip() {
        let pet = PetId::new();
        let r = RawDeviceProfile {
            name: "Kitchen air".into(),
            kind: "air_monitor".into(),
            pet_id: Some(pet.0),
            model: Some("MQ-7 board".into()),
            firmware: Some("1.4.2".into()),
            expected_interval_secs: Some(300),
            calibration: vec![("r0".into(), 10.5), ("offset".into(), -0.25)],
            serial: None,
        };
        let p = DeviceProfile::parse(&r).unwrap();
        assert_eq!(p.pet_id, Some(pet));
        assert_eq!(p.kind, DeviceKind::AirMonitor);
        assert_eq!(DeviceProfile::parse(&p.to_raw()).unwrap(), p);
        // A defaulted interval is written out explicitly.
        let minimal = DeviceProfile::parse(&raw()).unwrap();
        assert_eq!(minimal.to_raw().expected_interval_secs, Some(60));
        assert_eq!(DeviceProfile::parse(&minimal.to_raw()).unwrap(), minimal);
    }

    #[test]
    fn status_thresholds() {
        let now = datetime!(2026-11-22 06:00:00 UTC);
        let ago = |d: Duration| Some(now - d);
        let interval = 60;
        assert_eq!(device_status(None, interval, now), DeviceStatus::NeverSeen);
        assert_eq!(device_status(ago(Duration::ZERO), interval, now), DeviceStatus::Online);
        assert_eq!(device_status(ago(Duration::seconds(180)), interval, now), DeviceStatus::Online);
        let just_over = Duration::seconds(180) + Duration::milliseconds(1);
        assert_eq!(device_status(ago(just_over), interval, now), DeviceStatus::Stale);
        assert_eq!(device_status(ago(Duration::seconds(600)), interval, now), DeviceStatus::Stale);
        let just_over = Duration::seconds(600) + Duration::milliseconds(1);
        assert_eq!(device_status(ago(just_over), interval, now), DeviceStatus::Offline);
        assert_eq!(device_status(ago(Duration::days(30)), interval, now), DeviceStatus::Offline);
        // A clock ahead of ours is not a dead device.
        assert_eq!(device_status(Some(now + Duration::minutes(1)), interval, now), DeviceStatus::Online);
        // The thresholds scale with the interval.
        assert_eq!(device_status(ago(Duration::hours(3)), 3_600, now), DeviceStatus::Online);
        assert_eq!(device_status(ago(Duration::hours(4)), 3_600, now), DeviceStatus::Stale);
        assert_eq!(device_status(ago(Duration::hours(11)), 3_600, now), DeviceStatus::Offline);
        // The longest interval does not overflow.
        assert_eq!(device_status(ago(Duration::days(10)), u32::MAX, now), DeviceStatus::Online);
    }

    #[test]
    fn status_names() {
        let names: Vec<_> = [DeviceStatus::Online, DeviceStatus::Stale, DeviceStatus::Offline, DeviceStatus::NeverSeen]
            .into_iter()
            .map(DeviceStatus::as_str)
            .collect();
        assert_eq!(names, ["online", "stale", "offline", "never_seen"]);
        assert_eq!(DeviceKind::AirMonitor.to_string(), "air_monitor");
    }

    #[test]
    fn low_battery_is_below_twenty_percent() {
        assert!(!battery_low(None));
        assert!(battery_low(Some(0.0)));
        assert!(battery_low(Some(19.9)));
        assert!(!battery_low(Some(20.0)));
        assert!(!battery_low(Some(87.0)));
        assert!(!battery_low(Some(f64::NAN)));
    }

    #[test]
    fn liveness_changes_are_reported_once_each() {
        use DeviceEventKind as E;
        use DeviceStatus as S;
        assert_eq!(liveness_changes(S::NeverSeen, S::Online, false, false), []);
        assert_eq!(liveness_changes(S::Online, S::Online, false, false), []);
        assert_eq!(liveness_changes(S::Online, S::Stale, false, false), [E::Stale]);
        assert_eq!(liveness_changes(S::Online, S::Offline, false, false), [E::Offline], "straight to offline");
        assert_eq!(liveness_changes(S::Stale, S::Offline, false, false), [E::Offline]);
        assert_eq!(liveness_changes(S::Offline, S::Online, false, true), [E::BackOnline, E::BatteryLow]);
        assert_eq!(liveness_changes(S::Online, S::Online, true, true), [], "a low battery is noted once");
        assert_eq!(liveness_changes(S::Online, S::Online, true, false), [E::BatteryOk]);
    }
}
