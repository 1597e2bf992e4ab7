//! Links across a household's streams, as the caller may see them: their own life log (mood,
//! energy, sleep, stress, late working days), the dogs' walks (theirs and the pets'), each pet's
//! collar days (restlessness at night, active minutes) and the air at night (CO, humidity).
//! Another member's life log is never read: a person's events are theirs alone.
//!
//! The statistics are `petty_core::lifelog::correlations`: effect sizes with 95 % intervals,
//! lag 0 and 1, a Benjamini–Hochberg correction over every pair tested, and "not enough data"
//! instead of a number when the days are too few.

use std::collections::BTreeMap;

use petty_core::accounts::Actor;
use petty_core::devices::DeviceKind;
use petty_core::lifelog::{
    CorrelationOptions, DailyMetric, DailySeries, Effect, EventType, PairOutcome, PairTest, Subject, correlate,
    daily_values,
};
use petty_core::paging::PageRequest;
use petty_core::readings::Metric;
use petty_core::recurrence::Zone;
use petty_store::{PetFilter, RollupQuery};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::learning::ANY_HOUSEHOLD;
use super::{LifeError, person};
use crate::App;

/// The shortest and longest periods looked at.
pub(crate) const MIN_DAYS: i64 = 14;
pub(crate) const MAX_DAYS: i64 = 365;
/// A walk this long or longer makes "a long dog walk" day.
pub(crate) const LONG_WALK_MINUTES: f64 = 30.0;
/// Work that ends at or after this local hour makes "a late working day".
pub(crate) const LATE_WORK_HOUR: u8 = 19;
/// The night, for the air: from this local hour ...
const NIGHT_FROM: u8 = 22;
/// ... to this one (the night counts for the morning's date, as sleep does).
const NIGHT_TO: u8 = 6;
/// Pets and monitors looked at, at most.
const MAX_SOURCES: u32 = 6;

/// One daily stream and how many days it has.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct StreamOut {
    pub name: String,
    pub label: String,
    pub days: usize,
}

/// An effect with its 95 % interval.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct EffectOut {
    /// `correlation` (Pearson's r) or `mean_difference` (the other stream's mean on days with
    /// the flag minus days without).
    pub kind: &'static str,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// For a mean difference: the means and the days in each group.
    pub with_mean: Option<f64>,
    pub without_mean: Option<f64>,
    pub with_days: Option<usize>,
    pub without_days: Option<usize>,
}

/// One pair tested.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct LinkOut {
    pub x: String,
    pub y: String,
    /// 0: the same day; 1: `x` one day, `y` the next.
    pub lag_days: u8,
    /// Days with both values.
    pub days: usize,
    /// `holds` (q ≤ 0.05 and the interval leaves out zero), `not_significant`,
    /// `not_enough_data` or `constant`.
    pub status: &'static str,
    pub effect: Option<EffectOut>,
    /// The test's two-sided p-value.
    pub p: Option<f64>,
    /// The p-value corrected for every pair tested (Benjamini–Hochberg).
    pub q: Option<f64>,
    /// One sentence with the effect, its interval, the days and q.
    pub sentence: String,
}

/// What the caller's streams show together.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct CorrelationsOut {
    pub period_days: i64,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub from: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub to: OffsetDateTime,
    /// The streams looked at.
    pub series: Vec<StreamOut>,
    /// Every pair tested, the links that hold first (lowest q first).
    pub links: Vec<LinkOut>,
    /// How many hold.
    pub holding: usize,
}

fn link_out(t: &PairTest) -> LinkOut {
    let (status, effect, p, q) = match &t.outcome {
        PairOutcome::NotEnoughData { .. } => ("not_enough_data", None, None, None),
        PairOutcome::Constant => ("constant", None, None, None),
        PairOutcome::Tested { effect, p, q, holds } => {
            let effect = match *effect {
                Effect::Correlation { r, low, high } => EffectOut {
                    kind: "correlation",
                    value: round3(r),
                    low: round3(low),
                    high: round3(high),
                    with_mean: None,
                    without_mean: None,
                    with_days: None,
                    without_days: None,
                },
                Effect::MeanDifference { difference, low, high, with_mean, without_mean, with, without } => EffectOut {
                    kind: "mean_difference",
                    value: round3(difference),
                    low: round3(low),
                    high: round3(high),
                    with_mean: Some(round3(with_mean)),
                    without_mean: Some(round3(without_mean)),
                    with_days: Some(with),
                    without_days: Some(without),
                },
            };
            (if *holds { "holds" } else { "not_significant" }, Some(effect), Some(round4(*p)), Some(round4(*q)))
        }
    };
    LinkOut {
        x: t.x.clone(),
        y: t.y.clone(),
        lag_days: t.lag_days,
        days: t.n,
        status,
        effect,
        p,
        q,
        sentence: t.sentence.clone(),
    }
}

fn round3(v: f64) -> f64 {
    super::rounded(v, 3)
}

fn round4(v: f64) -> f64 {
    super::rounded(v, 4)
}

