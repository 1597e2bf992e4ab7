//! Reminders: what to remember, for which pet, when (a [`Schedule`]), how to be told, and
//! what completing, skipping and snoozing do to them.
//!
//! `due_at` is the occurrence waiting to be done. Completing a repeating reminder moves it to
//! the first occurrence strictly after both now and the current one: occurrences missed
//! meanwhile are skipped, not stacked. Completing a one-off reminder, or a repeating one with
//! no occurrence left before its end, completes it for good.

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use crate::ids::{HouseholdId, PetId, UserId};
use crate::recurrence::{LocalTime, Repeat, Schedule, Zone};
use crate::validation::{Collector, Invalid, optional_text, required_text};

/// A way a reminder reaches people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// In the app: the dashboard, the WebSocket (and web push where configured).
    Push,
    Email,
    Sms,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Push, Method::Email, Method::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Push => "push",
            Method::Email => "email",
            Method::Sms => "sms",
        }
    }

    /// `push,email` as stored; unknown names are dropped.
    pub fn parse_list(stored: &str) -> Vec<Method> {
        stored.split(',').filter_map(|m| m.parse().ok()).collect()
    }

    pub fn join(methods: &[Method]) -> String {
        methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl FromStr for Method {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| Invalid::one("methods", "one_of", "methods items must be one of: email, push, sms"))
    }
}

/// Where a reminder came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Someone wrote it.
    User,
    /// Petty keeps it: a vaccine series' next dose.
    Vaccination,
    /// A calendar file brought it (its UID is kept, so importing again updates it).
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::Vaccination => "vaccination",
            Source::Import => "import",
        }
    }
}

impl FromStr for Source {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Source::User),
            "vaccination" => Ok(Source::Vaccination),
            "import" => Ok(Source::Import),
            _ => Err(Invalid::one("source", "one_of", "source must be one of: user, vaccination, import")),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;
/// How late an occurrence may be noticed (after the server was down) and still be sent.
pub const LATE_SEND_LIMIT: Duration = Duration::hours(24);
/// The longest snooze.
pub const SNOOZE_MAX: Duration = Duration::days(30);

/// What a person writes about a reminder, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderContent {
    pub pet_id: Option<PetId>,
    pub title: String,
    pub description: Option<String>,
    pub schedule: Schedule,
    pub methods: Vec<Method>,
}

/// A reminder as it arrives from outside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawReminder {
    pub pet_id: Option<PetId>,
    pub title: String,
    pub description: Option<String>,
    /// `YYYY-MM-DDTHH:MM[:SS]` local time in `timezone`, or an instant with an offset or `Z`.
    pub at: String,
    pub timezone: Option<String>,
    pub repeat: Option<String>,
    /// An instant (with an offset) or a local time; no occurrence after it.
    pub ends_at: Option<String>,
    pub methods: Option<Vec<String>>,
}

impl ReminderContent {
    /// Checks every field; `default_zone` is used when the reminder names none.
    pub fn parse(raw: &RawReminder, default_zone: &Zone) -> Result<ReminderContent, Invalid> {
        let mut c = Collector::new();
        let title = c.take(required_text("title", &raw.title, TITLE_MAX));
        let description = c.take(optional_text("description", raw.description.as_deref(), DESCRIPTION_MAX));
        let zone = match raw.timezone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
            Some(z) => c.take(Zone::parse("timezone", z)),
            None => Some(default_zone.clone()),
        };
        let repeat = c.take(match raw.repeat.as_deref().map(str::trim).filter(|r| !r.is_empty() && *r != "none") {
            Some(r) => r.parse::<Repeat>().map(Some),
            None => Ok(None),
        });
        let methods = c.take(parse_methods(raw.methods.as_deref()));
        let (anchor, ends_at) = match &zone {
            Some(zone) => (
                c.take(parse_when("at", &raw.at, zone)),
                c.take(match raw.ends_at.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                    Some(e) => parse_when("ends_at", e, zone).and_then(|local| {
                        zone.instant_of(local)
                            .map(Some)
                            .ok_or_else(|| Invalid::one("ends_at", "format", "ends_at must be an ISO 8601 date-time"))
                    }),
                    None => Ok(None),
                }),
            ),
            None => (None, None),
        };
        c.finish()?;
        match (title, description, zone, repeat, methods, anchor, ends_at) {
            (Some(title), Some(description), Some(zone), Some(repeat), Some(methods), Some(anchor), Some(ends_at)) => {
                let schedule = Schedule { anchor, zone, repeat, ends_at };
                if schedule.first().is_none() {
                    return Err(Invalid::one(
                        "ends_at",
                        "out_of_range",
                        "ends_at must not be before the first occurrence",
                    ));
                }
                Ok(ReminderContent { pet_id: raw.pet_id, title, description, schedule, methods })
            }
            _ => Err(Invalid::one("body", "invalid", "the reminder could not be read")),
        }
    }
}

