//! Links between a household's daily streams: a person's mood or sleep, a dog's walks or
//! restlessness, the air at night. Petty holds all three, so it can say which go together, how
//! strongly, on how many days, and say "not enough data" rather than guess.
//!
//! Every pair of series is tested on the days both have a value, at lag 0 (the same day) and,
//! if asked, lag 1 (the first series one day, the second the day after; both directions):
//!
//! - a **flag** (a series of 0 and 1, such as "a walk of 30 minutes or more") against another
//!   series: the difference of the other's means on days with and without, with Welch's t
//!   interval and test (unequal variances);
//! - two measures: Pearson's r, its 95 % interval through Fisher's z, and the t test of r = 0.
//!
//! Too few days (or too few days in either group of a flag) is [`PairOutcome::NotEnoughData`],
//! never a number. The p-values of every pair tested are corrected together by
//! Benjamini–Hochberg; a link **holds** when its q-value is at most `alpha` and its interval
//! leaves out zero. Each tested pair has a sentence with its effect, interval, days and q.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

use super::events::{EventContent, EventType};
use super::round;
use super::signals::{Fact, Kind};
use crate::recurrence::Zone;

/// A named daily series.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySeries {
    /// A stable key (`owner_mood`, `walk_minutes`).
    pub name: String,
    /// For sentences, read after "days with" for a flag and "more" for a measure
    /// ("a long dog walk", "CO at night"), and as a subject otherwise ("Anna's mood").
    pub label: String,
    pub values: BTreeMap<Date, f64>,
}

impl DailySeries {
    /// Non-finite values are left out.
    pub fn new(name: &str, label: &str, values: impl IntoIterator<Item = (Date, f64)>) -> DailySeries {
        DailySeries {
            name: name.to_owned(),
            label: label.to_owned(),
            values: values.into_iter().filter(|(_, v)| v.is_finite()).collect(),
        }
    }

    /// A flag series: 1 on the days `self` is at least `threshold`, else 0.
    pub fn flag(&self, name: &str, label: &str, threshold: f64) -> DailySeries {
        DailySeries::new(name, label, self.values.iter().map(|(d, v)| (*d, if *v >= threshold { 1.0 } else { 0.0 })))
    }
}

/// How pairs are tested.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationOptions {
    /// Fewer days with both values is "not enough data".
    pub min_days: usize,
    /// For a flag: fewer days in either group is "not enough data".
    pub min_group: usize,
    /// The false discovery rate.
    pub alpha: f64,
    /// Also test each series against the next day of the others.
    pub lag_one: bool,
}

impl Default for CorrelationOptions {
    fn default() -> CorrelationOptions {
        CorrelationOptions { min_days: 14, min_group: 5, alpha: 0.05, lag_one: true }
    }
}

/// An effect with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Pearson's r.
    Correlation { r: f64, low: f64, high: f64 },
    /// Mean of the other series on days with the flag minus days without.
    MeanDifference {
        difference: f64,
        low: f64,
        high: f64,
        with_mean: f64,
        without_mean: f64,
        with: usize,
        without: usize,
    },
}

impl Effect {
    fn interval(&self) -> (f64, f64) {
        match *self {
            Effect::Correlation { low, high, .. } | Effect::MeanDifference { low, high, .. } => (low, high),
        }
    }
}

/// What a pair's test found.
#[derive(Debug, Clone, PartialEq)]
pub enum PairOutcome {
    /// Too few days to say anything.
    NotEnoughData { n: usize, needed: usize },
    /// One of the series never changed on the shared days.
    Constant,
    Tested {
        effect: Effect,
        /// The test's two-sided p-value.
        p: f64,
        /// Benjamini–Hochberg's adjusted p-value over every pair tested.
        q: f64,
        /// q ≤ alpha and the interval leaves out zero.
        holds: bool,
    },
}

/// One pair: `x` on a day against `y` `lag_days` later.
#[derive(Debug, Clone, PartialEq)]
pub struct PairTest {
    pub x: String,
    pub y: String,
    pub lag_days: u8,
    /// Days with both values.
    pub n: usize,
    pub outcome: PairOutcome,
    /// One sentence with the numbers and the days.
    pub sentence: String,
}

impl PairTest {
    pub fn holds(&self) -> bool {
        matches!(self.outcome, PairOutcome::Tested { holds: true, .. })
    }
}

