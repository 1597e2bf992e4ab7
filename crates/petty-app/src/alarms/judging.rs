//! Judging metric rules over a device's readings, shared by the alarm job (`petty-jobs`), which
//! acts on what it finds, and the rule preview, which only tells what a rule would have raised.
//! Both read the readings with [`readings`], turn them into each rule's series with
//! [`DeviceSeries`] and step the rule through them with `petty_core::alarm::transitions`, so a
//! preview shows exactly the incidents the job records for the same readings.
//!
//! The preview is bounded: the last [`PREVIEW_DAYS`] days, at most [`PREVIEW_MAX_DEVICES`]
//! devices and [`PREVIEW_MAX_READINGS`] readings per device, so asking cannot hog the server.

use std::collections::HashMap;

use petty_core::air::{WARM_UP_SECS, WarmUp};
#[cfg(test)]
use petty_core::alarm::transitions;
use petty_core::alarm::{ConditionKind, Rule, RuleRun, Transition, transitions_from};
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::Metric;
use petty_store::{Device, ReadingCursor, StoreError, StoredReading};

use crate::App;

/// How far back a preview looks.
pub const PREVIEW_DAYS: i64 = 7;
/// The most devices one preview reads (the household's first by name).
pub const PREVIEW_MAX_DEVICES: usize = 50;
/// The most readings one preview reads of a device (the oldest first).
pub const PREVIEW_MAX_READINGS: usize = 50_000;
/// A device's readings are read in pages of this many.
const PAGE: u32 = 10_000;

/// The device's readings from `from_ms` through `to_ms`, oldest first, at most about `max` of
/// them (whole pages); answers whether some were left unread. The first page is short, so that
/// a rule's usual window is read without a thread hand-off on SQLite
/// (`petty_store::FAST_PAGE_MAX`); a long backfill goes on in long pages through the pool.
pub async fn readings(
    app: &App,
    device: &Device,
    from_ms: i64,
    to_ms: i64,
    max: usize,
) -> Result<(Vec<StoredReading>, bool), StoreError> {
    read_pages(app, device, (from_ms, to_ms), max, (petty_store::FAST_PAGE_MAX, PAGE)).await
}

/// The readings of `span` (inclusive), the first page `pages.0` long and the others `pages.1`.
async fn read_pages(
    app: &App,
    device: &Device,
    (from_ms, to_ms): (i64, i64),
    max: usize,
    (first, rest): (u32, u32),
) -> Result<(Vec<StoredReading>, bool), StoreError> {
    let (from, to) = (petty_store::from_ms(from_ms)?, petty_store::from_ms(to_ms.saturating_add(1))?);
    let read = app.store.readings(device.household_id, device.id, from, to, None, first).await?;
    readings_after_page(app, device, (from_ms, to_ms), max, rest, read).await
}

/// The rest of a device's readings of `span` (inclusive) once their first page, `first`, is
/// read (with the next page's cursor, if there is one): the alarm job reads first pages a
/// batch of devices at a time (`petty_store::Store::alarm_inputs`).
pub async fn readings_after_page(
    app: &App,
    device: &Device,
    (from_ms, to_ms): (i64, i64),
    max: usize,
    page: u32,
    first: (Vec<StoredReading>, Option<ReadingCursor>),
) -> Result<(Vec<StoredReading>, bool), StoreError> {
    let (mut out, mut next) = first;
    let (from, to) = (petty_store::from_ms(from_ms)?, petty_store::from_ms(to_ms.saturating_add(1))?);
    loop {
        let after = match next {
            Some(cursor) if out.len() < max => cursor,
            Some(_) => return Ok((out, true)),
            None => return Ok((out, false)),
        };
        let (read, cursor) = app.store.readings(device.household_id, device.id, from, to, Some(after), page).await?;
        out.extend(read);
        next = cursor;
    }
}

/// The metric a rule reads: its own, or CO for a dose rule. `None` for rules that read none.
pub fn rule_metric(rule: &Rule) -> Option<Metric> {
    rule.metric.or((rule.kind == ConditionKind::CoDose).then_some(Metric::CoPpm))
}

/// How far before the first reading to judge a rule's readings go back: its window, and the
/// CO sensor's warm-up.
pub fn context_ms(rule: &Rule) -> i64 {
    rule.window_secs() * 1000 + WARM_UP_SECS * 1000
}

