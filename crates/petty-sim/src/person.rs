//! Simulated people for the life log: their days as life events of the AURORA contract's
//! shapes, and their true energy and mood, deterministic from a seed.
//!
//! # The generative model
//!
//! **Traits** (drawn once per person): a chronotype (usual bedtime 21:45–01:00), a sleep need
//! (6.8–8.8 h), how much bedtimes wander (σ 0.3–1.1 h), a work load (none for one in eight,
//! else 6–9.5 h on weekdays) and a chance of working late (5–30 % of work days, 2.5 h more), a
//! workout habit (0–6 a week, 25–70 min), a dog (half of people: two walks a day) or the odd
//! stroll, a chance of an evening with people (10–50 %, half as much again at weekends), a
//! baseline energy (σ 0.7) and mood (σ 1.0) of their own, a sensitivity of energy to sleep
//! (0.6–1.3), a usual stress level (2.5–6) and two or three check-ins a day.
//!
//! **A day** (local time is UTC): stress drifts slowly (AR(1), φ 0.85, σ 0.3), 0.8 above the
//! usual level on work days and 0.4 below it otherwise. Last night's bedtime is the chronotype
//! plus noise, later after late work, an evening out or before a weekend; its length is the need
//! plus noise (σ 0.6 h), shorter under stress and after late work, longer at weekends, and cut
//! by the alarm (awake by 08:00 on work days: late chronotypes with a long need run a debt all
//! week). Then breakfast, lunch and dinner (each now and then skipped), work with a
//! `focus_level` that follows sleep and stress (a third of days tagged `deep_work`), a workout,
//! the dog's morning and evening walks (short ones after late work), an evening with people,
//! and now and then an emotion whose `type` follows the person's mood at that moment.
//!
//! **Truth** at each check-in, with `debt` = last night's sleep − need (−3 to 1.5 h):
//!
//! - energy = 5.3 + own baseline + 0.9 × sensitivity × debt + a circadian curve (a peak about
//!   3 h after waking, an afternoon dip around 14:30, a decline after 9 h awake) + 0.012 ×
//!   exercise minutes in the last 24 h (up to 90) + 0.008 × walk minutes (up to 90) − 0.12 per
//!   hour worked beyond 6 today − 0.15 × (stress − 5) − 0.5 when the last meal is over 5 h ago;
//! - mood = 5.2 + own baseline + 0.7 × debt + 0.012 × exercise minutes + 0.015 × walk minutes +
//!   1.0 after an evening with people in the last 36 h − 0.35 × (stress − 5) − 0.2 per hour of
//!   work beyond 8 in the last 24 h + 0.4 at weekends + the day's own drift (AR(1), φ 0.6,
//!   σ 0.2);
//!
//! both clamped to 0–10. The check-in reports them as whole numbers after noise (σ 0.5 for
//! energy, 0.4 for mood), the evening one with the day's `stress_level`. A model has to learn
//! the function from what was logged (the person's need, baselines, today's stress and drift are
//! never logged) and cannot score perfectly: even the true mood, rounded, puts only about 84 %
//! of reports in their class.

use petty_core::lifelog::{EventContent, EventData, EventType};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use time::{Duration, OffsetDateTime};

use crate::util::{mix, noise, round};

/// A person's own constants.
#[derive(Debug, Clone, PartialEq)]
pub struct Traits {
    /// Usual bedtime, hours after the evening's midnight (23.5 is 23:30, 24.5 is 00:30).
    pub bedtime_h: f64,
    pub sleep_need_h: f64,
    /// How much bedtimes wander (σ, hours).
    pub bedtime_sd_h: f64,
    /// Hours on a work day; 0 for someone who does not work.
    pub work_hours: f64,
    pub late_work_chance: f64,
    pub workouts_per_week: f64,
    pub dog_owner: bool,
    pub social_chance: f64,
    pub energy_offset: f64,
    pub mood_offset: f64,
    pub sleep_sensitivity: f64,
    pub stress_base: f64,
    /// Check-ins a day (2 or 3).
    pub check_ins: u8,
}

/// The true energy and mood at a check-in, before the report's noise and rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truth {
    pub at: OffsetDateTime,
    pub energy: f64,
    pub mood: f64,
}

/// A simulated person: traits, life events in time order, and the truth at each check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPerson {
    pub seed: u64,
    pub traits: Traits,
    pub events: Vec<EventContent>,
    pub truth: Vec<Truth>,
}

