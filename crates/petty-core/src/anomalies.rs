//! Things worth telling a pet's people about: a day that differs from the pet's own normal, a
//! collar that needs charging or has gone quiet.
//!
//! Every rule stays silent rather than guess: day rules need enough of the day (or night)
//! covered by data, baseline rules need a baseline (the 7-day one, else the 30-day one), and
//! thresholds sit well above day-to-day variation. Explanations are plain sentences with the
//! numbers that decided them.

use crate::baselines::{Baseline, DaySummary, Stat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnomalyKind {
    ElevatedRestingHeartRate,
    DaytimeInactivity,
    RestlessNight,
    ActivityDrop,
    Scratching,
    /// The walking gait less regular than the pet's own: a limp or stiffness.
    GaitChange,
    LowBattery,
    SilentCollar,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 8] = [
        AnomalyKind::ElevatedRestingHeartRate,
        AnomalyKind::DaytimeInactivity,
        AnomalyKind::RestlessNight,
        AnomalyKind::ActivityDrop,
        AnomalyKind::Scratching,
        AnomalyKind::GaitChange,
        AnomalyKind::LowBattery,
        AnomalyKind::SilentCollar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::ElevatedRestingHeartRate => "elevated_resting_heart_rate",
            AnomalyKind::DaytimeInactivity => "daytime_inactivity",
            AnomalyKind::RestlessNight => "restless_night",
            AnomalyKind::ActivityDrop => "activity_drop",
            AnomalyKind::Scratching => "scratching",
            AnomalyKind::GaitChange => "gait_change",
            AnomalyKind::LowBattery => "low_battery",
            AnomalyKind::SilentCollar => "silent_collar",
        }
    }
}

/// How much it matters, least first (so `Ord` sorts by importance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Minor,
    Major,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub severity: Severity,
    /// When it was noticed (`DeviceState::now_ms`); for a silent collar, its last reading.
    pub at_ms: i64,
    /// A sentence for people, with the numbers.
    pub explanation: String,
    /// The value judged (bpm, minutes, interruptions, seconds, percent, minutes of silence).
    pub value: f64,
    /// The baseline mean it was judged against, or the threshold for absolute rules.
    pub baseline: Option<f64>,
}

/// The collar as last heard from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceState {
    pub battery_pct: Option<f64>,
    pub last_seen_ms: Option<i64>,
    pub expected_interval_ms: i64,
    pub now_ms: i64,
}

/// Resting heart rate from this multiple of the baseline is a warning when it is also
/// [`RESTING_HR_SPREADS`] of the pet's own standard deviations above it...
pub const RESTING_HR_WARNING_RATIO: f64 = 1.2;
/// How many of the pet's day-to-day standard deviations (at least [`RESTING_HR_SD_FLOOR`])
/// above its baseline a warning needs.
pub const RESTING_HR_SPREADS: f64 = 4.0;
/// The smallest day-to-day spread assumed, bpm (a pet whose days were all alike).
pub const RESTING_HR_SD_FLOOR: f64 = 2.0;
/// ...above this multiple it is an anomaly whatever the spread...
pub const RESTING_HR_RATIO: f64 = 1.5;
/// ...and a major one from this multiple.
pub const RESTING_HR_MAJOR_RATIO: f64 = 1.8;
/// Minutes of the day that must have data before the resting heart rate is judged.
pub const RESTING_HR_MIN_COVERAGE_MIN: f64 = 240.0;
/// Longest daytime inactive stretch, minutes, above which it is an anomaly (8 h)...
pub const DAYTIME_INACTIVE_MIN: f64 = 480.0;
/// ...and a minor one from here (10 h).
pub const DAYTIME_INACTIVE_MINOR_MIN: f64 = 600.0;
/// Interruptions needed for a restless night, whatever the baseline.
pub const RESTLESS_MIN_INTERRUPTIONS: f64 = 4.0;
/// Minutes of the night window that must have data before the night is judged.
pub const NIGHT_MIN_COVERAGE_MIN: f64 = 360.0;
/// Active minutes below this share of the baseline are a drop...
pub const ACTIVITY_DROP_RATIO: f64 = 0.4;
/// ...when the baseline is at least this many minutes a day...
pub const ACTIVITY_DROP_MIN_BASELINE: f64 = 20.0;
/// ...and the day has at least this much data (18 h).
pub const ACTIVITY_DROP_MIN_COVERAGE_MIN: f64 = 1080.0;
/// Scratching seconds a day: up to 52 is normal; from 53 occasional (info), from 120 elevated
/// (warning), from 300 high (minor), from 600 very high (major).
pub const SCRATCH_BANDS: [(f64, Severity); 4] =
    [(600.0, Severity::Major), (300.0, Severity::Minor), (120.0, Severity::Warning), (53.0, Severity::Info)];