/// A date-time in `zone`'s local time: written without an offset it is local; with `Z` or an
/// offset it is that instant, seen in the zone.
pub fn parse_when(field: &str, raw: &str, zone: &Zone) -> Result<LocalTime, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Invalid::one(field, "required", format!("{field} is required")));
    }
    // Text that splits a character at byte 16 is no date-time; `LocalTime::parse` says so.
    let has_offset =
        raw.get(16..).is_some_and(|tail| !tail.is_empty() && (tail.ends_with(['Z', 'z']) || tail.contains(['+', '-'])));
    if has_offset {
        let at = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
            .map_err(|_| Invalid::one(field, "format", format!("{field} must be an ISO 8601 date-time")))?;
        return Ok(zone.local_at(at));
    }
    LocalTime::parse(field, raw)
}

fn parse_methods(raw: Option<&[String]>) -> Result<Vec<Method>, Invalid> {
    let Some(raw) = raw else { return Ok(vec![Method::Push]) };
    if raw.is_empty() {
        return Err(Invalid::one("methods", "required", "methods must name at least one of: email, push, sms"));
    }
    let mut out = Vec::new();
    for m in raw {
        let m: Method = m.parse()?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out.sort();
    Ok(out)
}

/// A stored reminder.
#[derive(Debug, Clone, PartialEq)]
pub struct Reminder {
    pub id: uuid::Uuid,
    pub household_id: HouseholdId,
    pub content: ReminderContent,
    /// The occurrence waiting to be done.
    pub due_at: OffsetDateTime,
    /// Set once the reminder is done for good.
    pub completed_at: Option<OffsetDateTime>,
    pub last_completed_at: Option<OffsetDateTime>,
    pub completed_count: i64,
    pub snoozed_until: Option<OffsetDateTime>,
    /// The latest occurrence people were told of (or that was too late to tell).
    pub notified_upto: OffsetDateTime,
    pub source: Source,
    /// Vaccination reminders: the series they follow.
    pub series: Option<String>,
    /// Imported reminders: the calendar event's UID.
    pub external_uid: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a reminder's list can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    /// Not completed.
    Pending,
    /// Not completed and due before now.
    Overdue,
    Completed,
}

impl FromStr for StatusFilter {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "all" => Ok(StatusFilter::All),
            "pending" => Ok(StatusFilter::Pending),
            "overdue" => Ok(StatusFilter::Overdue),
            "completed" => Ok(StatusFilter::Completed),
            _ => Err(Invalid::one("status", "one_of", "status must be one of: all, pending, overdue, completed")),
        }
    }
}

