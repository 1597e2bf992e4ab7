//! The learned models' inputs: a fixed vector of numbers describing a person at an instant,
//! computed only from events strictly before it (so training rows never see their own label, and
//! a prediction at `at` is a backtest).
//!
//! The features are the contract's list (hour, weekday, sleep, exercise, work, focus, social,
//! meals, recent energy, mood and stress) plus dog walks, the latest mood and stress reports, the
//! time since the person was last with people, and their usual sleep, energy and mood over four
//! weeks (what a model that has never met the person needs to know them by).
//! A sleep counts only once it has ended (its start plus its duration is before the instant): a
//! sleep logged at bedtime with its length must not tell a model about the night still to come.
//! A value that cannot be known (no sleep logged, no report in the window) is [`MISSING`].

use time::OffsetDateTime;

use super::events::EventContent;
use super::index_slope;
use super::signals::{DAY, Fact, Kind, facts_between};
use crate::recurrence::Zone;

/// A value that could not be known.
pub const MISSING: f64 = -999.0;

pub const FEATURE_COUNT: usize = 29;

/// The features' stable names, in vector order.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "hour_of_day",
    "day_of_week",
    "is_weekend",
    "sleep_last_night_h",
    "hours_since_waking",
    "sleep_mean_7d_h",
    "sleep_quality_7d",
    "exercise_min_24h",
    "exercise_min_7d",
    "walk_min_24h",
    "walk_min_7d",
    "work_h_24h",
    "work_h_7d",
    "focus_mean_7d",
    "social_events_3d",
    "meals_24h",
    "hours_since_meal",
    "energy_mean_7d",
    "energy_std_7d",
    "energy_last",
    "mood_mean_7d",
    "mood_slope_14d",
    "mood_last",
    "stress_mean_7d",
    "stress_last",
    "hours_since_social",
    "sleep_mean_28d_h",
    "energy_mean_28d",
    "mood_mean_28d",
];

/// The features for people, in vector order.
pub const FEATURE_LABELS: [&str; FEATURE_COUNT] = [
    "Time of day",
    "Day of the week",
    "Weekend",
    "Last night's sleep",
    "Hours awake",
    "Sleep over the last week",
    "Sleep quality over the last week",
    "Exercise in the last 24 hours",
    "Exercise over the last week",
    "Walks in the last 24 hours",
    "Walks over the last week",
    "Work in the last 24 hours",
    "Work over the last week",
    "Focus over the last week",
    "Social events in the last 3 days",
    "Meals in the last 24 hours",
    "Hours since a meal",
    "Energy over the last week",
    "Ups and downs of energy",
    "Latest energy report",
    "Mood over the last week",
    "Mood trend over two weeks",
    "Latest mood report",
    "Stress over the last week",
    "Latest stress report",
    "Hours since time with people",
    "Usual sleep (4 weeks)",
    "Usual energy (4 weeks)",
    "Usual mood (4 weeks)",
];

/// The position of `energy_mean_28d`: the person's usual energy.
pub const USUAL_ENERGY: usize = 27;
/// The position of `mood_mean_28d`: the person's usual mood.
pub const USUAL_MOOD: usize = 28;

/// How far back the features read, days.
pub(crate) const HISTORY_DAYS: i64 = 29;

/// A feature vector.
pub type Features = [f64; FEATURE_COUNT];

/// The features at `at` (local hour and weekday in `zone`) from `events`.
pub fn feature_vector<E: AsRef<EventContent>>(events: &[E], at: OffsetDateTime, zone: &Zone) -> Features {
    let facts = facts_between(events, at - time::Duration::days(HISTORY_DAYS), at);
    let (hour, weekday) = local_hour_and_weekday(zone, at);
    features_at(&facts, at.unix_timestamp(), hour, weekday)
}