impl Traits {
    fn draw(seed: u64) -> Traits {
        let mut rng = StdRng::seed_from_u64(mix(seed, 0x7A17));
        let works = rng.random_bool(7.0 / 8.0);
        Traits {
            bedtime_h: rng.random_range(21.75..25.0),
            sleep_need_h: rng.random_range(6.8..8.8),
            bedtime_sd_h: rng.random_range(0.3..1.1),
            work_hours: if works { rng.random_range(6.0..9.5) } else { 0.0 },
            late_work_chance: if works { rng.random_range(0.05..0.3) } else { 0.0 },
            workouts_per_week: rng.random_range(0.0..6.0),
            dog_owner: rng.random_bool(0.5),
            social_chance: rng.random_range(0.1..0.5),
            energy_offset: noise(&mut rng, 0.7),
            mood_offset: noise(&mut rng, 1.0),
            sleep_sensitivity: rng.random_range(0.6..1.3),
            stress_base: rng.random_range(2.5..6.0),
            check_ins: if rng.random_bool(0.5) { 2 } else { 3 },
        }
    }
}

/// What the truth reads: spans of time in hours since the simulation's first midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Span {
    Workout,
    Walk,
    Work,
    Meal,
    Social,
}

const POSITIVE: [&str; 6] = ["happy", "calm", "grateful", "content", "excited", "relaxed"];
const NEGATIVE: [&str; 6] = ["tired", "stressed", "frustrated", "sad", "anxious", "upset"];