impl Reminder {
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        !self.is_completed() && self.due_at < now
    }

    /// Done: a repeating reminder moves on to its first occurrence after both now and the
    /// current one; otherwise it is completed.
    pub fn complete(&mut self, now: OffsetDateTime) {
        self.last_completed_at = Some(now);
        self.completed_count += 1;
        self.snoozed_until = None;
        self.advance_past(now);
    }

    /// Not done, but this occurrence is over: like completing, without counting it.
    pub fn skip(&mut self, now: OffsetDateTime) {
        self.snoozed_until = None;
        self.advance_past(now);
    }

    fn advance_past(&mut self, now: OffsetDateTime) {
        let after = now.max(self.due_at);
        match self.content.schedule.repeat.and_then(|_| self.content.schedule.next_after(after)) {
            Some(next) => {
                self.due_at = next;
                // Whatever came before the new occurrence needs no more telling.
                self.notified_upto = self.notified_upto.max(now.min(next - Duration::seconds(1)));
            }
            None => {
                self.completed_at = Some(now);
            }
        }
    }

    /// Tell again at `until` (at most [`SNOOZE_MAX`] away).
    pub fn snooze(&mut self, until: OffsetDateTime, now: OffsetDateTime) -> Result<(), Invalid> {
        if self.is_completed() {
            return Err(Invalid::one("until", "completed", "a completed reminder cannot be snoozed"));
        }
        if until <= now || until > now + SNOOZE_MAX {
            return Err(Invalid::one("until", "out_of_range", "until must be in the future and at most 30 days away"));
        }
        self.snoozed_until = Some(until);
        Ok(())
    }

    /// When the reminder job should look at this reminder next: the first occurrence after
    /// the ones already told of, or the end of a snooze; `None` once completed.
    pub fn next_notify_at(&self) -> Option<OffsetDateTime> {
        if self.is_completed() {
            return None;
        }
        let next = if self.due_at > self.notified_upto {
            Some(self.due_at)
        } else {
            self.content.schedule.next_after(self.notified_upto)
        };
        match (next, self.snoozed_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What the reminder job does at `now`: which occurrence to tell of (the latest one due,
    /// when at most [`LATE_SEND_LIMIT`] late; older ones are passed over quietly) and whether
    /// a snooze ended. Moves `notified_upto` and clears an ended snooze.
    pub fn due_notice(&mut self, now: OffsetDateTime) -> Option<Notice> {
        if self.is_completed() {
            return None;
        }
        let mut notice = None;
        let latest = if self.due_at > self.notified_upto && self.due_at <= now {
            // The waiting occurrence, or a later one if the schedule has moved on since.
            Some(self.content.schedule.latest_at_or_before(now).unwrap_or(self.due_at).max(self.due_at))
        } else {
            self.content.schedule.latest_at_or_before(now).filter(|t| *t > self.notified_upto)
        };
        if let Some(occurrence) = latest {
            self.notified_upto = occurrence;
            if now - occurrence <= LATE_SEND_LIMIT {
                notice = Some(Notice { occurrence, snoozed: false });
            }
        }
        if let Some(until) = self.snoozed_until
            && until <= now
        {
            self.snoozed_until = None;
            if notice.is_none() && now - until <= LATE_SEND_LIMIT {
                notice = Some(Notice { occurrence: until, snoozed: true });
            }
        }
        notice
    }
}

/// One telling of a reminder: the occurrence it is for (or the end of a snooze).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub occurrence: OffsetDateTime,
    pub snoozed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn reminder(at: &str, repeat: Option<&str>) -> Reminder {
        let raw = RawReminder {
            title: "Heartworm pill".into(),
            at: at.into(),
            timezone: Some("Europe/Berlin".into()),
            repeat: repeat.map(Into::into),
            ..Default::default()
        };
        let content = ReminderContent::parse(&raw, &Zone::utc()).unwrap();
        let first = content.schedule.first().unwrap();
        Reminder {
            id: uuid::Uuid::nil(),
            household_id: HouseholdId(uuid::Uuid::nil()),
            content,
            due_at: first,
            completed_at: None,
            last_completed_at: None,
            completed_count: 0,
            snoozed_until: None,
            notified_upto: first - Duration::seconds(1),
            source: Source::User,
            series: None,
            external_uid: None,
            created_by: None,
            created_at: first,
            updated_at: first,
        }
    }

    #[test]
    fn times_that_split_a_character_are_refused_not_a_panic() {
        // Schemathesis found these: multi-byte characters across bytes 10 and 16.
        for raw in [
            "000\u{10000}\u{10000}\u{10000}\u{10000}",
            "00\u{80}\u{80}\u{10000}\u{80}\u{10000}",
            "2030-01-01T09:0\u{e9}Z",
        ] {
            assert!(parse_when("at", raw, &Zone::utc()).is_err(), "{raw:?}");
        }
        assert!(parse_when("at", "2030-01-01T09:00:00Z", &Zone::utc()).is_ok());
    }

    #[test]
    fn completing_a_repeating_reminder_skips_missed_occurrences() {
        let mut r = reminder("2024-03-01T09:00", Some("daily"));
        r.complete(datetime!(2024-03-05 12:00 UTC));
        assert_eq!(r.due_at, datetime!(2024-03-06 08:00 UTC));
        assert_eq!((r.completed_count, r.completed_at), (1, None));
    }

    #[test]
    fn completing_a_one_off_completes_it() {
        let mut r = reminder("2024-03-01T09:00", None);
        r.complete(datetime!(2024-03-01 09:00 UTC));
        assert_eq!(r.completed_at, Some(datetime!(2024-03-01 09:00 UTC)));
        assert_eq!(r.next_notify_at(), None);
    }

    #[test]
    fn each_occurrence_is_told_once_and_a_stale_one_not_at_all() {
        let mut r = reminder("2024-03-01T09:00", Some("daily"));
        assert_eq!(r.next_notify_at(), Some(datetime!(2024-03-01 08:00 UTC)));
        let n = r.due_notice(datetime!(2024-03-01 08:00:01 UTC)).unwrap();
        assert_eq!(n.occurrence, datetime!(2024-03-01 08:00 UTC));
        assert_eq!(r.due_notice(datetime!(2024-03-01 08:00:02 UTC)), None);
        assert_eq!(r.next_notify_at(), Some(datetime!(2024-03-02 08:00 UTC)));
        // Down for two days: only the latest occurrence is told, once.
        let n = r.due_notice(datetime!(2024-03-03 10:00 UTC)).unwrap();
        assert_eq!(n.occurrence, datetime!(2024-03-03 08:00 UTC));
        // Back more than a day after the latest occurrence: it passes quietly.
        let mut weekly = reminder("2024-03-01T09:00", Some("weekly"));
        assert_eq!(weekly.due_notice(datetime!(2024-03-09 09:00 UTC)), None);
        assert_eq!(weekly.notified_upto, datetime!(2024-03-08 08:00 UTC));
        assert_eq!(weekly.next_notify_at(), Some(datetime!(2024-03-15 08:00 UTC)));
    }

    #[test]
    fn a_snooze_tells_again() {
        let mut r = reminder("2024-03-01T09:00", None);
        r.due_notice(datetime!(2024-03-01 08:00 UTC)).unwrap();
        r.snooze(datetime!(2024-03-01 09:00 UTC), datetime!(2024-03-01 08:05 UTC)).unwrap();
        assert_eq!(r.next_notify_at(), Some(datetime!(2024-03-01 09:00 UTC)));
        let n = r.due_notice(datetime!(2024-03-01 09:00 UTC)).unwrap();
        assert!(n.snoozed);
        assert_eq!(r.next_notify_at(), None, "a one-off told twice waits to be completed");
        assert!(r.snooze(datetime!(2024-05-01 0:00 UTC), datetime!(2024-03-01 09:00 UTC)).is_err());
    }

    #[test]
    fn input_with_an_offset_is_seen_in_the_zone() {
        let r = reminder("2024-03-30T08:00:00Z", None);
        assert_eq!(r.content.schedule.anchor.to_string(), "2024-03-30T09:00:00");
        let bad = RawReminder {
            title: "".into(),
            at: "soon".into(),
            methods: Some(vec!["fax".into()]),
            timezone: Some("Nowhere/Land".into()),
            ..Default::default()
        };
        let err = ReminderContent::parse(&bad, &Zone::utc()).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "timezone", "methods"]);
    }
}