/// The local hour (with its fraction) and weekday (0 Monday .. 6 Sunday) of `at`.
pub(crate) fn local_hour_and_weekday(zone: &Zone, at: OffsetDateTime) -> (f64, u8) {
    let local = zone.local_at(at);
    let weekday = local.date().map_or(0, |d| d.weekday().number_days_from_monday());
    (f64::from(local.hour()) + f64::from(local.minute()) / 60.0, weekday)
}

/// The features at unix second `t` from `facts` in time order (only those before `t` are read).
pub(crate) fn features_at(facts: &[Fact], t: i64, hour: f64, weekday: u8) -> Features {
    let end = facts.partition_point(|f| f.t < t);
    let start = facts.partition_point(|f| f.t < t - HISTORY_DAYS * DAY);
    let before = &facts[start..end];
    let within = |f: &Fact, days: f64| (t - f.t) as f64 <= days * DAY as f64;

    let mut x = [MISSING; FEATURE_COUNT];
    x[0] = hour;
    x[1] = f64::from(weekday);
    x[2] = if weekday >= 5 { 1.0 } else { 0.0 };

    // The latest night's sleep (3 hours or more; naps do not reset the day) that has ended, if
    // it started within the last 36 hours.
    let last_sleep = before
        .iter()
        .rev()
        .filter(|f| f.kind == Kind::Sleep && f.minutes.is_some_and(|m| m >= 180.0) && f.end() <= t)
        .find(|f| within(f, 1.5));
    if let Some(s) = last_sleep {
        x[3] = s.minutes.unwrap_or(0.0) / 60.0;
        x[4] = (t - s.end()) as f64 / 3600.0;
    }
    let sleeps: Vec<&Fact> = before
        .iter()
        .filter(|f| f.kind == Kind::Sleep && f.end() <= t && within(f, 7.5) && f.minutes.is_some())
        .collect();
    x[5] = mean_or_missing(sleeps.iter().filter_map(|f| f.minutes.map(|m| m / 60.0)));
    x[6] = mean_or_missing(sleeps.iter().filter_map(|f| f.quality));

    let minutes = |kind: Kind, days: f64| -> f64 {
        before.iter().filter(|f| f.kind == kind && within(f, days)).filter_map(|f| f.minutes).sum()
    };
    x[7] = minutes(Kind::Workout, 1.0);
    x[8] = minutes(Kind::Workout, 7.0);
    x[9] = minutes(Kind::Walk, 1.0);
    x[10] = minutes(Kind::Walk, 7.0);
    x[11] = minutes(Kind::Work, 1.0) / 60.0;
    x[12] = minutes(Kind::Work, 7.0) / 60.0;
    x[13] = mean_or_missing(before.iter().filter(|f| within(f, 7.0)).filter_map(|f| f.focus));
    x[14] = before.iter().filter(|f| f.kind == Kind::Social && within(f, 3.0)).count() as f64;
    x[15] = before.iter().filter(|f| f.kind == Kind::Meal && within(f, 1.0)).count() as f64;
    if let Some(meal) = before.iter().rev().find(|f| f.kind == Kind::Meal && within(f, 7.0)) {
        x[16] = (t - meal.t) as f64 / 3600.0;
    }

    let energy: Vec<f64> = before.iter().filter(|f| within(f, 7.0)).filter_map(|f| f.energy).collect();
    if !energy.is_empty() {
        x[17] = super::mean(&energy).unwrap_or(MISSING);
        x[18] = super::std_dev(&energy).unwrap_or(MISSING);
    }
    x[19] = before.iter().rev().find_map(|f| f.energy).unwrap_or(MISSING);
    x[20] = mean_or_missing(before.iter().filter(|f| within(f, 7.0)).filter_map(|f| f.mood));
    let moods: Vec<f64> = before.iter().filter(|f| within(f, 14.0)).filter_map(|f| f.mood).collect();
    if moods.len() >= 3 {
        x[21] = index_slope(&moods).unwrap_or(MISSING);
    }
    x[22] = before.iter().rev().find_map(|f| f.mood).unwrap_or(MISSING);
    x[23] = mean_or_missing(before.iter().filter(|f| within(f, 7.0)).filter_map(|f| f.stress));
    x[24] = before.iter().rev().find_map(|f| f.stress).unwrap_or(MISSING);
    if let Some(social) = before.iter().rev().find(|f| f.kind == Kind::Social && within(f, 14.0)) {
        x[25] = ((t - social.end()) as f64 / 3600.0).max(0.0);
    }
    x[26] = mean_or_missing(
        before
            .iter()
            .filter(|f| f.kind == Kind::Sleep && f.end() <= t && within(f, 28.5))
            .filter_map(|f| f.minutes.map(|m| m / 60.0)),
    );
    x[27] = mean_or_missing(before.iter().filter(|f| within(f, 28.0)).filter_map(|f| f.energy));
    x[28] = mean_or_missing(before.iter().filter(|f| within(f, 28.0)).filter_map(|f| f.mood));
    x
}

