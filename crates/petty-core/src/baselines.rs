//! One local day of a pet's life reduced to a few numbers ([`DaySummary`]), and the pet's own
//! normal for each of them over a rolling window ([`Baseline`]).
//!
//! Windows, in the pet's local time (a [`LocalClock`]: the household's time zone, whose days are
//! 23 or 25 hours long when the clocks change, or a fixed offset):
//! - the **day** is 00:00 to the next 00:00 of the date;
//! - the **night** of a date is the night that ends on its morning: 21:00 the evening before to
//!   07:00 ([`NIGHT_START_HOUR`], [`NIGHT_END_HOUR`]);
//! - the **daytime** is 08:00 to 20:00 ([`DAYTIME_START_HOUR`], [`DAYTIME_END_HOUR`]).
//!
//! [`summarise_day`] clips everything it is given to those windows, so callers may pass more;
//! [`input_window`] is the span it needs (from the night's start to the day's end).

use std::ops::Range;

use time::{Date, Duration, PrimitiveDateTime, Time, UtcOffset};

use crate::behaviour::columns::col;
use crate::behaviour::{Behaviour, Columns, Episode, Sample};

pub const NIGHT_START_HOUR: u8 = 21;
pub const NIGHT_END_HOUR: u8 = 7;
pub const DAYTIME_START_HOUR: u8 = 8;
pub const DAYTIME_END_HOUR: u8 = 20;
/// A sample stands for the time since the previous one, but never for more than this.
pub const MAX_SAMPLE_SPAN_MS: i64 = 5 * 60_000;
/// The span of the first sample of a series (no previous one to measure from).
pub const FIRST_SAMPLE_SPAN_MS: i64 = 60_000;
/// A run of waking episodes between two sleeps at night counts as an interruption from this long.
pub const INTERRUPTION_MIN_MS: i64 = 3 * 60_000;
/// Resting heart rate is this percentile of the heart rates measured while sleeping or resting.
pub const RESTING_HR_PERCENTILE: f64 = 10.0;
/// Fewer heart-rate (or respiration) values than this give no resting value.
pub const MIN_VITAL_SAMPLES: usize = 5;
/// A day counts towards a baseline when its data cover at least this many minutes (12 h).
pub const BASELINE_DAY_MIN_COVERAGE_MIN: f64 = 720.0;
/// Fewer accelerometer windows than this while walking say nothing of the gait.
pub const GAIT_MIN_WINDOWS: usize = 10;

const MINUTE_MS: f64 = 60_000.0;

/// One local day, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySummary {
    pub day: Date,
    /// Minutes of the day (0–1440) with samples or episodes.
    pub minutes_covered: f64,
    /// Minutes of the night window (0–600) with samples or episodes.
    pub night_minutes_covered: f64,
    /// Beats a minute: the 10th percentile while sleeping or resting.
    pub resting_hr: Option<f64>,
    /// Breaths a minute: the median while sleeping or resting.
    pub respiration: Option<f64>,
    /// Minutes of walking, running or playing in the day.
    pub active_minutes: f64,
    /// Minutes of sleep in the night window.
    pub sleep_minutes: f64,
    /// Waking bouts of at least 3 minutes between two sleeps in the night window.
    pub sleep_interruptions: u32,
    /// Minutes of walking, running, playing, pacing, scratching or shaking in the night window.
    pub night_restless_minutes: f64,
    /// Seconds of scratching in the day.
    pub scratching_secs: f64,
    /// The longest unbroken inactive stretch in the daytime window, in minutes (only time with data).
    pub longest_daytime_inactive_min: f64,
    /// Minutes asleep between 08:00 and 20:00 local (naps add up; a lethargic day sleeps most
    /// of it).
    pub daytime_sleep_minutes: f64,
    /// Steps counted in the day.
    pub steps: f64,
    /// How much the head nodded on every other step while walking: the median, over the
    /// accelerometer windows taken while walking, of the power at half the window's dominant
    /// rhythm against the rhythm's own (`accel_half_rhythm`). An even gait has little there; a
    /// limp nods the head as the sore leg lands, on every other step. `None` without
    /// [`GAIT_MIN_WINDOWS`] windows (collars without an accelerometer, days without a walk).
    pub gait_nod: Option<f64>,
}

impl DaySummary {
    /// A day with no data at all.
    pub fn empty(day: Date) -> Self {
        Self {
            day,
            minutes_covered: 0.0,
            night_minutes_covered: 0.0,
            resting_hr: None,
            respiration: None,
            active_minutes: 0.0,
            sleep_minutes: 0.0,
            sleep_interruptions: 0,
            night_restless_minutes: 0.0,
            scratching_secs: 0.0,
            longest_daytime_inactive_min: 0.0,
            daytime_sleep_minutes: 0.0,
            steps: 0.0,
            gait_nod: None,
        }
    }
}

/// Where a local date's hours fall, as epoch milliseconds.
pub trait LocalClock: Copy {
    /// `hour`:00 of `day`, local time (a time the clocks skip moves on by the gap).
    fn local_ms(self, day: Date, hour: u8) -> i64;
}

