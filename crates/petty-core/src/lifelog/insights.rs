//! The contract's insight rules: sleep, activity, emotions, trends, balance and energy.
//!
//! Each rule reads the same signals as the predictions, over the range asked for
//! (`[at − days, at)`; per week = count / (days / 7)), and says something only when its data is
//! there: every sentence carries the number it measured, and a rule without data is silent.
//! `confidence` is min(events the rule used / 10, 1).

use std::fmt;

use time::OffsetDateTime;

use super::events::EventContent;
use super::round;
use super::signals::Signals;

/// Which rule an insight comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InsightKind {
    ActivitySummary,
    SleepShort,
    SleepGood,
    SleepLong,
    SleepIrregular,
    ActivityLow,
    ActivityGood,
    EmotionsNegative,
    EmotionsPositive,
    MoodFalling,
    MoodRising,
    BalanceLow,
    EnergyFalling,
    EnergyRising,
    /// Written by a language model from the same numbers (by the application, not here).
    LlmSummary,
}

impl InsightKind {
    pub const ALL: [InsightKind; 15] = [
        InsightKind::ActivitySummary,
        InsightKind::SleepShort,
        InsightKind::SleepGood,
        InsightKind::SleepLong,
        InsightKind::SleepIrregular,
        InsightKind::ActivityLow,
        InsightKind::ActivityGood,
        InsightKind::EmotionsNegative,
        InsightKind::EmotionsPositive,
        InsightKind::MoodFalling,
        InsightKind::MoodRising,
        InsightKind::BalanceLow,
        InsightKind::EnergyFalling,
        InsightKind::EnergyRising,
        InsightKind::LlmSummary,
    ];

    /// The contract's `insight_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            InsightKind::ActivitySummary => "activity_summary",
            InsightKind::SleepShort => "sleep_short",
            InsightKind::SleepGood => "sleep_good",
            InsightKind::SleepLong => "sleep_long",
            InsightKind::SleepIrregular => "sleep_irregular",
            InsightKind::ActivityLow => "activity_low",
            InsightKind::ActivityGood => "activity_good",
            InsightKind::EmotionsNegative => "emotions_negative",
            InsightKind::EmotionsPositive => "emotions_positive",
            InsightKind::MoodFalling => "mood_falling",
            InsightKind::MoodRising => "mood_rising",
            InsightKind::BalanceLow => "balance_low",
            InsightKind::EnergyFalling => "energy_falling",
            InsightKind::EnergyRising => "energy_rising",
            InsightKind::LlmSummary => "llm_summary",
        }
    }

    pub fn parse(s: &str) -> Option<InsightKind> {
        InsightKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The group of rules it belongs to (the insight's `category`).
    pub fn category(self) -> &'static str {
        match self {
            InsightKind::ActivitySummary | InsightKind::ActivityLow | InsightKind::ActivityGood => "activity",
            InsightKind::SleepShort | InsightKind::SleepGood | InsightKind::SleepLong | InsightKind::SleepIrregular => {
                "sleep"
            }
            InsightKind::EmotionsNegative | InsightKind::EmotionsPositive => "emotions",
            InsightKind::MoodFalling | InsightKind::MoodRising => "trends",
            InsightKind::BalanceLow => "balance",
            InsightKind::EnergyFalling | InsightKind::EnergyRising => "energy",
            InsightKind::LlmSummary => "summary",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            InsightKind::ActivitySummary => "Your last days",
            InsightKind::SleepShort => "Short sleep",
            InsightKind::SleepGood => "Good sleep duration",
            InsightKind::SleepLong => "Long sleep",
            InsightKind::SleepIrregular => "Irregular sleep",
            InsightKind::ActivityLow => "Low physical activity",
            InsightKind::ActivityGood => "Good physical activity",
            InsightKind::EmotionsNegative => "Few positive emotions",
            InsightKind::EmotionsPositive => "Mostly positive emotions",
            InsightKind::MoodFalling => "Mood is declining",
            InsightKind::MoodRising => "Mood is improving",
            InsightKind::BalanceLow => "Work-life balance is low",
            InsightKind::EnergyFalling => "Energy is falling",
            InsightKind::EnergyRising => "Energy is rising",
            InsightKind::LlmSummary => "Your days in a few words",
        }
    }

    pub fn priority(self) -> Priority {
        match self {
            InsightKind::SleepShort | InsightKind::EmotionsNegative => Priority::High,
            InsightKind::SleepLong
            | InsightKind::SleepIrregular
            | InsightKind::ActivityLow
            | InsightKind::MoodFalling
            | InsightKind::BalanceLow
            | InsightKind::EnergyFalling => Priority::Medium,
            _ => Priority::Low,
        }
    }
}

impl fmt::Display for InsightKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much an insight asks for attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