/// `days` days of the person drawn from `seed`, from the UTC midnight `start` (the first event
/// is the night before).
pub fn simulate_person(seed: u64, start: OffsetDateTime, days: u32) -> SimPerson {
    let traits = Traits::draw(seed);
    let t = &traits;
    let at = |hours: f64| start + Duration::seconds_f64(hours * 3600.0);
    let mut events: Vec<EventContent> = Vec::new();
    let mut truth = Vec::new();
    // (start hour, minutes, kind), absolute hours.
    let mut spans: Vec<(f64, f64, Span)> = Vec::new();
    let (mut stress_drift, mut mood_drift) = (0.0, 0.0);
    let (mut late_before, mut social_before) = (false, false);
    for d in 0..i64::from(days) {
        let mut rng = StdRng::seed_from_u64(mix(seed, 0xDA7 + d as u64));
        let day0 = d as f64 * 24.0;
        let weekday = (start + Duration::days(d)).weekday().number_days_from_monday();
        let weekend = weekday >= 5;
        let works = t.work_hours > 0.0 && !weekend;
        stress_drift = 0.85 * stress_drift + noise(&mut rng, 0.3);
        let stress = (t.stress_base + if works { 0.8 } else { -0.4 } + stress_drift).clamp(0.0, 10.0);
        mood_drift = 0.6 * mood_drift + noise(&mut rng, 0.2);

        // Last night.
        let friday_or_saturday_night = matches!(weekday, 5 | 6);
        let bedtime = t.bedtime_h
            + noise(&mut rng, t.bedtime_sd_h)
            + if late_before { 1.0 } else { 0.0 }
            + if social_before { 0.4 } else { 0.0 }
            + if friday_or_saturday_night { 0.6 } else { 0.0 };
        let mut sleep_h = t.sleep_need_h + noise(&mut rng, 0.6) - 0.12 * (stress - 5.0)
            + if weekend { 0.5 } else { 0.0 }
            - if late_before { 0.5 } else { 0.0 };
        let mut wake = bedtime + sleep_h - 24.0;
        if works && wake > 8.0 {
            sleep_h -= wake - 8.0;
        }
        sleep_h = sleep_h.clamp(4.0, 11.0);
        wake = bedtime + sleep_h - 24.0;
        let debt = (sleep_h - t.sleep_need_h).clamp(-3.0, 1.5);
        let quality = (7.0 + debt - 0.3 * (stress - 5.0) + noise(&mut rng, 1.0)).clamp(1.0, 10.0).round();
        events.push(
            EventContent::new(EventType::Sleep, "Slept", at(day0 - 24.0 + bedtime))
                .with_duration((sleep_h * 60.0).round() as u32)
                .with_data(
                    EventData::new().with_number("duration_hours", round(sleep_h, 2)).with_number("quality", quality),
                ),
        );

        // The day's plan.
        let push = |events: &mut Vec<EventContent>, kind: EventType, title: &str, h: f64, minutes: f64, data| {
            events.push(
                EventContent::new(kind, title, at(day0 + h)).with_duration(minutes.round() as u32).with_data(data),
            );
        };
        for (name, h, chance) in [
            ("Breakfast", wake + 0.5, 0.85),
            ("Lunch", 12.5 + noise(&mut rng, 0.4), 0.9),
            ("Dinner", 19.0 + noise(&mut rng, 0.6), 0.95),
        ] {
            if rng.random_bool(chance) {
                let minutes = rng.random_range(15.0..40.0);
                push(
                    &mut events,
                    EventType::Meal,
                    name,
                    h,
                    minutes,
                    EventData::new().with_text("meal", &name.to_lowercase()),
                );
                spans.push((day0 + h, minutes, Span::Meal));
            }
        }
        let late = works && rng.random_bool(t.late_work_chance);
        if works {
            let begin = (wake + 1.0).max(8.5) + noise(&mut rng, 0.3);
            let hours = (t.work_hours + noise(&mut rng, 0.6) + if late { 2.5 } else { 0.0 }).max(1.0);
            let focus = (5.0 + 0.8 * debt - 0.2 * (stress - 5.0) + noise(&mut rng, 1.0)).clamp(1.0, 10.0).round();
            push(
                &mut events,
                EventType::Work,
                "Work",
                begin,
                hours * 60.0,
                EventData::new().with_number("focus_level", focus),
            );
            if rng.random_bool(0.33)
                && let Some(e) = events.last_mut()
            {
                e.tags.push("deep_work".to_owned());
            }
            spans.push((day0 + begin, hours * 60.0, Span::Work));
        }
        if rng.random_bool((t.workouts_per_week / 7.0).min(1.0)) {
            let h = if rng.random_bool(0.4) { wake + 0.4 } else { 18.0 + noise(&mut rng, 0.5) };
            let minutes = rng.random_range(25.0..70.0);
            let activity = ["run", "gym", "cycling", "swim"][rng.random_range(0..4)];
            push(
                &mut events,
                EventType::Exercise,
                "Workout",
                h,
                minutes,
                EventData::new()
                    .with_text("activity", activity)
                    .with_number("intensity", rng.random_range(3..=9) as f64),
            );
            spans.push((day0 + h, minutes, Span::Workout));
        }
        let mut walks = Vec::new();
        if t.dog_owner {
            walks.push((wake + 0.25, rng.random_range(15.0..40.0)));
            let evening = if late { rng.random_range(10.0..20.0) } else { rng.random_range(20.0..60.0) };
            walks.push((if late { 21.0 } else { 18.5 + noise(&mut rng, 0.5) }, evening));
        } else if rng.random_bool(0.15) {
            walks.push((17.0 + noise(&mut rng, 1.0), rng.random_range(20.0..60.0)));
        }
        for (h, minutes) in walks {
            let title = if t.dog_owner { "Walked Bella" } else { "Walk" };
            let data = EventData::new().with_number("distance_km", round(minutes / 12.0, 1));
            let data = if t.dog_owner { data.with_text("with", "Bella") } else { data };
            push(&mut events, EventType::Walk, title, h, minutes, data);
            spans.push((day0 + h, minutes, Span::Walk));
        }
        let social = rng.random_bool((t.social_chance * if weekend { 1.5 } else { 1.0 }).min(1.0));
        if social {
            let h = 19.5 + noise(&mut rng, 0.5);
            let minutes = rng.random_range(60.0..180.0);
            push(&mut events, EventType::Social, "Evening with friends", h, minutes, EventData::new());
            spans.push((day0 + h, minutes, Span::Social));
        }

        // The truth at any moment of the day.
        let state = |h: f64, spans: &[(f64, f64, Span)]| -> (f64, f64) {
            let now = day0 + h;
            let recent = |kind: Span, hours: f64| -> f64 {
                spans.iter().filter(|(s, _, k)| *k == kind && *s < now && *s >= now - hours).map(|(_, m, _)| *m).sum()
            };
            let exercise = recent(Span::Workout, 24.0).min(90.0);
            let walked = recent(Span::Walk, 24.0).min(90.0);
            let worked_today: f64 = spans
                .iter()
                .filter(|(s, _, k)| *k == Span::Work && *s < now && *s >= day0)
                .map(|(s, m, _)| (now - s).min(m / 60.0))
                .sum();
            let worked_24h = recent(Span::Work, 24.0) / 60.0;
            let since_meal = spans
                .iter()
                .filter(|(s, _, k)| *k == Span::Meal && *s < now)
                .map(|(s, _, _)| now - s)
                .fold(f64::MAX, f64::min);
            let with_people = recent(Span::Social, 36.0) > 0.0;
            let awake = h - wake;
            let circadian = 1.2 * (-(awake - 3.0).powi(2) / (2.0 * 2.5 * 2.5)).exp()
                - 0.6 * (-(h - 14.5).powi(2) / (2.0 * 1.2 * 1.2)).exp()
                - 0.22 * (awake - 9.0).max(0.0);
            let energy = 5.3
                + t.energy_offset
                + 0.9 * t.sleep_sensitivity * debt
                + circadian
                + 0.012 * exercise
                + 0.008 * walked
                - 0.12 * (worked_today - 6.0).max(0.0)
                - 0.15 * (stress - 5.0)
                - if since_meal > 5.0 { 0.5 } else { 0.0 };
            let mood = 5.2
                + t.mood_offset
                + 0.7 * debt
                + 0.012 * exercise
                + 0.015 * walked
                + if with_people { 1.0 } else { 0.0 }
                - 0.35 * (stress - 5.0)
                - 0.2 * (worked_24h - 8.0).max(0.0)
                + if weekend { 0.4 } else { 0.0 }
                + mood_drift;
            (energy.clamp(0.0, 10.0), mood.clamp(0.0, 10.0))
        };

        if rng.random_bool(0.35) {
            let h = rng.random_range((wake + 1.0).min(20.0)..21.0);
            let (_, mood) = state(h, &spans);
            let word = if mood > 6.5 || (mood >= 4.0 && rng.random_bool(0.5)) {
                POSITIVE[rng.random_range(0..POSITIVE.len())]
            } else {
                NEGATIVE[rng.random_range(0..NEGATIVE.len())]
            };
            events.push(
                EventContent::new(EventType::Emotion, "Feeling", at(day0 + h))
                    .with_data(EventData::new().with_text("type", word)),
            );
        }
        let times: &[f64] = if t.check_ins == 3 { &[9.5, 14.5, 20.5] } else { &[10.0, 19.5] };
        for (i, base) in times.iter().enumerate() {
            let h = (base + noise(&mut rng, 0.8)).max(wake + 0.3);
            let (energy, mood) = state(h, &spans);
            let mut data = EventData::new()
                .with_number("energy_level", (energy + noise(&mut rng, 0.5)).round().clamp(0.0, 10.0))
                .with_number("mood_score", (mood + noise(&mut rng, 0.4)).round().clamp(0.0, 10.0));
            if i + 1 == times.len() {
                data = data.with_number("stress_level", (stress + noise(&mut rng, 0.5)).round().clamp(0.0, 10.0));
            }
            events.push(EventContent::new(EventType::Mood, "Check-in", at(day0 + h)).with_data(data));
            truth.push(Truth { at: at(day0 + h), energy, mood });
        }
        late_before = late;
        social_before = social;
        // Only the last two days of spans matter to the truth.
        spans.retain(|(s, _, _)| *s >= day0 - 48.0);
    }
    events.sort_by_key(|e| e.event_time);
    SimPerson { seed, traits, events, truth }
}

