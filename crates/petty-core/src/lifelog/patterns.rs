//! The contract's patterns: a sleep cycle and activity days.
//!
//! Bedtimes wrap at midnight, so their mean is taken on a clock that starts at noon: an hour
//! before 12:00 counts as that hour + 24, and the mean is taken mod 24. A bedtime at 23:30 and
//! one at 00:30 then average to 00:00 (a plain mean would say 12:00). For bedtimes within twelve
//! hours either side of midnight this is the circular mean's answer without its trigonometry,
//! and it is the contract's formula exactly.

use time::{OffsetDateTime, Weekday};

use super::events::{EventContent, EventType};
use super::signals::regularity;
use super::{mean, round, std_dev};
use crate::recurrence::Zone;

/// Sleep, from at least 3 sleep events with a duration.
#[derive(Debug, Clone, PartialEq)]
pub struct SleepCycle {
    /// 2 decimals.
    pub avg_duration_hours: f64,
    /// Population standard deviation, 2 decimals.
    pub std_duration_hours: f64,
    /// The circular mean local bedtime, 0–24, 2 decimals.
    pub avg_bedtime_hour: f64,
    /// 1 − min(std / mean, 1), 3 decimals.
    pub regularity_score: f64,
    pub sample_size: usize,
    /// min(n / 30, 1), 3 decimals.
    pub confidence: f64,
}

/// Workouts, from at least 3 exercise or activity events.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityPattern {
    /// n / (days / 7), 2 decimals.
    pub avg_activities_per_week: f64,
    /// The three weekdays with the most workouts (ties: Monday first), with their counts.
    pub preferred_days: Vec<(Weekday, usize)>,
    pub total_activities: usize,
    /// 1 − min(std / mean of the gaps between workouts in days, 1); 0 with fewer than 2 gaps.
    pub consistency: f64,
    /// min(n / 20, 1), 3 decimals.
    pub confidence: f64,
}

/// The patterns found in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Patterns {
    pub events_analyzed: usize,
    pub sleep_cycle: Option<SleepCycle>,
    pub activity: Option<ActivityPattern>,
}

impl Patterns {
    pub fn found(&self) -> usize {
        usize::from(self.sleep_cycle.is_some()) + usize::from(self.activity.is_some())
    }
}

/// The patterns of the `days` days before `at` (`[at − days, at)`), local times in `zone`.
pub fn detect_patterns<E: AsRef<EventContent>>(events: &[E], at: OffsetDateTime, days: u32, zone: &Zone) -> Patterns {
    let from = at - time::Duration::days(i64::from(days));
    let mut inside: Vec<&EventContent> =
        events.iter().map(AsRef::as_ref).filter(|e| e.event_time >= from && e.event_time < at).collect();
    inside.sort_by_key(|e| e.event_time);
    Patterns {
        events_analyzed: inside.len(),
        sleep_cycle: sleep_cycle(&inside, zone),
        activity: activity_pattern(&inside, f64::from(days), zone),
    }
}

fn sleep_cycle(events: &[&EventContent], zone: &Zone) -> Option<SleepCycle> {
    let sleeps: Vec<(&EventContent, f64)> = events
        .iter()
        .filter(|e| e.event_type == EventType::Sleep)
        .filter_map(|e| e.duration().map(|m| (*e, m / 60.0)))
        .collect();
    if sleeps.len() < 3 {
        return None;
    }
    let hours: Vec<f64> = sleeps.iter().map(|(_, h)| *h).collect();
    let bedtimes: Vec<f64> = sleeps
        .iter()
        .map(|(e, _)| {
            let local = zone.local_at(e.event_time);
            f64::from(local.hour()) + f64::from(local.minute()) / 60.0
        })
        .collect();
    let n = sleeps.len();
    Some(SleepCycle {
        avg_duration_hours: round(mean(&hours)?, 2),
        std_duration_hours: round(std_dev(&hours)?, 2),
        avg_bedtime_hour: round(circular_bedtime(&bedtimes)?, 2),
        regularity_score: round(regularity(&hours).unwrap_or(0.0), 3),
        sample_size: n,
        confidence: round((n as f64 / 30.0).min(1.0), 3),
    })
}

