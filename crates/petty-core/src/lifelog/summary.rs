//! The contract's stats over a period ([`summarize`]) and a person's scores over the last 30
//! days ([`scores`]).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::events::{EventContent, EventType};
use super::signals::Signals;
use super::{mean, round};

/// Counts and sums of the events in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub total_events: usize,
    /// Events per type.
    pub event_types: BTreeMap<String, usize>,
    /// The mean impact score, 3 decimals (0 without events).
    pub avg_impact: f64,
    /// Σ energy impact, 2 decimals.
    pub total_energy_change: f64,
    /// Σ mood impact, 2 decimals.
    pub total_mood_change: f64,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
}

/// The stats of the events from `start` to `end` (both included).
pub fn summarize<E: AsRef<EventContent>>(events: &[E], start: OffsetDateTime, end: OffsetDateTime) -> Summary {
    let mut event_types = BTreeMap::new();
    let (mut n, mut impact, mut energy, mut mood) = (0usize, 0.0, 0.0, 0.0);
    for e in events.iter().map(AsRef::as_ref).filter(|e| e.event_time >= start && e.event_time <= end) {
        n += 1;
        *event_types.entry(e.event_type.as_str().to_owned()).or_insert(0) += 1;
        let i = e.impact();
        impact += i.impact_score;
        energy += i.energy_impact;
        mood += i.mood_impact;
    }
    Summary {
        total_events: n,
        event_types,
        avg_impact: if n == 0 { 0.0 } else { round(impact / n as f64, 3) },
        total_energy_change: round(energy, 2),
        total_mood_change: round(mood, 2),
        period_start: start,
        period_end: end,
    }
}

/// A person's scores, 0–1, 3 decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserScores {
    pub health: f64,
    pub mood: f64,
    pub productivity: f64,
    pub energy: f64,
}

/// The contract's scores over `[at − 30 days, at)`. A term without data counts 0.5.
pub fn scores<E: AsRef<EventContent>>(events: &[E], at: OffsetDateTime) -> UserScores {
    let from = at - time::Duration::days(30);
    let s = Signals::gather(events, from, at);
    let term = |v: Option<f64>| v.map_or(0.5, |v| v.clamp(0.0, 1.0));
    let workouts = (s.events > 0).then(|| (s.workouts_per_week() / 5.0).min(1.0));
    let mean_energy = s.mean_energy().map(|e| e / 10.0);
    let health = mean(&[
        term(s.mean_sleep_hours().map(|h| (h / 8.0).min(1.0))),
        term(s.sleep_regularity()),
        term(workouts),
        term(mean_energy),
    ])
    .unwrap_or(0.5);
    let mood = mean(&[
        term(s.positive_share()),
        term(s.mood_slope().map(|m| (m.clamp(-1.0, 1.0) + 1.0) / 2.0)),
        term(s.mean_stress().map(|x| 1.0 - x / 10.0)),
    ])
    .unwrap_or(0.5);
    let inside: Vec<&EventContent> =
        events.iter().map(AsRef::as_ref).filter(|e| e.event_time >= from && e.event_time < at).collect();
    let focus: Vec<f64> = inside.iter().filter_map(|e| e.event_data.number("focus_level")).collect();
    let rating: Vec<f64> = inside.iter().filter_map(|e| e.event_data.number("productivity_rating")).collect();
    let work: Vec<&&EventContent> = inside.iter().filter(|e| e.event_type == EventType::Work).collect();
    let deep = (!work.is_empty())
        .then(|| work.iter().filter(|e| e.tags.iter().any(|t| t == "deep_work")).count() as f64 / work.len() as f64);
    let productivity =
        mean(&[term(mean(&focus).map(|f| f / 10.0)), term(mean(&rating).map(|r| r / 10.0)), term(deep)]).unwrap_or(0.5);
    let energy = mean(&[health, term(mean_energy), term(workouts)]).unwrap_or(0.5);
    UserScores {
        health: round(health, 3),
        mood: round(mood, 3),
        productivity: round(productivity, 3),
        energy: round(energy, 3),
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::lifelog::events::EventData;

    const AT: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

    #[test]
    fn a_summary_counts_types_and_sums_impacts() {
        let events = vec![
            EventContent::new(EventType::Sleep, "s", AT - Duration::days(1)),
            EventContent::new(EventType::Work, "w", AT - Duration::days(2)),
            EventContent::new(EventType::Emotion, "e", AT - Duration::days(3))
                .with_data(EventData::new().with_text("type", "happy")),
            EventContent::new(EventType::Sleep, "old", AT - Duration::days(40)),
        ];
        let s = summarize(&events, AT - Duration::days(30), AT);
        assert_eq!(s.total_events, 3);
        assert_eq!(s.event_types.get("sleep"), Some(&1));
        assert_eq!(s.avg_impact, 0.567);
        assert_eq!(s.total_energy_change, 0.2);
        assert_eq!(s.total_mood_change, 0.7);
        let empty = summarize::<EventContent>(&[], AT - Duration::days(30), AT);
        assert_eq!((empty.total_events, empty.avg_impact), (0, 0.0));
    }

    #[test]
    fn scores_count_a_term_without_data_as_half() {
        let none = scores::<EventContent>(&[], AT);
        assert_eq!(none, UserScores { health: 0.5, mood: 0.5, productivity: 0.5, energy: 0.5 });
        let events = vec![
            EventContent::new(EventType::Work, "w", AT - Duration::days(1))
                .with_data(EventData::new().with_number("focus_level", 8.0)),
        ];
        let s = scores(&events, AT);
        // Focus 0.8, no ratings 0.5, no deep work 0.0.
        assert_eq!(s.productivity, 0.433);
        // Sleep 0.5, regularity 0.5, no workouts 0.0, energy 0.5.
        assert_eq!(s.health, 0.375);
    }
}