/// The person of the contract's test of learned models (`compat/aurora.md`, "Learned models":
/// "a 120-day log whose energy and mood are functions of the features above plus noise (σ 0.5
/// energy points)"): the days of [`simulate_person`], but every check-in's energy and mood are
/// recomputed, in time order, as a fixed function of the model's own features at that moment
/// (from the events before it) plus noise of σ 0.5, and reported with two decimals. Unlike
/// [`simulate_person`], nothing unlogged moves them, so it measures how well a model learns a
/// function it can see, not how much of a person it cannot.
pub fn contract_person(seed: u64, start: OffsetDateTime, days: u32) -> SimPerson {
    let mut person = simulate_person(seed, start, days);
    let mut rng = StdRng::seed_from_u64(mix(seed, 0xC0_47AC7));
    let zone = petty_core::recurrence::Zone::utc();
    person.truth.clear();
    for i in 0..person.events.len() {
        if person.events[i].event_data.number("energy_level").is_none() {
            continue;
        }
        let at = person.events[i].event_time;
        let x = petty_core::lifelog::features::feature_vector(&person.events[..i], at, &zone);
        let (energy, mood) = contract_truth(&x);
        let mut data = EventData::new()
            .with_number("energy_level", round((energy + noise(&mut rng, 0.5)).clamp(0.0, 10.0), 2))
            .with_number("mood_score", round((mood + noise(&mut rng, 0.5)).clamp(0.0, 10.0), 2));
        if let Some(stress) = person.events[i].event_data.number("stress_level") {
            data = data.with_number("stress_level", stress);
        }
        person.events[i].event_data = data;
        person.truth.push(Truth { at, energy, mood });
    }
    person
}