/// A device's readings, turned into each metric's series once (`alarms::series`: CO through the
/// device's calibration, warm-up left out).
pub struct DeviceSeries<'a> {
    device: &'a Device,
    readings: &'a [StoredReading],
    /// The CO sensor's warm-up before the readings, then after them once CO has been read.
    warm: WarmUp,
    by_metric: HashMap<Metric, Vec<(i64, f64)>>,
}

/// What judging a rule over a device's readings found.
pub struct Judged<'a> {
    /// Every raise and clear decided at or after `since_ms`, in order.
    pub steps: Vec<Transition>,
    /// The series the rule was stepped through (its window before `since_ms` onwards).
    pub values: &'a [(i64, f64)],
}

impl<'a> DeviceSeries<'a> {
    pub fn new(device: &'a Device, readings: &'a [StoredReading]) -> Self {
        Self::resuming(device, readings, WarmUp::default())
    }

    /// Readings that follow ones already judged, after which the CO sensor's warm-up was `warm`.
    pub fn resuming(device: &'a Device, readings: &'a [StoredReading], warm: WarmUp) -> Self {
        Self { device, readings, warm, by_metric: HashMap::new() }
    }

    /// The CO sensor's warm-up after the readings (as before them when no rule read CO).
    pub fn warm(&self) -> WarmUp {
        self.warm
    }

    /// Steps `rule` through the readings from its window before `since_ms`, and answers the
    /// transitions decided from `since_ms` on. `None` for a rule that reads no metric.
    pub fn judge(&mut self, rule: &Rule, since_ms: i64) -> Option<Judged<'_>> {
        self.step(rule, &mut RuleRun::new(rule), since_ms, since_ms - rule.window_secs() * 1000)
    }

    /// Steps `run` (where the rule stood before `context`) through the readings from `context`
    /// on, and answers the transitions decided from `since_ms` on; `run` is left at the newest
    /// reading. `None` for a rule that reads no metric.
    pub fn step(&mut self, rule: &Rule, run: &mut RuleRun, since_ms: i64, context: i64) -> Option<Judged<'_>> {
        let metric = rule_metric(rule).filter(|_| rule.kind.reads_metric())?;
        let (device, readings) = (self.device, self.readings);
        let warm = &mut self.warm;
        let values = self.by_metric.entry(metric).or_insert_with(|| super::series_from(device, metric, readings, warm));
        let values = &values[values.partition_point(|(t, _)| *t < context)..];
        Some(Judged { steps: transitions_from(run, rule, values, since_ms), values })
    }
}

/// One incident a rule would have raised: from its first breaking reading to the reading it
/// recovered at (`None`: still going at the newest reading), with its most extreme value.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub device_id: DeviceId,
    pub device_name: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    /// The highest reading during the incident (the lowest for a `below` rule).
    pub peak: f64,
    /// The alarm's message, as the job would write it.
    pub message: String,
}

/// The incidents a run of transitions makes: each raise with the clear after it. A clear
/// without its raise (the incident began before `since_ms`) is left out.
pub fn incidents(device: &Device, rule: &Rule, judged: &Judged<'_>) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    let mut open = false;
    for step in &judged.steps {
        match step {
            Transition::Raise { at_ms, message, .. } => {
                open = true;
                out.push(Incident {
                    device_id: device.id,
                    device_name: device.profile.name.clone(),
                    start_ms: *at_ms,
                    end_ms: None,
                    peak: f64::NAN,
                    message: format!("{} on {} ({})", message, device.profile.name, rule.describe()),
                });
            }
            Transition::Clear { at_ms, .. } if open => {
                open = false;
                if let Some(last) = out.last_mut() {
                    last.end_ms = Some(*at_ms);
                }
            }
            Transition::Clear { .. } => {}
        }
    }
    let lowest = rule.kind == ConditionKind::Below;
    for incident in &mut out {
        let during = judged
            .values
            .iter()
            .filter(|(t, _)| *t >= incident.start_ms && incident.end_ms.is_none_or(|end| *t < end))
            .map(|(_, v)| *v);
        incident.peak = during.fold(f64::NAN, |peak, v| match (peak.is_nan(), lowest) {
            (true, _) => v,
            (false, true) => peak.min(v),
            (false, false) => peak.max(v),
        });
    }
    out
}

/// What a rule would have raised over the last [`PREVIEW_DAYS`] days.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Oldest first.
    pub incidents: Vec<Incident>,
    /// The devices whose readings were read.
    pub devices_judged: usize,
    /// Devices the rule watches that were not read (over [`PREVIEW_MAX_DEVICES`]).
    pub devices_left_out: usize,
    /// Whether a device had more readings than [`PREVIEW_MAX_READINGS`] (the newest unread).
    pub readings_capped: bool,
}

