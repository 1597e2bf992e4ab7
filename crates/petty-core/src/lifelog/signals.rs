//! What the predictions and insights read from events: each event reduced once to a `Fact`
//! (its time, its kind, its duration and the numbers it reported), and the contract's signals
//! over a window ([`Signals`]).
//!
//! Reports, as the contract defines them: an **energy report** is a numeric
//! `event_data.energy_level` in 0–10 on any event; a **mood report** a numeric
//! `event_data.mood_score` in 0–10, or `event_data.mood` naming a class (1, 3, 5, 7, 9 for
//! very_negative .. very_positive; positive, neutral and negative are class names); **stress**
//! is `event_data.stress_level`.

use time::OffsetDateTime;

use super::events::{EventContent, EventType};
use super::{index_slope, mean};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// The kinds of event the analysis tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sleep,
    /// Exercise and activity events.
    Workout,
    Walk,
    Work,
    Social,
    Meal,
    Emotion,
    Other,
}

/// One event as the analysis reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fact {
    /// Unix seconds of `event_time`.
    pub(crate) t: i64,
    pub(crate) kind: Kind,
    /// [`EventContent::duration`], in minutes.
    pub(crate) minutes: Option<f64>,
    pub(crate) energy: Option<f64>,
    pub(crate) mood: Option<f64>,
    pub(crate) stress: Option<f64>,
    pub(crate) focus: Option<f64>,
    /// A sleep event's `quality` (or `sleep_quality`), 0–10.
    pub(crate) quality: Option<f64>,
    /// An emotion event's mood impact.
    pub(crate) emotion: Option<f64>,
}

impl Fact {
    pub(crate) fn of(e: &EventContent) -> Fact {
        let d = &e.event_data;
        let kind = match e.event_type {
            EventType::Sleep => Kind::Sleep,
            EventType::Exercise | EventType::Activity => Kind::Workout,
            EventType::Walk => Kind::Walk,
            EventType::Work => Kind::Work,
            EventType::Social => Kind::Social,
            EventType::Meal => Kind::Meal,
            EventType::Emotion => Kind::Emotion,
            _ => Kind::Other,
        };
        Fact {
            t: e.event_time.unix_timestamp(),
            kind,
            minutes: e.duration(),
            energy: d.number_in("energy_level", 0.0, 10.0),
            mood: mood_report(e),
            stress: d.number("stress_level"),
            focus: d.number("focus_level"),
            quality: d.number_in("quality", 0.0, 10.0).or_else(|| d.number_in("sleep_quality", 0.0, 10.0)),
            emotion: (kind == Kind::Emotion).then(|| e.mood_impact()),
        }
    }

    /// When a sleep ended (its start plus its duration), for "hours since waking".
    pub(crate) fn end(&self) -> i64 {
        self.t + self.minutes.map_or(0, |m| (m * 60.0) as i64)
    }
}

impl EventContent {
    /// Whether the event reports an energy level or a mood: what learned models learn from.
    pub fn is_report(&self) -> bool {
        self.event_data.number_in("energy_level", 0.0, 10.0).is_some() || mood_report(self).is_some()
    }
}

/// The mood an event reports, on the 0–10 scale.
pub(crate) fn mood_report(e: &EventContent) -> Option<f64> {
    let d = &e.event_data;
    d.number_in("mood_score", 0.0, 10.0).or_else(|| match d.text("mood")?.trim().to_lowercase().as_str() {
        "very_negative" => Some(1.0),
        "negative" => Some(3.0),
        "neutral" => Some(5.0),
        "positive" => Some(7.0),
        "very_positive" => Some(9.0),
        _ => None,
    })
}

/// The facts of the events in `[from, to)`, in time order (events at the same instant keep
/// their order in the slice).
pub(crate) fn facts_between<E: AsRef<EventContent>>(
    events: &[E],
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Vec<Fact> {
    let (from, to) = (from.unix_timestamp_nanos(), to.unix_timestamp_nanos());
    let mut facts: Vec<Fact> = events
        .iter()
        .map(AsRef::as_ref)
        .filter(|e| {
            let t = e.event_time.unix_timestamp_nanos();
            t >= from && t < to
        })
        .map(Fact::of)
        .collect();
    if !facts.is_sorted_by_key(|f| f.t) {
        facts.sort_by_key(|f| f.t);
    }
    facts
}

/// The contract's signals over a window of events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Length of the window, days.
    pub days: f64,
    /// Events in the window.
    pub events: usize,
    /// Energy reports, in time order.
    pub energy_reports: Vec<f64>,
    /// Mood reports, in time order.
    pub mood_reports: Vec<f64>,
    /// The mood impact of each emotion event, in time order.
    pub emotion_impacts: Vec<f64>,
    /// Stress levels reported.
    pub stress: Vec<f64>,
    /// Durations of sleep events that have one, hours.
    pub sleep_hours: Vec<f64>,
    /// Exercise and activity events.
    pub workouts: usize,
    pub work_minutes: f64,
    /// Work events (with or without a duration).
    pub work_events: usize,
    pub social_minutes: f64,
    pub social_events: usize,
}

impl Signals {
    /// The signals of the events in `[from, to)`.
    pub fn gather<E: AsRef<EventContent>>(events: &[E], from: OffsetDateTime, to: OffsetDateTime) -> Signals {
        let days = (to - from).as_seconds_f64() / DAY as f64;
        Signals::of_facts(&facts_between(events, from, to), days)
    }