/// Tests every pair of `series` (see the module docs); links that hold come first, strongest
/// evidence (lowest q) first.
pub fn correlate(series: &[DailySeries], options: &CorrelationOptions) -> Vec<PairTest> {
    let mut tests = Vec::new();
    for i in 0..series.len() {
        for j in i + 1..series.len() {
            tests.push(test_pair(&series[i], &series[j], 0, options));
            if options.lag_one {
                tests.push(test_pair(&series[i], &series[j], 1, options));
                tests.push(test_pair(&series[j], &series[i], 1, options));
            }
        }
    }
    // Benjamini–Hochberg over the pairs that were tested.
    let mut tested: Vec<(usize, f64)> = tests
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t.outcome {
            PairOutcome::Tested { p, .. } => Some((i, p)),
            _ => None,
        })
        .collect();
    tested.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = tested.len() as f64;
    let mut running = 1.0f64;
    for rank in (0..tested.len()).rev() {
        let (i, p) = tested[rank];
        running = running.min(p * m / (rank + 1) as f64).min(1.0);
        if let PairOutcome::Tested { q, holds, effect, .. } = &mut tests[i].outcome {
            *q = running;
            let (low, high) = effect.interval();
            *holds = running <= options.alpha && (low > 0.0 || high < 0.0);
        }
    }
    let by_name: BTreeMap<&str, &DailySeries> = series.iter().map(|s| (s.name.as_str(), s)).collect();
    for t in &mut tests {
        if let (Some(x), Some(y)) = (by_name.get(t.x.as_str()), by_name.get(t.y.as_str())) {
            t.sentence = sentence(t, x, y);
        }
    }
    tests.sort_by(|a, b| {
        let key = |t: &PairTest| match t.outcome {
            PairOutcome::Tested { q, holds, .. } => (u8::from(!holds), q),
            _ => (2, 1.0),
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    tests
}

fn test_pair(a: &DailySeries, b: &DailySeries, lag: u8, options: &CorrelationOptions) -> PairTest {
    let shift = time::Duration::days(i64::from(lag));
    let mut pairs: Vec<(f64, f64)> =
        a.values.iter().filter_map(|(d, va)| Some((*va, *b.values.get(&d.checked_add(shift)?)?))).collect();
    let is_flag = |x: f64| x == 0.0 || x == 1.0;
    let a_flag = pairs.iter().all(|p| is_flag(p.0));
    let b_flag = pairs.iter().all(|p| is_flag(p.1));
    // At lag 0, a flag groups the other series whichever side it is on.
    let (x, y, x_flag) = if lag == 0 && !a_flag && b_flag {
        pairs.iter_mut().for_each(|p| *p = (p.1, p.0));
        (b, a, true)
    } else {
        (a, b, a_flag)
    };
    let n = pairs.len();
    let outcome = if n < options.min_days {
        PairOutcome::NotEnoughData { n, needed: options.min_days }
    } else if x_flag {
        mean_difference(&pairs, options)
    } else {
        pearson(&pairs)
    };
    PairTest { x: x.name.clone(), y: y.name.clone(), lag_days: lag, n, outcome, sentence: String::new() }
}

fn pearson(pairs: &[(f64, f64)]) -> PairOutcome {
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return PairOutcome::Constant;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    let (low, high, p) = if r.abs() >= 1.0 - 1e-12 {
        (r, r, 0.0)
    } else {
        let z = r.atanh();
        let se = 1.0 / (n - 3.0).max(1.0).sqrt();
        let df = n - 2.0;
        let t = r * (df / (1.0 - r * r)).sqrt();
        ((z - Z_975 * se).tanh(), (z + Z_975 * se).tanh(), t_two_sided(t, df))
    };
    PairOutcome::Tested { effect: Effect::Correlation { r, low, high }, p, q: p, holds: false }
}

fn mean_difference(pairs: &[(f64, f64)], options: &CorrelationOptions) -> PairOutcome {
    let with: Vec<f64> = pairs.iter().filter(|p| p.0 == 1.0).map(|p| p.1).collect();
    let without: Vec<f64> = pairs.iter().filter(|p| p.0 == 0.0).map(|p| p.1).collect();
    let smaller = with.len().min(without.len());
    if smaller < options.min_group.max(2) {
        return PairOutcome::NotEnoughData { n: smaller, needed: options.min_group.max(2) };
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0), n)
    };
    let ((m1, v1, n1), (m0, v0, n0)) = (stats(&with), stats(&without));
    let difference = m1 - m0;
    let (a, b) = (v1 / n1, v0 / n0);
    let se = (a + b).sqrt();
    if se <= 0.0 {
        return if difference == 0.0 {
            PairOutcome::Constant
        } else {
            let effect = Effect::MeanDifference {
                difference,
                low: difference,
                high: difference,
                with_mean: m1,
                without_mean: m0,
                with: with.len(),
                without: without.len(),
            };
            PairOutcome::Tested { effect, p: 0.0, q: 0.0, holds: false }
        };
    }
    let df = (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n0 - 1.0));
    let t = difference / se;
    let half = t_quantile_975(df) * se;
    let effect = Effect::MeanDifference {
        difference,
        low: difference - half,
        high: difference + half,
        with_mean: m1,
        without_mean: m0,
        with: with.len(),
        without: without.len(),
    };
    let p = t_two_sided(t, df);
    PairOutcome::Tested { effect, p, q: p, holds: false }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn num(v: f64, places: i32) -> String {
    format!("{:.*}", places as usize, round(v, places))
}