/// A walk whose head nod on every other step ([`DaySummary::gait_nod`]) rises this many of the
/// pet's own day-to-day standard deviations (at least [`GAIT_SD_FLOOR`]) above its baseline is
/// a gait change (warning); twice as far, a minor anomaly.
pub const GAIT_SPREADS: f64 = 4.0;
/// The smallest day-to-day spread of the nod assumed.
pub const GAIT_SD_FLOOR: f64 = 0.01;
/// Battery at or below this is low (warning)...
/// Which statistic of a baseline a rule compares with.
type BaselineField = fn(&Baseline) -> Option<Stat>;

/// Collars reporting at least this often (seconds) see scratching bouts as they happen.
pub const SCRATCH_DENSE_S: f64 = 10.0;
/// A sparser collar needs this many readings' worth of scratching before it is reported.
pub const SCRATCH_SPARSE_SIGHTINGS: f64 = 6.0;
pub const BATTERY_WARNING_PCT: f64 = 15.0;
/// ...and at or below this nearly flat (major).
pub const BATTERY_MAJOR_PCT: f64 = 5.0;
/// A collar is silent after at least this long without a reading...
pub const SILENT_MIN_MS: i64 = 15 * 60_000;
/// ...or this many expected intervals, whichever is longer.
pub const SILENT_INTERVALS: i64 = 5;