impl LocalClock for UtcOffset {
    fn local_ms(self, day: Date, hour: u8) -> i64 {
        let t = Time::from_hms(hour, 0, 0).unwrap_or(Time::MIDNIGHT);
        let at = PrimitiveDateTime::new(day, t).assume_offset(self);
        (at.unix_timestamp_nanos() / 1_000_000) as i64
    }
}

impl LocalClock for &crate::recurrence::Zone {
    fn local_ms(self, day: Date, hour: u8) -> i64 {
        let at = self.at_hour(day, hour as i8).unwrap_or_else(|| {
            PrimitiveDateTime::new(day, Time::from_hms(hour, 0, 0).unwrap_or(Time::MIDNIGHT)).assume_utc()
        });
        (at.unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// The local day as epoch milliseconds, `[start, end)`: 23 or 25 hours when the clocks change.
pub fn day_window(day: Date, clock: impl LocalClock) -> (i64, i64) {
    let start = clock.local_ms(day, 0);
    match day.next_day() {
        Some(next) => (start, clock.local_ms(next, 0)),
        None => (start, start + 86_400_000),
    }
}

/// The night that ends on the morning of `day`, as epoch milliseconds, `[start, end)`.
pub fn night_window(day: Date, clock: impl LocalClock) -> (i64, i64) {
    let before = day.checked_sub(Duration::DAY).unwrap_or(day);
    let start = clock.local_ms(before, NIGHT_START_HOUR);
    let start = if before == day { start - 86_400_000 } else { start };
    (start, clock.local_ms(day, NIGHT_END_HOUR))
}

/// The daytime window of `day`, as epoch milliseconds, `[start, end)`.
pub fn daytime_window(day: Date, clock: impl LocalClock) -> (i64, i64) {
    (clock.local_ms(day, DAYTIME_START_HOUR), clock.local_ms(day, DAYTIME_END_HOUR))
}

/// Everything [`summarise_day`] looks at: from the start of the night to the end of the day.
pub fn input_window(day: Date, clock: impl LocalClock) -> (i64, i64) {
    (night_window(day, clock).0, day_window(day, clock).1)
}

/// Sorted, disjoint, half-open intervals.
type Intervals = Vec<(i64, i64)>;

fn merge(mut v: Intervals) -> Intervals {
    v.retain(|(a, b)| b > a);
    v.sort_unstable();
    let mut out: Intervals = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn clip(v: &[(i64, i64)], (lo, hi): (i64, i64)) -> Intervals {
    v.iter().map(|&(a, b)| (a.max(lo), b.min(hi))).filter(|(a, b)| b > a).collect()
}

fn total_ms(v: &[(i64, i64)]) -> i64 {
    v.iter().map(|(a, b)| b - a).sum()
}

fn contains(v: &[(i64, i64)], t: i64) -> bool {
    let i = v.partition_point(|&(a, _)| a <= t);
    i > 0 && t < v[i - 1].1
}

fn overlap_ms(e: &Episode, (lo, hi): (i64, i64)) -> i64 {
    (e.end_ms.min(hi) - e.start_ms.max(lo)).max(0)
}

fn is_rest(b: Behaviour) -> bool {
    matches!(b, Behaviour::Sleeping | Behaviour::Resting)
}

fn is_restless(b: Behaviour) -> bool {
    b.is_active() || matches!(b, Behaviour::Pacing | Behaviour::Scratching | Behaviour::Shaking)
}

/// Samples in time order as the day's summary reads them (times, steps, activity levels and
/// vitals): [`Columns`], or a slice of [`Sample`]s already in time order, read where it is.
/// Absent values are NaN, as in columns.
trait Readings {
    fn ts(&self, i: usize) -> i64;
    /// The samples with `lo <= ts < hi`.
    fn range(&self, window: (i64, i64)) -> Range<usize>;
    /// Each sample's time, steps and activity level.
    fn movement(&self) -> impl Iterator<Item = (i64, f64, f64)>;
    /// The steps of the samples `range`.
    fn steps(&self, range: Range<usize>) -> impl Iterator<Item = f64>;
    /// The activity level, heart rate and respiration rate of the samples `range`.
    fn vitals(&self, range: Range<usize>) -> impl Iterator<Item = (f64, f64, f64)>;
    /// Appends the [`order_key`]s of the usable heart rates and respiration rates of the
    /// samples `range`.
    fn push_usable_vitals(&self, range: Range<usize>, hr: &mut Vec<u64>, resp: &mut Vec<u64>);
    /// Appends the half rhythm ([`crate::behaviour::AccelFeatures::half_rhythm`]) of the
    /// samples `range` that have it.
    fn push_half_rhythm(&self, range: Range<usize>, out: &mut Vec<f64>);
}

impl Readings for Columns {
    fn ts(&self, i: usize) -> i64 {
        self.ts_ms()[i]
    }

    fn range(&self, window: (i64, i64)) -> Range<usize> {
        Columns::range(self, window)
    }

    fn movement(&self) -> impl Iterator<Item = (i64, f64, f64)> {
        let (steps, level) = (self.column(col::STEPS), self.column(col::ACTIVITY_LEVEL));
        self.ts_ms().iter().zip(steps).zip(level).map(|((t, s), l)| (*t, *s, *l))
    }

    fn steps(&self, range: Range<usize>) -> impl Iterator<Item = f64> {
        self.column(col::STEPS)[range].iter().copied()
    }

    fn vitals(&self, range: Range<usize>) -> impl Iterator<Item = (f64, f64, f64)> {
        let (level, hr, resp) =
            (self.column(col::ACTIVITY_LEVEL), self.column(col::HEART_RATE), self.column(col::RESPIRATION_RATE));
        level[range.clone()].iter().zip(&hr[range.clone()]).zip(&resp[range]).map(|((l, h), r)| (*l, *h, *r))
    }

    fn push_usable_vitals(&self, range: Range<usize>, hr: &mut Vec<u64>, resp: &mut Vec<u64>) {
        push_usable(&self.column(col::HEART_RATE)[range.clone()], hr);
        push_usable(&self.column(col::RESPIRATION_RATE)[range], resp);
    }

    fn push_half_rhythm(&self, range: Range<usize>, out: &mut Vec<f64>) {
        // Empty while no sample has accelerometer features.
        if let Some(half) = self.column(col::HALF_RHYTHM).get(range) {
            out.extend(half.iter().copied().filter(|h| h.is_finite()));
        }
    }
}

fn num(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

impl Readings for [Sample] {
    fn ts(&self, i: usize) -> i64 {
        self[i].ts_ms
    }

    fn range(&self, (lo, hi): (i64, i64)) -> Range<usize> {
        let a = self.partition_point(|s| s.ts_ms < lo);
        a..a + self[a..].partition_point(|s| s.ts_ms < hi)
    }

    fn movement(&self) -> impl Iterator<Item = (i64, f64, f64)> {
        self.iter().map(|s| (s.ts_ms, num(s.steps), num(s.activity_level)))
    }

    fn steps(&self, range: Range<usize>) -> impl Iterator<Item = f64> {
        self[range].iter().map(|s| num(s.steps))
    }

    fn vitals(&self, range: Range<usize>) -> impl Iterator<Item = (f64, f64, f64)> {
        self[range].iter().map(|s| (num(s.activity_level), num(s.heart_rate), num(s.respiration_rate)))
    }

    fn push_usable_vitals(&self, range: Range<usize>, hr: &mut Vec<u64>, resp: &mut Vec<u64>) {
        for s in &self[range] {
            hr.extend(s.heart_rate.filter(|v| usable(*v)).map(order_key));
            resp.extend(s.respiration_rate.filter(|v| usable(*v)).map(order_key));
        }
    }

    fn push_half_rhythm(&self, range: Range<usize>, out: &mut Vec<f64>) {
        out.extend(self[range].iter().filter_map(|s| s.accel.map(|a| a.half_rhythm)).filter(|h| h.is_finite()));
    }
}

/// What one pass over the samples in time order gathers.
struct Scan {
    /// The samples' periods `[ts - span, ts)`, joined where they touch.
    covered: Intervals,
    /// The periods of samples that show movement, joined.
    moving: Intervals,
}

/// One pass over the samples' times, steps and activity levels, in time order: the periods
/// they cover and the periods of movement.
fn scan_samples(samples: &(impl Readings + ?Sized)) -> Scan {
    let (mut covered, mut moving) = (Joined::default(), Joined::default());
    let mut prev: Option<i64> = None;
    for (t, steps, level) in samples.movement() {
        let span = match prev {
            Some(p) => (t - p).min(MAX_SAMPLE_SPAN_MS),
            None => FIRST_SAMPLE_SPAN_MS,
        };
        prev = Some(t);
        if span > 0 {
            covered.add((t - span, t));
            // Moving: steps counted, or an activity level of light or more.
            if steps > 0.0 || level >= 1.0 {
                moving.add((t - span, t));
            }
        }
    }
    Scan { covered: covered.into_intervals(), moving: moving.into_intervals() }
}

/// Intervals in time order, each joined to the one before when it starts within it.
#[derive(Default)]
struct Joined {
    done: Intervals,
    /// The last interval, still growing.
    open: Option<(i64, i64)>,
}

impl Joined {
    fn add(&mut self, (a, b): (i64, i64)) {
        match &mut self.open {
            Some(last) if a <= last.1 && a >= last.0 => last.1 = last.1.max(b),
            open => {
                if let Some(last) = open.replace((a, b)) {
                    self.done.push(last);
                }
            }
        }
    }

    fn into_intervals(mut self) -> Intervals {
        self.done.extend(self.open);
        self.done
    }
}

/// Steps counted by the samples `day` (the day's, in time order).
fn day_steps(samples: &(impl Readings + ?Sized), day: Range<usize>) -> f64 {
    let mut steps = 0.0;
    for x in samples.steps(day) {
        steps += if x > 0.0 { x } else { 0.0 };
    }
    steps
}

/// Whether a heart rate or respiration rate counts towards a resting value.
fn usable(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// Heart rates and respiration rates (their [`order_key`]s) of the samples `day` (the day's, in
/// time order) inside resting episodes (`rest`) and outside waking ones (`awake`).
fn resting_vitals(
    samples: &(impl Readings + ?Sized),
    day: Range<usize>,
    rest: &[(i64, i64)],
    awake: &[(i64, i64)],
) -> (Vec<u64>, Vec<u64>) {
    if day.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // The stretches at rest: the resting intervals less the waking ones.
    let (lo, hi) = (samples.ts(day.start), samples.ts(day.end - 1) + 1);
    let mut stretches: Vec<Range<usize>> = Vec::new();
    let mut ai = 0;
    for &(a, b) in clip(rest, (lo, hi)).iter() {
        let mut from = a;
        while awake.get(ai).is_some_and(|iv| iv.1 <= from) {
            ai += 1;
        }
        let mut k = ai;
        while from < b {
            let to = match awake.get(k) {
                Some(iv) if iv.0 < b => iv.0.max(from),
                _ => b,
            };
            if to > from {
                stretches.push(samples.range((from, to)));
            }
            match awake.get(k) {
                Some(iv) if iv.0 < b => {
                    from = from.max(iv.1);
                    k += 1;
                }
                _ => break,
            }
        }
    }
    let n: usize = stretches.iter().map(|r| r.len()).sum();
    let (mut hr, mut resp) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for r in stretches {
        samples.push_usable_vitals(r, &mut hr, &mut resp);
    }
    (hr, resp)
}

/// Appends the [`order_key`]s of the usable `values` to `out`, without a branch per value.
fn push_usable(values: &[f64], out: &mut Vec<u64>) {
    // The keys of finite positive numbers lie strictly between those of 0 and infinity.
    const ABOVE: u64 = 1 << 63;
    const BELOW: u64 = 0xFFF0_0000_0000_0000;
    let start = out.len();
    out.extend(values.iter().map(|v| order_key(*v)));
    let mut k = start;
    for i in start..out.len() {
        let key = out[i];
        // Written always, kept (by moving on) only when usable; `k <= i`.
        out[k] = key;
        k += usize::from(key.wrapping_sub(ABOVE + 1) < BELOW - ABOVE - 1);
    }
    out.truncate(k);
}

/// The same for the samples `day` at activity level 0 (for days without episodes).
fn still_vitals(samples: &(impl Readings + ?Sized), day: Range<usize>) -> (Vec<u64>, Vec<u64>) {
    let (mut hr, mut resp) = (Vec::new(), Vec::new());
    for (level, heart_rate, respiration_rate) in samples.vitals(day) {
        if level < 0.5 {
            hr.extend(usable(heart_rate).then(|| order_key(heart_rate)));
            resp.extend(usable(respiration_rate).then(|| order_key(respiration_rate)));
        }
    }
    (hr, resp)
}

/// The `p`th percentile (0–100) by linear interpolation; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut keys: Vec<u64> = values.iter().copied().filter(|x| x.is_finite()).map(order_key).collect();
    percentile_of_keys(&mut keys, p)
}

/// A number as an integer in the same order as [`f64::total_cmp`]'s (and so the same for the
/// same number): selection compares integers, not numbers.
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    // Positive: above every negative; negative: the larger the magnitude, the smaller.
    bits ^ ((((bits as i64) >> 63) as u64) | (1 << 63))
}

fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key ^ (1 << 63) } else { !key })
}

/// [`percentile`] of numbers given by their [`order_key`]s, reordering them.
fn percentile_of_keys(keys: &mut [u64], p: f64) -> Option<f64> {
    if keys.is_empty() {
        return None;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (keys.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    // Selection instead of a sort: a day at 1 Hz has tens of thousands of resting values.
    let (_, &mut low, above) = keys.select_nth_unstable(lo);
    let high = if hi > lo { above.iter().copied().min().unwrap_or(low) } else { low };
    let (low, high) = (from_order_key(low), from_order_key(high));
    Some(low + (high - low) * (rank - lo as f64))
}

/// Summarises one local day from its samples and episodes (both may be unsorted and may reach
/// outside [`input_window`]; what lies outside is ignored).
pub fn summarise_day(day: Date, clock: impl LocalClock, samples: &[Sample], episodes: &[Episode]) -> DaySummary {
    if samples.is_sorted_by_key(|s| s.ts_ms) {
        summarise(day, clock, samples, episodes)
    } else {
        // Put in time order (with the accelerometer's columns, for the gait).
        let columns = Columns::of_rows(samples, col::ALL);
        summarise(day, clock, &*columns.in_time_order(), episodes)
    }
}

/// [`summarise_day`] of samples kept as [`Columns`] (what the server reads a pet's day into).
pub fn summarise_columns(day: Date, clock: impl LocalClock, samples: &Columns, episodes: &[Episode]) -> DaySummary {
    summarise(day, clock, &*samples.in_time_order(), episodes)
}

/// [`summarise_day`] of samples in time order.
fn summarise(
    day: Date,
    clock: impl LocalClock,
    samples: &(impl Readings + ?Sized),
    episodes: &[Episode],
) -> DaySummary {
    let dw = day_window(day, clock);
    let nw = night_window(day, clock);
    let tw = daytime_window(day, clock);

    let rest = merge(episodes.iter().filter(|e| is_rest(e.label)).map(|e| (e.start_ms, e.end_ms)).collect());
    let awake = merge(episodes.iter().filter(|e| !is_rest(e.label)).map(|e| (e.start_ms, e.end_ms)).collect());
    let scan = scan_samples(samples);
    let in_day = samples.range(dw);
    let covered = merge(scan.covered.iter().copied().chain(episodes.iter().map(|e| (e.start_ms, e.end_ms))).collect());
    let minutes_covered = total_ms(&clip(&covered, dw)) as f64 / MINUTE_MS;
    let night_minutes_covered = total_ms(&clip(&covered, nw)) as f64 / MINUTE_MS;

    // Vitals while sleeping or resting in the day; without episodes (so none resting), the
    // samples marked at rest.
    let (mut hr, mut resp) = if rest.is_empty() {
        still_vitals(samples, in_day.clone())
    } else {
        resting_vitals(samples, in_day.clone(), &rest, &awake)
    };
    let vital = |v: &mut [u64], p: f64| if v.len() >= MIN_VITAL_SAMPLES { percentile_of_keys(v, p) } else { None };
    let resting_hr = vital(&mut hr, RESTING_HR_PERCENTILE);
    let respiration = vital(&mut resp, 50.0);

    let minutes_of = |pred: &dyn Fn(Behaviour) -> bool, w: (i64, i64)| {
        let iv = merge(episodes.iter().filter(|e| pred(e.label)).map(|e| (e.start_ms, e.end_ms)).collect());
        total_ms(&clip(&iv, w)) as f64 / MINUTE_MS
    };
    let active_minutes = minutes_of(&|b| b.is_active(), dw);
    let sleep_minutes = minutes_of(&|b| b == Behaviour::Sleeping, nw);
    let night_restless_minutes = minutes_of(&is_restless, nw);
    let scratching_secs = minutes_of(&|b| b == Behaviour::Scratching, dw) * 60.0;
    let daytime_sleep_minutes = minutes_of(&|b| b == Behaviour::Sleeping, tw);

    let sleep_interruptions = interruptions(episodes, nw);
    let longest_daytime_inactive_min =
        longest_inactive_ms(&covered, &rest, &awake, &scan.moving, tw) as f64 / MINUTE_MS;
    let steps = day_steps(samples, in_day);
    let gait_nod = gait_nod(samples, episodes, dw);

    DaySummary {
        day,
        minutes_covered,
        night_minutes_covered,
        resting_hr,
        respiration,
        active_minutes,
        sleep_minutes,
        sleep_interruptions,
        night_restless_minutes,
        scratching_secs,
        longest_daytime_inactive_min,
        daytime_sleep_minutes,
        steps,
        gait_nod,
    }
}

/// The median half rhythm over the accelerometer windows in the walking episodes of the window
/// `w` ([`DaySummary::gait_nod`]).
fn gait_nod(samples: &(impl Readings + ?Sized), episodes: &[Episode], w: (i64, i64)) -> Option<f64> {
    let walking =
        merge(episodes.iter().filter(|e| e.label == Behaviour::Walking).map(|e| (e.start_ms, e.end_ms)).collect());
    let mut half = Vec::new();
    for iv in clip(&walking, w) {
        samples.push_half_rhythm(samples.range(iv), &mut half);
    }
    if half.len() >= GAIT_MIN_WINDOWS { percentile(&half, 50.0) } else { None }
}

/// Waking bouts (runs of episodes other than sleeping or resting) of at least
/// [`INTERRUPTION_MIN_MS`] that lie between two sleeping episodes within the night window.
/// Resting at night counts as neither sleep nor waking: a dozing pet is not interrupted.
fn interruptions(episodes: &[Episode], nw: (i64, i64)) -> u32 {
    let mut night: Vec<&Episode> = episodes.iter().filter(|e| overlap_ms(e, nw) > 0).collect();
    night.sort_by_key(|e| (e.start_ms, e.end_ms));
    let mut count = 0;
    let mut seen_sleep = false;
    let mut bout_ms = 0;
    for e in night {
        match e.label {
            Behaviour::Sleeping => {
                if seen_sleep && bout_ms >= INTERRUPTION_MIN_MS {
                    count += 1;
                }
                seen_sleep = true;
                bout_ms = 0;
            }
            Behaviour::Resting => {}
            _ => bout_ms += overlap_ms(e, nw),
        }
    }
    count
}

/// The longest stretch of `window` that has data and is inactive: inside a sleeping or resting
/// episode, or else neither inside a waking episode nor in the span of a sample showing movement.
fn longest_inactive_ms(
    covered: &[(i64, i64)],
    rest: &[(i64, i64)],
    awake: &[(i64, i64)],
    moving: &[(i64, i64)],
    window: (i64, i64),
) -> i64 {
    let mut bounds: Vec<i64> = vec![window.0, window.1];
    for list in [covered, rest, awake, moving] {
        for &(a, b) in list {
            for t in [a, b] {
                if t > window.0 && t < window.1 {
                    bounds.push(t);
                }
            }
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let (mut best, mut run) = (0, 0);
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        let inactive = contains(covered, a) && (contains(rest, a) || (!contains(awake, a) && !contains(moving, a)));
        if inactive {
            run += b - a;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Mean, standard deviation (sample, n − 1) and count of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub sd: f64,
    pub n: u32,
}

impl Stat {
    /// `None` when there are no values.
    pub fn of(values: &[f64]) -> Option<Stat> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        Some(Stat { mean, sd, n: v.len() as u32 })
    }
}

/// A pet's own normal over the `window_days` days before a date. A metric is `None` until at
/// least [`min_days`] days with enough data (and a value for it) are in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub window_days: u32,
    /// Days in the window with at least [`BASELINE_DAY_MIN_COVERAGE_MIN`] minutes of data.
    pub days: u32,
    pub resting_hr: Option<Stat>,
    pub respiration: Option<Stat>,
    pub active_minutes: Option<Stat>,
    pub sleep_minutes: Option<Stat>,
    pub sleep_interruptions: Option<Stat>,
    pub night_restless_minutes: Option<Stat>,
    pub scratching_secs: Option<Stat>,
    pub longest_daytime_inactive_min: Option<Stat>,
    pub daytime_sleep_minutes: Option<Stat>,
    pub steps: Option<Stat>,
    pub gait_nod: Option<Stat>,
}

impl Baseline {
    /// No baseline yet.
    pub fn empty(window_days: u32) -> Self {
        baseline(&[], window_days, Date::MIN)
    }
}

/// The number of days with data a window needs before it gives a baseline: half the window,
/// at least 3 (7 days → 4, 30 days → 15).
pub fn min_days(window_days: u32) -> u32 {
    window_days.div_ceil(2).max(3).min(window_days.max(1))
}

/// The baseline over the `window_days` days before `before` (which is itself excluded). Days
/// with less than [`BASELINE_DAY_MIN_COVERAGE_MIN`] minutes of data are left out; when a date
/// appears twice in `history`, the later entry counts.
pub fn baseline(history: &[DaySummary], window_days: u32, before: Date) -> Baseline {
    let start = before.checked_sub(Duration::days(i64::from(window_days))).unwrap_or(Date::MIN);
    let mut days: Vec<&DaySummary> = Vec::new();
    for d in history.iter().rev() {
        if d.day >= start
            && d.day < before
            && d.minutes_covered >= BASELINE_DAY_MIN_COVERAGE_MIN
            && !days.iter().any(|x| x.day == d.day)
        {
            days.push(d);
        }
    }
    let need = min_days(window_days) as usize;
    let stat = |f: &dyn Fn(&DaySummary) -> Option<f64>| {
        let v: Vec<f64> = days.iter().filter_map(|d| f(d)).collect();
        if v.len() >= need { Stat::of(&v) } else { None }
    };
    Baseline {
        window_days,
        days: days.len() as u32,
        resting_hr: stat(&|d| d.resting_hr),
        respiration: stat(&|d| d.respiration),
        active_minutes: stat(&|d| Some(d.active_minutes)),
        sleep_minutes: stat(&|d| (d.night_minutes_covered >= 360.0).then_some(d.sleep_minutes)),
        sleep_interruptions: stat(&|d| (d.night_minutes_covered >= 360.0).then_some(f64::from(d.sleep_interruptions))),
        night_restless_minutes: stat(&|d| (d.night_minutes_covered >= 360.0).then_some(d.night_restless_minutes)),
        scratching_secs: stat(&|d| Some(d.scratching_secs)),
        longest_daytime_inactive_min: stat(&|d| Some(d.longest_daytime_inactive_min)),
        daytime_sleep_minutes: stat(&|d| Some(d.daytime_sleep_minutes)),
        steps: stat(&|d| Some(d.steps)),
        gait_nod: stat(&|d| d.gait_nod),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::{date, offset};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    pub(crate) fn ep(start_ms: i64, end_ms: i64, label: Behaviour) -> Episode {
        Episode { start_ms, end_ms, label, confidence: 0.9, features: vec![], model_version: "t".into() }
    }

    /// A normal-looking day summary, varied a little by `i`.
    pub(crate) fn normal_day(day: Date, i: u32) -> DaySummary {
        let w = f64::from(i % 3);
        DaySummary {
            day,
            minutes_covered: 1400.0,
            night_minutes_covered: 600.0,
            resting_hr: Some(64.0 + w * 2.0),
            respiration: Some(18.0 + w),
            active_minutes: 70.0 + w * 10.0,
            sleep_minutes: 480.0 + w * 15.0,
            sleep_interruptions: i % 2,
            night_restless_minutes: 4.0 + w,
            scratching_secs: 20.0 + w * 5.0,
            longest_daytime_inactive_min: 150.0 + w * 20.0,
            daytime_sleep_minutes: 90.0 + w * 10.0,
            steps: 9000.0 + w * 500.0,
            gait_nod: Some(0.05 + w * 0.01),
        }
    }

    #[test]
    fn windows_follow_the_local_offset() {
        let (s, e) = day_window(date!(2026 - 03 - 10), offset!(+2));
        assert_eq!(s, time::macros::datetime!(2026-03-10 00:00 +2).unix_timestamp() * 1000);
        assert_eq!(e - s, 24 * HOUR);
        let (ns, ne) = night_window(date!(2026 - 03 - 10), offset!(+2));
        assert_eq!(ns, s - 3 * HOUR);
        assert_eq!(ne, s + 7 * HOUR);
        let (ts, te) = daytime_window(date!(2026 - 03 - 10), offset!(+2));
        assert_eq!((ts - s, te - s), (8 * HOUR, 20 * HOUR));
        assert_eq!(input_window(date!(2026 - 03 - 10), offset!(+2)), (ns, e));
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(percentile(&[], 10.0), None);
        assert_eq!(percentile(&[f64::NAN, f64::INFINITY], 10.0), None);
        assert_eq!(percentile(&[3.0, -0.0, -7.5, 0.0, f64::NAN, 1e-300, -1e300], 50.0), Some(0.0));
        assert_eq!(percentile(&[3.0, -2.0, -7.5, 1.0], 0.0), Some(-7.5));
        assert_eq!(percentile(&[3.0, -2.0, -7.5, 1.0], 100.0), Some(3.0));
        assert_eq!(percentile(&[3.0, -2.0, -7.5, 1.0], 50.0), Some(-0.5));
        for x in [-1e300, -2.5, -0.0, 0.0, 5e-324, 1.0, 7e200] {
            assert_eq!(from_order_key(order_key(x)).to_bits(), f64::to_bits(x));
        }
        // Keys kept without a branch are the usable values'.
        let odd = [
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            f64::MAX,
            f64::MIN,
            64.0,
            -64.0,
        ];
        let mut kept = vec![7];
        push_usable(&odd, &mut kept);
        let usable_ones: Vec<u64> = odd.iter().filter(|v| usable(**v)).map(|v| order_key(*v)).collect();
        assert_eq!(kept[0], 7);
        assert_eq!(kept[1..], usable_ones);
        assert_eq!(usable_ones.len(), 3);
    }

    #[test]
    fn percentiles_agree_with_sorting() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Against the old way (sort, interpolate).
        for round in 0..300 {
            let n = 1 + (next() % if round % 3 == 0 { 40 } else { 3000 }) as usize;
            let values: Vec<f64> = (0..n)
                .map(|_| match round % 5 {
                    // Heart rates: few distinct values.
                    0 => (40 + next() % 120) as f64,
                    // One decimal.
                    1 => (100 + next() % 300) as f64 / 10.0,
                    // Anything, negatives, zeros and infinities included.
                    2 => f64::from_bits(next()),
                    3 => [0.0, -0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY][(next() % 6) as usize],
                    _ => (next() % 1000) as f64 * 1e-3 - 0.5,
                })
                .collect();
            let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
            for p in [0.0, 10.0, 50.0, 77.7, 100.0] {
                let by_sort = (!finite.is_empty()).then(|| {
                    let mut v = finite.clone();
                    v.sort_by(f64::total_cmp);
                    let rank = p / 100.0 * (v.len() - 1) as f64;
                    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
                    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
                });
                let got = percentile(&values, p);
                assert_eq!(got.map(f64::to_bits), by_sort.map(f64::to_bits), "round {round}, p {p}");
            }
        }
        assert_eq!(percentile(&[5.0], 10.0), Some(5.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 50.0), Some(3.0));
        assert_eq!(percentile(&[10.0, 0.0], 25.0), Some(2.5));
    }

    #[test]
    fn a_day_is_summarised_from_episodes_and_samples() {
        let day = date!(2026 - 03 - 10);
        let off = offset!(UTC);
        let (d0, _) = day_window(day, off);
        let mut episodes = vec![
            // The night: sleep 21:00–01:00, awake (pacing) 5 min, sleep to 03:00, a 1-minute
            // shake (too short), sleep to 07:00, then resting until 08:00.
            ep(d0 - 3 * HOUR, d0 + HOUR, Behaviour::Sleeping),
            ep(d0 + HOUR, d0 + HOUR + 5 * MIN, Behaviour::Pacing),
            ep(d0 + HOUR + 5 * MIN, d0 + 3 * HOUR, Behaviour::Sleeping),
            ep(d0 + 3 * HOUR, d0 + 3 * HOUR + MIN, Behaviour::Shaking),
            ep(d0 + 3 * HOUR + MIN, d0 + 7 * HOUR, Behaviour::Sleeping),
            ep(d0 + 7 * HOUR, d0 + 8 * HOUR, Behaviour::Resting),
            // A walk 08:00–08:45, resting until 12:00, scratching 90 s, play 12:30–13:00.
            ep(d0 + 8 * HOUR, d0 + 8 * HOUR + 45 * MIN, Behaviour::Walking),
            ep(d0 + 8 * HOUR + 45 * MIN, d0 + 12 * HOUR, Behaviour::Resting),
            ep(d0 + 12 * HOUR, d0 + 12 * HOUR + 90_000, Behaviour::Scratching),
            ep(d0 + 12 * HOUR + 30 * MIN, d0 + 13 * HOUR, Behaviour::Playing),
        ];
        episodes.reverse(); // order does not matter
        // One sample a minute from 21:00 the evening before to 13:00; heart rate 60–69 while
        // asleep, 120 while walking; steps while walking.
        let samples: Vec<Sample> = (0..(16 * 60))
            .map(|m| {
                let ts = d0 - 3 * HOUR + m * MIN + MIN;
                let walking = ts > d0 + 8 * HOUR && ts <= d0 + 8 * HOUR + 45 * MIN;
                Sample {
                    ts_ms: ts,
                    heart_rate: Some(if walking { 120.0 } else { 60.0 + (m % 10) as f64 }),
                    respiration_rate: Some(if walking { 40.0 } else { 20.0 }),
                    steps: Some(if walking { 100.0 } else { 0.0 }),
                    activity_level: Some(if walking { 2.0 } else { 0.0 }),
                    ..Default::default()
                }
            })
            .collect();
        let s = summarise_day(day, off, &samples, &episodes);
        assert_eq!(s.day, day);
        assert_eq!(s.minutes_covered, 13.0 * 60.0);
        assert_eq!(s.night_minutes_covered, 600.0);
        assert_eq!(s.active_minutes, 75.0);
        assert_eq!(s.sleep_minutes, 600.0 - 6.0);
        assert_eq!(s.sleep_interruptions, 1);
        assert_eq!(s.night_restless_minutes, 6.0);
        assert_eq!(s.scratching_secs, 90.0);
        assert_eq!(s.steps, 4500.0);
        let hr = s.resting_hr.unwrap();
        assert!((60.0..=61.0).contains(&hr), "{hr}");
        assert_eq!(s.respiration, Some(20.0));
        // Daytime 08:00–20:00: inactive from 08:45 to 12:00 (scratching breaks it).
        assert_eq!(s.longest_daytime_inactive_min, 195.0);
    }

    #[test]
    fn inactivity_without_episodes_comes_from_samples_and_stops_at_gaps() {
        let day = date!(2026 - 03 - 10);
        let (t0, _) = daytime_window(day, offset!(UTC));
        // Still from 08:00 to 11:00, one moving minute, still to 12:00, then no data.
        let samples: Vec<Sample> = (1..=240)
            .map(|m| Sample {
                ts_ms: t0 + m * MIN,
                steps: Some(if m == 181 { 30.0 } else { 0.0 }),
                heart_rate: Some(70.0),
                activity_level: Some(if m == 181 { 1.0 } else { 0.0 }),
                ..Default::default()
            })
            .collect();
        let s = summarise_day(day, offset!(UTC), &samples, &[]);
        assert_eq!(s.longest_daytime_inactive_min, 180.0);
        assert_eq!(s.resting_hr, Some(70.0), "samples at rest stand in for resting episodes");
        assert_eq!(s.minutes_covered, 240.0);
    }

    #[test]
    fn nothing_gives_an_empty_day() {
        let day = date!(2026 - 03 - 10);
        assert_eq!(summarise_day(day, offset!(-5), &[], &[]), DaySummary::empty(day));
    }

    #[test]
    fn baselines_need_enough_days_and_exclude_the_day_judged() {
        let today = date!(2026 - 03 - 20);
        let history: Vec<DaySummary> = (1..=30).map(|i| normal_day(today - Duration::days(i), i as u32)).collect();
        let b7 = baseline(&history, 7, today);
        assert_eq!(b7.days, 7);
        assert_eq!(b7.window_days, 7);
        let hr = b7.resting_hr.unwrap();
        assert_eq!(hr.n, 7);
        assert!((64.0..=68.0).contains(&hr.mean));
        assert!(baseline(&history, 30, today).active_minutes.is_some());

        // The day judged (and later days) never count.
        let mut with_today = history.clone();
        with_today.push(DaySummary { resting_hr: Some(200.0), ..normal_day(today, 0) });
        assert_eq!(baseline(&with_today, 7, today), b7);

        // Three days are not enough for a 7-day baseline; four are.
        let few: Vec<DaySummary> = history.iter().take(3).cloned().collect();
        let b = baseline(&few, 7, today);
        assert_eq!((b.days, b.resting_hr), (3, None));
        let four: Vec<DaySummary> = history.iter().take(4).cloned().collect();
        assert!(baseline(&four, 7, today).resting_hr.is_some());

        // Days with little data are skipped.
        let sparse: Vec<DaySummary> =
            history.iter().map(|d| DaySummary { minutes_covered: 300.0, ..d.clone() }).collect();
        assert_eq!(baseline(&sparse, 7, today).days, 0);
        assert_eq!(Baseline::empty(7).active_minutes, None);
        assert_eq!((min_days(7), min_days(30), min_days(1)), (4, 15, 1));
    }

    #[test]
    fn a_day_in_a_time_zone_is_23_or_25_hours_when_the_clocks_change() {
        let zone = crate::recurrence::Zone::parse("timezone", "Europe/Amsterdam").unwrap();
        let hours = |d: Date| {
            let (a, b) = day_window(d, &zone);
            (b - a) / HOUR
        };
        assert_eq!(hours(date!(2026 - 03 - 29)), 23, "spring forward");
        assert_eq!(hours(date!(2026 - 10 - 25)), 25, "fall back");
        assert_eq!(hours(date!(2026 - 10 - 26)), 24);
        // The day starts at local midnight: 22:00 UTC in summer, 23:00 in winter.
        assert_eq!(day_window(date!(2026 - 10 - 25), &zone).0 % (24 * HOUR), 22 * HOUR);
        assert_eq!(day_window(date!(2026 - 10 - 26), &zone).0 % (24 * HOUR), 23 * HOUR);
        // The night ending on the 25th's morning runs from 21:00 CEST to 07:00 CET: 11 hours.
        let (n0, n1) = night_window(date!(2026 - 10 - 25), &zone);
        assert_eq!((n1 - n0) / HOUR, 11);
    }

    #[test]
    fn stats() {
        let s = Stat::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        assert!((s.sd - 2.138).abs() < 0.001);
        assert_eq!(Stat::of(&[]), None);
        assert_eq!(Stat::of(&[3.0]).unwrap().sd, 0.0);
    }
}