fn q_text(q: f64) -> String {
    if q < 0.001 { "q < 0.001".to_owned() } else { format!("q = {}", num(q, 3)) }
}

fn sentence(t: &PairTest, x: &DailySeries, y: &DailySeries) -> String {
    let when = if t.lag_days == 0 { "on days with" } else { "the day after days with" };
    match &t.outcome {
        PairOutcome::NotEnoughData { n, needed } if *n < t.n => format!(
            "Not enough data to link {} and {}{}: {n} days on the rarer side of {} where {needed} are needed.",
            x.label,
            y.label,
            if t.lag_days == 0 { "" } else { " a day later" },
            x.label
        ),
        PairOutcome::NotEnoughData { n, needed } => format!(
            "Not enough data to link {} and {}{}: {n} days where {needed} are needed.",
            x.label,
            y.label,
            if t.lag_days == 0 { "" } else { " a day later" }
        ),
        PairOutcome::Constant => {
            format!("{} or {} did not change over the {} days both were logged.", capitalise(&x.label), y.label, t.n)
        }
        PairOutcome::Tested { effect, q, holds, .. } => match *effect {
            Effect::Correlation { r, low, high } => {
                let numbers = format!(
                    "r = {} (95% CI {} to {}, {} days, {})",
                    num(r, 2),
                    num(low, 2),
                    num(high, 2),
                    t.n,
                    q_text(*q)
                );
                let later = if t.lag_days == 0 { "" } else { " a day later" };
                if *holds {
                    let way = if r > 0.0 { "higher" } else { "lower" };
                    let when = if t.lag_days == 0 { "when" } else { "the day after" };
                    format!("{} was {way} {when} {} was higher: {numbers}.", capitalise(&y.label), x.label)
                } else {
                    format!("No clear link between {} and {}{later}: {numbers}.", x.label, y.label)
                }
            }
            Effect::MeanDifference { difference, low, high, with_mean, without_mean, with, without } => {
                let numbers = format!(
                    "{} against {} (95% CI of the difference {} to {}; {with} days with, {without} without; {})",
                    num(with_mean, 2),
                    num(without_mean, 2),
                    num(low, 2),
                    num(high, 2),
                    q_text(*q)
                );
                if *holds {
                    let way = if difference > 0.0 { "higher" } else { "lower" };
                    format!(
                        "{} was {} {way} {when} {} than without: {numbers}.",
                        capitalise(&y.label),
                        num(difference.abs(), 2),
                        x.label
                    )
                } else {
                    format!("No clear difference in {} {when} {} and without: {numbers}.", y.label, x.label)
                }
            }
        },
    }
}

/// The standard normal's 97.5th percentile.
const Z_975: f64 = 1.959_963_984_540_054;

