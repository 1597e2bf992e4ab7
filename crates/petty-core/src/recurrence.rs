//! When a reminder comes round: occurrences computed from the anchor in the reminder's own
//! time zone, so they never drift and keep their wall-clock time across daylight saving.
//!
//! Every occurrence is the anchor's local date and time moved by a whole number of periods,
//! never the previous occurrence moved by one: a monthly reminder on the 31st falls on the last
//! day of shorter months and comes back to the 31st, a yearly one on 29 February falls on
//! 28 February and comes back in leap years. A local time that does not exist (the hour skipped
//! when clocks go forward) moves forward by the gap; one that happens twice (clocks going back)
//! is the earlier instant.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date as CivilDate, DateTime as CivilDateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use time::OffsetDateTime;

use crate::validation::Invalid;

/// How often a reminder repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repeat {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Repeat {
    pub const ALL: [Repeat; 4] = [Repeat::Daily, Repeat::Weekly, Repeat::Monthly, Repeat::Yearly];

    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::Daily => "daily",
            Repeat::Weekly => "weekly",
            Repeat::Monthly => "monthly",
            Repeat::Yearly => "yearly",
        }
    }

    /// The anchor moved by `n` periods, in local wall time.
    fn step(self, anchor: CivilDateTime, n: i64) -> Option<CivilDateTime> {
        let span = match self {
            Repeat::Daily => Span::new().try_days(n).ok()?,
            Repeat::Weekly => Span::new().try_weeks(n).ok()?,
            Repeat::Monthly => Span::new().try_months(n).ok()?,
            Repeat::Yearly => Span::new().try_years(n).ok()?,
        };
        // Civil arithmetic clamps the day to the month's last: 31 Jan + 1 month = 29 Feb.
        anchor.checked_add(span).ok()
    }

    /// A period's mean length in seconds, to jump close to an instant without walking there.
    fn mean_seconds(self) -> i64 {
        match self {
            Repeat::Daily => 86_400,
            Repeat::Weekly => 7 * 86_400,
            Repeat::Monthly => 2_629_746,
            Repeat::Yearly => 31_556_952,
        }
    }
}

impl FromStr for Repeat {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Repeat::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Invalid::one("repeat", "one_of", "repeat must be one of: daily, weekly, monthly, yearly"))
    }
}