/// A number for a sentence: whole above 10, one decimal below.
pub(crate) fn num(x: f64) -> String {
    if x.abs() >= 10.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

/// A duration in minutes for a sentence: "45 min", "8 h 20 min".
pub(crate) fn minutes(m: f64) -> String {
    let m = m.max(0.0).round() as i64;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The baseline to judge against: the 7-day one when it has the metric, else the 30-day one.
fn pick<'a>(
    b7: &'a Baseline,
    b30: &'a Baseline,
    f: impl Fn(&Baseline) -> Option<Stat>,
) -> Option<(Stat, &'static str)> {
    f(b7).map(|s| (s, "7-day")).or_else(|| f(b30).map(|s| (s, "30-day")))
}

/// Every anomaly in the day and the collar's state, most severe first.
pub fn detect(pet_name: &str, today: &DaySummary, b7: &Baseline, b30: &Baseline, device: &DeviceState) -> Vec<Anomaly> {
    let now = device.now_ms;
    let mut out = Vec::new();
    let mut push = |kind, severity, explanation: String, value, baseline| {
        out.push(Anomaly { kind, severity, at_ms: now, explanation, value, baseline });
    };

    // Resting heart rate against the pet's own baseline.
    if let (Some(hr), Some((base, window))) = (today.resting_hr, pick(b7, b30, |b| b.resting_hr))
        && today.minutes_covered >= RESTING_HR_MIN_COVERAGE_MIN
        && base.mean > 0.0
    {
        let ratio = hr / base.mean;
        // Far above this pet's own day-to-day spread: a fever-like rise shows long before 1.5 ×.
        let beyond_spread = hr > base.mean + RESTING_HR_SPREADS * base.sd.max(RESTING_HR_SD_FLOOR);
        let severity = if ratio >= RESTING_HR_MAJOR_RATIO {
            Some(Severity::Major)
        } else if ratio > RESTING_HR_RATIO {
            Some(Severity::Minor)
        } else if ratio >= RESTING_HR_WARNING_RATIO && beyond_spread {
            Some(Severity::Warning)
        } else {
            None
        };
        if let Some(severity) = severity {
            push(
                AnomalyKind::ElevatedRestingHeartRate,
                severity,
                format!(
                    "Resting heart rate {} bpm is {:.1} × {pet_name}'s {window} baseline of {} bpm",
                    num(hr),
                    ratio,
                    num(base.mean)
                ),
                hr,
                Some(base.mean),
            );
        }
    }

    // A long still stretch in the daytime, or a day slept away in naps, unless that is normal
    // for this pet.
    let inactive = today.longest_daytime_inactive_min;
    let dozed = today.daytime_sleep_minutes;
    let (value, field, what): (f64, BaselineField, &str) = if inactive > DAYTIME_INACTIVE_MIN {
        (inactive, |b| b.longest_daytime_inactive_min, "inactive in a row")
    } else {
        (dozed, |b| b.daytime_sleep_minutes, "asleep")
    };
    if value > DAYTIME_INACTIVE_MIN {
        match pick(b7, b30, field) {
            Some((base, _)) if value <= base.mean + (2.0 * base.sd).max(60.0) => {}
            Some((base, window)) => {
                let severity = if value >= DAYTIME_INACTIVE_MINOR_MIN { Severity::Minor } else { Severity::Warning };
                push(
                    AnomalyKind::DaytimeInactivity,
                    severity,
                    format!(
                        "{pet_name} was {what} for {} between 08:00 and 20:00; usually about {} ({window} baseline)",
                        minutes(value),
                        minutes(base.mean)
                    ),
                    value,
                    Some(base.mean),
                );
            }
            None => push(
                AnomalyKind::DaytimeInactivity,
                Severity::Info,
                format!(
                    "{pet_name} was {what} for {} between 08:00 and 20:00 (more than 8 h; there is no baseline yet to tell whether that is usual)",
                    minutes(value)
                ),
                value,
                None,
            ),
        }
    }

    // A restless night: far more interruptions than usual.
    if today.night_minutes_covered >= NIGHT_MIN_COVERAGE_MIN
        && let Some((base, window)) = pick(b7, b30, |b| b.sleep_interruptions)
    {
        let n = f64::from(today.sleep_interruptions);
        let threshold = RESTLESS_MIN_INTERRUPTIONS.max(base.mean + 3.0 * base.sd);
        if n >= threshold {
            let severity = if n >= 2.0 * threshold { Severity::Minor } else { Severity::Warning };
            push(
                AnomalyKind::RestlessNight,
                severity,
                format!(
                    "{pet_name}'s sleep was interrupted {} times last night; a usual night has about {} ({window} baseline)",
                    today.sleep_interruptions,
                    num(base.mean)
                ),
                n,
                Some(base.mean),
            );
        }
    }

    // A sudden drop in activity over a (nearly) whole day.
    if today.minutes_covered >= ACTIVITY_DROP_MIN_COVERAGE_MIN
        && let Some((base, window)) = pick(b7, b30, |b| b.active_minutes)
        && base.mean >= ACTIVITY_DROP_MIN_BASELINE
    {
        let share = today.active_minutes / base.mean;
        if share < ACTIVITY_DROP_RATIO {
            let severity = if share < ACTIVITY_DROP_RATIO / 2.0 { Severity::Minor } else { Severity::Warning };
            push(
                AnomalyKind::ActivityDrop,
                severity,
                format!(
                    "{pet_name} was active for {} today, {:.0}% of the usual {} a day ({window} baseline)",
                    minutes(today.active_minutes),
                    share * 100.0,
                    minutes(base.mean)
                ),
                today.active_minutes,
                Some(base.mean),
            );
        }
    }

    // Scratching: absolute bands, and well above the pet's own normal (the 30-day baseline
    // first here: scratching varies from day to day, a month shows the pet's normal better).
    let secs = today.scratching_secs;
    // A collar that reports once a minute sees a bout of seconds as one scratching minute, so
    // its count of scratching minutes is really a count of bouts: a normal day has a few.
    // Below six readings' worth, a sparse collar's count says nothing either way.
    let resolution_s = (device.expected_interval_ms as f64 / 1000.0).max(1.0);
    let evidence = resolution_s <= SCRATCH_DENSE_S || secs >= SCRATCH_SPARSE_SIGHTINGS * resolution_s;
    let band = SCRATCH_BANDS.iter().find(|(from, _)| secs >= *from).map(|(_, s)| *s).filter(|_| evidence);
    let above_own = pick(b30, b7, |b| b.scratching_secs)
        .filter(|_| evidence)
        .filter(|(base, _)| secs >= 53.0 && secs > base.mean + (3.0 * base.sd).max(30.0) && secs >= 2.0 * base.mean);
    let severity = match (band, above_own) {
        (Some(s), Some(_)) => Some(s.max(Severity::Warning)),
        (Some(s), None) => Some(s),
        (None, Some(_)) => Some(Severity::Warning),
        (None, None) => None,
    };
    if let Some(severity) = severity {
        let level = match band {
            Some(Severity::Info) => "occasional scratching",
            Some(Severity::Warning) => "elevated scratching",
            Some(_) => "a lot of scratching",
            None => "not much on its own",
        };
        let mut explanation =
            format!("{pet_name} scratched for {} s today ({level}; up to 52 s a day is normal)", num(secs));
        if let Some((base, window)) = above_own {
            explanation.push_str(&format!(", well above {pet_name}'s usual {} s ({window} baseline)", num(base.mean)));
        }
        push(AnomalyKind::Scratching, severity, explanation, secs, above_own.map(|(b, _)| b.mean).or(Some(52.0)));
    }

    // The walking gait: a limp nods the head as the sore leg lands, on every other step, far
    // more than this pet's own walks do.
    if let (Some(g), Some((base, window))) = (today.gait_nod, pick(b7, b30, |b| b.gait_nod)) {
        let spread = GAIT_SPREADS * base.sd.max(GAIT_SD_FLOOR);
        let rise = g - base.mean;
        if rise >= spread {
            let severity = if rise >= 2.0 * spread { Severity::Minor } else { Severity::Warning };
            push(
                AnomalyKind::GaitChange,
                severity,
                format!(
                    "{pet_name}'s head nodded on every other step while walking (nod {:.2}, usually {:.2}, {window} baseline): a limp looks like this",
                    g, base.mean
                ),
                g,
                Some(base.mean),
            );
        }
    }

    // Battery.
    if let Some(pct) = device.battery_pct.filter(|p| p.is_finite())
        && pct <= BATTERY_WARNING_PCT
    {
        let (severity, advice) = if pct <= BATTERY_MAJOR_PCT {
            (Severity::Major, "charge it now or it will stop reporting")
        } else {
            (Severity::Warning, "charge it soon")
        };
        push(
            AnomalyKind::LowBattery,
            severity,
            format!("{pet_name}'s collar battery is at {:.0}%: {advice}", pct),
            pct,
            Some(BATTERY_WARNING_PCT),
        );
    }

    // A collar that has gone quiet.
    if let Some(last) = device.last_seen_ms {
        let limit = SILENT_MIN_MS.max(SILENT_INTERVALS.saturating_mul(device.expected_interval_ms.max(1_000)));
        let quiet = now - last;
        if quiet >= limit {
            let quiet_min = quiet as f64 / 60_000.0;
            out.push(Anomaly {
                kind: AnomalyKind::SilentCollar,
                severity: Severity::Major,
                at_ms: last,
                explanation: format!(
                    "No reading from {pet_name}'s collar for {} (it normally reports every {}); check that it is on, charged and in range",
                    minutes(quiet_min),
                    interval(device.expected_interval_ms)
                ),
                value: quiet_min,
                baseline: Some(limit as f64 / 60_000.0),
            });
        }
    }

    out.sort_by_key(|a| std::cmp::Reverse(a.severity));
    out
}

fn interval(ms: i64) -> String {
    let s = (ms / 1000).max(1);
    if s % 60 == 0 { minutes((s / 60) as f64) } else { format!("{s} s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::{baseline, tests::normal_day};
    use time::macros::date;
    use time::{Date, Duration};

    const NOW: i64 = 1_800_000_000_000;
    const TODAY: Date = date!(2026 - 03 - 20);

    fn history() -> Vec<DaySummary> {
        (1..=30).map(|i| normal_day(TODAY - Duration::days(i), i as u32)).collect()
    }

    fn device() -> DeviceState {
        DeviceState {
            battery_pct: Some(80.0),
            last_seen_ms: Some(NOW - 60_000),
            expected_interval_ms: 60_000,
            now_ms: NOW,
        }
    }

    fn run(today: &DaySummary) -> Vec<Anomaly> {
        let h = history();
        detect("Bella", today, &baseline(&h, 7, TODAY), &baseline(&h, 30, TODAY), &device())
    }

    fn kinds(a: &[Anomaly]) -> Vec<(AnomalyKind, Severity)> {
        a.iter().map(|a| (a.kind, a.severity)).collect()
    }

    fn normal() -> DaySummary {
        normal_day(TODAY, 0)
    }

    #[test]
    fn a_normal_week_raises_nothing() {
        let h = history();
        for i in 0..7 {
            let day = TODAY - Duration::days(i);
            let today = h.iter().find(|d| d.day == day).cloned().unwrap_or_else(normal);
            let a = detect("Bella", &today, &baseline(&h, 7, day), &baseline(&h, 30, day), &device());
            assert!(a.is_empty(), "{day}: {a:?}");
        }
    }

    #[test]
    fn elevated_resting_heart_rate() {
        let a = run(&DaySummary { resting_hr: Some(112.0), ..normal() });
        assert_eq!(kinds(&a), [(AnomalyKind::ElevatedRestingHeartRate, Severity::Minor)]);
        assert!(
            a[0].explanation.starts_with("Resting heart rate 112 bpm is 1.7 × Bella's 7-day baseline of 6"),
            "{}",
            a[0].explanation
        );
        assert_eq!(a[0].at_ms, NOW);
        assert_eq!(kinds(&run(&DaySummary { resting_hr: Some(130.0), ..normal() }))[0].1, Severity::Major);
        // 1.4 ×, far outside this pet's day-to-day spread, is a warning (a fever shows so);
        // 1.1 × is not; nor is a day with too little data; nor a pet with no baseline.
        let a = run(&DaySummary { resting_hr: Some(92.0), ..normal() });
        assert_eq!(kinds(&a), [(AnomalyKind::ElevatedRestingHeartRate, Severity::Warning)]);
        assert!(a[0].explanation.contains("is 1.4 ×"), "{}", a[0].explanation);
        assert!(run(&DaySummary { resting_hr: Some(72.0), ..normal() }).is_empty());
        assert!(run(&DaySummary { resting_hr: Some(112.0), minutes_covered: 120.0, ..normal() }).is_empty());
        let none = Baseline::empty(7);
        let a = detect(
            "Bella",
            &DaySummary { resting_hr: Some(112.0), ..normal() },
            &none,
            &Baseline::empty(30),
            &device(),
        );
        assert!(a.is_empty());
    }

    #[test]
    fn daytime_inactivity() {
        let a = run(&DaySummary { longest_daytime_inactive_min: 500.0, ..normal() });
        assert_eq!(kinds(&a), [(AnomalyKind::DaytimeInactivity, Severity::Warning)]);
        assert!(a[0].explanation.contains("8 h 20 min"), "{}", a[0].explanation);
        assert_eq!(kinds(&run(&DaySummary { longest_daytime_inactive_min: 650.0, ..normal() }))[0].1, Severity::Minor);
        assert!(run(&DaySummary { longest_daytime_inactive_min: 470.0, ..normal() }).is_empty());
        // A pet that is usually still for 8 h (a cat) is not flagged for 8.5 h.
        let lazy: Vec<DaySummary> =
            history().into_iter().map(|d| DaySummary { longest_daytime_inactive_min: 490.0, ..d }).collect();
        let today = DaySummary { longest_daytime_inactive_min: 510.0, ..normal() };
        let a = detect("Tom", &today, &baseline(&lazy, 7, TODAY), &baseline(&lazy, 30, TODAY), &device());
        assert!(a.is_empty(), "{a:?}");
        // Without a baseline it is only information.
        let a = detect("Tom", &today, &Baseline::empty(7), &Baseline::empty(30), &device());
        assert_eq!(kinds(&a), [(AnomalyKind::DaytimeInactivity, Severity::Info)]);
    }

    #[test]
    fn restless_night() {
        let a = run(&DaySummary { sleep_interruptions: 6, ..normal() });
        assert_eq!(kinds(&a), [(AnomalyKind::RestlessNight, Severity::Warning)]);
        assert!(a[0].explanation.contains("interrupted 6 times"), "{}", a[0].explanation);
        assert!(run(&DaySummary { sleep_interruptions: 3, ..normal() }).is_empty());
        assert!(run(&DaySummary { sleep_interruptions: 6, night_minutes_covered: 200.0, ..normal() }).is_empty());
        let a = detect(
            "Bella",
            &DaySummary { sleep_interruptions: 6, ..normal() },
            &Baseline::empty(7),
            &Baseline::empty(30),
            &device(),
        );
        assert!(a.is_empty());
    }

    #[test]
    fn activity_drop() {
        let a = run(&DaySummary { active_minutes: 20.0, ..normal() });
        assert_eq!(kinds(&a), [(AnomalyKind::ActivityDrop, Severity::Warning)]);
        assert!(a[0].explanation.contains("20 min today"), "{}", a[0].explanation);
        assert_eq!(kinds(&run(&DaySummary { active_minutes: 5.0, ..normal() }))[0].1, Severity::Minor);
        assert!(run(&DaySummary { active_minutes: 40.0, ..normal() }).is_empty());
        // A partly covered day is not judged.
        assert!(run(&DaySummary { active_minutes: 10.0, minutes_covered: 900.0, ..normal() }).is_empty());
    }

    #[test]
    fn scratching_bands_and_own_baseline() {
        // A collar reporting every second sees each bout.
        let dense = DeviceState { expected_interval_ms: 1_000, ..device() };
        let h = history();
        let sev = |secs| {
            let today = DaySummary { scratching_secs: secs, ..normal() };
            kinds(&detect("Bella", &today, &baseline(&h, 7, TODAY), &baseline(&h, 30, TODAY), &dense))
                .first()
                .map(|k| k.1)
        };
        assert_eq!(sev(52.0), None);
        assert_eq!(sev(60.0), Some(Severity::Warning), "53–119 s is occasional, but 60 s is well above Bella's ~25 s");
        assert_eq!(sev(150.0), Some(Severity::Warning));
        assert_eq!(sev(320.0), Some(Severity::Minor));
        assert_eq!(sev(700.0), Some(Severity::Major));
        // A pet that often scratches about a minute: 70 s is only occasional.
        let itchy: Vec<DaySummary> = history()
            .into_iter()
            .enumerate()
            .map(|(i, d)| DaySummary { scratching_secs: 50.0 + (i % 3) as f64 * 10.0, ..d })
            .collect();
        let a = detect(
            "Bella",
            &DaySummary { scratching_secs: 70.0, ..normal() },
            &baseline(&itchy, 7, TODAY),
            &baseline(&itchy, 30, TODAY),
            &dense,
        );
        assert_eq!(kinds(&a), [(AnomalyKind::Scratching, Severity::Info)]);
        assert!(a[0].explanation.contains("scratched for 70 s"), "{}", a[0].explanation);
    }

    #[test]
    fn a_once_a_minute_collar_needs_six_sightings_of_scratching() {
        // Each sighted minute counts 60 s but is one bout of seconds: a few are a normal day.
        let sev = |secs| kinds(&run(&DaySummary { scratching_secs: secs, ..normal() })).first().map(|k| k.1);
        assert_eq!(sev(120.0), None);
        assert_eq!(sev(300.0), None);
        assert_eq!(sev(360.0), Some(Severity::Minor));
        assert_eq!(sev(900.0), Some(Severity::Major));
    }

    #[test]
    fn battery() {
        let with = |pct| {
            let h = history();
            let d = DeviceState { battery_pct: pct, ..device() };
            kinds(&detect("Bella", &normal(), &baseline(&h, 7, TODAY), &baseline(&h, 30, TODAY), &d))
        };
        assert_eq!(with(Some(16.0)), []);
        assert_eq!(with(None), []);
        assert_eq!(with(Some(15.0)), [(AnomalyKind::LowBattery, Severity::Warning)]);
        assert_eq!(with(Some(5.0)), [(AnomalyKind::LowBattery, Severity::Major)]);
    }

    #[test]
    fn a_walk_that_nods_on_every_other_step_more_than_the_pet_s_own_is_a_gait_change() {
        // The 7-day baseline's nod is about 0.06 with a spread under the floor (0.01): from
        // 0.04 above it is a change, from 0.08 a minor one.
        let a = run(&DaySummary { gait_nod: Some(0.11), ..normal() });
        assert_eq!(kinds(&a), [(AnomalyKind::GaitChange, Severity::Warning)]);
        assert!(a[0].explanation.contains("(nod 0.11, usually 0.06, 7-day baseline)"), "{}", a[0].explanation);
        assert_eq!(
            kinds(&run(&DaySummary { gait_nod: Some(0.16), ..normal() })),
            [(AnomalyKind::GaitChange, Severity::Minor)]
        );
        assert!(run(&DaySummary { gait_nod: Some(0.09), ..normal() }).is_empty());
        // A steadier walk than usual is no anomaly.
        assert!(run(&DaySummary { gait_nod: Some(0.01), ..normal() }).is_empty());
        // No walk with the accelerometer on (or no accelerometer): nothing is judged.
        assert!(run(&DaySummary { gait_nod: None, ..normal() }).is_empty());
        // Nor without days of the pet's own to compare with.
        let none: Vec<DaySummary> = history().into_iter().map(|d| DaySummary { gait_nod: None, ..d }).collect();
        let today = DaySummary { gait_nod: Some(0.30), ..normal() };
        let a = detect("Bella", &today, &baseline(&none, 7, TODAY), &baseline(&none, 30, TODAY), &device());
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn silent_collar() {
        let with = |last: Option<i64>, interval| {
            let h = history();
            let d = DeviceState { last_seen_ms: last, expected_interval_ms: interval, ..device() };
            detect("Bella", &normal(), &baseline(&h, 7, TODAY), &baseline(&h, 30, TODAY), &d)
        };
        assert!(with(Some(NOW - 14 * 60_000), 60_000).is_empty());
        let a = with(Some(NOW - 125 * 60_000), 60_000);
        assert_eq!(kinds(&a), [(AnomalyKind::SilentCollar, Severity::Major)]);
        assert_eq!(a[0].at_ms, NOW - 125 * 60_000);
        assert!(a[0].explanation.contains("for 2 h 5 min (it normally reports every 1 min)"), "{}", a[0].explanation);
        // Five expected intervals when that is longer than 15 minutes.
        assert!(with(Some(NOW - 20 * 60_000), 300_000).is_empty());
        assert_eq!(with(Some(NOW - 25 * 60_000), 300_000).len(), 1);
        assert!(with(None, 60_000).is_empty(), "never seen is not silent");
    }

    #[test]
    fn most_severe_first_and_names() {
        let h = history();
        let d = DeviceState { battery_pct: Some(3.0), ..device() };
        let a = detect(
            "Bella",
            &DaySummary { scratching_secs: 80.0, ..normal() },
            &baseline(&h, 7, TODAY),
            &baseline(&h, 30, TODAY),
            &d,
        );
        assert_eq!(a[0].kind, AnomalyKind::LowBattery);
        assert!(a.windows(2).all(|w| w[0].severity >= w[1].severity));
        let names: Vec<_> = AnomalyKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names[0], "elevated_resting_heart_rate");
        assert_eq!(Severity::Critical.as_str(), "critical");
        assert_eq!(minutes(45.0), "45 min");
        assert_eq!(minutes(480.0), "8 h");
    }
}