/// The links across the caller's streams over the last `days` days (14–365).
pub async fn correlations(app: &App, actor: &Actor, days: i64) -> Result<CorrelationsOut, LifeError> {
    let user = person(actor)?;
    if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
        return Err(petty_core::Invalid::one("days", "out_of_range", "days must be between 14 and 365").into());
    }
    let to = app.now();
    let from = to - Duration::days(days);
    let zone = app.store.user_zone(user).await?;
    let mine = app.store.life_events_between(Subject::Person(user), ANY_HOUSEHOLD, from, to).await?;

    let mut series = vec![
        DailySeries::new("mood", "your mood", daily_values(&mine, &zone, &DailyMetric::Mood)),
        DailySeries::new("energy", "your energy", daily_values(&mine, &zone, &DailyMetric::Energy)),
        DailySeries::new("sleep_hours", "your sleep (hours)", daily_values(&mine, &zone, &DailyMetric::SleepHours)),
        DailySeries::new("stress", "your stress", daily_values(&mine, &zone, &DailyMetric::Stress)),
        DailySeries::new(
            "late_work",
            "a late working day",
            daily_values(&mine, &zone, &DailyMetric::LateWork { after_hour: LATE_WORK_HOUR }),
        ),
    ];

    // Walks: the caller's own and the household's pets', added up per day.
    let mut walks = daily_values(&mine, &zone, &DailyMetric::Minutes(EventType::Walk));
    let pets = app
        .store
        .list_pets(actor.household_id, &PetFilter::default(), PageRequest { page: 1, page_size: MAX_SOURCES })
        .await?;
    for pet in &pets.items {
        if !crate::care::sees_pet(app, actor, pet.id).await? {
            continue;
        }
        let events = app.store.life_events_between(Subject::Pet(pet.id), actor.household_id, from, to).await?;
        for (day, minutes) in daily_values(&events, &zone, &DailyMetric::Minutes(EventType::Walk)) {
            *walks.entry(day).or_insert(0.0) += minutes;
        }
        let collar = app.store.pet_days(actor.household_id, pet.id, from.date(), to.date()).await?;
        let mut restless = BTreeMap::new();
        let mut active = BTreeMap::new();
        for d in &collar {
            let Some(s) = crate::summary_json::from_json(d.day, &d.summary) else { continue };
            if s.night_minutes_covered > 0.0 {
                restless.insert(d.day, s.night_restless_minutes);
            }
            if s.minutes_covered >= petty_core::baselines::BASELINE_DAY_MIN_COVERAGE_MIN {
                active.insert(d.day, s.active_minutes);
            }
        }
        let name = &pet.profile.name;
        series.push(DailySeries::new(
            &format!("pet_{}_night_restless", pet.id),
            &format!("{name}'s restlessness at night (minutes)"),
            restless,
        ));
        series.push(DailySeries::new(&format!("pet_{}_active", pet.id), &format!("{name}'s active minutes"), active));
    }
    let walk_minutes = DailySeries::new("walk_minutes", "walk minutes", walks);
    series.push(walk_minutes.flag("long_walk", "a long dog walk (30 min or more)", LONG_WALK_MINUTES));

    // The air at night, from the household's air monitors.
    if actor.can(petty_core::accounts::Permission::Read) {
        let devices = app.store.list_devices(actor.household_id).await?;
        let monitors = devices.iter().filter(|d| d.profile.kind == DeviceKind::AirMonitor).take(MAX_SOURCES as usize);
        let mut co: BTreeMap<Date, (f64, f64)> = BTreeMap::new();
        let mut humidity: BTreeMap<Date, (f64, f64)> = BTreeMap::new();
        for device in monitors {
            for (metric, into) in [(Metric::CoPpm, &mut co), (Metric::HumidityPct, &mut humidity)] {
                let query = RollupQuery { metric, resolution_secs: 3600, from, to, limit: 24 * 366 };
                for r in app.store.rollups(actor.household_id, device.id, &query).await? {
                    if let Some(night) = night_of(&zone, r.bucket) {
                        let entry = into.entry(night).or_insert((0.0, 0.0));
                        entry.0 += r.avg * r.count as f64;
                        entry.1 += r.count as f64;
                    }
                }
            }
        }
        let mean =
            |m: BTreeMap<Date, (f64, f64)>| m.into_iter().filter(|(_, (_, n))| *n > 0.0).map(|(d, (s, n))| (d, s / n));
        series.push(DailySeries::new("co_night", "CO at night (ppm)", mean(co)));
        series.push(DailySeries::new("humidity_night", "humidity at night (%)", mean(humidity)));
    }

    // A stream with no days adds nothing but "not enough data" lines.
    series.retain(|s| !s.values.is_empty());
    let tests = correlate(&series, &CorrelationOptions::default());
    let links: Vec<LinkOut> = tests.iter().map(link_out).collect();
    Ok(CorrelationsOut {
        period_days: days,
        from,
        to,
        series: series
            .iter()
            .map(|s| StreamOut { name: s.name.clone(), label: s.label.clone(), days: s.values.len() })
            .collect(),
        holding: links.iter().filter(|l| l.status == "holds").count(),
        links,
    })
}

/// The morning a night hour belongs to: 22:00–24:00 count for the next date, 00:00–06:00 for
/// their own; other hours are not night.
fn night_of(zone: &Zone, at: OffsetDateTime) -> Option<Date> {
    let local = zone.local_at(at);
    let hour = local.hour();
    let date = zone.date_at(at);
    if hour >= NIGHT_FROM {
        date.next_day()
    } else if hour < NIGHT_TO {
        Some(date)
    } else {
        None
    }
}