    /// The signals of `facts` (in time order), a window `days` long.
    pub(crate) fn of_facts(facts: &[Fact], days: f64) -> Signals {
        let mut s = Signals { days, events: facts.len(), ..Signals::default() };
        for f in facts {
            if let Some(e) = f.energy {
                s.energy_reports.push(e);
            }
            if let Some(m) = f.mood {
                s.mood_reports.push(m);
            }
            if let Some(m) = f.emotion {
                s.emotion_impacts.push(m);
            }
            if let Some(x) = f.stress {
                s.stress.push(x);
            }
            match f.kind {
                Kind::Sleep => s.sleep_hours.extend(f.minutes.map(|m| m / 60.0)),
                Kind::Workout => s.workouts += 1,
                Kind::Work => {
                    s.work_events += 1;
                    s.work_minutes += f.minutes.unwrap_or(0.0);
                }
                Kind::Social => {
                    s.social_events += 1;
                    s.social_minutes += f.minutes.unwrap_or(0.0);
                }
                _ => {}
            }
        }
        s
    }

    fn weeks(&self) -> f64 {
        (self.days / 7.0).max(f64::MIN_POSITIVE)
    }

    /// Workouts per week.
    pub fn workouts_per_week(&self) -> f64 {
        self.workouts as f64 / self.weeks()
    }

    /// Social events per week.
    pub fn social_per_week(&self) -> f64 {
        self.social_events as f64 / self.weeks()
    }

    pub fn mean_energy(&self) -> Option<f64> {
        mean(&self.energy_reports)
    }

    pub fn mean_mood(&self) -> Option<f64> {
        mean(&self.mood_reports)
    }

    pub fn mean_sleep_hours(&self) -> Option<f64> {
        mean(&self.sleep_hours)
    }

    pub fn mean_stress(&self) -> Option<f64> {
        mean(&self.stress)
    }

    /// The share of emotion events with a positive mood impact; `None` without any.
    pub fn positive_share(&self) -> Option<f64> {
        if self.emotion_impacts.is_empty() {
            return None;
        }
        Some(self.emotion_impacts.iter().filter(|m| **m > 0.0).count() as f64 / self.emotion_impacts.len() as f64)
    }

    /// The mood signal: mood reports, else emotion events' mood impacts.
    pub fn mood_signal(&self) -> &[f64] {
        if self.mood_reports.is_empty() { &self.emotion_impacts } else { &self.mood_reports }
    }

    /// The least-squares slope of the mood signal against its index, with at least 3 values.
    pub fn mood_slope(&self) -> Option<f64> {
        let signal = self.mood_signal();
        if signal.len() < 3 { None } else { index_slope(signal) }
    }

    /// The slope of energy reports per report, with at least 3 reports.
    pub fn energy_slope(&self) -> Option<f64> {
        if self.energy_reports.len() < 3 { None } else { index_slope(&self.energy_reports) }
    }

    /// Social minutes / (work minutes + 1); 1.0 without work minutes.
    pub fn balance(&self) -> f64 {
        if self.work_minutes > 0.0 { self.social_minutes / (self.work_minutes + 1.0) } else { 1.0 }
    }

    /// 1 − min(std / mean, 1) of sleep durations; `None` without any (or a zero mean).
    pub fn sleep_regularity(&self) -> Option<f64> {
        regularity(&self.sleep_hours)
    }
}

/// 1 − min(std / mean, 1) (population std); `None` without values or with a zero mean.
pub(crate) fn regularity(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    let sd = super::std_dev(values)?;
    if m <= 0.0 { None } else { Some(1.0 - (sd / m).min(1.0)) }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::lifelog::events::EventData;

    #[test]
    fn reports_are_read_as_the_contract_says() {
        let at = datetime!(2026-11-20 09:00 UTC);
        let with = |data: EventData| EventContent::new(EventType::Health, "h", at).with_data(data);
        assert_eq!(Fact::of(&with(EventData::new().with_number("energy_level", 7.0))).energy, Some(7.0));
        assert_eq!(Fact::of(&with(EventData::new().with_number("energy_level", 11.0))).energy, None);
        assert_eq!(Fact::of(&with(EventData::new().with_text("energy_level", "7"))).energy, None);
        assert_eq!(Fact::of(&with(EventData::new().with_text("mood", "Very_Positive"))).mood, Some(9.0));
        assert_eq!(Fact::of(&with(EventData::new().with_text("mood", "negative"))).mood, Some(3.0));
        assert_eq!(Fact::of(&with(EventData::new().with_number("mood_score", 4.5))).mood, Some(4.5));
    }

    #[test]
    fn a_window_is_half_open_and_counts_per_week() {
        let at = datetime!(2026-11-30 00:00 UTC);
        let events = vec![
            EventContent::new(EventType::Exercise, "run", at - time::Duration::days(30)),
            EventContent::new(EventType::Activity, "climb", at - time::Duration::days(1)),
            EventContent::new(EventType::Exercise, "run", at),
            EventContent::new(EventType::Work, "w", at - time::Duration::days(2)).with_duration(480),
            EventContent::new(EventType::Social, "s", at - time::Duration::days(2)).with_duration(96),
        ];
        let s = Signals::gather(&events, at - time::Duration::days(30), at);
        assert_eq!(s.events, 4);
        assert_eq!(s.workouts, 2);
        assert!((s.workouts_per_week() - 2.0 * 7.0 / 30.0).abs() < 1e-12);
        assert!((s.balance() - 96.0 / 481.0).abs() < 1e-12);
        assert_eq!(Signals::default().balance(), 1.0);
    }
}