/// The incidents `rule` would have raised on the household's devices over the last
/// [`PREVIEW_DAYS`] days before `now_ms`, judged as the alarm job judges. Whether the rule is
/// enabled does not matter; a rule that reads no metric (silence, events) finds nothing.
#[tracing::instrument(skip_all, fields(household_id = %household_id))]
pub async fn preview(app: &App, household_id: HouseholdId, rule: &Rule, now_ms: i64) -> Result<Preview, StoreError> {
    let from_ms = now_ms - PREVIEW_DAYS * 86_400_000;
    let mut preview = Preview {
        from_ms,
        to_ms: now_ms,
        incidents: Vec::new(),
        devices_judged: 0,
        devices_left_out: 0,
        readings_capped: false,
    };
    if rule_metric(rule).is_none() || !rule.kind.reads_metric() {
        return Ok(preview);
    }
    let devices: Vec<Device> =
        app.store.list_devices(household_id).await?.into_iter().filter(|d| rule.watches(d.profile.kind)).collect();
    preview.devices_left_out = devices.len().saturating_sub(PREVIEW_MAX_DEVICES);
    for device in devices.iter().take(PREVIEW_MAX_DEVICES) {
        let (read, capped) = readings(app, device, from_ms - context_ms(rule), now_ms, PREVIEW_MAX_READINGS).await?;
        preview.readings_capped |= capped;
        preview.devices_judged += 1;
        let mut series = DeviceSeries::new(device, &read);
        if let Some(judged) = series.judge(rule, from_ms) {
            preview.incidents.extend(incidents(device, rule, &judged));
        }
    }
    preview.incidents.sort_by_key(|i| i.start_ms);
    Ok(preview)
}

#[cfg(test)]
mod tests {
    use super::*;
    use petty_core::alarm::Severity;
    use petty_core::devices::{DeviceKind, DeviceProfile, RawDeviceProfile};

    fn device() -> Device {
        let raw = RawDeviceProfile { name: "Collar".into(), kind: "collar".into(), ..RawDeviceProfile::default() };
        let now = time::OffsetDateTime::now_utc();
        Device {
            id: DeviceId(uuid::Uuid::now_v7()),
            household_id: HouseholdId(uuid::Uuid::now_v7()),
            profile: DeviceProfile::parse(&raw).expect("a collar"),
            has_token: true,
            token_created_at: None,
            created_at: now,
            updated_at: now,
            last_seen_at: None,
            latest_ts: None,
            battery_pct: None,
        }
    }

    fn rule(kind: ConditionKind, value: f64, clear_value: f64) -> Rule {
        Rule {
            key: None,
            name: "Heart".into(),
            device_kind: Some(DeviceKind::Collar),
            kind,
            metric: Some(Metric::HeartRate),
            value,
            clear_value,
            for_secs: 0,
            clear_secs: 0,
            severity: Severity::Major,
            enabled: true,
        }
    }

    fn judged<'a>(steps: Vec<Transition>, values: &'a [(i64, f64)]) -> Judged<'a> {
        Judged { steps, values }
    }

    #[test]
    fn incidents_pair_raises_with_clears_and_find_the_peak_in_the_breaking_direction() {
        let values = [(0, 100.0), (1000, 190.0), (2000, 210.0), (3000, 90.0), (4000, 200.0), (5000, 205.0)];
        let above = rule(ConditionKind::Above, 180.0, 150.0);
        let steps = transitions(&above, &values, 0);
        let found = incidents(&device(), &above, &judged(steps, &values));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].start_ms, found[0].end_ms, found[0].peak), (1000, Some(3000), 210.0));
        assert_eq!((found[1].start_ms, found[1].end_ms, found[1].peak), (4000, None, 205.0));

        let below = rule(ConditionKind::Below, 95.0, 100.0);
        let steps = transitions(&below, &values, 0);
        let found = incidents(&device(), &below, &judged(steps, &values));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].start_ms, found[0].end_ms, found[0].peak), (3000, Some(4000), 90.0));
    }

    #[test]
    fn a_clear_without_its_raise_is_no_incident() {
        let values = [(0, 100.0)];
        let above = rule(ConditionKind::Above, 180.0, 150.0);
        let steps = vec![Transition::Clear { at_ms: 0, decided_ms: 0, value: 100.0 }];
        assert!(incidents(&device(), &above, &judged(steps, &values)).is_empty());
    }
}
