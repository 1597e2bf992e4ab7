//! Air safety: carbon monoxide in ppm from an MQ-7 sensor's raw reading, the sensor's warm-up,
//! and the three ways CO becomes an alarm: over a threshold now, a dose over time that follows
//! UL 2034's alarm points, and a fast rise.
//!
//! **Conversion.** The ADC reading is a voltage on the sensor's load resistor:
//! `Vout = raw / adc_max × vref`, `Rs = RL × (Vc − Vout) / Vout`, `ppm = a × (Rs/R0)^b` with the
//! common MQ-7 fit a ≈ 99.042, b ≈ −1.518 (clean air reads Rs/R0 ≈ 27.5, about 0.65 ppm). R0,
//! RL, the supply, the ADC's scale and reference, and the fit come from the device's
//! calibration. The Car-Bon seed's `38.4615 × (1 − raw/102400)` fell as CO rose and never
//! passed 38.5 ppm; Petty does not copy it.
//!
//! **Dose.** UL 2034 asks a residential CO alarm to sound within 60–240 minutes at 70 ppm,
//! 10–50 minutes at 150 ppm and 4–15 minutes at 400 ppm, and never at 30 ppm (30 days). Those
//! points follow from how carboxyhaemoglobin builds up in blood, which a first-order model
//! captures: the dose `D` moves toward the concentration `c` with a time constant τ,
//! `D(t + Δt) = c + (D(t) − c)·e^(−Δt/τ)`, and the alarm sounds once `D` reaches a level `T`.
//! With τ = 90 min and T = 45 ppm it sounds after 93 min at 70 ppm, 32 min at 150 ppm and
//! 11 min at 400 ppm, and never below 45 ppm. Pure: the caller keeps the state.

use std::collections::BTreeMap;

/// The MQ-7 fit and circuit, overridable per device by these calibration names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mq7 {
    /// Sensor resistance in clean air after burn-in, ohms (`r0`).
    pub r0_ohm: f64,
    /// Load resistor, ohms (`rl`).
    pub rl_ohm: f64,
    /// Supply across sensor and load, volts (`vc`).
    pub vc: f64,
    /// The ADC's full-scale reading (`adc_max`; 4095 for an ESP32's 12 bits).
    pub adc_max: f64,
    /// The ADC's reference voltage (`vref`).
    pub vref: f64,
    /// The curve `ppm = a·(Rs/R0)^b` (`a`, `b`).
    pub a: f64,
    pub b: f64,
}

impl Default for Mq7 {
    fn default() -> Self {
        Mq7 { r0_ohm: 10_000.0, rl_ohm: 10_000.0, vc: 5.0, adc_max: 4095.0, vref: 3.3, a: 99.042, b: -1.518 }
    }
}

/// Clean air, as an MQ-7's Rs/R0.
pub const CLEAN_AIR_RATIO: f64 = 27.5;
/// The most ppm a conversion answers (the sensor's range ends well below).
pub const PPM_MAX: f64 = 10_000.0;

impl Mq7 {
    /// The defaults with whatever the device's calibration names (`r0`, `rl`, `vc`, `adc_max`,
    /// `vref`, `a`, `b`); values that make no sense (not finite, not positive; `b` must be
    /// negative) are left at their default.
    pub fn from_calibration(calibration: &BTreeMap<String, f64>) -> Mq7 {
        let mut m = Mq7::default();
        let positive = |name: &str, current: f64| {
            calibration.get(name).copied().filter(|v| v.is_finite() && *v > 0.0).unwrap_or(current)
        };
        m.r0_ohm = positive("r0", m.r0_ohm);
        m.rl_ohm = positive("rl", m.rl_ohm);
        m.vc = positive("vc", m.vc);
        m.adc_max = positive("adc_max", m.adc_max);
        m.vref = positive("vref", m.vref);
        m.a = positive("a", m.a);
        m.b = calibration.get("b").copied().filter(|v| v.is_finite() && *v < 0.0).unwrap_or(m.b);
        m
    }