/// The mean of local bedtime hours on a clock starting at noon, mod 24.
pub fn circular_bedtime(hours: &[f64]) -> Option<f64> {
    let shifted: Vec<f64> = hours.iter().map(|h| if *h < 12.0 { h + 24.0 } else { *h }).collect();
    mean(&shifted).map(|m| m.rem_euclid(24.0))
}

fn activity_pattern(events: &[&EventContent], days: f64, zone: &Zone) -> Option<ActivityPattern> {
    let workouts: Vec<&EventContent> = events.iter().copied().filter(|e| e.event_type.is_workout()).collect();
    let n = workouts.len();
    if n < 3 {
        return None;
    }
    let mut counts = [0usize; 7];
    for w in &workouts {
        if let Some(d) = zone.local_at(w.event_time).date() {
            counts[usize::from(d.weekday().number_days_from_monday())] += 1;
        }
    }
    let mut order: Vec<usize> = (0..7).filter(|d| counts[*d] > 0).collect();
    order.sort_by(|a, b| counts[*b].cmp(&counts[*a]).then(a.cmp(b)));
    let gaps: Vec<f64> =
        workouts.windows(2).map(|w| (w[1].event_time - w[0].event_time).as_seconds_f64() / 86_400.0).collect();
    let consistency = if gaps.len() < 2 {
        0.0
    } else {
        match (mean(&gaps), std_dev(&gaps)) {
            (Some(m), Some(sd)) if m > 0.0 => 1.0 - (sd / m).min(1.0),
            // Every workout at one instant: nothing varies.
            _ => 1.0,
        }
    };
    Some(ActivityPattern {
        avg_activities_per_week: round(n as f64 / (days / 7.0).max(f64::MIN_POSITIVE), 2),
        preferred_days: order.into_iter().take(3).map(|d| (Weekday::Monday.nth_next(d as u8), counts[d])).collect(),
        total_activities: n,
        consistency: round(consistency, 3),
        confidence: round((n as f64 / 20.0).min(1.0), 3),
    })
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn bedtimes_either_side_of_midnight_average_to_midnight() {
        assert_eq!(circular_bedtime(&[23.5, 0.5]), Some(0.0));
        assert_eq!(circular_bedtime(&[23.0, 1.0]), Some(0.0));
        assert_eq!(circular_bedtime(&[22.0, 23.0]), Some(22.5));
        assert_eq!(circular_bedtime(&[]), None);
    }

    #[test]
    fn a_sleep_cycle_and_activity_days() {
        let at = datetime!(2026-11-23 12:00 UTC); // a Monday
        let mut events = vec![
            EventContent::new(EventType::Sleep, "s", datetime!(2026-11-20 23:30 UTC)).with_duration(420),
            EventContent::new(EventType::Sleep, "s", datetime!(2026-11-22 00:30 UTC)).with_duration(480),
            EventContent::new(EventType::Sleep, "s", datetime!(2026-11-22 23:00 UTC)).with_duration(540),
            EventContent::new(EventType::Sleep, "no duration", datetime!(2026-11-21 12:00 UTC)),
        ];
        for day in [1, 8, 15, 3] {
            // Mondays 2, 9, 16 November and Wednesday the 4th.
            let t = datetime!(2026-11-01 18:00 UTC) + Duration::days(day);
            events.push(EventContent::new(EventType::Exercise, "run", t));
        }
        let p = detect_patterns(&events, at, 30, &Zone::utc());
        assert_eq!(p.events_analyzed, 8);
        assert_eq!(p.found(), 2);
        let sleep = p.sleep_cycle.unwrap();
        assert_eq!(sleep.sample_size, 3);
        assert_eq!(sleep.avg_duration_hours, 8.0);
        assert_eq!(sleep.std_duration_hours, 0.82);
        assert_eq!(sleep.avg_bedtime_hour, 23.67);
        assert_eq!(sleep.regularity_score, 0.898);
        assert_eq!(sleep.confidence, 0.1);
        let activity = p.activity.unwrap();
        assert_eq!(activity.total_activities, 4);
        assert_eq!(activity.preferred_days, [(Weekday::Monday, 3), (Weekday::Wednesday, 1)]);
        assert_eq!(activity.avg_activities_per_week, 0.93);
        // Gaps of 2, 5 and 7 days.
        assert_eq!(activity.consistency, 0.56);
        assert_eq!(activity.confidence, 0.2);
        assert_eq!(detect_patterns(&events, at, 1, &Zone::utc()).found(), 0);
    }
}
