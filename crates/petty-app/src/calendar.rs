//! The household calendar: a feed that Google, Microsoft and Apple calendars subscribe to
//! (every pending reminder's occurrences, expanded by Petty's own recurrence so every calendar
//! shows the dates Petty notifies on, and each vaccine's due date), behind a revocable token;
//! and the import of `.ics` files into reminders.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use icalendar::Component;
use petty_core::accounts::Actor;
use petty_core::care::RecordKind;
use petty_core::ics::{IcsWriter, date_value, utc_stamp};
use petty_core::ids::{HouseholdId, PetId};
use petty_core::pets::format_date;
use petty_core::recurrence::{LocalTime, Repeat, Schedule, Zone};
use petty_core::reminders::{Method, Reminder, ReminderContent, Source};
use petty_store::{NewReminder, StoreError};
use time::{Duration, OffsetDateTime};

use crate::App;
use crate::care::CareError;

/// How far back and ahead the feed reaches, and how many reminder events it holds at most.
pub const FEED_PAST: Duration = Duration::days(30);
pub const FEED_AHEAD: Duration = Duration::days(365);
pub const FEED_MAX_EVENTS: usize = 1000;
/// How long each reminder event lasts in a calendar.
const EVENT_LENGTH: Duration = Duration::minutes(30);

/// Makes a new feed token for the household (the old one stops working).
pub async fn new_feed_token(app: &App, actor: &Actor) -> Result<String, crate::billing::BillingError> {
    crate::billing::check_limit(app, actor.household_id, petty_core::billing::Limited::CalendarFeed).await?;
    let (token, hash) = crate::secrets::new_secret("pcal_");
    app.store.set_calendar_feed(actor.household_id, &hash, actor.user_id(), app.now()).await?;
    Ok(token)
}

/// The household and its name a feed token opens, if it is current.
pub async fn feed_household(app: &App, token: &str) -> Result<Option<(HouseholdId, String)>, StoreError> {
    app.store.calendar_feed_household(&crate::secrets::secret_hash(token)).await
}

/// One event of the feed (also the calendar's JSON items).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    pub uid: String,
    pub summary: String,
    pub description: Option<String>,
    pub start: FeedStart,
    pub pet_id: Option<PetId>,
    pub reminder_id: Option<uuid::Uuid>,
    pub stamp: OffsetDateTime,
    pub category: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeedStart {
    At(OffsetDateTime),
    AllDay(time::Date),
}

/// The feed's events as of `now`: the reminder occurrences nearest to now (at most
/// [`FEED_MAX_EVENTS`]), then the vaccines' due days; reminders in time order.
pub async fn feed_events(
    app: &App,
    household_id: HouseholdId,
    now: OffsetDateTime,
) -> Result<Vec<FeedEvent>, StoreError> {
    let reminders = app.store.pending_reminders(household_id).await?;
    let pets: HashMap<PetId, String> = app
        .store
        .list_pets(household_id, &Default::default(), petty_core::paging::PageRequest { page: 1, page_size: 100_000 })
        .await?
        .items
        .into_iter()
        .map(|p| (p.id, p.profile.name))
        .collect();
    let mut nearest = nearest_occurrences(&reminders, now);
    nearest.sort_by_key(|(_, at)| *at);
    let mut events = nearest
        .into_iter()
        .map(|(i, at)| {
            let r = &reminders[i];
            let pet_name = r.content.pet_id.and_then(|p| pets.get(&p));
            FeedEvent {
                uid: format!("reminder-{}-{}@petty", r.id, utc_stamp(at)),
                summary: match pet_name {
                    Some(name) if !r.content.title.contains(name.as_str()) => format!("{} – {name}", r.content.title),
                    _ => r.content.title.clone(),
                },
                description: r.content.description.clone(),
                start: FeedStart::At(at),
                pet_id: r.content.pet_id,
                reminder_id: Some(r.id),
                stamp: r.updated_at,
                category: "REMINDER",
            }
        })
        .collect::<Vec<_>>();
    // Each vaccine series' due day.
    let records = app.store.records_of_kind(household_id, None, RecordKind::Vaccination).await?;
    let today = app.store.household_zone(household_id).await?.date_at(now);
    let mut by_pet: HashMap<PetId, Vec<petty_core::care::Record>> = HashMap::new();
    for r in records {
        by_pet.entry(r.pet_id).or_default().push(r);
    }
    let mut pet_ids: Vec<&PetId> = by_pet.keys().collect();
    pet_ids.sort();
    for pet_id in pet_ids {
        let Ok(pet) = app.store.get_pet(household_id, *pet_id).await else { continue };
        for s in petty_core::care::vaccine_statuses(&by_pet[pet_id], pet.profile.date_of_birth, today) {
            let slug: String = s.series.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
            events.push(FeedEvent {
                uid: format!("vaccine-{}-{}@petty", pet.id, slug),
                summary: format!("{} vaccination due – {}", s.label, pet.profile.name),
                description: Some(format!("Last dose {}.", format_date(s.last_dose))),
                start: FeedStart::AllDay(s.due),
                pet_id: Some(pet.id),
                reminder_id: None,
                stamp: pet.updated_at,
                category: "VACCINATION",
            });
        }
    }
    Ok(events)
}