fn mean_or_missing(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { MISSING } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::lifelog::events::{EventData, EventType};

    #[test]
    fn the_usual_levels_are_where_the_models_look() {
        assert_eq!(FEATURE_NAMES[USUAL_ENERGY], "energy_mean_28d");
        assert_eq!(FEATURE_NAMES[USUAL_MOOD], "mood_mean_28d");
    }

    #[test]
    fn features_read_only_the_past_and_ended_sleeps() {
        let at = datetime!(2026-11-21 09:30 UTC); // a Saturday
        let events = vec![
            EventContent::new(EventType::Sleep, "slept", datetime!(2026-11-20 23:00 UTC)).with_duration(450),
            // Tonight's sleep, logged ahead: not yet ended, so not read.
            EventContent::new(EventType::Sleep, "nap", datetime!(2026-11-21 09:00 UTC)).with_duration(120),
            EventContent::new(EventType::Exercise, "run", datetime!(2026-11-21 07:00 UTC)).with_duration(40),
            EventContent::new(EventType::Walk, "Bella", datetime!(2026-11-21 07:45 UTC)).with_duration(25),
            EventContent::new(EventType::Meal, "breakfast", datetime!(2026-11-21 08:00 UTC)),
            EventContent::new(EventType::Mood, "check-in", datetime!(2026-11-20 20:00 UTC))
                .with_data(EventData::new().with_number("energy_level", 4.0).with_number("mood_score", 6.0)),
            // The label itself, at `at`: not read.
            EventContent::new(EventType::Mood, "check-in", at)
                .with_data(EventData::new().with_number("energy_level", 9.0)),
        ];
        let x = feature_vector(&events, at, &Zone::utc());
        let get = |name: &str| x[FEATURE_NAMES.iter().position(|n| *n == name).unwrap()];
        assert_eq!(get("hour_of_day"), 9.5);
        assert_eq!(get("day_of_week"), 5.0);
        assert_eq!(get("is_weekend"), 1.0);
        assert_eq!(get("sleep_last_night_h"), 7.5);
        assert_eq!(get("hours_since_waking"), 3.0);
        assert_eq!(get("exercise_min_24h"), 40.0);
        assert_eq!(get("walk_min_24h"), 25.0);
        assert_eq!(get("meals_24h"), 1.0);
        assert_eq!(get("hours_since_meal"), 1.5);
        assert_eq!(get("energy_last"), 4.0);
        assert_eq!(get("energy_mean_7d"), 4.0);
        assert_eq!(get("mood_last"), 6.0);
        assert_eq!(get("mood_slope_14d"), MISSING);
        assert_eq!(get("stress_last"), MISSING);
        // The nap has ended three hours later, but a nap is not a night.
        let later = feature_vector(&events, at + Duration::hours(3), &Zone::utc());
        assert_eq!(later[3], 7.5);
        assert_eq!(later[5], 4.75);
    }
}