    /// CO in ppm from a raw ADC reading; `None` when the reading cannot be a sensor's (no
    /// voltage at all, or at or above the supply: a broken wire or a missing sensor).
    pub fn ppm(&self, raw: f64) -> Option<f64> {
        if !raw.is_finite() || raw <= 0.0 {
            return None;
        }
        let vout = raw / self.adc_max * self.vref;
        if vout >= self.vc {
            return None;
        }
        let rs = self.rl_ohm * (self.vc - vout) / vout;
        let ratio = rs / self.r0_ohm;
        let ppm = self.a * ratio.powf(self.b);
        ppm.is_finite().then(|| ppm.clamp(0.0, PPM_MAX))
    }

    /// The raw ADC reading this sensor gives at `ppm` (the curve inverted, rounded to a whole
    /// count); `None` when the ADC cannot read that high. For simulators and tests.
    pub fn raw(&self, ppm: f64) -> Option<f64> {
        if !ppm.is_finite() || ppm <= 0.0 {
            return None;
        }
        let rs = (ppm / self.a).powf(1.0 / self.b) * self.r0_ohm;
        let vout = self.vc * self.rl_ohm / (rs + self.rl_ohm);
        let raw = (vout / self.vref * self.adc_max).round();
        (raw < self.adc_max).then_some(raw)
    }
}

/// How long after a sensor starts (its first reading, or the first after a silence) its
/// readings are ignored: a cold MQ-7's resistance is far from its calibrated value.
pub const WARM_UP_SECS: i64 = 180;
/// A silence this long means the sensor went cold and warms up again.
pub const COLD_AFTER_SECS: i64 = 600;

/// Tracks whether a sensor is warm: feed it every reading's time, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WarmUp {
    started_ms: Option<i64>,
    last_ms: Option<i64>,
}

impl WarmUp {
    /// When the sensor last began warming up, and its newest reading (the stored form).
    pub fn parts(&self) -> (Option<i64>, Option<i64>) {
        (self.started_ms, self.last_ms)
    }

    pub fn from_parts(started_ms: Option<i64>, last_ms: Option<i64>) -> Self {
        Self { started_ms, last_ms }
    }

    /// Takes a reading at `ts_ms`; answers whether it counts (the sensor is warm).
    pub fn reading(&mut self, ts_ms: i64, warm_up_secs: i64) -> bool {
        let cold = self.last_ms.is_none_or(|last| ts_ms - last > COLD_AFTER_SECS * 1000);
        if cold {
            self.started_ms = Some(ts_ms);
        }
        self.last_ms = Some(self.last_ms.map_or(ts_ms, |l| l.max(ts_ms)));
        self.started_ms.is_some_and(|s| ts_ms - s >= warm_up_secs * 1000)
    }
}

/// The dose model's time constant, minutes.
pub const DOSE_TAU_MIN: f64 = 90.0;
/// The dose at which the alarm sounds, ppm-equivalent.
pub const DOSE_ALARM_PPM: f64 = 45.0;
/// Readings further apart than this are not bridged: the dose is held, not extrapolated.
pub const DOSE_MAX_STEP_MIN: f64 = 15.0;

/// Exposure so far, as a ppm-equivalent that rises toward the concentration breathed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dose {
    pub level_ppm: f64,
    last_ms: Option<i64>,
    last_ppm: f64,
}

impl Dose {
    /// The level, the newest reading's time and its concentration (the stored form).
    pub fn parts(&self) -> (f64, Option<i64>, f64) {
        (self.level_ppm, self.last_ms, self.last_ppm)
    }

    pub fn from_parts(level_ppm: f64, last_ms: Option<i64>, last_ppm: f64) -> Self {
        Self { level_ppm, last_ms, last_ppm }
    }