/// The contract person's energy and mood from the features (a missing one counts as typical).
fn contract_truth(x: &petty_core::lifelog::features::Features) -> (f64, f64) {
    use petty_core::lifelog::{FEATURE_NAMES, MISSING};
    let f = |name: &str, typical: f64| {
        FEATURE_NAMES.iter().position(|n| *n == name).map(|i| x[i]).filter(|v| *v != MISSING).unwrap_or(typical)
    };
    let sleep = f("sleep_last_night_h", 7.5);
    let awake = f("hours_since_waking", 6.0);
    let exercise = f("exercise_min_24h", 0.0).min(90.0);
    let walks = f("walk_min_24h", 0.0).min(90.0);
    let work = f("work_h_24h", 0.0);
    let social = f("social_events_3d", 0.0).min(3.0);
    let stress = f("stress_mean_7d", 4.0);
    let weekend = f("is_weekend", 0.0);
    let energy = 5.0 + 0.9 * (sleep - 7.5) - 0.2 * (awake - 6.0) + 0.015 * exercise + 0.01 * walks
        - 0.2 * (work - 5.0).max(0.0)
        - 0.25 * (stress - 4.0)
        + 0.3 * social;
    let mood = 5.0 + 0.9 * (sleep - 7.5) + 0.02 * walks + 0.01 * exercise + 0.6 * social
        - 0.45 * (stress - 4.0)
        - 0.15 * (work - 8.0).max(0.0)
        + 0.6 * weekend;
    (energy.clamp(0.0, 10.0), mood.clamp(0.0, 10.0))
}

#[cfg(test)]
mod tests {
    use petty_core::lifelog::{RawLifeEvent, Subject};
    use time::macros::datetime;

    use super::*;

    const START: OffsetDateTime = datetime!(2026-07-01 00:00 UTC);

    #[test]
    fn a_person_is_deterministic_and_lives_plausible_days() {
        let a = simulate_person(7, START, 28);
        assert_eq!(a, simulate_person(7, START, 28));
        assert_ne!(a.traits, simulate_person(8, START, 28).traits);
        assert!(a.events.is_sorted_by_key(|e| e.event_time));
        let sleeps: Vec<f64> =
            a.events.iter().filter(|e| e.event_type == EventType::Sleep).filter_map(|e| e.duration()).collect();
        assert_eq!(sleeps.len(), 28);
        assert!(sleeps.iter().all(|m| (240.0..=660.0).contains(m)));
        assert_eq!(a.truth.len(), 28 * usize::from(a.traits.check_ins));
        assert!(a.truth.iter().all(|t| (0.0..=10.0).contains(&t.energy) && (0.0..=10.0).contains(&t.mood)));
        // The truth varies: a model has something to learn.
        let energies: Vec<f64> = a.truth.iter().map(|t| t.energy).collect();
        let spread =
            energies.iter().cloned().fold(f64::MIN, f64::max) - energies.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 3.0, "{spread}");
    }

    #[test]
    fn every_event_passes_the_contracts_checks() {
        let p = simulate_person(3, START, 14);
        let subject = Subject::Person(petty_core::ids::UserId::new());
        for e in &p.events {
            let raw = RawLifeEvent {
                event_type: Some(e.event_type.as_str().to_owned()),
                title: Some(e.title.clone()),
                event_time: Some(e.event_time.format(&time::format_description::well_known::Rfc3339).unwrap()),
                duration_minutes: e.duration_minutes.map(i64::from),
                tags: e.tags.clone(),
                event_data: e.event_data.clone(),
                ..RawLifeEvent::default()
            };
            let parsed = EventContent::parse(&raw, &subject, START + Duration::days(15)).unwrap();
            assert_eq!(parsed.event_type, e.event_type);
        }
    }
}