/// One insight that holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    pub kind: InsightKind,
    pub category: &'static str,
    pub title: String,
    /// One sentence with the measured number.
    pub content: String,
    pub priority: Priority,
    /// min(events the rule used / 10, 1), 2 decimals.
    pub confidence: f64,
    /// The numbers the sentence is made of.
    pub metadata: Vec<(&'static str, f64)>,
}

fn insight(kind: InsightKind, content: String, used: usize, metadata: Vec<(&'static str, f64)>) -> Insight {
    Insight {
        kind,
        category: kind.category(),
        title: kind.title().to_owned(),
        content,
        priority: kind.priority(),
        confidence: round((used as f64 / 10.0).min(1.0), 2),
        metadata,
    }
}

/// The insights that hold over the `days` days before `at`, in the contract's rule order;
/// none without events.
pub fn generate_insights<E: AsRef<EventContent>>(events: &[E], at: OffsetDateTime, days: u32) -> Vec<Insight> {
    let days = days.max(1);
    let from = at - time::Duration::days(i64::from(days));
    let s = Signals::gather(events, from, at);
    let mut out = Vec::new();
    if s.events == 0 {
        return out;
    }

    let mut types: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for e in events.iter().map(AsRef::as_ref).filter(|e| e.event_time >= from && e.event_time < at) {
        *types.entry(e.event_type.as_str()).or_insert(0) += 1;
    }
    let (top, top_n) = types.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map_or(("", 0), |(t, n)| (*t, *n));
    let mut summary = insight(
        InsightKind::ActivitySummary,
        format!("You logged {} events in the last {days} days, most often {top} ({top_n}).", s.events),
        s.events,
        vec![("events", s.events as f64), ("days", f64::from(days))],
    );
    summary.title = format!("Your last {days} days");
    out.push(summary);

    if let Some(hours) = s.mean_sleep_hours() {
        let n = s.sleep_hours.len();
        let h = round(hours, 1);
        let (kind, tail) = if hours < 7.0 {
            (InsightKind::SleepShort, "less than the 7 hours most adults need")
        } else if hours <= 9.0 {
            (InsightKind::SleepGood, "within the healthy 7 to 9 hours")
        } else {
            (InsightKind::SleepLong, "more than 9 hours")
        };
        let nights = if n == 1 { "night" } else { "nights" };
        out.push(insight(
            kind,
            format!("You slept {h} hours a night on average over {n} {nights}, {tail}."),
            n,
            vec![("avg_sleep_hours", round(hours, 2)), ("nights", n as f64)],
        ));
        if let Some(regularity) = s.sleep_regularity().filter(|r| n >= 3 && *r < 0.5) {
            let sd = super::std_dev(&s.sleep_hours).unwrap_or(0.0);
            out.push(insight(
                InsightKind::SleepIrregular,
                format!(
                    "Your sleep varied a lot from night to night: {h} ± {} hours (regularity {}).",
                    round(sd, 1),
                    round(regularity, 2)
                ),
                n,
                vec![("regularity", round(regularity, 3)), ("std_sleep_hours", round(sd, 2))],
            ));
        }
    }

    let per_week = s.workouts_per_week();
    let activity = |kind, tail: &str| {
        insight(
            kind,
            format!("You logged {} workouts a week ({} in {days} days){tail}.", round(per_week, 1), s.workouts),
            s.events,
            vec![("workouts_per_week", round(per_week, 2)), ("workouts", s.workouts as f64)],
        )
    };
    if per_week < 2.0 {
        out.push(activity(InsightKind::ActivityLow, "; at least 2 a week helps energy and mood"));
    } else if per_week >= 4.0 {
        out.push(activity(InsightKind::ActivityGood, ""));
    }

    let emotions = s.emotion_impacts.len();
    if let Some(share) = s.positive_share().filter(|_| emotions >= 3) {
        let pct = round(share * 100.0, 0);
        let meta = vec![("positive_share", round(share, 3)), ("emotions", emotions as f64)];
        if share < 0.4 {
            out.push(insight(
                InsightKind::EmotionsNegative,
                format!("Only {pct}% of the {emotions} emotions you logged were positive."),
                emotions,
                meta,
            ));
        } else if share > 0.7 {
            out.push(insight(
                InsightKind::EmotionsPositive,
                format!("{pct}% of the {emotions} emotions you logged were positive."),
                emotions,
                meta,
            ));
        }
    }

    if let Some(slope) = s.mood_slope() {
        let n = s.mood_signal().len();
        let meta = vec![("mood_slope", round(slope, 3)), ("entries", n as f64)];
        let step = round(slope.abs(), 2);
        if slope < -0.05 {
            out.push(insight(
                InsightKind::MoodFalling,
                format!("Your mood fell by {step} points an entry on average over your last {n} entries."),
                n,
                meta,
            ));
        } else if slope > 0.05 {
            out.push(insight(
                InsightKind::MoodRising,
                format!("Your mood rose by {step} points an entry on average over your last {n} entries."),
                n,
                meta,
            ));
        }
    }

    let balance = s.balance();
    if s.work_minutes > 0.0 && balance < 0.3 {
        out.push(insight(
            InsightKind::BalanceLow,
            format!(
                "You spent {} minutes with people against {} minutes working (a balance of {}, under 0.3).",
                round(s.social_minutes, 0),
                round(s.work_minutes, 0),
                round(balance, 2)
            ),
            s.work_events + s.social_events,
            vec![
                ("balance", round(balance, 3)),
                ("social_minutes", round(s.social_minutes, 0)),
                ("work_minutes", round(s.work_minutes, 0)),
            ],
        ));
    }

    if let Some(slope) = s.energy_slope() {
        let n = s.energy_reports.len();
        let step = round(slope.abs(), 2);
        let meta = vec![("energy_slope", round(slope, 3)), ("reports", n as f64)];
        if slope < -0.1 {
            out.push(insight(
                InsightKind::EnergyFalling,
                format!("Your energy reports fell by {step} points a report over your last {n} reports."),
                n,
                meta,
            ));
        } else if slope > 0.1 {
            out.push(insight(
                InsightKind::EnergyRising,
                format!("Your energy reports rose by {step} points a report over your last {n} reports."),
                n,
                meta,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::lifelog::events::{EventData, EventType};

    const AT: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

    fn ago(hours: i64) -> OffsetDateTime {
        AT - Duration::hours(hours)
    }

    #[test]
    fn no_events_no_insights() {
        assert!(generate_insights::<EventContent>(&[], AT, 7).is_empty());
        let old = vec![EventContent::new(EventType::Sleep, "s", AT - Duration::days(8)).with_duration(300)];
        assert!(generate_insights(&old, AT, 7).is_empty());
    }

    #[test]
    fn each_rule_says_its_number() {
        let mut events = Vec::new();
        for (i, minutes) in [300, 330, 360].into_iter().enumerate() {
            events.push(EventContent::new(EventType::Sleep, "s", ago(24 * (i as i64 + 1))).with_duration(minutes));
        }
        for (i, kind) in ["sad", "angry", "happy", "sad"].into_iter().enumerate() {
            events.push(
                EventContent::new(EventType::Emotion, "e", ago(60 - i as i64))
                    .with_data(EventData::new().with_text("type", kind)),
            );
        }
        for (i, level) in [8.0, 6.0, 5.0, 3.0].into_iter().enumerate() {
            events.push(
                EventContent::new(EventType::Health, "h", ago(50 - i as i64))
                    .with_data(EventData::new().with_number("energy_level", level)),
            );
        }
        events.push(EventContent::new(EventType::Work, "w", ago(30)).with_duration(600));
        let insights = generate_insights(&events, AT, 7);
        let kinds: Vec<InsightKind> = insights.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                InsightKind::ActivitySummary,
                InsightKind::SleepShort,
                InsightKind::ActivityLow,
                InsightKind::EmotionsNegative,
                InsightKind::MoodRising,
                InsightKind::BalanceLow,
                InsightKind::EnergyFalling,
            ]
        );
        let content = |k: InsightKind| insights.iter().find(|i| i.kind == k).unwrap();
        assert_eq!(content(InsightKind::ActivitySummary).title, "Your last 7 days");
        assert_eq!(
            content(InsightKind::ActivitySummary).content,
            "You logged 12 events in the last 7 days, most often emotion (4)."
        );
        assert_eq!(
            content(InsightKind::SleepShort).content,
            "You slept 5.5 hours a night on average over 3 nights, less than the 7 hours most adults need."
        );
        assert_eq!(content(InsightKind::SleepShort).priority, Priority::High);
        assert_eq!(content(InsightKind::SleepShort).confidence, 0.3);
        assert_eq!(
            content(InsightKind::EmotionsNegative).content,
            "Only 25% of the 4 emotions you logged were positive."
        );
        assert_eq!(
            content(InsightKind::EnergyFalling).content,
            "Your energy reports fell by 1.6 points a report over your last 4 reports."
        );
        assert_eq!(content(InsightKind::BalanceLow).metadata[0], ("balance", 0.0));
        // No mood reports: the trend is the emotions' (−0.5, −0.5, 0.7, −0.5), rising by 0.12.
        assert_eq!(
            content(InsightKind::MoodRising).content,
            "Your mood rose by 0.12 points an entry on average over your last 4 entries."
        );
        for k in InsightKind::ALL {
            assert_eq!(InsightKind::parse(k.as_str()), Some(k));
        }
    }
}