/// Picks, over every reminder, the occurrences in the feed's window nearest to `now`, at most
/// [`FEED_MAX_EVENTS`]; walks each schedule outwards from now both ways and stops once enough
/// are found, so a daily reminder costs what it shows, not a year of dates.
fn nearest_occurrences(reminders: &[Reminder], now: OffsetDateTime) -> Vec<(usize, OffsetDateTime)> {
    let past_limit = now - FEED_PAST;
    let ahead_limit = now + FEED_AHEAD;
    type Walk<'a> = Box<dyn Iterator<Item = OffsetDateTime> + 'a>;
    let mut walks: Vec<(usize, Walk<'_>)> = Vec::new();
    for (i, r) in reminders.iter().enumerate() {
        // Occurrences before the one waiting were done or skipped: not shown.
        let lower = past_limit.max(r.due_at);
        let schedule: &Schedule = &r.content.schedule;
        walks.push((i, Box::new(schedule.forward_from(lower.max(now)).take_while(move |t| *t < ahead_limit))));
        if lower < now {
            walks.push((i, Box::new(schedule.backward_from(now).take_while(move |t| *t >= lower))));
        }
    }
    // A heap of each walk's next occurrence, nearest to now first.
    let mut heap = BinaryHeap::new();
    let mut nexts: Vec<Option<OffsetDateTime>> = Vec::with_capacity(walks.len());
    for (w, (_, walk)) in walks.iter_mut().enumerate() {
        let next = walk.next();
        if let Some(t) = next {
            heap.push(Reverse(((t - now).abs(), w)));
        }
        nexts.push(next);
    }
    let mut out = Vec::new();
    while out.len() < FEED_MAX_EVENTS {
        let Some(Reverse((_, w))) = heap.pop() else { break };
        let Some(t) = nexts[w] else { continue };
        out.push((walks[w].0, t));
        let next = walks[w].1.next();
        if let Some(n) = next {
            heap.push(Reverse(((n - now).abs(), w)));
        }
        nexts[w] = next;
    }
    out
}

/// The feed as iCalendar text, and its entity tag.
pub fn feed_ics(household_name: &str, events: &[FeedEvent]) -> (String, String) {
    let mut w = IcsWriter::new();
    w.line("BEGIN", "VCALENDAR");
    w.line("VERSION", "2.0");
    w.line("PRODID", "-//Petty//Pet Care Calendar//EN");
    w.line("CALSCALE", "GREGORIAN");
    w.line("METHOD", "PUBLISH");
    w.text("X-WR-CALNAME", &format!("Petty – {household_name}"));
    w.line("REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
    for e in events {
        w.line("BEGIN", "VEVENT");
        w.line("UID", &e.uid);
        w.stamp("DTSTAMP", e.stamp);
        match e.start {
            FeedStart::At(t) => {
                w.stamp("DTSTART", t);
                w.stamp("DTEND", t + EVENT_LENGTH);
            }
            FeedStart::AllDay(d) => {
                w.line("DTSTART;VALUE=DATE", &date_value(d));
                w.line("DTEND;VALUE=DATE", &date_value(d + Duration::days(1)));
                w.line("TRANSP", "TRANSPARENT");
            }
        }
        w.text("SUMMARY", &e.summary);
        if let Some(d) = &e.description {
            w.text("DESCRIPTION", d);
        }
        w.line("CATEGORIES", e.category);
        w.line("END", "VEVENT");
    }
    w.line("END", "VCALENDAR");
    let body = w.finish();
    // SipHash with its fixed keys: the same tag on every node and restart, at a fraction of a
    // cryptographic hash's cost (the tag only has to change when the body does).
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hasher::write(&mut hasher, body.as_bytes());
    let etag = format!("\"{:016x}-{:x}\"", std::hash::Hasher::finish(&hasher), body.len());
    (body, etag)
}

/// What importing a calendar file did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOutcome {
    pub imported: usize,
    pub updated: usize,
    /// Events not imported: their UID and why.
    pub skipped: Vec<(String, String)>,
}

/// The most events one file may bring.
pub const IMPORT_MAX_EVENTS: usize = 2000;

/// Turns each VEVENT of a calendar file into a reminder; an event imported before (by UID) is
/// updated. Events Petty cannot follow (other recurrence rules, no start) are skipped with the
/// reason.
pub async fn import_ics(app: &App, actor: &Actor, text: &str) -> Result<ImportOutcome, CareError> {
    let calendar: icalendar::Calendar = text.parse().map_err(|e: String| {
        petty_core::Invalid::one("body", "format", format!("the body is not an iCalendar file: {}", first_line(&e)))
    })?;
    let zone = crate::care::default_zone(app, actor).await?;
    let mut out = ImportOutcome::default();
    let now = app.now();
    let events: Vec<&icalendar::Event> = calendar.components.iter().filter_map(|c| c.as_event()).collect();
    if events.len() > IMPORT_MAX_EVENTS {
        return Err(petty_core::Invalid::one(
            "body",
            "too_many",
            format!("a calendar file may hold at most {IMPORT_MAX_EVENTS} events"),
        )
        .into());
    }
    for (n, event) in events.into_iter().enumerate() {
        let uid = event.get_uid().map(str::to_owned).unwrap_or_else(|| format!("event-{}", n + 1));
        match event_content(event, &zone) {
            Err(reason) => out.skipped.push((uid, reason)),
            Ok(content) => match app.store.reminder_by_uid(actor.household_id, &uid).await? {
                Some(mut existing) => {
                    if existing.content.schedule != content.schedule {
                        let first = content.schedule.first().unwrap_or(existing.due_at);
                        existing.due_at = first;
                        existing.completed_at = None;
                        existing.notified_upto = if first < now { first } else { first - Duration::milliseconds(1) };
                    }
                    existing.content = ReminderContent { pet_id: existing.content.pet_id, ..content };
                    app.store.save_reminder(&existing, now).await?;
                    out.updated += 1;
                }
                None => {
                    let new = NewReminder {
                        household_id: actor.household_id,
                        content,
                        source: Source::Import,
                        series: None,
                        external_uid: Some(uid),
                        created_by: actor.user_id(),
                    };
                    app.store.create_reminder(&new, now).await?;
                    out.imported += 1;
                }
            },
        }
    }
    Ok(out)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

/// A VEVENT as reminder content, or why not.
fn event_content(event: &icalendar::Event, default_zone: &Zone) -> Result<ReminderContent, String> {
    let title: String = unescape(event.get_summary().unwrap_or("")).trim().chars().take(200).collect();
    let title = if title.is_empty() { "Imported event".to_owned() } else { title };
    let description = event.get_description().map(unescape).filter(|d| !d.trim().is_empty());
    let start = event.properties().get("DTSTART").ok_or("the event has no DTSTART")?;
    let value = start.value().trim();
    let tzid = start.params().get("TZID").map(|p| p.value().to_owned());
    let (zone, anchor) = parse_start(value, tzid.as_deref(), default_zone)?;
    let repeat = match event.properties().get("RRULE") {
        None => None,
        Some(rule) => Some(parse_rrule(rule.value())?),
    };
    let schedule = Schedule { anchor, zone, repeat, ends_at: None };
    if schedule.first().is_none() {
        return Err("the event's start is not a time that exists".to_owned());
    }
    let description = description.map(|d| d.chars().take(petty_core::reminders::DESCRIPTION_MAX).collect());
    Ok(ReminderContent { pet_id: None, title, description, schedule, methods: vec![Method::Push] })
}

/// `DTSTART`: `YYYYMMDD` (all day: 09:00 local), `YYYYMMDDTHHMMSS` (local, in TZID or the
/// importer's zone) or `YYYYMMDDTHHMMSSZ` (UTC, seen in the importer's zone).
fn parse_start(value: &str, tzid: Option<&str>, default_zone: &Zone) -> Result<(Zone, LocalTime), String> {
    let bad = || format!("DTSTART {value:?} is not a date or date-time Petty reads");
    let zone = match tzid {
        Some(t) => Zone::parse("TZID", t).map_err(|_| format!("unknown time zone {t:?}"))?,
        None => default_zone.clone(),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let date = |s: &str| -> Option<time::Date> {
        if s.len() != 8 || !digits(s) {
            return None;
        }
        petty_core::pets::parse_date("d", &format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..8])).ok()
    };
    if let Some(d) = date(value) {
        return Ok((zone, LocalTime::from_parts(d, 9, 0).ok_or_else(bad)?));
    }
    let (day, rest) = value.split_once('T').ok_or_else(bad)?;
    let d = date(day).ok_or_else(bad)?;
    let (clock, utc) = match rest.strip_suffix('Z') {
        Some(c) => (c, true),
        None => (rest, false),
    };
    if clock.len() != 6 || !digits(clock) {
        return Err(bad());
    }
    let (h, m) = (clock[..2].parse::<u8>().map_err(|_| bad())?, clock[2..4].parse::<u8>().map_err(|_| bad())?);
    let s = clock[4..6].parse::<u8>().map_err(|_| bad())?;
    if utc {
        let at = time::PrimitiveDateTime::new(d, time::Time::from_hms(h, m, s).map_err(|_| bad())?).assume_utc();
        return Ok((zone.clone(), zone.local_at(at)));
    }
    Ok((zone, LocalTime::from_parts(d, h, m).ok_or_else(bad)?))
}

/// `FREQ=DAILY|WEEKLY|MONTHLY|YEARLY` with interval 1 and nothing Petty cannot follow.
fn parse_rrule(rule: &str) -> Result<Repeat, String> {
    let mut freq = None;
    for part in rule.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| format!("RRULE part {part:?} is not KEY=VALUE"))?;
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => {
                freq = Some(match v.to_ascii_uppercase().as_str() {
                    "DAILY" => Repeat::Daily,
                    "WEEKLY" => Repeat::Weekly,
                    "MONTHLY" => Repeat::Monthly,
                    "YEARLY" => Repeat::Yearly,
                    other => return Err(format!("FREQ={other} is not daily, weekly, monthly or yearly")),
                })
            }
            "INTERVAL" if v == "1" => {}
            "WKST" => {}
            other => return Err(format!("RRULE with {other} is not supported (only FREQ with INTERVAL=1)")),
        }
    }
    freq.ok_or_else(|| "RRULE without FREQ".to_owned())
}

/// Undoes TEXT escaping (`\n`, `\,`, `\;`, `\\`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_starts() {
        assert_eq!(parse_rrule("FREQ=WEEKLY;INTERVAL=1"), Ok(Repeat::Weekly));
        assert!(parse_rrule("FREQ=WEEKLY;INTERVAL=2").is_err());
        assert!(parse_rrule("FREQ=MONTHLY;BYDAY=MO").is_err());
        let utc = Zone::utc();
        let (_, at) = parse_start("20240308T090000", Some("Europe/Berlin"), &utc).unwrap();
        assert_eq!(at.to_string(), "2024-03-08T09:00:00");
        let berlin = Zone::parse("tz", "Europe/Berlin").unwrap();
        let (_, at) = parse_start("20240308T080000Z", None, &berlin).unwrap();
        assert_eq!(at.to_string(), "2024-03-08T09:00:00");
        let (_, at) = parse_start("20240308", None, &utc).unwrap();
        assert_eq!(at.to_string(), "2024-03-08T09:00:00");
        assert!(parse_start("2024-03-08", None, &utc).is_err());
        assert_eq!(unescape("a\\, b\\nc\\\\"), "a, b\nc\\");
    }
}
