//! How long the life log's predictions and training take, on this machine, for issue 15's
//! budgets:
//!
//! - a baseline energy and mood prediction for a person with 5,000 events in the 30-day window
//!   (`predict_energy` + `predict_mood`), against the same formulas in plain Python
//!   (`xtask/bench/lifelog_baseline.py`, the same 5,000 events from the same generator);
//! - training a person's energy and mood models on 120 days of a simulated person
//!   (`train_energy` + `train_mood`, the job's work per person).
//!
//! ```text
//! cargo bench -p petty-sim --bench lifelog -- [RUNS]
//! python3 xtask/bench/lifelog_baseline.py [RUNS]
//! ```
//! Prints the median and the fastest of RUNS timed runs (default 30) after 3 warm-ups.

// Not `benches/timing.rs`: Cargo would take that for a bench of its own.
#[path = "support/timing.rs"]
mod timing;

use timing::{runs, timed};

use petty_core::lifelog::{
    EventContent, EventData, EventType, TimeOfDay, TrainParams, predict_energy, predict_mood, train_energy, train_mood,
};
use petty_core::recurrence::Zone;
use time::OffsetDateTime;

/// xorshift64, as `lifelog_baseline.py` draws it.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const EMOTIONS: [&str; 6] = ["happy", "sad", "calm", "stressed", "excited", "tired"];

/// `n` events spread evenly over the 30 days before `at`, of seven kinds in a drawn order: the
/// same events as `lifelog_baseline.py` makes.
fn window_events(n: u64, at: OffsetDateTime) -> Vec<EventContent> {
    let mut draw = Draw(0x9E37_79B9_7F4A_7C15);
    let span = 30 * 86_400;
    (0..n)
        .map(|i| {
            let t = at - time::Duration::seconds(span) + time::Duration::seconds((i as i64 * span) / n as i64);
            let r = draw.next();
            let value = (r >> 8) % 11;
            match r % 7 {
                0 => EventContent::new(EventType::Sleep, "Slept", t).with_duration(300 + (value * 30) as u32),
                1 => EventContent::new(EventType::Exercise, "Run", t).with_duration(20 + value as u32 * 5),
                2 => EventContent::new(EventType::Work, "Work", t).with_duration(60 + value as u32 * 30),
                3 => EventContent::new(EventType::Social, "Friends", t).with_duration(30 + value as u32 * 10),
                4 => EventContent::new(EventType::Emotion, "Feeling", t)
                    .with_data(EventData::new().with_text("type", EMOTIONS[(value % 6) as usize])),
                5 => EventContent::new(EventType::Mood, "Check-in", t).with_data(
                    EventData::new()
                        .with_number("mood_score", value as f64)
                        .with_number("energy_level", (10 - value) as f64)
                        .with_number("stress_level", ((value * 3) % 11) as f64),
                ),
                _ => EventContent::new(EventType::Meal, "Meal", t),
            }
        })
        .collect()
}

fn main() {
    let runs = runs();
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    let events = window_events(5_000, at);
    let e = predict_energy(&events, at, TimeOfDay::Afternoon);
    let m = predict_mood(&events, at);
    println!("5,000 events in the window: energy {:.2}, mood {:.2} ({})", e.energy, m.score, m.class.as_str());
    timed("baseline energy + mood, 5,000 events in the window", runs, || {
        (predict_energy(&events, at, TimeOfDay::Afternoon), predict_mood(&events, at))
    });

    let start = (at - time::Duration::days(120)).replace_time(time::Time::MIDNIGHT);
    let person = petty_sim::simulate_person(7, start, 120);
    let zone = Zone::utc();
    let params = TrainParams::default();
    let reports = person.events.iter().filter(|e| e.is_report()).count();
    println!("simulated person: {} events over 120 days, {reports} reports", person.events.len());
    let training_runs = runs.clamp(1, 10);
    timed("train energy + mood models, 120 days", training_runs, || {
        let energy = train_energy(&person.events, at, &zone, "bench", &params);
        let mood = train_mood(&person.events, at, &zone, "bench", &params);
        (energy.is_ok(), mood.is_ok())
    });
}