    /// Takes a reading; the concentration is taken to hold from the previous reading to this
    /// one (at most [`DOSE_MAX_STEP_MIN`]). Answers the dose afterwards. Readings older than
    /// the last are ignored.
    pub fn reading(&mut self, ts_ms: i64, ppm: f64) -> f64 {
        let ppm = if ppm.is_finite() { ppm.clamp(0.0, PPM_MAX) } else { self.last_ppm };
        match self.last_ms {
            Some(last) if ts_ms < last => return self.level_ppm,
            Some(last) => {
                let minutes = ((ts_ms - last) as f64 / 60_000.0).min(DOSE_MAX_STEP_MIN);
                let decay = (-minutes / DOSE_TAU_MIN).exp();
                self.level_ppm = self.last_ppm + (self.level_ppm - self.last_ppm) * decay;
            }
            None => {}
        }
        self.last_ms = Some(ts_ms);
        self.last_ppm = ppm;
        self.level_ppm
    }

    /// Whether the dose has reached the alarm level.
    pub fn alarming(&self) -> bool {
        self.level_ppm >= DOSE_ALARM_PPM
    }
}

/// CO rising fast: at least this many ppm a minute...
pub const RISE_PPM_PER_MIN: f64 = 10.0;
/// ...over at least this long...
pub const RISE_WINDOW_MIN: f64 = 2.0;
/// ...ending at or above this.
pub const RISE_FLOOR_PPM: f64 = 35.0;

