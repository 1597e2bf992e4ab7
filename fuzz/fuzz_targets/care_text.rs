//! The care and life-log text parsers a request's fields reach: a reminder (its times, zone,
//! repeat and end), a local time, a time zone, and a life event (its type, time and the rest).
//! The input is split into fields at NUL bytes. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petty_core::lifelog::{EventContent, RawLifeEvent, Subject};
use petty_core::recurrence::{LocalTime, Zone};
use petty_core::reminders::{RawReminder, ReminderContent, parse_when};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut fields = text.split('\0');
    let mut next = || fields.next().map(str::to_owned);
    let (a, b, c, d) = (next().unwrap_or_default(), next(), next(), next());
    let utc = Zone::utc();
    let _ = LocalTime::parse("at", &a);
    let _ = parse_when("at", &a, &utc);
    let zone = b.as_deref().and_then(|z| Zone::parse("timezone", z).ok()).unwrap_or_else(Zone::utc);
    let raw = RawReminder {
        title: "Pill".into(),
        at: a.clone(),
        timezone: b.clone(),
        repeat: c.clone(),
        ends_at: d.clone(),
        ..RawReminder::default()
    };
    if let Ok(reminder) = ReminderContent::parse(&raw, &zone) {
        let _ = reminder.schedule.first();
    }
    let now = time::OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let event = RawLifeEvent {
        event_type: b,
        title: Some(a.clone()),
        event_time: Some(a),
        event_category: c,
        source: d,
        ..RawLifeEvent::default()
    };
    let _ = EventContent::parse(&event, &Subject::Person(petty_core::ids::UserId::new()), now);
});