impl fmt::Display for Repeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IANA time zone Petty knows, by the name it was given (`Europe/Paris`, `UTC`).
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    pub const NAME_MAX: usize = 64;

    /// `field` names the input in the error.
    pub fn parse(field: &str, name: &str) -> Result<Zone, Invalid> {
        let name = name.trim();
        let bad =
            || Invalid::one(field, "time_zone", format!("{field} must be an IANA time zone such as Europe/Paris"));
        if name.is_empty() || name.len() > Self::NAME_MAX {
            return Err(bad());
        }
        let tz = TimeZone::get(name).map_err(|_| bad())?;
        // The database's own spelling, so `europe/paris` is stored as `Europe/Paris`.
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Zone { name, tz })
    }

    pub fn utc() -> Zone {
        Zone { name: "UTC".to_owned(), tz: TimeZone::UTC }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The local date at an instant.
    pub fn date_at(&self, at: OffsetDateTime) -> time::Date {
        let local = to_timestamp(at).to_zoned(self.tz.clone()).date();
        civil_to_date(local).unwrap_or(at.date())
    }

    /// The instant a local wall time names here: a time skipped by the clocks moves forward
    /// by the gap, a repeated one is the earlier instant.
    pub fn instant_of(&self, local: LocalTime) -> Option<OffsetDateTime> {
        let zoned = local.0.to_zoned(self.tz.clone()).ok()?;
        from_timestamp(zoned.timestamp())
    }

    /// The local wall time at an instant.
    pub fn local_at(&self, at: OffsetDateTime) -> LocalTime {
        LocalTime(to_timestamp(at).to_zoned(self.tz.clone()).datetime())
    }

    /// Today's local date `days` later, at `hour`:00 local time.
    pub fn at_hour(&self, date: time::Date, hour: i8) -> Option<OffsetDateTime> {
        let civil = date_to_civil(date)?.at(hour, 0, 0, 0);
        self.instant_of(LocalTime(civil))
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A local date and time without a zone, to the second (`2024-01-31T09:00:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime(CivilDateTime);

impl LocalTime {
    /// `YYYY-MM-DDTHH:MM[:SS]`, no offset.
    pub fn parse(field: &str, raw: &str) -> Result<LocalTime, Invalid> {
        let bad = || Invalid::one(field, "format", format!("{field} must be an ISO 8601 date-time"));
        let raw = raw.trim();
        if raw.len() < 16 || !matches!(raw.as_bytes()[10], b'T' | b't' | b' ') {
            return Err(bad());
        }
        let dt: CivilDateTime = raw.replace([' ', 't'], "T").parse().map_err(|_| bad())?;
        Ok(LocalTime(dt.round(jiff::Unit::Second).map_err(|_| bad())?))
    }

    pub fn from_parts(date: time::Date, hour: u8, minute: u8) -> Option<LocalTime> {
        let civil = date_to_civil(date)?.at(i8::try_from(hour).ok()?, i8::try_from(minute).ok()?, 0, 0);
        Some(LocalTime(civil))
    }

    pub fn date(&self) -> Option<time::Date> {
        civil_to_date(self.0.date())
    }

    pub fn hour(&self) -> u8 {
        u8::try_from(self.0.hour()).unwrap_or(0)
    }

    pub fn minute(&self) -> u8 {
        u8::try_from(self.0.minute()).unwrap_or(0)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", d.year(), d.month(), d.day(), d.hour(), d.minute(), d.second())
    }
}

/// A reminder's timing: the first occurrence's local time in its zone, how it repeats, and
/// when it stops.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub anchor: LocalTime,
    pub zone: Zone,
    pub repeat: Option<Repeat>,
    /// No occurrence after this instant.
    pub ends_at: Option<OffsetDateTime>,
}

/// The most occurrences one question walks through, whatever it asks.
const WALK_MAX: i64 = 100_000;

impl Schedule {
    /// The `n`th occurrence (0 is the anchor), ignoring `ends_at`.
    fn nth(&self, n: i64) -> Option<OffsetDateTime> {
        let local = match self.repeat {
            None if n == 0 => self.anchor.0,
            None => return None,
            Some(r) => r.step(self.anchor.0, n)?,
        };
        self.zone.instant_of(LocalTime(local))
    }

    fn within_end(&self, at: OffsetDateTime) -> bool {
        self.ends_at.is_none_or(|end| at <= end)
    }

    /// The first occurrence.
    pub fn first(&self) -> Option<OffsetDateTime> {
        self.nth(0).filter(|t| self.within_end(*t))
    }

    /// A safe starting index for occurrences after `after`: a little before the estimate.
    fn start_index(&self, after: OffsetDateTime) -> i64 {
        let (Some(repeat), Some(first)) = (self.repeat, self.nth(0)) else { return 0 };
        let elapsed = (after - first).whole_seconds();
        (elapsed / repeat.mean_seconds() - 2).max(0)
    }

    /// The first occurrence strictly after `after`, if the schedule has one.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = self.start_index(after);
        // The estimate starts two periods short: a few steps reach the answer.
        for n in start..start + 64 {
            let at = self.nth(n)?;
            if at > after {
                return self.within_end(at).then_some(at);
            }
        }
        None
    }

    /// Occurrences in `[from, to)`, at most `limit`, earliest first.
    pub fn between(&self, from: OffsetDateTime, to: OffsetDateTime, limit: usize) -> Vec<OffsetDateTime> {
        let mut out = Vec::new();
        let start = self.start_index(from);
        for n in start..start + WALK_MAX {
            if out.len() >= limit {
                break;
            }
            let Some(at) = self.nth(n) else { break };
            if at >= to || !self.within_end(at) {
                break;
            }
            if at >= from {
                out.push(at);
            }
        }
        out
    }

    /// Occurrences at or after `from`, earliest first (within the end).
    pub fn forward_from(&self, from: OffsetDateTime) -> impl Iterator<Item = OffsetDateTime> + '_ {
        let start = self.start_index(from);
        (start..start + WALK_MAX)
            .map_while(move |n| self.nth(n))
            .skip_while(move |t| *t < from)
            .take_while(move |t| self.within_end(*t))
    }

    /// Occurrences before `before`, latest first (within the end).
    pub fn backward_from(&self, before: OffsetDateTime) -> impl Iterator<Item = OffsetDateTime> + '_ {
        // The first index at or after `before`: everything below it comes before.
        let start = self.start_index(before);
        let mut upto = start;
        while let Some(t) = self.nth(upto) {
            if t >= before || upto >= start + 64 {
                break;
            }
            upto += 1;
        }
        (0..upto).rev().filter_map(move |n| self.nth(n)).filter(move |t| *t < before && self.within_end(*t))
    }

    /// The latest occurrence at or before `at`, if any.
    pub fn latest_at_or_before(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = self.start_index(at);
        let mut latest = None;
        for n in start..start + 64 {
            let Some(t) = self.nth(n) else { break };
            if t > at || !self.within_end(t) {
                break;
            }
            latest = Some(t);
        }
        if latest.is_none() && start > 0 {
            // The estimate overshot (it never should by two periods); walk from the anchor.
            return self.between(OffsetDateTime::UNIX_EPOCH, at + time::Duration::seconds(1), usize::MAX).pop();
        }
        latest
    }
}

fn to_timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp::new(at.unix_timestamp(), i32::try_from(at.nanosecond()).unwrap_or(0)).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn from_timestamp(t: Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.as_second()).ok()
}

fn civil_to_date(d: CivilDate) -> Option<time::Date> {
    let month = time::Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
    time::Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
}

fn date_to_civil(d: time::Date) -> Option<CivilDate> {
    CivilDate::new(i16::try_from(d.year()).ok()?, i8::try_from(u8::from(d.month())).ok()?, i8::try_from(d.day()).ok()?)
        .ok()
}

/// The date `months` calendar months after `date`, the day clamped to the month's last
/// (2024-02-29 + 12 months = 2025-02-28).
pub fn add_months(date: time::Date, months: i64) -> Option<time::Date> {
    let civil = date_to_civil(date)?.checked_add(Span::new().try_months(months).ok()?).ok()?;
    civil_to_date(civil)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn schedule(anchor: &str, zone: &str, repeat: Option<Repeat>) -> Schedule {
        Schedule {
            anchor: LocalTime::parse("at", anchor).unwrap(),
            zone: Zone::parse("timezone", zone).unwrap(),
            repeat,
            ends_at: None,
        }
    }

    fn locals(s: &Schedule, n: usize) -> Vec<String> {
        let from = s.first().unwrap();
        s.between(from, from + time::Duration::days(4000), n)
            .into_iter()
            .map(|t| s.zone.local_at(t).to_string())
            .collect()
    }

    #[test]
    fn monthly_from_the_31st_clamps_and_comes_back() {
        let s = schedule("2024-01-31T09:00", "Europe/Berlin", Some(Repeat::Monthly));
        assert_eq!(
            locals(&s, 5),
            [
                "2024-01-31T09:00:00",
                "2024-02-29T09:00:00",
                "2024-03-31T09:00:00",
                "2024-04-30T09:00:00",
                "2024-05-31T09:00:00"
            ]
        );
    }

    #[test]
    fn daily_keeps_its_wall_time_across_spring_forward() {
        let s = schedule("2024-03-30T09:00", "Europe/Berlin", Some(Repeat::Daily));
        assert_eq!(s.first(), Some(datetime!(2024-03-30 08:00 UTC)));
        assert_eq!(s.next_after(datetime!(2024-03-30 08:00 UTC)), Some(datetime!(2024-03-31 07:00 UTC)));
    }

    #[test]
    fn a_skipped_wall_time_moves_forward_by_the_gap() {
        let s = schedule("2024-03-31T02:30", "Europe/Berlin", None);
        assert_eq!(s.first(), Some(datetime!(2024-03-31 01:30 UTC)));
        assert_eq!(s.zone.local_at(datetime!(2024-03-31 01:30 UTC)).to_string(), "2024-03-31T03:30:00");
    }

    #[test]
    fn a_repeated_wall_time_is_the_earlier_instant() {
        // 2024-10-27 02:30 happens twice in Berlin: first at 00:30Z (CEST), then 01:30Z (CET).
        let s = schedule("2024-10-27T02:30", "Europe/Berlin", None);
        assert_eq!(s.first(), Some(datetime!(2024-10-27 00:30 UTC)));
    }

    #[test]
    fn yearly_on_29_february() {
        let s = schedule("2024-02-29T09:00", "UTC", Some(Repeat::Yearly));
        let dates: Vec<String> = locals(&s, 5).into_iter().map(|l| l[..10].to_owned()).collect();
        assert_eq!(dates, ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]);
    }

    #[test]
    fn next_after_jumps_far_and_respects_the_end() {
        let mut s = schedule("2020-01-01T08:00", "America/New_York", Some(Repeat::Weekly));
        let t = s.next_after(datetime!(2026-06-10 00:00 UTC)).unwrap();
        assert_eq!(s.zone.local_at(t).to_string(), "2026-06-10T08:00:00");
        s.ends_at = Some(datetime!(2026-06-09 00:00 UTC));
        assert_eq!(s.next_after(datetime!(2026-06-08 00:00 UTC)), None);
        assert_eq!(
            s.latest_at_or_before(datetime!(2026-06-10 00:00 UTC)).map(|t| s.zone.local_at(t).to_string()).as_deref(),
            Some("2026-06-03T08:00:00")
        );
    }

    #[test]
    fn walking_both_ways_from_an_instant() {
        let s = schedule("2024-01-01T09:00", "UTC", Some(Repeat::Daily));
        let at = datetime!(2024-03-10 12:00 UTC);
        let ahead: Vec<_> = s.forward_from(at).take(2).collect();
        assert_eq!(ahead, [datetime!(2024-03-11 09:00 UTC), datetime!(2024-03-12 09:00 UTC)]);
        let back: Vec<_> = s.backward_from(at).take(2).collect();
        assert_eq!(back, [datetime!(2024-03-10 09:00 UTC), datetime!(2024-03-09 09:00 UTC)]);
        assert_eq!(s.backward_from(datetime!(2024-01-01 09:00 UTC)).count(), 0);
        let one = schedule("2024-01-01T09:00", "UTC", None);
        assert_eq!(one.backward_from(at).collect::<Vec<_>>(), [datetime!(2024-01-01 09:00 UTC)]);
        assert_eq!(one.forward_from(at).count(), 0);
    }

    #[test]
    fn a_one_off_has_one_occurrence() {
        let s = schedule("2025-05-01T10:15", "Asia/Tokyo", None);
        assert_eq!(s.first(), Some(datetime!(2025-05-01 01:15 UTC)));
        assert_eq!(s.next_after(datetime!(2025-05-01 01:15 UTC)), None);
        assert_eq!(s.between(datetime!(2025-01-01 0:00 UTC), datetime!(2026-01-01 0:00 UTC), 10).len(), 1);
    }

    #[test]
    fn zones_and_local_times_are_checked() {
        assert!(Zone::parse("timezone", "Mars/Olympus").is_err());
        assert_eq!(Zone::parse("timezone", "europe/paris").unwrap().name(), "Europe/Paris");
        assert!(LocalTime::parse("at", "2024-02-30T09:00").is_err());
        assert!(LocalTime::parse("at", "tomorrow").is_err());
        // Schemathesis found this one: a multi-byte character across byte 10 once panicked.
        assert!(LocalTime::parse("at", "00\u{80}\u{80}\u{10000}\u{80}\u{10000}").is_err());
        assert!(LocalTime::parse("at", "2024-02-03\u{e9}09:05").is_err());
        assert_eq!(LocalTime::parse("at", "2024-02-03 09:05").unwrap().to_string(), "2024-02-03T09:05:00");
    }

    #[test]
    fn months_clamp() {
        assert_eq!(add_months(date!(2024 - 02 - 29), 12), Some(date!(2025 - 02 - 28)));
        assert_eq!(add_months(date!(2024 - 05 - 20), 12), Some(date!(2025 - 05 - 20)));
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), Some(date!(2024 - 02 - 29)));
    }
}