/// Whether CO is rising fast: the readings (time ms, ppm; in time order) of the last
/// [`RISE_WINDOW_MIN`] minutes or more climb at least [`RISE_PPM_PER_MIN`] a minute on average
/// to at least [`RISE_FLOOR_PPM`]. Answers the rate in ppm a minute when it is.
pub fn rising_fast(readings: &[(i64, f64)]) -> Option<f64> {
    let &(t1, c1) = readings.last()?;
    let window_ms = (RISE_WINDOW_MIN * 60_000.0) as i64;
    let &(t0, c0) = readings.iter().rev().find(|(t, _)| t1 - t >= window_ms)?;
    let minutes = (t1 - t0) as f64 / 60_000.0;
    let rate = (c1 - c0) / minutes;
    (c1 >= RISE_FLOOR_PPM && rate >= RISE_PPM_PER_MIN && minutes <= 3.0 * RISE_WINDOW_MIN).then_some(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ADC reading an MQ-7 gives at `ratio` = Rs/R0.
    fn raw_at(m: &Mq7, ratio: f64) -> f64 {
        let rs = ratio * m.r0_ohm;
        let vout = m.vc * m.rl_ohm / (rs + m.rl_ohm);
        vout / m.vref * m.adc_max
    }

    #[test]
    fn the_curve_reads_clean_air_low_and_rises_with_co() {
        let m = Mq7::default();
        let clean = m.ppm(raw_at(&m, CLEAN_AIR_RATIO)).unwrap();
        assert!((0.5..0.8).contains(&clean), "clean air: {clean}");
        let at_r0 = m.ppm(raw_at(&m, 1.0)).unwrap();
        assert!((at_r0 - 99.042).abs() < 0.01, "{at_r0}");
        // Unlike the seed's formula, ppm rises with the reading and passes 38.5.
        let mut previous = 0.0;
        for ratio in [20.0, 5.0, 1.0, 0.5, 0.2] {
            let ppm = m.ppm(raw_at(&m, ratio)).unwrap();
            assert!(ppm > previous, "{ratio}: {ppm}");
            previous = ppm;
        }
        assert!(previous > 400.0);
        assert_eq!(m.ppm(0.0), None, "no voltage: no sensor");
        assert_eq!(m.ppm(f64::NAN), None);
        assert_eq!(m.ppm(m.adc_max * 2.0), None, "above the supply");
        for ppm in [1.0, 35.0, 50.0, 150.0] {
            let back = m.ppm(m.raw(ppm).unwrap()).unwrap();
            assert!((back - ppm).abs() / ppm < 0.02, "{ppm} → {back}");
        }
        assert_eq!(m.raw(5000.0), None, "past what the ADC reads");
    }

    #[test]
    fn calibration_overrides_what_makes_sense() {
        let cal = BTreeMap::from([
            ("r0".to_owned(), 20_000.0),
            ("adc_max".to_owned(), 1023.0),
            ("b".to_owned(), 1.5),
            ("rl".to_owned(), -1.0),
        ]);
        let m = Mq7::from_calibration(&cal);
        assert_eq!((m.r0_ohm, m.adc_max), (20_000.0, 1023.0));
        assert_eq!((m.b, m.rl_ohm), (Mq7::default().b, Mq7::default().rl_ohm), "nonsense is ignored");
        let same_air = raw_at(&m, 1.0);
        assert!((m.ppm(same_air).unwrap() - 99.042).abs() < 0.01);
    }

    #[test]
    fn a_cold_sensor_is_ignored_until_warm_and_again_after_a_silence() {
        let mut w = WarmUp::default();
        let t = |s: i64| 1_000_000 + s * 1000;
        assert!(!w.reading(t(0), WARM_UP_SECS));
        assert!(!w.reading(t(120), WARM_UP_SECS));
        assert!(w.reading(t(180), WARM_UP_SECS));
        assert!(w.reading(t(500), WARM_UP_SECS));
        // Off for 20 minutes: cold again.
        assert!(!w.reading(t(1700), WARM_UP_SECS));
        assert!(w.reading(t(1900), WARM_UP_SECS));
    }

    /// Minutes until the dose alarm at a constant concentration, sampled every 30 s (capped).
    fn minutes_to_alarm(ppm: f64, limit_min: i64) -> Option<f64> {
        let mut d = Dose::default();
        for step in 0..=limit_min * 2 {
            let t = step * 30_000;
            d.reading(t, ppm);
            if d.alarming() {
                return Some(t as f64 / 60_000.0);
            }
        }
        None
    }

    #[test]
    fn the_dose_alarm_meets_ul_2034s_points() {
        let at = |ppm| minutes_to_alarm(ppm, 24 * 60).unwrap_or(f64::INFINITY);
        let m70 = at(70.0);
        assert!((60.0..=240.0).contains(&m70), "70 ppm: {m70} min");
        let m150 = at(150.0);
        assert!((10.0..=50.0).contains(&m150), "150 ppm: {m150} min");
        let m400 = at(400.0);
        assert!((4.0..=15.0).contains(&m400), "400 ppm: {m400} min");
        // Silence at 30 ppm for 30 days (sampled once a minute to keep the test quick).
        let mut d = Dose::default();
        for minute in 0..30 * 24 * 60 {
            d.reading(minute * 60_000, 30.0);
            assert!(!d.alarming(), "30 ppm alarmed after {minute} min");
        }
    }

    #[test]
    fn the_dose_falls_in_fresh_air_and_ignores_late_readings() {
        let mut d = Dose::default();
        for m in 0..=30 {
            d.reading(m * 60_000, 400.0);
        }
        assert!(d.alarming());
        let high = d.level_ppm;
        assert_eq!(d.reading(10 * 60_000, 0.0), high, "a late reading changes nothing");
        for m in 31..=300 {
            d.reading(m * 60_000, 0.0);
        }
        assert!(!d.alarming() && d.level_ppm < 20.0, "{}", d.level_ppm);
    }

    #[test]
    fn a_fast_rise_is_told_from_a_high_but_steady_level() {
        let rising: Vec<(i64, f64)> = (0..=6).map(|i| (i * 30_000, 5.0 + 12.0 * i as f64 * 0.5)).collect();
        let rate = rising_fast(&rising).unwrap();
        assert!((rate - 12.0).abs() < 0.01, "{rate}");
        let steady: Vec<(i64, f64)> = (0..=6).map(|i| (i * 30_000, 80.0)).collect();
        assert_eq!(rising_fast(&steady), None);
        let low: Vec<(i64, f64)> = (0..=6).map(|i| (i * 30_000, 1.0 + 5.0 * i as f64)).collect();
        assert_eq!(rising_fast(&low), None, "fast, but still under the floor");
        assert_eq!(rising_fast(&rising[..2]), None, "not enough history yet");
    }
}