/// The two-sided p-value of Student's t with `df` degrees of freedom.
pub(crate) fn t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// The t distribution's 97.5th percentile for `df` (fractional) degrees of freedom.
pub(crate) fn t_quantile_975(df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1000.0);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if t_two_sided(mid, df) > 0.05 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// What a daily series of a person's life log measures.
#[derive(Debug, Clone, PartialEq)]
pub enum DailyMetric {
    /// The mean mood report.
    Mood,
    /// The mean energy report.
    Energy,
    /// The mean stress report.
    Stress,
    /// Hours slept, on the day the sleep ended.
    SleepHours,
    /// Minutes of events of a type (0 on days with other events but none of these).
    Minutes(EventType),
    /// Events of a type (0 on days with other events but none of these).
    Count(EventType),
    /// 1 if work ended at or after this local hour, else 0 (on days with any event).
    LateWork { after_hour: u8 },
}

/// One value per local date in `zone` from a person's (or a pet's) events. Days with no event
/// at all have no value: not logging is not zero.
pub fn daily_values<E: AsRef<EventContent>>(events: &[E], zone: &Zone, metric: &DailyMetric) -> BTreeMap<Date, f64> {
    let mut logged: BTreeSet<Date> = BTreeSet::new();
    let mut sums: BTreeMap<Date, (f64, usize)> = BTreeMap::new();
    for e in events.iter().map(AsRef::as_ref) {
        let day = zone.date_at(e.event_time);
        logged.insert(day);
        let f = Fact::of(e);
        let (value, on) = match metric {
            DailyMetric::Mood => (f.mood, day),
            DailyMetric::Energy => (f.energy, day),
            DailyMetric::Stress => (f.stress, day),
            DailyMetric::SleepHours => match (f.kind, f.minutes) {
                (Kind::Sleep, Some(m)) => {
                    let end = e.event_time + time::Duration::seconds_f64(m * 60.0);
                    (Some(m / 60.0), zone.date_at(end))
                }
                _ => (None, day),
            },
            DailyMetric::Minutes(t) => ((e.event_type == *t).then(|| f.minutes.unwrap_or(0.0)), day),
            DailyMetric::Count(t) => ((e.event_type == *t).then_some(1.0), day),
            DailyMetric::LateWork { after_hour } => match (f.kind, f.minutes) {
                (Kind::Work, Some(m)) => {
                    let end = e.event_time + time::Duration::seconds_f64(m * 60.0);
                    let local = zone.local_at(end);
                    let late = local.date() != Some(day) || local.hour() >= *after_hour;
                    (Some(if late { 1.0 } else { 0.0 }), day)
                }
                _ => (None, day),
            },
        };
        if let Some(v) = value {
            let entry = sums.entry(on).or_insert((0.0, 0));
            match metric {
                DailyMetric::LateWork { .. } => entry.0 = entry.0.max(v),
                _ => entry.0 += v,
            }
            entry.1 += 1;
        }
    }
    let averaged = matches!(metric, DailyMetric::Mood | DailyMetric::Energy | DailyMetric::Stress);
    let mut out: BTreeMap<Date, f64> =
        sums.into_iter().map(|(d, (s, n))| (d, if averaged { s / n as f64 } else { s })).collect();
    if matches!(metric, DailyMetric::Minutes(_) | DailyMetric::Count(_) | DailyMetric::LateWork { .. }) {
        for d in logged {
            out.entry(d).or_insert(0.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::lifelog::boost::tests::Rng;
    use crate::lifelog::events::EventData;

    #[test]
    fn the_distributions_agree_with_tables() {
        // t(10) two-sided 5 % critical value 2.228; t(1) is Cauchy: p(1) = 0.5.
        assert!((t_two_sided(2.228_138_85, 10.0) - 0.05).abs() < 1e-6);
        assert!((t_two_sided(1.0, 1.0) - 0.5).abs() < 1e-9);
        assert!((t_quantile_975(10.0) - 2.228_138_85).abs() < 1e-6);
        assert!((t_quantile_975(1e6) - Z_975).abs() < 1e-4);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
    }

    fn day(i: i64) -> Date {
        date!(2026 - 01 - 01) + time::Duration::days(i)
    }

    /// 120 days: dog walks lift the owner's mood the same day, late work makes the dog restless
    /// the next day, CO at night shortens sleep; the noise series is independent of all.
    fn household(seed: u64) -> Vec<DailySeries> {
        let mut rng = Rng(seed);
        let (mut walk, mut mood, mut late, mut restless, mut co, mut sleep, mut noise) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut late_yesterday = 0.0;
        for i in 0..120 {
            let w = rng.uniform() * 60.0;
            let l = if rng.uniform() < 0.3 { 1.0 } else { 0.0 };
            let c = rng.uniform() * 8.0;
            walk.push((day(i), w));
            mood.push((day(i), 5.0 + 0.02 * (w - 30.0) + 0.6 * rng.normal()));
            late.push((day(i), l));
            restless.push((day(i), 20.0 + 15.0 * late_yesterday + 8.0 * rng.normal()));
            co.push((day(i), c));
            sleep.push((day(i), 7.5 - 0.15 * c + 0.6 * rng.normal()));
            noise.push((day(i), rng.normal()));
            late_yesterday = l;
        }
        vec![
            DailySeries::new("walk_minutes", "minutes walking Bella", walk),
            DailySeries::new("owner_mood", "Anna's mood", mood),
            DailySeries::new("late_work", "late work", late),
            DailySeries::new("dog_restless", "Bella's restlessness", restless),
            DailySeries::new("co_night", "CO at night", co),
            DailySeries::new("owner_sleep", "Anna's sleep", sleep),
            DailySeries::new("noise", "the noise", noise),
        ]
    }

    const SEED: u64 = 1;

    #[test]
    fn planted_links_are_found_with_their_sign_and_lag() {
        let tests = correlate(&household(SEED), &CorrelationOptions::default());
        let found: Vec<&PairTest> = tests.iter().filter(|t| t.holds()).collect();
        for t in &found {
            println!("{}", t.sentence);
        }
        let find = |x: &str, y: &str, lag: u8| {
            found.iter().find(|t| ((t.x == x && t.y == y) || (lag == 0 && t.x == y && t.y == x)) && t.lag_days == lag)
        };
        let walk = find("walk_minutes", "owner_mood", 0).expect("walks and mood");
        assert!(matches!(walk.outcome, PairOutcome::Tested { effect: Effect::Correlation { r, .. }, .. } if r > 0.0));
        let late = find("late_work", "dog_restless", 1).expect("late work and the dog's restlessness the next day");
        assert!(matches!(
            late.outcome,
            PairOutcome::Tested { effect: Effect::MeanDifference { difference, .. }, .. } if difference > 5.0
        ));
        assert!(late.sentence.starts_with("Bella's restlessness was "), "{}", late.sentence);
        assert!(late.sentence.contains("the day after days with late work"), "{}", late.sentence);
        let co = find("co_night", "owner_sleep", 0).expect("CO and sleep");
        assert!(matches!(co.outcome, PairOutcome::Tested { effect: Effect::Correlation { r, .. }, .. } if r < 0.0));
        assert!(co.sentence.contains("120 days"), "{}", co.sentence);
        assert!(found.iter().all(|t| t.x != "noise" && t.y != "noise"), "noise linked: {found:?}");
        // Same-day late work is not what was planted.
        assert!(find("late_work", "dog_restless", 0).is_none());
    }

    #[test]
    fn independent_noise_yields_no_finding() {
        let tests = correlate(&noise_series(5), &CorrelationOptions::default());
        assert_eq!(tests.len(), 15 * 3);
        assert!(tests.iter().all(|t| !t.holds()), "{:?}", tests.iter().find(|t| t.holds()));
        assert!(tests[0].sentence.starts_with("No clear link between"), "{}", tests[0].sentence);
    }

    #[test]
    fn too_few_days_is_said_never_guessed() {
        let a = DailySeries::new("a", "steps", (0..10).map(|i| (day(i), i as f64)));
        let b = DailySeries::new("b", "mood", (0..10).map(|i| (day(i), (i * 2) as f64)));
        let tests = correlate(&[a, b], &CorrelationOptions::default());
        assert!(tests.iter().all(|t| matches!(t.outcome, PairOutcome::NotEnoughData { needed: 14, .. })));
        assert_eq!(tests[0].sentence, "Not enough data to link steps and mood: 10 days where 14 are needed.");
        // A flag set on only 3 of 30 days: too few days with it.
        let flag = DailySeries::new("f", "a trip", (0..30).map(|i| (day(i), if i < 3 { 1.0 } else { 0.0 })));
        let other = DailySeries::new("o", "mood", (0..30).map(|i| (day(i), i as f64)));
        let same_day =
            correlate(&[flag, other], &CorrelationOptions { lag_one: false, ..CorrelationOptions::default() });
        assert_eq!(same_day[0].outcome, PairOutcome::NotEnoughData { n: 3, needed: 5 });
        assert_eq!(
            same_day[0].sentence,
            "Not enough data to link a trip and mood: 3 days on the rarer side of a trip where 5 are needed."
        );
    }

    #[test]
    fn daily_values_from_a_life_log() {
        let zone = Zone::utc();
        let events = vec![
            EventContent::new(EventType::Walk, "Bella", datetime!(2026-11-20 07:00 UTC)).with_duration(30),
            EventContent::new(EventType::Walk, "Bella", datetime!(2026-11-20 18:00 UTC)).with_duration(20),
            EventContent::new(EventType::Sleep, "s", datetime!(2026-11-20 23:00 UTC)).with_duration(480),
            EventContent::new(EventType::Work, "w", datetime!(2026-11-21 13:00 UTC)).with_duration(480),
            EventContent::new(EventType::Mood, "m", datetime!(2026-11-21 09:00 UTC))
                .with_data(EventData::new().with_number("mood_score", 6.0)),
            EventContent::new(EventType::Mood, "m", datetime!(2026-11-21 19:00 UTC))
                .with_data(EventData::new().with_number("mood_score", 8.0)),
        ];
        let walks = daily_values(&events, &zone, &DailyMetric::Minutes(EventType::Walk));
        assert_eq!(walks.get(&date!(2026 - 11 - 20)), Some(&50.0));
        assert_eq!(walks.get(&date!(2026 - 11 - 21)), Some(&0.0));
        assert_eq!(walks.get(&date!(2026 - 11 - 22)), None);
        let sleep = daily_values(&events, &zone, &DailyMetric::SleepHours);
        assert_eq!(sleep.get(&date!(2026 - 11 - 21)), Some(&8.0));
        let mood = daily_values(&events, &zone, &DailyMetric::Mood);
        assert_eq!(mood.get(&date!(2026 - 11 - 21)), Some(&7.0));
        let late = daily_values(&events, &zone, &DailyMetric::LateWork { after_hour: 20 });
        assert_eq!(late.get(&date!(2026 - 11 - 21)), Some(&1.0));
        assert_eq!(late.get(&date!(2026 - 11 - 20)), Some(&0.0));
        let long_walks = DailySeries::new("walks", "walks", walks).flag("long_walk", "a long walk", 30.0);
        assert_eq!(long_walks.values.values().copied().collect::<Vec<_>>(), [1.0, 0.0]);
    }

    fn noise_series(seed: u64) -> Vec<DailySeries> {
        let mut rng = Rng(seed);
        (0..6)
            .map(|k| {
                let name = format!("s{k}");
                DailySeries::new(&name, &name, (0..120).map(|i| (day(i), rng.normal())))
            })
            .collect()
    }

    /// Over 300 seeds: the planted links are always found, and a false link shows up about as
    /// often as a 5 % false discovery rate allows (measured: 0 missed, noise linked in 17 of 300
    /// households, any link among pure noise in 13 of 300).
    #[test]
    #[ignore = "a calibration run over 300 seeds; takes a few seconds"]
    fn false_links_stay_near_the_false_discovery_rate() {
        let (mut missed, mut noisy, mut null_hits) = (0, 0, 0);
        for seed in 0..300u64 {
            let tests = correlate(&household(seed), &CorrelationOptions::default());
            let found: Vec<&PairTest> = tests.iter().filter(|t| t.holds()).collect();
            let has = |x: &str, y: &str, lag: u8| {
                found.iter().any(|t| ((t.x == x && t.y == y) || (t.x == y && t.y == x)) && t.lag_days == lag)
            };
            if !(has("walk_minutes", "owner_mood", 0)
                && has("late_work", "dog_restless", 1)
                && has("co_night", "owner_sleep", 0))
            {
                missed += 1;
            }
            noisy += usize::from(found.iter().any(|t| t.x == "noise" || t.y == "noise"));
            null_hits += usize::from(
                correlate(&noise_series(seed * 7 + 1), &CorrelationOptions::default()).iter().any(|t| t.holds()),
            );
        }
        println!("planted missed {missed}, noise linked {noisy}, pure noise linked {null_hits}, of 300");
        assert_eq!(missed, 0);
        assert!(noisy <= 24 && null_hits <= 24, "{noisy} {null_hits}");
    }
}
